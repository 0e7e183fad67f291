# SPDX-License-Identifier: MIT
"""bench/chart.py: the PNG of `make bench` draws from a bench.json dict
(matplotlib is a bench-only dependency: without it the test skips and
draw() writes nothing)."""
from pathlib import Path

import pytest

from bench import chart


def _result() -> dict:
    ratio = {"median": 1.4, "ci95": [1.35, 1.5], "half_width": 0.05, "resolved": False}
    cpu = {"median": 10.0, "min": 9.0, "max": 11.0}
    return {"accel": "tcg",
            "datapath": {"config": {"offered_pps": 5000},
                         "modes": {"automq": {"cpu_us_per_frame": cpu, "ratio_to_automq": None},
                                   "rss": {"cpu_us_per_frame": cpu, "ratio_to_automq": ratio}},
                         "pktcost": {"modes": {"automq": {}, "rss": {"ratio_to_automq": ratio}},
                                     "parts": {"carry_over_rehash": dict(ratio, median=1.3,
                                                                ci95=[1.28, 1.33])},
                                     "off": {"series_over_base": dict(ratio, median=1.002,
                                                                      ci95=[0.999, 1.006])}}},
            "hash_helper": {"cases": [{"impl": "nibble", "tuple": "ipv4-tcp", "best_ns": 9.0}]}}


def test_draw_writes_a_png_with_the_cost_intervals(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "bench.png"
    assert chart.draw(_result(), png) is True
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
