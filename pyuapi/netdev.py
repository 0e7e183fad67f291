"""Link state and frame injection for a tap's kernel side.

``set_link_up`` uses SIOCGIFFLAGS/SIOCSIFFLAGS (include/uapi/linux/sockios.h,
struct ifreq of include/uapi/linux/if.h).  :class:`Injector` sends frames
with an AF_PACKET SOCK_RAW socket (packet(7)); they leave through the tap's
transmit path (ndo_select_queue, then the chosen queue's fd).
"""

from __future__ import annotations

import ctypes
import errno
import socket

from . import tun
from .sysio import ioctl

__all__ = ["set_link_up", "link_flags", "Injector", "IFF_UP", "SIOCGIFFLAGS", "SIOCSIFFLAGS"]

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


class Injector:
    """AF_PACKET SOCK_RAW sender bound to one interface (packet(7)).

    ``send(frame)`` uses the frame's own ethertype as the sockaddr_ll
    protocol, which becomes skb->protocol.
    """

    def __init__(self, ifname: str) -> None:
        self.ifname = ifname
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)

    def send(self, frame: bytes, proto: int | None = None) -> int:
        """Send one Ethernet frame out of the interface; returns the bytes sent."""
        if proto is None:
            proto = int.from_bytes(frame[12:14], "big")
        return self.sock.sendto(frame, (self.ifname, proto))

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()

    def __enter__(self) -> "Injector":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
