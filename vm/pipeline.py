# SPDX-License-Identifier: MIT
"""The stages of `make vm-test`: source, apply, config, build, selftests,
boot, tests, report.  Each stage prints its elapsed time (vm/stages.py)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import accel, bases, build, export, kconfig, results, source, splat
from .errors import PipelineError, SetupError
from .stages import Stages

REPO = Path(__file__).resolve().parent.parent
PATCH_DIR = REPO / "patches"
KSELFTESTS = REPO / "kselftests"
# Run as a whole (when -l lists nothing), a C test writes "#  RUN name"
# through a pipe; line buffering gets it to the guest runner, which marks
# /dev/kmsg with it, about when the case starts.
LINE_BUFFERED = ["stdbuf", "-oL", "-eL"]
# What VM_TESTS selects by default: the base kernel's tun selftest, the
# project's C selftests and the in-VM pytest suite.  An entry that is not a
# C suite name is a pytest path relative to the repository.
C_SUITES = ("tun-selftest", "kselftests")
DEFAULT_TESTS = (*C_SUITES, "tests/vm")
# Harness-only patches a config variant applies after the series: never
# part of patches/ (nor of `make series`), and keyed like the series.
VARIANT_PATCH_DIRS = {"bench": REPO / "bench" / "kernel"}


@dataclass
class Options:
    """Everything a run can be told, from the environment (see the Makefile)."""

    cache: Path
    results: Path
    base: str = source.DEFAULT_BASE
    kernel_dir: Path | None = None
    kernel_base: str = "HEAD"
    variant: str = "normal"
    accel: str = "auto"
    timeout: float = 1800.0
    jobs: int = os.cpu_count() or 2
    cpus: int = 2
    memory: str = "2G"
    patch_dir: Path = PATCH_DIR
    tests: tuple[str, ...] = DEFAULT_TESTS
    guest_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str] = dict(os.environ)) -> "Options":  # noqa: B008
        cache_home = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        return cls(
            cache=Path(env.get("TUNRSS_CACHE") or cache_home / "tunrss"),
            results=Path(env.get("RESULTS") or REPO / "results").resolve(),
            base=env.get("BASE") or source.DEFAULT_BASE,
            kernel_dir=Path(env["KERNEL_DIR"]).resolve() if env.get("KERNEL_DIR") else None,
            kernel_base=env.get("KERNEL_BASE") or "HEAD",
            variant=env.get("KCONFIG") or "normal",
            accel=env.get("VM_ACCEL") or "auto",
            timeout=float(env.get("VM_TIMEOUT") or 1800),
            jobs=int(env.get("JOBS") or os.cpu_count() or 2),
            cpus=int(env.get("VM_CPUS") or 2),
            memory=env.get("VM_MEMORY") or "2G",
            patch_dir=Path(env.get("PATCHES") or PATCH_DIR).resolve(),
            tests=tuple(env.get("VM_TESTS", "").split()) or DEFAULT_TESTS,
            # Knobs for the tests (seeds, counts) go into the guest as they are
            guest_env={k: v for k, v in env.items() if k.startswith("TUNRSS_")
                       and k != "TUNRSS_CACHE"},
        )

    def __post_init__(self) -> None:
        names = bases.read_pins()
        if self.base not in names:
            raise PipelineError(f"BASE={self.base!r}: use one of {', '.join(names)} "
                                "(vm/bases.pin), or KERNEL_DIR= for a tree of your own")
        for t in self.tests:
            if t not in C_SUITES and not (REPO / t).exists():
                raise PipelineError(f"VM_TESTS: {t!r} is neither {' nor '.join(C_SUITES)} "
                                    "nor a pytest path in the repository")


@dataclass
class Kernel:
    base: source.Base
    work: build.Workdir
    key: str
    patches: list[Path]
    fragments: list[Path]
    log: Path
    cached: bool = False


def resolve_base(opts: Options, say: Callable[[str], None] = print) -> source.Base:
    """The base every command builds on: KERNEL_DIR, else BASE (vm/bases.pin)."""
    return source.resolve_base(opts.cache, opts.base, opts.kernel_dir, opts.kernel_base, say)


def extra_fragments() -> list[Path]:
    """kselftests/config lists what the project's C selftests need."""
    path = KSELFTESTS / "config"
    return [path] if path.exists() else []


def kernel_patches(patch_dir: Path, variant: str) -> list[Path]:
    """The series of *patch_dir*, then the variant's own patches, if any
    (VARIANT_PATCH_DIRS), in order; all of them go into the build key."""
    extra = VARIANT_PATCH_DIRS.get(variant)
    return source.series(patch_dir) + (source.series(extra) if extra else [])


