# SPDX-License-Identifier: GPL-2.0
# KUnit: load zsm.ko, then zsm_kunit.ko, whose suites run at load time and
# print KTAP on the console (the runner reports every case). This script
# fails too when a suite reports "not ok" in debugfs.
. /zsm/lib.sh

trap 'zsm_rmmod zsm_kunit zsm' EXIT
before=$(zsm_kunit_suites)
zsm_insmod zsm.ko
zsm_insmod tests/zsm_kunit.ko
new=
for s in $(zsm_kunit_suites); do
	case " $(echo $before) " in
	*" $s "*) ;;
	*) new="$new $s" ;;
	esac
done
echo "kunit suites run:${new:- none}"
[ -n "$new" ]
! zsm_kunit_failed $new
