# SPDX-License-Identifier: MIT
"""The commands that boot a VM: ``vm-test``, ``vm-shell``, and the plan a
``--dry-run`` prints.  The stages live in their own modules:

- settings   vm/settings.py  every option, validated before any work
- kernel     vm/kernel.py    fetch, apply, config, build (vm/source.py, vm/build.py)
- plan       vm/suites.py    the selftests and the suites of the guest plan (vm/plan.py)
- vng        vm/vng.py       accelerator, vng command, boot, console
- report     vm/report.py    results.json, junit.xml, kcidb.json, the verdict
"""
from __future__ import annotations

import shlex
import subprocess
from pathlib import Path
from typing import TextIO

from . import kernel as kstage
from . import report, resultsdir, suites, vng
from .kernel import Kernel, resolve_base
from .settings import REPO, Settings
from .settings import Settings as Options  # the name before the split (tests/host/test_pyuapi_*)
from .stages import Stages

__all__ = ["vm_test", "vm_shell", "dry_run", "resolve_base", "Kernel", "Options"]


def vm_test(opts: Settings) -> int:
    """Build (or reuse) the kernel, boot it, run the plan, report.  The
    results directory (vm/resultsdir.py) and the work directory (vm/build.py
    Workdir.lock) are held until the run is over."""
    resultsdir.claim(opts.results)
    held: list[Kernel] = []
    try:
        return _vm_test(opts, held)
    finally:
        for k in held:
            k.work.unlock()
        resultsdir.release(opts.results)


def _vm_test(opts: Settings, held: list[Kernel]) -> int:
    st = Stages()
    kernel = kstage.prepare_kernel(opts, st)
    held.append(kernel)
    layout = suites.uapi_layout(kernel, opts, st)
    plan = suites.guest_plan(kernel, opts, suites.plan_suites(kernel, opts, st))
    plan.save(opts.results)
    choice = vng.choose_accel(kernel, opts, st)
    lanes = " | ".join(", ".join(s.name for s in lane) for lane in plan.lanes())
    with st.stage("boot+tests", f"{choice.upper()}, timeout {opts.timeout:.0f}s, "
                  f"suites: {lanes}"):
        rc, timed_out = vng.boot(
            vng.vng_command(kernel, opts, choice, vng.guest_command(opts.results)),
            opts.results / "console.log", opts.results / "guest-output.log", opts.timeout)
    ran = [report.results.Suite("host", "host", 0, 0.0, str(opts.results / "uapi-layout.log"),
                                [layout])]
    ran += report.collect(opts, plan, expect_feature=bool(kernel.patches))
    return report.report(opts, st, kernel, choice, rc, timed_out, ran,
                         report.splats(opts, plan))


def vm_shell(opts: Settings) -> int:
    """An interactive root shell in the VM of a vm-test."""
    resultsdir.claim(opts.results)
    st = Stages()
    kernel = kstage.prepare_kernel(opts, st)
    choice = vng.choose_accel(kernel, opts, st)
    cmd = vng.vng_command(kernel, opts, choice, None)
    st.say("boot", " ".join(cmd))
    try:
        return subprocess.call(cmd, cwd=REPO, env=vng.vng_env())
    finally:
        kernel.work.unlock()
        resultsdir.release(opts.results)


def dry_run(opts: Settings, command: str, out: TextIO) -> int:
    """Print what *command* would do with *opts* (base, patches, variant,
    build key and whether it is cached, suites, vng command), touching
    nothing: no fetch, no build, no results directory."""
    def say(key: str, value: str) -> None:
        print(f"{key + ':':<12} {value}", file=out)

    base = kstage.known_base(opts)
    say("command", command)
    say("base", base.describe + f" ({base.commit[:12]})" if base else
        f"BASE={opts.base}: pinned source not in {opts.cache} yet (fetched on the first run)")
    patches = kstage.kernel_patches(opts.patch_dir, opts.variant)
    say("patches", f"{len(patches)} from {opts.patch_dir}"
        + "".join(f"\n{'':13}{p.name}" for p in patches))
    frags = kstage.kconfig.fragments(opts.variant, kstage.extra_fragments())
    say("variant", f"{opts.variant} ({', '.join(str(p.relative_to(REPO)) for p in frags)})")
    if base is not None:
        k = kstage.identify(opts, base)
        say("build key", f"{k.key[:16]} ({'cached' if k.cached else 'not built: will build'}"
            f" in {k.work.root})")
    else:
        say("build key", "unknown until the base is fetched")
    say("results", str(opts.results))
    say("accel", opts.accel + (" (probes KVM, else TCG)" if opts.accel == "auto" else ""))
    if command in ("vm-test", "vm-shell"):
        if command == "vm-test":
            names = [t if t in suites.C_SUITES else suites.pytest_suite(opts, t).name
                     for t in opts.tests]
            say("suites", ", ".join(names) + (" (C and pytest side by side)"
                                               if opts.cpus > 1 else " (one after the other)"))
        cmd = vng.vng_command(k if base is not None else None, opts,
                              opts.accel if opts.accel != "auto" else "kvm|tcg",
                              vng.guest_command(opts.results) if command == "vm-test" else None,
                              bzimage=None if base is not None else Path("BZIMAGE"))
        say("vng", shlex.join(cmd))
    return 0
