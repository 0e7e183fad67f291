# SPDX-License-Identifier: MIT
"""Each row of the docs/design.md validation table: the documented errno from
pyuapi, and the earlier configuration is still in force (TUNGETVNETHASH
returns it, and it still steers and hashes a probe)."""

from __future__ import annotations

import dataclasses
import errno
import os
from typing import Iterator

import pytest

from pyuapi.testkit import bpf
from pyuapi.uapi import tun as T
from pyuapi.errors import TunError
from pyuapi import HashConfig, Tap
from pyuapi.testkit.guardpage import GuardedBuffer

from tests.lib.hashcases import (E2BIG_ROWS, EINVAL_ROWS, base_cfg, expect_errno, other_cfg,
                                 probes)
from tests.lib.taps import mismatches

RSS, REPORT = T.TUN_VNET_HASH_RSS, T.TUN_VNET_HASH_REPORT


def unchanged(tap: Tap, base: HashConfig, fixed_queue: int | None = None) -> list[str]:
    """What differs from ``base`` in force: TUNGETVNETHASH, then the probes."""
    got = tap.get_vnet_hash()
    if got != base.canonical():
        return [f"TUNGETVNETHASH {got}, set {base.canonical()}"]
    return mismatches(tap, base, probes(), fixed_queue=fixed_queue)


@pytest.fixture
def tap_base(hash_tap: tuple[Tap, T.tun_vnet_hash_cap]
             ) -> Iterator[tuple[Tap, T.tun_vnet_hash_cap, HashConfig]]:
    tap, cap = hash_tap
    cfg = base_cfg(cap)
    tap.set_vnet_hash(cfg)
    assert unchanged(tap, cfg) == []
    yield tap, cap, cfg


@pytest.mark.parametrize("row", list(EINVAL_ROWS))
def test_einval_rows_change_nothing(tap_base: tuple[Tap, T.tun_vnet_hash_cap, HashConfig],
                                    row: str) -> None:
    tap, cap, base = tap_base
    bad = EINVAL_ROWS[row](cap)
    expect_errno(errno.EINVAL, "TUNSETVNETHASH", lambda: tap.set_vnet_hash_unchecked(bad))
    assert tap.vnet_hdr_sz() == 20
    assert unchanged(tap, base) == []


@pytest.mark.parametrize("row", list(E2BIG_ROWS))
def test_e2big_rows_change_nothing(tap_base: tuple[Tap, T.tun_vnet_hash_cap, HashConfig],
                                   row: str) -> None:
    tap, cap, base = tap_base
    bad = E2BIG_ROWS[row](cap)
    e = expect_errno(errno.E2BIG, "TUNSETVNETHASH", lambda: tap.set_vnet_hash_unchecked(bad))
    words = " is above a page" if row.startswith("size") else ": bytes past the 56"
    assert f"(size {bad.size}{words}" in str(e), str(e)          # the diagnosis names the row
    assert unchanged(tap, base) == []


def test_einval_diagnosis_names_the_row(tap_base: tuple[Tap, T.tun_vnet_hash_cap, HashConfig]
                                        ) -> None:
    tap, _cap, _base = tap_base
    e = expect_errno(errno.EINVAL, "TUNSETVNETHASH", lambda: tap.set_vnet_hash_unchecked(
        dataclasses.replace(other_cfg(), table=(3, 3, 3))))
    assert "length 3" in str(e)


@pytest.mark.parametrize("size,where,fault_at", [
    (56, "size", 2), (56, "struct-start", 4), (56, "struct-middle", 30),
    (56, "table-start", 56), (56, "table-middle", 60),
    (64, "zero-tail", 60), (64, "table-start-at-size", 64), (64, "table-middle", 70)])
def test_efault_anywhere_changes_nothing(tap_base: tuple[Tap, T.tun_vnet_hash_cap, HashConfig],
                                         size: int, where: str, fault_at: int) -> None:
    tap, _cap, base = tap_base
    payload = dataclasses.replace(other_cfg(), table=(3,) * 8, size=size).encode()
    assert len(payload) == size + 16
    with GuardedBuffer() as g:
        addr = g.place(payload, fault_at)
        expect_errno(errno.EFAULT, "TUNSETVNETHASH", lambda: tap.set_vnet_hash_at(addr))
    assert unchanged(tap, base) == []


