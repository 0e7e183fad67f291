# SPDX-License-Identifier: MIT
"""pyuapi.tapdev and pyuapi.tapfiles without a kernel: the /dev/tapN node of a
macvtap/ipvtap link from a fake sysfs, the node made when /dev has none,
the queue order model and the per-file vnet header of reads (no root needed)."""

from __future__ import annotations

import os
import stat
import types
from pathlib import Path

import pytest

import pyuapi
from pyuapi import tapdev
from pyuapi.tapfiles import TapFiles

NULL = os.stat("/dev/null").st_rdev          # a character device every host has
MAJ, MIN = os.major(NULL), os.minor(NULL)


def fake_sysfs(root: Path, name: str, ifindex: int, dev: str) -> Path:
    """``root``/class/net/``name`` with ifindex and tap<ifindex>/dev, as macvtap.c makes them."""
    net = root / "class" / "net" / name
    (net / f"tap{ifindex}").mkdir(parents=True)
    (net / "ifindex").write_text(f"{ifindex}\n")
    (net / f"tap{ifindex}" / "dev").write_text(dev + "\n")
    return net


def test_read_devt_from_sysfs(tmp_path: Path) -> None:
    net = fake_sysfs(tmp_path, "mvtap0", 7, "242:3")
    assert tapdev.read_devt(net) == (7, 242, 3)


def test_tap_devt_reads_this_namespaces_sysfs(tmp_path: Path, monkeypatch) -> None:
    fake_sysfs(tmp_path, "mvtap0", 7, "242:3")
    monkeypatch.setattr(tapdev.socket, "if_nametoindex", lambda name: 7)
    monkeypatch.setattr(tapdev, "_devt_private_sysfs", lambda name: pytest.fail("no fallback"))
    assert tapdev.tap_devt("mvtap0", str(tmp_path)) == (7, 242, 3)


@pytest.mark.parametrize("ifindex", [8, None], ids=["another-link", "absent"])
def test_tap_devt_falls_back_to_a_private_sysfs(tmp_path: Path, monkeypatch,
                                                ifindex: int | None) -> None:
    """Another namespace's link of that name (other ifindex), or none: a private sysfs."""
    if ifindex is not None:
        fake_sysfs(tmp_path, "mvtap0", ifindex, "242:9")
    monkeypatch.setattr(tapdev.socket, "if_nametoindex", lambda name: 7)
    monkeypatch.setattr(tapdev, "_devt_private_sysfs", lambda name: (7, 242, 3))
    assert tapdev.tap_devt("mvtap0", str(tmp_path)) == (7, 242, 3)


@pytest.mark.skipif(os.geteuid() != 0, reason="unshare(CLONE_NEWNS) needs root")
def test_private_sysfs_names_the_link_it_lacks() -> None:
    with pytest.raises(OSError, match="lo: no tap device"):
        tapdev._devt_private_sysfs("lo")          # lo has no tap<ifindex>


def test_find_node_needs_the_right_character_device(tmp_path: Path) -> None:
    assert tapdev.find_node(7, MAJ, MIN, str(tmp_path)) is None            # absent
    (tmp_path / "tap7").symlink_to("/dev/null")
    assert tapdev.find_node(7, MAJ, MIN, str(tmp_path)) == str(tmp_path / "tap7")
    assert tapdev.find_node(7, MAJ, MIN + 1, str(tmp_path)) is None        # another device
    (tmp_path / "tap8").write_text("")
    assert tapdev.find_node(8, MAJ, MIN, str(tmp_path)) is None            # not a device


