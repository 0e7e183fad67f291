# SPDX-License-Identifier: MIT
"""bench/publish.py: README and the cover letter quote the cost figures of
bench/published.json exactly as render() writes them (issue 14: generated
from bench.json, never copied by hand)."""
import json
import shutil
from pathlib import Path

import pytest

from bench import publish


def _pub() -> dict:
    return json.loads(publish.PUBLISHED.read_text())


def test_the_cover_letter_quotes_the_published_figures() -> None:
    text = publish.extract(publish.COVER.read_text(), publish.TITLE, publish.NEXT_TITLE)
    assert text == publish.cover_body(publish.render(_pub())), \
        "edited by hand? run python -m bench.publish on a bench.json instead"


def test_readme_quotes_the_published_figures() -> None:
    text = publish.extract(publish.README.read_text(), publish.BEGIN, publish.END)
    assert text == publish.readme_body(publish.render(_pub()))


def _bench(resolved: bool) -> dict:
    ratio = {"median": 1.25, "ci95": [1.2, 1.3], "half_width": 0.04 if not resolved else 0.01,
             "resolved": resolved}
    modes = {"automq": {"ns_per_packet": {"median": 100.0}},
             "report": {"ns_per_packet": {"median": 125.0}, "ratio_to_automq": ratio}}
    return {"accel": "tcg", "kernel": {"key": "ab" * 32},
            "datapath": {"pktcost": {"rounds": [{}] * 7, "reps": 5, "frames": 256,
                                     "modes": modes}}}


def test_render_says_not_resolved_and_names_the_command() -> None:
    text = publish.render(publish.published(_bench(False), "make bench"))
    assert "  REPORT         1.250 [1.200, 1.300], not resolved (half-width 4.0%)" in text
    assert "RSS " not in text                     # no figure for a mode not measured
    assert "Under TCG" in text and text.endswith("Command: make bench\n")
    assert all(len(line) <= 72 for line in text.splitlines())
    assert "carry/rehash" not in text             # a run without the parts
    parts = _bench(True)
    parts["datapath"]["pktcost"]["parts"] = {
        "ns_per_packet": {"carry": 60.4, "rehash": 240.0},
        "carry_over_rehash": {"median": 0.25, "ci95": [0.24, 0.26], "half_width": 0.04,
                              "resolved": False}}
    text = " ".join(publish.render(publish.published(parts, "make bench")).split())
    assert "(attach, find, free) 60 ns, computing it again 240 ns; carry/rehash 0.250 " \
        "[0.240, 0.260], not resolved (half-width 4.0%)." in text
    kvm = dict(_bench(True), accel="kvm")
    assert "Under TCG" not in publish.render(publish.published(kvm, "make bench"))


def test_main_rewrites_both_texts_and_keeps_the_rest(tmp_path: Path) -> None:
    cover, readme = tmp_path / "cover", tmp_path / "README.md"
    shutil.copy(publish.COVER, cover)
    shutil.copy(publish.README, readme)
    src = tmp_path / "bench.json"
    src.write_text(json.dumps(_bench(True)))
    out = tmp_path / "published.json"
    assert publish.main([str(src), "--command", "X=1 make bench", "--published", str(out),
                         "--cover", str(cover), "--readme", str(readme)]) == 0
    body = publish.render(json.loads(out.read_text()))
    assert "1.250 [1.200, 1.300]\n" in body and "Command: X=1 make bench" in body
    assert publish.extract(cover.read_text(), publish.TITLE, publish.NEXT_TITLE) == \
        publish.cover_body(body)
    old_cover = publish.COVER.read_text()
    assert cover.read_text().split(publish.TITLE)[0] == old_cover.split(publish.TITLE)[0]
    assert cover.read_text().split(publish.NEXT_TITLE)[1] == old_cover.split(publish.NEXT_TITLE)[1]


def test_a_text_without_its_markers_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="bench:pktcost"):
        publish.replace_between("no markers", publish.BEGIN, publish.END, "x")
    src = tmp_path / "bench.json"
    src.write_text(json.dumps(_bench(True)))
    readme, cover = tmp_path / "README.md", tmp_path / "cover"
    readme.write_text("nothing to replace\n")
    shutil.copy(publish.COVER, cover)
    out = tmp_path / "published.json"
    assert publish.main([str(src), "--command", "c", "--published", str(out),
                         "--readme", str(readme), "--cover", str(cover)]) == 1
    assert not out.exists()                     # nothing written on a refusal
    assert cover.read_text() == publish.COVER.read_text()
