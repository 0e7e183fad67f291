# SPDX-License-Identifier: MIT
"""vm/suites.py: the C suites, the base kernel's tun.c and tap.c selftests included,
built through tools/testing/selftests/net's Makefile and listed from their binaries."""

from __future__ import annotations

import io
import types
from pathlib import Path

from vm import settings, suites
from vm.build import Workdir
from vm.stages import Stages


def binaries(out: Path, names: list[str]) -> None:
    for name in names:
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
        path.chmod(0o755)


def test_the_base_selftests_are_default_c_suites() -> None:
    assert settings.C_SUITES == ("tun-selftest", "tap-selftest", "kselftests")
    assert settings.DEFAULT_TESTS == (*settings.C_SUITES, "tests/vm")
    assert set(suites.BASE_SELFTESTS) == {"tun-selftest", "tap-selftest"}
    assert set(settings.C_SUITES) <= set(settings.test_choices())


def test_c_suites_from_the_binaries(tmp_path: Path) -> None:
    binaries(tmp_path, ["tun", "tap", "kselftests/tun_vnet_hash"])
    got = suites.c_suites(tmp_path, list(settings.C_SUITES))
    assert [s.name for s in got] == ["tun-selftest", "tap-selftest", "kselftests-tun_vnet_hash"]
    tun, tap, _ = got
    assert tap.argv == [*suites.LINE_BUFFERED, str(tmp_path / "tap")] and tap.comm == "tap"
    assert (tun.project, tun.harness, tun.retries) == (False, True, 4)
    assert (tap.project, tap.harness, tap.retries) == (False, True, 0)
    assert [s.name for s in suites.c_suites(tmp_path, ["tap-selftest"])] == ["tap-selftest"]
    (tmp_path / "tap").unlink()                       # not built: no suite
    assert "tap-selftest" not in [s.name for s in suites.c_suites(tmp_path, ["tap-selftest"])]


def test_build_selftests_makes_tun_and_tap_in_one_make(tmp_path: Path, monkeypatch) -> None:
    calls: list[list[str]] = []

    def run_logged(cmd: list[str], log: Path, **kw: object) -> None:
        calls.append(cmd)
        if cmd[:2] == ["make", "-C"] and cmd[2].endswith("selftests/net"):
            binaries(Path(cmd[3].removeprefix("OUTPUT=")), ["tun", "tap"])

    monkeypatch.setattr(suites.build, "run_logged", run_logged)
    kernel = types.SimpleNamespace(work=Workdir(tmp_path / "work"), key="k" * 64,
                                   patches=[])
    opts = types.SimpleNamespace(tests=("tun-selftest", "tap-selftest", "tests/vm"),
                                 results=tmp_path / "results")
    opts.results.mkdir()
    st = Stages(out=io.StringIO())
    got = suites.build_selftests(kernel, opts, st)         # type: ignore[arg-type]
    out = tmp_path / "work" / "selftests"
    assert [s.name for s in got] == ["tun-selftest", "tap-selftest"]
    [make] = calls
    assert make[-2:] == [str(out / "tun"), str(out / "tap")]
    assert f"OUTPUT={out}" in make and f"KHDR_INCLUDES=-isystem {kernel.work.headers}" in make
    again = suites.build_selftests(kernel, opts, st)       # type: ignore[arg-type]
    assert [s.name for s in again] == ["tun-selftest", "tap-selftest"] and len(calls) == 1


def _plan(tmp_path: Path, monkeypatch, tests: tuple[str, ...], built: list[str]) -> list[str]:
    """plan_suites() with *built* the programs the selftest build left."""
    out = tmp_path / "work" / "selftests"

    def build_selftests(kernel, opts, st):               # the build made *built*
        binaries(out, built)
        return suites.c_suites(out, [t for t in settings.C_SUITES if t in opts.tests])

    monkeypatch.setattr(suites, "build_selftests", build_selftests)
    opts = types.SimpleNamespace(tests=tests, results=tmp_path / "results")
    return [s.name for s in suites.plan_suites(None, opts, None)]  # type: ignore[arg-type]


def test_a_c_suite_without_a_program_fails_the_plan(tmp_path: Path, monkeypatch) -> None:
    import pytest
    from vm.errors import PipelineError
    assert _plan(tmp_path, monkeypatch, ("kselftests",), ["kselftests/tun_vnet_hash"]) == \
        ["kselftests-tun_vnet_hash"]
    with pytest.raises(PipelineError, match="asks for kselftests but no program"):
        _plan(tmp_path / "2", monkeypatch, ("kselftests",), [])
    with pytest.raises(PipelineError, match="asks for tap-selftest"):
        _plan(tmp_path / "3", monkeypatch, ("tun-selftest", "tap-selftest"), ["tun"])


def test_an_empty_plan_fails(tmp_path: Path, monkeypatch) -> None:
    import pytest
    from vm.errors import PipelineError
    with pytest.raises(PipelineError, match="no suite"):
        _plan(tmp_path, monkeypatch, (), [])
