# SPDX-License-Identifier: MIT
"""Allocation failures in the series (issue 17), with the kernel's fault
injection (faultinject.py; needs the "kcsan" variant, vm/config/kcsan.config:
elsewhere the tests skip).

* TUNSETVNETHASH: tun_vnet_hash_build() allocates the new state
  (kvzalloc, ~5 KiB: a kmalloc, then a vmalloc fallback) before the RTNL
  (patches/0002).  Every allocation the call makes is failed in turn
  (fail-nth = 1, 2, ... with failslab counting GFP_KERNEL allocations and
  fail_page_alloc counting order-0 pages, which the vmalloc fallback takes):
  each call either fails with ENOMEM and TUNGETVNETHASH returns the
  previous configuration unchanged, or succeeds (the fallback covered the
  failure) and returns the new one; until an N the call no longer reaches.
  Then every allocation of one call fails (failslab and fail_page_alloc,
  probability 100, task filter): it must give ENOMEM and change nothing.
* The datapath: with RSS, tun_select_queue() stores the hash and the REPORT
  decision in an skb extension (patches/0003 virtio_net_hash_set_ext,
  GFP_ATOMIC).  failslab fails every allocation made under
  tun_select_queue (stack filter, task filter: only this thread's sends).
  patches/0003 defines what happens then: "Should its allocation fail,
  tun_put_user() uses the configuration it finds", i.e. the header reports
  the hash of the configuration in force when the packet is READ, while
  the queue is the one the configuration at send time chose.  The test
  changes the configuration between send and read, so the two are told
  apart: packets sent with injection must carry the new configuration's
  hash, control packets the old one's, and every packet must arrive.

Each test counts the failures it injected (fail-nth consumed, failslab
``times`` decremented) and fails if there were none.  Leaks: the VM runner
scans kmemleak after the tests on this variant (vm/guest.py).
"""

from __future__ import annotations

import ctypes
import errno
import random
from typing import Callable

import pytest

from pyuapi import HashConfig, Tap, rss
from pyuapi.sysio import ioctl
from pyuapi.testkit.inject import Injector
from pyuapi.testkit.randframes import random_frame
from pyuapi.uapi import tun as T

import faultinject as fi
from tests.lib.taps import TapFactory, collect, report_ready, require_hash

RSS, REPORT = T.TUN_VNET_HASH_RSS, T.TUN_VNET_HASH_REPORT
MAX_NTH = 200
FRAMES = 64


@pytest.fixture
def failslab() -> fi.Knobs:
    """/sys/kernel/debug/failslab, restored after the test; skip without it."""
    why = fi.missing("failslab")
    if why:
        pytest.skip(f"no fault injection in this kernel: {why}; run with KCONFIG=kcsan")
    with fi.injecting(), fi.Knobs("failslab") as knobs:
        # one line per failure on the console, no stack dump (vm/splat.py
        # would take its "Call Trace:" for a splat)
        knobs.set(verbose=1, probability=0, interval=1, times=-1, space=0)
        yield knobs


def _cfg(rng: random.Random, cap_types: int, flags: int) -> HashConfig:
    table = tuple(rng.randrange(2) for _ in range(8))
    return HashConfig(flags, cap_types, rng.randbytes(T.TUN_VNET_HASH_KEY_SIZE), table,
                      rng.randrange(2))


