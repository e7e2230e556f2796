# SPDX-License-Identifier: GPL-2.0
# Runner self-test: a module that leaks a kmalloc() object. This test
# passes; the kmemleak check at the end of the run must fail.
. /zsm/lib.sh

zsm_insmod tests/selftest/zsm_selftest_leak.ko
rmmod zsm_selftest_leak
