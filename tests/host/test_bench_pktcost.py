# SPDX-License-Identifier: MIT
"""bench/pktcost.py without a VM: the debugfs payload (bench/kernel/0002's
format), the distribution-free interval of the median, and when a ratio
counts as resolved, and the per-packet cost target (bench/run.py)."""
import math
import random

import pytest

from bench import pktcost, run, stats


def test_payload_is_header_line_then_length_prefixed_frames() -> None:
    frames = [b"\x01" * 14, b"\x02" * 60]
    got = pktcost.payload("cost0", 7, frames)
    assert got == b"cost0 7\n" + b"\x00\x0e" + frames[0] + b"\x00\x3c" + frames[1]


def test_median_interval_uses_binomial_order_statistics() -> None:
    # n = 31: P(B <= 9) = 0.0147 <= 0.025 < P(B <= 10): the 10th and 22nd values
    xs = [float(i) for i in range(1, 32)]
    random.Random(1).shuffle(xs)
    med, lo, hi = stats.median_ci(xs)
    assert (med, lo, hi) == (16.0, 10.0, 22.0)
    assert sum(math.comb(31, k) for k in range(10)) / 2 ** 31 <= 0.025


def test_median_interval_needs_six_samples() -> None:
    with pytest.raises(ValueError, match="need 6"):
        stats.median_ci([1.0] * 5)


def test_interval_covers_the_true_median_about_95_percent() -> None:
    rng = random.Random(7)
    hits = sum(lo <= 0.0 <= hi for _, lo, hi in
               (stats.median_ci([rng.gauss(0, 1) for _ in range(31)]) for _ in range(2000)))
    assert 0.94 <= hits / 2000 <= 0.99


def rounds(ratio: float, spread: float, n: int = 31) -> list[dict[str, float]]:
    rng = random.Random(3)
    out = []
    for _ in range(n):
        base = 1000 * rng.uniform(0.8, 1.2)          # drift hits both modes
        out.append({"automq": base, "report": base * ratio * rng.uniform(1 - spread, 1 + spread)})
    return out


def test_tight_rounds_resolve_and_loose_rounds_do_not() -> None:
    tight = pktcost.summarize(rounds(1.03, 0.005))["report"]["ratio_to_automq"]
    assert tight["resolved"] and tight["ci95"][0] <= 1.03 <= tight["ci95"][1]
    loose = pktcost.summarize(rounds(1.03, 0.15))["report"]["ratio_to_automq"]
    assert not loose["resolved"] and loose["half_width"] > stats.RESOLVE


@pytest.mark.parametrize("ci, resolved, verdict", [
    ((1.01, 1.03), True, True),       # resolved and inside the 5%
    ((1.03, 1.06), True, None),       # straddles the limit: neither
    ((1.30, 1.52), False, False),     # unresolved, but all of it above the limit: missed
    ((1.00, 1.04), False, None),      # unresolved and inside: not assessable yet
])
def test_cost_target_is_missed_only_when_the_whole_interval_is_above(
        ci: tuple[float, float], resolved: bool, verdict: bool | None) -> None:
    ratio = {"median": sum(ci) / 2, "ci95": list(ci), "resolved": resolved}
    assert run.cost_verdict(ratio) is verdict
    assert run.cost_verdict(None) is None


def test_payload_names_the_part_when_one_is_timed() -> None:
    assert pktcost.payload("t0", 3, [b"x" * 14], "carry").startswith(b"t0 3 carry\n\x00\x0e")
    assert pktcost.payload("t0", 3, [b"x" * 14]).startswith(b"t0 3\n")


def test_compare_gives_the_per_round_ratio_of_two_parts() -> None:
    rng = random.Random(5)
    rs = []
    for _ in range(41):
        base = rng.uniform(50, 150)                 # drift hits both alike
        rs.append({"carry": base * 0.5 * rng.uniform(0.995, 1.005), "rehash": base})
    c = pktcost.compare(rs, "carry", "rehash")
    assert c["resolved"] and c["ci95"][0] <= 0.5 <= c["ci95"][1]


