# SPDX-License-Identifier: MIT
"""Fixtures for the robustness suites (issue 7): `make fuzz`, `make stress`.

The tap fixtures and the skip/fail convention are those of tests/vm, from
the plugins tests.lib.taps and tests.lib.tapdevs (macvtap/ipvtap: root and
/dev/net/tun or skip; a kernel without the feature skips, or fails when
TUNRSS_EXPECT_FEATURE=1; one network namespace per test); tests import the
helpers from tests.lib.taps.

Sizes and seeds come from TUNRSS_* variables (knobs.py).  Each suite adds
rows to a summary printed at the end of the pytest run
(``record_summary``), e.g. the errno classes per input class of the ioctl
fuzzer; the summary goes to the suite's log in RESULTS.
"""

from __future__ import annotations

from typing import Callable

import pytest

pytest_plugins = ["tests.lib.taps", "tests.lib.tapdevs"]


@pytest.fixture(autouse=True)
def _root_and_tun(root_and_tun: None) -> None:
    """Every test of the directory: root and /dev/net/tun, or skip."""


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


def pytest_configure(config: pytest.Config) -> None:
    """pyroute2 waits 2 s (pyroute2.config.default_communicate_timeout) for the
    child that creates a network namespace; a TCG guest with KASAN beside
    other VMs took longer (test_concurrent_stress setup, 2026-12-02), and
    the test errored before it started.  60 s bounds the wait all the same."""
    import pyroute2.config
    pyroute2.config.default_communicate_timeout = max(
        pyroute2.config.default_communicate_timeout, 60)
