# SPDX-License-Identifier: MIT
"""virtio-net header structs and hash constants.

Mirrors include/uapi/linux/virtio_net.h (Linux 7.3; 6.12 differs only in
struct virtio_net_hdr_v1_hash, see there) and the virtio spec
1.2 section 5.1.6 "Device Operation" (5.1.6.4.3 "Hash calculation for
incoming packets", 5.1.6.4.4 "Hash reporting for incoming packets").

``__virtio16`` fields are typed little endian: that is their encoding for
virtio 1.x and for tun when the vnet header is little endian
(TUNSETVNETLE), which hash reporting requires (docs/design.md).
"""

from __future__ import annotations

import ctypes

from .layout import CheckedStructure

u8 = ctypes.c_uint8
le16 = ctypes.c_uint16.__ctype_le__
le32 = ctypes.c_uint32.__ctype_le__
virtio16 = le16

# struct virtio_net_hdr flags / gso types (virtio_net.h)
VIRTIO_NET_HDR_F_NEEDS_CSUM = 1
VIRTIO_NET_HDR_F_DATA_VALID = 2
VIRTIO_NET_HDR_F_RSC_INFO = 4
VIRTIO_NET_HDR_GSO_NONE = 0
VIRTIO_NET_HDR_GSO_TCPV4 = 1
VIRTIO_NET_HDR_GSO_UDP = 3
VIRTIO_NET_HDR_GSO_TCPV6 = 4
VIRTIO_NET_HDR_GSO_UDP_L4 = 5
VIRTIO_NET_HDR_GSO_ECN = 0x80

# Feature bits that concern hashing (virtio_net.h, spec 5.1.3)
VIRTIO_NET_F_MQ = 22
VIRTIO_NET_F_HASH_REPORT = 57
VIRTIO_NET_F_RSS = 60

# Hash types (virtio_net.h VIRTIO_NET_RSS_HASH_TYPE_*, spec 5.1.6.4.3.1)
VIRTIO_NET_RSS_HASH_TYPE_IPv4 = 1 << 0
VIRTIO_NET_RSS_HASH_TYPE_TCPv4 = 1 << 1
VIRTIO_NET_RSS_HASH_TYPE_UDPv4 = 1 << 2
VIRTIO_NET_RSS_HASH_TYPE_IPv6 = 1 << 3
VIRTIO_NET_RSS_HASH_TYPE_TCPv6 = 1 << 4
VIRTIO_NET_RSS_HASH_TYPE_UDPv6 = 1 << 5
VIRTIO_NET_RSS_HASH_TYPE_IP_EX = 1 << 6
VIRTIO_NET_RSS_HASH_TYPE_TCP_EX = 1 << 7
VIRTIO_NET_RSS_HASH_TYPE_UDP_EX = 1 << 8
VIRTIO_NET_RSS_HASH_TYPE_ALL = (1 << 9) - 1

# Hash report values (virtio_net.h VIRTIO_NET_HASH_REPORT_*, spec 5.1.6.4.4)
VIRTIO_NET_HASH_REPORT_NONE = 0
VIRTIO_NET_HASH_REPORT_IPv4 = 1
VIRTIO_NET_HASH_REPORT_TCPv4 = 2
VIRTIO_NET_HASH_REPORT_UDPv4 = 3
VIRTIO_NET_HASH_REPORT_IPv6 = 4
VIRTIO_NET_HASH_REPORT_TCPv6 = 5
VIRTIO_NET_HASH_REPORT_UDPv6 = 6
VIRTIO_NET_HASH_REPORT_IPv6_EX = 7
VIRTIO_NET_HASH_REPORT_TCPv6_EX = 8
VIRTIO_NET_HASH_REPORT_UDPv6_EX = 9

REPORT_NAMES: dict[int, str] = {
    v: k[len("VIRTIO_NET_HASH_REPORT_"):] for k, v in dict(globals()).items()
    if k.startswith("VIRTIO_NET_HASH_REPORT_")
}
TYPE_NAMES: dict[int, str] = {
    v: k[len("VIRTIO_NET_RSS_HASH_TYPE_"):] for k, v in dict(globals()).items()
    if k.startswith("VIRTIO_NET_RSS_HASH_TYPE_") and k != "VIRTIO_NET_RSS_HASH_TYPE_ALL"
}


def type_of_report(report: int) -> int:
    """The hash type bit of a report value: TYPE_X == 1 << (REPORT_X - 1) (spec 5.1.6.4.4)."""
    if not VIRTIO_NET_HASH_REPORT_IPv4 <= report <= VIRTIO_NET_HASH_REPORT_UDPv6_EX:
        raise ValueError(f"report {report} has no hash type")
    return 1 << (report - 1)


