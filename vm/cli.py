"""Command line of the pipeline: ``python -m vm {kernel,vm-test,vm-shell,ci,series}``.

Options come from the environment so that make variables pass straight
through: KERNEL_DIR, KERNEL_BASE, KCONFIG, VM_ACCEL, VM_TIMEOUT, RESULTS,
JOBS, VM_CPUS, VM_MEMORY, PATCHES, TUNRSS_CACHE; and for ci, CI_VARIANTS
(default "normal debug"); for series, SERIES_VERSION (default 1) and
SERIES_CHECK=0 to skip the per-patch checks of the export.
"""
from __future__ import annotations

import argparse
import os
import sys

from . import ci, series
from .errors import PipelineError
from .pipeline import Options, prepare_kernel, vm_shell, vm_test
from .stages import Stages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vm", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["kernel", "vm-test", "vm-shell", "ci", "series"])
    args = parser.parse_args(argv)
    opts = Options.from_env()
    try:
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
