# SPDX-License-Identifier: MIT
"""The kernel stages of a run: fetch the base, apply the series, configure
and build (vm/source.py, vm/kconfig.py, vm/build.py), each printing its
elapsed time (vm/stages.py).  Skipped when the build key's kernel exists."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import build, kconfig, progress, source
from .settings import REPO, Settings
from .stages import Stages

KSELFTESTS = REPO / "kselftests"
# Harness-only patches a config variant applies after the series: never
# part of patches/ (nor of `make series`), and keyed like the series.
VARIANT_PATCH_DIRS = {"bench": REPO / "bench" / "kernel"}


@dataclass
class Kernel:
    """A built (or cached) kernel and what went into it."""

    base: source.Base
    work: build.Workdir
    key: str
    patches: list[Path]
    fragments: list[Path]
    log: Path
    cached: bool = False


def resolve_base(opts: Settings, say: Callable[[str], None] = print) -> source.Base:
    """The base every command builds on: KERNEL_DIR, else BASE (vm/bases.pin)."""
    return source.resolve_base(opts.cache, opts.base, opts.kernel_dir, opts.kernel_base, say)


def extra_fragments() -> list[Path]:
    """kselftests/config lists what the project's C selftests need."""
    path = KSELFTESTS / "config"
    return [path] if path.exists() else []


def kernel_patches(patch_dir: Path, variant: str,
                   extra_patches: tuple[Path, ...] = ()) -> list[Path]:
    """The series of *patch_dir*, then the variant's own patches, if any
    (VARIANT_PATCH_DIRS), then *extra_patches* (a mutant, vm/mutants.py),
    in order; all of them go into the build key."""
    extra = VARIANT_PATCH_DIRS.get(variant)
    return source.series(patch_dir) + (source.series(extra) if extra else []) \
        + list(extra_patches)


def workdir(opts: Settings, base_commit: str) -> build.Workdir:
    """The work directory of (base commit, config variant), or of
    (base commit, work tag) when a tag is set (vm/mutants.py)."""
    name = f"{base_commit[:12]}-{opts.work_tag or opts.variant}"
    return build.Workdir(opts.cache / "work" / name)


def identify(opts: Settings, base: source.Base) -> Kernel:
    """The kernel *opts* asks for on *base*: its key, and whether it is built."""
    patches = kernel_patches(opts.patch_dir, opts.variant, opts.extra_patches)
    frags = kconfig.fragments(opts.variant, extra_fragments())
    key = build.build_key(base.commit, opts.variant, frags, patches, build.compiler_id())
    work = workdir(opts, base.commit)
    kernel = Kernel(base, work, key, patches, frags, opts.results / "build.log")
    kernel.cached = build.is_current(work, key)
    return kernel


def known_base(opts: Settings) -> source.Base | None:
    """The base without fetching anything: KERNEL_DIR, or a named base whose
    pinned source is already in the cache; None when it would be fetched."""
    if opts.kernel_dir is not None:
        return source.user_base(opts.kernel_dir, opts.kernel_base)
    repo = source.pinned_src_dir(opts.cache, opts.base)
    if not (repo / ".git").exists():
        return None
    commit = source.git("rev-parse", "HEAD", cwd=repo).stdout.strip()
    return source.Base(repo, commit, f"{repo.name} (cached)", opts.base)


def prepare_kernel(opts: Settings, st: Stages) -> Kernel:
    """Fetch, apply, config and build; skipped when the key's build exists.
    The work directory is held (vm/build.py Workdir.lock) until released."""
    opts.results.mkdir(parents=True, exist_ok=True)
    with st.stage("fetch", "base kernel source"):
        base = resolve_base(opts, lambda msg: st.say("fetch", msg))
        st.say("fetch", base.describe)
    kernel = identify(opts, base)
    work, log, patches, frags = kernel.work, kernel.log, kernel.patches, kernel.fragments
    work.lock()
    if build.is_current(work, kernel.key):
        kernel.cached = True
        for name in ("apply", "config", "build"):
            st.skip(name, f"build {kernel.key[:12]} is cached in {work.root}")
        return kernel
    kernel.cached = False
    log.write_text("")
    work.stamp.unlink(missing_ok=True)
    env = build.make_env(opts.cache)
    extra = VARIANT_PATCH_DIRS.get(opts.variant)
    with st.stage("apply", f"{len(patches)} patch(es) from {opts.patch_dir}"
                  + (f" and {extra}" if extra else "")
                  + "".join(f" and {p.name}" for p in opts.extra_patches)):
        source.checkout(base, work.src)
        source.apply_series(work.src, patches)
    ckey = build.config_key(base.commit, frags)
    if (work.build / ".config").exists() and work.config_stamp.exists() \
            and work.config_stamp.read_text().strip() == ckey:
        st.skip("config", "fragments unchanged since the last configure")
    else:
        work.config_stamp.unlink(missing_ok=True)
        with st.stage("config", f"tinyconfig + {', '.join(p.name for p in frags)}"):
            symbols = kconfig.tree_symbols(work.src)
            dotconfig = build.configure(work, frags, log, env, symbols)
            kconfig.check(frags, dotconfig, symbols)
        work.config_stamp.write_text(ckey + "\n")
    with st.stage("build", f"bzImage with -j{opts.jobs}, log {log}"):
        meter = progress.BuildProgress.for_workdir(work, lambda text: st.say("build", text))
        build.compile_kernel(work, log, env, opts.jobs, on_line=meter.feed)
        meter.finish(work)
    work.stamp.write_text(kernel.key + "\n")
    return kernel
