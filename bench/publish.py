# SPDX-License-Identifier: MIT
"""The cost figures that README and the cover letter quote, generated from
a bench.json, never typed by hand (issue 14, "Output").

``python -m bench.publish RUN1/bench.json [RUN2/bench.json] --command C``
keeps the in-kernel cost per packet (bench/pktcost.py) of one run, or of
two consecutive runs side by side with whether they agree (issue 14:
"two consecutive runs give ratios that fall within each other's
intervals"), in bench/published.json with the command that produced them,
and rewrites from it:

* the cover letter's "Cost per packet" section (patches/0000-cover-letter.patch,
  from its title to the next section's);
* README's block between the ``<!-- bench:pktcost -->`` and
  ``<!-- /bench:pktcost -->`` lines.

tests/host/test_bench_publish.py fails when either text differs from
what bench/published.json gives.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PUBLISHED = REPO / "bench" / "published.json"
COVER = REPO / "patches" / "0000-cover-letter.patch"
README = REPO / "README.md"
TITLE = "Cost per packet\n===============\n"
NEXT_TITLE = "Testing\n=======\n"
BEGIN, END = "<!-- bench:pktcost -->\n", "<!-- /bench:pktcost -->\n"
LABELS = {"rss": "RSS", "report": "REPORT", "rss+report": "RSS+REPORT", "ebpf": "eBPF steering"}
CARRY = "carry/rehash"
OFF = "off/base"
MAX_RUNS = 2        # side by side in 72 columns

__all__ = ["agree", "cover_body", "extract", "one_run", "published", "readme_body", "render",
           "replace_between"]


def one_run(bench: dict) -> dict:
    """What bench/published.json keeps of one bench.json: the cost per packet
    summary (bench/pktcost.py) and the kernel it timed."""
    cost = bench["datapath"]["pktcost"]
    parts = cost.get("parts", {})
    across = cost.get("across_boots") or {}     # bench/boots.py, when several boots
    return {"accel": bench.get("accel", "?"),
            "kernel_key": bench.get("kernel", {}).get("key", "?")[:12],
            "boots": across.get("boots", 1),
            "rounds": len(cost["rounds"]), "reps": cost["reps"], "frames": cost["frames"],
            "modes": across.get("modes") or cost["modes"], "parts": parts.get("ns_per_packet"),
            "carry_over_rehash": across.get("carry_over_rehash")
            or parts.get("carry_over_rehash"),
            "off_over_base": across.get("off_series_over_base")
            or cost.get("off", {}).get("series_over_base")}


def published(benches: list[dict], command: str) -> dict:
    """bench/published.json: one or two runs (side by side, MAX_RUNS) of *command*."""
    if not 1 <= len(benches) <= MAX_RUNS:
        raise ValueError(f"{len(benches)} runs: publish 1 to {MAX_RUNS}")
    runs = [one_run(b) for b in benches]
    for field in ("accel", "kernel_key", "frames", "rounds", "boots"):
        if len({r[field] for r in runs}) > 1:
            values = ", ".join(str(r[field]) for r in runs)
            raise ValueError(f"the runs differ in {field} ({values}): only runs of one "
                             "command on one kernel compare")
    return {"command": command, "runs": runs}


def _ratios(run: dict) -> dict[str, dict]:
    """Row label -> ratio (median, ci95, resolved) of one run."""
    rows = {label: run["modes"][m]["ratio_to_automq"] for m, label in LABELS.items()
            if (run["modes"].get(m) or {}).get("ratio_to_automq")}
    if run.get("carry_over_rehash"):
        rows[CARRY] = run["carry_over_rehash"]
    if run.get("off_over_base"):
        rows[OFF] = run["off_over_base"]
    return rows


def _cell(r: dict | None) -> str:
    if not r:
        return "-"
    return f"{r['median']:.3f} [{r['ci95'][0]:.3f}, {r['ci95'][1]:.3f}]" + \
        ("" if r["resolved"] else "*")


def agree(a: dict, b: dict) -> bool:
    """Two runs agree on a ratio when each median lies in the other's interval."""
    return a["ci95"][0] <= b["median"] <= a["ci95"][1] and \
        b["ci95"][0] <= a["median"] <= b["ci95"][1]


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, 72, break_on_hyphens=False)


