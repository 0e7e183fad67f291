# SPDX-License-Identifier: MIT
"""A steering eBPF program that picks the queue from the packet, for mode 5
of the datapath benchmark (TUNSETSTEERINGEBPF).

In the style of pyuapi/testkit/bpf.py: raw instructions (include/uapi/linux/bpf.h
struct bpf_insn, Documentation/bpf/standard/instruction-set.rst), loaded as
BPF_PROG_TYPE_SOCKET_FILTER.  tun runs it on the transmitted skb with
skb->data at the Ethernet header and uses ``r0 % numqueues``
(drivers/net/tun.c tun_ebpf_select_queue).  The legacy packet loads
(BPF_LD|BPF_ABS, BPF_LD|BPF_IND; r6 = ctx) read from the Ethernet header
on, and convert halfwords to host order:

    ethertype 0x0800: r0 = low byte of the TCP/UDP source port (IHL-aware)
    ethertype 0x86dd: next header TCP/UDP: low byte of the source port,
                      else the last byte of the source address
    anything else:    r0 = 0

It is what a user would write to spread flows without RSS: cheaper than a
Toeplitz hash in eBPF, so the comparison with in-kernel RSS is generous
to eBPF.
"""

from __future__ import annotations

import ctypes
import os
import platform

from pyuapi.testkit.bpf import (BPF_PROG_LOAD, BPF_PROG_TYPE_SOCKET_FILTER, BPF_SYSCALL_NR,
                        bpf_attr_prog_load, bpf_insn)
from pyuapi.sysio import libc

__all__ = ["PORT_PROG", "insn", "load_prog", "load_port_prog"]

# Opcodes (include/uapi/linux/bpf_common.h, bpf.h)
LD_ABS_B, LD_ABS_H, LD_IND_B = 0x30, 0x28, 0x50
MOV64_K, MOV64_X, AND64_K, LSH64_K = 0xB7, 0xBF, 0x57, 0x67
JEQ_K, EXIT = 0x15, 0x95

ETH_HLEN = 14


def insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> tuple[int, ...]:
    """One instruction as (code, regs, off, imm); ``regs`` is dst:4 | src:4 << 4."""
    return (code, (src << 4) | dst, off, imm)


PORT_PROG: tuple[tuple[int, ...], ...] = (
    insn(MOV64_X, dst=6, src=1),                  # 0: r6 = ctx (for LD_ABS/LD_IND)
    insn(LD_ABS_H, imm=12),                       # 1: r0 = ethertype
    insn(JEQ_K, dst=0, off=3, imm=0x0800),        # 2: -> 6
    insn(JEQ_K, dst=0, off=8, imm=0x86DD),        # 3: -> 12
    insn(MOV64_K, dst=0, imm=0),                  # 4
    insn(EXIT),                                   # 5
    insn(LD_ABS_B, imm=ETH_HLEN),                 # 6: r0 = version/IHL
    insn(AND64_K, dst=0, imm=0xF),                # 7
    insn(LSH64_K, dst=0, imm=2),                  # 8: r0 = IHL * 4
    insn(MOV64_X, dst=7, src=0),                  # 9: r7 = IPv4 header length
    insn(LD_IND_B, src=7, imm=ETH_HLEN + 1),      # 10: r0 = low byte of source port
    insn(EXIT),                                   # 11
    insn(LD_ABS_B, imm=ETH_HLEN + 6),             # 12: r0 = IPv6 next header
    insn(JEQ_K, dst=0, off=3, imm=6),             # 13: TCP -> 17
    insn(JEQ_K, dst=0, off=2, imm=17),            # 14: UDP -> 17
    insn(LD_ABS_B, imm=ETH_HLEN + 8 + 15),        # 15: last byte of source address
    insn(EXIT),                                   # 16
    insn(LD_ABS_B, imm=ETH_HLEN + 40 + 1),        # 17: low byte of source port
    insn(EXIT),                                   # 18
)


def port_queue(frame: bytes) -> int:
    """What PORT_PROG returns for *frame* (before ``% numqueues``): its model."""
    ethertype = int.from_bytes(frame[12:14], "big")
    if ethertype == 0x0800:
        return frame[ETH_HLEN + (frame[ETH_HLEN] & 0xF) * 4 + 1]
    if ethertype == 0x86DD:
        if frame[ETH_HLEN + 6] in (6, 17):
            return frame[ETH_HLEN + 41]
        return frame[ETH_HLEN + 8 + 15]
    return 0


def load_prog(prog: tuple[tuple[int, ...], ...]) -> int:
    """bpf(BPF_PROG_LOAD) of *prog* as a socket filter (as pyuapi.testkit.bpf.load_const_prog);
    returns its fd; OSError with the verifier log on failure."""
    nr = BPF_SYSCALL_NR.get(platform.machine())
    if nr is None:
        raise OSError(95, f"bpf(2) syscall number unknown for {platform.machine()}")
    insns = (bpf_insn * len(prog))(*(bpf_insn(*i) for i in prog))
    lic = ctypes.create_string_buffer(b"GPL")
    log = ctypes.create_string_buffer(65536)
    attr = bpf_attr_prog_load(prog_type=BPF_PROG_TYPE_SOCKET_FILTER, insn_cnt=len(prog),
                              insns=ctypes.addressof(insns), license=ctypes.addressof(lic),
                              log_level=1, log_size=len(log), log_buf=ctypes.addressof(log))
    ctypes.set_errno(0)
    fd = libc.syscall(ctypes.c_long(nr), ctypes.c_int(BPF_PROG_LOAD), ctypes.byref(attr),
                      ctypes.c_uint(ctypes.sizeof(attr)))
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"bpf(BPF_PROG_LOAD): {os.strerror(err)}\n"
                           f"{log.value.decode(errors='replace')}")
    return int(fd)


def load_port_prog() -> int:
    """Load PORT_PROG; returns its fd (close it after TUNSETSTEERINGEBPF)."""
    return load_prog(PORT_PROG)
