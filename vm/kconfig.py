"""Kernel configuration: ``make tinyconfig`` plus the fragments in vm/config/.

After ``olddefconfig`` every option a fragment asks for is checked: an option
whose dependencies are missing is dropped silently by Kconfig, and a silently
missing CONFIG_IPV6 or CONFIG_TUN costs an hour of confusion.
"""
from __future__ import annotations

import re
from pathlib import Path

from .errors import ConfigError

CONFIG_DIR = Path(__file__).resolve().parent / "config"
VARIANTS = {
    "normal": ["base.config"],
    "debug": ["base.config", "debug.config"],
    # `make bench`: with the harness-only patches of bench/kernel/ on top
    "bench": ["base.config", "bench.config"],
}
_SET = re.compile(r"^(CONFIG_\w+)=(.*)$")
_UNSET = re.compile(r"^# (CONFIG_\w+) is not set$")


def fragments(variant: str, extra: list[Path] | None = None) -> list[Path]:
    """The fragment files for *variant*, then *extra* ones (e.g. kselftests/config)."""
    if variant not in VARIANTS:
        raise ConfigError(f"KCONFIG={variant!r}: use one of {', '.join(VARIANTS)}")
    return [CONFIG_DIR / name for name in VARIANTS[variant]] + list(extra or [])


def parse(text: str) -> dict[str, str]:
    """Options set in a .config or fragment: name -> value, 'n' for 'is not set'."""
    options: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if m := _SET.match(line):
            options[m[1]] = m[2]
        elif m := _UNSET.match(line):
            options[m[1]] = "n"
    return options


def missing(wanted: dict[str, str], dotconfig: dict[str, str]) -> list[str]:
    """Options whose value in the final .config differs from the request."""
    out = []
    for name, value in wanted.items():
        got = dotconfig.get(name, "n")
        if got != value:
            out.append(f"{name}={value} requested, {name}={got} in .config")
    return out


def wanted(paths: list[Path]) -> dict[str, str]:
    """The merged request of *paths*, later fragments overriding earlier ones."""
    merged: dict[str, str] = {}
    for path in paths:
        merged.update(parse(path.read_text()))
    return merged


def check(paths: list[Path], dotconfig: Path) -> None:
    """Raise ConfigError listing every requested option that did not stick."""
    bad = missing(wanted(paths), parse(dotconfig.read_text()))
    if bad:
        raise ConfigError("config fragment options did not survive olddefconfig "
                          "(missing dependency?):\n  " + "\n  ".join(bad))
