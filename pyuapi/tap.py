# SPDX-License-Identifier: MIT
"""A multiqueue tap device driven through /dev/net/tun.

Wraps the ioctls of include/uapi/linux/if_tun.h (Linux 6.12) and, through
:class:`pyuapi.hashio.HashIoctls`, the series' TUNGETVNETHASHCAP /
TUNSETVNETHASH / TUNGETVNETHASH (if_tun.h "virtio-net hashing").  Every
failed ioctl raises :class:`pyuapi.errors.TunError` (an OSError carrying
errno, the ioctl's name and the likely cause); a kernel without the hash
ioctls raises :class:`pyuapi.errors.FeatureMissingError`.

Queues are the fds of one multiqueue device (Documentation/networking/
tuntap.rst "Multiqueue tuntap interface"): queue ``i`` is ``fds[i]``; what
tun shares with drivers/net/tap.c is in :mod:`pyuapi.tapfiles`.
Device-wide ioctls go through the first attached queue.  (A queue detached
with IFF_DETACH_QUEUE still reaches the device: __tun_detach keeps
tfile->tun; EBADFD comes only once the device is gone, tun_detach_all.)
"""

from __future__ import annotations

import ctypes
import os
from typing import Sequence

from . import sysio
from .errors import TunError
from .tapfiles import TapFiles
from .uapi import tun as T

__all__ = ["Tap"]


class Tap(TapFiles):
    """A tap device with ``queues`` queue fds (include/uapi/linux/if_tun.h: TUNSETIFF).

    Queues, the vnet header ioctls and reading come from
    :class:`pyuapi.tapfiles.TapFiles`, the hash ioctls (``hash_cap``,
    ``set_vnet_hash``, ``get_vnet_hash``, ...) from
    :class:`pyuapi.hashio.HashIoctls`.

    Use as a context manager; :meth:`close` closes every queue fd, which
    removes the (non-persistent) device.
    """

    def __init__(self, name: str = "", queues: int = 1, *, vnet_hdr: bool = True,
                 multi_queue: bool = True, extra_flags: int = 0,
                 path: str = "/dev/net/tun") -> None:
        super().__init__()
        self.name = name
        self.path = path
        self.iff = T.IFF_TAP | T.IFF_NO_PI | extra_flags
        if vnet_hdr:
            self.iff |= T.IFF_VNET_HDR
        if multi_queue:
            self.iff |= T.IFF_MULTI_QUEUE
        self._open_queues(queues)

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
        return self._opened(fd)

    def _hdr_len(self, queue: int) -> int:
        """The device's TUNGETVNETHDRSZ when IFF_VNET_HDR is set (one header per tun device)."""
        return self.vnet_hdr_sz() if self.iff & T.IFF_VNET_HDR else 0

    # ------------------------------------------------------------ tun-only ioctls
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
