# SPDX-License-Identifier: MIT
"""What a tap must answer, predicted from the input and the device state.

The TUNSETVNETHASH rows are those of docs/design.md "Validation (a failing
call changes nothing)"; the other ioctls follow drivers/net/tun.c of
Linux 6.12 as summarised in pyuapi/errors.py: EBADFD on a queue fd whose
device is gone (tun_detach_all clears tfile->tun; a queue detached with
IFF_DETACH_QUEUE keeps it, so device ioctls, reads and writes through it
still work), TUNSETQUEUE EINVAL when the queue is already in the requested
state, TUNSETVNETHDRSZ EINVAL below sizeof(struct virtio_net_hdr).

When one input breaks several rows, docs/design.md does not say which
errno wins, so the prediction is the *set* of the rows' errnos and the
kernel may answer any of them; with one row the prediction is exact.
"""

from __future__ import annotations

import errno
import re
import struct
import sys
from dataclasses import dataclass
from typing import Optional

from pyuapi.uapi import tun as T
from pyuapi.uapi import virtio_net as V
from pyuapi import HashConfig

from pyuapi.config import diagnose_vnet_hash
RSS, REPORT = T.TUN_VNET_HASH_RSS, T.TUN_VNET_HASH_REPORT
HEADER_LEN = 52                                     # sizeof(struct tun_vnet_hash)
_HEADER = struct.Struct("=H2sIHH40s")               # docs/design.md struct tun_vnet_hash
VNET_HDR_MIN = 10                                   # sizeof(struct virtio_net_hdr)

__all__ = ["DevState", "decode_payload", "design_row", "predict_set_vnet_hash", "predict_hdr_sz",
           "predict_vnet_le", "predict_vnet_be", "predict_steering", "table_bytes"]


@dataclass
class DevState:
    """The device-wide state the predictions depend on (struct tun_struct fields)."""

    cfg: HashConfig = HashConfig.disabled()      # flags 0: no hashing
    hdr_sz: int = VNET_HDR_MIN           # TUNSETVNETHDRSZ (tun->vnet_hdr_sz)
    vnet_le: bool = False                # TUN_VNET_LE
    vnet_be: bool = False                # TUN_VNET_BE
    ebpf: Optional[int] = None           # return value of the attached steering program
    gone: bool = False                   # the device was deleted

    @property
    def little_endian(self) -> bool:
        """tun_is_little_endian(): TUN_VNET_LE, else the legacy (native unless TUN_VNET_BE)."""
        return self.vnet_le or (sys.byteorder == "little" and not self.vnet_be)

    @property
    def report(self) -> bool:
        """TUN_VNET_HASH_REPORT in effect."""
        return bool(self.cfg.flags & REPORT)

    @property
    def rss(self) -> bool:
        """TUN_VNET_HASH_RSS in effect."""
        return bool(self.cfg.flags & RSS)


def table_bytes(mask: int) -> int:
    """Bytes of the indirection table TUNSETVNETHASH reads with RSS (docs/design.md UAPI)."""
    return (mask + 1) * 2


