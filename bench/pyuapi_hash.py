# SPDX-License-Identifier: MIT
"""Throughput of pyuapi.rss.hash_frame on IPv6/TCP frames (not a timed test).

Usage: python3 bench/pyuapi_hash.py [--n 200000] [--frames 1024]
Prints hashes per second for hash_frame (parse + Toeplitz) and toeplitz alone.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyuapi.testkit import packets as P  # noqa: E402
from pyuapi import rss  # noqa: E402
from pyuapi.uapi import virtio_net as V  # noqa: E402


def main() -> int:
    """Run the benchmark; see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200_000, help="hashes per measurement")
    ap.add_argument("--frames", type=int, default=1024, help="distinct frames cycled")
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs")
    args = ap.parse_args()
    rng = random.Random(0)
    frames = []
    for _ in range(args.frames):
        s, d = rng.randbytes(16), rng.randbytes(16)
        frames.append(P.ether(P.ipv6(s, d, 6, P.tcp(s, d, rng.randrange(65536),
                                                     rng.randrange(65536))), P.ETH_P_IPV6))
    key = rss.MS_KEY
    types = V.VIRTIO_NET_RSS_HASH_TYPE_ALL
    inputs = [rss.hash_input(f, types)[1] for f in frames]
    n = args.n
    work = (frames * (n // len(frames) + 1))[:n]
    data = (inputs * (n // len(inputs) + 1))[:n]
    hash_frame, toeplitz = rss.hash_frame, rss.toeplitz
    assert hash_frame(frames[0], types, key)[1] == V.VIRTIO_NET_HASH_REPORT_TCPv6

    def best(fn) -> float:
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    t_frame = best(lambda: [hash_frame(f, types, key) for f in work])
    t_toep = best(lambda: [toeplitz(key, x) for x in data])
    print(f"hash_frame IPv6/TCP: {n / t_frame:,.0f} hashes/s ({t_frame / n * 1e6:.2f} us each)")
    print(f"toeplitz 36 bytes:   {n / t_toep:,.0f} hashes/s ({t_toep / n * 1e6:.2f} us each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
