# SPDX-License-Identifier: MIT
"""The v2 UAPI of the series (include/uapi/linux/if_tun.h "virtio-net hashing").

TUNGETVNETHASH returns the configuration exactly as TUNSETVNETHASH took
it (all zero without one); both structs are size-versioned (``size``
below the first version: EINVAL, above a page: E2BIG, a larger struct
with a zero tail is accepted and its table read at offset ``size``, a
non-zero tail is E2BIG); flags 0 needs every other member zero; the
argument is validated before the device is looked up.  Every failing call
is checked for its errno and for leaving the configuration as it was.  A
kernel with v1 of the series (other ioctl numbers, no TUNGETVNETHASH)
fails or skips each of them (tests/lib/taps.py).
"""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import os
import struct
from typing import Iterator

import pytest

from pyuapi import HashCapabilities, HashConfig, Tap, hashio, sysio
from pyuapi.testkit import packets as P
from pyuapi.uapi import tun as T, tun_hash
from pyuapi.uapi import virtio_net as V
from tests.lib.hashcases import expect_errno
from tests.lib.netlink import NetNS
from tests.lib.taps import mismatches, report_ready, require_hash

RSS, REPORT = T.TUN_VNET_HASH_RSS, T.TUN_VNET_HASH_REPORT
SIZE, CAP_SIZE, PAGE = T.TUN_VNET_HASH_SIZE_VER0, T.TUN_VNET_HASH_CAP_SIZE_VER0, T.MAX_ARG_SIZE
KEY = bytes(range(0x11, 0x39))
KEY2 = bytes(range(0xC0, 0xE8))
POISON = 0xA5
ROOM = 2 * T.MAX_TABLE_LENGTH         # TUNGETVNETHASH: room for the longest table


def frames() -> list[bytes]:
    s4, d4 = "10.8.0.1", "10.8.0.2"
    return [P.udp4_frame(s4, d4, 1234, 5678),
            P.ether(P.ipv4(s4, d4, 6, P.tcp(s4, d4, 1111, 2222)), P.ETH_P_IP),
            P.ether(b"\x00\x01\x08\x00\x06\x04\x00\x01" + bytes(20), P.ETH_P_ARP)]


def base_cfg(cap: HashCapabilities) -> HashConfig:
    return HashConfig(RSS | REPORT, cap.types, KEY, (3, 1, 2, 0, 1, 1, 2, 3), unclassified_queue=2)


def unchanged(tap: Tap, cfg: HashConfig) -> list[str]:
    """What differs from ``cfg`` in force: TUNGETVNETHASH, the header, then a few probes."""
    got = tap.get_vnet_hash()
    if got != cfg.canonical():
        return [f"TUNGETVNETHASH {got}, set {cfg.canonical()}"]
    if tap.vnet_hdr_sz() != V.VNET_HDR_V1_HASH_LEN:
        return [f"vnet header size {tap.vnet_hdr_sz()}"]
    return mismatches(tap, cfg, frames())


def get_raw(fd: int, size: int = SIZE) -> bytes:
    """TUNGETVNETHASH into a POISON-filled buffer of ``size`` + ROOM bytes."""
    return hashio.get_vnet_hash_raw(fd, size, T.MAX_TABLE_LENGTH, POISON)


def assert_no_configuration(tap: Tap, size: int = SIZE) -> None:
    """TUNGETVNETHASH: size 56, every member zero, zeros up to ``size``, no table."""
    raw = get_raw(tap.fds[0], size)
    assert raw[:4] == struct.pack("=I", SIZE), raw[:4].hex()
    assert raw[4:size] == bytes(size - 4), raw[:size].hex()
    assert raw[size:] == bytes([POISON]) * ROOM, "a table was written"
    assert tap.get_vnet_hash() == HashConfig.disabled()


@pytest.fixture
def tap_cfg(hash_tap: tuple[Tap, HashCapabilities]
            ) -> Iterator[tuple[Tap, HashCapabilities, HashConfig]]:
    """hash_tap with base_cfg() in force (checked through TUNGETVNETHASH and probes)."""
    tap, cap = hash_tap
    cfg = base_cfg(cap)
    tap.set_vnet_hash(cfg)
    assert unchanged(tap, cfg) == []
    yield tap, cap, cfg


# ---------------------------------------------------------------- (a) round trip


