# SPDX-License-Identifier: MIT
"""bench/ without a VM: the eBPF steering program's model, the sendmmsg
structs, the touch patch of the loop benchmark, the console parser of the
kernel hash microbenchmark and its target (the datapath's: test_bench_datapath.py)."""
import ctypes
import subprocess
from pathlib import Path

from bench import frames, hashbench, loop, run, sender, steer_bpf
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


def test_hash_target_is_assessed_on_kvm_only() -> None:
    hashes = hashbench.parse(CONSOLE)
    assert run.targets({}, hashes, "tcg")["hash helper < 50 ns ipv6/tcp (KVM)"]["met"] is None
    assert run.targets({}, hashes, "kvm")["hash helper < 50 ns ipv6/tcp (KVM)"]["met"] is False
