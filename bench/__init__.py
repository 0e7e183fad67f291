# SPDX-License-Identifier: MIT
"""`make bench`: the cost of in-kernel RSS and hash reporting (datapath modes,
kernel hash microbenchmark) and the harness's own edit-build-boot-test loop.
See bench/run.py; bench/pyuapi_hash.py is a separate host-side script."""
