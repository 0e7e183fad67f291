# SPDX-License-Identifier: MIT
"""A TUNSETVNETHASH configuration, and the validation the kernel applies to it.

:class:`HashConfig` mirrors struct tun_vnet_hash and its indirection table
(docs/design.md "UAPI"); :func:`diagnose_vnet_hash` and
:meth:`HashConfig.validate` follow the table of docs/design.md "Validation
(a failing call changes nothing)", row by row, so that a configuration can
be judged before any ioctl with the words the EINVAL path of
:meth:`pyuapi.Tap.set_vnet_hash` uses.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from typing import Any, Optional

from .errors import TunError
from .uapi import tun as T
from .uapi import virtio_net as V

__all__ = ["HashConfig", "diagnose_vnet_hash", "KEY_SIZE"]

KEY_SIZE = T.TUN_VNET_HASH_KEY_SIZE


@dataclass(frozen=True)
class HashConfig:
    """A TUNSETVNETHASH configuration (docs/design.md struct tun_vnet_hash).

    ``flags`` (``TUN_VNET_HASH_RSS``/``REPORT``), ``types``
    (``VIRTIO_NET_RSS_HASH_TYPE_*``) and the 40-byte Toeplitz ``key`` are
    required: an all-zero key makes every hash 0, so there is no default
    key; use :meth:`with_random_key` for a fresh one.  Nothing is checked
    at construction, so that tests can build what the kernel must reject;
    :meth:`validate` checks against a device's capabilities.
    """

    flags: int
    types: int
    key: bytes
    table: tuple[int, ...] = ()
    unclassified_queue: int = 0
    mask: Optional[int] = None          # default: len(table) - 1 with RSS, else 0
    pad: bytes = b"\0\0"

    @classmethod
    def with_random_key(cls, flags: int, types: int, *args: Any, **kw: Any) -> "HashConfig":
        """A configuration with a key from os.urandom (docs/design.md: the key is always 40 bytes)."""
        return cls(flags, types, os.urandom(KEY_SIZE), *args, **kw)

    @classmethod
    def disabled(cls) -> "HashConfig":
        """flags 0: RSS and REPORT off (docs/design.md "0 disables both"); the key is unused."""
        return cls(0, 0, bytes(KEY_SIZE))

    def encode(self, check: bool = True) -> bytes:
        """The ioctl payload (:func:`pyuapi.uapi.tun.encode_vnet_hash`)."""
        return T.encode_vnet_hash(self.flags, self.types, self.key, self.table,
                                  self.unclassified_queue, self.mask, self.pad, check)

    @property
    def effective_mask(self) -> int:
        """indirection_table_mask as sent (docs/design.md struct tun_vnet_hash)."""
        if self.mask is not None:
            return self.mask
        return len(self.table) - 1 if (self.flags & T.TUN_VNET_HASH_RSS) and self.table else 0

    def validate(self, cap: Optional[T.tun_vnet_hash_cap] = None,
                 hdr_sz: int = V.VNET_HDR_V1_HASH_LEN, little_endian: bool = True) -> None:
        """Raise :class:`pyuapi.TunError` (EINVAL) if the kernel would refuse this configuration.

        The rows of docs/design.md "Validation" that need no device state
        are always checked; ``cap`` adds the supported types, and
        ``hdr_sz``/``little_endian`` (the tap's vnet header) the REPORT
        rows.  The error is the one :meth:`pyuapi.Tap.set_vnet_hash` raises
        on EINVAL.  A payload that cannot be encoded as meant (a key that is
        not 40 bytes, an explicit RSS ``mask`` that disagrees with the
        table's length) raises ValueError.
        """
        if len(self.key) != KEY_SIZE:
            raise ValueError(f"key must be {KEY_SIZE} bytes, got {len(self.key)}")
        if self.flags & T.TUN_VNET_HASH_RSS and self.mask is not None \
                and len(self.table) != self.mask + 1:
            raise ValueError(f"mask {self.mask} says {self.mask + 1} table entries, "
                             f"the table has {len(self.table)}")
        why = diagnose_vnet_hash(self, cap, hdr_sz, little_endian)
        if why:
            raise TunError(errno.EINVAL, "TUNSETVNETHASH", detail="; ".join(why))


def diagnose_vnet_hash(cfg: HashConfig, cap: Optional[T.tun_vnet_hash_cap], hdr_sz: int,
                       little_endian: bool) -> list[str]:
    """Rows of the docs/design.md validation table that ``cfg`` violates (EINVAL rows)."""
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
    if cfg.flags & T.TUN_VNET_HASH_RSS:
        n = mask + 1
        if n & (n - 1) or n > T.TUN_VNET_HASH_MAX_INDIRECTION_TABLE_LENGTH:
            why.append(f"RSS table length {n} is not a power of two <= 128")
    elif mask or cfg.unclassified_queue:
        why.append("indirection_table_mask/unclassified_queue non-zero without RSS")
    if cfg.flags & T.TUN_VNET_HASH_REPORT:
        if hdr_sz < V.VNET_HDR_V1_HASH_LEN:
            why.append(f"REPORT with a {hdr_sz}-byte vnet header (needs >= 20)")
        if not little_endian:
            why.append("REPORT with a big-endian vnet header")
    return why
