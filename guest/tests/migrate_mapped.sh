# SPDX-License-Identifier: GPL-2.0
# Memory offline while the objects of the block are mapped without pause
# (tests/zsm_test_migrate.ko, its mappers_start/mappers_stop commands).
#
# A small pool (nr_objs objects, a few dozen pages) is created after one
# memory block was made movable (zsm_movable_block), so that all its
# object pages are in that block. One kthread per CPU, bound to it, then
# maps the pool's objects in a tight loop (ZS_MM_RO with the CRC checked,
# ZS_MM_RW rewriting them), each map held map_hold_us like a consumer
# decompressing, so that every zspage of the block is mapped most of the
# time. Page migration of a mapped zspage must wait for its mappers (a
# bounded wait, new mappers holding off), not give up: the block must go
# offline within $limit s while the mappers run
# (migrate.mapped_offline_ok=1), the mappers must have mapped meanwhile
# (migrate.mapped_offline_maps > 0), no page of a live zspage may be left
# in the block, and every object must read back (migrate.mapped.corrupt=0).
# zsm may turn a synchronous migration down only when a mapper outlasts
# the whole bounded wait, which a 500 us hold does only when its vCPU is
# not run: at most $busy_limit times (migrate.mapped_offline_sync_busy; 0
# in the runs seen, 167 with migration that gives up instead of waiting).
. /zsm/lib.sh

d=/sys/kernel/debug/zsm_test_migrate
limit=30
busy_limit=20
movable=
offlined=

cleanup() {
	[ ! -e "$d/ctl" ] || echo mappers_stop >"$d/ctl" 2>/dev/null || true
	if [ -n "$offlined" ]; then
		zsm_block_online "$offlined" || true
	fi
	zsm_rmmod zsm_test_migrate zsm
	zsm_block_give_back "$movable"
}
trap cleanup EXIT

# Pages whose migration failed after core mm's retries (/proc/vmstat).
pgmigrate_fail() {
	awk '$1 == "pgmigrate_fail" { print $2 }' /proc/vmstat
}

# Synchronous migrations zsm turned down: the zspage stayed mapped for the
# whole bounded wait.
sync_busy() {
	awk '$1 == "migrate_sync_busy" { print $2 }' "$d/stats"
}

[ -r "$ZSM_MEM/block_size_bytes" ] || zsm_skip "no memory hotplug sysfs"
movable=$(zsm_movable_block)
[ -n "$movable" ] || zsm_skip "no memory block can be made movable"
echo "movable memory block: $movable"

zsm_insmod zsm.ko
zsm_insmod tests/zsm_test_migrate.ko nr_objs=2 min_size=3000 \
	max_size=3000 map_hold_us=500 \
	block_bytes="0x$(cat "$ZSM_MEM/block_size_bytes")"
echo fill >"$d/ctl"
echo "zspage page references per memory block:"
cat "$d/blocks"
grep -q "^$movable " "$d/blocks" ||
	{ echo "no zspage page in the movable block $movable"; exit 1; }

echo mappers_start >"$d/ctl"
sleep 1
m0=$(cat "$d/maps")
f0=$(pgmigrate_fail)
b0=$(sync_busy)
t0=$(zsm_uptime_cs)
ok=0
if zsm_block_offline "$movable" $limit; then
	offlined=$movable
	ok=1
fi
t1=$(zsm_uptime_cs)
m1=$(cat "$d/maps")
f1=$(pgmigrate_fail)
b1=$(sync_busy)
echo "mappers_stop migrate.mapped" >"$d/ctl"
zsm_metric migrate.mapped_offline_ok $ok
zsm_metric migrate.mapped_offline_maps $((m1 - m0))
zsm_metric migrate.mapped_offline_ms $(((t1 - t0) * 10))
zsm_metric migrate.mapped_offline_migrate_fail $((f1 - f0))
zsm_metric migrate.mapped_offline_sync_busy $((b1 - b0))
[ $ok = 1 ] ||
	{ echo "block $movable did not go offline in $limit s while mapped"; exit 1; }
[ $((m1 - m0)) -gt 0 ] || { echo "no map during the offline"; exit 1; }
[ $((b1 - b0)) -le $busy_limit ] ||
	{ echo "migration gave up $((b1 - b0)) times (limit $busy_limit)"; exit 1; }
echo "check_block $movable" >"$d/ctl"
echo "verify migrate.mapped" >"$d/ctl"
zsm_block_online "$offlined"
offlined=
echo destroy >"$d/ctl"
