# SPDX-License-Identifier: MIT
"""The verdict of a vm-test: what the guest left in the results directory
(vm/guest.py) and the kernel console become results.json, junit.xml and
kcidb.json (vm/results.py, vm/export.py), a table and an exit code."""
from __future__ import annotations

import json
import os
import platform
import shutil
import sys

from . import build, export, results, splat
from .kernel import Kernel
from .plan import Plan
from .settings import Settings
from .stages import Stages


def collect(opts: Settings, plan: Plan, expect_feature: bool) -> list[results.Suite]:
    """Parse what the guest left in the results directory."""
    guest_file = opts.results / "guest.json"
    ran = {s["name"]: s for s in json.loads(guest_file.read_text())["suites"]} \
        if guest_file.exists() else {}
    suites = []
    for entry in plan.suites:
        name = entry.name
        info = ran.get(name, {})
        log = opts.results / f"{name}.log"
        suite = results.Suite(name, entry.kind, info.get("exit_code"),
                              info.get("seconds", 0.0), str(log))
        if entry.kind == "ktap":
            text = log.read_text(errors="replace") if log.exists() else ""
            (opts.results / f"{name}.ktap").write_text(text)
            suite.tests = results.parse_ktap(name, text)
        else:
            xml = opts.results / (entry.junit or "pytest-vm.xml")
            suite.tests = results.parse_junit(name, xml.read_text()) if xml.exists() else []
        if not suite.tests:
            why = "did not run" if name not in ran else f"exited {suite.exit_code} with no results"
            suite.tests = [results.TestResult(name, "(suite)", "fail", reason=why)]
        elif suite.exit_code not in (0, 4) and not any(t.result == "fail" for t in suite.tests):
            suite.tests.append(results.TestResult(name, "(exit code)", "fail",
                                                  reason=f"exited {suite.exit_code}"))
        if expect_feature and entry.project:
            results.fail_skips(suite.tests, "the series is applied, so the feature must be there")
        for t in suite.tests:
            if t.name in info.get("flaky", []):
                t.reason = "flaky: failed, then passed when run again (see the suite's log)"
        suites.append(suite)
    return suites


def lane_tasks(plan: Plan) -> dict[str, list[str]]:
    """Task name -> the suites of its lane, when lanes ran side by side."""
    lanes = plan.lanes()
    if len(lanes) < 2:
        return {}
    tasks: dict[str, list[str]] = {}
    for lane in lanes:
        for s in lane:
            tasks.setdefault(s.comm, []).extend(x.name for x in lane)
    return tasks


def splats(opts: Settings, plan: Plan) -> list[splat.Splat]:
    """The splats of the console, and a kmemleak report the guest saved."""
    console = opts.results / "console.log"
    found = splat.scan(console.read_text(errors="replace"), lane_tasks(plan)) \
        if console.exists() else []
    leaks = opts.results / "kmemleak.txt"
    if leaks.exists() and "unreferenced object" in leaks.read_text():
        text = leaks.read_text()
        found.append(splat.Splat("kmemleak", 0, text.splitlines()[0], "(kmemleak scan)",
                                 "\n".join(text.splitlines()[:splat.EXCERPT_LINES])))
    return found


def kcidb(opts: Settings, st: Stages, kernel: Kernel, choice: str,
          tests: list[results.TestResult]) -> dict:
    """The KCIDB report of the run; the applied patches are copied beside it."""
    build_secs = next((r.seconds for r in st.records if r.name == "build" and r.result == "pass"),
                      None)
    pdir = opts.results / "patches"
    pdir.mkdir(exist_ok=True)
    for p in kernel.patches:
        shutil.copyfile(p, pdir / p.name)
    dotconfig = kernel.work.build / ".config"
    arch = export.architecture(dotconfig.read_text() if dotconfig.exists() else "",
                               os.environ.get("ARCH") or platform.machine())
    return export.kcidb(
        base_commit=kernel.base.commit, tree_name=kernel.base.describe, patches=kernel.patches,
        build_key=kernel.key, config_name=opts.variant, compiler=build.compiler_id(),
        build_seconds=build_secs, build_ok=True, tests=tests, accel=choice, arch=arch,
        log_base_url=os.environ.get(export.LOG_BASE_URL_VAR, ""),
        build_log=kernel.log.name if kernel.log.exists() else "")


def report(opts: Settings, st: Stages, kernel: Kernel, choice: str, rc: int,
           timed_out: bool, suites: list[results.Suite], found: list[splat.Splat]) -> int:
    """Print every result and the verdict, write results.json, junit.xml and
    kcidb.json; return the exit code."""
    tests = [t for s in suites for t in s.tests]
    for t in tests:
        print(results.line(t))
    problems = []
    if timed_out:
        problems.append(f"the VM run hit VM_TIMEOUT={opts.timeout:.0f}s and was killed")
    elif rc not in (0, 1):
        problems.append(f"the VM exited {rc} (255: kernel panic or vng failure); "
                        f"console: {opts.results / 'console.log'}")
    if found:
        first = found[0]
        for t in tests:
            if first.test and first.test.startswith(t.suite) and not t.splat:
                t.splat = first.excerpt
        problems.append(f"{len(found)} kernel splat(s); the first: {first.describe()}")
    c = results.counts(tests)
    total = round(st.elapsed(), 1)
    results.write_json(opts.results / "results.json", {
        "kernel": {**kernel.base.record(),
                   "variant": opts.variant, "key": kernel.key, "cached": kernel.cached,
                   "patches": [p.name for p in kernel.patches],
                   "bzImage": str(kernel.work.bzimage)},
        "accel": choice, "vm_exit_code": rc, "timed_out": timed_out,
        "stages": st.records, "suites": suites,
        "splats": [{"kind": s.kind, "test": s.test, "line": s.lineno, "excerpt": s.excerpt}
                   for s in found],
        "summary": dict(c, seconds=total, problems=problems),
    })
    (opts.results / "junit.xml").write_text(export.junit_xml({s.name: s.tests for s in suites}))
    results.write_json(opts.results / "kcidb.json", kcidb(opts, st, kernel, choice, tests))
    for p in problems:
        print(f"vm-test: FAIL: {p}", file=sys.stderr)
    print(f"vm-test: results in {opts.results} (results.json, junit.xml, kcidb.json, *.ktap, "
          "console.log)")
    print(f"vm-test: {total:.0f}s on {choice.upper()}, kernel {kernel.key[:12]} "
          f"({'cached' if kernel.cached else 'built'})")
    # Alone on its line: the closing line CI front ends read
    print(f"vm-test: {c['pass']} passed, {c['fail']} failed, {c['skip']} skipped")
    if not (problems or c["fail"]):
        return 0
    # The guest command's own exit code when it has one to give (255: panic).
    return rc if rc not in (0, 1) and not timed_out else 1
