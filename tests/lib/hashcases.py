# SPDX-License-Identifier: MIT
"""Frames and TUNSETVNETHASH cases that the tun and the macvtap/ipvtap suites share.

``sample_frames`` has one frame per hashing rule of pyuapi.rss (virtio
spec 1.2+ "Hash calculation for incoming packets"); ``probes`` a few whose
queue and report tell two configurations apart; ``EINVAL_ROWS`` and
``E2BIG_ROWS`` one bad TUNSETVNETHASH argument per row of the
docs/design.md "Validation" table (include/uapi/linux/if_tun.h "virtio-net
hashing"), derived from ``other_cfg``, a valid configuration that would
steer and hash differently from ``base_cfg``.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Callable

import pytest

from pyuapi import HashConfig
from pyuapi.errors import FeatureMissingError, TunError
from pyuapi.testkit import packets as P
from pyuapi.uapi import tun as T, virtio_net as V

__all__ = ["sample_frames", "probes", "base_cfg", "other_cfg", "expect_errno", "unsupported_bit",
           "EINVAL_ROWS", "E2BIG_ROWS", "K1", "K2"]

RSS, REPORT = T.TUN_VNET_HASH_RSS, T.TUN_VNET_HASH_REPORT
K1 = bytes(range(0x40, 0x68))
K2 = bytes(range(0x90, 0xB8))


def sample_frames(n: int = 0) -> list[bytes]:
    """One frame per hashing rule (distinct bytes), plus ``n`` random TCP/UDP ones."""
    s4, d4, s6, d6 = "10.1.0.1", "10.2.0.2", "2001:db8::1", "2001:db8::2"
    home, care = "2001:db8:aa::1", "2001:db8:bb::2"
    out = [
        P.ether(P.ipv4(s4, d4, 6, P.tcp(s4, d4, 1, 2)), P.ETH_P_IP),
        P.udp4_frame(s4, d4, 3, 4),
        P.ether(P.ipv4(s4, d4, 1, P.icmpv4_echo()), P.ETH_P_IP),
        P.ether(P.ipv4(s4, d4, 6, P.tcp(s4, d4, 5, 6), options=b"\x01" * 4), P.ETH_P_IP),
        P.ether(P.ipv4(s4, d4, 6, P.tcp(s4, d4, 7, 8), mf=True), P.ETH_P_IP),
        P.ether(P.ipv4(s4, d4, 6, b"later-fragment", frag_offset=9), P.ETH_P_IP),
        P.ether(P.ipv6(s6, d6, 6, P.tcp(s6, d6, 9, 10)), P.ETH_P_IPV6),
        P.ether(P.ipv6(s6, d6, 17, P.udp(s6, d6, 11, 12)), P.ETH_P_IPV6),
        P.ether(P.ipv6(s6, d6, 58, P.icmpv6_echo(s6, d6)), P.ETH_P_IPV6),
        P.ether(P.ipv6(s6, d6, 6, P.tcp(home, care, 13, 14),
                       ext=[P.hop_by_hop(), P.rh2(care), P.dest_opts(P.hao_option(home))]),
                P.ETH_P_IPV6),
        P.ether(P.ipv6(s6, d6, 17, P.udp(home, d6, 15, 16),
                       ext=[P.dest_opts(P.hao_option(home))]), P.ETH_P_IPV6),
        P.ether(P.ipv6(s6, d6, 6, P.tcp(s6, d6, 17, 18), ext=[P.ah()]), P.ETH_P_IPV6),
        P.ether(P.ipv6(s6, d6, 6, P.tcp(s6, d6, 19, 20), ext=[P.fragment_header(0, True)]),
                P.ETH_P_IPV6),
        P.ether(P.ipv6(s6, d6, 6, b"later6", ext=[P.fragment_header(5, False)]), P.ETH_P_IPV6),
        P.ether(P.ipv6(s6, d6, 59, b""), P.ETH_P_IPV6),
        P.ether(b"\0" * 28, P.ETH_P_ARP),
        P.vlan(P.ipv4(s4, d4, 6, P.tcp(s4, d4, 21, 22)), P.ETH_P_IP),
    ]
    rng = random.Random(7)
    for i in range(n):
        a, b = f"10.{i % 250}.{rng.randrange(256)}.1", f"172.16.{rng.randrange(256)}.{i % 250}"
        proto = rng.choice((6, 17))
        seg = (P.tcp if proto == 6 else P.udp)(a, b, rng.randrange(65536), rng.randrange(65536))
        out.append(P.ether(P.ipv4(a, b, proto, seg, ident=i), P.ETH_P_IP))
    return out


def probes() -> list[bytes]:
    """TCP/UDP over IPv4 and IPv6, a type 2 routing header and ARP: every report class
    base_cfg and other_cfg treat differently."""
    s4, d4, s6, d6 = "10.7.0.1", "10.7.0.2", "2001:db8:7::1", "2001:db8:7::2"
    return [
        P.ether(P.ipv4(s4, d4, 6, P.tcp(s4, d4, 1111, 2222)), P.ETH_P_IP),
        P.udp4_frame(s4, d4, 3333, 4444),
        P.ether(P.ipv6(s6, d6, 6, P.tcp(s6, d6, 5555, 6666)), P.ETH_P_IPV6),
        P.ether(P.ipv6(s6, d6, 17, P.udp(s6, d6, 7, 8), ext=[P.rh2("2001:db8:7::9")]),
                P.ETH_P_IPV6),
        P.ether(b"\x00\x01\x08\x00\x06\x04\x00\x01" + bytes(20), P.ETH_P_ARP),
    ]


def base_cfg(cap: T.tun_vnet_hash_cap, flags: int = RSS | REPORT) -> HashConfig:
    """The earlier configuration: with RSS, most IP frames to fd-queue 2,
    non-IP to 1; without RSS no table and no unclassified queue (EINVAL)."""
    if not flags & RSS:
        return HashConfig(flags, cap.types, K1)
    return HashConfig(flags, cap.types, K1, (2, 2, 2, 2, 2, 2, 2, 0), unclassified_queue=1)


def other_cfg() -> HashConfig:
    """A valid configuration that would steer and hash observably differently."""
    return HashConfig(RSS | REPORT, V.VIRTIO_NET_RSS_HASH_TYPE_IPv4, K2, (3, 3, 3, 3),
                      unclassified_queue=0)


def expect_errno(err: int, ioctl: str, fn: Callable[[], object]) -> TunError:
    """``fn`` raises TunError ``err`` from ``ioctl`` (not FeatureMissingError)."""
    with pytest.raises(TunError) as ei:
        fn()
    e = ei.value
    assert not isinstance(e, FeatureMissingError), str(e)
    assert (e.errno, e.ioctl) == (err, ioctl), str(e)
    return e


def unsupported_bit(cap: T.tun_vnet_hash_cap) -> int:
    """The lowest VIRTIO_NET_RSS_HASH_TYPE_* bit TUNGETVNETHASHCAP does not report."""
    free = ~cap.types & 0xFFFFFFFF
    return free & -free


EINVAL_ROWS: dict[str, Callable[[T.tun_vnet_hash_cap], HashConfig]] = {
    "flags-unknown-bit": lambda c: dataclasses.replace(other_cfg(), flags=RSS | REPORT | 0x4),
    "flags-high-bit": lambda c: dataclasses.replace(other_cfg(), flags=REPORT | 0x8000),
    "pad-not-zero": lambda c: dataclasses.replace(other_cfg(), pad=b"\x00\x01"),
    "pad-first-byte": lambda c: dataclasses.replace(other_cfg(), pad=b"\x80\x00"),
    "types-unsupported": lambda c: dataclasses.replace(other_cfg(),
                                                       types=unsupported_bit(c) | 1),
    "table-not-power-of-two": lambda c: dataclasses.replace(other_cfg(), table=(3, 3, 3)),
    "table-longer-than-128": lambda c: dataclasses.replace(other_cfg(), table=(3,) * 256),
    "mask-without-rss": lambda c: dataclasses.replace(other_cfg(), flags=REPORT, mask=1),
    "unclassified-without-rss": lambda c: dataclasses.replace(other_cfg(), flags=REPORT,
                                                              unclassified_queue=1),
    "flags-0-types": lambda c: HashConfig(0, V.VIRTIO_NET_RSS_HASH_TYPE_IPv4, bytes(40)),
    "flags-0-key": lambda c: HashConfig(0, 0, K2),
    "flags-0-mask": lambda c: HashConfig(0, 0, bytes(40), mask=1),
    "flags-0-unclassified": lambda c: HashConfig(0, 0, bytes(40), unclassified_queue=2),
    "size-below-56": lambda c: dataclasses.replace(other_cfg(), size=55),
    "size-0": lambda c: dataclasses.replace(other_cfg(), size=0),
}
E2BIG_ROWS: dict[str, Callable[[T.tun_vnet_hash_cap], HashConfig]] = {
    "size-above-a-page": lambda c: dataclasses.replace(other_cfg(), size=T.MAX_ARG_SIZE + 1),
    "size-u32-max": lambda c: dataclasses.replace(other_cfg(), size=0xFFFFFFFF),
    "tail-last-byte": lambda c: dataclasses.replace(other_cfg(), size=64, tail=bytes(7) + b"\1"),
    "tail-first-byte": lambda c: dataclasses.replace(other_cfg(), size=T.MAX_ARG_SIZE,
                                                     tail=b"\x80"),
}
