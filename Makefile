# SPDX-License-Identifier: MIT
# tun virtio-net RSS / hash reporting harness.  `make help` lists the targets.
#
# Variables (all optional), passed to the pipeline through the environment:
#   BASE=6.12|mainline         the Debian kernel base, pinned in vm/bases.pin
#   KERNEL_DIR=/path/to/linux  build the user's git tree instead of a BASE
#   KERNEL_BASE=<rev>          revision of KERNEL_DIR to use (default HEAD)
#   KCONFIG=normal|debug       config variant (vm/config/)
#   VM_ACCEL=auto|kvm|tcg      accelerator; auto probes KVM, falls back to TCG
#   VM_TIMEOUT=1800            seconds for the whole guest run
#   VM_CPUS=2 VM_MEMORY=2G     guest size
#   JOBS=<n>                   make -j for the kernel build (default: all cores)
#   RESULTS=results            results directory
#   PATCHES=patches            the series to apply (a directory of *.patch)
#   VM_TESTS="..."             suites to run in the VM: tun-selftest, kselftests and/or
#                              pytest paths (default: tun-selftest kselftests tests/vm)
#   TUNRSS_*                   passed into the guest for the tests (seeds, counts)
#   TUNRSS_CACHE=~/.cache/tunrss  kernel sources, build trees and ccache

PY := .venv/bin/python
export BASE CI_VARIANTS SERIES_VERSION SERIES_CHECK KERNEL_DIR KERNEL_BASE KCONFIG VM_ACCEL VM_TIMEOUT VM_CPUS VM_MEMORY JOBS RESULTS PATCHES TUNRSS_CACHE VM_TESTS
CACHE := $(or $(TUNRSS_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/tunrss)

.PHONY: help setup vm-test test host-test kernel vm-shell ci series bases clean distclean

help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

## setup       install Debian packages (as root) and the pinned .venv
setup:
	@vm/setup.sh

## vm-test     build the kernel with patches/ and run every test in a VM
vm-test: setup
	$(PY) -m vm vm-test

## test        host tests, then vm-test
test: host-test
	$(MAKE) vm-test

## host-test   pytest on the host (no root needed)
host-test: setup
	$(PY) -m pytest tests/host -q

## kernel      build the kernel only; prints the bzImage path
kernel: setup
	$(PY) -m vm kernel

## bases       the pinned kernel bases and what the archive offers (BASES_UPDATE=1 re-pins)
bases: setup
	$(PY) -m vm bases $(if $(BASES_UPDATE),--update)

## vm-shell    an interactive root shell in the same VM
vm-shell: setup
	$(PY) -m vm vm-shell

## ci          per-patch build/W=1/sparse/checkpatch, UAPI checks, vm-test normal+debug
ci: setup
	$(PY) -m vm ci

## series      export patches/ + kselftests/ as an upstream-ready series (results/series)
series: setup
	$(PY) -m vm series

## fuzz        ioctl fuzzer in the VM on the debug kernel (TUNRSS_FUZZ_CALLS, default 100000; TUNRSS_FUZZ_SEED)
.PHONY: fuzz stress
fuzz: setup
	TUNRSS_FUZZ_CALLS=$${TUNRSS_FUZZ_CALLS:-100000} KCONFIG=debug \
	VM_TESTS="tests/robustness/test_ioctl_fuzz.py tests/robustness/test_regressions.py" \
	$(PY) -m vm vm-test

## stress      reconfiguration under traffic + 10,000 devices created/torn down, debug kernel VM
stress: setup
	TUNRSS_STRESS_SECONDS=$${TUNRSS_STRESS_SECONDS:-30} TUNRSS_DEVICES=$${TUNRSS_DEVICES:-10000} \
	VM_TIMEOUT=$${VM_TIMEOUT:-2400} KCONFIG=debug VM_TESTS="tests/robustness/test_reconfig_stress.py \
	tests/robustness/test_create_teardown.py" $(PY) -m vm vm-test

## bench       cost of RSS/REPORT vs automq and eBPF, kernel hash ns, harness loop times (BENCH_COLD=1 adds the cold build; results/bench)
.PHONY: bench
bench: setup
	$(PY) -m pip install -q --disable-pip-version-check -r bench/requirements.txt -c requirements.txt
	$(PY) -m bench

## clean       drop results and local build outputs
clean:
	rm -rf results kselftests/out .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

## distclean   clean, and drop .venv and the cache (downloaded .debs, sources, builds, ccache)
distclean: clean
	rm -rf .venv "$(CACHE)"
