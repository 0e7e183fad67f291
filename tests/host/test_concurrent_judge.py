# SPDX-License-Identifier: MIT
"""tests/robustness/concurrent_*.py: the verdict of the concurrent stress
test can fail.

A board with a known history of TUNSETVNETHASH attempts (applied, refused)
is judged against packets and read-backs a broken kernel could produce: a
header from a configuration that was never live in the window, a header
from a refused (EBUSY/EINVAL) attempt, a read-back of an old
configuration, a frame at neither header offset, a torn 24-byte header.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from pyuapi import HashConfig
from pyuapi.testkit.randframes import random_frame
from pyuapi.uapi import tun as T

sys.path.append(str(Path(__file__).resolve().parents[1] / "robustness"))
from concurrent_board import Board, applied_attempts, live_window  # noqa: E402
from concurrent_judge import header_tail, judge_packets, judge_read_backs, make_pool  # noqa: E402
from concurrent_readers import parse_packet  # noqa: E402
from stress_oracle import stamp  # noqa: E402

REPORT = T.TUN_VNET_HASH_REPORT


def _history() -> tuple[Board, list[HashConfig], list[bytes]]:
    """Attempts 0..4: 0 applied, 1 refused, 2 applied, 3 refused, 4 applied."""
    rng = random.Random(5)
    pool, cfgs = make_pool(rng, 0x1FF, 4)
    reporting = [i for i, c in enumerate(cfgs[:48]) if c.flags & REPORT]
    board = Board(16)
    for i, (c, ok) in enumerate(zip(reporting, (1, 0, 1, 0, 1))):
        board.choice[i], board.outcome[i] = c, ok
    board.started.value = board.done.value = 4
    frames = [random_frame(rng, i) for i in range(8)]
    return board, cfgs, frames


def _header(cfg: HashConfig, frame: bytes) -> bytes:
    return bytes(10) + header_tail(cfg, frame)


def test_live_window_skips_refused_attempts() -> None:
    board, _, _ = _history()
    applied = applied_attempts(board)
    assert applied == [0, 2, 4]
    assert live_window(applied, 1, 1) == (0, 0)       # attempt 1 was refused: 0 stays live
    assert live_window(applied, 1, 3) == (0, 1)
    assert live_window(applied, 2, 4) == (1, 2)


def test_packets_from_live_configurations_pass_others_fail() -> None:
    board, cfgs, frames = _history()
    cfg = [cfgs[board.choice[i]] for i in range(5)]
    seq = 8                                           # frame template 0
    good = [(seq, _header(cfg[2], frames[0]), 3)]
    v = judge_packets(board, cfgs, frames, {seq: 2}, good)
    assert not v.problems and v.checked == 1
    for wrong in (cfg[0], cfg[1], cfg[3]):            # not live after attempt 2, or refused
        if header_tail(wrong, frames[0]) == header_tail(cfg[2], frames[0]):
            continue
        v = judge_packets(board, cfgs, frames, {seq: 2}, [(seq, _header(wrong, frames[0]), 3)])
        assert len(v.problems) == 1, wrong
    v = judge_packets(board, cfgs, frames, {}, good)  # never sent
    assert v.problems


def test_read_backs_must_be_live() -> None:
    board, cfgs, _ = _history()
    raw = {i: cfgs[board.choice[i]].canonical().encode() + bytes(256) for i in range(5)}
    assert judge_read_backs(board, cfgs, [(2, raw[2], 3), (2, raw[4], 4)]) == []
    assert len(judge_read_backs(board, cfgs, [(2, raw[0], 3)])) == 1   # replaced before
    assert len(judge_read_backs(board, cfgs, [(0, raw[1], 4)])) == 1   # refused attempt


def test_parse_packet_finds_the_frame_at_20_or_24_bytes_only() -> None:
    _, cfgs, frames = _history()
    frame = stamp(frames[3], 11)
    hdr = bytes(range(1, 21))
    assert parse_packet(hdr + frame, frames) == (11, hdr)
    assert parse_packet(hdr + bytes(4) + frame, frames) == (11, hdr)
    assert parse_packet(hdr + b"\x01\0\0\0" + frame, frames) is None   # 24-byte header not zeroed
    assert parse_packet(hdr + frame[:-1] + bytes([frame[-1] ^ 1]), frames) is None     # altered frame
    assert parse_packet(hdr[:12] + frame, frames) is None               # no header offset fits
