# SPDX-License-Identifier: MIT
"""Live progress of a kernel build: objects compiled of objects expected,
elapsed time and an ETA.

Kbuild prints one ``  CC      path/file.o`` line per object; those are
counted.  The number expected is what the last build of the same kind (cold:
an empty build tree; incremental: a tree with a vmlinux) compiled in this
work directory, stored in ``WORKDIR/build-objects.json``; for a first cold
build, an estimate.  On a terminal one status line is rewritten in place;
without one (CI logs) a plain line is printed every INTERVAL seconds.
"""
from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Callable, TextIO

from .build import Workdir

# tinyconfig + vm/config/base.config + kselftests/config on 6.12: objects a
# cold build compiles (measured on 6.12.117: 1503 objects in the build tree).
COLD_ESTIMATE = 1500
INTERVAL = 30.0
COUNTS_FILE = "build-objects.json"
_OBJECT = re.compile(r"^\s+(?:CC|AS|CC \[M\])\s+(\S+\.o)\s*$")


def is_object_line(line: str) -> bool:
    """Whether a Kbuild output line reports an object being compiled."""
    return _OBJECT.match(line) is not None


def duration(seconds: float) -> str:
    """12s, 3m05s, 1h02m."""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def build_kind(work: Workdir) -> str:
    """"incremental" when the build tree already holds a vmlinux, else "cold"."""
    return "incremental" if (work.build / "vmlinux").exists() else "cold"


def stored_counts(work: Workdir) -> dict[str, int]:
    """Objects the last build of each kind compiled in *work*."""
    try:
        data = json.loads((work.root / COUNTS_FILE).read_text())
        return {k: int(v) for k, v in data.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


class BuildProgress:
    """Counts object lines (:meth:`feed`) and reports progress."""

    def __init__(self, expected: int | None, say: Callable[[str], None],
                 stream: TextIO | None = None, tty: bool | None = None,
                 interval: float = INTERVAL, clock: Callable[[], float] = time.monotonic,
                 kind: str = "cold") -> None:
        self.expected = expected
        self.say = say
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.interval = interval
        self.clock = clock
        self.kind = kind
        self.done = 0
        self.start = clock()
        self._last_shown = self.start
        self._width = 0

    @classmethod
    def for_workdir(cls, work: Workdir, say: Callable[[str], None]) -> "BuildProgress":
        """Progress of a build in *work*, expecting what its last build of
        the same kind compiled (or COLD_ESTIMATE for a first cold build)."""
        kind = build_kind(work)
        expected = stored_counts(work).get(kind, COLD_ESTIMATE if kind == "cold" else None)
        return cls(expected, say, kind=kind)

    def status(self) -> str:
        """``523/1500 objects (34%), 2m01s elapsed, ETA 3m55s``."""
        elapsed = self.clock() - self.start
        head = f"{self.done} objects"
        eta = ""
        if self.expected and self.done <= self.expected:
            head = f"{self.done}/{self.expected} objects ({100 * self.done // self.expected}%)"
            if self.done:
                eta = f", ETA {duration(elapsed / self.done * (self.expected - self.done))}"
        return f"{head}, {duration(elapsed)} elapsed{eta}"

    def feed(self, line: str) -> None:
        """One line of build output."""
        if not is_object_line(line):
            return
        self.done += 1
        now = self.clock()
        if self.tty and now - self._last_shown >= 0.5:
            self._last_shown = now
            text = f"build: {self.status()}"
            self.stream.write("\r" + text.ljust(self._width))
            self.stream.flush()
            self._width = len(text)
        elif not self.tty and now - self._last_shown >= self.interval:
            self._last_shown = now
            self.say(self.status())

    def finish(self, work: Workdir | None = None) -> None:
        """End the status line; remember the count in *work* for next time."""
        if self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
        self.say(f"{self.done} objects compiled ({self.kind} build)")
        if work is not None:
            counts = stored_counts(work)
            counts[self.kind] = self.done
            (work.root / COUNTS_FILE).write_text(json.dumps(counts) + "\n")
