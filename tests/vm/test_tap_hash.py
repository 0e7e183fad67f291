# SPDX-License-Identifier: MIT
"""TUNGETVNETHASHCAP / TUNSETVNETHASH behaviour against pyuapi.rss (docs/design.md "Behaviour")."""

from __future__ import annotations

import os
import random

from pyuapi.testkit import bpf, packets as P
from pyuapi import rss
from pyuapi.uapi import tun as T, virtio_net as V
from pyuapi.testkit.inject import Injector
from pyuapi import HashConfig, Tap

from tests.lib.taps import collect, mismatches

RSS, REPORT = T.TUN_VNET_HASH_RSS, T.TUN_VNET_HASH_REPORT
ALL = V.VIRTIO_NET_RSS_HASH_TYPE_ALL


def sample_frames(n: int = 0) -> list[bytes]:
    """One frame per hashing rule (distinct bytes), plus ``n`` random TCP/UDP ones."""
    s4, d4, s6, d6 = "10.1.0.1", "10.2.0.2", "2001:db8::1", "2001:db8::2"
    home, care = "2001:db8:aa::1", "2001:db8:bb::2"
    out = [
        P.ether(P.ipv4(s4, d4, 6, P.tcp(s4, d4, 1, 2)), P.ETH_P_IP),
        P.udp4_frame(s4, d4, 3, 4),
        P.ether(P.ipv4(s4, d4, 1, P.icmpv4_echo()), P.ETH_P_IP),
        P.ether(P.ipv4(s4, d4, 6, P.tcp(s4, d4, 5, 6), options=b"\x01" * 4), P.ETH_P_IP),
        P.ether(P.ipv4(s4, d4, 6, P.tcp(s4, d4, 7, 8), mf=True), P.ETH_P_IP),
        P.ether(P.ipv4(s4, d4, 6, b"later-fragment", frag_offset=9), P.ETH_P_IP),
        P.ether(P.ipv6(s6, d6, 6, P.tcp(s6, d6, 9, 10)), P.ETH_P_IPV6),
        P.ether(P.ipv6(s6, d6, 17, P.udp(s6, d6, 11, 12)), P.ETH_P_IPV6),
        P.ether(P.ipv6(s6, d6, 58, P.icmpv6_echo(s6, d6)), P.ETH_P_IPV6),
        P.ether(P.ipv6(s6, d6, 6, P.tcp(home, care, 13, 14),
                       ext=[P.hop_by_hop(), P.rh2(care), P.dest_opts(P.hao_option(home))]),
                P.ETH_P_IPV6),
        P.ether(P.ipv6(s6, d6, 17, P.udp(home, d6, 15, 16),
                       ext=[P.dest_opts(P.hao_option(home))]), P.ETH_P_IPV6),
        P.ether(P.ipv6(s6, d6, 6, P.tcp(s6, d6, 17, 18), ext=[P.ah()]), P.ETH_P_IPV6),
        P.ether(P.ipv6(s6, d6, 6, P.tcp(s6, d6, 19, 20), ext=[P.fragment_header(0, True)]),
                P.ETH_P_IPV6),
        P.ether(P.ipv6(s6, d6, 6, b"later6", ext=[P.fragment_header(5, False)]), P.ETH_P_IPV6),
        P.ether(P.ipv6(s6, d6, 59, b""), P.ETH_P_IPV6),
        P.ether(b"\0" * 28, P.ETH_P_ARP),
        P.vlan(P.ipv4(s4, d4, 6, P.tcp(s4, d4, 21, 22)), P.ETH_P_IP),
    ]
    rng = random.Random(7)
    for i in range(n):
        a, b = f"10.{i % 250}.{rng.randrange(256)}.1", f"172.16.{rng.randrange(256)}.{i % 250}"
        proto = rng.choice((6, 17))
        seg = (P.tcp if proto == 6 else P.udp)(a, b, rng.randrange(65536), rng.randrange(65536))
        out.append(P.ether(P.ipv4(a, b, proto, seg, ident=i), P.ETH_P_IP))
    return out


