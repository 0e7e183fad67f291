# SPDX-License-Identifier: MIT
"""What a tap must answer, predicted from the input and the device state.

The TUNSETVNETHASH rows are those of docs/design.md "Validation (a failing
call changes nothing)" and include/uapi/linux/if_tun.h ("virtio-net
hashing"): the argument is validated before the device is looked at, so
a file without a device answers the argument's errno (EINVAL, E2BIG,
EFAULT) and EBADFD only for a valid argument; the REPORT header and EBUSY
rows need the device.  TUNGETVNETHASH looks at the device first, then at
the size; TUNGETVNETHASHCAP needs no device.  The other ioctls follow
drivers/net/tun.c of
Linux 6.12 as summarised in pyuapi/errors.py: EBADFD on a queue fd whose
device is gone (tun_detach_all clears tfile->tun; a queue detached with
IFF_DETACH_QUEUE keeps it, so device ioctls, reads and writes through it
still work), TUNSETQUEUE EINVAL when the queue is already in the requested
state, TUNSETVNETHDRSZ EINVAL below sizeof(struct virtio_net_hdr).

The /dev/tapN files of macvtap/ipvtap (drivers/net/tap.c, DevState.tap)
answer the same rows with these differences: the vnet header (size,
TUN_VNET_LE/BE, IFF_VNET_HDR) belongs to each file, so the state passed in
is that of the calling file (DevState.for_file) and its header ioctls work
on a file whose link was deleted; REPORT needs the file's IFF_VNET_HDR and
locks TUNSETIFF without it (EBUSY); a deleted link answers ENOLINK where
tun answers EBADFD; there is no TUNSETSTEERINGEBPF (EINVAL).

When one input breaks several rows, docs/design.md does not say which
errno wins, so the prediction is the *set* of the rows' errnos and the
kernel may answer any of them; with one row the prediction is exact.
"""

from __future__ import annotations

import errno
import re
import struct
import sys
from dataclasses import dataclass, replace
from typing import Optional

from pyuapi.uapi import tun as T
from pyuapi.uapi import virtio_net as V
from pyuapi.uapi.tun_hash import table_offset
from pyuapi import HashConfig

from pyuapi.config import vnet_hash_problems
RSS, REPORT = T.TUN_VNET_HASH_RSS, T.TUN_VNET_HASH_REPORT
HEADER_LEN = T.TUN_VNET_HASH_SIZE_VER0              # sizeof(struct tun_vnet_hash): 56
CAP_LEN = T.TUN_VNET_HASH_CAP_SIZE_VER0             # sizeof(struct tun_vnet_hash_cap): 16
_HEADER = struct.Struct("=IHHIH2s40s")              # if_tun.h struct tun_vnet_hash
VNET_HDR_MIN = 10                                   # sizeof(struct virtio_net_hdr)

__all__ = ["DevState", "FileHdr", "decode_payload", "design_row", "predict_set_vnet_hash",
           "predict_hdr_sz", "predict_set_iff", "predict_vnet_le", "predict_vnet_be",
           "predict_steering", "predict_get_vnet_hash", "predict_get_cap", "table_bytes",
           "full_cap"]


@dataclass
class FileHdr:
    """The vnet header of one /dev/tapN file (struct tap_queue vnet_hdr_sz, flags; tap_open)."""

    hdr_sz: int = VNET_HDR_MIN
    vnet_le: bool = False
    vnet_be: bool = False
    vnet_hdr: bool = True

    @property
    def read_len(self) -> int:
        """Bytes of vnet header in front of a packet read from the file."""
        return self.hdr_sz if self.vnet_hdr else 0


@dataclass
class DevState:
    """The state the predictions depend on (struct tun_struct fields; for a /dev/tapN
    file, ``tap``, its device's and its own: :meth:`for_file`)."""

    cfg: HashConfig = HashConfig.disabled()      # flags 0: no hashing
    hdr_sz: int = VNET_HDR_MIN           # TUNSETVNETHDRSZ (tun->vnet_hdr_sz)
    vnet_le: bool = False                # TUN_VNET_LE
    vnet_be: bool = False                # TUN_VNET_BE
    ebpf: Optional[int] = None           # return value of the attached steering program
    gone: bool = False                   # the device was deleted
    vnet_hdr: bool = True                # IFF_VNET_HDR (the harness's tun taps always have it)
    tap: bool = False                    # a /dev/tapN file of macvtap/ipvtap

    def for_file(self, hdr: FileHdr) -> "DevState":
        """This device state seen from a /dev/tapN file with header ``hdr``."""
        return replace(self, hdr_sz=hdr.hdr_sz, vnet_le=hdr.vnet_le, vnet_be=hdr.vnet_be,
                       vnet_hdr=hdr.vnet_hdr)

    @property
    def nodev_errno(self) -> int:
        """What the hash ioctls answer without a device: EBADFD (tun), ENOLINK (tap.c)."""
        return errno.ENOLINK if self.tap else errno.EBADFD

    def header_gone(self, bound: bool) -> bool:
        """Whether a header ioctl answers EBADFD: tun without a device (tap.c's header
        belongs to the file and needs none)."""
        return not self.tap and (self.gone or not bound)

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
    """Bytes of the table TUNSETVNETHASH reads with RSS, at offset ``size`` (if_tun.h)."""
    return (mask + 1) * 2