def prepare_kernel(opts: Options, st: Stages) -> Kernel:
    """Fetch, apply, config and build; skipped when the key's build exists."""
    opts.results.mkdir(parents=True, exist_ok=True)
    log = opts.results / "build.log"
    with st.stage("fetch", "base kernel source"):
        base = resolve_base(opts, lambda msg: st.say("fetch", msg))
        st.say("fetch", base.describe)
    patches = kernel_patches(opts.patch_dir, opts.variant)
    frags = kconfig.fragments(opts.variant, extra_fragments())
    key = build.build_key(base.commit, opts.variant, frags, patches, build.compiler_id())
    work = build.Workdir(opts.cache / "work" / f"{base.commit[:12]}-{opts.variant}")
    work.lock()
    kernel = Kernel(base, work, key, patches, frags, log)
    if build.is_current(work, key):
        kernel.cached = True
        for name in ("apply", "config", "build"):
            st.skip(name, f"build {key[:12]} is cached in {work.root}")
        return kernel
    log.write_text("")
    work.stamp.unlink(missing_ok=True)
    env = build.make_env(opts.cache)
    extra = VARIANT_PATCH_DIRS.get(opts.variant)
    with st.stage("apply", f"{len(patches)} patch(es) from {opts.patch_dir}"
                  + (f" and {extra}" if extra else "")):
        source.checkout(base, work.src)
        source.apply_series(work.src, patches)
    ckey = build.config_key(base.commit, frags)
    if (work.build / ".config").exists() and work.config_stamp.exists() \
            and work.config_stamp.read_text().strip() == ckey:
        st.skip("config", "fragments unchanged since the last configure")
    else:
        work.config_stamp.unlink(missing_ok=True)
        with st.stage("config", f"tinyconfig + {', '.join(p.name for p in frags)}"):
            symbols = kconfig.tree_symbols(work.src)
            dotconfig = build.configure(work, frags, log, env, symbols)
            kconfig.check(frags, dotconfig, symbols)
        work.config_stamp.write_text(ckey + "\n")
    with st.stage("build", f"bzImage with -j{opts.jobs}, log {log}"):
        build.compile_kernel(work, log, env, opts.jobs)
    work.stamp.write_text(key + "\n")
    return kernel


def build_selftests(kernel: Kernel, opts: Options, st: Stages) -> list[dict]:
    """Compile the base tun selftest and kselftests/ against the built tree's
    headers; return the suites of the guest plan that run them."""
    out = kernel.work.root / "selftests"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    log = opts.results / "selftests-build.log"
    log.write_text("")
    ksft = kernel.work.src / "tools" / "testing" / "selftests"
    suites: list[dict] = []
    wanted = [t for t in C_SUITES if t in opts.tests]
    if not wanted:
        return suites
    with st.stage("selftests", " and ".join(wanted)):
        if "tun-selftest" in wanted:
            # Through the selftests' own Makefile: mainline's tun.c needs
            # libynl (tools/net/ynl), which that Makefile generates and builds
            # first with the venv's python3 (PyYAML, requirements.txt).
            build.run_logged(["make", "-C", str(ksft / "net"), f"OUTPUT={out}",
                              f"KHDR_INCLUDES=-isystem {kernel.work.headers}",
                              str(out / "tun")], log, env=vng_env())
            suites.append({"name": "tun-selftest", "kind": "ktap", "project": False,
                           "harness": True, "argv": [*LINE_BUFFERED, str(out / "tun")]})
        if "kselftests" in wanted and (KSELFTESTS / "Makefile").exists():
            ko = out / "kselftests"
            build.run_logged(["make", "-C", str(KSELFTESTS), f"OUTPUT={ko}",
                              f"KHDR_INCLUDES=-isystem {kernel.work.headers}",
                              f"KSFT_DIR={ksft}"], log)
            for prog in sorted(p for p in ko.iterdir() if p.is_file() and os.access(p, os.X_OK)):
                suites.append({"name": f"kselftests-{prog.name}", "kind": "ktap",
                               "project": True, "harness": True,
                               "argv": [*LINE_BUFFERED, str(prog)]})
    return suites


def uapi_layout(kernel: Kernel, opts: Options, st: Stages) -> results.TestResult:
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


