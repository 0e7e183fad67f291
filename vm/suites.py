# SPDX-License-Identifier: MIT
"""The host side of the guest plan: compile the C selftests, list the pytest
suites VM_TESTS selects, and check pyuapi's layout against the built headers.

The selftest binaries are cached in the work directory under a key of the
build key and every file of kselftests/ (:func:`selftests_key`): a no-change
run reuses them instead of recompiling (mainline's tun.c also builds libynl).
The base kernel's own tools/testing/selftests/net/tun.c and tap.c (macvtap's
/dev/tapN, drivers/net/tap.c) are the suites of :data:`BASE_SELFTESTS`.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from . import build, kconfig, results
from .errors import PipelineError
from .kernel import KSELFTESTS, Kernel
from .plan import Plan, SuiteSpec
from .settings import C_SUITES, REPO, Settings
from .stages import Stages
from .vng import vng_env

# Run as a whole (when -l lists nothing), a C test writes "#  RUN name"
# through a pipe; line buffering gets it to the guest runner, which marks
# /dev/kmsg with it, about when the case starts.
LINE_BUFFERED = ["stdbuf", "-oL", "-eL"]
SELFTESTS_RECIPE = "2"  # bump when the way the selftests are built changes
# C suite -> (program of the base's tools/testing/selftests/net, reruns of a failed case):
# some tun.c send_gso_packet cases lose their datagram under TCG
BASE_SELFTESTS = {"tun-selftest": ("tun", 4), "tap-selftest": ("tap", 0)}


def selftests_key(kernel: Kernel, wanted: list[str], kselftests: Path = KSELFTESTS) -> str:
    """sha256 of what the selftest binaries depend on: the kernel's build key
    (base, series, config, compiler), the suites asked for and kselftests/."""
    h = hashlib.sha256(f"{SELFTESTS_RECIPE}\0{kernel.key}\0{' '.join(wanted)}\0".encode())
    for path in sorted(p for p in kselftests.rglob("*") if p.is_file()
                       and "out" not in p.relative_to(kselftests).parts[:1]):
        h.update(path.relative_to(kselftests).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def c_suites(out: Path, wanted: list[str]) -> list[SuiteSpec]:
    """The C suites whose binaries are in *out*."""
    suites = []
    for name, (prog, retries) in BASE_SELFTESTS.items():
        if name in wanted and (out / prog).exists():
            suites.append(SuiteSpec(name, "ktap", [*LINE_BUFFERED, str(out / prog)],
                                    project=False, harness=True, retries=retries))
    ko = out / "kselftests"
    if "kselftests" in wanted and ko.is_dir():
        for prog in sorted(p for p in ko.iterdir() if p.is_file() and os.access(p, os.X_OK)):
            suites.append(SuiteSpec(f"kselftests-{prog.name}", "ktap",
                                    [*LINE_BUFFERED, str(prog)], project=True, harness=True))
    return suites


def build_selftests(kernel: Kernel, opts: Settings, st: Stages) -> list[SuiteSpec]:
    """Compile the base tun and tap selftests and kselftests/ against the built
    tree's headers, unless the binaries of the same key are there; return their suites."""
    wanted = [t for t in C_SUITES if t in opts.tests]
    if not wanted:
        return []
    out = kernel.work.root / "selftests"
    key = selftests_key(kernel, wanted)
    stamp = out / ".key"
    if stamp.exists() and stamp.read_text().strip() == key:
        st.skip("selftests", f"{' and '.join(wanted)} cached for build {kernel.key[:12]} in {out}")
        return c_suites(out, wanted)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    log = opts.results / "selftests-build.log"
    log.write_text("")
    ksft = kernel.work.src / "tools" / "testing" / "selftests"
    with st.stage("selftests", " and ".join(wanted)):
        progs = [str(out / prog) for name, (prog, _r) in BASE_SELFTESTS.items()
                 if name in wanted]
        if progs:
            # Through the selftests' own Makefile: mainline's tun.c needs
            # libynl (tools/net/ynl), which that Makefile generates and builds
            # first with the venv's python3 (PyYAML, requirements.txt).
            build.run_logged(["make", "-C", str(ksft / "net"), f"OUTPUT={out}",
                              f"KHDR_INCLUDES=-isystem {kernel.work.headers}", *progs],
                             log, env=vng_env())
        if "kselftests" in wanted and (KSELFTESTS / "Makefile").exists():
            build.run_logged(["make", "-C", str(KSELFTESTS), f"OUTPUT={out / 'kselftests'}",
                              f"KHDR_INCLUDES=-isystem {kernel.work.headers}",
                              f"KSFT_DIR={ksft}"], log)
    stamp.write_text(key + "\n")
    return c_suites(out, wanted)


