# SPDX-License-Identifier: MIT
"""Test helpers shared by tests/vm and tests/robustness.

:mod:`tests.lib.taps` is a pytest plugin (fixtures and helpers for taps
inside a network namespace); the conftest.py files load it with
``pytest_plugins``.  :mod:`tests.lib.netlink` does links, network
namespaces and statistics with pyroute2 (rtnetlink), so no test packs a
netlink message by hand.
"""
