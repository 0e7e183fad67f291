# SPDX-License-Identifier: MIT
"""The harness loop benchmark: how long the edit-build-boot-test loop takes,
each case timed by the harness itself (vm/stages.py; the stage records of
each run's results.json are kept).

Cases, all on the "bench" config variant so that the normal and debug
work directories are never touched:

    kernel-nochange   `python -m vm kernel` with the build cached
    vm-test-nochange  a whole `make vm-test` (default VM_TESTS), build cached
    vm-test-touch-tun a whole `make vm-test` after a one-line change to
                      drivers/net/tun.c (an extra patch after the series)
    kernel-restore    the rebuild back to the unchanged series
    boot-exec-true    `vng --run bzImage --exec true`: boot and power-off
                      (run by the datapath phase, bench/run.py)
    cold-build        only with BENCH_COLD=1: `python -m vm kernel` with an
                      empty cache (its own TUNRSS_CACHE under /tmp, deleted
                      afterwards): extract the base, apply, config, build
                      with an empty ccache
"""

from __future__ import annotations

import difflib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vm import source, vng
from vm.kernel import Kernel
from vm.settings import REPO, Settings
from vm.stages import Stages

__all__ = ["touch_patch", "run_loop"]

MAIL_HEAD = ("From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n"
             "From: tunrss bench <bench@localhost>\n"
             "Date: Wed, 1 Jan 2025 00:00:00 +0000\n"
             "Subject: [PATCH] tun: a comment, for the harness loop benchmark\n\n---\n")


def touch_patch(path: str, text: str, comment: str = "/* tunrss bench: touched */") -> str:
    """A git-am-able patch appending *comment* to the file *path* whose
    current content is *text*."""
    old = text.splitlines(keepends=True)
    new = old + [comment + "\n"]
    diff = difflib.unified_diff(old, new, f"a/{path}", f"b/{path}")
    return MAIL_HEAD + f"diff --git a/{path} b/{path}\n" + "".join(diff) + "-- \n2.39.5\n"


def _harness(name: str, argv: list[str], env: dict[str, str], results: Path,
             st: Stages) -> dict:
    """Run `python -m vm ...` as the Makefile does, under stage *name*."""
    results.mkdir(parents=True, exist_ok=True)
    full = dict(env, RESULTS=str(results), KCONFIG="bench")
    log = results.parent / f"{name}.log"
    with st.stage(name, " ".join(argv)) as rec, log.open("w") as out:
        proc = subprocess.run([sys.executable, "-m", "vm", *argv], cwd=REPO,
                              env=full, stdout=out, stderr=subprocess.STDOUT)
    entry: dict = {"seconds": rec.seconds, "exit_code": proc.returncode, "log": str(log)}
    rj = results / "results.json"
    if rj.exists():
        data = json.loads(rj.read_text())
        entry["stages"] = data.get("stages", [])
        entry["summary"] = {k: data.get("summary", {}).get(k)
                            for k in ("pass", "fail", "skip", "seconds")}
        entry["accel"] = data.get("accel")
        boot = next((s for s in entry["stages"] if s["name"] == "boot+tests"), None)
        guest = results / "guest.json"
        if boot and guest.exists():
            suites = json.loads(guest.read_text())["suites"]
            entry["suite_seconds"] = {s["name"]: s["seconds"] for s in suites}
            # boot, guest runner start and power-off: the stage minus the suites
            entry["boot_overhead_s"] = round(boot["seconds"] - sum(s["seconds"] for s in suites), 1)
    else:
        # `vm kernel` writes no results.json: keep its stage lines
        entry["stage_lines"] = [ln for ln in log.read_text().splitlines() if "] " in ln][-12:]
    return entry


def boot_true(kernel: Kernel, opts: Settings, accel: str, out: Path, st: Stages) -> dict:
    """`vng --run bzImage --exec true`: boot to a first command, and power-off."""
    cmd = vng.vng_command(kernel, opts, accel, "true")
    with st.stage("boot-exec-true", f"vng --exec true on {accel.upper()}") as rec:
        rc, timed_out = vng.boot(cmd, out / "boot-true-console.log",
                                      out / "boot-true-output.log", 600)
    return {"seconds": rec.seconds, "exit_code": rc, "timed_out": timed_out}


def run_loop(work_src: Path, accel: str, out: Path, st: Stages, env: dict[str, str],
             cold: bool = False) -> dict:
    """Every `python -m vm` case of the module docstring, in subprocesses with
    *env* (its PATCHES a frozen copy of the series); returns {case: entry}.
    *work_src* is the bench work directory's source tree (for tun.c)."""
    out.mkdir(parents=True, exist_ok=True)
    res: dict = {"variant": "bench", "accel": accel, "cases": {}}
    cases = res["cases"]
    cases["kernel-nochange"] = _harness("kernel-nochange", ["kernel"], env,
                                        out / "kernel-nochange", st)
    cases["vm-test-nochange"] = _harness("vm-test-nochange", ["vm-test"], env,
                                         out / "vm-test-nochange", st)
    with tempfile.TemporaryDirectory(prefix="tunrss-touch-") as tmp:
        series = Path(tmp)
        for p in source.series(Path(env["PATCHES"])):
            shutil.copy(p, series / p.name)
        tun_c = source.git("show", "HEAD:drivers/net/tun.c", cwd=work_src).stdout
        (series / "0099-tun-touch.patch").write_text(touch_patch("drivers/net/tun.c", tun_c))
        cases["vm-test-touch-tun"] = _harness("vm-test-touch-tun", ["vm-test"],
                                              dict(env, PATCHES=str(series)),
                                              out / "vm-test-touch-tun", st)
    cases["kernel-restore"] = _harness("kernel-restore", ["kernel"], env,
                                       out / "kernel-restore", st)
    if cold:
        cache = Path(tempfile.mkdtemp(prefix="tunrss-bench-cold-"))
        try:
            cases["cold-build"] = _harness("cold-build", ["kernel"],
                                           dict(env, TUNRSS_CACHE=str(cache)),
                                           out / "cold-build", st)
            cases["cold-build"]["cache"] = str(cache)
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    else:
        cases["cold-build"] = {"skipped": "set BENCH_COLD=1 (6+ minutes on 2 cores)"}
    res["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    return res
