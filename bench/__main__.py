# SPDX-License-Identifier: MIT
"""``python -m bench`` (and ``python -m bench datapath OUT``): see bench/run.py."""
import sys

from .run import main

sys.exit(main())
