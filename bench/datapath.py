# SPDX-License-Identifier: MIT
"""The datapath benchmark, run inside the VM (``python -m bench.datapath OUT``).

A multiqueue tap in a fresh network namespace; an injector sends the frame
mix of bench/frames.py through AF_PACKET (its transmit path is the tap's:
ndo_select_queue, then the queue's ring); one reader process drains each
queue.  Modes (docs/design.md):

    1 automq      no vnet hash: tun's flow-hash queue selection
    2 rss         TUN_VNET_HASH_RSS
    3 report      TUN_VNET_HASH_REPORT
    4 rss+report  both
    5 ebpf        TUNSETSTEERINGEBPF with bench/steer_bpf.py PORT_PROG

Every mode uses a 20-byte vnet header, so the copy to the reader is the
same and only the steering/hash work differs.  Rounds interleave the modes
(the order rotates each round); each run gets a fresh tap and readers.
pps is frames delivered to the readers per second of injection.  The
sender's and the readers' CPU time per frame (getrusage) say on which side
the time goes.  Knobs (environment): TUNRSS_BENCH_ROUNDS (5),
TUNRSS_BENCH_SECONDS (2), TUNRSS_BENCH_QUEUES (4), TUNRSS_BENCH_SENDER
(auto: measure sendto and sendmmsg, use the faster), TUNRSS_BENCH_PROFILE
(1: one more run of automq, report and rss+report under perf record).
"""

from __future__ import annotations

import json
import os
import re
import resource
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from pyuapi.uapi import tun as T
from pyuapi.rss import MS_KEY
from pyuapi import HashConfig, Tap

from tests.lib.netlink import NetNS, link_stats, link_up

from . import frames as F
from .sender import send_for
from .steer_bpf import load_port_prog

MODES = ("automq", "rss", "report", "rss+report", "ebpf")
HDR_LEN = 20  # struct virtio_net_hdr_v1_hash


@dataclass
class Run:
    """One mode for one round."""

    mode: str
    round: int
    sender: str
    seconds: float
    sent: int
    delivered: int
    per_queue: list[int]
    tx_dropped: int
    sender_cpu_s: float
    reader_cpu_s: float
    reports: list[int] = field(default_factory=list)  # hash_report of each queue's first frame

    @property
    def pps(self) -> float:
        return self.delivered / self.seconds if self.seconds else 0.0


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


def reader(fd: int, stop_fd: int, out_fd: int, cpu: Optional[int]) -> None:
    """Child process: drain queue *fd* until *stop_fd* is readable, then the
    rest; write "count cpu_seconds first_report" to *out_fd*."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    buf = bytearray(65536)
    bufs = [buf]
    n, first_report = 0, -1
    poll = select.poll()
    poll.register(fd, select.POLLIN)
    poll.register(stop_fd, select.POLLIN)
    stopping = False
    while True:
        try:
            os.readv(fd, bufs)
            if n == 0:
                first_report = int.from_bytes(buf[16:18], "little")
            n += 1
            continue
        except BlockingIOError:
            pass
        if stopping:
            break
        for pfd, _ in poll.poll(100):
            if pfd == stop_fd:
                stopping = True
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    os.write(out_fd, f"{n} {cpu_s:.4f} {first_report}\n".encode())


def tx_dropped(ifname: str) -> int:
    """The tap's transmit drops (frames its full rings refused): tx_dropped of
    its IFLA_STATS64 in this thread's network namespace (pyroute2)."""
    return link_stats(ifname)["tx_dropped"]


