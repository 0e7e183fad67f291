# SPDX-License-Identifier: MIT
"""pyuapi.testkit.packets: lengths, chain encoding and checksums."""

from __future__ import annotations

import struct

import pytest

from pyuapi.testkit import packets as P

S4, D4 = "10.0.0.1", "10.0.0.2"
S6, D6 = "2001:db8::1", "2001:db8::2"


def test_checksum_rfc1071_example() -> None:
    # RFC 1071 section 3 example: sum of 0001 f203 f4f5 f6f7 = 0xddf2 -> ~ = 0x220d
    assert P.checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D
    assert P.checksum(b"\x01") == (~0x0100) & 0xFFFF


def test_ipv4_header_checksum_and_fields() -> None:
    pkt = P.ipv4(S4, D4, 17, b"abcd", options=b"\x01\x01\x01", ident=7, mf=True, frag_offset=5)
    assert pkt[0] == 0x46 and len(pkt) == 24 + 4
    assert struct.unpack("!H", pkt[2:4])[0] == 28
    assert P.checksum(pkt[:24]) == 0
    assert struct.unpack("!H", pkt[6:8])[0] == 0x2000 | 5
    with pytest.raises(ValueError):
        P.ipv4(S4, D4, 6, b"", options=b"\x01" * 41)


@pytest.mark.parametrize("ver", [4, 6])
def test_tcp_udp_icmp_checksums_verify(ver: int) -> None:
    s, d = (S4, D4) if ver == 4 else (S6, D6)
    for proto, seg in ((6, P.tcp(s, d, 1234, 80, b"hello")), (17, P.udp(s, d, 53, 9, b"odd"))):
        pseudo = P._pseudo(P.addr(s), P.addr(d), proto, len(seg))
        assert P.checksum(pseudo + seg) == 0
    assert P.checksum(P.icmpv4_echo(payload=b"ping")) == 0
    icmp6 = P.icmpv6_echo(S6, D6, payload=b"ping6")
    assert P.checksum(P._pseudo(P.addr(S6), P.addr(D6), 58, len(icmp6)) + icmp6) == 0


def test_ipv6_chain_encoding() -> None:
    ext = [P.hop_by_hop(), P.rh2("2001:db8::99"), P.dest_opts(P.hao_option("2001:db8::77")),
           P.fragment_header(3, True, 9), P.ah()]
    pkt = P.ipv6(S6, D6, 6, b"T" * 20, ext=ext)
    assert pkt[6] == 0                        # first next header: HBH
    off, kinds = 40, []
    nh = pkt[6]
    while nh in (0, 43, 60, 44, 51):
        kinds.append(nh)
        if nh == 44:
            ln = 8
        elif nh == 51:
            ln = (pkt[off + 1] + 2) * 4
        else:
            ln = (pkt[off + 1] + 1) * 8
        assert ln % 8 == 0
        if nh == 43:
            assert pkt[off + 2] == 2 and pkt[off + 1] == 2
            assert pkt[off + 8:off + 24] == P.addr("2001:db8::99")
        if nh == 60:
            assert pkt[off + 6:off + 8] == b"\xc9\x10"          # 8n+6 alignment
            assert pkt[off + 8:off + 24] == P.addr("2001:db8::77")
        if nh == 44:
            assert struct.unpack("!HI", pkt[off + 2:off + 8]) == ((3 << 3) | 1, 9)
        nh = pkt[off]
        off += ln
    assert kinds == [0, 43, 60, 44, 51] and nh == 6
    assert struct.unpack("!H", pkt[4:6])[0] == len(pkt) - 40
    assert pkt[off:] == b"T" * 20


def test_padding_options() -> None:
    assert P.pad_option(1) == b"\0"
    assert P.pad_option(4) == b"\x01\x02\0\0"
    assert len(P.hop_by_hop(b"\x01\x01\0").body) + 1 == 8


def test_fragments_reassemble() -> None:
    dgram = P.udp(S4, D4, 1, 2, bytes(range(50)))
    frags = P.ipv4_fragments(S4, D4, 17, dgram, 16, ident=3)
    assert b"".join(f[20:] for f in frags) == dgram
    assert [struct.unpack("!H", f[6:8])[0] for f in frags] == [0x2000, 0x2002, 0x2004, 6]
    f6 = P.ipv6_fragments(S6, D6, 17, dgram, 24)
    assert b"".join(f[48:] for f in f6) == dgram
    assert f6[0][6] == 44 and f6[0][40] == 17
    with pytest.raises(ValueError):
        P.ipv4_fragments(S4, D4, 17, dgram, 12)


def test_ethernet_and_vlan() -> None:
    f = P.ether(b"x", P.ETH_P_IPV6)
    assert len(f) == 15 and f[12:14] == b"\x86\xdd"
    v = P.vlan(b"x", P.ETH_P_IP, vid=5)
    assert v[12:18] == b"\x81\x00\x00\x05\x08\x00"


def test_push_vlan_tag_matches_vlan() -> None:
    """push_vlan_tag() on an untagged frame gives what vlan() builds (IEEE 802.1Q)."""
    ip = P.ipv4("10.0.0.1", "10.0.0.2", 17, P.udp("10.0.0.1", "10.0.0.2", 1, 2))
    assert P.push_vlan_tag(P.ether(ip, P.ETH_P_IP), P.ETH_P_8021Q, 5) == P.vlan(ip, P.ETH_P_IP, 5)
    qinq = P.push_vlan_tag(P.vlan(ip, P.ETH_P_IP, 5), 0x88A8, 0x1007)
    assert qinq[12:18] == bytes.fromhex("88a81007 8100")
