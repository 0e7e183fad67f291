# SPDX-License-Identifier: MIT
"""Reference virtio-net hash (Toeplitz) and RSS queue selection.

Written from the virtio specification (1.2 and later), not from the
kernel series: where patches/0001 and this module disagree, the spec
decides.  Each rule the code implements cites, as ``spec Sn``, the spec
sentence below; where the spec is silent, the code cites ``choice Cn``,
and the choices are listed, with their reasons, in ONE place:
docs/design.md, "Reference hash: where the spec is silent".
tests/host/test_rss_spec.py checks that the choices cited here and the
rows of that table are the same set, and that every spec rule is cited.

Spec rules (virtio 1.2+, 5.1.6.4.3 "Hash calculation for incoming
packets", 5.1.6.4.4 "Hash reporting for incoming packets", and the RSS
processing rules of 5.1.6.5.7; /work/shared/REFERENCE.md section 2):

S1. 5.1.6.4.3.2 "IPv4 packets": "If VIRTIO_NET_HASH_TYPE_TCPv4 is set and
    the packet has a TCP header, the hash is calculated over the following
    fields: Source IP address, Destination IP address, Source TCP port,
    Destination TCP port"; "Else if VIRTIO_NET_HASH_TYPE_UDPv4 is set and
    the packet has a UDP header" (likewise, UDP ports); "Else if
    VIRTIO_NET_HASH_TYPE_IPv4 is set" (the two addresses); "Else the
    device does not calculate the hash".
S2. 5.1.6.4.3.3 "IPv6 packets without extension header": the same cascade
    with TCPv6, UDPv6 and IPv6 over the Source and Destination IPv6
    addresses (and ports), "Else the device does not calculate the hash".
S3. 5.1.6.4.3.4 "IPv6 packets with extension header": "If
    VIRTIO_NET_HASH_TYPE_TCP_EX is set and the packet has a TCPv6 header",
    else UDP_EX and a UDPv6 header, else IP_EX, over "Home address from
    the home address option in the IPv6 destination options header. If
    the extension header is not present, use the Source IPv6 address."
    and "IPv6 address that is contained in the Routing-Header-Type-2 from
    the associated extension header. If the extension header is not
    present, use the Destination IPv6 address." (plus the ports for
    TCP_EX/UDP_EX); "Else skip IPv6 extension headers and calculate the
    hash as defined for an IPv6 packet without extension headers".  So
    IP_EX wins over TCPv6/UDPv6 for a TCP/UDP packet with extension
    headers when TCP_EX/UDP_EX are off.
S4. 5.1.6.4.3.1 "Supported/enabled hash types": IPv6/TCPv6/UDPv6 are the
    "Hash types applicable for IPv6 packets without extension headers",
    IP_EX/TCP_EX/UDP_EX the "Hash types applicable for IPv6 packets with
    extension headers": an _EX type never applies to a packet without
    extension headers (a TCPv6 packet without them and types = TCP_EX
    alone gets no hash; QEMU differs).
S5. 5.1.6.4.4: "If VIRTIO_NET_F_HASH_REPORT was negotiated but due to any
    reason the hash was not calculated, the device sets hash_report to
    VIRTIO_NET_HASH_REPORT_NONE"; the report values follow
    "VIRTIO_NET_HASH_TYPE_XXX = 1 << (VIRTIO_NET_HASH_REPORT_XXX - 1)".
S6. 5.1.6.5.7 RSS processing: "If the device did not calculate the hash
    for the specific packet, the device directs the packet to the receiveq
    specified by unclassified_queue"; "Apply indirection_table_mask to the
    calculated hash and use the result as the index in the indirection
    table"; "The number of entries in indirection_table
    (indirection_table_mask + 1) MUST be a power of two".
S7. Toeplitz: the spec names "Toeplitz hash calculation" (VIRTIO_NET_F_RSS)
    and defers to Microsoft's RSS definition: for each input bit, most
    significant bit of byte 0 first, if it is 1 XOR the left-most 32 bits
    of the key window into the result, then slide the window by one bit;
    Microsoft's published vectors (MS_KEY) check it.

Input: an Ethernet frame (choice C1).
"""

