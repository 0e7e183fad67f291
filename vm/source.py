# SPDX-License-Identifier: MIT
"""The kernel source: a named, pinned base plus the series in patches/.

A named base (``BASE=mainline|6.12``, vm/bases.py) is a Debian
``linux-source-X.Y`` package: its tarball is extracted once into the cache
and committed as a single git commit with fixed metadata, so its commit id is
the same on every machine.  ``KERNEL_DIR`` names a user's kernel git tree
instead; it is only read: the harness clones it with ``--shared`` into the
cache and checks out ``KERNEL_BASE`` (default HEAD).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import bases
from .errors import PatchError, SetupError

DEFAULT_BASE = "mainline"
# Fixed identity and dates make the base commit id reproducible.
_BASE_ENV = {
    "GIT_AUTHOR_NAME": "base", "GIT_AUTHOR_EMAIL": "base@localhost",
    "GIT_COMMITTER_NAME": "base", "GIT_COMMITTER_EMAIL": "base@localhost",
    "GIT_AUTHOR_DATE": "2025-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2025-01-01T00:00:00Z",
}
# The tarball's .gitignore ends with a Debian stanza that ignores every
# top-level entry; it would hide the whole tree from git.
_DEBIAN_STANZA = "#\n# Debian packaging"
_DONE = "tunrss-base-done"
COVER_LETTER = "0000-cover-letter.patch"


@dataclass(frozen=True)
class Base:
    repo: Path  # a git repository holding the base commit
    commit: str  # full commit id
    describe: str  # human-readable origin
    name: str = ""  # the BASE name, "" for KERNEL_DIR
    package: str = ""  # the Debian package and version built ...
    version: str = ""
    pinned: str = ""  # ... and the version vm/bases.pin asked for

    def record(self) -> dict[str, str]:
        """What results.json and kcidb.json say about the base."""
        return {"base": self.describe, "commit": self.commit, "base_name": self.name,
                "package": self.package, "version": self.version, "pinned_version": self.pinned}


def git(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run git, capturing output; raise SetupError with git's words on failure."""
    full_env = dict(os.environ, **(env or {}))
    proc = subprocess.run(["git", *args], cwd=cwd, env=full_env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if check and proc.returncode:
        raise SetupError(f"git {' '.join(args)} failed in {cwd}:\n{proc.stdout.strip()}")
    return proc


def debian_src_dir(cache: Path, package: str, version: str) -> Path:
    """Where :func:`debian_base` extracts a Debian source package under *cache*."""
    return cache / "src" / f"{package}_{version}"


def _extract_deb(deb: Path, dest: Path) -> Path:
    """The kernel tarball inside a linux-source .deb, unpacked under *dest*;
    returns the tree's top directory."""
    listing = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], check=True,
                             stdout=subprocess.PIPE).stdout
    names = subprocess.run(["tar", "-t"], input=listing, check=True,
                           stdout=subprocess.PIPE).stdout.decode().split()
    inner = [n for n in names if re.fullmatch(r"\./usr/src/linux-source-[\d.]+\.tar\.(xz|bz2)", n)]
    if len(inner) != 1:
        raise SetupError(f"{deb}: expected one usr/src/linux-source-*.tar.* inside, found {inner}")
    tarball = subprocess.run(["tar", "-xO", inner[0]], input=listing, check=True,
                             stdout=subprocess.PIPE).stdout
    flag = "-J" if inner[0].endswith(".xz") else "-j"
    subprocess.run(["tar", "-x", flag, "-C", str(dest)], input=tarball, check=True)
    (top,) = dest.iterdir()
    return top


def debian_base(cache: Path, name: str = DEFAULT_BASE,
                say: Callable[[str], None] = print) -> Base:
    """Base *name* of vm/bases.pin as a git repository under *cache*, made on
    first use; the download goes through vm/bases.py's private apt."""
    def have(package: str, version: str) -> bool:
        return (debian_src_dir(cache, package, version) / ".git" / _DONE).exists()

    chosen, deb = bases.resolve(name, cache, have, say)
    repo = debian_src_dir(cache, chosen.package, chosen.version)
    if deb is not None:
        repo.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=repo.parent) as tmp:
            top = _extract_deb(deb, Path(tmp))
            gitignore = top / ".gitignore"
            text = gitignore.read_text()
            if _DEBIAN_STANZA in text:
                gitignore.write_text(text[:text.index(_DEBIAN_STANZA)].rstrip("\n") + "\n")
            git("init", "-q", "-b", "base", cwd=top)
            # No automatic repack of the 80k fresh loose objects: it would
            # compete with the kernel build for minutes; clones use --shared.
            git("config", "gc.auto", "0", cwd=top)
            git("add", "-A", cwd=top)
            git("commit", "-q", "-m", f"Linux {chosen.version} from Debian {chosen.package}",
                cwd=top, env=_BASE_ENV)
            (top / ".git" / _DONE).touch()
            if repo.exists():
                shutil.rmtree(repo)
            top.rename(repo)
    commit = git("rev-parse", "HEAD", cwd=repo).stdout.strip()
    return Base(repo, commit, f"Debian {chosen.package} {chosen.version}", name,
                chosen.package, chosen.version, chosen.pin.version)


