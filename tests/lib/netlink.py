# SPDX-License-Identifier: MIT
"""Links, network namespaces and link statistics through pyroute2 (rtnetlink(7)).

tun devices themselves are made by opening /dev/net/tun (pyuapi.Tap): they
cannot be created over rtnetlink, and pyroute2's tuntap support closes its
fd.  An ipvtap link is made with iproute2's `ip` (pyroute2 0.9 has no
ipvtap kind).  Everything else about the link goes through pyroute2.IPRoute:
state (IFF_UP), deletion (RTM_DELLINK, one device or a whole device group),
device groups (IFLA_GROUP) and counters (IFLA_STATS64, struct
rtnl_link_stats64 of include/uapi/linux/if_link.h).  :class:`NetNS` is a
named network namespace (pyroute2.netns, as `ip netns add`) that the
calling thread enters and leaves.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

from pyroute2 import IPRoute, netns

__all__ = ["NetNS", "iproute", "link_up", "link_flags", "delete_link", "add_vlan", "add_veth", "set_xdp", "set_mtu",
           "set_link_group", "add_macvtap", "add_ipvtap", "link_mac", "add_address",
           "set_ipv6_conf", "delete_group", "link_stats", "IFF_UP"]

IFF_UP = 0x1            # include/uapi/linux/if.h net_device_flags
_names = itertools.count()


@contextmanager
def iproute(ipr: Optional[IPRoute] = None) -> Iterator[IPRoute]:
    """``ipr``, or a new rtnetlink socket in the calling thread's namespace, closed after.

    Every helper takes ``ipr=`` so that a loop over thousands of links
    shares one socket.
    """
    if ipr is not None:
        yield ipr
        return
    own = IPRoute()
    try:
        yield own
    finally:
        own.close()


def _index(name: str) -> int:
    """if_nametoindex(3) in the calling thread's namespace (no dump of every link)."""
    return socket.if_nametoindex(name)


def link_up(name: str, up: bool = True, ipr: Optional[IPRoute] = None) -> None:
    """RTM_SETLINK: set or clear IFF_UP (`ip link set NAME up|down`)."""
    with iproute(ipr) as ipr:
        ipr.link("set", index=_index(name), state="up" if up else "down")


def link_flags(name: str, ipr: Optional[IPRoute] = None) -> int:
    """The link's net_device_flags (ifinfomsg.ifi_flags of RTM_GETLINK)."""
    with iproute(ipr) as ipr:
        return int(ipr.get_links(_index(name))[0]["flags"])


def delete_link(name: str, ipr: Optional[IPRoute] = None) -> None:
    """RTM_DELLINK of ``name`` (`ip link delete`).

    For a tun device the device is unregistered even while queue fds are
    open (drivers/net/tun.c tun_detach_all).
    """
    with iproute(ipr) as ipr:
        ipr.link("del", index=_index(name))


def add_vlan(parent: str, name: str, vid: int, proto: int = 0x8100,
             ipr: Optional[IPRoute] = None) -> None:
    """RTM_NEWLINK of a VLAN device on ``parent`` (`ip link add link PARENT name
    NAME type vlan [protocol 802.1ad] id VID`; CONFIG_VLAN_8021Q).  Its
    frames reach ``parent`` with the tag in skb->vlan_tci when ``parent``
    offers NETIF_F_HW_VLAN_CTAG_TX / STAG_TX, as tun does."""
    with iproute(ipr) as ipr:
        ipr.link("add", ifname=name, kind="vlan", link=_index(parent), vlan_id=vid,
                 vlan_protocol=proto)


def add_veth(name: str, peer: str, ipr: Optional[IPRoute] = None) -> None:
    """RTM_NEWLINK of a veth pair (`ip link add NAME type veth peer name PEER`)."""
    with iproute(ipr) as ipr:
        ipr.link("add", ifname=name, kind="veth", peer=peer)


def add_macvtap(parent: str, name: str, mode: str = "passthru", index: int = 0,
                ipr: Optional[IPRoute] = None) -> None:
    """RTM_NEWLINK of a macvtap on ``parent`` (`ip link add link PARENT name NAME type
    macvtap mode MODE`; CONFIG_MACVTAP): a macvlan whose frames go to the
    queues of its character device /dev/tap<ifindex> (drivers/net/tap.c).
    In passthru mode (IFLA_MACVLAN_MODE 8) it takes every frame ``parent``
    receives (and ``parent``'s MAC address).  ``index``: the ifindex asked
    for (ifinfomsg.ifi_index; 0: the next free one)."""
    with iproute(ipr) as ipr:
        ipr.link("add", ifname=name, kind="macvtap", link=_index(parent), macvtap_mode=mode,
                 index=index)


