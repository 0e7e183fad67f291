# SPDX-License-Identifier: MIT
"""The PNG chart of `make bench`: the in-kernel cost per packet of each mode
over automq's, with its 95% confidence interval (bench/pktcost.py; the
target line at +5%), carrying the hash against computing it again, and
the feature compiled in but off against the base kernel's functions;
the datapath's CPU per delivered frame at the fixed offered load (bench/
datapath.py; median with min-max bars, the per-round ratio to automq on
top); and the kernel hash cost per implementation (best round:
the host's load only ever adds time).
matplotlib is a bench-only dependency (bench/requirements.txt)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["draw"]


def draw(result: dict, png: Path) -> bool:
    """Write *png* from a bench.json dict; False (and nothing written) without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    modes = result.get("datapath", {}).get("modes", {})
    cases = result.get("hash_helper", {}).get("cases", [])
    fig, (ax0, ax1, ax2) = plt.subplots(1, 3, figsize=(19, 5))
    _cost_panel(ax0, result)
    names = list(modes)
    cpu = [modes[m]["cpu_us_per_frame"] for m in names]
    med = [c["median"] for c in cpu]
    lo = [c["median"] - c["min"] for c in cpu]
    hi = [c["max"] - c["median"] for c in cpu]
    bars = ax1.bar(names, med, yerr=[lo, hi], capsize=4, color="#4a7ab5")
    for b, m in zip(bars, names):
        r = modes[m].get("ratio_to_automq") or {}
        if r:
            label = f"x{r['median']:.3f}" if r["resolved"] else "not resolved"
            ax1.annotate(label, (b.get_x() + b.get_width() / 2, b.get_height()),
                         ha="center", va="bottom", xytext=(0, 6), textcoords="offset points")
    accel = result.get("accel", "?").upper()
    offered = result.get("datapath", {}).get("config", {}).get("offered_pps")
    ax1.set_title(f"datapath at {offered} frames/s offered ({accel}; median, min-max)")
    ax1.set_ylabel("sender + reader CPU us per delivered frame")
    tuples = sorted({c["tuple"] for c in cases})
    impls = list(dict.fromkeys(c["impl"] for c in cases))
    width = 0.8 / max(1, len(tuples))
    for i, t in enumerate(tuples):
        vals = [next((c["best_ns"] for c in cases if c["impl"] == im and c["tuple"] == t), 0)
                for im in impls]
        ax2.bar([x + i * width for x in range(len(impls))], vals, width, label=t)
    ax2.set_xticks([x + width * (len(tuples) - 1) / 2 for x in range(len(impls))], impls)
    ax2.set_ylabel("ns per hash (best of 7 rounds)")
    ax2.set_title(f"virtio-net hash in the kernel ({accel})")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return True


def _cost_panel(ax: "matplotlib.axes.Axes", result: dict) -> None:
    """Per-packet cost ratio to automq, median and 95% interval per mode."""
    pktcost = result.get("datapath", {}).get("pktcost", {})
    across = pktcost.get("across_boots") or {}      # bench/boots.py: several boots
    cost = across.get("modes") or pktcost.get("modes", {})
    names = [m for m, v in cost.items() if v.get("ratio_to_automq")]
    ratios = [cost[m]["ratio_to_automq"] for m in names]
    carry = across.get("carry_over_rehash") or pktcost.get("parts", {}).get("carry_over_rehash")
    if carry:                           # not a ratio to automq: its own axis label
        names.append("carry/rehash")
        ratios.append(carry)
    off = across.get("off_series_over_base") or pktcost.get("off", {}).get("series_over_base")
    if off:                             # the series off over the base kernel's copies
        names.append("off/base")
        ratios.append(off)
    med = [r["median"] for r in ratios]
    err = [[r["median"] - r["ci95"][0] for r in ratios],
           [r["ci95"][1] - r["median"] for r in ratios]]
    ax.errorbar(range(len(names)), med, yerr=err, fmt="o", capsize=6, color="#4a7ab5")
    for x, r in enumerate(ratios):
        label = f"{r['median']:.3f}" if r["resolved"] else f"{r['median']:.3f}\nnot resolved"
        ax.annotate(label, (x, r["ci95"][1]), ha="center", va="bottom", xytext=(0, 4),
                    textcoords="offset points", fontsize=8)
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.axhline(1.05, color="#c44", lw=0.8, ls="--", label="target: +5% (REPORT, RSS+REPORT)")
    ax.set_xticks(range(len(names)), names)
    ax.set_ylabel("ns per packet / automq's (carry/rehash, off/base: see bench.json)")
    over = f"{across['boots']} boots" if across else "rounds of one boot"
    ax.set_title(f"in-kernel cost per packet ({result.get('accel', '?').upper()}; "
                 f"median, 95% CI over {over})")
    ax.margins(y=0.15)
    ax.legend(loc="lower right", fontsize=8)