@pytest.mark.parametrize("size", [10, 12, 19])
def test_report_needs_20_byte_header(hash_tap: tuple[Tap, T.tun_vnet_hash_cap],
                                     size: int) -> None:
    tap, cap = hash_tap
    base = base_cfg(cap, flags=RSS)
    tap.set_vnet_hash(base)
    tap.set_vnet_hdr_sz(size)
    expect_errno(errno.EINVAL, "TUNSETVNETHASH", lambda: tap.set_vnet_hash(other_cfg()))
    assert tap.vnet_hdr_sz() == size
    assert unchanged(tap, base) == []


def _cross_endian(tap: Tap) -> None:
    try:
        tap.vnet_be()
    except TunError as e:
        if e.errno == errno.EINVAL:
            pytest.skip("kernel built without CONFIG_TUN_VNET_CROSS_LE (vm/config sets it)")
        raise


def test_report_needs_little_endian_header(hash_tap: tuple[Tap, T.tun_vnet_hash_cap]) -> None:
    tap, cap = hash_tap
    _cross_endian(tap)
    base = base_cfg(cap, flags=RSS)
    tap.set_vnet_hash(base)
    tap.set_vnet_le(False)
    tap.set_vnet_be(True)
    assert not tap.little_endian()
    expect_errno(errno.EINVAL, "TUNSETVNETHASH", lambda: tap.set_vnet_hash(other_cfg()))
    assert unchanged(tap, base) == []


def test_rss_while_steering_ebpf_is_ebusy(hash_tap: tuple[Tap, T.tun_vnet_hash_cap]) -> None:
    tap, cap = hash_tap
    base = base_cfg(cap, flags=REPORT)
    tap.set_vnet_hash(base)
    prog = bpf.load_const_prog(3)
    try:
        tap.set_steering_ebpf(prog)
    finally:
        os.close(prog)
    q3 = tap.fd_index_of_kernel_queue(3)
    assert unchanged(tap, base, fixed_queue=q3) == []
    expect_errno(errno.EBUSY, "TUNSETVNETHASH", lambda: tap.set_vnet_hash(other_cfg()))
    assert unchanged(tap, base, fixed_queue=q3) == []
    tap.set_steering_ebpf(-1)


def test_steering_ebpf_while_rss_is_ebusy(tap_base: tuple[Tap, T.tun_vnet_hash_cap, HashConfig]
                                          ) -> None:
    tap, _cap, base = tap_base
    prog = bpf.load_const_prog(3)
    try:
        expect_errno(errno.EBUSY, "TUNSETSTEERINGEBPF", lambda: tap.set_steering_ebpf(prog))
    finally:
        os.close(prog)
    assert unchanged(tap, base) == []


@pytest.mark.parametrize("size", [10, 12, 19])
def test_shrinking_header_while_report_is_ebusy(
        tap_base: tuple[Tap, T.tun_vnet_hash_cap, HashConfig], size: int) -> None:
    tap, _cap, base = tap_base
    expect_errno(errno.EBUSY, "TUNSETVNETHDRSZ", lambda: tap.set_vnet_hdr_sz(size))
    assert tap.vnet_hdr_sz() == 20
    tap.set_vnet_hdr_sz(24)             # growing is fine
    tap.set_vnet_hdr_sz(20)
    assert unchanged(tap, base) == []


def test_vnetbe_while_report_is_ebusy(tap_base: tuple[Tap, T.tun_vnet_hash_cap, HashConfig]
                                      ) -> None:
    tap, _cap, base = tap_base
    _cross_endian(tap)
    tap.set_vnet_le(False)              # still little endian: legacy native order
    assert tap.little_endian()
    expect_errno(errno.EBUSY, "TUNSETVNETBE", lambda: tap.set_vnet_be(True))
    assert not tap.vnet_be() and tap.little_endian()
    assert unchanged(tap, base) == []


def test_vnetle_clear_making_be_while_report_is_ebusy(
        hash_tap: tuple[Tap, T.tun_vnet_hash_cap]) -> None:
    tap, cap = hash_tap
    _cross_endian(tap)
    tap.set_vnet_le(True)
    tap.set_vnet_be(True)               # LE flag wins: header still little endian
    assert tap.little_endian()
    base = base_cfg(cap)
    tap.set_vnet_hash(base)
    expect_errno(errno.EBUSY, "TUNSETVNETLE", lambda: tap.set_vnet_le(False))
    assert tap.vnet_le()
    assert unchanged(tap, base) == []