def pytest_suite(opts: Options, path: str = "tests/vm") -> dict:
    """A pytest run of *path* (relative to the repository) in the guest.
    tests/vm is "pytest-vm"; another path is "pytest-<its name>"."""
    name = "pytest-vm" if path.rstrip("/") == "tests/vm" else \
        "pytest-" + Path(path).with_suffix("").as_posix().replace("/", "-").removeprefix("tests-")
    return {"name": name, "kind": "pytest", "project": True, "cwd": str(REPO),
            "junit": f"{name}.xml",
            "argv": [sys.executable, "-m", "pytest", str(REPO / path), "-v",
                     "-p", "no:cacheprovider", "-p", "vm.pytest_kmsg",
                     f"--junitxml={opts.results / f'{name}.xml'}"]}


def plan_suites(kernel: "Kernel", opts: Options, st: Stages) -> list[dict]:
    """The suites VM_TESTS selects, C programs first, in the order given."""
    suites = build_selftests(kernel, opts, st)
    suites += [pytest_suite(opts, t) for t in opts.tests if t not in C_SUITES]
    return suites


def choose_accel(kernel: Kernel, opts: Options, st: Stages) -> str:
    with st.stage("accel", f"VM_ACCEL={opts.accel}"):
        choice, why = accel.decide(
            opts.accel, accel.kvm_device_usable,
            lambda: accel.cached_probe(opts.cache / "accel-probe.json", kernel.work.bzimage))
        st.say("accel", f"using {choice.upper()}: {why}")
    return choice


def vng_command(kernel: Kernel, opts: Options, choice: str, exec_cmd: str | None) -> list[str]:
    # The pinned virtme-ng of the project's venv, not whatever is on PATH.
    venv_vng = Path(sys.executable).parent / "vng"
    vng = str(venv_vng) if venv_vng.exists() else shutil.which("vng") or "vng"
    cmd = [vng, "--run", str(kernel.work.bzimage), "--user", "root", "--force-9p",
           "--cpus", str(opts.cpus), "--memory", opts.memory, "--rwdir", str(opts.results)]
    if exec_cmd is not None:
        cmd.append("--verbose")  # the kernel console on stderr, captured for the splat scan
    if choice == "tcg":
        cmd.append("--disable-kvm")
    if exec_cmd is not None:
        cmd += ["--exec", exec_cmd]
    return cmd


