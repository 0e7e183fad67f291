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
suites (vm/guest.py), and any report fails the run.  Growth: the slab
usage before and after the loop, once RCU callbacks had time to run, from
/proc/slabinfo per cache when the kernel has it (CONFIG_SLUB_DEBUG), else
the Slab/SUnreclaim lines of /proc/meminfo; the test says which it used.
Usage is compared over the second half of the loop: KASAN's quarantine
(debug kernel) keeps freed objects counted as allocated until it reaches
its fixed size, which the first half fills, while a leak keeps growing.
A leak of the hash state alone (about 5 KiB per device, patches/0003)
would grow it by 25 MB over 5,000 devices; the test fails above
MIN_LEAK_PER_DEVICE (a twentieth of that) per device of the second half,
and never below 1 MiB, the noise of a quiet guest.  kmemleak stays the
authority on leaks.

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

from knobs import env_int, seed_from_env
from tests.lib.taps import require_hash

RSS, REPORT = T.TUN_VNET_HASH_RSS, T.TUN_VNET_HASH_REPORT
MIN_LEAK_PER_DEVICE = 256          # bytes: a twentieth of the ~5 KiB hash state
NOISE = 1 << 20
BATCH = 100
UP_INDEX = 3                        # the device of each batch that is brought up
FRAMES = 16
GROUP = 7
SETTLE_SECONDS = 6.0
SETTLE_ROUNDS = 3


def slab_usage() -> tuple[str, dict[str, int]]:
    """(source, bytes per slab cache) from /proc/slabinfo, or Slab/SUnreclaim of /proc/meminfo."""
    try:
        with open("/proc/slabinfo") as f:
            rows = f.read().splitlines()[2:]
        usage = {}
        for row in rows:
            name, active, _num, objsize = row.split()[:4]
            usage[name] = int(active) * int(objsize)
        return "/proc/slabinfo", usage
    except OSError:
        pass
    with open("/proc/meminfo") as f:
        info = {k: int(v.split()[0]) * 1024 for k, v in
                (line.split(":", 1) for line in f.read().splitlines())}
    return "/proc/meminfo", {"Slab": info["Slab"], "SUnreclaim": info["SUnreclaim"]}


def _total(source: str, usage: dict[str, int]) -> int:
    return usage["SUnreclaim"] if source == "/proc/meminfo" else sum(usage.values())


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


def _settled(source: str, base: dict[str, int]) -> tuple[dict[str, int], list[int]]:
    """Usage after RCU callbacks had time to run (kvfree_rcu drains every 5 s), and the trend."""
    trend = []
    usage = base
    for _ in range(SETTLE_ROUNDS):
        time.sleep(SETTLE_SECONDS)
        _, usage = slab_usage()
        trend.append(_total(source, usage) - _total(source, base))
    return usage, trend


def test_create_teardown(netns: object, record_summary: Callable[[str], None]) -> None:
    count = env_int("TUNRSS_DEVICES", 200)
    seed = seed_from_env("TUNRSS_DEVICES_SEED")
    print(f"TUNRSS_DEVICES_SEED={seed}", flush=True)
    rng = random.Random(seed)
    with Tap("rsst%d") as probe:
        types = require_hash(probe).types
    warmup = min(BATCH, count)
    _batch(rng, types, warmup)       # caches and per-cpu slabs reach their steady size
    time.sleep(SETTLE_SECONDS)
    source, before = slab_usage()
    start = time.monotonic()
    half = count // 2 // BATCH * BATCH
    for first in range(0, half, BATCH):
        _batch(rng, types, BATCH)
    middle, trend1 = _settled(source, before)
    for first in range(half, count, BATCH):
        _batch(rng, types, min(BATCH, count - first))
    seconds = time.monotonic() - start - SETTLE_SECONDS * SETTLE_ROUNDS
    after, trend2 = _settled(source, middle)
    growth1, growth2 = trend1[-1], trend2[-1]
    top = sorted(((after.get(k, 0) - middle.get(k, 0), k) for k in after), reverse=True)[:4]
    limit = max(NOISE, (count - half) * MIN_LEAK_PER_DEVICE)
    record_summary(
        f"create/teardown: TUNRSS_DEVICES_SEED={seed}: {count} devices (+{warmup} warm-up) in "
        f"{seconds:.1f}s ({count / seconds:.1f}/s), batches of {BATCH}, one up per batch with "
        f"{FRAMES} frames (half read, half purged at teardown): 10% closed, "
        f"10% RTM_DELLINK, 80% group RTM_DELLINK (fds open); {source} slab usage: "
        f"first {half} devices {growth1:+d} bytes, last {count - half} devices {growth2:+d} "
        f"bytes (limit {limit}; settling "
        + ", ".join(f"{g:+d}" for g in trend2) + "); largest in the second half: "
        + ", ".join(f"{k} {d:+d}" for d, k in top)
        + ("" if source == "/proc/slabinfo" else " (no /proc/slabinfo in this kernel)"))
    with open("/proc/thread-self/net/dev") as f:
        left = [line.split(":")[0].strip() for line in f if "rsst" in line]
    assert left == [], f"devices left behind: {left}"
    assert growth2 < limit, (f"slab usage grew by {growth2} bytes over the last "
                             f"{count - half} devices")
