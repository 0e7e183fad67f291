# SPDX-License-Identifier: MIT
"""tun/tap UAPI: ioctl numbers, flags and structs.

Mirrors include/uapi/linux/if_tun.h of Linux 6.12 plus the series'
TUNGETVNETHASHCAP / TUNSETVNETHASH / TUNGETVNETHASH interface (the header's
"virtio-net hashing" DOC; docs/design.md "UAPI").
``struct ifreq`` (include/uapi/linux/if.h) and ``struct sock_fprog``
(include/uapi/linux/filter.h) are here because tun ioctls take them.
"""

from __future__ import annotations

import ctypes
import mmap

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

# ---- the series (if_tun.h "virtio-net hashing"; docs/design.md "UAPI")
TUN_VNET_HASH_RSS = 0x0001
TUN_VNET_HASH_REPORT = 0x0002
TUN_VNET_HASH_KEY_SIZE = 40
TUN_VNET_HASH_CAP_SIZE_VER0 = 16        # sizeof first published struct tun_vnet_hash_cap
TUN_VNET_HASH_SIZE_VER0 = 56            # sizeof first published struct tun_vnet_hash

# Not UAPI (no TUN_ prefix: the layout checker does not look for them in the headers).
# The longest table the series' kernel takes, as its TUNGETVNETHASHCAP reports
# (drivers/net/tun_vnet.h TUN_VNET_HASH_MAX_TABLE_LENGTH); a caller should read
# cap.max_indirection_table_length instead.
MAX_TABLE_LENGTH = 128
# The largest size-versioned argument the kernel reads: a page (tun_vnet_hash_get_size).
MAX_ARG_SIZE = mmap.PAGESIZE


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
    """if_tun.h: struct tun_vnet_hash_cap, 16 bytes (TUN_VNET_HASH_CAP_SIZE_VER0).

    ``size`` is set by the caller (its sizeof, at least 16, at most a page);
    the kernel writes min(size, 16) bytes, zeroes the caller's bytes past
    them and sets ``size`` to its own (16).
    """

    _c_name_ = "struct tun_vnet_hash_cap"
    _c_header_ = "linux/if_tun.h"
    _new_ = True
    _fields_ = [
        ("size", u32),
        ("flags", u16),
        ("max_indirection_table_length", u16),
        ("types", u32),
        ("key_size", u16),
        ("reserved", u8 * 2),
    ]


class tun_vnet_hash(CheckedStructure):
    """if_tun.h: struct tun_vnet_hash, 56 bytes (TUN_VNET_HASH_SIZE_VER0), then the table.

    ``indirection_table[]`` (native __u16) starts ``size`` bytes from the
    start of the struct (the caller's struct size, not necessarily
    ``sizeof``); see :func:`pyuapi.uapi.tun_hash.encode_vnet_hash`.
    """

    _c_name_ = "struct tun_vnet_hash"
    _c_header_ = "linux/if_tun.h"
    _new_ = True
    _flex_ = ("indirection_table", u16)
    _fields_ = [
        ("size", u32),
        ("flags", u16),
        ("indirection_table_mask", u16),
        ("types", u32),
        ("unclassified_queue", u16),
        ("pad", u8 * 2),
        ("key", u8 * TUN_VNET_HASH_KEY_SIZE),
    ]


STRUCTS: tuple[type, ...] = (sock_filter, sock_fprog, ifreq, tun_pi, tun_filter,
                             tun_vnet_hash_cap, tun_vnet_hash)

# ---- if_tun.h: ioctls ('T', 200..227) and the series' 228..230 (no size encoded)
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
TUNGETVNETHASHCAP = IO("T", 228)
TUNSETVNETHASH = IO("T", 229)
TUNGETVNETHASH = IO("T", 230)

IOCTLS: dict[str, int] = {k: v for k, v in dict(globals()).items()
                          if k.startswith("TUN") and k[3:6] in ("SET", "GET", "ATT", "DET")
                          and isinstance(v, int)}
IOCTL_NAMES: dict[int, str] = {v: k for k, v in IOCTLS.items()}

NEW_NAMES: frozenset[str] = frozenset({
    "TUNGETVNETHASHCAP", "TUNSETVNETHASH", "TUNGETVNETHASH", "TUN_VNET_HASH_RSS",
    "TUN_VNET_HASH_REPORT", "TUN_VNET_HASH_KEY_SIZE", "TUN_VNET_HASH_CAP_SIZE_VER0",
    "TUN_VNET_HASH_SIZE_VER0",
})

CONSTANTS: dict[str, int] = {k: v for k, v in dict(globals()).items()
                             if (k.startswith(("IFF_", "TUN_")) or k in ("IFNAMSIZ", "ETH_ALEN"))
                             and isinstance(v, int)}
CONSTANT_HEADERS: dict[str, str] = {"IFNAMSIZ": "linux/if.h", "ETH_ALEN": "linux/if_ether.h"}
