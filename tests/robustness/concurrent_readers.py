# SPDX-License-Identifier: MIT
"""The readers of test_concurrent_stress.py: every packet of the oracle tap,
from queue files (read(2)) and vhost-net's ring (concurrent_churn.vhost_rx).

The vnet header is 20 or 24 bytes (TUNSETVNETHDRSZ races the reads, so the
reader cannot know which): the frame is found at either offset by its
stamp (stress_oracle.stamp: source MAC = MARK + sequence number), and must
be byte for byte the frame sent, with bytes 20..23 zero when the header is
24 bytes (tun zero-fills what it does not write).  A reader keeps
``(seq, header bytes 0..19, started)`` per packet, ``started`` being the
last TUNSETVNETHASH attempt started when the read returned; a packet that
is not one that was sent is kept whole (its first 120 bytes) as bad.
"""

from __future__ import annotations

import errno
import os
import select
import time
from typing import Callable, Optional, Sequence

from concurrent_board import Board
from concurrent_workers import HDR_SIZES
from stress_oracle import seq_of, stamp

__all__ = ["parse_packet", "read_fd", "reader"]


def parse_packet(data: bytes, frames: Sequence[bytes]) -> Optional[tuple[int, bytes]]:
    """(seq, header bytes 0..20) of a packet read with a 20- or 24-byte header whose
    frame is exactly one that was sent, else None."""
    for hs in HDR_SIZES:
        seq = seq_of(data[hs:])
        if seq is not None and data[hs:] == stamp(frames[seq % len(frames)], seq) \
                and not any(data[20:hs]):
            return seq, data[:20]
    return None


def read_fd(board: Board, fd: int, frames: Sequence[bytes], out: list,
            bad: list, counter: str = "read") -> Callable[[], bool]:
    """A function that reads what ``fd`` holds into ``out`` (or ``bad``); True if it read."""
    def drain() -> bool:
        got = False
        while True:
            try:
                data = os.read(fd, 65600)
            except BlockingIOError:
                return got
            except OSError as e:          # a detached queue: EBADFD until re-attached
                if e.errno != errno.EBADFD:
                    raise
                board.add("read_refused")
                return got
            got = True
            parsed = parse_packet(data, frames)
            if parsed is None:
                bad.append(data[:120])
            else:
                out.append((parsed[0], parsed[1], int(board.started.value)))
            board.add(counter)
    return drain


def reader(board: Board, fds: Sequence[int], frames: Sequence[bytes],
           name: str) -> tuple[str, object]:
    """Reads ``fds`` until stop and one idle second after it."""
    out: list = []
    bad: list = []
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    drains = {fd: read_fd(board, fd, frames, out, bad) for fd in fds}
    idle_since = None
    while True:
        ready = poller.poll(50)
        got = False
        for fd, ev in ready:
            got |= drains[fd]()
            if not ev & select.POLLIN:
                time.sleep(0.001)           # POLLERR of a detached queue
        if board.stopping():
            idle_since = idle_since if not got and idle_since else time.monotonic()
            if not got and time.monotonic() - idle_since > 1.0:
                break
    return name, (out, bad)
