# SPDX-License-Identifier: MIT
"""The /dev/tapN character device of a macvtap or ipvtap link (drivers/net/tap.c).

A macvtap (drivers/net/macvtap.c) or ipvtap (drivers/net/ipvlan/ipvtap.c)
link has a character device named ``tap<ifindex>``, whose major:minor is
in ``/sys/class/net/<name>/tap<ifindex>/dev``.  Each open() of it is one
queue (tap.c tap_open/tap_set_queue: appended at tap->numvtaps), with a
state of its own: IFF_VNET_HDR on, a 10-byte vnet header
(sizeof(struct virtio_net_hdr)), and its own header size, endianness and
flags (TUNSETVNETHDRSZ, TUNSETVNETLE/BE, TUNSETIFF act on the file, unlike
tun where they act on the device).  The ioctls are those of
include/uapi/linux/if_tun.h that tap.c implements, including the series'
TUNGETVNETHASHCAP / TUNSETVNETHASH / TUNGETVNETHASH; a file whose link
was deleted answers ENOLINK where a tun file answers EBADFD.

sysfs shows the network namespace of whoever mounted it, so a link made
in another namespace (tests/lib/netlink.NetNS enters one per thread) is
not in /sys/class/net: :func:`tap_devt` then reads a sysfs mounted in a
private mount namespace by a child process (as `ip netns exec` does).
/dev/tapN is named after the ifindex, which is per namespace: devtmpfs
keeps the first node of a name, so when /dev/tapN is absent or another
device, :func:`make_node` makes one in a temporary directory.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence

from .tapfiles import TapFiles
from .uapi import tun as T

__all__ = ["TapDev", "tap_devt", "read_devt", "find_node", "make_node", "TAP_FLAGS"]

TAP_FLAGS = T.IFF_TAP | T.IFF_NO_PI      # what tap.c TUNSETIFF requires (TAP_IFFEATURES aside)
Devt = tuple[int, int, int]              # (ifindex, major, minor)

# Run by a child: unshare(CLONE_NEWNS), make the mounts private, mount a
# sysfs of the child's (the calling thread's) network namespace on /sys and
# print the ifindex and the dev file of the link named argv[1].
_CHILD = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
def check(rc, what):
    if rc != 0:
        sys.exit(f"{what}: {os.strerror(ctypes.get_errno())}")
check(libc.unshare(0x00020000), "unshare(CLONE_NEWNS)")
check(libc.mount(b"none", b"/", None, 0x4000 | 0x40000, None), "mount --make-rprivate /")
libc.umount2(b"/sys", 2)
check(libc.mount(b"sysfs", b"/sys", b"sysfs", 0, None), "mount -t sysfs")
net = "/sys/class/net/" + sys.argv[1]
index = open(net + "/ifindex").read().strip()
print(index, open(f"{net}/tap{index}/dev").read().strip())
"""


def _parse(ifindex: str, dev: str) -> Devt:
    major, minor = dev.strip().split(":")
    return int(ifindex), int(major), int(minor)


def read_devt(netdir: Path) -> Devt:
    """(ifindex, major, minor) from a link's sysfs directory ``/sys/class/net/<name>``."""
    ifindex = (netdir / "ifindex").read_text().strip()
    return _parse(ifindex, (netdir / f"tap{ifindex}" / "dev").read_text())


def _devt_private_sysfs(ifname: str) -> Devt:
    """:func:`read_devt` through a sysfs of the calling thread's network namespace."""
    proc = subprocess.run([sys.executable, "-I", "-c", _CHILD, ifname], capture_output=True,
                          text=True, timeout=30)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise OSError(f"{ifname}: no tap device in a private sysfs: {last}")
    return _parse(*proc.stdout.split())


def tap_devt(ifname: str, sysfs: str = "/sys") -> Devt:
    """(ifindex, major, minor) of the tap device of link ``ifname``.

    From ``{sysfs}/class/net/<ifname>`` when it is this namespace's link
    (same ifindex as if_nametoindex(3)), else from a private sysfs (see the
    module docstring).
    """
    ifindex = socket.if_nametoindex(ifname)
    netdir = Path(sysfs) / "class" / "net" / ifname
    try:
        if int((netdir / "ifindex").read_text()) == ifindex:
            return read_devt(netdir)
    except (OSError, ValueError):
        pass
    return _devt_private_sysfs(ifname)


