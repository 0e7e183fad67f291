# SPDX-License-Identifier: MIT
"""Runs inside the VM: the suites of a plan written by the host.

Usage (inside the guest): ``python3 -m vm.guest RESULTS_DIR``.  Reads
``RESULTS_DIR/plan.json`` (vm/plan.py, typed), writes each suite's output to
``RESULTS_DIR/<suite>.log`` and a summary to ``RESULTS_DIR/guest.json``.
The plan's lanes run side by side, one thread each, the suites of a lane in
order.  Before each suite, and before
each kselftest test case, it writes a marker to /dev/kmsg so a splat on the
console can be tied to the test that caused it (see vm/splat.py).  Result
lines (KTAP ``ok``/``not ok``, pytest ``PASSED``/``FAILED``...) are echoed as
they come; the host prints the final table.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from .harness import ListingError, harness_cases, harness_plan
from .plan import Plan, SuiteSpec
from .splat import MARKER

RETRY_PAUSE = 1.0   # seconds between a failed case and its rerun

_RUN = re.compile(r"^#\s+RUN\s+(\S+)")
_ECHO = re.compile(r"^(ok|not ok) \d+|\s(PASSED|FAILED|SKIPPED|ERROR|XFAIL|XPASS)\b|^# Totals:")


def kmsg(text: str) -> None:
    """Write one line to the kernel log (and so to the captured console)."""
    try:
        with open("/dev/kmsg", "w") as f:
            f.write(f"{text}\n")
    except OSError as e:
        print(f"guest: cannot write /dev/kmsg: {e}", file=sys.stderr)


def _echo_results(name: str, line: str) -> None:
    if _ECHO.search(line):
        print(f"  {name}: {line.rstrip()}", flush=True)


def unbuffered(argv: list[str]) -> list[str]:
    """*argv* without a leading ``stdbuf -oL ...``: a case run alone is read
    when it exits, line buffering buys nothing and costs an exec."""
    if argv[:1] != ["stdbuf"]:
        return argv
    rest = argv[1:]
    while rest and rest[0].startswith("-"):
        rest = rest[1:]
    return rest


def run_cases(suite: SuiteSpec, results: Path, env: dict[str, str], cases: list[str],
              problems: list[str] = ()) -> dict:
    """Run a kselftest_harness program one case at a time (-r NAME), marking
    /dev/kmsg before each, so a splat names its case exactly.  The outputs
    are merged into one KTAP stream with the results renumbered; each of
    *problems* (a runner check that failed) is one more "not ok" result."""
    name = suite.name
    argv = unbuffered(suite.argv)
    log = results / f"{name}.log"
    start = time.monotonic()
    worst = 0
    flaky: list[str] = []
    with log.open("w") as out:
        out.write(f"TAP version 13\n1..{len(cases) + len(problems)}\n")
        for n, case in enumerate(cases, 1):
            for attempt in range(suite.retries + 1):
                kmsg(f"{MARKER}{name}/{case}")
                rc, lines, result = run_case(argv, suite, env, case, n)
                if not result.startswith("not ok") or attempt == suite.retries:
                    break
                # shown in the log, then run again after a pause
                out.writelines(f"# tunrss: first run: {ln}\n" for ln in [*lines, result])
                time.sleep(RETRY_PAUSE)
            if attempt and not result.startswith("not ok"):
                flaky.append(case)
                print(f"guest: suite {name}: {case} failed, then passed when run again: "
                      "flaky", flush=True)
                out.write(f"# tunrss: {case} is flaky: it failed, then passed when run again\n")
            out.writelines(ln + "\n" for ln in lines)
            out.write(result + "\n")
            out.flush()
            _echo_results(name, result)
            if rc not in (0, 4):
                worst = 1
        for n, problem in enumerate(problems, len(cases) + 1):
            out.write(f"not ok {n} (runner) # {problem}\n")
            print(f"guest: suite {name}: {problem}", flush=True)
            worst = 1
    seconds = round(time.monotonic() - start, 2)
    print(f"guest: suite {name}: {len(cases)} cases in {seconds:.1f}s", flush=True)
    return {"name": name, "exit_code": worst, "seconds": seconds, "log": log.name,
            "flaky": flaky}


def run_case(argv: list[str], suite: SuiteSpec, env: dict[str, str], case: str,
             n: int) -> tuple[int, list[str], str]:
    """One case of a kselftest_harness program (-r NAME): its exit code, its
    diagnostic lines and its KTAP result line renumbered as case *n*."""
    proc = subprocess.run([*argv, "-r", case], cwd=suite.cwd, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace", timeout=suite.case_timeout)
    lines, result = [], None
    for line in proc.stdout.splitlines():
        if line.startswith(("TAP version", "1..", "# Totals", "# PASSED", "# FAILED")):
            continue
        if re.match(r"^(ok|not ok) 1 ", line):
            result = re.sub(r"^(ok|not ok) 1 ", rf"\1 {n} ", line)
            continue
        lines.append(line)
    if result is None:
        result = f"not ok {n} {case} # exited {proc.returncode} without a result"
    return proc.returncode, lines, result


def list_cases(suite: SuiteSpec, env: dict[str, str]) -> list[str]:
    """The cases of a kselftest_harness program, from its -l listing
    (vm/harness.py: ListingError when a row cannot be placed)."""
    proc = subprocess.run([*unbuffered(suite.argv), "-l"], cwd=suite.cwd, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace", timeout=60)
    return harness_cases(proc.stdout)


def count_problems(suite: SuiteSpec, env: dict[str, str], cases: list[str]) -> list[str]:
    """[] when the program's own 1..N plan counts *cases*; else what differs."""
    kmsg(f"{MARKER}{suite.name}/(1..N plan of a whole run)")
    planned = harness_plan(suite.argv, suite.cwd, env)
    if planned is None:
        return ["a whole run printed no 1..N plan: the cases listed cannot be checked"]
    if planned != len(cases):
        return [f"-l gave {len(cases)} cases, the program's plan is 1..{planned}: "
                "the listing parser missed or invented cases"]
    return []


