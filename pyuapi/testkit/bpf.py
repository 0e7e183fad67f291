# SPDX-License-Identifier: MIT
"""A minimal steering eBPF program for TUNSETSTEERINGEBPF.

Loads ``r0 = queue; exit`` as BPF_PROG_TYPE_SOCKET_FILTER with bpf(2)
BPF_PROG_LOAD (include/uapi/linux/bpf.h: struct bpf_insn, the
BPF_PROG_LOAD member of union bpf_attr).  tun steers each packet to
``return value % numqueues`` (drivers/net/tun.c tun_ebpf_select_queue).
"""

from __future__ import annotations

import ctypes
import os
import platform

from ..sysio import libc
from ..uapi.layout import CheckedStructure

__all__ = ["load_const_prog", "BPF_SYSCALL_NR"]

# bpf(2) syscall numbers (arch/*/entry/syscalls, include/uapi/asm-generic/unistd.h)
BPF_SYSCALL_NR: dict[str, int] = {
    "x86_64": 321, "i386": 357, "i686": 357, "aarch64": 280, "riscv64": 280,
    "loongarch64": 280, "armv7l": 386, "ppc64le": 361, "ppc64": 361, "s390x": 351,
}
BPF_PROG_LOAD = 5
BPF_PROG_TYPE_SOCKET_FILTER = 1


class bpf_insn(CheckedStructure):
    """include/uapi/linux/bpf.h: struct bpf_insn; dst_reg:4/src_reg:4 as one byte ``regs``.

    ``regs`` is two C bit fields, which offsetof cannot name: the checker
    skips it (``_c_absent_fields_``) and checks the others.
    """

    _c_name_ = "struct bpf_insn"
    _c_header_ = "linux/bpf.h"
    _c_absent_fields_ = ("regs",)
    _fields_ = [("code", ctypes.c_uint8), ("regs", ctypes.c_uint8), ("off", ctypes.c_int16),
                ("imm", ctypes.c_int32)]


class bpf_attr_prog_load(CheckedStructure):
    """include/uapi/linux/bpf.h: union bpf_attr, the BPF_PROG_LOAD members up to prog_flags."""

    _fields_ = [
        ("prog_type", ctypes.c_uint32), ("insn_cnt", ctypes.c_uint32),
        ("insns", ctypes.c_uint64), ("license", ctypes.c_uint64),
        ("log_level", ctypes.c_uint32), ("log_size", ctypes.c_uint32),
        ("log_buf", ctypes.c_uint64), ("kern_version", ctypes.c_uint32),
        ("prog_flags", ctypes.c_uint32),
    ]


def load_const_prog(ret: int) -> int:
    """Load ``r0 = ret; exit`` (BPF_ALU64|BPF_MOV|BPF_K, BPF_JMP|BPF_EXIT); return its fd."""
    nr = BPF_SYSCALL_NR.get(platform.machine())
    if nr is None:
        raise OSError(95, f"bpf(2) syscall number unknown for {platform.machine()}")
    insns = (bpf_insn * 2)(bpf_insn(0xB7, 0, 0, ret), bpf_insn(0x95, 0, 0, 0))
    lic = ctypes.create_string_buffer(b"GPL")
    attr = bpf_attr_prog_load(prog_type=BPF_PROG_TYPE_SOCKET_FILTER, insn_cnt=2,
                              insns=ctypes.addressof(insns), license=ctypes.addressof(lic))
    ctypes.set_errno(0)
    fd = libc.syscall(ctypes.c_long(nr), ctypes.c_int(BPF_PROG_LOAD), ctypes.byref(attr),
                      ctypes.c_uint(ctypes.sizeof(attr)))
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"bpf(BPF_PROG_LOAD): {os.strerror(err)}")
    return int(fd)
