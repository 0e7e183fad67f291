# SPDX-License-Identifier: MIT
"""Reconfiguration under traffic (issue 7): one thread floods a multiqueue tap
through AF_PACKET, another replaces the TUNSETVNETHASH configuration many
times per second (tables, keys, types, REPORT on/off; RSS always on), the main
thread reads every queue.

Each packet must be explained whole by ONE configuration live while it was
in flight (docs/design.md "Behaviour"; the state is replaced as a whole
under RCU, patches/0003): configurations are numbered; the sender notes
the last one whose ioctl had returned before sendto(), the reader the last
one whose ioctl had started when read() returned; one configuration of
that window must give both the packet's queue and its header's
hash_value/hash_report (or, without REPORT, the header bytes zero, as tun
zero-fills them: the header is read into a buffer pre-filled with a
pattern that no kernel header can hold, so a skipped byte shows), and the frame must be byte for byte the one sent
(stress_oracle.judge).  A torn packet, its report from one configuration
and its queue from another, or one configuration's key with another's
types, matches none.  Every configuration steers with RSS (so the queue
always says which configuration was used) and draws its key, types,
table and REPORT flag at random.

The run must show the check was exercised: at least MIN_CONFIGS
configurations applied, MIN_ACROSS frames in flight across a change, and
MIN_DISCRIMINATING of those where the live configurations predict
different packets (a torn or stale packet would have been caught).

Accounting: frames sendto() accepted = frames read + the tap's tx_dropped
delta (a full tun ring drops and counts); tx_packets grows by the frames
read.  The counters are the link's IFLA_STATS64 (struct rtnl_link_stats64),
read with pyroute2 in the test's namespace (tests.lib.netlink.link_stats).

TUNRSS_STRESS_SEED replays, TUNRSS_STRESS_SECONDS (default 5; `make
stress` 30) sets the flood's length, TUNRSS_STRESS_HZ (default 200) the
reconfiguration rate asked for.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import random
import select
import threading
import time
from typing import Callable

import pytest

from pyuapi.uapi import tun as T, virtio_net as V
from pyuapi.testkit.inject import Injector
from tests.lib.netlink import link_stats
from pyuapi.testkit.randframes import random_config, random_frame
from pyuapi import HashConfig

from knobs import env_float, env_int, seed_from_env
from stress_oracle import UNTOUCHED, Record, judge, predicted, seq_of, shortfalls, stamp
from tests.lib.taps import TapFactory, report_ready, require_hash

QUEUES = 4
TEMPLATES = 256
REPORT_SHARE = 0.7                       # configurations with REPORT (all have RSS)
RSS, REPORT = T.TUN_VNET_HASH_RSS, T.TUN_VNET_HASH_REPORT
MIN_CONFIGS = 50                         # TUNRSS_STRESS_MIN_* override the three minimums
MIN_ACROSS = 200
MIN_DISCRIMINATING = 200


@dataclasses.dataclass
class Shared:
    """What the threads share; ints are read and written whole under the GIL."""

    configs: list[HashConfig]
    started: int = 0                      # last configuration whose ioctl started
    done: int = 0                         # last configuration whose ioctl returned
    stop: bool = False
    sent: dict[int, int] = dataclasses.field(default_factory=dict)   # seq -> done at send
    sent_ok: int = 0
    enobufs: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)


def _random_configs(rng: random.Random, types: int, keys: list[bytes]) -> Callable[[], HashConfig]:
    """Configurations that all steer with RSS; key, types, table, REPORT drawn at random."""
    type_pool = [random_config(rng, types).types for _ in range(6)] + [types, 0]

    def make() -> HashConfig:
        flags = RSS | (REPORT if rng.random() < REPORT_SHARE else 0)
        table = tuple(rng.randrange(2 * QUEUES) for _ in range(1 << rng.randrange(8)))
        return HashConfig(flags, rng.choice(type_pool), rng.choice(keys), table,
                          rng.randrange(2 * QUEUES))
    return make


def _reconfigure(sh: Shared, tap_set: Callable[[HashConfig], None], make: Callable[[], HashConfig],
                 hz: float) -> None:
    period = 1.0 / hz
    try:
        while not sh.stop:
            cfg = make()
            sh.configs.append(cfg)
            sh.started = len(sh.configs) - 1
            tap_set(cfg)
            sh.done = sh.started
            time.sleep(period)
    except Exception as e:  # reported by the main thread
        sh.errors.append(f"reconfigure: {e!r}")
        sh.stop = True


def _flood(sh: Shared, inj: Injector, frames: list[bytes], seconds: float) -> None:
    end = time.monotonic() + seconds
    seq = 0
    try:
        while time.monotonic() < end and not sh.stop:
            frame = stamp(frames[seq % len(frames)], seq)
            sh.sent[seq] = sh.done
            try:
                inj.send(frame)
                sh.sent_ok += 1
            except OSError as e:
                if e.errno != errno.ENOBUFS:
                    raise
                sh.enobufs += 1
                del sh.sent[seq]
            seq += 1
    except Exception as e:
        sh.errors.append(f"flood: {e!r}")


def test_reconfigure_under_traffic(make_tap: TapFactory,
                                   record_summary: Callable[[str], None]) -> None:
    seed = seed_from_env("TUNRSS_STRESS_SEED")
    seconds = env_float("TUNRSS_STRESS_SECONDS", 5.0)
    hz = env_float("TUNRSS_STRESS_HZ", 200.0)
    print(f"TUNRSS_STRESS_SEED={seed}", flush=True)
    rng = random.Random(seed)
    tap = make_tap(queues=QUEUES)
    cap = require_hash(tap)
    report_ready(tap)
    hdr = V.VNET_HDR_V1_HASH_LEN
    keys = [rng.randbytes(T.TUN_VNET_HASH_KEY_SIZE) for _ in range(8)]
    make = _random_configs(rng, cap.types, keys)
    frames = [random_frame(rng, i) for i in range(TEMPLATES)]
    first = make()
    tap.set_vnet_hash(first)
    sh = Shared([first])
    before = link_stats(tap.name)

    reads: list[tuple[int, bytes, bytes, int]] = []        # fd index, header, frame, started
    hbuf, fbuf = bytearray(hdr), bytearray(65536)
    poller = select.poll()
    for fd in tap.fds:
        poller.register(fd, select.POLLIN)
    index = {fd: i for i, fd in enumerate(tap.fds)}
    with Injector(tap.name) as inj:
        threads = [threading.Thread(target=_reconfigure, args=(sh, tap.set_vnet_hash, make, hz)),
                   threading.Thread(target=_flood, args=(sh, inj, frames, seconds))]
        start = time.monotonic()
        for t in threads:
            t.start()
        try:
            idle_since = None
            while True:
                ready = poller.poll(100)
                for fd, _ in ready:
                    while True:
                        hbuf[:] = bytes([UNTOUCHED]) * hdr
                        try:
                            n = os.readv(fd, [hbuf, fbuf])
                        except BlockingIOError:
                            break
                        reads.append((index[fd], bytes(hbuf), bytes(fbuf[:n - hdr]), sh.started))
                if not threads[1].is_alive():
                    sh.stop = True
                    if ready:
                        idle_since = None
                    elif idle_since is None:
                        idle_since = time.monotonic()
                    elif time.monotonic() - idle_since > 1.0:
                        break
        finally:
            sh.stop = True
            for t in threads:
                t.join()
    flood_seconds = time.monotonic() - start
    after = link_stats(tap.name)
    assert not sh.errors, sh.errors

    hashes: dict[tuple[int, int], tuple[int, bytes]] = {}

    def predict(tmpl: int, ci: int) -> tuple[int, bytes]:
        k = (tmpl, ci)
        if k not in hashes:
            hashes[k] = predicted(sh.configs[ci], frames[tmpl], tap.fd_index_of_kernel_queue,
                                  QUEUES)
        return hashes[k]

    records = [Record(fdi, h, frame, min(sh.sent.get(seq_of(frame) or 0, hi), hi), hi)
               for fdi, h, frame, hi in reads]
    verdict = judge(records, frames, sh.sent, predict)
    problems = verdict.problems
    dropped = after["tx_dropped"] - before["tx_dropped"]
    tx_packets = after["tx_packets"] - before["tx_packets"]
    lost = sh.sent_ok - len(records) - dropped
    with_report = sum(bool(c.flags & REPORT) for c in sh.configs)
    record_summary(
        f"reconfiguration stress: TUNRSS_STRESS_SEED={seed}: {flood_seconds:.1f}s, "
        f"{len(sh.configs)} configurations applied ({len(sh.configs) / flood_seconds:.0f}/s, "
        f"all RSS, {with_report} with REPORT), "
        f"{sh.sent_ok} frames sent ({sh.enobufs} ENOBUFS), {len(records)} read, "
        f"{verdict.checked} explained by one configuration ({verdict.across} in flight across "
        f"a reconfiguration, {verdict.discriminating} where the live configurations differ), "
        f"{verdict.duplicates} duplicates, tx_dropped +{dropped}, tx_packets +{tx_packets}, "
        f"unexplained loss {lost}, {len(problems)} inconsistent")
    if problems:
        pytest.fail(f"TUNRSS_STRESS_SEED={seed}: {len(problems)} packet(s) not explained by "
                    f"one live configuration ({verdict.torn_queue_older} torn with the queue "
                    f"from an older configuration than the header, "
                    f"{verdict.torn_header_older} the other way round):\n"
                    + "\n".join(problems[:20]), pytrace=False)
    assert lost == 0, f"{lost} frames neither read nor counted in tx_dropped"
    assert tx_packets == len(records)
    short = shortfalls(
        {"configurations applied": len(sh.configs),
         "frames in flight across a change": verdict.across,
         "frames whose live configurations differ": verdict.discriminating},
        {"configurations applied": env_int("TUNRSS_STRESS_MIN_CONFIGS", MIN_CONFIGS),
         "frames in flight across a change": env_int("TUNRSS_STRESS_MIN_ACROSS", MIN_ACROSS),
         "frames whose live configurations differ":
             env_int("TUNRSS_STRESS_MIN_DISCRIMINATING", MIN_DISCRIMINATING)})
    assert not short, f"TUNRSS_STRESS_SEED={seed}: the run did not exercise the check: {short}"
