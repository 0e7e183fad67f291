# SPDX-License-Identifier: MIT
"""pytest plugin: taps in a network namespace, and the helpers the tap tests share.

Loaded with ``pytest_plugins = ["tests.lib.taps"]`` by tests/vm/conftest.py
and tests/robustness/conftest.py, which also make :func:`root_and_tun`
autouse for their directory; tests import the helpers (``mismatches``,
``require_hash``, ...) from here.

Skip/fail convention:

* not root, or no /dev/net/tun: skip, "run `make vm-test`";
* the kernel lacks TUNGETVNETHASHCAP (pyuapi raises FeatureMissingError):
  skip with FEATURE_MISSING_MSG, unless TUNRSS_EXPECT_FEATURE=1 (set by the
  VM runner when patches/ is applied): then the test fails with that message.

Isolation: every test runs in its own network namespace (the ``netns``
fixture: tests.lib.netlink.NetNS, pyroute2); the tap devices and AF_PACKET
sockets made inside die with the namespace when the test closes them, so a
run on a host as root leaves the host's namespace untouched.  IPv6 is
disabled in the new namespace so that no router solicitation, DAD or MLD
frame appears on the taps.  Links are set up over rtnetlink with pyroute2
(tests.lib.netlink).
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Callable, Collection, Iterator, Optional

import pytest

from pyuapi import HashCapabilities, HashConfig, Packet, Tap, rss
from pyuapi.errors import FEATURE_MISSING_MSG, FeatureMissingError
from pyuapi.tapfiles import TapFiles
from pyuapi.testkit.inject import Injector
from pyuapi.uapi import tun as T
from pyuapi.uapi import virtio_net as V

from .netlink import NetNS, link_up

NEED_ROOT_MSG = "needs root and /dev/net/tun: run `make vm-test`"


def expect_feature() -> bool:
    """True when the VM runner applied patches/ (TUNRSS_EXPECT_FEATURE=1)."""
    return os.environ.get("TUNRSS_EXPECT_FEATURE") == "1"


def feature_missing(detail: str = "", msg: str = FEATURE_MISSING_MSG) -> None:
    """Skip, or fail when the feature is expected (see the module docstring)."""
    msg += f" ({detail})" if detail else ""
    if expect_feature():
        pytest.fail(msg, pytrace=False)
    pytest.skip(msg)


@pytest.fixture
def root_and_tun() -> None:
    """Skip unless root with /dev/net/tun (the conftests make this autouse)."""
    if os.geteuid() != 0 or not os.path.exists("/dev/net/tun"):
        pytest.skip(NEED_ROOT_MSG)


@pytest.fixture
def netns() -> Iterator[NetNS]:
    """A fresh network namespace for the test (tests.lib.netlink.NetNS)."""
    with NetNS() as ns:
        yield ns


TapFactory = Callable[..., Tap]


@pytest.fixture
def make_tap(netns: NetNS) -> Iterator[TapFactory]:
    """make_tap(queues=N, up=True, **Tap kwargs) -> Tap inside the test's namespace; closed after."""
    taps: list[Tap] = []

    def make(queues: int = 1, up: bool = True, **kw: object) -> Tap:
        t = Tap("rss%d", queues=queues, **kw)
        taps.append(t)
        if up:
            link_up(t.name)
        return t

    yield make
    for t in taps:
        t.close()


def require_hash(tap: TapFiles) -> HashCapabilities:
    """TUNGETVNETHASHCAP, or skip/fail per the convention above."""
    try:
        return tap.hash_cap()
    except FeatureMissingError as e:
        feature_missing(f"{e.ioctl}: errno {e.errno}")
        raise  # unreachable: skip/fail raise


def report_ready(tap: TapFiles) -> None:
    """A 20-byte little-endian vnet header, as hash REPORT requires (docs/design.md),
    on every queue file (one header per device on tun, per file on /dev/tapN)."""
    for q in range(len(tap.fds)):
        tap.set_vnet_le(True, queue=q)
        tap.set_vnet_hdr_sz(V.VNET_HDR_V1_HASH_LEN, queue=q)


@pytest.fixture
def hash_tap(make_tap: TapFactory) -> Iterator[tuple[Tap, HashCapabilities]]:
    """A 4-queue tap, link up, 20-byte LE vnet header, with the feature present."""
    tap = make_tap(queues=4)
    cap = require_hash(tap)
    report_ready(tap)
    yield tap, cap


# ---------------------------------------------------------------- helpers


def collect(tap: TapFiles, n: int, timeout: float = 2.0,
            queues: list[int] | None = None) -> list[Packet]:
    """Read every queue (or the fd indexes ``queues``) until ``n`` packets
    arrived or ``timeout`` passed."""
    got: list[Packet] = []
    end = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < end:
        got.extend(tap.drain_all(queues))
        if len(got) < n:
            time.sleep(0.002)
    return got


