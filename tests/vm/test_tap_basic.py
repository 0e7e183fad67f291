# SPDX-License-Identifier: MIT
"""The 6.12 tun ioctls through pyuapi.Tap (any kernel, as root)."""

from __future__ import annotations

import errno
import os
import socket
import time

import pytest

from pyuapi.testkit import bpf, packets as P
from pyuapi import sysio
from pyuapi.uapi import tun as T
from pyuapi.errors import TunError
from pyuapi.testkit.inject import Injector
from tests.lib.netlink import IFF_UP, link_flags
from tests.lib.netlink import NetNS
from pyuapi import Packet, Tap

from tests.lib.taps import TapFactory


def frame(i: int) -> bytes:
    s, d = "10.9.0.1", "10.9.0.2"
    return P.udp4_frame(s, d, 4000 + i, 53, i.to_bytes(4, "big"))


def collect(tap: Tap, n: int, timeout: float = 2.0) -> list[Packet]:
    """Read until ``n`` packets arrived on any queue, or ``timeout``."""
    got: list[Packet] = []
    end = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < end:
        got.extend(tap.drain_all())
        if len(got) < n:
            time.sleep(0.005)
    return got


def test_features_and_flags(make_tap: TapFactory) -> None:
    tap = make_tap(queues=2)
    feats = tap.features()
    for flag in (T.IFF_TAP, T.IFF_NO_PI, T.IFF_VNET_HDR, T.IFF_MULTI_QUEUE):
        assert feats & flag
    # IFF_NOFILTER (no socket filter attached) is the same bit as IFF_NO_PI.
    assert tap.iff_flags() == T.IFF_TAP | T.IFF_NO_PI | T.IFF_VNET_HDR | T.IFF_MULTI_QUEUE
    assert link_flags(tap.name) & IFF_UP
    assert tap.name.startswith("rss")


def test_vnet_header_size_and_endianness(make_tap: TapFactory) -> None:
    tap = make_tap()
    assert tap.vnet_hdr_sz() == 10
    tap.set_vnet_hdr_sz(20)
    assert tap.vnet_hdr_sz() == 20
    tap.set_vnet_le(True)
    assert tap.vnet_le() and tap.little_endian()
    tap.set_vnet_le(False)
    assert not tap.vnet_le()
    with pytest.raises(TunError) as ei:
        tap.set_vnet_hdr_sz(4)
    assert ei.value.errno == errno.EINVAL and "TUNSETVNETHDRSZ" in str(ei.value)
    assert tap.vnet_hdr_sz() == 20


@pytest.mark.parametrize("hdr", [10, 12, 20])
def test_frames_come_back_with_vnet_header(make_tap: TapFactory, hdr: int) -> None:
    tap = make_tap(queues=3)
    tap.set_vnet_hdr_sz(hdr)
    sent = [frame(i) for i in range(16)]
    with Injector(tap.name) as inj:
        inj.send_all(sent)
    got = collect(tap, len(sent))
    assert sorted(p.frame for p in got) == sorted(sent)
    assert all(len(p.vnet) == hdr and p.vnet[:10] == bytes(10) for p in got)


def test_attach_detach_queues(make_tap: TapFactory) -> None:
    tap = make_tap(queues=3)
    tap.detach_queue(0)
    assert tap.numqueues == 2
    assert tap.iff_flags(0) & T.IFF_DETACH_QUEUE
    with pytest.raises(TunError) as ei:
        tap.detach_queue(0)
    assert ei.value.errno == errno.EINVAL and ei.value.ioctl == "TUNSETQUEUE"
    tap.attach_queue(0)
    assert tap.numqueues == 3
    assert tap.add_queue() == 3 and tap.numqueues == 4


def test_steering_ebpf_and_kernel_queue_order(make_tap: TapFactory) -> None:
    """A constant eBPF program picks kernel queue k; Tap.order maps it to an fd."""
    tap = make_tap(queues=4)
    tap.detach_queue(1)        # kernel order becomes fds [0, 3, 2]
    assert tap.order == [0, 3, 2]
    with Injector(tap.name) as inj:
        for k in range(5):
            prog = bpf.load_const_prog(k)
            try:
                tap.set_steering_ebpf(prog)
            finally:
                os.close(prog)
            inj.send(frame(k))
            got = collect(tap, 1)
            assert [p.queue for p in got] == [tap.fd_index_of_kernel_queue(k % 3)], k
        tap.set_steering_ebpf(-1)


def test_ioctl_on_unattached_fd_is_ebadfd() -> None:
    fd = os.open("/dev/net/tun", os.O_RDWR)
    try:
        import ctypes
        rc = sysio.ioctl(fd, T.TUNGETVNETHDRSZ, ctypes.c_int())
        assert rc == -errno.EBADFD
        err = TunError(-rc, "TUNGETVNETHDRSZ")
        assert "TUNSETIFF first" in str(err)
    finally:
        os.close(fd)


def test_netns_isolates_taps() -> None:
    """A tap made in a namespace is seen there only.  A fresh namespace is
    the reference, because the kernel adds per-namespace fallback devices
    (lo, and sit0/ip6tnl0/... depending on the config) to every new one."""
    outside = {n for _, n in socket.if_nameindex()}
    with NetNS():
        fresh = {n for _, n in socket.if_nameindex()}
    with NetNS():
        with Tap("nsiso%d") as tap:
            inside = {n for _, n in socket.if_nameindex()}
            assert tap.name not in outside
            assert inside == fresh | {tap.name}
    assert "lo" in fresh
    assert {n for _, n in socket.if_nameindex()} == outside


def test_random_frames_cross_the_tap_unchanged(make_tap: TapFactory) -> None:
    """The differential test's plumbing on any kernel: every random frame
    (truncated, VLAN, fragments, extension chains...) is read back intact
    from some queue, with nothing else in between."""
    import random

    from pyuapi.testkit.randframes import random_frame
    from pyuapi import HashConfig

    from tests.lib.taps import mismatches
    tap = make_tap(queues=4)
    tap.set_vnet_hdr_sz(20)
    rng = random.Random(2024)
    frames = list(dict.fromkeys(random_frame(rng, i) for i in range(600)))
    assert mismatches(tap, HashConfig.disabled(), frames) == []


def test_mismatches_reports_wrong_queue_and_lost_frames(make_tap: TapFactory) -> None:
    """The comparison itself can fail: predictions for an RSS config the kernel
    was never given disagree with automq steering, and a frame that is never
    sent is reported lost."""
    from pyuapi.rss import MS_KEY
    from pyuapi import HashConfig

    from tests.lib.taps import expected, mismatches
    tap = make_tap(queues=4)
    cfg = HashConfig(T.TUN_VNET_HASH_RSS, 0x1FF, MS_KEY, (0,))
    frames = [frame(i) for i in range(64)]
    problems = mismatches(tap, cfg, frames)
    assert any(": queue " in p for p in problems), problems
    assert expected(tap, cfg, frames[0])[2] == tap.fd_index_of_kernel_queue(0)
    # Frames the tap's TX filter drops (tun_net_xmit check_filter) are reported lost.
    tap.set_tx_filter([bytes.fromhex("020000000099")])
    lost = mismatches(tap, HashConfig.disabled(), frames[:3], timeout=0.3)
    assert len(lost) == 3 and all(p.startswith("lost frame") for p in lost), lost
    tap.set_tx_filter([])
    assert mismatches(tap, HashConfig.disabled(), frames[:3]) == []
