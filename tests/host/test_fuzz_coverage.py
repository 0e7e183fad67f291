# SPDX-License-Identifier: MIT
"""tests/robustness/test_ioctl_fuzz.py coverage_gaps(): the fuzzer's closing check can fail.

It replaced ``assert fz.done >= calls``, true whenever the loop ended.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1] / "robustness"))
import test_ioctl_fuzz as F  # noqa: E402


def full() -> tuple[dict[str, Counter[str]], dict[str, Counter[str]]]:
    by_class = {c: Counter({"0": 3, "EINVAL": 2}) for c in F.MUTATION_CLASSES}
    by_class["TUNSETSTEERINGEBPF attach"] = Counter({"EBUSY": 1})
    by_row = {"(none: must succeed)": Counter({"0": 5}), "pad not zero": Counter({"EINVAL": 4}),
              "bad user pointer in the table": Counter({"EFAULT": 1}),
              "size above a page": Counter({"E2BIG": 2}),
              "valid argument, fd without device": Counter({"EBADFD": 3})}
    return by_class, by_row


def test_a_covered_run_has_no_gap() -> None:
    by_class, by_row = full()
    assert F.coverage_gaps(by_class, by_row, 100, 50) == []


def test_each_missing_piece_is_a_gap() -> None:
    by_class, by_row = full()
    del by_class["cut short at the guard page"]
    assert F.coverage_gaps(by_class, by_row, 100, 50) == \
        ["mutation class 'cut short at the guard page' never tried"]
    by_class, by_row = full()
    del by_row["bad user pointer in the table"]
    assert F.coverage_gaps(by_class, by_row, 100, 50) == ["TUNSETVNETHASH never answered EFAULT"]
    by_class, by_row = full()
    del by_row["size above a page"]
    assert F.coverage_gaps(by_class, by_row, 100, 50) == ["TUNSETVNETHASH never answered E2BIG"]
    by_class, by_row = full()
    del by_row["valid argument, fd without device"]
    assert F.coverage_gaps(by_class, by_row, 100, 50) == ["TUNSETVNETHASH never answered EBADFD"]
    by_class, by_row = full()
    del by_class["size > 56, non-zero tail"]
    assert F.coverage_gaps(by_class, by_row, 100, 50) == \
        ["mutation class 'size > 56, non-zero tail' never tried"]
    by_class, by_row = full()
    del by_class["TUNSETSTEERINGEBPF attach"]
    assert F.coverage_gaps(by_class, by_row, 100, 50) == ["no call answered EBUSY"]
    by_class, by_row = full()
    assert len(F.coverage_gaps(by_class, by_row, 0, 0)) == 2
    assert len(F.coverage_gaps({}, {}, 0, 0)) > len(F.MUTATION_CLASSES)


def test_a_tap_run_needs_enolink_instead_of_ebadfd() -> None:
    """/dev/tapN (macvtap, ipvtap): a file whose link was deleted answers ENOLINK."""
    by_class, by_row = full()
    assert F.coverage_gaps(by_class, by_row, 100, 50, "ENOLINK") == \
        ["TUNSETVNETHASH never answered ENOLINK"]
    by_row["valid argument, fd without device"] = Counter({"ENOLINK": 3})
    assert F.coverage_gaps(by_class, by_row, 100, 50, "ENOLINK") == []