def expected(tap: TapFiles, cfg: HashConfig, frame: bytes) -> tuple[int, int, int | None]:
    """(hash_value, hash_report, fd index or None) that pyuapi.rss predicts for ``frame``."""
    h, r = rss.hash_frame(frame, cfg.types, cfg.key)
    queue = None
    if cfg.flags & T.TUN_VNET_HASH_RSS:
        txq = rss.select_queue(h, r, cfg.table, cfg.unclassified_queue, tap.numqueues)
        queue = tap.fd_index_of_kernel_queue(txq)
    return h, r, queue


def compare_batch(want: dict[bytes, tuple[int, int, int | None]], got: list[Packet],
                  report: bool | Collection[int], fixed_queue: int | None = None) -> list[str]:
    """Compare the packets read back for one batch with what was sent.

    ``want`` maps each frame sent (distinct) to its (hash_value,
    hash_report, fd index or None) from :func:`expected`; ``got`` is every
    packet read.  Each frame must come back exactly once: a frame read
    twice is a duplicate, one not sent is unexpected, one not read is lost.
    Checks the queue (``fixed_queue`` overrides the expected fd index) and,
    with ``report``, hash_value/hash_report and zero num_buffers/padding.
    Returns one line per difference.
    """
    problems: list[str] = []
    seen: set[bytes] = set()
    for p in got:
        if p.frame not in want:
            problems.append(f"unexpected frame on queue {p.queue}: {p.frame[:64].hex()}")
            continue
        tag = f"frame {p.frame[:80].hex()}"
        if p.frame in seen:
            problems.append(f"{tag}: duplicate, read again on queue {p.queue}")
            continue
        seen.add(p.frame)
        h, r, q = want[p.frame]
        if fixed_queue is not None:
            q = fixed_queue
        if q is not None and p.queue != q:
            problems.append(f"{tag}: queue {p.queue}, expected {q} "
                            f"(hash {h:#010x} report {r})")
        if report is True or (report and p.queue in report):
            if len(p.vnet) < 20:
                problems.append(f"{tag}: vnet header {len(p.vnet)} bytes")
                continue
            if (p.hash_value, p.hash_report) != (h, r):
                problems.append(f"{tag}: kernel ({p.hash_value:#010x}, {p.hash_report})"
                                f", pyuapi ({h:#010x}, {r})")
            hh = p.hash_header()
            if hh is None or hh.hdr.num_buffers or hh.padding:
                problems.append(f"{tag}: num_buffers/padding not zero: {p.vnet.hex()}")
    for f in want:
        if f not in seen:
            problems.append(f"lost frame {f[:80].hex()}")
    return problems


LATE_SECONDS = 0.05     # how long a batch waits for copies after its last frame


def mismatches(tap: TapFiles, cfg: HashConfig, frames: list[bytes], batch: int = 64,
               timeout: float = 3.0, fixed_queue: int | None = None,
               via: Optional[str] = None, injector: Optional[Injector] = None) -> list[str]:
    """Send ``frames`` (distinct) through the tap and compare each with pyuapi.rss.

    Checks the queue when RSS is on, and hash_value/hash_report (plus zero
    num_buffers and padding) when REPORT is on.  ``fixed_queue`` (an fd
    index) is the queue every frame must use when something other than RSS
    steers (a constant eBPF program).  Every frame must be read exactly
    once: after a batch arrived, the queues are read again after
    LATE_SECONDS so that a late duplicate is caught in its own batch
    (:func:`compare_batch`).  Returns one line per difference, lost,
    duplicated or unexpected frame.  The frames are sent on ``via`` (default:
    the tap's own link, whose transmit path the tap is; for a macvtap/ipvtap
    the peer of its lower device, tests.lib.tapdevs).  With REPORT, the
    hash is checked on the queues whose header has room for it.
    ``injector`` (left open) sends instead, e.g. a
    pyuapi.testkit.inject.VnetInjector that makes non-linear skbs.
    """
    if len(set(frames)) != len(frames):
        raise ValueError("mismatches() needs distinct frames: a copy would be a duplicate")
    problems: list[str] = []
    report: set[int] = set()
    if cfg.flags & T.TUN_VNET_HASH_REPORT:
        report = {q for q in range(len(tap.fds)) if tap.has_hash_room(q)}
    with contextlib.nullcontext(injector) if injector else Injector(via or tap.name) as inj:
        for start in range(0, len(frames), batch):
            chunk = frames[start:start + batch]
            want = {f: expected(tap, cfg, f) for f in chunk}
            for f in chunk:
                inj.send(f)
            got = collect(tap, len(chunk), timeout)
            time.sleep(LATE_SECONDS)
            got.extend(tap.drain_all())
            problems += compare_batch(want, got, report, fixed_queue)
    return problems
