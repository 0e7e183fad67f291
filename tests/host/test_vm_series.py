# SPDX-License-Identifier: MIT
"""vm/series.py: the edits that register the selftests, and the cover letter."""
from pathlib import Path

from vm import series


def test_subject_prefix() -> None:
    assert series.subject_prefix(1) == "RFC PATCH net-next"
    assert series.subject_prefix(3) == "RFC PATCH net-next v3"


def test_insert_sorted_keeps_a_sorted_file_sorted() -> None:
    assert series.insert_sorted(["CONFIG_A=y", "CONFIG_C=y"], ["CONFIG_B=y", "CONFIG_A=y"]) == \
        ["CONFIG_A=y", "CONFIG_B=y", "CONFIG_C=y"]


def test_insert_sorted_appends_to_an_unsorted_file() -> None:
    assert series.insert_sorted(["CONFIG_C=y", "CONFIG_A=y"], ["CONFIG_B=y"]) == \
        ["CONFIG_C=y", "CONFIG_A=y", "CONFIG_B=y"]


def test_makefile_entry_after_the_last_gen_progs() -> None:
    text = ("TEST_PROGS := a.sh\nTEST_GEN_PROGS = tun tap\nTEST_GEN_FILES += x\n"
            "TEST_GEN_PROGS += bind_timewait\nTEST_PROGS += b.sh\n")
    out = series.add_to_makefile(text, ["tun_vnet_hash"])
    assert "TEST_GEN_PROGS += bind_timewait\nTEST_GEN_PROGS += tun_vnet_hash\nTEST_PROGS" in out
    assert series.add_to_makefile(out, ["tun_vnet_hash"]) == out


COVER = """From 0 Mon Sep 17 00:00:00 2001
From: Dev <dev@example.org>
Subject: [RFC PATCH net-next 0/4] tun: virtio-net RSS and
 hash reporting

Motivation paragraph.

Review points:
- padding

Dev (4):
  virtio_net: add the hash

 drivers/net/tun.c | 10 ++++++++++

base-commit: 0123
"""


def test_cover_letter_subject_and_blurb(tmp_path: Path) -> None:
    p = tmp_path / "0000-cover-letter.patch"
    p.write_text(COVER)
    subject, blurb = series.cover_letter(p)
    assert subject == "tun: virtio-net RSS and hash reporting"
    assert blurb == "Motivation paragraph.\n\nReview points:\n- padding\n"
    generated = tmp_path / "gen.patch"
    generated.write_text("Subject: [RFC PATCH net-next 0/5] *** SUBJECT HERE ***\n\n"
                         "*** BLURB HERE ***\n\nDev (5):\n")
    series.fill_cover(generated, subject, blurb)
    text = generated.read_text()
    assert "0/5] tun: virtio-net RSS and hash reporting" in text
    assert "Motivation paragraph." in text and "***" not in text


def test_add_selftests_registers_programs(tmp_path: Path) -> None:
    src, ksft = tmp_path / "src", tmp_path / "kselftests"
    net = src / series.NET_SELFTESTS
    net.mkdir(parents=True)
    ksft.mkdir()
    (net / "Makefile").write_text("TEST_GEN_PROGS = tun tap\n")
    (net / "config").write_text("CONFIG_NET_NS=y\nCONFIG_TUN=y\n")
    (ksft / "tun_vnet_hash.c").write_text("int main(void) { return 0; }\n")
    (ksft / "config").write_text("CONFIG_TUN=y\nCONFIG_PACKET=y\n")
    changed = series.add_selftests(src, ksft)
    assert (net / "tun_vnet_hash.c").exists()
    assert "TEST_GEN_PROGS += tun_vnet_hash" in (net / "Makefile").read_text()
    assert (net / "config").read_text() == "CONFIG_NET_NS=y\nCONFIG_PACKET=y\nCONFIG_TUN=y\n"
    assert str(series.NET_SELFTESTS / ".gitignore") not in changed  # the base has none


def test_maintainers_section_covers_the_new_selftest() -> None:
    text = ("TULIP\nS:\tOrphan\nF:\tdrivers/net/ethernet/dec/tulip/\n\n"
            "TUN/TAP driver\nM:\tX <x@y>\nS:\tMaintained\nF:\tDocumentation/networking/tuntap.rst\n"
            "F:\tdrivers/net/tap.c\nF:\tdrivers/net/tun.c\n\nTURBOCHANNEL\nS:\tMaintained\n")
    out = series.add_to_maintainers(text, "drivers/net/tun.c",
                                    ["tools/testing/selftests/net/tun_vnet_hash.c"])
    assert out == text.replace("F:\tdrivers/net/tun.c\n",
                               "F:\tdrivers/net/tun.c\n"
                               "F:\ttools/testing/selftests/net/tun_vnet_hash.c\n")
