# SPDX-License-Identifier: MIT
"""vm/accel.py: the KVM/TCG decision and the reading of a probe boot."""
import pytest

from vm import accel
from vm.errors import SetupError

GOOD = "Linux version 6.12.117+\n...\nKernel panic - not syncing: VFS: Unable to mount root fs\n"


def never() -> accel.Probe:
    raise AssertionError("the probe must not run")


def test_forced_choices_do_not_probe() -> None:
    assert accel.decide("kvm", lambda: (False, "x"), never)[0] == "kvm"
    assert accel.decide("tcg", lambda: (True, "x"), never) == ("tcg", "forced by VM_ACCEL=tcg")


def test_auto_without_device_is_tcg() -> None:
    choice, why = accel.decide("auto", lambda: (False, "/dev/kvm does not exist"), never)
    assert (choice, why) == ("tcg", "/dev/kvm does not exist")


@pytest.mark.parametrize("probe, expected", [
    (accel.Probe(True, "booted", 1.5), "kvm"),
    (accel.Probe(False, "a KVM guest hung", 20.0), "tcg"),
])
def test_auto_follows_the_probe(probe: accel.Probe, expected: str) -> None:
    assert accel.decide("auto", lambda: (True, "ok"), lambda: probe)[0] == expected


def test_unknown_choice_is_an_error() -> None:
    with pytest.raises(SetupError, match="VM_ACCEL='xen'"):
        accel.decide("xen", lambda: (True, ""), never)


def test_probe_reaching_root_mount_is_usable() -> None:
    assert accel.classify_probe(0, False, GOOD).usable


def test_probe_timeout_is_nested_kvm_hang() -> None:
    p = accel.classify_probe(None, True, "", timeout=20)
    assert not p.usable and "before the kernel banner" in p.reason


def test_probe_qemu_abort_is_reported() -> None:
    out = "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x0\nAborted\n"
    p = accel.classify_probe(134, False, out)
    assert not p.usable and "status 134" in p.reason and "Aborted" in p.reason


def test_probe_without_banner_is_not_usable() -> None:
    assert not accel.classify_probe(0, False, "Kernel panic").usable


def test_cached_probe_is_reused(tmp_path, monkeypatch) -> None:
    calls = []

    def fake(kernel, qemu="q", timeout=0):
        calls.append(kernel)
        return accel.Probe(False, "hung", 20.0)

    monkeypatch.setattr(accel, "probe_kvm", fake)
    cache = tmp_path / "probe.json"
    first = accel.cached_probe(cache, tmp_path / "bzImage")
    second = accel.cached_probe(cache, tmp_path / "bzImage")
    assert first == second == accel.Probe(False, "hung", 20.0) and len(calls) == 1
