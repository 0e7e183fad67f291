# SPDX-License-Identifier: MIT
"""tests/robustness/vnet_oracle.py: the errno predicted for each docs/design.md row."""

from __future__ import annotations

import dataclasses
import errno
import random
import sys
import types
from pathlib import Path

import pytest

from pyuapi.uapi import tun as T, virtio_net as V
from pyuapi import HashConfig

sys.path.append(str(Path(__file__).resolve().parents[1] / "robustness"))
import vnet_oracle as O  # noqa: E402

ALL = V.VIRTIO_NET_RSS_HASH_TYPE_ALL
KEY = bytes(range(40))
GOOD = HashConfig(O.RSS | O.REPORT, ALL, KEY, (0, 1, 2, 3), 1)
READY = O.DevState(hdr_sz=20, vnet_le=True)


def predict(cfg: HashConfig, st: O.DevState = READY, cut: int = 0) -> frozenset[int]:
    data = cfg.encode(check=False)
    return O.predict_set_vnet_hash(data, len(data) - cut, st, ALL)[0]


@pytest.mark.parametrize("cfg,want", [
    (GOOD, set()),
    (HashConfig.disabled(), set()),
    (dataclasses.replace(GOOD, flags=O.RSS | 4), {errno.EINVAL}),
    (dataclasses.replace(GOOD, pad=b"\0\1"), {errno.EINVAL}),
    (dataclasses.replace(GOOD, types=1 << 9), {errno.EINVAL}),
    (dataclasses.replace(GOOD, table=(0, 1, 2)), {errno.EINVAL}),
    (dataclasses.replace(GOOD, table=(0,) * 256), {errno.EINVAL}),
    (HashConfig(O.REPORT, ALL, KEY, (), 0, mask=1), {errno.EINVAL}),
    (HashConfig(O.REPORT, ALL, KEY, (), 3), {errno.EINVAL}),
    (dataclasses.replace(GOOD, table=(9999,) * 128, unclassified_queue=65535), set()),
    (HashConfig(0, ALL, bytes(40)), {errno.EINVAL}),                  # flags 0, types
    (HashConfig(0, 0, KEY), {errno.EINVAL}),                          # flags 0, key
    (HashConfig(0, 0, bytes(40), mask=3), {errno.EINVAL}),            # flags 0, mask
    (dataclasses.replace(HashConfig.disabled(), size=64), set()),
    (dataclasses.replace(GOOD, size=55), {errno.EINVAL}),
    (dataclasses.replace(GOOD, size=0), {errno.EINVAL}),
    (dataclasses.replace(GOOD, size=T.MAX_ARG_SIZE + 1), {errno.E2BIG}),
    (dataclasses.replace(GOOD, size=0xFFFFFFFF, flags=0x8000), {errno.E2BIG}),  # size first
    (dataclasses.replace(GOOD, size=64), set()),
    (dataclasses.replace(GOOD, size=T.MAX_ARG_SIZE), set()),
    (dataclasses.replace(GOOD, size=64, tail=b"\0" * 7 + b"\1"), {errno.E2BIG}),
    (dataclasses.replace(GOOD, size=64, tail=b"\1", pad=b"\1\0"), {errno.E2BIG, errno.EINVAL}),
])
def test_validation_rows(cfg: HashConfig, want: set[int]) -> None:
    assert predict(cfg) == want


def test_efault_header_and_table_only_when_read() -> None:
    assert predict(GOOD, cut=len(GOOD.encode()) - 51) == {errno.EFAULT}       # struct cut
    assert predict(GOOD, cut=len(GOOD.encode()) - 3) == {errno.EFAULT}        # size cut
    assert predict(GOOD, cut=1) == {errno.EFAULT}                             # table cut
    report_only = HashConfig(O.REPORT, ALL, KEY)
    assert predict(report_only) == set()                 # 56 bytes at the guard: no table read
    wide = dataclasses.replace(GOOD, size=128)
    assert predict(wide, cut=len(wide.encode()) - 100) == {errno.EFAULT}      # zero tail cut
    bump = dataclasses.replace(GOOD, size=128, tail=b"\1")
    assert predict(bump, cut=len(bump.encode()) - 100) == {errno.EFAULT, errno.E2BIG}
    assert predict(dataclasses.replace(GOOD, size=40), cut=len(GOOD.encode()) - 4) == \
        {errno.EINVAL}                                  # only the size is read


def test_report_needs_a_big_little_endian_header_and_ebusy_rows() -> None:
    assert predict(GOOD, O.DevState(hdr_sz=19, vnet_le=True)) == {errno.EINVAL}
    assert predict(GOOD, O.DevState(hdr_sz=20, vnet_be=True)) == {errno.EINVAL}
    assert predict(GOOD, dataclasses.replace(READY, ebpf=1)) == {errno.EBUSY}
    two = predict(GOOD, O.DevState(hdr_sz=12, vnet_le=True, ebpf=1))
    assert two == {errno.EINVAL, errno.EBUSY}            # two device rows: either errno
    on = dataclasses.replace(READY, cfg=GOOD)
    assert O.predict_hdr_sz(19, on) == {errno.EBUSY}
    assert O.predict_hdr_sz(9, on) == {errno.EINVAL}
    assert O.predict_vnet_le(False, dataclasses.replace(on, vnet_be=True)) == {errno.EBUSY}
    assert O.predict_vnet_be(True, on) == frozenset()    # TUN_VNET_LE still wins
    assert O.predict_steering(True, on) == {errno.EBUSY}
    assert O.predict_steering(False, on) == frozenset()


