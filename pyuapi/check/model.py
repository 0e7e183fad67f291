# SPDX-License-Identifier: MIT
"""What the layout checker compares, and what it found.

An :class:`Expected` is one value the C program prints (a size, an
alignment, an offset, a signedness, or the bytes of a struct after a field
was set) with the value the ctypes side gives; a :class:`Finding` is a
difference or an absence.  The checks are those of CPython's
Lib/test/test_ctypes/test_generated_structs.py, against the kernel's UAPI
headers instead of structs generated for the test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

__all__ = ["Value", "Expected", "Finding", "CheckResult"]

Value = Union[int, str]     # str: the bytes of a struct, in hex


@dataclass(frozen=True)
class Expected:
    """One value the C side must print: ``key`` and the ctypes/Python value it must equal.

    ``cexpr`` is a C expression printed as an integer, or, with ``stmt``, a C
    block that prints the value itself (``%d x<hex>``, see
    :mod:`pyuapi.check.cside`); ``{i}`` in it is the item's index.
    """

    key: str
    value: Value
    new: bool
    cexpr: str
    struct: str = ""    # C struct name, for grouping and presence
    macro: str = ""     # macro name, for #ifdef presence
    stmt: bool = False


@dataclass
class Finding:
    """A difference or an absence."""

    kind: str           # "diff", "absent", "missing-field"
    key: str
    c_value: Optional[Value] = None
    py_value: Optional[Value] = None
    new: bool = False

    def __str__(self) -> str:
        tag = " (new UAPI)" if self.new else ""
        if self.kind == "diff":
            return f"DIFF    {self.key}: C {self.c_value}, ctypes {self.py_value}"
        if self.kind == "missing-field":
            return f"DIFF    {self.key}: does not compile against the headers{tag}"
        return f"ABSENT  {self.key}{tag}"


@dataclass
class CheckResult:
    """Outcome of one run: findings, notes and the number of values compared."""

    findings: list[Finding] = field(default_factory=list)
    compared: int = 0
    require_new: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def differences(self) -> list[Finding]:
        """Findings that are real differences."""
        return [f for f in self.findings if f.kind != "absent"]

    @property
    def absent(self) -> list[Finding]:
        """Items the headers do not define."""
        return [f for f in self.findings if f.kind == "absent"]

    @property
    def ok(self) -> bool:
        """No differences; no absences either when ``require_new``."""
        return not self.differences and not (self.require_new and self.absent)