def add_ipvtap(parent: str, name: str, mode: str = "l2", index: int = 0) -> None:
    """`ip link add link PARENT name NAME type ipvtap mode MODE` (CONFIG_IPVTAP): an
    ipvlan whose frames go to /dev/tap<ifindex>.  In l2 mode a unicast frame
    ``parent`` receives goes to the ipvlan that owns its destination IP
    address (drivers/net/ipvlan/ipvlan_core.c ipvlan_handle_mode_l2).
    ``index``: the ifindex asked for (0: the next free one)."""
    idx = ["index", str(index)] if index else []
    proc = subprocess.run(["ip", "link", "add", "link", parent, "name", name, *idx, "type",
                           "ipvtap", "mode", mode], capture_output=True, text=True)
    if proc.returncode != 0:
        raise OSError(f"ip link add {name} type ipvtap: {proc.stderr.strip()}")


def link_mac(name: str, ipr: Optional[IPRoute] = None) -> bytes:
    """The link's hardware address (IFLA_ADDRESS of RTM_GETLINK)."""
    with iproute(ipr) as ipr:
        text = ipr.get_links(_index(name))[0].get("IFLA_ADDRESS")
    return bytes.fromhex(text.replace(":", ""))


def add_address(name: str, address: bytes, ipr: Optional[IPRoute] = None) -> None:
    """RTM_NEWADDR of the IPv4 (4 bytes) or IPv6 (16 bytes) ``address`` as a /32 or /128
    on ``name`` (`ip address add ADDR dev NAME`)."""
    family = socket.AF_INET if len(address) == 4 else socket.AF_INET6
    with iproute(ipr) as ipr:
        ipr.addr("add", index=_index(name), address=socket.inet_ntop(family, address),
                 prefixlen=8 * len(address))


def set_ipv6_conf(name: str, knob: str, value: int) -> None:
    """Write /proc/sys/net/ipv6/conf/NAME/KNOB (ip-sysctl.rst) in the calling thread's
    namespace: e.g. disable_ipv6 0 on one link of a NetNS, which disables IPv6."""
    Path(f"/proc/sys/net/ipv6/conf/{name}/{knob}").write_text(f"{value}\n")


def set_mtu(name: str, mtu: int, ipr: Optional[IPRoute] = None) -> None:
    """RTM_SETLINK IFLA_MTU of ``name``."""
    with iproute(ipr) as ipr:
        ipr.link("set", index=_index(name), mtu=mtu)


def set_xdp(name: str, prog_fd: int, ipr: Optional[IPRoute] = None) -> None:
    """RTM_SETLINK IFLA_XDP_FD: attach the XDP program ``prog_fd`` (-1 detaches).

    Without IFLA_XDP_FLAGS the kernel attaches in driver mode when the
    driver has ndo_bpf (veth and tun do: net/core/dev.c dev_xdp_mode), so
    XDP_REDIRECT and XDP_TX take the drivers' xdp_frame paths.
    """
    with iproute(ipr) as ipr:
        ipr.link("set", index=_index(name), xdp_fd=prog_fd)


def set_link_group(name: str, group: int, ipr: Optional[IPRoute] = None) -> None:
    """RTM_SETLINK IFLA_GROUP: put ``name`` in device group ``group`` (`ip link set group`)."""
    with iproute(ipr) as ipr:
        ipr.link("set", index=_index(name), group=group)


def delete_group(group: int, ipr: Optional[IPRoute] = None) -> None:
    """RTM_DELLINK of every device in ``group`` at once (`ip link delete group`).

    net/core/rtnetlink.c rtnl_group_dellink: one unregister_netdevice_many(),
    so one RCU grace period for the whole group.
    """
    with iproute(ipr) as ipr:
        ipr.link("del", index=0, group=group)


def link_stats(name: str, ipr: Optional[IPRoute] = None) -> dict[str, int]:
    """The link's struct rtnl_link_stats64 (IFLA_STATS64): rx_packets, tx_dropped, ..."""
    with iproute(ipr) as ipr:
        stats = ipr.get_links(_index(name))[0].get("stats64")
    if stats is None:
        raise OSError(61, f"{name}: no IFLA_STATS64 in RTM_GETLINK")
    return {k: int(v) for k, v in dict(stats).items()}


class NetNS:
    """A fresh named network namespace that the calling thread enters, then leaves and removes.

    pyroute2.netns.create (`ip netns add`), pushns/popns (setns(2)) and
    remove.  Network namespaces are per thread: other threads are
    unaffected, threads started inside inherit it.  Everything made inside
    (taps, sockets) belongs to it and goes when its last user does.  IPv6
    is disabled inside, so that no router solicitation, DAD or MLD frame
    appears on a tap.
    """

    def __init__(self, quiet_ipv6: bool = True) -> None:
        self.name = f"tunrss-{os.getpid()}-{next(_names)}"
        self.quiet_ipv6 = quiet_ipv6
        self._entered = False

    def __enter__(self) -> "NetNS":
        netns.create(self.name)
        try:
            netns.pushns(self.name)
        except BaseException:
            netns.remove(self.name)
            raise
        self._entered = True
        if self.quiet_ipv6:
            for knob in ("default", "all"):
                path = Path(f"/proc/sys/net/ipv6/conf/{knob}/disable_ipv6")
                if path.exists():
                    path.write_text("1")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._entered:
            self._entered = False
            try:
                netns.popns()
            finally:
                netns.remove(self.name)
