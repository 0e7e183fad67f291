# SPDX-License-Identifier: MIT
"""vm/guest.py: reading the case list of a kselftest_harness program (-l)."""
from vm.guest import harness_cases


def row(fixture: str, variant: str, test: str) -> str:
    # The format of kselftest_harness.h test_harness_list_tests().
    return "%-20s %-25s %s" % (fixture, variant, test)


def test_fixture_without_variants() -> None:
    listing = "\n".join([row("# FIXTURE", "VARIANT", "TEST"), row("global", "", ""), "-" * 80,
                         row("tun", "", "delete_detach_close"),
                         row("", "", "detach_delete_close")])
    assert harness_cases(listing) == ["tun.delete_detach_close", "tun.detach_delete_close"]


def test_variants_cross_tests_in_run_order() -> None:
    listing = "\n".join([row("# FIXTURE", "VARIANT", "TEST"),
                         row("hash", "ipv4", "steer"), row("", "ipv6", "report"), "-" * 80,
                         row("errors", "", "bad_flags")])
    assert harness_cases(listing) == ["hash.ipv4.steer", "hash.ipv4.report",
                                      "hash.ipv6.steer", "hash.ipv6.report",
                                      "errors.bad_flags"]


def test_names_longer_than_their_column() -> None:
    long_fixture = "tun_vnet_hash_validation"  # 24 > 20
    long_variant = "ipv6_tcp_ex_home_and_routing_header"  # 35 > 25
    listing = "\n".join([row(long_fixture, long_variant, "steer"), row("", "", "report"),
                         row("", "ipv4", "")])
    assert harness_cases(listing) == [
        f"{long_fixture}.{long_variant}.steer", f"{long_fixture}.{long_variant}.report",
        f"{long_fixture}.ipv4.steer", f"{long_fixture}.ipv4.report"]


def test_unparseable_listing_gives_nothing() -> None:
    assert harness_cases("Usage: prog [-h|-l]\n") == []


def test_ktap_skip_is_no_listing() -> None:
    # A program that skips as a whole prints a KTAP plan even for -l.
    assert harness_cases("1..0 # SKIP headers lack TUNSETVNETHASH\n") == []


def test_a_case_run_alone_skips_stdbuf() -> None:
    from vm.guest import unbuffered
    assert unbuffered(["stdbuf", "-oL", "-eL", "/s/tun"]) == ["/s/tun"]
    assert unbuffered(["/s/tun", "-v"]) == ["/s/tun", "-v"]


def _fake_harness(tmp_path, fails: int):
    """A kselftest_harness stand-in whose one case fails its first *fails* runs."""
    import stat
    prog = tmp_path / "prog"
    count = tmp_path / "count"
    prog.write_text(f"""#!/bin/sh
n=$(cat {count} 2>/dev/null || echo 0); echo $((n + 1)) > {count}
echo "TAP version 13"; echo "1..1"
if [ "$n" -lt {fails} ]; then echo "# t.case: broke"; echo "not ok 1 t.case"; exit 1; fi
echo "ok 1 t.case"
""")
    prog.chmod(prog.stat().st_mode | stat.S_IXUSR)
    return prog


def _run(tmp_path, monkeypatch, fails: int, retries: int) -> tuple[dict, str]:
    from vm import guest
    from vm.plan import SuiteSpec
    monkeypatch.setattr(guest, "kmsg", lambda text: None)   # not the host's kernel log
    suite = SuiteSpec("base", "ktap", [str(_fake_harness(tmp_path, fails))], project=False,
                      harness=True, retries=retries)
    summary = guest.run_cases(suite, tmp_path, {}, ["t.case"])
    return summary, (tmp_path / "base.log").read_text()


def test_a_case_that_fails_once_is_run_again_and_reported_flaky(tmp_path, monkeypatch) -> None:
    summary, log = _run(tmp_path, monkeypatch, fails=1, retries=1)
    assert summary["exit_code"] == 0 and summary["flaky"] == ["t.case"]
    assert "# tunrss: first run: not ok 1 t.case" in log and "is flaky" in log
    assert log.rstrip().endswith("ok 1 t.case")


def test_a_case_that_keeps_failing_fails(tmp_path, monkeypatch) -> None:
    summary, log = _run(tmp_path, monkeypatch, fails=2, retries=1)
    assert summary["exit_code"] == 1 and summary["flaky"] == []
    assert log.rstrip().endswith("not ok 1 t.case")


def test_without_retries_a_failure_is_final(tmp_path, monkeypatch) -> None:
    summary, _ = _run(tmp_path, monkeypatch, fails=1, retries=0)
    assert summary["exit_code"] == 1 and summary["flaky"] == []
