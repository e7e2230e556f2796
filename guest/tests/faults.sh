# SPDX-License-Identifier: GPL-2.0
# Fault injection: failslab and fail_page_alloc fail 15% of the allocations
# of chosen tasks (task-filter=Y, ignore-gfp-wait=N so that sleeping
# allocations fail too, fail_page_alloc also for order 0 and highmem).
#
# 1. zsm alone: tests/zsm_test_stress.ko fault_inject=1 sweep=1 first
#    fails each allocation of zs_create_pool() and of a zs_malloc() in an
#    empty pool in turn (its task's fail-nth), then marks its worker
#    kthreads (make_it_fail) and runs the stress mix on one pool, after
#    creating, using and destroying pools under faults. zs_malloc() may
#    fail with -ENOMEM only, no stored object may change, and after the
#    last free and destroy zsm must hold the pages it held before
#    (faults.leaked_pages=0); the module fails its insmod otherwise.
# 2. zram on zsm: guest/progs/zsm_blkcheck writes checksummed blocks to
#    /dev/zram0 with O_DIRECT and faults on for itself (zram's zs_malloc()
#    runs in its context); writes may fail with EIO and are counted. Then,
#    faults off, every block must read back as last written successfully
#    (a failed rewrite keeps the old contents; never written: zeros),
#    before and after zram compaction.
#
# faults.injected counts the failures failslab and fail_page_alloc injected
# (their "times" budgets); it must be > 0. kmemleak is scanned by guest/init
# after the last test; failed allocations of kmemleak's own metadata must
# not have disabled it (checked here).
. /zsm/lib.sh

FS=/sys/kernel/debug/failslab
FP=/sys/kernel/debug/fail_page_alloc
TIMES=1000000000
PROB=15
ZRAM=/sys/block/zram0
BLOCKS=8192

if [ ! -d "$FS" ] || [ ! -d "$FP" ]; then
	zsm_skip "no failslab/fail_page_alloc in debugfs"
fi

faults_off() {
	echo 0 >"$FS/probability"
	echo 0 >"$FP/probability"
}

# faults_on <percent>: fail that share of the allocations of marked tasks.
faults_on() {
	local d
	faults_off
	for d in "$FS" "$FP"; do
		echo Y >"$d/task-filter"
		echo N >"$d/ignore-gfp-wait"
		echo 0 >"$d/verbose"
		echo 1 >"$d/interval"
		echo 0 >"$d/space"
		echo "$TIMES" >"$d/times"
	done
	echo 0 >"$FP/min-order"
	echo N >"$FP/ignore-gfp-highmem"
	echo "$1" >"$FS/probability"
	echo "$1" >"$FP/probability"
}

# injected <dir>: failures injected since faults_on.
injected() {
	echo $((TIMES - $(cat "$1/times")))
}

cleanup() {
	faults_off
	if [ -e "$ZRAM/reset" ]; then
		echo 1 >"$ZRAM/reset" || true
	fi
	zsm_rmmod zsm_test_stress zram zsm
}
trap cleanup EXIT

# --- 1. zsm alone -----------------------------------------------------
zsm_insmod zsm.ko
faults_on $PROB
rc=0
zsm_insmod tests/zsm_test_stress.ko fault_inject=1 metric_prefix=faults \
	ops=200000 window=2000 pool_cycles=40 sweep=1 compact_every=1024 \
	full_check_every=5000 || rc=$?
faults_off
slab=$(injected "$FS")
page=$(injected "$FP")
echo "faults: zsm alone: failslab injected $slab, fail_page_alloc $page"
zsm_metric faults.injected_slab "$slab"
zsm_metric faults.injected_page "$page"
zsm_metric faults.injected $((slab + page))
if [ "$rc" -ne 0 ]; then
	echo "faults: zsm_test_stress.ko fault_inject=1 failed ($rc)"
	exit 1
fi
zsm_rmmod zsm_test_stress
[ $((slab + page)) -gt 0 ]

# --- 2. zram on zsm ---------------------------------------------------
zsm_kmod zram num_devices=1
echo lzo-rle >"$ZRAM/comp_algorithm"
echo 64M >"$ZRAM/disksize"
state=/tmp/zram.state
rm -f "$state"
errors=0
faults_on $PROB
# Every block, then every second block again, then every third.
for pass in "1 1" "2 2" "3 3"; do
	# shellcheck disable=SC2086 # seed and stride
	set -- $pass
	out=$(zsm_blkcheck write /dev/zram0 $BLOCKS "$1" "$state" "$2" fail) ||
		{ echo "faults: zsm_blkcheck write failed: $out"; exit 1; }
	echo "faults: zram write pass $1: $out"
	n=$(echo "$out" | sed -n 's/.*failed=\([0-9]*\).*/\1/p')
	errors=$((errors + n))
done
faults_off
zslab=$(injected "$FS")
zpage=$(injected "$FP")
echo "faults: zram: failslab injected $zslab, fail_page_alloc $zpage;" \
     "$errors block writes failed"
zsm_metric faults.zram_injected $((zslab + zpage))
zsm_metric faults.zram_write_errors "$errors"
if [ "$errors" -eq 0 ]; then
	echo "faults: no block write failed: the kept-contents check would prove nothing"
	exit 1
fi
echo "faults: zram mm_stat: $(cat $ZRAM/mm_stat)"

corrupt=0
for when in written compacted; do
	[ "$when" = written ] || echo 1 >"$ZRAM/compact"
	out=$(zsm_blkcheck verify /dev/zram0 $BLOCKS "$state") || true
	echo "faults: zram verify ($when): $out"
	n=$(echo "$out" | sed -n 's/.*corrupt=\([0-9]*\).*/\1/p')
	corrupt=$((corrupt + ${n:-1}))
	[ "$when" = written ] || zsm_metric faults.zram_blocks_verified \
		"$(echo "$out" | sed -n 's/.*verified=\([0-9]*\).*/\1/p')"
done
zsm_metric faults.zram_corrupt "$corrupt"
echo 1 >"$ZRAM/reset"
zsm_rmmod zram zsm
if dmesg | grep -q 'kmemleak: Kernel memory leak detector disabled'; then
	echo "faults: kmemleak disabled itself: the leak scan would prove nothing"
	exit 1
fi
[ "$corrupt" -eq 0 ]
[ $((zslab + zpage)) -gt 0 ]
