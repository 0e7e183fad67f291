# SPDX-License-Identifier: MIT
"""Layout checker: pyuapi's ctypes bindings against the compiled C UAPI headers.

``python -m pyuapi.check --headers DIR [--require-new]`` (see
:mod:`pyuapi.check.cli`): sizes, alignments, offsets, and the signedness
and byte order of every field (:mod:`pyuapi.check.probes`), plus every
constant and ioctl number, printed by a C program built against the
headers in DIR (:mod:`pyuapi.check.cside`).  Exit status: 0 clean, 1
differences, 2 the C side could not be built.
"""

from .cli import STRUCTS, compat_view, expected_items, main, run_check
from .model import CheckResult, Expected, Finding

__all__ = ["STRUCTS", "CheckResult", "Expected", "Finding", "compat_view", "expected_items",
           "run_check", "main"]
