# SPDX-License-Identifier: MIT
"""Every setting of a run, validated before any work starts.

A setting is a command-line option of ``python -m vm`` (vm/cli.py) whose
default is the environment variable of the same meaning, which is how the
Makefile passes ``make vm-test VM_ACCEL=tcg`` through.  :data:`SPECS` is the
one table of them: option, variable, default and allowed values.  A bad value,
from either side, raises SettingsError naming the variable and the option and
listing what is allowed, in well under a second: nothing is fetched, built or
booted before :meth:`Settings.check` passes.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from . import accel, bases, kconfig, resultsdir, source
from .errors import SettingsError

REPO = Path(__file__).resolve().parent.parent
PATCH_DIR = REPO / "patches"
DEFAULT_BASE = source.DEFAULT_BASE
# What VM_TESTS selects by default: the base kernel's tun and tap (macvtap)
# selftests, the project's C selftests and the in-VM pytest suite.  An entry
# that is not a C suite name is a pytest path relative to the repository.
C_SUITES = ("tun-selftest", "tap-selftest", "kselftests")
DEFAULT_TESTS = (*C_SUITES, "tests/vm")
_MEMORY = re.compile(r"[1-9]\d*[KMGT]?")


@dataclass(frozen=True)
class Spec:
    """One setting: its Settings field, make/environment variable, option."""

    name: str
    env: str
    flag: str
    default: str
    help: str
    allowed: Callable[[], list[str]] | None = None


def test_choices() -> list[str]:
    """What VM_TESTS accepts: the C suites and the pytest directories and files."""
    paths = [p.relative_to(REPO).as_posix() for d in ("tests/vm", "tests/robustness")
             for p in [REPO / d, *sorted((REPO / d).glob("test_*.py"))] if p.exists()]
    return [*C_SUITES, *paths]


SPECS = (
    Spec("base", "BASE", "--base", DEFAULT_BASE, "kernel base, pinned in vm/bases.pin",
         lambda: list(bases.read_pins())),
    Spec("kernel_dir", "KERNEL_DIR", "--kernel-dir", "",
         "your kernel git tree instead of BASE (never written to)"),
    Spec("kernel_base", "KERNEL_BASE", "--kernel-base", "HEAD", "revision of KERNEL_DIR"),
    Spec("variant", "KCONFIG", "--kconfig", "normal", "config variant (vm/config/)",
         lambda: list(kconfig.VARIANTS)),
    Spec("patch_dir", "PATCHES", "--patches", "patches", "the series: a directory of *.patch"),
    Spec("jobs", "JOBS", "--jobs", str(os.cpu_count() or 2), "make -j for the kernel build"),
    Spec("accel", "VM_ACCEL", "--accel", "auto", "accelerator; auto probes KVM, else TCG",
         lambda: list(accel.CHOICES)),
    Spec("tests", "VM_TESTS", "--tests", " ".join(DEFAULT_TESTS),
         "suites to run in the VM (space separated)", test_choices),
    Spec("cpus", "VM_CPUS", "--cpus", "2", "guest vCPUs"),
    Spec("memory", "VM_MEMORY", "--memory", "2G", "guest memory (QEMU -m: 2G, 2048M)"),
    Spec("timeout", "VM_TIMEOUT", "--timeout", "1800", "seconds for the whole guest run"),
    Spec("results", "RESULTS", "--results", "results/<command>", "results directory"),
    Spec("cache", "TUNRSS_CACHE", "--cache", "~/.cache/tunrss",
         "kernel sources, build trees and ccache"),
)


@dataclass
class Settings:
    """Everything a run can be told (see SPECS)."""

    cache: Path
    results: Path
    base: str = DEFAULT_BASE
    kernel_dir: Path | None = None
    kernel_base: str = "HEAD"
    variant: str = "normal"
    accel: str = "auto"
    timeout: float = 1800.0
    jobs: int = os.cpu_count() or 2
    cpus: int = 2
    memory: str = "2G"
    patch_dir: Path = PATCH_DIR
    tests: tuple[str, ...] = DEFAULT_TESTS
    guest_env: dict[str, str] = field(default_factory=dict)
    # Set by `python -m vm mutants` only (vm/mutants.py): harness patches
    # applied after the series, and the work directory's name instead of
    # the variant's, so mutants never rebuild the normal work directory.
    extra_patches: tuple[Path, ...] = ()
    work_tag: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None,
                 command: str = "vm-test") -> "Settings":
        """Settings from environment variables alone (unset or empty: default)."""
        env = dict(os.environ if env is None else env)
        return from_values({s.name: env.get(s.env, "") for s in SPECS}, env, command)

    def check(self) -> "Settings":
        """Raise SettingsError for a value no run can use; return self."""
        pins = list(bases.read_pins())
        if self.base not in pins:
            _bad("base", self.base, pins, "or KERNEL_DIR= for a tree of your own")
        if self.variant not in kconfig.VARIANTS:
            _bad("variant", self.variant, list(kconfig.VARIANTS))
        if self.accel not in accel.CHOICES:
            _bad("accel", self.accel, list(accel.CHOICES))
        for t in self.tests:
            if t not in C_SUITES and not (REPO / t).exists():
                _bad("tests", t, test_choices(), "or another pytest path in the repository")
        if self.kernel_dir is not None and not (self.kernel_dir / "Makefile").exists():
            _bad("kernel_dir", str(self.kernel_dir), [], "a kernel source tree (with a Makefile)")
        if not self.patch_dir.is_dir():
            _bad("patch_dir", str(self.patch_dir), [], "a directory of *.patch files")
        if not _MEMORY.fullmatch(self.memory):
            _bad("memory", self.memory, [], "a size such as 2G, 1536M or 2048")
        return self


def spec(name: str) -> Spec:
    """The Spec of the Settings field *name*."""
    return next(s for s in SPECS if s.name == name)


def _bad(name: str, value: str, allowed: list[str], extra: str = "") -> None:
    s = spec(name)
    what = ("use one of " + ", ".join(allowed) + (f", {extra}" if extra else "")) if allowed \
        else f"use {extra}"
    raise SettingsError(f"{s.env}={value!r} ({s.flag}): {what}")


def _number(name: str, text: str, kind: type, low: float, high: float) -> float:
    """*text* as a *kind* in [low, high], or SettingsError saying so."""
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        what = "a whole number" if kind is int else "a number of seconds"
        _bad(name, text, [], f"{what} from {low:g} to {high:g}")
    return value


def from_values(values: Mapping[str, str], env: Mapping[str, str],
                command: str = "vm-test") -> Settings:
    """Settings from raw strings (options or variables; "" means default),
    checked.  *env* supplies XDG_CACHE_HOME and the TUNRSS_* knobs for the guest."""
    def get(name: str) -> str:
        return (values.get(name) or "").strip()

    cache_home = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    tests = tuple(get("tests").split()) or DEFAULT_TESTS
    settings = Settings(
        cache=Path(get("cache")).expanduser() if get("cache") else cache_home / "tunrss",
        results=Path(get("results")).resolve() if get("results")
        else resultsdir.default_for(command),
        base=get("base") or DEFAULT_BASE,
        kernel_dir=Path(get("kernel_dir")).expanduser().resolve() if get("kernel_dir") else None,
        kernel_base=get("kernel_base") or "HEAD",
        variant=get("variant") or "normal",
        accel=get("accel") or "auto",
        timeout=_number("timeout", get("timeout") or "1800", float, 1, 86400),
        jobs=int(_number("jobs", get("jobs") or str(os.cpu_count() or 2), int, 1, 1024)),
        cpus=int(_number("cpus", get("cpus") or "2", int, 1, 64)),
        memory=get("memory") or "2G",
        patch_dir=Path(get("patch_dir") or PATCH_DIR).expanduser().resolve(),
        tests=tests,
        # Knobs for the tests (seeds, counts) go into the guest as they are
        guest_env={k: v for k, v in env.items() if k.startswith("TUNRSS_")
                   and k != "TUNRSS_CACHE"},
    )
    return settings.check()


def describe(env: Mapping[str, str]) -> list[str]:
    """``VARIABLE=value  option  help (allowed)`` lines, the value the one
    *env* gives or the default: `make help`, ``python -m vm settings``."""
    cache_default = str(Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tunrss")
    rows = []
    for s in SPECS:
        value = env.get(s.env) or (cache_default if s.name == "cache" else s.default)
        allowed = f" ({', '.join(s.allowed())})" if s.allowed and s.name != "tests" else ""
        rows.append(f"  {s.env + '=' + value:<42} {s.flag:<14} {s.help}{allowed}")
    return rows


def allowed_text(name: str) -> str:
    """The allowed values of a setting, for help texts ("" when free-form)."""
    s = spec(name)
    return ", ".join(s.allowed()) if s.allowed else ""


DEFAULT_CI_VARIANTS = ("normal", "debug")


def check_variants(text: str) -> list[str]:
    """CI_VARIANTS / --variants of `make ci`, space separated; "" means both
    variants (the Makefile exports the variable even when it is not set, as
    ""); SettingsError for a variant vm/kconfig.py does not know."""
    variants = text.split() or list(DEFAULT_CI_VARIANTS)
    bad = [v for v in variants if v not in kconfig.VARIANTS]
    if bad:
        raise SettingsError(f"CI_VARIANTS={' '.join(bad)!r} (--variants): use some of "
                            f"{', '.join(kconfig.VARIANTS)}")
    return variants


def check_version(text: str) -> int:
    """SERIES_VERSION / --version of `make series`: a whole number from 1 ("" is 1)."""
    try:
        version = int(text or 1)
    except ValueError:
        version = 0
    if version < 1:
        raise SettingsError(f"SERIES_VERSION={text!r} (--version): use a whole number from 1")
    return version
