# SPDX-License-Identifier: MIT
"""The PNG chart of `make bench`: datapath pps per mode (median with min-max
bars, per-round median ratio to automq on top) and the kernel hash cost per
implementation (best round: the host's load only ever adds time).
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
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5))
    names = list(modes)
    med = [modes[m]["pps"]["median"] for m in names]
    lo = [modes[m]["pps"]["median"] - modes[m]["pps"]["min"] for m in names]
    hi = [modes[m]["pps"]["max"] - modes[m]["pps"]["median"] for m in names]
    bars = ax1.bar(names, med, yerr=[lo, hi], capsize=4, color="#4a7ab5")
    for b, m in zip(bars, names):
        r = modes[m].get("ratio_to_automq") or {}
        if r:
            ax1.annotate(f"x{r['median']:.3f}", (b.get_x() + b.get_width() / 2, b.get_height()),
                         ha="center", va="bottom", xytext=(0, 6), textcoords="offset points")
    accel = result.get("accel", "?").upper()
    ax1.set_title(f"tap datapath, frames delivered/s ({accel}; median, min-max)")
    ax1.set_ylabel("pps")
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
