# SPDX-License-Identifier: MIT
"""The C readers of the datapath benchmark (bench/reader.c, issue 14 item 2):
one process per tap queue, each a loop of read(2) that keeps up with the
offered load, where the Python readers dropped up to half of the frames.

``build()`` compiles bench/reader.c with the machine's gcc into a
directory the caller owns (a fresh temporary one per benchmark: nothing
compiled is ever reused, so nothing can be stale).  ``Readers`` starts one
reader per queue fd and, on ``stop()``, collects what each read.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Optional

__all__ = ["SOURCE", "Readers", "build"]

SOURCE = Path(__file__).with_name("reader.c")
CFLAGS = ("-O2", "-Wall", "-Wextra", "-Werror")


def build(out_dir: Path, cc: str = "gcc") -> Path:
    """Compile bench/reader.c to OUT_DIR/reader; RuntimeError with the
    compiler's output if it fails."""
    exe = out_dir / "reader"
    proc = subprocess.run([cc, *CFLAGS, "-o", str(exe), str(SOURCE)],
                          capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"{cc} {SOURCE.name} exited {proc.returncode}: "
                           f"{(proc.stderr or proc.stdout).strip()}")
    return exe


class Readers:
    """One bench/reader.c process per fd of *fds* (inherited), all on *cpu*
    if given; ``stop()`` ends them once their queues are empty and returns,
    per queue, (frames read, CPU seconds, hash_report of the first frame)."""

    def __init__(self, exe: Path, fds: list[int], cpu: Optional[int] = None) -> None:
        stop_r, self._stop_w = os.pipe()
        self._procs: list[subprocess.Popen] = []
        try:
            for fd in fds:
                cmd = [str(exe), str(fd), str(stop_r)] + ([] if cpu is None else [str(cpu)])
                self._procs.append(subprocess.Popen(cmd, pass_fds=(fd, stop_r),
                                                    stdout=subprocess.PIPE, text=True))
        except BaseException:
            self._kill()
            raise
        finally:
            os.close(stop_r)

    def stop(self, timeout: float = 60.0) -> list[tuple[int, float, int]]:
        """Close the stop pipe; each reader drains its queue, prints its
        line and exits.  RuntimeError if one fails or prints no line."""
        if self._stop_w >= 0:
            os.close(self._stop_w)
            self._stop_w = -1
        out = []
        for i, p in enumerate(self._procs):
            text, _ = p.communicate(timeout=timeout)
            fields = text.split()
            if p.returncode or len(fields) != 3:
                raise RuntimeError(f"reader of queue {i} exited {p.returncode}, printed {text!r}")
            out.append((int(fields[0]), float(fields[1]), int(fields[2])))
        return out

    def _kill(self) -> None:
        if self._stop_w >= 0:
            os.close(self._stop_w)
            self._stop_w = -1
        for p in self._procs:
            if p.poll() is None:
                p.kill()
            p.wait()
            if p.stdout:
                p.stdout.close()

    def __enter__(self) -> "Readers":
        return self

    def __exit__(self, *exc: object) -> None:
        self._kill()
