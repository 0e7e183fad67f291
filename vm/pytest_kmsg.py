# SPDX-License-Identifier: MIT
"""pytest plugin for the guest: marks each test start in the kernel log, so a
splat on the console is tied to the test that caused it (vm/splat.py).
The marker starts with the suite's name (TUNRSS_SUITE, set by vm/guest.py)."""
from __future__ import annotations

import os

import pytest

from .guest import kmsg
from .splat import MARKER


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    kmsg(f"{MARKER}{os.environ.get('TUNRSS_SUITE', 'pytest-vm')}/{item.nodeid}")
