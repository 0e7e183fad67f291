# SPDX-License-Identifier: MIT
"""The frame mix of the datapath benchmark: IPv4 and IPv6, TCP and UDP, some
IPv6 frames with extension headers (a Destination Options header with a Home
Address option, a type 2 Routing header, a Hop-by-Hop header), many flows.

Built with pyuapi.testkit.packets (RFC 791, 8200, 6275, 9293, 768).
"""

from __future__ import annotations

from pyuapi.testkit import packets as P

__all__ = ["KINDS", "frame", "mix"]

KINDS = ("ipv4-tcp", "ipv4-udp", "ipv6-tcp", "ipv6-udp", "ipv6-dstopt-hao-tcp",
         "ipv6-rh2-udp", "ipv6-hbh-tcp")
PAYLOAD = bytes(range(64))


def frame(kind: str, flow: int) -> bytes:
    """One Ethernet frame of *kind* for flow number *flow* (addresses and
    source port vary with it)."""
    sport, dport = 1024 + (flow * 7) % 60000, 80 + flow % 7
    if kind.startswith("ipv4"):
        src, dst = f"10.{flow % 200}.{flow // 200 % 250}.1", "10.255.0.2"
        proto = P.IPPROTO_TCP if kind.endswith("tcp") else P.IPPROTO_UDP
        l4 = (P.tcp if proto == P.IPPROTO_TCP else P.udp)(src, dst, sport, dport, PAYLOAD)
        return P.ether(P.ipv4(src, dst, proto, l4), P.ETH_P_IP)
    src, dst = f"2001:db8::{flow % 65535 + 1:x}", "2001:db8:ffff::2"
    proto = P.IPPROTO_TCP if kind.endswith("tcp") else P.IPPROTO_UDP
    ext: list[P.ExtHeader] = []
    if "hao" in kind:
        ext = [P.dest_opts(P.hao_option(f"2001:db8:aaaa::{flow % 65536:x}"))]
    elif "rh2" in kind:
        ext = [P.rh2(f"2001:db8:bbbb::{flow % 65536:x}")]
    elif "hbh" in kind:
        ext = [P.hop_by_hop()]
    # The L4 checksum uses the final addresses; the kernel does not check it.
    l4 = (P.tcp if proto == P.IPPROTO_TCP else P.udp)(src, dst, sport, dport, PAYLOAD)
    return P.ether(P.ipv6(src, dst, proto, l4, ext=ext), P.ETH_P_IPV6)


def mix(n: int = 256) -> list[bytes]:
    """*n* frames cycling through KINDS, each its own flow."""
    return [frame(KINDS[i % len(KINDS)], i) for i in range(n)]
