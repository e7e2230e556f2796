# SPDX-License-Identifier: GPL-2.0
# zsm-run: --disk 256
# zswap: the kernel's zswap stores in zsm: through zpool type "zsm" where
# zswap has zpool (up to 6.17), else (7.x) zsm must be built into the
# kernel in zsmalloc's place (scripts/kernel-builtin.sh): zswap calls
# zs_* directly.
#
# Swap on the virtio disk the runner attaches (the zsm-run line above),
# zswap enabled on zsm, a cgroup v2 with memory.max $MAX, and in
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
# Built in (7.x), two passes in the cgroup. wb_on: memory.zswap.max
# $ZMAX, so zswap writes its oldest entries back to the disk under the
# cgroup's limit: zswap's written_back_pages, the cgroup's zswpwb and
# the disk's pswpout must grow. wb_off: memory.zswap.writeback 0, the
# same memory.zswap.max, no memory.max: $WSET_OFF_MIB MiB, then
# memory.reclaim asks for all of it, which fills zswap to its limit (at
# least 3/4 of it must be used), where writeback would begin: nothing may
# be written back or reach the disk (what zswap rejects stays in memory).
# Each pass checks the pool while paused and reads every page back.
#
# Metrics: zswap.stored_pages_max (sampled every second), zswap.corrupt,
# zswap.pages_verified, zswap.stored_pages_paused, zswap.zsm_objects_paused,
# ... (built in: zswap.wb_on.* and zswap.wb_off.*, with written_back_pages,
# zswpwb and pswpout). Skips without zswap, and on 7.x when zsm is not
# built in; fails without the virtio disk.
. /zsm/lib.sh
# shellcheck disable=SC2034 # read by consumer-lib.sh
TEST=zswap
. /zsm/consumer-lib.sh

SEED=777
WSET_MIB=64
MAX=16M
ZMAX=4M
RECLAIM=
WSET_OFF_MIB=32
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
	rmmod_wait zsm
}
trap cleanup EXIT

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

# check_pool <metric prefix>: zswap's counters against zsm's, read until stored_pages is
# the same before and after.
check_pool() {
	local m=$1 i=0 s1 s2 same objs pages total
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
	zsm_metric "$m.stored_pages_paused" "$s1"
	zsm_metric "$m.zsm_objects_paused" "$objs"
	zsm_metric "$m.pool_total_size_paused" "$total"
	[ "$s1" -gt 0 ] || { echo "FAIL: zswap stores nothing"; return 1; }
	[ "$objs" -gt 0 ] || { echo "FAIL: zsm's zswap pool is empty"; return 1; }
}

# cg_stat <key>: a memory.stat value of the test's cgroup.
cg_stat() {
	awk -v k="$1" '$1 == k { print $2 }' $CG/memory.stat
}

# vmstat <key>: a /proc/vmstat counter.
vmstat() {
	awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat
}

# fill_check <metric prefix> <MiB> <seed>: zsm_pattern in the cgroup,
# zswap and zsm checked while it is paused (check_pool), then every page
# read back; metrics <prefix>.*. With $RECLAIM set, memory.reclaim is
# asked for that much once the pages are written; $zcur is the cgroup's
# memory.zswap.current while paused.
fill_check() {
	local m=$1 mib=$2 seed=$3 rc=0 t0 t1 t2 verified bad f
	rm -f /tmp/zswap.stop /tmp/zswap.max
	sampler &
	spid=$!
	t0=$(date +%s)
	: >/tmp/zswap.out
	zsm_pattern mem -m "$mib" -s "$seed" -P -c $CG >/tmp/zswap.out 2>&1 &
	pid=$!
	pattern_wait $pid /tmp/zswap.out || { pid=; return 1; }
	if [ -n "$RECLAIM" ]; then
		# EAGAIN when less could be reclaimed: expected here.
		echo "$RECLAIM" >$CG/memory.reclaim 2>/dev/null || true
	fi
	t1=$(date +%s)
	check_pool "$m"
	for f in memory.current memory.swap.current memory.zswap.current; do
		[ ! -e $CG/$f ] || echo "$f $(cat $CG/$f)"
	done
	zcur=$(cat $CG/memory.zswap.current 2>/dev/null || echo 0)
	zsm_metric "$m.zswap_current_paused" "$zcur"
	kill -USR1 "$pid"
	wait "$pid" || rc=$?
	pid=
	t2=$(date +%s)
	touch /tmp/zswap.stop
	wait "$spid" || true
	spid=
	cat /tmp/zswap.out
	verified=$(pattern_result /tmp/zswap.out verified)
	bad=$(pattern_result /tmp/zswap.out corrupt)
	[ -n "$verified" ] || { echo "FAIL: no result from zsm_pattern (status $rc)"; return 1; }
	for f in pool_limit_hit reject_reclaim_fail reject_alloc_fail \
		 reject_compress_poor reject_compress_fail \
		 stored_incompressible_pages; do
		[ ! -e $DBG/$f ] || echo "zswap $f $(cat $DBG/$f)"
	done
	zsm_metric "$m.stored_pages_max" "$(cat /tmp/zswap.max)"
	zsm_metric "$m.pages_verified" "$verified"
	zsm_metric "$m.corrupt" "$bad"
	zsm_metric "$m.write_s" $((t1 - t0))
	zsm_metric "$m.verify_s" $((t2 - t1))
	if [ "$rc" -ne 0 ] || [ "$bad" -ne 0 ]; then
		echo "FAIL: zsm_pattern status $rc, $bad pages corrupt"
		return 1
	fi
	[ "$verified" -eq $((mib * 1048576 / ZSM_PAGE_SIZE)) ] ||
		{ echo "FAIL: $verified pages verified of $((mib * 1048576 / ZSM_PAGE_SIZE))"; return 1; }
	[ "$(cat /tmp/zswap.max)" -gt 0 ] ||
		{ echo "FAIL: zswap stored nothing"; return 1; }
}