def test_set_vnet_hash_enomem_keeps_previous(make_tap: TapFactory, failslab: fi.Knobs,
                                             record_summary: Callable[[str], None]) -> None:
    tap = make_tap(queues=2)
    cap = require_hash(tap)
    report_ready(tap)
    rng = random.Random(17)
    old = _cfg(rng, cap.types, RSS | REPORT)
    new = _cfg(rng, cap.types, RSS | REPORT)
    tap.set_vnet_hash(old)
    failslab.set(ignore_gfp_wait="N")          # count the GFP_KERNEL allocations too
    arg = ctypes.create_string_buffer(new.encode())
    fd = tap.fds[0]
    injected = enomem = succeeded = 0
    # kvzalloc's vmalloc fallback takes order-0 pages that may sleep, which
    # fail_page_alloc ignores by default (min-order 1, ignore-gfp-wait Y):
    # with failslab alone, a kcsan run injected 3 failures and the fallback
    # covered all 3, so ENOMEM was never reached.
    with fi.Knobs("fail_page_alloc") as pages, fi.FailNth() as nth:
        pages.set(verbose=1, probability=0, interval=1, times=-1, space=0,
                  min_order=0, ignore_gfp_wait="N", ignore_gfp_highmem="N")
        for n in range(1, MAX_NTH + 1):
            nth.arm(n)
            err = -ioctl(fd, T.TUNSETVNETHASH, arg)
            left = nth.left()
            nth.arm(0)
            got = tap.get_vnet_hash()
            if left:                            # the call made fewer than n allocations
                assert err == 0 and got == new.canonical(), (n, err, got)
                break
            injected += 1
            if err == 0:
                succeeded += 1
                assert got == new.canonical(), f"fail-nth {n}: success but TUNGETVNETHASH {got}"
                tap.set_vnet_hash(old)
            else:
                assert err == errno.ENOMEM, f"fail-nth {n}: errno {err}, expected ENOMEM"
                enomem += 1
                assert got == old.canonical(), \
                    f"fail-nth {n}: ENOMEM but the configuration changed to {got}"
        else:
            pytest.fail(f"TUNSETVNETHASH still allocating after {MAX_NTH} injected failures")
    # Every allocation of one call fails (fail-nth fails one only, and a
    # failed kmalloc of kvzalloc is covered by its vmalloc fallback): the
    # call must give ENOMEM and change nothing.
    budget = 100_000
    tap.set_vnet_hash(old)                  # the walk above ended with `new` applied
    with fi.Knobs("fail_page_alloc") as pages, fi.MakeItFail() as mif:
        for knobs in (failslab, pages):
            knobs.set(verbose=1, interval=1, space=0, task_filter="Y", times=budget,
                      ignore_gfp_wait="N")
        pages.set(min_order=0, ignore_gfp_highmem="N")
        for knobs in (failslab, pages):
            knobs.set(probability=100)
        mif.arm(True)
        err = -ioctl(fd, T.TUNSETVNETHASH, arg)
        mif.arm(False)
        for knobs in (failslab, pages):
            knobs.set(probability=0)
        all_failed = sum(budget - int(k.read("times")) for k in (failslab, pages))
    got = tap.get_vnet_hash()
    record_summary(f"faults: TUNSETVNETHASH: {injected} allocation failures injected one "
                   f"at a time (fail-nth 1..{injected}): {enomem} ENOMEM with the previous "
                   f"configuration intact, {succeeded} covered by a fallback; every "
                   f"allocation failing ({all_failed} failures): errno {err}")
    assert injected > 0, "fail-nth reached no allocation of TUNSETVNETHASH"
    assert all_failed > 0, "no allocation failed with every allocation made to fail"
    assert err == errno.ENOMEM, f"every allocation failing: errno {err}, expected ENOMEM"
    assert got == old.canonical(), f"ENOMEM but the configuration changed to {got}"


def test_skb_ext_failure_reports_current_config(make_tap: TapFactory, failslab: fi.Knobs,
                                                record_summary: Callable[[str], None]) -> None:
    tap = make_tap(queues=2)
    cap = require_hash(tap)
    report_ready(tap)
    rng = random.Random(18)
    a, b = _cfg(rng, cap.types, RSS | REPORT), _cfg(rng, cap.types, RSS | REPORT)
    frames = [random_frame(rng, i) for i in range(2 * FRAMES)]
    faulty, control = frames[:FRAMES], frames[FRAMES:]
    start, end = fi.symbol_range("tun_select_queue")
    results = {}
    with Injector(tap.name) as inj:
        for label, batch, inject in (("control", control, False), ("faulty", faulty, True)):
            tap.set_vnet_hash(a)
            if inject:
                failslab.set(ignore_gfp_wait="Y", task_filter="Y", times=10 * FRAMES,
                             require_start=start, require_end=end, stacktrace_depth=32,
                             probability=100)
                with fi.make_it_fail():
                    inj.send_all(batch)
                failslab.set(probability=0)
                injected = 10 * FRAMES - int(failslab.read("times"))
            else:
                inj.send_all(batch)
            tap.set_vnet_hash(b)              # between the send and the read
            results[label] = collect(tap, len(batch), timeout=3.0)
    problems = []
    # frames whose hash differs under a and b: there the header tells which was used
    telling = sum(rss.hash_frame(f, a.types, a.key) != rss.hash_frame(f, b.types, b.key)
                  for f in faulty)
    for label, batch, header_cfg in (("control", control, a), ("faulty", faulty, b)):
        got = {p.frame: p for p in results[label]}
        for f in batch:
            p = got.get(f)
            if p is None:
                problems.append(f"{label}: frame lost: {f[:32].hex()}")
                continue
            h, r = rss.hash_frame(f, header_cfg.types, header_cfg.key)
            ha, ra = rss.hash_frame(f, a.types, a.key)
            queue = tap.fd_index_of_kernel_queue(
                rss.select_queue(ha, ra, a.table, a.unclassified_queue, 2))
            if (p.hash_value, p.hash_report, p.queue) != (h, r, queue):
                problems.append(f"{label}: ({p.hash_value:#x}, {p.hash_report}, queue "
                                f"{p.queue}), expected ({h:#x}, {r}, queue {queue})")
    record_summary(f"faults: skb extension: {injected} allocation failures injected under "
                   f"tun_select_queue for {FRAMES} frames ({telling} whose header tells "
                   f"the configurations apart); {len(problems)} problems")
    assert injected > 0, "failslab injected no failure under tun_select_queue"
    assert telling >= FRAMES // 2, f"only {telling} frames tell the configurations apart"
    assert not problems, "\n".join(problems[:20])
