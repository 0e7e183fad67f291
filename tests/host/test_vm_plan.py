# SPDX-License-Identifier: MIT
"""vm/plan.py: the typed guest plan round-trips through plan.json; the guest
runner (vm/guest.py) runs its lanes side by side; a splat while two lanes
run still names the case that hit it (vm/splat.py, vm/report.py)."""
import json
import time
from pathlib import Path

import pytest

from vm import guest, report, splat
from vm.plan import Plan, SuiteSpec

C1 = SuiteSpec("tun-selftest", "ktap", ["stdbuf", "-oL", "-eL", "/s/tun"], project=False,
               harness=True)
C2 = SuiteSpec("kselftests-tun_vnet_hash", "ktap", ["stdbuf", "-oL", "/s/tun_vnet_hash"],
               harness=True)
PY = SuiteSpec("pytest-vm", "pytest", ["/venv/bin/python", "-m", "pytest", "tests/vm"],
               cwd="/repo", junit="pytest-vm.xml")


def test_plan_round_trips_typed(tmp_path: Path) -> None:
    plan = Plan(suites=[C1, C2, PY], env={"TUNRSS_IN_VM": "1"}, kmemleak=True)
    plan.save(tmp_path)
    back = Plan.load(tmp_path)
    assert back == plan and isinstance(back.suites[0], SuiteSpec)
    assert json.loads((tmp_path / "plan.json").read_text())["suites"][2]["junit"] == \
        "pytest-vm.xml"


def test_an_unknown_field_is_an_error() -> None:
    with pytest.raises(ValueError, match="nmae"):
        Plan.from_json(json.dumps({"suites": [{"nmae": "x", "kind": "ktap", "argv": []}]}))


def test_lanes_c_suites_beside_pytest() -> None:
    plan = Plan(suites=[C1, C2, PY])
    assert plan.lanes() == [[C1, C2], [PY]]
    assert Plan(suites=[C1, C2, PY], parallel=False).lanes() == [[C1, C2, PY]]
    assert (C1.comm, C2.comm, PY.comm) == ("tun", "tun_vnet_hash", "python")


def test_guest_runs_the_lanes_side_by_side(tmp_path: Path, monkeypatch) -> None:
    marks: list[str] = []
    monkeypatch.setattr(guest, "kmsg", marks.append)
    slow = ["sh", "-c", "sleep 0.6; echo 'ok 1 slow'"]
    plan = Plan(suites=[SuiteSpec("a", "ktap", slow), SuiteSpec("b", "ktap", slow),
                        SuiteSpec("p", "pytest", ["sh", "-c", "sleep 0.6; echo $TUNRSS_SUITE"])])
    start = time.monotonic()
    done = guest.run_lanes(plan, tmp_path, {"PATH": "/usr/bin:/bin"})
    took = time.monotonic() - start
    assert [d["name"] for d in done] == ["a", "b", "p"]
    assert all(d["exit_code"] == 0 for d in done)
    assert 1.1 < took < 1.7, f"{took:.2f}s: lane a+b (1.2s) beside lane p (0.6s)"
    assert (tmp_path / "p.log").read_text().strip() == "p"  # each suite knows its name
    assert sorted(marks) == [f"{splat.MARKER}{n}" for n in "abp"]


CONSOLE = """\
[1.0] tunrss-test: kselftests-tun_vnet_hash/hash.ipv4
[1.1] tunrss-test: pytest-vm/tests/vm/test_tap_hash.py::test_a
[1.2] tunrss-test: kselftests-tun_vnet_hash/hash.ipv6
[1.3] tunrss-test: pytest-vm/tests/vm/test_tap_hash.py::test_b
[1.4] ------------[ cut here ]------------
[1.4] WARNING: CPU: 1 PID: 77 at drivers/net/tun.c:100 tun_set_hash+0x1/0x2
[1.4] CPU: 1 PID: 77 Comm: tun_vnet_hash Not tainted 6.12.0 #1
[1.4] ---[ end trace 0000000000000000 ]---
[1.5] WARNING: CPU: 0 PID: 80 at drivers/net/tun.c:200 tun_get+0x1/0x2
[1.5] CPU: 0 PID: 80 Comm: python Not tainted 6.12.0 #1
[1.5] ---[ end trace 0000000000000000 ]---
[1.6] BUG: KASAN: slab-out-of-bounds in tun_x+0x1/0x2
[1.6] Write of size 4 at addr ffff by task tun_vnet_hash/81
"""


def test_a_splat_names_the_case_of_its_lane() -> None:
    tasks = report.lane_tasks(Plan(suites=[C1, C2, PY]))
    assert tasks["tun_vnet_hash"] == ["tun-selftest", "kselftests-tun_vnet_hash"]
    found = splat.scan(CONSOLE, tasks)
    assert [s.test for s in found] == ["kselftests-tun_vnet_hash/hash.ipv6",
                                       "pytest-vm/tests/vm/test_tap_hash.py::test_b",
                                       "kselftests-tun_vnet_hash/hash.ipv6"]
    # One lane (or no task names): the last marker, as before
    assert [s.test for s in splat.scan(CONSOLE)][0] == \
        "pytest-vm/tests/vm/test_tap_hash.py::test_b"
    assert report.lane_tasks(Plan(suites=[C1, C2, PY], parallel=False)) == {}


def test_task_of_each_report_kind() -> None:
    assert splat.task_of("CPU: 0 PID: 9 Comm: tun Not tainted") == "tun"
    assert splat.task_of("Read of size 8 at addr x by task python/12") == "python"
    assert splat.task_of('  comm "tun_vnet_hash", pid 5, jiffies 4294') == "tun_vnet_hash"
    assert splat.task_of("tun/33 is trying to acquire lock:") == "tun"
    assert splat.task_of("no task here") == ""
