"""Runs inside the VM: the suites of a plan written by the host, in order.

Usage (inside the guest): ``python3 -m vm.guest RESULTS_DIR``.  Reads
``RESULTS_DIR/plan.json``, writes each suite's output to ``RESULTS_DIR/<suite>.log``
and a summary to ``RESULTS_DIR/guest.json``.  Before each suite, and before
each kselftest test case, it writes a marker to /dev/kmsg so a splat on the
console can be tied to the test that caused it (see vm/splat.py).  Result
lines (KTAP ``ok``/``not ok``, pytest ``PASSED``/``FAILED``...) are echoed as
they come; the host prints the final table.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from .splat import MARKER

_RUN = re.compile(r"^#\s+RUN\s+(\S+)")
_ECHO = re.compile(r"^(ok|not ok) \d+|\s(PASSED|FAILED|SKIPPED|ERROR|XFAIL|XPASS)\b|^# Totals:")


def kmsg(text: str) -> None:
    """Write one line to the kernel log (and so to the captured console)."""
    try:
        with open("/dev/kmsg", "w") as f:
            f.write(f"{text}\n")
    except OSError as e:
        print(f"guest: cannot write /dev/kmsg: {e}", file=sys.stderr)


def run_suite(suite: dict, results: Path, env: dict[str, str]) -> dict:
    name = suite["name"]
    log = results / f"{name}.log"
    kmsg(f"{MARKER}{name}")
    start = time.monotonic()
    print(f"guest: suite {name}: {' '.join(suite['argv'])}", flush=True)
    with log.open("w") as out:
        try:
            proc = subprocess.Popen(suite["argv"], cwd=suite.get("cwd"), env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, errors="replace", start_new_session=True)
        except OSError as e:
            out.write(f"cannot start: {e}\n")
            return {"name": name, "exit_code": None, "seconds": 0.0, "log": log.name,
                    "error": str(e)}
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            out.flush()
            if m := _RUN.match(line):
                kmsg(f"{MARKER}{name}/{m[1]}")
            if _ECHO.search(line):
                print(f"  {name}: {line.rstrip()}", flush=True)
        rc = proc.wait()
    seconds = round(time.monotonic() - start, 2)
    print(f"guest: suite {name}: exit {rc} in {seconds:.1f}s", flush=True)
    return {"name": name, "exit_code": rc, "seconds": seconds, "log": log.name}


def main(argv: list[str]) -> int:
    results = Path(argv[1])
    plan = json.loads((results / "plan.json").read_text())
    env = dict(os.environ, **plan.get("env", {}))
    kmsg(f"{MARKER}(guest runner started, kernel {os.uname().release})")
    done = [run_suite(s, results, env) for s in plan["suites"]]
    kmsg(f"{MARKER}(all suites finished)")
    (results / "guest.json").write_text(json.dumps({"suites": done}, indent=2) + "\n")
    # kselftest exits 4 when every test skipped; the host judges skips.
    return 0 if all(s["exit_code"] in (0, 4) for s in done) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
