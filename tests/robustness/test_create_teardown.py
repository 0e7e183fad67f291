# SPDX-License-Identifier: MIT
"""Create and tear down many taps with hash state (issue 7).

Each device gets a 20-byte little-endian header and an RSS + REPORT
configuration with a table of up to 128 entries (the separately allocated
state of patches/0003). One device per batch is brought up and passes
FRAMES frames, so the skb extension of patches/0002 is allocated and freed
both ways: half are read back (freed when consumed), half are left queued
for the teardown to purge. Only one per batch: on a lockdep kernel every
qdisc of a device that was ever up costs a synchronize_rcu() when it is
destroyed (lockdep_unregister_key() in __qdisc_destroy()), about 4 s per
device under TCG, which at one in ten made 10,000 devices a 79-minute run.
Devices are torn down in batches (``_batch``): by their last fd closing,
by RTM_DELLINK, or by one group RTM_DELLINK, the last two with the fds
open; tun_free_netdev frees the state with kvfree_rcu.

Leaks: the debug kernel's kmemleak is scanned by the VM runner after the
suites (vm/guest.py), and any report fails the run.  Growth, with
/proc/slabinfo (CONFIG_SLUB_DEBUG: the debug kernel of `make stress`):
per slab cache, in active objects (slab_growth.py): each reading is taken
settled (reclaimable dentries/inodes dropped, every cache shrunk, which
flushes per-CPU slabs and KASAN's quarantine), SETTLE_ROUNDS readings at
each quiet point; a cache fails when the floor of its readings grew by
half an object per device or more over the second half of the loop, so
one object leaked per device in any cache, of any size, fails.  The
threshold is checked against the noise measured in the run (the spread of
a cache's settled readings at one point): a cache whose noise reaches it
fails the run too, as it could hide such a leak.  No absolute floor.
The first half of the loop lets caches, per-CPU state and the quarantine
reach their steady size.

Without /proc/slabinfo (the normal kernel's SLUB_TINY) only the
Slab/SUnreclaim lines of /proc/meminfo exist: the coarse byte check of
before remains there (MIN_LEAK_PER_DEVICE per device, never below 1 MiB),
and the summary says that no per-cache check ran.

TUNRSS_DEVICES (default 200; `make stress` 10000) sets the count,
TUNRSS_DEVICES_SEED replays the configurations.
"""

from __future__ import annotations

import random
import time
from typing import Callable

from pyuapi.testkit import packets as P
from pyuapi.uapi import tun as T, virtio_net as V
from pyuapi.testkit.inject import Injector
from tests.lib.netlink import delete_group, delete_link, iproute, link_up, set_link_group
from pyuapi.testkit.randframes import random_config
from pyuapi import HashConfig, Tap

import slab_growth as SG
from knobs import env_int, seed_from_env
from tests.lib.taps import require_hash

RSS, REPORT = T.TUN_VNET_HASH_RSS, T.TUN_VNET_HASH_REPORT
MIN_LEAK_PER_DEVICE = 256          # bytes, /proc/meminfo only: a twentieth of the ~5 KiB state
NOISE = 1 << 20                    # bytes, /proc/meminfo only
BATCH = 100
UP_INDEX = 3                        # the device of each batch that is brought up
FRAMES = 16
GROUP = 7
SETTLE_SECONDS = 6.0
SETTLE_ROUNDS = 3


def slab_usage() -> tuple[str, dict[str, int]]:
    """(source, usage): active objects per cache from /proc/slabinfo, read settled
    (slab_growth.settle), or the Slab/SUnreclaim bytes of /proc/meminfo."""
    try:
        SG.read_slabinfo()
    except OSError:
        with open("/proc/meminfo") as f:
            info = {k: int(v.split()[0]) * 1024 for k, v in
                    (line.split(":", 1) for line in f.read().splitlines())}
        return "/proc/meminfo", {"Slab": info["Slab"], "SUnreclaim": info["SUnreclaim"]}
    SG.settle()
    return SG.SLABINFO, SG.read_slabinfo()[0]


def _flow(i: int) -> bytes:
    s4, d4 = "10.8.0.1", "10.8.0.2"
    return P.udp4_frame(s4, d4, 1000 + i, 2000 + 7 * i)


