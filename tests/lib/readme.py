# SPDX-License-Identifier: MIT
"""The example of pyuapi/README.md as doctests (doctest(3) of the stdlib).

The README's ```pycon blocks are doctests run in order with shared
globals.  A block preceded by ``<!-- doctest -->`` needs nothing; one
preceded by ``<!-- doctest: needs the feature -->`` needs root,
/dev/net/tun and a kernel with TUNGETVNETHASHCAP, and the caller says
whether to run it.
"""

from __future__ import annotations

import doctest
import io
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["README", "Block", "blocks", "run"]

README = Path(__file__).resolve().parents[2] / "pyuapi" / "README.md"
_BLOCK = re.compile(r"<!-- doctest(?P<needs>: needs the feature)? -->\n```pycon\n(?P<body>.*?)```",
                    re.S)


@dataclass(frozen=True)
class Block:
    """One doctest block of the README: its text, line, and whether it needs the feature."""

    text: str
    line: int
    needs_feature: bool


def blocks(path: Path = README) -> list[Block]:
    """The README's doctest blocks, in order."""
    text = path.read_text()
    return [Block(m["body"], text.count("\n", 0, m.start("body")) + 1, bool(m["needs"]))
            for m in _BLOCK.finditer(text)]


def run(selected: list[Block], globs: dict) -> str:
    """Run ``selected`` as doctests sharing ``globs``; '' if all passed, else the report."""
    out = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    parser = doctest.DocTestParser()
    for b in selected:
        test = parser.get_doctest(b.text, globs, f"README.md:{b.line}", str(README), b.line)
        runner.run(test, out=out.write, clear_globs=False)
        globs.update(test.globs)          # DocTest works on a copy: pass its names on
    return out.getvalue() if runner.failures else ""
