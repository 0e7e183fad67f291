# SPDX-License-Identifier: MIT
"""The batched read path: vhost-net receiving from the tap (drivers/vhost/net.c
handle_rx -> tun_recvmsg), as QEMU with vhost=on uses it.

With hash REPORT the tap writes a 20-byte struct virtio_net_hdr_v1_hash,
and vhost-net must expect exactly that header length (virtio spec 1.2,
5.1.6: the header includes the hash fields when VIRTIO_NET_F_HASH_REPORT is
negotiated), or it discards every packet ("Discarded rx packet").
"""

from __future__ import annotations

import ctypes
import errno
import os
import random

import pytest

from pyuapi.uapi import tun as T
from pyuapi.uapi import virtio_net as V
from pyuapi.testkit.inject import Injector
from pyuapi.testkit.randframes import random_frame
from pyuapi.rss import MS_KEY
from pyuapi import HashConfig, Tap, sysio
from pyuapi.uapi.vhost import (VHOST_BACKEND_F_IOTLB_MSG_V2, VHOST_BACKEND_F_NET_HASH_REPORT,
                               VHOST_SET_FEATURES, VHOST_SET_OWNER)
from pyuapi.vhost import (VHOST_NET_F_VIRTIO_NET_HDR, VIRTIO_F_VERSION_1, VIRTIO_NET_F_MRG_RXBUF,
                          VIRTIO_NET_F_HASH_REPORT, VhostError, VhostNet, header_length,
                          offered_features)

from tests.lib.taps import TapFactory, collect, expected, feature_missing, report_ready, require_hash

RSS, REPORT = T.TUN_VNET_HASH_RSS, T.TUN_VNET_HASH_REPORT
OPT_IN = 1 << VHOST_BACKEND_F_NET_HASH_REPORT
QEMU_BACKEND_FEATURES = 1 << VHOST_BACKEND_F_IOTLB_MSG_V2  # vhost_kernel_set_backend_cap()
FEATURES = (1 << VIRTIO_F_VERSION_1) | (1 << VIRTIO_NET_F_HASH_REPORT)
VHOST_MISSING_MSG = ("vhost-net lacks VIRTIO_NET_F_HASH_REPORT: boot a kernel built from "
                     "patches/ (make vm-test)")


@pytest.fixture
def vhost_ready() -> None:
    if not os.path.exists("/dev/vhost-net"):
        pytest.skip("no /dev/vhost-net: CONFIG_VHOST_NET (vm/config/base.config)")
    if not offered_features(OPT_IN) & (1 << VIRTIO_NET_F_HASH_REPORT):
        feature_missing("VHOST_GET_FEATURES", msg=VHOST_MISSING_MSG)


