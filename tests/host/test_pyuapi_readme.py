# SPDX-License-Identifier: MIT
"""pyuapi/README.md's example as a doctest on the host.

The block that parses and validates a configuration always runs.  The one
that opens a tap runs only where it can (root, /dev/net/tun, a kernel with
TUNGETVNETHASHCAP), in a network namespace of its own; otherwise it is
skipped with the reason (tests/vm/test_readme.py runs it in the VM).
"""

from __future__ import annotations

import os

import pytest

import pyuapi
from tests.lib import readme


def _feature_absent_reason() -> str:
    """Why the device block cannot run here, or '' if it can (in a network namespace)."""
    try:
        with pyuapi.Tap("probe%d") as tap:
            tap.hash_cap()
    except pyuapi.FeatureMissingError as e:
        return f"this kernel has no TUNGETVNETHASHCAP ({e.strerror})"
    return ""


def test_readme_has_both_blocks() -> None:
    found = readme.blocks()
    assert [b.needs_feature for b in found] == [False, True]
    assert "HashConfig.with_random_key" in found[1].text and "drain_all" in found[1].text


def test_readme_example() -> None:
    from tests.lib.netlink import NetNS

    found = readme.blocks()
    globs: dict = {}
    report = readme.run([b for b in found if not b.needs_feature], globs)
    assert report == "", report
    if os.geteuid() != 0 or not os.path.exists("/dev/net/tun"):
        pytest.skip("README device block skipped: needs root and /dev/net/tun "
                    "(run by tests/vm/test_readme.py)")
    with NetNS():
        why = _feature_absent_reason()
        if why:
            pytest.skip(f"README device block skipped: {why} (run by tests/vm/test_readme.py)")
        report = readme.run([b for b in found if b.needs_feature], globs)
    assert report == "", report
