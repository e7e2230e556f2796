# SPDX-License-Identifier: GPL-2.0
# zsm-run: --disk 256
# zswap: the kernel's zswap stores in zsm, through zpool type "zsm".
#
# Swap on the virtio disk the runner attaches (the zsm-run line above),
# zswap enabled with zpool zsm, a cgroup v2 with memory.max $MAX, and in
# it zsm_pattern dirtying $WSET_MIB MiB of pattern pages (zero, same-filled,
# random, partly random), so reclaim pushes most of them to zswap, which
# stores them in zsm (pages that do not compress go on to the disk). While
# the program is paused with everything written: zswap's stored_pages > 0,
# and zsm's zswap pool holds them (its object count == stored_pages less
# zswap's same-filled pages, and zswap's pool_total_size == zsm's
# total_pages * page size, what zs_get_total_pages() returns). Then the
# program reads every page back and compares it with the regenerated
# pattern (zswap loads it from zsm and frees the entry; reclaim stores
# other pages meanwhile). After swapoff zsm holds no object.
#
# Metrics: zswap.stored_pages_max (sampled every second), zswap.corrupt,
# zswap.pages_verified, zswap.stored_pages_paused, zswap.zsm_objects_paused,
# ... Skips without zswap; fails without the virtio disk.
. /zsm/lib.sh
# shellcheck disable=SC2034 # read by consumer-lib.sh
TEST=zswap
. /zsm/consumer-lib.sh

SEED=777
WSET_MIB=64
MAX=16M
CG=/sys/fs/cgroup/zsm_zswap
P=/sys/module/zswap/parameters
DBG=/sys/kernel/debug/zswap
DISK=
pid=
spid=

