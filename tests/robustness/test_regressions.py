# SPDX-License-Identifier: MIT
"""Regression tests for bugs the robustness suites found in patches/ (issue 7)."""

from __future__ import annotations

import errno

import pytest

from pyuapi.uapi import tun as T, virtio_net as V
from pyuapi.errors import TunError
from pyuapi.testkit.inject import Injector
from tests.lib.netlink import link_up
from pyuapi.testkit import packets as P
from pyuapi import HashConfig, Tap

from tests.lib.taps import TapFactory, collect, expected, require_hash


def test_report_needs_iff_vnet_hdr(make_tap: TapFactory) -> None:
    """include/uapi/linux/if_tun.h "virtio-net hashing": REPORT needs IFF_VNET_HDR, else EINVAL.

    Without IFF_VNET_HDR tun writes no header at all (tun_put_user), so a
    REPORT the kernel accepted would silently report nothing.  The series
    checked the header size and endianness but not the flag.
    """
    tap = make_tap(queues=1, vnet_hdr=False)
    require_hash(tap)
    tap.set_vnet_le(True)
    tap.set_vnet_hdr_sz(V.VNET_HDR_V1_HASH_LEN)   # allowed without IFF_VNET_HDR, and unused
    cfg = HashConfig(T.TUN_VNET_HASH_REPORT, V.VIRTIO_NET_RSS_HASH_TYPE_ALL, bytes(range(40)))
    with pytest.raises(TunError) as ei:
        tap.set_vnet_hash(cfg)
    assert ei.value.errno == errno.EINVAL, str(ei.value)
    # nothing changed: frames still arrive bare, without any header
    s4, d4 = "10.6.0.1", "10.6.0.2"
    frame = P.udp4_frame(s4, d4, 1, 2)
    with Injector(tap.name) as inj:
        inj.send(frame)
    got = collect(tap, 1)
    assert [(p.vnet, p.frame) for p in got] == [(b"", frame)]


def test_attach_without_vnet_hdr_is_ebusy_within_the_session(make_tap: TapFactory) -> None:
    """if_tun.h "virtio-net hashing": a TUNSETIFF without IFF_VNET_HDR that
    attaches one more queue while REPORT is on is EBUSY.

    Each queue that attaches sets the device's flags (tun_set_iff): without
    IFF_VNET_HDR it would clear the flag while REPORT stays on, and the hash
    would silently stop.  v1 refused this only for the first queue of a
    persistent device; a second queue of a running session got through.
    """
    tap = make_tap(queues=1)
    require_hash(tap)
    tap.set_vnet_le(True)
    tap.set_vnet_hdr_sz(V.VNET_HDR_V1_HASH_LEN)
    cfg = HashConfig.with_random_key(T.TUN_VNET_HASH_REPORT, V.VIRTIO_NET_RSS_HASH_TYPE_ALL)
    tap.set_vnet_hash(cfg)
    with Tap(tap.name, queues=0, vnet_hdr=False) as bare:
        with pytest.raises(TunError) as ei:
            bare.add_queue()
        assert ei.value.errno == errno.EBUSY, str(ei.value)
    # nothing changed: the header is there and reports
    assert tap.iff_flags() & T.IFF_VNET_HDR
    frame = P.udp4_frame("10.6.0.3", "10.6.0.4", 3, 4)
    with Injector(tap.name) as inj:
        inj.send(frame)
    got = collect(tap, 1)
    assert [p.frame for p in got] == [frame]
    h, r, _ = expected(tap, cfg, frame)
    assert (got[0].hash_value, got[0].hash_report) == (h, r)
    # with reporting off, the same attach is allowed
    tap.disable_vnet_hash()
    with Tap(tap.name, queues=1, vnet_hdr=False) as bare:
        assert not bare.iff_flags() & T.IFF_VNET_HDR


def test_next_session_starts_without_hash_state(make_tap: TapFactory) -> None:
    """if_tun.h "virtio-net hashing": the configuration ends when the last
    file closes; the next user of the persistent device attaches without
    IFF_VNET_HDR (v1: EBUSY) and, with it, finds no hash (v1: the previous
    owner's REPORT)."""
    tap = make_tap(queues=1)
    require_hash(tap)
    tap.set_vnet_le(True)
    tap.set_vnet_hdr_sz(V.VNET_HDR_V1_HASH_LEN)
    tap.set_vnet_hash(HashConfig.with_random_key(
        T.TUN_VNET_HASH_RSS | T.TUN_VNET_HASH_REPORT, V.VIRTIO_NET_RSS_HASH_TYPE_ALL,
        table=(0,)))
    tap.set_persist(True)
    name = tap.name
    tap.close()                  # the device stays (in the test's namespace)
    with Tap(name, queues=1, vnet_hdr=False) as bare:
        assert not bare.iff_flags() & T.IFF_VNET_HDR
    with Tap(name, queues=1) as again:
        again.set_vnet_hdr_sz(V.VNET_HDR_V1_HASH_LEN)
        link_up(name)
        frame = P.udp4_frame("10.6.0.5", "10.6.0.6", 5, 6)
        with Injector(name) as inj:
            inj.send(frame)
        got = collect(again, 1)
        assert [p.frame for p in got] == [frame]
        assert got[0].vnet == bytes(V.VNET_HDR_V1_HASH_LEN), got[0].vnet.hex()
        again.set_persist(False)