def vng_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for vng: its own helpers (virtme-run, started through
    /bin/sh) are in the venv's bin/, which is not on PATH when the venv's
    python is called directly, as the Makefile does."""
    env = dict(os.environ if env is None else env)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bindir, *[p for p in env.get("PATH", "").split(os.pathsep)
                                             if p and p != bindir]])
    return env


def boot(cmd: list[str], console: Path, output: Path, timeout: float) -> tuple[int, bool]:
    """Run the VM; guest stdout is echoed and saved, the kernel console (vng
    -v sends it to stderr) saved.  Returns (exit code, timed out)."""
    with console.open("w") as con, output.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=vng_env(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=con, text=True,
                                errors="replace", start_new_session=True)

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                out.write(line)
                sys.stdout.write(line)
                sys.stdout.flush()

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        try:
            rc = proc.wait(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            rc = proc.wait()
            timed_out = True
        reader.join(timeout=5)
    return rc, timed_out


def collect(opts: Options, plan: dict, expect_feature: bool) -> list[results.Suite]:
    """Parse what the guest left in the results directory."""
    guest_file = opts.results / "guest.json"
    ran = {s["name"]: s for s in json.loads(guest_file.read_text())["suites"]} \
        if guest_file.exists() else {}
    suites = []
    for entry in plan["suites"]:
        name = entry["name"]
        info = ran.get(name, {})
        log = opts.results / f"{name}.log"
        suite = results.Suite(name, entry["kind"], info.get("exit_code"),
                              info.get("seconds", 0.0), str(log))
        if entry["kind"] == "ktap":
            text = log.read_text(errors="replace") if log.exists() else ""
            (opts.results / f"{name}.ktap").write_text(text)
            suite.tests = results.parse_ktap(name, text)
        else:
            xml = opts.results / entry.get("junit", "pytest-vm.xml")
            suite.tests = results.parse_junit(name, xml.read_text()) if xml.exists() else []
        if not suite.tests:
            why = "did not run" if name not in ran else f"exited {suite.exit_code} with no results"
            suite.tests = [results.TestResult(name, "(suite)", "fail", reason=why)]
        elif suite.exit_code not in (0, 4) and not any(t.result == "fail" for t in suite.tests):
            suite.tests.append(results.TestResult(name, "(exit code)", "fail",
                                                  reason=f"exited {suite.exit_code}"))
        if expect_feature and entry.get("project"):
            results.fail_skips(suite.tests, "the series is applied, so the feature must be there")
        suites.append(suite)
    return suites


def vm_test(opts: Options) -> int:
    """Build (or reuse) the kernel, boot it, run the plan, report; the work
    directory is held until the run is over (vm/build.py Workdir.lock)."""
    work: list[build.Workdir] = []
    try:
        return _vm_test(opts, work)
    finally:
        for w in work:
            w.unlock()


def _vm_test(opts: Options, held: list[build.Workdir]) -> int:
    st = Stages()
    if opts.results.exists():
        shutil.rmtree(opts.results)
    opts.results.mkdir(parents=True)
    kernel = prepare_kernel(opts, st)
    held.append(kernel.work)
    layout = uapi_layout(kernel, opts, st)
    suites_planned = plan_suites(kernel, opts, st)
    expect_feature = bool(kernel.patches)
    plan = {"suites": suites_planned, "kmemleak": opts.variant == "debug",
            "env": {**opts.guest_env, "TUNRSS_IN_VM": "1", "PYTHONDONTWRITEBYTECODE": "1",
                    "TUNRSS_EXPECT_FEATURE": "1" if expect_feature else "0"}}
    (opts.results / "plan.json").write_text(json.dumps(plan, indent=2) + "\n")
    choice = choose_accel(kernel, opts, st)
    console = opts.results / "console.log"
    exec_cmd = f"cd {REPO} && exec {sys.executable} -m vm.guest {opts.results}"
    with st.stage("boot+tests", f"{choice.upper()}, timeout {opts.timeout:.0f}s"):
        rc, timed_out = boot(vng_command(kernel, opts, choice, exec_cmd), console,
                             opts.results / "guest-output.log", opts.timeout)
    suites = [results.Suite("host", "host", 0, 0.0, str(opts.results / "uapi-layout.log"),
                            [layout])]
    suites += collect(opts, plan, expect_feature)
    splats = splat.scan(console.read_text(errors="replace")) if console.exists() else []
    leaks = opts.results / "kmemleak.txt"
    if leaks.exists() and "unreferenced object" in leaks.read_text():
        text = leaks.read_text()
        splats.append(splat.Splat("kmemleak", 0, text.splitlines()[0], "(kmemleak scan)",
                                  "\n".join(text.splitlines()[:splat.EXCERPT_LINES])))
    return report(opts, st, kernel, choice, rc, timed_out, suites, splats)


def report(opts: Options, st: Stages, kernel: Kernel, choice: str, rc: int,
           timed_out: bool, suites: list[results.Suite], splats: list[splat.Splat]) -> int:
    tests = [t for s in suites for t in s.tests]
    for t in tests:
        print(results.line(t))
    problems = []
    if timed_out:
        problems.append(f"the VM run hit VM_TIMEOUT={opts.timeout:.0f}s and was killed")
    elif rc not in (0, 1):
        problems.append(f"the VM exited {rc} (255: kernel panic or vng failure); "
                        f"console: {opts.results / 'console.log'}")
    if splats:
        first = splats[0]
        for t in tests:
            if first.test and first.test.startswith(t.suite) and not t.splat:
                t.splat = first.excerpt
        problems.append(f"{len(splats)} kernel splat(s); the first: {first.describe()}")
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
                   for s in splats],
        "summary": dict(c, seconds=total, problems=problems),
    })
    by_suite = {s.name: s.tests for s in suites}
    (opts.results / "junit.xml").write_text(export.junit_xml(by_suite))
    build_secs = next((r.seconds for r in st.records if r.name == "build" and r.result == "pass"),
                      None)
    results.write_json(opts.results / "kcidb.json", export.kcidb(
        base_commit=kernel.base.commit, tree_name=kernel.base.describe, patches=kernel.patches,
        build_key=kernel.key, config_name=opts.variant, compiler=build.compiler_id(),
        build_seconds=build_secs, build_ok=True, tests=tests, accel=choice,
        results_dir=opts.results))
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


def vm_shell(opts: Options) -> int:
    st = Stages()
    kernel = prepare_kernel(opts, st)
    choice = choose_accel(kernel, opts, st)
    cmd = vng_command(kernel, opts, choice, None)
    st.say("boot", " ".join(cmd))
    try:
        return subprocess.call(cmd, cwd=REPO, env=vng_env())
    finally:
        kernel.work.unlock()
