# SPDX-License-Identifier: MIT
"""vhost-net from user space: the UAPI structs and ioctls of
include/uapi/linux/vhost.h and vhost_types.h (Linux 6.12), and a minimal
driver of one receive virtqueue, to read a tap the way a VMM with vhost
does.

vhost-net receives from the tap with ``tun_recvmsg()`` on batches of
packets taken from the queue's ring (drivers/vhost/net.c handle_rx), the
read path that neither read(2) nor readv(2) exercises.  With the tap as the
header provider (``VHOST_NET_F_VIRTIO_NET_HDR`` not negotiated) every
packet reaches the ring with the tap's vnet header in front of it, and
vhost-net expects that header to be as long as the one the negotiated
virtio features define: 10 bytes, 12 with ``VIRTIO_NET_F_MRG_RXBUF`` or
``VIRTIO_F_VERSION_1``, and 20 with ``VIRTIO_NET_F_HASH_REPORT`` (virtio
spec 1.2, 5.1.6 "Device Operation": struct virtio_net_hdr).

The ring is a split virtqueue (virtio spec 1.2, 2.7 "Split Virtqueues") in
one anonymous mapping that is also the device's whole "guest" memory, with
guest physical addresses equal to user addresses.
"""

from __future__ import annotations

import ctypes
import os
import select
import time

from .sysio import ioctl, libc, raise_errno
from .uapi.vhost import (IOCTL_NAMES, VHOST_BACKEND_F_NET_HASH_REPORT,
                          VHOST_GET_BACKEND_FEATURES, VHOST_GET_FEATURES,
                          VHOST_NET_F_VIRTIO_NET_HDR, VHOST_SET_BACKEND_FEATURES,
                          VHOST_NET_SET_BACKEND, VHOST_SET_FEATURES, VHOST_SET_MEM_TABLE,
                          VHOST_SET_OWNER, VHOST_SET_VRING_ADDR, VHOST_SET_VRING_BASE,
                          VHOST_SET_VRING_CALL, VHOST_SET_VRING_KICK, VHOST_SET_VRING_NUM,
                          VIRTIO_F_VERSION_1, VIRTIO_NET_F_HASH_REPORT,
                          VIRTIO_NET_F_MRG_RXBUF, VRING_DESC_F_WRITE, vhost_memory,
                          vhost_memory_region, vhost_vring_addr, vhost_vring_file,
                          vhost_vring_state)

__all__ = ["VhostNet", "VhostError", "header_length", "offered_features", "set_backend_features",
           "vhost_vring_state", "vhost_vring_file",
           "vhost_vring_addr", "vhost_memory", "vhost_memory_region",
           "VIRTIO_NET_F_MRG_RXBUF", "VIRTIO_F_VERSION_1", "VIRTIO_NET_F_HASH_REPORT",
           "VHOST_NET_F_VIRTIO_NET_HDR", "VHOST_BACKEND_F_NET_HASH_REPORT"]

u64 = ctypes.c_uint64

RX_QUEUE = 0     # drivers/vhost/net.c VHOST_NET_VQ_RX
PROT_RW, MAP_PRIVATE_ANON = 0x3, 0x22
PAGE = 4096


class VhostError(OSError):
    """A vhost ioctl failed: ``errno`` and ``ioctl`` (its name)."""

    def __init__(self, err: int, name: str, cause: str = "") -> None:
        self.ioctl = name
        msg = f"{name}: {os.strerror(err)}" + (f"; likely cause: {cause}" if cause else "")
        super().__init__(err, msg)


def _call(fd: int, request: int, arg: object = None, cause: str = "") -> int:
    ret = ioctl(fd, request, arg)  # type: ignore[arg-type]
    if ret < 0:
        raise VhostError(-ret, IOCTL_NAMES.get(request, hex(request)), cause)
    return ret


