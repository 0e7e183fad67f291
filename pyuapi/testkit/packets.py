# SPDX-License-Identifier: MIT
"""Frame builders: Ethernet, IPv4 (options, fragments), IPv6 with extension
header chains, TCP, UDP, ICMP and other protocols, with correct checksums.

Formats: IEEE 802.3 (Ethernet II), RFC 791 (IPv4), RFC 8200 (IPv6 and its
extension headers), RFC 6275 (home address option, type 2 routing header),
RFC 4302 (AH), RFC 9293 (TCP), RFC 768 (UDP), RFC 792/4443 (ICMP), RFC 1071
(Internet checksum).  Pure stdlib; no scapy.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import Sequence, Union

__all__ = [
    "Addr", "addr", "checksum", "ether", "vlan", "push_vlan_tag", "ipv4", "ipv4_fragments", "ipv6",
    "ExtHeader", "hop_by_hop", "dest_opts", "hao_option", "pad_option", "routing", "rh2",
    "fragment_header", "ah", "ipv6_fragments", "tcp", "udp", "icmpv4_echo", "icmpv6_echo",
    "udp4_frame",
    "ETH_P_IP", "ETH_P_IPV6", "ETH_P_8021Q", "ETH_P_ARP",
]

ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
ETH_P_8021Q = 0x8100
ETH_P_ARP = 0x0806

IPPROTO_HOPOPTS, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP = 0, 1, 6, 17
IPPROTO_ROUTING, IPPROTO_FRAGMENT, IPPROTO_ESP, IPPROTO_AH = 43, 44, 50, 51
IPPROTO_ICMPV6, IPPROTO_NONE, IPPROTO_DSTOPTS = 58, 59, 60

Addr = Union[str, bytes]
DEFAULT_DST_MAC = bytes.fromhex("020000000002")
DEFAULT_SRC_MAC = bytes.fromhex("020000000001")


def addr(a: Addr) -> bytes:
    """An IPv4/IPv6 address as 4 or 16 network-order bytes (inet_pton)."""
    if isinstance(a, (bytes, bytearray)):
        if len(a) not in (4, 16):
            raise ValueError(f"address must be 4 or 16 bytes, got {len(a)}")
        return bytes(a)
    return socket.inet_pton(socket.AF_INET6 if ":" in a else socket.AF_INET, a)


def checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum (one's complement of the one's complement sum)."""
    if len(data) & 1:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ether(payload: bytes, ethertype: int, dst: bytes = DEFAULT_DST_MAC,
          src: bytes = DEFAULT_SRC_MAC) -> bytes:
    """Ethernet II frame (no FCS)."""
    return dst + src + struct.pack("!H", ethertype) + payload


def vlan(payload: bytes, inner_ethertype: int, vid: int = 1, dst: bytes = DEFAULT_DST_MAC,
         src: bytes = DEFAULT_SRC_MAC) -> bytes:
    """802.1Q-tagged Ethernet frame (ethertype 0x8100)."""
    return dst + src + struct.pack("!HHH", ETH_P_8021Q, vid & 0xFFF, inner_ethertype) + payload


def push_vlan_tag(frame: bytes, tpid: int, tci: int) -> bytes:
    """``frame`` with one more VLAN tag (IEEE 802.1Q header: ``tpid`` 0x8100
    or 0x88a8 for 802.1ad, then the 16-bit TCI) in front of its ethertype."""
    return frame[:12] + struct.pack("!HH", tpid, tci & 0xFFFF) + frame[12:]


def _pseudo(src: bytes, dst: bytes, proto: int, length: int) -> bytes:
    if len(src) == 4:
        return src + dst + struct.pack("!BBH", 0, proto, length)
    return src + dst + struct.pack("!IxxxB", length, proto)


def _l4_checksum(src: Addr, dst: Addr, proto: int, segment: bytes) -> int:
    return checksum(_pseudo(addr(src), addr(dst), proto, len(segment)) + segment)


def tcp(src: Addr, dst: Addr, sport: int, dport: int, payload: bytes = b"", seq: int = 1,
        ack: int = 0, flags: int = 0x18, window: int = 65535) -> bytes:
    """TCP segment with checksum; ``src``/``dst`` are the pseudo-header addresses (RFC 9293 3.1)."""
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, window, 0, 0)
    c = _l4_checksum(src, dst, IPPROTO_TCP, hdr + payload)
    return hdr[:16] + struct.pack("!H", c) + hdr[18:] + payload


