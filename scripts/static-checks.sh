#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The host-side gates `make check` runs before it boots a guest:
#
#   scripts/lint.sh          checkpatch --strict, kernel-doc -Wall
#   scripts/build-matrix.sh  W=1 C=2 against the guest tree, Debian 6.12
#                            (ZSM_RENAME=1) and Debian 6.1, no warnings
#   scripts/dkms-check.sh    dkms build against Debian 6.1 and 6.12
#
#   scripts/static-checks.sh GUEST_KDIR
#
# dkms-check runs alongside the other two (it mostly waits for dkms); its
# output is printed when it is done. Fails if any gate fails; prints the
# seconds each took.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
[ $# = 1 ] || { echo "usage: $0 GUEST_KDIR" >&2; exit 2; }

now() {
	date +%s.%N
}

secs() {
	printf '%.1f' "$(echo "$(now) - $1" | bc)"
}

start=$(now)
dkms_out=$(mktemp)
trap 'rm -f "$dkms_out"' EXIT
("$here/dkms-check.sh" >"$dkms_out" 2>&1; echo "rc=$?" >>"$dkms_out") &
dkms_pid=$!

t=$(now)
"$here/lint.sh"
lint_rc=$?
lint_s=$(secs "$t")

t=$(now)
"$here/build-matrix.sh" "$1"
matrix_rc=$?
matrix_s=$(secs "$t")

wait "$dkms_pid"
grep -v '^rc=' "$dkms_out"
dkms_rc=$(sed -n 's/^rc=//p' "$dkms_out")

res() {
	[ "$1" = 0 ] && echo ok || echo FAIL
}
echo "static-checks: lint $(res $lint_rc) ${lint_s} s," \
     "build matrix $(res $matrix_rc) ${matrix_s} s," \
     "dkms $(res "$dkms_rc") (alongside); total $(secs "$start") s"
[ "$lint_rc" = 0 ] && [ "$matrix_rc" = 0 ] && [ "$dkms_rc" = 0 ]
