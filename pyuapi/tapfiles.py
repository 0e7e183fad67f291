# SPDX-License-Identifier: MIT
"""The queue files of a tap, whichever driver: what :class:`pyuapi.Tap` and
:class:`pyuapi.TapDev` share.

Both drivers answer the ioctls of include/uapi/linux/if_tun.h on a file per
queue: drivers/net/tun.c (/dev/net/tun) and drivers/net/tap.c (/dev/tapN of
a macvtap or ipvtap link).  Shared here: the file list and the kernel's
queue order (both append a queue that attaches and move the last enabled
queue into the slot of one that detaches: tun.c tun_attach/__tun_detach,
tap.c tap_enable_queue/tap_disable_queue), TUNSETQUEUE, TUNGETFEATURES,
TUNGETIFF, the vnet header ioctls, TUNSETOFFLOAD, reading packets
(:class:`pyuapi.Packet`) and closing; the hash ioctls come from
:class:`pyuapi.hashio.HashIoctls`.

The vnet header ioctls take ``queue``: tun keeps one header per device, so
any queue answers for all; tap.c keeps it per file (struct tap_queue
vnet_hdr_sz and flags), so ``queue`` picks the file.
"""

from __future__ import annotations

import ctypes
import errno
import os
import select
import sys
from typing import Optional, Self, Sequence

from . import sysio
from .errors import TunError
from .hashio import HashIoctls
from .packet import Packet
from .uapi import tun as T
from .uapi import virtio_net as V

__all__ = ["TapFiles"]


