# SPDX-License-Identifier: MIT
"""ioctl fuzzer for TUNSETVNETHASH and the ioctls it interacts with (issue 7).

Mutated TUNSETVNETHASH arguments (every flag and type bit, table lengths
around powers of two and 128, queue numbers beyond numqueues, non-zero pad,
RSS fields without RSS, flags 0 with a non-zero member, the ``size`` member
below 56, above a page, or above 56 with a zero or non-zero tail and the
table at offset ``size``, random bytes), each placed so that it ends exactly
at a PROT_NONE page (pyuapi.testkit.guardpage): an argument cut short must
give EFAULT (or E2BIG for a non-zero byte of the tail read before the
fault), a complete one must not make the kernel read past it.  Interleaved
with TUNSETVNETHDRSZ, TUNSETVNETLE/BE, TUNSETSTEERINGEBPF attach/detach,
IFF_ATTACH_QUEUE/IFF_DETACH_QUEUE, ioctls through detached queues and
through a /dev/net/tun fd that never attached (argument errors before
EBADFD), reads and writes on every queue, TUNGETVNETHASHCAP and
TUNGETVNETHASH with fuzzed sizes, and deletion of the device (RTM_DELLINK)
while its fds stay open.

Checks, for every call: the result is 0 or an errno that docs/design.md
"Validation" and if_tun.h (or tun.c for the older ioctls, see vnet_oracle)
predict for that input in the current state.  After every call:
TUNGETVNETHASHCAP is byte for byte what it was, TUNGETVNETHASH returns the
modelled configuration, and the vnet header size and endianness read back
as modelled; after a failed call a probe frame is steered and reported as
pyuapi.rss predicts for the previous configuration (tests/lib/taps.py
``mismatches``).  After a successful TUNSETVNETHASH the probe checks the
new configuration.

It runs for each device kind of tests.lib.tapdevs: a tun tap, and the
/dev/tapN files of a macvtap and an ipvtap (drivers/net/tap.c: a vnet
header per file, TUNSETIFF on a file, ENOLINK for a deleted link, no
steering program; fuzz_target.Target keeps the model of each kind, and
vnet_oracle knows the differences).

Replay: the seed is printed (TUNRSS_FUZZ_SEED=<n>); TUNRSS_FUZZ_CALLS sets
the number of calls per device kind (default 2000; `make fuzz` passes
100000).  The errno classes observed per input class are printed as a
table at the end.
"""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import os
import random
import select
import struct
import time
from collections import Counter, defaultdict, deque
from typing import Callable, Optional

import pytest

from pyuapi.testkit import bpf, packets as P
from pyuapi import hashio, sysio
from pyuapi.errors import TunError
from pyuapi.tapfiles import TapFiles
from pyuapi.uapi import tun as T
from pyuapi.testkit.inject import Injector
from pyuapi.testkit.randframes import random_config
from pyuapi import HashConfig, Packet
from pyuapi.testkit.guardpage import GuardedBuffer

from fuzz_target import Target
from knobs import env_int, seed_from_env
from tests.lib.tapdevs import DEVICE_KINDS, TapDevFactory
from tests.lib.taps import expected, mismatches, require_hash
from vnet_oracle import (CAP_LEN, HEADER_LEN, RSS, REPORT, DevState, decode_payload,
                         predict_get_cap, predict_get_vnet_hash, predict_hdr_sz,
                         predict_set_iff, predict_set_vnet_hash, predict_steering,
                         predict_vnet_be, predict_vnet_le)

QUEUES = 4
KEYS = 16
FULL_PROBE_EVERY = 1000
EBPF_CONSTS = (0, 1, 2, 3, 7)
HDR_SIZES = (-1, 0, 1, 8, 9, 10, 11, 12, 16, 18, 19, 20, 21, 24, 32, 64, 128)
COVERAGE_CALLS = 2000      # from this many calls on, a run must show coverage_gaps() == []
MIN_CONFIGS_APPLIED = 20
MUTATION_CLASSES = ("valid", "flags: unknown bit", "pad not zero", "disable (flags 0)",
                    "mask/unclassified without RSS", "cut short at the guard page",
                    "random bytes", "queues >= numqueues (valid)",
                    "table length: not a power of two", "table length: > 128",
                    "flags 0 with a non-zero member", "size < 56", "size > a page",
                    "size > 56, zero tail (valid)", "size > 56, non-zero tail")
