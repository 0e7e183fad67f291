# SPDX-License-Identifier: MIT
"""Reference virtio-net hash (Toeplitz) and RSS queue selection.

Follows the virtio spec 1.2+, 5.1.6.4.3 "Hash calculation for incoming
packets" (subsections "Supported/enabled hash types", "IPv4 packets",
"IPv6 packets without extension header", "IPv6 packets with extension
header"), the Toeplitz definition and the Microsoft "Verifying the RSS Hash
Calculation" vectors (/work/shared/REFERENCE.md section 2), and the
steering rule of docs/design.md ("Behaviour").

Input: an Ethernet frame.  The ethertype at bytes 12-13 plays the role of
``skb->protocol``; the network header starts at byte 14.  A VLAN tag
(0x8100/0x88a8) or any other ethertype is non-IP.

Rules where the spec is silent or vague.  They match the kernel series
(patches/0001, net/core/virtio_net_hash.c); each is exercised by
tests/host/test_pyuapi_rss.py.

1. Non-IP, or no enabled type applies: ``(0, NONE)``.
2. Bounds: only the frame length bounds parsing; IPv4 ``tot_len`` and IPv6
   ``payload_len`` are not consulted, nor is an IPv6 extension header's
   length checked against the frame (what lies beyond is simply absent).
3. IP header: IPv4 with fewer than 20 bytes, version != 4 or IHL < 5, and
   IPv6 with fewer than 40 bytes or version != 6: ``(0, NONE)``.  Options
   cut by the end of the frame are not an error: the addresses are there,
   the L4 header is not (rule 5).
4. Fragments hash with the L3-only type (IPv4 / IPv6_EX / IPv6), every
   fragment including the first: IPv4 with MF set or a non-zero fragment
   offset; IPv6 with a Fragment header (Next Header 44) anywhere in the
   walked chain, recognised by the Next Header value alone (the spec is
   silent; Microsoft, QEMU and the upstream tun RFC agree).
5. L4: "the packet has a TCP (UDP) header" means a complete fixed header,
   20 bytes for TCP and 8 for UDP, is present at the L4 offset (IHL * 4,
   or the end of the IPv6 extension header walk).  A truncated one falls
   through the spec's cascade to the L3 type, if enabled.
6. IPv6 extension headers walked: Hop-by-Hop (0), Routing (43),
   Destination Options (60), each (hdrlen + 1) * 8 bytes; AH (51),
   (hdrlen + 2) * 4 bytes.  A Fragment header (44) ends the walk (what
   follows is fragment payload).  Any other Next Header value ends the walk
   and is the L4 protocol (so ESP 50 and No Next Header 59 have no ports).
   Seeing one of these five values is what "has extension headers" means.
   A header whose first two bytes are cut ends the walk without an L4
   header (the L3 type applies); so does a 17th extension header (at most
   16 are walked, as the kernel's VIRTIO_NET_HASH_MAX_EXTHDRS).
7. Home address: the first option of type 0xC9 with length 16 in any
   Destination Options header walked (Pad1 is one byte; the scan stops at
   an option that overruns its header or the frame).  Routing header type
   2: the first Routing header with hdrlen 2 (24 bytes, all present) and
   routing type 2; its address (bytes 8..23) is used whatever Segments
   Left says.
8. Which types apply to IPv6.  Virtio spec 1.2 5.1.6.4.3.1 "Supported/
   enabled hash types" lists IPv6/TCPv6/UDPv6 as "Hash types applicable for
   IPv6 packets without extension headers" and IP_EX/TCP_EX/UDP_EX as "Hash
   types applicable for IPv6 packets with extension headers"; 5.1.6.4.3.3
   ("IPv6 packets without extension header") names only TCPv6/UDPv6/IPv6,
   ending "Else the device does not calculate the hash".  (Microsoft's "RSS
   Hashing Types" page groups the _EX flags the same way, as the set for
   "IPv6 with extension headers".)  Hence:

   * without extension headers: only TCPv6, UDPv6, IPv6 (5.1.6.4.3.3).
     The _EX types do NOT apply: a TCPv6 packet without extension headers
     and types = TCP_EX alone gets ``(0, NONE)``.  This follows the spec
     text (and the series' cover letter); QEMU instead uses the _EX types
     for any IPv6 packet.
   * with extension headers (5.1.6.4.3.4): TCP_EX if TCP, else UDP_EX if
     UDP, else IP_EX, over (home address or source, RH2 address or
     destination[, ports]); if none of these is enabled, "skip IPv6
     extension headers and calculate the hash as defined for an IPv6
     packet without extension headers" (TCPv6 / UDPv6 / IPv6 over the
     fixed header addresses).  As
     the spec's "else if" chain says, IP_EX wins over TCPv6/UDPv6 for a
     TCP/UDP packet with extension headers when TCP_EX/UDP_EX are off.
9. Fields are concatenated in network order: source address, destination
   address, source port, destination port.
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
    """Toeplitz hash, bit by bit, as REFERENCE.md section 2 / virtio spec 5.1.6.4.3 define it.

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
    """Toeplitz hash of ``data`` with ``key`` (virtio spec 1.2 5.1.6.4.3; REFERENCE.md section 2).

    Table driven: per key, one 256-entry table per byte position (cached).
    """
    key = bytes(key)
    _check_len(key, data)
    return functools.reduce(operator.xor, map(list.__getitem__, _tables(key), data), 0)


_TCP_HDR_LEN = 20      # a "TCP header" is a complete fixed header (struct tcphdr)
_UDP_HDR_LEN = 8       # likewise struct udphdr
MAX_EXTHDRS = 16       # IPv6 extension headers walked at most (rule 6)


