# SPDX-License-Identifier: MIT
"""The bindings: structs, constants and ioctl numbers of the kernel's UAPI headers.

=================  ==========================================================
:mod:`.ioctl`      ``_IO``/``_IOR``/``_IOW``/``_IOWR`` (include/uapi/asm-generic/ioctl.h)
:mod:`.layout`     ``CheckedStructure``: no implicit padding, pad fields zero
:mod:`.tun`        include/uapi/linux/if_tun.h (+ if.h, filter.h), the series' hash UAPI
:mod:`.tun_hash`   the TUNSETVNETHASH/TUNGETVNETHASH argument as bytes (size-versioned)
:mod:`.virtio_net` include/uapi/linux/virtio_net.h
:mod:`.vhost`      include/uapi/linux/vhost.h, vhost_types.h
=================  ==========================================================

Every struct here is compared with the C headers by :mod:`pyuapi.check`.
"""
