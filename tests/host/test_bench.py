# SPDX-License-Identifier: MIT
"""bench/ without a VM: the eBPF steering program's model, the sendmmsg
structs, the touch patch of the loop benchmark, the console parser of the
kernel hash microbenchmark, the per-mode summary and the target checks."""
import ctypes
import subprocess
from pathlib import Path

from bench import datapath, frames, hashbench, loop, run, sender, steer_bpf
from pyuapi import rss
from pyuapi.uapi import virtio_net as V


def test_frame_mix_has_every_kind_and_parses() -> None:
    mix = frames.mix()
    assert len(set(mix)) == len(mix)
    reports = {rss.hash_frame(f, V.VIRTIO_NET_RSS_HASH_TYPE_ALL, rss.MS_KEY)[1] for f in mix}
    # IPv4/IPv6 TCP/UDP, and the _EX types for the extension header frames
    assert {V.VIRTIO_NET_HASH_REPORT_TCPv4, V.VIRTIO_NET_HASH_REPORT_UDPv4,
            V.VIRTIO_NET_HASH_REPORT_TCPv6, V.VIRTIO_NET_HASH_REPORT_UDPv6,
            V.VIRTIO_NET_HASH_REPORT_TCPv6_EX, V.VIRTIO_NET_HASH_REPORT_UDPv6_EX} <= reports


def test_port_program_spreads_the_mix_evenly() -> None:
    counts = [0] * 4
    for f in frames.mix():
        counts[steer_bpf.port_queue(f) % 4] += 1
    assert max(counts) - min(counts) <= len(frames.mix()) // 8


def test_port_program_jumps_stay_inside_and_end_in_exit() -> None:
    prog = steer_bpf.PORT_PROG
    assert prog[-1][0] == steer_bpf.EXIT
    for i, (code, _, off, _) in enumerate(prog):
        if code == steer_bpf.JEQ_K:
            assert 0 <= i + 1 + off < len(prog)


def test_sendmmsg_structs_match_x86_64_abi() -> None:
    assert ctypes.sizeof(sender.sockaddr_ll) == 20
    assert ctypes.sizeof(sender.msghdr) == 56
    assert ctypes.sizeof(sender.mmsghdr) == 64


def test_touch_patch_applies_with_git_am(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "drivers/net").mkdir(parents=True)
    text = "".join(f"line {i}\n" for i in range(10))
    (src / "drivers/net/tun.c").write_text(text)
    env = ["-c", "user.name=t", "-c", "user.email=t@t"]
    for cmd in (["init", "-q"], ["add", "."], [*env, "commit", "-qm", "base"]):
        subprocess.run(["git", *cmd], cwd=src, check=True)
    patch = tmp_path / "0099.patch"
    patch.write_text(loop.touch_patch("drivers/net/tun.c", text))
    subprocess.run(["git", *env, "am", "-q", str(patch)], cwd=src, check=True)
    assert (src / "drivers/net/tun.c").read_text().endswith("line 9\n/* tunrss bench: touched */\n")


CONSOLE = """[    3.1] virtio_net_hash_bench: start: 7 rounds of 20000 hashes per case
[    3.2] virtio_net_hash_bench: impl=bitwise tuple=ipv6-tcp best_ns=310.5 median_ns=320.0 iters=20000 rounds=7
[    3.3] virtio_net_hash_bench: impl=nibble tuple=ipv6-tcp best_ns=40.1 median_ns=41.0 iters=20000 rounds=7
[    3.4] virtio_net_hash_bench: impl=skb tuple=ipv6-tcp best_ns=60.0 median_ns=61.5 iters=20000 rounds=7
[    3.5] virtio_net_hash_bench: impl=byte tuple=ipv4-tcp MISMATCH hash 0x1, expected 0x2
[    3.6] virtio_net_hash_bench: done
"""


def test_hashbench_parses_cases_and_mismatches() -> None:
    got = hashbench.parse(CONSOLE)
    assert got["ran"] and len(got["cases"]) == 3
    assert hashbench.ns(got, "nibble", "ipv6-tcp") == 41.0
    assert got["mismatches"] == ["byte ipv4-tcp: hash 0x1, expected 0x2"]
    assert not hashbench.parse("no bench here")["ran"]


def _run(mode: str, rnd: int, delivered: int) -> datapath.Run:
    return datapath.Run(mode, rnd, "sendmmsg", 1.0, delivered + 10, delivered, [delivered], 0,
                        0.5, 0.5)


def test_summary_ratios_are_per_round() -> None:
    runs = [_run("automq", 0, 1000), _run("rss", 0, 900), _run("ebpf", 0, 950),
            _run("rss+report", 0, 940),
            _run("automq", 1, 2000), _run("rss", 1, 1800), _run("ebpf", 1, 1900),
            _run("rss+report", 1, 1880)]
    s = datapath.summarize(runs)
    dp = {"modes": s, "runs": [{"round": r.round, "mode": r.mode, "pps": r.pps} for r in runs]}
    assert s["rss"]["ratio_to_automq"]["median"] == 0.9
    assert s["automq"]["pps"] == {"min": 1000, "median": 1500, "max": 2000}
    t = run.targets(dp, hashbench.parse(CONSOLE), "tcg")
    assert t["rss+report within 5% of automq"]["met"] is False  # 0.94 in both rounds
    assert t["rss at least as fast as ebpf"]["met"] is False
    assert t["rss at least as fast as ebpf"]["rss_over_ebpf_per_round"] == [0.9474, 0.9474]
    assert t["hash helper < 50 ns ipv6/tcp (KVM)"]["met"] is None  # TCG: not assessable
    assert run.targets(dp, hashbench.parse(CONSOLE), "kvm")[
        "hash helper < 50 ns ipv6/tcp (KVM)"]["met"] is False
