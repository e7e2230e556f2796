#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build matrix of `make check`: zsm compiled with W=1 and sparse (C=2)
# against every kernel it supports, with zero warnings.
#
#   scripts/build-matrix.sh GUEST_KDIR [NAME...]
#
#   guest     GUEST_KDIR (the 6.12 guest kernel's build tree): zsm.ko and
#             the test modules
#   deb6.12   Debian's 6.12 headers (linux-headers-6.12.115+deb12-amd64),
#             ZSM_RENAME=1 (zsmalloc is built into that kernel): zsm.ko
#   deb6.1    Debian's 6.1 headers (linux-headers-6.1.0-56-amd64): zsm.ko
#   deb6.1-rt Debian's 6.1 PREEMPT_RT headers (linux-headers-6.1.0-56-rt-amd64):
#             must FAIL, with zsm's "does not support PREEMPT_RT" error
#   guest7    the 7.x guest kernel's build tree (scripts/build-kernel.sh
#             debug7): zsm.ko and the test modules. Debian's 7.x header
#             packages cannot be used on a Debian 12 host: their
#             linux-kbuild-7.x tools (modpost, objtool) need glibc 2.38
#             (Documentation/zsm.rst, "Building").
# (the ABIs are scripts/stock-kernel.sh's; scripts/fetch-headers.sh unpacks
# the header packages into the cache)
#
# Every build compiles every file (so its warnings are seen) every time.
# The Debian header builds run in their own copy of the sources,
# $ZSM_CACHE/matrix/<name>/. The guest build runs in the work tree itself,
# after a kbuild clean there: its objects are the ones make check boots
# (C=2 is not part of an object's recorded command, so the `make modules
# W=1` that follows in make check finds them up to date instead of
# compiling everything a second time). A build fails
# the gate when make fails or its output has a compiler, sparse or modpost
# warning or error; the log is $ZSM_CACHE/matrix/<name>.log.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cache=${ZSM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zsm}
jobs=$(nproc)

# Debian's header packages, fetched into the cache (never installed).
read -r ABI61 ABI612 <<<"$("$repo/scripts/stock-kernel.sh" --abis)"
ABI61RT=${ABI61%-amd64}-rt-amd64
# What the entry that must fail prints (include/zsm_compat.h).
RT_ERROR='zsm does not support PREEMPT_RT'


die() {
	echo "build-matrix: $*" >&2
	exit 1
}

# kdir and extra make arguments of a matrix entry.
entry() {
	case $1 in
	guest) echo "$guest_kdir" ;;
	deb6.12) echo "$("$repo/scripts/fetch-headers.sh" "$ABI612" | tail -n 1) ZSM_TESTS=0 ZSM_RENAME=1" ;;
	deb6.1) echo "$("$repo/scripts/fetch-headers.sh" "$ABI61" | tail -n 1) ZSM_TESTS=0" ;;
	deb6.1-rt) echo "$("$repo/scripts/fetch-headers.sh" "$ABI61RT" | tail -n 1) ZSM_TESTS=0" ;;
	guest7) echo "$("$repo/scripts/build-kernel.sh" debug7 | tail -n 1)/build" ;;
	*) die "unknown build $1 (guest, deb6.12, deb6.1, deb6.1-rt, guest7)" ;;
	esac
}

# Copy what Kbuild needs (tracked and new files, not ignored ones).
copy_sources() {
	local dst=$1
	rm -rf "$dst"
	mkdir -p "$dst"
	(cd "$repo" && git ls-files -co --exclude-standard -z -- \
		Kbuild '*.c' '*.h' '*/Kbuild' |
		grep -zvE '^(guest|tools|scripts)/' |
		xargs -0 cp --parents -t "$dst")
}

# build NAME: print one result line; return non-zero on failure.
build() {
	local name=$1 kdir args dir log start rc=0 bad secs
	read -r kdir args <<<"$(entry "$name")"
	dir=$cache/matrix/$name
	log=$cache/matrix/$name.log
	if [ ! -f "$kdir/Makefile" ]; then
		echo "build-matrix: $name: FAIL: no kernel tree at $kdir" \
		     "(scripts/fetch-headers.sh)"
		return 1
	fi
	start=$(date +%s.%N)
	if [ "$name" = guest ]; then
		dir=$repo
		make -C "$kdir" M="$dir" clean >/dev/null 2>&1 || true
	else
		copy_sources "$dir"
	fi
	# shellcheck disable=SC2086 # args are words
	make -C "$kdir" M="$dir" W=1 C=2 $args -j"$jobs" modules \
		>"$log" 2>&1 || rc=$?
	secs=$(echo "$(date +%s.%N) - $start" | bc)
	if [ "$name" = deb6.1-rt ]; then
		if [ "$rc" != 0 ] && grep -q "$RT_ERROR" "$log"; then
			printf 'build-matrix: %s: OK: refused as it must be ("%s"), %.1f s (%s)\n' \
				"$name" "$RT_ERROR" "$secs" "$kdir"
			return 0
		fi
		printf 'build-matrix: %s: FAIL: built, or failed without "%s" (make exit %s; %s)\n' \
			"$name" "$RT_ERROR" "$rc" "$log"
		return 1
	fi
	bad=$(grep -ciE '(warning|error)[: ]' "$log" || true)
	if [ "$rc" != 0 ] || [ "$bad" != 0 ]; then
		grep -iE '(warning|error)[: ]' "$log" | sed "s|^|  $name: |" | head -n 40
		printf 'build-matrix: %s: FAIL (make exit %s, %s warning/error lines; %s)\n' \
			"$name" "$rc" "$bad" "$log"
		return 1
	fi
	printf 'build-matrix: %s: OK: %s module(s), W=1 C=2 %s, 0 warnings, %.1f s (%s)\n' \
		"$name" "$(find "$dir" -name '*.ko' | wc -l)" \
		"${args:-(guest tree, with tests)}" "$secs" "$kdir"
}

main() {
	local names n failed=0 start
	[ $# -ge 1 ] || die "usage: $0 GUEST_KDIR [guest|deb6.12|deb6.1|deb6.1-rt|guest7...]"
	guest_kdir=$1
	shift
	names=${*:-guest deb6.12 deb6.1 deb6.1-rt guest7}
	command -v sparse >/dev/null || die "sparse missing: scripts/deps.sh (apt-get install sparse)"
	mkdir -p "$cache/matrix"
	# One matrix at a time per cache (several checkouts may share it).
	exec 9>"$cache/matrix/.lock"
	flock 9
	start=$(date +%s.%N)
	for n in $names; do
		build "$n" || failed=$((failed + 1))
	done
	if [ $failed != 0 ]; then
		echo "build-matrix: FAIL: $failed of $(wc -w <<<"$names") builds" >&2
		return 1
	fi
	printf 'build-matrix: OK: %s in %.1f s\n' "$names" \
		"$(echo "$(date +%s.%N) - $start" | bc)"
}

main "$@"
