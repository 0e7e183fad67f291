# SPDX-License-Identifier: MIT
"""pyuapi: ctypes bindings for the tun UAPI and a reference virtio-net hash.

Modules: :mod:`pyuapi.ioctl` (ioctl numbers), :mod:`pyuapi.layout`
(padding-checked structs), :mod:`pyuapi.tun` and :mod:`pyuapi.virtio_net`
(UAPI bindings), :mod:`pyuapi.errors`, :mod:`pyuapi.tap` (device class),
:mod:`pyuapi.rss` (reference hash), :mod:`pyuapi.packets` (frame
builders), :mod:`pyuapi.check` (layout checker against compiled C).
"""

__version__ = "0.1.0"

from .layout import CheckedStructure, LayoutError

__all__ = ["CheckedStructure", "LayoutError", "__version__"]
