# SPDX-License-Identifier: MIT
"""vm/splat.py on saved console logs: every kind of report is found, tied to
the test that was running, and a clean boot gives nothing."""
from pathlib import Path

import pytest

from vm import splat

DATA = Path(__file__).parent / "data" / "console"


def scan(name: str) -> list[splat.Splat]:
    return splat.scan((DATA / name).read_text())


def test_clean_boot_has_no_splat() -> None:
    assert scan("clean-boot.log") == []


@pytest.mark.parametrize("log, kind, test", [
    ("warn-tun-open.log", "warning", "tun-selftest/tun.delete_detach_close"),
    ("kasan.log", "kasan", "pytest-vm/tests/vm/test_differential.py::test_random_frames"),
    ("lockdep.log", "lockdep", "kselftests-tun_vnet_hash"),
    ("kmemleak.log", "kmemleak", "(all suites finished)"),
    ("rcu-stall.log", "rcu-stall", "kselftests-tun_vnet_hash/tun_vnet_hash.rss_tcp4"),
    ("hung-task.log", "hung-task", ""),
    ("ubsan.log", "ubsan", "kselftests-tun_vnet_hash/tun_vnet_hash.ipv6_ex"),
    ("oops.log", "bug", ""),
    ("kcsan.log", "kcsan",
     "pytest-robustness-test_concurrent_stress/tests/robustness/test_concurrent_stress.py"
     "::test_concurrent_stress"),
])
def test_first_splat_kind_and_test(log: str, kind: str, test: str) -> None:
    found = scan(log)
    assert found, f"no splat found in {log}"
    assert (found[0].kind, found[0].test) == (kind, test)


def test_warning_excerpt_runs_to_end_of_trace_and_stops() -> None:
    (only,) = scan("warn-tun-open.log")  # the Call Trace inside is not a second splat
    assert only.line.startswith("WARNING: CPU: 1 PID: 187 at drivers/net/tun.c:3453")
    assert only.excerpt.splitlines()[-1].startswith("---[ end trace")
    assert "misc_open" in only.excerpt
    assert "tun.delete_detach_close" in only.describe()


def test_lone_call_trace_and_panic_are_splats() -> None:
    log = "[ 1.0] Call Trace:\n[ 1.1]  <TASK>\n"
    assert [s.kind for s in splat.scan(log)] == ["call-trace"]
    assert splat.classify("Kernel panic - not syncing: Fatal exception") == "panic"


@pytest.mark.parametrize("line", [
    "overlayfs: failed to set xattr on upper",
    "tun: Universal TUN/TAP device driver, 1.6",
    "ACPI: PM: Power Button [PWRF]",
    "random: crng init done",
])
def test_ordinary_messages_are_not_splats(line: str) -> None:
    assert splat.classify(line) is None


def test_prefix_with_caller_id_is_stripped() -> None:
    assert splat.strip_prefix("[   12.345678] [    T123] WARNING: x") == "WARNING: x"


def test_kcsan_report_is_one_splat_up_to_its_rule() -> None:
    """A KCSAN report (KCONFIG=kcsan) is one splat, "BUG: KCSAN:" to the
    closing ===== line, not a second "bug" for the same report."""
    (only,) = scan("kcsan.log")
    assert only.line == "BUG: KCSAN: data-race in tun_net_xmit / tun_set_queue"
    assert only.excerpt.splitlines()[-1].startswith("=====")
    assert "value changed" in only.excerpt


def test_injected_allocation_failures_are_not_splats_outside_they_are() -> None:
    """warn_alloc() reports between "tunrss-fault-injection: on" and "off"
    (tests/robustness/test_faults.py) are the injected failures; the same
    report after "off" is a splat, and its Call Trace is not a second one."""
    found = scan("alloc-failure.log")
    assert [(s.kind, s.lineno) for s in found] == [("alloc-failure", 17)]
