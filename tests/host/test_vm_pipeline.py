# SPDX-License-Identifier: MIT
"""The vm-test stages without a VM: the build key (vm/build.py), settings
(vm/settings.py), and how a results directory left by the guest becomes a
verdict (vm/report.py collect + report)."""
import json
from pathlib import Path

import pytest

from vm import build, kernel, report, settings, source, splat, suites, vng
from vm.errors import PipelineError
from vm.plan import Plan, SuiteSpec
from vm.stages import Stages


def test_build_key_changes_with_every_input(tmp_path: Path) -> None:
    frag, patch = tmp_path / "a.config", tmp_path / "0001-x.patch"
    frag.write_text("CONFIG_TUN=y\n")
    patch.write_text("diff\n")
    key = build.build_key("c0ffee", "normal", [frag], [patch], "gcc 12")
    assert key == build.build_key("c0ffee", "normal", [frag], [patch], "gcc 12")
    assert key != build.build_key("c0ffee", "debug", [frag], [patch], "gcc 12")
    assert key != build.build_key("c0ffe0", "normal", [frag], [patch], "gcc 12")
    assert key != build.build_key("c0ffee", "normal", [frag], [], "gcc 12")
    assert key != build.build_key("c0ffee", "normal", [frag], [patch], "gcc 13")
    patch.write_text("diff changed\n")
    assert key != build.build_key("c0ffee", "normal", [frag], [patch], "gcc 12")


def test_options_from_env(tmp_path: Path) -> None:
    opts = settings.Settings.from_env({"TUNRSS_CACHE": str(tmp_path), "KCONFIG": "debug",
                                      "VM_ACCEL": "tcg", "VM_TIMEOUT": "90",
                                      "RESULTS": str(tmp_path / "r")})
    assert (opts.cache, opts.variant, opts.accel, opts.timeout) == (tmp_path, "debug", "tcg", 90)


PLAN = Plan(suites=[
    SuiteSpec("tun-selftest", "ktap", ["tun"], project=False),
    SuiteSpec("kselftests-tun_vnet_hash", "ktap", ["x"], project=True),
    SuiteSpec("pytest-vm", "pytest", ["pytest"], project=True),
])
JUNIT = ('<testsuites><testsuite><testcase classname="t" name="test_a" time="0.1"/>'
         '<testcase classname="t" name="test_b" time="0"><skipped message="no feature"/>'
         '</testcase></testsuite></testsuites>')


@pytest.fixture
def opts(tmp_path: Path) -> settings.Settings:
    res = tmp_path / "results"
    res.mkdir()
    (res / "tun-selftest.log").write_text("1..2\nok 1 tun.a\nok 2 tun.b\n")
    (res / "kselftests-tun_vnet_hash.log").write_text("1..2\nok 1 h.a\nok 2 h.b # SKIP no feature\n")
    (res / "pytest-vm.xml").write_text(JUNIT)
    (res / "guest.json").write_text(json.dumps({"suites": [
        {"name": "tun-selftest", "exit_code": 0, "seconds": 1.0},
        {"name": "kselftests-tun_vnet_hash", "exit_code": 0, "seconds": 1.0},
        {"name": "pytest-vm", "exit_code": 0, "seconds": 1.0}]}))
    return settings.Settings(cache=tmp_path, results=res)


def counts(suites) -> dict[str, int]:
    c = {"pass": 0, "fail": 0, "skip": 0}
    for s in suites:
        for t in s.tests:
            c[t.result] += 1
    return c


def test_skips_stay_skips_without_the_series(opts) -> None:
    assert counts(report.collect(opts, PLAN, expect_feature=False)) == \
        {"pass": 4, "fail": 0, "skip": 2}


def test_skips_fail_when_the_series_is_applied(opts) -> None:
    suites = report.collect(opts, PLAN, expect_feature=True)
    assert counts(suites) == {"pass": 4, "fail": 2, "skip": 0}
    assert (opts.results / "kselftests-tun_vnet_hash.ktap").exists()


def test_suite_that_never_ran_fails(opts) -> None:
    (opts.results / "guest.json").write_text(json.dumps({"suites": []}))
    (opts.results / "tun-selftest.log").unlink()
    suites = report.collect(opts, PLAN, expect_feature=False)
    assert [(t.name, t.result, t.reason) for t in suites[0].tests] == \
        [("(suite)", "fail", "did not run")]


def test_nonzero_exit_without_failed_test_fails(opts) -> None:
    data = json.loads((opts.results / "guest.json").read_text())
    data["suites"][0]["exit_code"] = 139
    (opts.results / "guest.json").write_text(json.dumps(data))
    suites = report.collect(opts, PLAN, expect_feature=False)
    assert suites[0].tests[-1].reason == "exited 139"


