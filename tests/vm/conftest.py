# SPDX-License-Identifier: MIT
"""tests/vm (run in the VM by `make vm-test`): the fixtures of tests.lib.taps
and tests.lib.tapdevs (macvtap/ipvtap).

Every test here needs root and /dev/net/tun (else it skips) and runs in a
network namespace of its own; see tests/lib/taps.py for the skip/fail
convention.  Tests import the helpers from tests.lib.taps.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.lib.taps", "tests.lib.tapdevs"]


@pytest.fixture(autouse=True)
def _root_and_tun(root_and_tun: None) -> None:
    """Every test of the directory: root and /dev/net/tun, or skip."""
