# SPDX-License-Identifier: MIT
"""vm/ci.py and vm/patchcheck.py: the pieces of the per-patch checks that
need no kernel build."""
from collections import Counter
from pathlib import Path

from vm import ci, patchcheck

PATCH = """From 1 Mon Sep 17 00:00:00 2001
Subject: [PATCH 1/2] tun: x

---
 drivers/net/tun.c           | 2 ++
 include/uapi/linux/if_tun.h | 1 +
diff --git a/drivers/net/tun.c b/drivers/net/tun.c
--- a/drivers/net/tun.c
+++ b/drivers/net/tun.c
@@ -1 +1 @@
-a
+b
diff --git a/include/uapi/linux/if_tun.h b/include/uapi/linux/if_tun.h
--- a/include/uapi/linux/if_tun.h
+++ b/include/uapi/linux/if_tun.h
@@ -1 +1 @@
-a
+b
diff --git a/old.c b/old.c
deleted file mode 100644
--- a/old.c
+++ /dev/null
"""


def test_touched_files_and_objects(tmp_path: Path) -> None:
    p = tmp_path / "0001-tun-x.patch"
    p.write_text(PATCH)
    files = patchcheck.touched_files(p)
    assert files == ["drivers/net/tun.c", "include/uapi/linux/if_tun.h"]
    assert ci.Step(p, files).objects == ["drivers/net/tun.o"]


def test_moved_warning_is_not_new_but_an_added_one_is() -> None:
    before = patchcheck.diagnostics(
        "../src/drivers/net/tun.c:100:5: warning: unused variable 'x' [-Wunused-variable]\n")
    after = patchcheck.diagnostics(
        "../src/drivers/net/tun.c:120:5: warning: unused variable 'x' [-Wunused-variable]\n"
        "../src/drivers/net/tun.c:300:1: warning: no previous prototype for 'f' "
        "[-Wmissing-prototypes]\n"
        "  CC      drivers/net/tun.o\n")
    assert patchcheck.new_diagnostics(before, after) == [
        "drivers/net/tun.c: warning: no previous prototype for 'f' [-Wmissing-prototypes]"]
    assert patchcheck.new_diagnostics(after, after) == []


def test_duplicate_warnings_count() -> None:
    line = "drivers/net/tun.c:1:1: warning: x\n"
    assert patchcheck.new_diagnostics(Counter(patchcheck.diagnostics(line)), patchcheck.diagnostics(line * 2)) == \
        ["drivers/net/tun.c: warning: x"]


def test_checkpatch_verdict() -> None:
    assert patchcheck.checkpatch_verdict("total: 0 errors, 0 warnings, 0 checks, 120 lines checked") == \
        (True, "0 errors, 0 warnings, 0 checks")
    assert patchcheck.checkpatch_verdict("total: 0 errors, 1 warnings, 0 checks, 12 lines")[0] is False
    assert patchcheck.checkpatch_verdict("total: 0 errors, 0 warnings, 2 checks, 12 lines")[0] is False
    assert patchcheck.checkpatch_verdict("perl: command not found") == \
        (False, "checkpatch printed no total line")


def test_checkpatch_ignore_file_format(tmp_path: Path) -> None:
    f = tmp_path / "ignore"
    f.write_text("# header\nFILE_PATH_CHANGES  # new files, MAINTAINERS later\n\n")
    assert patchcheck.checkpatch_ignores(f) == ["FILE_PATH_CHANGES"]


def test_summary_table_names_every_check() -> None:
    table = patchcheck.summary_table([patchcheck.Check("build 0001-a.patch", "pass", 12.0),
                              patchcheck.Check("checkpatch 0001-a.patch", "fail", 1.0)])
    assert "build 0001-a.patch" in table and "FAIL" in table


def test_build_error_leads_with_the_compiler_error(tmp_path: Path) -> None:
    import pytest

    from vm import build
    from vm.errors import BuildError
    script = tmp_path / "fake-make"
    script.write_text("#!/bin/sh\necho '../src/drivers/net/tun.c:3501:22: error: expected expression'\n"
                      "for i in $(seq 60); do echo \"  CC      tools/objtool/x$i.o\"; done\nexit 2\n")
    script.chmod(0o755)
    with pytest.raises(BuildError) as err:
        build.run_logged([str(script)], tmp_path / "log")
    text = str(err.value)
    assert text.index("tun.c:3501:22: error") < text.index("last lines:")
    assert "x60.o" in text and "x1.o" not in text


