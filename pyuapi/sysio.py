# SPDX-License-Identifier: MIT
"""Raw system calls through libc (ctypes): ioctl with a pointer or a value,
and errno kept per call.  ``fcntl.ioctl`` limits integer arguments to a C
int and buffers to 1024 bytes; tun ioctls need real pointers (and, for
EFAULT tests, arbitrary addresses).

Mirrors ioctl(2), unshare(2), setns(2), mmap(2)/mprotect(2), syscall(2).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from typing import Union

__all__ = ["libc", "ioctl", "raise_errno", "Arg"]

libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p]
libc.ioctl.restype = ctypes.c_int
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
libc.mmap.restype = ctypes.c_void_p
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
libc.unshare.argtypes = [ctypes.c_int]
libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
libc.syscall.restype = ctypes.c_long

Arg = Union[int, ctypes.Array, ctypes.Structure, ctypes.Union, None]


def raise_errno(what: str) -> None:
    """Raise OSError from the errno of the last libc call (errno(3))."""
    err = ctypes.get_errno()
    raise OSError(err, f"{what}: {os.strerror(err)}")


def ioctl(fd: int, request: int, arg: Arg = None) -> int:
    """ioctl(2): ``arg`` is a ctypes object (passed by address) or an int (passed as the value).

    Returns the non-negative result; on failure returns ``-errno`` (the
    caller names the ioctl in the exception, see :mod:`pyuapi.errors`).
    """
    if arg is None:
        ptr = None
    elif isinstance(arg, int):
        ptr = arg
    else:
        ptr = ctypes.addressof(arg)
    ctypes.set_errno(0)
    ret = libc.ioctl(fd, request, ptr)
    if ret < 0:
        return -ctypes.get_errno()
    return ret