TUNSETVNETHASH_ERRNOS = ("0", "EINVAL", "E2BIG", "EFAULT", "EBADFD")
PAGE = T.MAX_ARG_SIZE
SMALL_SIZES = (0, 1, 4, 16, 52, 55)
BIG_SIZES = (PAGE + 1, 2 * PAGE, 65536, 0x7FFFFFFF, 0xFFFFFFFF)
WIDE_SIZES = (57, 58, 60, 64, 72, 100, 256, 1024, PAGE - 1, PAGE)
GET_SIZES = SMALL_SIZES + (HEADER_LEN,) * 4 + WIDE_SIZES + BIG_SIZES
CAP_SIZES = (0, 4, 8, 15, CAP_LEN, CAP_LEN, CAP_LEN, 17, 24, 64, PAGE) + BIG_SIZES
IFF_CHOICES = (T.IFF_TAP | T.IFF_NO_PI | T.IFF_VNET_HDR, T.IFF_TAP | T.IFF_NO_PI,
               T.IFF_TAP | T.IFF_NO_PI | T.IFF_VNET_HDR | T.IFF_MULTI_QUEUE,
               T.IFF_TUN | T.IFF_NO_PI | T.IFF_VNET_HDR, T.IFF_TAP | T.IFF_VNET_HDR,
               T.IFF_TAP | T.IFF_NO_PI | T.IFF_NAPI)      # TUNSETIFF on a /dev/tapN file
POISON = 0xA5
TABLE_LENGTHS = (1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128,
                 129, 255, 256, 4096, 32768, 65535, 65536)


def _ename(err: int) -> str:
    return "0" if err == 0 else errno.errorcode.get(err, str(err))


def coverage_gaps(by_class: dict[str, Counter[str]], by_row: dict[str, Counter[str]],
                  configs_applied: int, probes_done: int, nodev: str = "EBADFD") -> list[str]:
    """What a run of COVERAGE_CALLS calls or more must have reached and did not.

    Every mutation class of TUNSETVNETHASH tried on a live queue, each of
    0/EINVAL/E2BIG/EFAULT and ``nodev`` (EBADFD; ENOLINK on /dev/tapN) answered by
    TUNSETVNETHASH, EBUSY by some call (the rows that lock RSS/REPORT against eBPF
    and header changes), MIN_CONFIGS_APPLIED configurations applied, and probe
    frames checked: without them the per-call checks had nothing to catch.
    """
    gaps = [f"mutation class {c!r} never tried" for c in MUTATION_CLASSES
            if not sum(by_class.get(c, Counter()).values())]
    answered = Counter[str]()
    for counts in by_row.values():
        answered.update(counts)
    gaps += [f"TUNSETVNETHASH never answered {e}"
             for e in TUNSETVNETHASH_ERRNOS[:-1] + (nodev,) if not answered[e]]
    if not any(c["EBUSY"] for c in by_class.values()):
        gaps.append("no call answered EBUSY")
    if configs_applied < MIN_CONFIGS_APPLIED:
        gaps.append(f"{configs_applied} configurations applied (< {MIN_CONFIGS_APPLIED})")
    if probes_done == 0:
        gaps.append("no probe frame checked")
    return gaps


def probe_frames() -> list[bytes]:
    """Frames whose queue and hash depend on the key, types and table (every report class)."""
    s4, d4, s6, d6 = "10.9.0.1", "10.9.0.2", "2001:db8:9::1", "2001:db8:9::2"
    return [
        P.ether(P.ipv4(s4, d4, 6, P.tcp(s4, d4, 1111, 2222)), P.ETH_P_IP),
        P.udp4_frame(s4, d4, 3333, 4444),
        P.ether(P.ipv4(s4, d4, 1, P.icmpv4_echo(1, 1, b"x")), P.ETH_P_IP),
        P.ether(P.ipv6(s6, d6, 6, P.tcp(s6, d6, 5555, 6666)), P.ETH_P_IPV6),
        P.ether(P.ipv6(s6, d6, 17, P.udp(s6, d6, 7, 8)), P.ETH_P_IPV6),
        P.ether(P.ipv6(s6, d6, 17, P.udp(s6, d6, 9, 10), ext=[P.rh2("2001:db8:9::9")]),
                P.ETH_P_IPV6),
        P.ether(P.ipv6(s6, d6, 6, P.tcp(s6, d6, 11, 12), ext=[P.dest_opts(
            P.hao_option(bytes(range(16))))]), P.ETH_P_IPV6),
        P.ether(b"\x00\x01\x08\x00\x06\x04\x00\x01" + bytes(20), P.ETH_P_ARP),
    ]


class Mismatch(AssertionError):
    """The kernel disagreed with the prediction."""