def test_make_node_skips_nodev_and_failing_parents(tmp_path: Path, monkeypatch) -> None:
    nodev, bad, good = tmp_path / "nodev", tmp_path / "missing", tmp_path / "good"
    nodev.mkdir()
    good.mkdir()
    real_statvfs = os.statvfs
    monkeypatch.setattr(tapdev.os, "statvfs", lambda p: types.SimpleNamespace(
        f_flag=os.ST_NODEV) if p == str(nodev) else real_statvfs(p))
    made: list[tuple[str, int, int]] = []

    def mknod(path: str, mode: int, device: int) -> None:
        made.append((path, mode, device))
        Path(path).write_text("")

    monkeypatch.setattr(tapdev.os, "mknod", mknod)
    node, tmp = tapdev.make_node(7, 242, 3, (str(nodev), str(bad), str(good)))
    assert Path(tmp).parent == good and node == os.path.join(tmp, "tap7")
    assert made == [(node, 0o600 | stat.S_IFCHR, os.makedev(242, 3))]
    with pytest.raises(OSError, match="mounted nodev.*missing"):
        tapdev.make_node(7, 242, 3, (str(nodev), str(bad)))


def test_tapdev_opens_one_file_per_queue(tmp_path: Path, monkeypatch) -> None:
    """A TapDev on /dev/null: files in open order, IFF_VNET_HDR each; a node made in a
    temporary directory goes with close()."""
    monkeypatch.setattr(tapdev, "tap_devt", lambda name, sysfs: (7, MAJ, MIN))
    made = tmp_path / "made"

    def make_node(ifindex: int, major: int, minor: int) -> tuple[str, str]:
        made.mkdir()
        (made / "tap7").symlink_to("/dev/null")
        return str(made / "tap7"), str(made)

    monkeypatch.setattr(tapdev, "make_node", make_node)
    with pyuapi.TapDev("mvtap0", queues=3, devdir=str(tmp_path)) as dev:
        assert (dev.ifindex, dev.major, dev.minor) == (7, MAJ, MIN)
        assert dev.path == str(made / "tap7")
        assert len(dev.fds) == 3 and dev.order == [0, 1, 2] and dev.numqueues == 3
        assert dev.vnet_hdr == [True] * 3
        assert dev.add_queue() == 3 and dev.order == [0, 1, 2, 3]
    assert dev.fds == [] and not made.exists()
    (tmp_path / "tap7").symlink_to("/dev/null")          # /dev has the right node: used
    with pyuapi.TapDev("mvtap0", devdir=str(tmp_path)) as dev:
        assert dev.path == str(tmp_path / "tap7")


class Pipes(TapFiles):
    """TapFiles over pipes: queue i is the read end of a pipe, with header length hdr[i]."""

    def __init__(self, hdr: list[int]) -> None:
        super().__init__()
        self.hdr, self.w = hdr, []
        for _ in hdr:
            r, w = os.pipe()
            os.set_blocking(r, False)
            self.w.append(w)
            self._opened(r)

    def _setqueue(self, index: int, flag: int) -> None:
        """No kernel: only the order model."""

    def _hdr_len(self, queue: int) -> int:
        return self.hdr[queue]

    def close(self) -> None:
        super().close()
        for w in self.w:
            os.close(w)


def test_queue_order_model() -> None:
    """tun.c __tun_detach and tap.c tap_disable_queue: the last enabled queue moves into
    the freed slot; a queue that attaches is appended."""
    with Pipes([10] * 4) as q:
        q.detach_queue(1)
        assert q.order == [0, 3, 2] and q.numqueues == 3
        assert q.fd_index_of_kernel_queue(1) == 3
        q.detach_queue(2)
        assert q.order == [0, 3]
        q.attach_queue(1)
        assert q.order == [0, 3, 1] and q.attached == [True, True, False, True]


def test_reads_split_each_files_own_header() -> None:
    """/dev/tapN: a header per file, so drain_all splits each queue's packets by its own."""
    with Pipes([10, 20, 0]) as q:
        for w, n in zip(q.w, (10, 20, 0)):
            os.write(w, bytes(range(1, n + 1)) + b"frame")
        got = q.drain_all()
        assert [(p.queue, len(p.vnet), p.frame) for p in got] == \
            [(0, 10, b"frame"), (1, 20, b"frame"), (2, 0, b"frame")]
        assert [q.has_hash_room(i) for i in range(3)] == [False, True, False]
