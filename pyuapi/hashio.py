# SPDX-License-Identifier: MIT
"""The virtio-net hashing ioctls: TUNGETVNETHASHCAP, TUNSETVNETHASH, TUNGETVNETHASH.

include/uapi/linux/if_tun.h ("virtio-net hashing"): both arguments are
size-versioned structs whose ``size`` member the caller sets; the kernel
refuses a size below the first version (EINVAL) or above a page (E2BIG).
TUNGETVNETHASHCAP needs no device; TUNSETVNETHASH validates its argument
before it looks at the device (a file without one gets EBADFD only for a
valid argument); TUNGETVNETHASH needs the device first.

The ``*_raw`` functions work on any fd, a /dev/net/tun fd without
TUNSETIFF included, and return or take the bytes as they cross the
ioctl; :class:`HashIoctls` is what :class:`pyuapi.Tap` offers on top of
them, with the EINVAL/E2BIG diagnosis of :mod:`pyuapi.config`.
"""

from __future__ import annotations

import ctypes
import errno
import struct
from typing import Optional, Union

from . import sysio
from .caps import HashCapabilities
from .config import HashConfig, vnet_hash_problems
from .errors import FeatureMissingError, TunError
from .uapi import tun as T
from .uapi import tun_hash

__all__ = ["HashIoctls", "get_vnet_hash_cap_raw", "get_vnet_hash_raw", "set_vnet_hash_raw",
           "config_from_raw"]

CAP_SIZE_VER0 = T.TUN_VNET_HASH_CAP_SIZE_VER0
SIZE_VER0 = T.TUN_VNET_HASH_SIZE_VER0
_MISSING = (errno.EINVAL, errno.ENOTTY)


def _size_ok(size: int, ver0: int) -> bool:
    return ver0 <= size <= T.MAX_ARG_SIZE


def _buffer(size: int, ver0: int, extra: int, fill: int) -> ctypes.Array:
    """``size`` bytes (``ver0`` for a size the kernel refuses unread) + ``extra``, all
    ``fill``, the ``size`` member set."""
    n = (size if _size_ok(size, ver0) else ver0) + extra
    buf = ctypes.create_string_buffer(bytes([fill]) * n, n)
    ctypes.memmove(buf, struct.pack("=I", size), 4)
    return buf


def _raise(err: int, name: str, size_ok: bool, missing: tuple[int, ...] = _MISSING) -> None:
    """FeatureMissingError for ENOTTY, and for ``missing`` with a valid size; else TunError."""
    if err == errno.ENOTTY or (size_ok and err in missing):
        raise FeatureMissingError(err, name)
    raise TunError(err, name)


def get_vnet_hash_cap_raw(fd: int, size: int = CAP_SIZE_VER0, fill: int = 0) -> bytes:
    """TUNGETVNETHASHCAP with a ``size``-byte buffer of ``fill`` bytes; the buffer after it.

    if_tun.h struct tun_vnet_hash_cap: the kernel writes its 16 bytes,
    zeroes the rest of ``size`` and sets the size member to 16.
    FeatureMissingError for EINVAL/ENOTTY with a valid size, and for EBADFD
    (it needs no device: a kernel without it answers so on an fd without one).
    """
    buf = _buffer(size, CAP_SIZE_VER0, 0, fill)
    rc = sysio.ioctl(fd, T.TUNGETVNETHASHCAP, buf)
    if rc < 0:
        _raise(-rc, "TUNGETVNETHASHCAP", _size_ok(size, CAP_SIZE_VER0),
               _MISSING + (errno.EBADFD,))
    return buf.raw


def get_vnet_hash_raw(fd: int, size: int = SIZE_VER0, entries: int = T.MAX_TABLE_LENGTH,
                      fill: int = 0) -> bytes:
    """TUNGETVNETHASH with a ``size``-byte struct and room for ``entries`` table entries.

    if_tun.h struct tun_vnet_hash: the kernel writes the configuration
    (its size member 56), zeroes the rest of ``size``, and with RSS puts
    the table at offset ``size``; the buffer (initially ``fill`` bytes)
    after it.  FeatureMissingError for EINVAL/ENOTTY with a valid size.
    """
    buf = _buffer(size, SIZE_VER0, 2 * entries, fill)
    rc = sysio.ioctl(fd, T.TUNGETVNETHASH, buf)
    if rc < 0:
        _raise(-rc, "TUNGETVNETHASH", _size_ok(size, SIZE_VER0))
    return buf.raw


def set_vnet_hash_raw(fd: int, arg: Union[bytes, int]) -> None:
    """TUNSETVNETHASH with the bytes ``arg`` (or a raw user address); TunError on failure.

    FeatureMissingError for ENOTTY only: EINVAL is also the answer to an
    invalid argument (see :meth:`HashIoctls.set_vnet_hash` for the diagnosis).
    """
    if isinstance(arg, int):
        rc = sysio.ioctl(fd, T.TUNSETVNETHASH, arg)
    else:
        rc = sysio.ioctl(fd, T.TUNSETVNETHASH, ctypes.create_string_buffer(arg, len(arg)))
    if rc < 0:
        _raise(-rc, "TUNSETVNETHASH", False)


