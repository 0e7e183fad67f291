# SPDX-License-Identifier: MIT
"""Random frames and hash configurations for differential tests (issue 4).

Every frame category that the hash rules of :mod:`pyuapi.rss` distinguish is
generated: IPv4 TCP/UDP/ICMP/other protocols, with options, first and later
fragments; IPv6 with extension header chains (Hop-by-Hop, Destination
Options with and without the home address option, type 2 and other Routing
headers, AH, Fragment first/later), ESP and No Next Header; truncated
headers; any of these behind one or two VLAN tags (802.1Q, 802.1ad, QinQ);
ARP, ARP behind a tag, three tags and other non-IP frames.  A sequence number goes
into the IPv4 identification / IPv6 flow label / ARP sender address so that
frames of one batch are distinct.

Formats: RFC 791, RFC 8200, RFC 6275, RFC 4302 (see :mod:`pyuapi.testkit.packets`);
configuration fields: docs/design.md struct tun_vnet_hash.
"""

from __future__ import annotations

import random

from . import packets as P
from ..config import HashConfig
from ..uapi import tun as T

__all__ = ["random_frame", "random_config", "OTHER_PROTOS"]

OTHER_PROTOS = (0, 2, 4, 41, 47, 50, 51, 59, 103, 132, 253, 255)


def _mac(rng: random.Random) -> bytes:
    return bytes([rng.randrange(256) & 0xFE | 0x02]) + rng.randbytes(5)


def _l4(rng: random.Random, v6: bool, src: bytes, dst: bytes) -> tuple[int, bytes]:
    kind = rng.random()
    payload = rng.randbytes(rng.choice((0, 1, 8, 33)))
    if kind < 0.4:
        return 6, P.tcp(src, dst, rng.randrange(65536), rng.randrange(65536), payload)
    if kind < 0.75:
        return 17, P.udp(src, dst, rng.randrange(65536), rng.randrange(65536), payload)
    if kind < 0.85:
        if v6:
            return 58, P.icmpv6_echo(src, dst, rng.randrange(65536), 1, payload)
        return 1, P.icmpv4_echo(rng.randrange(65536), 1, payload)
    return rng.choice(OTHER_PROTOS), rng.randbytes(rng.choice((0, 2, 4, 12, 40)))


def _truncate(rng: random.Random, frame: bytes, l3: int, l4: int) -> bytes:
    """Cut inside the fixed L4 header (most often) or inside the L3 headers."""
    if rng.random() < 0.7 and l4 < len(frame):
        return frame[:l4 + rng.randrange(0, 21)]
    return frame[:max(14, rng.randrange(l3, max(l3 + 1, l4)))]


def _ipv4_frame(rng: random.Random, seq: int) -> bytes:
    src, dst = rng.randbytes(4), rng.randbytes(4)
    proto, seg = _l4(rng, False, src, dst)
    opts = rng.randbytes(4 * rng.randrange(1, 11)) if rng.random() < 0.2 else b""
    frag = rng.random()
    if frag < 0.1:                                   # first fragment
        pkt = P.ipv4(src, dst, proto, seg, ident=seq & 0xFFFF, mf=True, options=opts)
    elif frag < 0.2:                                 # later fragment (last or middle)
        pkt = P.ipv4(src, dst, proto, rng.randbytes(16), ident=seq & 0xFFFF,
                     mf=rng.random() < 0.5, frag_offset=rng.randrange(1, 8192), options=opts)
    else:
        pkt = P.ipv4(src, dst, proto, seg, ident=seq & 0xFFFF, df=rng.random() < 0.5,
                     options=opts)
    frame = P.ether(pkt, P.ETH_P_IP, _mac(rng), _mac(rng))
    if rng.random() < 0.1:
        frame = _truncate(rng, frame, 14, 14 + 20 + len(opts))
    return frame


def _ext_chain(rng: random.Random) -> list[P.ExtHeader]:
    chain: list[P.ExtHeader] = []
    for _ in range(rng.choice((0, 0, 1, 1, 2, 3, 4))):
        k = rng.random()
        if k < 0.2:
            chain.append(P.hop_by_hop(rng.choice((b"", b"\x01\x02ab", b"\0\0\0"))))
        elif k < 0.45:
            opts = rng.choice((b"", P.hao_option(rng.randbytes(16)), b"\x01\x04wxyz",
                               b"\xc9\x0e" + bytes(14)))
            chain.append(P.dest_opts(opts))
        elif k < 0.7:
            chain.append(P.rh2(rng.randbytes(16), rng.choice((0, 1))))
        elif k < 0.85:
            chain.append(P.routing(rng.choice((0, 3, 4)), rng.randrange(3),
                                   bytes(4) + rng.randbytes(16)))
        else:
            chain.append(P.ah(rng.randrange(1, 1 << 32), 1, rng.randbytes(12)))
    if rng.random() < 0.2:
        first = rng.random() < 0.5
        fh = P.fragment_header(0 if first else rng.randrange(1, 8192),
                               first or rng.random() < 0.5, rng.randrange(1 << 32))
        chain.insert(rng.randrange(len(chain) + 1), fh)
    return chain


