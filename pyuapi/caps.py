# SPDX-License-Identifier: MIT
"""What a tap can hash, and the names of the hash flags, types and reports.

:class:`HashFlag` mirrors ``TUN_VNET_HASH_*`` (include/uapi/linux/if_tun.h
"virtio-net hashing" of the series; docs/design.md "UAPI"); :class:`HashType` and
:class:`HashReport` mirror ``VIRTIO_NET_RSS_HASH_TYPE_*`` and
``VIRTIO_NET_HASH_REPORT_*`` of include/uapi/linux/virtio_net.h (virtio spec
1.2, 5.1.6.4.3.1 "Supported/enabled hash types" and 5.1.6.4.4 "Hash
reporting for incoming packets").  :class:`HashCapabilities` is what
``TUNGETVNETHASHCAP`` returns (struct tun_vnet_hash_cap).
"""

from __future__ import annotations

import enum

from .uapi import tun as T
from .uapi import virtio_net as V

__all__ = ["HashFlag", "HashType", "HashReport", "HashCapabilities"]


class HashFlag(enum.IntFlag):
    """``TUN_VNET_HASH_RSS`` and ``TUN_VNET_HASH_REPORT`` (docs/design.md "UAPI")."""

    RSS = T.TUN_VNET_HASH_RSS
    REPORT = T.TUN_VNET_HASH_REPORT


class HashType(enum.IntFlag):
    """``VIRTIO_NET_RSS_HASH_TYPE_*`` (include/uapi/linux/virtio_net.h; spec 5.1.6.4.3.1)."""

    IPv4 = V.VIRTIO_NET_RSS_HASH_TYPE_IPv4
    TCPv4 = V.VIRTIO_NET_RSS_HASH_TYPE_TCPv4
    UDPv4 = V.VIRTIO_NET_RSS_HASH_TYPE_UDPv4
    IPv6 = V.VIRTIO_NET_RSS_HASH_TYPE_IPv6
    TCPv6 = V.VIRTIO_NET_RSS_HASH_TYPE_TCPv6
    UDPv6 = V.VIRTIO_NET_RSS_HASH_TYPE_UDPv6
    IP_EX = V.VIRTIO_NET_RSS_HASH_TYPE_IP_EX
    TCP_EX = V.VIRTIO_NET_RSS_HASH_TYPE_TCP_EX
    UDP_EX = V.VIRTIO_NET_RSS_HASH_TYPE_UDP_EX
    ALL = V.VIRTIO_NET_RSS_HASH_TYPE_ALL


class HashReport(enum.IntEnum):
    """``VIRTIO_NET_HASH_REPORT_*`` (include/uapi/linux/virtio_net.h; spec 5.1.6.4.4)."""

    NONE = V.VIRTIO_NET_HASH_REPORT_NONE
    IPv4 = V.VIRTIO_NET_HASH_REPORT_IPv4
    TCPv4 = V.VIRTIO_NET_HASH_REPORT_TCPv4
    UDPv4 = V.VIRTIO_NET_HASH_REPORT_UDPv4
    IPv6 = V.VIRTIO_NET_HASH_REPORT_IPv6
    TCPv6 = V.VIRTIO_NET_HASH_REPORT_TCPv6
    UDPv6 = V.VIRTIO_NET_HASH_REPORT_UDPv6
    IPv6_EX = V.VIRTIO_NET_HASH_REPORT_IPv6_EX
    TCPv6_EX = V.VIRTIO_NET_HASH_REPORT_TCPv6_EX
    UDPv6_EX = V.VIRTIO_NET_HASH_REPORT_UDPv6_EX


class HashCapabilities(T.tun_vnet_hash_cap):
    """struct tun_vnet_hash_cap as ``TUNGETVNETHASHCAP`` fills it (if_tun.h).

    The struct itself (same fields, same bytes), with the questions a VMM
    asks of it.
    """

    @property
    def rss(self) -> bool:
        """Whether ``TUN_VNET_HASH_RSS`` is supported (``flags``)."""
        return bool(self.flags & HashFlag.RSS)

    @property
    def report(self) -> bool:
        """Whether ``TUN_VNET_HASH_REPORT`` is supported (``flags``)."""
        return bool(self.flags & HashFlag.REPORT)

    @property
    def hash_types(self) -> HashType:
        """The supported ``VIRTIO_NET_RSS_HASH_TYPE_*`` (``types``) as a :class:`HashType`."""
        return HashType(self.types & HashType.ALL)

    def __str__(self) -> str:
        flags = "|".join(f.name or "" for f in HashFlag if self.flags & f) or "0"
        return (f"flags={flags} types={V.types_str(self.types)} "
                f"max_table={self.max_indirection_table_length} key_size={self.key_size}")