def types_str(types: int) -> str:
    """``types`` as ``IPv4|TCPv6...`` for messages."""
    names = [n for bit, n in sorted(TYPE_NAMES.items()) if types & bit]
    extra = types & ~VIRTIO_NET_RSS_HASH_TYPE_ALL
    if extra:
        names.append(hex(extra))
    return "|".join(names) or "0"


class virtio_net_hdr(CheckedStructure):
    """include/uapi/linux/virtio_net.h: struct virtio_net_hdr (legacy, 10 bytes)."""

    _c_name_ = "struct virtio_net_hdr"
    _c_header_ = "linux/virtio_net.h"
    _fields_ = [
        ("flags", u8),
        ("gso_type", u8),
        ("hdr_len", virtio16),
        ("gso_size", virtio16),
        ("csum_start", virtio16),
        ("csum_offset", virtio16),
    ]


class virtio_net_hdr_v1(CheckedStructure):
    """include/uapi/linux/virtio_net.h: struct virtio_net_hdr_v1 (12 bytes).

    The C struct has a union of (csum_start, csum_offset), csum{start,
    offset} and rsc{segments, dup_acks}; all members are two le16 at the
    same offsets, so the first, flattened, is used here.
    """

    _c_name_ = "struct virtio_net_hdr_v1"
    _c_header_ = "linux/virtio_net.h"
    _fields_ = [
        ("flags", u8),
        ("gso_type", u8),
        ("hdr_len", virtio16),
        ("gso_size", virtio16),
        ("csum_start", virtio16),
        ("csum_offset", virtio16),
        ("num_buffers", virtio16),
    ]


class virtio_net_hdr_v1_hash(CheckedStructure):
    """include/uapi/linux/virtio_net.h: struct virtio_net_hdr_v1_hash (20 bytes).

    Declared with the field names of Linux 7.3, where the 32-bit hash is
    two ``__le16`` halves, ``hash_value_lo`` and ``hash_value_hi`` (so that
    the struct needs only 2-byte alignment); Linux 6.12 has one ``__le32
    hash_value`` at the same offset, 12.  :attr:`hash_value` reads and
    writes the 32-bit value either way, and :mod:`pyuapi.check` compares
    the two halves with 6.12's ``hash_value`` when the headers lack
    ``hash_value_lo`` (``_c_compat_``).

    The trailing ``padding`` is named ``padding`` in the header; it must be
    zero like any pad (spec 5.1.6.4.4; docs/design.md "num_buffers and
    padding zero").
    """

    _c_name_ = "struct virtio_net_hdr_v1_hash"
    _c_header_ = "linux/virtio_net.h"
    _fields_ = [
        ("hdr", virtio_net_hdr_v1),
        ("hash_value_lo", le16),
        ("hash_value_hi", le16),
        ("hash_report", le16),
        ("padding", le16),
    ]
    # Older headers (6.12 and before): these fields are one C member.
    _c_compat_ = ((("hash_value_lo", "hash_value_hi"), "hash_value", le32),)

    @property
    def hash_value(self) -> int:
        """The 32-bit hash: ``hash_value_lo | hash_value_hi << 16`` (7.3), ``hash_value`` (6.12)."""
        return self.hash_value_lo | self.hash_value_hi << 16

    @hash_value.setter
    def hash_value(self, value: int) -> None:
        self.hash_value_lo = value & 0xFFFF
        self.hash_value_hi = value >> 16 & 0xFFFF


VNET_HDR_LEN = ctypes.sizeof(virtio_net_hdr)
VNET_HDR_V1_LEN = ctypes.sizeof(virtio_net_hdr_v1)
VNET_HDR_V1_HASH_LEN = ctypes.sizeof(virtio_net_hdr_v1_hash)

STRUCTS: tuple[type, ...] = (virtio_net_hdr, virtio_net_hdr_v1, virtio_net_hdr_v1_hash)

CONSTANTS: dict[str, int] = {
    k: v for k, v in dict(globals()).items()
    if k.startswith(("VIRTIO_NET_HDR_", "VIRTIO_NET_F_", "VIRTIO_NET_RSS_HASH_TYPE_",
                     "VIRTIO_NET_HASH_REPORT_"))
    and isinstance(v, int) and k != "VIRTIO_NET_RSS_HASH_TYPE_ALL"
}
