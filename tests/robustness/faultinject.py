# SPDX-License-Identifier: MIT
"""The kernel's fault injection from a test: debugfs knobs, fail-nth,
make-it-fail and code ranges (Documentation/fault-injection/
fault-injection.rst; lib/fault-inject.c should_fail_ex).

* :func:`fail_nth`: ``/proc/thread-self/fail-nth`` = N makes the Nth
  fault-injection point this thread passes fail (whatever the probability;
  the stack filter still applies); it reads 0 once that fault was injected.
* :class:`Knobs`: a capability's debugfs directory (failslab,
  fail_page_alloc, fail_function), every knob written restored on exit.
* :func:`make_it_fail`: with ``task-filter`` set, only tasks whose
  ``/proc/<pid>/make-it-fail`` is 1 fail: this thread, for a block.
* :func:`symbol_range`: [start, end) of a kernel function from
  /proc/kallsyms, for ``require-start``/``require-end``
  (CONFIG_FAULT_INJECTION_STACKTRACE_FILTER): only allocations made with
  that function on the stack fail.

A kernel without CONFIG_FAULT_INJECTION_DEBUG_FS has no such files:
:func:`missing` says what is absent so that the test can skip (the
"kcsan" variant has them: vm/config/kcsan.config).
"""

from __future__ import annotations

import os
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

__all__ = ["DEBUGFS", "missing", "Knobs", "fail_nth", "fail_nth_left", "make_it_fail",
           "symbol_range"]

DEBUGFS = Path("/sys/kernel/debug")


def _mount_debugfs() -> None:
    if not (DEBUGFS / "failslab").exists() and DEBUGFS.is_dir() and not os.listdir(DEBUGFS):
        subprocess.run(["mount", "-t", "debugfs", "none", str(DEBUGFS)], check=False)


def missing(*capabilities: str) -> Optional[str]:
    """What this kernel lacks for ``capabilities`` (debugfs dirs) and fail-nth, or None."""
    _mount_debugfs()
    for cap in capabilities:
        if not (DEBUGFS / cap).is_dir():
            return f"{DEBUGFS / cap} (CONFIG_FAULT_INJECTION_DEBUG_FS and the capability)"
    if not Path("/proc/thread-self/fail-nth").exists():
        return "/proc/thread-self/fail-nth (CONFIG_FAULT_INJECTION)"
    return None


class Knobs:
    """Write knobs of ``/sys/kernel/debug/<capability>``; the old values come back on exit."""

    def __init__(self, capability: str) -> None:
        self.dir = DEBUGFS / capability
        self.saved: dict[str, str] = {}

    def read(self, knob: str) -> str:
        """The knob's value, stripped."""
        return (self.dir / knob).read_text().strip()

    def set(self, **knobs: object) -> None:
        """knob_name=value (underscores for dashes), e.g. ``ignore_gfp_wait="N"``."""
        for name, value in knobs.items():
            knob = name.replace("_", "-")
            self.saved.setdefault(knob, self.read(knob))
            (self.dir / knob).write_text(f"{value}\n")

    def restore(self) -> None:
        """Put every knob written back (probability first: nothing fails meanwhile)."""
        order = sorted(self.saved, key=lambda k: k != "probability")
        for knob in order:
            (self.dir / knob).write_text(self.saved[knob] + "\n")
        self.saved.clear()

    def __enter__(self) -> "Knobs":
        return self

    def __exit__(self, *exc: object) -> None:
        self.restore()


FAIL_NTH = "/proc/thread-self/fail-nth"


def fail_nth(n: int) -> None:
    """Make the ``n``-th fault-injection point of this thread fail (0: none)."""
    with open(FAIL_NTH, "w") as f:
        f.write(str(n))


def fail_nth_left() -> int:
    """Points still to pass before the failure; 0 once it was injected (or none armed)."""
    with open(FAIL_NTH) as f:
        return int(f.read().strip() or 0)


@contextmanager
def make_it_fail() -> Iterator[None]:
    """This thread (``/proc/thread-self/make-it-fail``) may fail for the block."""
    path = "/proc/thread-self/make-it-fail"
    with open(path, "w") as f:
        f.write("1")
    try:
        yield
    finally:
        with open(path, "w") as f:
            f.write("0")


def symbol_range(name: str, kallsyms: str = "/proc/kallsyms") -> tuple[int, int]:
    """[start, end) of the text symbol ``name``: its address to the next text symbol's."""
    addrs = []
    start = None
    with open(kallsyms) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 3 or parts[1] not in "tT":
                continue
            addr = int(parts[0], 16)
            addrs.append(addr)
            if parts[2] == name:
                start = addr
    if start is None or start == 0:
        raise LookupError(f"{name} not in {kallsyms} (or addresses hidden: kptr_restrict)")
    end = min((a for a in addrs if a > start), default=0)
    if not end:
        raise LookupError(f"no text symbol after {name}")
    return start, end