def udp(src: Addr, dst: Addr, sport: int, dport: int, payload: bytes = b"") -> bytes:
    """UDP datagram with checksum (0 is sent as 0xffff) (RFC 768)."""
    length = 8 + len(payload)
    hdr = struct.pack("!HHHH", sport, dport, length, 0)
    c = _l4_checksum(src, dst, IPPROTO_UDP, hdr + payload) or 0xFFFF
    return hdr[:6] + struct.pack("!H", c) + payload


def udp4_frame(src: Addr, dst: Addr, sport: int, dport: int, payload: bytes = b"") -> bytes:
    """Ethernet II frame of one UDP datagram over IPv4 (RFC 768, RFC 791), default MACs."""
    return ether(ipv4(src, dst, IPPROTO_UDP, udp(src, dst, sport, dport, payload)), ETH_P_IP)


def icmpv4_echo(ident: int = 1, seq: int = 1, payload: bytes = b"") -> bytes:
    """ICMP echo request with checksum (RFC 792)."""
    body = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + payload
    return body[:2] + struct.pack("!H", checksum(body)) + body[4:]


def icmpv6_echo(src: Addr, dst: Addr, ident: int = 1, seq: int = 1, payload: bytes = b"") -> bytes:
    """ICMPv6 echo request with checksum over the pseudo header (RFC 4443)."""
    body = struct.pack("!BBHHH", 128, 0, 0, ident, seq) + payload
    c = _l4_checksum(src, dst, IPPROTO_ICMPV6, body)
    return body[:2] + struct.pack("!H", c) + body[4:]


def ipv4(src: Addr, dst: Addr, proto: int, payload: bytes, ttl: int = 64, ident: int = 1,
         df: bool = False, mf: bool = False, frag_offset: int = 0, options: bytes = b"",
         tos: int = 0, ihl: int | None = None, version: int = 4) -> bytes:
    """IPv4 packet with header checksum (RFC 791).

    ``frag_offset`` is in 8-byte units.  ``options`` are padded with EOL
    (zero) bytes to a multiple of 4.  ``ihl``/``version`` override the
    computed values to build malformed packets.
    """
    if len(options) % 4:
        options += b"\0" * (4 - len(options) % 4)
    hl = 20 + len(options)
    if hl > 60:
        raise ValueError("IPv4 options longer than 40 bytes")
    if not 0 <= frag_offset < 8192:
        raise ValueError("fragment offset out of range")
    vihl = (version << 4) | (hl // 4 if ihl is None else ihl)
    ff = (0x4000 if df else 0) | (0x2000 if mf else 0) | frag_offset
    hdr = struct.pack("!BBHHHBBH4s4s", vihl, tos, hl + len(payload), ident, ff, ttl, proto, 0,
                      addr(src), addr(dst)) + options
    return hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:] + payload


def ipv4_fragments(src: Addr, dst: Addr, proto: int, datagram: bytes, size: int,
                   ident: int = 1, options: bytes = b"") -> list[bytes]:
    """Split an L4 datagram into IPv4 fragments of ``size`` payload bytes (a multiple of 8)."""
    if size <= 0 or size % 8:
        raise ValueError("fragment size must be a positive multiple of 8")
    out = []
    for off in range(0, len(datagram), size):
        chunk = datagram[off:off + size]
        more = off + size < len(datagram)
        out.append(ipv4(src, dst, proto, chunk, ident=ident, mf=more, frag_offset=off // 8,
                        options=options if off == 0 else b""))
    return out


@dataclass(frozen=True)
class ExtHeader:
    """An IPv6 extension header: its protocol number and its bytes after Next Header (RFC 8200 4)."""

    proto: int
    body: bytes

    def encode(self, next_header: int) -> bytes:
        """The header's bytes with ``next_header`` in front."""
        return bytes([next_header]) + self.body


def pad_option(n: int) -> bytes:
    """``n`` bytes of padding: Pad1 for 1, PadN otherwise (RFC 8200 4.2)."""
    if n == 0:
        return b""
    if n == 1:
        return b"\0"
    return bytes([1, n - 2]) + b"\0" * (n - 2)


