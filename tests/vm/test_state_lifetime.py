# SPDX-License-Identifier: MIT
"""The hash state is freed when its configuration ends (issue 18, item 1).

The configuration belongs to the files attached when it was set: when the
last one detaches, tun_vnet_hash_clear() (drivers/net/tun_vnet.h, called
from __tun_detach()) ends it and frees the ~5 KiB state (kvzalloc of
struct tun_vnet_hash_state with a 128-entry table: an 8 KiB kmalloc
object).  A kernel that only unpublished it there (the state-leak-teardown
mutant, tests/mutants/) leaks one per session.

On one persistent tap, SESSIONS sessions each attach a file, set RSS with
a full table and close it.  Slab memory (/proc/meminfo SUnreclaim: the
normal kernel has no /proc/slabinfo) must come back to within LIMIT of
where it started once the kvfree_rcu() batches are drained; a leak of one
state per session is SESSIONS x 8 KiB, five times LIMIT.  LIMIT is well
above the drift of SUnreclaim while the C suites run beside pytest (a few
hundred KiB, tests/vm/test_flow_tracking.py).
"""

from __future__ import annotations

import time

from pyuapi import HashConfig, Tap
from pyuapi.uapi import tun as T
from tests.lib.netlink import NetNS
from tests.lib.taps import require_hash

SESSIONS = 1300
STATE_BYTES = 8192         # the kmalloc bucket of one state with 128 entries
LIMIT = 2 << 20            # bytes of SUnreclaim growth allowed after settling
SETTLE_SECONDS = 30.0      # kvfree_rcu() drains its batches within a few seconds


def sunreclaim() -> int:
    """SUnreclaim of /proc/meminfo, in bytes."""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("SUnreclaim:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no SUnreclaim in /proc/meminfo")


def settled_growth(before: int) -> int:
    """SUnreclaim growth over *before*, polled until it is within LIMIT or
    SETTLE_SECONDS have passed: freed states wait for a grace period."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        growth = sunreclaim() - before
        if growth < LIMIT or time.monotonic() > deadline:
            return growth
        time.sleep(0.5)


def test_state_freed_when_the_last_file_detaches(netns: NetNS) -> None:
    name = "lifetp0"
    with Tap(name, queues=1) as dev:
        cap = require_hash(dev)
        dev.set_persist(True)
    assert SESSIONS * STATE_BYTES >= 5 * LIMIT
    try:
        cfg = HashConfig.with_random_key(T.TUN_VNET_HASH_RSS, cap.types,
                                         (0,) * cap.max_indirection_table_length)
        for _ in range(50):                               # caches and per-CPU slabs at steady size
            with Tap(name, queues=1) as t:
                t.set_vnet_hash(cfg)
        before = sunreclaim()
        start = time.monotonic()
        for _ in range(SESSIONS):
            with Tap(name, queues=1) as t:
                t.set_vnet_hash(cfg)
        took = time.monotonic() - start
        growth = settled_growth(before)
        assert growth < LIMIT, (
            f"SUnreclaim grew {growth >> 10} KiB after {SESSIONS} sessions ({took:.1f}s) "
            f"that each set a {STATE_BYTES >> 10} KiB configuration on a persistent tap; "
            f"allowed {LIMIT >> 10} KiB: the state is not freed when the last file detaches")
    finally:
        with Tap(name, queues=1) as t:
            t.set_persist(False)
