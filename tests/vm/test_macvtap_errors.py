# SPDX-License-Identifier: MIT
"""The validation of the hash ioctls on /dev/tapN (macvtap, ipvtap: drivers/net/tap.c).

The argument rows are tun's (docs/design.md "Validation", the rows of
tests.lib.hashcases); a failing call changes nothing (TUNGETVNETHASH and
probe frames after each).  Where tap.c differs: REPORT needs the calling
file's header (IFF_VNET_HDR, >= 20 bytes, little endian); while REPORT is
on, TUNSETVNETHDRSZ below 20, TUNSETVNETLE/BE making a header big endian
and TUNSETIFF without IFF_VNET_HDR are EBUSY on every file of the device;
there is no steering program; a file whose link was deleted answers
ENOLINK (TUNSETVNETHASH after checking its argument).
"""

from __future__ import annotations

import ctypes
import dataclasses
import errno

import pytest

from pyuapi import HashConfig, TapDev, hashio, sysio
from pyuapi.errors import TunError
from pyuapi.tapdev import TAP_FLAGS
from pyuapi.testkit.guardpage import GuardedBuffer
from pyuapi.uapi import tun as T, virtio_net as V

from tests.lib.hashcases import (E2BIG_ROWS, EINVAL_ROWS, base_cfg, expect_errno, other_cfg,
                                 probes)
from tests.lib.tapdevs import Rig, TapDevFactory
from tests.lib.taps import mismatches, report_ready, require_hash

RSS, REPORT = T.TUN_VNET_HASH_RSS, T.TUN_VNET_HASH_REPORT
VNET = T.IFF_VNET_HDR


def unchanged(rig: Rig, cfg: HashConfig) -> list[str]:
    """What differs from ``cfg`` in force: TUNGETVNETHASH, then the probes."""
    got = rig.dev.get_vnet_hash()
    if got != cfg.canonical():
        return [f"TUNGETVNETHASH {got}, set {cfg.canonical()}"]
    return mismatches(rig.dev, cfg, rig.prepare(probes()), via=rig.via)


def with_base(make_tapdev: TapDevFactory, tap_kind: str, queues: int = 4,
              flags: int = RSS | REPORT) -> tuple[Rig, TapDev, HashConfig]:
    """``queues`` files ready for REPORT, base_cfg in force and checked."""
    rig = make_tapdev(tap_kind, queues)
    cap = require_hash(rig.dev)
    report_ready(rig.dev)
    cfg = base_cfg(cap, flags)
    rig.dev.set_vnet_hash(cfg)
    assert unchanged(rig, cfg) == []
    return rig, rig.tapdev, cfg


def cross_endian(dev: TapDev) -> None:
    """Skip without CONFIG_TUN_VNET_CROSS_LE (TUNGETVNETBE EINVAL; vm/config sets it)."""
    try:
        dev.vnet_be(0)
    except TunError as e:
        if e.errno == errno.EINVAL:
            pytest.skip("kernel built without CONFIG_TUN_VNET_CROSS_LE")
        raise


def test_argument_rows_change_nothing(make_tapdev: TapDevFactory, tap_kind: str) -> None:
    rig, dev, base = with_base(make_tapdev, tap_kind)
    cap = dev.hash_cap()
    failed = []
    for err, rows in ((errno.EINVAL, EINVAL_ROWS), (errno.E2BIG, E2BIG_ROWS)):
        for row, bad in rows.items():
            try:
                expect_errno(err, "TUNSETVNETHASH", lambda: dev.set_vnet_hash_unchecked(bad(cap)))
                assert unchanged(rig, base) == []
            except AssertionError as e:
                failed.append(f"{row}: {e}")
    assert failed == []


@pytest.mark.parametrize("fault_at", [2, 30, 56, 60])
def test_efault_changes_nothing(make_tapdev: TapDevFactory, tap_kind: str, fault_at: int) -> None:
    rig, dev, base = with_base(make_tapdev, tap_kind)
    payload = dataclasses.replace(other_cfg(), table=(3,) * 8).encode()
    with GuardedBuffer() as g:
        addr = g.place(payload, fault_at)
        expect_errno(errno.EFAULT, "TUNSETVNETHASH", lambda: dev.set_vnet_hash_at(addr))
    assert unchanged(rig, base) == []


def test_report_needs_the_calling_files_header(make_tapdev: TapDevFactory, tap_kind: str) -> None:
    rig, dev, base = with_base(make_tapdev, tap_kind, queues=2, flags=RSS)
    cross_endian(dev)
    late = dev.add_queue()                         # 10 bytes, native (little) endian
    want = other_cfg().encode()

    def via(q: int) -> None:
        hashio.set_vnet_hash_raw(dev.fds[q], want)

    expect_errno(errno.EINVAL, "TUNSETVNETHASH", lambda: via(late))          # 10 bytes
    dev.set_vnet_hdr_sz(V.VNET_HDR_V1_HASH_LEN, queue=late)
    dev.set_vnet_be(True, queue=late)
    expect_errno(errno.EINVAL, "TUNSETVNETHASH", lambda: via(late))          # big endian
    dev.set_vnet_le(True, queue=late)                                        # LE wins over BE
    dev.set_iff(TAP_FLAGS, late)
    expect_errno(errno.EINVAL, "TUNSETVNETHASH", lambda: via(late))          # no IFF_VNET_HDR
    assert unchanged(rig, base) == []
    dev.set_iff(TAP_FLAGS | VNET, late)
    via(late)
    assert dev.get_vnet_hash() == other_cfg().canonical()


