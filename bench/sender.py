# SPDX-License-Identifier: MIT
"""The frame injector of the datapath benchmark: AF_PACKET SOCK_RAW
(packet(7)) batched with ``sendmmsg(2)`` through ctypes, so that Python's
per-call cost is paid once per batch instead of once per frame; as fast as
it goes (to find where the datapath saturates) or paced at a fixed offered
load (issue 14 item 2: below saturation, so that nothing is dropped).

Mirrors struct msghdr / struct mmsghdr (include/linux/socket.h), struct iovec
and struct sockaddr_ll (include/uapi/linux/if_packet.h).  Each frame gets a
sockaddr_ll with its own ethertype, which becomes skb->protocol, as
Injector.send does.
"""

from __future__ import annotations

import ctypes
import os
import socket
import time
from typing import Optional

from pyuapi.sysio import libc

__all__ = ["BATCH", "MmsgSender", "send_for"]

BATCH = 32     # frames per sendmmsg(2) when paced


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
        self.ifname = ifname
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

    def send_batch(self, start: int = 0, count: Optional[int] = None) -> int:
        """sendmmsg(2) of frames *start* .. *start* + *count* (default: to
        the end), resumed where the kernel stopped; returns how many went."""
        end = self.n if count is None else min(self.n, start + count)
        sent = start
        size = ctypes.sizeof(mmsghdr)
        base = ctypes.addressof(self._msgs)
        fd = self.sock.fileno()
        while sent < end:
            rc = libc.sendmmsg(fd, base + sent * size, end - sent, 0)
            if rc <= 0:
                err = ctypes.get_errno()
                raise OSError(err, f"sendmmsg on {self.ifname}: {os.strerror(err)}")
            sent += rc
        return sent - start

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()

    def __enter__(self) -> "MmsgSender":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def send_for(ifname: str, frames: list[bytes], seconds: float,
             pps: Optional[float] = None) -> tuple[int, float]:
    """Send *frames* round-robin on *ifname* for *seconds*: whole batches as
    fast as possible, or BATCH frames at a time on a fixed schedule of *pps*
    frames per second (a late batch goes at once; the caller compares what
    was sent with what was offered).  Returns (frames sent, seconds taken)."""
    sent = 0
    with MmsgSender(ifname, frames) as s:
        start = time.monotonic()
        end = start + seconds
        if pps is None:
            while time.monotonic() < end:
                sent += s.send_batch()
            return sent, time.monotonic() - start
        period, pos = BATCH / pps, 0
        for i in range(max(1, round(seconds / period))):
            wait = start + i * period - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            sent += s.send_batch(pos, BATCH)
            pos = (pos + BATCH) % s.n
        return sent, max(end, time.monotonic()) - start
