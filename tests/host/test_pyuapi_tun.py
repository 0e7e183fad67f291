# SPDX-License-Identifier: MIT
"""pyuapi.uapi.tun / pyuapi.Tap, HashConfig, Packet / pyuapi.errors pieces that need no root."""

from __future__ import annotations

import ctypes
import errno
import os
import re
from pathlib import Path

import pytest

from pyuapi import errors, sysio
from pyuapi.uapi import tun as T, virtio_net as V
from pyuapi import HashConfig, Packet
from pyuapi.config import diagnose_vnet_hash
from pyuapi.testkit.guardpage import GuardedBuffer
from vm import pipeline, source

REPO = Path(__file__).resolve().parents[2]
KEY = bytes(range(1, 41))


def test_design_md_defines_match() -> None:
    text = (REPO / "docs" / "design.md").read_text()
    defines = dict(re.findall(r"#define\s+(TUN_VNET_HASH_\w+)\s+(0x[0-9a-fA-F]+|\d+)", text))
    assert set(defines) == {"TUN_VNET_HASH_RSS", "TUN_VNET_HASH_REPORT", "TUN_VNET_HASH_KEY_SIZE",
                            "TUN_VNET_HASH_MAX_INDIRECTION_TABLE_LENGTH"}
    for name, value in defines.items():
        assert getattr(T, name) == int(value, 0), name
    assert "_IOR('T', 228, struct tun_vnet_hash_cap)" in text
    assert "_IOW('T', 229, struct tun_vnet_hash)" in text


def test_every_612_ioctl_and_flag_is_bound() -> None:
    cache = pipeline.Options.from_env(dict(os.environ)).cache
    src = source.pinned_src_dir(cache, "6.12") / "include/uapi/linux/if_tun.h"
    text = src.read_text() if src.exists() else Path("/usr/include/linux/if_tun.h").read_text()
    names = re.findall(r"^#define\s+((?:TUN|IFF)\w*)\s", text, re.M)
    assert len(names) > 40
    for name in names:
        assert name in T.CONSTANTS or name in T.IOCTLS, name


def test_encode_rss_payload_layout() -> None:
    cfg = HashConfig(T.TUN_VNET_HASH_RSS | T.TUN_VNET_HASH_REPORT, 0x1FF, KEY,
                     (3, 2, 1, 0), unclassified_queue=7)
    p = cfg.encode()
    assert len(p) == 52 + 8
    assert p[0:2] == (3).to_bytes(2, "little") and p[2:4] == b"\0\0"
    assert int.from_bytes(p[4:8], "little") == 0x1FF
    assert int.from_bytes(p[8:10], "little") == 3              # mask
    assert int.from_bytes(p[10:12], "little") == 7
    assert p[12:52] == KEY
    assert [int.from_bytes(p[52 + 2 * i:54 + 2 * i], "little") for i in range(4)] == [3, 2, 1, 0]
    h, table = T.decode_vnet_hash(p)
    assert (h.flags, h.types, h.unclassified_queue, table) == (3, 0x1FF, 7, [3, 2, 1, 0])


def test_encode_without_rss_has_no_table_and_zero_mask() -> None:
    p = HashConfig(T.TUN_VNET_HASH_REPORT, 1, KEY, (0, 1)).encode()
    assert len(p) == 52 and p[8:12] == b"\0" * 4
    explicit = HashConfig(T.TUN_VNET_HASH_REPORT, 1, KEY, mask=3, unclassified_queue=1).encode()
    assert explicit[8:12] == b"\x03\x00\x01\x00"


def test_encode_pad_checked_unless_asked() -> None:
    cfg = HashConfig(0, 0, KEY, pad=b"\x00\x01")
    with pytest.raises(ValueError, match="pad"):
        cfg.encode()
    assert cfg.encode(check=False)[2:4] == b"\x00\x01"
    with pytest.raises(ValueError, match="40 bytes"):
        HashConfig(0, 0, KEY[:39]).encode()