class _FakeKernel:
    """bench/kernel/0002 as time_rounds() sees it: ns per packet per
    (interface, part); the first call of all is 7x slow, like TCG's."""

    COST = {("c0", ""): 100.0, ("c1", ""): 140.0, ("c2", ""): 130.0, ("c3", ""): 133.0,
            ("c4", ""): 60.0, ("c3", "carry"): 40.0, ("c3", "rehash"): 30.0,
            ("c0", "select"): 42.0, ("c0", "select-base"): 41.5, ("c0", "put"): 58.0,
            ("c0", "put-base"): 57.7}

    def __init__(self, parts: bool = True, off: bool = True) -> None:
        self.calls: list[tuple[str, int, str]] = []
        self.parts, self.off = parts, off

    def __call__(self, ifname: str, reps: int, frames: list[bytes], part: str = "") -> float:
        if part and not self.parts:
            raise OSError(95, "Operation not supported")
        if part in pktcost.OFF_PARTS and not self.off:
            raise OSError(22, "Invalid argument")       # a bench patch without them
        self.calls.append((ifname, reps, part))
        slow = 7.0 if len(self.calls) == 1 else 1.0
        return self.COST[ifname, part] * slow * (1 + 0.001 * (len(self.calls) % 3))


IFNAMES = {m: f"c{i}" for i, m in enumerate(pktcost.MODES)}


def test_time_rounds_calibrates_after_warming_up_and_drops_the_warmup_rounds() -> None:
    kernel = _FakeKernel()
    frames = [bytes(60)] * 10
    res = pktcost.time_rounds(IFNAMES, frames, 7, target_ms=0.01, timer=kernel)
    assert res["reps"] == 10            # 0.01 ms / (100 ns x 10 frames): not the cold 7x call
    assert len(res["warmup_rounds"]) == pktcost.WARMUP and len(res["rounds"]) == 7
    assert set(res["rounds"][0]) == set(pktcost.MODES)
    assert res["modes"]["rss"]["ratio_to_automq"]["median"] == pytest.approx(1.4, rel=0.01)
    parts = res["parts"]
    assert parts["reps"] == 40 and len(parts["rounds"]) == 7
    assert parts["carry_over_rehash"]["median"] == pytest.approx(40 / 30, rel=0.01)
    timed = [c for c in kernel.calls if c[2] == "carry"]
    assert len(timed) == 1 + pktcost.WARMUP + 7 and all(c[0] == "c3" for c in timed)


def test_time_rounds_without_the_series_has_no_parts() -> None:
    res = pktcost.time_rounds(IFNAMES, [bytes(60)] * 4, 6, 0.01, timer=_FakeKernel(parts=False))
    assert "parts" not in res and res["modes"]["ebpf"]["ratio_to_automq"]["median"] < 1


def test_off_cost_is_the_series_over_the_base_estimated_from_the_parts() -> None:
    res = pktcost.time_rounds(IFNAMES, [bytes(60)] * 4, 7, 0.01, timer=_FakeKernel())
    off = res["off"]
    assert off["reps"] == dict.fromkeys(("select", "select-base", "put", "put-base"),
                                        2 * res["reps"])
    # (42 + 58) / (41.5 + 57.7): the series costs 0.8% more while off
    assert off["series_over_base"]["median"] == pytest.approx(100 / 99.2, rel=0.002)
    assert off["put_over_base"]["median"] == pytest.approx(58 / 57.7, rel=0.002)
    assert off["select_over_base"]["median"] == pytest.approx(42 / 41.5, rel=0.002)
    assert run.cost_verdict(off["series_over_base"], 1.005) is False


def test_time_rounds_with_an_older_bench_patch_has_no_off_parts() -> None:
    res = pktcost.time_rounds(IFNAMES, [bytes(60)] * 4, 6, 0.01, timer=_FakeKernel(off=False))
    assert "off" not in res and "parts" in res


def test_each_off_part_and_its_base_copy_take_turns_going_first() -> None:
    kernel = _FakeKernel()
    pktcost.time_rounds(IFNAMES, [bytes(60)] * 4, 8, 0.01, timer=kernel)
    parts = [c[2] for c in kernel.calls if c[2] in ("select", "select-base")][1:]  # probe
    rounds = list(zip(parts[::2], parts[1::2]))
    assert len(rounds) == pktcost.WARMUP + 8
    assert all(set(r) == {"select", "select-base"} for r in rounds)
    # alternating: about half the rounds start with the base copy (the
    # rotation alone would put it first in one round of 15)
    assert sum(r[0] == "select-base" for r in rounds) >= 4
