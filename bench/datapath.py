# SPDX-License-Identifier: MIT
"""The datapath benchmark, run inside the VM (``python -m bench.datapath OUT``).

A multiqueue tap in a fresh network namespace; an injector sends the frame
mix of bench/frames.py through AF_PACKET (its transmit path is the tap's:
ndo_select_queue, then the queue's ring); a C reader (bench/reader.c)
drains each queue.  Modes (docs/design.md):

    1 automq      no vnet hash: tun's flow-hash queue selection
    2 rss         TUN_VNET_HASH_RSS
    3 report      TUN_VNET_HASH_REPORT
    4 rss+report  both
    5 ebpf        TUNSETSTEERINGEBPF with bench/steer_bpf.py PORT_PROG

Every mode uses a 20-byte vnet header, so the copy to the reader is the
same and only the steering/hash work differs.

Issue 14 item 2: first each mode runs unpaced, to find where the datapath
saturates; then every mode is offered the same fixed load, LOAD of the
slowest mode's saturated rate, so that no frame is dropped (each run
checks: sent = delivered, tx_dropped 0) and no mode is limited by its
reader.  The result is the CPU time of sender plus readers (getrusage,
which counts no idle time) per delivered frame; rounds interleave the
modes (the order rotates each round, each run gets a fresh tap and
readers) and the per-round ratio to automq is reported as the median with
its 95% interval, "not resolved" above 2% (bench/stats.py).

Knobs (environment, checked by parse_knobs() before any work):
TUNRSS_BENCH_ROUNDS (11; at least 6, the fewest an interval needs),
TUNRSS_BENCH_SECONDS (2), TUNRSS_BENCH_QUEUES (4), TUNRSS_BENCH_LOAD (0.5;
above 0 and at most 0.9), TUNRSS_BENCH_PROFILE (1: one more paced run of
automq, report and rss+report under perf record; 0: none).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Mapping, Optional

from pyuapi.uapi import tun as T
from pyuapi.rss import MS_KEY
from pyuapi import HashConfig, Tap

from tests.lib.netlink import NetNS, link_stats, link_up

from . import frames as F
from .profile import profile
from .readers import Readers, build
from .sender import send_for
from .stats import interval
from .steer_bpf import load_port_prog

__all__ = ["MODES", "Run", "configure", "main", "parse_knobs", "run_mode", "summarize"]

MODES = ("automq", "rss", "report", "rss+report", "ebpf")
HDR_LEN = 20  # struct virtio_net_hdr_v1_hash
KNOBS = {  # name: (default, parse, check, allowed values)
    "TUNRSS_BENCH_ROUNDS": ("11", int, lambda v: 6 <= v <= 1000, "an integer from 6 to 1000"),
    "TUNRSS_BENCH_SECONDS": ("2", float, lambda v: 0.2 <= v <= 60, "seconds from 0.2 to 60"),
    "TUNRSS_BENCH_QUEUES": ("4", int, lambda v: 1 <= v <= 16, "an integer from 1 to 16"),
    "TUNRSS_BENCH_LOAD": ("0.5", float, lambda v: 0 < v <= 0.9, "a fraction above 0, at most 0.9"),
    "TUNRSS_BENCH_PROFILE": ("1", int, lambda v: v in (0, 1), "0 or 1"),
}


def parse_knobs(env: Mapping[str, str]) -> dict[str, float]:
    """The datapath knobs of *env* (KNOBS), by name without the prefix
    (rounds, seconds, queues, load, profile); ValueError naming the knob
    and its allowed values."""
    out: dict[str, float] = {}
    for name, (default, conv, ok, allowed) in KNOBS.items():
        text = env.get(name, "") or default
        try:
            value = conv(text)
        except ValueError:
            value = None
        if value is None or not ok(value):
            raise ValueError(f"{name}={text!r}: use {allowed} (default {default})")
        out[name.removeprefix("TUNRSS_BENCH_").lower()] = value
    return out


@dataclass
class Run:
    """One mode for one round."""

    mode: str
    round: int
    offered_pps: Optional[float]  # None: unpaced
    seconds: float
    sent: int
    delivered: int
    per_queue: list[int]
    tx_dropped: int
    sender_cpu_s: float
    sender_sys_s: float     # of which in the kernel: Python's own time is the same in all modes
    reader_cpu_s: float
    reports: list[int] = field(default_factory=list)  # hash_report of each queue's first frame

    @property
    def pps(self) -> float:
        return self.delivered / self.seconds if self.seconds else 0.0

    @property
    def dropped(self) -> int:
        return self.sent - self.delivered

    @property
    def cpu_us_per_frame(self) -> float:
        """Sender plus readers CPU microseconds per delivered frame."""
        return 1e6 * (self.sender_cpu_s + self.reader_cpu_s) / max(1, self.delivered)


def configure(tap: Tap, mode: str, queues: int) -> Optional[int]:
    """Put *tap* in *mode*; returns the eBPF program fd to close, if any."""
    tap.set_vnet_hdr_sz(HDR_LEN)
    flags = {"rss": T.TUN_VNET_HASH_RSS, "report": T.TUN_VNET_HASH_REPORT,
             "rss+report": T.TUN_VNET_HASH_RSS | T.TUN_VNET_HASH_REPORT}.get(mode, 0)
    if flags:
        types = tap.hash_cap().types
        table = tuple(i % queues for i in range(128)) if flags & T.TUN_VNET_HASH_RSS else ()
        tap.set_vnet_hash(HashConfig(flags, types, MS_KEY, table))
    if mode == "ebpf":
        fd = load_port_prog()
        tap.set_steering_ebpf(fd)
        return fd
    return None


def run_mode(reader: Path, mode: str, rnd: int, frames: list[bytes], seconds: float,
             queues: int, pps: Optional[float] = None) -> Run:
    """One run: fresh tap and C readers, inject for *seconds* (at *pps*, or
    unpaced), let the readers drain the rings, collect."""
    cpus = sorted(os.sched_getaffinity(0))
    send_cpu = cpus[0] if len(cpus) > 1 else None
    read_cpu = cpus[1] if len(cpus) > 1 else None
    with ExitStack() as stack:
        tap = stack.enter_context(Tap(queues=queues))
        prog = configure(tap, mode, queues)
        if prog is not None:
            os.close(prog)
        link_up(tap.name)
        readers = stack.enter_context(Readers(reader, list(tap.fds), read_cpu))
        if send_cpu is not None:
            os.sched_setaffinity(0, {send_cpu})
        stack.callback(os.sched_setaffinity, 0, set(cpus))
        time.sleep(0.2)   # the readers reach their first read
        t0 = resource.getrusage(resource.RUSAGE_SELF)
        sent, took = send_for(tap.name, frames, seconds, pps)
        t1 = resource.getrusage(resource.RUSAGE_SELF)
        got = readers.stop()
        return Run(mode, rnd, pps and round(pps), round(took, 4), sent, sum(g[0] for g in got),
                   sorted(g[0] for g in got), link_stats(tap.name)["tx_dropped"],
                   round((t1.ru_utime + t1.ru_stime) - (t0.ru_utime + t0.ru_stime), 6),
                   round(t1.ru_stime - t0.ru_stime, 6),
                   round(sum(g[1] for g in got), 6), [g[2] for g in got])


def summarize(runs: list[Run]) -> dict:
    """Per mode: CPU per delivered frame (median, min, max), drops, and the
    per-round ratio of CPU per frame to automq's with its 95% interval
    (bench/stats.py; None with fewer than 6 rounds)."""
    by_round: dict[int, dict[str, Run]] = {}
    for r in runs:
        by_round.setdefault(r.round, {})[r.mode] = r
    out = {}
    for mode in MODES:
        mine = [r for r in runs if r.mode == mode]
        if not mine:
            continue
        cpu = [r.cpu_us_per_frame for r in mine]
        ratios = [rs[mode].cpu_us_per_frame / rs["automq"].cpu_us_per_frame
                  for rs in by_round.values() if mode in rs and "automq" in rs]
        sent = sum(r.sent for r in mine)
        delivered = sum(r.delivered for r in mine)
        out[mode] = {
            "cpu_us_per_frame": {"median": round(statistics.median(cpu), 3),
                                 "min": round(min(cpu), 3), "max": round(max(cpu), 3)},
            "ratio_to_automq": interval(ratios) if mode != "automq" and len(ratios) >= 6
            else None,
            "pps_median": round(statistics.median(r.pps for r in mine)),
            "offered_pps": mine[0].offered_pps,
            "delivered_fraction": round(delivered / sent, 6) if sent else 0,
            "dropped": sum(r.dropped for r in mine),
            "tx_dropped": sum(r.tx_dropped for r in mine),
            "sender_cpu_us_per_frame": round(
                1e6 * sum(r.sender_cpu_s for r in mine) / max(1, delivered), 3),
            "sender_sys_us_per_frame": round(
                1e6 * sum(r.sender_sys_s for r in mine) / max(1, delivered), 3),
            "reader_cpu_us_per_frame": round(
                1e6 * sum(r.reader_cpu_s for r in mine) / max(1, delivered), 3),
        }
    return out


def _row(r: Run) -> dict:
    """*r* as bench.json keeps it, with its derived figures."""
    return asdict(r) | {"pps": round(r.pps), "dropped": r.dropped,
                        "cpu_us_per_frame": round(r.cpu_us_per_frame, 3)}


def _show(r: Run) -> None:
    ratio = f"offered {r.offered_pps}/s" if r.offered_pps else "unpaced"
    print(f"bench: round {r.round} {r.mode:<11} {ratio}, {r.pps:9.0f} delivered/s, "
          f"{r.cpu_us_per_frame:7.2f} us CPU/frame, queues {r.per_queue}, "
          f"dropped {r.dropped} (tx_dropped {r.tx_dropped}), first reports {r.reports}",
          flush=True)


def main(argv: list[str]) -> int:
    """Run the benchmark; write the JSON to argv[0] (see the module docstring)."""
    out = Path(argv[0])
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    print(f"bench: guest up {uptime:.1f}s when the benchmark started", flush=True)
    k = parse_knobs(os.environ)
    rounds, seconds, queues = int(k["rounds"]), k["seconds"], int(k["queues"])
    frames = F.mix()
    jit = Path("/proc/sys/net/core/bpf_jit_enable")
    info = {"rounds": rounds, "seconds_per_run": seconds, "queues": queues, "load": k["load"],
            "vnet_hdr_len": HDR_LEN, "frames": len(frames), "frame_kinds": list(F.KINDS),
            "frame_bytes": sorted({len(f) for f in frames}), "cpus": os.cpu_count(),
            "reader": "bench/reader.c", "sender": "sendmmsg",
            "bpf_jit_enable": jit.read_text().strip() if jit.exists() else None,
            "guest_uptime_at_start_s": uptime}
    with tempfile.TemporaryDirectory() as tmp, NetNS():
        reader = build(Path(tmp))
        saturation = [run_mode(reader, m, -1, frames, seconds, queues) for m in MODES]
        for r in saturation:
            _show(r)
        offered = k["load"] * min(r.pps for r in saturation)
        print(f"bench: offered load {offered:.0f} frames/s ({k['load']} of the slowest "
              "mode's unpaced rate)", flush=True)
        runs = []
        for rnd in range(rounds):
            for mode in MODES[rnd % len(MODES):] + MODES[:rnd % len(MODES)]:
                runs.append(run_mode(reader, mode, rnd, frames, seconds, queues, offered))
                _show(runs[-1])
        profiles = {}
        for mode in ("automq", "report", "rss+report") if k["profile"] else ():
            profiles[mode] = profile(mode, lambda m=mode: run_mode(
                reader, m, -2, frames, seconds, queues, offered).pps, out.parent)
            print(f"bench: profile {mode}: " + ", ".join(
                f"{t['symbol']} {t['percent']}%" for t in profiles[mode].get("top", [])[:8]),
                flush=True)
    dropped = sum(r.dropped for r in runs)     # tx_dropped ones included
    behind = [r.mode for r in runs if r.sent < 0.97 * offered * r.seconds]
    result = {"config": dict(info, offered_pps=round(offered)), "profile": profiles,
              "saturation": [_row(r) for r in saturation],
              "dropped": dropped, "sender_behind": behind,
              "modes": summarize(runs),
              "runs": [_row(r) for r in runs]}
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"bench: paced runs dropped {dropped} frames; sender behind its schedule in "
          f"{len(behind)} of {len(runs)} runs", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
