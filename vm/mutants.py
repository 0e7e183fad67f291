# SPDX-License-Identifier: MIT
"""``python -m vm mutants`` (``make mutants``): bug-on-purpose kernels.

Each ``tests/mutants/NNNN-name.patch`` (vm/mutantpatches.py) is a small
harness-only patch that applies on top of the series and plants one
plausible bug (issue 18, item 1); its commit message names the test
expected to kill it.  The kill matrix is vm/killmatrix.py's.  First a
control row, the plain series, must pass every chosen suite, else the
matrix means nothing; then each mutant is built and the same suites run.
A suite *kills* a mutant when one of its tests fails; the ``console``
column kills it on a kernel splat, a panic or a VM timeout.

All of them build in one work directory of their own per config variant
(``<cache>/work/<base>-mutants``, ``-mutants-kcsan``...: vm/kernel.py
``workdir``), never the normal one.  After the control, a switch is ``git reset --hard`` to the
series' tip plus ``git am`` of one mutant: only the files the mutants
touch change, so each build is incremental (and ccache'd).

Results (``results/mutants/``): ``control/`` and ``<name>/`` (each a
vm-test results directory), ``mutants.json`` and ``kill-matrix.md``.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, TextIO

from .errors import PipelineError
from .killmatrix import Row, columns_of, control_row, matrix, verdict, verdicts
from .mutantpatches import elsewhere, left_for_others, mutant_name
from .settings import REPO, Settings

if TYPE_CHECKING:
    from .kernel import Kernel
    from .stages import Stages

WORK_TAG = "mutants"  # + "-<variant>" but for "normal" (work_tag())
# So that one mutant costs about four minutes on TCG: the project's C
# selftests and, side by side with them, one pytest run of the tests/vm
# files that finish within the C suite's time (its start-up alone takes
# close to a minute on a busy TCG guest).  Measured on TCG 2026-12-02,
# the control with all of tests/vm but test_differential and
# test_macvtap_errors: C 125 s, pytest 361 s (test_macvtap 124 s,
# test_tap_uapi 49 s, test_tap_errors 49 s); these files about 75 s.
DEFAULT_TESTS = ("kselftests", "tests/vm")
FAST_TESTS = ("test_flow_tracking", "test_macvtap", "test_state_lifetime", "test_tap_basic",
              "test_tap_hash", "test_vlan", "test_xdp")
# ... and test_macvtap for macvtap only (8 of its 16 cases, about 45 s):
# drivers/net/tap.c is the same code for ipvtap.
PYTEST_SELECT = "-k 'not ipvtap'"


def slow_tests(repo: Path = REPO) -> list[str]:
    """The tests/vm files the default leaves out: all but FAST_TESTS."""
    return sorted(p.relative_to(repo).as_posix() for p in (repo / "tests/vm").glob("test_*.py")
                  if p.stem not in FAST_TESTS)


# ... and the suites that kill it there, added to the default ones
VARIANT_TESTS = {"kcsan": ("tests/robustness/test_faults.py",)}
_TIP = "mutants-series-tip"  # in the work directory: "<control key> <commit>"


def work_tag(opts: Settings) -> str:
    """The mutants' work directory tag: one per config variant, so that
    switching mutants stays an incremental build."""
    return WORK_TAG if opts.variant == "normal" else f"{WORK_TAG}-{opts.variant}"


def default_tests(opts: Settings, given: str | None, env: Mapping[str, str]) -> Settings:
    """*opts* with the mutants' default suites (DEFAULT_TESTS, the files
    of slow_tests() left out through the guest's PYTEST_ADDOPTS) unless
    --tests/VM_TESTS chose some; plus VARIANT_TESTS of the variant."""
    if given or (env.get("VM_TESTS") or "").strip():
        return opts
    ignore = " ".join([PYTEST_SELECT, *(f"--ignore={t}" for t in slow_tests())])
    return dataclasses.replace(opts, tests=DEFAULT_TESTS + VARIANT_TESTS.get(opts.variant, ()),
                               guest_env={**opts.guest_env, "PYTEST_ADDOPTS": ignore})


def dry_run(opts: Settings, patches: list[Path], out: TextIO) -> int:
    """The plan: the control's kernel in the mutants' work directory, the
    suites, the mutants; nothing is built or run."""
    from . import pipeline

    pipeline.dry_run(dataclasses.replace(opts, work_tag=work_tag(opts)), "mutants", out)
    print(f"{'suites:':<12} {' '.join(opts.tests)} (the same for the control and each mutant)"
          + (f"; pytest {opts.guest_env['PYTEST_ADDOPTS']}" if "PYTEST_ADDOPTS" in opts.guest_env
             else ""), file=out)
    print(f"{'mutants:':<12} " + "\n             ".join(
        f"{mutant_name(p)} ({p.relative_to(REPO) if p.is_relative_to(REPO) else p})"
        for p in patches), file=out)
    if other := elsewhere(opts.variant):
        print(f"{'elsewhere:':<12} " + ", ".join(f"{n} (KCONFIG={v})" for n, v in other.items()),
              file=out)
    return 0


def _tip_file(work: Path) -> Path:
    return work / _TIP


def run(opts: Settings, patches: list[Path]) -> int:
    """The control, then each mutant of *patches*; the matrix and the verdict."""
    from . import resultsdir

    resultsdir.claim(opts.results)
    try:
        return _run(opts, patches)
    finally:
        resultsdir.release(opts.results)


def _run(opts: Settings, patches: list[Path]) -> int:
    from . import results
    from .stages import Stages

    st = Stages()
    rc, cols, t = _one(opts, None, st)
    control = control_row(cols, rc)
    control.seconds = t
    rows = []
    if not verdict(control, []):
        for patch in patches:
            row = Row(mutant_name(patch))
            try:
                _rc, cols, row.seconds = _one(opts, patch, st)
                row.cells = verdicts(cols)
            except PipelineError as e:
                row.error = str(e)
            rows.append(row)
    table = matrix(control, rows)
    other = left_for_others(opts.variant, patches)
    problems = verdict(control, rows)
    (opts.results / "kill-matrix.md").write_text(table)
    results.write_json(opts.results / "mutants.json", {
        "tests": list(opts.tests), "control": control,
        "mutants": [dict(dataclasses.asdict(r), killed_by=r.killed_by) for r in rows],
        "not_run": [mutant_name(p) for p in patches[len(rows):]], "problems": problems,
        "other_variant": other,
        "stages": st.records})
    print("\n" + table)
    for p in problems:
        print(f"mutants: FAIL: {p}")
    if other:
        print("mutants: not run on " + repr(opts.variant) + ": " + ", ".join(
            f"{n} (needs KCONFIG={v})" for n, v in other.items()))
    print(f"mutants: {sum(bool(r.killed_by) for r in rows)} of {len(patches)} killed; "
          f"results in {opts.results}")
    return 1 if problems else 0


def _one(opts: Settings, patch: Path | None, st: "Stages") -> tuple[int, dict, float]:
    """Build the series (+ *patch*) in the mutants' work directory, run the
    suites; (vm-test's exit code, columns_of() its results, seconds)."""
    from . import kernel as kstage
    from . import pipeline

    name = mutant_name(patch) if patch else "control"
    sub = dataclasses.replace(opts, work_tag=work_tag(opts), results=opts.results / name,
                              extra_patches=(patch,) if patch else ())
    start = st.elapsed()
    with st.stage(f"mutant {name}" if patch else "control", "the series"
                  + (f" + {patch.name}" if patch else "") + f"; {' '.join(opts.tests)}"):
        base = kstage.resolve_base(sub, lambda msg: st.say("fetch", msg))
        k = kstage.identify(sub, base)
        control_key = kstage.identify(dataclasses.replace(sub, extra_patches=()), base).key
        tip = _series_tip(k.work.root, control_key)
        if tip is None and patch is not None:
            raise PipelineError(f"{name}: the control's tree is not in {k.work.root}")
        if tip is not None and not k.cached:
            _switch(k, tip, patch, sub, st)
        rc = pipeline.vm_test(sub)
        if patch is None:
            head = kstage.source.git("rev-parse", "HEAD", cwd=k.work.src).stdout.strip()
            _tip_file(k.work.root).write_text(f"{control_key} {head}\n")
    payload = json.loads((sub.results / "results.json").read_text())
    return rc, columns_of(payload), round(st.elapsed() - start, 1)


def _series_tip(work: Path, control_key: str) -> str | None:
    """The commit of the series' tip in the work directory, recorded by the
    control's run of the same series (key), or None."""
    try:
        key, commit = _tip_file(work).read_text().split()
    except (OSError, ValueError):
        return None
    return commit if key == control_key else None


def _switch(k: "Kernel", tip: str, patch: Path | None, opts: Settings, st: "Stages") -> None:
    """Reset the tree to the series' tip, apply *patch*, build incrementally.
    The work directory stays held for the vm-test that follows."""
    from . import build, source

    k.work.lock()
    k.log.parent.mkdir(parents=True, exist_ok=True)
    k.log.write_text("")
    k.work.stamp.unlink(missing_ok=True)
    with st.stage("apply", f"{tip[:12]} (the series)" + (f" + {patch.name}" if patch else "")):
        source.git("am", "--abort", cwd=k.work.src, check=False)
        source.git("reset", "-q", "--hard", tip, cwd=k.work.src)
        source.git("clean", "-q", "-fdx", cwd=k.work.src)
        if patch is not None:
            source.apply_series(k.work.src, [patch])
    with st.stage("build", f"incremental, -j{opts.jobs}, log {k.log}"):
        build.compile_kernel(k.work, k.log, build.make_env(opts.cache), opts.jobs)
    k.work.stamp.write_text(k.key + "\n")
