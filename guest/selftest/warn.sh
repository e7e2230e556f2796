# SPDX-License-Identifier: GPL-2.0
# Runner self-test: a WARN_ON outside any fence. The script succeeds; the
# runner must still fail the test because of the splat in its window.
. /zsm/lib.sh

zsm_insmod tests/selftest/zsm_selftest_warn.ko
rmmod zsm_selftest_warn