def test_capabilities(hash_tap: tuple[Tap, T.tun_vnet_hash_cap]) -> None:
    _tap, cap = hash_tap
    assert cap.size == T.TUN_VNET_HASH_CAP_SIZE_VER0
    assert cap.flags == RSS | REPORT
    assert cap.max_indirection_table_length == T.MAX_TABLE_LENGTH     # not UAPI: the cap says
    assert cap.key_size == T.TUN_VNET_HASH_KEY_SIZE
    assert bytes(cap.reserved) == bytes(2)
    assert cap.types == ALL, V.types_str(cap.types)


def test_report_matches_reference(hash_tap: tuple[Tap, T.tun_vnet_hash_cap]) -> None:
    tap, cap = hash_tap
    for types in (cap.types, V.VIRTIO_NET_RSS_HASH_TYPE_IPv4 | V.VIRTIO_NET_RSS_HASH_TYPE_TCPv6,
                  V.VIRTIO_NET_RSS_HASH_TYPE_TCP_EX | V.VIRTIO_NET_RSS_HASH_TYPE_UDPv6, 0):
        cfg = HashConfig(REPORT, types & cap.types, os.urandom(40))
        tap.set_vnet_hash(cfg)
        assert mismatches(tap, cfg, sample_frames(32)) == []


def test_microsoft_key_reported(hash_tap: tuple[Tap, T.tun_vnet_hash_cap]) -> None:
    tap, cap = hash_tap
    cfg = HashConfig(REPORT, cap.types, rss.MS_KEY)
    tap.set_vnet_hash(cfg)
    f = P.ether(P.ipv4("66.9.149.187", "161.142.100.80", 6,
                       P.tcp("66.9.149.187", "161.142.100.80", 2794, 1766)), P.ETH_P_IP)
    assert mismatches(tap, cfg, [f]) == []
    assert rss.hash_frame(f, cfg.types, cfg.key) == (0x51CCC178, V.VIRTIO_NET_HASH_REPORT_TCPv4)


def test_rss_steers_by_table(hash_tap: tuple[Tap, T.tun_vnet_hash_cap]) -> None:
    tap, cap = hash_tap
    rng = random.Random(3)
    for flags in (RSS, RSS | REPORT):
        table = tuple(rng.randrange(4) for _ in range(16))
        cfg = HashConfig(flags, cap.types, rng.randbytes(40), table, unclassified_queue=3)
        tap.set_vnet_hash(cfg)
        assert mismatches(tap, cfg, sample_frames(64)) == []


def test_rss_queue_numbers_modulo_attached_queues(hash_tap: tuple[Tap, T.tun_vnet_hash_cap]
                                                  ) -> None:
    tap, cap = hash_tap
    cfg = HashConfig(RSS | REPORT, cap.types, os.urandom(40), tuple(range(8)) * 4,
                     unclassified_queue=9)
    tap.set_vnet_hash(cfg)
    assert mismatches(tap, cfg, sample_frames(32)) == []
    tap.detach_queue(1)                   # queue numbers now modulo 3, order changed
    assert mismatches(tap, cfg, sample_frames(32)) == []
    tap.attach_queue(1)
    assert mismatches(tap, cfg, sample_frames(32)) == []


def test_disable_returns_to_ebpf(hash_tap: tuple[Tap, T.tun_vnet_hash_cap]) -> None:
    tap, cap = hash_tap
    tap.set_vnet_hash(HashConfig(RSS, cap.types, os.urandom(40), (2,)))
    tap.disable_vnet_hash()
    prog = bpf.load_const_prog(1)
    try:
        tap.set_steering_ebpf(prog)      # no EBUSY: RSS is off
    finally:
        os.close(prog)
    frames = sample_frames(8)
    with Injector(tap.name) as inj:
        for f in frames:
            inj.send(f)
    got = collect(tap, len(frames))
    assert len(got) == len(frames)
    assert {p.queue for p in got} == {tap.fd_index_of_kernel_queue(1)}
    tap.set_steering_ebpf(-1)