def decode_payload(data: bytes) -> HashConfig:
    """A TUNSETVNETHASH payload as a HashConfig, whatever its fields hold.

    ``data`` is at least the 52-byte header; the table is what follows it,
    cut to ``mask + 1`` entries when RSS is set (missing entries: shorter).
    """
    flags, pad, types, mask, uq, key = _HEADER.unpack_from(data)
    table: tuple[int, ...] = ()
    if flags & RSS:
        raw = data[HEADER_LEN:HEADER_LEN + table_bytes(mask)]
        raw = raw[:len(raw) // 2 * 2]
        table = struct.unpack(f"={len(raw) // 2}H", raw)
    return HashConfig(flags, types, key, table, uq, mask, pad)


# diagnose_vnet_hash() messages -> the docs/design.md row they stand for
_ROWS = [
    (r"^flags has unknown bits", "flags has bits other than RSS and REPORT"),
    (r"^pad is", "pad not zero"),
    (r"^types .* not supported", "types has bits the kernel does not support"),
    (r"^RSS table length", "RSS and mask + 1 not a power of two, or > 128"),
    (r"without RSS$", "no RSS and indirection_table_mask or unclassified_queue not zero"),
    (r"^REPORT with a \d+-byte", "REPORT and vnet header < 20 bytes"),
    (r"^REPORT with a big-endian", "REPORT and header not little endian"),
]


def design_row(message: str) -> str:
    """The docs/design.md validation row a diagnose_vnet_hash() message reports."""
    for pattern, row in _ROWS:
        if re.search(pattern, message):
            return row
    return message


def _valid_length(mask: int) -> bool:
    n = mask + 1
    return not n & (n - 1) and n <= T.TUN_VNET_HASH_MAX_INDIRECTION_TABLE_LENGTH


def predict_set_vnet_hash(data: bytes, readable: int, st: DevState, cap_types: int,
                          bound: bool = True) -> tuple[frozenset[int], list[str]]:
    """Errnos TUNSETVNETHASH may answer (empty: it must succeed), and the rows that apply.

    ``data`` is the payload and ``readable`` how many of its bytes the
    kernel can read before the guard page.
    """
    if st.gone or not bound:
        return frozenset({errno.EBADFD}), ["fd without device"]
    if readable < HEADER_LEN:
        return frozenset({errno.EFAULT}), ["bad user pointer in the header"]
    cfg = decode_payload(data)
    cap = T.tun_vnet_hash_cap(types=cap_types)
    rows = [design_row(m) for m in diagnose_vnet_hash(cfg, cap, st.hdr_sz, st.little_endian)]
    errs = {errno.EINVAL} if rows else set()
    if cfg.flags & RSS:
        if st.ebpf is not None:
            errs.add(errno.EBUSY)
            rows.append("RSS while a steering eBPF program is attached")
        if _valid_length(cfg.mask or 0) and readable < HEADER_LEN + table_bytes(cfg.mask or 0):
            errs.add(errno.EFAULT)
            rows.append("bad user pointer in the table")
    if not rows:
        rows.append("(none: must succeed)")
    return frozenset(errs), rows


def predict_hdr_sz(size: int, st: DevState, bound: bool = True) -> frozenset[int]:
    """TUNSETVNETHDRSZ: EINVAL below 10; EBUSY below 20 while REPORT is on."""
    if st.gone or not bound:
        return frozenset({errno.EBADFD})
    if size < VNET_HDR_MIN:
        return frozenset({errno.EINVAL})
    if size < V.VNET_HDR_V1_HASH_LEN and st.report:
        return frozenset({errno.EBUSY})
    return frozenset()


def predict_vnet_le(on: bool, st: DevState, bound: bool = True) -> frozenset[int]:
    """TUNSETVNETLE: EBUSY when clearing it makes the header big endian while REPORT is on."""
    if st.gone or not bound:
        return frozenset({errno.EBADFD})
    after = DevState(st.cfg, st.hdr_sz, on, st.vnet_be)
    return frozenset({errno.EBUSY}) if st.report and not after.little_endian else frozenset()


def predict_vnet_be(on: bool, st: DevState, bound: bool = True) -> frozenset[int]:
    """TUNSETVNETBE: EBUSY when setting it makes the header big endian while REPORT is on."""
    if st.gone or not bound:
        return frozenset({errno.EBADFD})
    after = DevState(st.cfg, st.hdr_sz, st.vnet_le, on)
    return frozenset({errno.EBUSY}) if st.report and not after.little_endian else frozenset()


def predict_steering(attach: bool, st: DevState, bound: bool = True) -> frozenset[int]:
    """TUNSETSTEERINGEBPF: EBUSY when attaching while RSS is on; detaching (-1) always works."""
    if st.gone or not bound:
        return frozenset({errno.EBADFD})
    return frozenset({errno.EBUSY}) if attach and st.rss else frozenset()