def fail_suite(suite: SuiteSpec, results: Path, why: str) -> dict:
    """A suite that cannot be run as planned: one "not ok" in its log."""
    (results / f"{suite.name}.log").write_text(f"TAP version 13\n1..1\nnot ok 1 (runner) # {why}\n")
    print(f"guest: suite {suite.name}: {why}", flush=True)
    return {"name": suite.name, "exit_code": 1, "seconds": 0.0, "log": f"{suite.name}.log"}


def run_suite(suite: SuiteSpec, results: Path, env: dict[str, str]) -> dict:
    """Run one suite (case by case for a harness program); its summary."""
    name = suite.name
    log = results / f"{name}.log"
    kmsg(f"{MARKER}{name}")
    print(f"guest: suite {name}: {' '.join(suite.argv)}", flush=True)
    if suite.harness:
        try:
            cases = list_cases(suite, env)
        except ListingError as e:
            return fail_suite(suite, results, str(e))
        if cases:
            return run_cases(suite, results, env, cases, count_problems(suite, env, cases))
        print(f"guest: suite {name}: -l printed KTAP or nothing, running it whole", flush=True)
    start = time.monotonic()
    with log.open("w") as out:
        try:
            proc = subprocess.Popen(suite.argv, cwd=suite.cwd, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, errors="replace", start_new_session=True)
        except OSError as e:
            out.write(f"cannot start: {e}\n")
            return {"name": name, "exit_code": None, "seconds": 0.0, "log": log.name,
                    "error": str(e)}
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            out.flush()
            if m := _RUN.match(line):
                kmsg(f"{MARKER}{name}/{m[1]}")
            _echo_results(name, line)
        rc = proc.wait()
    seconds = round(time.monotonic() - start, 2)
    print(f"guest: suite {name}: exit {rc} in {seconds:.1f}s", flush=True)
    return {"name": name, "exit_code": rc, "seconds": seconds, "log": log.name}


KMEMLEAK = Path("/sys/kernel/debug/kmemleak")


def kmemleak_scan(results: Path, rounds: int = 2, pause: float = 5.0) -> None:
    """Scan for leaks twice, a few seconds apart (objects freed by RCU after
    the tests need a grace period), and save the report.  Any leak is also
    printed on the console as "kmemleak: N new suspected memory leaks",
    which vm/splat.py turns into a failure."""
    if not KMEMLEAK.parent.is_dir() or not os.listdir(KMEMLEAK.parent):
        subprocess.run(["mount", "-t", "debugfs", "none", str(KMEMLEAK.parent)], check=False)
    if not KMEMLEAK.exists():
        print("guest: kmemleak: not in this kernel, not scanned", flush=True)
        return
    kmsg(f"{MARKER}(kmemleak scan)")
    for _ in range(rounds):
        time.sleep(pause)
        KMEMLEAK.write_text("scan\n")
    report = KMEMLEAK.read_text()
    (results / "kmemleak.txt").write_text(report)
    leaks = report.count("unreferenced object")
    print(f"guest: kmemleak: {leaks} unreferenced object(s)", flush=True)


def run_lanes(plan: Plan, results: Path, env: dict[str, str]) -> list[dict]:
    """Every suite of *plan*: the lanes side by side, each lane in order;
    the summaries in plan order."""
    done: dict[str, dict] = {}

    def lane(suites: list[SuiteSpec]) -> None:
        for s in suites:
            try:
                done[s.name] = run_suite(s, results, dict(env, TUNRSS_SUITE=s.name))
            except Exception as e:  # noqa: BLE001 (a runner bug must not hide the other lane)
                done[s.name] = {"name": s.name, "exit_code": None, "seconds": 0.0,
                                "log": f"{s.name}.log", "error": repr(e)}

    threads = [threading.Thread(target=lane, args=(group,)) for group in plan.lanes()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [done[s.name] for s in plan.suites if s.name in done]


def main(argv: list[str]) -> int:
    """Run the plan in RESULTS_DIR (argv[1]); 0 when every suite passed or skipped."""
    results = Path(argv[1])
    plan = Plan.load(results)
    env = dict(os.environ, **plan.env)
    kmsg(f"{MARKER}(guest runner started, kernel {os.uname().release})")
    done = run_lanes(plan, results, env)
    kmsg(f"{MARKER}(all suites finished)")
    if plan.kmemleak:
        kmemleak_scan(results)
    (results / "guest.json").write_text(json.dumps({"suites": done}, indent=2) + "\n")
    # kselftest exits 4 when every test skipped; the host judges skips.
    return 0 if all(s["exit_code"] in (0, 4) for s in done) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