def _options_header(proto: int, options: bytes) -> ExtHeader:
    # Next Header (1) + Hdr Ext Len (1) + options, padded to a multiple of 8.
    total = 2 + len(options)
    if total % 8:
        options += pad_option(8 - total % 8)
        total = 2 + len(options)
    return ExtHeader(proto, bytes([total // 8 - 1]) + options)


def hop_by_hop(options: bytes = b"") -> ExtHeader:
    """Hop-by-Hop Options header (RFC 8200 4.3), padded with Pad1/PadN."""
    return _options_header(IPPROTO_HOPOPTS, options)


def dest_opts(options: bytes = b"") -> ExtHeader:
    """Destination Options header (RFC 8200 4.6), padded with Pad1/PadN."""
    return _options_header(IPPROTO_DSTOPTS, options)


def hao_option(home: Addr, lead_pad: bool = True) -> bytes:
    """Home Address option, type 0xC9 length 16 (RFC 6275 6.3), with the 8n+6 alignment padding.

    The option follows the 2-byte header start, so 4 bytes of PadN put the
    address at offset 8 of the header.
    """
    return (pad_option(4) if lead_pad else b"") + bytes([0xC9, 16]) + addr(home)


def routing(rtype: int, segments_left: int, data: bytes) -> ExtHeader:
    """Routing header (RFC 8200 4.4): type, segments left, then ``data`` (padded to 8n+4 bytes)."""
    total = 4 + len(data)
    if total % 8:
        data += b"\0" * (8 - total % 8)
        total = 4 + len(data)
    return ExtHeader(IPPROTO_ROUTING, bytes([total // 8 - 1, rtype, segments_left]) + data)


def rh2(home: Addr, segments_left: int = 1) -> ExtHeader:
    """Type 2 Routing header carrying a home address (RFC 6275 6.4): 4 reserved bytes, address."""
    return routing(2, segments_left, b"\0" * 4 + addr(home))


def fragment_header(offset: int = 0, more: bool = False, ident: int = 1) -> ExtHeader:
    """Fragment header (RFC 8200 4.5); ``offset`` in 8-byte units."""
    return ExtHeader(IPPROTO_FRAGMENT,
                     struct.pack("!BHI", 0, (offset << 3) | (1 if more else 0), ident))


def ah(spi: int = 0x100, seq: int = 1, icv: bytes = b"\0" * 12) -> ExtHeader:
    """Authentication Header (RFC 4302 2): length (n + 2) * 4; ICV padded to a multiple of 8."""
    total = 12 + len(icv)
    if total % 8:
        icv += b"\0" * (8 - total % 8)
        total = 12 + len(icv)
    return ExtHeader(IPPROTO_AH, struct.pack("!BHII", total // 4 - 2, 0, spi, seq) + icv)


def ipv6(src: Addr, dst: Addr, next_header: int, payload: bytes,
         ext: Sequence[ExtHeader] = (), hop_limit: int = 64, flow: int = 0, tc: int = 0,
         version: int = 6) -> bytes:
    """IPv6 packet with an extension header chain (RFC 8200 3, 4).

    ``ext`` is in packet order; each header's Next Header names the
    following one and the last names ``next_header``.
    """
    chain = b""
    protos = [h.proto for h in ext] + [next_header]
    for i, h in enumerate(ext):
        chain += h.encode(protos[i + 1])
    first = protos[0]
    plen = len(chain) + len(payload)
    vtf = (version << 28) | (tc << 20) | (flow & 0xFFFFF)
    return struct.pack("!IHBB16s16s", vtf, plen, first, hop_limit, addr(src), addr(dst)) \
        + chain + payload


def ipv6_fragments(src: Addr, dst: Addr, next_header: int, datagram: bytes, size: int,
                   ident: int = 1, unfragmentable: Sequence[ExtHeader] = ()) -> list[bytes]:
    """Split ``datagram`` into IPv6 fragments of ``size`` bytes (RFC 8200 4.5)."""
    if size <= 0 or size % 8:
        raise ValueError("fragment size must be a positive multiple of 8")
    out = []
    for off in range(0, len(datagram), size):
        more = off + size < len(datagram)
        fh = fragment_header(off // 8, more, ident)
        out.append(ipv6(src, dst, next_header, datagram[off:off + size],
                        ext=list(unfragmentable) + [fh]))
    return out
