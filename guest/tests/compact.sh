# SPDX-License-Identifier: GPL-2.0
# zs_compact() on a fragmented pool (tests/zsm_test_migrate.ko): 100,000
# objects of 64..2048 bytes, a random half freed, then "compact compact":
# the module checks that zs_compact()'s return value equals the growth of
# pages_compacted and the drop of zs_get_total_pages(), that the pool then
# holds at most 5% more pages than the live objects need at their class
# geometry (sum over classes of ceil(objects / objs_per_zspage) *
# pages_per_zspage), and reads every object back. Metrics:
# compact.pages_freed, compact.overhead_pct and the numbers behind them.
. /zsm/lib.sh

d=/sys/kernel/debug/zsm_test_migrate
trap 'zsm_rmmod zsm_test_migrate zsm' EXIT

zsm_insmod zsm.ko
zsm_insmod tests/zsm_test_migrate.ko nr_objs=100000 min_size=64 \
	max_size=2048 seed=2
echo fill >"$d/ctl"
echo free_half >"$d/ctl"
echo "compact compact" >"$d/ctl"
echo destroy >"$d/ctl"
