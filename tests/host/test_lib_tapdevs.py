# SPDX-License-Identifier: MIT
"""tests/lib/tapdevs.py without a kernel: which frames an ipvtap gets, and how a rig
addresses the frames it sends (drivers/net/ipvlan/ipvlan_core.c, macvlan.c)."""

from __future__ import annotations

import socket
import struct

import pytest

from pyuapi.testkit import packets as P

from tests.lib import tapdevs
from tests.lib.tapdevs import Rig, ipvlan_address

S4, D4, S6, D6 = "10.3.0.1", "10.3.0.2", "2001:db8:3::1", "2001:db8:3::2"
MAC = bytes.fromhex("020000aabbcc")


def a(text: str) -> bytes:
    return socket.inet_pton(socket.AF_INET6 if ":" in text else socket.AF_INET, text)


def ns_from_unspecified(target: str) -> bytes:
    """An ICMPv6 Neighbour Solicitation from :: (DAD), target ``target``."""
    body = struct.pack("!BBHI", 135, 0, 0, 0) + a(target)
    return P.ether(P.ipv6("::", "ff02::1:ff00:2", 58, body), P.ETH_P_IPV6)


@pytest.mark.parametrize("frame,want", [
    (P.udp4_frame(S4, D4, 1, 2), D4),
    (P.ether(P.ipv4(S4, D4, 6, P.tcp(S4, D4, 1, 2), options=b"\1" * 8), P.ETH_P_IP), D4),
    (P.ether(P.ipv4(S4, D4, 6, b"later", frag_offset=9), P.ETH_P_IP), D4),
    (P.udp4_frame(S4, D4, 1, 2)[:30], None),                        # tot_len > the packet
    (P.ether(P.ipv6(S6, D6, 17, P.udp(S6, D6, 1, 2)), P.ETH_P_IP), None),   # version 6
    (P.ether(P.ipv6(S6, D6, 17, P.udp(S6, D6, 1, 2)), P.ETH_P_IPV6), D6),
    (P.ether(P.ipv6(S6, D6, 6, b"", ext=[P.rh2("2001:db8:3::9")]), P.ETH_P_IPV6), D6),
    (P.ether(P.ipv6(S6, D6, 59, b""), P.ETH_P_IPV6)[:40], None),     # cut IPv6 header
    (ns_from_unspecified(D6), D6),                                   # the target, not ff02::
    (P.ether(P.ipv6("::", D6, 58, P.icmpv6_echo("::", D6)), P.ETH_P_IPV6), None),
    (P.ether(b"\x00\x01\x08\x00\x06\x04\x00\x01" + bytes(16) + a(D4), P.ETH_P_ARP), D4),
    (P.ether(bytes(20), P.ETH_P_ARP), None),                         # shorter than arp_hdr_len
    (P.vlan(P.ipv4(S4, D4, 6, P.tcp(S4, D4, 1, 2)), P.ETH_P_IP), D4),   # one tag: vlan_tci
    (P.push_vlan_tag(P.udp4_frame(S4, D4, 1, 2), 0x88A8, 5), D4),
    (P.push_vlan_tag(P.vlan(P.ipv4(S4, D4, 6, b""), P.ETH_P_IP), 0x88A8, 5), None),  # QinQ
    (P.ether(bytes(40), 0x88B5), None),
], ids=lambda v: "" if isinstance(v, bytes) else str(v))
def test_ipvlan_address(frame: bytes, want: str | None) -> None:
    assert ipvlan_address(frame) == (None if want is None else a(want))


def test_prepare_readdresses_for_macvtap_and_keeps_tun_frames() -> None:
    frames = [P.udp4_frame(S4, D4, 1, 2), P.ether(bytes(40), 0x88B5, dst=b"\xff" * 6)]
    macvtap = Rig("macvtap", dev=None, via="peer", lower="low", mac=MAC)  # type: ignore[arg-type]
    assert macvtap.prepare(frames) == [MAC + f[6:] for f in frames]
    tun = Rig("tun", dev=None, via="tap0")                                # type: ignore[arg-type]
    assert tun.prepare(frames) == frames


def test_prepare_keeps_what_an_ipvtap_gets(monkeypatch) -> None:
    added: list[bytes] = []

    def add_address(name: str, address: bytes, ipr: object = None) -> None:
        if address == a("10.9.9.9"):
            raise OSError("refused")
        added.append(address)

    monkeypatch.setattr(tapdevs, "add_address", add_address)
    monkeypatch.setattr(tapdevs, "IPRoute", lambda: None)
    dev = type("Dev", (), {"name": "ipvt0"})()
    rig = Rig("ipvtap", dev=dev, via="peer", lower="low", mac=MAC)      # type: ignore[arg-type]
    ok1, ok2 = P.udp4_frame(S4, D4, 1, 2), P.udp4_frame(S4, D4, 3, 4)
    refused = P.udp4_frame(S4, "10.9.9.9", 1, 2)
    # never tried: multicast, and the all-zero ARP target ipvlan does not deliver to
    multicast = P.udp4_frame(S4, "224.0.0.9", 1, 2)
    zero_arp = P.ether(bytes(28), 0x0806)
    out = rig.prepare([ok1, P.ether(bytes(40), 0x88B5), refused, multicast, zero_arp, ok2,
                       refused])
    assert out == [MAC + ok1[6:], MAC + ok2[6:]]
    assert added == [a(D4)] and rig.refused == {a("10.9.9.9")}


def test_truncated_tagged_frames_are_left_out_below_a_device() -> None:
    """skb_vlan_untag() frees a tagged frame without 6 bytes after its Ethernet header."""
    dst, src = b"\x02" * 6, b"\x04" * 6
    short = dst + src + b"\x88\xa8\x03\x2b\x86\xdd"            # 18 bytes: the lost frame
    enough = dst + src + b"\x81\x00\x00\x01\x08\x00\x45\x00"   # 20 bytes
    rig = Rig("macvtap", dev=None, via="peer", lower="low", mac=MAC)  # type: ignore[arg-type]
    assert rig.prepare([short, enough]) == [MAC + enough[6:]]
    tun = Rig("tun", dev=None, via="tap0")                            # type: ignore[arg-type]
    assert tun.prepare([short, enough]) == [short, enough]
