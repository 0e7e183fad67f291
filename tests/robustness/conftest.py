# SPDX-License-Identifier: MIT
"""Fixtures for the robustness suites (issue 7): `make fuzz`, `make stress`.

The tap fixtures and the skip/fail convention are those of
tests/vm/conftest.py (root and /dev/net/tun or skip; a kernel without the
feature skips, or fails when TUNRSS_EXPECT_FEATURE=1; one network namespace
per test).  That file is loaded here as the module ``vm_conftest`` and its
fixtures re-exported, so both directories keep a conftest.py of their own
and the tests import the helpers with ``from vm_conftest import ...``.

Sizes and seeds come from TUNRSS_* variables (knobs.py).  Each suite adds rows to a summary printed at the end of
the pytest run (``record_summary``), e.g. the errno classes per input class
of the ioctl fuzzer; the summary goes to the suite's log in RESULTS.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Callable

import pytest

_VM_CONFTEST = Path(__file__).resolve().parents[1] / "vm" / "conftest.py"
_spec = importlib.util.spec_from_file_location("vm_conftest", _VM_CONFTEST)
assert _spec is not None and _spec.loader is not None
vm_conftest = importlib.util.module_from_spec(_spec)
sys.modules["vm_conftest"] = vm_conftest
_spec.loader.exec_module(vm_conftest)

# Fixtures re-exported (pytest registers the fixtures found in a conftest's namespace).
_root_and_tun = vm_conftest._root_and_tun
netns = vm_conftest.netns
make_tap = vm_conftest.make_tap
hash_tap = vm_conftest.hash_tap

_SUMMARY: list[str] = []


@pytest.fixture
def record_summary() -> Callable[[str], None]:
    """record_summary(text): print ``text`` in the run's final summary."""
    return _SUMMARY.append


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print what the suites recorded, whether they passed or not."""
    if _SUMMARY:
        terminalreporter.section("robustness summary")
        for text in _SUMMARY:
            terminalreporter.write_line(text)
