# SPDX-License-Identifier: MIT
"""bench/boots.py: the cost ratios over several boots, the setting that
chooses how many, checked before any work, and bench/run.py booting them."""
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench import boots, run
from vm.stages import Stages


def _cost(rss: float, carry: float | None = None, off: float | None = None) -> dict:
    c = {"modes": {"automq": {}, "rss": {"ratio_to_automq": {"median": rss}}}}
    if carry is not None:
        c["parts"] = {"carry_over_rehash": {"median": carry}}
    if off is not None:
        c["off"] = {"series_over_base": {"median": off}}
    return c


def test_the_boots_give_one_interval_that_covers_each_boot() -> None:
    got = boots.combine([_cost(1.40 + 0.004 * i, 1.3) for i in range(6)])
    r = got["modes"]["rss"]["ratio_to_automq"]
    assert got["boots"] == 6 and r["per_boot"][0] == 1.4
    assert r["ci95"] == [1.4, 1.42] and r["resolved"]      # 6 boots: lowest and highest
    assert got["carry_over_rehash"]["median"] == 1.3
    assert "off_series_over_base" not in got


def test_the_off_cost_over_boots_decides_the_off_target() -> None:
    got = boots.combine([_cost(1.4, 1.3, 1.001 + 0.0005 * i) for i in range(6)])
    off = got["off_series_over_base"]
    assert off["ci95"] == [1.001, 1.0035] and off["resolved"]
    t = run.targets({"pktcost": {"across_boots": got}}, {}, "kvm")
    assert t["in-kernel, compiled in but off: within 0.5% of the base kernel (issue 14)"][
        "met"] is True
    tcg = run.targets({"pktcost": {"across_boots": got}}, {}, "tcg")[
        "in-kernel, compiled in but off: within 0.5% of the base kernel (issue 14)"]
    assert tcg["met"] is None and "code placement" in tcg["note"]
    late = boots.combine([_cost(1.4, 1.3, 1.004 + 0.001 * i) for i in range(6)])
    t = run.targets({"pktcost": {"across_boots": late}}, {}, "kvm")
    assert t["in-kernel, compiled in but off: within 0.5% of the base kernel (issue 14)"][
        "met"] is None          # [1.004, 1.009] straddles 1.005


def test_spread_boots_are_not_resolved_and_parts_need_every_boot() -> None:
    got = boots.combine([_cost(1.3 + 0.03 * i, 1.3 if i else None) for i in range(6)])
    assert not got["modes"]["rss"]["ratio_to_automq"]["resolved"]
    assert "carry_over_rehash" not in got


@pytest.mark.parametrize("text, n", [("", boots.DEFAULT_BOOTS), ("1", 1), ("6", 6), ("20", 20)])
def test_boots_setting_accepts(text: str, n: int) -> None:
    assert boots.parse_boots(text) == n


@pytest.mark.parametrize("text", ["0", "2", "5", "21", "six", "-1"])
def test_boots_setting_refuses_with_the_allowed_values(text: str) -> None:
    with pytest.raises(ValueError, match=r"use 1 \(one boot, its own interval\) or 6 to 20"):
        boots.parse_boots(text)


def _fake_cost(rss: float) -> dict:
    r = {"median": rss, "ci95": [rss - 0.01, rss + 0.01], "half_width": 0.007, "resolved": True}
    return {"frames": 256, "reps": 5, "rounds": [{}] * 3,
            "modes": {"automq": {}, "rss": {"ratio_to_automq": r}}}


def test_datapath_boot_times_the_cost_in_every_boot(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """bench/run.py datapath_boot(): the first boot runs pktcost and the
    datapath, each further boot pktcost alone; the boots are combined."""
    booted: list[str] = []

    def boot(cmd: str, console: Path, output: Path, timeout: float) -> tuple[int, bool]:
        booted.append(cmd)
        console.write_text("virtio_net_hash_bench: nothing\n")
        for module, path in re.findall(r"-m (bench\.\w+) (\S+)", cmd):
            body = _fake_cost(1.40 + 0.002 * len(booted)) if module == "bench.pktcost" \
                else {"modes": {}}
            Path(path).write_text(json.dumps(body))
        return 0, False

    monkeypatch.setattr(run.vng, "boot", boot)
    monkeypatch.setattr(run.vng, "vng_command", lambda kernel, opts, accel, cmd: cmd)
    opts = SimpleNamespace(results=tmp_path, timeout=60.0)
    datapath, _, splats = run.datapath_boot(None, opts, "tcg", Stages(), cost_boots=6)
    assert len(booted) == 6 and "bench.datapath" in booted[0]
    assert all("bench.datapath" not in c and "bench.pktcost" in c for c in booted[1:])
    across = datapath["pktcost"]["across_boots"]
    assert across["boots"] == 6 and len(datapath["pktcost"]["other_boots"]) == 5
    assert across["modes"]["rss"]["ratio_to_automq"]["per_boot"][-1] == 1.412
    assert splats == [] and (tmp_path / "boot6-console.log").exists()
