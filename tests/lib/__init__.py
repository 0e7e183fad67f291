# SPDX-License-Identifier: MIT
"""Test helpers shared by tests/vm and tests/robustness.

:mod:`tests.lib.taps` and :mod:`tests.lib.tapdevs` are pytest plugins
(fixtures and helpers for tun taps, and for the macvtap/ipvtap devices of
drivers/net/tap.c, inside a network namespace); the conftest.py files load
them with ``pytest_plugins``.  :mod:`tests.lib.hashcases` holds the frames
and TUNSETVNETHASH rows the suites of both drivers share.
:mod:`tests.lib.netlink` does links, network namespaces and statistics
with pyroute2 (rtnetlink), so no test packs a netlink message by hand.
"""
