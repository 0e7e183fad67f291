# SPDX-License-Identifier: MIT
"""Kernel configuration: ``make tinyconfig`` plus the fragments in vm/config/.

After ``olddefconfig`` every option a fragment asks for is checked: an option
whose dependencies are missing is dropped silently by Kconfig, and a silently
missing CONFIG_IPV6 or CONFIG_TUN costs an hour of confusion.

Fragments use one name per option whatever the base: where a newer tree
renamed an option (RENAMED), the request is translated to the name the tree
defines, and an option the tree defines under neither name is an error
before any configuring.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

from .errors import ConfigError

CONFIG_DIR = Path(__file__).resolve().parent / "config"
VARIANTS = {
    "normal": ["base.config"],
    "debug": ["base.config", "debug.config"],
    # `make bench`: with the harness-only patches of bench/kernel/ on top
    "bench": ["base.config", "bench.config"],
    # `make stress`: KCSAN + fault injection (KCSAN excludes KASAN)
    "kcsan": ["base.config", "kcsan.config"],
}
# Old name -> new name, for options mainline renamed since the oldest base.
RENAMED = {
    # fs/proc/Kconfig: the sysctl option lost its PROC_ prefix (7.x)
    "CONFIG_PROC_SYSCTL": "CONFIG_SYSCTL",
}
# An entry is "config NAME" alone on its line (a stray indent happens);
# help text that starts with the word "config" has more words after it.
_KCONFIG_SYMBOL = re.compile(r"^[ \t]*(?:menu)?config[ \t]+(\w+)[ \t]*$", re.MULTILINE)
_SET = re.compile(r"^(CONFIG_\w+)=(.*)$")
_UNSET = re.compile(r"^# (CONFIG_\w+) is not set$")


def fragments(variant: str, extra: list[Path] | None = None) -> list[Path]:
    """The fragment files for *variant*, then *extra* ones (e.g. kselftests/config)."""
    if variant not in VARIANTS:
        raise ConfigError(f"KCONFIG={variant!r}: use one of {', '.join(VARIANTS)}")
    return [CONFIG_DIR / name for name in VARIANTS[variant]] + list(extra or [])


def has_kmemleak(variant: str) -> bool:
    """Whether *variant* builds kmemleak in (the guest then scans after the tests)."""
    return wanted(fragments(variant)).get("CONFIG_DEBUG_KMEMLEAK") == "y"


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


def tree_symbols(src: Path) -> set[str]:
    """Every CONFIG_ symbol a ``config``/``menuconfig`` entry of *src* defines
    (through ``git grep`` in a checkout: a second, not the five a walk takes)."""
    proc = subprocess.run(["git", "-C", str(src), "grep", "-h", "-E", r"^\s*(menu)?config\s",
                           "--", "*Kconfig*"], text=True, capture_output=True)
    if proc.returncode == 0:
        return {"CONFIG_" + m for m in _KCONFIG_SYMBOL.findall(proc.stdout)}
    found: set[str] = set()
    for path in src.rglob("Kconfig*"):
        if path.is_file():
            found.update("CONFIG_" + m for m in
                         _KCONFIG_SYMBOL.findall(path.read_text(errors="replace")))
    return found


def for_tree(request: dict[str, str], symbols: set[str]) -> dict[str, str]:
    """*request* with each renamed option under the name the tree defines;
    ConfigError for an option the tree does not define at all."""
    out: dict[str, str] = {}
    unknown = []
    for name, value in request.items():
        if name not in symbols and RENAMED.get(name) in symbols:
            name = RENAMED[name]
        elif name not in symbols:
            unknown.append(name)
        out[name] = value
    if unknown:
        raise ConfigError("config fragments ask for options this tree does not define "
                          "(renamed? add them to vm/kconfig.py RENAMED): " + ", ".join(unknown))
    return out


def write_request(paths: list[Path], symbols: set[str], dest: Path) -> Path:
    """The merged request of *paths* for this tree, as one fragment file."""
    lines = [f"{k}={v}" if v != "n" else f"# {k} is not set"
             for k, v in for_tree(wanted(paths), symbols).items()]
    dest.write_text("\n".join(lines) + "\n")
    return dest


def check(paths: list[Path], dotconfig: Path, symbols: set[str] | None = None) -> None:
    """Raise ConfigError listing every requested option that did not stick
    (under its name in the tree, when *symbols* of the tree are given)."""
    request = wanted(paths) if symbols is None else for_tree(wanted(paths), symbols)
    bad = missing(request, parse(dotconfig.read_text()))
    if bad:
        raise ConfigError("config fragment options did not survive olddefconfig "
                          "(missing dependency?):\n  " + "\n  ".join(bad))