def find_node(ifindex: int, major: int, minor: int, devdir: str = "/dev") -> Optional[str]:
    """``{devdir}/tap<ifindex>`` if it is the character device major:minor, else None."""
    path = os.path.join(devdir, f"tap{ifindex}")
    try:
        st = os.stat(path)
    except OSError:
        return None
    if stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(major, minor):
        return path
    return None


def make_node(ifindex: int, major: int, minor: int,
              parents: Sequence[Optional[str]] = ("/dev", None)) -> tuple[str, str]:
    """mknod(2) ``tap<ifindex>`` for major:minor in a new temporary directory: (node, directory).

    The directory goes in the first of ``parents`` (None: tempfile's
    default) that is not mounted nodev and takes the node.
    """
    errors = []
    for parent in parents:
        where = parent or tempfile.gettempdir()
        try:
            if os.statvfs(where).f_flag & os.ST_NODEV:
                errors.append(f"{where}: mounted nodev")
                continue
            tmp = tempfile.mkdtemp(prefix="pyuapi-tap", dir=where)
        except OSError as e:
            errors.append(f"{where}: {e}")
            continue
        node = os.path.join(tmp, f"tap{ifindex}")
        try:
            os.mknod(node, 0o600 | stat.S_IFCHR, os.makedev(major, minor))
            return node, tmp
        except OSError as e:
            errors.append(f"{node}: {e}")
            shutil.rmtree(tmp, ignore_errors=True)
    raise OSError(f"no node for tap{ifindex} ({major}:{minor}): " + "; ".join(errors))


class TapDev(TapFiles):
    """``queues`` open files of the tap device of macvtap/ipvtap link ``ifname``.

    Queue ``i`` is ``fds[i]``, the i-th file opened; the queue ioctls, the
    per-file vnet header ioctls (``queue=i``) and reading come from
    :class:`pyuapi.tapfiles.TapFiles`, the hash ioctls from
    :class:`pyuapi.hashio.HashIoctls`.  Use as a context manager: closing
    the last file ends the device's hashing configuration, the link stays.
    """

    def __init__(self, ifname: str, queues: int = 1, *, sysfs: str = "/sys",
                 devdir: str = "/dev") -> None:
        super().__init__()
        self.name = ifname
        self.ifindex, self.major, self.minor = tap_devt(ifname, sysfs)
        self.vnet_hdr: list[bool] = []          # IFF_VNET_HDR of each file
        self._tmpdir: Optional[str] = None
        path = find_node(self.ifindex, self.major, self.minor, devdir)
        if path is None:
            path, self._tmpdir = make_node(self.ifindex, self.major, self.minor)
        self.path = path
        self._open_queues(queues)

    def add_queue(self) -> int:
        """open() the device once more: a new queue, enabled and appended (tap.c tap_open)."""
        fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        self.vnet_hdr.append(True)
        return self._opened(fd)

    def set_iff(self, flags: int, queue: int) -> None:
        """TUNSETIFF on file ``queue`` (tap.c: the name is ignored; ``flags`` must be
        IFF_TAP | IFF_NO_PI, plus IFF_VNET_HDR and IFF_MULTI_QUEUE, else EINVAL)."""
        ifr = T.ifreq()
        ifr.ifr_ifru.ifru_flags = ctypes.c_short(flags).value
        self._ioctl("TUNSETIFF", T.TUNSETIFF, ifr, fd=self.fds[queue])
        self.vnet_hdr[queue] = bool(flags & T.IFF_VNET_HDR)

    def _hdr_len(self, queue: int) -> int:
        """The file's own TUNGETVNETHDRSZ when it has IFF_VNET_HDR (tap_put_user)."""
        return self.vnet_hdr_sz(queue) if self.vnet_hdr[queue] else 0

    def close(self) -> None:
        """Close every file (the hashing configuration ends), then remove a node made here."""
        try:
            super().close()
        finally:
            self.vnet_hdr = []
            if self._tmpdir is not None:
                shutil.rmtree(self._tmpdir, ignore_errors=True)
                self._tmpdir = None
