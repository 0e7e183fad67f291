# SPDX-License-Identifier: MIT
"""Workers of test_concurrent_stress.py that make and unmake devices while
the oracle tap is raced: close and reopen, persistent devices whose
previous owner left hash state, device deletion, and vhost-net.

* :func:`reopen`: one more queue file attaches to the oracle tap (TUNSETIFF
  by name), reads what lands on it (judged like every read), and closes.
* :func:`persist_cycle`: a persistent tap; two queue files set a REPORT
  configuration, one closes (the state must stay: TUNGETVNETHASH on the
  other returns it), the last closes (patches/0002 tun_vnet_hash_clear:
  the next owner starts without it), a new owner attaches and must read
  flags 0 (HashConfig.disabled) before it configures anything.
* :func:`delete_cycle`: a configured, multiqueue tap taking traffic is
  deleted over rtnetlink while a thread of the same process hammers
  TUNSETVNETHASH/TUNGETVNETHASH/TUNSETQUEUE on its files; afterwards they
  answer EBADFD (tun_get: the device is gone).
* :func:`vhost_rx`: vhost-net drives one queue of the oracle tap
  (tun_recvmsg, the batched path); its buffers are judged like reads.
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import threading
from typing import Sequence

from pyuapi import HashConfig, Tap
from pyuapi.errors import TunError
from pyuapi.hashio import config_from_raw, get_vnet_hash_raw, set_vnet_hash_raw
from pyuapi.sysio import ioctl
from pyuapi.uapi import tun as T

from concurrent_board import Board
from concurrent_readers import parse_packet, read_fd

__all__ = ["reopen", "persist_cycle", "delete_cycle", "vhost_rx", "prepare"]

RSS, REPORT = T.TUN_VNET_HASH_RSS, T.TUN_VNET_HASH_REPORT
GONE = (errno.EBADFD,)


def prepare(tap: Tap, hdr: int = 20) -> None:
    """Little-endian vnet header of ``hdr`` bytes: what REPORT needs (docs/design.md)."""
    tap.set_vnet_le(True)
    tap.set_vnet_hdr_sz(hdr)


def reopen(board: Board, name: str, frames: Sequence[bytes]) -> tuple[str, object]:
    """Attach one more queue file to ``name``, read it a little, close it; again."""
    out: list = []
    bad: list = []
    while not board.stopping():
        try:
            t = Tap(name, queues=1)
        except TunError as e:
            return "error", f"reopen TUNSETIFF {name}: errno {e.errno}"
        board.add("reopen")
        drain = read_fd(board, t.fds[0], frames, out, bad, "reopen_read")
        for _ in range(20):
            drain()
        t.close()
    return "reopen", (out, bad)


def persist_cycle(board: Board, name: str, cfgs: Sequence[HashConfig],
                  frames: Sequence[bytes]) -> tuple[str, object]:
    """Owners of a persistent tap come and go; each must start without hash state."""
    first = Tap(name, queues=2)
    first.set_persist(True)
    prepare(first)
    owner = first
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    from tests.lib.netlink import link_up
    link_up(first.name)
    problems: list[str] = []
    k = 0
    try:
        while not board.stopping():
            cfg = cfgs[k % len(cfgs)]
            k += 1
            owner.set_vnet_hash(cfg)
            for f in frames[:8]:
                try:
                    sock.sendto(f, (first.name, int.from_bytes(f[12:14], "big")))
                except OSError as e:
                    if e.errno not in (errno.ENOBUFS, errno.ENETDOWN):
                        raise
            os.close(owner.fds.pop(0))          # one owner's file leaves
            owner.attached.pop(0)
            owner.order = list(range(len(owner.fds)))
            left = config_from_raw(get_vnet_hash_raw(owner.fds[0]))
            if left != cfg.canonical():
                problems.append(f"cycle {k}: a queue closed, the other reads {left}")
            owner.close()                       # the last file: the state ends
            owner = Tap(name, queues=2)
            fresh = config_from_raw(get_vnet_hash_raw(owner.fds[0]))
            if fresh != HashConfig.disabled():
                problems.append(f"cycle {k}: a new owner inherits {fresh}")
            board.add("persist_checked")
            prepare(owner)
            board.add("persist_cycles")
    finally:
        sock.close()
        owner.set_persist(False)
        owner.close()
    return ("error", "; ".join(problems[:5])) if problems else ("persist_cycle", k)


def _get_buffer() -> ctypes.Array:
    """A TUNGETVNETHASH argument: struct tun_vnet_hash with its size set, room for 128 entries."""
    size = T.TUN_VNET_HASH_SIZE_VER0
    return ctypes.create_string_buffer(size.to_bytes(4, "little") + bytes(size - 4 + 256))


def _hammer(fds: Sequence[int], payload: bytes, stop: threading.Event, errs: list[int],
            count: list[int]) -> None:
    while not stop.is_set():
        for fd in fds:
            for op in range(3):
                if op == 0:
                    rc = ioctl(fd, T.TUNSETVNETHASH, ctypes.create_string_buffer(payload))
                elif op == 1:
                    rc = ioctl(fd, T.TUNGETVNETHASH, _get_buffer())
                else:
                    ifr = T.ifreq()
                    ifr.ifr_ifru.ifru_flags = T.IFF_DETACH_QUEUE if count[0] % 2 \
                        else T.IFF_ATTACH_QUEUE
                    rc = ioctl(fd, T.TUNSETQUEUE, ifr)
                count[0] += 1
                if rc < 0:
                    errs.append(-rc)


def delete_cycle(board: Board, cfg: HashConfig, frames: Sequence[bytes]) -> tuple[str, object]:
    """A configured tap with traffic, deleted while its files are in use."""
    from tests.lib.netlink import delete_link, iproute, link_up
    payload = cfg.encode()
    problems: list[str] = []
    n = 0
    with iproute() as ipr, socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0) as sock:
        while not board.stopping():
            t = Tap("cdel%d", queues=2)
            prepare(t)
            t.set_vnet_hash(cfg)
            link_up(t.name, True, ipr)
            stop, errs, count = threading.Event(), [], [0]
            th = threading.Thread(target=_hammer, args=(t.fds, payload, stop, errs, count))
            th.start()
            for f in frames[:16]:
                try:
                    sock.sendto(f, (t.name, int.from_bytes(f[12:14], "big")))
                except OSError as e:
                    if e.errno not in (errno.ENOBUFS, errno.ENETDOWN, errno.ENXIO):
                        raise
            delete_link(t.name, ipr)
            stop.set()
            th.join()
            after = ioctl(t.fds[0], T.TUNGETVNETHASH, _get_buffer())
            if after != -errno.EBADFD:
                problems.append(f"TUNGETVNETHASH after deletion: {after}, expected -EBADFD")
            odd = sorted(set(errs) - {errno.EINVAL, errno.EBADFD})
            if odd:
                problems.append(f"ioctls around deletion answered errno {odd}")
            t.close()
            n += 1
            board.add("deleted")
            board.add("deleted_ioctls", count[0])
    return ("error", "; ".join(problems[:5])) if problems else ("delete_cycle", n)


def vhost_rx(board: Board, fd: int, frames: Sequence[bytes]) -> tuple[str, object]:
    """vhost-net receives from queue ``fd`` of the oracle tap until stop."""
    from pyuapi.vhost import VIRTIO_F_VERSION_1, VIRTIO_NET_F_HASH_REPORT, VhostNet
    feats = (1 << VIRTIO_F_VERSION_1) | (1 << VIRTIO_NET_F_HASH_REPORT)
    out: list = []
    bad: list = []
    with VhostNet(fd, feats, num=64, buf_size=2048) as vh:
        idle = 0
        while idle < 10 or not board.stopping():
            bufs = vh.receive(64, timeout=0.1)
            idle = 0 if bufs else idle + 1
            for data in bufs:
                # vhost-net sets num_buffers (bytes 10..11) itself
                data = data[:10] + b"\0\0" + data[12:]
                parsed = parse_packet(data, frames)
                if parsed is None:
                    bad.append(data[:120])
                else:
                    out.append((parsed[0], parsed[1], int(board.started.value)))
                board.add("vhost_received")
    return "vhost_rx", (out, bad)

