# SPDX-License-Identifier: MIT
"""Find kernel splats (warnings, oopses, sanitizer and lockdep reports, RCU
stalls, hung tasks, kmemleak reports) in a captured console log.

The guest runner writes ``tunrss-test: <name>`` to /dev/kmsg before each test,
so a splat is attributed to the last test that started before it.  When
suites run side by side (vm/plan.py lanes), the report's task name
(``Comm:``, ``by task``, kmemleak's ``comm``) picks the lane: the splat goes
to the last test started by a suite whose processes have that name.  The
patterns follow what the netdev CI (NIPA) greps for, plus the sanitizers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Sequence

MARKER = "tunrss-test: "
# A test that injects allocation failures (tests/robustness/faultinject.py)
# writes FAULT_MARK + "on" / "off" to /dev/kmsg around them: the kernel's
# allocation failure reports (warn_alloc, with a Call Trace) in between are
# the injected failures, not splats.  Any other kind still is one.
FAULT_MARK = "tunrss-fault-injection: "

# Kind of splat -> regex on the message text (printk timestamp stripped).
PATTERNS: dict[str, re.Pattern[str]] = {
    name: re.compile(rx)
    for name, rx in {
        # Specific reports first: a lockdep report starts with "WARNING:",
        # a KASAN report with "BUG:".
        "kasan": r"\bKASAN:",
        "kfence": r"\bKFENCE:",
        # KCSAN (KCONFIG=kcsan): "BUG: KCSAN: data-race in a / b" and
        # "BUG: KCSAN: assert: race in ..." (kernel/kcsan/report.c)
        "kcsan": r"^BUG: KCSAN:",
        "ubsan": r"^UBSAN:",
        "lockdep": r"possible (circular|recursive) locking|inconsistent lock state"
        r"|suspicious RCU usage|lock held when returning to user space",
        "rcu-stall": r"rcu: INFO: .*detected stalls|self-detected stall",
        "hung-task": r"blocked for more than \d+ seconds",
        "kmemleak": r"unreferenced object 0x|kmemleak: \d+ new suspected memory leaks",
        "ref-tracker": r"\bref_tracker\b",
        "warning": r"^WARNING:",
        # warn_alloc(): an allocation without __GFP_NOWARN failed; expected
        # (and not a splat) between FAULT_MARK on/off, see scan()
        "alloc-failure": r"page allocation failure: order:|vmalloc error: size",
        "bug": r"^BUG:",
        "oops": r"^Oops\b|^general protection fault",
        "panic": r"^Kernel panic",
        "call-trace": r"^Call Trace:",
    }.items()
}

# "[   12.345678] " and the optional caller id "[    T123] " in front of a message.
_PREFIX = re.compile(r"^(?:<\d+>)?(?:\[\s*\d+\.\d+\]\s*)?(?:\[\s*[TC]\d+\]\s*)?")
_END = re.compile(r"---\[ end (trace|Kernel panic)|^={20,}$")
EXCERPT_LINES = 40
# Where a report names the task that hit it
_TASK = (re.compile(r"\bComm: (\S+)"), re.compile(r"\bby task (\S+?)/\d+"),
         re.compile(r'\bcomm "([^"]+)", pid'), re.compile(r"^(\S+)/\d+ is trying to acquire"))


@dataclass(frozen=True)
class Splat:
    kind: str
    lineno: int  # 1-based line in the console log
    line: str  # the matching message, prefix stripped
    test: str  # last test marker before it, or "" (boot, before any test)
    excerpt: str  # the report, up to its end marker or EXCERPT_LINES lines

    def describe(self) -> str:
        # The guest marks a test when it reads the test's first output line,
        # so inside a C suite the culprit is the case named or, rarely, the
        # one before it; pytest marks each test from inside the process.
        where = f"while running {self.test}" if self.test else "before any test started"
        return f"kernel {self.kind} at console line {self.lineno} {where}:\n{self.excerpt}"


def strip_prefix(line: str) -> str:
    """The printk message without its timestamp and caller id."""
    return _PREFIX.sub("", line.rstrip("\r\n"), count=1)


def classify(message: str) -> str | None:
    """Which kind of splat a console message starts, or None."""
    for kind, rx in PATTERNS.items():
        if rx.search(message):
            return kind
    return None


def task_of(excerpt: str) -> str:
    """The name of the task a report blames, or "" if it names none."""
    for line in excerpt.splitlines():
        for rx in _TASK:
            if m := rx.search(line):
                return m[1]
    return ""


def scan(log: str, tasks: Mapping[str, Sequence[str]] | None = None) -> list[Splat]:
    """All splats in *log*, in order.  Lines inside one report's excerpt
    (the Call Trace of a WARNING, say) do not start a report of their own.
    *tasks* maps a task name to the suites whose processes bear it, for
    suites that ran side by side (see the module docstring)."""
    lines = log.splitlines()
    splats: list[Splat] = []
    test = ""
    latest: dict[str, str] = {}  # suite -> its last marker, most recent last
    injecting = False
    i = 0
    while i < len(lines):
        msg = strip_prefix(lines[i])
        marker = msg.find(MARKER)
        if marker >= 0:
            test = msg[marker + len(MARKER):].strip()
            suite = test.split("/", 1)[0]
            latest.pop(suite, None)
            latest[suite] = test
            i += 1
            continue
        if msg.startswith(FAULT_MARK):
            injecting = msg[len(FAULT_MARK):].strip() == "on"
            i += 1
            continue
        kind = classify(msg)
        if kind is None:
            i += 1
            continue
        end = i + 1
        while end < len(lines) and end - i < EXCERPT_LINES:
            tail = strip_prefix(lines[end])
            if tail.startswith(FAULT_MARK):  # the injection window ends here
                break
            end += 1
            if _END.search(tail):
                break
        excerpt = "\n".join(strip_prefix(ln) for ln in lines[i:end])
        blamed = test
        if tasks and (suites := tasks.get(task_of(excerpt))):
            blamed = next((t for s, t in reversed(latest.items()) if s in suites), test)
        if not (injecting and kind == "alloc-failure"):
            splats.append(Splat(kind, i + 1, msg, blamed, excerpt))
        i = end
    return splats
