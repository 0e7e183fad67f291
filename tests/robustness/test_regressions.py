"""Regression tests for bugs the robustness suites found in patches/ (issue 7)."""

from __future__ import annotations

import errno

import pytest

from pyuapi import tun as T, virtio_net as V
from pyuapi.errors import TunError
from pyuapi.netdev import Injector
from pyuapi import packets as P
from pyuapi.tap import HashConfig

from vm_conftest import TapFactory, collect, require_hash


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
    frame = P.ether(P.ipv4(s4, d4, 17, P.udp(s4, d4, 1, 2)), P.ETH_P_IP)
    with Injector(tap.name) as inj:
        inj.send(frame)
    got = collect(tap, 1)
    assert [(p.vnet, p.frame) for p in got] == [(b"", frame)]
