# SPDX-License-Identifier: GPL-2.0
# Runner self-test: a KUnit suite with a planted failing case. The runner
# must report the failing case, and this script fails through debugfs.
. /zsm/lib.sh

trap 'zsm_rmmod zsm_selftest_kunit_fail' EXIT
zsm_insmod tests/selftest/zsm_selftest_kunit_fail.ko
! zsm_kunit_failed zsm_selftest
