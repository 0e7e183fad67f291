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
from pyuapi.uapi import tun as T, tun_hash, virtio_net as V
from pyuapi import HashConfig, Packet
from pyuapi.config import diagnose_vnet_hash, vnet_hash_problems
from pyuapi.testkit.guardpage import GuardedBuffer
from vm import pipeline, source

REPO = Path(__file__).resolve().parents[2]
KEY = bytes(range(1, 41))


def test_design_md_defines_match() -> None:
    text = (REPO / "docs" / "design.md").read_text()
    defines = dict(re.findall(r"#define\s+(TUN_VNET_HASH_\w+)\s+(0x[0-9a-fA-F]+|\d+)", text))
    assert set(defines) == {"TUN_VNET_HASH_RSS", "TUN_VNET_HASH_REPORT", "TUN_VNET_HASH_KEY_SIZE",
                            "TUN_VNET_HASH_CAP_SIZE_VER0", "TUN_VNET_HASH_SIZE_VER0"}
    for name, value in defines.items():
        assert getattr(T, name) == int(value, 0), name
    for nr, name in ((228, "TUNGETVNETHASHCAP"), (229, "TUNSETVNETHASH"), (230, "TUNGETVNETHASH")):
        assert re.search(rf"#define {name}\s+_IO\('T', {nr}\)", text), name
        assert getattr(T, name) == (ord("T") << 8 | nr), name      # _IO: no size, no direction


def test_max_table_length_is_not_uapi() -> None:
    """v2 dropped TUN_VNET_HASH_MAX_INDIRECTION_TABLE_LENGTH: the cap reports the limit."""
    assert not hasattr(T, "TUN_VNET_HASH_MAX_INDIRECTION_TABLE_LENGTH")
    assert not any("MAX" in name for name in T.CONSTANTS)
    assert T.MAX_TABLE_LENGTH == 128 and "MAX_TABLE_LENGTH" not in T.NEW_NAMES


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
    assert len(p) == 56 + 8
    assert int.from_bytes(p[0:4], "little") == 56                # size
    assert p[4:6] == (3).to_bytes(2, "little")                   # flags
    assert int.from_bytes(p[6:8], "little") == 3                 # mask
    assert int.from_bytes(p[8:12], "little") == 0x1FF            # types
    assert int.from_bytes(p[12:14], "little") == 7               # unclassified_queue
    assert p[14:16] == b"\0\0" and p[16:56] == KEY
    assert [int.from_bytes(p[56 + 2 * i:58 + 2 * i], "little") for i in range(4)] == [3, 2, 1, 0]
    h, table = tun_hash.decode_vnet_hash(p)
    assert (h.size, h.flags, h.types, h.unclassified_queue) == (56, 3, 0x1FF, 7)
    assert table == [3, 2, 1, 0]


def test_encode_size_puts_the_table_at_size() -> None:
    cfg = HashConfig(T.TUN_VNET_HASH_RSS, 1, KEY, (5, 6), size=64, tail=b"\0\x09")
    p = cfg.encode()
    assert len(p) == 64 + 4 and int.from_bytes(p[0:4], "little") == 64
    assert p[56:64] == b"\0\x09" + bytes(6)                      # tail, then zeros up to size
    assert p[64:68] == b"\x05\0\x06\0"
    h, table = tun_hash.decode_vnet_hash(p)
    assert table == [5, 6]
    assert tun_hash.decode_vnet_hash(p[:56] + p[64:], size=56)[1] == [5, 6]
    # a size the kernel refuses unread: only the 56-byte struct, the table right after it
    for size in (55, 0, T.MAX_ARG_SIZE + 1, 0xFFFFFFFF):
        q = HashConfig(T.TUN_VNET_HASH_RSS, 1, KEY, (5, 6), size=size).encode()
        assert int.from_bytes(q[0:4], "little") == size and len(q) == 56 + 4
    with pytest.raises(ValueError, match="tail"):
        HashConfig(0, 0, bytes(40), size=57, tail=b"\1\2").encode()
    with pytest.raises(ValueError, match="__u32"):
        HashConfig(0, 0, bytes(40), size=1 << 32).encode()


def test_encode_without_rss_has_no_table_and_zero_mask() -> None:
    p = HashConfig(T.TUN_VNET_HASH_REPORT, 1, KEY, (0, 1)).encode()
    assert len(p) == 56 and p[6:8] == b"\0\0" and p[12:14] == b"\0\0"
    explicit = HashConfig(T.TUN_VNET_HASH_REPORT, 1, KEY, mask=3, unclassified_queue=1).encode()
    assert explicit[6:8] == b"\x03\x00" and explicit[12:14] == b"\x01\x00"


def test_encode_pad_checked_unless_asked() -> None:
    cfg = HashConfig(0, 0, KEY, pad=b"\x00\x01")
    with pytest.raises(ValueError, match="pad"):
        cfg.encode()
    assert cfg.encode(check=False)[14:16] == b"\x00\x01"
    with pytest.raises(ValueError, match="40 bytes"):
        HashConfig(0, 0, KEY[:39]).encode()


