# SPDX-License-Identifier: MIT
"""User space that exists, on a device whose previous owner used the feature.

A persistent tap outlives the VMM that configured it.  Its next user may be
an unmodified QEMU (replayed call for call by tests.lib.userspace) or
iproute2's ``ip tuntap`` (the real binary): if_tun.h's "virtio-net hashing"
DOC says the configuration ends with the last file attached, so neither may
trip over it.  Within one session the EBUSY rules still hold
(tests/robustness/test_regressions.py, kselftests ``session`` cases).
"""

from __future__ import annotations

import ctypes
import errno
import os
import select
import socket

from pyuapi import HashConfig, Tap, sysio
from pyuapi.testkit import packets as P
from pyuapi.testkit.bpf import load_const_prog
from pyuapi.testkit.inject import Injector
from pyuapi.uapi import tun as T
from pyuapi.uapi import virtio_net as V
from tests.lib.netlink import NetNS, link_up
from tests.lib.taps import require_hash
from tests.lib.userspace import VIRTIO_NET_HDR_MRG_LEN, ip_tuntap, qemu_open_queue

QUEUES = 2


def leave_hash_state(name: str, queues: int = QUEUES) -> HashConfig:
    """A hash-aware VMM: RSS+REPORT on persistent device ``name``, then it exits."""
    with Tap(name, queues=queues) as vmm:
        require_hash(vmm)
        vmm.set_vnet_le(True)
        vmm.set_vnet_hdr_sz(V.VNET_HDR_V1_HASH_LEN)
        cfg = HashConfig.with_random_key(T.TUN_VNET_HASH_RSS | T.TUN_VNET_HASH_REPORT,
                                         V.VIRTIO_NET_RSS_HASH_TYPE_ALL, table=[1, 1],
                                         unclassified_queue=1)
        vmm.set_vnet_hash(cfg)
        vmm.set_persist(True)
    return cfg


def link_exists(name: str) -> bool:
    """Whether the calling thread's namespace has a link ``name`` (if_nametoindex(3))."""
    try:
        socket.if_nametoindex(name)
    except OSError:
        return False
    return True


def read_one(fds: list[int], timeout: float = 2.0) -> tuple[int, bytes]:
    """(fd index, bytes) of the first packet any of ``fds`` has."""
    ready, _, _ = select.select(fds, [], [], timeout)
    assert ready, "no packet arrived"
    fd = ready[0]
    return fds.index(fd), os.read(fd, 65536)


def test_qemu_starts_on_a_tap_left_with_hash_state(netns: NetNS) -> None:
    """QEMU 7.2 with queues=2 on a persistent tap a hash-aware VMM left with
    RSS+REPORT: no abort, a 12-byte header with nothing left of the hash,
    and its steering program (QEMU's eBPF RSS) attaches."""
    name = "qemutap0"
    leave_hash_state(name)
    queues = [qemu_open_queue(name, multi_queue=True) for _ in range(QUEUES)]
    try:
        for q in queues:
            assert q.vnet_hdr_len == VIRTIO_NET_HDR_MRG_LEN, q.calls
        link_up(name)
        frame = P.udp4_frame("10.7.0.1", "10.7.0.2", 1000, 2000)
        with Injector(name) as inj:
            inj.send(frame)
        _, data = read_one([q.fd for q in queues])
        assert data[VIRTIO_NET_HDR_MRG_LEN:] == frame
        assert data[:VIRTIO_NET_HDR_MRG_LEN] == bytes(VIRTIO_NET_HDR_MRG_LEN)
        prog = load_const_prog(0)
        try:
            err = queues[0].ioctl("TUNSETSTEERINGEBPF", T.TUNSETSTEERINGEBPF,
                                  ctypes.c_int(prog))
        finally:
            os.close(prog)
        assert err == 0, f"steering eBPF refused ({os.strerror(err)}): RSS was left on"
    finally:
        for q in queues:
            q.close()


def test_ip_tuntap_del_removes_a_tap_left_with_hash_state(netns: NetNS) -> None:
    """``ip tuntap del dev X mode tap multi_queue`` (TUNSETIFF without
    IFF_VNET_HDR, TUNSETPERSIST 0) on a tap left with REPORT on."""
    name = "iptap0"
    add = ip_tuntap("add", "dev", name, "mode", "tap", "multi_queue", "vnet_hdr")
    assert add.returncode == 0, add.stderr
    leave_hash_state(name)
    assert link_exists(name)
    rm = ip_tuntap("del", "dev", name, "mode", "tap", "multi_queue")
    assert rm.returncode == 0, rm.stderr
    assert not link_exists(name)


def test_ip_tuntap_add_then_qemu(netns: NetNS) -> None:
    """The everyday sequence: ``ip tuntap add`` (libvirt and scripts), QEMU
    with one queue, traffic; then ``ip tuntap del``."""
    name = "iptap1"
    add = ip_tuntap("add", "dev", name, "mode", "tap", "vnet_hdr")
    assert add.returncode == 0, add.stderr
    q = qemu_open_queue(name, multi_queue=False)
    try:
        link_up(name)
        frame = P.udp4_frame("10.7.1.1", "10.7.1.2", 1, 2)
        with Injector(name) as inj:
            inj.send(frame)
        _, data = read_one([q.fd])
        assert data == bytes(VIRTIO_NET_HDR_MRG_LEN) + frame
    finally:
        q.close()
    rm = ip_tuntap("del", "dev", name, "mode", "tap")
    assert rm.returncode == 0, rm.stderr


def test_hash_state_ends_with_the_last_file(netns: NetNS) -> None:
    """A detached queue still holds the device (IFF_DETACH_QUEUE keeps its
    file): the configuration ends only when the last file, attached or
    detached, closes; then QEMU can start."""
    name = "lasttap0"
    with Tap(name, queues=QUEUES) as vmm:
        require_hash(vmm)
        vmm.set_vnet_le(True)
        vmm.set_vnet_hdr_sz(V.VNET_HDR_V1_HASH_LEN)
        vmm.set_vnet_hash(HashConfig.with_random_key(T.TUN_VNET_HASH_REPORT,
                                                     V.VIRTIO_NET_RSS_HASH_TYPE_ALL))
        vmm.set_persist(True)
        vmm.detach_queue(0)
        detached = os.dup(vmm.fds[0])     # the same file, kept past the Tap
    try:
        # every attached queue is gone, the detached file still holds REPORT
        rc = sysio.ioctl(detached, T.TUNSETVNETHDRSZ, ctypes.c_int(VIRTIO_NET_HDR_MRG_LEN))
        assert rc == -errno.EBUSY, os.strerror(-rc) if rc < 0 else "accepted"
    finally:
        os.close(detached)
    qemu_open_queue(name, multi_queue=True).close()