@pytest.mark.parametrize("flags", [RSS, REPORT, RSS | REPORT], ids=["rss", "report", "both"])
def test_get_returns_what_was_set(hash_tap: tuple[Tap, HashCapabilities], flags: int) -> None:
    tap, cap = hash_tap
    assert_no_configuration(tap)                         # before any TUNSETVNETHASH
    rss = bool(flags & RSS)
    types = cap.types & ~V.VIRTIO_NET_RSS_HASH_TYPE_UDPv6
    cfg = HashConfig(flags, types, KEY, (7, 0, 65535, 3) if rss else (),
                     unclassified_queue=9 if rss else 0)
    tap.set_vnet_hash(cfg)
    raw = get_raw(tap.fds[0])
    h, table = tun_hash.decode_vnet_hash(raw, SIZE)
    assert (h.size, h.flags, h.types, bytes(h.key), h.indirection_table_mask,
            h.unclassified_queue, bytes(h.pad)) == \
        (SIZE, flags, types, KEY, 3 if rss else 0, 9 if rss else 0, b"\0\0")
    assert table == list(cfg.table)
    end = SIZE + 2 * len(table)
    assert raw[end:] == bytes([POISON]) * (len(raw) - end), "written past the table"
    assert tap.get_vnet_hash() == cfg.canonical()
    tap.disable_vnet_hash()
    assert_no_configuration(tap)                         # after a flags-0 TUNSETVNETHASH


@pytest.mark.parametrize("entries", [1, 2, 128])
def test_get_returns_every_table_length(hash_tap: tuple[Tap, HashCapabilities],
                                        entries: int) -> None:
    tap, cap = hash_tap
    assert cap.max_indirection_table_length == T.MAX_TABLE_LENGTH
    table = tuple((i * 2654435761) & 0xFFFF for i in range(entries))
    cfg = HashConfig(RSS, cap.types, KEY2, table, unclassified_queue=65535)
    tap.set_vnet_hash(cfg)
    assert tap.get_vnet_hash() == cfg.canonical()
    replaced = HashConfig(REPORT, V.VIRTIO_NET_RSS_HASH_TYPE_IPv4, KEY)
    tap.set_vnet_hash(replaced)                          # replaced as a whole: no table left
    assert tap.get_vnet_hash() == replaced.canonical()
    assert get_raw(tap.fds[0])[SIZE:] == bytes([POISON]) * ROOM


def test_get_is_zero_on_a_persistent_device_reopened(netns: NetNS) -> None:
    name = "uapip0"
    with Tap(name, queues=2) as vmm:
        cap = require_hash(vmm)
        report_ready(vmm)
        cfg = HashConfig(RSS | REPORT, cap.types, KEY, (1, 0), unclassified_queue=1)
        vmm.set_vnet_hash(cfg)
        assert vmm.get_vnet_hash() == cfg.canonical()
        vmm.set_persist(True)
    with Tap(name, queues=2) as again:                   # the configuration ended with the files
        try:
            assert_no_configuration(again)
        finally:
            again.set_persist(False)


# ---------------------------------------------------------------- (b) size-versioning


@pytest.mark.parametrize("size", [0, 4, 52, 55])
def test_set_size_below_56_is_einval(tap_cfg: tuple[Tap, HashCapabilities, HashConfig],
                                     size: int) -> None:
    tap, cap, base = tap_cfg
    bad = dataclasses.replace(base_cfg(cap), key=KEY2, size=size)
    e = expect_errno(errno.EINVAL, "TUNSETVNETHASH", lambda: tap.set_vnet_hash(bad))
    assert f"size {size} is below" in str(e)
    assert unchanged(tap, base) == []


@pytest.mark.parametrize("size", [PAGE + 1, 0xFFFFFFFF])
def test_set_size_above_a_page_is_e2big(tap_cfg: tuple[Tap, HashCapabilities, HashConfig],
                                        size: int) -> None:
    tap, cap, base = tap_cfg
    bad = dataclasses.replace(base_cfg(cap), key=KEY2, size=size)
    expect_errno(errno.E2BIG, "TUNSETVNETHASH", lambda: tap.set_vnet_hash(bad))
    assert unchanged(tap, base) == []


@pytest.mark.parametrize("size", [64, 57, PAGE])
def test_larger_struct_with_zero_tail_is_accepted(
        tap_cfg: tuple[Tap, HashCapabilities, HashConfig], size: int) -> None:
    """A newer caller's struct: zeros past 56, the table at offset ``size``."""
    tap, cap, _base = tap_cfg
    cfg = HashConfig(RSS | REPORT, V.VIRTIO_NET_RSS_HASH_TYPE_TCPv4, KEY2, (0, 3, 3, 1),
                     unclassified_queue=3, size=size)
    payload = cfg.encode()
    assert payload[SIZE:size] == bytes(size - SIZE) and len(payload) == size + 8
    assert struct.unpack_from("=4H", payload, size) == (0, 3, 3, 1)
    tap.set_vnet_hash(cfg)
    assert unchanged(tap, cfg) == []
    raw = get_raw(tap.fds[0], size)                      # the same larger struct back
    assert raw[:4] == struct.pack("=I", SIZE)            # the kernel's own size
    assert raw[SIZE:size] == bytes(size - SIZE)          # what it does not know: zeroed
    assert struct.unpack_from("=4H", raw, size) == (0, 3, 3, 1)
    assert raw[size + 8:] == bytes([POISON]) * (ROOM - 8)
    assert hashio.config_from_raw(raw, size) == cfg.canonical()


