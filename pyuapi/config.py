# SPDX-License-Identifier: MIT
"""A TUNSETVNETHASH configuration, and the validation the kernel applies to it.

:class:`HashConfig` mirrors struct tun_vnet_hash and its indirection table
(include/uapi/linux/if_tun.h "virtio-net hashing"; docs/design.md "UAPI");
:func:`vnet_hash_problems`, :func:`diagnose_vnet_hash` and
:meth:`HashConfig.validate` follow the table of docs/design.md "Validation
(a failing call changes nothing)", row by row, so that a configuration can
be judged before any ioctl with the words the EINVAL/E2BIG path of
:meth:`pyuapi.Tap.set_vnet_hash` uses.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from typing import Any, Optional

from .errors import TunError
from .uapi import tun as T
from .uapi import tun_hash
from .uapi import virtio_net as V

__all__ = ["HashConfig", "diagnose_vnet_hash", "vnet_hash_problems", "Problem", "KEY_SIZE"]

KEY_SIZE = T.TUN_VNET_HASH_KEY_SIZE
SIZE_VER0 = T.TUN_VNET_HASH_SIZE_VER0

Problem = tuple[int, str]       # (errno, the docs/design.md row, in words)


@dataclass(frozen=True)
class HashConfig:
    """A TUNSETVNETHASH configuration (if_tun.h struct tun_vnet_hash).

    ``flags`` (``TUN_VNET_HASH_RSS``/``REPORT``), ``types``
    (``VIRTIO_NET_RSS_HASH_TYPE_*``) and the 40-byte Toeplitz ``key`` are
    required: an all-zero key makes every hash 0, so there is no default
    key; use :meth:`with_random_key` for a fresh one.  ``size`` is the
    struct size the caller says it has (default TUN_VNET_HASH_SIZE_VER0,
    56) and ``tail`` the bytes of a newer caller's struct past those 56
    (then zeros up to ``size``).  Nothing is checked at construction, so
    that tests can build what the kernel must reject; :meth:`validate`
    checks against a device's capabilities.
    """

    flags: int
    types: int
    key: bytes
    table: tuple[int, ...] = ()
    unclassified_queue: int = 0
    mask: Optional[int] = None          # default: len(table) - 1 with RSS, else 0
    pad: bytes = b"\0\0"
    size: Optional[int] = None          # default: TUN_VNET_HASH_SIZE_VER0
    tail: bytes = b""

    @classmethod
    def with_random_key(cls, flags: int, types: int, *args: Any, **kw: Any) -> "HashConfig":
        """A configuration with a key from os.urandom (if_tun.h: the key is always 40 bytes)."""
        return cls(flags, types, os.urandom(KEY_SIZE), *args, **kw)

    @classmethod
    def disabled(cls) -> "HashConfig":
        """flags 0: RSS and REPORT off; every other member zero (if_tun.h @flags)."""
        return cls(0, 0, bytes(KEY_SIZE))

    def encode(self, check: bool = True) -> bytes:
        """The ioctl argument (:func:`pyuapi.uapi.tun_hash.encode_vnet_hash`)."""
        return tun_hash.encode_vnet_hash(self.flags, self.types, self.key, self.table,
                                         self.unclassified_queue, self.mask, self.pad, check,
                                         self.size, self.tail)

    @property
    def effective_mask(self) -> int:
        """indirection_table_mask as sent (if_tun.h struct tun_vnet_hash)."""
        if self.mask is not None:
            return self.mask
        return len(self.table) - 1 if (self.flags & T.TUN_VNET_HASH_RSS) and self.table else 0

    @property
    def effective_size(self) -> int:
        """The ``size`` member as sent (if_tun.h struct tun_vnet_hash)."""
        return SIZE_VER0 if self.size is None else self.size

    def canonical(self) -> "HashConfig":
        """The configuration as the kernel keeps it and TUNGETVNETHASH returns it.

        What TUNSETVNETHASH does not keep is dropped: the table without
        RSS, the encoding (``mask`` given explicitly, ``size``, a zero
        ``tail``, ``pad``).  Equal to :meth:`pyuapi.Tap.get_vnet_hash` after
        a successful :meth:`pyuapi.Tap.set_vnet_hash` of this configuration.
        """
        if not self.flags:
            return HashConfig.disabled()
        rss = self.flags & T.TUN_VNET_HASH_RSS
        return HashConfig(self.flags, self.types, bytes(self.key),
                          tuple(self.table) if rss else (),
                          self.unclassified_queue if rss else 0)

    def validate(self, cap: Optional[T.tun_vnet_hash_cap] = None,
                 hdr_sz: int = V.VNET_HDR_V1_HASH_LEN, little_endian: bool = True) -> None:
        """Raise :class:`pyuapi.TunError` (EINVAL or E2BIG) if the kernel would refuse this.

        The rows of docs/design.md "Validation" that need no device state
        are always checked; ``cap`` adds the supported types and the
        longest table, and ``hdr_sz``/``little_endian`` (the tap's vnet
        header) the REPORT rows.  The error is the one
        :meth:`pyuapi.Tap.set_vnet_hash` raises: the errno of the first
        problem, every problem with that errno in its text.  A payload that
        cannot be encoded as meant (a key that is not 40 bytes, an explicit
        RSS ``mask`` that disagrees with the table's length, a ``tail`` that
        does not fit ``size``) raises ValueError.
        """
        if len(self.key) != KEY_SIZE:
            raise ValueError(f"key must be {KEY_SIZE} bytes, got {len(self.key)}")
        if self.flags & T.TUN_VNET_HASH_RSS and self.mask is not None \
                and len(self.table) != self.mask + 1:
            raise ValueError(f"mask {self.mask} says {self.mask + 1} table entries, "
                             f"the table has {len(self.table)}")
        if self.tail and not SIZE_VER0 + len(self.tail) <= self.effective_size <= T.MAX_ARG_SIZE:
            raise ValueError(f"a {len(self.tail)}-byte tail does not fit size {self.size}")
        problems = vnet_hash_problems(self, cap, hdr_sz, little_endian)
        if problems:
            err = problems[0][0]
            raise TunError(err, "TUNSETVNETHASH",
                           detail="; ".join(m for e, m in problems if e == err))


def vnet_hash_problems(cfg: HashConfig, cap: Optional[T.tun_vnet_hash_cap] = None,
                       hdr_sz: int = V.VNET_HDR_V1_HASH_LEN,
                       little_endian: bool = True) -> list[Problem]:
    """(errno, row) for each row of the docs/design.md validation table ``cfg`` breaks.

    The argument rows come first, in the kernel's order (size, then a
    newer caller's non-zero bytes, then the members), then the REPORT
    rows, which depend on the device.  A size the kernel refuses ends the
    list: nothing else of the argument is read.
    """
    size = cfg.effective_size
    if size < SIZE_VER0:
        return [(errno.EINVAL, f"size {size} is below TUN_VNET_HASH_SIZE_VER0 ({SIZE_VER0})")]
    if size > T.MAX_ARG_SIZE:
        return [(errno.E2BIG, f"size {size} is above a page ({T.MAX_ARG_SIZE})")]
    out: list[Problem] = []
    if any(cfg.tail):
        out.append((errno.E2BIG, f"size {size}: bytes past the {SIZE_VER0} this kernel knows "
                                 f"are not zero (a newer caller's members)"))
    einval = [(errno.EINVAL, m) for m in _member_rows(cfg, cap)]
    if cfg.flags & T.TUN_VNET_HASH_REPORT:
        if hdr_sz < V.VNET_HDR_V1_HASH_LEN:
            einval.append((errno.EINVAL, f"REPORT with a {hdr_sz}-byte vnet header (needs >= 20)"))
        if not little_endian:
            einval.append((errno.EINVAL, "REPORT with a big-endian vnet header"))
    return out + einval


def _member_rows(cfg: HashConfig, cap: Optional[T.tun_vnet_hash_cap]) -> list[str]:
    """The EINVAL rows of the members themselves (tun_vnet_hash_build)."""
    why = []
    known = T.TUN_VNET_HASH_RSS | T.TUN_VNET_HASH_REPORT
    if cfg.flags & ~known:
        why.append(f"flags has unknown bits {cfg.flags & ~known:#x}")
    if any(cfg.pad):
        why.append(f"pad is {cfg.pad.hex()}, must be zero")
    if cap is not None and cfg.types & ~cap.types:
        why.append(f"types {V.types_str(cfg.types & ~cap.types)} not supported "
                   f"(supported {V.types_str(cap.types)})")
    mask = cfg.effective_mask
    if not cfg.flags:
        used = [name for name, v in (("types", cfg.types), ("key", any(cfg.key)),
                                     ("indirection_table_mask", mask),
                                     ("unclassified_queue", cfg.unclassified_queue)) if v]
        if used:
            why.append(f"flags 0 with non-zero {', '.join(used)}: every member the flags "
                       "leave unused must be zero")
    elif cfg.flags & T.TUN_VNET_HASH_RSS:
        n = mask + 1
        limit = T.MAX_TABLE_LENGTH if cap is None else cap.max_indirection_table_length
        if n & (n - 1) or n > limit:
            why.append(f"RSS table length {n} is not a power of two <= {limit}")
    elif mask or cfg.unclassified_queue:
        why.append("indirection_table_mask/unclassified_queue non-zero without RSS")
    return why


def diagnose_vnet_hash(cfg: HashConfig, cap: Optional[T.tun_vnet_hash_cap], hdr_sz: int,
                       little_endian: bool) -> list[str]:
    """The rows of the docs/design.md validation table that ``cfg`` breaks, in words.

    The texts of :func:`vnet_hash_problems` (EINVAL and E2BIG rows).
    """
    return [m for _e, m in vnet_hash_problems(cfg, cap, hdr_sz, little_endian)]