def pytest_suite(opts: Settings, path: str = "tests/vm") -> SuiteSpec:
    """A pytest run of *path* (relative to the repository) in the guest.
    tests/vm is "pytest-vm"; another path is "pytest-<its name>"."""
    name = "pytest-vm" if path.rstrip("/") == "tests/vm" else \
        "pytest-" + Path(path).with_suffix("").as_posix().replace("/", "-").removeprefix("tests-")
    return SuiteSpec(name, "pytest", [
        sys.executable, "-m", "pytest", str(REPO / path), "-v",
        "-p", "no:cacheprovider", "-p", "vm.pytest_kmsg",
        f"--junitxml={opts.results / f'{name}.xml'}"],
        project=True, cwd=str(REPO), junit=f"{name}.xml")


def unplanned(tests: list[str], suites: list[SuiteSpec]) -> list[str]:
    """The C suites of *tests* (VM_TESTS) that no program of *suites* runs:
    ``kselftests`` needs at least one kselftests-* program."""
    names = {s.name for s in suites}
    return [t for t in tests if t in C_SUITES and
            not (t in names or (t == "kselftests" and any(n.startswith("kselftests-")
                                                          for n in names)))]


def plan_suites(kernel: Kernel, opts: Settings, st: Stages) -> list[SuiteSpec]:
    """The suites VM_TESTS selects, C programs first, in the order given.
    A C suite asked for without a program, or an empty plan, is an error:
    nothing would run and nothing would fail."""
    suites = build_selftests(kernel, opts, st)
    missing = unplanned(list(opts.tests), suites)
    if missing:
        raise PipelineError(f"VM_TESTS asks for {', '.join(missing)} but no program of it "
                            f"was built (see {opts.results / 'selftests-build.log'})")
    suites += [pytest_suite(opts, t) for t in opts.tests if t not in C_SUITES]
    if not suites:
        raise PipelineError("the plan has no suite: VM_TESTS selected nothing to run")
    return suites


def guest_plan(kernel: Kernel, opts: Settings, suites: list[SuiteSpec]) -> Plan:
    """The plan of a vm-test run: *suites*, side by side when the guest has
    more than one vCPU, with the environment the tests read."""
    return Plan(suites=suites, kmemleak=kconfig.has_kmemleak(opts.variant), parallel=opts.cpus > 1,
                env={**opts.guest_env, "TUNRSS_IN_VM": "1", "PYTHONDONTWRITEBYTECODE": "1",
                     "TUNRSS_EXPECT_FEATURE": "1" if kernel.patches else "0"})


def uapi_layout(kernel: Kernel, opts: Settings, st: Stages) -> results.TestResult:
    """pyuapi's layout checker against the built tree's exported headers:
    every struct size, field offset and ioctl number of the ctypes bindings
    must equal what the C compiler says.  With the series applied, the new
    UAPI must be there (--require-new)."""
    cmd = [sys.executable, "-m", "pyuapi.check", "--headers", str(kernel.work.headers)]
    if kernel.patches:
        cmd.append("--require-new")
    log = opts.results / "uapi-layout.log"
    with st.stage("uapi-layout", " ".join(cmd[1:])):
        proc = subprocess.run(cmd, cwd=REPO, text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
        log.write_text(proc.stdout)
        last = proc.stdout.strip().splitlines()[-1:] or ["no output"]
        st.say("uapi-layout", last[0])
    return results.TestResult("host", "pyuapi layout vs C headers",
                              "pass" if proc.returncode == 0 else "fail",
                              reason="" if proc.returncode == 0 else proc.stdout.strip()[-2000:])