from __future__ import annotations

import functools
import operator
from typing import Optional, Sequence

from .uapi import virtio_net as vn

__all__ = ["toeplitz", "toeplitz_bitwise", "hash_input", "hash_frame", "select_queue",
           "MS_KEY"]

# Microsoft's default key (REFERENCE.md section 2)
MS_KEY = bytes.fromhex("6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c"
                       "6a42b73bbeac01fa")

ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
VLAN_ETHERTYPES = (0x8100, 0x88A8)   # 802.1Q, 802.1ad
MAX_VLAN_TAGS = 2                     # QinQ: an outer and an inner tag
IPPROTO_TCP = 6
IPPROTO_UDP = 17

_T = vn
_TCPv4, _UDPv4, _IPv4 = _T.VIRTIO_NET_RSS_HASH_TYPE_TCPv4, _T.VIRTIO_NET_RSS_HASH_TYPE_UDPv4, \
    _T.VIRTIO_NET_RSS_HASH_TYPE_IPv4
_TCPv6, _UDPv6, _IPv6 = _T.VIRTIO_NET_RSS_HASH_TYPE_TCPv6, _T.VIRTIO_NET_RSS_HASH_TYPE_UDPv6, \
    _T.VIRTIO_NET_RSS_HASH_TYPE_IPv6
_TCP_EX, _UDP_EX, _IP_EX = _T.VIRTIO_NET_RSS_HASH_TYPE_TCP_EX, \
    _T.VIRTIO_NET_RSS_HASH_TYPE_UDP_EX, _T.VIRTIO_NET_RSS_HASH_TYPE_IP_EX
_NONE = (_T.VIRTIO_NET_HASH_REPORT_NONE, b"")


def toeplitz_bitwise(key: bytes, data: bytes) -> int:
    """Toeplitz hash, bit by bit (spec S7; REFERENCE.md section 2).

    For each input bit (MSB of byte 0 first) that is 1, XOR the left-most
    32 bits of the key window, then slide the window one bit.  Slow; the
    reference for :func:`toeplitz`.
    """
    _check_len(key, data)
    k = int.from_bytes(key, "big")
    kbits = len(key) * 8
    result = 0
    for i in range(len(data) * 8):
        if data[i >> 3] & (0x80 >> (i & 7)):
            result ^= (k >> (kbits - 32 - i)) & 0xFFFFFFFF
    return result


def _check_len(key: bytes, data: bytes) -> None:
    if len(data) + 4 > len(key):
        raise ValueError(f"a {len(key)}-byte key hashes at most {len(key) - 4} bytes, "
                         f"got {len(data)}")


@functools.lru_cache(maxsize=64)
def _tables(key: bytes) -> tuple[list[int], ...]:
    """Per input byte position, the 256 XOR results of that byte's key windows."""
    k = int.from_bytes(key, "big")
    kbits = len(key) * 8
    tabs = []
    for pos in range(len(key) - 4):
        wins = [(k >> (kbits - 32 - (pos * 8 + j))) & 0xFFFFFFFF for j in range(8)]
        t = [0] * 256
        for b in range(1, 256):
            low = b & -b                       # lowest set bit
            t[b] = t[b ^ low] ^ wins[7 - low.bit_length() + 1]
        tabs.append(t)
    return tuple(tabs)


def toeplitz(key: bytes, data: bytes) -> int:
    """Toeplitz hash of ``data`` with ``key`` (spec S7; REFERENCE.md section 2).

    Table driven: per key, one 256-entry table per byte position (cached).
    """
    key = bytes(key)
    _check_len(key, data)
    return functools.reduce(operator.xor, map(list.__getitem__, _tables(key), data), 0)


