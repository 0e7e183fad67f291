# SPDX-License-Identifier: MIT
"""Run sizes and seeds of the robustness suites, from TUNRSS_* variables.

The VM runner passes every host variable named TUNRSS_* into the guest
(vm/settings.py), so `TUNRSS_FUZZ_CALLS=500000 make fuzz` reaches the test.
"""

from __future__ import annotations

import os
import random

__all__ = ["env_int", "env_float", "seed_from_env"]


def env_int(name: str, default: int) -> int:
    """Integer from the environment variable ``name`` (0x.. accepted), else ``default``."""
    value = os.environ.get(name)
    return int(value, 0) if value else default


def env_float(name: str, default: float) -> float:
    """Number from the environment variable ``name``, else ``default``."""
    value = os.environ.get(name)
    return float(value) if value else default


def seed_from_env(name: str) -> int:
    """The seed in ``name``, or a fresh one; the caller prints it so the run can be replayed."""
    value = os.environ.get(name)
    return int(value, 0) if value else random.SystemRandom().randrange(1 << 32)