def _ipv6_frame(rng: random.Random, seq: int) -> bytes:
    src, dst = rng.randbytes(16), rng.randbytes(16)
    nh, seg = _l4(rng, True, src, dst)
    chain = _ext_chain(rng)
    pkt = P.ipv6(src, dst, nh, seg, ext=chain, flow=seq & 0xFFFFF)
    frame = P.ether(pkt, P.ETH_P_IPV6, _mac(rng), _mac(rng))
    if rng.random() < 0.1:
        l4 = 14 + 40 + sum(1 + len(h.body) for h in chain)
        frame = _truncate(rng, frame, 14, l4)
    return frame


def _non_ip_frame(rng: random.Random, seq: int) -> bytes:
    k = rng.random()
    tag = seq.to_bytes(4, "big")
    if k < 0.35:
        arp = b"\x00\x01\x08\x00\x06\x04\x00\x01" + _mac(rng) + tag + bytes(6) + rng.randbytes(4)
        return P.ether(arp, P.ETH_P_ARP, b"\xff" * 6, _mac(rng))
    if k < 0.55:                                   # ARP behind a VLAN tag
        arp = b"\x00\x01\x08\x00\x06\x04\x00\x01" + _mac(rng) + tag + bytes(6) + rng.randbytes(4)
        return P.vlan(arp, P.ETH_P_ARP, rng.randrange(4096), b"\xff" * 6, _mac(rng))
    if k < 0.7:                                    # IPv4 behind three tags: one too many
        s, d = rng.randbytes(4), rng.randbytes(4)
        inner = P.ether(P.ipv4(s, d, 6, P.tcp(s, d, 1, 2), ident=seq & 0xFFFF), P.ETH_P_IP,
                        _mac(rng), _mac(rng))
        for _ in range(3):
            inner = _tag(rng, inner, 0x8100)
        return inner
    if k < 0.85:                                   # IPv6 packet behind the IPv4 ethertype
        s, d = rng.randbytes(16), rng.randbytes(16)
        return P.ether(P.ipv6(s, d, 6, P.tcp(s, d, 1, 2), flow=seq & 0xFFFFF), P.ETH_P_IP,
                       _mac(rng), _mac(rng))
    return P.ether(tag + rng.randbytes(40), rng.choice((0x88CC, 0x9000, 0x88B5, 0x0842)),
                   _mac(rng), _mac(rng))


def _tag(rng: random.Random, frame: bytes, tpid: int) -> bytes:
    """``frame`` with one more VLAN tag (``tpid``, random PCP/VID)."""
    return P.push_vlan_tag(frame, tpid, rng.randrange(1 << 16))


def random_frame(rng: random.Random, seq: int) -> bytes:
    """One random Ethernet frame (see the module docstring); ``seq`` is embedded."""
    k = rng.random()
    if k < 0.4:
        frame = _ipv4_frame(rng, seq)
    elif k < 0.85:
        frame = _ipv6_frame(rng, seq)
    else:
        return _non_ip_frame(rng, seq)
    v = rng.random()
    if v < 0.1:                                    # 802.1Q
        frame = _tag(rng, frame, 0x8100)
    elif v < 0.15:                                 # 802.1ad
        frame = _tag(rng, frame, 0x88A8)
    elif v < 0.2:                                  # QinQ: 802.1ad outside, 802.1Q inside
        frame = _tag(rng, _tag(rng, frame, 0x8100), 0x88A8)
    return frame


def random_config(rng: random.Random, supported_types: int, max_queue: int = 16) -> HashConfig:
    """A random valid TUNSETVNETHASH configuration (RSS and/or REPORT) within ``supported_types``."""
    flags = rng.choice((T.TUN_VNET_HASH_RSS, T.TUN_VNET_HASH_REPORT,
                        T.TUN_VNET_HASH_RSS | T.TUN_VNET_HASH_REPORT))
    r = rng.random()
    if r < 0.1:
        types = supported_types
    elif r < 0.15:
        types = 0
    else:
        types = 0
        for bit in range(32):
            if supported_types >> bit & 1 and rng.random() < 0.55:
                types |= 1 << bit
    key = rng.randbytes(T.TUN_VNET_HASH_KEY_SIZE)
    if not flags & T.TUN_VNET_HASH_RSS:
        return HashConfig(flags, types, key)
    size = 1 << rng.randrange(0, 8)
    table = tuple(rng.randrange(max_queue) for _ in range(size))
    return HashConfig(flags, types, key, table, unclassified_queue=rng.randrange(max_queue))