class Fuzzer:
    """One run: a device of QUEUES queues of ``kind``, its modelled state (fuzz_target),
    the calls and the tallies."""

    def __init__(self, rng: random.Random, make_tapdev: TapDevFactory, calls: int,
                 kind: str = "tun") -> None:
        self.rng = rng
        self.calls = calls
        self.done = 0
        self.t = Target(make_tapdev, kind, QUEUES)
        try:
            cap = require_hash(self.tap)
        except BaseException:                   # skip, or fail: the fd without a device too
            self.t.close()
            raise
        self.cap_types = cap.types
        self.cap_bytes = bytes(cap.pack())
        self.gone_calls = 0
        self.probes = self.t.rig.prepare(probe_frames())
        self.progs = {k: bpf.load_const_prog(k) for k in EBPF_CONSTS}
        self.guard = GuardedBuffer(2 * PAGE)          # a page-sized struct, then its table
        self.keys = [rng.randbytes(T.TUN_VNET_HASH_KEY_SIZE) for _ in range(KEYS)]
        self.by_class: dict[str, Counter[str]] = defaultdict(Counter)
        self.by_row: dict[str, Counter[str]] = defaultdict(Counter)
        self.log: deque[str] = deque(maxlen=25)
        self.probes_done = 0
        self.probe_seconds = 0.0
        self.last_full = 0
        self.inj: Optional[Injector] = None
        self.configs_applied = 0

    # ------------------------------------------------------------ plumbing
    @property
    def tap(self) -> TapFiles:
        """The device's queue files (pyuapi.Tap or pyuapi.TapDev)."""
        return self.t.dev

    @property
    def st(self) -> DevState:
        """The device's modelled state (a /dev/tapN file's header: self.t.view)."""
        return self.t.st

    @property
    def devices(self) -> int:
        """Devices made so far (one more after each deletion)."""
        return self.t.devices

    def close(self) -> None:
        """Release the programs, the socket and the guard buffer (the devices close with
        make_tapdev)."""
        if self.inj is not None:
            self.inj.close()
        for fd in self.progs.values():
            os.close(fd)
        self.t.close()
        self.guard.close()

    def _check(self, what: str, cls: str, rc: int, allowed: frozenset[int],
               rows: Optional[list[str]] = None) -> bool:
        """Tally ``rc`` (0 or -errno) and fail unless it is predicted; True on success."""
        self.done += 1
        err = -rc if rc < 0 else 0
        self.by_class[cls][_ename(err)] += 1
        if rows is not None:
            key = rows[0] if len(set(rows)) == 1 else \
                f"several rows, predicted {'/'.join(sorted(_ename(e) for e in allowed))}"
            self.by_row[key][_ename(err)] += 1
        self.log.append(f"#{self.done} {what} -> {_ename(err)}")
        want = allowed or frozenset({0})
        if err not in want:
            raise Mismatch(f"call #{self.done} {what}: got {_ename(err)}, docs/design.md "
                           f"predicts {'/'.join(sorted(_ename(e) for e in want))}"
                           f" (rows: {rows or 'none'}; state {self.st})")
        return err == 0

    # ------------------------------------------------------------ invariants
    def verify(self, why: str, probe: bool = True) -> None:
        """Capabilities, configuration, header settings and (``probe``) a probe frame
        agree with the model."""
        try:
            cap = hashio.get_vnet_hash_cap_raw(self.tap.fds[0])
        except TunError as e:
            raise Mismatch(f"after {why}: TUNGETVNETHASHCAP {e}") from None
        if cap != self.cap_bytes:
            raise Mismatch(f"after {why}: TUNGETVNETHASHCAP {cap.hex()}, "
                           f"was {self.cap_bytes.hex()}")
        headers = self.t.header_mismatches()
        if headers:
            raise Mismatch(f"after {why}: " + "; ".join(headers))
        if self.st.gone:
            return
        try:
            conf = self.tap.get_vnet_hash()
        except TunError as e:
            raise Mismatch(f"after {why}: TUNGETVNETHASH {e}") from None
        if conf != self.st.cfg:
            raise Mismatch(f"after {why}: TUNGETVNETHASH {conf}, model {self.st.cfg}")
        if not probe or self.tap.numqueues == 0:
            return
        t0 = time.monotonic()
        frame = self.probes[self.probes_done % len(self.probes)]
        problems = self.probe(frame)
        if self.done - self.last_full >= FULL_PROBE_EVERY:
            fixed = self._fixed_queue()
            problems += mismatches(self.tap, self.st.cfg, self.probes, fixed_queue=fixed,
                                   via=self.t.rig.via)
            self.last_full = self.done
            self.probes_done += len(self.probes)
        self.probe_seconds += time.monotonic() - t0
        self.probes_done += 1
        if problems:
            raise Mismatch(f"after {why}: probe differs from pyuapi.rss for {self.st.cfg} "
                           f"(queues {self.tap.numqueues}, order {self.tap.order}): "
                           + "; ".join(problems))

    def _fixed_queue(self) -> Optional[int]:
        """The fd index a constant steering program picks (tun_ebpf_select_queue), else None."""
        if self.st.ebpf is None or self.st.rss:
            return None
        return self.tap.fd_index_of_kernel_queue(self.st.ebpf % self.tap.numqueues)

    def probe(self, frame: bytes) -> list[str]:
        """Send ``frame`` and read it back: the queue and hash of vm_conftest.expected().

        A lean single-frame form of vm_conftest.mismatches() (one AF_PACKET
        socket per tap, a poll over every queue instead of a sleep loop);
        mismatches() itself checks the whole probe set every FULL_PROBE_EVERY calls.
        """
        h, r, q = expected(self.tap, self.st.cfg, frame)
        fixed = self._fixed_queue()
        q = fixed if fixed is not None else q
        if self.inj is None or self.inj.ifname != self.t.rig.via:
            if self.inj is not None:
                self.inj.close()
            self.inj = Injector(self.t.rig.via)
        self.inj.send(frame)
        poller = select.poll()
        for fd in self.tap.fds:
            poller.register(fd, select.POLLIN)
        got: list[Packet] = []
        for fd, _ in poller.poll(2000):
            i = self.tap.fds.index(fd)
            got += self.tap.drain(i, hdr_len=self.t.read_len(i))
        if len(got) != 1 or got[0].frame != frame:
            return [f"sent {frame[:40].hex()}.., read {[(p.queue, p.frame[:40].hex()) for p in got]}"]
        p, problems = got[0], []
        if q is not None and p.queue != q:
            problems.append(f"queue {p.queue}, expected {q} (hash {h:#010x} report {r})")
        report = self.st.report and self.t.has_room(p.queue)     # a short header: no hash
        if report and (p.hash_value, p.hash_report) != (h, r):
            problems.append(f"kernel ({p.hash_value:#010x}, {p.hash_report}), "
                            f"pyuapi ({h:#010x}, {r}), header {p.vnet.hex()}")
        if report and (p.vnet[10:12] != b"\0\0" or p.vnet[18:20] != b"\0\0"):
            problems.append(f"num_buffers/padding not zero: {p.vnet.hex()}")
        return problems

    # ------------------------------------------------------------ TUNSETVNETHASH
    def _base(self) -> HashConfig:
        """A valid configuration; the key from a small pool, so pyuapi.rss's per-key
        tables are reused (the key is never validated: its value is not an input class)."""
        nq = max(self.tap.numqueues, 1)
        c = random_config(self.rng, self.cap_types, max_queue=self.rng.choice((nq, 4 * nq)))
        return dataclasses.replace(c, key=self.rng.choice(self.keys))

    def _mutate(self) -> tuple[str, HashConfig]:
        rng, c = self.rng, self._base()
        k = rng.randrange(15)
        if k == 0:
            return "valid", c
        if k == 1:
            bit = rng.randrange(16)
            flags = c.flags ^ (1 << bit)
            table = c.table or (rng.randrange(8),)
            if flags & RSS:
                c = HashConfig(flags, c.types, c.key, table, c.unclassified_queue)
            else:
                c = HashConfig(flags, c.types, c.key)
            return ("flags: RSS/REPORT bit toggled" if bit < 2 else "flags: unknown bit"), c
        if k == 2:
            bit = rng.randrange(32)
            supported = bool(self.cap_types >> bit & 1)
            return (f"types: {'supported' if supported else 'unsupported'} bit",
                    HashConfig(c.flags, c.types | 1 << bit, c.key, c.table, c.unclassified_queue))
        if k == 3:
            n = rng.choice(TABLE_LENGTHS)
            table = tuple(rng.randrange(65536) for _ in range(min(n, 160)))
            pow2 = not n & (n - 1)
            cls = ("table length: power of two <= 128" if pow2 and n <= 128 else
                   "table length: > 128" if n > 128 else "table length: not a power of two")
            return cls, HashConfig(c.flags | RSS, c.types, c.key, table, c.unclassified_queue,
                                   mask=(n - 1) & 0xFFFF)
        if k == 4:
            big = lambda: rng.choice((self.tap.numqueues, QUEUES, 255, 256, 4095, 65535,  # noqa
                                      rng.randrange(65536)))
            table = tuple(big() for _ in range(1 << rng.randrange(8)))
            return "queues >= numqueues (valid)", HashConfig(c.flags | RSS, c.types, c.key, table,
                                                             big())
        if k == 5:
            mask, uq = rng.choice(((rng.randrange(1, 65536), 0), (0, rng.randrange(1, 65536)),
                                   (rng.randrange(1, 65536), rng.randrange(1, 65536))))
            return "mask/unclassified without RSS", HashConfig(
                rng.choice((0, REPORT)), c.types, c.key, (), uq, mask=mask)
        if k == 6:
            pad = rng.choice((b"\x00\x01", b"\x01\x00", b"\xff\xff", rng.randbytes(2)))
            if pad == b"\0\0":
                pad = b"\0\x80"
            return "pad not zero", HashConfig(c.flags, c.types, c.key, c.table,
                                              c.unclassified_queue, pad=pad)
        if k == 7:
            return "disable (flags 0)", HashConfig.disabled()
        if k == 8:
            return "cut short at the guard page", dataclasses.replace(
                c, size=rng.choice((None, None, rng.choice(WIDE_SIZES))))
        if k == 10:
            member = rng.choice(("types", "key", "mask", "unclassified_queue"))
            return "flags 0 with a non-zero member", HashConfig(
                0, (c.types or 1) if member == "types" else 0,
                c.key if member == "key" else bytes(T.TUN_VNET_HASH_KEY_SIZE),
                mask=rng.randrange(1, 65536) if member == "mask" else None,
                unclassified_queue=(rng.randrange(1, 65536) if member == "unclassified_queue"
                                    else 0))
        if k == 11:
            return "size < 56", dataclasses.replace(c, size=rng.choice(SMALL_SIZES))
        if k == 12:
            return "size > a page", dataclasses.replace(c, size=rng.choice(BIG_SIZES))
        size = rng.choice(WIDE_SIZES)
        if k == 13:
            return "size > 56, zero tail (valid)", dataclasses.replace(c, size=size)
        if k == 14:
            room = size - HEADER_LEN
            at = rng.randrange(room)
            tail = bytes(at) + bytes([rng.randrange(1, 256)]) + \
                rng.randbytes(rng.randrange(room - at))
            return "size > 56, non-zero tail", dataclasses.replace(c, size=size, tail=tail)
        return "random bytes", c

    def set_vnet_hash(self) -> None:
        cls, cfg = self._mutate()
        if cls == "random bytes":
            data = self.rng.randbytes(HEADER_LEN + self.rng.choice((0, 2, 8, 64, 256, 512)))
            if self.rng.random() < 0.5:     # plausible size, flags and pad: the later rows
                data = struct.pack("=IH", HEADER_LEN, self.rng.randrange(4)) + data[6:14] + \
                    b"\0\0" + data[16:]
        else:
            data = cfg.encode(check=False)
        readable = len(data)
        if cls == "cut short at the guard page":
            readable = self.rng.randrange(len(data))
        addr = self.guard.place(data, readable)
        i, fd, suffix, bound = self.t.pick(self.rng)
        allowed, rows = predict_set_vnet_hash(data, readable, self.t.view(i), self.cap_types,
                                              bound)
        cls += suffix
        rc = sysio.ioctl(fd, T.TUNSETVNETHASH, addr)
        what = f"TUNSETVNETHASH {cls} {data[:HEADER_LEN + 16].hex()}.. readable={readable}"
        if self._check(what, cls, rc, allowed, rows):
            self.t.st.cfg = decode_payload(data).canonical()
            self.configs_applied += 1
        self.verify(what)

    # ------------------------------------------------------------ other ioctls
    def _set_int(self, name: str, request: int, value: int, cls: str,
                 predict: Callable[[DevState, bool], frozenset[int]]) -> Optional[int]:
        """``predict(state, bound)``: the errnos for a file of that state, with (True) or
        without a device.  The index of the file (UNBOUND: the one without a device) on
        success, else None."""
        i, fd, suffix, bound = self.t.pick(self.rng)
        rc = sysio.ioctl(fd, request, ctypes.c_int(value))
        ok = self._check(f"{name} {value}", cls + suffix, rc, predict(self.t.view(i), bound))
        return i if ok else None

    def set_hdr_sz(self) -> None:
        size = self.rng.choice(HDR_SIZES)
        cls = ("TUNSETVNETHDRSZ < 10" if size < 10 else "TUNSETVNETHDRSZ 10..19" if size < 20
               else "TUNSETVNETHDRSZ >= 20")
        i = self._set_int("TUNSETVNETHDRSZ", T.TUNSETVNETHDRSZ, size, cls,
                          lambda st, bound: predict_hdr_sz(size, st, bound))
        if i is not None:
            self.t.set_hdr(i, hdr_sz=size)
        self.verify(f"TUNSETVNETHDRSZ {size}", probe=i is None)

    def _set_endian(self, name: str, attr: str,
                    predict: Callable[[bool, DevState, bool], frozenset[int]]) -> None:
        """TUNSETVNETLE or TUNSETVNETBE with a random value; ``attr`` is the
        model's field for it."""
        on = self.rng.random() < 0.5
        what = f"{name} {int(on)}"
        i = self._set_int(name, getattr(T, name), int(on), what,
                          lambda st, bound: predict(on, st, bound))
        if i is not None:
            self.t.set_hdr(i, **{attr: on})
        self.verify(what, probe=i is None)

    def set_le(self) -> None:
        self._set_endian("TUNSETVNETLE", "vnet_le", predict_vnet_le)

    def set_be(self) -> None:
        self._set_endian("TUNSETVNETBE", "vnet_be", predict_vnet_be)

    def steering(self) -> None:
        attach = self.rng.random() < 0.5
        k = self.rng.choice(EBPF_CONSTS)
        value = self.progs[k] if attach else -1
        cls = "TUNSETSTEERINGEBPF attach" if attach else "TUNSETSTEERINGEBPF detach"
        if self._set_int("TUNSETSTEERINGEBPF", T.TUNSETSTEERINGEBPF, value, cls,
                         lambda st, bound: predict_steering(attach, st, bound)) is not None:
            self.t.st.ebpf = k if attach else None
        self.verify(cls)

    def set_iff(self) -> None:
        """TUNSETIFF on a /dev/tapN file: its IFF_VNET_HDR (tap.c), EBUSY without it under
        REPORT, EINVAL for flags other than IFF_TAP | IFF_NO_PI (+ TAP_IFFEATURES)."""
        flags = self.rng.choice(IFF_CHOICES)
        i, fd, suffix, _bound = self.t.pick(self.rng)
        ifr = T.ifreq()
        ifr.ifr_ifru.ifru_flags = ctypes.c_short(flags).value
        rc = sysio.ioctl(fd, T.TUNSETIFF, ifr)
        cls = "TUNSETIFF " + ("without IFF_VNET_HDR" if not flags & T.IFF_VNET_HDR
                              else "with IFF_VNET_HDR")
        ok = self._check(f"TUNSETIFF {flags:#x}", cls + suffix, rc,
                         predict_set_iff(flags, self.t.view(i)))
        if ok:
            self.t.set_hdr(i, vnet_hdr=bool(flags & T.IFF_VNET_HDR))
        self.verify(f"TUNSETIFF {flags:#x}", probe=not ok)

    def setqueue(self) -> None:
        i = self.rng.randrange(len(self.tap.fds))
        attach = self.rng.random() < 0.5
        if not attach and self.tap.numqueues == 1 and self.rng.random() < 0.8:
            attach = True                  # keep a queue attached most of the time
        name = "IFF_ATTACH_QUEUE" if attach else "IFF_DETACH_QUEUE"
        if self.st.gone or self.tap.attached[i] == attach:
            allowed, cls = frozenset({errno.EINVAL}), f"{name}: already so / deleted device"
        else:
            allowed, cls = frozenset(), name
        try:
            (self.tap.attach_queue if attach else self.tap.detach_queue)(i)
            rc = 0
        except OSError as e:
            rc = -(e.errno or 0)
        self._check(f"{name} fd {i}", cls, rc, allowed)
        self.verify(f"{name} fd {i}")

    @staticmethod
    def _sized(size: int, ver0: int, extra: int) -> ctypes.Array:
        """A POISON-filled buffer for a size-versioned struct of ``size`` (``ver0`` bytes
        when the kernel refuses the size unread) and ``extra`` bytes, size member set."""
        n = (size if ver0 <= size <= PAGE else ver0) + extra
        buf = ctypes.create_string_buffer(bytes([POISON]) * n, n)
        ctypes.memmove(buf, struct.pack("=I", size), 4)
        return buf

    def _untouched(self, what: str, buf: ctypes.Array, size: int) -> None:
        if buf.raw != struct.pack("=I", size) + bytes([POISON]) * (len(buf) - 4):
            raise Mismatch(f"{what} failed but wrote {buf.raw[:96].hex()}..")

    def get_cap(self) -> None:
        """TUNGETVNETHASHCAP with a fuzzed size: the 16 bytes, zeros up to size, nothing more."""
        _i, fd, suffix, _bound = self.t.pick(self.rng)
        size = self.rng.choice(CAP_SIZES)
        buf = self._sized(size, CAP_LEN, 0)
        rc = sysio.ioctl(fd, T.TUNGETVNETHASHCAP, buf)
        cls = ("TUNGETVNETHASHCAP size < 16" if size < CAP_LEN else
               "TUNGETVNETHASHCAP size > a page" if size > PAGE else "TUNGETVNETHASHCAP size ok")
        what = f"TUNGETVNETHASHCAP size={size}{suffix}"
        if not self._check(what, cls + suffix, rc, predict_get_cap(size)):
            self._untouched(what, buf, size)
            return
        raw = buf.raw
        if raw[:CAP_LEN] != self.cap_bytes or any(raw[CAP_LEN:size]):
            raise Mismatch(f"{what}: {raw[:64].hex()}.., want {self.cap_bytes.hex()} + zeros")

    def get_vnet_hash(self) -> None:
        """TUNGETVNETHASH with a fuzzed size: the model's configuration, zeros up to size,
        the table at offset size, nothing past it; nothing written when it fails."""
        i, fd, suffix, bound = self.t.pick(self.rng)
        size = self.rng.choice(GET_SIZES)
        room = 2 * T.MAX_TABLE_LENGTH
        buf = self._sized(size, HEADER_LEN, room)
        rc = sysio.ioctl(fd, T.TUNGETVNETHASH, buf)
        cls = ("TUNGETVNETHASH size < 56" if size < HEADER_LEN else "TUNGETVNETHASH size > a page"
               if size > PAGE else "TUNGETVNETHASH size ok")
        what = f"TUNGETVNETHASH size={size}{suffix}"
        if not self._check(what, cls + suffix, rc,
                           predict_get_vnet_hash(size, self.t.view(i), bound)):
            self._untouched(what, buf, size)
            return
        raw, n = buf.raw, len(self.st.cfg.table)
        conf = hashio.config_from_raw(raw, size)
        end = size + 2 * n
        if raw[:4] != struct.pack("=I", HEADER_LEN) or any(raw[HEADER_LEN:size]) or \
                conf != self.st.cfg or raw[end:] != bytes([POISON]) * (len(raw) - end):
            raise Mismatch(f"{what}: {conf} / {raw[:size + 16].hex()}.., model {self.st.cfg}")

    # ------------------------------------------------------------ data path
    def read_all(self) -> None:
        """read() every queue: nothing is pending (EAGAIN); EBADFD without a device (a
        /dev/tapN file: EAGAIN, its queue simply gets nothing)."""
        for i, fd in enumerate(self.tap.fds):
            live = not self.st.gone or self.t.per_file
            try:
                data = os.read(fd, 65536 + 256)
                raise Mismatch(f"read fd {i}: unexpected {len(data)}-byte packet "
                               f"{data[:80].hex()}")
            except BlockingIOError:
                rc = -errno.EAGAIN
            except OSError as e:
                rc = -(e.errno or 0)
            allowed = frozenset({errno.EAGAIN if live else errno.EBADFD})
            self._check(f"read fd {i}", "read" + self.t.suffix(i), rc, allowed)

    def write_all(self) -> None:
        """write() a frame (zero vnet header) on every queue: accepted, or EBADFD without a
        device (tap.c drops it and answers its length).

        The frame is addressed to a MAC nobody has: the stack drops it.
        """
        frame = P.ether(bytes(28), 0x88B5, dst=b"\x02\x00\x00\x00\x00\x99")
        for i, fd in enumerate(self.tap.fds):
            pkt = bytes(max(self.t.read_len(i), 10) if self.t.read_len(i) else 0) + frame
            live = not self.st.gone or self.t.per_file
            try:
                n = os.write(fd, pkt)
                rc = 0 if n == len(pkt) else -errno.EIO
            except OSError as e:
                rc = -(e.errno or 0)
            self._check(f"write fd {i}", "write" + self.t.suffix(i), rc,
                        frozenset() if live else frozenset({errno.EBADFD}))

    # ------------------------------------------------------------ device lifetime
    def delete(self) -> None:
        """RTM_DELLINK with every queue fd still open; the hash ioctls answer EBADFD
        (ENOLINK on /dev/tapN) from now on."""
        if self.st.gone:
            return
        self.t.delete()
        self.gone_calls = 0
        self.log.append(f"deleted {self.tap.name}")
        self.verify("device deletion")

    def _replace_if_gone(self) -> None:
        if self.st.gone and self.gone_calls >= 20:
            self.t.replace()
            self.probes = self.t.rig.prepare(probe_frames())
        elif self.st.gone:
            self.gone_calls += 1

    def step(self) -> None:
        """One randomly chosen operation."""
        self._replace_if_gone()
        r = self.rng.random()
        if r < 0.55:
            self.set_vnet_hash()
        elif r < 0.63:
            self.set_hdr_sz()
        elif r < 0.68:
            self.set_le()
        elif r < 0.73:
            self.set_be()
        elif r < 0.80:
            if self.t.per_file and self.rng.random() < 0.6:
                self.set_iff()
            else:
                self.steering()
        elif r < 0.87:
            self.setqueue()
        elif r < 0.89:
            self.get_cap()
        elif r < 0.91:
            self.get_vnet_hash()
        elif r < 0.95:
            self.read_all()
        elif r < 0.9995:
            self.write_all()
        else:
            self.delete()

    def table(self, counts: dict[str, Counter[str]], title: str) -> str:
        """The tallies as a text table: one row per class, one column per errno."""
        cols = sorted({e for c in counts.values() for e in c}, key=lambda e: (e != "0", e))
        width = max([len(title)] + [len(k) for k in counts])
        lines = [f"{title:<{width}} " + " ".join(f"{c:>8}" for c in cols)]
        for k in sorted(counts):
            lines.append(f"{k:<{width}} " + " ".join(f"{counts[k].get(c, 0):>8}" for c in cols))
        return "\n".join(lines)


