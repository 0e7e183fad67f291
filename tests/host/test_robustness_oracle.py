# SPDX-License-Identifier: MIT
"""tests/robustness/vnet_oracle.py: the errno predicted for each docs/design.md row."""

from __future__ import annotations

import dataclasses
import errno
import sys
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
])
def test_validation_rows(cfg: HashConfig, want: set[int]) -> None:
    assert predict(cfg) == want


def test_efault_header_and_table_only_when_read() -> None:
    assert predict(GOOD, cut=len(GOOD.encode()) - 51) == {errno.EFAULT}       # header cut
    assert predict(GOOD, cut=1) == {errno.EFAULT}                             # table cut
    report_only = HashConfig(O.REPORT, ALL, KEY)
    assert predict(report_only) == set()                 # 52 bytes at the guard: no table read


def test_report_needs_a_big_little_endian_header_and_ebusy_rows() -> None:
    assert predict(GOOD, O.DevState(hdr_sz=19, vnet_le=True)) == {errno.EINVAL}
    assert predict(GOOD, O.DevState(hdr_sz=20, vnet_be=True)) == {errno.EINVAL}
    assert predict(GOOD, dataclasses.replace(READY, ebpf=1)) == {errno.EBUSY}
    two = predict(GOOD, O.DevState(hdr_sz=12, vnet_le=True, ebpf=1))
    assert two == {errno.EINVAL, errno.EBUSY}            # two rows: either errno is documented
    on = dataclasses.replace(READY, cfg=GOOD)
    assert O.predict_hdr_sz(19, on) == {errno.EBUSY}
    assert O.predict_hdr_sz(9, on) == {errno.EINVAL}
    assert O.predict_vnet_le(False, dataclasses.replace(on, vnet_be=True)) == {errno.EBUSY}
    assert O.predict_vnet_be(True, on) == frozenset()    # TUN_VNET_LE still wins
    assert O.predict_steering(True, on) == {errno.EBUSY}
    assert O.predict_steering(False, on) == frozenset()
    assert O.predict_set_vnet_hash(GOOD.encode(), 60, O.DevState(gone=True), ALL)[0] == \
        {errno.EBADFD}


def test_decode_payload_inverts_encode() -> None:
    back = O.decode_payload(GOOD.encode())
    assert (back.flags, back.types, back.key, back.table, back.unclassified_queue) == \
        (GOOD.flags, GOOD.types, GOOD.key, GOOD.table, GOOD.unclassified_queue)
    assert O.design_row("RSS table length 3 is not a power of two <= 128") == \
        "RSS and mask + 1 not a power of two, or > 128"
    assert T.TUN_VNET_HASH_MAX_INDIRECTION_TABLE_LENGTH == 128
