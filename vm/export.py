# SPDX-License-Identifier: MIT
"""Machine-readable exports of a run for CI front ends.

- JUnit XML: one <testsuite> per suite (C suites, pytest, and make ci's checks).
- KCIDB (KernelCI's common results schema, I/O schema v5.3): one checkout
  (base commit + the series as its patchset), one build, one test per result,
  so the run can be submitted to KernelCI without glue.  Validated in the host
  tests with kcidb-io, the schema's own package.  The architecture is the
  build's (its .config); log and patch URLs are under TUNRSS_LOG_BASE_URL
  (where the results directory is uploaded), else left out (the schema wants
  absolute URLs) with the file names relative to the results directory in
  ``misc``: no path of the machine that ran the build.
"""
from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

from .results import TestResult

ORIGIN = "tunrss"
LOG_BASE_URL_VAR = "TUNRSS_LOG_BASE_URL"
# .config symbol -> KCIDB architecture (the kernel's ARCH; 64-bit x86 as KernelCI names it)
_ARCH_SYMBOLS = (("CONFIG_X86_64", "x86_64"), ("CONFIG_X86_32", "i386"),
                 ("CONFIG_ARM64", "arm64"), ("CONFIG_ARM", "arm"), ("CONFIG_RISCV", "riscv"),
                 ("CONFIG_PPC", "powerpc"), ("CONFIG_S390", "s390"),
                 ("CONFIG_LOONGARCH", "loongarch"), ("CONFIG_MIPS", "mips"))
KCIDB_VERSION = {"major": 5, "minor": 3}
_STATUS = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}


def junit_xml(suites: dict[str, list[TestResult]]) -> str:
    """JUnit XML for *suites* (suite name -> results)."""
    root = ET.Element("testsuites")
    for name, tests in suites.items():
        el = ET.SubElement(root, "testsuite", name=name, tests=str(len(tests)),
                           failures=str(sum(t.result == "fail" for t in tests)),
                           skipped=str(sum(t.result == "skip" for t in tests)))
        for t in tests:
            case = ET.SubElement(el, "testcase", classname=name, name=t.name,
                                 time=f"{t.seconds or 0:.3f}")
            if t.result == "fail":
                fail = ET.SubElement(case, "failure", message=t.reason[:200] or "failed")
                fail.text = "\n".join(x for x in (t.reason, t.splat) if x)
            elif t.result == "skip":
                ET.SubElement(case, "skipped", message=t.reason[:200])
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def kcidb_path(*parts: str) -> str:
    """A KCIDB test path: dot-separated [a-zA-Z0-9_-] components."""
    out = []
    for part in parts:
        for piece in re.split(r"[.:/]+", part):
            piece = re.sub(r"[^a-zA-Z0-9_-]+", "_", piece).strip("_")
            if piece:
                out.append(piece)
    return ".".join(out)


def patchset_hash(patches: list[Path]) -> str:
    """KCIDB's patchset_hash: sha256 of the concatenated sha256 hex digests
    of the patch files, each followed by a newline, in application order."""
    digests = "".join(hashlib.sha256(p.read_bytes()).hexdigest() + "\n" for p in patches)
    return hashlib.sha256(digests.encode()).hexdigest() if patches else ""


def architecture(dotconfig: str, fallback: str = "") -> str:
    """The KCIDB architecture of a build from its .config text; *fallback*
    (e.g. the build's ARCH) when no known symbol is set."""
    for symbol, arch in _ARCH_SYMBOLS:
        if re.search(rf"^{symbol}=y$", dotconfig, re.M):
            return arch
    return re.sub(r"[^a-z0-9_]", "_", fallback.lower())


def log_url(base_url: str, name: str) -> str:
    """The URL of results file *name* once the results directory is at *base_url*."""
    return f"{base_url.rstrip('/')}/{name}"


def kcidb(*, base_commit: str, tree_name: str, patches: list[Path], build_key: str,
          config_name: str, compiler: str, build_seconds: float | None, build_ok: bool,
          tests: list[TestResult], accel: str, arch: str, log_base_url: str = "",
          patch_dir_name: str = "patches", build_log: str = "build.log",
          start: datetime | None = None) -> dict:
    """A KCIDB report of one run.  Files are named relative to the results
    directory (*build_log*, "" when the run has none: a cached kernel;
    *patch_dir_name*/NAME.patch); with *log_base_url* they get URLs under it."""
    start = start or datetime.now(timezone.utc)
    when = start.isoformat()
    phash = patchset_hash(patches)
    checkout_id = f"{ORIGIN}:{base_commit[:12]}-{(phash or 'none')[:12]}"
    build_id = f"{ORIGIN}:{build_key[:16]}-{config_name}"
    checkout = {"id": checkout_id, "origin": ORIGIN, "tree_name": tree_name,
                "git_commit_hash": base_commit, "start_time": when, "valid": True,
                "patchset_hash": phash,
                "misc": {"patch_files": [f"{patch_dir_name}/{p.name}" for p in patches]}}
    build = {"id": build_id, "origin": ORIGIN, "checkout_id": checkout_id,
             "architecture": arch, "compiler": compiler, "config_name": config_name,
             "start_time": when, "status": "PASS" if build_ok else "FAIL",
             "misc": {"log_file": build_log} if build_log else {}}
    if log_base_url:
        checkout["patchset_files"] = [
            {"name": p.name, "url": log_url(log_base_url, f"{patch_dir_name}/{p.name}")}
            for p in patches]
        if build_log:
            build["log_url"] = log_url(log_base_url, build_log)
    if build_seconds is not None:
        build["duration"] = build_seconds
    env = {"comment": f"virtme-ng guest, QEMU {accel.upper()}"}
    out_tests = []
    for n, t in enumerate(tests):
        item = {"id": f"{build_id}:{n}", "origin": ORIGIN, "build_id": build_id,
                "path": kcidb_path(t.suite, t.name), "status": _STATUS[t.result],
                "start_time": when, "environment": env}
        if t.seconds is not None:
            item["duration"] = t.seconds
        if t.reason:
            item["comment"] = t.reason[:500]
        if t.splat:
            item["log_excerpt"] = t.splat[:16384]
        out_tests.append(item)
    return {"version": KCIDB_VERSION, "checkouts": [checkout], "builds": [build],
            "tests": out_tests}
