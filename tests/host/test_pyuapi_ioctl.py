# SPDX-License-Identifier: MIT
"""pyuapi.ioctl against the numbers gcc prints for the same macros."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pyuapi.uapi import ioctl
from vm import pipeline, source

# The Debian base that make vm-test extracts (vm/source.py), or TUNRSS_KSRC
KSRC = Path(os.environ.get("TUNRSS_KSRC")
            or source.pinned_src_dir(pipeline.Options.from_env(dict(os.environ)).cache))
NO_KSRC = f"kernel source not found at {KSRC}: make vm-test extracts it (or set TUNRSS_KSRC)"

# (C macro call, python equivalent given an encoding)
CASES = [
    ("_IO('T', 227)", lambda e: ioctl.IO("T", 227, e)),
    ("_IO(0, 0)", lambda e: ioctl.IO(0, 0, e)),
    ("_IOR('T', 207, unsigned int)", lambda e: ioctl.IOR("T", 207, ctypes.c_uint, e)),
    ("_IOW('T', 202, int)", lambda e: ioctl.IOW("T", 202, ctypes.c_int, e)),
    ("_IOWR('x', 255, long long)", lambda e: ioctl.IOWR("x", 255, ctypes.c_longlong, e)),
    ("_IOR('a', 1, char[100])", lambda e: ioctl.IOR("a", 1, ctypes.c_char * 100, e)),
    ("_IOW(0xff, 0xff, char[8191])", lambda e: ioctl.IOW(0xFF, 0xFF, 8191, e)),
    ("_IOWR('T', 229, char[52])", lambda e: ioctl.IOWR("T", 229, ctypes.c_char * 52, e)),
]


def _c_values(include_dirs: list[Path], tmp: Path) -> list[int]:
    src = tmp / "ioc.c"
    body = "".join(f'\tprintf("%llu\\n", (unsigned long long)({c}));\n' for c, _ in CASES)
    src.write_text("#include <stdio.h>\n#include <asm/ioctl.h>\nint main(void)\n{\n"
                   + body + "\treturn 0;\n}\n")
    exe = tmp / "ioc"
    args = ["gcc", "-Wall", "-Werror"] + [f"-I{d}" for d in include_dirs] + ["-o", str(exe), str(src)]
    subprocess.run(args, check=True, capture_output=True, text=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def test_native_matches_gcc(tmp_path: Path) -> None:
    assert shutil.which("gcc"), "gcc is required for the layout tests"
    c = _c_values([], tmp_path)
    py = [f(ioctl.NATIVE) for _, f in CASES]
    assert py == c


@pytest.mark.parametrize("arch", ["powerpc", "mips", "sparc", "alpha", "parisc"])
def test_arch_table_matches_gcc(arch: str, tmp_path: Path) -> None:
    hdr = KSRC / "arch" / arch / "include/uapi/asm/ioctl.h"
    generic = KSRC / "include/uapi/asm-generic/ioctl.h"
    if not hdr.exists() or not generic.exists():
        pytest.skip(f"arch/{arch} headers missing; {NO_KSRC}")
    inc = tmp_path / "inc"
    (inc / "asm").mkdir(parents=True)
    (inc / "asm-generic").mkdir()
    shutil.copy(hdr, inc / "asm" / "ioctl.h")
    shutil.copy(generic, inc / "asm-generic" / "ioctl.h")
    c = _c_values([inc], tmp_path)
    enc = ioctl.ENCODINGS[arch]
    assert [f(enc) for _, f in CASES] == c


def test_generic_table_matches_kernel_source_header(tmp_path: Path) -> None:
    generic = KSRC / "include/uapi/asm-generic/ioctl.h"
    if not generic.exists():
        pytest.skip(NO_KSRC)
    inc = tmp_path / "inc"
    (inc / "asm").mkdir(parents=True)
    (inc / "asm" / "ioctl.h").write_text("#include <asm-generic/ioctl.h>\n")
    (inc / "asm-generic").mkdir()
    shutil.copy(generic, inc / "asm-generic" / "ioctl.h")
    assert [f(ioctl.ENCODINGS["generic"]) for _, f in CASES] == _c_values([inc], tmp_path)


def test_tun_numbers_known_values() -> None:
    # Values of x86_64 (asm-generic) as printed by strace / the kernel.
    assert ioctl.IOW("T", 202, ctypes.c_int, ioctl.ENCODINGS["generic"]) == 0x400454CA
    assert ioctl.IOR("T", 224, ctypes.c_int, ioctl.ENCODINGS["generic"]) == 0x800454E0
    assert ioctl.IO("T", 227, ioctl.ENCODINGS["generic"]) == 0x54E3


@pytest.mark.parametrize("enc", list(ioctl.ENCODINGS.values()), ids=lambda e: e.name)
def test_field_ranges_asserted(enc: ioctl.IocEncoding) -> None:
    ioctl.IOW("T", 255, (1 << enc.sizebits) - 1, enc)
    with pytest.raises(ValueError, match="size"):
        ioctl.IOW("T", 1, 1 << enc.sizebits, enc)
    with pytest.raises(ValueError, match="nr"):
        ioctl.IO("T", 256, enc)
    with pytest.raises(ValueError, match="type"):
        ioctl.IO(256, 1, enc)
    with pytest.raises(ValueError):
        ioctl.IO("TT", 1, enc)


@pytest.mark.parametrize("enc", list(ioctl.ENCODINGS.values()), ids=lambda e: e.name)
def test_decode_roundtrip(enc: ioctl.IocEncoding) -> None:
    n = ioctl.IOWR("Q", 77, 300, enc)
    assert ioctl.ioc_decode(n, enc) == (enc.read | enc.write, ord("Q"), 77, 300)


def test_machine_table() -> None:
    assert ioctl.encoding_for_machine("x86_64").name == "generic"
    assert ioctl.encoding_for_machine("aarch64").name == "generic"
    assert ioctl.encoding_for_machine("ppc64le").name == "powerpc"
    assert ioctl.encoding_for_machine("mips64").name == "mips"
    assert ioctl.encoding_for_machine("sparc64").name == "sparc"
    assert ioctl.encoding_for_machine("alpha").name == "alpha"
    assert ioctl.encoding_for_machine("parisc64").name == "parisc"
