# SPDX-License-Identifier: MIT
"""The test kit: what tests of a tap's hashing need besides the device itself.

===================  ========================================================
:mod:`.packets`      Ethernet/IPv4/IPv6 (extension headers)/TCP/UDP/ICMP frames
:mod:`.randframes`   random frames and configurations (differential tests)
:mod:`.inject`       ``Injector``: frames into a tap's transmit path (AF_PACKET)
:mod:`.netns`        ``NetNS``: a throwaway network namespace for a thread
:mod:`.guardpage`    ``GuardedBuffer``: user memory ending in a PROT_NONE page
:mod:`.bpf`          a constant steering eBPF program (TUNSETSTEERINGEBPF)
===================  ========================================================

Standard library only, like the rest of pyuapi.
"""