def _cap(types: int = V.VIRTIO_NET_RSS_HASH_TYPE_ALL) -> T.tun_vnet_hash_cap:
    c = T.tun_vnet_hash_cap()
    c.flags, c.max_indirection_table_length, c.types, c.key_size = 3, 128, types, 40
    return c


@pytest.mark.parametrize("cfg,hdr,le,expect", [
    (HashConfig(4, 0, KEY), 20, True, "unknown bits 0x4"),
    (HashConfig(0, 0, KEY, pad=b"\x01\x00"), 20, True, "pad"),
    (HashConfig(2, 1 << 9, KEY), 20, True, "not supported"),
    (HashConfig(1, 1, KEY, (0, 1, 2)), 20, True, "length 3"),
    (HashConfig(1, 1, KEY, tuple(range(256))), 20, True, "length 256"),
    (HashConfig(2, 1, KEY, mask=1), 20, True, "without RSS"),
    (HashConfig(0, 0, KEY, unclassified_queue=1), 20, True, "without RSS"),
    (HashConfig(2, 1, KEY), 12, True, "12-byte"),
    (HashConfig(2, 1, KEY), 20, False, "big-endian"),
])
def test_diagnose_rows(cfg: HashConfig, hdr: int, le: bool, expect: str) -> None:
    why = diagnose_vnet_hash(cfg, _cap(), hdr, le)
    assert len(why) == 1 and expect in why[0], why


def test_diagnose_clean_config() -> None:
    cfg = HashConfig(3, 0x1FF, KEY, tuple(range(128)), 5)
    assert diagnose_vnet_hash(cfg, _cap(), 20, True) == []


def test_errors_are_oserrors_with_cause() -> None:
    e = errors.TunError(errno.EBUSY, "TUNSETSTEERINGEBPF")
    assert isinstance(e, OSError) and e.errno == errno.EBUSY
    assert "TUNSETSTEERINGEBPF" in str(e) and "RSS is on" in str(e)
    m = errors.FeatureMissingError(errno.EINVAL, "TUNGETVNETHASHCAP")
    assert isinstance(m, errors.TunError) and m.errno == errno.EINVAL
    assert "boot a kernel built from patches/" in str(m)
    assert "docs/design.md" in errors.likely_cause("TUNSETVNETHASH", errno.EINVAL)
    assert "TUNSETIFF" in errors.likely_cause("TUNGETVNETHDRSZ", errno.EBADFD)


def test_packet_header_parsing() -> None:
    hdr = bytes(12) + (0xDEADBEEF).to_bytes(4, "little") + (5).to_bytes(2, "little") + b"\0\0"
    p = Packet(1, hdr, b"frame")
    assert (p.hash_value, p.hash_report) == (0xDEADBEEF, 5)
    assert isinstance(p.header(), V.virtio_net_hdr_v1_hash)
    short = Packet(0, bytes(12), b"")
    assert short.hash_value is None and isinstance(short.header(), V.virtio_net_hdr_v1)


def test_sysio_ioctl_returns_negative_errno() -> None:
    r, w = os.pipe()
    try:
        assert sysio.ioctl(r, T.TUNGETFEATURES, ctypes.c_uint()) == -errno.ENOTTY
    finally:
        os.close(r)
        os.close(w)


def test_guarded_buffer_faults_where_asked() -> None:
    sysio.libc.write.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
    r, w = os.pipe()
    try:
        with GuardedBuffer() as g:
            payload = bytes(range(60))
            addr = g.place(payload, 52)
            assert sysio.libc.write(w, addr, 52) == 52
            assert os.read(r, 100) == payload[:52]
            ctypes.set_errno(0)
            assert sysio.libc.write(w, addr + 52, 8) == -1
            assert ctypes.get_errno() == errno.EFAULT
            with pytest.raises(ValueError):
                g.place(payload, 61)
    finally:
        os.close(r)
        os.close(w)
