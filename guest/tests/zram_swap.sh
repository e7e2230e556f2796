# SPDX-License-Identifier: GPL-2.0
# zsm-run: --mem 256
# zram_swap: the kernel's own zram.ko on zsm as the only swap device.
#
# zsm_pattern dirties 1.5 times MemTotal of anonymous memory, one pattern
# page per index (zero, same-filled, random, partly random: compressed
# sizes over all of zsm's classes), so at least half of MemTotal must go
# out to swap, i.e. to zram and zsm. While it is paused with everything
# written: swap in use >= MemTotal / 2, and zram's mm_stat agrees with
# zsm's accounting (debugfs zsm/zram0/summary). Then it reads every page
# back in a scattered order and compares it with the regenerated pattern.
# After swapoff zram keeps only mkswap's header page, and zsm exactly the
# object that holds it.
#
# The guest has 256 MiB (the zsm-run line above), so 1.5 x RAM is a few
# hundred MiB: under TCG with KASAN a page costs about 1 ms out and back.
#
# Metrics: zram_swap.pages_verified, zram_swap.corrupt, zram_swap.memtotal_mib,
# the swap in use and zram's memory when filled, its peak. zswap is kept
# off meanwhile, and vm.page-cluster is 0 (no swap readahead, as usual for
# zram swap). Skips where zram cannot run on zsm (see zram_ext4.sh). With
# zsm.alloc=zsmalloc on the kernel command line, the same test runs on the
# kernel's zsmalloc.ko instead (for comparison; zsm's own checks are left
# out).
. /zsm/lib.sh
# shellcheck disable=SC2034 # read by consumer-lib.sh
TEST=zram_swap
. /zsm/consumer-lib.sh

SEED=4242
PCT=150
ZSWAP=/sys/module/zswap/parameters/enabled
zswap_was=
cluster_was=
pid=

param() {
	sed -n "s/.*$1=\\([^ ]*\\).*/\\1/p" /proc/cmdline
}

ALLOC=$(param zsm.alloc)

cleanup() {
	[ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true
	swapoff /dev/zram0 2>/dev/null || true
	if [ -e /sys/block/zram0/reset ]; then
		echo 1 >/sys/block/zram0/reset || true
	fi
	zsm_rmmod zram zsm zsmalloc
	[ -z "$zswap_was" ] || echo "$zswap_was" >$ZSWAP || true
	[ -z "$cluster_was" ] || echo "$cluster_was" >/proc/sys/vm/page-cluster
}
trap cleanup EXIT

# load_allocator: zsm.ko (zram must bind to it), or zsmalloc.ko when asked.
load_allocator() {
	if [ "$ALLOC" = zsmalloc ]; then
		[ -n "$(find "$KMODS" -name 'zram.ko*' | head -n 1)" ] ||
			zsm_skip "the kernel has no zram module"
		zsm_kmod zsmalloc
		load_zram
		# shellcheck disable=SC2034 # read by zram_accounting
		ZSM_NO_ACCOUNTING=1
		return
	fi
	zram_on_zsm
}

step "load ${ALLOC:-zsm}, then the kernel's zram.ko"
load_allocator

memtotal_kb=$(meminfo MemTotal)
echo "MemTotal $((memtotal_kb / 1024)) MiB"
zsm_metric zram_swap.memtotal_mib $((memtotal_kb / 1024))

step "zram0 as the only swap"
# Writing "enabled" would initialise zswap where it never was: only
# switch it off when it is on.
if [ -e $ZSWAP ] && [ "$(cat $ZSWAP)" = Y ]; then
	zswap_was=Y
	echo N >$ZSWAP
fi
cluster_was=$(cat /proc/sys/vm/page-cluster)
echo 0 >/proc/sys/vm/page-cluster
swapoff -a 2>/dev/null || true
# 4 x RAM: swap stays under half full, so a page read back keeps its
# slot and reclaim can drop it again without another write (see
# vm_swap_full()); the verify pass then costs one decompression a page.
echo $((memtotal_kb * 4))K >/sys/block/zram0/disksize
mkswap /dev/zram0 >/dev/null
swapon /dev/zram0
cat /proc/swaps
[ "$(grep -c '^/' /proc/swaps)" -eq 1 ]
echo "zram0 $(cat /sys/block/zram0/comp_algorithm)"

step "dirty $PCT% of MemTotal, check it all"
: >/tmp/zram_swap.out
zsm_pattern mem -r $PCT -s $SEED -P >/tmp/zram_swap.out 2>&1 &
pid=$!
pattern_wait $pid /tmp/zram_swap.out || { pid=; exit 1; }
step "filled"
zram_accounting filled 30
swapped_kb=$(($(meminfo SwapTotal) - $(meminfo SwapFree)))
echo "swap in use: $((swapped_kb / 1024)) MiB"
zsm_metric zram_swap.filled.swap_used_kb "$swapped_kb"
# 1.5 x MemTotal written, at most MemTotal resident: half of MemTotal, at
# least, is in swap.
if [ "$swapped_kb" -lt $((memtotal_kb / 2)) ]; then
	echo "FAIL: only $((swapped_kb / 1024)) MiB swapped out, expected >= $((memtotal_kb / 2048)) MiB"
	exit 1
fi
kill -USR1 "$pid"
rc=0
wait "$pid" || rc=$?
pid=
step "checked"
cat /tmp/zram_swap.out
pages=$(pattern_result /tmp/zram_swap.out pages)
verified=$(pattern_result /tmp/zram_swap.out verified)
bad=$(pattern_result /tmp/zram_swap.out corrupt)
[ -n "$pages" ] || { echo "FAIL: no result from zsm_pattern (status $rc)"; exit 1; }
# shellcheck disable=SC2046 # one positional parameter per field
set -- $(cat /sys/block/zram0/mm_stat)
zsm_metric zram_swap.pages_verified "$verified"
zsm_metric zram_swap.corrupt "$bad"
zsm_metric zram_swap.mem_used_max "$5"
[ "$rc" -eq 0 ] && [ "$bad" -eq 0 ]
# Every page of 1.5 x MemTotal was read back.
[ "$pages" -ge $((memtotal_kb * 3 / 2 / (ZSM_PAGE_SIZE / 1024) - 1)) ] ||
	{ echo "FAIL: $pages pages checked, 1.5 x MemTotal is more"; exit 1; }

step "swapoff: only the swap header is left"
swapoff /dev/zram0
zram_accounting swapoff 30
# shellcheck disable=SC2046 # one positional parameter per field
set -- $(cat /sys/block/zram0/mm_stat)
if [ "$1" -gt "$ZSM_PAGE_SIZE" ]; then
	echo "FAIL: zram still stores $(($1 / ZSM_PAGE_SIZE)) pages after swapoff"
	exit 1
fi

step "reset, unload"
echo 1 >/sys/block/zram0/reset
rmmod zram
zsm_rmmod zsm zsmalloc
trap - EXIT
[ -z "$zswap_was" ] || echo "$zswap_was" >$ZSWAP
echo "$cluster_was" >/proc/sys/vm/page-cluster
