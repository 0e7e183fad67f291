# SPDX-License-Identifier: MIT
"""No automq flow tracking while RSS chooses the queues (issue 12, point 7).

For every packet user space writes to a multiqueue tun without a steering
program, tun computes a symmetric flow hash and records the flow, with the
queue it was written on, in its flow table (drivers/net/tun.c tun_get_user:
__skb_get_hash_symmetric, tun_flow_update).  Only automq's queue selection
reads that table (tun_automq_select_queue): a packet the host sends to a
recorded flow goes to the recorded queue, any other to
reciprocal_scale(hash, numqueues).  With TUN_VNET_HASH_RSS the recording is
wasted work, so the series skips it.

The flow table is observed through that steering, not through memory
counters (SUnreclaim moves by hundreds of KiB on its own while the C
suites run beside pytest): FLOWS flows are written on queue TRACKED, then
their reverse flows (same symmetric hash) are sent by the host and the
queues they reach are counted.

- Calibration, without RSS: nearly all replies reach TRACKED, or this
  instrument cannot see the flow table and the test fails.
- With RSS while the flows are written, then RSS switched off (flags 0,
  which leaves the flow table alone) so that automq steers the replies:
  a table that recorded nothing spreads them, about 1/numqueues each.
  At most half on TRACKED is allowed (binomial(128, 1/4) >= 64 has
  probability below 1e-9; the flow hash seed is random per boot).

Everything runs well inside the 3 s after which an entry ages out
(TUN_FLOW_EXPIRE).
"""

from __future__ import annotations

import os
from typing import Callable

from pyuapi import HashConfig, Tap
from pyuapi.testkit import packets as P
from pyuapi.testkit.inject import Injector
from pyuapi.uapi import tun as T
from pyuapi.uapi import virtio_net as V
from tests.lib.taps import TapFactory, collect, require_hash

FLOWS = 128
QUEUES = 4
TRACKED = 3                 # the kernel queue the flows are written on
PEER = "10.99.0.1"


def flow(i: int) -> tuple[str, int]:
    """Address and UDP port of the guest side of flow ``i``."""
    return f"10.1.{i >> 8}.{i & 0xff}", 1024 + i


def write_flows(tap: Tap) -> None:
    """Write FLOWS UDP/IPv4 flows (guest -> PEER:53) on kernel queue TRACKED."""
    fd = tap.fds[tap.fd_index_of_kernel_queue(TRACKED)]
    hdr = bytes(tap.vnet_hdr_sz())
    for i in range(FLOWS):
        addr, port = flow(i)
        os.write(fd, hdr + P.udp4_frame(addr, PEER, port, 53))


def replies_on_tracked(tap: Tap) -> int:
    """Send each flow's reply (PEER:53 -> guest) from the host; how many reach TRACKED."""
    with Injector(tap.name) as inj:
        for i in range(FLOWS):
            addr, port = flow(i)
            inj.send(P.udp4_frame(PEER, addr, 53, port))
    got = collect(tap, FLOWS, timeout=2.0)
    assert len(got) == FLOWS, f"{len(got)} of {FLOWS} replies read back"
    tracked = tap.fd_index_of_kernel_queue(TRACKED)
    return sum(p.queue == tracked for p in got)


def test_rss_skips_automq_flow_tracking(make_tap: TapFactory,
                                        record_property: Callable[[str, object], None]) -> None:
    automq = make_tap(queues=QUEUES)
    require_hash(automq)
    write_flows(automq)
    without = replies_on_tracked(automq)

    rss = make_tap(queues=QUEUES)
    rss.set_vnet_hash(HashConfig.with_random_key(
        T.TUN_VNET_HASH_RSS, V.VIRTIO_NET_RSS_HASH_TYPE_ALL, table=tuple(range(QUEUES))))
    write_flows(rss)
    rss.set_vnet_hash(HashConfig.disabled())     # automq steers the replies
    with_rss = replies_on_tracked(rss)

    # In the junit XML (results/vm-test/junit.xml), for the notes
    record_property("replies_on_tracked_queue_without_rss", without)
    record_property("replies_on_tracked_queue_with_rss", with_rss)
    assert without >= FLOWS * 9 // 10, \
        (f"calibration: without RSS only {without} of {FLOWS} replies reached the queue "
         f"their flows were written on: this instrument cannot see tun's flow table")
    assert with_rss <= FLOWS // 2, \
        (f"{with_rss} of {FLOWS} replies reached the queue their flows were written on "
         f"while RSS chose the queues (without RSS: {without}): tun still tracks flows "
         f"for automq under RSS")
