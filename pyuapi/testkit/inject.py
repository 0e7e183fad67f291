# SPDX-License-Identifier: MIT
"""Frames into a tap's transmit path from the kernel side.

:class:`Injector` sends frames with an AF_PACKET SOCK_RAW socket
(packet(7)); they leave through the tap's transmit path (ndo_select_queue,
then the chosen queue's fd), as if the host stack routed them to the guest.
"""

from __future__ import annotations

import errno
import socket
from typing import Callable, Iterable, Union

__all__ = ["Injector", "VnetInjector"]


class Injector:
    """AF_PACKET SOCK_RAW sender bound to one interface (packet(7)).

    ``send(frame)`` uses the frame's own ethertype as the sockaddr_ll
    protocol, which becomes skb->protocol.
    """

    def __init__(self, ifname: str) -> None:
        self.ifname = ifname
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)

    def send(self, frame: bytes, proto: int | None = None) -> int:
        """Send one Ethernet frame out of the interface; returns the bytes sent."""
        if proto is None:
            proto = int.from_bytes(frame[12:14], "big")
        return self.sock.sendto(frame, (self.ifname, proto))

    def send_all(self, frames: Iterable[bytes]) -> int:
        """Send every frame in order with send(); returns how many.  A short
        send raises OSError(EMSGSIZE): packet(7) sends a SOCK_RAW frame whole."""
        n = 0
        for frame in frames:
            sent = self.send(frame)
            if sent != len(frame):
                raise OSError(errno.EMSGSIZE, f"{self.ifname}: sent {sent} of {len(frame)} bytes")
            n += 1
        return n

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()

    def __enter__(self) -> "Injector":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


SOL_PACKET = 263            # include/linux/socket.h
PACKET_VNET_HDR = 15        # include/uapi/linux/if_packet.h


class VnetInjector(Injector):
    """An :class:`Injector` with PACKET_VNET_HDR (packet(7)): every frame is
    sent behind a 10-byte struct virtio_net_hdr (include/uapi/linux/virtio_net.h)
    whose only non-zero member is ``hdr_len``, little endian (vio_le()).

    net/packet/af_packet.c packet_snd() puts max(hdr_len, the link's
    hard_header_len) bytes in the skb's linear part and the rest in page
    fragments (packet_alloc_skb()), once the frame and the device's
    headroom reach PAGE_SIZE: the way to hand tun a non-linear skb.
    """

    def __init__(self, ifname: str, hdr_len: Union[int, Callable[[bytes], int]] = 0) -> None:
        super().__init__(ifname)
        self.sock.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
        self.hdr_len = hdr_len

    def send(self, frame: bytes, proto: int | None = None) -> int:
        """Send ``frame`` behind a header whose hdr_len is ``hdr_len`` (or
        ``hdr_len(frame)``); returns the frame bytes sent."""
        n = self.hdr_len(frame) if callable(self.hdr_len) else self.hdr_len
        hdr = bytes(4) + n.to_bytes(2, "little") + bytes(4)
        return super().send(hdr + frame, proto if proto is not None
                            else int.from_bytes(frame[12:14], "big")) - len(hdr)