@pytest.mark.parametrize("tail", [b"\x01", bytes(7) + b"\x80"], ids=["first", "last"])
def test_non_zero_tail_is_e2big(tap_cfg: tuple[Tap, HashCapabilities, HashConfig],
                                tail: bytes) -> None:
    tap, cap, base = tap_cfg
    bad = dataclasses.replace(base_cfg(cap), key=KEY2, table=(0, 0), size=64, tail=tail)
    e = expect_errno(errno.E2BIG, "TUNSETVNETHASH", lambda: tap.set_vnet_hash(bad))
    assert "(size 64: bytes past the 56" in str(e)
    assert unchanged(tap, base) == []
    tap.set_vnet_hash(dataclasses.replace(bad, tail=b""))     # the same with a zero tail
    assert tap.get_vnet_hash() == bad.canonical()


@pytest.mark.parametrize("size", [24, CAP_SIZE, 17, PAGE])
def test_cap_zero_fills_a_larger_struct(hash_tap: tuple[Tap, HashCapabilities],
                                        size: int) -> None:
    tap, cap = hash_tap
    raw = hashio.get_vnet_hash_cap_raw(tap.fds[0], size, POISON)
    assert len(raw) == size
    assert raw[:CAP_SIZE] == bytes(cap) and cap.size == CAP_SIZE
    assert raw[CAP_SIZE:] == bytes(size - CAP_SIZE), raw.hex()
    assert (cap.flags, cap.max_indirection_table_length, cap.key_size, bytes(cap.reserved)) == \
        (RSS | REPORT, T.MAX_TABLE_LENGTH, T.TUN_VNET_HASH_KEY_SIZE, b"\0\0")


@pytest.mark.parametrize("size,err", [(0, errno.EINVAL), (15, errno.EINVAL),
                                      (PAGE + 1, errno.E2BIG), (0xFFFFFFFF, errno.E2BIG)])
def test_cap_size_out_of_range(tap_cfg: tuple[Tap, HashCapabilities, HashConfig],
                               size: int, err: int) -> None:
    tap, _cap, base = tap_cfg
    buf = _poisoned(size, CAP_SIZE)
    assert sysio.ioctl(tap.fds[0], T.TUNGETVNETHASHCAP, buf) == -err
    assert buf.raw[4:] == bytes([POISON]) * (len(buf) - 4), "written on failure"
    assert unchanged(tap, base) == []


# ---------------------------------------------------------------- (c) flags 0


@pytest.mark.parametrize("member", ["types", "key", "mask", "unclassified_queue", "key-last"])
def test_flags_0_with_a_non_zero_member_is_einval(
        tap_cfg: tuple[Tap, HashCapabilities, HashConfig], member: str) -> None:
    tap, _cap, base = tap_cfg
    off = HashConfig.disabled()
    bad = {"types": dataclasses.replace(off, types=V.VIRTIO_NET_RSS_HASH_TYPE_IPv4),
           "key": dataclasses.replace(off, key=KEY2),
           "key-last": dataclasses.replace(off, key=bytes(39) + b"\x01"),
           "mask": dataclasses.replace(off, mask=1),
           "unclassified_queue": dataclasses.replace(off, unclassified_queue=1)}[member]
    e = expect_errno(errno.EINVAL, "TUNSETVNETHASH", lambda: tap.set_vnet_hash(bad))
    assert "flags 0 with non-zero" in str(e)
    assert unchanged(tap, base) == []
    tap.set_vnet_hash(dataclasses.replace(off, size=128))    # all zero: accepted, any size
    assert_no_configuration(tap)


# ---------------------------------------------------------------- (d), (e) no device


@pytest.fixture
def unbound(hash_tap: tuple[Tap, HashCapabilities]) -> Iterator[int]:
    """A /dev/net/tun fd that never attached (no TUNSETIFF); the feature is there."""
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC)
    try:
        yield fd
    finally:
        os.close(fd)


