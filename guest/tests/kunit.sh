# SPDX-License-Identifier: GPL-2.0
# KUnit: load zsm.ko, then every tests/*_kunit.ko, whose suites run at load
# time and print KTAP on the console (the runner reports every case). This
# script fails too when a suite reports "not ok" in debugfs.
. /zsm/lib.sh

loaded=
cleanup() {
	# shellcheck disable=SC2086 # one argument per module
	zsm_rmmod $loaded zsm
}
trap cleanup EXIT
before=$(zsm_kunit_suites | tr "\n" " ")
zsm_insmod zsm.ko
for ko in "$ZSM_MODULES"/tests/*_kunit.ko; do
	[ -f "$ko" ] || continue
	zsm_insmod "tests/${ko##*/}"
	loaded="$(basename "$ko" .ko) $loaded"
done
new=
for s in $(zsm_kunit_suites); do
	case " $before " in
	*" $s "*) ;;
	*) new="$new $s" ;;
	esac
done
echo "kunit suites run:${new:- none}"
[ -n "$new" ]
# shellcheck disable=SC2086 # one argument per suite
! zsm_kunit_failed $new
