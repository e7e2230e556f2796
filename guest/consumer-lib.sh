# SPDX-License-Identifier: GPL-2.0
#
# Helpers of the consumer tests (guest/tests/zram_ext4.sh, zram_swap.sh,
# zswap.sh) and of the benchmarks' zswap workload: the kernel's own zram and zswap on zsm. In the guest as
# /zsm/consumer-lib.sh; source it after /zsm/lib.sh and set TEST first.

T0=$(date +%s)

# step <text>: a progress line with the seconds since the test began.
step() {
	echo "=== $TEST [$(($(date +%s) - T0))s]: $*"
}

# meminfo <key>: a /proc/meminfo value in kB.
meminfo() {
	awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo
}

# load_dep <module>: load a module of the kernel (ext4, virtio_blk, ...)
# with its dependencies, unless it is built in or already loaded.
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

# zram_on_zsm: zsm.ko, then the kernel's unmodified zram.ko, which must bind
# to zsm's zs_* exports (modversion CRCs): zsmalloc.ko stays unloaded and
# zram is a holder of zsm. Skips where zsm exports zsm_* (ZSM_RENAME=1).
# Where zsm is built into the kernel, zram binds to the built-in zsm.
zram_on_zsm() {
	[ -n "$(find "$KMODS" -name 'zram.ko*' | head -n 1)" ] ||
		zsm_skip "the kernel has no zram module"
	if zsm_builtin; then
		echo "zsm is built into the kernel"
		load_zram
		grep -E '^(zram|zsmalloc) ' /proc/modules
		if zsm_loaded zsmalloc; then
			echo "FAIL: zsmalloc.ko is loaded"
			return 1
		fi
		return 0
	fi
	zsm_insmod zsm.ko
	if ! grep -q ' zs_malloc[[:space:]]*\[zsm\]' /proc/kallsyms; then
		zsm_skip "zsm exports zsm_* (ZSM_RENAME=1): zram uses the kernel's zsmalloc here"
	fi
	load_zram
	grep -E '^(zsm|zram|zsmalloc) ' /proc/modules
	if zsm_loaded zsmalloc; then
		echo "FAIL: zsmalloc.ko is loaded"
		return 1
	fi
	[ -e /sys/module/zsm/holders/zram ] ||
		{ echo "FAIL: zram is not a holder of zsm"; return 1; }
}

# zram_accounting <label> [tries]: zram0's mm_stat against zsm's own
# accounting (debugfs zsm/zram0/summary): mem_used_total == total_pages *
# page size (zs_get_total_pages(): object pages and metadata),
# pages_compacted equal, zsm's objects == the pages zram stores less
# its same-filled pages. Both are read until mm_stat is the same before
# and after (up to [tries] seconds, default 10). Reports the figures as
# metrics <TEST>.<label>.*. With ZSM_NO_ACCOUNTING=1 (zram on zsmalloc, for
# comparison) only the mm_stat metrics.
zram_accounting() {
	local label=$1 tries=${2:-10} a b i=0 objs=0 pages=0 compacted=0
	local stored used same zc dbg=/sys/kernel/debug/zsm/zram0/summary
	while :; do
		a=$(cat /sys/block/zram0/mm_stat)
		if [ "${ZSM_NO_ACCOUNTING:-0}" = 0 ]; then
			objs=$(awk '$1 == "objects" { print $2 }' $dbg)
			pages=$(awk '$1 == "total_pages" { print $2 }' $dbg)
			compacted=$(awk '$1 == "pages_compacted" { print $2 }' $dbg)
		fi
		b=$(cat /sys/block/zram0/mm_stat)
		[ "$a" != "$b" ] || break
		i=$((i + 1))
		[ $i -lt "$tries" ] || { echo "mm_stat does not settle"; return 1; }
		sleep 1
	done
	# shellcheck disable=SC2086 # one positional parameter per field
	set -- $a
	stored=$(($1 / ZSM_PAGE_SIZE))
	used=$3
	same=$6
	zc=$7
	echo "$label: mm_stat $a"
	echo "$label: zsm total_pages $pages objects $objs pages_compacted $compacted"
	zsm_metric "$TEST.$label.orig_data_size" "$1"
	zsm_metric "$TEST.$label.compr_data_size" "$2"
	zsm_metric "$TEST.$label.mem_used_total" "$used"
	zsm_metric "$TEST.$label.same_pages" "$same"
	zsm_metric "$TEST.$label.pages_compacted" "$zc"
	zsm_metric "$TEST.$label.huge_pages" "${8:-0}"
	zsm_metric "$TEST.$label.zsm_objects" "$objs"
	[ "${ZSM_NO_ACCOUNTING:-0}" = 0 ] || return 0
	if [ $((pages * ZSM_PAGE_SIZE)) -ne "$used" ]; then
		echo "FAIL: zsm total_pages*$ZSM_PAGE_SIZE $((pages * ZSM_PAGE_SIZE)) != mem_used_total $used"
		return 1
	fi
	if [ "$compacted" -ne "$zc" ]; then
		echo "FAIL: zsm pages_compacted $compacted != mm_stat $zc"
		return 1
	fi
	if [ "$objs" -ne $((stored - same)) ]; then
		echo "FAIL: zsm objects $objs != zram pages stored $stored - same $same"
		return 1
	fi
}

