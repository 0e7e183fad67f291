# SPDX-License-Identifier: MIT
"""tun/tap UAPI: ioctl numbers, flags and structs.

Mirrors include/uapi/linux/if_tun.h of Linux 6.12 plus the proposed
TUNGETVNETHASHCAP / TUNSETVNETHASH interface of docs/design.md ("UAPI").
``struct ifreq`` (include/uapi/linux/if.h) and ``struct sock_fprog``
(include/uapi/linux/filter.h) are here because tun ioctls take them.
"""

from __future__ import annotations

import ctypes

from .ioctl import IO, IOR, IOW
from .layout import CheckedStructure

u8 = ctypes.c_uint8
u16 = ctypes.c_uint16
u32 = ctypes.c_uint32
be16 = ctypes.c_uint16.__ctype_be__

IFNAMSIZ = 16
ETH_ALEN = 6

# ---- if_tun.h: misc
TUN_READQ_SIZE = 500
TUN_TUN_DEV = 0x0001
TUN_TAP_DEV = 0x0002
TUN_TYPE_MASK = 0x000F

# ---- if_tun.h: TUNSETIFF ifr flags
IFF_TUN = 0x0001
IFF_TAP = 0x0002
IFF_NAPI = 0x0010
IFF_NAPI_FRAGS = 0x0020
IFF_NO_CARRIER = 0x0040
IFF_NO_PI = 0x1000
IFF_ONE_QUEUE = 0x2000
IFF_VNET_HDR = 0x4000
IFF_TUN_EXCL = 0x8000
IFF_MULTI_QUEUE = 0x0100
IFF_ATTACH_QUEUE = 0x0200
IFF_DETACH_QUEUE = 0x0400
IFF_PERSIST = 0x0800
IFF_NOFILTER = 0x1000

# ---- if_tun.h: socket options, offloads, tun_pi, filter
TUN_TX_TIMESTAMP = 1
TUN_F_CSUM = 0x01
TUN_F_TSO4 = 0x02
TUN_F_TSO6 = 0x04
TUN_F_TSO_ECN = 0x08
TUN_F_UFO = 0x10
TUN_F_USO4 = 0x20
TUN_F_USO6 = 0x40
TUN_PKT_STRIP = 0x0001
TUN_FLT_ALLMULTI = 0x0001

# ---- proposed (docs/design.md "UAPI")
TUN_VNET_HASH_RSS = 0x0001
TUN_VNET_HASH_REPORT = 0x0002
TUN_VNET_HASH_KEY_SIZE = 40
TUN_VNET_HASH_MAX_INDIRECTION_TABLE_LENGTH = 128


class sock_filter(CheckedStructure):
    """include/uapi/linux/filter.h: struct sock_filter (8 bytes)."""

    _c_name_ = "struct sock_filter"
    _c_header_ = "linux/filter.h"
    _fields_ = [("code", u16), ("jt", u8), ("jf", u8), ("k", u32)]


class sock_fprog(CheckedStructure):
    """include/uapi/linux/filter.h: struct sock_fprog.

    C has implicit padding between ``len`` and the pointer; it is explicit
    here (``pad``) so the layout is checked like any other.
    """

    _c_name_ = "struct sock_fprog"
    _c_header_ = "linux/filter.h"
    _c_absent_fields_ = ("pad",)
    _fields_ = [
        ("len", ctypes.c_ushort),
        ("pad", u8 * (ctypes.alignment(ctypes.c_void_p) - ctypes.sizeof(ctypes.c_ushort))),
        ("filter", ctypes.c_void_p),
    ]


class ifreq_ifru(ctypes.Union):
    """include/uapi/linux/if.h: the ``ifr_ifru`` union of struct ifreq (members tun uses).

    ``ifru_raw`` stands for the members not bound (struct ifmap is the
    largest); C has no such member, so the checker skips it.
    """

    _c_absent_fields_ = ("ifru_raw",)
    _fields_ = [
        ("ifru_flags", ctypes.c_short),
        ("ifru_ivalue", ctypes.c_int),
        ("ifru_data", ctypes.c_void_p),
        # struct ifmap is the largest member: 24 bytes on LP64, 16 on ILP32.
        ("ifru_raw", u8 * (24 if ctypes.sizeof(ctypes.c_void_p) == 8 else 16)),
    ]


