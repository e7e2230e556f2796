# SPDX-License-Identifier: GPL-2.0
# Memory pressure: zram on zsm is the only swap, and guest/progs/zsm_hog
# takes anonymous memory in steps up to more than RAM + swap, re-reading
# (swapping in) and checking earlier pages as it goes, until mmap fails or
# the OOM killer ends it (it makes itself the preferred victim; this shell
# is exempt). Reclaim then writes to zram, and zram allocates from zsm,
# while memory is exhausted: the test passes if the guest comes out of it
# responsive (no hung task, no lockup: the runner fails the test on any
# such report), with no corrupt page seen by the hog, and zram and zsm
# still work: swapoff succeeds, zram resets, a fresh zram disk on zsm
# stores and returns checksummed blocks (guest/progs/zsm_blkcheck), zram
# and zsm unload. The hog is killed after 300 s if it is still running.
#
# To get there sooner, `zsm_hog pin` first locks all but PRESSURE_FREE_MB
# of the available memory (never swapped, never chosen by the OOM killer).
#
# The OOM killer's and the page allocator's reports are expected while the
# hog runs: they are fenced (zsm-expect-oom-begin/end, see guest/lib.sh),
# so the runner tolerates them there and still fails the test on any other
# splat.
#
# Kernel command line knobs (scripts/zsm-run.py --append):
# zsm.pressure_seconds=N (hog time limit), zsm.pressure_swap_mb=N (zram
# disk size, default 128), zsm.pressure_free_mb=N (memory left to the hog
# besides swap, default 256; 0: pin nothing).
. /zsm/lib.sh

ZRAM=/sys/block/zram0
# zsm.pressure_*=N on the kernel command line override these.
cmdline() {
	sed -n "s/.*zsm\.$1=\([0-9]*\).*/\1/p" /proc/cmdline
}
HOG_SECONDS=$(cmdline pressure_seconds)
HOG_SECONDS=${HOG_SECONDS:-300}
SWAP_MB=$(cmdline pressure_swap_mb)
SWAP_MB=${SWAP_MB:-128}
FREE_MB=$(cmdline pressure_free_mb)
FREE_MB=${FREE_MB:-256}
oom_dump_saved=$(cat /proc/sys/vm/oom_dump_tasks)
pin_pid=

cleanup() {
	echo "$oom_dump_saved" >/proc/sys/vm/oom_dump_tasks
	[ -z "$pin_pid" ] || kill "$pin_pid" 2>/dev/null || true
	swapoff /dev/zram0 2>/dev/null || true
	if [ -e "$ZRAM/reset" ]; then
		echo 1 >"$ZRAM/reset" || true
	fi
	zsm_rmmod zram zsm
}
trap cleanup EXIT

# Never pick this shell (nor what it starts, unless it asks otherwise).
echo -1000 >/proc/self/oom_score_adj
# The task list of each OOM report is long and says nothing about zsm.
echo 0 >/proc/sys/vm/oom_dump_tasks

zsm_insmod zsm.ko
zsm_kmod zram num_devices=1
echo lzo-rle >"$ZRAM/comp_algorithm"
echo "${SWAP_MB}M" >"$ZRAM/disksize"
mkswap /dev/zram0 >/dev/null
swapon /dev/zram0

avail_mb=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
pin_mb=0
if [ "$FREE_MB" -gt 0 ] && [ "$avail_mb" -gt $((FREE_MB + 64)) ]; then
	pin_mb=$((avail_mb - FREE_MB))
	zsm_hog pin "$pin_mb" >/tmp/pin.out 2>&1 &
	pin_pid=$!
	# Wait for the pin (locking hundreds of MB takes a while under TCG).
	i=0
	while ! grep -q pinned /tmp/pin.out && [ $i -lt 120 ]; do
		kill -0 "$pin_pid" 2>/dev/null || break
		sleep 1
		i=$((i + 1))
	done
	cat /tmp/pin.out
	grep -q pinned /tmp/pin.out || { echo "pressure: pinning failed"; exit 1; }
fi
free_mb=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
swap_mb=$(awk '/^SwapTotal:/ { print int($2 / 1024) }' /proc/meminfo)
max_mb=$((free_mb + swap_mb + 256))
echo "pressure: $avail_mb MB available, $pin_mb MB pinned, $free_mb MB" \
     "left; zram swap $swap_mb MB; hog up to $max_mb MB"

zsm_expect_oom_begin pressure
start=$(date +%s)
rc=0
timeout -s KILL "$HOG_SECONDS" zsm_hog $max_mb 16 || rc=$?
end=$(date +%s)
zsm_expect_oom_end pressure
echo "pressure: zsm_hog ended with status $rc after $((end - start)) s"
[ -z "$pin_pid" ] || kill "$pin_pid"
wait "$pin_pid" 2>/dev/null || true
pin_pid=

# Responsive: the shell runs again, and the kernel still does work.
sleep 2
# Reports since this test's fence opened (dmesg holds earlier tests' too).
since=$(dmesg | sed -n '/zsm-expect-oom-begin pressure/,$p')
oom=$(echo "$since" | grep -c 'Out of memory: Killed process' || true)
hog_oom=$(echo "$since" |
	  grep -c 'Out of memory: Killed process [0-9]* (zsm_hog)' || true)
allocfail=$(echo "$since" | grep -c 'page allocation failure' || true)
echo "pressure: $oom OOM kills, $allocfail allocation-failure reports"
echo "pressure: zram mm_stat: $(cat $ZRAM/mm_stat)"
# shellcheck disable=SC2046 # one positional parameter per field
set -- $(cat $ZRAM/mm_stat)
zsm_metric pressure.oom_kills "$oom"
zsm_metric pressure.hog_oom_kills "$hog_oom"
zsm_metric pressure.alloc_failure_reports "$allocfail"
zsm_metric pressure.zram_mem_used_max_pages $(($5 / ZSM_PAGE_SIZE))
zsm_metric pressure.hog_seconds $((end - start))
zsm_metric pressure.hog_status "$rc"
zsm_metric pressure.pinned_mb "$pin_mb"

case $rc in
0) echo "pressure: the hog's allocations failed before the OOM killer came" ;;
137)
	# timeout -s KILL exits 137 at the time limit too: the OOM killer
	# must have chosen the hog, before the limit.
	[ $((end - start)) -lt "$HOG_SECONDS" ] ||
		{ echo "pressure: the hog hit the time limit"; exit 1; }
	[ "$hog_oom" -gt 0 ] ||
		{ echo "pressure: the hog was killed, not by the OOM killer"; exit 1; }
	;;
*) echo "pressure: zsm_hog failed ($rc)"; exit 1 ;;
esac

# zram and zsm still work, and let go.
swapoff /dev/zram0
echo 1 >"$ZRAM/reset"
echo 16M >"$ZRAM/disksize"
rm -f /tmp/pressure.state
zsm_blkcheck write /dev/zram0 4096 7 /tmp/pressure.state
zsm_blkcheck verify /dev/zram0 4096 /tmp/pressure.state
echo 1 >"$ZRAM/reset"
zsm_rmmod zram zsm
if zsm_loaded zsm; then
	echo "pressure: zsm still loaded"
	exit 1
fi
zsm_metric pressure.survived 1