def test_canonical_is_what_the_kernel_keeps() -> None:
    rss = HashConfig(1, 3, KEY, [1, 0], 2, mask=1, size=64, tail=b"\0")
    assert rss.canonical() == HashConfig(1, 3, KEY, (1, 0), 2)
    assert HashConfig(2, 3, KEY, (1, 0)).canonical() == HashConfig(2, 3, KEY)
    assert HashConfig(0, 0, bytes(40), size=128).canonical() == HashConfig.disabled()


def _cap(types: int = V.VIRTIO_NET_RSS_HASH_TYPE_ALL) -> T.tun_vnet_hash_cap:
    c = T.tun_vnet_hash_cap()
    c.flags, c.max_indirection_table_length, c.types, c.key_size = 3, 128, types, 40
    return c


@pytest.mark.parametrize("cfg,hdr,le,expect", [
    (HashConfig(4, 0, KEY), 20, True, "unknown bits 0x4"),
    (HashConfig(2, 0, KEY, pad=b"\x01\x00"), 20, True, "pad"),
    (HashConfig(2, 1 << 9, KEY), 20, True, "not supported"),
    (HashConfig(1, 1, KEY, (0, 1, 2)), 20, True, "length 3"),
    (HashConfig(1, 1, KEY, tuple(range(256))), 20, True, "length 256"),
    (HashConfig(2, 1, KEY, mask=1), 20, True, "without RSS"),
    (HashConfig(2, 1, KEY, unclassified_queue=1), 20, True, "without RSS"),
    (HashConfig(0, 1, bytes(40)), 20, True, "flags 0 with non-zero types"),
    (HashConfig(0, 0, KEY), 20, True, "flags 0 with non-zero key"),
    (HashConfig(0, 0, bytes(40), mask=1, unclassified_queue=1), 20, True,
     "flags 0 with non-zero indirection_table_mask, unclassified_queue"),
    (HashConfig(2, 1, KEY), 12, True, "12-byte"),
    (HashConfig(2, 1, KEY), 20, False, "big-endian"),
    (HashConfig(2, 1, KEY, size=55), 20, True, "size 55 is below"),
    (HashConfig(2, 1, KEY, size=T.MAX_ARG_SIZE + 1), 20, True, "above a page"),
    (HashConfig(2, 1, KEY, size=64, tail=b"\0\0\1"), 20, True, "past the 56"),
])
def test_diagnose_rows(cfg: HashConfig, hdr: int, le: bool, expect: str) -> None:
    why = diagnose_vnet_hash(cfg, _cap(), hdr, le)
    assert len(why) == 1 and expect in why[0], why


def test_problems_carry_the_errno_in_the_kernels_order() -> None:
    e2big = HashConfig(4, 0, KEY, size=64, tail=b"\1")
    assert [e for e, _m in vnet_hash_problems(e2big, _cap())] == [errno.E2BIG, errno.EINVAL]
    bad_size = HashConfig(4, 0, KEY, pad=b"\1\1", size=40)     # nothing past the size is read
    assert [e for e, _m in vnet_hash_problems(bad_size)] == [errno.EINVAL]
    assert vnet_hash_problems(HashConfig(1, 1, KEY, (0,), size=4096, tail=bytes(100))) == []
    with pytest.raises(errors.TunError) as ei:
        e2big.validate(_cap())
    assert ei.value.errno == errno.E2BIG and "past the 56" in str(ei.value)
    assert "flags has unknown" not in str(ei.value)
    small_cap = _cap()
    small_cap.max_indirection_table_length = 64
    assert "<= 64" in diagnose_vnet_hash(HashConfig(1, 1, KEY, (0,) * 128), small_cap, 20, True)[0]


def test_diagnose_clean_config() -> None:
    cfg = HashConfig(3, 0x1FF, KEY, tuple(range(128)), 5)
    assert diagnose_vnet_hash(cfg, _cap(), 20, True) == []
    assert diagnose_vnet_hash(HashConfig.disabled(), _cap(), 12, False) == []


def test_errors_are_oserrors_with_cause() -> None:
    e = errors.TunError(errno.EBUSY, "TUNSETSTEERINGEBPF")
    assert isinstance(e, OSError) and e.errno == errno.EBUSY
    assert "TUNSETSTEERINGEBPF" in str(e) and "RSS is on" in str(e)
    m = errors.FeatureMissingError(errno.EINVAL, "TUNGETVNETHASHCAP")
    assert isinstance(m, errors.TunError) and m.errno == errno.EINVAL
    assert "boot a kernel built from patches/" in str(m)
    assert "docs/design.md" in errors.likely_cause("TUNSETVNETHASH", errno.EINVAL)
    assert "TUNSETIFF" in errors.likely_cause("TUNGETVNETHDRSZ", errno.EBADFD)
    for name, err, words in (("TUNSETVNETHASH", errno.E2BIG, "past the 56"),
                             ("TUNSETVNETHASH", errno.EINVAL, "size below"),
                             ("TUNSETVNETHASH", errno.EBADFD, "checked before the device"),
                             ("TUNGETVNETHASH", errno.EINVAL, "size below"),
                             ("TUNGETVNETHASH", errno.EBADFD, "TUNSETIFF"),
                             ("TUNGETVNETHASHCAP", errno.E2BIG, "above a page")):
        msg = str(errors.TunError(err, name))
        assert name in msg and os.strerror(err) in msg and words in msg, msg


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
