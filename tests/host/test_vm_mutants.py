# SPDX-License-Identifier: MIT
"""vm/mutantpatches.py and vm/mutants.py: the choice of mutants and suites,
checked before any work;
vm/killmatrix.py: the kill matrix built from vm-test results.json payloads."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from vm import cli, kconfig, killmatrix, mutantpatches, mutants
from vm.errors import SettingsError

ENV = {"TUNRSS_CACHE": "/nonexistent-cache"}


def _dir(tmp_path: Path, *names: str) -> Path:
    for n in names:
        (tmp_path / n).write_text("From 0 Mon Sep 17 00:00:00 2001\nSubject: x\n")
    (tmp_path / "README").write_text("not a patch")
    return tmp_path


def test_available_names_in_order(tmp_path: Path) -> None:
    d = _dir(tmp_path, "0002-b-bug.patch", "0001-a.patch", "notes.patch")
    assert list(mutantpatches.available(d)) == ["a", "b-bug"]


def test_select_all_some_and_unknown(tmp_path: Path) -> None:
    d = _dir(tmp_path, "0001-a.patch", "0002-b.patch", "0003-c.patch")
    assert [p.name for p in mutantpatches.select("", directory=d)] == \
        ["0001-a.patch", "0002-b.patch", "0003-c.patch"]
    assert [p.name for p in mutantpatches.select("c, a c", directory=d)] == ["0003-c.patch", "0001-a.patch"]
    with pytest.raises(SettingsError) as e:
        mutantpatches.select("a,zz,yy", directory=d)
    assert "'zz,yy'" in str(e.value) and "a, b, c" in str(e.value)


def test_select_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="no mutant"):
        mutantpatches.select("", directory=tmp_path)


def test_cli_rejects_a_bad_name_before_any_work(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["mutants", "--mutants", "no-such-bug"], ENV) == 2
    err = capsys.readouterr().err
    assert "no-such-bug" in err and "key-ignored" in err


def test_cli_default_suites_and_vm_tests_override() -> None:
    args, opts = cli.parse(["mutants", "--mutants", "key-ignored"], ENV)
    assert opts.tests == ("kselftests", "tests/vm")
    ignored = opts.guest_env["PYTEST_ADDOPTS"].split()
    assert opts.guest_env["PYTEST_ADDOPTS"].startswith("-k 'not ipvtap' --ignore=")
    assert "--ignore=tests/vm/test_differential.py" in ignored
    assert not any("test_xdp" in i or "test_state_lifetime" in i for i in ignored)
    for fast in mutants.FAST_TESTS:
        assert (mutants.REPO / "tests/vm" / f"{fast}.py").is_file(), fast
    assert [p.name for p in args.mutants] == ["0001-key-ignored.patch"]
    _, opts = cli.parse(["mutants", "--tests", "kselftests"], ENV)
    assert opts.tests == ("kselftests",) and "PYTEST_ADDOPTS" not in opts.guest_env
    _, opts = cli.parse(["mutants"], {**ENV, "VM_TESTS": "tests/vm/test_xdp.py"})
    assert opts.tests == ("tests/vm/test_xdp.py",)


def test_cli_dry_run_lists_the_mutants_and_the_work_directory(
        capsys: pytest.CaptureFixture[str]) -> None:
    args, opts = cli.parse(["mutants", "--mutants", "frame-twice"], ENV)
    out = io.StringIO()
    assert mutants.dry_run(opts, args.mutants, out) == 0
    text = out.getvalue()
    assert "frame-twice (tests/mutants/0009-frame-twice.patch)" in text
    assert "key-ignored" not in text


def _payload(suites: list[tuple[str, str, list[tuple[str, str, str]]]], **kw: object) -> dict:
    return {"suites": [{"name": n, "kind": k,
                        "tests": [{"name": t, "result": r, "reason": why} for t, r, why in tests]}
                       for n, k, tests in suites], "vm_exit_code": 0, "splats": [], **kw}


PASSING = _payload([
    ("kselftests-tun_vnet_hash", "ktap", [("a", "pass", ""), ("b", "pass", "")]),
    ("pytest-vm", "pytest", [("tests.vm.test_xdp::test_one", "pass", ""),
                             ("tests.vm.test_vlan::test_two", "pass", "")]),
])


def test_columns_split_pytest_per_module() -> None:
    cols = killmatrix.columns_of(PASSING)
    assert cols == {"kselftests-tun_vnet_hash": ["pass", "pass"], "test_xdp": ["pass"],
                    "test_vlan": ["pass"], "console": ["pass"]}


def test_a_failed_test_kills_and_a_suite_that_never_started_is_not_run() -> None:
    payload = _payload([
        ("kselftests-tun_vnet_hash", "ktap", [("a", "pass", ""), ("b", "fail", "x")]),
        ("pytest-vm", "pytest", [("(suite)", "fail", "did not run")]),
    ])
    v = killmatrix.verdicts(killmatrix.columns_of(payload))
    assert v == {"kselftests-tun_vnet_hash": "killed", "console": "survived"}
    row = killmatrix.Row("m", v)
    control = killmatrix.control_row(killmatrix.columns_of(PASSING), 0)
    table = killmatrix.matrix(control, [row])
    assert "| m | killed | not run | not run | survived |" in table
    assert table.splitlines()[0] == \
        "| kernel | kselftests-tun_vnet_hash | test_xdp | test_vlan | console |"


@pytest.mark.parametrize("extra", [{"splats": [{"kind": "BUG"}]}, {"timed_out": True},
                                   {"vm_exit_code": 255}])
def test_console_column_kills_on_splat_timeout_panic(extra: dict) -> None:
    payload = dict(PASSING, **extra)
    assert killmatrix.verdicts(killmatrix.columns_of(payload))["console"] == "killed"


def test_verdict_control_must_pass() -> None:
    bad = killmatrix.control_row({"kselftests-tun_vnet_hash": ["pass", "fail"]}, 1)
    problems = killmatrix.verdict(bad, [])
    assert problems and "kselftests-tun_vnet_hash" in problems[0]
    # rc != 0 with every column passing (e.g. the layout check) fails too
    quiet = killmatrix.control_row({"console": ["pass"]}, 1)
    assert killmatrix.verdict(quiet, []) == \
        ["the control (the plain series) failed vm-test exited 1: the matrix means nothing"]


def test_verdict_survivor_and_error() -> None:
    control = killmatrix.control_row(killmatrix.columns_of(PASSING), 0)
    killed = killmatrix.Row("k", {"test_xdp": "killed", "console": "survived"})
    survived = killmatrix.Row("s", {"test_xdp": "survived", "console": "survived"})
    broken = killmatrix.Row("e", error="0003-e.patch does not apply")
    assert killmatrix.verdict(control, [killed]) == []
    problems = killmatrix.verdict(control, [killed, survived, broken])
    assert problems == ["mutant s survived every suite: a test is missing",
                        "mutant e: 0003-e.patch does not apply"]
    assert "| e | error: 0003-e.patch does not apply |" in killmatrix.matrix(control, [broken])


def test_every_mutant_is_a_patch_that_names_its_killer() -> None:
    found = mutantpatches.available()
    assert len(found) >= 10
    for name, patch in found.items():
        text = patch.read_text()
        assert text.startswith("From ") and "\nSubject: [PATCH] mutant: " in text, name
        assert "Plausible bug:" in text and "Expected to be killed by:" in text, name
        assert "\ndiff --git a/" in text, name


def _needing(tmp_path: Path) -> Path:
    d = _dir(tmp_path, "0001-a.patch", "0003-c.patch")
    (d / "0002-faults.patch").write_text("From 0 Mon Sep 17 00:00:00 2001\nSubject: x\n\n"
                                         "Needs-variant: kcsan\n\n---\n"
                                         "Needs-variant: debug\n")  # the diff's, ignored
    return d


def test_a_mutant_that_needs_another_variant_is_left_for_it(tmp_path: Path) -> None:
    d = _needing(tmp_path)
    assert mutantpatches.needed_variant(d / "0002-faults.patch") == "kcsan"
    assert mutantpatches.needed_variant(d / "0001-a.patch") is None
    assert [p.name for p in mutantpatches.select("", "normal", d)] == ["0001-a.patch", "0003-c.patch"]
    assert mutantpatches.elsewhere("normal", d) == {"faults": "kcsan"}
    assert [p.name for p in mutantpatches.select("", "kcsan", d)] == \
        ["0001-a.patch", "0002-faults.patch", "0003-c.patch"]
    assert mutantpatches.elsewhere("kcsan", d) == {}


def test_the_others_are_reported_only_when_all_were_chosen(tmp_path: Path) -> None:
    d = _needing(tmp_path)
    every = mutantpatches.select("", "normal", d)
    assert mutantpatches.left_for_others("normal", every, d) == {"faults": "kcsan"}
    assert mutantpatches.left_for_others("normal", every[:1], d) == {}   # MUTANTS=a


def test_naming_a_mutant_of_another_variant_is_an_error(tmp_path: Path) -> None:
    d = _needing(tmp_path)
    with pytest.raises(SettingsError, match=r"faults needs KCONFIG=kcsan .*not 'debug'"):
        mutantpatches.select("a,faults", "debug", d)


def test_each_variant_has_its_own_work_directory_and_suites() -> None:
    _, normal = cli.parse(["mutants"], ENV)
    _, kcsan = cli.parse(["mutants"], {**ENV, "KCONFIG": "kcsan"})
    assert mutants.work_tag(normal) == "mutants"
    assert mutants.work_tag(kcsan) == "mutants-kcsan"
    assert "tests/robustness/test_faults.py" in kcsan.tests
    assert "tests/robustness/test_faults.py" not in normal.tests
    with pytest.raises(SettingsError, match="enomem-switches-off needs KCONFIG=kcsan"):
        cli.parse(["mutants", "--mutants", "enomem-switches-off"], ENV)
    other = mutantpatches.elsewhere("normal")            # those of tests/mutants/ today, at least
    assert {"enomem-switches-off", "ext-fail-unclassified"} <= set(other)
    assert set(other.values()) <= set(kconfig.VARIANTS) - {"normal"}
