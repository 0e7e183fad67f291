# SPDX-License-Identifier: MIT
"""Out-of-tree kernel builds, keyed so a stale build is never used.

A work directory per (base commit, config variant) holds the source checkout
and the build tree, so a changed series rebuilds incrementally.  A stamp file
records the key of the last complete build: sha256 of the recipe version, the
base commit, the variant, the fragments, every patch and the compiler.  Equal
key and an existing bzImage: nothing to do.  Anything else: rebuild.
"""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import kconfig, locks
from .errors import BuildError

_ERROR = re.compile(r": (fatal )?error: |: undefined reference to |\*\*\* ")
RECIPE_VERSION = "1"  # bump when the way a kernel is built changes
BUILD_TIMESTAMP = "2025-01-01 00:00:00 UTC"


@dataclass(frozen=True)
class Workdir:
    root: Path

    @property
    def src(self) -> Path:
        return self.root / "src"

    @property
    def build(self) -> Path:
        return self.root / "build"

    @property
    def stamp(self) -> Path:
        return self.root / "build.key"

    @property
    def config_stamp(self) -> Path:
        return self.root / "config.key"

    @property
    def bzimage(self) -> Path:
        return self.build / "arch" / "x86" / "boot" / "bzImage"

    @property
    def headers(self) -> Path:
        return self.build / "usr" / "include"

    def lock(self) -> None:
        """Take this work directory for the rest of the process (flock(2),
        vm/locks.py).

        A run applies, configures and builds in it, then compiles the
        selftests and boots from it: a second run on the same base and
        variant (another terminal, or make fuzz beside make vm-test) waits
        here instead of rebuilding the tree under the first one.  Taken once
        per process, until :meth:`unlock` or the process exits."""
        locks.acquire(self.root, "work directory")

    def unlock(self) -> None:
        """Give the work directory back (the run no longer uses the tree)."""
        locks.release(self.root)


def compiler_id(cc: str = "gcc") -> str:
    proc = subprocess.run([cc, "--version"], text=True, capture_output=True)
    return proc.stdout.splitlines()[0] if proc.returncode == 0 and proc.stdout else cc


def build_key(base_commit: str, variant: str, fragments: list[Path],
              patches: list[Path], compiler: str) -> str:
    """sha256 over everything that decides what the kernel image contains."""
    h = hashlib.sha256()
    for part in (RECIPE_VERSION, base_commit, variant, compiler):
        h.update(part.encode() + b"\0")
    for kind, paths in (("fragment", fragments), ("patch", patches)):
        for path in paths:
            h.update(f"{kind}:{path.name}\0".encode())
            h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def config_key(base_commit: str, fragments: list[Path]) -> str:
    """sha256 over what decides the .config: re-running tinyconfig on an
    unchanged request would only cost time."""
    return build_key(base_commit, "config", fragments, [], "")


def is_current(work: Workdir, key: str) -> bool:
    try:
        return work.stamp.read_text().strip() == key and work.bzimage.exists()
    except OSError:
        return False


def make_env(cache: Path) -> dict[str, str]:
    """Environment for make: ccache shared across work dirs, fixed build
    identity so that ccache hits and the image does not change with time."""
    env = dict(os.environ)
    env.update({
        "CCACHE_DIR": str(cache / "ccache"),
        "CCACHE_BASEDIR": str(cache),
        "CCACHE_MAXSIZE": env.get("CCACHE_MAXSIZE", "5G"),
        "CCACHE_SLOPPINESS": "time_macros,include_file_mtime,include_file_ctime",
        "KBUILD_BUILD_TIMESTAMP": BUILD_TIMESTAMP,
        "KBUILD_BUILD_USER": "tunrss",
        "KBUILD_BUILD_HOST": "tunrss",
        "KBUILD_BUILD_VERSION": "1",
    })
    return env


def run_logged(cmd: list[str], log: Path, cwd: Path | None = None,
               env: dict[str, str] | None = None, tail: int = 40,
               on_line: Callable[[str], None] | None = None) -> None:
    """Run *cmd*, appending its output to *log* (and giving each line to
    *on_line*, e.g. vm/progress.py); BuildError with the tail on failure."""
    last: deque[str] = deque(maxlen=tail)
    errors: list[str] = []  # with -j, the first error is rarely in the tail
    with log.open("a", buffering=1) as out:  # line-buffered: `tail -f` shows progress
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, text=True, errors="replace",
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            last.append(line)
            if on_line is not None:
                on_line(line)
            if len(errors) < 20 and _ERROR.search(line):
                errors.append(line)
        rc = proc.wait()
    if rc:
        first = "".join(errors).rstrip()
        raise BuildError(f"{' '.join(cmd[:3])}... failed (exit {rc}); full log: {log}\n"
                         + (f"errors:\n{first}\nlast lines:\n" if first else "")
                         + "".join(list(last)[-15 if first else -tail:]).rstrip())


def kmake(work: Workdir, targets: list[str], log: Path, env: dict[str, str],
          jobs: int, on_line: Callable[[str], None] | None = None) -> None:
    """make *targets* out of tree in *work*, through ccache."""
    run_logged(["make", "-C", str(work.src), f"O={work.build}", f"-j{jobs}",
                "CC=ccache gcc", "HOSTCC=ccache gcc", *targets], log, env=env, on_line=on_line)


def configure(work: Workdir, frags: list[Path], log: Path, env: dict[str, str],
              symbols: set[str]) -> Path:
    """tinyconfig + the fragments (under the tree's option names, *symbols*:
    vm/kconfig.py) + olddefconfig into the build tree."""
    work.build.mkdir(parents=True, exist_ok=True)
    request = kconfig.write_request(frags, symbols, work.root / "request.config")
    kmake(work, ["tinyconfig"], log, env, 1)
    run_logged([str(work.src / "scripts/kconfig/merge_config.sh"), "-m", "-O",
                str(work.build), str(work.build / ".config"), str(request)],
               log, cwd=work.src, env=env)
    kmake(work, ["olddefconfig"], log, env, 1)
    return work.build / ".config"


def compile_kernel(work: Workdir, log: Path, env: dict[str, str], jobs: int,
                   on_line: Callable[[str], None] | None = None) -> None:
    """bzImage and the exported UAPI headers (build/usr/include)."""
    kmake(work, ["bzImage", "headers"], log, env, jobs, on_line)
