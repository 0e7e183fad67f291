"""The kernel source: a pinned base plus the series in patches/.

The default base is Debian's ``linux-source-6.12`` tarball, extracted once
into the cache and committed as a single git commit with fixed metadata, so
its commit id is the same on every machine.  ``KERNEL_DIR`` names a user's
kernel git tree instead; it is only read: the harness clones it with
``--shared`` into the cache and checks out ``KERNEL_BASE`` (default HEAD).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import PatchError, SetupError

DEBIAN_PACKAGE = "linux-source-6.12"
DEBIAN_VERSION = "6.12.117-1~deb12u1"
DEBIAN_TARBALL = Path("/usr/src/linux-source-6.12.tar.xz")
# Fixed identity and dates make the base commit id reproducible.
_BASE_ENV = {
    "GIT_AUTHOR_NAME": "base", "GIT_AUTHOR_EMAIL": "base@localhost",
    "GIT_COMMITTER_NAME": "base", "GIT_COMMITTER_EMAIL": "base@localhost",
    "GIT_AUTHOR_DATE": "2025-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2025-01-01T00:00:00Z",
}
# The tarball's .gitignore ends with a Debian stanza that ignores every
# top-level entry; it would hide the whole tree from git.
_DEBIAN_STANZA = "#\n# Debian packaging"
COVER_LETTER = "0000-cover-letter.patch"


@dataclass(frozen=True)
class Base:
    repo: Path  # a git repository holding the base commit
    commit: str  # full commit id
    describe: str  # human-readable origin


def git(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run git, capturing output; raise SetupError with git's words on failure."""
    full_env = dict(os.environ, **(env or {}))
    proc = subprocess.run(["git", *args], cwd=cwd, env=full_env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if check and proc.returncode:
        raise SetupError(f"git {' '.join(args)} failed in {cwd}:\n{proc.stdout.strip()}")
    return proc


def debian_src_dir(cache: Path) -> Path:
    """Where :func:`debian_base` extracts the Debian tarball under *cache*."""
    return cache / "src" / f"{DEBIAN_PACKAGE}_{DEBIAN_VERSION}"


def debian_base(cache: Path, tarball: Path = DEBIAN_TARBALL) -> Base:
    """The Debian tarball as a git repository under *cache*, made on first use."""
    repo = debian_src_dir(cache)
    if not (repo / ".git" / "tunrss-base-done").exists():
        if not tarball.exists():
            raise SetupError(f"{tarball} is missing: install it with "
                             f"'apt-get install {DEBIAN_PACKAGE}={DEBIAN_VERSION}' "
                             "(make setup does this as root)")
        repo.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=repo.parent) as tmp:
            subprocess.run(["tar", "-xJf", str(tarball), "-C", tmp], check=True)
            (top,) = Path(tmp).iterdir()
            gitignore = top / ".gitignore"
            text = gitignore.read_text()
            if _DEBIAN_STANZA in text:
                gitignore.write_text(text[:text.index(_DEBIAN_STANZA)].rstrip("\n") + "\n")
            git("init", "-q", "-b", "base", cwd=top)
            # No automatic repack of the 80k fresh loose objects: it would
            # compete with the kernel build for minutes; clones use --shared.
            git("config", "gc.auto", "0", cwd=top)
            git("add", "-A", cwd=top)
            git("commit", "-q", "-m",
                f"Linux {DEBIAN_VERSION} from Debian {DEBIAN_PACKAGE}", cwd=top, env=_BASE_ENV)
            (top / ".git" / "tunrss-base-done").touch()
            if repo.exists():
                shutil.rmtree(repo)
            top.rename(repo)
    commit = git("rev-parse", "HEAD", cwd=repo).stdout.strip()
    return Base(repo, commit, f"Debian {DEBIAN_PACKAGE} {DEBIAN_VERSION}")


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
