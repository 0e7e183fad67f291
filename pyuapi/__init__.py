# SPDX-License-Identifier: MIT
"""pyuapi: virtio-net RSS and hash reporting of Linux tun/tap, from Python.

The public API is here::

    import pyuapi
    with pyuapi.Tap("vm0q%d", queues=4) as tap:
        cap = tap.hash_cap()                       # pyuapi.HashCapabilities
        cfg = pyuapi.HashConfig.with_random_key(
            pyuapi.HashFlag.RSS | pyuapi.HashFlag.REPORT, cap.types, table=(0, 1, 2, 3))
        cfg.validate(cap)                          # the kernel's EINVAL rules, before the ioctl
        tap.set_vnet_hash(cfg)
        assert tap.get_vnet_hash() == cfg.canonical()   # TUNGETVNETHASH: as set

=====================  ===================================================
:class:`Tap`           a multiqueue tap on /dev/net/tun (include/uapi/linux/if_tun.h)
:class:`TapDev`        the /dev/tapN files of a macvtap/ipvtap link (drivers/net/tap.c)
:class:`HashConfig`    a TUNSETVNETHASH/TUNGETVNETHASH configuration; ``validate(cap)``
:class:`HashCapabilities`, :class:`HashFlag`, :class:`HashType`, :class:`HashReport`
                       what TUNGETVNETHASHCAP reports, and the names of its bits
:class:`Packet`        a packet read from a queue, its header as ctypes structs
:class:`TunError`, :class:`FeatureMissingError`   failed ioctls, with the likely cause
=====================  ===================================================

Elsewhere, each in its own module or subpackage: :mod:`pyuapi.uapi` (the
bindings: structs and ioctl numbers), :mod:`pyuapi.hashio` (the hash ioctls
on any fd, one without a device included), :mod:`pyuapi.tapfiles` (what
Tap and TapDev share), :mod:`pyuapi.rss` (the reference
virtio-net hash), :mod:`pyuapi.testkit` (frame builders, random frames,
packet injection, network namespaces, guard pages, eBPF),
:mod:`pyuapi.vhost` (vhost-net from user space) and :mod:`pyuapi.check`
(the bindings against the C headers).
"""

__version__ = "0.1.0"

from .caps import HashCapabilities, HashFlag, HashReport, HashType
from .config import HashConfig
from .errors import FeatureMissingError, TunError
from .packet import Packet
from .tap import Tap
from .tapdev import TapDev

__all__ = ["Tap", "TapDev", "HashConfig", "HashCapabilities", "HashFlag", "HashType", "HashReport",
           "Packet", "TunError", "FeatureMissingError", "__version__"]