class VhostNet:
    """/dev/vhost-net with the receive virtqueue driven from here.

    ``VhostNet(tap_fd, features)`` sets the owner, the backend features
    (``VHOST_BACKEND_F_NET_HASH_REPORT`` when ``features`` has
    ``VIRTIO_NET_F_HASH_REPORT``: vhost-net offers it only then), the
    features, one memory region and the RX ring (``num`` buffers of ``buf_size`` bytes, all
    posted), then makes the tap queue ``tap_fd`` its backend
    (VHOST_NET_SET_BACKEND).  :meth:`receive` returns the buffers vhost
    filled, each the tap's vnet header followed by the frame, and posts them
    again.  A context manager; ``close`` detaches the backend first.

    Mirrors include/uapi/linux/vhost.h and the split virtqueue layout of the
    virtio spec 1.2, 2.7.
    """

    def __init__(self, tap_fd: int, features: int, num: int = 64,
                 buf_size: int = 2048) -> None:
        self.num, self.buf_size = num, buf_size
        self.fd = -1
        self.kick = self.call = -1
        self.base = 0
        self.last_used = 0
        self.avail_idx = 0
        self.size = 3 * PAGE + num * buf_size
        try:
            self.fd = os.open("/dev/vhost-net", os.O_RDWR | os.O_CLOEXEC)
            _call(self.fd, VHOST_SET_OWNER)
            if features & (1 << VIRTIO_NET_F_HASH_REPORT):
                set_backend_features(self.fd, 1 << VHOST_BACKEND_F_NET_HASH_REPORT)
            _call(self.fd, VHOST_SET_FEATURES, u64(features),
                  "a feature bit vhost-net does not offer (VHOST_GET_FEATURES), or "
                  "HASH_REPORT with VHOST_NET_F_VIRTIO_NET_HDR")
            self._map()
            self._setup_ring()
            _call(self.fd, VHOST_NET_SET_BACKEND, vhost_vring_file(RX_QUEUE, tap_fd),
                  "not a tap/tun queue fd, or the ring is not accessible")
            for i in range(num):
                self._post(i)
            self._kick()
        except BaseException:
            self.close()
            raise

    # ---- memory: desc table at 0, avail ring at PAGE, used ring at 2*PAGE, buffers after
    @property
    def desc(self) -> int:
        return self.base

    @property
    def avail(self) -> int:
        return self.base + PAGE

    @property
    def used(self) -> int:
        return self.base + 2 * PAGE

    def buffer(self, i: int) -> int:
        """Address of buffer ``i``."""
        return self.base + 3 * PAGE + i * self.buf_size

    def _map(self) -> None:
        addr = libc.mmap(None, self.size, PROT_RW, MAP_PRIVATE_ANON, -1, 0)
        if addr in (None, ctypes.c_void_p(-1).value):
            raise_errno("mmap")
        self.base = addr
        ctypes.memset(addr, 0, self.size)
        mem = (ctypes.c_char * (ctypes.sizeof(vhost_memory)
                                + ctypes.sizeof(vhost_memory_region)))()
        head = vhost_memory.from_buffer(mem)
        head.nregions = 1
        region = vhost_memory_region.from_buffer(mem, ctypes.sizeof(vhost_memory))
        region.guest_phys_addr = region.userspace_addr = addr
        region.memory_size = self.size
        _call(self.fd, VHOST_SET_MEM_TABLE, mem)

    def _setup_ring(self) -> None:
        assert self.num * 16 <= PAGE and 6 + 8 * self.num <= PAGE
        _call(self.fd, VHOST_SET_VRING_NUM, vhost_vring_state(RX_QUEUE, self.num))
        _call(self.fd, VHOST_SET_VRING_BASE, vhost_vring_state(RX_QUEUE, 0))
        _call(self.fd, VHOST_SET_VRING_ADDR,
              vhost_vring_addr(RX_QUEUE, 0, self.desc, self.used, self.avail, 0))
        self.kick = os.eventfd(0, os.EFD_CLOEXEC)
        self.call = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        _call(self.fd, VHOST_SET_VRING_KICK, vhost_vring_file(RX_QUEUE, self.kick))
        _call(self.fd, VHOST_SET_VRING_CALL, vhost_vring_file(RX_QUEUE, self.call))
        for i in range(self.num):   # struct vring_desc: addr, len, flags, next
            d = self.desc + 16 * i
            ctypes.c_uint64.from_address(d).value = self.buffer(i)
            ctypes.c_uint32.from_address(d + 8).value = self.buf_size
            ctypes.c_uint16.from_address(d + 12).value = VRING_DESC_F_WRITE

    def _post(self, i: int) -> None:
        """Put descriptor ``i`` in the avail ring, then publish the new index
        (x86 keeps the two stores in order, as virtio_wmb() needs)."""
        ring = self.avail + 4
        ctypes.c_uint16.from_address(ring + 2 * (self.avail_idx % self.num)).value = i
        self.avail_idx = (self.avail_idx + 1) & 0xFFFF
        ctypes.c_uint16.from_address(self.avail + 2).value = self.avail_idx

    def _kick(self) -> None:
        os.eventfd_write(self.kick, 1)

    def receive(self, count: int, timeout: float = 3.0) -> list[bytes]:
        """Wait until ``count`` buffers were used or ``timeout`` passed; return
        their contents (vnet header + frame) in ring order and repost them."""
        got: list[bytes] = []
        end = time.monotonic() + timeout
        poller = select.poll()
        poller.register(self.call, select.POLLIN)
        while len(got) < count:
            used_idx = ctypes.c_uint16.from_address(self.used + 2).value
            while self.last_used != used_idx:   # struct vring_used_elem: id, len
                elem = self.used + 4 + 8 * (self.last_used % self.num)
                desc_id = ctypes.c_uint32.from_address(elem).value
                length = ctypes.c_uint32.from_address(elem + 4).value
                got.append(ctypes.string_at(self.buffer(desc_id), length))
                self.last_used = (self.last_used + 1) & 0xFFFF
                self._post(desc_id)
            if len(got) >= count:
                break
            self._kick()
            left = end - time.monotonic()
            if left <= 0:
                break
            if poller.poll(min(left, 0.05) * 1000):
                try:
                    os.eventfd_read(self.call)
                except BlockingIOError:
                    pass
        return got

    def close(self) -> None:
        """Detach the backend, close the eventfds and vhost, unmap the ring."""
        if self.fd >= 0:
            ioctl(self.fd, VHOST_NET_SET_BACKEND, vhost_vring_file(RX_QUEUE, -1))
            os.close(self.fd)
            self.fd = -1
        for attr in ("kick", "call"):
            fd = getattr(self, attr)
            if fd >= 0:
                os.close(fd)
                setattr(self, attr, -1)
        if self.base:
            libc.munmap(self.base, self.size)
            self.base = 0

    def __enter__(self) -> "VhostNet":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def header_length(features: int) -> int:
    """The virtio-net header length the features define (virtio spec 1.2, 5.1.6),
    which vhost-net expects the tap to provide."""
    if features & (1 << VIRTIO_NET_F_HASH_REPORT):
        return 20
    if features & ((1 << VIRTIO_NET_F_MRG_RXBUF) | (1 << VIRTIO_F_VERSION_1)):
        return 12
    return 10


def set_backend_features(fd: int, wanted: int) -> int:
    """VHOST_GET_BACKEND_FEATURES, then VHOST_SET_BACKEND_FEATURES with the
    offered bits of ``wanted`` (include/uapi/linux/vhost.h; QEMU's
    vhost_kernel_set_backend_cap() does the same with the bits it knows).
    Returns the bits set."""
    offered = u64()
    _call(fd, VHOST_GET_BACKEND_FEATURES, offered)
    acked = u64(offered.value & wanted)
    _call(fd, VHOST_SET_BACKEND_FEATURES, acked)
    return acked.value


def offered_features(backend_features: int = 0) -> int:
    """VHOST_GET_FEATURES of a fresh /dev/vhost-net (include/uapi/linux/vhost.h),
    after setting the offered bits of ``backend_features`` (0: none, as a
    VMM that knows none of them)."""
    fd = os.open("/dev/vhost-net", os.O_RDWR | os.O_CLOEXEC)
    try:
        _call(fd, VHOST_SET_OWNER)
        if backend_features:
            set_backend_features(fd, backend_features)
        value = u64()
        _call(fd, VHOST_GET_FEATURES, value)
        return value.value
    finally:
        os.close(fd)
