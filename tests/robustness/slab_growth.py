# SPDX-License-Identifier: MIT
"""Slab growth per cache, in objects, for test_create_teardown.py (issue 18).

A byte total over every cache hides a small leak behind a large, noisy
cache: at 200 devices, leaking each device's ~4.9 KB hash state stayed
under the old max(1 MiB, n/2 x 256 B).  Here each cache is judged on its
own, in active objects (/proc/slabinfo), so one object leaked per device
in ANY cache fails, whatever its size.

Readings are taken settled (:func:`settle`): reclaimable dentries and
inodes dropped (/proc/sys/vm/drop_caches = 2), then every cache shrunk
(/sys/kernel/slab/*/shrink): per-CPU slabs are flushed, so an object free
on a CPU slab stops counting as active, and KASAN's quarantine is emptied
for the cache (kmem_cache_shrink -> kasan_cache_shrink ->
kasan_quarantine_remove_cache), so freed objects it held stop counting.

Thresholds come from the noise measured in the same run: several settled
readings at each quiet point; a cache's noise is the spread (max - min)
of its readings at one point.  A cache fails when its floor (the minimum
of the settled readings) grew by ``devices // 2`` objects or more over
``devices`` devices, i.e. half an object per device; and the run fails
when a cache's measured noise reaches that limit, because then one
object per device could hide in it (more devices are needed:
TUNRSS_DEVICES).  No absolute floor.
"""

from __future__ import annotations

import glob
import os
from typing import Mapping, Sequence

__all__ = ["SLABINFO", "read_slabinfo", "settle", "floor", "noise", "growth", "judge",
           "per_device_limit"]

SLABINFO = "/proc/slabinfo"

Reading = Mapping[str, int]          # cache name -> active objects


def read_slabinfo(path: str = SLABINFO) -> tuple[dict[str, int], dict[str, int]]:
    """(active objects, object size) per cache from /proc/slabinfo (2.1 format).

    OSError when the kernel has no /proc/slabinfo (no CONFIG_SLUB_DEBUG,
    e.g. the normal kernel's SLUB_TINY).
    """
    with open(path) as f:
        rows = f.read().splitlines()[2:]
    active, size = {}, {}
    for row in rows:
        name, act, _num, objsize = row.split()[:4]
        active[name] = int(act)
        size[name] = int(objsize)
    return active, size


def settle() -> list[str]:
    """Drop reclaimable dentries/inodes, shrink every slab cache; returns what failed (errors).

    Needs root; on a kernel without /sys/kernel/slab only the first step runs.
    """
    errors = []
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("2")
    except OSError as e:
        errors.append(f"drop_caches: {e}")
    for path in sorted(glob.glob("/sys/kernel/slab/*/shrink")):
        if os.path.islink(os.path.dirname(path)):
            continue                                  # an alias of a merged cache
        try:
            with open(path, "w") as f:
                f.write("1")
        except OSError as e:
            errors.append(f"{path}: {e}")
    return errors


def floor(readings: Sequence[Reading]) -> dict[str, int]:
    """Per cache, the minimum of the settled readings (a leak raises every one of them)."""
    names = set().union(*readings) if readings else set()
    return {k: min(r.get(k, 0) for r in readings) for k in names}


def noise(*points: Sequence[Reading]) -> dict[str, int]:
    """Per cache, the largest spread (max - min) of its readings at any one quiet point."""
    out: dict[str, int] = {}
    for readings in points:
        names = set().union(*readings) if readings else set()
        for k in names:
            vals = [r.get(k, 0) for r in readings]
            out[k] = max(out.get(k, 0), max(vals) - min(vals))
    return out


def growth(before: Sequence[Reading], after: Sequence[Reading]) -> dict[str, int]:
    """Per cache, objects the floor grew by from ``before`` to ``after`` (settled readings)."""
    b, a = floor(before), floor(after)
    return {k: a.get(k, 0) - b.get(k, 0) for k in set(a) | set(b)}


def per_device_limit(devices: int) -> int:
    """Objects a cache may grow by over ``devices`` devices: under half an object per device."""
    return max(devices // 2, 1)


def judge(grown: Mapping[str, int], noisy: Mapping[str, int], devices: int) -> list[str]:
    """Problems: a cache that grew by ``per_device_limit`` objects or more, or whose noise
    is so large that a leak of one object per device could hide in it."""
    limit = per_device_limit(devices)
    problems = [f"{k}: +{g} objects over {devices} devices (limit {limit - 1})"
                for k, g in sorted(grown.items(), key=lambda kv: -kv[1]) if g >= limit]
    problems += [f"{k}: noise {n} objects between settled readings, not below {limit}: "
                 f"one object per device could hide in it; raise TUNRSS_DEVICES"
                 for k, n in sorted(noisy.items(), key=lambda kv: -kv[1]) if n >= limit]
    return problems
