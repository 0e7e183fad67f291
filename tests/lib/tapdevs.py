# SPDX-License-Identifier: MIT
"""pytest plugin: the tap devices of drivers/net/tap.c (macvtap, ipvtap) beside tun.

Loaded with ``pytest_plugins`` by tests/vm/conftest.py and
tests/robustness/conftest.py, after tests.lib.taps (whose ``netns`` fixture
and skip/fail convention it uses).  ``make_tapdev(kind, queues)`` gives a
:class:`Rig`: the device's queue files (pyuapi.TapDev, or pyuapi.Tap for
kind "tun"), the interface to send frames on and how to address them.

A macvtap or ipvtap link sits on the lower half of a veth pair; frames sent
with AF_PACKET on the upper half (the peer) are received by the lower one,
whose rx_handler hands them to the link (drivers/net/macvlan.c
macvlan_handle_frame, drivers/net/ipvlan/ipvlan_core.c
ipvlan_handle_mode_l2), and tap_handle_frame queues them on a file.  Every
frame is addressed to the lower device's MAC address (a macvtap in passthru
mode has the same one): unicast, so neither driver defers it to its
broadcast work.  An ipvtap in l2 mode gets a unicast frame only when it
owns the address ipvlan looks up (:func:`ipvlan_address`): :meth:`Rig.prepare`
adds those addresses to it and leaves out the frames ipvlan would pass to
the lower device instead.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import struct
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional

import pytest
from pyroute2 import IPRoute

from pyuapi import Tap, TapDev
from pyuapi.tapfiles import TapFiles

from .netlink import (NetNS, add_address, add_ipvtap, add_macvtap, add_veth, delete_link,
                      iproute, link_mac, link_up, set_ipv6_conf)
from .taps import feature_missing

__all__ = ["TAP_KINDS", "DEVICE_KINDS", "Rig", "TapDevFactory", "ipvlan_address", "make_tapdev",
           "tap_kind"]

TAP_KINDS = ("macvtap", "ipvtap")         # drivers/net/tap.c: /dev/tapN
DEVICE_KINDS = ("tun", *TAP_KINDS)
_VLAN_TPIDS = (0x8100, 0x88A8)            # skb_vlan_untag() takes one of these into vlan_tci
_ARP_HDR_LEN = 28                         # arp_hdr_len() of an Ethernet device
_names = itertools.count()
# /dev/tap<ifindex> is one name for every namespace, and devtmpfs keeps the first node of
# a name: the links here take ifindexes no other namespace of the VM uses (the base's
# selftests/net/tap.c, beside pytest, opens /dev/tap<its ifindex> without checking it)
_ifindexes = itertools.count(4096)


def ipvlan_address(frame: bytes) -> Optional[bytes]:
    """The address an ipvlan in l2 mode looks up for a unicast ``frame`` from its lower
    device, or None when it passes the frame to the lower device.

    drivers/net/ipvlan/ipvlan_core.c ipvlan_get_L3_hdr() and
    ipvlan_addr_lookup(use_dest): one VLAN tag is already in skb->vlan_tci
    (skb_vlan_untag); ARP: the target IP address; IPv4: the destination if
    version 4, IHL >= 5 and IHL*4 <= tot_len <= the packet; IPv6: the
    destination if version 6, except an ICMPv6 packet from :: (the target
    of a Neighbour Solicitation, else none).
    """
    proto, l3 = struct.unpack_from("!H", frame, 12)[0], frame[14:]
    if proto in _VLAN_TPIDS:
        if len(frame) < 18:
            return None
        proto, l3 = struct.unpack_from("!H", frame, 16)[0], frame[18:]
    if proto == 0x0806:
        return l3[24:28] if len(l3) >= _ARP_HDR_LEN else None
    if proto == 0x0800:
        if len(l3) < 20 or l3[0] >> 4 != 4 or l3[0] & 0xF < 5:
            return None
        tot_len = struct.unpack_from("!H", l3, 2)[0]
        return l3[16:20] if (l3[0] & 0xF) * 4 <= tot_len <= len(l3) else None
    if proto == 0x86DD:
        if len(l3) < 40 or l3[0] >> 4 != 6:
            return None
        if l3[8:24] == bytes(16) and l3[6] == 58:          # ICMPv6 from the unspecified address
            if len(l3) >= 64 and l3[40] == 135:
                return l3[48:64]
            return None
        return l3[24:40]
    return None


def _dropped_by_vlan_untag(frame: bytes) -> bool:
    """Whether the lower device's receive path drops ``frame`` before any rx_handler.

    net/core/dev.c __netif_receive_skb_core -> skb_vlan_untag(): a tagged
    frame needs the tag and the next EtherType (6 bytes) after its
    Ethernet header, or it is freed.  On a tun the same frame is sent, not
    received, and reaches the queues.
    """
    return struct.unpack_from("!H", frame, 12)[0] in _VLAN_TPIDS and len(frame) < 14 + 6


def _assignable(address: bytes) -> bool:
    """Whether ``address`` is one an ipvlan can own and look up (a unicast, specified one).

    The kernel accepts 0.0.0.0/32 on a link, but ipvlan never delivers to
    it (an all-zero ARP frame went to the lower device): such frames are
    not sent to an ipvtap.
    """
    ip = ipaddress.ip_address(address)
    return not (ip.is_unspecified or ip.is_multicast or ip.is_loopback or
                ip == ipaddress.ip_address("255.255.255.255"))


@dataclass
class Rig:
    """A device under test: its queue files, where frames enter, how they are addressed.

    ``dev`` is a pyuapi.Tap for kind "tun" (frames sent on the tap itself
    leave through its queues) and a pyuapi.TapDev for macvtap/ipvtap
    (frames sent on ``via``, the peer of ``lower``).
    """

    kind: str
    dev: TapFiles
    via: str
    lower: Optional[str] = None
    mac: Optional[bytes] = None            # destination MAC every frame is given
    owned: set[bytes] = field(default_factory=set)       # addresses added to an ipvtap
    refused: set[bytes] = field(default_factory=set)     # addresses it would not take
    ipr: Optional[IPRoute] = field(default=None, repr=False)

    @property
    def tapdev(self) -> TapDev:
        """``dev`` of a macvtap/ipvtap rig."""
        assert isinstance(self.dev, TapDev), self.kind
        return self.dev

    def prepare(self, frames: list[bytes]) -> list[bytes]:
        """``frames`` as they are sent to this device (see the module docstring): readdressed,
        and for an ipvtap only those it gets, after adding their addresses to it."""
        if self.mac is None:
            return list(frames)
        out = [self.mac + f[6:] for f in frames if not _dropped_by_vlan_untag(f)]
        if self.kind != "ipvtap":
            return out
        return [f for f in out if self._own(ipvlan_address(f))]

    def _own(self, address: Optional[bytes]) -> bool:
        if address is None or address in self.refused or not _assignable(address):
            return False
        if address not in self.owned:
            if self.ipr is None:
                self.ipr = IPRoute()
            try:
                add_address(self.dev.name, address, ipr=self.ipr)
            except Exception:                 # pyroute2 NetlinkError: multicast, ::, ...
                self.refused.add(address)
                return False
            self.owned.add(address)
        return True

    def delete(self) -> None:
        """RTM_DELLINK of the device's link, its files left open."""
        delete_link(self.dev.name)

    def close(self) -> None:
        """Close the device's files and the rtnetlink socket."""
        try:
            self.dev.close()
        finally:
            if self.ipr is not None:
                self.ipr.close()
                self.ipr = None


