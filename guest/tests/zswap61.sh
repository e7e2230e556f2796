# SPDX-License-Identifier: GPL-2.0
# zsm-run: --mem 256 --disk 256
# zswap61: 6.1's zswap writes back through its zpool, and zsm's zpool
# driver does what zsmalloc's cannot (6.1 to 6.4; skips on later kernels,
# whose zswap writes back from its own LRU).
#
# zswap with max_pool_percent=$PCT and accept_threshold_percent=100, swap
# on the virtio disk the runner
# attaches, a cgroup v2 with memory.max $MAX, and in it zsm_pattern
# dirtying $WSET_MIB MiB of pattern pages (compressed, a few times the
# pool's limit), then reading every page back and comparing it with the
# regenerated pattern. 6.1's zswap asks its zpool to shrink by one page
# per store that finds the pool full, and after that refuses every store
# until the pool is below accept_threshold_percent of its limit (the
# default 90% is reached only as swap entries are freed); at 100% it
# stores again as soon as a shrink made room, so writeback goes on for the
# whole run. On zsm, whose shrink() evicts its coldest zspages
# through zswap's evict callback: written_back_pages > 0,
# reject_reclaim_fail at most 5% of pool_limit_hit, the pool within its
# limit (its peak, zsm's total_pages_max: exact, not the sampled
# pool_total_size), every page read back unchanged, no object left after
# swapoff;
# zsm's pages_evicted per page written back is reported.
#
# With zsm.alloc=zsmalloc on the kernel command line the same run uses the
# kernel's zsmalloc.ko (for comparison), which has no shrink(): zswap
# cannot write back (written_back_pages must stay 0) and every store that
# finds the pool full fails to reclaim (reject_reclaim_fail must grow).
# One boot cannot do both: zsmalloc.ko and zsm.ko export the same symbols,
# and 6.1's zswap leaks a pool reference whenever a store finds the pool
# full while the pool's shrink work is still queued (it ignores
# queue_work()'s result), so a pool that reached its limit is never
# destroyed and its zpool module stays loaded. For that reason too this
# test runs last in its boot, and leaves zsm.ko loaded when the leak
# holds it.
#
# Metrics: zswap61.written_back_pages, zswap61.reject_reclaim_fail,
# zswap61.pool_limit_hit, zswap61.corrupt, zswap61.pages_verified,
# zswap61.pool_pages_max, zswap61.limit_pages, zswap61.pages_evicted,
# zswap61.evicted_per_written_back_pct, zswap61.evict_cb_ok,
# zswap61.evict_cb_eexist, zswap61.evict_cb_enomem (how zswap's evict
# callback returned, 0 without kprobe events); zswap61.zsmalloc.* instead
# with zsm.alloc=zsmalloc.
. /zsm/lib.sh
# shellcheck disable=SC2034 # read by consumer-lib.sh
TEST=zswap61
. /zsm/consumer-lib.sh

SEED=6161
WSET_MIB=40
MAX=16M
PCT=1
# zswap checks its limit before a store's allocation, so the pool can
# exceed it by what concurrent stores allocate: a zspage each.
SLACK_PAGES=16
CG=/sys/fs/cgroup/zsm_zswap61
P=/sys/module/zswap/parameters
DBG=/sys/kernel/debug/zswap
DISK=
spid=

cleanup() {
	wb_probe_off
	touch /tmp/zswap61.stop
	[ -z "$spid" ] || wait "$spid" 2>/dev/null || true
	[ -z "$DISK" ] || swapoff "$DISK" 2>/dev/null || true
	rmdir "$CG" 2>/dev/null || true
	zswap_restore
}
trap cleanup EXIT

# sampler: the largest pool_total_size seen (in pages) in /tmp/zswap61.max.
sampler() {
	local max=0 v
	while [ ! -e /tmp/zswap61.stop ]; do
		v=$(($(cat $DBG/pool_total_size) / ZSM_PAGE_SIZE))
		[ "$v" -le "$max" ] || max=$v
		echo "$max" >/tmp/zswap61.max
		sleep 0.2 2>/dev/null || sleep 1
	done
}

# The outcome of each zswap_writeback_entry() call (zswap's evict
# callback, which only a shrink() calls): a kretprobe event with a
# histogram of its return value, where the kernel has both.
TR=/sys/kernel/tracing
WB_EV=$TR/events/kprobes/zsm_zswap61_wb
wb_probe_on() {
	[ -e $TR/kprobe_events ] || mount -t tracefs nodev $TR 2>/dev/null || true
	[ -e $TR/kprobe_events ] || return 0
	# shellcheck disable=SC2016 # $retval is the probe's
	echo 'r:kprobes/zsm_zswap61_wb zswap_writeback_entry ret=$retval:s32' \
		>>$TR/kprobe_events 2>/dev/null || return 0
	echo 'hist:keys=ret' >$WB_EV/trigger 2>/dev/null || true
	echo 1 >$WB_EV/enable
}