class ifreq(CheckedStructure):
    """include/uapi/linux/if.h: struct ifreq (TUNSETIFF, TUNGETIFF, TUNSETQUEUE)."""

    _c_name_ = "struct ifreq"
    _c_header_ = "linux/if.h"
    _fields_ = [("ifr_name", ctypes.c_char * IFNAMSIZ), ("ifr_ifru", ifreq_ifru)]


class tun_pi(CheckedStructure):
    """include/uapi/linux/if_tun.h: struct tun_pi."""

    _c_name_ = "struct tun_pi"
    _c_header_ = "linux/if_tun.h"
    _fields_ = [("flags", u16), ("proto", be16)]


class tun_filter(CheckedStructure):
    """include/uapi/linux/if_tun.h: struct tun_filter; ``addr[][ETH_ALEN]`` follows."""

    _c_name_ = "struct tun_filter"
    _c_header_ = "linux/if_tun.h"
    _flex_ = ("addr", u8 * ETH_ALEN)
    _fields_ = [("flags", u16), ("count", u16)]


class tun_vnet_hash_cap(CheckedStructure):
    """docs/design.md (proposed if_tun.h): struct tun_vnet_hash_cap, 16 bytes."""

    _c_name_ = "struct tun_vnet_hash_cap"
    _c_header_ = "linux/if_tun.h"
    _new_ = True
    _fields_ = [
        ("flags", u16),
        ("max_indirection_table_length", u16),
        ("types", u32),
        ("key_size", u16),
        ("reserved", u8 * 6),
    ]


class tun_vnet_hash(CheckedStructure):
    """docs/design.md (proposed if_tun.h): struct tun_vnet_hash, 52 bytes + table.

    ``indirection_table[]`` (le16... native __u16) follows at ``sizeof``;
    see :func:`encode_vnet_hash`.
    """

    _c_name_ = "struct tun_vnet_hash"
    _c_header_ = "linux/if_tun.h"
    _new_ = True
    _flex_ = ("indirection_table", u16)
    _fields_ = [
        ("flags", u16),
        ("pad", u8 * 2),
        ("types", u32),
        ("indirection_table_mask", u16),
        ("unclassified_queue", u16),
        ("key", u8 * TUN_VNET_HASH_KEY_SIZE),
    ]


STRUCTS: tuple[type, ...] = (sock_filter, sock_fprog, ifreq, tun_pi, tun_filter,
                             tun_vnet_hash_cap, tun_vnet_hash)

# ---- if_tun.h: ioctls ('T', 200..227) and the proposed 228, 229
_int = ctypes.c_int
_uint = ctypes.c_uint
TUNSETNOCSUM = IOW("T", 200, _int)
TUNSETDEBUG = IOW("T", 201, _int)
TUNSETIFF = IOW("T", 202, _int)
TUNSETPERSIST = IOW("T", 203, _int)
TUNSETOWNER = IOW("T", 204, _int)
TUNSETLINK = IOW("T", 205, _int)
TUNSETGROUP = IOW("T", 206, _int)
TUNGETFEATURES = IOR("T", 207, _uint)
TUNSETOFFLOAD = IOW("T", 208, _uint)
TUNSETTXFILTER = IOW("T", 209, _uint)
TUNGETIFF = IOR("T", 210, _uint)
TUNGETSNDBUF = IOR("T", 211, _int)
TUNSETSNDBUF = IOW("T", 212, _int)
TUNATTACHFILTER = IOW("T", 213, sock_fprog)
TUNDETACHFILTER = IOW("T", 214, sock_fprog)
TUNGETVNETHDRSZ = IOR("T", 215, _int)
TUNSETVNETHDRSZ = IOW("T", 216, _int)
TUNSETQUEUE = IOW("T", 217, _int)
TUNSETIFINDEX = IOW("T", 218, _uint)
TUNGETFILTER = IOR("T", 219, sock_fprog)
TUNSETVNETLE = IOW("T", 220, _int)
TUNGETVNETLE = IOR("T", 221, _int)
TUNSETVNETBE = IOW("T", 222, _int)
TUNGETVNETBE = IOR("T", 223, _int)
TUNSETSTEERINGEBPF = IOR("T", 224, _int)   # sic: _IOR in the header
TUNSETFILTEREBPF = IOR("T", 225, _int)     # sic: _IOR in the header
TUNSETCARRIER = IOW("T", 226, _int)
TUNGETDEVNETNS = IO("T", 227)
TUNGETVNETHASHCAP = IOR("T", 228, tun_vnet_hash_cap)
TUNSETVNETHASH = IOW("T", 229, tun_vnet_hash)

