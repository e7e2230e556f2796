# SPDX-License-Identifier: GPL-2.0
# Integration test: zsm_test_core.ko runs its checks at load time, prints
# zsm-metric lines, and refuses to load when a check fails.
. /zsm/lib.sh

trap 'zsm_rmmod zsm_test_core zsm' EXIT
zsm_insmod zsm.ko
zsm_insmod tests/zsm_test_core.ko
