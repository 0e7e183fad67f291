# SPDX-License-Identifier: MIT
"""A throwaway network namespace for the calling thread.

``with NetNS():`` unshares a new network namespace (unshare(2)
CLONE_NEWNET) for the calling thread and, on exit, returns the thread to
the namespace it came from (setns(2)).  Network namespaces are per thread,
so other threads are unaffected.  Everything created inside (tap devices,
sockets) belongs to the new namespace, which the kernel frees once its
last fd is closed: nothing leaks into the host's namespace.

Mirrors unshare(2), setns(2) and /proc/thread-self/ns/net.
"""

from __future__ import annotations

import os

from ..sysio import libc, raise_errno

__all__ = ["NetNS", "CLONE_NEWNET"]

CLONE_NEWNET = 0x40000000


class NetNS:
    """Context manager: run the body in a fresh network namespace (unshare(2), setns(2))."""

    def __init__(self, quiet_ipv6: bool = True) -> None:
        self.quiet_ipv6 = quiet_ipv6
        self._saved = -1

    def __enter__(self) -> "NetNS":
        self._saved = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        if libc.unshare(CLONE_NEWNET) != 0:
            os.close(self._saved)
            self._saved = -1
            raise_errno("unshare(CLONE_NEWNET)")
        if self.quiet_ipv6:
            # No router solicitations, DAD or MLD reports on new links: the
            # tests read every frame a tap transmits.
            for knob in ("default", "all"):
                path = f"/proc/sys/net/ipv6/conf/{knob}/disable_ipv6"
                if os.path.exists(path):
                    with open(path, "w") as f:
                        f.write("1")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._saved >= 0:
            rc = libc.setns(self._saved, CLONE_NEWNET)
            os.close(self._saved)
            self._saved = -1
            if rc != 0:
                raise_errno("setns(CLONE_NEWNET)")
