# SPDX-License-Identifier: MIT
"""bench/datapath.py and bench/readers.py without a VM (issue 14 item 2):
the C reader counts what it reads and drains its queue before it exits,
the paced sender keeps its schedule, the per-mode summary is CPU per
delivered frame with per-round ratios, and the targets say met, missed or
not assessable."""
import socket
import time
from pathlib import Path

import pytest

from bench import datapath, readers, run


def test_reader_drains_its_queue_then_reports(tmp_path: Path) -> None:
    exe = readers.build(tmp_path)
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    b.setblocking(False)
    with a, b, readers.Readers(exe, [b.fileno()]) as rd:
        frame = bytes(16) + (7).to_bytes(2, "little") + bytes(2)
        for _ in range(5):
            a.send(frame)
        got = rd.stop()
    assert [(n, rep) for n, _, rep in got] == [(5, 7)]
    assert got[0][1] >= 0


def test_reader_that_reads_nothing_reports_minus_one(tmp_path: Path) -> None:
    exe = readers.build(tmp_path)
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    b.setblocking(False)
    with a, b, readers.Readers(exe, [b.fileno()]) as rd:
        assert [(n, rep) for n, _, rep in rd.stop()] == [(0, -1)]


def test_reader_build_failure_names_the_compiler(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="false reader.c exited 1"):
        readers.build(tmp_path, cc="false")


def _run(mode: str, rnd: int, cpu_s: float, delivered: int = 1000, dropped: int = 0
         ) -> datapath.Run:
    return datapath.Run(mode, rnd, 500, 2.0, delivered + dropped, delivered, [delivered], 0,
                        cpu_s / 2, cpu_s / 4, cpu_s / 2)


def _rounds(costs: dict[str, list[float]], dropped: int = 0) -> list[datapath.Run]:
    return [_run(m, i, c, dropped=dropped if m == "automq" and i == 0 else 0)
            for m, cs in costs.items() for i, c in enumerate(cs)]


def test_summary_is_cpu_per_delivered_frame_with_per_round_ratios() -> None:
    # automq drifts 2x over the rounds; rss stays 10% above it in each
    auto = [0.010, 0.012, 0.014, 0.016, 0.018, 0.020]
    runs = _rounds({"automq": auto, "rss": [1.1 * c for c in auto]}, dropped=3)
    s = datapath.summarize(runs)
    assert s["automq"]["cpu_us_per_frame"] == {"median": 15.0, "min": 10.0, "max": 20.0}
    assert s["rss"]["ratio_to_automq"] == {"median": 1.1, "ci95": [1.1, 1.1],
                                           "half_width": 0.0, "resolved": True}
    assert s["automq"]["dropped"] == 3 and s["automq"]["delivered_fraction"] < 1


def test_summary_gives_no_ratio_under_six_rounds() -> None:
    s = datapath.summarize(_rounds({"automq": [0.01] * 5, "rss": [0.011] * 5}))
    assert s["rss"]["ratio_to_automq"] is None


def _datapath(costs: dict[str, list[float]], dropped: int = 0) -> dict:
    runs = _rounds(costs)
    return {"modes": datapath.summarize(runs), "dropped": dropped, "sender_behind": [],
            "runs": [{"round": r.round, "mode": r.mode,
                      "cpu_us_per_frame": r.cpu_us_per_frame} for r in runs]}


def test_targets_met_missed_and_not_assessable() -> None:
    auto = [0.010, 0.011, 0.012, 0.013, 0.014, 0.015]
    dp = _datapath({"automq": auto, "report": [1.02 * c for c in auto],
                    "rss+report": [1.3 * c for c in auto], "rss": auto,
                    "ebpf": [c * (1 + (-1) ** i * 0.1) for i, c in enumerate(auto)]})
    t = run.targets(dp, {}, "tcg")
    assert t["datapath report at most 5% CPU per frame over automq"]["met"] is True
    assert t["datapath rss+report at most 5% CPU per frame over automq"]["met"] is False
    # rss / ebpf swings 10% either way: its interval straddles 1
    assert t["rss costs no more CPU per frame than ebpf"]["met"] is None
    assert t["datapath drops nothing at the offered load (issue 14)"]["met"] is True
    dropping = run.targets(_datapath({"automq": auto}, dropped=4), {}, "tcg")
    assert dropping["datapath drops nothing at the offered load (issue 14)"]["met"] is False
    late = dict(_datapath({"automq": auto}), sender_behind=["rss"])
    assert run.targets(late, {}, "tcg")[
        "datapath drops nothing at the offered load (issue 14)"]["met"] is None


@pytest.mark.parametrize("name,value,allowed", [
    ("TUNRSS_BENCH_ROUNDS", "5", "an integer from 6 to 1000"),
    ("TUNRSS_BENCH_LOAD", "1.5", "a fraction above 0, at most 0.9"),
    ("TUNRSS_BENCH_LOAD", "half", "a fraction above 0, at most 0.9"),
    ("TUNRSS_BENCH_PROFILE", "yes", "0 or 1"),
])
def test_bad_knob_is_refused_naming_the_allowed_values(name: str, value: str,
                                                        allowed: str) -> None:
    with pytest.raises(ValueError, match=f"{name}='{value}': use {allowed}"):
        datapath.parse_knobs({name: value})


def test_knob_defaults() -> None:
    assert datapath.parse_knobs({}) == {"rounds": 11, "seconds": 2.0, "queues": 4,
                                        "load": 0.5, "profile": 1}


def test_make_bench_refuses_a_bad_knob_before_any_work(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TUNRSS_BENCH_LOAD", "0")
    monkeypatch.setenv("RESULTS", str(tmp_path / "results"))
    assert run.main([]) == 2
    assert "TUNRSS_BENCH_LOAD='0': use a fraction above 0" in capsys.readouterr().err
    assert not (tmp_path / "results").exists()


def test_paced_sender_keeps_to_its_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import sender

    sent_at: list[float] = []

    class Fake:
        n = 256

        def __init__(self, *_: object) -> None:
            pass

        def send_batch(self, start: int = 0, count: int | None = None) -> int:
            sent_at.append(time.monotonic())
            return count or self.n

        def __enter__(self) -> "Fake":
            return self

        def __exit__(self, *exc: object) -> None:
            pass

    monkeypatch.setattr(sender, "MmsgSender", Fake)
    sent, took = sender.send_for("x", [b""] * 256, 0.5, pps=6400)
    assert 0.5 <= took < 0.6 and sent == 3200   # 100 batches of 32 due within 0.5 s
    # batch i leaves no earlier than i periods (5 ms) after the first
    assert all(t - sent_at[0] >= i * 0.005 - 1e-4 for i, t in enumerate(sent_at))
    assert sent_at[-1] - sent_at[0] >= 0.49
