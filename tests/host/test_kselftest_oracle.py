# SPDX-License-Identifier: MIT
"""kselftests/tun_vnet_hash.c: its expected hash follows the configured key.

The C selftest used the Microsoft key everywhere, so a kernel that ignored
the user's key passed.  Now each test draws its keys and types from its
name (draw_config_keys()).  This test compiles the selftest's oracle on
the host (its ``main`` renamed, a driver calling ``expected_hash`` and
``draw_config_keys``) and checks that:

* the expected values change with the key, and equal pyuapi.rss.toeplitz
  over the same fields for the drawn keys (two independent Toeplitz);
* the Microsoft key still gives the published vector values;
* tests draw different keys, and other_config()'s types are never T_ALL
  (the rejected configurations of the ``invalid`` fixture use T_ALL).

It needs gcc, the selftest harness of the base kernel source and UAPI
headers of the series' current UAPI (TUN_VNET_HASH_SIZE_VER0: a make
vm-test build, or TUNRSS_HDRS), else it skips.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pyuapi import rss
from vm import pipeline, source

ROOT = Path(__file__).resolve().parents[2]
CACHE = pipeline.Options.from_env(dict(os.environ)).cache
KSRC = Path(os.environ.get("TUNRSS_KSRC") or source.pinned_src_dir(CACHE))


def _headers() -> Path | None:
    env = os.environ.get("TUNRSS_HDRS")
    cands = [Path(env)] if env else sorted(Path(CACHE).glob("work/*/build/usr/include"))
    for d in cands:
        f = d / "linux" / "if_tun.h"
        if f.is_file() and "TUN_VNET_HASH_SIZE_VER0" in f.read_text():   # not v1's headers
            return d
    return None


DRIVER = r"""
#define main tun_vnet_hash_main
#include "tun_vnet_hash.c"
#undef main

static void show(const char *what, const struct packet *p, __u16 r)
{
	printf("%s %u %08x %08x %08x\n", what, r, expected_hash(p, r, ms_key),
	       expected_hash(p, r, main_key), expected_hash(p, r, other_key));
}

int main(int argc, char **argv)
{
	struct packet p4 = vector_packet(AF_INET, 0, L4_TCP);
	struct packet p6 = vector_packet(AF_INET6, 1, L4_UDP);
	size_t i;

	draw_config_keys(argv[1], argv[2], argc > 3 ? atoi(argv[3]) : 0);
	printf("keys ");
	for (i = 0; i < TUN_VNET_HASH_KEY_SIZE; i++)
		printf("%02x", main_key[i]);
	printf(" ");
	for (i = 0; i < TUN_VNET_HASH_KEY_SIZE; i++)
		printf("%02x", other_key[i]);
	printf(" %u\n", other_types);
	show("v4", &p4, R_TCPV4);
	show("v4l3", &p4, R_IPV4);
	show("v6", &p6, R_UDPV6);
	return 0;
}
"""


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    hdrs = _headers()
    harness = KSRC / "tools/testing/selftests/kselftest_harness.h"
    if not shutil.which("gcc") or hdrs is None or not harness.is_file():
        pytest.skip("needs gcc, a make vm-test build's headers (or TUNRSS_HDRS) and "
                    f"the kernel source at {KSRC}")
    tmp = tmp_path_factory.mktemp("ksft")
    (tmp / "driver.c").write_text(DRIVER)
    exe = tmp / "oracle"
    subprocess.run(["gcc", "-O1", "-w", "-isystem", str(hdrs),
                    f"-I{KSRC}/tools/testing/selftests/net", f"-I{ROOT}/kselftests",
                    "-o", str(exe), str(tmp / "driver.c")], check=True,
                   capture_output=True, text=True)
    return exe


def run(exe: Path, name: str) -> dict[str, list[str]]:
    """The driver's output for the test ``fixture.test[.salt]``, by line tag."""
    out = subprocess.run([str(exe)] + name.split("."), check=True, capture_output=True,
                         text=True).stdout
    return {line.split()[0]: line.split()[1:] for line in out.splitlines()}


def fields(src: str, dst: str, sport: int | None = None, dport: int | None = None) -> bytes:
    data = ipaddress.ip_address(src).packed + ipaddress.ip_address(dst).packed
    if sport is not None and dport is not None:
        data += sport.to_bytes(2, "big") + dport.to_bytes(2, "big")
    return data


def test_expected_hash_follows_the_key(oracle: Path) -> None:
    out = run(oracle, "invalid.unknown_flags")
    main_key, other_key = (bytes.fromhex(k) for k in out["keys"][:2])
    v4 = fields("66.9.149.187", "161.142.100.80", 2794, 1766)     # ms_ipv4[0]
    v4l3 = fields("66.9.149.187", "161.142.100.80")
    v6 = fields("3ffe:501:8::260:97ff:fe40:efab", "ff02::1", 14230, 4739)
    for name, data in (("v4", v4), ("v4l3", v4l3), ("v6", v6)):
        ms, mk, ok = (int(x, 16) for x in out[name][1:])
        assert ms == rss.toeplitz(rss.MS_KEY, data)
        assert mk == rss.toeplitz(main_key, data) and ok == rss.toeplitz(other_key, data)
        assert len({ms, mk, ok}) == 3, f"{name}: the expected value did not change with the key"
    assert int(out["v4"][1], 16) == 0x51CCC178 and int(out["v4l3"][1], 16) == 0x323E8FC2


def test_each_test_draws_its_own_keys_and_other_types_is_never_all(oracle: Path) -> None:
    names = ["tap.microsoft_vectors", "hash.types.8448", "hash.types.8704", "invalid.pad_not_zero",
             "invalid.bad_pointer", "invalid.rss_and_steering_ebpf", "tap.larger_header"]
    seen = set()
    for name in names:
        keys = run(oracle, name)["keys"]
        assert keys[0] != keys[1] and keys[0] != rss.MS_KEY.hex()
        assert int(keys[2]) != (1 << 9) - 1 and int(keys[2]) & 0b1001 == 0b1001
        seen.add(keys[0])
    assert len(seen) == len(names)
