# SPDX-License-Identifier: MIT
"""Minimal eBPF programs: a steering program for TUNSETSTEERINGEBPF, and XDP ones.

Loads ``r0 = queue; exit`` as BPF_PROG_TYPE_SOCKET_FILTER with bpf(2)
BPF_PROG_LOAD (include/uapi/linux/bpf.h: struct bpf_insn, the
BPF_PROG_LOAD member of union bpf_attr).  tun steers each packet to
``return value % numqueues`` (drivers/net/tun.c tun_ebpf_select_queue).
"""

from __future__ import annotations

import ctypes
import os
import platform
from typing import Sequence

from ..sysio import libc
from ..uapi.layout import CheckedStructure

__all__ = ["load_prog", "load_const_prog", "load_xdp_action", "load_xdp_redirect",
           "create_devmap", "load_xdp_redirect_map",
           "BPF_SYSCALL_NR", "XDP_TX", "XDP_PASS", "XDP_DROP", "XDP_REDIRECT"]

# bpf(2) syscall numbers (arch/*/entry/syscalls, include/uapi/asm-generic/unistd.h)
BPF_SYSCALL_NR: dict[str, int] = {
    "x86_64": 321, "i386": 357, "i686": 357, "aarch64": 280, "riscv64": 280,
    "loongarch64": 280, "armv7l": 386, "ppc64le": 361, "ppc64": 361, "s390x": 351,
}
BPF_MAP_CREATE, BPF_MAP_UPDATE_ELEM, BPF_PROG_LOAD = 0, 2, 5   # enum bpf_cmd
BPF_MAP_TYPE_DEVMAP = 14        # enum bpf_map_type
BPF_FUNC_redirect_map = 51      # enum bpf_func_id
LD_IMM64 = 0x18                 # BPF_LD | BPF_DW | BPF_IMM, two instructions
BPF_PSEUDO_MAP_FD = 1           # src_reg of LD_IMM64: imm is a map fd
BPF_PROG_TYPE_SOCKET_FILTER = 1
BPF_PROG_TYPE_XDP = 6
BPF_FUNC_redirect = 23          # enum bpf_func_id
XDP_DROP, XDP_PASS, XDP_TX, XDP_REDIRECT = 1, 2, 3, 4   # enum xdp_action

# Opcodes (include/uapi/linux/bpf.h, bpf_common.h) and the regs byte
# (dst_reg in the low nibble) of the few instructions used here.
MOV64_IMM = 0xB7                # BPF_ALU64 | BPF_MOV | BPF_K
CALL = 0x85                     # BPF_JMP | BPF_CALL
EXIT = 0x95                     # BPF_JMP | BPF_EXIT
R0, R1, R2, R3 = 0, 1, 2, 3


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


class bpf_attr_map_create(CheckedStructure):
    """include/uapi/linux/bpf.h: union bpf_attr, the BPF_MAP_CREATE members up to map_flags."""

    _fields_ = [("map_type", ctypes.c_uint32), ("key_size", ctypes.c_uint32),
                ("value_size", ctypes.c_uint32), ("max_entries", ctypes.c_uint32),
                ("map_flags", ctypes.c_uint32)]


class bpf_attr_map_elem(CheckedStructure):
    """include/uapi/linux/bpf.h: union bpf_attr, the BPF_MAP_*_ELEM members."""

    _fields_ = [("map_fd", ctypes.c_uint32), ("pad", ctypes.c_uint32), ("key", ctypes.c_uint64),
                ("value", ctypes.c_uint64), ("flags", ctypes.c_uint64)]


def _bpf(cmd: int, attr: ctypes.Structure, what: str) -> int:
    """bpf(2) ``cmd`` with ``attr``; its non-negative return, else OSError naming ``what``."""
    nr = BPF_SYSCALL_NR.get(platform.machine())
    if nr is None:
        raise OSError(95, f"bpf(2) syscall number unknown for {platform.machine()}")
    ctypes.set_errno(0)
    rc = libc.syscall(ctypes.c_long(nr), ctypes.c_int(cmd), ctypes.byref(attr),
                      ctypes.c_uint(ctypes.sizeof(attr)))
    if rc < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"bpf({what}): {os.strerror(err)}")
    return int(rc)