def run_mode(mode: str, rnd: int, frames: list[bytes], seconds: float, queues: int,
             how: str) -> Run:
    """One run: fresh tap, readers forked, inject for *seconds*, collect."""
    cpus = sorted(os.sched_getaffinity(0))
    send_cpu = cpus[0] if len(cpus) > 1 else None
    read_cpu = cpus[1] if len(cpus) > 1 else None
    with ExitStack() as stack:
        tap = stack.enter_context(Tap(queues=queues))
        prog = configure(tap, mode, queues)
        if prog is not None:
            os.close(prog)
        link_up(tap.name)
        stop_r, stop_w = os.pipe()
        out_r, out_w = os.pipe()
        pids = []
        for q in range(queues):
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    os.close(stop_w)
                    reader(tap.fds[q], stop_r, out_w, read_cpu)
                except BaseException as e:  # report, never return into the parent's code
                    print(f"reader {q}: {e!r}", file=sys.stderr)
                    code = 1
                os._exit(code)
            pids.append(pid)
        os.close(stop_r)
        if send_cpu is not None:
            os.sched_setaffinity(0, {send_cpu})
        time.sleep(0.1)
        t0 = resource.getrusage(resource.RUSAGE_SELF)
        sent, took = send_for(tap.name, frames, seconds, how)
        t1 = resource.getrusage(resource.RUSAGE_SELF)
        os.sched_setaffinity(0, set(cpus))
        time.sleep(0.2)  # let the readers take what is in the rings
        os.close(stop_w)
        counts, cpu, reports = [], 0.0, []
        with os.fdopen(out_r) as results:
            os.close(out_w)
            for pid in pids:
                os.waitpid(pid, 0)
            for line in results:
                n, c, rep = line.split()
                counts.append(int(n))
                cpu += float(c)
                reports.append(int(rep))
        if len(counts) != queues:
            raise RuntimeError(f"{mode}: {queues - len(counts)} reader(s) died")
        return Run(mode, rnd, how, round(took, 4), sent, sum(counts), sorted(counts),
                   tx_dropped(tap.name),
                   round((t1.ru_utime + t1.ru_stime) - (t0.ru_utime + t0.ru_stime), 4),
                   round(cpu, 4), reports)


def summarize(runs: list[Run]) -> dict:
    """pps min/median/max per mode, and the ratio to automq in the same round."""
    by_round: dict[int, dict[str, Run]] = {}
    for r in runs:
        by_round.setdefault(r.round, {})[r.mode] = r
    out = {}
    for mode in MODES:
        mine = [r for r in runs if r.mode == mode]
        if not mine:
            continue
        pps = [r.pps for r in mine]
        ratios = [rs[mode].pps / rs["automq"].pps for rs in by_round.values()
                  if mode in rs and "automq" in rs and rs["automq"].pps]
        sent = sum(r.sent for r in mine)
        out[mode] = {
            "pps": {"min": round(min(pps)), "median": round(statistics.median(pps)),
                    "max": round(max(pps))},
            "ratio_to_automq": {"median": round(statistics.median(ratios), 4),
                                "min": round(min(ratios), 4), "max": round(max(ratios), 4)}
            if ratios else None,
            "sent_pps_median": round(statistics.median(r.sent / r.seconds for r in mine)),
            "delivered_fraction": round(sum(r.delivered for r in mine) / sent, 4) if sent else 0,
            "sender_cpu_us_per_frame": round(1e6 * sum(r.sender_cpu_s for r in mine) / sent, 3)
            if sent else None,
            # both sides, per frame that reached a reader (drops cost sender time too)
            "cpu_us_per_delivered_frame": round(
                1e6 * sum(r.sender_cpu_s + r.reader_cpu_s for r in mine)
                / max(1, sum(r.delivered for r in mine)), 3),
            "reader_cpu_us_per_frame": round(
                1e6 * sum(r.reader_cpu_s for r in mine) / max(1, sum(r.delivered for r in mine)),
                3),
        }
    return out


_PERF_ROW = re.compile(r"^\s*([\d.]+)%\s+\[([k.])\]\s+(\S+)")


