# SPDX-License-Identifier: MIT
"""The per-patch checks of `make ci` and `make series`: what a patch touches,
compiler and sparse diagnostics compared before and after it, and
``checkpatch.pl --strict --codespell`` (the types it may ignore are listed,
each with its reason, in vm/checkpatch-ignore)."""
from __future__ import annotations

import os
import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

CHECKPATCH_IGNORE = Path(__file__).resolve().parent / "checkpatch-ignore"
CODESPELL_DICT = Path("/usr/lib/python3/dist-packages/codespell_lib/data/dictionary.txt")
# gcc/sparse diagnostics: path:line:col: warning|error: message
_DIAG = re.compile(r"^(?P<path>[^\s:]+\.[ch]):\d+:\d+: (?P<kind>warning|error): (?P<msg>.*)$")
_CHECKPATCH_TOTAL = re.compile(r"total: (\d+) errors, (\d+) warnings, (?:(\d+) checks, )?")


@dataclass
class Check:
    """One check of make ci: its name, result and where to look."""

    name: str
    result: str  # pass | fail | skip
    seconds: float = 0.0
    log: str = ""
    detail: str = ""


def first_lines(text: str, n: int) -> str:
    """The first *n* lines of *text*."""
    return "\n".join(text.splitlines()[:n])


def touched_files(patch: Path) -> list[str]:
    """Paths a format-patch file changes (the b/ side; deleted files excluded)."""
    files = []
    for line in patch.read_text(errors="replace").splitlines():
        if line.startswith("+++ b/"):
            files.append(line[len("+++ b/"):])
    return files


def diagnostics(text: str, under: str = "") -> Counter[str]:
    """Warnings and errors of a build log, without line numbers, so that a
    warning that only moved is not new.  Paths are made relative to *under*."""
    found: Counter[str] = Counter()
    for line in text.splitlines():
        m = _DIAG.match(line.strip())
        if m:
            path = m["path"]
            if under and under in path:
                path = path.split(under, 1)[1].lstrip("/")
            path = re.sub(r"^(\.\./)+src/", "", path)
            found[f"{path}: {m['kind']}: {m['msg']}"] += 1
    return found


def new_diagnostics(before: Counter[str], after: Counter[str]) -> list[str]:
    """The diagnostics of *after* that *before* did not have (moved ones are not new)."""
    return sorted((after - before).elements())


def checkpatch_ignores(path: Path = CHECKPATCH_IGNORE) -> list[str]:
    """Types from vm/checkpatch-ignore: one per line, '# reason' after it."""
    types = []
    for line in path.read_text().splitlines() if path.exists() else []:
        word = line.split("#", 1)[0].strip()
        if word:
            types.append(word)
    return types


def checkpatch_verdict(output: str) -> tuple[bool, str]:
    """(clean, 'E errors, W warnings, C checks') from checkpatch's total line."""
    m = _CHECKPATCH_TOTAL.search(output)
    if not m:
        return False, "checkpatch printed no total line"
    errors, warnings, checks = int(m[1]), int(m[2]), int(m[3] or 0)
    return errors + warnings + checks == 0, f"{errors} errors, {warnings} warnings, {checks} checks"


def checkpatch_env() -> dict[str, str]:
    """checkpatch runs scripts/spdxcheck.py through ``/usr/bin/env python3``:
    Debian's python3 first on PATH, the one that sees python3-ply and
    python3-git (vm/setup.sh), not a pyenv or venv python that lacks them."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join(["/usr/bin", *env.get("PATH", "").split(os.pathsep)])
    return env


def run_checkpatch(src: Path, patch: Path, log: Path) -> Check:
    """checkpatch.pl --strict --codespell on *patch*, output in *log*; its Check."""
    cmd = [str(src / "scripts" / "checkpatch.pl"), "--strict", "--codespell",
           f"--codespellfile={CODESPELL_DICT}", "--max-line-length=80",
           "--showfile", "--color=never"]
    ignores = checkpatch_ignores()
    if ignores:
        cmd.append(f"--ignore={','.join(ignores)}")
    proc = subprocess.run([*cmd, str(patch)], cwd=src, text=True, capture_output=True,
                          env=checkpatch_env())
    out = proc.stdout + proc.stderr
    log.write_text(out)
    ok, summary = checkpatch_verdict(out)
    if "Traceback (most recent call last)" in out:
        # a helper of checkpatch (scripts/spdxcheck.py) crashed: its check did not run
        ok, summary = False, summary + "; a checkpatch helper crashed (python3-ply, " \
            "python3-git missing? make setup installs them)"
    return Check(f"checkpatch {patch.name}", "pass" if ok else "fail", log=str(log),
                 detail=summary if ok else summary + "\n" + first_lines(out, 30))


def summary_table(checks: list[Check]) -> str:
    """The checks as a table: name, result, seconds."""
    width = max([len(c.name) for c in checks] + [5])
    rows = [f"{'check':<{width}}  result  seconds", f"{'-' * width}  ------  -------"]
    for c in checks:
        rows.append(f"{c.name:<{width}}  {c.result.upper():<6}  {c.seconds:7.1f}")
    return "\n".join(rows)
