# SPDX-License-Identifier: GPL-2.0
# zsm's CPU-hotplug prepare callback (zsm_cpu_prepare(): a page-table map
# area and a copy buffer per nesting level) frees what it allocated when
# one of its allocations fails.
#
# With CPU 1 offline, zsm.ko is loaded; this shell then fails its own
# n-th allocation made with zsm's code on the stack (/proc/self/fail-nth;
# failslab and fail_page_alloc filtered to zsm's text with their stack
# trace filters) while it brings CPU 1 online: BP prepare callbacks run
# in the task that writes cpu1/online. The online must fail, and zsm.ko is
# unloaded with CPU 1 still offline, so that zsm's CPU-dead callback never
# runs for it. n goes 1, 2, ... until the online succeeds with the n-th
# allocation not reached (every allocation of the callback, and of the
# allocators below it, was failed once; cpu_prepare.failure_points
# counts those that failed the online; more than 32 fails the test). The
# callback sets up both map modes' areas whatever map_mode is.
# Then, after a kmemleak scan, nothing may be reported
# (cpu_prepare.leaked_objects=0), and the kernel must hold as many vmap
# areas as before (cpu_prepare.leaked_vmaps=0).
. /zsm/lib.sh

cpu1=/sys/devices/system/cpu/cpu1/online
FS=/sys/kernel/debug/failslab
FP=/sys/kernel/debug/fail_page_alloc
KL=/sys/kernel/debug/kmemleak
[ -w "$cpu1" ] || zsm_skip "CPU 1 cannot be taken offline"
if [ ! -d "$FS" ] || [ ! -d "$FP" ]; then
	zsm_skip "no failslab/fail_page_alloc"
fi
[ -e "$KL" ] || zsm_skip "no kmemleak"

filters_off() {
	local d
	for d in "$FS" "$FP"; do
		echo 0 >"$d/require-start"
		echo -1 >"$d/require-end" 2>/dev/null ||
			echo 18446744073709551615 >"$d/require-end"
	done
}

cleanup() {
	echo 0 >/proc/self/fail-nth 2>/dev/null || true
	filters_off
	echo 1 >"$cpu1" 2>/dev/null || true
	zsm_fair_server_restore
	zsm_rmmod zsm
}
trap cleanup EXIT
zsm_fair_server_off

# vmap_areas: vmap() areas (zsm's map areas are such).
vmap_areas() {
	grep -c ' vmap$\| vmap ' /proc/vmallocinfo || true
}

# zsm_range: "start end" of zsm.ko's memory (/proc/modules: its text
# base and its total size, which covers the text); only allocations with
# an address in it on the stack count for fail-nth.
zsm_range() {
	local name size base
	while read -r name size _ _ _ base _; do
		[ "$name" = zsm ] || continue
		printf '0x%x 0x%x\n' $((base)) $((base + size))
		return
	done </proc/modules
}

echo 0 >"$cpu1"
echo clear >"$KL"
v0=$(vmap_areas)
for d in "$FS" "$FP"; do
	echo N >"$d/ignore-gfp-wait"
	echo 0 >"$d/verbose"
	echo 32 >"$d/stacktrace-depth"
done
echo 0 >"$FP/min-order"
echo N >"$FP/ignore-gfp-highmem"

n=1
points=0
finished=0
while [ $n -le 32 ]; do
	zsm_insmod zsm.ko
	range=$(zsm_range)
	for d in "$FS" "$FP"; do
		echo "${range% *}" >"$d/require-start"
		echo "${range#* }" >"$d/require-end"
	done
	echo $n >/proc/self/fail-nth
	if echo 1 >"$cpu1" 2>/dev/null; then
		online=1
	else
		online=0
	fi
	read -r left </proc/self/fail-nth
	echo 0 >/proc/self/fail-nth
	filters_off
	if [ $online = 1 ]; then
		# A failure the allocator absorbed (SLUB retries a smaller
		# order), or none left to fail: then done.
		echo 0 >"$cpu1"
		zsm_rmmod zsm
		if [ "$left" != 0 ]; then
			finished=1
			break
		fi
		n=$((n + 1))
		continue
	fi
	[ "$left" = 0 ] ||
		{ echo "CPU 1 did not come online, no allocation failed"; exit 1; }
	echo "allocation $n of zsm's prepare callback failed: CPU 1 stays offline"
	points=$((points + 1))
	zsm_rmmod zsm
	n=$((n + 1))
done
echo 1 >"$cpu1"
[ $points -gt 0 ] || { echo "no allocation of the callback was failed"; exit 1; }
[ $finished = 1 ] ||
	{ echo "the callback makes more than 32 allocations: not all were failed"; exit 1; }

# kmemleak reports an object from its second scan, once 5 s old.
sleep 6
echo scan >"$KL"
echo scan >"$KL"
report=$(cat "$KL")
leaked=$(echo "$report" | grep -c 'unreferenced object' || true)
v1=$(vmap_areas)
zsm_metric cpu_prepare.failure_points $points
zsm_metric cpu_prepare.leaked_objects "$leaked"
zsm_metric cpu_prepare.leaked_vmaps $((v1 - v0))
if [ "$leaked" -ne 0 ]; then
	echo "$report"
	echo clear >"$KL"
	echo "kmemleak: $leaked objects leaked"
	exit 1
fi
[ $((v1 - v0)) -eq 0 ] || { echo "$((v1 - v0)) vmap areas leaked"; exit 1; }
