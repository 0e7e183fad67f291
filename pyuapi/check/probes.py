# SPDX-License-Identifier: MIT
"""The ctypes side of the layout check: every value the C program must print.

For each struct, in the manner of CPython's
Lib/test/test_ctypes/test_generated_structs.py: ``sizeof`` and
``_Alignof``; for every field (nested ones too) ``offsetof`` and
``sizeof``; for every scalar leaf (a member of a nested struct or union,
the first and last element of an array) whether it is signed, and the
bytes of the whole struct after the leaf is set to -1, then 1, then 0,
starting from all zero bytes.  The C side stores the same values in the
byte order the header declares (``__be*``, ``__le*``/``__virtio*``, else
native), so a ctypes field of the wrong signedness, width or byte order
gives different bytes or a different signedness, and a wrong alignment a
different ``_Alignof``.  Flexible array members: their offset and element
size.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Iterator, Mapping, Optional, Sequence

from .model import Expected

__all__ = ["Leaf", "leaves", "struct_items", "constant_items", "ctypes_bytes", "PROBE_VALUES"]

PROBE_VALUES = (-1, 1, 0)
_INT_CODES = frozenset("bBhHiIlLqQ")
_Aggregate = (ctypes.Structure, ctypes.Union)


@dataclass(frozen=True)
class Leaf:
    """A scalar the C side can assign: ``path`` from the struct, e.g. ``hdr.flags``, ``key[39]``."""

    path: str
    offset: int
    ctype: type
    owner: str          # the C struct whose member declares it (for its declared type)
    member: str         # that member's name in the C struct

    @property
    def is_int(self) -> bool:
        """An integer (signedness is compared); not ``char`` or a pointer."""
        return getattr(self.ctype, "_type_", "") in _INT_CODES


def _fields(cls: type) -> Iterator[tuple[str, type, int]]:
    absent = getattr(cls, "_c_absent_fields_", ())
    for entry in cls._fields_:
        name, ftype = entry[0], entry[1]
        if name not in absent:
            yield name, ftype, getattr(cls, name).offset


def fields(cls: type, prefix: str = "", base: int = 0) -> Iterator[tuple[str, int, int]]:
    """(path, offset, size) of every field at every depth that C can name with offsetof."""
    for name, ftype, off in _fields(cls):
        yield prefix + name, base + off, ctypes.sizeof(ftype)
        if issubclass(ftype, _Aggregate):
            yield from fields(ftype, f"{prefix}{name}.", base + off)


def leaves(cls: type, owner: str = "", prefix: str = "", base: int = 0) -> Iterator[Leaf]:
    """Every scalar of ``cls`` the probes set (see the module docstring)."""
    owner = getattr(cls, "_c_name_", "") or owner
    for name, ftype, off in _fields(cls):
        if issubclass(ftype, _Aggregate):
            yield from leaves(ftype, owner, f"{prefix}{name}.", base + off)
        elif issubclass(ftype, ctypes.Array):
            et, n = ftype._type_, ftype._length_
            for i in sorted({0, n - 1}):
                at = base + off + i * ctypes.sizeof(et)
                if issubclass(et, _Aggregate):
                    yield from leaves(et, owner, f"{prefix}{name}[{i}].", at)
                else:
                    yield Leaf(f"{prefix}{name}[{i}]", at, et, owner, name)
        else:
            yield Leaf(prefix + name, base + off, ftype, owner, name)


def _store(buf: bytearray, leaf: Leaf, value: int) -> None:
    """Set a leaf through its ctypes type (the field's declared type, at its offset)."""
    obj = leaf.ctype.from_buffer(buf, leaf.offset)
    if leaf.ctype is ctypes.c_char:
        obj.value = bytes([value & 0xFF])
    else:
        obj.value = value


def ctypes_bytes(cls: type, leaf: Leaf, value: int) -> str:
    """Hex of a zeroed ``cls`` after the leaf is set to each probe value up to ``value``."""
    buf = bytearray(ctypes.sizeof(cls))
    for v in PROBE_VALUES[:PROBE_VALUES.index(value) + 1]:
        _store(buf, leaf, v)
    return buf.hex()


def ctypes_signed(leaf: Leaf) -> int:
    """1 if the leaf's ctypes type reads -1 back as negative."""
    obj = leaf.ctype()
    obj.value = -1
    return int(obj.value < 0)


def _alignment(cls: type) -> int:
    """C's _Alignof: a flexible array member's element counts (struct vhost_memory: 8)."""
    flex = getattr(cls, "_flex_", None)
    return max(ctypes.alignment(cls), ctypes.alignment(flex[1]) if flex else 1)


def _swap(order: str) -> str:
    if order == "big":
        return "(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)"
    if order == "little":
        return "(__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)"
    return "0"


def byte_order(ctype_name: Optional[str]) -> str:
    """The byte order a UAPI type name declares: ``__be*`` big, ``__le*``/``__virtio*`` little."""
    if ctype_name and ctype_name.startswith("__be"):
        return "big"
    if ctype_name and ctype_name.startswith(("__le", "__virtio")):
        return "little"
    return "native"


def struct_items(cls: type, c_types: Optional[Mapping[str, Mapping[str, str]]] = None
                 ) -> list[Expected]:
    """Everything the C program prints about struct ``cls`` (see the module docstring).

    ``c_types``: C struct name -> member name -> declared type name, from the
    headers (:func:`pyuapi.check.cside.member_types`); without it every leaf
    is taken as native byte order.
    """
    cname = cls._c_name_
    new = bool(getattr(cls, "_new_", False))
    ptr = f"(({cname} *)0)"

    def item(key: str, value: object, cexpr: str, stmt: bool = False) -> Expected:
        return Expected(key, value, new, cexpr, struct=cname, stmt=stmt)  # type: ignore[arg-type]

    items = [item(f"sizeof({cname})", ctypes.sizeof(cls), f"sizeof({cname})"),
             item(f"alignof({cname})", _alignment(cls), f"_Alignof({cname})")]
    for path, off, size in fields(cls):
        items.append(item(f"offsetof({cname}, {path})", off, f"offsetof({cname}, {path})"))
        items.append(item(f"sizeof({cname}.{path})", size, f"sizeof({ptr}->{path})"))
    for leaf in leaves(cls):
        declared = (c_types or {}).get(leaf.owner, {}).get(leaf.member)
        swap = _swap(byte_order(declared))
        if leaf.is_int:
            items.append(item(f"signed({cname}.{leaf.path})", ctypes_signed(leaf),
                              f"SIGNED({ptr}->{leaf.path})"))
        for i, v in enumerate(PROBE_VALUES):
            stores = " ".join(f"STORE(v_.{leaf.path}, {w}, {swap});"
                              for w in PROBE_VALUES[:i + 1])
            code = (f"{{ {cname} v_; memset(&v_, 0, sizeof(v_)); {stores} "
                    f"dump({{i}}, &v_, sizeof(v_)); }}")
            items.append(item(f"bytes({cname}.{leaf.path} = {v})", ctypes_bytes(cls, leaf, v),
                              code, stmt=True))
    flex = getattr(cls, "_flex_", None)
    if flex:
        fname, ftype = flex
        items.append(item(f"offsetof({cname}, {fname}[])", ctypes.sizeof(cls),
                          f"offsetof({cname}, {fname})"))
        items.append(item(f"sizeof({cname}.{fname}[0])", ctypes.sizeof(ftype),
                          f"sizeof({ptr}->{fname}[0])"))
    return items


def constant_items(constants: Mapping[str, tuple[int, bool]]) -> list[Expected]:
    """A macro per constant or ioctl number: (value, new UAPI) each."""
    return [Expected(name, value, new, f"(unsigned long long)({name})", macro=name)
            for name, (value, new) in sorted(constants.items())]


def all_leaves(structs: Sequence[type]) -> list[tuple[type, Leaf]]:
    """Every (struct, leaf) pair: what the probes cover (for reports and tests)."""
    return [(cls, leaf) for cls in structs for leaf in leaves(cls)]