_TCP_HDR_LEN = 20      # choice C5: a "TCP header" is a complete fixed header (struct tcphdr)
_UDP_HDR_LEN = 8       # choice C5: likewise struct udphdr


def _ipv4(f: bytes, off: int, types: int) -> tuple[int, bytes]:
    """Spec S1 on the IPv4 header at ``off``."""
    n = len(f)                                             # choice C2: the frame bounds parsing
    if n < off + 20:
        return _NONE                                       # choice C3
    vihl = f[off]
    if vihl >> 4 != 4 or vihl & 0x0F < 5:
        return _NONE                                       # choice C3
    addrs = f[off + 12:off + 20]                           # spec S1, choice C10: src, dst
    fragment = (f[off + 6] & 0x3F) or f[off + 7]          # choice C4: MF flag or offset
    if not fragment:
        l4 = off + (vihl & 0x0F) * 4
        proto = f[off + 9]
        # spec S1 "TCPv4 is set and the packet has a TCP header"; choice C5
        if proto == IPPROTO_TCP and types & _TCPv4 and n >= l4 + _TCP_HDR_LEN:
            return _T.VIRTIO_NET_HASH_REPORT_TCPv4, addrs + f[l4:l4 + 4]
        if proto == IPPROTO_UDP and types & _UDPv4 and n >= l4 + _UDP_HDR_LEN:
            return _T.VIRTIO_NET_HASH_REPORT_UDPv4, addrs + f[l4:l4 + 4]
    if types & _IPv4:                                      # spec S1 "Else if ... IPv4 is set"
        return _T.VIRTIO_NET_HASH_REPORT_IPv4, addrs
    return _NONE                                           # spec S1 "Else ... does not calculate"


def _hao(f: bytes, start: int, hdrlen: int) -> Optional[bytes]:
    """Home address option (type 0xC9, length 16) of the Destination Options header at
    ``start`` (spec S3 "the home address option in the IPv6 destination options header";
    which option counts: choice C8)."""
    n = len(f)
    end = start + hdrlen
    q = start + 2
    while q < end:
        if q >= n:
            return None
        t = f[q]
        if t == 0:                       # Pad1
            q += 1
            continue
        if q + 2 > end or q + 2 > n:
            return None
        olen = f[q + 1]
        if q + 2 + olen > end:
            return None
        if t == 0xC9 and olen == 16:
            return f[q + 2:q + 18] if q + 18 <= n else None
        q += 2 + olen
    return None


_EXT = frozenset((0, 43, 44, 51, 60))        # choice C6: what "extension header" means


