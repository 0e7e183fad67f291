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


def test_unparseable_listing_fails() -> None:
    # A row the parser cannot place must fail the suite, not drop its cases.
    import pytest
    from vm.harness import ListingError
    with pytest.raises(ListingError):
        harness_cases("Usage: prog [-h|-l]\n")
    with pytest.raises(ListingError):           # a test row before any fixture
        harness_cases(row("", "", "orphan") + "\n" + row("tun", "", "a"))
    with pytest.raises(ListingError):           # fixtures and not one test
        harness_cases(row("# FIXTURE", "VARIANT", "TEST") + "\n" + row("tun", "v", ""))


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
    monkeypatch.setattr(guest, "RETRY_PAUSE", 0.0)
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


MARK = "299.%d" % __import__("os").getpid()      # the stand-in's case: sleep MARK


def _alive(mark: str) -> list[str]:
    """Pids of live (not zombie) processes whose command line is ``sleep <mark>``."""
    import os
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read()
            state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if cmd == b"sleep\0" + mark.encode() + b"\0" and state not in ("Z", "X"):
            pids.append(pid)
    return pids


def _listing_harness(tmp_path, listed: list[str], planned: int):
    """A stand-in that lists *listed* for -l; a whole run starts a child in a
    process group of its own (as kselftest_harness.h __run_test() does, here
    before the plan so that it surely runs), prints the plan 1..*planned*
    and waits; -r NAME passes."""
    import stat
    rows = "\\n".join(row(*c.split(".")) if c.count(".") == 2 else row(*c.split(".", 1)[:1], "",
                                                                         c.split(".", 1)[1])
                       for c in listed)
    prog = tmp_path / "prog"
    prog.write_text(f"""#!/bin/sh
case "$1" in
-l) printf '{rows}\\n' >&2; exit 4;;
-r) echo "TAP version 13"; echo "1..1"; echo "ok 1 $2"; exit 0;;
esac
setsid sh -c 'touch {tmp_path}/started; exec sleep {MARK}' &
while [ ! -e {tmp_path}/started ]; do sleep 0.01; done
echo "TAP version 13"; echo "1..{planned}"
wait
""")
    prog.chmod(prog.stat().st_mode | stat.S_IXUSR)
    return prog


def _suite_run(tmp_path, monkeypatch, listed: list[str], planned: int) -> tuple[dict, str]:
    from vm import guest
    from vm.plan import SuiteSpec
    monkeypatch.setattr(guest, "kmsg", lambda text: None)
    suite = SuiteSpec("ks", "ktap", [str(_listing_harness(tmp_path, listed, planned))],
                      harness=True)
    summary = guest.run_suite(suite, tmp_path, {"PATH": __import__("os").environ["PATH"]})
    return summary, (tmp_path / "ks.log").read_text()


def test_case_count_equal_to_the_plan_passes(tmp_path, monkeypatch) -> None:
    summary, log = _suite_run(tmp_path, monkeypatch, ["a.one", "a.two", "b.v.three"], 3)
    assert summary["exit_code"] == 0, log
    assert log.splitlines()[1] == "1..3" and "not ok" not in log


def test_case_count_below_the_plan_fails(tmp_path, monkeypatch) -> None:
    summary, log = _suite_run(tmp_path, monkeypatch, ["a.one", "a.two"], 3)
    assert summary["exit_code"] == 1
    assert "not ok 3 (runner) # -l gave 2 cases, the program's plan is 1..3" in log
    from vm.results import parse_ktap
    assert [t.result for t in parse_ktap("ks", log)] == ["pass", "pass", "fail"]


def test_the_plan_probe_kills_the_case_it_started(tmp_path) -> None:
    # The whole run is killed after its plan, its setsid()'d child with it
    # (PID namespace of vm/harness.py PLAN_ISOLATION).
    import os
    import time
    from vm.harness import harness_plan
    prog = _listing_harness(tmp_path, ["a.one"], 7)
    t0 = time.monotonic()
    assert harness_plan([str(prog)], None, dict(os.environ)) == 7
    assert time.monotonic() - t0 < 30
    time.sleep(0.5)
    assert _alive(MARK) == []


def test_an_unparseable_listing_fails_the_suite(tmp_path, monkeypatch) -> None:
    import stat
    from vm import guest
    from vm.plan import SuiteSpec
    monkeypatch.setattr(guest, "kmsg", lambda text: None)
    prog = tmp_path / "prog"
    prog.write_text("#!/bin/sh\necho 'Usage: prog [-h|-l]' >&2; exit 1\n")
    prog.chmod(prog.stat().st_mode | stat.S_IXUSR)
    summary = guest.run_suite(SuiteSpec("ks", "ktap", [str(prog)], harness=True), tmp_path, {})
    log = (tmp_path / "ks.log").read_text()
    assert summary["exit_code"] == 1 and "not ok 1 (runner) # -l row not understood" in log
