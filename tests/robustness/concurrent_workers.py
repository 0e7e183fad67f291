# SPDX-License-Identifier: MIT
"""The workers that race on the oracle tap of test_concurrent_stress.py.

Each runs in its own forked process until the board says stop, without
pausing between operations, and returns what the parent must judge
through a multiprocessing queue as ``(worker name, payload)``; an
unexpected errno is an error string (``("error", text)``).  The ioctls
are those of include/uapi/linux/if_tun.h; what each may answer follows
docs/design.md and patches/0002-0003:

* TUNSETVNETHASH: a valid configuration is applied, or refused with
  EBUSY when it has RSS and a steering program is attached; an invalid
  one (unknown flag, table length not a power of two) is EINVAL;
* TUNSETSTEERINGEBPF: EBUSY while RSS is on;
* TUNSETQUEUE: attaching an attached queue or detaching a detached one
  is EINVAL (the worker tracks which it did, so only its own state);
* TUNSETVNETHDRSZ: 20 and 24 always fit REPORT; 4 is EINVAL.

The readers are in concurrent_readers.py.
"""

from __future__ import annotations

import errno
import random
import socket
from typing import Sequence

from pyuapi.errors import TunError
from pyuapi.hashio import get_vnet_hash_raw, set_vnet_hash_raw
from pyuapi.sysio import ioctl
from pyuapi.uapi import tun as T

from concurrent_board import Board
from stress_oracle import stamp

__all__ = ["Pool", "reconfigure", "read_back", "queue_churn", "steering",
           "hdr_size", "link_flap", "sender"]

HDR_SIZES = (20, 24)          # both hold struct virtio_net_hdr_v1_hash (concurrent_readers)
GETS_KEPT = 20000             # read-back samples returned for judging


class Pool:
    """The TUNSETVNETHASH arguments the reconfigure worker draws from:
    ``payloads[i]`` with ``rss[i]`` (RSS flag) and ``valid[i]``."""

    def __init__(self, payloads: Sequence[bytes], rss: Sequence[bool],
                 valid: Sequence[bool]) -> None:
        self.payloads, self.rss, self.valid = list(payloads), list(rss), list(valid)


def _err(e: OSError) -> int:
    return e.errno or 0


def reconfigure(board: Board, fd: int, pool: Pool, seed: int) -> tuple[str, object]:
    """TUNSETVNETHASH in a loop, valid and invalid, recording each attempt."""
    rng = random.Random(seed)
    i = 0
    while not board.stopping() and i + 1 < board.max_attempts:
        i += 1
        c = rng.randrange(len(pool.payloads))
        board.choice[i] = c
        board.started.value = i
        try:
            set_vnet_hash_raw(fd, pool.payloads[c])
            err = 0
        except TunError as e:
            err = _err(e)
        if not pool.valid[c]:
            if err != errno.EINVAL:
                return "error", f"TUNSETVNETHASH of invalid pool entry {c}: errno {err}"
            board.outcome[i] = 0
            board.add("set_invalid")
        elif err == 0:
            board.outcome[i] = 1
            board.add("set_applied")
        elif err == errno.EBUSY and pool.rss[c]:
            board.outcome[i] = 0
            board.add("set_busy")
        else:
            return "error", f"TUNSETVNETHASH of valid pool entry {c}: errno {err}"
        board.done.value = i
    return "reconfigure", i


def read_back(board: Board, fd: int, entries: int) -> tuple[str, object]:
    """TUNGETVNETHASH in a loop: (done before, raw answer, started after) samples."""
    samples = []
    while not board.stopping():
        first = int(board.done.value)
        try:
            raw = get_vnet_hash_raw(fd, T.TUN_VNET_HASH_SIZE_VER0, entries)
        except TunError as e:
            return "error", f"TUNGETVNETHASH: errno {_err(e)}"
        last = int(board.started.value)
        board.add("get")
        if len(samples) < GETS_KEPT:
            samples.append((first, raw, last))
    return "read_back", samples


def _setqueue(fd: int, flag: int) -> int:
    ifr = T.ifreq()
    ifr.ifr_ifru.ifru_flags = flag
    return -ioctl(fd, T.TUNSETQUEUE, ifr)


