# SPDX-License-Identifier: MIT
"""The kill matrix of ``make mutants`` (vm/mutants.py): which suite kills
which bug-on-purpose kernel, from the vm-test results.json of each.

A suite *kills* a mutant when one of its tests fails; the ``console``
column kills it on a kernel splat, a panic or a VM timeout.  The control
row (the plain series) must pass every column, or the matrix means nothing.
"""
from __future__ import annotations

import dataclasses
from typing import Mapping

CONSOLE = "console"  # the column of splats, panics and timeouts
KILLED, SURVIVED, NOT_RUN, PASS, FAIL = "killed", "survived", "not run", "pass", "FAIL"


def columns_of(payload: dict) -> dict[str, list[str]]:
    """Column -> results of its tests, from one vm-test results.json.  A
    C suite is one column; a pytest suite is split per test module
    (``test_xdp``), so the matrix says which file killed a mutant.  Tests
    of a suite that never started (``did not run``) are left out."""
    cols: dict[str, list[str]] = {}
    for suite in payload.get("suites", []):
        for t in suite["tests"]:
            if t["result"] == "fail" and t["reason"].startswith("did not run"):
                continue
            col = suite["name"]
            if suite["kind"] == "pytest" and "::" in t["name"]:
                col = t["name"].split("::")[0].rsplit(".", 1)[-1]
            cols.setdefault(col, []).append(t["result"])
    bad = bool(payload.get("splats")) or payload.get("timed_out") or \
        payload.get("vm_exit_code") not in (0, 1, None)
    cols[CONSOLE] = ["fail" if bad else "pass"]
    return cols


def verdicts(cols: Mapping[str, list[str]]) -> dict[str, str]:
    """Column -> killed (a test failed) or survived; skips count as passes
    here only because vm-test already turned a project skip into a fail."""
    return {c: KILLED if "fail" in r else SURVIVED for c, r in cols.items()}


@dataclasses.dataclass
class Row:
    """One kernel of the matrix: the control (mutant "") or a mutant."""

    name: str
    cells: dict[str, str] = dataclasses.field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0

    @property
    def killed_by(self) -> list[str]:
        """The columns whose suite killed this kernel."""
        return [c for c, v in self.cells.items() if v == KILLED]


def control_row(cols: Mapping[str, list[str]], rc: int) -> Row:
    """The plain series: every column must pass (rc 0 is vm-test's verdict)."""
    row = Row("control", {c: PASS if "fail" not in r else FAIL for c, r in cols.items()})
    if rc and FAIL not in row.cells.values():
        row.error = f"vm-test exited {rc}"
    return row


def verdict(control: Row, rows: list[Row]) -> list[str]:
    """Why the run fails: the control did not pass, a mutant errored, or a
    mutant survived every suite.  Empty: every mutant was killed."""
    problems = []
    if control.error or FAIL in control.cells.values():
        bad = [c for c, v in control.cells.items() if v == FAIL]
        problems.append("the control (the plain series) failed " +
                        (", ".join(bad) if bad else control.error) + ": the matrix means nothing")
    for r in rows:
        if r.error:
            problems.append(f"mutant {r.name}: {r.error}")
        elif not r.killed_by:
            problems.append(f"mutant {r.name} survived every suite: a test is missing")
    return problems


def matrix(control: Row, rows: list[Row]) -> str:
    """The kill matrix, markdown: a row per kernel, a column per suite."""
    cols = list(control.cells)
    for r in rows:
        cols += [c for c in r.cells if c not in cols]
    cols = [c for c in cols if c != CONSOLE] + [CONSOLE]
    lines = ["| kernel | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for r in [control, *rows]:
        cells = [r.cells.get(c, NOT_RUN) for c in cols]
        if r.error and r is not control:
            cells = [f"error: {r.error.splitlines()[0]}"] + [""] * (len(cols) - 1)
        lines.append(f"| {r.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