def decode_payload(data: bytes) -> HashConfig:
    """A TUNSETVNETHASH argument as a HashConfig, whatever its fields hold.

    ``data`` is at least the 56-byte struct.  ``size`` is the size member;
    for a size the kernel takes, ``tail`` is what lies between byte 56 and
    ``size`` (trailing zeros dropped) and the table what follows ``size``,
    cut to ``mask + 1`` entries when RSS is set (missing entries: shorter).
    """
    size, flags, mask, types, uq, pad, key = _HEADER.unpack_from(data)
    at = table_offset(size)
    tail = data[HEADER_LEN:at].rstrip(b"\0") if at > HEADER_LEN else b""
    table: tuple[int, ...] = ()
    if flags & RSS:
        raw = data[at:at + table_bytes(mask)]
        raw = raw[:len(raw) // 2 * 2]
        table = struct.unpack(f"={len(raw) // 2}H", raw)
    return HashConfig(flags, types, key, table, uq, mask, pad, size, tail)


def full_cap(types: int) -> T.tun_vnet_hash_cap:
    """The capabilities the series reports, with ``types`` (tun_vnet_hash_get_cap)."""
    return T.tun_vnet_hash_cap(size=CAP_LEN, flags=RSS | REPORT,
                               max_indirection_table_length=T.MAX_TABLE_LENGTH, types=types,
                               key_size=T.TUN_VNET_HASH_KEY_SIZE)


# vnet_hash_problems() messages -> the docs/design.md row they stand for
_ROWS = [
    (r"^size \d+ is below", "size below TUN_VNET_HASH_SIZE_VER0"),
    (r"^size \d+ is above a page", "size above a page"),
    (r"bytes past the \d+ this kernel knows", "a byte past the 56 the kernel knows not zero"),
    (r"^flags has unknown bits", "flags has bits other than RSS and REPORT"),
    (r"^pad is", "pad not zero"),
    (r"^types .* not supported", "types has bits the kernel does not support"),
    (r"^flags 0 with non-zero", "flags 0 and a member not zero"),
    (r"^RSS table length", "RSS and mask + 1 not a power of two, or > 128"),
    (r"without RSS$", "no RSS and indirection_table_mask or unclassified_queue not zero"),
    (r"^REPORT with a \d+-byte", "REPORT and vnet header < 20 bytes"),
    (r"^REPORT with a big-endian", "REPORT and header not little endian"),
]
_DEVICE_ROWS = ("REPORT and vnet header < 20 bytes", "REPORT and header not little endian")


def design_row(message: str) -> str:
    """The docs/design.md validation row a vnet_hash_problems() message reports."""
    for pattern, row in _ROWS:
        if re.search(pattern, message):
            return row
    return message


def _valid_length(mask: int) -> bool:
    n = mask + 1
    return not n & (n - 1) and n <= T.MAX_TABLE_LENGTH


def predict_set_vnet_hash(data: bytes, readable: int, st: DevState, cap_types: int,
                          bound: bool = True) -> tuple[frozenset[int], list[str]]:
    """Errnos TUNSETVNETHASH may answer (empty: it must succeed), and the rows that apply.

    ``data`` is the argument and ``readable`` how many of its bytes the
    kernel can read before the guard page.  The argument's rows come
    first (tun_vnet_hash_build, before the device): with any of them the
    answer is one of their errnos, whatever the device.  Else a file
    without a device answers EBADFD, and one with a device its rows.
    """
    if readable < 4:
        return frozenset({errno.EFAULT}), ["bad user pointer in the size"]
    cfg = decode_payload(data)
    size = cfg.effective_size
    problems = vnet_hash_problems(cfg, full_cap(cap_types), st.hdr_sz, st.little_endian)
    if not HEADER_LEN <= size <= T.MAX_ARG_SIZE:          # refused on the size alone
        return frozenset(e for e, _m in problems), [design_row(m) for _e, m in problems]
    arg = [(e, design_row(m)) for e, m in problems if design_row(m) not in _DEVICE_ROWS]
    dev = [(e, design_row(m)) for e, m in problems if design_row(m) in _DEVICE_ROWS]
    if readable < size:                   # copy_struct_from_user faults (or finds a byte)
        tail_read = data[HEADER_LEN:readable]
        arg = [(errno.EFAULT, "bad user pointer in the struct")]
        if any(tail_read):
            arg.append((errno.E2BIG, "a byte past the 56 the kernel knows not zero"))
    elif cfg.flags & RSS and _valid_length(cfg.effective_mask) and \
            readable < size + table_bytes(cfg.effective_mask):
        arg.append((errno.EFAULT, "bad user pointer in the table"))
    if arg:
        return frozenset(e for e, _r in arg), [r for _e, r in arg]
    if st.gone or not bound:
        return frozenset({st.nodev_errno}), ["valid argument, fd without device"]
    if cfg.flags & RSS and st.ebpf is not None:
        dev.append((errno.EBUSY, "RSS while a steering eBPF program is attached"))
    if cfg.flags & REPORT and not st.vnet_hdr:
        dev.append((errno.EINVAL, "REPORT and no IFF_VNET_HDR"))
    if not dev:
        return frozenset(), ["(none: must succeed)"]
    return frozenset(e for e, _r in dev), [r for _e, r in dev]


def predict_get_vnet_hash(size: int, st: DevState, bound: bool = True) -> frozenset[int]:
    """TUNGETVNETHASH: EBADFD (tap: ENOLINK) without a device (checked first), then
    EINVAL/E2BIG on the size."""
    if st.gone or not bound:
        return frozenset({st.nodev_errno})
    if size < HEADER_LEN:
        return frozenset({errno.EINVAL})
    return frozenset({errno.E2BIG}) if size > T.MAX_ARG_SIZE else frozenset()


def predict_get_cap(size: int) -> frozenset[int]:
    """TUNGETVNETHASHCAP (no device needed): EINVAL below 16, E2BIG above a page."""
    if size < CAP_LEN:
        return frozenset({errno.EINVAL})
    return frozenset({errno.E2BIG}) if size > T.MAX_ARG_SIZE else frozenset()


def predict_hdr_sz(size: int, st: DevState, bound: bool = True) -> frozenset[int]:
    """TUNSETVNETHDRSZ: EINVAL below 10; EBUSY below 20 while REPORT is on."""
    if st.header_gone(bound):
        return frozenset({errno.EBADFD})
    if size < VNET_HDR_MIN:
        return frozenset({errno.EINVAL})
    if size < V.VNET_HDR_V1_HASH_LEN and st.report:
        return frozenset({errno.EBUSY})
    return frozenset()


def predict_vnet_le(on: bool, st: DevState, bound: bool = True) -> frozenset[int]:
    """TUNSETVNETLE: EBUSY when clearing it makes the header big endian while REPORT is on."""
    if st.header_gone(bound):
        return frozenset({errno.EBADFD})
    after = replace(st, vnet_le=on)
    return frozenset({errno.EBUSY}) if st.report and not after.little_endian else frozenset()


def predict_vnet_be(on: bool, st: DevState, bound: bool = True) -> frozenset[int]:
    """TUNSETVNETBE: EBUSY when setting it makes the header big endian while REPORT is on."""
    if st.header_gone(bound):
        return frozenset({errno.EBADFD})
    after = replace(st, vnet_be=on)
    return frozenset({errno.EBUSY}) if st.report and not after.little_endian else frozenset()


def predict_steering(attach: bool, st: DevState, bound: bool = True) -> frozenset[int]:
    """TUNSETSTEERINGEBPF: EBUSY when attaching while RSS is on; detaching (-1) always works.

    tap.c has no such ioctl: EINVAL (tun_vnet_ioctl's default).
    """
    if st.tap:
        return frozenset({errno.EINVAL})
    if st.gone or not bound:
        return frozenset({errno.EBADFD})
    return frozenset({errno.EBUSY}) if attach and st.rss else frozenset()


TAP_IFFEATURES = T.IFF_VNET_HDR | T.IFF_MULTI_QUEUE


def predict_set_iff(flags: int, st: DevState) -> frozenset[int]:
    """TUNSETIFF on a /dev/tapN file (tap.c tap_ioctl): EINVAL unless the flags are
    IFF_TAP | IFF_NO_PI plus TAP_IFFEATURES; EBUSY without IFF_VNET_HDR while its
    device reports the hash."""
    if flags & ~TAP_IFFEATURES & 0xFFFF != T.IFF_TAP | T.IFF_NO_PI:
        return frozenset({errno.EINVAL})
    if not flags & T.IFF_VNET_HDR and st.report and not st.gone:
        return frozenset({errno.EBUSY})
    return frozenset()
