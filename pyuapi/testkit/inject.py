# SPDX-License-Identifier: MIT
"""Frames into a tap's transmit path from the kernel side.

:class:`Injector` sends frames with an AF_PACKET SOCK_RAW socket
(packet(7)); they leave through the tap's transmit path (ndo_select_queue,
then the chosen queue's fd), as if the host stack routed them to the guest.
"""

from __future__ import annotations

import socket

__all__ = ["Injector"]


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

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()

    def __enter__(self) -> "Injector":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
