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


def test_the_published_text_fits_in_72_columns() -> None:
    assert all(len(line) <= 72 for line in publish.render(_pub()).splitlines())


def test_a_long_command_becomes_continuation_lines() -> None:
    cmd = "TUNRSS_CACHE=/tmp/cache-bench BENCH_LOOP=0 RESULTS=/tmp/rbN python -m bench --x " * 2
    lines = publish.render(publish.published([_bench(True)], cmd.strip())).splitlines()
    tail = lines[lines.index("Command:") + 1:]
    assert len(tail) > 1 and all(line.endswith(" \\") for line in tail[:-1])
    assert " ".join(line.strip(" \\") for line in tail) == cmd.strip()
    assert all(len(line) <= 72 for line in lines)


def test_runs_of_different_kernels_are_not_compared() -> None:
    other = _bench(True)
    other["kernel"] = {"key": "cd" * 32}
    with pytest.raises(ValueError, match="differ in kernel_key"):
        publish.published([_bench(True), other], "make bench")


def test_readme_quotes_the_published_figures() -> None:
    text = publish.extract(publish.README.read_text(), publish.BEGIN, publish.END)
    assert text == publish.readme_body(publish.render(_pub()))


def _bench(resolved: bool, median: float = 1.25) -> dict:
    ratio = {"median": median, "ci95": [median - 0.05, median + 0.05],
             "half_width": 0.04 if not resolved else 0.01, "resolved": resolved}
    modes = {"automq": {"ns_per_packet": {"median": 100.0}},
             "report": {"ns_per_packet": {"median": 125.0}, "ratio_to_automq": ratio}}
    return {"accel": "tcg", "kernel": {"key": "ab" * 32},
            "datapath": {"pktcost": {"rounds": [{}] * 7, "reps": 5, "frames": 256,
                                     "modes": modes}}}


def test_render_marks_not_resolved_and_names_the_command() -> None:
    text = publish.render(publish.published([_bench(False)], "make bench"))
    assert "  REPORT         1.250 [1.200, 1.300]*\n" in text
    assert "  * not resolved: half-width above 2%" in text
    assert "RSS " not in text and "run 1 " not in text   # one run: no columns
    assert "Under TCG" in text and text.endswith("Command:\n  make bench\n")
    assert all(len(line) <= 72 for line in text.splitlines())
    assert "carry/rehash" not in text             # a run without the parts
    kvm = dict(_bench(True), accel="kvm")
    kvm_text = publish.render(publish.published([kvm], "make bench"))
    assert "Under TCG" not in kvm_text and "not resolved" not in kvm_text


def _with_parts(bench: dict, median: float) -> dict:
    bench["datapath"]["pktcost"]["parts"] = {
        "ns_per_packet": {"carry": 60.4, "rehash": 240.0},
        "carry_over_rehash": {"median": median, "ci95": [median - 0.01, median + 0.01],
                              "half_width": 0.01, "resolved": True}}
    return bench


def test_two_runs_side_by_side_with_their_agreement() -> None:
    runs = [_with_parts(_bench(True, 1.25), 0.25), _with_parts(_bench(True, 1.27), 0.30)]
    text = publish.render(publish.published(runs, "make bench"))
    assert "                 run 1                   run 2\n" in text
    assert "  REPORT         1.250 [1.200, 1.300]    1.270 [1.220, 1.320]\n" in text
    assert "  carry/rehash   0.250 [0.240, 0.260]    0.300 [0.290, 0.310]\n" in text
    flat = " ".join(text.split())
    assert "(run 1: 60 against 240 ns per packet)" in flat
    assert "agree (each median inside the other's interval) on REPORT; not on " \
        "carry/rehash." in flat
    assert flat.endswith("Command, each run: make bench")
    assert all(len(line) <= 72 for line in text.splitlines())


def test_the_interval_over_boots_replaces_the_one_over_rounds() -> None:
    bench = _with_parts(_bench(False), 0.25)
    across = {"boots": 6, "modes": {"report": {"ratio_to_automq": {
        "median": 1.31, "ci95": [1.30, 1.32], "half_width": 0.0076, "resolved": True}}},
        "carry_over_rehash": {"median": 0.27, "ci95": [0.26, 0.28], "half_width": 0.037,
                              "resolved": False}}
    bench["datapath"]["pktcost"]["across_boots"] = across
    text = publish.render(publish.published([bench], "make bench"))
    assert "  REPORT         1.310 [1.300, 1.320]\n" in text     # the boots', resolved
    assert "  carry/rehash   0.270 [0.260, 0.280]*\n" in text
    assert "median of the 6 boots' medians" in " ".join(text.split())
    with pytest.raises(ValueError, match="differ in boots"):
        publish.published([bench, _bench(True)], "make bench")


def test_agreement_needs_each_median_inside_the_other_interval() -> None:
    a = {"median": 1.40, "ci95": [1.39, 1.42]}
    assert publish.agree(a, {"median": 1.41, "ci95": [1.395, 1.43]})
    # the intervals overlap, but 1.40 lies below the second one: no
    assert not publish.agree(a, {"median": 1.415, "ci95": [1.405, 1.43]})
    with pytest.raises(ValueError, match="3 runs: publish 1 to 2"):
        publish.published([_bench(True)] * 3, "make bench")


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
    assert "1.250 [1.200, 1.300]\n" in body and "Command:\n  X=1 make bench\n" in body
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


def test_the_off_cost_has_its_row_and_its_sentence() -> None:
    bench = _bench(True)
    assert "off/base" not in publish.render(publish.published([bench], "make bench"))
    bench["datapath"]["pktcost"]["off"] = {"series_over_base": {
        "median": 1.002, "ci95": [0.999, 1.006], "half_width": 0.0035, "resolved": True}}
    text = publish.render(publish.published([bench], "make bench"))
    assert "  off/base       1.002 [0.999, 1.006]\n" in text
    assert "the feature compiled in but off" in " ".join(text.split())