def test_argument_rows_come_before_the_device() -> None:
    """if_tun.h: a file without a device gets EBADFD only for a valid argument."""
    gone, data = O.DevState(gone=True), GOOD.encode()
    assert O.predict_set_vnet_hash(data, len(data), gone, ALL)[0] == {errno.EBADFD}
    assert O.predict_set_vnet_hash(data, len(data), READY, ALL, bound=False)[0] == {errno.EBADFD}
    for bad, err in ((dataclasses.replace(GOOD, pad=b"\0\1"), errno.EINVAL),
                     (HashConfig(0, 1, bytes(40)), errno.EINVAL),
                     (dataclasses.replace(GOOD, size=55), errno.EINVAL),
                     (dataclasses.replace(GOOD, size=4097 + T.MAX_ARG_SIZE), errno.E2BIG),
                     (dataclasses.replace(GOOD, size=64, tail=b"\1"), errno.E2BIG)):
        raw = bad.encode(check=False)
        assert O.predict_set_vnet_hash(raw, len(raw), gone, ALL)[0] == {err}, bad
        assert O.predict_set_vnet_hash(raw, len(raw), READY, ALL, bound=False)[0] == {err}, bad
    assert O.predict_set_vnet_hash(data, len(data) - 1, gone, ALL)[0] == {errno.EFAULT}
    # a device row (REPORT's header, EBUSY) is not reached without the device
    assert O.predict_set_vnet_hash(data, len(data), O.DevState(gone=True, hdr_sz=10), ALL)[0] \
        == {errno.EBADFD}
    # an argument row wins over the device rows
    assert predict(dataclasses.replace(GOOD, pad=b"\0\1"),
                   O.DevState(hdr_sz=12, vnet_le=True, ebpf=1)) == {errno.EINVAL}


def test_tap_file_predictions() -> None:
    """drivers/net/tap.c: the calling file's header; ENOLINK; header ioctls on a deleted
    link; TUNSETIFF on a file; no steering program (vnet_oracle docstring)."""
    dev = O.DevState(cfg=GOOD, tap=True)
    ready, short = O.FileHdr(20, True), O.FileHdr()
    assert dev.for_file(ready).hdr_sz == 20 and dev.for_file(short).hdr_sz == 10
    data = GOOD.encode()
    assert O.predict_set_vnet_hash(data, len(data), dev.for_file(ready), ALL)[0] == set()
    assert O.predict_set_vnet_hash(data, len(data), dev.for_file(short), ALL)[0] == \
        {errno.EINVAL}
    bare = dev.for_file(O.FileHdr(20, True, vnet_hdr=False))
    assert O.predict_set_vnet_hash(data, len(data), bare, ALL) == \
        ({errno.EINVAL}, ["REPORT and no IFF_VNET_HDR"])
    gone = O.DevState(gone=True, tap=True).for_file(short)
    assert O.predict_set_vnet_hash(data, len(data), gone, ALL)[0] == {errno.ENOLINK}
    assert O.predict_get_vnet_hash(8, gone) == {errno.ENOLINK}
    # REPORT locks every file's header, even one that never had room
    assert O.predict_hdr_sz(12, dev.for_file(short)) == {errno.EBUSY}
    assert O.predict_vnet_be(True, dev.for_file(short)) == {errno.EBUSY}
    assert O.predict_vnet_le(False, dev.for_file(O.FileHdr(20, True, True))) == {errno.EBUSY}
    # a deleted link's file keeps its header, and no REPORT locks it any more
    assert O.predict_hdr_sz(12, gone) == set() and O.predict_hdr_sz(9, gone) == {errno.EINVAL}
    assert O.predict_vnet_be(True, gone, bound=False) == set()
    flags = T.IFF_TAP | T.IFF_NO_PI
    assert O.predict_set_iff(flags, dev) == {errno.EBUSY}
    assert O.predict_set_iff(flags | T.IFF_VNET_HDR | T.IFF_MULTI_QUEUE, dev) == set()
    assert O.predict_set_iff(flags, gone) == set()
    assert O.predict_set_iff(T.IFF_TUN | T.IFF_NO_PI, gone) == {errno.EINVAL}
    assert O.predict_set_iff(flags | T.IFF_NAPI, gone) == {errno.EINVAL}
    assert O.predict_steering(False, dev) == {errno.EINVAL}
    assert O.FileHdr(24, vnet_hdr=False).read_len == 0


