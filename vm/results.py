# SPDX-License-Identifier: MIT
"""Test results: KTAP (kselftest) and JUnit XML (pytest) in, one list of
TestResult out, written as results.json and printed one line per test.

Result words are "pass", "fail" and "skip".  A suite that was expected to
exercise the feature (the series is applied) turns its skips into failures:
a skipped test is never counted as a pass.
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

_KTAP_RESULT = re.compile(
    r"^(?P<ok>ok|not ok) (?P<num>\d+)(?: -)? ?(?P<name>[^#]*?)\s*(?:#\s*(?P<directive>\S+)\s*(?P<reason>.*))?$")
_KTAP_PLAN = re.compile(r"^1\.\.(\d+)(?:\s*#\s*SKIP\b\s*(?P<reason>.*))?")


@dataclass
class TestResult:
    __test__ = False  # not a pytest test class
    suite: str
    name: str
    result: str  # pass | fail | skip
    seconds: float | None = None
    reason: str = ""
    splat: str = ""


@dataclass
class Suite:
    name: str
    kind: str  # "ktap" or "pytest"
    exit_code: int | None
    seconds: float
    log: str
    tests: list[TestResult] = field(default_factory=list)


def parse_ktap(suite: str, text: str) -> list[TestResult]:
    """Top-level results of a KTAP/TAP stream; planned tests with no result
    line (the program died) are reported as failures."""
    tests: list[TestResult] = []
    planned = None
    for line in text.splitlines():
        if line.startswith((" ", "\t")):
            continue  # nested subtests belong to their parent
        if planned is None and (m := _KTAP_PLAN.match(line)):
            planned = int(m[1])
            if planned == 0 and m["reason"] is not None:
                # "1..0 # SKIP why": the whole program skipped (ksft_exit_skip)
                return [TestResult(suite, "(suite)", "skip", reason=m["reason"].strip())]
            continue
        m = _KTAP_RESULT.match(line.rstrip())
        if not m:
            continue
        directive = (m["directive"] or "").upper()
        if directive == "SKIP":
            result = "skip"
        elif m["ok"] == "ok" or directive in ("TODO", "XFAIL"):
            result = "pass"
        else:
            result = "fail"
        tests.append(TestResult(suite, m["name"].strip() or f"test {m['num']}", result,
                                reason=(m["reason"] or "").strip()))
    if planned is not None and len(tests) > planned:
        tests.append(TestResult(suite, "(plan)", "fail",
                                reason=f"{len(tests)} results for the plan 1..{planned}"))
    if planned is not None and len(tests) < planned:
        for n in range(len(tests) + 1, planned + 1):
            tests.append(TestResult(suite, f"test {n}", "fail",
                                    reason="no result line: the test program died or hung"))
    return tests


def parse_junit(suite: str, xml_text: str) -> list[TestResult]:
    """Test cases of a pytest JUnit XML report."""
    root = ET.fromstring(xml_text)
    tests = []
    for case in root.iter("testcase"):
        name = "::".join(x for x in (case.get("classname", ""), case.get("name", "")) if x)
        result, reason = "pass", ""
        for child in case:
            if child.tag in ("failure", "error"):
                result, reason = "fail", child.get("message", "") or (child.text or "")[:200]
                break
            if child.tag == "skipped":
                result, reason = "skip", child.get("message", "")
        seconds = float(case.get("time", "0") or 0)
        tests.append(TestResult(suite, name, result, round(seconds, 3), reason.strip()))
    return tests


def counts(tests: list[TestResult]) -> dict[str, int]:
    c = {"pass": 0, "fail": 0, "skip": 0}
    for t in tests:
        c[t.result] += 1
    return c


def fail_skips(tests: list[TestResult], why: str) -> None:
    """Turn skips into failures, keeping the skip reason."""
    for t in tests:
        if t.result == "skip":
            t.result = "fail"
            t.reason = f"{why}; skipped: {t.reason}"


def line(t: TestResult) -> str:
    word = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}[t.result]
    secs = f" ({t.seconds:.2f}s)" if t.seconds is not None else ""
    why = f"  # {t.reason}" if t.reason and t.result != "pass" else ""
    return f"{word} {t.suite}: {t.name}{secs}{why}"


def write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2, default=_default) + "\n")


def _default(obj: object) -> object:
    if hasattr(obj, "__dataclass_fields__"):
        return asdict(obj)  # type: ignore[arg-type]
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__}")
