# SPDX-License-Identifier: MIT
"""CheckedStructure: no implicit padding, explicit pads must be zero."""

from __future__ import annotations

import ctypes

import pytest

from pyuapi.uapi import tun, virtio_net
from pyuapi.uapi.layout import CheckedStructure, LayoutError


def test_hole_is_refused_with_struct_field_and_gap() -> None:
    with pytest.raises(LayoutError) as ei:
        class holey(CheckedStructure):
            _fields_ = [("a", ctypes.c_uint8), ("b", ctypes.c_uint32)]
    msg = str(ei.value)
    assert "holey" in msg and "'b'" in msg and "3 byte(s)" in msg


def test_tail_padding_is_refused() -> None:
    with pytest.raises(LayoutError, match=r"tail.*2 byte|2 byte.*tail"):
        class tail(CheckedStructure):
            _fields_ = [("a", ctypes.c_uint32), ("b", ctypes.c_uint16)]


def test_nested_struct_alignment_hole_is_refused() -> None:
    class inner(CheckedStructure):
        _fields_ = [("x", ctypes.c_uint64)]
    with pytest.raises(LayoutError, match="outer.*'i'"):
        class outer(CheckedStructure):
            _fields_ = [("a", ctypes.c_uint16), ("i", inner)]


def test_explicit_pad_accepted() -> None:
    class ok(CheckedStructure):
        _fields_ = [("a", ctypes.c_uint8), ("pad", ctypes.c_uint8 * 3), ("b", ctypes.c_uint32)]
    assert ctypes.sizeof(ok) == 8


def test_pack_without_packed_header_refused() -> None:
    with pytest.raises(LayoutError, match="_pack_"):
        class p(CheckedStructure):
            _pack_ = 1
            _fields_ = [("a", ctypes.c_uint8), ("b", ctypes.c_uint32)]

    class q(CheckedStructure):
        _packed_header_ = True
        _pack_ = 1
        _fields_ = [("a", ctypes.c_uint8), ("b", ctypes.c_uint32)]
    assert ctypes.sizeof(q) == 5


def test_nonzero_pad_refused_when_packed() -> None:
    h = tun.tun_vnet_hash()
    h.flags = tun.TUN_VNET_HASH_REPORT
    assert len(h.pack()) == 56
    h.pad[1] = 7
    with pytest.raises(ValueError, match="pad=0007"):
        h.pack()
    assert h.pack_unchecked()[14:16] == b"\x00\x07"


def test_nonzero_reserved_refused() -> None:
    c = tun.tun_vnet_hash_cap()
    c.reserved[1] = 1
    with pytest.raises(ValueError, match="reserved"):
        c.pack()


def test_integer_padding_field_refused() -> None:
    h = virtio_net.virtio_net_hdr_v1_hash()
    h.padding = 1
    with pytest.raises(ValueError, match="padding=1"):
        h.pack()


@pytest.mark.parametrize("cls,size", [
    (tun.tun_vnet_hash_cap, 16), (tun.tun_vnet_hash, 56), (tun.tun_pi, 4),
    (tun.tun_filter, 4), (tun.sock_filter, 8), (virtio_net.virtio_net_hdr, 10),
    (virtio_net.virtio_net_hdr_v1, 12), (virtio_net.virtio_net_hdr_v1_hash, 20),
])
def test_sizes_match_design(cls: type, size: int) -> None:
    assert ctypes.sizeof(cls) == size


def test_unpack_roundtrip_little_endian() -> None:
    raw = bytes(12) + (0x11223344).to_bytes(4, "little") + (8).to_bytes(2, "little") + b"\0\0"
    h = virtio_net.virtio_net_hdr_v1_hash.unpack(raw)
    assert (h.hash_value, h.hash_report) == (0x11223344, 8)
    assert h.pack() == raw
    with pytest.raises(ValueError, match="need 20"):
        virtio_net.virtio_net_hdr_v1_hash.unpack(raw[:19])


def test_inherited_fields_are_accounted() -> None:
    class base(CheckedStructure):
        _fields_ = [("a", ctypes.c_uint32)]

    class ext(base):
        _fields_ = [("b", ctypes.c_uint32)]
    assert ctypes.sizeof(ext) == 8
    with pytest.raises(LayoutError, match="bad.*'c'.*4 byte"):
        class bad(base):
            _fields_ = [("c", ctypes.c_uint64)]


def test_nested_pad_checked() -> None:
    class inner(CheckedStructure):
        _fields_ = [("x", ctypes.c_uint16), ("pad", ctypes.c_uint8 * 2)]

    class outer(CheckedStructure):
        _fields_ = [("i", inner), ("y", ctypes.c_uint32)]
    o = outer()
    o.i.pad[0] = 1
    with pytest.raises(ValueError, match=r"i\.pad=0100"):
        o.pack()
