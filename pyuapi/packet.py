# SPDX-License-Identifier: MIT
"""One packet read from a tap queue: its vnet header and its Ethernet frame.

The header is decoded through the ctypes structs of
:mod:`pyuapi.uapi.virtio_net` (include/uapi/linux/virtio_net.h: struct
virtio_net_hdr, virtio_net_hdr_v1, virtio_net_hdr_v1_hash), chosen by the
header's length (TUNSETVNETHDRSZ); with hash REPORT the header is the
20-byte virtio_net_hdr_v1_hash (virtio spec 1.2, 5.1.6.4.4).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Optional, Union

from .uapi import virtio_net as V

__all__ = ["Packet", "VnetHeader"]

VnetHeader = Union[V.virtio_net_hdr_v1_hash, V.virtio_net_hdr_v1, V.virtio_net_hdr]


@dataclass(frozen=True)
class Packet:
    """One packet read from a queue: the vnet header bytes and the Ethernet frame."""

    queue: int
    vnet: bytes
    frame: bytes

    def header(self) -> VnetHeader:
        """The header as virtio_net_hdr_v1_hash / _v1 / virtio_net_hdr, the longest that fits.

        include/uapi/linux/virtio_net.h; ValueError below 10 bytes.
        """
        for cls in (V.virtio_net_hdr_v1_hash, V.virtio_net_hdr_v1, V.virtio_net_hdr):
            if len(self.vnet) >= ctypes.sizeof(cls):
                return cls.unpack(self.vnet)
        raise ValueError(f"vnet header of {len(self.vnet)} bytes")

    def hash_header(self) -> Optional[V.virtio_net_hdr_v1_hash]:
        """The struct virtio_net_hdr_v1_hash, or None if the header is shorter than 20 bytes."""
        if len(self.vnet) < V.VNET_HDR_V1_HASH_LEN:
            return None
        return V.virtio_net_hdr_v1_hash.unpack(self.vnet)

    @property
    def hash_value(self) -> Optional[int]:
        """virtio_net_hdr_v1_hash.hash_value (spec 5.1.6.4.4), None if the header is shorter."""
        h = self.hash_header()
        return None if h is None else h.hash_value

    @property
    def hash_report(self) -> Optional[int]:
        """virtio_net_hdr_v1_hash.hash_report (spec 5.1.6.4.4), None if the header is shorter."""
        h = self.hash_header()
        return None if h is None else h.hash_report
