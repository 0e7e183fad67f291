# SPDX-License-Identifier: MIT
"""vm/results.py: KTAP and JUnit parsing, skip policy, and the summary line."""
from vm import results

KTAP = """TAP version 13
1..4
# Starting 4 tests from 1 test cases.
#  RUN           tun.delete_detach_close ...
#            OK  tun.delete_detach_close
ok 1 tun.delete_detach_close
not ok 2 tun.detach_delete_close
ok 3 tun.reattach_close_delete # SKIP kernel lacks TUNGETVNETHASHCAP
ok 4 tun.xfail_case # XFAIL known
# Totals: pass:1 fail:1 xfail:1 xpass:0 skip:1 error:0
"""


def test_ktap_results() -> None:
    got = [(t.name, t.result, t.reason) for t in results.parse_ktap("s", KTAP)]
    assert got == [
        ("tun.delete_detach_close", "pass", ""),
        ("tun.detach_delete_close", "fail", ""),
        ("tun.reattach_close_delete", "skip", "kernel lacks TUNGETVNETHASHCAP"),
        ("tun.xfail_case", "pass", "known"),
    ]


def test_ktap_missing_results_are_failures() -> None:
    text = "TAP version 13\n1..3\nok 1 first\n"
    got = results.parse_ktap("s", text)
    assert [t.result for t in got] == ["pass", "fail", "fail"]
    assert "died or hung" in got[1].reason


def test_ktap_ignores_nested_subtests() -> None:
    text = "1..1\n    ok 1 inner\nok 1 outer\n"
    assert [t.name for t in results.parse_ktap("s", text)] == ["outer"]


JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="tests.vm.test_a" name="test_ok" time="0.010"/>
<testcase classname="tests.vm.test_a" name="test_bad" time="0.5"><failure message="assert 1 == 2">x</failure></testcase>
<testcase classname="tests.vm.test_a" name="test_err" time="0.1"><error message="fixture broke"/></testcase>
<testcase classname="tests.vm.test_a" name="test_skip" time="0"><skipped message="kernel lacks TUNSETVNETHASH"/></testcase>
</testsuite></testsuites>"""


def test_junit_results() -> None:
    got = [(t.name.split("::")[1], t.result, t.reason) for t in results.parse_junit("p", JUNIT)]
    assert got == [("test_ok", "pass", ""), ("test_bad", "fail", "assert 1 == 2"),
                   ("test_err", "fail", "fixture broke"),
                   ("test_skip", "skip", "kernel lacks TUNSETVNETHASH")]


def test_expected_feature_turns_skips_into_failures() -> None:
    tests = results.parse_junit("p", JUNIT)
    results.fail_skips(tests, "series applied")
    assert results.counts(tests) == {"pass": 1, "fail": 3, "skip": 0}
    assert tests[3].reason == "series applied; skipped: kernel lacks TUNSETVNETHASH"


def test_line_format() -> None:
    t = results.TestResult("kselftests", "hash.tcp4", "skip", None, "no feature")
    assert results.line(t) == "SKIP kselftests: hash.tcp4  # no feature"


def test_whole_program_skip_is_one_skip() -> None:
    got = results.parse_ktap("s", "TAP version 13\n1..0 # SKIP no TUNSETVNETHASH in headers\n")
    assert [(t.name, t.result, t.reason) for t in got] == [
        ("(suite)", "skip", "no TUNSETVNETHASH in headers")]
    assert results.parse_ktap("s", "1..0\n") == []


def test_ktap_more_results_than_the_plan_fail() -> None:
    from vm.results import parse_ktap
    got = parse_ktap("s", "TAP version 13\n1..1\nok 1 a\nok 2 b\n")
    assert [t.result for t in got] == ["pass", "pass", "fail"]
    assert got[-1].reason == "2 results for the plan 1..1"


def test_ktap_without_cases_is_no_result() -> None:
    # "1..0" without SKIP: no test; vm/report.collect turns a suite with no
    # result into a failure ("exited ... with no results").
    from vm.results import parse_ktap
    assert parse_ktap("s", "TAP version 13\n1..0\n") == []


def test_a_suite_that_ran_zero_cases_fails(tmp_path) -> None:
    import json
    import types
    from vm import report
    from vm.plan import Plan, SuiteSpec
    plan = Plan(suites=[SuiteSpec("kselftests-x", "ktap", ["x"], harness=True)])
    (tmp_path / "guest.json").write_text(json.dumps(
        {"suites": [{"name": "kselftests-x", "exit_code": 0, "seconds": 1.0}]}))
    (tmp_path / "kselftests-x.log").write_text("TAP version 13\n1..0\n")
    got = report.collect(types.SimpleNamespace(results=tmp_path), plan, expect_feature=False)
    assert [(t.name, t.result) for t in got[0].tests] == [("(suite)", "fail")]
