# SPDX-License-Identifier: GPL-2.0
#
# zsm: out-of-tree build and test entry points. Kbuild does the building
# (see Kbuild); this file only drives it and the QEMU guests.
#
#   make                  build the modules against KDIR
#   make KDIR=/lib/modules/$(uname -r)/build   ... against another kernel
#   make W=1              extra compiler warnings (passed on to Kbuild)
#   make check            deps, debug kernel, modules (W=1), all tests;
#                         the consumer tests on four kernels; one arm64
#                         boot (CHECK_ARM64); the zsm-dkms package test
#                         (CHECK_DEB=0: without)
#   make check-kasan      the same on the kasan guest kernel (debug + KASAN)
#   make check-kcsan      KUnit, stress and mix on the kcsan guest kernel
#                         (debug + KCSAN, strict)
#   make demo             zram + ext4 on zsm in a guest
#   make check-runner     prove the test runner fails when it should
#   make bench            zsm against upstream zsmalloc, perf guest, one boot
#   make bench-arm64      the same on the arm64 perf guest, 16 KiB pages
#   make bench-builtin    zswap on zsm built in against zsmalloc built in,
#                         two 7.x perf guest kernels, a boot of each
#   make static-checks    lint, build matrix and DKMS (the first step of
#                         make check); each also alone: make lint,
#                         make matrix, make dkms-check
#   make tools            tools/zsmstat for the host (make builds it too)
#   make deb              the zsm-dkms Debian package, lintian-checked
#                         (scripts/build-deb.sh; into $ZSM_CACHE/deb)
#   make deb-check        install, use and remove it in a Debian 12 guest
#                         (scripts/deb-test.py; also part of make check)
#   make soak             the stress test for hours (SOAK_OPS operations),
#                         kasan guest kernel
#   make kernel           build (or reuse) the debug, kasan, kcsan and perf guest
#                         kernels
#   make kernel-patch     zsm in place of zsmalloc as a patch for a kernel
#                         tree (KSRC, default the unpacked linux-source-7.x),
#                         into build/zsm-builtin-<version>.patch
#   make check-builtin    zswap, zram and zsm's own tests on the
#                         builtin7 guest kernel (zsm built in, zswap on it)
#   make check-arm64      zsm's own tests and the consumer tests on the
#                         arm64 guest kernels, 4 KiB and 16 KiB pages, and
#                         the consumer tests on Debian's stock arm64 6.1
#   make clean
#
# KDIR defaults to the cached debug guest kernel (scripts/build-kernel.sh),
# computed (and built, the first time) only when KDIR is not given.
# Runner options can be passed as RUN_ARGS="--timeout 3600 --echo all".

ZSM_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/zsm
export ZSM_CACHE

# Shell snippet: set $kout to the guest kernel directory (bzImage or, arm64,
# Image; build/, mods/), the last line printed by the script; fail if there
# is none.
guest_kernel = kout=$$(scripts/build-kernel.sh $(1) | tail -n 1) && \
	{ test -f "$$kout/bzImage" || test -f "$$kout/Image" || \
	  { echo "make: guest kernel build failed" >&2; exit 1; }; }
KDIR ?= $(shell scripts/build-kernel.sh debug | tail -n 1)/build

RUN := scripts/zsm-run.py
RUN_ARGS ?=
CHECK_TIMEOUT ?= 3000
# make soak: guest/tests/stress.sh with SOAK_OPS operations instead of the
# 5,000,000 of make check (5,000 to 15,000 per second measured in the
# debug guest under TCG on a busy 2-core host: 200,000,000 take 4 to 11
# hours, inside SOAK_TIMEOUT).
SOAK_OPS ?= 200000000
SOAK_TIMEOUT ?= 43200

.PHONY: all modules clean check demo check-runner kernel deps parser-tests bench \
	tools lint matrix dkms-check static-checks deb deb-check \
	soak check-kasan check-kcsan kernel-patch check-builtin bench-arm64 \
	bench-builtin check-arm64

all: modules tools

modules:
	@kdir='$(KDIR)'; \
	if [ ! -f "$$kdir/Makefile" ]; then \
		echo "make: KDIR=$$kdir is not a kernel build tree" >&2; exit 1; \
	fi; \
	$(MAKE) -C "$$kdir" M=$(CURDIR) modules

