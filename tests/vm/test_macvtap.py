# SPDX-License-Identifier: MIT
"""RSS and hash reporting on the /dev/tapN files of macvtap and ipvtap (drivers/net/tap.c).

The hash ioctls take the arguments of tun (include/uapi/linux/if_tun.h
"virtio-net hashing"); what differs: each open() of /dev/tapN is a queue
(open order, IFF_DETACH_QUEUE moves the last enabled queue into the slot),
the vnet header belongs to the file, REPORT looks at the calling file's
header and locks every file's, a file whose link was deleted answers
ENOLINK, and the configuration ends with the last file, the link staying.
Frames come from the lower device (tests.lib.tapdevs); every test runs
for macvtap (passthru) and ipvtap (l2), the ``tap_kind`` fixture.  The
validation rows are in test_macvtap_errors.py.
"""

from __future__ import annotations

import dataclasses
import errno
import random

import pytest

from pyuapi import HashCapabilities, HashConfig, TapDev
from pyuapi.testkit.inject import Injector
from pyuapi.uapi import tun as T, virtio_net as V

from tests.lib.hashcases import expect_errno, sample_frames
from tests.lib.netlink import IFF_UP, link_flags
from tests.lib.tapdevs import Rig, TapDevFactory
from tests.lib.taps import collect, expected, mismatches, report_ready, require_hash

RSS, REPORT = T.TUN_VNET_HASH_RSS, T.TUN_VNET_HASH_REPORT
HASH_HDR = V.VNET_HDR_V1_HASH_LEN
LOST_TO_IPVTAP = 1              # sample frames an ipvtap may not get (ARP for 0.0.0.0)


def ready(make_tapdev: TapDevFactory, tap_kind: str, queues: int = 4
          ) -> tuple[Rig, TapDev, HashCapabilities]:
    """A rig of ``queues`` files, each with a 20-byte little-endian header; the feature present."""
    rig = make_tapdev(tap_kind, queues)
    cap = require_hash(rig.dev)
    report_ready(rig.dev)
    return rig, rig.tapdev, cap


def check(rig: Rig, cfg: HashConfig, frames: list[bytes]) -> list[str]:
    """tests.lib.taps.mismatches for ``frames`` as the rig sends them."""
    sent = rig.prepare(frames)
    assert len(sent) >= len(frames) - LOST_TO_IPVTAP, f"{rig.kind} gets {len(sent)} frames"
    return mismatches(rig.dev, cfg, sent, via=rig.via)


def send(rig: Rig, frames: list[bytes]) -> list[bytes]:
    """Send ``frames`` as the rig sends them; the frames sent."""
    sent = rig.prepare(frames)
    with Injector(rig.via) as inj:
        inj.send_all(sent)
    return sent


def test_capabilities_and_get_round_trip(make_tapdev: TapDevFactory, tap_kind: str) -> None:
    rig, dev, cap = ready(make_tapdev, tap_kind)
    assert (cap.size, cap.flags, cap.types) == (16, RSS | REPORT, V.VIRTIO_NET_RSS_HASH_TYPE_ALL)
    assert (cap.max_indirection_table_length, cap.key_size) == (T.MAX_TABLE_LENGTH, 40)
    assert dev.get_vnet_hash() == HashConfig.disabled()
    rng = random.Random(11)
    for flags in (RSS, REPORT, RSS | REPORT):
        table = tuple(rng.randrange(9) for _ in range(64)) if flags & RSS else ()
        cfg = HashConfig(flags, cap.types & rng.getrandbits(32) | 1, rng.randbytes(40), table,
                         unclassified_queue=7 if table else 0)
        for size in (56, 64):
            dev.set_vnet_hash(dataclasses.replace(cfg, size=size))
            assert dev.get_vnet_hash() == cfg.canonical()
            assert dev.get_vnet_hash(size) == cfg.canonical()
    dev.disable_vnet_hash()
    assert dev.get_vnet_hash() == HashConfig.disabled()


@pytest.mark.parametrize("flags", [RSS, REPORT, RSS | REPORT], ids=["rss", "report", "both"])
def test_steering_and_report(make_tapdev: TapDevFactory, tap_kind: str, flags: int) -> None:
    """Per packet: the queue (RSS: fd index = open order), hash value and report, bytes."""
    rig, _dev, cap = ready(make_tapdev, tap_kind)
    rng = random.Random(flags)
    table = tuple(rng.randrange(4) for _ in range(16)) if flags & RSS else ()
    cfg = HashConfig(flags, cap.types, rng.randbytes(40), table,
                     unclassified_queue=3 if table else 0)
    rig.dev.set_vnet_hash(cfg)
    assert check(rig, cfg, sample_frames(32)) == []


