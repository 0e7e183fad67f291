# SPDX-License-Identifier: MIT
"""XDP frames are steered by RSS too (issue 12, point 5).

xdp_frames bypass ndo_select_queue: tun's ndo_xdp_xmit (an XDP_REDIRECT
into the tap) and its XDP_TX (drivers/net/tun.c tun_xdp_xmit) used to put
every frame in queue ``smp_processor_id() % numqueues``.  With
TUN_VNET_HASH_RSS each frame must reach the queue its hash selects, with
the hash reported, exactly as for the packets the stack sends.

The programs are a few instructions loaded with pyuapi.testkit.bpf (no
clang); they are attached in driver mode over rtnetlink (pyroute2).
Redirects go both ways the core has: bpf_redirect() to an ifindex and
bpf_redirect_map() through a devmap.  The xdp_frame read path
(tun_put_user_xdp()) computes the hash from the linear frame
(patches/0001 virtio_net_hash_eth()): every frame shape of
pyuapi.testkit.randframes (VLAN tags, IPv6 extension headers, fragments,
truncated headers, non-IP) goes through it under RSS|REPORT and under
REPORT alone, where the queue is the CPU's and only the header is checked.  The
VM has fewer CPUs than the tap has queues, so on a kernel that steers
xdp_frames by CPU some queues never receive a frame and the test fails.
"""

from __future__ import annotations

import os
import random
import socket
from typing import Iterator

import pytest

from pyuapi import HashConfig, Tap, rss
from pyuapi.testkit import bpf
from pyuapi.testkit import packets as P
from pyuapi.testkit.inject import Injector
from pyuapi.testkit.randframes import random_frame
from pyuapi.uapi import tun as T
from pyuapi.uapi import virtio_net as V
from tests.lib.netlink import add_veth, link_up, set_xdp
from tests.lib.taps import TapFactory, collect, compare_batch, expected, report_ready, require_hash

ALL = V.VIRTIO_NET_RSS_HASH_TYPE_ALL
QUEUES = 4
FRAMES = 96


def flows(rng: random.Random, n: int) -> list[bytes]:
    """``n`` distinct TCP/UDP over IPv4/IPv6 frames, and a few without L4 ports."""
    frames: set[bytes] = set()
    while len(frames) < n:
        sport, dport = rng.randrange(1024, 65536), rng.choice((53, 80, 443, 4789))
        kind = rng.randrange(5)
        if kind == 0:
            frames.add(P.udp4_frame(f"10.1.{rng.randrange(256)}.{rng.randrange(1, 255)}",
                                    "10.2.0.1", sport, dport))
        elif kind == 1:
            s, d = f"10.3.0.{rng.randrange(1, 255)}", "10.4.0.1"
            frames.add(P.ether(P.ipv4(s, d, 6, P.tcp(s, d, sport, dport)), 0x0800))
        elif kind in (2, 3):
            s, d = f"fd00::{rng.randrange(1, 0xffff):x}", "fd01::1"
            frames.add(P.ether(P.ipv6(s, d, 17, P.udp(s, d, sport, dport)), 0x86DD))
        else:
            frames.add(P.ether(P.ipv4(f"10.5.0.{rng.randrange(1, 255)}", "10.6.0.1", 1,
                                      P.icmpv4_echo(sport)), 0x0800))
    return sorted(frames)


def rss_tap(make_tap: TapFactory, rng: random.Random,
            flags: int = T.TUN_VNET_HASH_RSS | T.TUN_VNET_HASH_REPORT) -> tuple[Tap, HashConfig]:
    """A 4-queue tap with ``flags`` (default RSS|REPORT) over every type, a
    random key and, with RSS, a random table."""
    tap = make_tap(queues=QUEUES)
    require_hash(tap)
    report_ready(tap)
    rssf = flags & T.TUN_VNET_HASH_RSS
    cfg = HashConfig(flags, ALL, rng.randbytes(40),
                     table=tuple(rng.randrange(QUEUES) for _ in range(16)) if rssf else (),
                     unclassified_queue=rng.randrange(QUEUES) if rssf else 0)
    tap.set_vnet_hash(cfg)
    return tap, cfg


