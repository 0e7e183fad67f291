# SPDX-License-Identifier: MIT
"""A ctypes.Structure base that refuses implicit padding.

The kernel's UAPI rule (Documentation/process/botching-up-ioctls.rst, "pad
the structure to a multiple of 64 bits ... and make all padding explicit")
is enforced when each class is created:

* every field must start exactly where the previous one ended, and the sum
  of the field sizes must equal ``sizeof`` (no hole, no tail padding);
* pad bytes are explicit fields whose name starts with ``pad`` or
  ``reserved``; :meth:`CheckedStructure.pack` refuses to serialise a struct
  whose pad fields are not zero (the kernel side must be able to reject
  non-zero pads for future use).

A class may describe a C flexible array member with ``_flex_ = (name,
ctypes element type)``; it starts at ``sizeof`` (checked against C by
:mod:`pyuapi.check`).
"""

from __future__ import annotations

import ctypes
from typing import Any, Iterator

__all__ = ["CheckedStructure", "LayoutError", "is_pad_name", "iter_layout"]

_StructMeta = type(ctypes.Structure)


class LayoutError(TypeError):
    """A ctypes struct has implicit padding (raised at class creation)."""


def is_pad_name(name: str) -> bool:
    """True for explicit padding fields: names starting with ``pad`` or ``reserved``."""
    return name.startswith("pad") or name.startswith("reserved")


def iter_layout(cls: type) -> Iterator[tuple[str, int, int]]:
    """Yield (field name, offset, size) for each field of a ctypes struct, in order."""
    for entry in cls._fields_:
        name = entry[0]
        if len(entry) > 2:
            raise LayoutError(f"{cls.__name__}.{name}: bit fields are not supported")
        desc = getattr(cls, name)
        yield name, desc.offset, desc.size


def _base_size(cls: type) -> int:
    """Bytes taken by fields inherited from a ctypes struct base class."""
    for base in cls.__mro__[1:]:
        if issubclass(base, ctypes.Structure) and "_fields_" in base.__dict__:
            return ctypes.sizeof(base)
    return 0


def _check_layout(cls: type) -> None:
    expected = _base_size(cls)
    for name, offset, size in iter_layout(cls):
        if offset != expected:
            raise LayoutError(
                f"struct {cls.__name__}: field {name!r} at offset {offset}, previous field "
                f"ends at {expected}: {offset - expected} byte(s) of implicit padding; "
                f"add an explicit pad/reserved field")
        expected = offset + size
    total = ctypes.sizeof(cls)
    if total != expected:
        last = cls._fields_[-1][0] if cls._fields_ else "<none>"
        raise LayoutError(
            f"struct {cls.__name__}: fields end at {expected} (after {last!r}) but sizeof is "
            f"{total}: {total - expected} byte(s) of implicit tail padding; add an explicit "
            f"pad/reserved field")


class _CheckedMeta(_StructMeta):
    def __init__(cls, name: str, bases: tuple, ns: dict, **kw: Any) -> None:
        super().__init__(name, bases, ns, **kw)
        if "_fields_" in ns:
            if "_pack_" in ns and not ns.get("_packed_header_", False):
                raise LayoutError(
                    f"struct {name}: _pack_ is only for C structs declared "
                    "__attribute__((packed)); say so with _packed_header_ = True")
            _check_layout(cls)


class CheckedStructure(ctypes.Structure, metaclass=_CheckedMeta):
    """ctypes.Structure without implicit padding, with checked pad fields."""

    def pad_errors(self) -> list[str]:
        """Names (with their value) of pad/reserved fields that are not all zero, nested too."""
        bad = []
        for name, _off, _size in iter_layout(type(self)):
            value = getattr(self, name)
            if isinstance(value, CheckedStructure):
                bad += [f"{name}.{b}" for b in value.pad_errors()]
                continue
            if not is_pad_name(name):
                continue
            raw = bytes(value) if not isinstance(value, int) else value.to_bytes(8, "little")
            if any(raw):
                bad.append(f"{name}={raw.hex() if not isinstance(value, int) else value}")
        return bad

    def pack(self) -> bytes:
        """The struct's bytes for the kernel; ValueError if a pad/reserved field is not zero.

        Mirrors the UAPI convention that pad fields are written as zero
        (docs/design.md: ``pad`` "must be zero (EINVAL)").
        """
        bad = self.pad_errors()
        if bad:
            raise ValueError(f"struct {type(self).__name__}: non-zero padding {', '.join(bad)}")
        return bytes(self)

    def pack_unchecked(self) -> bytes:
        """The struct's bytes without the pad check: only for tests that expect EINVAL."""
        return bytes(self)

    @classmethod
    def unpack(cls, data: bytes) -> "CheckedStructure":
        """Build the struct from exactly ``sizeof`` bytes (or the first ``sizeof`` of ``data``)."""
        n = ctypes.sizeof(cls)
        if len(data) < n:
            raise ValueError(f"struct {cls.__name__}: need {n} bytes, got {len(data)}")
        return cls.from_buffer_copy(bytes(data[:n]))

    def __repr__(self) -> str:
        parts = []
        for name, _o, _s in iter_layout(type(self)):
            v = getattr(self, name)
            if isinstance(v, ctypes.Array):
                v = bytes(v).hex() if ctypes.sizeof(v._type_) == 1 else list(v)
            elif isinstance(v, bytes):
                v = v.hex()
            parts.append(f"{name}={v!r}")
        return f"{type(self).__name__}({', '.join(parts)})"
