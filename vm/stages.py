# SPDX-License-Identifier: MIT
"""Named stages with elapsed time, printed as they start and end.

Every stage is also recorded, so ``results.json`` can say where the time went.
"""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, TextIO


@dataclass
class StageRecord:
    name: str
    seconds: float
    result: str  # "pass", "fail" or "skip"
    detail: str = ""


@dataclass
class Stages:
    """Prints ``[  12.3s] build: ...`` lines and keeps a record of each stage."""

    out: TextIO = sys.stderr
    t0: float = field(default_factory=time.monotonic)
    records: list[StageRecord] = field(default_factory=list)

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def say(self, name: str, text: str) -> None:
        print(f"[{self.elapsed():7.1f}s] {name}: {text}", file=self.out, flush=True)

    def skip(self, name: str, why: str) -> None:
        self.say(name, f"skipped ({why})")
        self.records.append(StageRecord(name, 0.0, "skip", why))

    @contextmanager
    def stage(self, name: str, detail: str = "") -> Iterator[StageRecord]:
        """Run the body as stage *name*; a raised exception marks it failed."""
        self.say(name, detail or "started")
        start = time.monotonic()
        record = StageRecord(name, 0.0, "pass", detail)
        try:
            yield record
        except BaseException:
            record.result = "fail"
            raise
        finally:
            record.seconds = round(time.monotonic() - start, 1)
            self.records.append(record)
            if record.result == "pass":
                self.say(name, f"done in {record.seconds:.1f}s")
            else:
                self.say(name, f"FAILED after {record.seconds:.1f}s")
