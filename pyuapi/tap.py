# SPDX-License-Identifier: MIT
"""A multiqueue tap device driven through /dev/net/tun.

Wraps the ioctls of include/uapi/linux/if_tun.h (Linux 6.12) and, through
:class:`pyuapi.hashio.HashIoctls`, the series' TUNGETVNETHASHCAP /
TUNSETVNETHASH / TUNGETVNETHASH (if_tun.h "virtio-net hashing").  Every
failed ioctl raises :class:`pyuapi.errors.TunError` (an OSError carrying
errno, the ioctl's name and the likely cause); a kernel without the hash
ioctls raises :class:`pyuapi.errors.FeatureMissingError`.

Queues are the fds of one multiqueue device (Documentation/networking/
tuntap.rst "Multiqueue tuntap interface"): queue ``i`` is ``fds[i]``.
Device-wide ioctls go through the first attached queue.  (A queue detached
with IFF_DETACH_QUEUE still reaches the device: __tun_detach keeps
tfile->tun; EBADFD comes only once the device is gone, tun_detach_all.)
"""

from __future__ import annotations

import ctypes
import errno
import os
import select
import sys
from typing import Optional, Sequence

from . import sysio
from .errors import TunError
from .hashio import HashIoctls
from .packet import Packet
from .uapi import tun as T

__all__ = ["Tap"]


