# SPDX-License-Identifier: MIT
"""Directories a run holds for itself, with flock(2).

One implementation for the kernel work directories (vm/build.py
Workdir.lock) and the results directories (vm/resultsdir.py): the lock file
``DIR/.lock`` is opened and flock'ed exclusively; the holder writes its pid
and command line into it, so a second run can say whom it waits for.  A
directory is taken once per process (a second take is a no-op) and given
back by :func:`release` or when the process exits.
"""
from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path
from typing import Callable

LOCK_NAME = ".lock"
_HELD: dict[str, int] = {}  # directories this process holds, and their fds


def lock_file(directory: Path) -> Path:
    """The lock file of *directory*."""
    return directory / LOCK_NAME


def holder(directory: Path) -> str:
    """Who holds *directory*, as its holder wrote it ("" if unknown)."""
    try:
        return lock_file(directory).read_text().strip()
    except OSError:
        return ""


def is_held(directory: Path) -> bool:
    """Whether some process (this one included) holds *directory* now."""
    if str(directory.resolve()) in _HELD:
        return True
    try:
        fd = os.open(lock_file(directory), os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def acquire(directory: Path, what: str, wait: bool = True,
            say: Callable[[str], None] | None = None) -> bool:
    """Take *directory* (created if missing) for this process.

    When another process holds it: wait (printing one line that names the
    holder) if *wait*, else return False.  *what* says what the directory
    is, for that line."""
    key = str(directory.resolve())
    if key in _HELD:
        return True
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_file(directory), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        if not wait:
            os.close(fd)
            return False
        who = holder(directory) or "another run"
        (say or _stderr)(f"waiting for {who}, which holds the {what} {directory} ...")
        fcntl.flock(fd, fcntl.LOCK_EX)
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()}: {' '.join(sys.argv)}\n".encode(), 0)
    _HELD[key] = fd
    return True


def release(directory: Path) -> None:
    """Give *directory* back (harmless when not held)."""
    fd = _HELD.pop(str(directory.resolve()), None)
    if fd is not None:
        os.close(fd)  # closing the only fd drops the flock


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
