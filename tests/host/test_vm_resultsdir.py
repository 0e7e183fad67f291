# SPDX-License-Identifier: MIT
"""vm/resultsdir.py and vm/locks.py: each command has its own results
directory, held with flock(2) while it runs; a second run on it waits (or
fails with a clear message), and resetting one never deletes another run's."""
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vm import locks, resultsdir
from vm.errors import ResultsBusy

HOLD = """
import sys, time
from pathlib import Path
from vm import resultsdir
d = Path(sys.argv[1])
resultsdir.claim(d)
(d / "mine.txt").write_text("x")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def hold(directory: Path, seconds: float = 30.0) -> subprocess.Popen:
    """Another process that claims *directory* and keeps it."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(directory), str(seconds)],
                            cwd=resultsdir.REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_vm_test_and_bench_do_not_share_a_directory_nor_a_lock(tmp_path: Path) -> None:
    vm_test, bench = resultsdir.default_for("vm-test"), resultsdir.default_for("bench")
    assert vm_test != bench and vm_test.parent == bench.parent == resultsdir.ROOT
    assert locks.lock_file(vm_test) != locks.lock_file(bench)
    # Both held at once, by two processes, in one clone:
    a, b = tmp_path / "results" / "vm-test", tmp_path / "results" / "bench"
    pa, pb = hold(a), hold(b)
    try:
        assert locks.is_held(a) and locks.is_held(b)
        assert (a / "mine.txt").exists() and (b / "mine.txt").exists()
    finally:
        pa.kill(), pb.kill()
        pa.wait(), pb.wait()


def test_a_second_run_on_the_same_directory_fails_clearly(tmp_path: Path) -> None:
    d = tmp_path / "results" / "vm-test"
    proc = hold(d)
    try:
        with pytest.raises(ResultsBusy, match=r"in use by pid \d+.*RESULTS="):
            resultsdir.claim(d, wait=False)
        assert (d / "mine.txt").exists(), "the holder's files are left alone"
    finally:
        proc.kill()
        proc.wait()


def test_a_second_run_waits_and_says_for_whom(tmp_path: Path) -> None:
    d = tmp_path / "r"
    proc = hold(d, seconds=1.0)
    said: list[str] = []
    start = time.monotonic()
    try:
        resultsdir.claim(d, say=said.append)
        assert time.monotonic() - start > 0.3
        assert said and f"pid {proc.pid}" in said[0] and "results directory" in said[0]
        assert not (d / "mine.txt").exists(), "emptied for the new run once it is free"
    finally:
        resultsdir.release(d)
        proc.wait()


def test_resetting_a_parent_spares_a_held_subdirectory(tmp_path: Path) -> None:
    """RESULTS=results beside a running make bench: results/bench survives."""
    root = tmp_path / "results"
    (root / "old").mkdir(parents=True)
    (root / "old" / "f").write_text("stale")
    (root / "stale.json").write_text("{}")
    proc = hold(root / "bench")
    try:
        resultsdir.claim(root)
        assert sorted(p.name for p in root.iterdir()) == [".lock", "bench"]
        assert (root / "bench" / "mine.txt").exists()
    finally:
        resultsdir.release(root)
        proc.kill()
        proc.wait()


def test_claim_is_once_per_process_and_release_frees(tmp_path: Path) -> None:
    d = tmp_path / "r"
    resultsdir.claim(d)
    (d / "keep").write_text("x")
    resultsdir.claim(d)  # again in this process: no deadlock
    resultsdir.release(d)
    resultsdir.release(d)  # twice is harmless
    assert not locks.is_held(d)
