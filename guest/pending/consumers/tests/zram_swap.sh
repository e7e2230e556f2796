# SPDX-License-Identifier: GPL-2.0
# zram_swap: the kernel's own zram.ko on zsm as the only swap device.
#
# zsm_pattern dirties 1.5 times MemTotal of anonymous memory, one pattern
# page per index (zero, same-filled, random, partly random: compressed
# sizes over all of zsm's classes), so most of it must go through swap to
# zram and zsm. While it is paused with everything written, zram's mm_stat
# must agree with zsm's accounting (debugfs zsm/zram0/summary) and swap
# must be in use. Then it reads every page back in a scattered order and
# compares it with the regenerated pattern, rewrites a third of the pages
# and checks all of them again. After swapoff zsm must hold no object.
#
# Runtime: first the guest's RAM is cut down to about $RAM_MIB MiB
# (zsm.zram_swap_ram=<MiB> on the kernel command line; 0 keeps all of it)
# by taking memory blocks offline, highest first; they come back online
# at the end. Under TCG with KASAN a page costs about 1.5 ms each way, so
# the test takes minutes, not the better part of an hour.
#
# Metrics: zram_swap.pages_verified, zram_swap.corrupt, zram_swap.memtotal_mib,
# the swap in use and zram's memory when filled, its peak. zswap is kept
# off meanwhile, and vm.page-cluster is 0 (no swap readahead, as usual for
# zram swap). Skips where zram cannot run on zsm (see zram_ext4.sh). With
# zsm.alloc=zsmalloc on the kernel command line, the same test runs on the
# kernel's zsmalloc.ko instead (for comparison; zsm's own checks are left
# out).
. /zsm/lib.sh

SEED=4242
PCT=150
ZSMDBG=/sys/kernel/debug/zsm/zram0
ZSWAP=/sys/module/zswap/parameters/enabled
MEM=/sys/devices/system/memory
zswap_was=
cluster_was=
offlined=
pid=

param() {
	sed -n "s/.*$1=\\([^ ]*\\).*/\\1/p" /proc/cmdline
}

ALLOC=$(param zsm.alloc)
RAM_MIB=$(param zsm.zram_swap_ram)
RAM_MIB=${RAM_MIB:-256}

