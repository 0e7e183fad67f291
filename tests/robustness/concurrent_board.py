# SPDX-License-Identifier: MIT
"""Shared state of test_concurrent_stress.py (issue 17): what its processes
write while they race, and what the parent judges afterwards.

The workers are forked processes (two vCPUs run two of them at once; Python
threads would take turns on the GIL).  They share anonymous shared memory
(multiprocessing RawArray/RawValue, single aligned words: no lock needed):

* the TUNSETVNETHASH attempts: attempt ``i`` tried pool entry ``choice[i]``
  and ``outcome[i]`` says whether it was applied (1), refused (0) or had
  not returned (-1); ``started``/``done`` are the last attempt whose ioctl
  started/returned.  Attempt 0 is the configuration set before the race.
* one counter per operation kind (:data:`COUNTERS`), so that the test can
  require a minimum of each (a run that did nothing cannot pass).

:func:`live_window` turns a (done before, started after) pair of attempt
numbers into the configurations that may have been in force in between:
the last one applied at or before ``first`` and every one applied up to
``last`` (include/uapi/linux/if_tun.h TUNSETVNETHASH replaces the
configuration as a whole, or changes nothing).
"""

from __future__ import annotations

import bisect
import ctypes
import multiprocessing as mp
from typing import Sequence

__all__ = ["COUNTERS", "Board", "applied_attempts", "live_window"]

COUNTERS = (
    "set_applied", "set_busy", "set_invalid", "get", "attach", "detach", "setqueue_refused",
    "steer_on", "steer_off", "steer_busy", "hdrsz", "hdrsz_invalid", "link_down", "link_up",
    "sent", "send_refused", "read", "read_refused", "reopen", "reopen_read",
    "persist_cycles", "persist_checked", "deleted", "deleted_ioctls", "vhost_received",
)


class Board:
    """Shared memory of one run, made before the workers fork."""

    def __init__(self, max_attempts: int) -> None:
        self.max_attempts = max_attempts
        self.choice = mp.RawArray(ctypes.c_int32, max_attempts)
        self.outcome = mp.RawArray(ctypes.c_int8, max_attempts)
        self.started = mp.RawValue(ctypes.c_long, 0)
        self.done = mp.RawValue(ctypes.c_long, 0)
        self.stop = mp.RawValue(ctypes.c_int, 0)
        self.counts = mp.RawArray(ctypes.c_long, len(COUNTERS))
        ctypes.memset(ctypes.addressof(self.outcome), 0xFF, max_attempts)   # -1: pending

    def add(self, name: str, n: int = 1) -> None:
        """Count ``n`` operations of kind ``name`` (one writer per kind, or
        workers that count different kinds: no lost updates)."""
        self.counts[COUNTERS.index(name)] += n

    def count(self, name: str) -> int:
        """The count of kind ``name``."""
        return int(self.counts[COUNTERS.index(name)])

    def totals(self) -> dict[str, int]:
        """Every counter by name."""
        return {name: int(self.counts[i]) for i, name in enumerate(COUNTERS)}

    def stopping(self) -> bool:
        """Whether the parent asked the workers to finish."""
        return bool(self.stop.value)


def applied_attempts(board: Board) -> list[int]:
    """The attempt numbers whose TUNSETVNETHASH was applied, ascending (0 included)."""
    last = min(int(board.started.value), board.max_attempts - 1)
    return [i for i in range(last + 1) if board.outcome[i] == 1]


def live_window(applied: Sequence[int], first: int, last: int) -> tuple[int, int]:
    """Positions in ``applied`` of the configurations live between attempt
    ``first`` (last returned before the operation) and ``last`` (last
    started after it): the last applied at or before ``first``, through the
    last applied at or before ``last``."""
    lo = bisect.bisect_right(applied, first) - 1
    hi = bisect.bisect_right(applied, last) - 1
    if lo < 0:
        raise ValueError(f"no configuration applied at or before attempt {first}")
    return lo, max(lo, hi)