def profile(mode: str, frames: list[bytes], seconds: float, queues: int, how: str,
            out_dir: Path) -> dict:
    """One more run of *mode* under ``perf record -a -e cpu-clock`` (software
    clock sampling: TCG has no PMU); the symbols above 0.5% of the samples,
    and perf's report in OUT_DIR/perf-MODE.txt.  {} when perf is missing."""
    perf = shutil.which("perf")
    if not perf:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "perf.data"
        rec = subprocess.Popen([perf, "record", "-a", "-e", "cpu-clock", "-F", "499",
                                "-o", str(data)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        try:
            time.sleep(1)
            run = run_mode(mode, -2, frames, seconds, queues, how)
        finally:
            rec.send_signal(signal.SIGINT)
            rec.wait(timeout=120)
        rep = subprocess.run([perf, "report", "-i", str(data), "--stdio", "--sort", "sym",
                              "--percent-limit", "0.5"], capture_output=True, text=True,
                             timeout=300)
    name = mode.replace("+", "-")
    (out_dir / f"perf-{name}.txt").write_text(rep.stdout + rep.stderr)
    top = [{"percent": float(m[1]), "kernel": m[2] == "k", "symbol": m[3]}
           for m in map(_PERF_ROW.match, rep.stdout.splitlines()) if m]
    return {"pps": round(run.pps), "report": f"perf-{name}.txt", "top": top[:30]}


def choose_sender(frames: list[bytes], seconds: float, queues: int) -> tuple[str, list[Run]]:
    """Mode 1 with sendto and with sendmmsg: the one that delivers more wins."""
    runs = [run_mode("automq", -1, frames, seconds, queues, how)
            for how in ("sendto", "sendmmsg")]
    best = max(runs, key=lambda r: r.pps)
    return best.sender, runs


def main(argv: list[str]) -> int:
    """Run the benchmark; write the JSON to argv[0] (see the module docstring)."""
    out = Path(argv[0])
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    print(f"bench: guest up {uptime:.1f}s when the benchmark started", flush=True)
    env = os.environ
    rounds = int(env.get("TUNRSS_BENCH_ROUNDS", "5"))
    seconds = float(env.get("TUNRSS_BENCH_SECONDS", "2"))
    queues = int(env.get("TUNRSS_BENCH_QUEUES", "4"))
    how = env.get("TUNRSS_BENCH_SENDER", "auto")
    frames = F.mix()
    jit = Path("/proc/sys/net/core/bpf_jit_enable")
    info = {"rounds": rounds, "seconds_per_run": seconds, "queues": queues,
            "vnet_hdr_len": HDR_LEN, "frames": len(frames), "frame_kinds": list(F.KINDS),
            "frame_bytes": sorted({len(f) for f in frames}), "cpus": os.cpu_count(),
            "bpf_jit_enable": jit.read_text().strip() if jit.exists() else None,
            "guest_uptime_at_start_s": uptime}
    with NetNS():
        calibration: list[Run] = []
        if how == "auto":
            how, calibration = choose_sender(frames, seconds, queues)
            for r in calibration:
                print(f"bench: sender {r.sender}: sent {r.sent / r.seconds:.0f}/s, "
                      f"delivered {r.pps:.0f}/s", flush=True)
        runs = []
        for rnd in range(rounds):
            order = MODES[rnd % len(MODES):] + MODES[:rnd % len(MODES)]
            for mode in order:
                r = run_mode(mode, rnd, frames, seconds, queues, how)
                print(f"bench: round {rnd} {mode:<11} {r.pps:10.0f} pps delivered, "
                      f"{r.sent / r.seconds:10.0f} sent/s, queues {r.per_queue}, "
                      f"dropped {r.tx_dropped}, first reports {r.reports}", flush=True)
                runs.append(r)
        profiles = {}
        if env.get("TUNRSS_BENCH_PROFILE", "1") != "0":
            for mode in ("automq", "report", "rss+report"):
                profiles[mode] = profile(mode, frames, seconds, queues, how, out.parent)
                print(f"bench: profile {mode}: " + ", ".join(
                    f"{t['symbol']} {t['percent']}%" for t in profiles[mode].get("top", [])[:8]),
                    flush=True)
    result = {"config": dict(info, sender=how), "profile": profiles,
              "sender_calibration": [asdict(r) | {"pps": r.pps} for r in calibration],
              "modes": summarize(runs),
              "runs": [asdict(r) | {"pps": r.pps} for r in runs]}
    out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
