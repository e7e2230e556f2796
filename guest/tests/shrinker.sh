# SPDX-License-Identifier: GPL-2.0
# The pool shrinker compacts under memory pressure, with no zs_compact()
# call from anyone: tests/zsm_test_migrate.ko fills 100,000 objects of
# 64..2048 bytes and frees a random half (zsm's summary must then report
# pages_freeable > 0). The min watermark is raised to 64 MiB
# (vm.min_free_kbytes) and the min-to-low gap to about 100 MiB
# (vm.watermark_scale_factor=1000), and zsm_memhog (guest/progs) maps
# anonymous memory until MemFree is 40 MiB above min plus the DMA zone's
# 16 MiB (MemFree counts it, but user pages mostly cannot use it), well
# between the min and low watermarks: kswapd wakes, and neither direct
# reclaim nor the OOM killer is needed (a stop just above min once ran
# into the OOM killer on a loaded host). It holds until the pool's
# pages_compacted changes (or 60 s pass). shrinker.pages_freed (growth of
# pages_compacted) must be > 0, and every object must read back.
. /zsm/lib.sh

d=/sys/kernel/debug/zsm_test_migrate
summary=/sys/kernel/debug/zsm/zsm_test_migrate/summary
min_kb=65536
old_min=$(cat /proc/sys/vm/min_free_kbytes)
old_wsf=$(cat /proc/sys/vm/watermark_scale_factor)

cleanup() {
	echo "$old_min" >/proc/sys/vm/min_free_kbytes
	echo "$old_wsf" >/proc/sys/vm/watermark_scale_factor
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
echo 1000 >/proc/sys/vm/watermark_scale_factor
grep -E '^Node|^ +(min|low|high) ' /proc/zoneinfo | tr -s ' ' | paste -sd' '
# Stop between min (64 MiB) and low (about 164 MiB).
rc=0
zsm_memhog $((min_kb + 40960 + 16384)) "$d/pages_compacted" 60 || rc=$?
echo "$old_min" >/proc/sys/vm/min_free_kbytes
echo "$old_wsf" >/proc/sys/vm/watermark_scale_factor
c1=$(cat "$d/pages_compacted")
cat "$summary"
zsm_metric shrinker.pages_freed $((c1 - c0))
echo "verify shrinker" >"$d/ctl"
echo destroy >"$d/ctl"
[ $rc -le 1 ] || { echo "zsm_memhog failed ($rc)"; exit 1; }
[ $((c1 - c0)) -gt 0 ] || { echo "the shrinker freed nothing"; exit 1; }
