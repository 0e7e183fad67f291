# SPDX-License-Identifier: MIT
"""Non-linear skbs reach tun's hash parser (issue 18, point 5).

AF_PACKET SOCK_RAW without PACKET_VNET_HDR builds linear skbs, so every
other test hands the parser (patches/0001 virtio_net_hash_skb(), reading
through __skb_header_pointer()) headers that sit in skb->data, and its
copying branch never runs.  Here the frames go through a
pyuapi.testkit.inject.VnetInjector: net/packet/af_packet.c packet_snd()
puts max(virtio_net_hdr.hdr_len, 14) bytes in the linear part (plus the
VLAN tags that packet_parse_headers() pulls) and the rest of the frame in
page fragments, because every frame is at least PAGE_SIZE long
(packet_alloc_skb(): "Under a page?  Don't bother with paged skb").  The
tap keeps scatter-gather on (checked with ETHTOOL_GSG), so
validate_xmit_skb() does not linearize them on the way to tun_select_queue()
and tun_net_xmit().  hdr_len is drawn per frame inside the headers, so the
split falls in the IPv4/IPv6 header, in an extension header or in the ports.

Each frame's queue, hash and bytes are compared with pyuapi.rss
(tests.lib.taps.mismatches) for RSS|REPORT (hash computed in
tun_select_queue()), REPORT alone (computed when the packet is read) and
RSS alone.  The test also counts the frames for which a parser that only
sees the linear part (the mutant "virtio_net_hash_skb() passes .skb = NULL":
bytes past skb_headlen() read as truncated) would give another hash or
report, and requires most frames to be such: that mutant fails here.
"""

from __future__ import annotations

import ctypes
import fcntl
import random
import socket
import struct

import pytest

from pyuapi import HashConfig, Tap, rss
from pyuapi.testkit import packets as P
from pyuapi.testkit.inject import VnetInjector
from pyuapi.uapi import tun as T
from pyuapi.uapi import virtio_net as V
from tests.lib.netlink import link_up, set_mtu
from tests.lib.taps import TapFactory, mismatches, report_ready, require_hash

ALL = V.VIRTIO_NET_RSS_HASH_TYPE_ALL
QUEUES = 4
PAGE_SIZE = 4096                 # x86-64; packet_alloc_skb() compares with it
MTU = 9000
SIOCETHTOOL, ETHTOOL_GSG = 0x8946, 0x18     # include/uapi/linux/sockios.h, ethtool.h


def scatter_gather(ifname: str) -> bool:
    """ETHTOOL_GSG (struct ethtool_value) of ``ifname``: NETIF_F_SG on."""
    val = ctypes.create_string_buffer(struct.pack("II", ETHTOOL_GSG, 0))
    ifr = struct.pack("16sP", ifname.encode(), ctypes.addressof(val)).ljust(40, b"\0")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        fcntl.ioctl(s.fileno(), SIOCETHTOOL, ifr)
    return struct.unpack("II", val.raw[:8])[1] != 0


def _l4(rng: random.Random, src: bytes, dst: bytes, size: int) -> tuple[int, bytes]:
    sport, dport = rng.randrange(1024, 65536), rng.randrange(1, 65536)
    kind = rng.randrange(3)
    if kind == 0:
        return 6, P.tcp(src, dst, sport, dport, rng.randbytes(size))
    if kind == 1:
        return 17, P.udp(src, dst, sport, dport, rng.randbytes(size))
    return 58 if len(src) == 16 else 1, rng.randbytes(size)   # no ports: L3 hash


def _ext(rng: random.Random) -> list[P.ExtHeader]:
    pool = [lambda: P.hop_by_hop(b"\x01\x02ab"), lambda: P.dest_opts(P.hao_option(rng.randbytes(16))),
            lambda: P.rh2(rng.randbytes(16)), lambda: P.fragment_header(0, True, rng.randrange(1 << 32)),
            lambda: P.ah(rng.randrange(1, 1 << 32)), lambda: P.dest_opts(b"\x01\x04wxyz")]
    chain = [rng.choice(pool)() for _ in range(rng.choice((0, 1, 1, 2, 3)))]
    if chain and chain[0].proto != P.hop_by_hop().proto and rng.random() < 0.3:
        chain.insert(0, P.hop_by_hop())
    return chain