TapDevFactory = Callable[..., Rig]


@pytest.fixture(params=TAP_KINDS)
def tap_kind(request: pytest.FixtureRequest) -> str:
    """Each of TAP_KINDS: a test that takes it runs for macvtap and for ipvtap."""
    return request.param


def _link(kind: str, up: bool) -> tuple[str, str, str]:
    """A veth pair and a ``kind`` link on its lower half: (link, lower, peer).

    Names carry the pid so that they are not those of the initial namespace,
    whose sysfs pyuapi.tapdev.tap_devt reads first; the link's ifindex is one
    of _ifindexes.
    """
    n = f"{os.getpid() % 100000}x{next(_names)}"
    name, lower, peer = f"rs{kind[0]}{n}", f"rsl{n}", f"rsp{n}"
    index = next(_ifindexes)
    with iproute() as ipr:
        add_veth(lower, peer, ipr=ipr)
        if kind == "macvtap":
            add_macvtap(lower, name, "passthru", index, ipr=ipr)
        else:
            add_ipvtap(lower, name, "l2", index)
            # IPv6 addresses on the ipvtap only: no link-local address, no DAD
            set_ipv6_conf(name, "addr_gen_mode", 1)
            set_ipv6_conf(name, "accept_dad", 0)
            set_ipv6_conf(name, "disable_ipv6", 0)
        for dev in (peer, lower, name) if up else ():
            link_up(dev, ipr=ipr)
    return name, lower, peer


@pytest.fixture
def make_tapdev(netns: NetNS) -> Iterator[TapDevFactory]:
    """make_tapdev(kind, queues=1, up=True) -> Rig inside the test's namespace; closed after.

    ``kind`` is one of DEVICE_KINDS: "tun" (a pyuapi.Tap), "macvtap" (passthru)
    or "ipvtap" (l2) on a veth pair, with a pyuapi.TapDev of ``queues`` files.
    A link that cannot be made skips, or fails under TUNRSS_EXPECT_FEATURE=1
    (tests.lib.taps.feature_missing).
    """
    rigs: list[Rig] = []

    def make(kind: str, queues: int = 1, up: bool = True) -> Rig:
        if kind == "tun":
            tap = Tap("rss%d", queues=queues)
            rigs.append(Rig(kind, tap, tap.name))
            if up:
                link_up(tap.name)
            return rigs[-1]
        if kind not in TAP_KINDS:
            raise ValueError(f"kind {kind!r}: one of {DEVICE_KINDS}")
        try:
            name, lower, peer = _link(kind, up)
        except Exception as e:               # pyroute2 NetlinkError, `ip` failing
            feature_missing(str(e), msg=f"cannot make a {kind} link (CONFIG_{kind.upper()}, "
                            "iproute2; vm/config/base.config sets it)")
            raise
        rigs.append(Rig(kind, TapDev(name, queues), peer, lower, link_mac(lower)))
        return rigs[-1]

    yield make
    for rig in rigs:
        rig.close()