IOCTLS: dict[str, int] = {k: v for k, v in dict(globals()).items()
                          if k.startswith("TUN") and k[3:6] in ("SET", "GET", "ATT", "DET")
                          and isinstance(v, int)}
IOCTL_NAMES: dict[int, str] = {v: k for k, v in IOCTLS.items()}

NEW_NAMES: frozenset[str] = frozenset({
    "TUNGETVNETHASHCAP", "TUNSETVNETHASH", "TUN_VNET_HASH_RSS", "TUN_VNET_HASH_REPORT",
    "TUN_VNET_HASH_KEY_SIZE", "TUN_VNET_HASH_MAX_INDIRECTION_TABLE_LENGTH",
})

CONSTANTS: dict[str, int] = {k: v for k, v in dict(globals()).items()
                             if (k.startswith(("IFF_", "TUN_")) or k in ("IFNAMSIZ", "ETH_ALEN"))
                             and isinstance(v, int)}
CONSTANT_HEADERS: dict[str, str] = {"IFNAMSIZ": "linux/if.h", "ETH_ALEN": "linux/if_ether.h"}


def encode_vnet_hash(flags: int, types: int, key: bytes, table: tuple[int, ...] | list[int] = (),
                     unclassified_queue: int = 0, mask: int | None = None,
                     pad: bytes = b"\0\0", check: bool = True) -> bytes:
    """The TUNSETVNETHASH payload: struct tun_vnet_hash, then the table (docs/design.md).

    With TUN_VNET_HASH_RSS, ``mask`` defaults to ``len(table) - 1`` and the
    ``len(table)`` entries follow the 52-byte header as native __u16;
    without RSS nothing follows.  ``check=False`` skips only the pad check
    (to provoke EINVAL); the other fields are passed through unvalidated on
    purpose so tests can send what the kernel must reject.
    """
    if len(key) != TUN_VNET_HASH_KEY_SIZE:
        raise ValueError(f"key must be {TUN_VNET_HASH_KEY_SIZE} bytes, got {len(key)}")
    h = tun_vnet_hash()
    h.flags = flags
    h.types = types
    h.pad[:] = list(pad)
    if mask is None:
        mask = len(table) - 1 if (flags & TUN_VNET_HASH_RSS) and table else 0
    h.indirection_table_mask = mask
    h.unclassified_queue = unclassified_queue
    h.key[:] = list(key)
    head = h.pack() if check else h.pack_unchecked()
    if not flags & TUN_VNET_HASH_RSS:
        return head
    arr = (u16 * len(table))(*table)
    return head + bytes(arr)


def decode_vnet_hash(data: bytes) -> tuple[tun_vnet_hash, list[int]]:
    """Inverse of :func:`encode_vnet_hash`: (header, table entries) (docs/design.md)."""
    h = tun_vnet_hash.unpack(data)
    if not h.flags & TUN_VNET_HASH_RSS:
        return h, []
    n = h.indirection_table_mask + 1
    start = ctypes.sizeof(tun_vnet_hash)
    raw = data[start:start + 2 * n]
    if len(raw) != 2 * n:
        raise ValueError(f"table needs {2 * n} bytes, got {len(raw)}")
    return h, list((u16 * n).from_buffer_copy(raw))

