# SPDX-License-Identifier: MIT
"""`make series`: export an upstream-ready series into the results directory.

patches/ holds the kernel patches and the cover letter; the selftests live
only in kselftests/.  The export applies patches/ onto the base, adds one more
commit that puts each kselftests/*.c program under
tools/testing/selftests/net/ (Makefile, config and .gitignore entries where
the base has those files), then runs ``git format-patch`` with the cover
letter's subject and text, ``base-commit:`` and the subject prefix
``RFC PATCH net-next vN``.  Finally the exported files are applied with
``git am`` onto a fresh checkout of the base and put through the per-patch
checks of ``make ci``.  The export is the results directory itself
(results/series by default: ``git am results/series/*.patch``), the logs of
its checks in its ci/ subdirectory.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from . import build, ci, pipeline, resultsdir, source
from .errors import PipelineError
from .patchcheck import summary_table
from .settings import Settings
from .stages import Stages

REPO = Path(__file__).resolve().parent.parent
KSELFTESTS = REPO / "kselftests"
NET_SELFTESTS = Path("tools/testing/selftests/net")
DEFAULT_MESSAGE = """\
selftests: tun: add tests for virtio-net RSS and hash reporting

Create a multiqueue tap in a new network namespace, inject frames with an
AF_PACKET socket and check, for every packet read from every queue, the
queue it arrived on, the hash value and report type in its
virtio_net_hdr_v1_hash and that the payload is unchanged, for every
virtio-net hash type, IPv6 extension headers and fragments.  Also cover
each validation error of TUNSETVNETHASH and that TUNGETVNETHASHCAP leaks no
kernel memory.
"""


def subject_prefix(version: int) -> str:
    """The subject prefix of version *version* of the series."""
    return "RFC PATCH net-next" + (f" v{version}" if version > 1 else "")


def selftest_programs(kselftests: Path = KSELFTESTS) -> list[Path]:
    """The C programs of kselftests/ (one test program per .c file)."""
    return sorted(kselftests.glob("*.c"))


def insert_sorted(lines: list[str], new: list[str]) -> list[str]:
    """Add *new* lines not yet present; in sorted position when *lines* is
    sorted (as netdev's checks want), else at the end."""
    missing = [n for n in new if n not in lines]
    body = [ln for ln in lines if ln.strip()]
    if body == sorted(body):
        return sorted(set(body) | set(missing))
    return lines + missing


def add_to_makefile(text: str, progs: list[str]) -> str:
    """``TEST_GEN_PROGS += prog`` after the last TEST_GEN_PROGS line."""
    lines = text.splitlines()
    last = max((i for i, ln in enumerate(lines) if ln.startswith("TEST_GEN_PROGS")), default=None)
    if last is None:
        raise PipelineError("no TEST_GEN_PROGS in tools/testing/selftests/net/Makefile")
    extra = [f"TEST_GEN_PROGS += {p}" for p in progs if not re.search(rf"\b{p}\b", text)]
    return "\n".join(lines[:last + 1] + extra + lines[last + 1:]) + "\n"


def add_to_maintainers(text: str, anchor: str, files: list[str]) -> str:
    """``F:`` lines for *files* in the MAINTAINERS section that has ``F:`` *anchor*,
    in sorted order among that section's ``F:`` lines (checkpatch asks for
    MAINTAINERS to cover a new file)."""
    lines = text.splitlines()
    at = lines.index(f"F:\t{anchor}")
    start = at
    while start > 0 and lines[start - 1].strip():
        start -= 1
    end = at
    while end + 1 < len(lines) and lines[end + 1].strip():
        end += 1
    section = lines[start:end + 1]
    fl = [ln for ln in section if ln.startswith("F:\t")]
    new_fl = sorted(set(fl) | {f"F:\t{f}" for f in files})
    first = section.index(fl[0])
    rest = [ln for ln in section[first:] if not ln.startswith("F:\t")]
    section = section[:first] + new_fl + rest
    return "\n".join(lines[:start] + section + lines[end + 1:]) + "\n"


def add_selftests(src: Path, kselftests: Path = KSELFTESTS) -> list[str]:
    """Copy the selftests into the tree and register them; the paths changed."""
    net = src / NET_SELFTESTS
    progs = [p.stem for p in selftest_programs(kselftests)]
    if not progs:
        raise PipelineError("kselftests/ has no .c program to export")
    changed = []
    for prog in selftest_programs(kselftests):
        shutil.copyfile(prog, net / prog.name)
        changed.append(str(NET_SELFTESTS / prog.name))
    mk = net / "Makefile"
    mk.write_text(add_to_makefile(mk.read_text(), progs))
    changed.append(str(NET_SELFTESTS / "Makefile"))
    maintainers = src / "MAINTAINERS"
    text = maintainers.read_text() if maintainers.exists() else ""
    if "F:\tdrivers/net/tun.c\n" in text:
        maintainers.write_text(add_to_maintainers(
            text, "drivers/net/tun.c",
            [str(NET_SELFTESTS / p.name) for p in selftest_programs(kselftests)]))
        changed.append("MAINTAINERS")
    frag = kselftests / "config"
    if frag.exists() and (net / "config").exists():
        wanted = [ln.strip() for ln in frag.read_text().splitlines()
                  if ln.strip().startswith("CONFIG_")]
        have = (net / "config").read_text().splitlines()
        (net / "config").write_text("\n".join(insert_sorted(have, wanted)) + "\n")
        changed.append(str(NET_SELFTESTS / "config"))
    ignore = net / ".gitignore"
    if ignore.exists():  # Debian's tarball ships without the nested .gitignore files
        ignore.write_text("\n".join(insert_sorted(ignore.read_text().splitlines(), progs)) + "\n")
        changed.append(str(NET_SELFTESTS / ".gitignore"))
    return changed


def cover_letter(path: Path) -> tuple[str, str]:
    """(subject, blurb) of a format-patch cover letter."""
    text = path.read_text()
    head, _, body = text.partition("\n\n")
    m = re.search(r"^Subject: (.*(?:\n[ \t].*)*)", head, re.M)
    if not m:
        raise PipelineError(f"{path} has no Subject: header")
    subject = re.sub(r"\s*\n[ \t]+", " ", m[1])
    subject = re.sub(r"^\[[^\]]*\]\s*", "", subject)
    blurb = []
    for line in body.splitlines():
        if re.match(r"^\S.* \(\d+\):$", line) or line.startswith("base-commit:"):
            break
        blurb.append(line)
    return subject, "\n".join(blurb).strip() + "\n"


def fill_cover(path: Path, subject: str, blurb: str) -> None:
    """Put the cover letter's *subject* and *blurb* into format-patch's template at *path*."""
    text = path.read_text()
    text = text.replace("*** SUBJECT HERE ***", subject, 1)
    text = text.replace("*** BLURB HERE ***", blurb.rstrip("\n"), 1)
    path.write_text(text)


def identity() -> dict[str, str]:
    """Author and committer of the exported commits: the repository's git identity."""
    name = source.git("config", "user.name", cwd=REPO, check=False).stdout.strip() or "tunrss"
    mail = source.git("config", "user.email", cwd=REPO, check=False).stdout.strip() \
        or "tunrss@localhost"
    return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": mail,
            "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": mail}