# rmmod_wait <module>: unload a module if it is loaded, retrying for up
# to 30 s while it is in use (a zswap pool goes away asynchronously).
rmmod_wait() {
	local i=0
	zsm_loaded "$1" || return 0
	while ! rmmod "$1" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -ge 30 ]; then
			echo "FAIL: $1 still in use: $(grep "^$1 " /proc/modules)"
			return 1
		fi
		sleep 1
	done
}

# pattern_result <file> <key>: a field of zsm_pattern's "result" line.
pattern_result() {
	sed -n "s/^result.* $2=\\([0-9]*\\).*/\\1/p" "$1"
}

# pattern_wait <pid> <output file>: wait until zsm_pattern -P has written
# everything and paused; fails if it ended first.
pattern_wait() {
	while ! grep -q '^zsm_pattern: filled' "$2"; do
		if ! kill -0 "$1" 2>/dev/null; then
			cat "$2"
			echo "FAIL: zsm_pattern ended before filling"
			return 1
		fi
		sleep 1
	done
}

# zswap's parameters and debugfs counters (zswap.sh, zswap61.sh).
ZSWAP_P=/sys/module/zswap/parameters
ZSWAP_DBG=/sys/kernel/debug/zswap
zswap_saved=

# zswap_save <param>...: remember zswap parameters for zswap_restore.
zswap_save() {
	local k
	for k in "$@"; do
		zswap_saved="$zswap_saved $k=$(cat "$ZSWAP_P/$k")"
	done
}

# zswap_restore: the saved parameters back. Switching the zpool back
# retires zswap's pool, which goes away (and drops its reference on its
# zpool module) once it is empty.
zswap_restore() {
	local kv
	for kv in $zswap_saved; do
		echo "${kv#*=}" >"$ZSWAP_P/${kv%%=*}" 2>/dev/null || true
	done
	zswap_saved=
}

# zswap_dbg <counter>: one of zswap's debugfs counters, 0 if absent.
zswap_dbg() {
	if [ -e "$ZSWAP_DBG/$1" ]; then cat "$ZSWAP_DBG/$1"; else echo 0; fi
}

# zsm_zswap_sum <key>: a summary value summed over zsm's zswap pools.
zsm_zswap_sum() {
	cat /sys/kernel/debug/zsm/zswap*/summary 2>/dev/null |
		awk -v k="$1" '$1 == k { s += $2 } END { print s + 0 }'
}

# zsm_zswap_max <key>: the largest value of a summary key over zsm's
# zswap pools.
zsm_zswap_max() {
	cat /sys/kernel/debug/zsm/zswap*/summary 2>/dev/null |
		awk -v k="$1" '$1 == k && $2 > m { m = $2 } END { print m + 0 }'
}

# swap_on_vda: the runner's virtio disk (zsm-run.py --disk) as the only
# swap device.
swap_on_vda() {
	local i=0
	load_dep virtio_pci
	load_dep virtio_blk
	while [ ! -b /dev/vda ] && [ $i -lt 10 ]; do
		sleep 1
		i=$((i + 1))
	done
	[ -b /dev/vda ] ||
		{ echo "FAIL: no virtio disk (scripts/zsm-run.py --disk MIB)"; return 1; }
	swapoff -a 2>/dev/null || true
	mkswap /dev/vda >/dev/null
	swapon /dev/vda
}
