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

from tests.lib.hashcases import sample_frames
from tests.lib.taps import collect, mismatches

RSS, REPORT = T.TUN_VNET_HASH_RSS, T.TUN_VNET_HASH_REPORT
ALL = V.VIRTIO_NET_RSS_HASH_TYPE_ALL


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
        inj.send_all(frames)
    got = collect(tap, len(frames))
    assert len(got) == len(frames)
    assert {p.queue for p in got} == {tap.fd_index_of_kernel_queue(1)}
    tap.set_steering_ebpf(-1)
