# SPDX-License-Identifier: MIT
"""Command line of the pipeline: ``python -m vm {kernel,vm-test,vm-shell,ci,series,bases}``.

Options come from the environment so that make variables pass straight
through: BASE (vm/bases.pin), KERNEL_DIR, KERNEL_BASE, KCONFIG, VM_ACCEL, VM_TIMEOUT, RESULTS,
JOBS, VM_CPUS, VM_MEMORY, PATCHES, TUNRSS_CACHE; and for ci, CI_VARIANTS
(default "normal debug"); for series, SERIES_VERSION (default 1) and
SERIES_CHECK=0 to skip the per-patch checks of the export.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import bases, ci, series
from .errors import PipelineError
from .pipeline import Options, prepare_kernel, vm_shell, vm_test
from .stages import Stages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vm", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["kernel", "vm-test", "vm-shell", "ci", "series",
                                            "bases"])
    parser.add_argument("--update", action="store_true",
                        help="bases: pin every base to the newest version the archive offers")
    args = parser.parse_args(argv)
    try:
        opts = Options.from_env()
        if args.command == "bases":
            return show_bases(opts.cache, args.update)
        if args.command == "kernel":
            kernel = prepare_kernel(opts, Stages())
            print(kernel.work.bzimage)
            return 0
        if args.command == "vm-test":
            return vm_test(opts)
        if args.command == "series":
            return series.export(opts, Stages(), series.version_from_env(),
                                 check=os.environ.get("SERIES_CHECK", "1") != "0")
        if args.command == "ci":
            return ci.run(opts, ci.variants_from_env(os.environ))
        return vm_shell(opts)
    except PipelineError as e:
        print(f"{args.command}: FAIL: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130


def show_bases(cache: Path, update: bool) -> int:
    """Each pin of vm/bases.pin, and the newest version its archive offers."""
    pins = bases.update_pins(cache) if update else bases.read_pins()
    for name, pin in pins.items():
        apt = bases.PrivateApt(cache / "apt" / name, bases.BASES[name])
        apt.update()
        offered = apt.available()
        newest = f"{offered[0][0]} {offered[0][1]}" if offered else "nothing"
        where = "in the archive" if (pin.package, pin.version) in offered else "NOT in the archive"
        print(f"{name:<9} pinned {pin.package} {pin.version} ({where}); newest: {newest}")
    return 0