def config_from_raw(data: bytes, size: int = SIZE_VER0) -> HashConfig:
    """A TUNGETVNETHASH buffer (struct of ``size`` bytes, then the table) as a HashConfig.

    The encoding's defaults are left implicit (``mask`` when it agrees
    with the table, ``size`` when it is the kernel's 56), so that the
    result equals :meth:`HashConfig.canonical` of what was set.
    """
    h, table = tun_hash.decode_vnet_hash(data, size)
    default_mask = len(table) - 1 if table else 0
    return HashConfig(h.flags, h.types, bytes(h.key), tuple(table), h.unclassified_queue,
                      None if h.indirection_table_mask == default_mask
                      else h.indirection_table_mask,
                      bytes(h.pad), None if h.size == SIZE_VER0 else h.size)


class HashIoctls:
    """The hash ioctls of a tap (if_tun.h "virtio-net hashing"), through its control fd.

    A mixin of :class:`pyuapi.tapfiles.TapFiles` (:class:`pyuapi.Tap`,
    :class:`pyuapi.TapDev`), which provides ``_ctl_fd``, ``vnet_hdr_sz``
    and ``little_endian``: those of the file the ioctls go through.
    """

    def _ctl_fd(self) -> int:
        raise NotImplementedError

    def vnet_hdr_sz(self) -> int:
        """TUNGETVNETHDRSZ (provided by :class:`pyuapi.tapfiles.TapFiles`)."""
        raise NotImplementedError

    def little_endian(self) -> bool:
        """Whether the vnet header is little endian (provided by ``TapFiles``)."""
        raise NotImplementedError

    def hash_cap(self, size: int = CAP_SIZE_VER0) -> HashCapabilities:
        """TUNGETVNETHASHCAP (if_tun.h); FeatureMissingError on EINVAL/ENOTTY."""
        raw = get_vnet_hash_cap_raw(self._ctl_fd(), size)
        return HashCapabilities.from_buffer_copy(raw[:CAP_SIZE_VER0])

    get_vnet_hash_cap = hash_cap        # the ioctl's name

    def get_vnet_hash(self, size: int = SIZE_VER0) -> HashConfig:
        """TUNGETVNETHASH (if_tun.h): the configuration in force, as set.

        :meth:`HashConfig.disabled` when there is none.  The buffer has
        room for the table length TUNGETVNETHASHCAP reports.
        """
        entries = self.hash_cap().max_indirection_table_length
        return config_from_raw(get_vnet_hash_raw(self._ctl_fd(), size, entries), size)

    def set_vnet_hash(self, cfg: HashConfig) -> None:
        """TUNSETVNETHASH with ``cfg`` (if_tun.h); ValueError if its pad is not zero."""
        self._set_vnet_hash_payload(cfg.encode(check=True), cfg)

    def set_vnet_hash_unchecked(self, cfg: HashConfig) -> None:
        """TUNSETVNETHASH without the pad check: for tests that expect EINVAL."""
        self._set_vnet_hash_payload(cfg.encode(check=False), cfg)

    def set_vnet_hash_at(self, address: int) -> None:
        """TUNSETVNETHASH with a raw user pointer (EFAULT tests, docs/design.md Validation)."""
        self._set_vnet_hash_payload(address, None)

    def disable_vnet_hash(self) -> None:
        """TUNSETVNETHASH with flags 0 and every member zero: RSS and REPORT off (if_tun.h)."""
        self.set_vnet_hash(HashConfig.disabled())

    def _set_vnet_hash_payload(self, arg: Union[bytes, int], cfg: Optional[HashConfig]) -> None:
        try:
            set_vnet_hash_raw(self._ctl_fd(), arg)
        except FeatureMissingError:
            raise
        except TunError as e:
            self._raise_set_hash(e.errno, cfg)

    def _raise_set_hash(self, err: int, cfg: Optional[HashConfig]) -> None:
        cap = None
        if err == errno.EINVAL:
            try:
                cap = self.hash_cap()
            except FeatureMissingError:
                raise FeatureMissingError(err, "TUNSETVNETHASH") from None
        if cfg is not None and err in (errno.EINVAL, errno.E2BIG):
            try:
                hdr_sz, le = self.vnet_hdr_sz(), self.little_endian()
            except TunError:                # no device: only the argument can be judged
                hdr_sz, le = 20, True
            why = [m for e, m in vnet_hash_problems(cfg, cap, hdr_sz, le) if e == err]
            if why:
                raise TunError(err, "TUNSETVNETHASH", detail="; ".join(why))
        raise TunError(err, "TUNSETVNETHASH")