# wb_count <errno or 0>: calls that returned it. The histogram prints a
# key as an unsigned 64-bit number (-17 as 2^64 - 17).
wb_count() {
	local k=0
	[ -e $WB_EV/hist ] || { echo 0; return; }
	case $1 in
	-12) k=18446744073709551604 ;;
	-17) k=18446744073709551599 ;;
	esac
	awk -v r="$1" -v k="$k" '$1 == "{" && $2 == "ret:" &&
		($3 "" == r "" || $3 "" == k "") { n += $6 }
		END { print n + 0 }' $WB_EV/hist
}

wb_probe_off() {
	[ -e $WB_EV/enable ] || return 0
	echo 0 >$WB_EV/enable
	echo '!hist:keys=ret' >$WB_EV/trigger 2>/dev/null || true
	echo '-:kprobes/zsm_zswap61_wb' >>$TR/kprobe_events 2>/dev/null || true
}

# run <label> <zpool>: zswap on <zpool>, the working set written and read
# back; sets the globals of the run's figures.
run() {
	local label=$1 zpool=$2 rc=0 t0 wb0 rrf0 plh0 ev0 peak
	local out=/tmp/zswap61.out
	step "$label: zswap on $zpool"
	echo "$zpool" >$P/zpool
	[ "$(cat $P/zpool)" = "$zpool" ] ||
		{ echo "FAIL: zswap's zpool is $(cat $P/zpool)"; return 1; }
	mkdir -p $CG
	echo $MAX >$CG/memory.max
	wb0=$(zswap_dbg written_back_pages)
	rrf0=$(zswap_dbg reject_reclaim_fail)
	plh0=$(zswap_dbg pool_limit_hit)
	ev0=$(zsm_zswap_sum pages_evicted)
	rm -f /tmp/zswap61.stop /tmp/zswap61.max
	wb_probe_on
	sampler &
	spid=$!
	t0=$(date +%s)
	rc=0
	zsm_pattern mem -m $WSET_MIB -s $SEED -w -c $CG >$out 2>&1 || rc=$?
	touch /tmp/zswap61.stop
	wait "$spid" || true
	spid=
	cat $out
	pages=$(pattern_result $out pages)
	verified=$(pattern_result $out verified)
	bad=$(pattern_result $out corrupt)
	[ -n "$verified" ] || { echo "FAIL: no result from zsm_pattern (status $rc)"; return 1; }
	wb=$(($(zswap_dbg written_back_pages) - wb0))
	rrf=$(($(zswap_dbg reject_reclaim_fail) - rrf0))
	plh=$(($(zswap_dbg pool_limit_hit) - plh0))
	evicted=$(($(zsm_zswap_sum pages_evicted) - ev0))
	pool_max=$(cat /tmp/zswap61.max)
	# zsm keeps the exact peak; zsmalloc's is sampled every 0.2 s.
	if [ "$zpool" = zsm ]; then
		peak=$(zsm_zswap_max total_pages_max)
		[ "$peak" -ge "$pool_max" ] ||
			{ echo "FAIL: total_pages_max $peak < sampled $pool_max"; return 1; }
		pool_max=$peak
	fi
	[ ! -e $WB_EV/hist ] || grep '^{' $WB_EV/hist || true
	wb_ok=$(wb_count 0)
	wb_eexist=$(wb_count -17)
	wb_enomem=$(wb_count -12)
	wb_probe_off
	echo "$label: $(($(date +%s) - t0))s, written_back_pages $wb," \
	     "reject_reclaim_fail $rrf, pool_limit_hit $plh," \
	     "pool pages max $pool_max (limit $limit_pages)," \
	     "zsm pages_evicted $evicted"
	for f in stored_pages pool_total_size reject_alloc_fail \
		 reject_compress_poor reject_kmemcache_fail duplicate_entry; do
		echo "zswap $f $(zswap_dbg $f)"
	done
	if [ "$rc" -ne 0 ] || [ "$bad" -ne 0 ]; then
		echo "FAIL: $bad corrupt pages (status $rc)"
		return 1
	fi
	# -w: every page verified, rewritten by thirds, verified again.
	if [ "$verified" -ne "$pages" ] ||
	   [ "$pages" -ne $((WSET_MIB * 256 * 2)) ]; then
		echo "FAIL: $verified pages verified of $pages"
		return 1
	fi
	# The run must have filled the pool, or it shows nothing.
	[ "$plh" -gt 0 ] || { echo "FAIL: the pool never reached its limit"; return 1; }
}