def big_frame(rng: random.Random) -> tuple[bytes, int]:
    """A frame of PAGE_SIZE bytes or more, and where its ports end (the
    headers hdr_len is drawn in)."""
    size = rng.randrange(PAGE_SIZE, 6000)
    if rng.random() < 0.45:
        src, dst = rng.randbytes(4), rng.randbytes(4)
        proto, seg = _l4(rng, src, dst, size)
        frag = rng.random() < 0.15
        pkt = P.ipv4(src, dst, proto, seg) if not frag else \
            P.ipv4_fragments(src, dst, proto, seg, 4096)[0]
        frame, end = P.ether(pkt, P.ETH_P_IP), 14 + 20 + 4
    elif rng.random() < 0.9:
        src, dst = rng.randbytes(16), rng.randbytes(16)
        proto, seg = _l4(rng, src, dst, size)
        chain = _ext(rng)
        frame = P.ether(P.ipv6(src, dst, proto, seg, ext=chain), P.ETH_P_IPV6)
        end = 14 + 40 + sum(1 + len(h.body) for h in chain) + 4
    else:
        return P.ether(rng.randbytes(size), 0x88B5), 14
    tags = rng.choice((0, 0, 1, 2))
    for tpid in (0x8100, 0x88A8)[:tags]:
        frame = P.push_vlan_tag(frame, tpid, rng.randrange(1 << 16))
    return frame, end + 4 * tags


def linear_part(frame: bytes, hdr_len: int) -> int:
    """Bytes packet_snd() leaves in the linear part: max(hdr_len, ETH_HLEN),
    and at least the VLAN tags packet_parse_headers() pulls."""
    depth = 14
    while int.from_bytes(frame[depth - 2:depth], "big") in (0x8100, 0x88A8):
        depth += 4
    return max(hdr_len, depth)


CONFIGS = {
    "rss+report": T.TUN_VNET_HASH_RSS | T.TUN_VNET_HASH_REPORT,
    "report": T.TUN_VNET_HASH_REPORT,
    "rss": T.TUN_VNET_HASH_RSS,
}


@pytest.mark.parametrize("flags", CONFIGS.values(), ids=CONFIGS.keys())
def test_non_linear_skbs(make_tap: TapFactory, flags: int) -> None:
    rng = random.Random(0x4E4C + flags)
    tap: Tap = make_tap(queues=QUEUES, up=False)
    require_hash(tap)
    report_ready(tap)
    set_mtu(tap.name, MTU)
    link_up(tap.name)
    assert scatter_gather(tap.name), "NETIF_F_SG off: the core would linearize every skb"
    rssf = flags & T.TUN_VNET_HASH_RSS
    cfg = HashConfig(flags, ALL, rng.randbytes(40),
                     table=tuple(rng.randrange(QUEUES) for _ in range(16)) if rssf else (),
                     unclassified_queue=rng.randrange(QUEUES) if rssf else 0)
    tap.set_vnet_hash(cfg)
    frames: dict[bytes, int] = {}
    while len(frames) < 120:
        frame, end = big_frame(rng)
        frames[frame] = rng.randrange(0, end)
    assert min(map(len, frames)) >= PAGE_SIZE
    cut = sum(rss.hash_frame(f[:linear_part(f, n)], ALL, cfg.key) != rss.hash_frame(f, ALL, cfg.key)
              for f, n in frames.items())
    assert cut >= len(frames) // 2, f"only {cut} frames tell a linear-only parser apart"
    with VnetInjector(tap.name, lambda f: frames[f]) as inj:
        problems = mismatches(tap, cfg, list(frames), batch=24, timeout=5.0, injector=inj)
    assert not problems, f"{len(problems)} problems ({cut} of {len(frames)} frames split " \
        "inside their headers):\n" + "\n".join(problems[:20])