def render(pub: dict) -> str:
    """The paragraph and table both texts carry, 72 columns wide."""
    runs = pub["runs"]
    first = runs[0]
    boots = first["boots"]
    intro = (f"tun_select_queue() plus tun_put_user(), timed inside the kernel over "
             f"the {first['frames']}-frame mix of the harness's benchmark "
             f"({first['accel'].upper()}; "
             + (f"{len(runs)} runs of {boots} boots each" if len(runs) > 1 and boots > 1
                else f"{len(runs)} runs, one boot each" if len(runs) > 1
                else f"{boots} boots" if boots > 1 else "one boot")
             + f"; per boot {first['rounds']} interleaved rounds of "
             f"{'/'.join(str(r['reps']) for r in runs)} passes). Per boot, the median "
             f"over the rounds of each mode's nanoseconds per packet over automq's"
             + (f"; below, the median of the {boots} boots' medians with its 95% "
                f"interval (with 6 boots: the lowest and highest)." if boots > 1
                else "; below, with its 95% interval over the rounds."))
    if first.get("carry_over_rehash"):
        intro += (f" {CARRY}: getting the hash from queue selection to the header "
                  f"write by carrying it in the skb extension (attach, find, free) "
                  f"over computing it again (run 1: {first['parts']['carry']:.0f} "
                  f"against {first['parts']['rehash']:.0f} ns per packet).")
    if first.get("off_over_base"):
        intro += (f" {OFF}: the feature compiled in but off, the series' "
                  f"tun_select_queue() plus tun_put_user() over copies of the base "
                  f"kernel's in the same kernel (bench/kernel/0002).")
    lines = _wrap(intro) + [""]
    table = [_ratios(r) for r in runs]
    labels = list(dict.fromkeys(label for t in table for label in t))
    if len(runs) > 1:
        lines.append(" " * 17 + "".join(f"{f'run {i + 1}':<24}" for i in range(len(runs))).rstrip())
    for label in labels:
        lines.append(f"  {label:<14} " + "".join(f"{_cell(t.get(label)):<24}"
                                                 for t in table).rstrip())
    if any(not r["resolved"] for t in table for r in t.values()):
        lines.append("  * not resolved: half-width above 2%")
    if len(runs) == 2:
        both = [lb for lb in labels if lb in table[0] and lb in table[1]]
        yes = [lb for lb in both if agree(table[0][lb], table[1][lb])]
        no = [lb for lb in both if lb not in yes]
        lines += [""] + _wrap(
            "The two runs agree (each median inside the other's interval) on "
            + (", ".join(yes) or "none") + "; not on " + (", ".join(no) or "none") + ".")
    if first["accel"] != "kvm":
        lines += [""] + _wrap(
            "Under TCG the absolute times are an emulated CPU's and even the "
            "ratios only roughly a real one's: figures on KVM are still to be "
            "taken.")
    lines += ["", "Command" + (", each run:" if len(runs) > 1 else ":")]
    lines += _command_lines(pub["command"])
    return "\n".join(lines) + "\n"


def _command_lines(command: str) -> list[str]:
    """*command* indented, cut at spaces into shell continuation lines."""
    lines = textwrap.wrap(command, 68, break_on_hyphens=False, break_long_words=False)
    return [f"  {line} \\" for line in lines[:-1]] + [f"  {lines[-1]}"]


def cover_body(body: str) -> str:
    """The cover letter's section: *body* between blank lines."""
    return "\n" + body + "\n"


def readme_body(body: str) -> str:
    """README's block: *body* as a code block."""
    return "```\n" + body + "```\n"


def extract(text: str, begin: str, end: str) -> str:
    """The text between the line *begin* and the line *end* (both kept out);
    ValueError naming the missing one."""
    for mark in (begin, end):
        if mark not in text:
            raise ValueError(f"no {mark.strip()!r} in the text")
    return text.split(begin, 1)[1].split(end, 1)[0]


def replace_between(text: str, begin: str, end: str, body: str) -> str:
    """*text* with what lies between *begin* and *end* replaced by *body*."""
    head, rest = text.split(begin, 1) if begin in text else (None, None)
    if head is None or end not in rest:
        raise ValueError(f"no {begin.strip()!r} ... {end.strip()!r} in the text")
    return head + begin + body + end + rest.split(end, 1)[1]


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.publish``: see the module's docstring."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bench_json", type=Path, nargs="+",
                    help=f"the bench.json of 1 to {MAX_RUNS} `make bench` runs of one command")
    ap.add_argument("--command", required=True,
                    help="the command that produced it, as the texts will quote it")
    ap.add_argument("--published", type=Path, default=PUBLISHED, help=f"default {PUBLISHED}")
    ap.add_argument("--cover", type=Path, default=COVER, help=f"default {COVER}")
    ap.add_argument("--readme", type=Path, default=README, help=f"default {README}")
    args = ap.parse_args(argv)
    benches = [json.loads(p.read_text()) for p in args.bench_json]
    for path, bench in zip(args.bench_json, benches):
        if not bench.get("datapath", {}).get("pktcost"):
            print(f"publish: {path} has no datapath.pktcost (bench/pktcost.py)", file=sys.stderr)
            return 1
    try:
        pub = published(benches, args.command)
        body = render(pub)
        cover = replace_between(args.cover.read_text(), TITLE, NEXT_TITLE, cover_body(body))
        readme = replace_between(args.readme.read_text(), BEGIN, END, readme_body(body))
    except ValueError as e:
        print(f"publish: {e}", file=sys.stderr)
        return 1
    args.published.write_text(json.dumps(pub, indent=2) + "\n")
    args.cover.write_text(cover)
    args.readme.write_text(readme)
    print(body, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