def frames(n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return list(dict.fromkeys(random_frame(rng, i) for i in range(n)))


def test_unmodified_vmm_is_not_offered_hash_report(vhost_ready: None) -> None:
    """A VMM that does not know VHOST_BACKEND_F_NET_HASH_REPORT (QEMU 7.2:
    no backend features, or only the ones it knows) is not offered
    VIRTIO_NET_F_HASH_REPORT, so that it cannot negotiate it with its guest
    and then pass on headers tun never put a hash in."""
    assert not offered_features() & (1 << VIRTIO_NET_F_HASH_REPORT)
    assert not offered_features(QEMU_BACKEND_FEATURES) & (1 << VIRTIO_NET_F_HASH_REPORT)
    fd = os.open("/dev/vhost-net", os.O_RDWR | os.O_CLOEXEC)
    try:
        assert sysio.ioctl(fd, VHOST_SET_OWNER) == 0
        rc = sysio.ioctl(fd, VHOST_SET_FEATURES, ctypes.c_uint64(FEATURES))
        assert rc == -errno.EOPNOTSUPP, "HASH_REPORT accepted without the opt-in"
    finally:
        os.close(fd)


def test_vmm_that_opts_in_is_offered_hash_report(vhost_ready: None) -> None:
    """VHOST_SET_BACKEND_FEATURES with VHOST_BACKEND_F_NET_HASH_REPORT:
    VIRTIO_NET_F_HASH_REPORT is offered, on top of everything else."""
    plain = offered_features()
    assert offered_features(OPT_IN) == plain | (1 << VIRTIO_NET_F_HASH_REPORT)


def test_header_length_follows_features() -> None:
    assert header_length(0) == V.VNET_HDR_LEN
    assert header_length(1 << VIRTIO_F_VERSION_1) == 12
    assert header_length(FEATURES) == V.VNET_HDR_V1_HASH_LEN


@pytest.mark.parametrize("mrg_rxbuf", [False, True], ids=["no-MRG_RXBUF", "MRG_RXBUF"])
def test_vhost_receives_reported_hash(vhost_ready: None, make_tap: TapFactory,
                                      mrg_rxbuf: bool) -> None:
    """Single queue: every frame comes through vhost with its hash reported,
    and num_buffers 1: tun leaves the field to vhost-net, which knows whether
    VIRTIO_NET_F_MRG_RXBUF was negotiated (virtio spec 1.2 5.1.6.4: the
    device MUST set num_buffers to 1 without it; every frame fits in one
    buffer here, so 1 with it too).  v1 on 6.12 wrote 0, which vhost-net
    then only overwrote with MRG_RXBUF."""
    tap: Tap = make_tap(queues=1)
    cap = require_hash(tap)
    report_ready(tap)
    cfg = HashConfig(REPORT, cap.types, MS_KEY)
    tap.set_vnet_hash(cfg)
    sent = frames(200, seed=11)
    features = FEATURES | ((1 << VIRTIO_NET_F_MRG_RXBUF) if mrg_rxbuf else 0)
    with VhostNet(tap.fds[0], features) as vq, Injector(tap.name) as inj:
        inj.send_all(sent)
        got = vq.receive(len(sent))
    hdr = V.VNET_HDR_V1_HASH_LEN
    assert len(got) == len(sent), f"{len(got)} of {len(sent)} frames came through vhost"
    for buf, frame in zip(got, sent):
        assert buf[hdr:] == frame
        h, r, _ = expected(tap, cfg, frame)
        value = int.from_bytes(buf[12:16], "little")
        report = int.from_bytes(buf[16:18], "little")
        assert (value, report) == (h, r), frame.hex()
        assert buf[:10] == bytes(10) and buf[18:20] == b"\0\0", buf[:20].hex()
        assert int.from_bytes(buf[10:12], "little") == 1, f"num_buffers: {buf[:20].hex()}"


def test_vhost_queue_gets_what_rss_steers_to_it(vhost_ready: None, make_tap: TapFactory) -> None:
    """Two queues, RSS: vhost drains kernel queue 0, read() the other; each
    frame arrives once, where pyuapi.rss says, with its hash."""
    tap: Tap = make_tap(queues=2)
    cap = require_hash(tap)
    report_ready(tap)
    cfg = HashConfig(RSS | REPORT, cap.types, MS_KEY, (0, 1, 1, 0, 1, 0, 0, 1),
                     unclassified_queue=1)
    tap.set_vnet_hash(cfg)
    sent = frames(200, seed=12)
    q0 = tap.fd_index_of_kernel_queue(0)
    want = {f: expected(tap, cfg, f) for f in sent}
    to_vhost = [f for f in sent if want[f][2] == q0]
    assert 0 < len(to_vhost) < len(sent)
    with VhostNet(tap.fds[q0], FEATURES) as vq, Injector(tap.name) as inj:
        inj.send_all(sent)
        via_vhost = vq.receive(len(to_vhost))
        via_read = collect(tap, len(sent) - len(to_vhost), queues=[1 - q0])
    hdr = V.VNET_HDR_V1_HASH_LEN
    assert sorted(b[hdr:] for b in via_vhost) == sorted(to_vhost)
    for b in via_vhost:
        h, r, _ = want[b[hdr:]]
        assert (int.from_bytes(b[12:16], "little"), int.from_bytes(b[16:18], "little")) == (h, r)
    assert all(p.queue != q0 and want[p.frame][2] == p.queue for p in via_read)
    assert sorted(p.frame for p in via_read) == sorted(f for f in sent if f not in to_vhost)


def test_vhost_cannot_provide_a_hash_header(vhost_ready: None, make_tap: TapFactory) -> None:
    """VHOST_NET_F_VIRTIO_NET_HDR with HASH_REPORT: vhost would leave the hash
    fields unwritten, so the features are refused (EOPNOTSUPP)."""
    tap: Tap = make_tap(queues=1)
    with pytest.raises(VhostError) as exc:
        VhostNet(tap.fds[0], FEATURES | (1 << VHOST_NET_F_VIRTIO_NET_HDR))
    assert exc.value.errno == errno.EOPNOTSUPP and exc.value.ioctl == "VHOST_SET_FEATURES"


def test_vhost_without_hash_report_is_unchanged(make_tap: TapFactory) -> None:
    """The default path: VIRTIO_F_VERSION_1 only, a 12-byte header from the
    tap, no TUNSETVNETHASH; every frame comes through with that header."""
    if not os.path.exists("/dev/vhost-net"):
        pytest.skip("no /dev/vhost-net: CONFIG_VHOST_NET (vm/config/base.config)")
    tap: Tap = make_tap(queues=1)
    tap.set_vnet_hdr_sz(12)
    sent = frames(100, seed=13)
    with VhostNet(tap.fds[0], 1 << VIRTIO_F_VERSION_1) as vq, Injector(tap.name) as inj:
        inj.send_all(sent)
        got = vq.receive(len(sent))
    assert [b[12:] for b in got] == sent
    # No offload asked for; num_buffers is vhost-net's to write, and with
    # VIRTIO_F_VERSION_1 it writes 1 (mainline handle_rx, "vhost/net: Set
    # num_buffers for virtio 1.0"); tun leaves it zero.
    assert all(b[:10] == bytes(10) and b[10:12] == b"\x01\x00" for b in got), got[0][:12].hex()
