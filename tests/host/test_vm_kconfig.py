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
                "CONFIG_BPF_SYSCALL", "CONFIG_VHOST_NET", "CONFIG_TUN_VNET_CROSS_LE",
                "CONFIG_MACVLAN", "CONFIG_MACVTAP", "CONFIG_IPVLAN", "CONFIG_IPVTAP",
                "CONFIG_DUMMY"):
        assert wanted[opt] == "y", opt


def test_unknown_variant() -> None:
    with pytest.raises(ConfigError, match="KCONFIG='fast'"):
        kconfig.fragments("fast")


def test_renamed_option_takes_the_name_the_tree_defines(tmp_path) -> None:
    frag = tmp_path / "f.config"
    frag.write_text("CONFIG_PROC_SYSCTL=y\nCONFIG_TUN=y\n")
    old_tree = {"CONFIG_PROC_SYSCTL", "CONFIG_SYSCTL", "CONFIG_TUN"}  # 6.12
    new_tree = {"CONFIG_SYSCTL", "CONFIG_TUN"}  # 7.3: fs/proc/Kconfig's SYSCTL
    assert kconfig.for_tree(kconfig.wanted([frag]), old_tree) == \
        {"CONFIG_PROC_SYSCTL": "y", "CONFIG_TUN": "y"}
    assert kconfig.for_tree(kconfig.wanted([frag]), new_tree) == \
        {"CONFIG_SYSCTL": "y", "CONFIG_TUN": "y"}
    # the check looks for the option under the tree's name
    dot = tmp_path / ".config"
    dot.write_text("CONFIG_SYSCTL=y\nCONFIG_TUN=y\n")
    kconfig.check([frag], dot, new_tree)
    with pytest.raises(ConfigError, match="CONFIG_PROC_SYSCTL=y requested"):
        kconfig.check([frag], dot)


def test_option_no_tree_defines_is_rejected_before_configuring(tmp_path) -> None:
    frag = tmp_path / "f.config"
    frag.write_text("CONFIG_TUN=y\nCONFIG_NO_SUCH_THING=y\n")
    with pytest.raises(ConfigError, match="does not define.*CONFIG_NO_SUCH_THING"):
        kconfig.write_request([frag], {"CONFIG_TUN"}, tmp_path / "req.config")


def test_tree_symbols_reads_config_and_menuconfig(tmp_path) -> None:
    (tmp_path / "drivers").mkdir()
    (tmp_path / "drivers" / "Kconfig").write_text(
        'menuconfig NETDEVICES\n\tbool "x"\nif NETDEVICES\nconfig TUN\n\ttristate "t"\n'
        '\thelp\n\t  config FOO in help text is indented prose\nendif\n')
    (tmp_path / "Kconfig.debug").write_text("config KASAN\n\tbool\n")
    assert kconfig.tree_symbols(tmp_path) == {"CONFIG_NETDEVICES", "CONFIG_TUN", "CONFIG_KASAN"}


def test_kcsan_variant_asks_for_kcsan_and_fault_injection_without_kasan() -> None:
    """KCONFIG=kcsan (issue 17): KCSAN excludes KASAN (lib/Kconfig.kcsan), so
    it is base.config + kcsan.config, with the fault-injection knobs that
    tests/robustness/test_faults.py uses and kmemleak for the scan."""
    wanted = kconfig.wanted(kconfig.fragments("kcsan"))
    for opt in ("CONFIG_KCSAN", "CONFIG_DEBUG_FS", "CONFIG_FAULT_INJECTION", "CONFIG_FAILSLAB",
                "CONFIG_FAIL_PAGE_ALLOC", "CONFIG_FAULT_INJECTION_DEBUG_FS",
                "CONFIG_FUNCTION_ERROR_INJECTION", "CONFIG_FAIL_FUNCTION",
                "CONFIG_FAULT_INJECTION_STACKTRACE_FILTER", "CONFIG_DEBUG_KMEMLEAK"):
        assert wanted[opt] == "y", opt
    assert wanted.get("CONFIG_KASAN", "n") == "n"


def test_kmemleak_scan_follows_the_variant_config() -> None:
    assert kconfig.has_kmemleak("debug") and kconfig.has_kmemleak("kcsan")
    assert not kconfig.has_kmemleak("normal")