def test_get_and_cap_predictions() -> None:
    assert O.predict_get_vnet_hash(56, READY) == frozenset()
    assert O.predict_get_vnet_hash(55, READY) == {errno.EINVAL}
    assert O.predict_get_vnet_hash(T.MAX_ARG_SIZE + 1, READY) == {errno.E2BIG}
    assert O.predict_get_vnet_hash(55, O.DevState(gone=True)) == {errno.EBADFD}   # device first
    assert O.predict_get_vnet_hash(56, READY, bound=False) == {errno.EBADFD}
    assert O.predict_get_cap(16) == frozenset() and O.predict_get_cap(T.MAX_ARG_SIZE) == set()
    assert O.predict_get_cap(15) == {errno.EINVAL}
    assert O.predict_get_cap(T.MAX_ARG_SIZE + 1) == {errno.E2BIG}


def test_decode_payload_inverts_encode() -> None:
    back = O.decode_payload(GOOD.encode())
    assert (back.flags, back.types, back.key, back.table, back.unclassified_queue) == \
        (GOOD.flags, GOOD.types, GOOD.key, GOOD.table, GOOD.unclassified_queue)
    assert back.canonical() == GOOD.canonical()
    wide = dataclasses.replace(GOOD, size=100, tail=b"\0\7")
    back = O.decode_payload(wide.encode())
    assert (back.size, back.tail, back.table) == (100, b"\0\7", GOOD.table)
    assert O.design_row("RSS table length 3 is not a power of two <= 128") == \
        "RSS and mask + 1 not a power of two, or > 128"
    assert O.full_cap(ALL).max_indirection_table_length == T.MAX_TABLE_LENGTH == 128


def kernel_set(data: bytes, readable: int, st: O.DevState, bound: bool) -> int:
    """TUNSETVNETHASH transcribed from drivers/net/tun_vnet.h (tun_vnet_hash_get_size,
    copy_struct_from_user, tun_vnet_hash_build, the device lookup, _commit); 0 or errno."""
    if readable < 4:
        return errno.EFAULT
    usize = int.from_bytes(data[:4], sys.byteorder)
    if usize < 56:
        return errno.EINVAL
    if usize > T.MAX_ARG_SIZE:
        return errno.E2BIG
    for i in range(56, usize):                      # check_zeroed_user, then copy_from_user
        if i >= readable:
            return errno.EFAULT
        if data[i]:
            return errno.E2BIG
    if readable < 56:
        return errno.EFAULT
    _size, flags, mask, types, uq, pad, key = O._HEADER.unpack_from(data)
    if flags & ~3 or any(pad) or types & ~ALL:
        return errno.EINVAL
    if not flags:
        if types or any(key) or mask or uq:
            return errno.EINVAL
    elif flags & O.RSS:
        n = mask + 1
        if n & (n - 1) or n > 128:
            return errno.EINVAL
        if readable < usize + 2 * n:
            return errno.EFAULT
    elif mask or uq:
        return errno.EINVAL
    if st.gone or not bound:
        return errno.ENOLINK if st.tap else errno.EBADFD       # tap.c tap_set_vnet_hash
    if flags & O.REPORT and (not st.vnet_hdr or st.hdr_sz < 20 or not st.little_endian):
        return errno.EINVAL
    return errno.EBUSY if flags & O.RSS and st.ebpf is not None else 0


@pytest.mark.parametrize("tap", [False, True], ids=["tun", "tap"])
def test_oracle_admits_what_the_kernel_code_answers(tap: bool) -> None:
    """The fuzzer's mutations, random states: the transcribed kernel's answer is predicted
    (tun; and a /dev/tapN file: its own IFF_VNET_HDR, ENOLINK, no steering program)."""
    sys.path.append(str(Path(__file__).resolve().parents[1] / "robustness"))
    import test_ioctl_fuzz as F  # noqa: E402
    fz = object.__new__(F.Fuzzer)            # only what _mutate() uses, no tap
    rng = fz.rng = random.Random(5)
    fz.t = types.SimpleNamespace(dev=types.SimpleNamespace(numqueues=4))
    fz.cap_types = ALL
    fz.keys = [rng.randbytes(40) for _ in range(4)]
    answers: set[tuple[str, int]] = set()
    for _ in range(6000):
        cls, cfg = fz._mutate()
        data = cfg.encode(check=False)
        readable = rng.randrange(len(data)) if cls.startswith("cut short") else len(data)
        st = O.DevState(hdr_sz=rng.choice((12, 20)), vnet_le=rng.random() < 0.8,
                        ebpf=None if tap else rng.choice((None, None, 1)),
                        gone=rng.random() < 0.05, tap=tap,
                        vnet_hdr=rng.random() < 0.9 if tap else True)
        bound = rng.random() < 0.9
        allowed, rows = O.predict_set_vnet_hash(data, readable, st, ALL, bound)
        got = kernel_set(data, readable, st, bound)
        assert got in (allowed or {0}), (cls, got, allowed, rows, data[:72].hex(), readable, st)
        answers.add((cls, got))
    assert {e for _c, e in answers} == {0, errno.EINVAL, errno.E2BIG, errno.EFAULT,
                                        errno.ENOLINK if tap else errno.EBADFD} | \
        (set() if tap else {errno.EBUSY})
