# SPDX-License-Identifier: MIT
"""No automq flow tracking while RSS chooses the queues (issue 12, point 7).

For every packet user space writes to a multiqueue tun without a steering
program, tun computes a symmetric flow hash and records the flow in its
flow table (drivers/net/tun.c tun_get_user: __skb_get_hash_symmetric,
tun_flow_update), which only automq's queue selection reads.  With
TUN_VNET_HASH_RSS that work is wasted, so the series skips it.

The flow table is not visible from user space, but each new flow is one
kmalloc'ed struct tun_flow_entry (tun_flow_create), 128 bytes with its
cache line aligned member, freed only when it ages out (3 s).  The test
writes FLOWS distinct flows to each of TAPS taps and reads the kernel's unreclaimable slab
(/proc/meminfo SUnreclaim; the normal kernel has no /proc/slabinfo).  It
calibrates itself in the same run: the same writes without RSS must grow
it by at least MIN_SEEN, or the instrument cannot see the flow table and
the test fails instead of passing; with RSS it must grow by less than a
quarter of that.  Each growth is taken relative to the same writes
to a single-queue tap (no flow tracking), after a warm-up, so that the
caches the packets themselves use do not count.  The RSS case runs before
the calibration, so that the calibration's entries cannot age out
during it.
"""

from __future__ import annotations

import os
import random
import time
from typing import Callable

from pyuapi import HashConfig, Tap
from pyuapi.testkit import packets as P
from pyuapi.uapi import tun as T
from pyuapi.uapi import virtio_net as V
from tests.lib.taps import TapFactory, require_hash

FLOWS = 4000                      # per tap: below MAX_TAP_FLOWS (4096)
TAPS = 4                          # taps per condition: 16,000 flows, about 2 MiB of entries
ENTRY = 128                       # sizeof(struct tun_flow_entry) on 64-bit
MIN_SEEN = TAPS * FLOWS * ENTRY // 2   # what the calibration must at least show
# The C suites run beside pytest in the guest, so SUnreclaim moves by a few
# hundred KiB on its own: the signal is made several times larger than that.


def sunreclaim() -> int:
    """/proc/meminfo SUnreclaim, in bytes (kmalloc slabs count there)."""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("SUnreclaim:"):
                return int(line.split()[1]) * 1024
    raise OSError("/proc/meminfo has no SUnreclaim")


def write_flows(taps: list[Tap], base: int) -> int:
    """Write FLOWS distinct UDP/IPv4 flows into queue 0 of each tap; the SUnreclaim growth."""
    frames = [P.udp4_frame(f"10.{base}.{i >> 8}.{i & 0xff}", "10.99.0.1", 1024 + i, 53)
              for i in range(FLOWS)]
    before = sunreclaim()
    for tap in taps:
        hdr = bytes(tap.vnet_hdr_sz())
        for f in frames:
            os.write(tap.fds[0], hdr + f)
    return sunreclaim() - before


def test_rss_skips_automq_flow_tracking(make_tap: TapFactory,
                                        record_property: Callable[[str, object], None]) -> None:
    rng = random.Random(0xF10)
    singles = [make_tap(queues=1, multi_queue=False) for _ in range(TAPS)]  # no flow tracking
    rss = [make_tap(queues=4) for _ in range(TAPS)]
    require_hash(rss[0])
    for tap in rss:
        tap.set_vnet_hash(HashConfig(T.TUN_VNET_HASH_RSS, V.VIRTIO_NET_RSS_HASH_TYPE_ALL,
                                     rng.randbytes(40), table=(0, 1, 2, 3)))
    automq = [make_tap(queues=4) for _ in range(TAPS)]
    write_flows(singles, 10)        # warm the caches the packets themselves use
    time.sleep(0.2)
    base = write_flows(singles, 11)  # the same writes, without any flow table
    with_rss = write_flows(rss, 20) - base
    without = write_flows(automq, 30) - base
    # In the junit XML (results/vm-test/junit.xml), for the notes
    record_property("sunreclaim_growth_with_rss", with_rss)
    record_property("sunreclaim_growth_without_rss", without)
    assert without >= MIN_SEEN, \
        (f"calibration: {TAPS * FLOWS} new flows without RSS grew SUnreclaim by {without} B "
         f"more than one queue did, less than {MIN_SEEN} B: this instrument cannot see "
         f"tun's flow table")
    assert with_rss < without // 4, \
        (f"with RSS, {TAPS * FLOWS} new flows grew SUnreclaim by {with_rss} B more than one "
         f"queue did, without RSS by {without} B: tun still tracks flows for automq "
         f"while RSS chooses the queues")
