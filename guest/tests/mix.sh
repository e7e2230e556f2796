# SPDX-License-Identifier: GPL-2.0
# Everything at once on one pool, on both vCPUs (tests/zsm_test_mix.c):
# mappers checking and rewriting objects on every CPU, eviction to a
# backing store with reloads, zs_compact(), and from this script core
# mm's compaction (/proc/sys/vm/compact_memory, which migrates zsm's
# pages) and memory offline/online of a movable block holding the pool's
# pages, for $secs seconds. Then every object is checked (in the pool or
# the store): mix.corrupt=0, and each activity's count is > 0
# (mix.maps, mix.evicted, mix.compacted, mix.migrated, mix.offlined).
. /zsm/lib.sh

d=/sys/kernel/debug/zsm_test_mix
secs=25
movable=
offline_now=

cleanup() {
	if [ -n "$offline_now" ]; then
		echo online_movable >"$ZSM_MEM/memory$movable/state" || true
	fi
	[ ! -e "$d/ctl" ] || echo stop >"$d/ctl" 2>/dev/null || true
	zsm_rmmod zsm_test_mix zsm
	zsm_block_give_back "$movable"
}
trap cleanup EXIT

[ -r "$ZSM_MEM/block_size_bytes" ] || zsm_skip "no memory hotplug sysfs"
movable=$(zsm_movable_block)
[ -n "$movable" ] || zsm_skip "no memory block can be made movable"
echo "movable memory block: $movable"

zsm_insmod zsm.ko
zsm_insmod tests/zsm_test_mix.ko
echo start >"$d/ctl"
t_end=$(($(zsm_uptime_cs) + secs * 100))
offlined=0
tries=0
compactions=0
while [ "$(zsm_uptime_cs)" -lt $t_end ]; do
	echo 1 >/proc/sys/vm/compact_memory
	compactions=$((compactions + 1))
	tries=$((tries + 1))
	offline_now=1
	if zsm_block_offline "$movable" 20 2>/dev/null; then
		offlined=$((offlined + 1))
		# Back as ZONE_MOVABLE, so that it can go offline again.
		echo online_movable >"$ZSM_MEM/memory$movable/state"
	fi
	offline_now=
	sleep 1
done
migrated=$(cat "$d/migrated")
rc=0
if ! echo stop >"$d/ctl"; then
	rc=1
fi
zsm_metric mix.offlined $offlined
zsm_metric mix.offline_tries $tries
zsm_metric mix.kernel_compactions $compactions
echo "mix: $offlined of $tries offlines, $migrated pages migrated by zsm"
[ $rc -eq 0 ] || { echo "zsm_test_mix: stop failed"; exit 1; }
[ "$offlined" -gt 0 ] || { echo "the block never went offline"; exit 1; }
[ "$migrated" -gt 0 ] || { echo "no zsm page was migrated"; exit 1; }
