# SPDX-License-Identifier: MIT
"""ioctl request numbers, computed like the kernel's _IOC macros.

Mirrors include/uapi/asm-generic/ioctl.h (``_IOC``, ``_IO``, ``_IOR``,
``_IOW``, ``_IOWR``) and the per-architecture overrides in
arch/{powerpc,mips,sparc,alpha,parisc}/include/uapi/asm/ioctl.h.  The
architecture differences are data (:data:`ENCODINGS`), not branches.
Sizes come from :func:`ctypes.sizeof` of the argument type, exactly as the C
macros use ``sizeof``.
"""

from __future__ import annotations

import ctypes
import platform
from dataclasses import dataclass
from typing import Union

__all__ = [
    "IocEncoding", "ENCODINGS", "encoding_for_machine", "NATIVE",
    "IOC", "IO", "IOR", "IOW", "IOWR", "ioc_decode",
]

SizeArg = Union[int, type]


@dataclass(frozen=True)
class IocEncoding:
    """One architecture's ioctl number layout.

    include/uapi/asm-generic/ioctl.h: _IOC_NRBITS, _IOC_TYPEBITS,
    _IOC_SIZEBITS, _IOC_DIRBITS, _IOC_NONE, _IOC_WRITE, _IOC_READ.
    """

    name: str
    sizebits: int
    dirbits: int
    none: int
    write: int
    read: int
    nrbits: int = 8
    typebits: int = 8

    @property
    def nrshift(self) -> int:
        """asm-generic/ioctl.h: _IOC_NRSHIFT."""
        return 0

    @property
    def typeshift(self) -> int:
        """asm-generic/ioctl.h: _IOC_TYPESHIFT."""
        return self.nrshift + self.nrbits

    @property
    def sizeshift(self) -> int:
        """asm-generic/ioctl.h: _IOC_SIZESHIFT."""
        return self.typeshift + self.typebits

    @property
    def dirshift(self) -> int:
        """asm-generic/ioctl.h: _IOC_DIRSHIFT."""
        return self.sizeshift + self.sizebits


# Values from include/uapi/asm-generic/ioctl.h and the arch overrides of
# Linux 6.12 (arch/*/include/uapi/asm/ioctl.h).
ENCODINGS: dict[str, IocEncoding] = {
    "generic": IocEncoding("generic", sizebits=14, dirbits=2, none=0, write=1, read=2),
    "powerpc": IocEncoding("powerpc", sizebits=13, dirbits=3, none=1, write=4, read=2),
    "mips": IocEncoding("mips", sizebits=13, dirbits=3, none=1, write=4, read=2),
    "sparc": IocEncoding("sparc", sizebits=13, dirbits=3, none=1, write=4, read=2),
    "alpha": IocEncoding("alpha", sizebits=13, dirbits=3, none=1, write=4, read=2),
    "parisc": IocEncoding("parisc", sizebits=14, dirbits=2, none=0, write=2, read=1),
}

# platform.machine() prefixes -> encoding name; anything else is generic
# (x86, arm, arm64, riscv, s390, loongarch ... use asm-generic unchanged).
_MACHINE_PREFIXES: tuple[tuple[str, str], ...] = (
    ("ppc", "powerpc"), ("powerpc", "powerpc"), ("mips", "mips"),
    ("sparc", "sparc"), ("alpha", "alpha"), ("parisc", "parisc"),
)


def encoding_for_machine(machine: str) -> IocEncoding:
    """The encoding used by a ``uname -m`` machine name (arch/*/include/uapi/asm/ioctl.h)."""
    m = machine.lower()
    for prefix, name in _MACHINE_PREFIXES:
        if m.startswith(prefix):
            return ENCODINGS[name]
    return ENCODINGS["generic"]


NATIVE: IocEncoding = encoding_for_machine(platform.machine())


def _size_of(size: SizeArg) -> int:
    if isinstance(size, int):
        return size
    return ctypes.sizeof(size)


def _type_of(typ: Union[str, int]) -> int:
    if isinstance(typ, str):
        if len(typ) != 1:
            raise ValueError(f"ioctl type must be one character, got {typ!r}")
        return ord(typ)
    return typ


def IOC(direction: int, typ: Union[str, int], nr: int, size: SizeArg,
        enc: IocEncoding = NATIVE) -> int:
    """asm-generic/ioctl.h: _IOC(dir, type, nr, size), with range checks.

    ``direction`` is a combination of ``enc.none``/``enc.read``/``enc.write``.
    Each field must fit its bit width, which the C macro does not check.
    """
    t = _type_of(typ)
    s = _size_of(size)
    for field, value, bits in (("dir", direction, enc.dirbits), ("type", t, enc.typebits),
                               ("nr", nr, enc.nrbits), ("size", s, enc.sizebits)):
        if not 0 <= value < (1 << bits):
            raise ValueError(f"ioctl {field}={value} does not fit {bits} bits ({enc.name})")
    return ((direction << enc.dirshift) | (t << enc.typeshift)
            | (nr << enc.nrshift) | (s << enc.sizeshift))


def IO(typ: Union[str, int], nr: int, enc: IocEncoding = NATIVE) -> int:
    """asm-generic/ioctl.h: _IO(type, nr)."""
    return IOC(enc.none, typ, nr, 0, enc)


def IOR(typ: Union[str, int], nr: int, size: SizeArg, enc: IocEncoding = NATIVE) -> int:
    """asm-generic/ioctl.h: _IOR(type, nr, size); ``size`` is a ctypes type or a byte count."""
    return IOC(enc.read, typ, nr, size, enc)


def IOW(typ: Union[str, int], nr: int, size: SizeArg, enc: IocEncoding = NATIVE) -> int:
    """asm-generic/ioctl.h: _IOW(type, nr, size); ``size`` is a ctypes type or a byte count."""
    return IOC(enc.write, typ, nr, size, enc)


def IOWR(typ: Union[str, int], nr: int, size: SizeArg, enc: IocEncoding = NATIVE) -> int:
    """asm-generic/ioctl.h: _IOWR(type, nr, size); ``size`` is a ctypes type or a byte count."""
    return IOC(enc.read | enc.write, typ, nr, size, enc)


def ioc_decode(request: int, enc: IocEncoding = NATIVE) -> tuple[int, int, int, int]:
    """asm-generic/ioctl.h: _IOC_DIR, _IOC_TYPE, _IOC_NR, _IOC_SIZE -> (dir, type, nr, size)."""
    def _field(shift: int, bits: int) -> int:
        return (request >> shift) & ((1 << bits) - 1)
    return (_field(enc.dirshift, enc.dirbits), _field(enc.typeshift, enc.typebits),
            _field(enc.nrshift, enc.nrbits), _field(enc.sizeshift, enc.sizebits))
