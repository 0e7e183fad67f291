# SPDX-License-Identifier: MIT
"""Link state and frame injection for a tap's kernel side.

``set_link_up`` uses SIOCGIFFLAGS/SIOCSIFFLAGS (include/uapi/linux/sockios.h,
struct ifreq of include/uapi/linux/if.h).
``delete_link``, ``delete_group`` and ``set_link_group`` are RTM_DELLINK /
RTM_SETLINK (rtnetlink(7), include/uapi/linux/rtnetlink.h); ``link_stats``
reads /proc/thread-self/net/dev (proc(5)), which, unlike /sys/class/net,
shows the calling thread's network namespace.
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import struct

from .uapi import tun
from .sysio import ioctl

__all__ = ["set_link_up", "link_flags", "delete_link", "set_link_group", "delete_group",
           "link_stats", "IFF_UP",
           "SIOCGIFFLAGS", "SIOCSIFFLAGS"]

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1          # include/uapi/linux/if.h net_device_flags (not a tun IFF_*)


def _ifreq(name: str) -> tun.ifreq:
    ifr = tun.ifreq()
    ifr.ifr_name = name.encode()
    return ifr


def link_flags(name: str) -> int:
    """SIOCGIFFLAGS: the interface's net_device_flags (include/uapi/linux/if.h)."""
    ifr = _ifreq(name)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        rc = ioctl(s.fileno(), SIOCGIFFLAGS, ifr)
    if rc < 0:
        raise OSError(-rc, f"SIOCGIFFLAGS {name}: {errno.errorcode.get(-rc, -rc)}")
    return ifr.ifr_ifru.ifru_flags & 0xFFFF


def set_link_up(name: str, up: bool = True) -> None:
    """SIOCSIFFLAGS: set or clear IFF_UP (include/uapi/linux/sockios.h)."""
    flags = link_flags(name)
    ifr = _ifreq(name)
    ifr.ifr_ifru.ifru_flags = ctypes.c_short((flags | IFF_UP) if up else (flags & ~IFF_UP)).value
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        rc = ioctl(s.fileno(), SIOCSIFFLAGS, ifr)
    if rc < 0:
        raise OSError(-rc, f"SIOCSIFFLAGS {name}: {errno.errorcode.get(-rc, -rc)}")


# include/uapi/linux/netlink.h, include/uapi/linux/rtnetlink.h, include/uapi/linux/if_link.h
NETLINK_ROUTE = 0
RTM_DELLINK = 17
NLMSG_ERROR = 2
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
_NLMSGHDR = struct.Struct("=IHHII")        # len, type, flags, seq, pid
_IFINFOMSG = struct.Struct("=BxHiII")      # family, type, index, flags, change


RTM_SETLINK = 19
IFLA_GROUP = 27
_RTATTR = struct.Struct("=HH")               # len, type


def _rtnl(kind: int, index: int, attrs: dict[int, bytes], what: str) -> None:
    """One rtnetlink request about a link, and its ack (rtnetlink(7))."""
    body = _IFINFOMSG.pack(socket.AF_UNSPEC, 0, index, 0, 0)
    for atype, payload in attrs.items():
        alen = _RTATTR.size + len(payload)
        body += _RTATTR.pack(alen, atype) + payload + bytes(-alen % 4)
    msg = _NLMSGHDR.pack(_NLMSGHDR.size + len(body), kind, NLM_F_REQUEST | NLM_F_ACK,
                         1, 0) + body
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE) as s:
        s.sendto(msg, (0, 0))
        reply = s.recv(65536)
    _len, rtype, _flags, _seq, _pid = _NLMSGHDR.unpack_from(reply)
    if rtype != NLMSG_ERROR:
        raise OSError(errno.EPROTO, f"{what}: netlink message type {rtype}")
    err = -struct.unpack_from("=i", reply, _NLMSGHDR.size)[0]
    if err:
        raise OSError(err, f"{what}: {os.strerror(err)}")


def delete_link(name: str) -> None:
    """RTM_DELLINK the interface ``name`` of the caller's namespace (rtnetlink(7)).

    For a tun device this is `ip link delete`: the device is unregistered
    even while queue fds are open (drivers/net/tun.c tun_detach_all).
    """
    _rtnl(RTM_DELLINK, socket.if_nametoindex(name), {}, f"RTM_DELLINK {name}")


def set_link_group(name: str, group: int) -> None:
    """RTM_SETLINK IFLA_GROUP: put ``name`` in device group ``group`` (`ip link set group`)."""
    _rtnl(RTM_SETLINK, socket.if_nametoindex(name), {IFLA_GROUP: struct.pack("=I", group)},
          f"RTM_SETLINK {name} group {group}")


def delete_group(group: int) -> None:
    """RTM_DELLINK of every device in ``group`` at once (`ip link delete group`).

    net/core/rtnetlink.c rtnl_group_dellink: one unregister_netdevice_many(),
    so one RCU grace period for the whole group.
    """
    _rtnl(RTM_DELLINK, 0, {IFLA_GROUP: struct.pack("=I", group)}, f"RTM_DELLINK group {group}")


def link_stats(name: str) -> dict[str, int]:
    """The counters of ``name`` in /proc/thread-self/net/dev (proc(5)).

    Keys: rx_bytes, rx_packets, rx_errs, rx_drop, ... and tx_bytes,
    tx_packets, tx_errs, tx_drop, ... (the column names of the file, which
    are those of struct rtnl_link_stats64: tx_drop is tx_dropped).
    """
    with open("/proc/thread-self/net/dev") as f:
        lines = f.read().splitlines()
    _, rx_cols, tx_cols = lines[1].split("|")
    cols = [f"rx_{c}" for c in rx_cols.split()] + [f"tx_{c}" for c in tx_cols.split()]
    for line in lines[2:]:
        dev, _, values = line.partition(":")
        if dev.strip() == name:
            return dict(zip(cols, (int(v) for v in values.split())))
    raise OSError(errno.ENODEV, f"{name} not in /proc/thread-self/net/dev")
