# SPDX-License-Identifier: MIT
"""Each row of the docs/design.md validation table: the documented errno from
pyuapi, and the earlier configuration is still in force (TUNGETVNETHASH
returns it, and it still steers and hashes a probe)."""

from __future__ import annotations

import dataclasses
import errno
import os
from typing import Callable, Iterator

import pytest

from pyuapi.testkit import bpf, packets as P
from pyuapi.uapi import tun as T, virtio_net as V
from pyuapi.errors import FeatureMissingError, TunError
from pyuapi import HashConfig, Tap
from pyuapi.testkit.guardpage import GuardedBuffer

from tests.lib.taps import mismatches

RSS, REPORT = T.TUN_VNET_HASH_RSS, T.TUN_VNET_HASH_REPORT
K1 = bytes(range(0x40, 0x68))
K2 = bytes(range(0x90, 0xB8))


def probes() -> list[bytes]:
    s4, d4, s6, d6 = "10.7.0.1", "10.7.0.2", "2001:db8:7::1", "2001:db8:7::2"
    return [
        P.ether(P.ipv4(s4, d4, 6, P.tcp(s4, d4, 1111, 2222)), P.ETH_P_IP),
        P.udp4_frame(s4, d4, 3333, 4444),
        P.ether(P.ipv6(s6, d6, 6, P.tcp(s6, d6, 5555, 6666)), P.ETH_P_IPV6),
        P.ether(P.ipv6(s6, d6, 17, P.udp(s6, d6, 7, 8), ext=[P.rh2("2001:db8:7::9")]),
                P.ETH_P_IPV6),
        P.ether(b"\x00\x01\x08\x00\x06\x04\x00\x01" + bytes(20), P.ETH_P_ARP),
    ]


def base_cfg(cap: T.tun_vnet_hash_cap, flags: int = RSS | REPORT) -> HashConfig:
    """The earlier configuration: with RSS, most IP frames to fd-queue 2,
    non-IP to 1; without RSS no table and no unclassified queue (EINVAL)."""
    if not flags & RSS:
        return HashConfig(flags, cap.types, K1)
    return HashConfig(flags, cap.types, K1, (2, 2, 2, 2, 2, 2, 2, 0), unclassified_queue=1)


def other_cfg() -> HashConfig:
    """A valid configuration that would steer and hash observably differently."""
    return HashConfig(RSS | REPORT, V.VIRTIO_NET_RSS_HASH_TYPE_IPv4, K2, (3, 3, 3, 3),
                      unclassified_queue=0)


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


def expect_errno(err: int, ioctl: str, fn: Callable[[], object]) -> TunError:
    with pytest.raises(TunError) as ei:
        fn()
    e = ei.value
    assert not isinstance(e, FeatureMissingError), str(e)
    assert (e.errno, e.ioctl) == (err, ioctl), str(e)
    return e


def unsupported_bit(cap: T.tun_vnet_hash_cap) -> int:
    free = ~cap.types & 0xFFFFFFFF
    return free & -free


EINVAL_ROWS: dict[str, Callable[[T.tun_vnet_hash_cap], HashConfig]] = {
    "flags-unknown-bit": lambda c: dataclasses.replace(other_cfg(), flags=RSS | REPORT | 0x4),
    "flags-high-bit": lambda c: dataclasses.replace(other_cfg(), flags=REPORT | 0x8000),
    "pad-not-zero": lambda c: dataclasses.replace(other_cfg(), pad=b"\x00\x01"),
    "pad-first-byte": lambda c: dataclasses.replace(other_cfg(), pad=b"\x80\x00"),
    "types-unsupported": lambda c: dataclasses.replace(other_cfg(),
                                                       types=unsupported_bit(c) | 1),
    "table-not-power-of-two": lambda c: dataclasses.replace(other_cfg(), table=(3, 3, 3)),
    "table-longer-than-128": lambda c: dataclasses.replace(other_cfg(), table=(3,) * 256),
    "mask-without-rss": lambda c: dataclasses.replace(other_cfg(), flags=REPORT, mask=1),
    "unclassified-without-rss": lambda c: dataclasses.replace(other_cfg(), flags=REPORT,
                                                              unclassified_queue=1),
    "flags-0-types": lambda c: HashConfig(0, V.VIRTIO_NET_RSS_HASH_TYPE_IPv4, bytes(40)),
    "flags-0-key": lambda c: HashConfig(0, 0, K2),
    "flags-0-mask": lambda c: HashConfig(0, 0, bytes(40), mask=1),
    "flags-0-unclassified": lambda c: HashConfig(0, 0, bytes(40), unclassified_queue=2),
    "size-below-56": lambda c: dataclasses.replace(other_cfg(), size=55),
    "size-0": lambda c: dataclasses.replace(other_cfg(), size=0),
}
E2BIG_ROWS: dict[str, Callable[[T.tun_vnet_hash_cap], HashConfig]] = {
    "size-above-a-page": lambda c: dataclasses.replace(other_cfg(), size=T.MAX_ARG_SIZE + 1),
    "size-u32-max": lambda c: dataclasses.replace(other_cfg(), size=0xFFFFFFFF),
    "tail-last-byte": lambda c: dataclasses.replace(other_cfg(), size=64, tail=bytes(7) + b"\1"),
    "tail-first-byte": lambda c: dataclasses.replace(other_cfg(), size=T.MAX_ARG_SIZE,
                                                     tail=b"\x80"),
}


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
