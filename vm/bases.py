# SPDX-License-Identifier: MIT
"""Named kernel bases: Debian ``linux-source-X.Y`` packages, pinned in vm/bases.pin.

``mainline`` is the newest ``linux-source-X.Y`` of Debian unstable and
experimental; ``6.12`` is bookworm's (and bookworm-security's)
``linux-source-6.12``.  The package is fetched through an apt configuration
private to the cache (its own sources.list, lists, archives; no dpkg status),
so /etc/apt is never read for sources nor written, and no root is needed.

A pinned version whose source repository or .deb is already in the cache is
used without asking the network.  Otherwise the cached index (refreshed when
older than TUNRSS_APT_MAX_AGE_HOURS, default 24) is asked for it; when the
archive no longer has it (Debian keeps only the newest build of a suite), the
newest version of the base is taken instead, with a one-line notice.
"""
from __future__ import annotations

import functools
import getpass
import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import SetupError

PIN_FILE = Path(__file__).resolve().parent / "bases.pin"
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
MIRROR = "http://deb.debian.org/debian"
SECURITY_MIRROR = "http://deb.debian.org/debian-security"
DEFAULT_MAX_AGE_HOURS = 24.0


@dataclass(frozen=True)
class BaseSpec:
    """Where a named base comes from: apt suites and the package names that qualify."""

    name: str
    sources: tuple[tuple[str, str], ...]  # (mirror, suite)
    package_re: str  # fullmatch over package names

    def qualifies(self, package: str) -> bool:
        return re.fullmatch(self.package_re, package) is not None


BASES = {
    "mainline": BaseSpec("mainline", ((MIRROR, "unstable"), (MIRROR, "experimental")),
                         r"linux-source-\d+\.\d+"),
    "6.12": BaseSpec("6.12", ((MIRROR, "bookworm"), (SECURITY_MIRROR, "bookworm-security")),
                     r"linux-source-6\.12"),
}


@dataclass(frozen=True)
class Pin:
    name: str
    package: str
    version: str


@dataclass(frozen=True)
class Resolved:
    """The package version a run builds, and the pin it was asked for."""

    pin: Pin
    package: str
    version: str

    @property
    def fallback(self) -> bool:
        return (self.package, self.version) != (self.pin.package, self.pin.version)


def read_pins(path: Path | None = None) -> dict[str, Pin]:
    """``name package version`` lines of *path* (vm/bases.pin); '#' starts a comment."""
    path = path or PIN_FILE
    pins = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) != 3 or words[0] not in BASES:
            raise SetupError(f"{path}:{n}: expected 'name package version' with a name of "
                             f"{', '.join(BASES)}: {line!r}")
        pins[words[0]] = Pin(*words)
    return pins


def write_pins(pins: dict[str, Pin], path: Path | None = None) -> None:
    """Replace the version of each pin line in *path*, keeping comments and order."""
    path = path or PIN_FILE
    out = []
    for line in path.read_text().splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) == 3 and words[0] in pins:
            p = pins[words[0]]
            line = f"{p.name:<11} {p.package:<19} {p.version}"
        out.append(line)
    path.write_text("\n".join(out) + "\n")


def compare_versions(a: str, b: str) -> int:
    """Debian version order (dpkg --compare-versions): -1, 0 or 1."""
    def holds(op: str) -> bool:
        return subprocess.run(["dpkg", "--compare-versions", a, op, b]).returncode == 0
    return 0 if holds("eq") else (-1 if holds("lt") else 1)


