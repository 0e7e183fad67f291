# SPDX-License-Identifier: MIT
"""pyuapi.check's probes: a mutated ctypes struct makes the checker fail.

Each mutation keeps every size and offset, so comparing sizes and offsets
alone (the checker before issue 15) reports "0 differences"; the probes of
pyuapi.check.probes (signedness, the bytes after -1/1/0, alignof) do not.
Also: the header-version shapes of struct virtio_net_hdr_v1_hash.
"""

from __future__ import annotations

import ctypes
import re
from pathlib import Path
from typing import Any

import pytest

from pyuapi import check
from pyuapi.check import probes
from pyuapi.testkit import bpf
from pyuapi.uapi import tun, virtio_net
from pyuapi.uapi.layout import CheckedStructure

SYS = Path("/usr/include")
BASES = {"6.12": Path("/tmp/k612/linux-source-6.12/usr/include"),
         "7.3": Path("/tmp/k73/linux-source-7.3/usr/include")}
le16 = ctypes.c_uint16.__ctype_le__
be16 = ctypes.c_uint16.__ctype_be__


def mutated(cls: type, field: str | None = None, ctype: type | None = None,
            **attrs: Any) -> type:
    """A copy of ``cls`` (same C name) with ``field`` retyped and/or class attributes changed."""
    fields = [(n, ctype if n == field else t) for n, t, *_ in cls._fields_]
    keep = {k: getattr(cls, k) for k in ("_c_name_", "_c_header_", "_new_", "_flex_",
                                         "_c_absent_fields_", "_c_compat_") if hasattr(cls, k)}
    return type(cls.__name__, (CheckedStructure,), {**keep, **attrs, "_fields_": fields})


def diffs(struct: type) -> dict[str, tuple[object, object]]:
    res = check.run_check(SYS, structs=[struct])
    assert res.compared > 10 and not res.ok
    return {f.key: (f.c_value, f.py_value) for f in res.differences}


def old_checker_keys(keys: set[str]) -> set[str]:
    """The keys the size/offset-only checker compared."""
    return {k for k in keys if k.startswith(("sizeof(", "offsetof("))}


@pytest.mark.parametrize("cls,field,ctype", [
    (tun.tun_pi, "flags", ctypes.c_int16),                     # __u16 -> signed
    (virtio_net.virtio_net_hdr, "gso_size", ctypes.c_int16.__ctype_le__),
    (bpf.bpf_insn, "imm", ctypes.c_uint32),                    # __s32 -> unsigned
])
def test_signedness_change_fails(cls: type, field: str, ctype: type) -> None:
    d = diffs(mutated(cls, field, ctype))
    cname = cls._c_name_
    assert set(d) == {f"signed({cname}.{field})"}, d
    assert not old_checker_keys(set(d))


@pytest.mark.parametrize("cls,field,ctype", [
    (virtio_net.virtio_net_hdr, "hdr_len", be16),              # __virtio16 (LE) declared BE
    (tun.tun_pi, "proto", ctypes.c_uint16),                    # __be16 declared native (LE)
])
def test_byte_order_change_fails(cls: type, field: str, ctype: type) -> None:
    d = diffs(mutated(cls, field, ctype))
    cname = cls._c_name_
    # -1 and 0 are the same bytes in either order; 1 is not
    assert set(d) == {f"bytes({cname}.{field} = 1)"}, d
    c_bytes, py_bytes = d[f"bytes({cname}.{field} = 1)"]
    assert bytes.fromhex(str(c_bytes))[::-1] != bytes.fromhex(str(py_bytes))


def test_byte_order_change_in_a_nested_struct_fails() -> None:
    inner = mutated(virtio_net.virtio_net_hdr_v1, "csum_start", be16)
    outer = mutated(virtio_net.virtio_net_hdr_v1_hash, "hdr", inner)
    d = diffs(outer)
    assert "bytes(struct virtio_net_hdr_v1_hash.hdr.csum_start = 1)" in d
    assert not old_checker_keys(set(d))


def test_alignment_change_fails() -> None:
    # packed: every size and offset as before, but alignof 1 instead of 4
    packed = mutated(tun.sock_filter, _pack_=1, _packed_header_=True)
    assert ctypes.sizeof(packed) == ctypes.sizeof(tun.sock_filter)
    assert diffs(packed) == {"alignof(struct sock_filter)": (4, 1)}


def test_every_leaf_is_probed() -> None:
    keys = {e.key for e in check.expected_items()}
    for cls in check.STRUCTS:
        for path, _off, _size in probes.fields(cls):
            assert f"offsetof({cls._c_name_}, {path})" in keys
    for k in ("signed(struct virtio_net_hdr_v1_hash.hdr.num_buffers)",
              "bytes(struct tun_vnet_hash.key[39] = -1)", "alignof(struct vhost_memory)",
              "bytes(struct ifreq.ifr_ifru.ifru_flags = 1)", "signed(struct bpf_insn.off)"):
        assert k in keys, k


def _hash_header(tmp: Path, split: bool) -> Path:
    """/usr/include with virtio_net.h's hash_value as is (6.12 shape) or split (7.3 shape)."""
    for sub in ("linux", "asm"):
        (tmp / sub).mkdir(parents=True, exist_ok=True)
    (tmp / "linux/if_tun.h").write_text((SYS / "linux/if_tun.h").read_text())
    vn = (SYS / "linux/virtio_net.h").read_text()
    if split:
        vn, n = re.subn(r"__le32 hash_value;", "__le16 hash_value_lo;\n\t__le16 hash_value_hi;", vn)
        assert n == 1
    (tmp / "linux/virtio_net.h").write_text(vn)
    return tmp


@pytest.mark.parametrize("split", [False, True], ids=["6.12-shape", "7.3-shape"])
def test_hash_value_shapes(tmp_path: Path, split: bool) -> None:
    hdrs = _hash_header(tmp_path, split)
    res = check.run_check(hdrs, structs=[virtio_net.virtio_net_hdr_v1_hash])
    assert res.differences == [], "\n".join(map(str, res.differences))
    keys = {e.key for e in check.expected_items([virtio_net.virtio_net_hdr_v1_hash])}
    assert "alignof(struct virtio_net_hdr_v1_hash)" in keys
    if split:
        assert res.notes == []
    else:
        assert len(res.notes) == 1 and "hash_value_lo + hash_value_hi" in res.notes[0]


def test_hash_value_property_is_the_two_halves() -> None:
    h = virtio_net.virtio_net_hdr_v1_hash()
    h.hash_value = 0x11223344
    assert (h.hash_value_lo, h.hash_value_hi) == (0x3344, 0x1122)
    assert bytes(h)[12:16] == (0x11223344).to_bytes(4, "little")
    assert ctypes.alignment(virtio_net.virtio_net_hdr_v1_hash) == 2   # 7.3: __le16 halves


@pytest.mark.parametrize("base", sorted(BASES))
def test_kernel_base_headers(base: str) -> None:
    """The exported headers of each base, if extracted (see pyuapi/README.md)."""
    hdrs = BASES[base]
    if not (hdrs / "linux/if_tun.h").exists():
        pytest.skip(f"no {base} headers at {hdrs}: `make headers` of linux-source-{base}")
    res = check.run_check(hdrs)
    assert res.differences == [], "\n".join(map(str, res.differences))
    assert res.ok and res.compared > 400
    assert bool(res.notes) == (base == "6.12")
