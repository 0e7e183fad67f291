# SPDX-License-Identifier: MIT
"""The VM: choose the accelerator, build the virtme-ng command line, boot it
and capture the guest's output and the kernel console."""
from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

from . import accel
from .kernel import Kernel
from .settings import REPO, Settings
from .stages import Stages

# virtme-ng's own root mount options (virtme/commands/run.py, the version
# pinned in requirements.txt) plus cache=loose: the host root is read-only
# to the guest and does not change under a test run, and caching its pages
# and dentries cuts the 9p round trips of every exec and Python import
# (under TCG, `pytest --collect-only tests/vm` 32 s -> 19-23 s).  The
# results directory is a mount of its own, not affected.
ROOT_FLAGS = "version=9p2000.L,trans=virtio,access=any,msize=524288,cache=loose"


def choose_accel(kernel: Kernel, opts: Settings, st: Stages) -> str:
    """KVM or TCG for VM_ACCEL (vm/accel.py); probes KVM once for auto."""
    with st.stage("accel", f"VM_ACCEL={opts.accel}"):
        choice, why = accel.decide(
            opts.accel, accel.kvm_device_usable,
            lambda: accel.cached_probe(opts.cache / "accel-probe.json", kernel.work.bzimage))
        st.say("accel", f"using {choice.upper()}: {why}")
    return choice


def guest_command(results: Path) -> str:
    """The command the guest runs for a vm-test: vm/guest.py on *results*."""
    return f"cd {shlex.quote(str(REPO))} && exec {sys.executable} -m vm.guest " \
        f"{shlex.quote(str(results))}"


def vng_command(kernel: Kernel | None, opts: Settings, choice: str, exec_cmd: str | None,
                bzimage: Path | None = None) -> list[str]:
    """``vng --run`` for *kernel* (or *bzimage*) with the guest size of
    *opts*; the console goes to stderr when a command is given."""
    # The pinned virtme-ng of the project's venv, not whatever is on PATH.
    venv_vng = Path(sys.executable).parent / "vng"
    vng = str(venv_vng) if venv_vng.exists() else shutil.which("vng") or "vng"
    assert kernel is not None or bzimage is not None
    image = bzimage or kernel.work.bzimage  # type: ignore[union-attr]
    cmd = [vng, "--run", str(image), "--user", "root", "--force-9p",
           "--cpus", str(opts.cpus), "--memory", opts.memory, "--rwdir", str(opts.results)]
    if exec_cmd is not None:
        cmd.append("--verbose")  # the kernel console on stderr, captured for the splat scan
    if choice == "tcg":
        cmd.append("--disable-kvm")
    if exec_cmd is not None:
        # not for vm-shell: files edited on the host meanwhile must show
        cmd += ["--append", f"rootflags={ROOT_FLAGS}", "--exec", exec_cmd]
    return cmd


def vng_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for vng: its own helpers (virtme-run, started through
    /bin/sh) are in the venv's bin/, which is not on PATH when the venv's
    python is called directly, as the Makefile does."""
    env = dict(os.environ if env is None else env)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bindir, *[p for p in env.get("PATH", "").split(os.pathsep)
                                             if p and p != bindir]])
    return env


def boot(cmd: list[str], console: Path, output: Path, timeout: float) -> tuple[int, bool]:
    """Run the VM; guest stdout is echoed and saved, the kernel console (vng
    -v sends it to stderr) saved.  Returns (exit code, timed out)."""
    with console.open("w") as con, output.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=vng_env(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=con, text=True,
                                errors="replace", start_new_session=True)

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                out.write(line)
                sys.stdout.write(line)
                sys.stdout.flush()

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        try:
            rc = proc.wait(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            rc = proc.wait()
            timed_out = True
        reader.join(timeout=5)
    return rc, timed_out
