# SPDX-License-Identifier: MIT
"""Concurrent reconfiguration against every queue operation (issue 17).

Forked processes (so that two vCPUs run two at once) race on one
multiqueue tap, each in a loop with no pause, for TUNRSS_STRESS_SECONDS:
TUNSETVNETHASH valid and invalid, TUNGETVNETHASH, IFF_ATTACH_QUEUE /
IFF_DETACH_QUEUE, TUNSETSTEERINGEBPF attach/detach, TUNSETVNETHDRSZ, link
down/up, one more queue file attached by name (TUNSETIFF), read and
closed; meanwhile a sender floods the tap through AF_PACKET, two readers
read every queue and vhost-net receives on one (concurrent_workers.py,
concurrent_readers.py).
Beside it, persistent taps change owners (each must start without the
previous owner's hash state) and configured taps taking traffic are
deleted while their files are in use (concurrent_churn.py).  The tap
itself is a persistent device whose previous owner left a REPORT
configuration behind.

Verdict (concurrent_judge.py): every packet read has the header of ONE
configuration live between its send and its read, and its frame is the
one sent; every TUNGETVNETHASH answer is one live configuration; every
ioctl answers what docs/design.md says (an unexpected errno fails the
worker); each kind of operation ran at least a minimum number of times
(TUNRSS_CSTRESS_MIN_SCALE scales the minimums); every worker ends within
the time limit.  Kernel splats, KCSAN reports ("BUG: KCSAN:") and
kmemleak reports fail the run through the VM runner (vm/splat.py).

TUNRSS_STRESS_SEED replays the random choices (not the interleaving).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import random
import time
from typing import Callable

import pytest

from pyuapi import HashConfig, Tap
from pyuapi.testkit.bpf import load_const_prog
from pyuapi.testkit.randframes import random_frame
from pyuapi.uapi import tun as T

import concurrent_churn as churn
import concurrent_readers as R
import concurrent_workers as W
from concurrent_board import Board
from concurrent_judge import judge_packets, judge_read_backs, make_pool
from knobs import env_float, env_int, seed_from_env
from tests.lib.netlink import NetNS, link_up
from tests.lib.taps import require_hash

QUEUES = 5                    # 0: control + read, 1..3: churned + read, 4: vhost-net
TEMPLATES = 128
MAX_ATTEMPTS = 1 << 20
# Seconds a worker may take to finish after stop (TUNRSS_CSTRESS_GRACE): one
# iteration of the owner-change and deletion workers waits for RCU grace
# periods (synchronize_net per detach, one per qdisc freed), which on a
# lockdep kernel under TCG took longer than 60 s (2026-12-02, debug).
GRACE = 300.0
MINIMUM = {                   # per run, times TUNRSS_CSTRESS_MIN_SCALE
    "set_applied": 50, "set_busy": 1, "set_invalid": 5, "get": 50, "attach": 20,
    "detach": 20, "setqueue_refused": 2, "steer_on": 2, "steer_off": 5, "steer_busy": 5,
    "hdrsz": 20, "hdrsz_invalid": 2, "link_down": 3, "link_up": 3, "sent": 500, "read": 200,
    "reopen": 5, "persist_cycles": 2, "persist_checked": 2, "deleted": 2, "vhost_received": 10,
    "judged": 200, "across": 50, "discriminating": 20,
}


def _previous_owner(name: str, cfg: HashConfig) -> None:
    """A first owner of the persistent tap ``name`` configures REPORT and leaves."""
    with Tap(name, queues=2) as first:
        churn.prepare(first)
        first.set_vnet_hash(cfg)


def _run(target: Callable, args: tuple, results: mp.Queue) -> None:
    try:
        results.put(target(*args))
    except BaseException as e:  # noqa: BLE001 (reported by the parent)
        results.put(("error", f"{target.__name__}: {e!r}"))


def test_concurrent_stress(netns: NetNS, record_summary: Callable[[str], None]) -> None:
    seed = seed_from_env("TUNRSS_STRESS_SEED")
    seconds = env_float("TUNRSS_STRESS_SECONDS", 10.0)
    scale = env_float("TUNRSS_CSTRESS_MIN_SCALE", 1.0)
    grace = env_float("TUNRSS_CSTRESS_GRACE", GRACE)
    print(f"TUNRSS_STRESS_SEED={seed}", flush=True)
    rng = random.Random(seed)
    frames = [random_frame(rng, i) for i in range(TEMPLATES)]

    name = "cstress0"
    tap = Tap(name, queues=QUEUES)
    tap.set_persist(True)
    try:
        cap = require_hash(tap)
        pool, cfgs = make_pool(rng, cap.types, QUEUES)
        first_cfg = next(c for c in cfgs if c.flags & T.TUN_VNET_HASH_REPORT)
        tap.close()
        _previous_owner(name, first_cfg)
        tap = Tap(name, queues=QUEUES)
        assert tap.get_vnet_hash() == HashConfig.disabled(), \
            "a new owner of a persistent tap inherits the previous owner's hash state"
        churn.prepare(tap)
        link_up(name)
        board = Board(MAX_ATTEMPTS)
        initial = next(i for i, c in enumerate(cfgs) if c.flags & T.TUN_VNET_HASH_RSS)
        tap.set_vnet_hash(cfgs[initial])
        board.choice[0], board.outcome[0] = initial, 1
        prog = load_const_prog(1)
        persist_cfgs = [c for c in cfgs[:48] if c.flags & T.TUN_VNET_HASH_REPORT]
        fd0 = tap.fds[0]
        jobs = [
            (W.reconfigure, (board, fd0, pool, rng.randrange(1 << 30))),
            (W.read_back, (board, fd0, cap.max_indirection_table_length)),
            (W.queue_churn, (board, tap.fds[1:4], rng.randrange(1 << 30))),
            (W.steering, (board, fd0, prog)),
            (W.hdr_size, (board, fd0, rng.randrange(1 << 30))),
            (W.link_flap, (board, name)),
            (W.sender, (board, name, frames)),
            (R.reader, (board, tap.fds[0:2], frames, "reader-a")),
            (R.reader, (board, tap.fds[2:4], frames, "reader-b")),
            (churn.reopen, (board, name, frames)),
            (churn.vhost_rx, (board, tap.fds[4], frames)),
            (churn.persist_cycle, (board, "cpersist0", persist_cfgs, frames)),
            (churn.delete_cycle, (board, persist_cfgs[0], frames)),
        ]
        ctx = mp.get_context("fork")
        results: mp.Queue = ctx.Queue()
        procs = [ctx.Process(target=_run, args=(f, a, results), name=f.__name__)
                 for f, a in jobs]
        start = time.monotonic()
        for p in procs:
            p.start()
        time.sleep(seconds)
        board.stop.value = 1
        got: list[tuple[str, object]] = []
        end = time.monotonic() + grace
        while len(got) < len(procs) and time.monotonic() < end:
            try:
                got.append(results.get(timeout=1.0))
            except queue.Empty:
                if not any(p.is_alive() for p in procs) and results.empty():
                    break
        elapsed = time.monotonic() - start
        hung = [p.name for p in procs if p.join(max(0.1, end - time.monotonic())) or p.is_alive()]
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join()
        os.close(prog)
    finally:
        try:
            tap.set_persist(False)
        finally:
            tap.close()
    errors = [str(payload) for kind, payload in got if kind == "error"]
    out = dict(got)
    reads, bad = [], []
    for key in ("reader-a", "reader-b", "reopen", "vhost_rx"):
        r, b = out.get(key, ([], []))
        reads += r
        bad += b
    sent: dict[int, int] = out.get("sender", {})
    verdict = judge_packets(board, cfgs, frames, sent, reads)
    problems = [f"frame at no header offset, or not one sent: {b.hex()}" for b in bad[:10]]
    problems += verdict.problems[:20]
    problems += judge_read_backs(board, cfgs, out.get("read_back", []))[:20]
    totals = board.totals()
    totals.update(judged=verdict.checked, across=verdict.across,
                  discriminating=verdict.discriminating)
    record_summary(f"concurrent stress: TUNRSS_STRESS_SEED={seed}: {elapsed:.1f}s, "
                   f"{os.cpu_count()} CPUs, " + ", ".join(f"{k} {v}" for k, v in totals.items())
                   + f", {len(bad)} bad frames, {len(verdict.problems)} unexplained"
                   + (f", still running {grace:.0f}s after stop: {hung}" if hung else ""))
    assert not hung, f"workers still running {grace:.0f}s after stop: {hung}"
    assert not errors, "\n".join(errors)
    assert not bad and not problems, f"TUNRSS_STRESS_SEED={seed}:\n" + "\n".join(problems)
    short = [f"{k}: {totals.get(k, 0)} < {int(v * scale)}" for k, v in MINIMUM.items()
             if totals.get(k, 0) < int(v * scale)]
    assert not short, f"TUNRSS_STRESS_SEED={seed}: the run did not exercise: {short}"
