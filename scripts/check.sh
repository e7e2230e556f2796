#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check, after the packages and the static checks: the guests.
#
#   scripts/check.sh FLAVOR KERNEL_DIR [zsm-run.py options]
#
# FLAVOR is the guest kernel flavour (debug for make check, kasan for make
# check-kasan) whose directory KERNEL_DIR is (scripts/build-kernel.sh).
# Steps, each needing the previous one:
#   1. the modules of the work tree, W=1, against KERNEL_DIR/build;
#   2. the runner's offline parser tests (scripts/test_zsm_run.py);
#   3. the main guest: every test of guest/tests/ without a `# zsm-run:`
#      line, on a host thread per vCPU (multi-threaded TCG, where SMP
#      races show); alongside it, scripts/stock-kernel.sh boots the
#      consumer tests (zram, zswap) on each kernel of $CONSUMER_KERNELS
#      (default: guest 6.1 6.12 7.x) in turn, their two vCPUs taking turns on
#      one host thread (--tcg-thread single), so the two guests need three
#      host threads, not four, on a 2-core host. Their output is printed
#      when the main guest is done. After the consumer boots, in the same
#      turn, scripts/deb-test.py installs the zsm-dkms package in a
#      Debian 12 guest (three boots; CHECK_DEB=0 leaves it out), on a
#      host thread per vCPU: the main guest is done by then, or nearly
#      (DKMS compiles zsm in that guest with make -j2).
#      When the main guest is done, the 7.x guest boots zsm's own tests
#      (scripts/stock-kernel.sh 7.x-suite) in its place, beside the rest
#      of the boots alongside; then the arm64 boots of $CHECK_ARM64
#      (scripts/stock-kernel.sh; default arm64-16k-check: 16 KiB pages,
#      kunit, core, zram_ext4, zswap; empty: none; see
#      Documentation/testing.rst, "The arm64 guests").
#   4. scripts/zsm-summary.py adds every boot's results up and prints the
#      combined "N passed, N failed" last.
# Measured on a quiet 2-core host (whole make check): 7m37s this way;
# 8m43s with both guests multi-threaded (each one slowed to about half,
# their vCPUs spinning on locks whose holder's thread was preempted),
# 8m24s with the consumer boots at nice 19.
#
# With --tests among the runner options only the main guest runs (e.g.
# make check RUN_ARGS="--tests core,kunit"). CHECK_TIMEOUT (seconds,
# default 3000) bounds the main guest. Exit status: non-zero on any
# failure.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 2 ] || { echo "usage: $0 FLAVOR KERNEL_DIR [runner options]" >&2; exit 2; }
flavor=$1
kout=$2
shift 2

consumers=${CONSUMER_KERNELS-guest 6.1 6.12 7.x}
suite7=7.x-suite
arm64=${CHECK_ARM64-arm64-16k-check}
deb=${CHECK_DEB:-1}
case " $* " in
*" --tests "*|*" --tests="*) consumers='' suite7='' arm64='' deb=0 ;;
esac

cd "$repo" || exit 1
make --no-print-directory modules KDIR="$kout/build" W=1 || exit 1
python3 scripts/test_zsm_run.py || exit 1

res=$(mktemp -d)
trap 'rm -rf "$res"' EXIT
files=$res/main.json
for k in $consumers $suite7 $arm64; do
	files="$files $res/kernel-$k.json"
done
[ "$deb" = 0 ] || files="$files $res/deb.json"

(
	for k in $consumers; do
		ZSM_GUEST_FLAVOR=$flavor scripts/stock-kernel.sh \
			--results "$res/kernel-$k.json" "$k" --tcg-thread single \
			>"$res/kernel-$k.log" 2>&1
	done
	[ "$deb" = 0 ] || scripts/deb-test.py --results "$res/deb.json" \
		>"$res/deb.log" 2>&1
) &
cpid=$!

scripts/zsm-run.py --kernel-dir "$kout" --mode check \
	--timeout "${CHECK_TIMEOUT:-3000}" --label 6_12_guest \
	--results "$res/main.json" "$@"

for k in $suite7 $arm64; do
	scripts/stock-kernel.sh --results "$res/kernel-$k.json" "$k" \
		>"$res/kernel-$k.log" 2>&1
done

side=$consumers
[ "$deb" = 0 ] || side="$side deb"
[ -z "$side" ] || echo "check: waiting for the boots alongside (${side# })"
wait "$cpid"
for k in $consumers $suite7 $arm64; do
	echo "=== consumer boot: $k"
	cat "$res/kernel-$k.log"
done
if [ "$deb" != 0 ]; then
	echo "=== package test: zsm-dkms in Debian 12"
	cat "$res/deb.log"
fi
# shellcheck disable=SC2086 # one file per word
scripts/zsm-summary.py $files
