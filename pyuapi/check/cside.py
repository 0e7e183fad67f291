# SPDX-License-Identifier: MIT
"""The C side of the layout check: a program against the UAPI headers.

:func:`program` writes one C program that prints every
:class:`~pyuapi.check.model.Expected` (``<index> <integer>``, ``<index>
x<hex bytes>`` or ``<index> absent``); :func:`compile_run` builds and runs
it with ``gcc -std=gnu11 -Wall -Werror -I<headers>``.  :func:`member_types`
reads the declared type of every struct member from the preprocessed
headers (typedef names such as ``__be16`` survive preprocessing), which
gives the byte order the probes store in, and tells which members a header
version has.

Mirrors the headers listed in :data:`HEADERS` (include/uapi/linux/).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Iterable, Optional

from .model import Expected, Value

__all__ = ["HEADERS", "program", "compile_run", "preprocess", "member_types", "parse_output"]

HEADERS = ("linux/types.h", "linux/ioctl.h", "linux/if.h", "linux/filter.h", "linux/bpf.h",
           "linux/if_ether.h", "linux/if_tun.h", "linux/virtio_net.h", "linux/vhost.h")

_PRELUDE = r"""
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
static void dump(int idx, const void *p, size_t n)
{
	const unsigned char *c = p;
	size_t k;

	printf("%d x", idx);
	for (k = 0; k < n; k++)
		printf("%02x", c[k]);
	printf("\n");
}
/* lv = v in the byte order the header declares (swap: not the host's) */
#define STORE(lv, v, swap) do {						\
	__typeof__(lv) t_ = (__typeof__(lv))(intptr_t)(v);		\
	unsigned char *b_ = (unsigned char *)&t_, x_;			\
	size_t k_;							\
	for (k_ = 0; (swap) && k_ < sizeof(t_) / 2; k_++) {		\
		x_ = b_[k_];						\
		b_[k_] = b_[sizeof(t_) - 1 - k_];			\
		b_[sizeof(t_) - 1 - k_] = x_;				\
	}								\
	lv = t_;							\
} while (0)
#define SIGNED(lv) ((__typeof__(lv))-1 < (__typeof__(lv))0)
"""


def cc_args(cc: str, headers: Path) -> list[str]:
    """The compiler command line, without sources."""
    return [cc, "-std=gnu11", "-Wall", "-Werror", f"-I{headers}"]


def program(items: Iterable[tuple[int, Expected]], present: set[str]) -> str:
    """The C program printing ``items`` (index, item); structs not in ``present`` are absent."""
    lines = [_PRELUDE] + [f"#include <{h}>" for h in HEADERS]
    lines += ["int main(void)", "{"]
    for i, it in items:
        if it.macro:
            lines += [f"#ifdef {it.macro}",
                      f'\tprintf("%d %llu\\n", {i}, (unsigned long long)({it.macro}));',
                      "#else", f'\tprintf("%d absent\\n", {i});', "#endif"]
        elif it.struct not in present:
            lines.append(f'\tprintf("%d absent\\n", {i});')
        elif it.stmt:
            lines.append("\t" + it.cexpr.replace("{i}", str(i)))
        else:
            lines.append(f'\tprintf("%d %llu\\n", {i}, (unsigned long long)({it.cexpr}));')
    lines += ["\treturn 0;", "}", ""]
    return "\n".join(lines)


def preprocess(cc: str, headers: Path, workdir: Path) -> str:
    """The headers of :data:`HEADERS`, preprocessed (``-E -P``); RuntimeError if that fails."""
    src = workdir / "probe.c"
    src.write_text("".join(f"#include <{h}>\n" for h in HEADERS))
    out = subprocess.run(cc_args(cc, headers) + ["-E", "-P", str(src)], capture_output=True,
                         text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"preprocessing the headers failed:\n{out.stderr}")
    return out.stdout


def _body(text: str, start: int) -> str:
    depth = 0
    for pos in range(start, len(text)):
        if text[pos] == "{":
            depth += 1
        elif text[pos] == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1:pos]
    return text[start + 1:]


_DECL = re.compile(r"(\w+)[\s*]+(\w+)\s*(?:\[[^\]]*\]\s*)*(?::\s*\d+\s*)?$")
_ATTR = re.compile(r"__attribute__\s*\(\((?:[^()]|\([^()]*\))*\)\)")


def member_types(preprocessed: str, names: Iterable[str]) -> dict[str, dict[str, str]]:
    """C struct name -> {member: declared type name} for the structs the headers define.

    Members of anonymous nested structs and unions count as the struct's
    own (C lets them be named so).  A struct absent from the headers is
    absent from the result.
    """
    out: dict[str, dict[str, str]] = {}
    for cname in names:
        tag = cname.split()[1]
        m = re.search(rf"\bstruct\s+{re.escape(tag)}\s*\{{", preprocessed)
        if not m:
            continue
        body = _ATTR.sub(" ", _body(preprocessed, m.end() - 1))
        members: dict[str, str] = {}
        for chunk in re.split(r"[;{}]", body):
            d = _DECL.search(chunk.strip())
            if d and d.group(1) not in ("struct", "union"):
                members.setdefault(d.group(2), d.group(1))
        out[cname] = members
    return out


def compile_run(cc: str, headers: Path, source: str, workdir: Path,
                name: str) -> tuple[Optional[str], str]:
    """Build and run ``source``: (stdout, "") or (None, compiler errors)."""
    src = workdir / f"{name}.c"
    exe = workdir / name
    src.write_text(source)
    res = subprocess.run(cc_args(cc, headers) + ["-o", str(exe), str(src)],
                         capture_output=True, text=True, check=False)
    if res.returncode != 0:
        return None, res.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True, check=True)
    return run.stdout, ""


def parse_output(out: str) -> dict[int, Optional[Value]]:
    """``<index> <value>`` lines: int, hex string (``x...``), or None for ``absent``."""
    vals: dict[int, Optional[Value]] = {}
    for line in out.splitlines():
        idx, val = line.split()
        if val == "absent":
            vals[int(idx)] = None
        elif val.startswith("x"):
            vals[int(idx)] = val[1:]
        else:
            vals[int(idx)] = int(val)
    return vals
