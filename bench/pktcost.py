# SPDX-License-Identifier: MIT
"""Per-packet cost of each mode, timed inside the kernel (issue 14 item 1);
run in the VM of the bench kernel: ``python -m bench.pktcost OUT``.

bench/kernel/0002 adds /sys/kernel/debug/tun_bench (CONFIG_TUN_BENCH): it
turns the frames written to it into skbs and times tun_select_queue() plus
tun_put_user() into a kernel buffer over them, REPS passes, and answers
"<ns> <packets>".  No reader, no sender, no scheduler: what is left is
the driver's own work per packet (queue selection, hash, skb extension,
header write and the copy of the frame).

One tap per mode (bench/datapath.py configure(): 4 queues, 20-byte
header), all in this namespace.  Each round times every mode once, in an
order that rotates, so that drift of the host hits all modes alike; the
ratio to automq is taken per round and its median reported with a
distribution-free 95% confidence interval (order statistics of the
binomial, no resampling).  A ratio whose interval has a half-width above
RESOLVE (2%) of its median is "not resolved".  The first WARMUP rounds
are timed and not counted: on TCG they include the translation of the
code they run first (the first of one run took 4x the median).  Under TCG the absolute
nanoseconds are those of an emulated CPU, many times a real one's; only
the ratios carry over, and even they only roughly (TCG's cost per
instruction kind differs from hardware's).

Each round also times, on the RSS+REPORT tap, the two ways of getting
the hash from queue selection to the header write (issue 14 item 3):
"carry" attaches, finds and frees the skb extension the series uses;
"rehash" computes the hash again from the configuration.  Their per-round
ratio, carry over rehash, says which costs less per packet (below 1:
carrying).  A kernel without the series has neither: "parts" is absent.

And, on the automq tap, what the series costs while off (issue 14 item 1,
"compiled in but off"): bench/kernel/0002 times the series'
tun_select_queue() and tun_put_user(), and the base kernel's (copies in
the bench patch), each on its own and called through a pointer like
ndo_select_queue; off_cost() gives per round the series' two over the
base's, with its interval.  In one kernel because between two boots of
one kernel the ns per packet moved by 1.8x on TCG.

Knobs: TUNRSS_BENCH_COST_ROUNDS (301: 31 rounds gave half-widths of
2.8-5.5% on TCG),
TUNRSS_BENCH_COST_MS (target milliseconds per timed call, 60).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Callable, Mapping

from pyuapi import Tap

from . import frames as F
from .datapath import MODES, configure
from .stats import interval

__all__ = ["DEBUGFS_FILE", "OFF_PARTS", "PARTS", "calibrate", "compare", "main", "measure",
           "off_cost", "summarize", "time_rounds"]

DEBUGFS_FILE = Path("/sys/kernel/debug/tun_bench")
QUEUES = 4
FRAMES = 256        # the bench frame mix (bench/frames.py), the file's maximum
WARMUP = 3
PARTS = ("carry", "rehash")     # bench/kernel/0002's PART, on the RSS+REPORT tap
PARTS_TAP = "rss+report"
# bench/kernel/0002's parts for the feature compiled in but off, on the
# automq tap, with their passes per call in multiples of REPS
OFF_PARTS = {"select": 2, "select-base": 2, "put": 2, "put-base": 2}


def payload(ifname: str, reps: int, frames: list[bytes], part: str = "") -> bytes:
    """What one write(2) to the debugfs file carries (bench/kernel/0002)."""
    body = b"".join(len(f).to_bytes(2, "big") + f for f in frames)
    return f"{ifname} {reps}{' ' + part if part else ''}\n".encode() + body


def measure(ifname: str, reps: int, frames: list[bytes], part: str = "") -> float:
    """One timed call: nanoseconds per packet on *ifname* (of *part* only)."""
    fd = os.open(DEBUGFS_FILE, os.O_RDWR)
    try:
        os.write(fd, payload(ifname, reps, frames, part))
        os.lseek(fd, 0, os.SEEK_SET)
        ns, packets = (int(x) for x in os.read(fd, 64).split())
    finally:
        os.close(fd)
    if packets != reps * len(frames):
        raise RuntimeError(f"tun_bench timed {packets} packets, {reps * len(frames)} asked")
    return ns / packets


def summarize(rounds: list[dict[str, float]]) -> dict:
    """Per mode: ns per packet (median, min, max) and the per-round ratio to
    automq with its 95% interval; "resolved" when the half-width is at most
    RESOLVE of the median."""
    out: dict = {}
    for mode in rounds[0]:
        ns = [r[mode] for r in rounds]
        entry: dict = {"ns_per_packet": {"median": round(statistics.median(ns), 1),
                                         "min": round(min(ns), 1), "max": round(max(ns), 1)}}
        if mode != "automq":
            entry["ratio_to_automq"] = compare(rounds, mode, "automq")
        out[mode] = entry
    return out


def compare(rounds: list[dict[str, float]], a: str, b: str) -> dict:
    """The per-round ratio *a* / *b*: median, 95% interval, resolved."""
    return interval([r[a] / r[b] for r in rounds])


def off_cost(rounds: list[dict[str, float]], reps: int, off: Mapping[str, int]) -> dict:
    """The feature compiled in but off, per round on the automq tap: the
    series' tun_select_queue() plus tun_put_user() over the base kernel's
    (bench/kernel/0002's copies), and each of the two on its own."""
    return {"tap": "automq", "reps": {p: k * reps for p, k in off.items()},
            "rounds": [{p: r[p] for p in off} for r in rounds],
            "ns_per_packet": {p: round(statistics.median(r[p] for r in rounds), 2) for p in off},
            "select_over_base": compare(rounds, "select", "select-base"),
            "put_over_base": compare(rounds, "put", "put-base"),
            "series_over_base": interval([(r["select"] + r["put"])
                                          / (r["select-base"] + r["put-base"]) for r in rounds])}


Timer = Callable[[str, int, list[bytes], str], float]


def _supported(timer: Timer, ifname: str, frames: list[bytes], part: str) -> bool:
    """Whether the kernel times *part*: without the series bench/kernel/0002
    answers EOPNOTSUPP, and an older one EINVAL for a part it lacks."""
    try:
        timer(ifname, 1, frames, part)
    except OSError:
        return False
    return True


def calibrate(timer: Timer, ifname: str, frames: list[bytes], target_ms: float) -> int:
    """REPS so that one automq call takes about *target_ms*: from the median
    of 3 single-pass calls after 2 that warm up (the first call of a boot
    took 7x the others on TCG)."""
    for _ in range(2):
        timer(ifname, 1, frames, "")
    one = statistics.median(timer(ifname, 1, frames, "") for _ in range(3))
    return max(1, round(target_ms * 1e6 / (one * len(frames))))


def _swap_pairs(order: list[tuple]) -> list[tuple]:
    """*order* with each OFF_PARTS pair (select, select-base; put,
    put-base) in the other order, where they stand."""
    keys = [job[0] for job in order]
    out = list(order)
    for part in ("select", "put"):
        if part in keys:
            i, j = keys.index(part), keys.index(f"{part}-base")
            out[i], out[j] = order[j], order[i]
    return out


def time_rounds(ifnames: Mapping[str, str], frames: list[bytes], n_rounds: int,
                target_ms: float, timer: Timer = measure) -> dict:
    """WARMUP + *n_rounds* rounds over the taps *ifnames* (mode -> interface,
    every mode of MODES), each timing every mode, then each part, in an order
    that rotates; the result bench.json keeps under datapath.pktcost."""
    reps = calibrate(timer, ifnames["automq"], frames, target_ms)
    parts = PARTS if _supported(timer, ifnames[PARTS_TAP], frames, PARTS[0]) else ()
    off = OFF_PARTS if _supported(timer, ifnames["automq"], frames, "select") else {}
    # a part is a fraction of a mode's work: more passes, for calls as long
    jobs = ([(m, m, "", reps) for m in MODES] + [(p, PARTS_TAP, p, 4 * reps) for p in parts]
            + [(p, "automq", p, k * reps) for p, k in off.items()])
    rounds: list[dict[str, float]] = []
    t0 = time.monotonic()
    for rnd in range(WARMUP + n_rounds):
        order = jobs[rnd % len(jobs):] + jobs[:rnd % len(jobs)]
        if rnd % 2:     # each off part and its base copy: either one first
            order = _swap_pairs(order)
        rounds.append({k: timer(ifnames[m], n, frames, p) for k, m, p, n in order})
    warmup, rounds = rounds[:WARMUP], rounds[WARMUP:]
    modes = [{m: r[m] for m in MODES} for r in rounds]
    result = {"frames": len(frames), "reps": reps, "warmup_rounds": warmup, "rounds": modes,
              "modes": summarize(modes), "seconds": round(time.monotonic() - t0, 1),
              "note": "TCG: absolute ns are an emulated CPU's; the ratios are the result"}
    if parts:
        ns = {p: [r[p] for r in rounds] for p in parts}
        result["parts"] = {
            "tap": PARTS_TAP, "reps": 4 * reps,
            "rounds": [{p: r[p] for p in parts} for r in rounds],
            "ns_per_packet": {p: round(statistics.median(v), 1) for p, v in ns.items()},
            "carry_over_rehash": compare(rounds, "carry", "rehash")}
    if off:
        result["off"] = off_cost(rounds, reps, off)
    return result


def main(argv: list[str]) -> int:
    """``python -m bench.pktcost OUT`` in the guest: time every mode, write OUT (JSON)."""
    out = Path(argv[0])
    if not DEBUGFS_FILE.parent.is_dir() or not os.listdir(DEBUGFS_FILE.parent):
        os.system("mount -t debugfs none /sys/kernel/debug")
    if not DEBUGFS_FILE.exists():
        print(f"pktcost: {DEBUGFS_FILE} missing: the kernel lacks CONFIG_TUN_BENCH "
              "(bench/kernel/0002)", file=sys.stderr)
        return 1
    n_rounds = int(os.environ.get("TUNRSS_BENCH_COST_ROUNDS", "301"))
    target_ms = float(os.environ.get("TUNRSS_BENCH_COST_MS", "60"))
    with ExitStack() as stack:
        ifnames: dict[str, str] = {}
        for mode in MODES:
            tap = stack.enter_context(Tap("cost%d", queues=QUEUES))
            prog = configure(tap, mode, QUEUES)
            if prog is not None:
                stack.callback(os.close, prog)
            ifnames[mode] = tap.name
        result = time_rounds(ifnames, F.mix(FRAMES), n_rounds, target_ms)
    parts = result.get("parts")
    out.write_text(json.dumps(result, indent=2) + "\n")
    for mode, v in result["modes"].items():
        r = v.get("ratio_to_automq")
        ratio = "" if not r else (f"  ratio {r['median']:.4f} [{r['ci95'][0]:.4f}, {r['ci95'][1]:.4f}]"
                                  if r["resolved"] else "  ratio not resolved "
                                  f"(half-width {r['half_width']:.1%})")
        print(f"pktcost: {mode:11s} {v['ns_per_packet']['median']:9.1f} ns/packet{ratio}")
    if parts:
        c = result["parts"]["carry_over_rehash"]
        print(f"pktcost: carry {result['parts']['ns_per_packet']['carry']} ns, rehash "
              f"{result['parts']['ns_per_packet']['rehash']} ns per packet; carry/rehash "
              f"{c['median']:.4f} [{c['ci95'][0]:.4f}, {c['ci95'][1]:.4f}]"
              + ("" if c["resolved"] else " not resolved"))
    if "off" in result:
        o = result["off"]["series_over_base"]
        print(f"pktcost: off: {result['off']['ns_per_packet']} ns per packet; series/base "
              f"{o['median']:.4f} [{o['ci95'][0]:.4f}, {o['ci95'][1]:.4f}]"
              + ("" if o["resolved"] else " not resolved"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
