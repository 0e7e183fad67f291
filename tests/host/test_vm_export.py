# SPDX-License-Identifier: MIT
"""vm/export.py: JUnit XML parses back, and the KCIDB report is valid
against KernelCI's schema package (kcidb-io)."""
import xml.etree.ElementTree as ET
from pathlib import Path

import kcidb_io

from vm import export
from vm.results import TestResult

TESTS = [
    TestResult("tun-selftest", "tun.delete_detach_close", "pass"),
    TestResult("pytest-vm", "tests/vm/test_tap.py::test_queues[4-rss]", "fail", 1.5,
               "assert 1 == 2", "WARNING: CPU: 0 PID: 1 at x"),
    TestResult("kselftests-tun_vnet_hash", "hash.ipv6.report", "skip", None, "no feature"),
]


def test_junit_round_trip() -> None:
    root = ET.fromstring(export.junit_xml({"all": TESTS}))
    (suite,) = root.iter("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    failure = root.find(".//failure")
    assert failure is not None and "WARNING: CPU: 0" in (failure.text or "")


def test_kcidb_path_is_schema_safe() -> None:
    path = export.kcidb_path("tun-selftest", "tun.delete_detach_close")
    assert path == "tun-selftest.tun.delete_detach_close"
    path = export.kcidb_path("pytest-vm", "tests/vm/test_tap.py::test_queues[4-rss]")
    assert kcidb_io.schema.LATEST.test_path_re.fullmatch(path), path


def test_patchset_hash_matches_the_schema_recipe(tmp_path: Path) -> None:
    # "sha256sum *.patch | cut -c-64 | sha256sum | cut -c-64"
    import hashlib
    a, b = tmp_path / "0001-a.patch", tmp_path / "0002-b.patch"
    a.write_text("one\n")
    b.write_text("two\n")
    lines = "".join(hashlib.sha256(p.read_bytes()).hexdigest() + "\n" for p in (a, b))
    assert export.patchset_hash([a, b]) == hashlib.sha256(lines.encode()).hexdigest()
    assert export.patchset_hash([]) == ""


def test_kcidb_report_validates(tmp_path: Path) -> None:
    patch = tmp_path / "0001-tun-x.patch"
    patch.write_text("diff\n")
    report = export.kcidb(base_commit="a" * 40, tree_name="Debian linux-source-6.12",
                          patches=[patch], build_key="b" * 64, config_name="normal",
                          compiler="gcc 12.2.0", build_seconds=481.7, build_ok=True,
                          tests=TESTS, accel="tcg", results_dir=tmp_path)
    kcidb_io.schema.LATEST.validate(report)
    assert [t["status"] for t in report["tests"]] == ["PASS", "FAIL", "SKIP"]
    assert report["tests"][1]["log_excerpt"].startswith("WARNING")