# wb_pass <name> <MiB> <seed>: fill_check as zswap.<name>, and what went
# to the disk meanwhile: $wb pages written back by zswap, $cgwb by the
# cgroup's account (zswpwb), $out pages written to swap devices (pswpout).
wb_pass() {
	local wb0 out0
	wb0=$(zswap_dbg written_back_pages)
	out0=$(vmstat pswpout)
	fill_check "zswap.$1" "$2" "$3"
	wb=$(($(zswap_dbg written_back_pages) - wb0))
	out=$(($(vmstat pswpout) - out0))
	cgwb=$(cg_stat zswpwb)
	zsm_metric "zswap.$1.written_back_pages" "$wb"
	zsm_metric "zswap.$1.zswpwb" "$cgwb"
	zsm_metric "zswap.$1.pswpout" "$out"
	echo "$1: written back $wb (cgroup zswpwb $cgwb), pswpout $out"
}

# zswap_on_zsm: zswap enabled, storing in zsm.
zswap_on_zsm() {
	if [ -e $P/zpool ]; then
		zsm_insmod zsm.ko
		zswap_save zpool enabled
		echo zsm >$P/zpool
		echo Y >$P/enabled
		echo "zswap: zpool $(cat $P/zpool), compressor $(cat $P/compressor)," \
		     "enabled $(cat $P/enabled)"
		[ "$(cat $P/zpool)" = zsm ]
		grep '^zsm ' /proc/modules
	else
		zsm_builtin ||
			zsm_skip "zswap has no zpool and zsm is not built in: zswap stores in the kernel's zsmalloc"
		zswap_save enabled
		echo Y >$P/enabled
		echo "zswap: zsm built in, compressor $(cat $P/compressor)," \
		     "enabled $(cat $P/enabled)"
	fi
	# zswap's debugfs appears when zswap is first enabled.
	[ -d $DBG ] || { echo "FAIL: no $DBG"; return 1; }
}

[ -d $P ] || zsm_skip "the kernel has no zswap"

step "swap on the virtio disk"
swap_on_vda
DISK=/dev/vda
cat /proc/swaps

step "zswap on zsm"
zswap_on_zsm

step "cgroup: memory.max $MAX"
[ -e /sys/fs/cgroup/cgroup.controllers ] ||
	mount -t cgroup2 none /sys/fs/cgroup
grep -qw memory /sys/fs/cgroup/cgroup.controllers ||
	zsm_skip "no memory controller in cgroup v2"
echo +memory >/sys/fs/cgroup/cgroup.subtree_control
mkdir -p $CG
echo $MAX >$CG/memory.max
if [ -e $P/zpool ]; then
	step "$WSET_MIB MiB of pages"
	wb0=$(zswap_dbg written_back_pages)
	fill_check zswap $WSET_MIB $SEED
	zsm_metric zswap.written_back_pages $(($(zswap_dbg written_back_pages) - wb0))
else
	[ -e $CG/memory.zswap.writeback ] ||
		{ echo "FAIL: no memory.zswap.writeback"; exit 1; }
	step "wb_on: memory.zswap.max $ZMAX, $WSET_MIB MiB of pages"
	echo 1 >$CG/memory.zswap.writeback
	echo $ZMAX >$CG/memory.zswap.max
	wb_pass wb_on $WSET_MIB $SEED
	if [ "$wb" -eq 0 ] || [ "$cgwb" -eq 0 ] || [ "$out" -eq 0 ]; then
		echo "FAIL: zswap wrote nothing back under memory.zswap.max $ZMAX"
		exit 1
	fi
	rmdir $CG
	mkdir $CG
	step "wb_off: memory.zswap.writeback 0, memory.zswap.max $ZMAX, $WSET_OFF_MIB MiB, memory.reclaim"
	echo 0 >$CG/memory.zswap.writeback
	echo $ZMAX >$CG/memory.zswap.max
	RECLAIM=${WSET_OFF_MIB}M
	wb_pass wb_off $WSET_OFF_MIB $((SEED + 1))
	RECLAIM=
	if [ "$wb" -ne 0 ] || [ "$cgwb" -ne 0 ] || [ "$out" -ne 0 ]; then
		echo "FAIL: writeback disabled, yet pages reached the disk"
		exit 1
	fi
	if [ "$zcur" -lt $((${ZMAX%M} * 1048576 * 3 / 4)) ]; then
		echo "FAIL: zswap held $zcur bytes, under 3/4 of its limit $ZMAX: the limit was not reached"
		exit 1
	fi
fi

step "swapoff, zswap back to its zpool, unload zsm"
swapoff $DISK
DISK=
rmdir $CG
objs=$(zsm_zswap_sum objects)
echo "after swapoff: zswap stored_pages $(zswap_dbg stored_pages), zsm objects $objs"
[ "$objs" -eq 0 ] || { echo "FAIL: $objs objects left in zsm"; exit 1; }
zswap_restore
rmmod_wait zsm
trap - EXIT
