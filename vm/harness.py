# SPDX-License-Identifier: MIT
"""A kselftest_harness program, as the guest runner sees it: its cases
(``-l``) and its own count of them (the ``1..N`` plan of a whole run).

tools/testing/selftests/kselftest_harness.h: test_harness_list_tests()
prints the listing, test_harness_run() counts every (fixture, variant,
test) and prints ``1..N`` (ksft_set_plan()) before the first case.  The
guest runs the cases one at a time, so a case the listing parser misses
would silently not run: :func:`harness_plan` reads N from the program
itself, and vm/guest.py fails the suite when the two counts differ.
Imported in the guest: the standard library only.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import threading

__all__ = ["ListingError", "harness_cases", "harness_plan", "PLAN_ISOLATION"]

# kselftest_harness.h, test_harness_list_tests(): "%-20s %-25s %s\n" rows of
# fixture, variant and test; the fixture name only on a block's first row.
_FIXTURE_W, _VARIANT_W = 20, 25
_NAME = re.compile(r"^[A-Za-z0-9_]+$")   # C identifiers: FIXTURE(), FIXTURE_VARIANT(), TEST_F()
_PLAN = re.compile(r"^1\.\.(\d+)\s*$")
# The plan is read from a whole run, killed as soon as it printed 1..N.  The
# first case may have started by then, in a child that setpgrp()s
# (__run_test()): the run gets a PID namespace, whose processes all die with
# its first one (--kill-child), and a network namespace, which takes the
# links the case made with it.
PLAN_ISOLATION = ["unshare", "--net", "--pid", "--fork", "--kill-child", "--"]


class ListingError(ValueError):
    """The ``-l`` listing has a row the parser cannot place."""


def _field(row: str, width: int) -> tuple[str, str]:
    """Split a printf("%-{width}s ") field off *row*: (value, rest)."""
    head = row[:width]
    if head.strip() == "":
        return "", row[width + 1:]
    value = row.split(" ", 1)[0]
    return value, row[max(width, len(value)) + 1:]


def harness_cases(listing: str) -> list[str]:
    """Full test names ("fixture.variant.test", or "fixture.test") from the
    output of a kselftest_harness program run with -l, in run order.

    A KTAP stream (e.g. "1..0 # SKIP" of a program that skips as a whole)
    or an empty output gives []; a row that is not a fixture, variant and
    test of C names, or a listing without a single test, raises
    :class:`ListingError`.
    """
    blocks: list[tuple[str, list[str], list[str]]] = []
    for row in listing.splitlines():
        if row.startswith(("# FIXTURE", "----")) or not row.strip():
            continue
        if row.startswith(("TAP version", "1..", "ok ", "not ok ")):
            return []
        fixture, rest = _field(row, _FIXTURE_W)
        variant, rest = _field(rest, _VARIANT_W)
        test = rest.strip()
        bad = [n for n in (fixture, variant, test) if n and not _NAME.match(n)]
        if bad or (not fixture and not blocks):
            raise ListingError(f"-l row not understood: {row!r}")
        if fixture:
            blocks.append((fixture, [], []))
        if variant:
            blocks[-1][1].append(variant)
        if test:
            blocks[-1][2].append(test)
    cases = [f"{f}.{v}.{t}" if v else f"{f}.{t}"
             for f, variants, tests in blocks for v in (variants or [""]) for t in tests]
    if blocks and not cases:
        raise ListingError(f"-l listed {len(blocks)} fixture(s) and no test")
    return cases


def harness_plan(argv: list[str], cwd: str | None, env: dict[str, str],
                 timeout: float = 60.0) -> int | None:
    """N of the ``1..N`` line that *argv* (a kselftest_harness program run
    whole, stdout line buffered) prints first; the run is killed right
    after it.  None when it exits or *timeout* passes without one."""
    proc = subprocess.Popen([*PLAN_ISOLATION, *argv], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            errors="replace", start_new_session=True)

    def kill() -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, kill)
    timer.start()
    found = None
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if m := _PLAN.match(line):
                found = int(m[1])
                break
    finally:
        timer.cancel()
        kill()
        proc.wait()
        if proc.stdout:
            proc.stdout.close()
    return found