def _ipv6(f: bytes, off: int, types: int) -> tuple[int, bytes]:
    """Spec S2, S3 and S4 on the IPv6 header at ``off``."""
    n = len(f)                                             # choice C2: the frame bounds parsing
    if n < off + 40 or f[off] >> 4 != 6:
        return _NONE                                       # choice C3
    nh = f[off + 6]
    p = off + 40
    has_ext = False
    l4 = True
    home = rh2 = None
    while nh in _EXT:                                      # choice C6; no count limit: choice C7
        has_ext = True
        if nh == 44:                                       # choice C4: a fragment, L3 types only
            l4 = False
            break
        if n < p + 2:                                      # choice C6: a cut header ends the walk
            l4 = False
            break
        hlen = (f[p + 1] + 2) * 4 if nh == 51 else (f[p + 1] + 1) * 8
        if nh == 43:                                       # spec S3 RH2; choice C9
            if rh2 is None and hlen == 24 and n >= p + 24 and f[p + 2] == 2:
                rh2 = f[p + 8:p + 24]
        elif nh == 60 and home is None:                    # spec S3 home address option; choice C8
            home = _hao(f, p, hlen)
        nh = f[p]
        p += hlen
    # spec S2/S3 "the packet has a TCPv6 (UDPv6) header"; choice C5
    is_tcp = l4 and nh == IPPROTO_TCP and n >= p + _TCP_HDR_LEN
    is_udp = l4 and nh == IPPROTO_UDP and n >= p + _UDP_HDR_LEN
    if has_ext:                                            # spec S3; spec S4: _EX types only here
        # spec S3: home address, else source; RH2 address, else destination; choice C10
        ex = (home or f[off + 8:off + 24]) + (rh2 or f[off + 24:off + 40])
        if is_tcp and types & _TCP_EX:
            return _T.VIRTIO_NET_HASH_REPORT_TCPv6_EX, ex + f[p:p + 4]
        if is_udp and types & _UDP_EX:
            return _T.VIRTIO_NET_HASH_REPORT_UDPv6_EX, ex + f[p:p + 4]
        if types & _IP_EX:
            return _T.VIRTIO_NET_HASH_REPORT_IPv6_EX, ex
        # spec S3 "Else skip IPv6 extension headers and calculate the hash as defined
        # for an IPv6 packet without extension headers": fall through to S2
    if is_tcp and types & _TCPv6:                          # spec S2
        return _T.VIRTIO_NET_HASH_REPORT_TCPv6, f[off + 8:off + 40] + f[p:p + 4]
    if is_udp and types & _UDPv6:
        return _T.VIRTIO_NET_HASH_REPORT_UDPv6, f[off + 8:off + 40] + f[p:p + 4]
    if types & _IPv6:
        return _T.VIRTIO_NET_HASH_REPORT_IPv6, f[off + 8:off + 40]
    return _NONE                                           # spec S2 "Else ... does not calculate"


def hash_input(frame: bytes, types: int) -> tuple[int, bytes]:
    """(hash_report, the bytes hashed) for an Ethernet frame (spec S1-S5).

    The bytes are the spec's fields in its order, in network byte order
    (choice C10); report NONE comes with ``b""``.
    """
    if len(frame) < 14:
        return _NONE
    proto, off = (frame[12] << 8) | frame[13], 14       # choice C1: the ethertype decides
    for _ in range(MAX_VLAN_TAGS):                         # ... behind up to two VLAN tags
        if proto not in VLAN_ETHERTYPES or len(frame) < off + 4:
            break
        proto, off = (frame[off + 2] << 8) | frame[off + 3], off + 4
    if proto == ETH_P_IP:
        return _ipv4(frame, off, types)
    if proto == ETH_P_IPV6:
        return _ipv6(frame, off, types)
    return _NONE


def hash_frame(frame: bytes, types: int, key: bytes) -> tuple[int, int]:
    """(hash_value, hash_report) of an Ethernet frame (spec S1-S5, S7).

    Non-IP or no applicable enabled type gives ``(0, NONE)`` (spec S5; the
    value 0: choice C11); the rules the spec leaves open are the choices of
    docs/design.md "Reference hash: where the spec is silent".
    """
    report, data = hash_input(frame, types)
    if report == _T.VIRTIO_NET_HASH_REPORT_NONE:          # spec S5
        return 0, report                                   # choice C11
    return toeplitz(key, data), report


def select_queue(hash_value: int, report: int, table: Sequence[int], unclassified_queue: int,
                 numqueues: int) -> int:
    """RSS queue (spec S6; docs/design.md "Behaviour").

    Report NONE -> ``unclassified_queue % numqueues``, else
    ``table[hash_value & (len(table) - 1)] % numqueues`` (the modulo:
    choice C12).
    """
    if numqueues <= 0:
        raise ValueError("numqueues must be positive")
    if report == _T.VIRTIO_NET_HASH_REPORT_NONE:          # spec S6 unclassified_queue
        return unclassified_queue % numqueues              # choice C12
    size = len(table)
    if size == 0 or size & (size - 1):                     # spec S6 power of two
        raise ValueError(f"indirection table length {size} is not a power of two")
    return table[hash_value & (size - 1)] % numqueues      # spec S6 mask; choice C12
