# SPDX-License-Identifier: MIT
"""tests/robustness/stress_oracle.py: the reconfiguration stress judge can fail.

Each case feeds :func:`judge` a record a broken kernel could produce: a
torn packet (report from one live configuration, queue from another), a
duplicate, altered frame bytes, a foreign frame, a stale configuration, a
missing report; and checks the minimum-count guard.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pyuapi import HashConfig, rss
from pyuapi.testkit import packets as P
from pyuapi.uapi import tun as T, virtio_net as V

sys.path.append(str(Path(__file__).resolve().parents[1] / "robustness"))
import stress_oracle as S  # noqa: E402

RSS, REPORT = T.TUN_VNET_HASH_RSS, T.TUN_VNET_HASH_REPORT
ALL = V.VIRTIO_NET_RSS_HASH_TYPE_ALL
TEMPLATES = [P.ether(P.ipv4("10.1.0.1", "10.1.0.2", 6, P.tcp("10.1.0.1", "10.1.0.2", 1000 + i,
                                                              80)), P.ETH_P_IP)
             for i in range(8)]
A = HashConfig(RSS | REPORT, ALL, bytes(range(40)), (0, 1, 2, 3), 0)
B = HashConfig(RSS | REPORT, ALL, bytes(range(40, 80)), (3, 2, 1, 0), 1)
C = HashConfig(RSS, ALL, bytes(range(40)), (0, 1, 2, 3), 0)                 # A without REPORT
CONFIGS = [A, B, C]


def predict(tmpl: int, ci: int) -> tuple[int, bytes]:
    return S.predicted(CONFIGS[ci], TEMPLATES[tmpl], lambda q: q, 4)


def record(seq: int, ci_queue: int, ci_report: int, first: int, last: int,
           frame: bytes | None = None) -> S.Record:
    """A packet whose queue is configuration ``ci_queue``'s and header ``ci_report``'s."""
    fd, _ = predict(seq % len(TEMPLATES), ci_queue)
    _, tail = predict(seq % len(TEMPLATES), ci_report)
    header = bytes(10) + tail
    return S.Record(fd, header, frame or S.stamp(TEMPLATES[seq % len(TEMPLATES)], seq),
                    first, last)


def torn_seq() -> int:
    """A sequence number whose frame A and B steer to different queues."""
    for seq in range(len(TEMPLATES)):
        if predict(seq, 0)[0] != predict(seq, 1)[0]:
            return seq
    raise AssertionError("no frame that A and B steer apart: choose other tables")


def test_whole_packets_pass_and_are_counted() -> None:
    recs = [record(0, 0, 0, 0, 0), record(1, 1, 1, 0, 1), record(2, 2, 2, 1, 2)]
    v = S.judge(recs, TEMPLATES, {0: 0, 1: 0, 2: 1}, predict)
    assert v.problems == [] and (v.checked, v.across, v.discriminating) == (3, 2, 2)


def test_torn_packet_fails() -> None:
    """Report from A, queue from B, both live: each half matches, the packet does not."""
    seq = torn_seq()
    rec = record(seq, 1, 0, 0, 1)
    live = [predict(seq, i) for i in (0, 1)]
    assert any(rec.fd == fd for fd, _ in live) and any(rec.header[10:] == t for _, t in live)
    v = S.judge([rec], TEMPLATES, {seq: 0}, predict)
    assert len(v.problems) == 1 and "no one configuration" in v.problems[0]
    assert (v.checked, v.torn_header_older, v.torn_queue_older) == (0, 1, 0)
    v = S.judge([record(seq, 0, 1, 0, 1)], TEMPLATES, {seq: 0}, predict)
    assert (v.torn_header_older, v.torn_queue_older) == (0, 1)


def test_untouched_header_with_report_queue_fails() -> None:
    """C (no REPORT) and B live: an untouched header with B's queue is torn."""
    seq = next(s for s in range(len(TEMPLATES)) if predict(s, 1)[0] != predict(s, 2)[0])
    v = S.judge([record(seq, 1, 2, 1, 2)], TEMPLATES, {seq: 1}, predict)
    assert v.problems


def test_stale_configuration_fails() -> None:
    """A packet steered by A although only B was live when it was sent and read."""
    seq = torn_seq()
    v = S.judge([record(seq, 0, 0, 1, 1)], TEMPLATES, {seq: 1}, predict)
    assert v.problems


def test_duplicate_altered_foreign_and_unsent_fail() -> None:
    sent = {0: 0, 1: 0}
    dup = S.judge([record(0, 0, 0, 0, 0), record(0, 0, 0, 0, 0)], TEMPLATES, sent, predict)
    assert dup.duplicates == 1 and len(dup.problems) == 1
    altered = bytearray(S.stamp(TEMPLATES[1], 1))
    altered[-1] ^= 1
    v = S.judge([record(1, 0, 0, 0, 0, bytes(altered))], TEMPLATES, sent, predict)
    assert v.problems and "bytes differ" in v.problems[0]
    v = S.judge([record(1, 0, 0, 0, 0, TEMPLATES[1])], TEMPLATES, sent, predict)   # no MARK
    assert v.problems and "foreign" in v.problems[0]
    v = S.judge([record(5, 0, 0, 0, 0)], TEMPLATES, sent, predict)                 # never sent
    assert v.problems


def test_predicted_matches_pyuapi_and_rejects_configs_without_rss() -> None:
    fd, tail = S.predicted(A, TEMPLATES[0], lambda q: q, 4)
    h, r = rss.hash_frame(TEMPLATES[0], ALL, A.key)
    assert tail == bytes(2) + h.to_bytes(4, "little") + r.to_bytes(2, "little") + bytes(2)
    assert fd == rss.select_queue(h, r, A.table, 0, 4)
    assert S.predicted(C, TEMPLATES[0], lambda q: q, 4)[1] == bytes(10)
    try:
        S.predicted(HashConfig(REPORT, ALL, A.key), TEMPLATES[0], lambda q: q, 4)
    except ValueError:
        pass
    else:
        raise AssertionError("a configuration without RSS was accepted")


def test_shortfalls() -> None:
    mins = {"configurations applied": 50, "frames in flight across a change": 200}
    assert S.shortfalls({"configurations applied": 2,
                         "frames in flight across a change": 1000}, mins) == \
        ["configurations applied: 2 < 50"]
    assert S.shortfalls({"configurations applied": 50,
                         "frames in flight across a change": 200}, mins) == []