@pytest.mark.parametrize("kind", DEVICE_KINDS)
def test_ioctl_fuzz(make_tapdev: TapDevFactory, record_summary: Callable[[str], None],
                    kind: str) -> None:
    seed = seed_from_env("TUNRSS_FUZZ_SEED")
    calls = env_int("TUNRSS_FUZZ_CALLS", 2000)
    print(f"TUNRSS_FUZZ_SEED={seed} TUNRSS_FUZZ_CALLS={calls} ({kind})", flush=True)
    fz = Fuzzer(random.Random(seed), make_tapdev, calls, kind)
    start = time.monotonic()
    try:
        while fz.done < calls:
            fz.step()
    except Mismatch as e:
        pytest.fail(f"TUNRSS_FUZZ_SEED={seed} ({kind}): {e}\nlast calls:\n  "
                    + "\n  ".join(fz.log), pytrace=False)
    finally:
        seconds = time.monotonic() - start
        record_summary(
            f"ioctl fuzz ({kind}): TUNRSS_FUZZ_SEED={seed}: {fz.done} calls in {seconds:.1f}s "
            f"({fz.done / max(seconds, 1e-9):.0f}/s), {fz.configs_applied} configurations "
            f"applied, {fz.probes_done} probe frames checked ({fz.probe_seconds:.1f}s), "
            f"{fz.devices} device(s)\n"
            + fz.table(fz.by_class, "input class") + "\n\n"
            + fz.table(fz.by_row, "TUNSETVNETHASH: docs/design.md rows broken"))
        fz.close()
    if calls >= COVERAGE_CALLS:
        gaps = coverage_gaps(fz.by_class, fz.by_row, fz.configs_applied, fz.probes_done,
                             errno.errorcode[fz.st.nodev_errno])
        assert not gaps, f"TUNRSS_FUZZ_SEED={seed} ({kind}): the run did not reach: {gaps}"


@pytest.mark.parametrize("kind", DEVICE_KINDS)
def test_probe_detects_a_wrong_model(make_tapdev: TapDevFactory, kind: str) -> None:
    """The fuzzer's probe is not vacuous: a model that differs from the kernel fails it."""
    fz = Fuzzer(random.Random(7), make_tapdev, 0, kind)
    try:
        fz.t.ready_for_report()
        real = HashConfig(RSS | REPORT, fz.cap_types, fz.keys[0], (0, 1, 2, 3))
        fz.tap.set_vnet_hash(real)
        fz.st.cfg = real
        assert all(fz.probe(f) == [] for f in fz.probes)
        fz.st.cfg = dataclasses.replace(real, key=fz.keys[1])          # other hash values
        assert any(fz.probe(f) for f in fz.probes)
        fz.st.cfg = dataclasses.replace(real, table=(3, 2, 1, 0))      # other queues
        assert any(fz.probe(f) for f in fz.probes)
    finally:
        fz.close()
