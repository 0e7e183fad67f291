# SPDX-License-Identifier: MIT
"""The tun ioctls of user space that exists, replayed call for call.

QEMU 7.2 (Debian 12's qemu-system-x86) opens and sets up a tap queue with
net/tap-linux.c and net/tap.c; :func:`qemu_open_queue` issues the same
ioctls in the same order, and raises :class:`QemuAbort` exactly where QEMU
calls ``abort()`` (or fails an ``assert``).  iproute2 is not replayed: the
host's ``ip`` binary is in the guest (the VM shares the host's root), so the
tests run ``ip tuntap add|del`` itself (:func:`ip_tuntap`).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import subprocess
from dataclasses import dataclass, field

from pyuapi import sysio
from pyuapi.uapi import tun as T

INT_MAX = 2**31 - 1
VIRTIO_NET_HDR_LEN = 10       # sizeof(struct virtio_net_hdr)
VIRTIO_NET_HDR_MRG_LEN = 12   # sizeof(struct virtio_net_hdr_mrg_rxbuf), virtio 1.0


class QemuAbort(AssertionError):
    """An ioctl failed where QEMU 7.2 aborts: the VM would be gone."""

    def __init__(self, where: str, ioctl: str, err: int) -> None:
        super().__init__(f"QEMU 7.2 aborts in {where}: {ioctl} failed with "
                         f"{os.strerror(err)} (errno {err})")
        self.ioctl = ioctl
        self.errno = err


@dataclass
class QemuQueue:
    """One tap queue as QEMU holds it, and the ioctls it took to get there."""

    fd: int
    ifname: str
    vnet_hdr_len: int = VIRTIO_NET_HDR_LEN
    calls: list[tuple[str, int]] = field(default_factory=list)  # (ioctl, 0 or errno)

    def ioctl(self, name: str, request: int, arg: sysio.Arg = None) -> int:
        """The ioctl, logged; returns 0 or the errno (as QEMU checks ``== -1``)."""
        rc = sysio.ioctl(self.fd, request, arg)
        err = -rc if rc < 0 else 0
        self.calls.append((name, err))
        return err

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _set_hdr_len(q: QemuQueue, where: str, length: int) -> None:
    """tap_fd_set_vnet_hdr_len(): TUNSETVNETHDRSZ or abort()."""
    err = q.ioctl("TUNSETVNETHDRSZ", T.TUNSETVNETHDRSZ, ctypes.c_int(length))
    if err:
        raise QemuAbort(where, "TUNSETVNETHDRSZ", err)
    q.vnet_hdr_len = length


def _probe_hdr_len(q: QemuQueue, length: int) -> bool:
    """tap_probe_vnet_hdr_len(): can the length be set?  Sets it and puts the
    old one back, aborting if that fails."""
    orig = ctypes.c_int()
    if q.ioctl("TUNGETVNETHDRSZ", T.TUNGETVNETHDRSZ, orig):
        return False
    if q.ioctl("TUNSETVNETHDRSZ", T.TUNSETVNETHDRSZ, ctypes.c_int(length)):
        return False
    err = q.ioctl("TUNSETVNETHDRSZ", T.TUNSETVNETHDRSZ, ctypes.c_int(orig.value))
    if err:
        raise QemuAbort("tap_probe_vnet_hdr_len", "TUNSETVNETHDRSZ", err)
    return True


def _set_offload(q: QemuQueue, csum: bool, tso4: bool, tso6: bool, ecn: bool,
                 ufo: bool) -> None:
    """tap_fd_set_offload(): probe with 0, then the flags, then without UFO."""
    if q.ioctl("TUNSETOFFLOAD", T.TUNSETOFFLOAD, 0) == errno.EINVAL:  # no such ioctl
        return
    offload = 0
    if csum:
        offload |= T.TUN_F_CSUM
        offload |= (T.TUN_F_TSO4 if tso4 else 0) | (T.TUN_F_TSO6 if tso6 else 0)
        offload |= T.TUN_F_TSO_ECN if (tso4 or tso6) and ecn else 0
        offload |= T.TUN_F_UFO if ufo else 0
    if q.ioctl("TUNSETOFFLOAD", T.TUNSETOFFLOAD, offload):
        q.ioctl("TUNSETOFFLOAD", T.TUNSETOFFLOAD, offload & ~T.TUN_F_UFO)


def qemu_open_queue(ifname: str, multi_queue: bool, guest_hdr_len: int = VIRTIO_NET_HDR_MRG_LEN,
                    guest_offloads: bool = True) -> QemuQueue:
    """One queue of ``-netdev tap,ifname=IFNAME,vnet_hdr=on[,queues=N]`` with a
    virtio 1.0 guest, as QEMU 7.2 sets it up:

    1. net/tap-linux.c tap_open(): TUNGETFEATURES; TUNSETVNETHDRSZ(10) on the
       still unattached fd (errors ignored, "might have been modified by
       another instance of qemu"); TUNSETIFF with IFF_TAP | IFF_NO_PI |
       IFF_VNET_HDR (| IFF_ONE_QUEUE when offered, | IFF_MULTI_QUEUE);
       O_NONBLOCK.
    2. net/tap.c net_init_tap_one(): tap_set_sndbuf(), TUNSETSNDBUF(INT_MAX),
       errors ignored without sndbuf=.
    3. net_tap_fd_init(): tap_probe_has_ufo(); tap_set_offload(0...); then
       tap_probe_vnet_hdr_len(10) and, if it can, tap_fd_set_vnet_hdr_len(10).
    4. The guest driver starts: virtio-net's host header length becomes 12
       (virtio 1.0): tap_set_vnet_hdr_len() asserts tap_has_vnet_hdr_len()
       (the probe) and sets it, aborting on failure; the guest's offloads
       are set; without guest RSS, virtio_net_detach_epbf_rss() detaches the
       steering program (TUNSETSTEERINGEBPF -1).
    """
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC)
    q = QemuQueue(fd, ifname)
    try:
        features = ctypes.c_uint()
        if q.ioctl("TUNGETFEATURES", T.TUNGETFEATURES, features):
            features.value = 0
        flags = T.IFF_TAP | T.IFF_NO_PI
        if features.value & T.IFF_ONE_QUEUE:
            flags |= T.IFF_ONE_QUEUE
        flags |= T.IFF_VNET_HDR
        q.ioctl("TUNSETVNETHDRSZ", T.TUNSETVNETHDRSZ, ctypes.c_int(VIRTIO_NET_HDR_LEN))
        if multi_queue:
            flags |= T.IFF_MULTI_QUEUE
        ifr = T.ifreq()
        ifr.ifr_name = ifname.encode()
        ifr.ifr_ifru.ifru_flags = ctypes.c_short(flags).value
        err = q.ioctl("TUNSETIFF", T.TUNSETIFF, ifr)
        if err:
            raise OSError(err, f"QEMU: could not configure /dev/net/tun ({ifname}): "
                          f"{os.strerror(err)}")
        q.ifname = ifr.ifr_name.decode()
        fcntl.fcntl(fd, fcntl.F_SETFL, os.O_NONBLOCK)
        q.ioctl("TUNSETSNDBUF", T.TUNSETSNDBUF, ctypes.c_int(INT_MAX))
        q.ioctl("TUNSETOFFLOAD", T.TUNSETOFFLOAD, T.TUN_F_CSUM | T.TUN_F_UFO)
        _set_offload(q, False, False, False, False, False)
        if _probe_hdr_len(q, VIRTIO_NET_HDR_LEN):
            _set_hdr_len(q, "tap_fd_set_vnet_hdr_len", VIRTIO_NET_HDR_LEN)
        if not _probe_hdr_len(q, guest_hdr_len):
            last = q.calls[-1]
            raise QemuAbort("tap_set_vnet_hdr_len (assert tap_has_vnet_hdr_len)",
                            last[0], last[1])
        _set_hdr_len(q, "tap_fd_set_vnet_hdr_len", guest_hdr_len)
        _set_offload(q, guest_offloads, guest_offloads, guest_offloads, False, False)
        q.ioctl("TUNSETSTEERINGEBPF", T.TUNSETSTEERINGEBPF, ctypes.c_int(-1))
    except BaseException:
        q.close()
        raise
    return q


def ip_tuntap(*args: str) -> subprocess.CompletedProcess[str]:
    """Run iproute2's ``ip tuntap ARGS`` (ip/iptuntap.c: TUNSETIFF with
    IFF_NO_PI and the mode's flags, then TUNSETPERSIST 1 or 0); the result,
    whatever its exit code."""
    return subprocess.run(["ip", "tuntap", *args], text=True, capture_output=True)
