# SPDX-License-Identifier: MIT
"""Build a kernel from a base tree plus patches/, boot it with virtme-ng and
run the tests inside it.  Entry point: ``python -m vm`` (see ``vm/cli.py``)."""