def export(opts: Settings, st: Stages, version: int, check: bool = True) -> int:
    """Export the series into the results directory (held while it runs)
    and check it; the exit code."""
    resultsdir.claim(opts.results)
    try:
        return _export(opts, st, version, check)
    finally:
        resultsdir.release(opts.results)


def _export(opts: Settings, st: Stages, version: int, check: bool) -> int:
    base = pipeline.resolve_base(opts)
    patches = source.series(opts.patch_dir)
    cover = opts.patch_dir / source.COVER_LETTER
    out = opts.results
    work = build.Workdir(opts.cache / "work" / f"{base.commit[:12]}-series")
    work.lock()
    ident = identity()
    with st.stage("series", f"patches/ + kselftests/ onto {base.describe}"):
        source.checkout(base, work.src)
        source.apply_series(work.src, patches)
        changed = add_selftests(work.src)
        source.git("add", "--", *changed, cwd=work.src)
        msg_file = KSELFTESTS / "COMMIT_MSG"
        message = msg_file.read_text() if msg_file.exists() else DEFAULT_MESSAGE
        source.git("commit", "-q", "-s", "-m", message, cwd=work.src, env=ident)
        source.git("format-patch", "-q", "--cover-letter", f"--base={base.commit}",
                   f"--subject-prefix={subject_prefix(version)}", "-o", str(out),
                   f"{base.commit}..HEAD", cwd=work.src, env=ident)
        letter = next(out.glob("0000-cover-letter.patch"))
        if cover.exists():
            fill_cover(letter, *cover_letter(cover))
        st.say("series", f"{len(list(out.glob('*.patch')))} files in {out}")
    exported = source.series(out)
    with st.stage("series-am", "git am onto a fresh checkout of the base"):
        fresh = build.Workdir(opts.cache / "work" / f"{base.commit[:12]}-series-am")
        fresh.lock()
        source.checkout(base, fresh.src)
        source.apply_series(fresh.src, exported)
    if not check:
        return 0
    ci_work = build.Workdir(opts.cache / "work" / f"{base.commit[:12]}-ci")
    logs = opts.results / "ci"
    logs.mkdir(parents=True, exist_ok=True)
    checks = ci.per_patch(base, exported, ci_work, opts.cache, logs, opts.jobs, st)
    print(summary_table(checks))
    for c in checks:
        if c.result != "pass" and c.detail:
            print(f"\n--- {c.name}: {c.result.upper()}\n{c.detail}")
    failed = sum(c.result == "fail" for c in checks)
    print(f"series: {len(exported)} patches in {out}, {len(checks) - failed} checks passed, "
          f"{failed} failed")
    return 1 if failed else 0
