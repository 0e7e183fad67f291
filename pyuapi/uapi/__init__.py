# SPDX-License-Identifier: MIT
"""The bindings: structs, constants and ioctl numbers of the kernel's UAPI headers.

=================  ==========================================================
:mod:`.ioctl`      ``_IO``/``_IOR``/``_IOW``/``_IOWR`` (include/uapi/asm-generic/ioctl.h)
:mod:`.layout`     ``CheckedStructure``: no implicit padding, pad fields zero
:mod:`.tun`        include/uapi/linux/if_tun.h (+ if.h, filter.h), proposed hash UAPI
:mod:`.virtio_net` include/uapi/linux/virtio_net.h
:mod:`.vhost`      include/uapi/linux/vhost.h, vhost_types.h
=================  ==========================================================

Every struct here is compared with the C headers by :mod:`pyuapi.check`.
"""
