# SPDX-License-Identifier: MIT
# tun virtio-net RSS / hash reporting harness.  `make help` lists the targets.
#
# Variables (all optional) are passed to `python -m vm` through the
# environment, where each is the default of an option of the same meaning;
# `make help` lists them with their values (one table: vm/settings.py SPECS).
# TUNRSS_* also go into the guest for the tests (seeds, counts).  Each
# command writes to results/<command> unless RESULTS= says otherwise.

PY := .venv/bin/python
# Settings are checked (in well under a second) before setup: with the
# venv's python once it exists, else the system's (vm/ needs only the stdlib
# for that).
PYCHECK := $(if $(wildcard $(PY)),$(PY),python3)
export BASE MUTANTS CI_VARIANTS SERIES_VERSION SERIES_CHECK KERNEL_DIR KERNEL_BASE KCONFIG VM_ACCEL VM_TIMEOUT VM_CPUS VM_MEMORY JOBS RESULTS PATCHES TUNRSS_CACHE VM_TESTS
CACHE := $(or $(TUNRSS_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/tunrss)

.PHONY: help setup vm-test test host-test kernel vm-shell ci series bases clean distclean

help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)
	@echo
	@echo "Variables (make vm-test VAR=value), with their values now; the same as"
	@echo "options of python -m vm COMMAND (--help; --dry-run prints the plan):"
	@$(PYCHECK) -m vm settings
	@echo "  CI_VARIANTS=normal debug (make ci)  SERIES_VERSION=1 SERIES_CHECK=1 (make series)  MUTANTS= (make mutants: all)"
	@echo "  BENCH_LOOP=1 BENCH_COLD=0 BENCH_COST_BOOTS=6 (make bench: bench/run.py, bench/boots.py)"
	@echo "  TUNRSS_BENCH_ROUNDS=11 TUNRSS_BENCH_SECONDS=2 TUNRSS_BENCH_QUEUES=4 TUNRSS_BENCH_LOAD=0.5 TUNRSS_BENCH_PROFILE=1 (bench/datapath.py)"

# check-CMD: validate the settings of `python -m vm CMD` before anything else
check-%:
	@$(PYCHECK) -m vm $* --check

## setup       install Debian packages (as root) and the pinned .venv
setup:
	@vm/setup.sh

## vm-test     build the kernel with patches/ and run every test in a VM
vm-test: check-vm-test setup
	$(PY) -m vm vm-test

## test        host tests, then vm-test
test: host-test
	$(MAKE) vm-test

## host-test   pytest on the host (no root needed)
host-test: setup
	$(PY) -m pytest tests/host -q

## kernel      build the kernel only; prints the bzImage path
kernel: check-kernel setup
	$(PY) -m vm kernel

## bases       the pinned kernel bases and what the archive offers (BASES_UPDATE=1 re-pins)
bases: setup
	$(PY) -m vm bases $(if $(BASES_UPDATE),--update)

## vm-shell    an interactive root shell in the same VM
vm-shell: check-vm-shell setup
	$(PY) -m vm vm-shell

## ci          per-patch build/W=1/sparse/checkpatch, UAPI checks, vm-test normal+debug, short fuzz+stress (normal)
ci: check-ci setup
	$(PY) -m vm ci

## robustness  make ci's short fuzz (2,000 calls) and stress (10 s) on the normal kernel, alone (results/robustness)
.PHONY: robustness
robustness: check-robustness setup
	$(PY) -m vm robustness

## mutants     bug-on-purpose kernels (tests/mutants/): build each, run the suites, print the kill matrix (MUTANTS=a,b; results/mutants)
.PHONY: mutants
mutants: check-mutants setup
	$(PY) -m vm mutants

## series      export patches/ + kselftests/ as an upstream-ready series (results/series)
series: check-series setup
	$(PY) -m vm series

## fuzz        ioctl fuzzer on tun, macvtap, ipvtap in the VM on the debug kernel (TUNRSS_FUZZ_CALLS per kind, default 100000; TUNRSS_FUZZ_SEED)
.PHONY: fuzz stress
fuzz: setup
	TUNRSS_FUZZ_CALLS=$${TUNRSS_FUZZ_CALLS:-100000} KCONFIG=debug VM_TIMEOUT=$${VM_TIMEOUT:-3600} \
	VM_TESTS="tests/robustness/test_ioctl_fuzz.py tests/robustness/test_regressions.py" \
	$(PY) -m vm vm-test

## stress      reconfiguration under traffic, 10,000 devices created/torn down, concurrent races: debug kernel VM (results/stress-debug); concurrent races + allocation failures: kcsan kernel VM (results/stress-kcsan)
stress: setup
	TUNRSS_STRESS_SECONDS=$${TUNRSS_STRESS_SECONDS:-30} TUNRSS_DEVICES=$${TUNRSS_DEVICES:-10000} \
	VM_TIMEOUT=$${VM_TIMEOUT:-2400} KCONFIG=debug RESULTS=results/stress-debug \
	VM_TESTS="tests/robustness/test_reconfig_stress.py tests/robustness/test_create_teardown.py \
	tests/robustness/test_concurrent_stress.py" $(PY) -m vm vm-test
	TUNRSS_STRESS_SECONDS=$${TUNRSS_STRESS_SECONDS:-30} VM_TIMEOUT=$${VM_TIMEOUT:-2400} \
	KCONFIG=kcsan RESULTS=results/stress-kcsan VM_TESTS="tests/robustness/test_concurrent_stress.py \
	tests/robustness/test_faults.py" $(PY) -m vm vm-test

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