def create_devmap(ifindexes: Sequence[int]) -> int:
    """A BPF_MAP_TYPE_DEVMAP whose entry i is ``ifindexes[i]``; its fd (kernel/bpf/devmap.c)."""
    fd = _bpf(BPF_MAP_CREATE, bpf_attr_map_create(BPF_MAP_TYPE_DEVMAP, 4, 4, len(ifindexes), 0),
              "BPF_MAP_CREATE devmap")
    for i, ifindex in enumerate(ifindexes):
        key, value = ctypes.c_uint32(i), ctypes.c_uint32(ifindex)
        try:
            _bpf(BPF_MAP_UPDATE_ELEM, bpf_attr_map_elem(fd, 0, ctypes.addressof(key),
                                                        ctypes.addressof(value), 0),
                 "BPF_MAP_UPDATE_ELEM devmap")
        except OSError:
            os.close(fd)
            raise
    return fd


def load_prog(prog_type: int, insns: Sequence[tuple[int, int, int]]) -> int:
    """BPF_PROG_LOAD of ``insns`` ((code, regs, imm) each, off 0) as ``prog_type``; its fd.

    include/uapi/linux/bpf.h: union bpf_attr's BPF_PROG_LOAD members; the
    verifier log is not asked for, the errno says what failed.
    """
    nr = BPF_SYSCALL_NR.get(platform.machine())
    if nr is None:
        raise OSError(95, f"bpf(2) syscall number unknown for {platform.machine()}")
    prog = (bpf_insn * len(insns))(*(bpf_insn(code, regs, 0, imm) for code, regs, imm in insns))
    lic = ctypes.create_string_buffer(b"GPL")
    attr = bpf_attr_prog_load(prog_type=prog_type, insn_cnt=len(insns),
                              insns=ctypes.addressof(prog), license=ctypes.addressof(lic))
    ctypes.set_errno(0)
    fd = libc.syscall(ctypes.c_long(nr), ctypes.c_int(BPF_PROG_LOAD), ctypes.byref(attr),
                      ctypes.c_uint(ctypes.sizeof(attr)))
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"bpf(BPF_PROG_LOAD) of a type {prog_type} program: "
                           f"{os.strerror(err)}")
    return int(fd)


def load_const_prog(ret: int) -> int:
    """Load ``r0 = ret; exit`` (BPF_ALU64|BPF_MOV|BPF_K, BPF_JMP|BPF_EXIT); return its fd."""
    return load_prog(BPF_PROG_TYPE_SOCKET_FILTER, [(MOV64_IMM, R0, ret), (EXIT, 0, 0)])


def load_xdp_action(action: int) -> int:
    """An XDP program that returns ``action`` (enum xdp_action: XDP_TX...) for every frame."""
    return load_prog(BPF_PROG_TYPE_XDP, [(MOV64_IMM, R0, action), (EXIT, 0, 0)])


def load_xdp_redirect(ifindex: int) -> int:
    """An XDP program that redirects every frame to ``ifindex``: ``bpf_redirect(ifindex, 0)``.

    Without a map, XDP_REDIRECT to a device goes through its ndo_xdp_xmit
    (net/core/filter.c xdp_do_redirect, kernel/bpf/devmap.c dev_xdp_enqueue).
    """
    return load_prog(BPF_PROG_TYPE_XDP, [(MOV64_IMM, R1, ifindex), (MOV64_IMM, R2, 0),
                                         (CALL, 0, BPF_FUNC_redirect), (EXIT, 0, 0)])


def load_xdp_redirect_map(map_fd: int, key: int = 0) -> int:
    """An XDP program that redirects every frame through entry ``key`` of the
    devmap ``map_fd``: ``bpf_redirect_map(map, key, 0)`` (kernel/bpf/devmap.c
    dev_map_enqueue, then the device's ndo_xdp_xmit).  The map is named by a
    two-instruction LD_IMM64 with src_reg BPF_PSEUDO_MAP_FD."""
    return load_prog(BPF_PROG_TYPE_XDP, [(LD_IMM64, (BPF_PSEUDO_MAP_FD << 4) | R1, map_fd),
                                         (0, 0, 0), (MOV64_IMM, R2, key), (MOV64_IMM, R3, 0),
                                         (CALL, 0, BPF_FUNC_redirect_map), (EXIT, 0, 0)])
