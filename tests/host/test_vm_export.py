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
                          tests=TESTS, accel="tcg", arch="x86_64")
    kcidb_io.schema.LATEST.validate(report)
    assert [t["status"] for t in report["tests"]] == ["PASS", "FAIL", "SKIP"]
    assert report["tests"][1]["log_excerpt"].startswith("WARNING")


def test_kcidb_architecture_comes_from_the_build_config() -> None:
    assert export.architecture("CONFIG_64BIT=y\nCONFIG_X86_64=y\n") == "x86_64"
    assert export.architecture("CONFIG_X86_32=y\n") == "i386"
    assert export.architecture("CONFIG_ARM64=y\n") == "arm64"
    # "# CONFIG_X86_64 is not set" is not set; then the build's ARCH
    assert export.architecture("# CONFIG_X86_64 is not set\n", "riscv") == "riscv"


def report_of(tmp_path: Path, **kw: object) -> dict:
    patch = tmp_path / "0001-tun-x.patch"
    patch.write_text("diff\n")
    return export.kcidb(base_commit="a" * 40, tree_name="t", patches=[patch],
                        build_key="b" * 64, config_name="normal", compiler="gcc",
                        build_seconds=None, build_ok=True, tests=TESTS, accel="tcg", **kw)


def test_kcidb_names_no_local_path(tmp_path: Path) -> None:
    """Without a base URL: no file:// URL of this machine, the names relative
    to the results directory, and still valid."""
    report = report_of(tmp_path, arch="arm64")
    kcidb_io.schema.LATEST.validate(report)
    text = str(report)
    assert "file:" not in text and str(tmp_path) not in text
    (build,) = report["builds"]
    assert build["architecture"] == "arm64" and "log_url" not in build
    assert build["misc"]["log_file"] == "build.log"
    assert report["checkouts"][0]["misc"]["patch_files"] == ["patches/0001-tun-x.patch"]


def test_kcidb_urls_under_the_log_base_url(tmp_path: Path) -> None:
    report = report_of(tmp_path, arch="x86_64",
                       log_base_url="https://ci.example.org/runs/42/")
    kcidb_io.schema.LATEST.validate(report)
    assert report["builds"][0]["log_url"] == "https://ci.example.org/runs/42/build.log"
    assert report["checkouts"][0]["patchset_files"] == [
        {"name": "0001-tun-x.patch",
         "url": "https://ci.example.org/runs/42/patches/0001-tun-x.patch"}]


def test_kcidb_names_no_build_log_when_the_kernel_was_cached(tmp_path: Path) -> None:
    report = report_of(tmp_path, arch="x86_64", build_log="",
                       log_base_url="https://ci.example.org/runs/42")
    kcidb_io.schema.LATEST.validate(report)
    assert "log_url" not in report["builds"][0] and not report["builds"][0]["misc"]
