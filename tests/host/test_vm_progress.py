# SPDX-License-Identifier: MIT
"""vm/progress.py: build progress from Kbuild's output lines."""
import io
from pathlib import Path

from vm import build, progress

LINES = """\
  SYNC    include/config/auto.conf
  HOSTCC  scripts/basic/fixdep
  CC      init/main.o
  AS      arch/x86/entry/entry_64.o
  CC [M]  drivers/net/tun.o
  AR      init/built-in.a
  LD      vmlinux.o
  CC      kernel/fork.o
../src/kernel/fork.c:12:3: warning: unused variable 'x' [-Wunused-variable]
"""


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_only_compiled_objects_count() -> None:
    objects = [ln for ln in LINES.splitlines() if progress.is_object_line(ln)]
    assert objects == ["  CC      init/main.o", "  AS      arch/x86/entry/entry_64.o",
                       "  CC [M]  drivers/net/tun.o", "  CC      kernel/fork.o"]


def test_status_counts_elapsed_and_eta() -> None:
    clock = Clock()
    p = progress.BuildProgress(100, lambda s: None, stream=io.StringIO(), tty=False,
                               clock=clock)
    for _ in range(25):
        p.feed("  CC      a/b.o\n")
    clock.now = 60.0
    assert p.status() == "25/100 objects (25%), 1m00s elapsed, ETA 3m00s"
    p.done = 130  # more than expected: no ETA, no nonsense percentage
    assert p.status() == "130 objects, 1m00s elapsed"


def test_without_a_terminal_a_plain_line_every_interval() -> None:
    clock, said = Clock(), []
    p = progress.BuildProgress(10, said.append, stream=io.StringIO(), tty=False,
                               interval=30, clock=clock)
    for t in (1, 10, 29, 31, 40, 62):
        clock.now = t
        p.feed("  CC      x.o")
    assert said == ["4/10 objects (40%), 31s elapsed, ETA 46s",
                    "6/10 objects (60%), 1m02s elapsed, ETA 41s"]


def test_on_a_terminal_one_line_rewritten_in_place() -> None:
    clock, out, said = Clock(), io.StringIO(), []
    p = progress.BuildProgress(4, said.append, stream=out, tty=True, clock=clock)
    for t in (1, 2, 3):
        clock.now = t
        p.feed("  CC      x.o")
    p.finish()
    text = out.getvalue()
    assert text.count("\r") >= 3 and "\n" not in text
    assert "build: 3/4 objects (75%)" in text and "ETA" in text
    assert said == ["3 objects compiled (cold build)"]


def test_expected_count_is_the_last_build_of_the_same_kind(tmp_path: Path) -> None:
    work = build.Workdir(tmp_path / "w")
    work.root.mkdir()
    cold = progress.BuildProgress.for_workdir(work, lambda s: None)
    assert (cold.kind, cold.expected) == ("cold", progress.COLD_ESTIMATE)
    cold.done = 1234
    cold.finish(work)
    assert progress.BuildProgress.for_workdir(work, lambda s: None).expected == 1234
    (work.build).mkdir()
    (work.build / "vmlinux").write_text("")
    inc = progress.BuildProgress.for_workdir(work, lambda s: None)
    assert (inc.kind, inc.expected) == ("incremental", None)  # none stored yet: no ETA
    inc.done = 7
    inc.finish(work)
    assert progress.stored_counts(work) == {"cold": 1234, "incremental": 7}


def test_run_logged_hands_every_line_to_the_meter(tmp_path: Path) -> None:
    seen: list[str] = []
    build.run_logged(["printf", "  CC      a.o\\n  LD      b\\n"], tmp_path / "log",
                     on_line=seen.append)
    assert seen == ["  CC      a.o\n", "  LD      b\n"]