class PrivateApt:
    """apt-get and apt-cache on a configuration kept under *root*."""

    def __init__(self, root: Path, spec: BaseSpec) -> None:
        self.root = root
        self.spec = spec

    @property
    def lists(self) -> Path:
        return self.root / "lists"

    def options(self) -> list[str]:
        o = {"Dir::Etc::sourcelist": self.root / "sources.list",
             "Dir::Etc::sourceparts": "/dev/null",
             "Dir::State::Lists": self.lists,
             "Dir::Cache": self.root / "cache",
             "Dir::State::status": "/dev/null",
             # apt's download sandbox user cannot write into a user's cache
             "APT::Sandbox::User": getpass.getuser()}
        return [arg for k, v in o.items() for arg in ("-o", f"{k}={v}")]

    def _run(self, tool: str, *args: str, cwd: Path | None = None) -> str:
        proc = subprocess.run([tool, *self.options(), *args], cwd=cwd, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if proc.returncode:
            raise SetupError(f"{tool} {' '.join(args)} (private apt configuration in "
                             f"{self.root}) failed:\n{proc.stdout.strip()[-1500:]}")
        return proc.stdout

    def index_age(self) -> float | None:
        """Seconds since the last successful update, None without an index."""
        stamp = self.root / "updated"
        return time.time() - stamp.stat().st_mtime if stamp.exists() else None

    def update(self) -> None:
        if not KEYRING.exists():
            raise SetupError(f"{KEYRING} is missing: apt-get install debian-archive-keyring")
        for d in (self.lists / "partial", self.root / "cache" / "archives" / "partial"):
            d.mkdir(parents=True, exist_ok=True)
        (self.root / "sources.list").write_text("".join(
            f"deb [signed-by={KEYRING}] {mirror} {suite} main\n"
            for mirror, suite in self.spec.sources))
        self._run("apt-get", "-q", "update")
        (self.root / "updated").touch()

    def available(self) -> list[tuple[str, str]]:
        """(package, version) of every qualifying package in the index, newest first."""
        names = [n for n in self._run("apt-cache", "pkgnames", "linux-source-").split()
                 if self.spec.qualifies(n)]
        found = []
        if names:
            for line in self._run("apt-cache", "madison", *names).splitlines():
                parts = [p.strip() for p in line.split("|")]
                if len(parts) >= 2 and (parts[0], parts[1]) not in found:
                    found.append((parts[0], parts[1]))
        return sorted(found, key=functools.cmp_to_key(
            lambda a, b: compare_versions(b[1], a[1])))

    def download(self, package: str, version: str, dest: Path) -> Path:
        dest.mkdir(parents=True, exist_ok=True)
        self._run("apt-get", "-q", "download", f"{package}={version}", cwd=dest)
        debs = list(dest.glob(f"{package}_{version.replace(':', '%3a')}_*.deb"))
        if not debs:
            raise SetupError(f"apt-get download {package}={version} left no .deb in {dest}")
        return debs[0]


def deb_path(cache: Path, package: str, version: str) -> Path | None:
    """The cached .deb of (package, version), if it was downloaded before."""
    hits = list((cache / "debs").glob(f"{package}_{version.replace(':', '%3a')}_*.deb"))
    return hits[0] if hits else None


def resolve(name: str, cache: Path, have: Callable[[str, str], bool],
            say: Callable[[str], None] = print) -> tuple[Resolved, Path | None]:
    """The (package, version) to build for base *name*, and its .deb when one
    must be extracted (None when *have*(package, version) says the extracted
    source is already in the cache)."""
    pins = read_pins()
    if name not in pins:
        raise SetupError(f"BASE={name!r}: use one of {', '.join(pins)} (vm/bases.pin)")
    pin = pins[name]
    if have(pin.package, pin.version):
        return Resolved(pin, pin.package, pin.version), None
    cached = deb_path(cache, pin.package, pin.version)
    if cached:
        return Resolved(pin, pin.package, pin.version), cached
    apt = PrivateApt(cache / "apt" / name, BASES[name])
    max_age = float(os.environ.get("TUNRSS_APT_MAX_AGE_HOURS") or DEFAULT_MAX_AGE_HOURS)
    age = apt.index_age()
    if age is None or age > max_age * 3600:
        apt.update()
    noticed = False
    for attempt in (1, 2):
        offered = apt.available()
        if not offered:
            raise SetupError(f"the apt index in {apt.root} offers no package for BASE={name} "
                             f"({BASES[name].package_re} in "
                             f"{', '.join(s for _, s in BASES[name].sources)})")
        package, version = (pin.package, pin.version) if (pin.package, pin.version) in offered \
            else offered[0]
        chosen = Resolved(pin, package, version)
        if chosen.fallback and not noticed:
            noticed = True
            say(f"NOTICE: pinned {pin.package} {pin.version} (vm/bases.pin) is no longer in "
                f"the archive; building the newest, {package} {version}")
        if have(package, version):
            return chosen, None
        try:
            return chosen, deb_path(cache, package, version) or \
                apt.download(package, version, cache / "debs")
        except SetupError:
            if attempt == 2:
                raise
            apt.update()  # the index was older than the archive: look again
    raise AssertionError("unreachable")


def survey(cache: Path) -> dict[str, tuple[Pin, list[tuple[str, str]]]]:
    """Each pin and what its archive offers now, newest first (one
    ``apt-get update`` per base)."""
    out = {}
    for name, pin in read_pins().items():
        apt = PrivateApt(cache / "apt" / name, BASES[name])
        apt.update()
        out[name] = (pin, apt.available())
    return out


def update_pins(offers: dict[str, tuple[Pin, list[tuple[str, str]]]],
                say: Callable[[str], None] = print) -> dict[str, Pin]:
    """Pin every base to the newest version of *offers* (:func:`survey`)."""
    pins = {}
    for name, (pin, offered) in offers.items():
        if not offered:
            raise SetupError(f"the archive offers no package for BASE={name}: pin left as is")
        package, version = offered[0]
        if (package, version) != (pin.package, pin.version):
            say(f"bases: {name}: {pin.package} {pin.version} -> {package} {version}")
        pins[name] = Pin(name, package, version)
    write_pins(pins)
    return pins
