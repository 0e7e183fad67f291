# SPDX-License-Identifier: MIT
"""Layout checker: compare the ctypes side with a compiled C program.

``python -m pyuapi.check --headers DIR [--require-new]`` generates a C
program against the UAPI headers in DIR (``/usr/include``, or the output of
``make headers_install`` of the patched tree), compiles and runs it.  The
program prints ``sizeof``, ``offsetof`` and the size of every field of
every struct bound in :mod:`pyuapi.uapi.tun`, :mod:`pyuapi.uapi.virtio_net` and
:mod:`pyuapi.uapi.vhost`, the offset and element size of flexible array
members, and the value of every ioctl number and flag.  Each difference
with the ctypes side is reported.

A struct or macro absent from the headers is reported as ``absent``; with
``--require-new`` that is an error too (the VM pipeline passes it against
the patched headers).  Exit status: 0 clean, 1 differences (or absent with
``--require-new``), 2 the C side could not be built.

Mirrors include/uapi/linux/if_tun.h, include/uapi/linux/virtio_net.h,
include/uapi/linux/vhost.h, include/uapi/linux/if.h and
include/uapi/linux/filter.h.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence

from .uapi import tun, vhost, virtio_net
from .uapi.layout import iter_layout

__all__ = ["Finding", "CheckResult", "Expected", "expected_items", "run_check", "main"]

HEADERS = ("linux/types.h", "linux/ioctl.h", "linux/if.h", "linux/filter.h",
           "linux/if_ether.h", "linux/if_tun.h", "linux/virtio_net.h", "linux/vhost.h")


@dataclass(frozen=True)
class Expected:
    """One value the C side must print: ``key`` and the ctypes/Python value it must equal."""

    key: str
    value: int
    new: bool
    cexpr: str          # C expression printing it
    struct: str = ""    # C struct name, for grouping and presence
    macro: str = ""     # macro name, for #ifdef presence


@dataclass
class Finding:
    """A difference or an absence."""

    kind: str           # "diff", "absent", "missing-field"
    key: str
    c_value: Optional[int] = None
    py_value: Optional[int] = None
    new: bool = False

    def __str__(self) -> str:
        tag = " (new UAPI)" if self.new else ""
        if self.kind == "diff":
            return f"DIFF    {self.key}: C {self.c_value}, ctypes {self.py_value}"
        if self.kind == "missing-field":
            return f"DIFF    {self.key}: does not compile against the headers{tag}"
        return f"ABSENT  {self.key}{tag}"


@dataclass
class CheckResult:
    """Outcome of one run: findings and the number of values compared."""

    findings: list[Finding] = field(default_factory=list)
    compared: int = 0
    require_new: bool = False

    @property
    def differences(self) -> list[Finding]:
        """Findings that are real differences."""
        return [f for f in self.findings if f.kind != "absent"]

    @property
    def absent(self) -> list[Finding]:
        """Items the headers do not define."""
        return [f for f in self.findings if f.kind == "absent"]

    @property
    def ok(self) -> bool:
        """No differences; no absences either when ``require_new``."""
        return not self.differences and not (self.require_new and self.absent)


def _structs() -> list[type]:
    return list(tun.STRUCTS) + list(virtio_net.STRUCTS) + list(vhost.STRUCTS)


def expected_items(structs: Optional[Sequence[type]] = None,
                   constants: Optional[dict[str, tuple[int, bool]]] = None) -> list[Expected]:
    """Everything the C program prints, with the ctypes/Python value it must equal."""
    if structs is None:
        structs = _structs()
    if constants is None:
        constants = {}
        for name, value in {**tun.CONSTANTS, **virtio_net.CONSTANTS, **tun.IOCTLS,
                            **vhost.CONSTANTS, **vhost.IOCTLS}.items():
            constants[name] = (value, name in tun.NEW_NAMES)
    items: list[Expected] = []
    for cls in structs:
        cname = cls._c_name_
        new = bool(getattr(cls, "_new_", False))
        items.append(Expected(f"sizeof({cname})", ctypes.sizeof(cls), new,
                              f"sizeof({cname})", struct=cname))
        for name, off, size in iter_layout(cls):
            if name in getattr(cls, "_c_absent_fields_", ()):
                continue   # an implicit C hole made explicit on the ctypes side
            items.append(Expected(f"offsetof({cname}, {name})", off, new,
                                  f"offsetof({cname}, {name})", struct=cname))
            items.append(Expected(f"sizeof({cname}.{name})", size, new,
                                  f"sizeof((({cname} *)0)->{name})", struct=cname))
        flex = getattr(cls, "_flex_", None)
        if flex:
            fname, ftype = flex
            items.append(Expected(f"offsetof({cname}, {fname}[])", ctypes.sizeof(cls), new,
                                  f"offsetof({cname}, {fname})", struct=cname))
            items.append(Expected(f"sizeof({cname}.{fname}[0])", ctypes.sizeof(ftype), new,
                                  f"sizeof((({cname} *)0)->{fname}[0])", struct=cname))
    for name, (value, new) in sorted(constants.items()):
        items.append(Expected(name, value, new, f"(unsigned long long)({name})", macro=name))
    return items


def _program(items: Iterable[Expected], present_structs: set[str]) -> str:
    lines = ["#include <stdio.h>", "#include <stddef.h>"]
    lines += [f"#include <{h}>" for h in HEADERS]
    lines += ["int main(void)", "{"]
    for i, it in enumerate(items):
        if it.macro:
            lines += [f"#ifdef {it.macro}",
                      f'\tprintf("%d %llu\\n", {i}, (unsigned long long)({it.macro}));',
                      "#else", f'\tprintf("%d absent\\n", {i});', "#endif"]
        elif it.struct in present_structs:
            lines.append(f'\tprintf("%d %llu\\n", {i}, (unsigned long long)({it.cexpr}));')
        else:
            lines.append(f'\tprintf("%d absent\\n", {i});')
    lines += ["\treturn 0;", "}", ""]
    return "\n".join(lines)


def _cc_args(cc: str, headers: Path) -> list[str]:
    return [cc, "-std=gnu11", "-Wall", "-Werror", f"-I{headers}"]


def _present_structs(cc: str, headers: Path, names: set[str], workdir: Path) -> set[str]:
    src = workdir / "probe.c"
    src.write_text("".join(f"#include <{h}>\n" for h in HEADERS))
    out = subprocess.run(_cc_args(cc, headers) + ["-E", "-P", str(src)], capture_output=True,
                         text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"preprocessing the headers failed:\n{out.stderr}")
    present = set()
    for cname in names:
        tag = cname.split()[1]
        if re.search(rf"\bstruct\s+{re.escape(tag)}\s*\{{", out.stdout):
            present.add(cname)
    return present


def _compile_run(cc: str, headers: Path, program: str, workdir: Path,
                 name: str) -> tuple[Optional[str], str]:
    src = workdir / f"{name}.c"
    exe = workdir / name
    src.write_text(program)
    res = subprocess.run(_cc_args(cc, headers) + ["-o", str(exe), str(src)],
                         capture_output=True, text=True, check=False)
    if res.returncode != 0:
        return None, res.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True, check=True)
    return run.stdout, ""


def run_check(headers: Path, require_new: bool = False, cc: str = "gcc",
              items: Optional[list[Expected]] = None) -> CheckResult:
    """Compile and run the C side against ``headers``; compare with ctypes (see module doc)."""
    headers = Path(headers)
    if not (headers / "linux" / "if_tun.h").exists():
        raise FileNotFoundError(f"{headers}/linux/if_tun.h not found: not a UAPI header directory")
    if items is None:
        items = expected_items()
    result = CheckResult(require_new=require_new)
    with tempfile.TemporaryDirectory(prefix="pyuapi-check-") as tmp:
        work = Path(tmp)
        present = _present_structs(cc, headers, {i.struct for i in items if i.struct}, work)
        out, err = _compile_run(cc, headers, _program(items, present), work, "all")
        values: dict[int, Optional[int]] = {}
        if out is None:
            values = _bisect(cc, headers, items, present, work, result)
            if all(v is None for v in values.values()):
                raise RuntimeError(f"the C program does not build:\n{err}")
        else:
            values = _parse(out)
    for idx, it in enumerate(items):
        if idx not in values:
            continue
        v = values[idx]
        if v is None:
            if any(f.key == it.key for f in result.findings):
                continue
            result.findings.append(Finding("absent", it.key, py_value=it.value, new=it.new))
            continue
        result.compared += 1
        if v != it.value:
            result.findings.append(Finding("diff", it.key, c_value=v, py_value=it.value,
                                           new=it.new))
    return result


def _bisect(cc: str, headers: Path, items: list[Expected], present: set[str], work: Path,
            result: CheckResult) -> dict[int, Optional[int]]:
    """Find the items that do not compile: per struct (or macro block), then per item."""
    groups: dict[str, list[int]] = {}
    for idx, it in enumerate(items):
        groups.setdefault(it.struct or "<macros>", []).append(idx)
    values: dict[int, Optional[int]] = {}
    for members in groups.values():
        out, _ = _compile_run(cc, headers, _program([items[i] for i in members], present),
                              work, "group")
        if out is not None:
            for pos, v in _parse(out).items():
                values[members[pos]] = v
            continue
        for idx in members:
            sub_out, _ = _compile_run(cc, headers, _program([items[idx]], present), work, "one")
            if sub_out is None:
                result.findings.append(Finding("missing-field", items[idx].key,
                                               new=items[idx].new))
                values[idx] = None
            else:
                values[idx] = _parse(sub_out).get(0)
    return values


def _parse(out: str) -> dict[int, Optional[int]]:
    vals: dict[int, Optional[int]] = {}
    for line in out.splitlines():
        idx, val = line.split()
        vals[int(idx)] = None if val == "absent" else int(val)
    return vals


def main(argv: Optional[Sequence[str]] = None) -> int:
    """CLI entry point (see module docstring); returns the exit status."""
    ap = argparse.ArgumentParser(prog="python -m pyuapi.check", description=__doc__.split("\n")[0])
    ap.add_argument("--headers", required=True, type=Path,
                    help="UAPI header directory (contains linux/if_tun.h)")
    ap.add_argument("--require-new", action="store_true",
                    help="absent structs/macros (e.g. TUNSETVNETHASH) are errors")
    ap.add_argument("--cc", default=os.environ.get("CC", "gcc"), help="C compiler (default gcc)")
    ap.add_argument("-v", "--verbose", action="store_true", help="list absent items too")
    args = ap.parse_args(argv)
    try:
        res = run_check(args.headers, require_new=args.require_new, cc=args.cc)
    except (RuntimeError, FileNotFoundError, OSError) as e:
        print(f"pyuapi.check: {e}", file=sys.stderr)
        return 2
    for f in res.differences:
        print(f)
    absent = res.absent
    if args.require_new or args.verbose:
        for f in absent:
            print(f)
    print(f"pyuapi.check: {res.compared} values compared against {args.headers}, "
          f"{len(res.differences)} difference(s), {len(absent)} absent"
          + (" (errors: --require-new)" if args.require_new and absent else ""))
    return 0 if res.ok else 1


if __name__ == "__main__":
    sys.exit(main())