def test_report_locks_every_files_header(make_tapdev: TapDevFactory, tap_kind: str) -> None:
    rig, dev, base = with_base(make_tapdev, tap_kind, queues=2)
    cross_endian(dev)
    late = dev.add_queue()
    busy = {
        "TUNSETVNETHDRSZ": [lambda q: dev.set_vnet_hdr_sz(19, q),
                            lambda q: dev.set_vnet_hdr_sz(10, q)],
        "TUNSETIFF": [lambda q: dev.set_iff(TAP_FLAGS, q)],
    }
    for q in (0, 1, late):
        for ioctl, calls in busy.items():
            for call in calls:
                expect_errno(errno.EBUSY, ioctl, lambda: call(q))
        assert dev.vnet_hdr[q] and dev.vnet_hdr_sz(q) == (10 if q == late else 20)
    dev.set_vnet_hdr_sz(24, queue=0)               # growing is fine
    dev.set_vnet_be(True, queue=0)                 # still little endian: TUN_VNET_LE wins
    expect_errno(errno.EBUSY, "TUNSETVNETLE", lambda: dev.set_vnet_le(False, queue=0))
    expect_errno(errno.EBUSY, "TUNSETVNETBE", lambda: dev.set_vnet_be(True, queue=late))
    assert dev.little_endian(0) and dev.little_endian(late)
    dev.set_iff(TAP_FLAGS | VNET | T.IFF_MULTI_QUEUE, 1)     # keeping IFF_VNET_HDR is fine
    assert unchanged(rig, base) == []
    dev.disable_vnet_hash()                        # the lock goes with REPORT
    dev.set_vnet_le(False, queue=0)
    dev.set_vnet_hdr_sz(10, queue=1)
    dev.set_iff(TAP_FLAGS, late)


def test_no_steering_program_on_tap(make_tapdev: TapDevFactory, tap_kind: str) -> None:
    """tap.c has no TUNSETSTEERINGEBPF: EINVAL, and RSS is never EBUSY for it."""
    _rig, dev, _base = with_base(make_tapdev, tap_kind, queues=1, flags=REPORT)
    for prog in (-1, 0):
        assert sysio.ioctl(dev.fds[0], T.TUNSETSTEERINGEBPF, ctypes.c_int(prog)) == -errno.EINVAL
    dev.set_vnet_hash(HashConfig(RSS, 0, bytes(40), (0,)))


def test_enolink_after_the_link_is_deleted(make_tapdev: TapDevFactory, tap_kind: str) -> None:
    rig, dev, _base = with_base(make_tapdev, tap_kind, queues=2)
    cap = dev.hash_cap()
    rig.delete()
    assert dev.hash_cap().pack() == cap.pack()     # needs no device
    expect_errno(errno.ENOLINK, "TUNGETVNETHASH", dev.get_vnet_hash)
    for size in (8, T.MAX_ARG_SIZE + 1):           # the device before the size, as on tun
        expect_errno(errno.ENOLINK, "TUNGETVNETHASH",
                     lambda: hashio.get_vnet_hash_raw(dev.fds[0], size))
    expect_errno(errno.ENOLINK, "TUNSETVNETHASH", lambda: dev.set_vnet_hash(other_cfg()))
    expect_errno(errno.ENOLINK, "TUNSETVNETHASH", dev.disable_vnet_hash)
    for row in ("pad-not-zero", "size-below-56", "table-not-power-of-two"):
        expect_errno(errno.EINVAL, "TUNSETVNETHASH",
                     lambda: dev.set_vnet_hash_unchecked(EINVAL_ROWS[row](cap)))
    for row in ("size-above-a-page", "tail-last-byte"):
        expect_errno(errno.E2BIG, "TUNSETVNETHASH",
                     lambda: dev.set_vnet_hash_unchecked(E2BIG_ROWS[row](cap)))
    with GuardedBuffer() as g:
        addr = g.place(other_cfg().encode(), 30)
        expect_errno(errno.EFAULT, "TUNSETVNETHASH", lambda: dev.set_vnet_hash_at(addr))
    # the header belongs to the file: it still answers, and REPORT went with the link
    assert dev.vnet_hdr_sz(0) == V.VNET_HDR_V1_HASH_LEN
    dev.set_vnet_hdr_sz(10, queue=0)
    dev.set_iff(TAP_FLAGS, 1)
    expect_errno(errno.EINVAL, "TUNSETQUEUE", lambda: dev.detach_queue(0))
    assert dev.drain_all() == []