class TapFiles(HashIoctls):
    """Queue files ``fds`` of one tap device; queue ``i`` is read through ``fds[i]``.

    Subclasses open the files (:meth:`add_queue`) and say how long the vnet
    header of a file is (:meth:`_hdr_len`).  Device-wide ioctls go through
    the first enabled queue (or ``fds[0]``).
    """

    name: str

    def __init__(self) -> None:
        self.fds: list[int] = []
        self.attached: list[bool] = []
        # the kernel's queue order: kernel queue i is fds[order[i]]
        self.order: list[int] = []

    # ------------------------------------------------------------ plumbing
    def _ioctl(self, name: str, request: int, arg: sysio.Arg = None,
               fd: Optional[int] = None) -> int:
        rc = sysio.ioctl(self._ctl_fd() if fd is None else fd, request, arg)
        if rc < 0:
            raise TunError(-rc, name)
        return rc

    def _fd(self, queue: Optional[int]) -> int:
        return self._ctl_fd() if queue is None else self.fds[queue]

    def _ctl_fd(self) -> int:
        for fd, on in zip(self.fds, self.attached):
            if on:
                return fd
        if self.fds:
            return self.fds[0]
        raise ValueError(f"{type(self).__name__} has no queue fds")

    def _get_int(self, name: str, request: int, ctype: type = ctypes.c_int,
                 queue: Optional[int] = None) -> int:
        v = ctype()
        self._ioctl(name, request, v, fd=self._fd(queue))
        return v.value

    def _set_int(self, name: str, request: int, value: int, queue: Optional[int] = None) -> None:
        self._ioctl(name, request, ctypes.c_int(value), fd=self._fd(queue))

    def _opened(self, fd: int) -> int:
        """Record a file that attached as the last queue (tun_attach, tap_set_queue)."""
        self.fds.append(fd)
        self.attached.append(True)
        self.order.append(len(self.fds) - 1)
        return len(self.fds) - 1

    # ------------------------------------------------------------ queues
    def add_queue(self) -> int:
        """Open one more queue file; its index (provided by the subclass)."""
        raise NotImplementedError

    def _open_queues(self, queues: int) -> None:
        """:meth:`add_queue` ``queues`` times; on any failure close what was opened."""
        try:
            for _ in range(queues):
                self.add_queue()
        except BaseException:
            self.close()
            raise

    def _setqueue(self, index: int, flag: int) -> None:
        ifr = T.ifreq()
        ifr.ifr_ifru.ifru_flags = flag
        self._ioctl("TUNSETQUEUE", T.TUNSETQUEUE, ifr, fd=self.fds[index])

    def attach_queue(self, index: int) -> None:
        """TUNSETQUEUE IFF_ATTACH_QUEUE on queue ``index`` (if_tun.h): appended."""
        self._setqueue(index, T.IFF_ATTACH_QUEUE)
        self.attached[index] = True
        self.order.append(index)

    def detach_queue(self, index: int) -> None:
        """TUNSETQUEUE IFF_DETACH_QUEUE on queue ``index`` (if_tun.h).

        The last enabled queue moves into the freed slot.
        """
        self._setqueue(index, T.IFF_DETACH_QUEUE)
        self.attached[index] = False
        pos = self.order.index(index)
        last = self.order.pop()
        if last != index:
            self.order[pos] = last

    @property
    def numqueues(self) -> int:
        """Enabled queues (tun->numqueues, tap->numvtaps)."""
        return sum(self.attached)

    def fd_index_of_kernel_queue(self, txq: int) -> int:
        """Which of ``fds`` is the kernel's queue ``txq`` (see the module docstring)."""
        return self.order[txq]

    # ------------------------------------------------------------ ioctls
    def features(self) -> int:
        """TUNGETFEATURES: the IFF_* flags the driver accepts (if_tun.h)."""
        return self._get_int("TUNGETFEATURES", T.TUNGETFEATURES, ctypes.c_uint)

    def iff_flags(self, queue: int = 0) -> int:
        """TUNGETIFF: the flags as seen from queue ``queue`` (if_tun.h)."""
        ifr = T.ifreq()
        self._ioctl("TUNGETIFF", T.TUNGETIFF, ifr, fd=self.fds[queue])
        return ifr.ifr_ifru.ifru_flags & 0xFFFF

    def vnet_hdr_sz(self, queue: Optional[int] = None) -> int:
        """TUNGETVNETHDRSZ (if_tun.h)."""
        return self._get_int("TUNGETVNETHDRSZ", T.TUNGETVNETHDRSZ, queue=queue)

    def set_vnet_hdr_sz(self, size: int, queue: Optional[int] = None) -> None:
        """TUNSETVNETHDRSZ (if_tun.h); EBUSY below 20 while REPORT is on (docs/design.md)."""
        self._set_int("TUNSETVNETHDRSZ", T.TUNSETVNETHDRSZ, size, queue)

    def vnet_le(self, queue: Optional[int] = None) -> bool:
        """TUNGETVNETLE (if_tun.h)."""
        return bool(self._get_int("TUNGETVNETLE", T.TUNGETVNETLE, queue=queue))

    def set_vnet_le(self, on: bool, queue: Optional[int] = None) -> None:
        """TUNSETVNETLE (if_tun.h)."""
        self._set_int("TUNSETVNETLE", T.TUNSETVNETLE, int(on), queue)

    def vnet_be(self, queue: Optional[int] = None) -> bool:
        """TUNGETVNETBE (if_tun.h); EINVAL without CONFIG_TUN_VNET_CROSS_LE."""
        return bool(self._get_int("TUNGETVNETBE", T.TUNGETVNETBE, queue=queue))

    def set_vnet_be(self, on: bool, queue: Optional[int] = None) -> None:
        """TUNSETVNETBE (if_tun.h); EINVAL without CONFIG_TUN_VNET_CROSS_LE."""
        self._set_int("TUNSETVNETBE", T.TUNSETVNETBE, int(on), queue)

    def little_endian(self, queue: Optional[int] = None) -> bool:
        """Whether the kernel writes the vnet header little endian (tun_vnet.h
        tun_vnet_is_little_endian: TUN_VNET_LE, else native unless TUN_VNET_BE)."""
        if self.vnet_le(queue):
            return True
        try:
            be = self.vnet_be(queue)
        except TunError as e:
            if e.errno != errno.EINVAL:
                raise
            be = False
        return sys.byteorder == "little" and not be

    def set_offload(self, flags: int, queue: Optional[int] = None) -> None:
        """TUNSETOFFLOAD with TUN_F_* (if_tun.h; the argument is the value, not a pointer)."""
        self._ioctl("TUNSETOFFLOAD", T.TUNSETOFFLOAD, flags, fd=self._fd(queue))

    # ------------------------------------------------------------ data path
    def _hdr_len(self, queue: int) -> int:
        """Length of the vnet header of a packet read from ``queue`` (0 without IFF_VNET_HDR)."""
        raise NotImplementedError

    def has_hash_room(self, queue: int) -> bool:
        """Whether a packet read from ``queue`` can carry a reported hash: its vnet
        header is at least a struct virtio_net_hdr_v1_hash (20 bytes, if_tun.h)."""
        return self._hdr_len(queue) >= V.VNET_HDR_V1_HASH_LEN

    def read(self, queue: int, timeout: Optional[float] = 0.0, bufsize: int = 65536 + 64,
             hdr_len: Optional[int] = None) -> Optional[Packet]:
        """One packet from queue ``queue`` as (vnet header, frame); None if none within ``timeout``.

        ``timeout`` 0 polls once (non-blocking), None waits forever.  The vnet
        header length is ``hdr_len`` if given, else that of the queue's file.
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
        hl = hdr_len if hdr_len is not None else self._hdr_len(queue)
        if len(data) < hl:
            raise ValueError(f"queue {queue}: read {len(data)} bytes, vnet header is {hl}")
        return Packet(queue, data[:hl], data[hl:])

    def drain(self, queue: int, hdr_len: Optional[int] = None) -> list[Packet]:
        """Every packet waiting on queue ``queue`` (non-blocking)."""
        if hdr_len is None:
            hdr_len = self._hdr_len(queue)
        out = []
        while True:
            pkt = self.read(queue, 0.0, hdr_len=hdr_len)
            if pkt is None:
                return out
            out.append(pkt)

    def drain_all(self, queues: Optional[Sequence[int]] = None) -> list[Packet]:
        """Every packet waiting on the given (default: all) queues."""
        out: list[Packet] = []
        for q in range(len(self.fds)) if queues is None else queues:
            out.extend(self.drain(q))
        return out

    # ------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Close every queue file."""
        fds, self.fds, self.attached, self.order = self.fds, [], [], []
        first: Optional[BaseException] = None
        for fd in fds:
            try:
                os.close(fd)
            except OSError as e:  # report, but close the others first
                first = first or e
        if first:
            raise first

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
