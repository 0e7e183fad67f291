# SPDX-License-Identifier: MIT
"""The arguments of TUNSETVNETHASH and TUNGETVNETHASH as bytes.

include/uapi/linux/if_tun.h ("virtio-net hashing", struct tun_vnet_hash):
a size-versioned struct whose ``size`` member is the caller's sizeof, then,
with TUN_VNET_HASH_RSS, ``indirection_table_mask + 1`` native __u16
entries starting ``size`` bytes from the start of the struct.  The kernel
side is drivers/net/tun_vnet.h (tun_vnet_hash_get_size, _build, _get).
"""

from __future__ import annotations

from .tun import (MAX_ARG_SIZE, TUN_VNET_HASH_KEY_SIZE, TUN_VNET_HASH_RSS,
                  TUN_VNET_HASH_SIZE_VER0, tun_vnet_hash, u16)

__all__ = ["encode_vnet_hash", "decode_vnet_hash", "table_offset"]


def encode_vnet_hash(flags: int, types: int, key: bytes, table: tuple[int, ...] | list[int] = (),
                     unclassified_queue: int = 0, mask: int | None = None,
                     pad: bytes = b"\0\0", check: bool = True, size: int | None = None,
                     tail: bytes = b"") -> bytes:
    """The TUNSETVNETHASH argument: struct tun_vnet_hash, then the table (if_tun.h).

    ``size`` (default TUN_VNET_HASH_SIZE_VER0) is written to the ``size``
    member.  For ``56 < size <= MAX_ARG_SIZE`` the struct is extended to
    ``size`` bytes as a newer caller's would be: ``tail`` (the bytes past
    the 56 this kernel knows), then zeros.  Any other size is sent with the
    56-byte struct only (the kernel refuses it before reading further).
    With TUN_VNET_HASH_RSS, ``mask`` defaults to ``len(table) - 1`` and the
    ``len(table)`` entries follow at offset ``size`` as native __u16;
    without RSS nothing follows.  ``check=False`` skips only the pad check
    (to provoke EINVAL); the other fields are passed through unvalidated on
    purpose so tests can send what the kernel must reject.
    """
    if len(key) != TUN_VNET_HASH_KEY_SIZE:
        raise ValueError(f"key must be {TUN_VNET_HASH_KEY_SIZE} bytes, got {len(key)}")
    usize = TUN_VNET_HASH_SIZE_VER0 if size is None else size
    if not 0 <= usize <= 0xFFFFFFFF:
        raise ValueError(f"size {usize} does not fit the __u32 size member")
    extended = TUN_VNET_HASH_SIZE_VER0 < usize <= MAX_ARG_SIZE
    room = usize - TUN_VNET_HASH_SIZE_VER0 if extended else 0
    if len(tail) > room:
        raise ValueError(f"a {len(tail)}-byte tail does not fit a struct of size {usize} "
                         f"(room for {room} bytes past {TUN_VNET_HASH_SIZE_VER0})")
    h = tun_vnet_hash()
    h.size = usize
    h.flags = flags
    h.types = types
    h.pad[:] = list(pad)
    if mask is None:
        mask = len(table) - 1 if (flags & TUN_VNET_HASH_RSS) and table else 0
    h.indirection_table_mask = mask
    h.unclassified_queue = unclassified_queue
    h.key[:] = list(key)
    head = (h.pack() if check else h.pack_unchecked()) + tail + bytes(room - len(tail))
    if not flags & TUN_VNET_HASH_RSS:
        return head
    arr = (u16 * len(table))(*table)
    return head + bytes(arr)


def table_offset(size: int) -> int:
    """Where TUNSETVNETHASH/TUNGETVNETHASH put the table for a struct ``size`` (if_tun.h).

    ``size`` itself for a size the kernel takes; for any other the
    kernel reads no table, and :func:`encode_vnet_hash` puts it at 56.
    """
    return size if TUN_VNET_HASH_SIZE_VER0 <= size <= MAX_ARG_SIZE else TUN_VNET_HASH_SIZE_VER0


def decode_vnet_hash(data: bytes, size: int | None = None) -> tuple[tun_vnet_hash, list[int]]:
    """Inverse of :func:`encode_vnet_hash`: (struct, table entries) (if_tun.h).

    The table starts at ``size``: the caller's struct size (for a
    TUNGETVNETHASH result, the size the caller passed; the kernel then
    sets the member to its own), by default the ``size`` member.
    """
    h = tun_vnet_hash.unpack(data)
    if not h.flags & TUN_VNET_HASH_RSS:
        return h, []
    n = h.indirection_table_mask + 1
    start = table_offset(h.size if size is None else size)
    raw = data[start:start + 2 * n]
    if len(raw) != 2 * n:
        raise ValueError(f"table needs {2 * n} bytes at offset {start}, got {len(raw)}")
    return h, list((u16 * n).from_buffer_copy(raw))