case $KVER in
6.[0-4].*) ;;
*) zsm_skip "zswap of $KVER writes back without the zpool's shrink()" ;;
esac
[ -d $P ] || zsm_skip "the kernel has no zswap"
ALLOC=$(sed -n 's/.*zsm\.alloc=\([^ ]*\).*/\1/p' /proc/cmdline)
ALLOC=${ALLOC:-zsm}

step "swap on the virtio disk"
swap_on_vda
DISK=/dev/vda

[ -e /sys/fs/cgroup/cgroup.controllers ] ||
	mount -t cgroup2 none /sys/fs/cgroup
grep -qw memory /sys/fs/cgroup/cgroup.controllers ||
	zsm_skip "no memory controller in cgroup v2"
echo +memory >/sys/fs/cgroup/cgroup.subtree_control

zswap_save zpool max_pool_percent accept_threshold_percent enabled
# zswap_is_full(): totalram_pages() * max_pool_percent / 100 pages.
ram_pages=$(($(meminfo MemTotal) / 4))
limit_pages=$((ram_pages * PCT / 100))
echo $PCT >$P/max_pool_percent
echo 100 >$P/accept_threshold_percent
if [ "$ALLOC" = zsmalloc ]; then
	zsm_kmod zsmalloc
	M=zswap61.zsmalloc
else
	zsm_insmod zsm.ko
	M=zswap61
fi
echo "$ALLOC" >$P/zpool
echo Y >$P/enabled
[ -d $DBG ] || { echo "FAIL: no $DBG"; exit 1; }
echo "zswap: compressor $(cat $P/compressor), max_pool_percent $PCT:" \
     "$limit_pages pages"
zsm_metric zswap61.limit_pages "$limit_pages"

run "$ALLOC" "$ALLOC"
zsm_metric $M.written_back_pages "$wb"
zsm_metric $M.reject_reclaim_fail "$rrf"
zsm_metric $M.pool_limit_hit "$plh"
zsm_metric $M.pool_pages_max "$pool_max"
zsm_metric $M.pages_verified "$verified"
zsm_metric $M.corrupt "$bad"
zsm_metric $M.evict_cb_ok "$wb_ok"
zsm_metric $M.evict_cb_eexist "$wb_eexist"
zsm_metric $M.evict_cb_enomem "$wb_enomem"
if [ "$ALLOC" = zsmalloc ]; then
	[ "$wb" -eq 0 ] || { echo "FAIL: zsmalloc wrote $wb pages back"; exit 1; }
	[ "$rrf" -gt 0 ] || { echo "FAIL: no reclaim failed on zsmalloc"; exit 1; }
else
	zsm_metric zswap61.pages_evicted "$evicted"
	if [ "$wb" -gt 0 ]; then
		zsm_metric zswap61.evicted_per_written_back_pct \
			$((evicted * 100 / wb))
	fi
	[ "$wb" -gt 0 ] || { echo "FAIL: zsm wrote nothing back"; exit 1; }
	[ "$evicted" -gt 0 ] || { echo "FAIL: zsm evicted no page"; exit 1; }
	# A failed reclaim is a shrink() that freed no page frame: every
	# zspage it tried had an object zswap refused to write back (-EEXIST:
	# its page is in the swap cache, as after a load, which keeps 6.1's
	# zswap entry; -ENOMEM). zsmalloc fails nearly every one.
	[ "$rrf" -le $((plh / 20)) ] ||
		{ echo "FAIL: reject_reclaim_fail $rrf > 5% of pool_limit_hit $plh"; exit 1; }
fi
[ "$pool_max" -le $((limit_pages + SLACK_PAGES)) ] ||
	{ echo "FAIL: pool reached $pool_max pages, limit $limit_pages"; exit 1; }

step "swapoff, zswap back"
swapoff $DISK
DISK=
if [ "$ALLOC" = zsm ]; then
	objs=$(zsm_zswap_sum objects)
	[ "$objs" -eq 0 ] || { echo "FAIL: $objs objects left in zsm"; exit 1; }
fi
zswap_restore
rmdir $CG
# The leak described above may keep the module.
i=0
while zsm_loaded "$ALLOC" && ! rmmod "$ALLOC" 2>/dev/null && [ $i -lt 5 ]; do
	sleep 1
	i=$((i + 1))
done
if zsm_loaded "$ALLOC"; then
	echo "$ALLOC.ko stays loaded: $(grep "^$ALLOC " /proc/modules)"
fi
trap - EXIT
