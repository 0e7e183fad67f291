# SPDX-License-Identifier: MIT
"""tests/robustness/slab_growth.py: the per-cache leak check of test_create_teardown.py can fail.

Readings are synthetic /proc/slabinfo active-object counts: a leak of one
object per device in any one cache fails, whatever the object's size,
where the old byte total (max(1 MiB, n/2 x 256 B)) passed; noise as large
as the limit fails the run instead of hiding a leak.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).resolve().parents[1] / "robustness"))
import slab_growth as SG  # noqa: E402

SIZES = {"kmalloc-8": 8, "kmalloc-64": 64, "kmalloc-8k": 8192, "skbuff_head_cache": 256,
         "dentry": 192, "kmalloc-1k": 1024}
BASE = {"kmalloc-8": 4000, "kmalloc-64": 9000, "kmalloc-8k": 40, "skbuff_head_cache": 300,
        "dentry": 20000, "kmalloc-1k": 800}
DEVICES = 100                     # the second half of the default 200-device run


def readings(rng: random.Random, leak: dict[str, int], spread: int = 3) -> list[dict[str, int]]:
    """SETTLE_ROUNDS settled readings: BASE + ``leak`` + noise in 0..spread-1 per cache."""
    return [{k: v + leak.get(k, 0) + rng.randrange(spread) for k, v in BASE.items()}
            for _ in range(3)]


def old_byte_check(before: dict[str, int], after: dict[str, int], devices: int) -> bool:
    """The check issue 18 replaced: total bytes under max(1 MiB, devices x 256 B)."""
    total = sum((after[k] - before[k]) * SIZES[k] for k in SIZES)
    return total < max(1 << 20, devices * 256)


def test_no_leak_passes() -> None:
    rng = random.Random(1)
    b, a = readings(rng, {}), readings(rng, {})
    assert SG.judge(SG.growth(b, a), SG.noise(b, a), DEVICES) == []


@pytest.mark.parametrize("cache", sorted(SIZES))
def test_one_object_per_device_in_any_cache_fails(cache: str) -> None:
    rng = random.Random(2)
    b, a = readings(rng, {}), readings(rng, {cache: DEVICES})
    problems = SG.judge(SG.growth(b, a), SG.noise(b, a), DEVICES)
    assert len(problems) == 1 and problems[0].startswith(cache)


def test_hash_state_leak_the_old_total_missed() -> None:
    """Every device's ~4.9 KB state (an 8 KiB object) leaked: old check passes, new fails."""
    rng = random.Random(3)
    b, a = readings(rng, {}), readings(rng, {"kmalloc-8k": DEVICES})
    assert old_byte_check(b[-1], a[-1], DEVICES)
    assert SG.judge(SG.growth(b, a), SG.noise(b, a), DEVICES)


def test_half_an_object_per_device_is_the_limit() -> None:
    b = [dict(BASE)] * 3
    just_under = [dict(BASE, **{"kmalloc-64": BASE["kmalloc-64"] + DEVICES // 2 - 1})] * 3
    at = [dict(BASE, **{"kmalloc-64": BASE["kmalloc-64"] + DEVICES // 2})] * 3
    assert SG.judge(SG.growth(b, just_under), SG.noise(b), DEVICES) == []
    assert SG.judge(SG.growth(b, at), SG.noise(b), DEVICES)


def test_noise_that_could_hide_a_leak_fails() -> None:
    b = [dict(BASE), dict(BASE, dentry=BASE["dentry"] + DEVICES), dict(BASE)]
    problems = SG.judge(SG.growth(b, b), SG.noise(b), DEVICES)
    assert problems and "noise" in problems[0]


def test_floor_ignores_a_transient_peak() -> None:
    b = [dict(BASE)] * 3
    a = [dict(BASE, **{"kmalloc-1k": BASE["kmalloc-1k"] + 10 * DEVICES}), dict(BASE), dict(BASE)]
    assert SG.growth(b, a)["kmalloc-1k"] == 0


def test_read_slabinfo(tmp_path: Path) -> None:
    f = tmp_path / "slabinfo"
    f.write_text("slabinfo - version: 2.1\n# name <active_objs> <num_objs> <objsize> ...\n"
                 "kmalloc-8k            40     44   8192    4    8 : tunables 0 0 0\n"
                 "kmalloc-8           4000   4096      8  512    1 : tunables 0 0 0\n")
    assert SG.read_slabinfo(str(f)) == ({"kmalloc-8k": 40, "kmalloc-8": 4000},
                                        {"kmalloc-8k": 8192, "kmalloc-8": 8})
