# SPDX-License-Identifier: MIT
"""pyuapi/README.md's example, every block, for real: on the patched kernel in the VM.

The same doctests as tests/host/test_pyuapi_readme.py, here with the
device block too: a 4-queue tap with RSS and REPORT, one UDP datagram
from the host side, its hash as the kernel reports it against pyuapi.rss.
"""

from __future__ import annotations

from tests.lib import readme
from tests.lib.taps import TapFactory, require_hash


def test_readme_example_runs(make_tap: TapFactory) -> None:
    with make_tap(up=False) as probe:          # skip/fail convention of tests.lib.taps
        require_hash(probe)
    found = readme.blocks()
    assert any(b.needs_feature for b in found)
    report = readme.run(found, {})
    assert report == "", report
