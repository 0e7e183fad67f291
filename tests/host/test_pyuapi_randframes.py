# SPDX-License-Identifier: MIT
"""pyuapi.testkit.randframes: deterministic, covers every hashing rule, valid configs."""

from __future__ import annotations

import collections
import random

from pyuapi import rss
from pyuapi.uapi import tun as T, virtio_net as V
from pyuapi.testkit.randframes import random_config, random_frame
from pyuapi.config import diagnose_vnet_hash

ALL = V.VIRTIO_NET_RSS_HASH_TYPE_ALL


def test_seed_replays() -> None:
    a = [random_frame(random.Random(42), i) for i in range(3)]
    b = [random_frame(random.Random(42), i) for i in range(3)]
    assert a == b
    r1, r2 = random.Random(5), random.Random(5)
    assert [random_frame(r1, i) for i in range(200)] == [random_frame(r2, i) for i in range(200)]


def test_every_report_and_special_case_is_generated() -> None:
    rng = random.Random(11)
    reports: collections.Counter = collections.Counter()
    hao_or_rh2 = frags4 = frags6 = later6 = vlan = truncated_l4 = 0
    for i in range(4000):
        f = random_frame(rng, i)
        r, data = rss.hash_input(f, ALL)
        reports[r] += 1
        if r in (V.VIRTIO_NET_HASH_REPORT_TCPv6_EX, V.VIRTIO_NET_HASH_REPORT_IPv6_EX) and \
                data[:32] != f[22:54]:
            hao_or_rh2 += 1
        if f[12:14] == b"\x08\x00" and len(f) >= 34 and f[14] >> 4 == 4 and \
                (f[20] & 0x3F or f[21]):
            frags4 += 1
        if f[12:14] == b"\x81\x00":
            vlan += 1
        if f[12:14] == b"\x86\xdd" and len(f) >= 62 and f[20] == 44:   # Fragment header first
            frags6 += 1
            later6 += int.from_bytes(f[56:58], "big") >> 3 != 0
        if f[12:14] == b"\x08\x00" and len(f) >= 34 and f[23] in (6, 17) and \
                len(f) - 14 - (f[14] & 0xF) * 4 in range(0, 20):
            truncated_l4 += 1
    assert set(reports) == set(V.REPORT_NAMES), reports
    assert min(hao_or_rh2, frags4, frags6, later6, vlan, truncated_l4) > 0, \
        (hao_or_rh2, frags4, frags6, later6, vlan, truncated_l4)


def test_configs_are_valid_and_varied() -> None:
    rng = random.Random(3)
    cap = T.tun_vnet_hash_cap(flags=3, max_indirection_table_length=128, types=ALL, key_size=40)
    flags, sizes = set(), set()
    for _ in range(300):
        cfg = random_config(rng, ALL)
        assert diagnose_vnet_hash(cfg, cap, 20, True) == []
        assert cfg.types & ~ALL == 0
        flags.add(cfg.flags)
        if cfg.flags & T.TUN_VNET_HASH_RSS:
            sizes.add(len(cfg.table))
            assert len(cfg.encode()) == 56 + 2 * len(cfg.table)
        else:
            assert len(cfg.encode()) == 56
    assert flags == {1, 2, 3}
    assert sizes == {1, 2, 4, 8, 16, 32, 64, 128}
    narrow = random_config(random.Random(1), V.VIRTIO_NET_RSS_HASH_TYPE_IPv4)
    assert narrow.types & ~V.VIRTIO_NET_RSS_HASH_TYPE_IPv4 == 0