class Tap(HashIoctls):
    """A tap device with ``queues`` queue fds (include/uapi/linux/if_tun.h: TUNSETIFF).

    The hash ioctls (``hash_cap``, ``set_vnet_hash``, ``get_vnet_hash``,
    ...) come from :class:`pyuapi.hashio.HashIoctls`.

    Use as a context manager; :meth:`close` closes every queue fd, which
    removes the (non-persistent) device.
    """

    def __init__(self, name: str = "", queues: int = 1, *, vnet_hdr: bool = True,
                 multi_queue: bool = True, extra_flags: int = 0,
                 path: str = "/dev/net/tun") -> None:
        self.name = name
        self.path = path
        self.iff = T.IFF_TAP | T.IFF_NO_PI | extra_flags
        if vnet_hdr:
            self.iff |= T.IFF_VNET_HDR
        if multi_queue:
            self.iff |= T.IFF_MULTI_QUEUE
        self.fds: list[int] = []
        self.attached: list[bool] = []
        # tun->tfiles[] order: queue i of the kernel is fds[order[i]]
        self.order: list[int] = []
        try:
            for _ in range(queues):
                self.add_queue()
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------ plumbing
    def _ioctl(self, name: str, request: int, arg: sysio.Arg = None,
               fd: Optional[int] = None) -> int:
        rc = sysio.ioctl(self._ctl_fd() if fd is None else fd, request, arg)
        if rc < 0:
            raise TunError(-rc, name)
        return rc

    def _ctl_fd(self) -> int:
        for fd, on in zip(self.fds, self.attached):
            if on:
                return fd
        if self.fds:
            return self.fds[0]
        raise ValueError("tap has no queue fds")

    def _get_int(self, name: str, request: int, ctype: type = ctypes.c_int) -> int:
        v = ctype()
        self._ioctl(name, request, v)
        return v.value

    def _set_int(self, name: str, request: int, value: int) -> None:
        self._ioctl(name, request, ctypes.c_int(value))

    # ------------------------------------------------------------ queues
    def add_queue(self) -> int:
        """Open /dev/net/tun and TUNSETIFF it onto this device (if_tun.h TUNSETIFF); its index."""
        fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        ifr = T.ifreq()
        ifr.ifr_name = self.name.encode()
        ifr.ifr_ifru.ifru_flags = ctypes.c_short(self.iff).value
        rc = sysio.ioctl(fd, T.TUNSETIFF, ifr)
        if rc < 0:
            os.close(fd)
            raise TunError(-rc, "TUNSETIFF", detail=f"name={self.name!r} flags={self.iff:#x}")
        self.name = ifr.ifr_name.decode()
        self.fds.append(fd)
        self.attached.append(True)
        self.order.append(len(self.fds) - 1)
        return len(self.fds) - 1

    def _setqueue(self, index: int, flag: int) -> None:
        ifr = T.ifreq()
        ifr.ifr_ifru.ifru_flags = flag
        self._ioctl("TUNSETQUEUE", T.TUNSETQUEUE, ifr, fd=self.fds[index])

    def attach_queue(self, index: int) -> None:
        """TUNSETQUEUE IFF_ATTACH_QUEUE on queue ``index`` (if_tun.h)."""
        self._setqueue(index, T.IFF_ATTACH_QUEUE)
        self.attached[index] = True
        self.order.append(index)                  # tun_attach: appended at numqueues

    def detach_queue(self, index: int) -> None:
        """TUNSETQUEUE IFF_DETACH_QUEUE on queue ``index`` (if_tun.h)."""
        self._setqueue(index, T.IFF_DETACH_QUEUE)
        self.attached[index] = False
        # __tun_detach: the last queue moves into the freed slot
        pos = self.order.index(index)
        last = self.order.pop()
        if last != index:
            self.order[pos] = last

    @property
    def numqueues(self) -> int:
        """Attached queues (tun->numqueues)."""
        return sum(self.attached)

    def fd_index_of_kernel_queue(self, txq: int) -> int:
        """Which of ``fds`` is the kernel's queue ``txq``.

        drivers/net/tun.c: tun_attach appends, __tun_detach moves the last
        queue into the freed slot.
        """
        return self.order[txq]

    # ------------------------------------------------------------ old ioctls
    def features(self) -> int:
        """TUNGETFEATURES: the IFF_* flags the kernel accepts (if_tun.h)."""
        return self._get_int("TUNGETFEATURES", T.TUNGETFEATURES, ctypes.c_uint)

    def iff_flags(self, queue: int = 0) -> int:
        """TUNGETIFF: the device's flags as seen from queue ``queue`` (if_tun.h)."""
        ifr = T.ifreq()
        self._ioctl("TUNGETIFF", T.TUNGETIFF, ifr, fd=self.fds[queue])
        return ifr.ifr_ifru.ifru_flags & 0xFFFF

    def vnet_hdr_sz(self) -> int:
        """TUNGETVNETHDRSZ (if_tun.h)."""
        return self._get_int("TUNGETVNETHDRSZ", T.TUNGETVNETHDRSZ)

    def set_vnet_hdr_sz(self, size: int) -> None:
        """TUNSETVNETHDRSZ (if_tun.h); EBUSY below 20 while REPORT is on (docs/design.md)."""
        self._set_int("TUNSETVNETHDRSZ", T.TUNSETVNETHDRSZ, size)

    def vnet_le(self) -> bool:
        """TUNGETVNETLE (if_tun.h)."""
        return bool(self._get_int("TUNGETVNETLE", T.TUNGETVNETLE))

    def set_vnet_le(self, on: bool) -> None:
        """TUNSETVNETLE (if_tun.h)."""
        self._set_int("TUNSETVNETLE", T.TUNSETVNETLE, int(on))

    def vnet_be(self) -> bool:
        """TUNGETVNETBE (if_tun.h); EINVAL without CONFIG_TUN_VNET_CROSS_LE."""
        return bool(self._get_int("TUNGETVNETBE", T.TUNGETVNETBE))

    def set_vnet_be(self, on: bool) -> None:
        """TUNSETVNETBE (if_tun.h); EINVAL without CONFIG_TUN_VNET_CROSS_LE."""
        self._set_int("TUNSETVNETBE", T.TUNSETVNETBE, int(on))

    def little_endian(self) -> bool:
        """Whether the kernel writes the vnet header little endian (tun_is_little_endian)."""
        if self.vnet_le():
            return True
        try:
            be = self.vnet_be()
        except TunError as e:
            if e.errno != errno.EINVAL:
                raise
            be = False
        return sys.byteorder == "little" and not be

    def set_offload(self, flags: int) -> None:
        """TUNSETOFFLOAD with TUN_F_* (if_tun.h; the argument is the value, not a pointer)."""
        self._ioctl("TUNSETOFFLOAD", T.TUNSETOFFLOAD, flags)

    def set_steering_ebpf(self, prog_fd: int) -> None:
        """TUNSETSTEERINGEBPF (if_tun.h): attach a socket-filter program; -1 detaches."""
        self._set_int("TUNSETSTEERINGEBPF", T.TUNSETSTEERINGEBPF, prog_fd)

    def set_tx_filter(self, macs: Sequence[bytes], allmulti: bool = False) -> None:
        """TUNSETTXFILTER (if_tun.h struct tun_filter): only frames to ``macs`` are transmitted.

        An empty list with ``allmulti`` False disables the filter.
        """
        head = T.tun_filter(flags=T.TUN_FLT_ALLMULTI if allmulti else 0, count=len(macs))
        raw = head.pack() + b"".join(bytes(m) for m in macs)
        if any(len(m) != T.ETH_ALEN for m in macs):
            raise ValueError("MAC addresses are 6 bytes")
        buf = ctypes.create_string_buffer(raw, len(raw))
        self._ioctl("TUNSETTXFILTER", T.TUNSETTXFILTER, buf)

    def set_persist(self, on: bool) -> None:
        """TUNSETPERSIST (if_tun.h): keep the device when its last queue fd closes.

        The argument is the value itself, not a pointer to it (tun.c).
        """
        self._ioctl("TUNSETPERSIST", T.TUNSETPERSIST, int(on))

    def set_carrier(self, on: bool) -> None:
        """TUNSETCARRIER (if_tun.h)."""
        self._set_int("TUNSETCARRIER", T.TUNSETCARRIER, int(on))

    # ------------------------------------------------------------ data path
    def read(self, queue: int, timeout: Optional[float] = 0.0, bufsize: int = 65536 + 64,
             hdr_len: Optional[int] = None) -> Optional[Packet]:
        """One packet from queue ``queue`` as (vnet header, frame); None if none within ``timeout``.

        ``timeout`` 0 polls once (non-blocking), None waits forever.  The vnet
        header length is ``hdr_len`` if given, else the current
        TUNGETVNETHDRSZ when IFF_VNET_HDR is set.
        """
        fd = self.fds[queue]
        p = select.poll()
        p.register(fd, select.POLLIN)
        ms = -1 if timeout is None else int(timeout * 1000)
        if not p.poll(ms):
            return None
        try:
            data = os.read(fd, bufsize)
        except BlockingIOError:
            return None
        hl = hdr_len if hdr_len is not None else self._hdr_len()
        if len(data) < hl:
            raise ValueError(f"queue {queue}: read {len(data)} bytes, vnet header is {hl}")
        return Packet(queue, data[:hl], data[hl:])

    def _hdr_len(self) -> int:
        return self.vnet_hdr_sz() if self.iff & T.IFF_VNET_HDR else 0

    def drain(self, queue: int, hdr_len: Optional[int] = None) -> list[Packet]:
        """Every packet waiting on queue ``queue`` (non-blocking)."""
        if hdr_len is None:
            hdr_len = self._hdr_len()
        out = []
        while True:
            pkt = self.read(queue, 0.0, hdr_len=hdr_len)
            if pkt is None:
                return out
            out.append(pkt)

    def drain_all(self, queues: Optional[Sequence[int]] = None) -> list[Packet]:
        """Every packet waiting on the given (default: all) queues."""
        out: list[Packet] = []
        hl = self._hdr_len()
        for q in range(len(self.fds)) if queues is None else queues:
            out.extend(self.drain(q, hl))
        return out

    # ------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Close every queue fd (the device goes away with the last one)."""
        fds, self.fds, self.attached, self.order = self.fds, [], [], []
        first: Optional[BaseException] = None
        for fd in fds:
            try:
                os.close(fd)
            except OSError as e:  # report, but close the others first
                first = first or e
        if first:
            raise first

    def __enter__(self) -> "Tap":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
