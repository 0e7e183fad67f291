# SPDX-License-Identifier: MIT
"""The bug-on-purpose kernels of ``make mutants``: the patches in
tests/mutants/ (``NNNN-name.patch``), their names, the config variant a
mutant needs (``Needs-variant:`` in its commit message), and MUTANTS /
--mutants, checked before any work (vm/mutants.py runs them)."""
from __future__ import annotations

import re
from pathlib import Path

from .errors import SettingsError
from .settings import REPO

MUTANT_DIR = REPO / "tests" / "mutants"
# A mutant that only some config variant can kill (allocation failures
# need the fault injection of "kcsan") says so in its commit message.
_NEEDS = re.compile(r"^Needs-variant: (?P<variant>\S+)$", re.M)
_NAME = re.compile(r"\d{4}-(?P<name>.+)\.patch")


def available(directory: Path = MUTANT_DIR) -> dict[str, Path]:
    """Mutant name (the file name without ``NNNN-`` and ``.patch``) -> patch, in order."""
    found = {}
    for p in sorted(directory.glob("*.patch")):
        m = _NAME.fullmatch(p.name)
        if m:
            found[m["name"]] = p
    return found


def needed_variant(patch: Path) -> str | None:
    """The config variant (KCONFIG) a mutant needs, from the
    ``Needs-variant:`` line of its commit message; None: any."""
    m = _NEEDS.search(patch.read_text(errors="replace").split("\n---\n", 1)[0])
    return m["variant"] if m else None


def elsewhere(variant: str, directory: Path = MUTANT_DIR) -> dict[str, str]:
    """Mutant name -> the other variant it needs, for those *variant* cannot run."""
    return {n: v for n, p in available(directory).items()
            if (v := needed_variant(p)) not in (None, variant)}


def select(text: str, variant: str = "normal", directory: Path = MUTANT_DIR) -> list[Path]:
    """MUTANTS / --mutants: names separated by commas or spaces, "" for all
    that *variant* can run (elsewhere() lists the others); SettingsError
    listing the allowed names for any other, or naming the variant that a
    chosen mutant needs."""
    known = available(directory)
    if not known:
        raise SettingsError(f"no mutant in {directory} (NNNN-name.patch)")
    names = [n for n in re.split(r"[,\s]+", text.strip()) if n]
    bad = [n for n in names if n not in known]
    if bad:
        raise SettingsError(f"MUTANTS={','.join(bad)!r} (--mutants): use some of "
                            f"{', '.join(known)} (comma separated), or nothing for all")
    other = elsewhere(variant, directory)
    if wrong := [n for n in names if n in other]:
        raise SettingsError(f"MUTANTS={','.join(wrong)!r}: "
                            + "; ".join(f"{n} needs KCONFIG={other[n]}" for n in wrong)
                            + f" (its Needs-variant line), not {variant!r}: no test on "
                            f"{variant!r} can kill it")
    if names:
        return [known[n] for n in dict.fromkeys(names)]
    return [p for n, p in known.items() if n not in other]


def left_for_others(variant: str, patches: list[Path],
                    directory: Path = MUTANT_DIR) -> dict[str, str]:
    """elsewhere(), to report when *patches* are all the mutants *variant*
    can run (MUTANTS empty); {} when MUTANTS chose some."""
    every = set(patches) == set(select("", variant, directory))
    return elsewhere(variant, directory) if every else {}


def mutant_name(patch: Path) -> str:
    """The mutant's name: its file name without ``NNNN-`` and ``.patch``."""
    m = _NAME.fullmatch(patch.name)
    return m["name"] if m else patch.stem
