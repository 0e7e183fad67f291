# SPDX-License-Identifier: MIT
"""The kernel-side hash cost: the lines bench/kernel/0001's boot-time
microbenchmark (CONFIG_VIRTIO_NET_HASH_BENCH, net/core/virtio_net_hash_bench.c)
prints on the console, parsed into a table.

    virtio_net_hash_bench: impl=nibble tuple=ipv6-tcp best_ns=1.2 median_ns=1.3 iters=20000 rounds=7
    virtio_net_hash_bench: impl=bitwise tuple=ipv4-tcp MISMATCH hash 0x... expected 0x...
"""

from __future__ import annotations

import re

__all__ = ["parse", "IMPLS"]

IMPLS = ("bitwise", "nibble", "byte", "eth", "skb")
_LINE = re.compile(r"virtio_net_hash_bench: impl=(?P<impl>\S+) tuple=(?P<tuple>\S+) "
                   r"best_ns=(?P<best>[\d.]+) median_ns=(?P<median>[\d.]+) "
                   r"iters=(?P<iters>\d+) rounds=(?P<rounds>\d+)")
_BAD = re.compile(r"virtio_net_hash_bench: impl=(?P<impl>\S+) tuple=(?P<tuple>\S+) MISMATCH(?P<rest>.*)")


def parse(console: str) -> dict:
    """{"cases": [{impl, tuple, best_ns, median_ns, iters, rounds}], "mismatches": [...],
    "ran": bool} from a kernel console log."""
    cases, bad = [], []
    for line in console.splitlines():
        if m := _LINE.search(line):
            cases.append({"impl": m["impl"], "tuple": m["tuple"], "best_ns": float(m["best"]),
                          "median_ns": float(m["median"]), "iters": int(m["iters"]),
                          "rounds": int(m["rounds"])})
        elif m := _BAD.search(line):
            bad.append(f"{m['impl']} {m['tuple']}:{m['rest']}")
    return {"ran": "virtio_net_hash_bench: done" in console, "cases": cases, "mismatches": bad}


def ns(result: dict, impl: str, tuple_: str) -> float | None:
    """The median ns/hash of one case, None if it did not run."""
    for c in result.get("cases", []):
        if c["impl"] == impl and c["tuple"] == tuple_:
            return c["median_ns"]
    return None