def _poisoned(size: int, ver0: int, extra: int = 0) -> ctypes.Array:
    n = (size if ver0 <= size <= PAGE else ver0) + extra
    buf = ctypes.create_string_buffer(bytes([POISON]) * n, n)
    ctypes.memmove(buf, struct.pack("=I", size), 4)
    return buf


def still_without_device(fd: int) -> None:
    """The failed call left ``fd`` as it was: no device; attached now, it has no configuration."""
    ifr = T.ifreq()
    assert sysio.ioctl(fd, T.TUNGETIFF, ifr) == -errno.EBADFD
    ifr.ifr_name = b"uapiu%d"
    ifr.ifr_ifru.ifru_flags = T.IFF_TAP | T.IFF_NO_PI | T.IFF_VNET_HDR
    assert sysio.ioctl(fd, T.TUNSETIFF, ifr) == 0
    raw = get_raw(fd)
    assert raw[:4] == struct.pack("=I", SIZE) and raw[4:] == bytes(SIZE - 4) + \
        bytes([POISON]) * ROOM


INVALID: dict[str, tuple[int, HashConfig]] = {
    "pad": (errno.EINVAL, HashConfig(RSS, 1, KEY, (0, 1), pad=b"\0\1")),
    "unknown-flag": (errno.EINVAL, HashConfig(0x4, 0, bytes(40))),
    "table-length-3": (errno.EINVAL, HashConfig(RSS, 1, KEY, (0, 1, 2))),
    "flags-0-key": (errno.EINVAL, HashConfig(0, 0, KEY)),
    "mask-without-rss": (errno.EINVAL, HashConfig(REPORT, 1, KEY, mask=1)),
    "size-55": (errno.EINVAL, HashConfig(RSS, 1, KEY, (0,), size=55)),
    "size-above-a-page": (errno.E2BIG, HashConfig(RSS, 1, KEY, (0,), size=PAGE + 1)),
    "non-zero-tail": (errno.E2BIG, HashConfig(RSS, 1, KEY, (0,), size=64, tail=b"\1")),
}
VALID: dict[str, HashConfig] = {
    "rss-report": HashConfig(RSS | REPORT, 1, KEY, (0, 1, 2, 3), 1),
    "report": HashConfig(REPORT, 1, KEY),      # its header rows need a device: not reached
    "disable": HashConfig.disabled(),
    "size-64": HashConfig(RSS, 1, KEY, (0,), size=64),
}


@pytest.mark.parametrize("row", list(INVALID))
def test_no_device_invalid_argument_gets_its_errno(unbound: int, row: str) -> None:
    err, cfg = INVALID[row]
    expect_errno(err, "TUNSETVNETHASH",
          lambda: hashio.set_vnet_hash_raw(unbound, cfg.encode(check=False)))
    still_without_device(unbound)


@pytest.mark.parametrize("row", list(VALID))
def test_no_device_valid_argument_gets_ebadfd(unbound: int, row: str) -> None:
    expect_errno(errno.EBADFD, "TUNSETVNETHASH",
          lambda: hashio.set_vnet_hash_raw(unbound, VALID[row].encode()))
    still_without_device(unbound)


@pytest.mark.parametrize("size", [SIZE, 55, 0, PAGE + 1])
def test_get_without_device_is_ebadfd(unbound: int, size: int) -> None:
    """TUNGETVNETHASH looks at the device before the size; nothing is written."""
    buf = _poisoned(size, SIZE, ROOM)
    assert sysio.ioctl(unbound, T.TUNGETVNETHASH, buf) == -errno.EBADFD
    assert buf.raw[4:] == bytes([POISON]) * (len(buf) - 4)
    expect_errno(errno.EBADFD, "TUNGETVNETHASH", lambda: get_raw(unbound))
    assert len(hashio.get_vnet_hash_cap_raw(unbound, 24, POISON)) == 24   # CAP needs none
    still_without_device(unbound)


@pytest.mark.parametrize("size,err", [(55, errno.EINVAL), (4, errno.EINVAL), (0, errno.EINVAL),
                                      (PAGE + 1, errno.E2BIG)])
def test_get_size_out_of_range(tap_cfg: tuple[Tap, HashCapabilities, HashConfig],
                               size: int, err: int) -> None:
    tap, _cap, base = tap_cfg
    buf = _poisoned(size, SIZE, ROOM)
    assert sysio.ioctl(tap.fds[0], T.TUNGETVNETHASH, buf) == -err
    assert buf.raw[4:] == bytes([POISON]) * (len(buf) - 4), "written on failure"
    expect_errno(err, "TUNGETVNETHASH", lambda: tap.get_vnet_hash(size))
    assert unchanged(tap, base) == []
