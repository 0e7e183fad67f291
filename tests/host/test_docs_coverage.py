# SPDX-License-Identifier: MIT
"""docs/coverage.md names tests that exist.

Every ``tests/...py::test`` of the table must be a test function of that
file, and every C case (``fixture.test``, ``hash.*.test``) a TEST_F of
kselftests/tun_vnet_hash.c, so that a renamed or removed test does not
leave a behaviour marked as checked.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "coverage.md").read_text()
C = (ROOT / "kselftests" / "tun_vnet_hash.c").read_text()


def py_refs(text: str) -> set[tuple[str, str]]:
    """(file, test) pairs; a file is named by its path or its base name, and
    ``::name`` alone continues the previous file of its table cell."""
    refs = set()
    for line in text.splitlines():
        for cell in line.split("|"):
            last = None
            for m in re.finditer(r"`(?:tests/[\w/]+/)?(test_\w+\.py)?::(\w+)`", cell):
                last = m[1] or last
                if last:
                    refs.add((last, m[2]))
    return refs


def find(base: str) -> Path:
    """The one file of tests/ called ``base``."""
    [path] = [p for p in (ROOT / "tests").rglob(base) if "host" not in p.parts]
    return path


def c_refs(text: str) -> set[tuple[str, str]]:
    return {(f, t) for f, t in re.findall(r"`(tap|hash|invalid)(?:\.\*)?\.(\w+)`", text)}


def test_python_tests_named_exist() -> None:
    refs = py_refs(DOC)
    assert len(refs) > 20
    missing = [f"{f}::{t}" for f, t in sorted(refs)
               if not re.search(rf"^def {t}\(", find(f).read_text(), re.M)]
    assert missing == []


def test_c_cases_named_exist() -> None:
    refs = c_refs(DOC)
    assert len(refs) > 15
    missing = [f"{f}.{t}" for f, t in sorted(refs)
               if not re.search(rf"^TEST_F\({f}, {t}\)", C, re.M)]
    assert missing == []


def test_the_check_fails_on_a_renamed_test() -> None:
    bad = DOC + "\n| x | y | `tests/vm/test_tap_hash.py::test_no_such_thing`, `invalid.no_such` |\n"
    assert ("test_tap_hash.py", "test_no_such_thing") in py_refs(bad)
    assert ("invalid", "no_such") in c_refs(bad)
    assert not re.search(r"^def test_no_such_thing\(",
                         (ROOT / "tests/vm/test_tap_hash.py").read_text(), re.M)
