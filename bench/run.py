# SPDX-License-Identifier: MIT
"""`make bench` end to end (``python -m bench``), on the host.

1. Build the "bench" config variant: patches/ plus bench/kernel/*.patch
   (CONFIG_VIRTIO_NET_HASH_BENCH), its own build key and work directory
   (vm/kernel.py VARIANT_PATCH_DIRS, vm/config/bench.config).
2. One VM boot: the kernel times its hash at boot (bench/hashbench.py parses
   the console), bench/pktcost.py times the cost per packet in the kernel,
   then bench/datapath.py runs the five modes interleaved; then more boots
   of bench/pktcost.py alone (BENCH_COST_BOOTS, bench/boots.py).
3. The harness loop (bench/loop.py), unless BENCH_LOOP=0; the cold build
   only with BENCH_COLD=1.
4. RESULTS/bench.json, RESULTS/bench.png (bench/chart.py), and the targets
   of issues 6 and 14 checked.

Environment: RESULTS (default results/bench), VM_ACCEL, VM_TIMEOUT,
JOBS, TUNRSS_CACHE as for vm-test; BENCH_LOOP=0|1, BENCH_COLD=0|1;
BENCH_COST_BOOTS (bench/boots.py: 1, or 6 to 20, default 6);
TUNRSS_BENCH_ROUNDS/SECONDS/QUEUES/LOAD/PROFILE go to the guest
(bench/datapath.py parse_knobs(), checked here before any work).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from vm import kernel as vmkernel
from vm import resultsdir, splat, vng
from vm.errors import PipelineError
from vm.settings import REPO, Settings
from vm.stages import Stages

from . import boots, chart, datapath as dp, hashbench, loop
from .stats import interval

__all__ = ["cost_verdict", "main", "targets"]

RSS_REPORT_MAX_COST = 0.05      # issues 6, 14: REPORT, RSS+REPORT cost at most 5% more
OFF_MAX_COST = 0.005            # issue 14: compiled in but off, within 0.5% of the base
HASH_NS_TARGET = 50.0           # issue 6: IPv6/TCP hash under 50 ns on the host CPU (KVM)


def cost_verdict(ratio: dict | None, limit: float = 1 + RSS_REPORT_MAX_COST) -> bool | None:
    """A per-packet cost target (issue 14): met when the ratio is resolved and
    its whole 95% interval is at most *limit*; missed when the whole
    interval is above it, resolved or not (more rounds would only narrow
    it); None (not assessable) otherwise."""
    if not ratio:
        return None
    lo, hi = ratio["ci95"]
    if lo > limit:
        return False
    return True if ratio["resolved"] and hi <= limit else None


def _ratio_target(r: dict | None, limit: float = 1 + RSS_REPORT_MAX_COST) -> dict:
    return {"ratio_median": r and r["median"], "ci95": r and r["ci95"],
            "resolved": bool(r) and r["resolved"], "met": cost_verdict(r, limit)}


def targets(datapath: dict, hashes: dict, accel: str) -> dict:
    """The targets of issues 6 and 14, each met / missed / not assessable
    (None), with the figures."""
    modes = datapath.get("modes", {})
    dropped, behind = datapath.get("dropped"), datapath.get("sender_behind")
    out: dict = {"datapath drops nothing at the offered load (issue 14)": {
        "dropped": dropped, "sender_behind": behind,
        # a run that fell behind did not offer the load: no verdict on it
        "met": None if dropped is None else False if dropped else None if behind else True}}
    for mode in ("report", "rss+report"):
        r = (modes.get(mode) or {}).get("ratio_to_automq")
        out[f"datapath {mode} at most 5% CPU per frame over automq"] = _ratio_target(r)
    per_round: dict[int, dict[str, float]] = {}
    for r in datapath.get("runs", []):
        per_round.setdefault(r["round"], {})[r["mode"]] = r["cpu_us_per_frame"]
    rss_ebpf = [v["rss"] / v["ebpf"] for v in per_round.values() if "rss" in v and "ebpf" in v]
    r = interval(rss_ebpf) if len(rss_ebpf) >= 6 else None
    out["rss costs no more CPU per frame than ebpf"] = _ratio_target(r, 1.0)
    pktcost = datapath.get("pktcost") or {}
    cost = (pktcost.get("across_boots") or pktcost).get("modes", {})
    for mode in ("report", "rss+report"):
        r = (cost.get(mode) or {}).get("ratio_to_automq")
        out[f"in-kernel {mode} at most 5% per packet over automq (issue 14)"] = _ratio_target(r)
    off = pktcost.get("across_boots", {}).get("off_series_over_base") or \
        (pktcost.get("off") or {}).get("series_over_base")
    target = _ratio_target(off, 1 + OFF_MAX_COST)
    if accel != "kvm":
        # the same code moved by 2% between two builds (07fcc0a): placement, not the series
        target.update(met=None, note="TCG: code placement moves this ratio by about 2% "
                      "between builds; not assessable to 0.5%")
    out["in-kernel, compiled in but off: within 0.5% of the base kernel (issue 14)"] = target
    skb6 = hashbench.ns(hashes, "skb", "ipv6-tcp")
    bit6 = hashbench.ns(hashes, "bitwise", "ipv6-tcp")
    nib6 = hashbench.ns(hashes, "nibble", "ipv6-tcp")
    aligned6 = hashbench.ns(hashes, "nibble-aligned", "ipv6-tcp")
    offset6 = hashbench.ns(hashes, "nibble-offset", "ipv6-tcp")
    out["hash helper < 50 ns ipv6/tcp (KVM)"] = {
        "accel": accel, "skb_ipv6_tcp_ns": skb6,
        "nibble_over_bitwise": round(nib6 / bit6, 4) if nib6 and bit6 else None,
        "nibble_offset_over_aligned": round(offset6 / aligned6, 4)
        if offset6 and aligned6 else None,
        "met": (skb6 is not None and skb6 < HASH_NS_TARGET) if accel == "kvm" else None,
        "note": None if accel == "kvm" else "TCG: absolute ns are not host-CPU ns; ratios only"}
    return out


def _guest_module(module: str, out: Path) -> str:
    """The guest command that runs ``python -m module out`` with the bench knobs."""
    knobs = {k: v for k, v in os.environ.items() if k.startswith("TUNRSS_BENCH_")}
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(knobs.items()))
    return (f"env PYTHONDONTWRITEBYTECODE=1 {env} {sys.executable} -m {module} "
            f"{shlex.quote(str(out))}")


def _boot(kernel: vmkernel.Kernel, opts: Settings, accel: str, st: Stages, name: str,
          exec_cmd: str, outputs: list[Path], prefix: str = "") -> tuple[str, list]:
    """One benchmark VM (stage *name*, logs *prefix*console.log and
    *prefix*guest-output.log): (its console text, its splats); PipelineError
    if it timed out or left one of *outputs* unwritten."""
    console = opts.results / f"{prefix}console.log"
    with st.stage(name, f"{accel.upper()}, timeout {opts.timeout:.0f}s"):
        rc, timed_out = vng.boot(vng.vng_command(kernel, opts, accel,
                                                 f"cd {shlex.quote(str(REPO))} && {exec_cmd}"),
                                 console, opts.results / f"{prefix}guest-output.log", opts.timeout)
    text = console.read_text(errors="replace") if console.exists() else ""
    for path in outputs:
        if timed_out or not path.exists():
            raise PipelineError(f"the benchmark VM {'timed out' if timed_out else f'exited {rc}'} "
                                f"without {path.name}; see {console} and {prefix}guest-output.log")
    return text, [s.describe() for s in splat.scan(text)]


def datapath_boot(kernel: vmkernel.Kernel, opts: Settings, accel: str, st: Stages,
                  cost_boots: int = 1) -> tuple[dict, dict, list]:
    """One boot: hash microbenchmark at boot, the in-kernel cost per packet
    (bench/pktcost.py, stored as datapath["pktcost"]), then bench/datapath.py;
    then *cost_boots* - 1 boots of bench/pktcost.py alone, combined into
    datapath["pktcost"]["across_boots"] (bench/boots.py)."""
    out, cost = opts.results / "datapath.json", opts.results / "pktcost.json"
    text, splats = _boot(kernel, opts, accel, st, "boot+bench",
                         f"{_guest_module('bench.pktcost', cost)} && exec "
                         f"{_guest_module('bench.datapath', out)}", [cost, out])
    datapath = json.loads(out.read_text())
    datapath["pktcost"] = json.loads(cost.read_text())
    costs = [datapath["pktcost"]]
    for i in range(2, cost_boots + 1):
        more = opts.results / f"pktcost-boot{i}.json"
        _, found = _boot(kernel, opts, accel, st, f"boot {i}: pktcost",
                         _guest_module("bench.pktcost", more), [more], prefix=f"boot{i}-")
        splats += found
        costs.append(json.loads(more.read_text()))
    if cost_boots > 1:
        datapath["pktcost"]["other_boots"] = costs[1:]
        datapath["pktcost"]["across_boots"] = boots.combine(costs)
    return datapath, hashbench.parse(text), splats


def datapath_phase(opts: Settings, out: Path) -> int:
    """``python -m bench datapath OUT``: build, boot once for the hash and
    datapath benchmarks, boot once more with ``--exec true``; write OUT.
    A process of its own, so that whatever it holds on the work directory
    is released before the loop benchmark runs `python -m vm` on it."""
    st = Stages()
    try:
        kernel = vmkernel.prepare_kernel(opts, st)
        accel = vng.choose_accel(kernel, opts, st)
        datapath, hashes, splats = datapath_boot(
            kernel, opts, accel, st, boots.parse_boots(os.environ.get("BENCH_COST_BOOTS", "")))
        boot_true = loop.boot_true(kernel, opts, accel, opts.results, st)
    except PipelineError as e:
        print(f"bench: FAIL: {e}", file=sys.stderr)
        return e.exit_code
    out.write_text(json.dumps({
        "accel": accel,
        "kernel": {"variant": "bench", "key": kernel.key, "cached": kernel.cached,
                   "work": str(kernel.work.root),
                   "patches": [p.name for p in kernel.patches]},
        "datapath": datapath, "hash_helper": hashes, "splats": splats,
        "boot_exec_true": boot_true, "stages": [vars(r) for r in st.records]}, indent=2) + "\n")
    return 0


def snapshot_series(src: Path, dst: Path) -> Path:
    """Copy the series of *src* to *dst*: every build of one `make bench`
    uses the same patches even if patches/ is edited meanwhile."""
    dst.mkdir(parents=True, exist_ok=True)
    for p in src.glob("*.patch"):
        shutil.copy(p, dst / p.name)
    return dst


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    env = dict(os.environ)
    env["KCONFIG"] = "bench"
    if not env.get("RESULTS"):
        env["RESULTS"] = str(resultsdir.default_for("bench"))
    try:
        opts = Settings.from_env(env, command="bench")
    except PipelineError as e:
        print(f"bench: FAIL: {e}", file=sys.stderr)
        return e.exit_code
    try:
        boots.parse_boots(env.get("BENCH_COST_BOOTS", ""))
        dp.parse_knobs(env)
    except ValueError as e:
        print(f"bench: FAIL: {e}", file=sys.stderr)
        return 2
    if argv[:1] == ["datapath"]:
        return datapath_phase(opts, Path(argv[1]))
    try:
        resultsdir.claim(opts.results)
    except PipelineError as e:
        print(f"bench: FAIL: {e}", file=sys.stderr)
        return e.exit_code
    env["PATCHES"] = str(snapshot_series(opts.patch_dir, opts.results / "series"))
    st = Stages()
    phase = opts.results / "phase-datapath.json"
    with st.stage("datapath", "python -m bench datapath (build, boot, benchmark)"):
        rc = subprocess.run([sys.executable, "-m", "bench", "datapath", str(phase)],
                            cwd=REPO, env=env).returncode
    if rc or not phase.exists():
        print(f"bench: FAIL: the datapath phase exited {rc}", file=sys.stderr)
        return rc or 1
    result = json.loads(phase.read_text())
    datapath, hashes, splats = result["datapath"], result["hash_helper"], result["splats"]
    if env.get("BENCH_LOOP", "1") != "0":
        result["loop"] = loop.run_loop(Path(result["kernel"]["work"]) / "src", result["accel"],
                                       opts.results / "loop", st, env,
                                       cold=env.get("BENCH_COLD", "0") == "1")
    else:
        result["loop"] = {"skipped": "BENCH_LOOP=0"}
    result["loop"]["boot-exec-true"] = result.pop("boot_exec_true")
    result["targets"] = targets(datapath, hashes, result["accel"])
    result["stages"] += [vars(r) for r in st.records]
    (opts.results / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    drawn = chart.draw(result, opts.results / "bench.png")
    print(json.dumps({"modes": {m: {"cpu_us_per_frame": v["cpu_us_per_frame"]["median"],
                                    "ratio": (v["ratio_to_automq"] or {}).get("median")}
                                for m, v in datapath["modes"].items()},
                      "hash_ns_median": {f"{c['impl']}/{c['tuple']}": c["median_ns"]
                                         for c in hashes["cases"]},
                      "targets": {k: v.get("met") for k, v in result["targets"].items()}},
                     indent=1))
    print(f"bench: {opts.results / 'bench.json'}"
          + (f", {opts.results / 'bench.png'}" if drawn else " (no chart: matplotlib missing)"))
    bad = splats or hashes["mismatches"] or not hashes["ran"]
    if bad:
        print(f"bench: FAIL: splats {splats}, hash mismatches {hashes['mismatches']}, "
              f"hash benchmark ran: {hashes['ran']}", file=sys.stderr)
    return 1 if bad else 0
