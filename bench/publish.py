# SPDX-License-Identifier: MIT
"""The cost figures that README and the cover letter quote, generated from
a bench.json, never typed by hand (issue 14, "Output").

``python -m bench.publish RESULTS/bench.json`` keeps the in-kernel cost
per packet (bench/pktcost.py) of that run in bench/published.json, with
the command that produced it, and rewrites from it:

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

__all__ = ["cover_body", "extract", "published", "readme_body", "render", "replace_between"]


def published(bench: dict, command: str) -> dict:
    """What bench/published.json keeps of a bench.json: the cost per packet
    summary (bench/pktcost.py summarize()) and where it comes from."""
    cost = bench["datapath"]["pktcost"]
    return {"command": command, "accel": bench.get("accel", "?"),
            "kernel_key": bench.get("kernel", {}).get("key", "?")[:12],
            "rounds": len(cost["rounds"]), "reps": cost["reps"], "frames": cost["frames"],
            "modes": cost["modes"], "parts": cost.get("parts", {}).get("ns_per_packet"),
            "carry_over_rehash": cost.get("parts", {}).get("carry_over_rehash")}


def _ratio(r: dict) -> str:
    text = f"{r['median']:.3f} [{r['ci95'][0]:.3f}, {r['ci95'][1]:.3f}]"
    return text if r["resolved"] else f"{text}, not resolved (half-width {r['half_width']:.1%})"


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, 72, break_on_hyphens=False)


def render(pub: dict) -> str:
    """The paragraph and table both texts carry, 72 columns wide."""
    intro = (f"tun_select_queue() plus tun_put_user(), timed inside the kernel over "
             f"the {pub['frames']}-frame mix of the harness's benchmark "
             f"({pub['rounds']} interleaved rounds of {pub['reps']} passes; "
             f"{pub['accel'].upper()}): the per-round ratio of each mode's "
             f"nanoseconds per packet to automq's, median and 95% interval. "
             f"A half-width above 2% is \"not resolved\".")
    lines = _wrap(intro) + [""]
    for mode, label in LABELS.items():
        r = pub["modes"].get(mode, {}).get("ratio_to_automq")
        if r:
            lines.append(f"  {label:<14} {_ratio(r)}")
    if pub.get("carry_over_rehash"):
        c = pub["carry_over_rehash"]
        lines += [""] + _wrap(
            f"Getting the hash from queue selection to the header write, per "
            f"packet: carrying it in the skb extension (attach, find, free) "
            f"{pub['parts']['carry']:.0f} ns, computing it again "
            f"{pub['parts']['rehash']:.0f} ns; carry/rehash {_ratio(c)}.")
    if pub["accel"] != "kvm":
        lines += [""] + _wrap(
            "Under TCG the absolute times are an emulated CPU's and even the "
            "ratios only roughly a real one's: figures on KVM are still to be "
            "taken.")
    lines += ["", f"Command: {pub['command']}"]
    return "\n".join(lines) + "\n"


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
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bench_json", type=Path, help="the bench.json of a `make bench` run")
    ap.add_argument("--command", required=True,
                    help="the command that produced it, as the texts will quote it")
    ap.add_argument("--published", type=Path, default=PUBLISHED, help=f"default {PUBLISHED}")
    ap.add_argument("--cover", type=Path, default=COVER, help=f"default {COVER}")
    ap.add_argument("--readme", type=Path, default=README, help=f"default {README}")
    args = ap.parse_args(argv)
    bench = json.loads(args.bench_json.read_text())
    if not bench.get("datapath", {}).get("pktcost"):
        print(f"publish: {args.bench_json} has no datapath.pktcost (bench/pktcost.py)",
              file=sys.stderr)
        return 1
    pub = published(bench, args.command)
    body = render(pub)
    try:
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