def test_fewer_queues_enabled_than_the_table_names(make_tapdev: TapDevFactory,
                                                   tap_kind: str) -> None:
    """Queue numbers modulo the enabled queues, in the order detach and attach leave them."""
    rig, dev, cap = ready(make_tapdev, tap_kind)
    cfg = HashConfig(RSS | REPORT, cap.types, random.Random(5).randbytes(40),
                     tuple(range(8)) * 2, unclassified_queue=9)
    dev.set_vnet_hash(cfg)
    assert check(rig, cfg, sample_frames(32)) == []
    dev.detach_queue(1)                        # the last queue (fd 3) becomes queue 1
    assert dev.order == [0, 3, 2] and dev.numqueues == 3
    assert check(rig, cfg, sample_frames(32)) == []
    dev.detach_queue(0)
    assert dev.order == [2, 3]
    assert check(rig, cfg, sample_frames(32)) == []
    dev.attach_queue(1)                        # appended: queue 2
    assert dev.order == [2, 3, 1]
    assert check(rig, cfg, sample_frames(32)) == []


def test_a_file_opened_later_gets_a_hash_once_its_header_has_room(make_tapdev: TapDevFactory,
                                                                    tap_kind: str) -> None:
    rig, dev, cap = ready(make_tapdev, tap_kind, queues=2)
    cfg = HashConfig(REPORT, cap.types, random.Random(6).randbytes(40))
    dev.set_vnet_hash(cfg)
    late = dev.add_queue()                     # tap_open: IFF_VNET_HDR, 10 bytes
    assert (dev.vnet_hdr_sz(late), dev.vnet_le(late)) == (10, False)
    for q in range(late):
        dev.detach_queue(q)                    # every frame to the late file
    frames = sample_frames(8)
    sent = send(rig, frames)
    got = collect(dev, len(sent))
    assert sorted(p.frame for p in got) == sorted(sent), "a 20-byte header would shift the frame"
    assert {(p.queue, len(p.vnet)) for p in got} == {(late, 10)}
    dev.set_vnet_hdr_sz(HASH_HDR, queue=late)
    assert check(rig, cfg, frames) == []
    assert dev.has_hash_room(late)


def test_rss_to_a_file_without_room_steers_without_hash(make_tapdev: TapDevFactory,
                                                        tap_kind: str) -> None:
    rig, dev, cap = ready(make_tapdev, tap_kind, queues=2)
    cfg = HashConfig(RSS | REPORT, cap.types, random.Random(8).randbytes(40), (0, 1, 2, 2),
                     unclassified_queue=2)
    dev.set_vnet_hash(cfg)
    late = dev.add_queue()                     # kernel queue 2: reads a plain 10-byte header
    frames = rig.prepare(sample_frames(32))
    assert any(expected(dev, cfg, f)[2] == late for f in frames)
    assert mismatches(dev, cfg, frames, via=rig.via) == []   # hash checked on fds 0 and 1


def test_configuration_ends_with_the_last_file(make_tapdev: TapDevFactory, tap_kind: str) -> None:
    rig, dev, cap = ready(make_tapdev, tap_kind, queues=2)
    cfg = HashConfig(RSS | REPORT, cap.types, bytes(range(40)), (1, 0), unclassified_queue=1)
    dev.set_vnet_hash(cfg)
    with TapDev(dev.name, queues=1) as other:  # one more file, detached: it still counts
        other.detach_queue(0)
        dev.close()
        assert other.get_vnet_hash() == cfg.canonical()
        expect_errno(errno.EBUSY, "TUNSETVNETHDRSZ",   # REPORT still locks every header
                     lambda: other.set_vnet_hdr_sz(10, queue=0))
    assert link_flags(dev.name) & IFF_UP       # the link stays
    with TapDev(dev.name, queues=2) as again:
        assert again.get_vnet_hash() == HashConfig.disabled()
        assert [again.vnet_hdr_sz(q) for q in (0, 1)] == [10, 10]
        again.set_vnet_hdr_sz(12, queue=0)     # no EBUSY: no REPORT
        sent = send(rig, sample_frames(16))
        got = collect(again, len(sent))        # automatic queue selection, 12 and 10 bytes
        assert sorted(p.frame for p in got) == sorted(sent)