def test_ci_variants_default_when_unset_or_empty() -> None:
    # make exports CI_VARIANTS as "" when it is not set: both variants run
    assert ci.variants_from_env({}) == ["normal", "debug"]
    assert ci.variants_from_env({"CI_VARIANTS": ""}) == ["normal", "debug"]
    assert ci.variants_from_env({"CI_VARIANTS": "debug"}) == ["debug"]


def test_checkpatch_runs_debians_python_first() -> None:
    # scripts/spdxcheck.py needs python3-ply and python3-git (Debian's python3)
    assert patchcheck.checkpatch_env()["PATH"].split(":")[0] == "/usr/bin"


def no_kernel_checks(monkeypatch, tmp_path: Path) -> None:
    """ci._run without a base tree: no per-patch or UAPI checks, an empty series."""
    from vm import source

    base = source.Base(tmp_path, "0" * 40, "base")
    monkeypatch.setattr(ci.pipeline, "resolve_base", lambda opts: base)
    monkeypatch.setattr(ci.source, "series", lambda d: [])
    monkeypatch.setattr(ci, "per_patch", lambda *a, **k: [])
    monkeypatch.setattr(ci, "uapi_checks", lambda *a, **k: [])


def test_debug_variant_gets_twice_the_guest_timeout(monkeypatch, tmp_path: Path) -> None:
    """The debug kernel's vm-test runs with VM_TIMEOUT x TIMEOUT_FACTOR["debug"]."""
    from vm import settings

    seen: dict[str, float] = {}
    no_kernel_checks(monkeypatch, tmp_path)
    monkeypatch.setattr(ci.pipeline, "vm_test",
                        lambda opts: seen.__setitem__(opts.variant, opts.timeout) or 0)
    opts = settings.Settings(cache=tmp_path, results=tmp_path / "r", timeout=1000.0)
    (tmp_path / "r").mkdir()
    assert ci._run(opts, ["normal", "debug"]) == 0
    assert seen == {"normal": 1000.0, "debug": 2000.0}


def test_ci_runs_a_short_fuzz_and_stress_on_the_normal_kernel(monkeypatch, tmp_path: Path) -> None:
    """After the variants' vm-test, one vm-test of the robustness suites with
    ci's sizes (TUNRSS_* seeds of the caller pass through); its failure fails ci."""
    from vm import settings

    runs: list[settings.Settings] = []
    no_kernel_checks(monkeypatch, tmp_path)
    monkeypatch.setattr(ci.pipeline, "vm_test",
                        lambda opts: runs.append(opts) or int(opts.tests == ci.ROBUSTNESS_TESTS))
    opts = settings.Settings(cache=tmp_path, results=tmp_path / "r",
                             guest_env={"TUNRSS_FUZZ_CALLS": "100000", "TUNRSS_FUZZ_SEED": "7"})
    (tmp_path / "r").mkdir()
    assert ci._run(opts, ["normal", "debug"]) == 1          # the robustness run failed
    rob = runs[-1]
    assert (rob.variant, rob.tests, rob.results) == ("normal", ci.ROBUSTNESS_TESTS,
                                                     tmp_path / "r" / "robustness")
    assert rob.guest_env == {"TUNRSS_FUZZ_CALLS": "2000", "TUNRSS_STRESS_SECONDS": "10",
                             "TUNRSS_FUZZ_SEED": "7"}
    assert [r.variant for r in runs] == ["normal", "debug", "normal"]
    runs.clear()
    (tmp_path / "r2").mkdir()
    assert ci._run(settings.Settings(cache=tmp_path, results=tmp_path / "r2"), ["debug"]) == 0
    assert [r.tests for r in runs] == [settings.DEFAULT_TESTS]    # no normal kernel, no robustness


def test_robustness_command_runs_cis_robustness_step_alone(monkeypatch, tmp_path: Path) -> None:
    """`python -m vm robustness` (make robustness, .ci/run): the same vm-test
    as make ci's robustness step, nothing else; its verdict is the exit code."""
    from vm import cli

    runs: list = []
    for verdict, want in ((0, 0), (1, 1)):
        runs.clear()
        monkeypatch.setattr(ci.pipeline, "vm_test", lambda opts: runs.append(opts) or verdict)
        env = {"RESULTS": str(tmp_path / f"r{verdict}"), "TUNRSS_CACHE": str(tmp_path)}
        assert cli.main(["robustness"], env) == want
        assert [(r.variant, r.tests) for r in runs] == [("normal", ci.ROBUSTNESS_TESTS)]
        assert runs[0].guest_env["TUNRSS_STRESS_SECONDS"] == "10"
