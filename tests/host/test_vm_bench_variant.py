# SPDX-License-Identifier: MIT
"""The "bench" config variant (vm/kconfig.py, vm/kernel.py): the harness-only
patches of bench/kernel/ go on top of patches/, only for that variant, and
into its build key, so the normal and debug builds are never invalidated."""
from pathlib import Path

from vm import build, kconfig, kernel, patchcheck, settings, source

BENCH_DIR = settings.REPO / "bench" / "kernel"


def test_only_the_bench_variant_gets_the_bench_patches() -> None:
    series = source.series(settings.PATCH_DIR)
    bench = source.series(BENCH_DIR)
    assert bench, "bench/kernel/ holds the microbenchmark patch"
    for variant in ("normal", "debug"):
        assert kernel.kernel_patches(settings.PATCH_DIR, variant) == series
    assert kernel.kernel_patches(settings.PATCH_DIR, "bench") == series + bench


def test_bench_patches_are_applied_after_any_series(tmp_path: Path) -> None:
    (tmp_path / "0001-a.patch").write_text("a\n")
    (tmp_path / "0000-cover-letter.patch").write_text("cover\n")
    got = kernel.kernel_patches(tmp_path, "bench")
    assert got[0] == tmp_path / "0001-a.patch"
    assert got[1:] == source.series(BENCH_DIR)


def test_bench_fragment_is_its_own_and_asks_for_the_benchmark() -> None:
    frags = kconfig.fragments("bench")
    assert [p.name for p in frags] == ["base.config", "bench.config"]
    for option in ("CONFIG_VIRTIO_NET_HASH_BENCH", "CONFIG_TUN_BENCH"):
        assert kconfig.wanted(frags).get(option) == "y"
        for variant in ("normal", "debug"):
            assert option not in kconfig.wanted(kconfig.fragments(variant))


def test_bench_build_key_differs_from_normal() -> None:
    def key(variant: str) -> str:
        return build.build_key("c0ffee", variant, kconfig.fragments(variant),
                               kernel.kernel_patches(settings.PATCH_DIR, variant), "gcc")
    assert key("bench") != key("normal")
    # the normal key does not depend on bench/kernel/ at all
    assert key("normal") == build.build_key("c0ffee", "normal", kconfig.fragments("normal"),
                                            source.series(settings.PATCH_DIR), "gcc")


def test_bench_patch_stays_out_of_the_series_files() -> None:
    """The microbenchmarks touch only their own files, the Kconfig symbols
    that guard them, the include hooks at the end of virtio_net_hash.c and
    tun.c, and MAINTAINERS."""
    allowed = {"MAINTAINERS", "net/Kconfig", "net/core/virtio_net_hash.c",
               "net/core/virtio_net_hash_bench.c",
               "drivers/net/Kconfig", "drivers/net/tun.c", "drivers/net/tun_bench.c"}
    for patch in source.series(BENCH_DIR):
        assert set(patchcheck.touched_files(patch)) <= allowed, patch.name
