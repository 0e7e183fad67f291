# SPDX-License-Identifier: MIT
"""Reconfiguration under traffic (issue 7): one thread floods a multiqueue tap
through AF_PACKET, another replaces the TUNSETVNETHASH configuration many
times per second (tables, keys, types, RSS on/off, REPORT on/off), the main
thread reads every queue.

Each packet must agree with ONE configuration live while it was in flight
(docs/design.md "Behaviour"; the state is replaced as a whole under RCU,
patches/0003): configurations are numbered; the sender notes the last one
whose ioctl had returned before sendto(), the reader the last one whose
ioctl had started when read() returned; the packet's queue must be what
pyuapi.rss selects for one of them (or any queue if one of them had no
RSS), and its hash_value/hash_report the pair pyuapi.rss computes for one
of them with REPORT, or the header bytes zero if one of them had no REPORT
(the header is read into a buffer pre-filled with a pattern that no kernel
header can hold, so a byte tun skipped shows).  A torn mixture, e.g. one configuration's key
with another's types, matches none.

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

from pyuapi import rss
from pyuapi.uapi import tun as T, virtio_net as V
from pyuapi.testkit.inject import Injector
from tests.lib.netlink import link_stats
from pyuapi.testkit.randframes import random_config, random_frame
from pyuapi import HashConfig

from knobs import env_float, seed_from_env
from tests.lib.taps import TapFactory, report_ready, require_hash

QUEUES = 4
TEMPLATES = 256
MARK = b"\x02\x5a"                       # source MAC = MARK + 4-byte sequence number
UNTOUCHED = 0xA5                         # header fill: hash_report 0xa5a5 is no report
RSS, REPORT = T.TUN_VNET_HASH_RSS, T.TUN_VNET_HASH_REPORT


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
    type_pool = [random_config(rng, types).types for _ in range(6)] + [types, 0]

    def make() -> HashConfig:
        if rng.random() < 0.1:
            return HashConfig.disabled()                                   # RSS and REPORT off
        c = random_config(rng, types, max_queue=2 * QUEUES)
        return dataclasses.replace(c, key=rng.choice(keys), types=rng.choice(type_pool))
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
            t = frames[seq % len(frames)]
            frame = t[:6] + MARK + seq.to_bytes(4, "big") + t[12:]
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

    records: list[tuple[int, bytes, bytes, int]] = []      # fd index, header, frame, started
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
                        records.append((index[fd], bytes(hbuf), bytes(fbuf[:n - hdr]), sh.started))
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

    problems: list[str] = []
    hashes: dict[tuple[int, int, bytes], tuple[int, int]] = {}

    def hash_of(tmpl: int, c: HashConfig) -> tuple[int, int]:
        k = (tmpl, c.types, c.key)
        if k not in hashes:
            hashes[k] = rss.hash_frame(frames[tmpl], c.types, c.key)
        return hashes[k]

    ambiguous = 0
    for fdi, h, frame, hi in records:
        if frame[6:8] != MARK:
            problems.append(f"foreign frame on fd {fdi}: {frame[:40].hex()}")
            continue
        seq = int.from_bytes(frame[8:12], "big")
        tmpl = seq % TEMPLATES
        live = sh.configs[sh.sent[seq]:hi + 1]
        ambiguous += len(live) > 1
        # without REPORT tun zero-fills the rest of the header (6.15's
        # "tun: Pad virtio headers"): the fill pattern must be gone
        unreported = h[10:] == bytes(hdr - 10)
        report_ok = (unreported and any(not c.flags & REPORT for c in live)) or (
            h[10:12] == b"\0\0" and h[18:20] == b"\0\0" and any(
                c.flags & REPORT and hash_of(tmpl, c) == (int.from_bytes(h[12:16], "little"),
                                                          int.from_bytes(h[16:18], "little"))
                for c in live))
        queue_ok = any(not c.flags & RSS for c in live) or any(
            tap.fd_index_of_kernel_queue(rss.select_queue(*hash_of(tmpl, c), c.table,
                                                          c.unclassified_queue, QUEUES)) == fdi
            for c in live)
        if not (report_ok and queue_ok):
            problems.append(f"seq {seq} on fd {fdi} header {h.hex()}: matches none of "
                            f"configurations {sh.sent[seq]}..{hi} "
                            f"(report {'ok' if report_ok else 'bad'}, "
                            f"queue {'ok' if queue_ok else 'bad'})")
    dropped = after["tx_dropped"] - before["tx_dropped"]
    tx_packets = after["tx_packets"] - before["tx_packets"]
    lost = sh.sent_ok - len(records) - dropped
    record_summary(
        f"reconfiguration stress: TUNRSS_STRESS_SEED={seed}: {flood_seconds:.1f}s, "
        f"{len(sh.configs)} configurations applied ({len(sh.configs) / flood_seconds:.0f}/s), "
        f"{sh.sent_ok} frames sent ({sh.enobufs} ENOBUFS), {len(records)} read and checked "
        f"({ambiguous} in flight across a reconfiguration), tx_dropped +{dropped}, "
        f"tx_packets +{tx_packets}, unexplained loss {lost}, {len(problems)} inconsistent")
    if problems:
        pytest.fail(f"TUNRSS_STRESS_SEED={seed}: {len(problems)} packet(s) consistent with no "
                    "live configuration:\n" + "\n".join(problems[:20]), pytrace=False)
    assert lost == 0, f"{lost} frames neither read nor counted in tx_dropped"
    assert tx_packets == len(records)
    assert len(records) > 0 and len(sh.configs) > 1
