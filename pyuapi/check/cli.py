# SPDX-License-Identifier: MIT
"""Run the layout check: ``python -m pyuapi.check --headers DIR [--require-new]``.

Builds the items of :mod:`pyuapi.check.probes` for every struct bound in
:mod:`pyuapi.uapi` (and the test kit's ``struct bpf_insn``) and every
constant and ioctl number, prints them from C (:mod:`pyuapi.check.cside`)
and reports each difference.  One set of bindings serves every kernel
base: a struct may say, with ``_c_compat_``, that older headers declare
some of its fields as one member (Linux 6.12's ``__le32 hash_value`` of
struct virtio_net_hdr_v1_hash, which 7.3 splits into ``hash_value_lo`` and
``hash_value_hi``); when the headers lack the first field and have the
older member, the struct is checked in that older shape.

A struct or macro absent from the headers is reported as ``absent``; with
``--require-new`` that is an error too (the VM pipeline passes it against
the patched headers).  Exit status: 0 clean, 1 differences (or absent with
``--require-new``), 2 the C side could not be built.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Mapping, Optional, Sequence

from ..testkit import bpf
from ..uapi import tun, vhost, virtio_net
from ..uapi.layout import CheckedStructure
from . import cside
from .model import CheckResult, Expected, Finding, Value
from .probes import constant_items, struct_items

__all__ = ["STRUCTS", "expected_items", "compat_view", "run_check", "main"]

STRUCTS: tuple[type, ...] = (tun.STRUCTS + virtio_net.STRUCTS + vhost.STRUCTS
                             + (bpf.bpf_insn,))


def _constants() -> dict[str, tuple[int, bool]]:
    return {name: (value, name in tun.NEW_NAMES | vhost.NEW_NAMES)
            for name, value in {**tun.CONSTANTS, **virtio_net.CONSTANTS, **tun.IOCTLS,
                                **vhost.CONSTANTS, **vhost.IOCTLS}.items()}


def compat_view(cls: type, members: Mapping[str, str]) -> tuple[type, Optional[str]]:
    """``cls``, or its older shape if the headers' ``members`` have the older member.

    Returns (class to check, a note saying what was merged, or None).
    """
    compat = getattr(cls, "_c_compat_", ())
    fields = list(cls._fields_)
    notes = []
    for group, old_name, old_type in compat:
        if group[0] in members or old_name not in members:
            continue
        at = [f[0] for f in fields].index(group[0])
        fields = fields[:at] + [(old_name, old_type)] + fields[at + len(group):]
        notes.append(f"{cls._c_name_}: the headers have {old_name}, checked as "
                     f"{' + '.join(group)} ({old_name} in the ctypes view)")
    if not notes:
        return cls, None
    ns = {k: getattr(cls, k) for k in ("_c_name_", "_c_header_", "_new_", "_flex_",
                                       "_c_absent_fields_") if hasattr(cls, k)}
    view = type(cls.__name__, (CheckedStructure,), {**ns, "_fields_": fields})
    return view, "; ".join(notes)


def expected_items(structs: Optional[Sequence[type]] = None,
                   constants: Optional[dict[str, tuple[int, bool]]] = None,
                   c_types: Optional[Mapping[str, Mapping[str, str]]] = None) -> list[Expected]:
    """Everything the C program prints, with the ctypes/Python value it must equal."""
    items: list[Expected] = []
    for cls in STRUCTS if structs is None else structs:
        items += struct_items(cls, c_types)
    return items + constant_items(_constants() if constants is None else constants)


def run_check(headers: Path, require_new: bool = False, cc: str = "gcc",
              items: Optional[list[Expected]] = None,
              structs: Optional[Sequence[type]] = None) -> CheckResult:
    """Compile and run the C side against ``headers``; compare with ctypes (module docstring).

    ``structs`` replaces the bound structs (tests pass mutated copies).
    """
    headers = Path(headers)
    if not (headers / "linux" / "if_tun.h").exists():
        raise FileNotFoundError(f"{headers}/linux/if_tun.h not found: not a UAPI header directory")
    result = CheckResult(require_new=require_new)
    with tempfile.TemporaryDirectory(prefix="pyuapi-check-") as tmp:
        work = Path(tmp)
        todo = list(STRUCTS if structs is None else structs)
        c_types = cside.member_types(cside.preprocess(cc, headers, work),
                                     {c._c_name_ for c in todo})
        if items is None:
            views = []
            for cls in todo:
                view, note = compat_view(cls, c_types.get(cls._c_name_, {}))
                views.append(view)
                if note:
                    result.notes.append(note)
            items = expected_items(views, None, c_types)
        present = set(c_types)
        out, err = cside.compile_run(cc, headers, cside.program(enumerate(items), present),
                                     work, "all")
        if out is None:
            values = _bisect(cc, headers, items, present, work, result)
            if all(v is None for v in values.values()):
                raise RuntimeError(f"the C program does not build:\n{err}")
        else:
            values = cside.parse_output(out)
    for idx, it in enumerate(items):
        if idx not in values:
            continue
        v = values[idx]
        if v is None:
            if not any(f.key == it.key for f in result.findings):
                result.findings.append(Finding("absent", it.key, py_value=it.value, new=it.new))
            continue
        result.compared += 1
        if v != it.value:
            result.findings.append(Finding("diff", it.key, c_value=v, py_value=it.value,
                                           new=it.new))
    return result


def _bisect(cc: str, headers: Path, items: list[Expected], present: set[str], work: Path,
            result: CheckResult) -> dict[int, Optional[Value]]:
    """Find the items that do not compile: per struct (or macro block), then per item."""
    groups: dict[str, list[int]] = {}
    for idx, it in enumerate(items):
        groups.setdefault(it.struct or "<macros>", []).append(idx)
    values: dict[int, Optional[Value]] = {}
    for members in groups.values():
        out, _ = cside.compile_run(cc, headers,
                                   cside.program(((i, items[i]) for i in members), present),
                                   work, "group")
        if out is not None:
            values.update(cside.parse_output(out))
            continue
        for idx in members:
            sub, _ = cside.compile_run(cc, headers, cside.program([(idx, items[idx])], present),
                                       work, "one")
            if sub is None:
                result.findings.append(Finding("missing-field", items[idx].key,
                                               new=items[idx].new))
                values[idx] = None
            else:
                values[idx] = cside.parse_output(sub).get(idx)
    return values


def main(argv: Optional[Sequence[str]] = None) -> int:
    """CLI entry point (see the module docstring); returns the exit status."""
    ap = argparse.ArgumentParser(prog="python -m pyuapi.check",
                                 description="pyuapi's ctypes structs and constants against "
                                 "the C UAPI headers")
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
    for note in res.notes:
        print(f"NOTE    {note}")
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