cleanup() {
	[ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true
	swapoff /dev/zram0 2>/dev/null || true
	if [ -e /sys/block/zram0/reset ]; then
		echo 1 >/sys/block/zram0/reset || true
	fi
	zsm_rmmod zram zsm zsmalloc
	[ -z "$zswap_was" ] || echo "$zswap_was" >$ZSWAP || true
	[ -z "$cluster_was" ] || echo "$cluster_was" >/proc/sys/vm/page-cluster
	restore_ram
}
trap cleanup EXIT

T0=$(date +%s)
step() {
	echo "=== zram_swap [$(($(date +%s) - T0))s]: $*"
}

meminfo() {
	awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo
}

# shrink_ram: take memory blocks offline, highest first, while MemTotal
# stays at or above $RAM_MIB MiB. A block that will not go offline
# (unmovable pages: EBUSY, holes: EINVAL) is skipped; offlining retries
# migration until interrupted, hence the timeout.
shrink_ram() {
	local bs b
	if [ "$RAM_MIB" -eq 0 ] || [ ! -r $MEM/block_size_bytes ]; then
		return 0
	fi
	bs=$(($(printf '%d' "0x$(cat $MEM/block_size_bytes)") / 1024))
	for b in $(cd $MEM && echo memory* | tr ' ' '\n' | sed 's/^memory//' |
		   sort -rn); do
		[ $(($(meminfo MemTotal) - bs)) -ge $((RAM_MIB * 1024)) ] || break
		if [ "$b" = 0 ] || [ "$(cat "$MEM/memory$b/state")" != online ]; then
			continue
		fi
		if timeout 60 sh -c "echo offline >$MEM/memory$b/state" 2>/dev/null; then
			offlined="$offlined $b"
		fi
	done
}

# restore_ram: the offlined blocks back online, as kernel memory (as the
# boot memory was).
restore_ram() {
	local b
	for b in $offlined; do
		echo online_kernel >"$MEM/memory$b/state" 2>/dev/null ||
			echo online >"$MEM/memory$b/state" || true
	done
	offlined=
}

load_dep() {
	[ -n "$(find "$KMODS" -name "$1.ko*" 2>/dev/null | head -n 1)" ] ||
		return 0
	zsm_loaded "$1" || modprobe "$1"
}

# load_zram: zram.ko's dependencies except zsmalloc, then zram.ko itself
# with insmod (modprobe would pull zsmalloc.ko in).
load_zram() {
	local dep
	if [ -f "$KMODS/modules.dep" ]; then
		# shellcheck disable=SC2013 # one word per dependency
		for dep in $(grep '/zram\.ko[.a-z]*:' "$KMODS/modules.dep" |
			     cut -d: -f2); do
			dep=${dep##*/}
			dep=${dep%%.ko*}
			[ "$dep" = zsmalloc ] || load_dep "$dep"
		done
	fi
	zsm_kmod zram num_devices=1
}

# load_allocator: zsm.ko (zram must bind to it), or zsmalloc.ko when asked.
load_allocator() {
	if [ "$ALLOC" = zsmalloc ]; then
		zsm_kmod zsmalloc
		load_zram
		return
	fi
	zsm_insmod zsm.ko
	if ! grep -q ' zs_malloc[[:space:]]*\[zsm\]' /proc/kallsyms; then
		zsm_skip "zsm exports zsm_* (ZSM_RENAME=1): zram uses the kernel's zsmalloc here"
	fi
	load_zram
	if zsm_loaded zsmalloc; then
		echo "FAIL: zsmalloc.ko is loaded"
		exit 1
	fi
	[ -e /sys/module/zsm/holders/zram ] ||
		{ echo "FAIL: zram is not a holder of zsm"; exit 1; }
}

summary() {
	if [ "$ALLOC" = zsmalloc ]; then echo 0; return; fi
	awk -v k="$1" '$1 == k { print $2 }' "$ZSMDBG/summary"
}

# check_accounting <label>: zram's mm_stat against zsm's summary (as in
# zram_ext4.sh); swap may still be moving, so read until mm_stat is the
# same before and after.
check_accounting() {
	local label=$1 a b i=0 objs pages stored same used
	while :; do
		a=$(cat /sys/block/zram0/mm_stat)
		objs=$(summary objects)
		pages=$(summary pages_total)
		b=$(cat /sys/block/zram0/mm_stat)
		[ "$a" != "$b" ] || break
		i=$((i + 1))
		[ $i -lt 30 ] || { echo "mm_stat does not settle"; return 1; }
		sleep 1
	done
	# shellcheck disable=SC2086 # one positional parameter per field
	set -- $a
	stored=$(($1 / 4096))
	used=$3
	same=$6
	echo "$label: mm_stat $a"
	echo "$label: zsm pages_total $pages objects $objs"
	zsm_metric "zram_swap.$label.orig_data_size" "$1"
	zsm_metric "zram_swap.$label.mem_used_total" "$used"
	zsm_metric "zram_swap.$label.same_pages" "$same"
	zsm_metric "zram_swap.$label.zsm_objects" "$objs"
	[ "$ALLOC" != zsmalloc ] || return 0
	if [ $((pages * 4096)) -ne "$used" ]; then
		echo "FAIL: zsm pages_total*4096 $((pages * 4096)) != mem_used_total $used"
		return 1
	fi
	if [ "$objs" -ne $((stored - same)) ]; then
		echo "FAIL: zsm objects $objs != zram pages stored $stored - same $same"
		return 1
	fi
}

[ -n "$(find "$KMODS" -name 'zram.ko*' | head -n 1)" ] ||
	zsm_skip "the kernel has no zram module"

step "load ${ALLOC:-zsm}, then the kernel's zram.ko"
load_allocator

step "RAM down to about $RAM_MIB MiB (MemTotal $(($(meminfo MemTotal) / 1024)) MiB)"
shrink_ram
memtotal_kb=$(meminfo MemTotal)
echo "offline memory blocks:${offlined:- none}; MemTotal $((memtotal_kb / 1024)) MiB"
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
echo $((memtotal_kb * 2))K >/sys/block/zram0/disksize
mkswap /dev/zram0 >/dev/null
swapon /dev/zram0
cat /proc/swaps
[ "$(grep -c '^/' /proc/swaps)" -eq 1 ]
echo "zram0 $(cat /sys/block/zram0/comp_algorithm)"

step "dirty $PCT% of MemTotal, check it all"
zsm_pattern mem -r $PCT -s $SEED -w -P >/tmp/zram_swap.out 2>&1 &
pid=$!
while ! grep -q '^zsm_pattern: filled' /tmp/zram_swap.out; do
	if ! kill -0 "$pid" 2>/dev/null; then
		cat /tmp/zram_swap.out
		pid=
		echo "FAIL: zsm_pattern ended before filling"
		exit 1
	fi
	sleep 1
done
step "filled"
check_accounting filled
swapped_kb=$(($(meminfo SwapTotal) - $(meminfo SwapFree)))
echo "swap in use: $((swapped_kb / 1024)) MiB"
zsm_metric zram_swap.filled.swap_used_kb "$swapped_kb"
[ "$swapped_kb" -gt 0 ] || { echo "FAIL: nothing was swapped out"; exit 1; }
kill -USR1 "$pid"
rc=0
wait "$pid" || rc=$?
pid=
step "checked"
cat /tmp/zram_swap.out
res=$(grep '^result ' /tmp/zram_swap.out || true)
[ -n "$res" ] || { echo "FAIL: no result from zsm_pattern (status $rc)"; exit 1; }
verified=$(echo "$res" | sed 's/.* verified=\([0-9]*\).*/\1/')
bad=$(echo "$res" | sed 's/.* corrupt=\([0-9]*\).*/\1/')
# shellcheck disable=SC2046 # one positional parameter per field
set -- $(cat /sys/block/zram0/mm_stat)
zsm_metric zram_swap.pages_verified "$verified"
zsm_metric zram_swap.corrupt "$bad"
zsm_metric zram_swap.mem_used_max "$5"
[ "$rc" -eq 0 ] && [ "$bad" -eq 0 ]

step "swapoff: zsm must be empty"
swapoff /dev/zram0
objs=$(summary objects)
echo "after swapoff: mm_stat $(cat /sys/block/zram0/mm_stat), zsm objects $objs"
zsm_metric zram_swap.objects_after_swapoff "$objs"
[ "$objs" -eq 0 ] || { echo "FAIL: $objs objects left in zsm"; exit 1; }

step "reset, unload, memory back"
echo 1 >/sys/block/zram0/reset
rmmod zram
zsm_rmmod zsm zsmalloc
trap - EXIT
[ -z "$zswap_was" ] || echo "$zswap_was" >$ZSWAP
echo "$cluster_was" >/proc/sys/vm/page-cluster
restore_ram
