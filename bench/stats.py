# SPDX-License-Identifier: MIT
"""The statistics of `make bench` (issue 14): the median of per-round
ratios with its distribution-free 95% confidence interval (order
statistics of the binomial, no resampling, no assumption on the shape of
TCG's noise), and "resolved" when its half-width is at most RESOLVE of
the median."""

from __future__ import annotations

import math
import statistics

__all__ = ["RESOLVE", "interval", "median_ci"]

RESOLVE = 0.02


def median_ci(xs: list[float], conf: float = 0.95) -> tuple[float, float, float]:
    """(median, low, high): the median of *xs* and its distribution-free
    confidence interval, the order statistics x(k), x(n-k+1) with the
    largest k such that P(Binomial(n, 1/2) < k) <= (1 - conf) / 2."""
    s = sorted(xs)
    n = len(s)
    if n < 6:
        raise ValueError(f"{n} samples cannot give a 95% interval for the median (need 6)")
    tail, k = 0.0, 0
    while True:
        nxt = tail + math.comb(n, k) / 2 ** n
        if nxt > (1 - conf) / 2:
            break
        tail, k = nxt, k + 1
    # k order statistics lie below the interval with probability `tail`
    return statistics.median(s), s[max(k - 1, 0)], s[n - max(k, 1)]


def interval(xs: list[float]) -> dict:
    """median_ci() of *xs* as bench.json keeps it: median, 95% interval,
    half-width relative to the median, resolved (at most RESOLVE)."""
    med, lo, hi = median_ci(xs)
    half = (hi - lo) / 2 / med
    return {"median": round(med, 4), "ci95": [round(lo, 4), round(hi, 4)],
            "half_width": round(half, 4), "resolved": half <= RESOLVE}