def _configured_tap(rng: random.Random, types: int, up: bool) -> Tap:
    """A tap with RSS + REPORT state; if ``up``, up and passing FRAMES frames.

    The first half of the frames is read back (each with a 20-byte header),
    the second half stays queued until the device is torn down.
    """
    tap = Tap("rsst%d", queues=rng.randrange(1, 4))
    try:
        tap.set_vnet_le(True)
        tap.set_vnet_hdr_sz(V.VNET_HDR_V1_HASH_LEN)
        cfg = random_config(rng, types, max_queue=len(tap.fds))
        tap.set_vnet_hash(HashConfig(RSS | REPORT, cfg.types, cfg.key,
                                     cfg.table or (0,) * 128, cfg.unclassified_queue))
        if up:
            link_up(tap.name)
            with Injector(tap.name) as inj:
                for i in range(FRAMES // 2):
                    inj.send(_flow(i))
                read = tap.drain_all()
                assert len(read) == FRAMES // 2, \
                    f"{tap.name}: read {len(read)} of {FRAMES // 2} frames sent"
                assert all(len(p.vnet) == V.VNET_HDR_V1_HASH_LEN for p in read)
                for i in range(FRAMES // 2, FRAMES):
                    inj.send(_flow(i))
    except BaseException:
        tap.close()
        raise
    return tap


def _batch(rng: random.Random, types: int, size: int) -> None:
    """``size`` configured taps, then torn down three ways.

    A tenth by closing their fds (the last close unregisters), a tenth by
    RTM_DELLINK with the fds open, the rest by one RTM_DELLINK of their
    device group with the fds open (one unregister_netdevice_many: one RCU
    grace period for them all, which keeps 10,000 devices affordable under
    TCG); then every fd is closed.
    """
    taps: list[Tap] = []
    try:
        for i in range(size):
            taps.append(_configured_tap(rng, types, i == UP_INDEX))
        with iproute() as ipr:              # one rtnetlink socket for the batch
            for i, tap in enumerate(taps):
                if i % 10 == 0:
                    tap.close()
                elif i % 10 == 1:
                    delete_link(tap.name, ipr=ipr)
                else:
                    set_link_group(tap.name, GROUP, ipr=ipr)
            if size > 2:
                delete_group(GROUP, ipr=ipr)
    finally:
        for tap in taps:
            tap.close()


def _settled() -> tuple[str, list[dict[str, int]]]:
    """SETTLE_ROUNDS readings, each after SETTLE_SECONDS (kvfree_rcu drains every 5 s)."""
    readings = []
    source = ""
    for _ in range(SETTLE_ROUNDS):
        time.sleep(SETTLE_SECONDS)
        source, usage = slab_usage()
        readings.append(usage)
    return source, readings


def test_create_teardown(netns: object, record_summary: Callable[[str], None]) -> None:
    count = env_int("TUNRSS_DEVICES", 200)
    seed = seed_from_env("TUNRSS_DEVICES_SEED")
    print(f"TUNRSS_DEVICES_SEED={seed}", flush=True)
    rng = random.Random(seed)
    with Tap("rsst%d") as probe:
        types = require_hash(probe).types
    warmup = min(BATCH, count)
    _batch(rng, types, warmup)       # caches and per-cpu slabs reach their steady size
    source, before = _settled()
    start = time.monotonic()
    half = count // 2 // BATCH * BATCH
    for first in range(0, half, BATCH):
        _batch(rng, types, BATCH)
    _, middle = _settled()
    for first in range(half, count, BATCH):
        _batch(rng, types, min(BATCH, count - first))
    seconds = time.monotonic() - start - SETTLE_SECONDS * SETTLE_ROUNDS      # the middle settling
    _, after = _settled()
    devices2 = count - half
    with open("/proc/thread-self/net/dev") as f:
        left = [line.split(":")[0].strip() for line in f if "rsst" in line]
    head = (f"create/teardown: TUNRSS_DEVICES_SEED={seed}: {count} devices (+{warmup} warm-up) "
            f"in {seconds:.1f}s ({count / seconds:.1f}/s), batches of {BATCH}, one up per batch "
            f"with {FRAMES} frames (half read, half purged at teardown): 10% closed, "
            f"10% RTM_DELLINK, 80% group RTM_DELLINK (fds open); ")
    if source == SG.SLABINFO:
        grown1, grown2 = SG.growth(before, middle), SG.growth(middle, after)
        noisy = SG.noise(before, middle, after)
        top = sorted(((g, k) for k, g in grown2.items()), reverse=True)[:5]
        loud = sorted(((n, k) for k, n in noisy.items()), reverse=True)[:3]
        record_summary(
            head + f"{source}, active objects per cache, settled ({SETTLE_ROUNDS} readings "
            f"per point): the last {devices2} devices, limit {SG.per_device_limit(devices2)} "
            f"objects per cache; largest growth " + ", ".join(f"{k} {g:+d}" for g, k in top)
            + f" (first {half} devices: largest "
            + ", ".join(f"{k} {g:+d}" for g, k in sorted(((g, k) for k, g in grown1.items()),
                                                          reverse=True)[:3])
            + "); largest noise " + ", ".join(f"{k} {n}" for n, k in loud))
        assert left == [], f"devices left behind: {left}"
        problems = SG.judge(grown2, noisy, devices2)
        assert not problems, (f"slab caches grew by half an object per device or more over "
                              f"the last {devices2} devices:\n" + "\n".join(problems[:20]))
        return
    growth1 = SG.floor(middle)["SUnreclaim"] - SG.floor(before)["SUnreclaim"]
    growth2 = after[-1]["SUnreclaim"] - middle[-1]["SUnreclaim"]
    trend2 = [r["SUnreclaim"] - middle[-1]["SUnreclaim"] for r in after]
    limit = max(NOISE, devices2 * MIN_LEAK_PER_DEVICE)
    record_summary(
        head + f"{source} SUnreclaim: first {half} devices {growth1:+d} bytes, last {devices2} "
        f"devices {growth2:+d} bytes (limit {limit}; settling "
        + ", ".join(f"{g:+d}" for g in trend2) + "); no /proc/slabinfo in this kernel "
        "(CONFIG_SLUB_DEBUG off): no per-cache check, run `make stress` (debug kernel)")
    assert left == [], f"devices left behind: {left}"
    assert growth2 < limit, (f"slab usage grew by {growth2} bytes over the last "
                             f"{devices2} devices")
