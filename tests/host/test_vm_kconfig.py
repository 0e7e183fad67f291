# SPDX-License-Identifier: MIT
"""vm/kconfig.py: fragments are parsed and checked against the final .config."""
import pytest

from vm import kconfig
from vm.errors import ConfigError


def test_parse_set_and_unset() -> None:
    text = "CONFIG_TUN=y\n# CONFIG_VT is not set\nCONFIG_NR_CPUS=8\n# comment\n"
    assert kconfig.parse(text) == {"CONFIG_TUN": "y", "CONFIG_VT": "n", "CONFIG_NR_CPUS": "8"}


def test_dropped_option_is_reported(tmp_path) -> None:
    frag = tmp_path / "f.config"
    frag.write_text("CONFIG_TUN=y\nCONFIG_IPV6=y\n# CONFIG_DRM is not set\n")
    dot = tmp_path / ".config"
    dot.write_text("CONFIG_TUN=y\n# CONFIG_IPV6 is not set\n")
    with pytest.raises(ConfigError, match=r"CONFIG_IPV6=y requested, CONFIG_IPV6=n in \.config"):
        kconfig.check([frag], dot)
    dot.write_text("CONFIG_TUN=y\nCONFIG_IPV6=y\n")
    kconfig.check([frag], dot)


def test_shipped_fragments_exist_and_ask_for_the_test_needs() -> None:
    wanted = kconfig.wanted(kconfig.fragments("normal"))
    for opt in ("CONFIG_TUN", "CONFIG_IPV6", "CONFIG_PACKET", "CONFIG_VETH", "CONFIG_NET_NS",
                "CONFIG_BPF_SYSCALL", "CONFIG_VHOST_NET", "CONFIG_TUN_VNET_CROSS_LE"):
        assert wanted[opt] == "y", opt


def test_unknown_variant() -> None:
    with pytest.raises(ConfigError, match="KCONFIG='fast'"):
        kconfig.fragments("fast")
