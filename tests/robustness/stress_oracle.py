# SPDX-License-Identifier: MIT
"""The judge of test_reconfig_stress.py: which live configuration accounts for a packet.

A packet read during reconfiguration must be explained whole by ONE
configuration that was live while it was in flight (docs/design.md
"Behaviour"; patches/0003 replaces the state as a whole under RCU): its
queue AND the hash fields of its header must both be what that one
configuration gives (:func:`predicted`), and its frame bytes must be
exactly the bytes sent.  A packet whose report comes from configuration A
and whose queue comes from B is torn and fails, even though each half
matches some live configuration.

Pure functions, no device: tests/host/test_stress_oracle.py feeds them
torn, duplicated, altered and foreign records.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional, Sequence

from pyuapi import HashConfig, rss
from pyuapi.uapi import tun as T

__all__ = ["MARK", "UNTOUCHED", "HDR_TAIL", "Record", "Verdict", "stamp", "seq_of", "predicted",
           "judge", "shortfalls"]

MARK = b"\x02\x5a"            # source MAC = MARK + 4-byte sequence number
UNTOUCHED = 0xA5              # header fill: hash_report 0xa5a5 is no report
HDR_TAIL = slice(10, 20)      # num_buffers, hash_value, hash_report, padding
RSS, REPORT = T.TUN_VNET_HASH_RSS, T.TUN_VNET_HASH_REPORT


@dataclasses.dataclass(frozen=True)
class Record:
    """One packet read: fd index, 20-byte header, frame, and the configurations live for it.

    ``first`` is the last configuration whose ioctl had returned before
    sendto(); ``last`` the last one whose ioctl had started when read()
    returned.  Configurations first..last (inclusive) were live.
    """

    fd: int
    header: bytes
    frame: bytes
    first: int
    last: int


@dataclasses.dataclass
class Verdict:
    """What :func:`judge` found: problems, and how much the check could discriminate."""

    problems: list[str] = dataclasses.field(default_factory=list)
    checked: int = 0              # records explained by one configuration
    across: int = 0               # ... of which in flight across a change (>1 live)
    discriminating: int = 0       # ... whose live configurations predict different packets
    duplicates: int = 0
    torn_queue_older: int = 0     # torn: queue from an older live configuration than the header
    torn_header_older: int = 0    # torn: header from an older live configuration than the queue


def stamp(template: bytes, seq: int) -> bytes:
    """The frame sent as number ``seq``: ``template`` with MARK + seq as source MAC."""
    return template[:6] + MARK + seq.to_bytes(4, "big") + template[12:]


def seq_of(frame: bytes) -> Optional[int]:
    """The sequence number :func:`stamp` wrote into ``frame``, or None for a foreign frame."""
    if len(frame) < 12 or frame[6:8] != MARK:
        return None
    return int.from_bytes(frame[8:12], "big")


def predicted(cfg: HashConfig, template: bytes, fd_of_queue: Callable[[int], int],
              numqueues: int,
              hash_fn: Callable[[bytes, int, bytes], tuple[int, int]] = rss.hash_frame
              ) -> tuple[int, bytes]:
    """(fd index, header bytes 10..19) that ``cfg`` (RSS on) gives the frame ``template``.

    With REPORT: zero num_buffers, little-endian hash_value and
    hash_report from pyuapi.rss, zero padding.  Without REPORT the bytes
    are zero: tun zero-fills the header past what it writes (mainline's
    "tun: Pad virtio headers", 6.15), so the reader's UNTOUCHED fill must
    be gone.  The queue is
    pyuapi.rss.select_queue() mapped to the fd that holds it.
    """
    if not cfg.flags & RSS:
        raise ValueError("the stress configurations all steer with RSS")
    h, r = hash_fn(template, cfg.types, cfg.key)
    fd = fd_of_queue(rss.select_queue(h, r, cfg.table, cfg.unclassified_queue, numqueues))
    if cfg.flags & REPORT:
        tail = bytes(2) + h.to_bytes(4, "little") + r.to_bytes(2, "little") + bytes(2)
    else:
        tail = bytes(10)
    return fd, tail


def judge(records: Sequence[Record], templates: Sequence[bytes], sent: dict[int, int],
          predict: Callable[[int, int], tuple[int, bytes]]) -> Verdict:
    """Check every record; ``predict(template index, configuration index)`` is :func:`predicted`.

    ``sent`` maps each sequence number sendto() accepted to the
    configuration index noted before it (the record's ``first``).  A
    record fails when its frame is foreign, never sent, read twice, not
    byte for byte the frame sent, or when no single live configuration
    gives both its fd and its header bytes 10..19.
    """
    v = Verdict()
    seen: set[int] = set()
    for rec in records:
        seq = seq_of(rec.frame)
        if seq is None or seq not in sent:
            v.problems.append(f"foreign or unsent frame on fd {rec.fd}: {rec.frame[:40].hex()}")
            continue
        if seq in seen:
            v.duplicates += 1
            v.problems.append(f"seq {seq}: read again on fd {rec.fd}")
            continue
        seen.add(seq)
        tmpl = seq % len(templates)
        if rec.frame != stamp(templates[tmpl], seq):
            v.problems.append(f"seq {seq} on fd {rec.fd}: frame bytes differ from those sent: "
                              f"{rec.frame[:48].hex()}")
            continue
        live = range(rec.first, rec.last + 1)
        outcomes = {i: predict(tmpl, i) for i in live}
        got = (rec.fd, rec.header[HDR_TAIL])
        if got not in outcomes.values():
            queue_from = [i for i, (fd, _) in outcomes.items() if fd == rec.fd]
            report_from = [i for i, (_, tail) in outcomes.items() if tail == got[1]]
            if queue_from and report_from:
                if max(queue_from) < min(report_from):
                    v.torn_queue_older += 1
                elif max(report_from) < min(queue_from):
                    v.torn_header_older += 1
            v.problems.append(
                f"seq {seq} on fd {rec.fd} header {rec.header.hex()}: no one configuration of "
                f"{rec.first}..{rec.last} gives both its queue and its header (queue fits "
                f"{queue_from or 'none'}, header fits {report_from or 'none'})")
            continue
        v.checked += 1
        v.across += len(live) > 1
        v.discriminating += len(set(outcomes.values())) > 1
    return v


def shortfalls(got: dict[str, int], minimum: dict[str, int]) -> list[str]:
    """The counts of ``got`` below their ``minimum`` (a run too small to have shown anything)."""
    return [f"{what}: {got.get(what, 0)} < {low}" for what, low in minimum.items()
            if got.get(what, 0) < low]
