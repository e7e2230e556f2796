# SPDX-License-Identifier: GPL-2.0
# The pool shrinker compacts under memory pressure, with no zs_compact()
# call from anyone: tests/zsm_test_migrate.ko fills 100,000 objects of
# 64..2048 bytes and frees a random half (zsm's summary must then report
# pages_freeable > 0). The min watermark is raised to 64 MiB
# (vm.min_free_kbytes), and zsm_memhog (guest/progs) maps anonymous memory
# until MemFree is between the min and low watermarks, which wakes kswapd
# without direct reclaim or OOM, and holds it until the pool's
# pages_compacted changes (or 60 s pass). shrinker.pages_freed (growth of
# pages_compacted) must be > 0, and every object must read back.
. /zsm/lib.sh

d=/sys/kernel/debug/zsm_test_migrate
summary=/sys/kernel/debug/zsm/zsm_test_migrate/summary
min_kb=65536
old_min=$(cat /proc/sys/vm/min_free_kbytes)

cleanup() {
	echo "$old_min" >/proc/sys/vm/min_free_kbytes
	zsm_rmmod zsm_test_migrate zsm
}
trap cleanup EXIT

command -v zsm_memhog >/dev/null || zsm_skip "zsm_memhog not built (guest/progs)"
zsm_insmod zsm.ko
zsm_insmod tests/zsm_test_migrate.ko nr_objs=100000 min_size=64 \
	max_size=2048 seed=3
echo fill >"$d/ctl"
echo free_half >"$d/ctl"
cat "$summary"
freeable=$(awk '$1 == "pages_freeable" { print $2 }' "$summary")
zsm_metric shrinker.pages_freeable_before "$freeable"
[ "$freeable" -gt 0 ] || { echo "nothing for the shrinker to free"; exit 1; }

c0=$(cat "$d/pages_compacted")
echo $min_kb >/proc/sys/vm/min_free_kbytes
# Stop between min (64 MiB) and low (about 80 MiB).
rc=0
zsm_memhog $((min_kb + min_kb / 8)) "$d/pages_compacted" 60 || rc=$?
echo "$old_min" >/proc/sys/vm/min_free_kbytes
c1=$(cat "$d/pages_compacted")
cat "$summary"
zsm_metric shrinker.pages_freed $((c1 - c0))
echo "verify shrinker" >"$d/ctl"
echo destroy >"$d/ctl"
[ $rc -le 1 ] || { echo "zsm_memhog failed ($rc)"; exit 1; }
[ $((c1 - c0)) -gt 0 ] || { echo "the shrinker freed nothing"; exit 1; }