# Userspace tools, built with the host's compiler; the guest gets static
# builds of the same sources (scripts/mkinitramfs.sh).
TOOLS := tools/zsmstat

tools: $(TOOLS)

tools/%: tools/%.c
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

# Host-side gates, before any guest boots (scripts/static-checks.sh):
# checkpatch and kernel-doc; W=1 + sparse builds against the guest tree
# and Debian's 6.12 and 6.1 headers; dkms builds against Debian's headers.
lint:
	@scripts/lint.sh

matrix: deps
	@$(call guest_kernel,debug) && scripts/build-matrix.sh "$$kout/build"

dkms-check:
	@scripts/dkms-check.sh

deb: deps
	@scripts/build-deb.sh

deb-check: deps
	@scripts/deb-test.py

static-checks: deps
	@$(call guest_kernel,debug) && scripts/static-checks.sh "$$kout/build"

clean:
	rm -f $(TOOLS)
	find . -path ./.git -prune -o -type f \( -name '*.o' -o -name '*.ko' \
		-o -name '*.mod' -o -name '*.mod.c' -o -name '.*.cmd' \
		-o -name '*.a' -o -name 'modules.order' -o -name 'Module.symvers' \
		-o -name '*.dwo' -o -name '.*.d' \) -print0 | xargs -0 rm -f
	rm -rf .tmp_versions scripts/__pycache__

deps:
	@scripts/deps.sh

kernel: deps
	scripts/build-kernel.sh debug
	scripts/build-kernel.sh kasan
	scripts/build-kernel.sh kcsan
	scripts/build-kernel.sh perf

