# SPDX-License-Identifier: GPL-2.0
# Runner self-test: the same WARN_ON inside an expected-warning fence must
# pass.
. /zsm/lib.sh

zsm_expect_warn_begin selftest-warn
zsm_insmod tests/selftest/zsm_selftest_warn.ko
zsm_expect_warn_end selftest-warn
rmmod zsm_selftest_warn