def queue_churn(board: Board, fds: Sequence[int], seed: int) -> tuple[str, object]:
    """IFF_DETACH_QUEUE / IFF_ATTACH_QUEUE on ``fds`` (never the control queue)."""
    rng = random.Random(seed)
    attached = [True] * len(fds)
    while not board.stopping():
        k = rng.randrange(len(fds))
        wrong = rng.random() < 0.1             # the call that must be refused
        attach = attached[k] == wrong
        err = _setqueue(fds[k], T.IFF_ATTACH_QUEUE if attach else T.IFF_DETACH_QUEUE)
        if wrong:
            if err != errno.EINVAL:
                return "error", f"TUNSETQUEUE {'re-attach' if attach else 're-detach'}: " \
                                f"errno {err}, expected EINVAL"
            board.add("setqueue_refused")
        elif err:
            return "error", f"TUNSETQUEUE {'attach' if attach else 'detach'}: errno {err}"
        else:
            attached[k] = attach
            board.add("attach" if attach else "detach")
    for k, on in enumerate(attached):          # leave every queue attached for the drain
        if not on and _setqueue(fds[k], T.IFF_ATTACH_QUEUE):
            return "error", "TUNSETQUEUE attach at the end failed"
    return "queue_churn", None


def steering(board: Board, fd: int, prog_fd: int) -> tuple[str, object]:
    """TUNSETSTEERINGEBPF attach/detach; EBUSY is the answer while RSS is on."""
    import ctypes
    on = True
    while not board.stopping():
        rc = ioctl(fd, T.TUNSETSTEERINGEBPF, ctypes.c_int(prog_fd if on else -1))
        if rc == -errno.EBUSY and on:
            board.add("steer_busy")
        elif rc < 0:
            return "error", f"TUNSETSTEERINGEBPF {'attach' if on else 'detach'}: errno {-rc}"
        else:
            board.add("steer_on" if on else "steer_off")
        on = not on
    ioctl(fd, T.TUNSETSTEERINGEBPF, ctypes.c_int(-1))
    return "steering", None


def hdr_size(board: Board, fd: int, seed: int) -> tuple[str, object]:
    """TUNSETVNETHDRSZ between sizes that hold the hash, and an invalid one."""
    import ctypes
    rng = random.Random(seed)
    while not board.stopping():
        if rng.random() < 0.1:
            rc = ioctl(fd, T.TUNSETVNETHDRSZ, ctypes.c_int(4))
            if rc != -errno.EINVAL:
                return "error", f"TUNSETVNETHDRSZ 4: {rc}, expected -EINVAL"
            board.add("hdrsz_invalid")
            continue
        rc = ioctl(fd, T.TUNSETVNETHDRSZ, ctypes.c_int(rng.choice(HDR_SIZES)))
        if rc < 0:
            return "error", f"TUNSETVNETHDRSZ: errno {-rc}"
        board.add("hdrsz")
    return "hdr_size", None


def link_flap(board: Board, name: str) -> tuple[str, object]:
    """The link down and up again (RTM_NEWLINK IFF_UP) through pyroute2."""
    from tests.lib.netlink import iproute, link_up
    with iproute() as ipr:                   # one rtnetlink socket for the run
        while not board.stopping():
            link_up(name, False, ipr)
            board.add("link_down")
            link_up(name, True, ipr)
            board.add("link_up")
    return "link_flap", None


SEND_REFUSED = (errno.ENOBUFS, errno.ENETDOWN, errno.ENXIO, errno.EAGAIN)


def sender(board: Board, name: str, frames: Sequence[bytes]) -> tuple[str, object]:
    """AF_PACKET frames stamped with sequence numbers; {seq: done before sendto}."""
    sent: dict[int, int] = {}
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    seq = 0
    try:
        while not board.stopping():
            frame = stamp(frames[seq % len(frames)], seq)
            first = int(board.done.value)
            try:
                sock.sendto(frame, (name, int.from_bytes(frame[12:14], "big")))
                sent[seq] = first
                board.add("sent")
            except OSError as e:
                if e.errno not in SEND_REFUSED:
                    return "error", f"sendto: {e!r}"
                board.add("send_refused")
            seq += 1
    finally:
        sock.close()
    return "sender", sent
