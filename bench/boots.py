# SPDX-License-Identifier: MIT
"""The in-kernel cost per packet over several boots (issue 14, "two
consecutive runs give ratios that fall within each other's intervals").

Within one boot, bench/pktcost.py resolves each ratio to about 1%; between
two boots of the same kernel on TCG the ratios moved by 1-4% (and the
absolute ns per packet by 1.8x), so an interval over one boot's rounds
does not cover the next boot.  ``make bench`` therefore times the cost in
BENCH_COST_BOOTS boots (default DEFAULT_BOOTS) and reports, per ratio, the
median of the boots' medians with the same distribution-free interval as
within a boot (stats.median_ci(): with 6 boots, their lowest and highest
median, a 96.9% interval): resolved when its half-width is at most
RESOLVE of the median.  One boot (BENCH_COST_BOOTS=1) keeps the
within-boot interval alone; 2 to 5 boots give no interval, and are refused.
"""

from __future__ import annotations

from .stats import interval

__all__ = ["DEFAULT_BOOTS", "MIN_BOOTS", "MAX_BOOTS", "across", "combine", "parse_boots"]

DEFAULT_BOOTS = 6
MIN_BOOTS = 6       # the fewest samples median_ci() gives a 95% interval for
MAX_BOOTS = 20


def parse_boots(text: str) -> int:
    """BENCH_COST_BOOTS: 1, or MIN_BOOTS..MAX_BOOTS ("" for DEFAULT_BOOTS);
    ValueError naming the allowed values."""
    if not text.strip():
        return DEFAULT_BOOTS
    n = int(text) if text.strip().isdigit() else 0
    if n == 1 or MIN_BOOTS <= n <= MAX_BOOTS:
        return n
    raise ValueError(f"BENCH_COST_BOOTS={text!r}: use 1 (one boot, its own interval) or "
                     f"{MIN_BOOTS} to {MAX_BOOTS} (default {DEFAULT_BOOTS})")


def across(values: list[float]) -> dict:
    """The median of *values* (one per boot) and its 95% interval."""
    return {**interval(values), "per_boot": [round(v, 4) for v in values]}


def combine(costs: list[dict]) -> dict:
    """Across the pktcost results of several boots (bench/pktcost.py
    time_rounds()): each mode's ratio to automq, carry/rehash, and the
    series over the base kernel with the feature off."""
    modes = {m for c in costs for m, v in c["modes"].items() if v.get("ratio_to_automq")}
    out: dict = {"boots": len(costs), "modes": {}}
    for mode in sorted(modes):
        per_boot = [c["modes"][mode]["ratio_to_automq"]["median"] for c in costs]
        out["modes"][mode] = {"ratio_to_automq": across(per_boot)}
    if all(c.get("parts") for c in costs):
        out["carry_over_rehash"] = across(
            [c["parts"]["carry_over_rehash"]["median"] for c in costs])
    if all(c.get("off") for c in costs):
        out["off_series_over_base"] = across(
            [c["off"]["series_over_base"]["median"] for c in costs])
    return out
