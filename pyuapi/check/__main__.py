# SPDX-License-Identifier: MIT
"""``python -m pyuapi.check``: see :mod:`pyuapi.check.cli`."""

import sys

from .cli import main

sys.exit(main())