def _ipv4(f: bytes, off: int, types: int) -> tuple[int, bytes]:
    n = len(f)
    if n < off + 20:
        return _NONE
    vihl = f[off]
    if vihl >> 4 != 4 or vihl & 0x0F < 5:
        return _NONE
    addrs = f[off + 12:off + 20]
    fragment = (f[off + 6] & 0x3F) or f[off + 7]          # MF flag or fragment offset
    if not fragment:
        l4 = off + (vihl & 0x0F) * 4
        proto = f[off + 9]
        if proto == IPPROTO_TCP and types & _TCPv4 and n >= l4 + _TCP_HDR_LEN:
            return _T.VIRTIO_NET_HASH_REPORT_TCPv4, addrs + f[l4:l4 + 4]
        if proto == IPPROTO_UDP and types & _UDPv4 and n >= l4 + _UDP_HDR_LEN:
            return _T.VIRTIO_NET_HASH_REPORT_UDPv4, addrs + f[l4:l4 + 4]
    if types & _IPv4:
        return _T.VIRTIO_NET_HASH_REPORT_IPv4, addrs
    return _NONE


def _hao(f: bytes, start: int, hdrlen: int) -> Optional[bytes]:
    """Home address option (type 0xC9, length 16) of the Destination Options header at ``start``."""
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


_EXT = frozenset((0, 43, 44, 51, 60))


def _ipv6(f: bytes, off: int, types: int) -> tuple[int, bytes]:
    n = len(f)
    if n < off + 40 or f[off] >> 4 != 6:
        return _NONE
    nh = f[off + 6]
    p = off + 40
    has_ext = False
    l4 = True
    home = rh2 = None
    i = 0
    while nh in _EXT:
        has_ext = True
        if nh == 44 or i == MAX_EXTHDRS:
            l4 = False
            break
        if n < p + 2:
            l4 = False
            break
        hlen = (f[p + 1] + 2) * 4 if nh == 51 else (f[p + 1] + 1) * 8
        if nh == 43:
            if rh2 is None and hlen == 24 and n >= p + 24 and f[p + 2] == 2:
                rh2 = f[p + 8:p + 24]
        elif nh == 60 and home is None:
            home = _hao(f, p, hlen)
        nh = f[p]
        p += hlen
        i += 1
    is_tcp = l4 and nh == IPPROTO_TCP and n >= p + _TCP_HDR_LEN
    is_udp = l4 and nh == IPPROTO_UDP and n >= p + _UDP_HDR_LEN
    if has_ext:
        ex = (home or f[off + 8:off + 24]) + (rh2 or f[off + 24:off + 40])
        if is_tcp and types & _TCP_EX:
            return _T.VIRTIO_NET_HASH_REPORT_TCPv6_EX, ex + f[p:p + 4]
        if is_udp and types & _UDP_EX:
            return _T.VIRTIO_NET_HASH_REPORT_UDPv6_EX, ex + f[p:p + 4]
        if types & _IP_EX:
            return _T.VIRTIO_NET_HASH_REPORT_IPv6_EX, ex
    if is_tcp and types & _TCPv6:
        return _T.VIRTIO_NET_HASH_REPORT_TCPv6, f[off + 8:off + 40] + f[p:p + 4]
    if is_udp and types & _UDPv6:
        return _T.VIRTIO_NET_HASH_REPORT_UDPv6, f[off + 8:off + 40] + f[p:p + 4]
    if types & _IPv6:
        return _T.VIRTIO_NET_HASH_REPORT_IPv6, f[off + 8:off + 40]
    return _NONE


def hash_input(frame: bytes, types: int) -> tuple[int, bytes]:
    """(hash_report, the bytes hashed) for an Ethernet frame (virtio spec 1.2 5.1.6.4.3).

    The bytes are the spec's field concatenation (rule 9 of the module
    docstring); report NONE comes with ``b""``.
    """
    if len(frame) < 14:
        return _NONE
    proto = (frame[12] << 8) | frame[13]
    if proto == ETH_P_IP:
        return _ipv4(frame, 14, types)
    if proto == ETH_P_IPV6:
        return _ipv6(frame, 14, types)
    return _NONE


def hash_frame(frame: bytes, types: int, key: bytes) -> tuple[int, int]:
    """(hash_value, hash_report) of an Ethernet frame (virtio spec 1.2 5.1.6.4.3, 5.1.6.4.4).

    Non-IP or no applicable enabled type gives ``(0, NONE)``; see the module
    docstring for the rules the spec leaves open.
    """
    report, data = hash_input(frame, types)
    if report == _T.VIRTIO_NET_HASH_REPORT_NONE:
        return 0, report
    return toeplitz(key, data), report


def select_queue(hash_value: int, report: int, table: Sequence[int], unclassified_queue: int,
                 numqueues: int) -> int:
    """RSS queue (docs/design.md "Behaviour"; virtio spec 1.2 5.1.6.5.7.1 RSS steering).

    Report NONE -> ``unclassified_queue % numqueues``, else
    ``table[hash_value & (len(table) - 1)] % numqueues``.
    """
    if numqueues <= 0:
        raise ValueError("numqueues must be positive")
    if report == _T.VIRTIO_NET_HASH_REPORT_NONE:
        return unclassified_queue % numqueues
    size = len(table)
    if size == 0 or size & (size - 1):
        raise ValueError(f"indirection table length {size} is not a power of two")
    return table[hash_value & (size - 1)] % numqueues
