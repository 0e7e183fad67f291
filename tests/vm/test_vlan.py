# SPDX-License-Identifier: MIT
"""VLAN-tagged traffic: the hash and the queue come from the IP headers behind
the tags (pyuapi.rss module docstring; patches/0001), wherever the tag is.

* In the frame: 802.1Q, 802.1ad and QinQ frames injected into the tap.
* In skb->vlan_tci: frames sent through a VLAN device on the tap reach tun
  with the tag outside the data (tun offers NETIF_F_HW_VLAN_CTAG_TX and
  STAG_TX); tun_put_user() writes it into the frame user space reads.

v1 reported NONE for both and steered them to the unclassified queue.
"""

from __future__ import annotations

import random

import pytest

from pyuapi import HashConfig, Tap
from pyuapi.testkit import packets as P
from pyuapi.testkit.inject import Injector
from pyuapi.uapi import tun as T
from pyuapi.uapi import virtio_net as V
from tests.lib.netlink import add_vlan, link_up
from tests.lib.taps import (TapFactory, collect, expected, mismatches, report_ready,
                            require_hash)

RSS_REPORT = T.TUN_VNET_HASH_RSS | T.TUN_VNET_HASH_REPORT
QUEUES = 4


def configured_tap(make_tap: TapFactory, rng: random.Random) -> tuple[Tap, HashConfig]:
    """A 4-queue tap with RSS+REPORT, every type, a random key, and an
    unclassified queue no table entry uses, so that a frame wrongly left
    unhashed shows in its queue."""
    tap = make_tap(queues=QUEUES)
    require_hash(tap)
    report_ready(tap)
    cfg = HashConfig(RSS_REPORT, V.VIRTIO_NET_RSS_HASH_TYPE_ALL, rng.randbytes(40),
                     table=tuple(rng.choice((0, 1, 2)) for _ in range(8)),
                     unclassified_queue=3)
    tap.set_vnet_hash(cfg)
    return tap, cfg


def ip_frames(n: int, rng: random.Random) -> list[bytes]:
    """Distinct TCP/UDP over IPv4/IPv6 frames."""
    out = []
    for i in range(n):
        s4, d4 = f"10.9.{i % 250}.1", f"10.9.{i % 250}.2"
        s6, d6 = f"2001:db8::{i + 1:x}", "2001:db8:1::2"
        sport, dport = rng.randrange(1, 65536), rng.randrange(1, 65536)
        if i % 2:
            out.append(P.udp4_frame(s4, d4, sport, dport))
        else:
            out.append(P.ether(P.ipv6(s6, d6, 6, P.tcp(s6, d6, sport, dport)), P.ETH_P_IPV6))
    return out


@pytest.mark.parametrize("tpids", [(0x8100,), (0x88A8,), (0x88A8, 0x8100)],
                         ids=["802.1Q", "802.1ad", "QinQ"])
def test_tag_in_the_frame(make_tap: TapFactory, tpids: tuple[int, ...]) -> None:
    rng = random.Random(0x71A9)
    tap, cfg = configured_tap(make_tap, rng)
    frames = []
    for f in ip_frames(24, rng):
        for i, tpid in enumerate(reversed(tpids)):
            f = P.push_vlan_tag(f, tpid, 10 + i)
        frames.append(f)
    assert all(expected(tap, cfg, f)[1] != V.VIRTIO_NET_HASH_REPORT_NONE for f in frames)
    assert mismatches(tap, cfg, frames) == []


@pytest.mark.parametrize("proto", [0x8100, 0x88A8], ids=["802.1Q", "802.1ad"])
def test_tag_in_skb_vlan_tci(make_tap: TapFactory, proto: int) -> None:
    rng = random.Random(0x7C1)
    tap, cfg = configured_tap(make_tap, rng)
    vlan = "vl7"
    add_vlan(tap.name, vlan, 7, proto)
    link_up(vlan)
    frames = ip_frames(16, rng)
    with Injector(vlan) as inj:
        inj.send_all(frames)
    got = collect(tap, len(frames))
    tagged = sorted(P.push_vlan_tag(f, proto, 7) for f in frames)
    assert sorted(p.frame for p in got) == tagged, \
        "tun did not write the tag of skb->vlan_tci into the frames"
    for p in got:
        h, r, q = expected(tap, cfg, p.frame)
        assert r != V.VIRTIO_NET_HASH_REPORT_NONE
        assert (p.hash_value, p.hash_report, p.queue) == (h, r, q), p.frame[:40].hex()