def fake_kernel(opts) -> kernel.Kernel:
    work = build.Workdir(opts.cache / "w")
    return kernel.Kernel(source.Base(opts.cache, "0" * 40, "test"), work, "k", [], [],
                           opts.results / "build.log")


def test_report_fails_on_a_splat_and_names_the_test(opts, capsys) -> None:
    suites = report.collect(opts, PLAN, expect_feature=False)
    splats = splat.scan("[1.0] tunrss-test: tun-selftest/tun.a\n[1.1] WARNING: CPU: 0 at x\n")
    rc = report.report(opts, Stages(), fake_kernel(opts), "tcg", 0, False, suites, splats)
    err = capsys.readouterr().err
    assert rc == 1 and "kernel warning" in err and "while running tun-selftest/tun.a" in err
    saved = json.loads((opts.results / "results.json").read_text())
    assert saved["splats"][0]["test"] == "tun-selftest/tun.a"


def test_report_passes_clean_run_and_prints_summary(opts, capsys) -> None:
    suites = report.collect(opts, PLAN, expect_feature=False)
    rc = report.report(opts, Stages(), fake_kernel(opts), "tcg", 0, False, suites, [])
    out = capsys.readouterr().out
    assert rc == 0
    assert "vm-test: 4 passed, 0 failed, 2 skipped\n" in out
    assert "SKIP pytest-vm: t::test_b" in out


def test_report_returns_the_vm_exit_code_on_panic(opts) -> None:
    suites = report.collect(opts, PLAN, expect_feature=False)
    assert report.report(opts, Stages(), fake_kernel(opts), "tcg", 255, False, suites, []) == 255


def test_vng_finds_its_helpers_on_path() -> None:
    """vng starts virtme-run through /bin/sh: the venv's bin/ must lead PATH
    even when the Makefile calls the venv's python without activating it."""
    import os
    import sys
    bindir = str(Path(sys.executable).parent)
    env = vng.vng_env({"PATH": f"/usr/bin{os.pathsep}{bindir}{os.pathsep}/bin"})
    assert env["PATH"].split(os.pathsep) == [bindir, "/usr/bin", "/bin"]
    assert vng.vng_env({})["PATH"] == bindir


def test_vm_tests_selects_suites(tmp_path: Path) -> None:
    env = {"TUNRSS_CACHE": str(tmp_path), "VM_TESTS": "kselftests tests/vm/test_tap_hash.py",
           "TUNRSS_SEED": "7"}
    opts = settings.Settings.from_env(env)
    assert opts.tests == ("kselftests", "tests/vm/test_tap_hash.py")
    assert opts.guest_env == {"TUNRSS_SEED": "7"}
    assert settings.Settings.from_env({"TUNRSS_CACHE": str(tmp_path)}).tests == \
        settings.DEFAULT_TESTS
    suite = suites.pytest_suite(opts, "tests/vm/test_tap_hash.py")
    assert suite.name == "pytest-vm-test_tap_hash" and suite.junit == suite.name + ".xml"
    assert suites.pytest_suite(opts).name == "pytest-vm"
    with pytest.raises(PipelineError, match="VM_TESTS='nonsense'"):
        settings.Settings.from_env({"TUNRSS_CACHE": str(tmp_path), "VM_TESTS": "nonsense"})


def test_collect_reads_each_pytest_suite_junit(opts) -> None:
    plan = Plan(suites=[SuiteSpec("pytest-x", "pytest", ["pytest"], junit="pytest-x.xml")])
    (opts.results / "pytest-x.xml").write_text(JUNIT)
    (opts.results / "guest.json").write_text(json.dumps({"suites": [
        {"name": "pytest-x", "exit_code": 0, "seconds": 1.0}]}))
    (suite,) = report.collect(opts, plan, expect_feature=False)
    assert [t.name for t in suite.tests] == ["t::test_a", "t::test_b"]


def test_a_work_directory_is_taken_by_one_process(tmp_path: Path) -> None:
    """A second process waits for the work directory a run holds."""
    import subprocess
    import sys
    work = build.Workdir(tmp_path / "work")
    work.lock()
    work.lock()  # again in the same process: no deadlock
    code = ("import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR)\n"
            "try:\n    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
            "except BlockingIOError:\n    sys.exit(3)\n")
    rc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "work" / ".lock")]).returncode
    assert rc == 3


def test_an_unlocked_work_directory_is_free_again(tmp_path: Path) -> None:
    import subprocess
    import sys
    work = build.Workdir(tmp_path / "work")
    work.lock()
    work.unlock()
    work.unlock()  # twice is harmless
    code = ("import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n")
    assert subprocess.run([sys.executable, "-c", code, str(tmp_path / "work" / ".lock")]
                          ).returncode == 0
