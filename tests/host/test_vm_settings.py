# SPDX-License-Identifier: MIT
"""vm/settings.py and vm/cli.py: every bad setting fails before any work,
in under a second, naming the variable and the option and listing what is
allowed; --dry-run prints the plan and touches nothing; `make help` lists
the variables with their values."""
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from vm import cli, settings
from vm.errors import SettingsError

REPO = settings.REPO
BAD = [  # (variable, value, words the message must hold)
    ("VM_ACCEL", "kvn", ["VM_ACCEL='kvn'", "--accel", "auto, kvm, tcg"]),
    ("VM_TESTS", "nonexistent", ["VM_TESTS='nonexistent'", "--tests", "tun-selftest",
                                 "kselftests", "tests/vm"]),
    ("VM_CPUS", "two", ["VM_CPUS='two'", "--cpus", "whole number from 1 to 64"]),
    ("VM_CPUS", "0", ["VM_CPUS='0'", "whole number from 1"]),
    ("VM_MEMORY", "lots", ["VM_MEMORY='lots'", "--memory", "2G"]),
    ("VM_TIMEOUT", "soon", ["VM_TIMEOUT='soon'", "--timeout", "number of seconds"]),
    ("JOBS", "-3", ["JOBS='-3'", "--jobs", "whole number"]),
    ("KCONFIG", "dbg", ["KCONFIG='dbg'", "--kconfig", "normal, debug, bench"]),
    ("BASE", "6.1", ["BASE='6.1'", "--base", "mainline", "6.12", "KERNEL_DIR"]),
    ("PATCHES", "/nonexistent", ["PATCHES='/nonexistent'", "--patches", "directory"]),
    ("KERNEL_DIR", "/nonexistent", ["KERNEL_DIR='/nonexistent'", "--kernel-dir"]),
]


def run_timed(argv: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess, float]:
    """Run *argv*; the process and the CPU seconds it and its children spent.

    CPU time, not wall time: on a host loaded by builds and VMs (load 11 on
    2 cores) the same 0.3 s of work took 1.5 s of wall time.  Work done
    before the check (a build, a fetch, setup) shows up as CPU time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return proc, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def env_with(**kw: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {s.env for s in settings.SPECS} | {"CI_VARIANTS", "SERIES_VERSION"}}
    env.update(kw)
    return env


@pytest.mark.parametrize("var,value,words", BAD, ids=[f"{v}={x}" for v, x, _ in BAD])
def test_bad_variable_fails_fast_with_the_allowed_values(var: str, value: str,
                                                         words: list[str]) -> None:
    proc, cpu = run_timed([sys.executable, "-m", "vm", "vm-test"], env_with(**{var: value}))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    for w in words:
        assert w in proc.stderr
    assert cpu < 1.0, f"{cpu:.2f}s of CPU"


@pytest.mark.parametrize("argv,words", [
    (["--accel", "kvn"], ["VM_ACCEL='kvn'", "auto, kvm, tcg"]),
    (["--tests", "tun-selftest nonexistent"], ["VM_TESTS='nonexistent'", "kselftests"]),
    (["--cpus", "two"], ["VM_CPUS='two'"]),
])
def test_bad_option_is_caught_like_the_variable(argv: list[str], words: list[str]) -> None:
    with pytest.raises(SettingsError) as e:
        cli.parse(["vm-test", *argv], env_with())
    for w in words:
        assert w in str(e.value)


def test_the_option_overrides_the_variable() -> None:
    _, opts = cli.parse(["vm-test", "--accel", "tcg", "--cpus", "1"],
                        env_with(VM_ACCEL="kvm", VM_CPUS="4", VM_MEMORY="1536M"))
    assert (opts.accel, opts.cpus, opts.memory) == ("tcg", 1, "1536M")


def test_each_command_has_its_own_results_directory() -> None:
    dirs = {c: cli.parse([c], env_with())[1].results for c in ("vm-test", "kernel", "ci")}
    assert dirs == {c: REPO / "results" / c for c in dirs}
    assert settings.Settings.from_env(env_with(), command="bench").results == \
        REPO / "results" / "bench"
    _, opts = cli.parse(["vm-test"], env_with(RESULTS="/tmp/r"))
    assert opts.results == Path("/tmp/r")


def test_ci_variants_and_series_version_are_checked() -> None:
    with pytest.raises(SettingsError, match=r"CI_VARIANTS='fast'.*normal, debug, bench"):
        cli.parse(["ci"], env_with(CI_VARIANTS="normal fast"))
    assert cli.parse(["ci", "--variants", "debug"], env_with())[0].variants == ["debug"]
    with pytest.raises(SettingsError, match="SERIES_VERSION='v2'"):
        cli.parse(["series"], env_with(SERIES_VERSION="v2"))
    assert cli.parse(["series", "--version", "3"], env_with())[0].series_version == 3


def test_make_rejects_a_bad_variable_before_setup() -> None:
    proc, cpu = run_timed(["make", "-s", "vm-test", "VM_ACCEL=kvn"], env_with())
    assert proc.returncode != 0 and "auto, kvm, tcg" in proc.stderr
    assert "setup:" not in proc.stderr
    assert cpu < 1.0, f"{cpu:.2f}s of CPU"


def test_make_help_lists_the_variables_with_values() -> None:
    proc = subprocess.run(["make", "-s", "help"], cwd=REPO, env=env_with(VM_CPUS="3"),
                          capture_output=True, text=True, check=True)
    assert "$(" not in proc.stdout
    for s in settings.SPECS:
        assert f"  {s.env}=" in proc.stdout and s.flag in proc.stdout
    assert "VM_CPUS=3 " in proc.stdout and "VM_ACCEL=auto " in proc.stdout
    # a bad value is listed as it is, not an error: help must always work
    proc = subprocess.run(["make", "-s", "help"], cwd=REPO, env=env_with(VM_CPUS="two"),
                          capture_output=True, text=True, check=True)
    assert "VM_CPUS=two " in proc.stdout


def test_dry_run_prints_the_plan_and_touches_nothing(tmp_path: Path) -> None:
    results = tmp_path / "results"
    proc = subprocess.run([sys.executable, "-m", "vm", "vm-test", "--dry-run", "--accel", "tcg",
                           "--cache", str(tmp_path / "cache"), "--results", str(results)],
                          cwd=REPO, env=env_with(), capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for key in ("base:", "patches:", "variant:", "build key:", "suites:", "vng:"):
        assert key in out
    assert "fetched on the first run" in out  # an empty cache: nothing downloaded
    assert "tun-selftest, tap-selftest, kselftests, pytest-vm" in out and "--disable-kvm" in out
    assert not results.exists() and not (tmp_path / "cache").exists()
