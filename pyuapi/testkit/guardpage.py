# SPDX-License-Identifier: MIT
"""User memory with a guard page, to hand the kernel a pointer that faults
part-way (EFAULT tests: docs/design.md "bad user pointer anywhere in the
payload (header or table)").

Mirrors mmap(2) and mprotect(2).
"""

from __future__ import annotations

import ctypes
import mmap as _mmap

from ..sysio import libc, raise_errno

__all__ = ["GuardedBuffer"]

PROT_NONE, PROT_READ, PROT_WRITE = 0, 1, 2
MAP_PRIVATE, MAP_ANONYMOUS = 0x02, 0x20
MAP_FAILED = ctypes.c_void_p(-1).value


class GuardedBuffer:
    """Readable pages followed by one PROT_NONE page (mmap(2), mprotect(2)).

    :meth:`place` writes a payload so that byte ``fault_at`` of it would be
    the first byte of the guard page and returns the payload's address: the
    kernel can read ``payload[:fault_at]`` and faults on the rest.
    """

    def __init__(self, size: int = 4096) -> None:
        page = _mmap.PAGESIZE
        self.data_len = (size + page - 1) // page * page
        self.total = self.data_len + page
        addr = libc.mmap(None, self.total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                         -1, 0)
        if addr in (None, MAP_FAILED):
            raise_errno("mmap")
        self.base: int = addr
        if libc.mprotect(self.base + self.data_len, page, PROT_NONE) != 0:
            libc.munmap(self.base, self.total)
            raise_errno("mprotect")

    @property
    def guard(self) -> int:
        """Address of the first unreadable byte."""
        return self.base + self.data_len

    def place(self, payload: bytes, fault_at: int) -> int:
        """Copy ``payload[:fault_at]`` to end at the guard page; return where the payload starts."""
        if not 0 <= fault_at <= min(len(payload), self.data_len):
            raise ValueError("fault_at must be within the payload and the readable pages")
        start = self.guard - fault_at
        ctypes.memmove(start, payload[:fault_at], fault_at)
        return start

    def close(self) -> None:
        """munmap(2) the pages."""
        if self.base:
            libc.munmap(self.base, self.total)
            self.base = 0

    def __enter__(self) -> "GuardedBuffer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
