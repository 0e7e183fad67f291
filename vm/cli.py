# SPDX-License-Identifier: MIT
"""Command line of the harness: ``python -m vm <command> [options]``.

Every option defaults to the environment variable of the same meaning (the
Makefile passes ``make vm-test VAR=...`` through the environment); every
value is validated before any work starts (vm/settings.py).  ``--dry-run``
prints what would be done and exits.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Mapping

from . import kconfig, settings
from .errors import PipelineError, SettingsError
from .stages import Stages

COMMANDS = {
    "vm-test": "build the kernel with the series, boot it, run the suites in the VM",
    "kernel": "build the kernel only; print the bzImage path",
    "vm-shell": "an interactive root shell in the VM of vm-test",
    "ci": "per-patch build/W=1/sparse/checkpatch, UAPI checks, vm-test per variant",
    "robustness": "make ci's short fuzz and stress (vm/ci.py ROBUSTNESS_*) on the normal kernel",
    "series": "export the series + kselftests/ upstream-ready (results/series)",
    "bases": "the pinned kernel bases and what the archive offers",
    "mutants": "bug-on-purpose kernels (tests/mutants/): which suite kills each",
    "settings": "every setting: its make variable, option, value now and allowed values",
}


def _shown(spec: settings.Spec, env: Mapping[str, str]) -> str:
    return env.get(spec.env) or spec.default


def build_parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    """The parser; option defaults (shown in --help) come from *env*."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("settings (default: the make/environment variable)")
    for spec in settings.SPECS:
        allowed = settings.allowed_text(spec.name) if spec.name != "tests" else \
            ", ".join(settings.C_SUITES) + ", pytest paths"
        group.add_argument(spec.flag, dest=spec.name, metavar=spec.env,
                           help=f"{spec.help}; {spec.env}, now {_shown(spec, env)!r}"
                           + (f"; one of: {allowed}" if allowed else ""))
    common.add_argument("--check", action="store_true",
                        help="validate the settings and exit (make does this before setup)")
    common.add_argument("--dry-run", action="store_true",
                        help="print the plan (base, patches, variant, build key, suites, "
                        "vng command) and exit")
    parser = argparse.ArgumentParser(prog="python -m vm", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="command", required=True)
    parsers = {name: sub.add_parser(name, parents=[common], help=text, description=text)
               for name, text in COMMANDS.items()}
    parsers["bases"].add_argument("--update", action="store_true",
                                  help="pin every base to the newest version the archive offers")
    parsers["ci"].add_argument("--variants", metavar="CI_VARIANTS",
                               help="config variants to vm-test, space separated; CI_VARIANTS, "
                               f"now {env.get('CI_VARIANTS') or 'normal debug'!r}; "
                               f"of: {', '.join(kconfig.VARIANTS)}")
    parsers["mutants"].add_argument("--mutants", metavar="MUTANTS",
                                    help="mutants to run, comma separated (default all); "
                                    f"MUTANTS, now {env.get('MUTANTS') or ''!r}; the default "
                                    "suites are kselftests and the fast files of tests/vm")
    parsers["series"].add_argument("--version", dest="series_version", metavar="SERIES_VERSION",
                                   help="series version (v2...); SERIES_VERSION, now "
                                   f"{env.get('SERIES_VERSION') or '1'!r}")
    parsers["series"].add_argument("--no-check", action="store_true",
                                   help="skip the per-patch checks of the export (SERIES_CHECK=0)")
    return parser


def parse(argv: list[str] | None, env: Mapping[str, str]) -> tuple[argparse.Namespace,
                                                                   settings.Settings]:
    """The command line and its checked Settings; SettingsError on a bad value."""
    args = build_parser(env).parse_args(argv)
    values = {s.name: getattr(args, s.name) if getattr(args, s.name) is not None
              else env.get(s.env, "") for s in settings.SPECS}
    opts = settings.from_values(values, env, args.command)
    if args.command == "ci":
        args.variants = settings.check_variants(args.variants if args.variants is not None
                                          else env.get("CI_VARIANTS", ""))
    if args.command == "mutants":
        from . import mutantpatches, mutants  # stdlib only at import: checked before any work

        args.mutants = mutantpatches.select(args.mutants if args.mutants is not None
                                      else env.get("MUTANTS", ""), opts.variant)
        opts = mutants.default_tests(opts, args.tests, env)
    if args.command == "series":
        args.series_version = settings.check_version(
            args.series_version if args.series_version is not None
            else env.get("SERIES_VERSION", ""))
        args.check = not args.no_check and env.get("SERIES_CHECK", "1") != "0"
    return args, opts


def main(argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Run one command; the exit code is the verdict."""
    env = dict(os.environ if env is None else env)
    command = next((a for a in (sys.argv[1:] if argv is None else argv) if a in COMMANDS), "vm")
    try:
        if command == "settings":  # the table only: shown even when a value is bad
            build_parser(env).parse_args(argv)
            print("\n".join(settings.describe(env)))
            return 0
        args, opts = parse(argv, env)
        if args.check:
            return 0
        return run(args, opts)
    except SettingsError as e:
        print(f"{command}: invalid setting: {e}\n(python -m vm {command} --help lists every "
              "option and its allowed values)", file=sys.stderr)
        return e.exit_code
    except PipelineError as e:
        print(f"{command}: FAIL: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130


def run(args: argparse.Namespace, opts: settings.Settings) -> int:
    """Run the parsed command (the modules that do the work are imported
    here, so that a bad setting is reported before they load)."""
    from . import ci, pipeline, series

    if args.dry_run and args.command == "mutants":
        from . import mutants

        return mutants.dry_run(opts, args.mutants, sys.stdout)
    if args.dry_run:
        return pipeline.dry_run(opts, args.command, sys.stdout)
    if args.command == "bases":
        return show_bases(opts.cache, args.update)
    if args.command == "kernel":
        return kernel(opts)
    if args.command == "vm-test":
        return pipeline.vm_test(opts)
    if args.command == "series":
        return series.export(opts, Stages(), args.series_version, check=args.check)
    if args.command == "ci":
        return ci.run(opts, args.variants)
    if args.command == "robustness":
        check = ci.robustness(opts, Stages())
        print(f"robustness: {check.result} in {check.seconds:.0f}s; results in {check.log}")
        return 0 if check.result == "pass" else 1
    if args.command == "mutants":
        from . import mutants

        return mutants.run(opts, args.mutants)
    return pipeline.vm_shell(opts)


def kernel(opts: settings.Settings) -> int:
    """`make kernel`: build (or find) the kernel, print the bzImage path."""
    from . import resultsdir
    from .kernel import prepare_kernel

    resultsdir.claim(opts.results)
    try:
        k = prepare_kernel(opts, Stages())
        k.work.unlock()
        print(k.work.bzimage)
        return 0
    finally:
        resultsdir.release(opts.results)


def show_bases(cache: Path, update: bool) -> int:
    """Each pin of vm/bases.pin, and the newest version its archive offers."""
    from . import bases

    offers = bases.survey(cache)
    pins = bases.update_pins(offers) if update else {n: p for n, (p, _) in offers.items()}
    for name, pin in pins.items():
        offered = offers[name][1]
        newest = f"{offered[0][0]} {offered[0][1]}" if offered else "nothing"
        where = "in the archive" if (pin.package, pin.version) in offered else "NOT in the archive"
        print(f"{name:<9} pinned {pin.package} {pin.version} ({where}); newest: {newest}")
    return 0
