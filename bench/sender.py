# SPDX-License-Identifier: MIT
"""Frame injectors for the datapath benchmark: AF_PACKET SOCK_RAW (packet(7))
one ``sendto`` per frame (pyuapi.testkit.inject.Injector), or batched with
``sendmmsg(2)`` through ctypes so that Python's per-call cost is paid once per
batch instead of once per frame.

Mirrors struct msghdr / struct mmsghdr (include/linux/socket.h), struct iovec
and struct sockaddr_ll (include/uapi/linux/if_packet.h).  Each frame gets a
sockaddr_ll with its own ethertype, which becomes skb->protocol, as
Injector.send does.
"""

from __future__ import annotations

import ctypes
import socket
import time

from pyuapi.testkit.inject import Injector
from pyuapi.sysio import libc

__all__ = ["MmsgSender", "send_for"]


class sockaddr_ll(ctypes.Structure):
    """include/uapi/linux/if_packet.h struct sockaddr_ll."""

    _fields_ = [("sll_family", ctypes.c_uint16), ("sll_protocol", ctypes.c_uint16),
                ("sll_ifindex", ctypes.c_int), ("sll_hatype", ctypes.c_uint16),
                ("sll_pkttype", ctypes.c_uint8), ("sll_halen", ctypes.c_uint8),
                ("sll_addr", ctypes.c_uint8 * 8)]


class iovec(ctypes.Structure):
    """include/uapi/linux/uio.h struct iovec."""

    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class msghdr(ctypes.Structure):
    """include/linux/socket.h struct user_msghdr."""

    _fields_ = [("msg_name", ctypes.c_void_p), ("msg_namelen", ctypes.c_uint32),
                ("msg_iov", ctypes.POINTER(iovec)), ("msg_iovlen", ctypes.c_size_t),
                ("msg_control", ctypes.c_void_p), ("msg_controllen", ctypes.c_size_t),
                ("msg_flags", ctypes.c_int)]


class mmsghdr(ctypes.Structure):
    """include/linux/socket.h struct mmsghdr."""

    _fields_ = [("msg_hdr", msghdr), ("msg_len", ctypes.c_uint)]


libc.sendmmsg.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int]
libc.sendmmsg.restype = ctypes.c_int


class MmsgSender:
    """AF_PACKET SOCK_RAW socket on *ifname* with *frames* prepared as one
    sendmmsg batch; ``send_batch()`` sends them all and returns how many went."""

    def __init__(self, ifname: str, frames: list[bytes]) -> None:
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        ifindex = socket.if_nametoindex(ifname)
        n = len(frames)
        self._bufs = [ctypes.create_string_buffer(f, len(f)) for f in frames]
        self._addrs = (sockaddr_ll * n)()
        self._iovs = (iovec * n)()
        self._msgs = (mmsghdr * n)()
        for i, f in enumerate(frames):
            a = self._addrs[i]
            a.sll_family = socket.AF_PACKET
            a.sll_protocol = socket.htons(int.from_bytes(f[12:14], "big"))
            a.sll_ifindex = ifindex
            self._iovs[i].iov_base = ctypes.addressof(self._bufs[i])
            self._iovs[i].iov_len = len(f)
            h = self._msgs[i].msg_hdr
            h.msg_name = ctypes.addressof(a)
            h.msg_namelen = ctypes.sizeof(sockaddr_ll)
            h.msg_iov = ctypes.pointer(self._iovs[i])
            h.msg_iovlen = 1
        self.n = n

    def send_batch(self) -> int:
        """sendmmsg(2) of the whole batch (resumed where the kernel stopped)."""
        sent = 0
        base = ctypes.addressof(self._msgs)
        size = ctypes.sizeof(mmsghdr)
        fd = self.sock.fileno()
        while sent < self.n:
            rc = libc.sendmmsg(fd, base + sent * size, self.n - sent, 0)
            if rc <= 0:
                err = ctypes.get_errno()
                raise OSError(err, f"sendmmsg: {err}")
            sent += rc
        return sent

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()

    def __enter__(self) -> "MmsgSender":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def send_for(ifname: str, frames: list[bytes], seconds: float, how: str) -> tuple[int, float]:
    """Send *frames* round-robin for *seconds* with *how* ("sendmmsg" or
    "sendto"); returns (frames sent, seconds taken)."""
    sent = 0
    if how == "sendmmsg":
        with MmsgSender(ifname, frames) as s:
            start = time.monotonic()
            end = start + seconds
            while time.monotonic() < end:
                sent += s.send_batch()
            return sent, time.monotonic() - start
    with Injector(ifname) as inj:
        start = time.monotonic()
        end = start + seconds
        while time.monotonic() < end:
            for f in frames:
                inj.send(f)
            sent += len(frames)
        return sent, time.monotonic() - start