cleanup() {
	[ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true
	touch /tmp/zswap.stop
	[ -z "$spid" ] || wait "$spid" 2>/dev/null || true
	[ -z "$DISK" ] || swapoff "$DISK" 2>/dev/null || true
	rmdir "$CG" 2>/dev/null || true
	zswap_restore
	unload_zsm
}
trap cleanup EXIT

unload_zsm() {
	local i=0
	zsm_loaded zsm || return 0
	while ! rmmod zsm 2>/dev/null; do
		i=$((i + 1))
		if [ $i -ge 30 ]; then
			echo "FAIL: zsm.ko still in use: $(grep '^zsm ' /proc/modules)"
			return 1
		fi
		sleep 1
	done
}

# sampler: keeps the largest stored_pages seen in /tmp/zswap.max.
sampler() {
	local max=0 v
	while [ ! -e /tmp/zswap.stop ]; do
		v=$(cat $DBG/stored_pages)
		[ "$v" -le "$max" ] || max=$v
		echo "$max" >/tmp/zswap.max
		sleep 1
	done
}

# check_pool: zswap's counters against zsm's, read until stored_pages is
# the same before and after.
check_pool() {
	local i=0 s1 s2 same objs pages total
	while :; do
		s1=$(zswap_dbg stored_pages)
		same=$(zswap_dbg same_filled_pages)
		total=$(zswap_dbg pool_total_size)
		objs=$(zsm_zswap_sum objects)
		pages=$(zsm_zswap_sum total_pages)
		s2=$(zswap_dbg stored_pages)
		if [ "$s1" = "$s2" ] && [ "$objs" -eq $((s1 - same)) ] &&
		   [ "$total" -eq $((pages * ZSM_PAGE_SIZE)) ]; then
			break
		fi
		i=$((i + 1))
		if [ $i -ge 30 ]; then
			echo "FAIL: zswap stored_pages $s1..$s2 (same-filled $same)," \
			     "pool_total_size $total; zsm objects $objs," \
			     "total_pages $pages"
			return 1
		fi
		sleep 1
	done
	echo "paused: zswap stored_pages $s1 (same-filled $same), pool_total_size" \
	     "$total; zsm objects $objs, total_pages $pages"
	zsm_metric zswap.stored_pages_paused "$s1"
	zsm_metric zswap.zsm_objects_paused "$objs"
	zsm_metric zswap.pool_total_size_paused "$total"
	[ "$s1" -gt 0 ] || { echo "FAIL: zswap stores nothing"; return 1; }
	[ "$objs" -gt 0 ] || { echo "FAIL: zsm's zswap pool is empty"; return 1; }
}

[ -d $P ] || zsm_skip "the kernel has no zswap"

step "swap on the virtio disk"
swap_on_vda
DISK=/dev/vda
cat /proc/swaps

step "zswap on zsm"
zsm_insmod zsm.ko
zswap_save zpool enabled
echo zsm >$P/zpool
echo Y >$P/enabled
echo "zswap: zpool $(cat $P/zpool), compressor $(cat $P/compressor)," \
     "enabled $(cat $P/enabled)"
[ "$(cat $P/zpool)" = zsm ]
grep '^zsm ' /proc/modules
# zswap's debugfs appears when zswap is first enabled.
[ -d $DBG ] || { echo "FAIL: no $DBG"; exit 1; }

step "cgroup: memory.max $MAX, $WSET_MIB MiB of pages"
[ -e /sys/fs/cgroup/cgroup.controllers ] ||
	mount -t cgroup2 none /sys/fs/cgroup
grep -qw memory /sys/fs/cgroup/cgroup.controllers ||
	zsm_skip "no memory controller in cgroup v2"
echo +memory >/sys/fs/cgroup/cgroup.subtree_control
mkdir -p $CG
echo $MAX >$CG/memory.max
wb0=$(zswap_dbg written_back_pages)
rm -f /tmp/zswap.stop /tmp/zswap.max
sampler &
spid=$!
t0=$(date +%s)
: >/tmp/zswap.out
zsm_pattern mem -m $WSET_MIB -s $SEED -P -c $CG >/tmp/zswap.out 2>&1 &
pid=$!
pattern_wait $pid /tmp/zswap.out || { pid=; exit 1; }
t1=$(date +%s)
check_pool
for f in memory.current memory.swap.current memory.zswap.current; do
	[ ! -e $CG/$f ] || echo "$f $(cat $CG/$f)"
done
kill -USR1 "$pid"
rc=0
wait "$pid" || rc=$?
pid=
t2=$(date +%s)
touch /tmp/zswap.stop
wait "$spid" || true
spid=
cat /tmp/zswap.out
verified=$(pattern_result /tmp/zswap.out verified)
bad=$(pattern_result /tmp/zswap.out corrupt)
[ -n "$verified" ] || { echo "FAIL: no result from zsm_pattern (status $rc)"; exit 1; }
for f in pool_limit_hit reject_reclaim_fail reject_alloc_fail \
	 reject_compress_poor reject_compress_fail; do
	[ ! -e $DBG/$f ] || echo "zswap $f $(cat $DBG/$f)"
done
zsm_metric zswap.stored_pages_max "$(cat /tmp/zswap.max)"
zsm_metric zswap.written_back_pages $(($(zswap_dbg written_back_pages) - wb0))
zsm_metric zswap.pages_verified "$verified"
zsm_metric zswap.corrupt "$bad"
zsm_metric zswap.write_s $((t1 - t0))
zsm_metric zswap.verify_s $((t2 - t1))
[ "$rc" -eq 0 ] && [ "$bad" -eq 0 ]
[ "$verified" -eq $((WSET_MIB * 256)) ] ||
	{ echo "FAIL: $verified pages verified of $((WSET_MIB * 256))"; exit 1; }
[ "$(cat /tmp/zswap.max)" -gt 0 ]

step "swapoff, zswap back to its zpool, unload zsm"
swapoff $DISK
DISK=
rmdir $CG
objs=$(zsm_zswap_sum objects)
echo "after swapoff: zswap stored_pages $(zswap_dbg stored_pages), zsm objects $objs"
[ "$objs" -eq 0 ] || { echo "FAIL: $objs objects left in zsm"; exit 1; }
zswap_restore
unload_zsm
trap - EXIT
