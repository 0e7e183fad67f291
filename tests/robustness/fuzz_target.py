# SPDX-License-Identifier: MIT
"""The device the ioctl fuzzer drives, and the model of its state, for each device kind.

Kind "tun" is a multiqueue tap on /dev/net/tun: one vnet header per device
(DevState), and as the file without a device, a /dev/net/tun fd that never
did TUNSETIFF (EBADFD).  Kinds "macvtap" and "ipvtap" are the /dev/tapN
files of drivers/net/tap.c (tests.lib.tapdevs): one vnet header per file
(vnet_oracle.FileHdr, which outlives the link), and as the file without a
device, a file of a second link deleted at once (ENOLINK).
"""

from __future__ import annotations

import ctypes
import os
import random

from pyuapi import sysio
from pyuapi.tapfiles import TapFiles
from pyuapi.uapi import tun as T
from tests.lib.tapdevs import Rig, TapDevFactory

from vnet_oracle import DevState, FileHdr

UNBOUND = -1              # the index that stands for the file without a device
NO_DEVICE_SHARE = 0.1     # calls through that file


def read_hdr(fd: int) -> tuple[int, ...]:
    """(TUNGETVNETHDRSZ, TUNGETVNETLE, TUNGETVNETBE) through ``fd``; -errno for a failure."""
    out = []
    for req in (T.TUNGETVNETHDRSZ, T.TUNGETVNETLE, T.TUNGETVNETBE):
        v = ctypes.c_int()
        rc = sysio.ioctl(fd, req, v)
        out.append(v.value if rc == 0 else rc)
    return tuple(out)


def _want(h: FileHdr | DevState) -> tuple[int, ...]:
    return h.hdr_sz, int(h.vnet_le), int(h.vnet_be)


class Target:
    """A device of ``kind`` with ``queues`` queue files, its model and the file without one."""

    def __init__(self, make: TapDevFactory, kind: str, queues: int) -> None:
        self.make, self.kind, self.queues = make, kind, queues
        self.per_file = kind != "tun"
        self.rig: Rig = make(kind, queues)
        self.st = DevState(tap=self.per_file)
        self.hdrs = [FileHdr() for _ in range(queues)]      # per_file: the files' headers
        self.devices = 1
        self.unbound_hdr = FileHdr()
        self._own_unbound = not self.per_file
        if self.per_file:
            self.ready_for_report()        # as a VMM sets up each queue (else REPORT is rare)
            orphan = make(kind, 1)
            orphan.delete()
            self.unbound = orphan.dev.fds[0]                # closed by make_tapdev
        else:
            self.unbound = os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC)  # no TUNSETIFF

    @property
    def dev(self) -> TapFiles:
        """The device's queue files."""
        return self.rig.dev

    # ------------------------------------------------------------ files
    def suffix(self, i: int) -> str:
        """The input-class suffix of a call through file ``i``."""
        if i == UNBOUND:
            return " (file of a deleted link)" if self.per_file else " (fd without TUNSETIFF)"
        if self.st.gone:
            return " (deleted device)"
        return "" if self.dev.attached[i] else " (detached queue)"

    def pick(self, rng: random.Random) -> tuple[int, int, str, bool]:
        """A random file: (index or UNBOUND, fd, input-class suffix, whether it has a device)."""
        if rng.random() < NO_DEVICE_SHARE:
            return UNBOUND, self.unbound, self.suffix(UNBOUND), False
        i = rng.randrange(len(self.dev.fds))
        return i, self.dev.fds[i], self.suffix(i), True

    def _hdr(self, i: int) -> FileHdr:
        return self.unbound_hdr if i == UNBOUND else self.hdrs[i]

    def view(self, i: int) -> DevState:
        """The state the predictions for a call through file ``i`` depend on."""
        if not self.per_file:
            return self.st
        if i == UNBOUND:
            return DevState(gone=True, tap=True).for_file(self.unbound_hdr)
        return self.st.for_file(self.hdrs[i])

    def set_hdr(self, i: int, **change: object) -> None:
        """Record a header ioctl that succeeded through file ``i`` (the device's on tun)."""
        target = self._hdr(i) if self.per_file else self.st
        for k, v in change.items():
            setattr(target, k, v)
        if self.per_file and i != UNBOUND and "vnet_hdr" in change:
            self.rig.tapdev.vnet_hdr[i] = bool(change["vnet_hdr"])

    def read_len(self, i: int) -> int:
        """Bytes of vnet header in front of a packet read from file ``i``."""
        return self.hdrs[i].read_len if self.per_file else self.st.hdr_sz

    def has_room(self, i: int) -> bool:
        """Whether a packet read from file ``i`` carries the hash under REPORT."""
        return self.read_len(i) >= 20

    def header_mismatches(self) -> list[str]:
        """Every file's header as read back, against the model."""
        if not self.per_file:
            if self.st.gone:
                return []
            got, want = read_hdr(self.dev.fds[0]), _want(self.st)
            return [] if got == want else [f"(hdr_sz, le, be) = {got}, model {want}"]
        out = []
        for i, fd in [*enumerate(self.dev.fds), (UNBOUND, self.unbound)]:
            got, want = read_hdr(fd), _want(self._hdr(i))
            if got != want:
                out.append(f"file {i}: (hdr_sz, le, be) = {got}, model {want}")
        return out

    # ------------------------------------------------------------ lifetime
    def delete(self) -> None:
        """RTM_DELLINK with every file open: no configuration; a tap file keeps its header."""
        self.rig.delete()
        self.st = DevState(gone=True, tap=self.per_file)

    def replace(self) -> None:
        """Close the device's files and make a new device."""
        self.rig.close()
        self.rig = self.make(self.kind, self.queues)
        self.st = DevState(tap=self.per_file)
        self.hdrs = [FileHdr() for _ in range(self.queues)]
        self.devices += 1
        if self.per_file:
            self.ready_for_report()

    def ready_for_report(self) -> None:
        """A 20-byte little-endian header on every file (tests.lib.taps.report_ready), modelled."""
        for i in range(len(self.dev.fds)):
            self.dev.set_vnet_le(True, queue=i)
            self.dev.set_vnet_hdr_sz(20, queue=i)
            self.set_hdr(i, vnet_le=True, hdr_sz=20)

    def close(self) -> None:
        """Close the fd without a device if it is ours (the rigs close with make_tapdev)."""
        if self._own_unbound:
            os.close(self.unbound)
