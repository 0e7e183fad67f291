# SPDX-License-Identifier: MIT
"""The public API of pyuapi: names at the top level, HashConfig, Packet (no root needed)."""

from __future__ import annotations

import ast
import errno
import subprocess
import sys
from pathlib import Path

import pytest

import pyuapi
from pyuapi import HashConfig, HashFlag, HashType, Packet, TunError
from pyuapi.uapi import virtio_net as V

REPO = Path(__file__).resolve().parents[2]
KEY = bytes(range(1, 41))


def test_top_level_names() -> None:
    for name in ("Tap", "TapDev", "HashConfig", "HashCapabilities", "HashFlag", "HashType", "HashReport",
                 "Packet", "TunError", "FeatureMissingError", "__version__"):
        assert name in pyuapi.__all__ and hasattr(pyuapi, name), name
    toml = (REPO / "pyproject.toml").read_text()
    assert 'version = {attr = "pyuapi.__version__"}' in toml


def test_no_module_getattr_and_no_import_cycle() -> None:
    """No module-level __getattr__; every pyuapi module imports alone, in a fresh interpreter."""
    mods = []
    for path in sorted((REPO / "pyuapi").rglob("*.py")):
        tree = ast.parse(path.read_text())
        assert not any(isinstance(n, ast.FunctionDef) and n.name == "__getattr__"
                       for n in tree.body), path
        rel = path.relative_to(REPO).with_suffix("")
        if rel.name != "__main__":
            mods.append(".".join(p for p in rel.parts if p != "__init__"))
    for mod in mods:
        r = subprocess.run([sys.executable, "-c", f"import {mod}"], cwd=REPO,
                           capture_output=True, text=True)
        assert r.returncode == 0, f"{mod}: {r.stderr}"


def test_hash_config_needs_a_key() -> None:
    with pytest.raises(TypeError):
        HashConfig()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        HashConfig(HashFlag.REPORT, HashType.ALL)  # type: ignore[call-arg]
    a = HashConfig.with_random_key(HashFlag.RSS, HashType.TCPv4, (0, 1))
    b = HashConfig.with_random_key(HashFlag.RSS, HashType.TCPv4, (0, 1))
    assert len(a.key) == 40 and a.key != b.key and any(a.key)
    assert a.table == (0, 1) and a.effective_mask == 1
    off = HashConfig.disabled()
    assert (off.flags, off.types, off.table) == (0, 0, ())


def _cap(types: int = HashType.ALL) -> pyuapi.HashCapabilities:
    c = pyuapi.HashCapabilities()
    c.flags, c.max_indirection_table_length, c.types, c.key_size = 3, 128, types, 40
    return c


def test_validate_raises_the_einval_diagnosis_before_any_ioctl() -> None:
    bad = HashConfig(HashFlag.RSS, HashType.IPv4, KEY, table=(0, 1, 2))
    with pytest.raises(TunError) as e:
        bad.validate(_cap())
    assert e.value.errno == errno.EINVAL and e.value.ioctl == "TUNSETVNETHASH"
    assert "RSS table length 3 is not a power of two <= 128" in str(e.value)
    assert "docs/design.md Validation" in e.value.cause
    with pytest.raises(TunError, match="UDP_EX not supported"):
        HashConfig(HashFlag.REPORT, HashType.UDP_EX, KEY).validate(_cap(HashType.IPv4))
    with pytest.raises(TunError, match="12-byte vnet header"):
        HashConfig(HashFlag.REPORT, HashType.IPv4, KEY).validate(_cap(), hdr_sz=12)
    with pytest.raises(ValueError, match="40 bytes"):
        HashConfig(HashFlag.REPORT, HashType.IPv4, KEY[:8]).validate()
    with pytest.raises(ValueError, match="the table has 2"):
        HashConfig(HashFlag.RSS, HashType.IPv4, KEY, (0, 1), mask=3).validate()
    HashConfig(HashFlag.RSS | HashFlag.REPORT, HashType.ALL, KEY, (0, 1, 2, 3)).validate(_cap())


def test_capabilities_read_as_names() -> None:
    c = _cap(HashType.IPv4 | HashType.TCPv6)
    assert c.rss and c.report and c.hash_types == HashType.IPv4 | HashType.TCPv6
    assert "flags=RSS|REPORT" in str(c) and "TCPv6" in str(c)


def test_packet_decodes_through_the_ctypes_struct() -> None:
    h = V.virtio_net_hdr_v1_hash(hash_report=pyuapi.HashReport.TCPv4)
    h.hash_value = 0xCAFEF00D
    h.hdr.num_buffers = 1
    p = Packet(0, bytes(h), b"frame")
    assert (p.hash_value, p.hash_report) == (0xCAFEF00D, pyuapi.HashReport.TCPv4)
    assert p.header().hdr.num_buffers == 1
    assert p.hash_header() is not None and p.hash_header().padding == 0
    assert Packet(0, bytes(10), b"").hash_header() is None
    with pytest.raises(ValueError):
        Packet(0, bytes(4), b"").header()


def test_get_buffer_decodes_to_the_canonical_configuration() -> None:
    """pyuapi.hashio.config_from_raw on what TUNGETVNETHASH writes (if_tun.h): the
    kernel's size (56), zeros up to the caller's size, the table at that size."""
    from pyuapi import hashio
    cfg = HashConfig(HashFlag.RSS | HashFlag.REPORT, HashType.ALL, KEY, [3, 1], 5, mask=1,
                     size=64)
    raw = bytearray(cfg.encode())
    raw[0:4] = (56).to_bytes(4, sys.byteorder)
    got = hashio.config_from_raw(bytes(raw) + b"\xa5" * 16, 64)
    assert got == cfg.canonical() == HashConfig(3, HashType.ALL, KEY, (3, 1), 5)
    assert hashio.config_from_raw(HashConfig.disabled().encode()) == HashConfig.disabled()
    for name in ("hash_cap", "get_vnet_hash_cap", "get_vnet_hash", "set_vnet_hash",
                 "set_vnet_hash_unchecked", "set_vnet_hash_at", "disable_vnet_hash"):
        assert callable(getattr(pyuapi.Tap, name)), name