# zsm built into a kernel in zsmalloc's place (scripts/kernel-builtin.sh,
# Documentation/admin.rst). KSRC: an unmodified kernel source tree; by
# default the newest linux-source-7.x a 7.x guest kernel build unpacked.
KSRC ?=
kernel-patch:
	@ksrc='$(KSRC)'; \
	if [ -z "$$ksrc" ]; then \
		ksrc=$$(ls -d "$(ZSM_CACHE)"/src/*/linux-source-7.* 2>/dev/null | \
			sort -V | tail -n 1); \
	fi; \
	if [ ! -f "$$ksrc/mm/Makefile" ]; then \
		echo "make: no kernel tree: KSRC=<tree>, or scripts/build-kernel.sh debug7 unpacks Debian's" >&2; \
		exit 1; \
	fi; \
	ver=$$($(MAKE) -s --no-print-directory -C "$$ksrc" kernelversion) && \
	scripts/kernel-builtin.sh patch "$$ksrc" build/zsm-builtin-$$ver.patch

# The builtin7 guest kernel: two boots, the consumer tests (zswap, with
# its writeback passes, zram_ext4 and zram_swap), then zsm's own suites
# (Documentation/testing.rst, "zsm built in").
check-builtin: deps
	@rc=0; \
	scripts/stock-kernel.sh 7.x-builtin $(RUN_ARGS) || rc=1; \
	scripts/stock-kernel.sh 7.x-builtin-suite $(RUN_ARGS) || rc=1; \
	exit $$rc

# Every arm64 boot (scripts/stock-kernel.sh; Documentation/testing.rst,
# "The arm64 guests"), one after the other, Debian's stock arm64 6.1
# last; make check runs only CHECK_ARM64.
ARM64_BOOTS ?= arm64-suite arm64 arm64-16k-suite arm64-16k arm64-kasan 6.1-arm64
check-arm64: deps
	@res=$$(mktemp -d) && rc=0; \
	for k in $(ARM64_BOOTS); do \
		scripts/stock-kernel.sh --results "$$res/$$k.json" $$k \
			$(RUN_ARGS) || rc=1; \
	done; \
	scripts/zsm-summary.py $(patsubst %,"$$res/%.json",$(ARM64_BOOTS)) || rc=1; \
	rm -rf "$$res"; exit $$rc

parser-tests:
	python3 scripts/test_zsm_run.py

# Packages, the static checks, the guest kernel; then scripts/check.sh
# builds the modules and boots the main guest with the consumer boots
# alongside (CONSUMER_KERNELS, default "guest 6.1 6.12 7.x"; none when
# RUN_ARGS has --tests), then the arm64 boot of CHECK_ARM64 (default
# arm64-16k-check; scripts/stock-kernel.sh). CHECK_FLAVOR: the guest
# kernel flavour (debug for make check, kasan for make check-kasan).
CHECK_FLAVOR ?= debug
export CHECK_TIMEOUT
ifdef CONSUMER_KERNELS
export CONSUMER_KERNELS
endif
# CHECK_ARM64= (empty): no arm64 boot.
ifneq ($(origin CHECK_ARM64),undefined)
export CHECK_ARM64
endif

check: deps static-checks
	@$(call guest_kernel,$(CHECK_FLAVOR)) && \
	scripts/check.sh $(CHECK_FLAVOR) "$$kout" $(RUN_ARGS)

# KASAN finds what the other checkers cannot (use after free, out of
# bounds); it makes the guests about 2.3 times slower (make check 16.5-18
# minutes instead of under 9), so make check leaves it to this target and
# to make soak (Documentation/testing.rst, "Why KASAN is a flavour").
check-kasan:
	@$(MAKE) --no-print-directory check CHECK_FLAVOR=kasan

# KCSAN (strict: missing barriers, plain racy accesses) on the tests that
# race zsm's paths against each other; a data race reported in zsm's code
# fails the run (scripts/zsm-run.py). Not part of make check: see
# Documentation/testing.rst, "The KCSAN flavour", for its time.
KCSAN_TESTS ?= kunit,stress,mix
check-kcsan: deps
	@$(call guest_kernel,kcsan) && \
	scripts/check.sh kcsan "$$kout" --tests $(KCSAN_TESTS) $(RUN_ARGS)

soak: deps
	@$(call guest_kernel,kasan) && \
	$(MAKE) --no-print-directory modules KDIR="$$kout/build" W=1 && \
	$(RUN) --kernel-dir "$$kout" --mode check --timeout $(SOAK_TIMEOUT) \
		--tests stress --append "zsm.stress_ops=$(SOAK_OPS)" $(RUN_ARGS)

demo: deps
	@$(call guest_kernel,debug) && \
	$(MAKE) --no-print-directory modules KDIR="$$kout/build" && \
	$(RUN) --kernel-dir "$$kout" --mode demo --timeout 1200 --echo user \
		$(RUN_ARGS)

# Only the self-test modules are built, so that the runner can be checked
# while zsm itself does not build.
check-runner: deps
	@$(call guest_kernel,debug) && \
	python3 scripts/test_zsm_run.py && \
	$(MAKE) --no-print-directory -C "$$kout/build" \
		M=$(CURDIR)/tests/selftest modules && \
	python3 scripts/check-runner.py --kernel-dir "$$kout"

# Builds in a copy of the tree ($ZSM_CACHE/bench-tree), so the modules of a
# make check running here stay as they are; see Documentation/benchmarks.rst.
BENCH_ROUNDS ?= 5
# icount: times are guest instruction counts (repeatable); tcg: wall clock.
BENCH_ACCEL ?= icount
# The guest kernel flavour (scripts/build-kernel.sh); bench-run.py builds
# the modules for its architecture and boots it.
BENCH_KERNEL ?= perf
BENCH_TIMEOUT ?= 1800
BENCH_OUT ?= bench
bench: deps
	@$(call guest_kernel,$(BENCH_KERNEL)) && \
	scripts/bench-run.py --kernel-dir "$$kout" --rounds $(BENCH_ROUNDS) \
		--accel $(BENCH_ACCEL) --timeout $(BENCH_TIMEOUT) --out $(BENCH_OUT)

# arm64 with 16 KiB pages, under qemu-system-aarch64 (TCG: slower).
BENCH_ARM64_TIMEOUT ?= 3600
BENCH_ARM64_OUT ?= bench/arm64-16k
bench-arm64:
	@$(MAKE) --no-print-directory bench BENCH_KERNEL=perf-arm64-16k \
		BENCH_TIMEOUT=$(BENCH_ARM64_TIMEOUT) BENCH_OUT=$(BENCH_ARM64_OUT)

# The zswap workload on two 7.x perf kernels, one with the kernel's own
# zsmalloc built in, one with zsm built in its place: a boot of each
# (Documentation/benchmarks.rst, "zswap on built-in zsm").
bench-builtin: deps
	@$(call guest_kernel,zsmalloc-perf7) && up=$$kout && \
	$(call guest_kernel,builtin-perf7) && \
	scripts/bench-run.py --builtin "$$up" "$$kout" \
		--rounds $(BENCH_ROUNDS) --accel $(BENCH_ACCEL)
