# SPDX-License-Identifier: MIT
"""Exceptions for failed tun ioctls, with the likely cause.

Causes for the series' ioctls follow include/uapi/linux/if_tun.h ("virtio-net
hashing") and the validation table of docs/design.md ("Validation (a
failing call changes nothing)"); the others
follow drivers/net/tun.c (__tun_chr_ioctl) of Linux 6.12, and drivers/net/tap.c
(tap_ioctl) for the /dev/tapN files of macvtap/ipvtap (pyuapi.TapDev).
"""

from __future__ import annotations

import errno as _errno
import os

__all__ = ["TunError", "FeatureMissingError", "likely_cause", "FEATURE_MISSING_MSG"]

FEATURE_MISSING_MSG = ("kernel lacks TUNSETVNETHASH: boot a kernel built from patches/ "
                       "(make vm-test)")

# (ioctl name, errno) -> likely cause.  (name, None) is a fallback for any errno.
_CAUSES: dict[tuple[str, int | None], str] = {
    ("TUNSETIFF", _errno.EPERM): "needs CAP_NET_ADMIN (or the device's owner/group)",
    ("TUNSETIFF", _errno.EINVAL): "flags name neither IFF_TUN nor IFF_TAP, or IFF_MULTI_QUEUE "
                                  "disagrees with the existing device, or the name is taken by "
                                  "a device of another kind; on /dev/tapN: flags other than "
                                  "IFF_TAP|IFF_NO_PI (+IFF_VNET_HDR, IFF_MULTI_QUEUE)",
    ("TUNSETIFF", _errno.EBUSY): "the device exists and is in use (single-queue), or "
                                 "IFF_TUN_EXCL, or it has hash REPORT on and the flags lack "
                                 "IFF_VNET_HDR (docs/design.md)",
    ("TUNSETIFF", _errno.EEXIST): "this fd is already attached to a device",
    ("TUNSETQUEUE", _errno.EINVAL): "flags are not IFF_ATTACH_QUEUE/IFF_DETACH_QUEUE, or the queue "
                                    "is already in that state, or the device is not multiqueue "
                                    "(/dev/tapN: or its link was deleted)",
    ("TUNSETVNETHDRSZ", _errno.EINVAL): "size below sizeof(struct virtio_net_hdr) (10)",
    ("TUNSETVNETHDRSZ", _errno.EBUSY): "hash REPORT is on and the size is below 20 "
                                       "(docs/design.md)",
    ("TUNSETVNETBE", _errno.EINVAL): "kernel built without CONFIG_TUN_VNET_CROSS_LE",
    ("TUNGETVNETBE", _errno.EINVAL): "kernel built without CONFIG_TUN_VNET_CROSS_LE",
    ("TUNSETVNETBE", _errno.EBUSY): "hash REPORT is on and would make the header big endian",
    ("TUNSETVNETLE", _errno.EBUSY): "hash REPORT is on and would make the header big endian",
    ("TUNSETSTEERINGEBPF", _errno.EBUSY): "RSS is on (TUN_VNET_HASH_RSS): detach RSS first",
    ("TUNSETSTEERINGEBPF", _errno.EINVAL): "fd is not a BPF_PROG_TYPE_SOCKET_FILTER program",
    ("TUNSETSTEERINGEBPF", _errno.EBADF): "fd is not a BPF program fd",
    ("TUNSETVNETHASH", _errno.EINVAL): "size below TUN_VNET_HASH_SIZE_VER0 (56), flags has bits "
                                       "other than RSS|REPORT, pad not zero, types not "
                                       "supported, RSS table length not a power of two <= 128, "
                                       "mask/unclassified_queue non-zero without RSS, flags 0 "
                                       "with a non-zero member, or REPORT with a vnet header "
                                       "< 20 bytes or not little endian (docs/design.md "
                                       "Validation)",
    ("TUNSETVNETHASH", _errno.E2BIG): "size above a page, or the bytes past the 56 of "
                                      "struct tun_vnet_hash this kernel knows are not zero "
                                      "(a newer caller's members; docs/design.md Validation)",
    ("TUNSETVNETHASH", _errno.EFAULT): "bad user pointer in the struct or the indirection table",
    ("TUNSETVNETHASH", _errno.EBUSY): "RSS while a steering eBPF program is attached",
    ("TUNSETVNETHASH", _errno.EBADFD): "the fd is not attached to a tun device (TUNSETIFF "
                                       "first); the argument itself was valid: it is checked "
                                       "before the device",
    ("TUNSETVNETHASH", _errno.ENOLINK): "the macvtap/ipvtap link of this /dev/tapN file was "
                                        "deleted; the argument itself was valid: it is checked "
                                        "before the link",
    ("TUNGETVNETHASH", _errno.EINVAL): "size below TUN_VNET_HASH_SIZE_VER0 (56)",
    ("TUNGETVNETHASH", _errno.E2BIG): "size above a page",
    ("TUNGETVNETHASH", _errno.EFAULT): "bad user pointer, or no room after the struct for "
                                       "cap.max_indirection_table_length table entries",
    ("TUNGETVNETHASH", _errno.EBADFD): "the fd is not attached to a tun device (TUNSETIFF "
                                       "first); TUNGETVNETHASH looks at the device before "
                                       "the size",
    ("TUNGETVNETHASHCAP", _errno.EINVAL): "size below TUN_VNET_HASH_CAP_SIZE_VER0 (16)",
    ("TUNGETVNETHASHCAP", _errno.E2BIG): "size above a page",
    ("TUNGETVNETHASHCAP", _errno.EFAULT): "bad user pointer",
    ("TUNGETVNETHASHCAP", _errno.EBADFD): "TUNGETVNETHASHCAP needs no device: a kernel "
                                          "without the series answers EBADFD on an fd without one",
    (None, _errno.ENOLINK): "the macvtap/ipvtap link of this /dev/tapN file was deleted "
                            "(drivers/net/tap.c)",
    (None, _errno.EBADFD): "the fd is not attached to a tun device (TUNSETIFF first)",
    (None, _errno.EFAULT): "bad user pointer",
    (None, _errno.ENOTTY): "not a tun fd, or the kernel does not know this ioctl",
    (None, _errno.EPERM): "needs CAP_NET_ADMIN",
}


