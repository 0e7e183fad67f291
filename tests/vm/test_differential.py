# SPDX-License-Identifier: MIT
"""Differential test (issue 4): thousands of random frames under random
configurations through a multiqueue tap; every packet's queue, hash_value
and hash_report compared with pyuapi.rss.  It runs for each device kind of
tests.lib.tapdevs: a tun tap, and the /dev/tapN files of a macvtap and an
ipvtap (drivers/net/tap.c), which get the frames from their lower device
(an ipvtap only those for its addresses: Rig.prepare).

The seed is printed (``TUNRSS_SEED=<n>``; pytest shows it with -s or on
failure); set TUNRSS_SEED to replay a run.  TUNRSS_DIFF_ROUNDS and
TUNRSS_DIFF_FRAMES size the run (default 24 x 200 frames).

Besides the per-frame comparison (tests.lib.taps.mismatches: every frame
read exactly once), the kernel's own count of frames it passed to the
queues (IFLA_STATS64 tx_packets of the tun link; rx_packets of a
macvtap/ipvtap link, counted as macvlan/ipvlan hand them to it) must equal
the frames sent, and the run
must not have been vacuous: pyuapi predicted at least MIN_REPORTS
distinct hash reports for frames compared with REPORT on, and RSS frames
on at least two queues.
"""

from __future__ import annotations

import os
import random

import pytest

from pyuapi.uapi import tun as T, virtio_net as V
from pyuapi.testkit.randframes import random_config, random_frame
from pyuapi.tapfiles import TapFiles

from tests.lib.netlink import link_stats
from tests.lib.tapdevs import DEVICE_KINDS, TapDevFactory
from tests.lib.taps import expected, mismatches, report_ready, require_hash

QUEUES = 8
MIN_REPORTS = 6           # of the 10 report values (NONE included), over the default run


def _seed() -> int:
    env = os.environ.get("TUNRSS_SEED")
    return int(env, 0) if env else random.SystemRandom().randrange(1 << 32)


def _reshape_queues(rng: random.Random, tap: TapFiles) -> None:
    """Randomly detach/attach queues, keeping at least one attached."""
    for i in range(len(tap.fds)):
        if rng.random() < 0.3:
            if tap.attached[i] and tap.numqueues > 1:
                tap.detach_queue(i)
            elif not tap.attached[i]:
                tap.attach_queue(i)


@pytest.mark.parametrize("kind", DEVICE_KINDS)
def test_differential(make_tapdev: TapDevFactory, kind: str) -> None:
    seed = _seed()
    print(f"TUNRSS_SEED={seed}")
    rounds = int(os.environ.get("TUNRSS_DIFF_ROUNDS", "24"))
    per_round = int(os.environ.get("TUNRSS_DIFF_FRAMES", "200"))
    rng = random.Random(seed)
    rig = make_tapdev(kind, QUEUES)
    tap = rig.dev
    cap = require_hash(tap)
    report_ready(tap)
    seq = 0
    total = 0
    reports: set[int] = set()        # predicted hash_report of frames compared with REPORT
    rss_fds: set[int] = set()        # predicted fd index of frames compared with RSS
    counter = "tx_packets" if kind == "tun" else "rx_packets"
    before = link_stats(tap.name)[counter]
    for rnd in range(rounds):
        _reshape_queues(rng, tap)
        cfg = random_config(rng, cap.types, max_queue=2 * QUEUES)
        tap.set_vnet_hash(cfg)
        frames: list[bytes] = []
        seen: set[bytes] = set()
        while len(frames) < per_round:
            f = random_frame(rng, seq)
            seq += 1
            if f not in seen:
                seen.add(f)
                frames.append(f)
        frames = list(dict.fromkeys(rig.prepare(frames)))     # readdressed: still distinct
        for f in frames:
            _, r, q = expected(tap, cfg, f)
            if cfg.flags & T.TUN_VNET_HASH_REPORT:
                reports.add(r)
            if q is not None:
                rss_fds.add(q)
        problems = mismatches(tap, cfg, frames, via=rig.via)
        total += len(frames)
        if problems:
            head = "\n".join(problems[:20])
            pytest.fail(f"TUNRSS_SEED={seed} {kind} round {rnd}: {len(problems)} difference(s) "
                        f"with flags={cfg.flags:#x} types={V.types_str(cfg.types)} "
                        f"table={list(cfg.table)} unclassified={cfg.unclassified_queue} "
                        f"key={cfg.key.hex()} queues={tap.numqueues} order={tap.order}\n{head}",
                        pytrace=False)
    tap.disable_vnet_hash()
    passed = link_stats(tap.name)[counter] - before
    print(f"TUNRSS_SEED={seed} {kind}: {total} frames in {rounds} configurations, no difference; "
          f"{counter} +{passed}; reports {sorted(reports)}; RSS fds {sorted(rss_fds)}")
    assert passed == total, (f"TUNRSS_SEED={seed}: the {kind} counted {passed} frames passed to "
                             f"its queues, {total} were sent and read once each")
    if rounds * per_round >= 24 * 200:            # the default run or larger
        assert len(reports) >= MIN_REPORTS, f"TUNRSS_SEED={seed}: reports {sorted(reports)}"
        assert len(rss_fds) >= 2, f"TUNRSS_SEED={seed}: RSS frames only on {sorted(rss_fds)}"