@pytest.fixture
def xdp_prog() -> Iterator[list[int]]:
    """Collects program fds to close after the test (the links hold their own reference)."""
    fds: list[int] = []
    yield fds
    for fd in fds:
        os.close(fd)


def check(tap: Tap, cfg: HashConfig, frames: list[bytes], got: list) -> None:
    """Every frame read once, on the queue of its hash, with that hash reported."""
    want = {f: expected(tap, cfg, f) for f in frames}
    problems = compare_batch(want, got, report=True)
    used = {p.queue for p in got}
    assert not problems, f"{len(problems)} problems, queues used {sorted(used)}:\n" + \
        "\n".join(problems[:20])


def redirect_through_veth(tap: Tap, cfg: HashConfig, rng: random.Random, prog: int) -> None:
    """Attach the XDP program *prog* to the receiving end of a new veth pair,
    send FRAMES flows into the other end, and check what *prog* redirected
    into *tap* (ndo_xdp_xmit, steered by RSS) with :func:`check`."""
    add_veth("xdpin0", "xdpin1")
    link_up("xdpin0")
    link_up("xdpin1")
    set_xdp("xdpin1", prog)
    frames = flows(rng, FRAMES)
    with Injector("xdpin0") as inj:
        inj.send_all(frames)
    got = collect(tap, len(frames), timeout=5.0)
    check(tap, cfg, frames, got)


def test_xdp_redirect_into_tap_is_steered_by_rss(make_tap: TapFactory,
                                                 xdp_prog: list[int]) -> None:
    rng = random.Random(0x5D1)
    tap, cfg = rss_tap(make_tap, rng)
    xdp_prog.append(bpf.load_xdp_redirect(socket.if_nametoindex(tap.name)))
    redirect_through_veth(tap, cfg, rng, xdp_prog[-1])


def test_xdp_devmap_redirect_into_tap_is_steered_by_rss(make_tap: TapFactory,
                                                        xdp_prog: list[int]) -> None:
    rng = random.Random(0xDE7)
    tap, cfg = rss_tap(make_tap, rng)
    xdp_prog.append(bpf.create_devmap([socket.if_nametoindex(tap.name)]))
    xdp_prog.append(bpf.load_xdp_redirect_map(xdp_prog[-1]))
    redirect_through_veth(tap, cfg, rng, xdp_prog[-1])


SHAPES_FLAGS = {"rss+report": T.TUN_VNET_HASH_RSS | T.TUN_VNET_HASH_REPORT,
                "report": T.TUN_VNET_HASH_REPORT}


@pytest.mark.parametrize("flags", SHAPES_FLAGS.values(), ids=SHAPES_FLAGS.keys())
def test_xdp_tx_every_frame_shape(make_tap: TapFactory, xdp_prog: list[int], flags: int) -> None:
    rng = random.Random(0xF5 + flags)
    tap, cfg = rss_tap(make_tap, rng, flags)
    xdp_prog.append(bpf.load_xdp_action(bpf.XDP_TX))
    set_xdp(tap.name, xdp_prog[-1])
    frames = sorted({f for f in (random_frame(rng, n) for n in range(2 * FRAMES)) if len(f) >= 14})
    reports = {rss.hash_frame(f, ALL, cfg.key)[1] for f in frames}
    assert len(reports) >= 6, f"the frames cover too few report types: {sorted(reports)}"
    hdr = bytes(tap.vnet_hdr_sz())
    for f in frames:
        os.write(tap.fds[0], hdr + f)
    got = collect(tap, len(frames), timeout=5.0)
    check(tap, cfg, frames, got)


def test_xdp_tx_on_tap_is_steered_by_rss(make_tap: TapFactory, xdp_prog: list[int]) -> None:
    rng = random.Random(0x7C)
    tap, cfg = rss_tap(make_tap, rng)
    xdp_prog.append(bpf.load_xdp_action(bpf.XDP_TX))
    set_xdp(tap.name, xdp_prog[-1])
    frames = flows(rng, FRAMES)
    hdr = bytes(tap.vnet_hdr_sz())        # no offload: an all-zero header
    for f in frames:
        os.write(tap.fds[0], hdr + f)
    got = collect(tap, len(frames), timeout=5.0)
    check(tap, cfg, frames, got)
