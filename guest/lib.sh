# SPDX-License-Identifier: GPL-2.0
#
# Helpers for guest test scripts: `. /zsm/lib.sh` at the top of a test.
# Tests run under `sh -e` (busybox ash); see the protocol in guest/init.

ZSM_MODULES=/zsm/modules
KVER=$(uname -r)
KMODS=/lib/modules/$KVER
# The kernel's page size in bytes (BusyBox has no getconf): 4096, or 16384
# in the arm64 16 KiB guest.
ZSM_PAGE_SIZE=$(awk '$1 == "KernelPageSize:" { print $2 * 1024; exit }' /proc/self/smaps)
: "${ZSM_PAGE_SIZE:?no KernelPageSize in /proc/self/smaps}"

# Write a line into the kernel log, ordered with kernel messages.
zsm_kmsg() {
	echo "$*" >/dev/kmsg
}

# zsm_metric <name> <value>: reported by the runner at the end of the run.
zsm_metric() {
	zsm_kmsg "zsm-metric $1=$2"
}

# zsm_skip <reason>: end the test as skipped.
zsm_skip() {
	echo "skip: $*"
	exit 77
}

# zsm_insmod <path relative to the repository> [params...]: load one of ours.
# Through zsm_finit (guest/progs/zsm_finit.c), not BusyBox's insmod, which
# retries a failed load with init_module(): a test module's init would run
# twice, and a second run that passes would hide the first one's failure.
#
# zsm.ko where zsm is built into the kernel (scripts/kernel-builtin.sh):
# nothing to load, the tests use the built-in zsm; with parameters the
# test skips (built in, they go on the kernel command line as zsm.<name>).
zsm_insmod() {
	local ko=$ZSM_MODULES/$1
	if [ "$1" = zsm.ko ] && zsm_builtin; then
		[ $# = 1 ] ||
			zsm_skip "zsm is built in: parameters $* need the kernel command line"
		echo "zsm is built into the kernel: not loading zsm.ko"
		return 0
	fi
	shift
	[ -f "$ko" ] || { echo "missing module $ko"; return 1; }
	zsm_finit "$ko" "$@"
}

# zsm_kmod <name> [params...]: load a module of the guest kernel by name
# (e.g. zram), from /lib/modules. Dependencies are not resolved.
zsm_kmod() {
	local name=$1 ko
	shift
	ko=$(find "$KMODS" -name "$name.ko" | head -n 1)
	[ -n "$ko" ] || { echo "missing kernel module $name.ko"; return 1; }
	insmod "$ko" "$@"
}

# zsm_builtin: true when zsm is built into the kernel (its parameters are
# in sysfs, and no module zsm is loaded).
zsm_builtin() {
	[ -d /sys/module/zsm/parameters ] && ! zsm_loaded zsm
}

# zsm_loaded <module>: true when the module is loaded.
zsm_loaded() {
	grep -q "^$1 " /proc/modules
}

# zsm_rmmod <module>...: unload, if loaded.
zsm_rmmod() {
	local m
	for m in "$@"; do
		if zsm_loaded "$m"; then
			rmmod "$m"
		fi
	done
}

# CPU hotplug on the 6.12 guest kernel (map_hotplug, stress).
#
# Taking a CPU offline now and then warns "Dying CPU not properly
# vacated!" in sched_cpu_dying() with only the stopper thread queued, and
# later "dl_rq->running_bw > old": the CPU's fair server (a SCHED_DEADLINE
# server, new in 6.12, that guards CFS tasks against RT/DL starvation) is
# counted in rq->nr_running while it is enqueued, and its bandwidth
# accounting races with the CPU going down. That is the scheduler's, not
# zsm's: it was seen before any zsm pool existed. The guest runs no RT or
# DL task, so the fair server has nothing to guard against: tests that
# cycle CPUs switch it off (runtime 0) on every CPU for the duration, and
# restore it afterwards. Without debugfs support (older kernels) nothing is
# done.
ZSM_FAIR_SERVER=/sys/kernel/debug/sched/fair_server
zsm_fair_saved=

# zsm_fair_server_off: save the fair servers' runtimes and set them to 0.
zsm_fair_server_off() {
	local f
	for f in "$ZSM_FAIR_SERVER"/cpu*/runtime; do
		[ -w "$f" ] || continue
		zsm_fair_saved="$zsm_fair_saved $f=$(cat "$f")"
		echo 0 >"$f"
	done
}

# zsm_fair_server_restore: undo zsm_fair_server_off (safe to call twice).
zsm_fair_server_restore() {
	local kv
	for kv in $zsm_fair_saved; do
		echo "${kv#*=}" >"${kv%%=*}" || true
	done
	zsm_fair_saved=
}

# Expected-warning fence: WARN splats between begin and end are tolerated
# by the runner, and at least one must occur. Other splats still fail.
zsm_expect_warn_begin() {
	zsm_kmsg "zsm-expect-warn-begin $1"
}

zsm_expect_warn_end() {
	zsm_kmsg "zsm-expect-warn-end $1"
}

# Expected-OOM fence: between begin and end the runner tolerates the OOM
# killer's reports ("invoked oom-killer" with its stack dump) and page
# allocation failure reports; none has to occur. Other splats still fail.
zsm_expect_oom_begin() {
	zsm_kmsg "zsm-expect-oom-begin $1"
}

zsm_expect_oom_end() {
	zsm_kmsg "zsm-expect-oom-end $1"
}

# zsm_kunit_failed <suite>...: true if a loaded suite's debugfs results
# report a top-level "not ok".
zsm_kunit_failed() {
	local s r=1
	for s in "$@"; do
		if grep -q '^not ok' "/sys/kernel/debug/kunit/$s/results"; then
			echo "kunit suite $s failed"
			r=0
		fi
	done
	return $r
}

# zsm_kunit_suites: names of the KUnit suites currently registered.
zsm_kunit_suites() {
	ls /sys/kernel/debug/kunit 2>/dev/null || true
}

# Memory blocks (migrate, migrate_mapped, mix): /sys/devices/system/memory.
ZSM_MEM=/sys/devices/system/memory

# zsm_block_online <block>: online an offline block as kernel memory, as
# the boot memory was.
zsm_block_online() {
	echo online_kernel >"$ZSM_MEM/memory$1/state" ||
		echo online >"$ZSM_MEM/memory$1/state"
}

# zsm_block_offline <block> [seconds]: offline a block; offlining retries
# migration until it succeeds or is interrupted, so it is bounded in time
# (default 120 s).
zsm_block_offline() {
	timeout "${2:-120}" sh -c "echo offline >$ZSM_MEM/memory$1/state"
}

# zsm_movable_block: make one online block (not block 0) ZONE_MOVABLE by
# taking it offline and back with online_movable; print its number, or
# nothing. Done before any zsm page exists, zsm's object pages
# (__GFP_MOVABLE | __GFP_HIGHMEM) then go there first, and nothing
# unmovable does, so that the block can be taken offline again.
zsm_movable_block() {
	local s b
	for s in "$ZSM_MEM"/memory*/state; do
		b=${s%/state}
		b=${b##*/memory}
		if [ "$b" = 0 ] || [ "$(cat "$s")" != online ]; then
			continue
		fi
		zsm_block_offline "$b" 2>/dev/null || continue
		if echo online_movable >"$s"; then
			echo "$b"
			return
		fi
		zsm_block_online "$b"
	done
}

# zsm_uptime_cs: time since boot in hundredths of a second.
zsm_uptime_cs() {
	local up
	read -r up _ </proc/uptime
	echo "${up%.*}${up#*.}" | sed 's/^0*//; s/^$/0/'
}

# zsm_block_give_back <block>: at the end of a test, return a block made
# movable by zsm_movable_block to the kernel zone, if it is online and can
# go offline (it holds no zsm page any more); harmless otherwise.
zsm_block_give_back() {
	[ -n "$1" ] || return 0
	if [ "$(cat "$ZSM_MEM/memory$1/state")" = online ] &&
	   zsm_block_offline "$1" 2>/dev/null; then
		zsm_block_online "$1" || true
	fi
}

# zsm_free_kib: free memory in KiB, with the pages on the per-CPU free
# lists (count: in /proc/zoneinfo) and the per-CPU vmstat deltas folded in
# (vm/stat_refresh).
zsm_free_kib() {
	local pcp free
	echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null || true
	pcp=$(awk '$1 == "count:" { s += $2 } END { print s + 0 }' /proc/zoneinfo)
	free=$(awk '$1 == "MemFree:" { print $2 }' /proc/meminfo)
	echo $((free + pcp * ZSM_PAGE_SIZE / 1024))
}

# zsm_settled_free_kib: zsm_free_kib after sync, drop_caches and a shrink
# of every slab cache (SLUB keeps some empty slabs), once two reads a
# second apart are within 64 KiB (at most 10 tries). What a fill took is
# the drop between two of these around it.
zsm_settled_free_kib() {
	local a b i=0 f
	sync
	echo 3 >/proc/sys/vm/drop_caches
	for f in /sys/kernel/slab/*/shrink; do
		echo 1 >"$f" 2>/dev/null || true
	done
	b=$(zsm_free_kib)
	while [ $i -lt 10 ]; do
		sleep 1
		a=$b
		b=$(zsm_free_kib)
		[ $((a - b)) -gt 64 ] || [ $((b - a)) -gt 64 ] || break
		i=$((i + 1))
	done
	echo "$b"
}