def likely_cause(ioctl_name: str, err: int) -> str:
    """The most likely cause of ``err`` from ``ioctl_name`` (docs/design.md, drivers/net/tun.c)."""
    return (_CAUSES.get((ioctl_name, err)) or _CAUSES.get((None, err))
            or "see drivers/net/tun.c __tun_chr_ioctl")


class TunError(OSError):
    """A tun ioctl failed: ``errno``, ``ioctl`` (its name) and ``cause``.

    include/uapi/linux/if_tun.h ioctls; causes from drivers/net/tun.c and
    docs/design.md.
    """

    def __init__(self, err: int, ioctl: str, cause: str | None = None, detail: str = "") -> None:
        self.ioctl = ioctl
        self.cause = cause if cause is not None else likely_cause(ioctl, err)
        msg = f"{ioctl}: {os.strerror(err)}; likely cause: {self.cause}"
        if detail:
            msg += f" ({detail})"
        super().__init__(err, msg)

    def __str__(self) -> str:
        return f"[Errno {self.errno}] {self.strerror}"


class FeatureMissingError(TunError):
    """The kernel has no TUNGETVNETHASHCAP/TUNSETVNETHASH/TUNGETVNETHASH (if_tun.h).

    EINVAL or ENOTTY for an argument whose size is valid: the ioctl numbers
    are unknown to that kernel (docs/design.md "UAPI").
    """

    def __init__(self, err: int, ioctl: str) -> None:
        super().__init__(err, ioctl, cause=FEATURE_MISSING_MSG)