def pinned_src_dir(cache: Path, name: str = DEFAULT_BASE) -> Path:
    """Where the pinned version of base *name* is (or will be) extracted."""
    pin = bases.read_pins()[name]
    return debian_src_dir(cache, pin.package, pin.version)


def resolve_base(cache: Path, name: str, kernel_dir: Path | None, kernel_rev: str = "HEAD",
                 say: Callable[[str], None] = print) -> Base:
    """KERNEL_DIR at KERNEL_BASE when given, else the named Debian base."""
    if kernel_dir is not None:
        return user_base(kernel_dir, kernel_rev)
    return debian_base(cache, name, say)


def user_base(kernel_dir: Path, rev: str = "HEAD") -> Base:
    """The user's tree at *rev*; nothing in *kernel_dir* is written."""
    if not (kernel_dir / "Makefile").exists():
        raise SetupError(f"KERNEL_DIR={kernel_dir} does not look like a kernel tree")
    proc = git("rev-parse", "--verify", f"{rev}^{{commit}}", cwd=kernel_dir, check=False)
    if proc.returncode:
        raise SetupError(f"KERNEL_BASE={rev} is not a commit in {kernel_dir}: {proc.stdout.strip()}")
    commit = proc.stdout.strip()
    return Base(kernel_dir, commit, f"{kernel_dir} at {rev} ({commit[:12]})")


def series(patch_dir: Path) -> list[Path]:
    """The patches to apply, in order, without the cover letter."""
    return sorted(p for p in patch_dir.glob("*.patch") if p.name != COVER_LETTER)


def checkout(base: Base, src: Path) -> None:
    """Make *src* a clone of the base repository with the base commit checked
    out and nothing else in it.  Files equal to the last checkout keep their
    timestamps, so an incremental build recompiles only what changed."""
    if not (src / ".git").exists():
        src.parent.mkdir(parents=True, exist_ok=True)
        git("clone", "-q", "--shared", "--no-checkout", str(base.repo), str(src))
        git("config", "gc.auto", "0", cwd=src)
    elif git("cat-file", "-e", base.commit, cwd=src, check=False).returncode:
        git("fetch", "-q", str(base.repo), base.commit, cwd=src)
    git("am", "--abort", cwd=src, check=False)
    git("checkout", "-q", "-f", "--detach", base.commit, cwd=src)
    git("clean", "-q", "-fdx", cwd=src)


_AM_ENV = {
    "GIT_COMMITTER_NAME": "tunrss", "GIT_COMMITTER_EMAIL": "tunrss@localhost",
    "GIT_COMMITTER_DATE": "2025-01-01T00:00:00Z",
}


def apply_series(src: Path, patches: list[Path]) -> None:
    """``git am`` each patch in turn; the first that fails raises PatchError
    naming the patch file and the hunk that did not apply."""
    for patch in patches:
        proc = git("am", "-q", "--no-3way", str(patch), cwd=src, env=_AM_ENV, check=False)
        if proc.returncode:
            git("am", "--abort", cwd=src, check=False)
            # git's own hints (and its per-call patch numbering) only confuse here
            detail = "\n".join(ln for ln in proc.stdout.splitlines()
                               if ln.startswith(("error:", "fatal:", "warning:")))
            raise PatchError(f"{patch.parent.name}/{patch.name}", detail or proc.stdout.strip(),
                             failed_hunk(patch, proc.stdout))


_FAILED_AT = re.compile(r"error: patch failed: (?P<path>\S+):(?P<line>\d+)")


def failed_hunk(patch: Path, git_output: str) -> str:
    """'path: @@ -a,b +c,d @@ ...' for the hunk git reported, or 'path:line'."""
    m = _FAILED_AT.search(git_output)
    if not m:
        return ""
    path, line = m["path"], int(m["line"])
    current = None
    for text in patch.read_text(errors="replace").splitlines():
        if text.startswith("--- a/"):
            current = text[len("--- a/"):]
        elif text.startswith("@@ ") and current == path:
            hm = re.match(r"@@ -(\d+)", text)
            if hm and int(hm[1]) == line:
                return f"{path}: {text}"
    return f"{path}:{line}"
