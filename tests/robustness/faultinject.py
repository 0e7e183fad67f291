# SPDX-License-Identifier: MIT
"""The kernel's fault injection from a test: debugfs knobs, fail-nth,
make-it-fail and code ranges (Documentation/fault-injection/
fault-injection.rst; lib/fault-inject.c should_fail_ex).

* :class:`FailNth`: ``/proc/thread-self/fail-nth`` = N makes the Nth
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

__all__ = ["DEBUGFS", "missing", "Knobs", "FailNth", "make_it_fail", "symbol_range",
           "injecting"]

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


class FailNth:
    """``/proc/thread-self/fail-nth`` of the calling thread, opened once, so that
    arming it and the call under test are two syscalls in a row: no open(),
    close() or allocation of Python's own in between to take the failure.
    Use in the thread that made it; a context manager (disarms and closes)."""

    def __init__(self) -> None:
        self.fd = os.open("/proc/thread-self/fail-nth", os.O_RDWR)

    def arm(self, n: int) -> None:
        """The ``n``-th fault-injection point of this thread fails (0: none)."""
        os.pwrite(self.fd, str(n).encode(), 0)

    def left(self) -> int:
        """Points still to pass before the failure; 0 once it was injected."""
        return int(os.pread(self.fd, 16, 0).strip() or 0)

    def close(self) -> None:
        """Disarm and close."""
        if self.fd >= 0:
            self.arm(0)
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> "FailNth":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class MakeItFail:
    """``/proc/thread-self/make-it-fail`` opened once, like :class:`FailNth`:
    arming, the call under test and disarming are three syscalls in a row,
    with nothing of Python's own that could allocate (and so fail) between
    them.  A context manager (disarms and closes)."""

    def __init__(self) -> None:
        self.fd = os.open("/proc/thread-self/make-it-fail", os.O_RDWR)

    def arm(self, on: bool) -> None:
        """From now on, this thread's allocations may (on) or may not fail."""
        os.pwrite(self.fd, b"1" if on else b"0", 0)

    def __enter__(self) -> "MakeItFail":
        return self

    def __exit__(self, *exc: object) -> None:
        self.arm(False)
        os.close(self.fd)


@contextmanager
def make_it_fail() -> Iterator[None]:
    """This thread (``/proc/thread-self/make-it-fail``) may fail for the block
    (:class:`MakeItFail`, armed on entry)."""
    with MakeItFail() as mif:
        mif.arm(True)
        yield


@contextmanager
def injecting() -> Iterator[None]:
    """Mark the block on the console (vm/splat.py FAULT_MARK): the kernel's
    allocation failure reports in it are the injected failures, not splats."""
    def mark(state: str) -> None:
        with open("/dev/kmsg", "w") as f:
            f.write(f"tunrss-fault-injection: {state}\n")
    mark("on")
    try:
        yield
    finally:
        mark("off")


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
