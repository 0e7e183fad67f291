# SPDX-License-Identifier: MIT
"""The guest plan: what vm/guest.py runs in the VM, typed.

The host builds a :class:`Plan` (vm/suites.py), writes it as
``RESULTS/plan.json`` and the guest reads it back with :func:`Plan.load`,
as the same dataclasses.  This module is imported in the guest: it needs
nothing but the standard library.

Suites run in *lanes*: the suites of one lane one after the other, the lanes
side by side (the guest's vCPUs).  The C suites share one lane, the pytest
suites another, so a splat still names its case: the kernel report names the
task (``Comm:``, ``by task``), which tells the lanes apart (vm/splat.py).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

PLAN_FILE = "plan.json"


@dataclass(frozen=True)
class SuiteSpec:
    """One suite: a program (KTAP) or a pytest run."""

    name: str
    kind: str  # "ktap" or "pytest"
    argv: list[str]
    project: bool = True  # the project's own tests: skips fail when the series is applied
    harness: bool = False  # a kselftest_harness program: run case by case (-l, -r)
    cwd: str | None = None
    junit: str = ""  # pytest: the JUnit XML file, relative to the results directory
    case_timeout: float = 600.0
    # A failed case is run again this many times; one that then passes is
    # reported as flaky, never silently (the base's own selftest only: its
    # flakes are the base kernel's under TCG, not the series')
    retries: int = 0
    lane: str = ""  # suites of one lane run in turn; "" means the kind's lane

    @property
    def comm(self) -> str:
        """The task name the kernel shows for this suite's processes
        (TASK_COMM_LEN: 15 characters of the program's file name)."""
        prog = next((a for a in self.argv if not a.startswith("-") and a != "stdbuf"), "")
        return Path(prog).name[:15]

    @property
    def lane_name(self) -> str:
        """The lane this suite runs in."""
        return self.lane or ("c" if self.kind == "ktap" else "pytest")

    @classmethod
    def from_dict(cls, data: dict) -> "SuiteSpec":
        """A SuiteSpec from its JSON form; unknown keys are an error."""
        names = {f.name for f in fields(cls)}
        extra = set(data) - names
        if extra:
            raise ValueError(f"plan.json: unknown suite field(s) {sorted(extra)}")
        return cls(**data)


@dataclass
class Plan:
    """Everything the guest runs, and how."""

    suites: list[SuiteSpec] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    kmemleak: bool = False
    parallel: bool = True  # lanes side by side (False: every suite in turn)

    def lanes(self) -> list[list[SuiteSpec]]:
        """The suites grouped by lane, in plan order; one group when not parallel."""
        if not self.parallel:
            return [list(self.suites)] if self.suites else []
        groups: dict[str, list[SuiteSpec]] = {}
        for s in self.suites:
            groups.setdefault(s.lane_name, []).append(s)
        return list(groups.values())

    def suite(self, name: str) -> SuiteSpec:
        """The suite called *name*."""
        return next(s for s in self.suites if s.name == name)

    def to_json(self) -> str:
        """The plan as plan.json holds it."""
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "Plan":
        """A Plan from plan.json text."""
        data = json.loads(text)
        return cls(suites=[SuiteSpec.from_dict(s) for s in data.get("suites", [])],
                   env=dict(data.get("env", {})), kmemleak=bool(data.get("kmemleak")),
                   parallel=bool(data.get("parallel", True)))

    def save(self, results: Path) -> Path:
        """Write RESULTS/plan.json; returns its path."""
        path = results / PLAN_FILE
        path.write_text(self.to_json())
        return path

    @classmethod
    def load(cls, results: Path) -> "Plan":
        """Read RESULTS/plan.json."""
        return cls.from_json((results / PLAN_FILE).read_text())
