# SPDX-License-Identifier: MIT
"""vhost UAPI: the structs and ioctls of include/uapi/linux/vhost.h and
vhost_types.h (Linux 6.12), and the feature bits a vhost-net user needs
(include/uapi/linux/virtio_net.h, virtio_config.h, virtio_ring.h).

The driver that uses them is :class:`pyuapi.vhost.VhostNet`.
"""

from __future__ import annotations

import ctypes

from .ioctl import IO, IOR, IOW
from .layout import CheckedStructure

__all__ = ["vhost_vring_state", "vhost_vring_file", "vhost_vring_addr", "vhost_memory",
           "vhost_memory_region", "STRUCTS", "IOCTLS", "IOCTL_NAMES", "CONSTANTS",
           "VIRTIO_NET_F_MRG_RXBUF", "VIRTIO_F_VERSION_1", "VIRTIO_NET_F_HASH_REPORT",
           "VHOST_NET_F_VIRTIO_NET_HDR", "VRING_DESC_F_WRITE", "VHOST_BACKEND_F_IOTLB_MSG_V2",
           "VHOST_BACKEND_F_NET_HASH_REPORT", "NEW_NAMES"]

u32, u64 = ctypes.c_uint32, ctypes.c_uint64
_uint, _int = ctypes.c_uint, ctypes.c_int

# Feature bits (include/uapi/linux/virtio_net.h, virtio_config.h, vhost_types.h)
VIRTIO_NET_F_MRG_RXBUF = 15
VIRTIO_F_VERSION_1 = 32
VIRTIO_NET_F_HASH_REPORT = 57
VHOST_NET_F_VIRTIO_NET_HDR = 27
# Backend feature bits (VHOST_SET_BACKEND_FEATURES, vhost_types.h)
VHOST_BACKEND_F_IOTLB_MSG_V2 = 0x1
# proposed (patches/ 5/5): vhost-net offers VIRTIO_NET_F_HASH_REPORT only with it
VHOST_BACKEND_F_NET_HASH_REPORT = 0x9

VRING_DESC_F_WRITE = 2   # include/uapi/linux/virtio_ring.h


class vhost_vring_state(CheckedStructure):
    """include/uapi/linux/vhost_types.h: struct vhost_vring_state."""

    _c_name_ = "struct vhost_vring_state"
    _c_header_ = "linux/vhost.h"
    _fields_ = [("index", _uint), ("num", _uint)]


class vhost_vring_file(CheckedStructure):
    """include/uapi/linux/vhost_types.h: struct vhost_vring_file (fd -1: none)."""

    _c_name_ = "struct vhost_vring_file"
    _c_header_ = "linux/vhost.h"
    _fields_ = [("index", _uint), ("fd", _int)]


class vhost_vring_addr(CheckedStructure):
    """include/uapi/linux/vhost_types.h: struct vhost_vring_addr."""

    _c_name_ = "struct vhost_vring_addr"
    _c_header_ = "linux/vhost.h"
    _fields_ = [("index", _uint), ("flags", _uint), ("desc_user_addr", u64),
                ("used_user_addr", u64), ("avail_user_addr", u64), ("log_guest_addr", u64)]


class vhost_memory_region(CheckedStructure):
    """include/uapi/linux/vhost_types.h: struct vhost_memory_region."""

    _c_name_ = "struct vhost_memory_region"
    _c_header_ = "linux/vhost.h"
    _fields_ = [("guest_phys_addr", u64), ("memory_size", u64), ("userspace_addr", u64),
                ("flags_padding", u64)]


class vhost_memory(CheckedStructure):
    """include/uapi/linux/vhost_types.h: struct vhost_memory, regions[] follow."""

    _c_name_ = "struct vhost_memory"
    _c_header_ = "linux/vhost.h"
    _flex_ = ("regions", vhost_memory_region)
    _fields_ = [("nregions", u32), ("padding", u32)]


STRUCTS: tuple[type, ...] = (vhost_vring_state, vhost_vring_file, vhost_vring_addr,
                             vhost_memory_region, vhost_memory)

# include/uapi/linux/vhost.h (VHOST_VIRTIO 0xAF)
VHOST_GET_FEATURES = IOR(0xAF, 0x00, u64)
VHOST_SET_FEATURES = IOW(0xAF, 0x00, u64)
VHOST_SET_OWNER = IO(0xAF, 0x01)
VHOST_SET_MEM_TABLE = IOW(0xAF, 0x03, vhost_memory)
VHOST_SET_VRING_NUM = IOW(0xAF, 0x10, vhost_vring_state)
VHOST_SET_VRING_ADDR = IOW(0xAF, 0x11, vhost_vring_addr)
VHOST_SET_VRING_BASE = IOW(0xAF, 0x12, vhost_vring_state)
VHOST_SET_VRING_KICK = IOW(0xAF, 0x20, vhost_vring_file)
VHOST_SET_VRING_CALL = IOW(0xAF, 0x21, vhost_vring_file)
VHOST_NET_SET_BACKEND = IOW(0xAF, 0x30, vhost_vring_file)
VHOST_SET_BACKEND_FEATURES = IOW(0xAF, 0x25, u64)
VHOST_GET_BACKEND_FEATURES = IOR(0xAF, 0x26, u64)

NEW_NAMES: frozenset[str] = frozenset({"VHOST_BACKEND_F_NET_HASH_REPORT"})

IOCTLS: dict[str, int] = {k: v for k, v in dict(globals()).items()
                          if k.startswith(("VHOST_GET_", "VHOST_SET_", "VHOST_NET_SET_"))
                          and isinstance(v, int)}
IOCTL_NAMES: dict[int, str] = {v: k for k, v in IOCTLS.items()}
CONSTANTS: dict[str, int] = {k: v for k, v in dict(globals()).items()
                             if k.startswith(("VIRTIO_NET_F_", "VIRTIO_F_", "VHOST_NET_F_",
                                              "VHOST_BACKEND_F_", "VRING_DESC_F_"))}
