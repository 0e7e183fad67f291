# SPDX-License-Identifier: MIT
"""Choose the VM accelerator: KVM when a guest really boots with it, else TCG.

On some hosts /dev/kvm exists but nested guests hang while the kernel
decompresses, or QEMU aborts with ``-cpu host`` (see shared/REFERENCE.md,
section 3).  So ``auto`` boots the built kernel once under KVM with no root
device and waits, for a bounded time, for it to panic cleanly; only then is
KVM used.  The answer is cached per host boot and QEMU binary.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from .errors import SetupError

CHOICES = ("auto", "kvm", "tcg")
PROBE_TIMEOUT = 20.0
# Printed by every kernel early, and by a kernel that found no root to mount.
_BANNER = "Linux version "
_REACHED_END = ("Kernel panic", "VFS: Unable to mount root", "VFS: Cannot open root device")


@dataclass(frozen=True)
class Probe:
    usable: bool
    reason: str
    seconds: float = 0.0


def classify_probe(returncode: int | None, timed_out: bool, console: str,
                   timeout: float = PROBE_TIMEOUT) -> Probe:
    """Judge one KVM probe boot from its exit status and console output."""
    if timed_out:
        stage = "after the banner" if _BANNER in console else "before the kernel banner"
        return Probe(False, f"a KVM guest hung {stage} for {timeout:.0f}s (nested KVM?)")
    if _BANNER in console and any(m in console for m in _REACHED_END):
        return Probe(True, "a KVM guest booted to its root mount")
    last = next((ln for ln in reversed(console.splitlines()) if ln.strip()), "no output")
    return Probe(False, f"the KVM probe exited with status {returncode}: {last.strip()}")


def kvm_device_usable(path: str = "/dev/kvm") -> tuple[bool, str]:
    """Whether /dev/kvm exists and this user may open it read-write."""
    if not os.path.exists(path):
        return False, f"{path} does not exist"
    if not os.access(path, os.R_OK | os.W_OK):
        return False, f"{path} is not readable and writable by this user"
    return True, f"{path} is usable"


def probe_kvm(kernel: Path, qemu: str = "qemu-system-x86_64",
              timeout: float = PROBE_TIMEOUT) -> Probe:
    """Boot *kernel* under KVM with no root device and wait up to *timeout*."""
    cmd = [qemu, "-accel", "kvm", "-cpu", "host", "-m", "256", "-smp", "1",
           "-nodefaults", "-nographic", "-no-reboot", "-serial", "stdio",
           "-kernel", str(kernel),
           "-append", "console=ttyS0 panic=-1 root=/dev/tunrss-probe-none"]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        out, _ = proc.communicate()
        timed_out = True
    console = out.decode(errors="replace")
    probe = classify_probe(proc.returncode, timed_out, console, timeout)
    return Probe(probe.usable, probe.reason, round(time.monotonic() - start, 1))


def decide(requested: str, device: Callable[[], tuple[bool, str]],
           probe: Callable[[], Probe]) -> tuple[str, str]:
    """Return (accel, why) for VM_ACCEL=*requested*; probes only for auto."""
    if requested not in CHOICES:
        raise SetupError(f"VM_ACCEL={requested!r}: use one of {', '.join(CHOICES)}")
    if requested != "auto":
        return requested, f"forced by VM_ACCEL={requested}"
    ok, why = device()
    if not ok:
        return "tcg", why
    result = probe()
    if result.usable:
        return "kvm", f"{result.reason} in {result.seconds:.1f}s"
    return "tcg", result.reason


def _probe_cache_key(qemu: str) -> dict[str, str]:
    path = shutil.which(qemu) or qemu
    try:
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot_id = "unknown"
    try:
        qemu_id = f"{path}:{os.stat(path).st_mtime_ns}"
    except OSError:
        qemu_id = path
    return {"boot_id": boot_id, "qemu": qemu_id}


def cached_probe(cache: Path, kernel: Path, qemu: str = "qemu-system-x86_64") -> Probe:
    """probe_kvm(), remembered in *cache* until the host reboots or QEMU changes."""
    key = _probe_cache_key(qemu)
    try:
        saved = json.loads(cache.read_text())
        if saved.get("key") == key:
            return Probe(**saved["probe"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    result = probe_kvm(kernel, qemu)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"key": key, "probe": asdict(result)}))
    return result
