# SPDX-License-Identifier: MIT
"""Results directories: one per command, held while the command runs.

Each command writes into its own directory by default (``results/<command>``,
:func:`default_for`; ``RESULTS=``/``--results`` overrides), so ``make
vm-test`` and ``make bench`` in one clone never write, nor delete, each
other's files.  :func:`claim` holds the directory with flock(2) (vm/locks.py,
as the kernel work directories are): a second run on the same directory
waits for the first one, saying so.  Then it empties the directory for the
new run, but never a subdirectory another run holds (``RESULTS=results``
beside a running ``make bench`` leaves results/bench alone).
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

from . import locks

REPO = Path(__file__).resolve().parent.parent
ROOT = REPO / "results"


def default_for(command: str) -> Path:
    """Where *command* writes when no results directory is given."""
    return ROOT / command


def claim(directory: Path, wait: bool = True,
          say: Callable[[str], None] | None = None) -> Path:
    """Hold *directory* for this process and empty it (see the module
    docstring); returns it.  With *wait* false, a directory another run holds
    raises ResultsBusy instead of waiting."""
    from .errors import ResultsBusy

    if not locks.acquire(directory, "results directory", wait=wait, say=say):
        who = locks.holder(directory) or "another run"
        raise ResultsBusy(f"{directory} is in use by {who}; wait for it, or give this run "
                          "its own results directory (RESULTS=... / --results ...)")
    clear(directory)
    return directory


def clear(directory: Path) -> list[Path]:
    """Remove what *directory* holds except its lock file and the
    subdirectories another run holds; return those kept subdirectories."""
    kept: list[Path] = []
    for entry in sorted(directory.iterdir()) if directory.is_dir() else []:
        if entry.name == locks.LOCK_NAME:
            continue
        if entry.is_dir() and not entry.is_symlink():
            if locks.is_held(entry):
                kept.append(entry)
                continue
            inner = clear(entry)
            if inner:
                kept += inner
                continue
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    return kept


def release(directory: Path) -> None:
    """Give *directory* back to other runs."""
    locks.release(directory)
