# SPDX-License-Identifier: MIT
"""tests/lib/taps.py compare_batch(): the frame comparison behind mismatches() can fail.

A kernel that delivered a frame twice, lost one, steered one to another
queue or reported another hash must produce a problem line (issue 18:
``mismatches()`` used to accept duplicates).
"""

from __future__ import annotations

import struct

from pyuapi import Packet
from pyuapi.testkit import packets as P

from tests.lib.taps import compare_batch

FRAMES = [P.udp4_frame("10.0.0.1", "10.0.0.2", 1000 + i, 53) for i in range(4)]
WANT = {f: (0x1000 + i, 3, i % 2) for i, f in enumerate(FRAMES)}      # hash, UDPv4, fd index


def hdr(h: int, r: int) -> bytes:
    """A 20-byte virtio_net_hdr_v1_hash with ``h``/``r`` and zero elsewhere."""
    return bytes(12) + struct.pack("<IHH", h, r, 0)


def good() -> list[Packet]:
    return [Packet(q, hdr(h, r), f) for f, (h, r, q) in WANT.items()]


def test_every_frame_once_passes() -> None:
    assert compare_batch(WANT, good(), report=True) == []


def test_duplicate_frame_fails() -> None:
    pkts = good()
    problems = compare_batch(WANT, pkts + [pkts[2]], report=True)
    assert len(problems) == 1 and "duplicate" in problems[0]


def test_every_frame_twice_fails() -> None:
    """The kernel that delivers every frame twice (the case issue 18 names)."""
    pkts = good()
    problems = compare_batch(WANT, pkts + pkts, report=False)
    assert sum("duplicate" in p for p in problems) == len(FRAMES)


def test_duplicate_on_another_queue_fails() -> None:
    pkts = good()
    copy = Packet(1 - pkts[0].queue, pkts[0].vnet, pkts[0].frame)
    assert any("duplicate" in p for p in compare_batch(WANT, pkts + [copy], report=True))


def test_lost_unexpected_queue_and_hash_fail() -> None:
    pkts = good()
    assert ["lost" in p for p in compare_batch(WANT, pkts[1:], report=True)] == [True]
    other = P.udp4_frame("10.0.0.9", "10.0.0.2", 1, 53)
    assert any("unexpected" in p for p in compare_batch(WANT, pkts + [Packet(0, hdr(0, 0), other)],
                                                         report=True))
    moved = [Packet(1 - p.queue, p.vnet, p.frame) if i == 0 else p for i, p in enumerate(pkts)]
    assert any("queue" in p for p in compare_batch(WANT, moved, report=True))
    assert compare_batch(WANT, moved, report=True, fixed_queue=None) != []
    wrong = [Packet(p.queue, hdr(7, 3), p.frame) if i == 3 else p for i, p in enumerate(pkts)]
    assert any("kernel" in p for p in compare_batch(WANT, wrong, report=True))
    assert compare_batch(WANT, wrong, report=False) == []        # REPORT off: not compared
