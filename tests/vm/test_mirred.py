# SPDX-License-Identifier: MIT
"""A tap never reports a hash that another device computed.

Tap A steers with RSS and so attaches its hash to each skb (patches/0003,
SKB_EXT_VIRTIO_NET_HASH); a tc mirred action on A's root qdisc, which runs
after A chose the queue, redirects the skb to single-queue tap B, whose own
key and types differ.  B must report the hash of its own configuration:
v1 reported A's.
"""

from __future__ import annotations

import random
import subprocess

from pyuapi import HashConfig
from pyuapi.testkit import packets as P
from pyuapi.testkit.inject import Injector
from pyuapi.uapi import tun as T
from pyuapi.uapi import virtio_net as V
from tests.lib.taps import TapFactory, collect, expected, report_ready, require_hash

ALL = V.VIRTIO_NET_RSS_HASH_TYPE_ALL


def tc(*args: str) -> None:
    """Run iproute2's tc; fail with its words."""
    proc = subprocess.run(["tc", *args], text=True, capture_output=True)
    assert proc.returncode == 0, f"tc {' '.join(args)}: {proc.stderr.strip()}"


def test_mirred_to_another_tap_reports_its_own_hash(make_tap: TapFactory) -> None:
    rng = random.Random(0x3177ED)
    a = make_tap(queues=2)
    require_hash(a)
    report_ready(a)
    a.set_vnet_hash(HashConfig(T.TUN_VNET_HASH_RSS | T.TUN_VNET_HASH_REPORT, ALL,
                               rng.randbytes(40), table=(0, 1)))
    b = make_tap(queues=1, multi_queue=False)
    report_ready(b)
    # B hashes IPv4 addresses only, with its own key: A's report (TCPv4/UDPv4) cannot pass
    cfg_b = HashConfig(T.TUN_VNET_HASH_REPORT, V.VIRTIO_NET_RSS_HASH_TYPE_IPv4,
                       rng.randbytes(40))
    b.set_vnet_hash(cfg_b)
    tc("qdisc", "add", "dev", a.name, "root", "handle", "1:", "prio")
    tc("filter", "add", "dev", a.name, "parent", "1:", "matchall",
       "action", "mirred", "egress", "redirect", "dev", b.name)
    frames = [P.udp4_frame(f"10.8.0.{i}", "10.8.1.1", 1000 + i, 53) for i in range(1, 33)]
    with Injector(a.name) as inj:
        inj.send_all(frames)
    got = collect(b, len(frames))
    assert sorted(p.frame for p in got) == sorted(frames)
    assert collect(a, 1, timeout=0.2) == [], "the redirect left frames on A"
    for p in got:
        h, r, _ = expected(b, cfg_b, p.frame)
        assert r == V.VIRTIO_NET_HASH_REPORT_IPv4
        assert (p.hash_value, p.hash_report) == (h, r), \
            f"B reported ({p.hash_value:#010x}, {p.hash_report}), its own config gives ({h:#010x}, {r})"
