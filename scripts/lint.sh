#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Lint gate of `make check`: checkpatch.pl --no-tree --strict and
# kernel-doc -none -Wall, both from the kernel source tree, on every source
# file of zsm (*.c, include/*.h), its test modules (tests/) and tools/.
#
#   scripts/lint.sh [FILE...]
#
# Any checkpatch ERROR, WARNING or CHECK, or any kernel-doc warning, fails
# the gate. One exception, for one file: the kernel's movable-page API is
# spelled in CamelCase (__SetPageMovable(), __ClearPageMovable(),
# __PageMovable(); on 6.17+ __SetPageZsmalloc(), SetPageMovableOps());
# include/zsm_compat.h wraps it so that no other file names it, and
# checkpatch's "Avoid CamelCase" on exactly those names in that file is
# not counted. Any other CamelCase fails as usual.
#
# The scripts come from $ZSM_CACHE/src/*/linux-source-6.12 (unpacked by
# scripts/build-kernel.sh), else /usr/src/linux-source-6.12, else they are
# taken out of /usr/src/linux-source-6.12.tar.xz into $ZSM_CACHE/lint.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cache=${ZSM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zsm}

CAMEL_FILE=include/zsm_compat.h
CAMEL_OK='__SetPageMovable|__ClearPageMovable|__PageMovable|__SetPageZsmalloc|SetPageMovableOps'

die() {
	echo "lint: $*" >&2
	exit 1
}

# Directory holding scripts/checkpatch.pl and scripts/kernel-doc.
find_scripts() {
	local d tarball=/usr/src/linux-source-6.12.tar.xz
	for d in $(ls -d "$cache"/src/*/linux-source-6.12 2>/dev/null | sort -V -r) \
		 /usr/src/linux-source-6.12; do
		if [ -x "$d/scripts/checkpatch.pl" ] && [ -e "$d/scripts/kernel-doc" ]; then
			echo "$d"
			return
		fi
	done
	d=$cache/lint/linux-source-6.12
	if [ ! -x "$d/scripts/checkpatch.pl" ]; then
		[ -f "$tarball" ] || die "no kernel source: apt-get install linux-source-6.12"
		mkdir -p "$cache/lint"
		tar -xJf "$tarball" -C "$cache/lint" \
			linux-source-6.12/scripts/checkpatch.pl \
			linux-source-6.12/scripts/kernel-doc \
			linux-source-6.12/scripts/spelling.txt \
			linux-source-6.12/scripts/const_structs.checkpatch
	fi
	echo "$d"
}

# The files to lint: tracked or new (not ignored) sources.
source_files() {
	(cd "$repo" && git ls-files -co --exclude-standard -- \
		'*.c' '*.h' | grep -E '^(zsm_[^/]*\.c|include/.*\.h|tests/.*\.[ch]|tools/.*\.[ch])$' |
		grep -v '\.mod\.c$' | LC_ALL=C sort -u)
}

# Lint one file (path relative to the repository); print its problems.
lint_one() {
	local f=$1 out
	out=$(cd "$repo" && "$src/scripts/checkpatch.pl" --no-tree --strict \
		--quiet --terse --show-types -f "$f" 2>&1) || true
	printf '%s\n' "$out" | grep -E '^[^ ]+:[0-9]+: (ERROR|WARNING|CHECK):' |
		if [ "$f" = "$CAMEL_FILE" ]; then
			grep -Ev "CHECK:CAMELCASE: Avoid CamelCase: <($CAMEL_OK)>\$" || true
		else
			cat
		fi
	# checkpatch itself failing (not a finding) must not pass silently.
	if printf '%s\n' "$out" | grep -qE '^(Can.t|Use of uninit|.* at .*checkpatch.pl line)'; then
		printf '%s: checkpatch failed: %s\n' "$f" "$out"
	fi
	(cd "$repo" && "$src/scripts/kernel-doc" -none -Wall "$f" 2>&1) || true
}

main() {
	local files start problems n
	start=$(date +%s.%N)
	src=$(find_scripts)
	export src repo CAMEL_FILE CAMEL_OK
	export -f lint_one
	if [ $# -gt 0 ]; then
		files=$(printf '%s\n' "$@")
	else
		files=$(source_files)
	fi
	[ -n "$files" ] || die "no source files found"
	n=$(printf '%s\n' "$files" | wc -l)
	problems=$(printf '%s\n' "$files" |
		xargs -P "$(nproc)" -I{} bash -c 'lint_one "$1"' _ {})
	if [ -n "$problems" ]; then
		printf '%s\n' "$problems"
		printf 'lint: FAIL: %d problem(s) in %d files (checkpatch --strict, kernel-doc -Wall; %s)\n' \
			"$(printf '%s\n' "$problems" | wc -l)" "$n" "$src" >&2
		return 1
	fi
	printf 'lint: OK: %d files clean (checkpatch --strict, kernel-doc -Wall) in %.1f s\n' \
		"$n" "$(echo "$(date +%s.%N) - $start" | bc)"
}

main "$@"
