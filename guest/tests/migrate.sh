# SPDX-License-Identifier: GPL-2.0
# Page migration and memory offline of a fragmented zsm pool
# (tests/zsm_test_migrate.ko, driven through its debugfs "ctl" file; every
# command fails its write when a check fails).
#
# 1. A movable memory block: all boot memory of this guest is DMA32, and
#    once the pool exists, each block with zsm pages also holds unmovable
#    pages (slab, zsm's descriptors and handle blocks among them), so it
#    cannot go offline (EBUSY; blocks 0 and 7 also have holes: EINVAL).
#    Before the pool exists, one block is taken offline and brought back
#    with online_movable: it becomes ZONE_MOVABLE, where zsm's object pages
#    (__GFP_MOVABLE | __GFP_HIGHMEM) are allocated first and nothing
#    unmovable is. No runner option is needed.
# 2. fill: 200,000 objects of 64..2048 bytes (uniform; about 205 MiB of
#    zspages), each written from a seeded pattern with its CRC32 kept;
#    free_half: a random half is freed, leaving partly used zspages in
#    every class.
# 3. While a kthread keeps allocating, freeing, re-writing (ZS_MM_RW) and
#    reading random objects, this script writes 1 to
#    /proc/sys/vm/compact_memory $compactions times.
#    migrate.pages_migrated (growth of zsm_pages_migrated) must be > 0.
# 4. Memory offline: the blocks holding zspage pages are tried, the
#    movable one first, then by the number of zspage page references,
#    until one goes offline; then no live zspage may have a page in that
#    block and every object must read back: migrate.offline_ok=1. The
#    block comes back online as kernel memory (DMA32), as it was.
#    NR_ZSPAGES (/proc/vmstat nr_zspages) must have followed the pages
#    across zones: its growth equals the pool's pages, and it is back to
#    its start value after the pool is destroyed.
# 5. Every live object is read back: migrate.objects_verified, and
#    migrate.corrupt (all corruption seen, churn included) must be 0.
#
# arm64 never takes boot memory offline (its memory notifier refuses:
# "Boot memory [...] offlining attempted"), and all memory of the arm64
# guest is boot memory (QEMU's virt machine hotplugs memory only through
# ACPI, which needs UEFI firmware): there steps 1 and 4 are left out, and
# migration is what compaction (step 3) does.
. /zsm/lib.sh

d=/sys/kernel/debug/zsm_test_migrate
mem=$ZSM_MEM
compactions=15
offlined=
movable=
offline=1
[ "$(uname -m)" != aarch64 ] || offline=0

cleanup() {
	if [ -n "$offlined" ]; then
		zsm_block_online "$offlined" || true
	fi
	zsm_rmmod zsm_test_migrate zsm
	zsm_block_give_back "$movable"
}
trap cleanup EXIT

# mstat <key>: a value from the module's stats file.
mstat() {
	awk -v k="$1" '$1 == k { print $2 }' "$d/stats"
}

# nr_zspages: pages zsm accounts in the zones (NR_ZSPAGES), per-CPU
# deltas folded first.
nr_zspages() {
	echo 1 >/proc/sys/vm/stat_refresh
	awk '$1 == "nr_zspages" { print $2 }' /proc/vmstat
}

[ -r "$mem/block_size_bytes" ] || zsm_skip "no memory hotplug sysfs ($mem)"

# --- 1. a movable memory block, before any zsm page exists ---------------
[ $offline = 0 ] || movable=$(zsm_movable_block)
echo "movable memory block: ${movable:-none}"

# --- 2. a fragmented pool -------------------------------------------------
z0=$(nr_zspages)
zsm_insmod zsm.ko
zsm_insmod tests/zsm_test_migrate.ko nr_objs=200000 min_size=64 \
	max_size=2048 block_bytes="0x$(cat "$mem/block_size_bytes")"
echo fill >"$d/ctl"
echo free_half >"$d/ctl"
echo "after free_half: pool_pages $(mstat pool_pages), live $(mstat live_objects), ideal $(mstat ideal_pages)"

# --- 3. compaction by core mm, with a concurrent user of the pool -------
m0=$(mstat pages_migrated)
echo churn_start >"$d/ctl"
i=0
while [ $i -lt $compactions ]; do
	echo 1 >/proc/sys/vm/compact_memory
	sleep 1
	i=$((i + 1))
done
echo "churn_stop migrate" >"$d/ctl"
m1=$(mstat pages_migrated)
zsm_metric migrate.pages_migrated $((m1 - m0))
echo "verify migrate.compacted" >"$d/ctl"

# --- 4. memory offline ----------------------------------------------------
echo "zspage page references per memory block:"
cat "$d/blocks"
candidates=
[ $offline = 0 ] || candidates=$(sort -k2 -n -r "$d/blocks" | awk -v m="$movable" '
	$1 == m { first = $1; next } { rest = rest " " $1 }
	END { print first rest }')
for b in $candidates; do
	state=$mem/memory$b/state
	if [ ! -w "$state" ] || [ "$(cat "$state")" != online ]; then
		continue
	fi
	if zsm_block_offline "$b"; then
		offlined=$b
		break
	fi
	echo "memory block $b did not go offline"
done
offline_ok=0
if [ -n "$offlined" ]; then
	echo "memory block $offlined offline"
	m2=$(mstat pages_migrated)
	zsm_metric migrate.offline_pages_migrated $((m2 - m1))
	echo "check_block $offlined" >"$d/ctl"
	echo "verify migrate.offline" >"$d/ctl"
	# Pages moved from ZONE_MOVABLE to DMA32 are accounted there.
	z1=$(nr_zspages)
	p1=$(mstat pool_pages)
	[ $((z1 - z0)) = "$p1" ] ||
		{ echo "NR_ZSPAGES grew by $((z1 - z0)), the pool has $p1 pages"; exit 1; }
	zsm_block_online "$offlined"
	[ "$offlined" != "$movable" ] || movable=
	offlined=
	offline_ok=1
fi
if [ $offline = 0 ]; then
	echo "memory offline: not on arm64 (boot memory stays online)"
else
	zsm_metric migrate.offline_ok $offline_ok
fi

echo "verify migrate" >"$d/ctl"
echo destroy >"$d/ctl"
z2=$(nr_zspages)
[ "$z2" = "$z0" ] ||
	{ echo "NR_ZSPAGES is $z2 after destroy, was $z0 before"; exit 1; }
[ $((m1 - m0)) -gt 0 ] || { echo "no zsm page was migrated"; exit 1; }
[ $offline = 0 ] || [ $offline_ok = 1 ] || { echo "no memory block holding zsm pages went offline"; exit 1; }
