# SPDX-License-Identifier: MIT
"""Where the datapath benchmark's time goes: one more run of a mode under
``perf record -a -e cpu-clock`` (software clock sampling: TCG has no PMU),
and the symbols above 0.5% of the samples (bench/datapath.py)."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable

__all__ = ["profile"]

_PERF_ROW = re.compile(r"^\s*([\d.]+)%\s+\[([k.])\]\s+(\S+)")


def profile(mode: str, run: Callable[[], float], out_dir: Path) -> dict:
    """Call *run* (one run of *mode*, returning its delivered pps) under
    perf record; perf's report goes to OUT_DIR/perf-MODE.txt.  {} when
    perf is missing."""
    perf = shutil.which("perf")
    if not perf:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "perf.data"
        rec = subprocess.Popen([perf, "record", "-a", "-e", "cpu-clock", "-F", "499",
                                "-o", str(data)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        try:
            time.sleep(1)
            pps = run()
        finally:
            rec.send_signal(signal.SIGINT)
            rec.wait(timeout=120)
        rep = subprocess.run([perf, "report", "-i", str(data), "--stdio", "--sort", "sym",
                              "--percent-limit", "0.5"], capture_output=True, text=True,
                             timeout=300)
    name = mode.replace("+", "-")
    (out_dir / f"perf-{name}.txt").write_text(rep.stdout + rep.stderr)
    top = [{"percent": float(m[1]), "kernel": m[2] == "k", "symbol": m[3]}
           for m in map(_PERF_ROW.match, rep.stdout.splitlines()) if m]
    return {"pps": round(pps), "report": f"perf-{name}.txt", "top": top[:30]}
