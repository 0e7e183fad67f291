# SPDX-License-Identifier: MIT
"""The configurations test_concurrent_stress.py races with, and its verdict
on what the workers saw.

Packets are judged by stress_oracle.judge with the queue left out: queues
attach and detach and files come and go during the race, so which fd a
queue number is changes under the reader; what must hold is that the
header bytes 10..19 of every packet (hash_value, hash_report, zero
num_buffers and padding; all zero without REPORT) are those of ONE
configuration live between the send and the read (docs/design.md
"Behaviour"), and that the frame is byte for byte the one sent.
TUNGETVNETHASH answers are judged the same way: each must be exactly one
configuration live during the call (patches/0002 tun_vnet_hash_get reads
one state under the RTNL).
"""

from __future__ import annotations

import random
from typing import Sequence

from pyuapi import HashConfig, rss
from pyuapi.hashio import config_from_raw
from pyuapi.uapi import tun as T

from concurrent_board import Board, applied_attempts, live_window
from concurrent_workers import Pool
from stress_oracle import Record, Verdict, judge, stamp

__all__ = ["make_pool", "judge_packets", "judge_read_backs", "header_tail"]

RSS, REPORT = T.TUN_VNET_HASH_RSS, T.TUN_VNET_HASH_REPORT
FLAG_CHOICES = (RSS | REPORT, RSS | REPORT, RSS, REPORT, REPORT, 0)


def _valid(rng: random.Random, types: int, queues: int) -> HashConfig:
    flags = rng.choice(FLAG_CHOICES)
    if not flags:
        return HashConfig.disabled()
    t = rng.choice((types, 0, rng.randrange(types + 1) & types))
    key = rng.randbytes(T.TUN_VNET_HASH_KEY_SIZE)
    if not flags & RSS:
        return HashConfig(flags, t, key)
    table = tuple(rng.randrange(2 * queues) for _ in range(1 << rng.randrange(8)))
    return HashConfig(flags, t, key, table, rng.randrange(2 * queues))


def _invalid(rng: random.Random, types: int) -> HashConfig:
    key = rng.randbytes(T.TUN_VNET_HASH_KEY_SIZE)
    kind = rng.randrange(3)
    if kind == 0:                                  # a flag the kernel does not know
        return HashConfig(REPORT | 0x80, types, key)
    if kind == 1:                                  # 3 entries: not a power of two
        return HashConfig(RSS, types, key, (0, 1, 2), 0, mask=2)
    return HashConfig(REPORT, types | 1 << 31, key)  # an unknown hash type


def make_pool(rng: random.Random, types: int, queues: int,
              valid: int = 48, invalid: int = 8) -> tuple[Pool, list[HashConfig]]:
    """``valid`` configurations (RSS and/or REPORT, or none) and ``invalid``
    ones, encoded; the HashConfig of each entry."""
    cfgs = [_valid(rng, types, queues) for _ in range(valid)]
    cfgs += [_invalid(rng, types) for _ in range(invalid)]
    pool = Pool([c.encode(check=False) for c in cfgs], [bool(c.flags & RSS) for c in cfgs],
                [True] * valid + [False] * invalid)
    return pool, cfgs


def header_tail(cfg: HashConfig, frame: bytes) -> bytes:
    """Header bytes 10..19 that ``cfg`` gives ``frame``: the little-endian hash
    fields with REPORT (pyuapi.rss), else zeros (tun zero-fills the header)."""
    if not cfg.flags & REPORT:
        return bytes(10)
    h, r = rss.hash_frame(frame, cfg.types, cfg.key)
    return bytes(2) + h.to_bytes(4, "little") + r.to_bytes(2, "little") + bytes(2)


def judge_packets(board: Board, cfgs: Sequence[HashConfig], frames: Sequence[bytes],
                  sent: dict[int, int], reads: Sequence[tuple[int, bytes, int]]) -> Verdict:
    """stress_oracle.judge over every packet read, the queue not compared (fd 0 for all)."""
    applied = applied_attempts(board)
    records = []
    for seq, hdr, started in reads:
        first = sent.get(seq, started)
        lo, hi = live_window(applied, min(first, started), started)
        records.append(Record(0, hdr, stamp(frames[seq % len(frames)], seq), lo, hi))
    cache: dict[tuple[int, int], tuple[int, bytes]] = {}

    def predict(tmpl: int, k: int) -> tuple[int, bytes]:
        if (tmpl, k) not in cache:
            cfg = cfgs[board.choice[applied[k]]]
            cache[(tmpl, k)] = (0, header_tail(cfg, frames[tmpl]))
        return cache[(tmpl, k)]

    return judge(records, frames, {s: 0 for s in sent}, predict)


def judge_read_backs(board: Board, cfgs: Sequence[HashConfig],
                     samples: Sequence[tuple[int, bytes, int]]) -> list[str]:
    """Each TUNGETVNETHASH answer must be one configuration live during the call."""
    applied = applied_attempts(board)
    problems = []
    for first, raw, last in samples:
        got = config_from_raw(raw)
        lo, hi = live_window(applied, first, last)
        live = [cfgs[board.choice[applied[k]]].canonical() for k in range(lo, hi + 1)]
        if got not in live:
            problems.append(f"TUNGETVNETHASH between attempts {first} and {last} returned "
                            f"{got}, none of the {len(live)} live configurations")
    return problems
