# SPDX-License-Identifier: GPL-2.0
# Memory pressure: zram on zsm is the only swap, and guest/progs/zsm_hog
# takes anonymous memory in steps up to more than RAM + swap, re-reading
# (swapping in) and checking earlier pages as it goes, until mmap fails or
# the OOM killer ends it (it makes itself the preferred victim; this shell
# is exempt). Reclaim then writes to zram, and zram allocates from zsm,
# while memory is exhausted: the test passes if the guest comes out of it
# responsive, with no corrupt page seen by the hog, and zram and zsm still
# work: swapoff succeeds, zram resets, a fresh zram disk on zsm stores and
# returns checksummed blocks (guest/progs/zsm_blkcheck), zram and zsm
# unload. The hog is killed after 300 s if it is still running.
#
# Kernel command line knobs (scripts/zsm-run.py --append):
# zsm.pressure_seconds=N (hog time limit), zsm.pressure_swap_mb=N (zram
# disk size, default 128), zsm.pressure_min_free_kb=N (vm.min_free_kbytes
# while the hog runs: less usable RAM, an earlier OOM).
#
# The OOM killer's and the page allocator's reports (a stack dump with
# "Call Trace:", "page allocation failure") are expected here, but the
# runner counts them as splats. So while the hog runs the console only
# shows messages more urgent than KERN_WARNING; afterwards every line of
# the kernel log of that phase (captured from /dev/kmsg) that names any
# other kind of report is printed, so that the runner still fails the test
# on it. A runner fence for expected OOM reports would make this
# unnecessary.
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
MIN_FREE_KB=$(cmdline pressure_min_free_kb)
min_free_saved=$(cat /proc/sys/vm/min_free_kbytes)
KMSG=/tmp/pressure.kmsg
printk_saved=$(cat /proc/sys/kernel/printk)
oom_dump_saved=$(cat /proc/sys/vm/oom_dump_tasks)
kmsg_pid=

cleanup() {
	echo "$printk_saved" >/proc/sys/kernel/printk
	echo "$min_free_saved" >/proc/sys/vm/min_free_kbytes
	echo "$oom_dump_saved" >/proc/sys/vm/oom_dump_tasks
	[ -z "$kmsg_pid" ] || kill "$kmsg_pid" 2>/dev/null || true
	swapoff /dev/zram0 2>/dev/null || true
	if [ -e "$ZRAM/reset" ]; then
		echo 1 >"$ZRAM/reset" || true
	fi
	zsm_rmmod zram zsm
}
trap cleanup EXIT

# Never pick this shell (nor what it starts, unless it asks otherwise).
echo -1000 >/proc/self/oom_score_adj
echo 0 >/proc/sys/vm/oom_dump_tasks

zsm_insmod zsm.ko
zsm_kmod zram num_devices=1
echo lzo-rle >"$ZRAM/comp_algorithm"
echo "${SWAP_MB}M" >"$ZRAM/disksize"
mkswap /dev/zram0 >/dev/null
swapon /dev/zram0
mem_mb=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
swap_mb=$(awk '/^SwapTotal:/ { print int($2 / 1024) }' /proc/meminfo)
max_mb=$((mem_mb + swap_mb + 256))
echo "pressure: RAM $mem_mb MB, zram swap $swap_mb MB; hog up to $max_mb MB"

[ -z "$MIN_FREE_KB" ] || echo "$MIN_FREE_KB" >/proc/sys/vm/min_free_kbytes
cat /dev/kmsg >"$KMSG" &
kmsg_pid=$!
zsm_kmsg "zsm-pressure-begin"
echo 4 >/proc/sys/kernel/printk
start=$(date +%s)
rc=0
timeout -s KILL "$HOG_SECONDS" zsm_hog $max_mb 16 || rc=$?
end=$(date +%s)
echo "$printk_saved" >/proc/sys/kernel/printk
zsm_kmsg "zsm-pressure-end"
echo "$min_free_saved" >/proc/sys/vm/min_free_kbytes
echo "pressure: zsm_hog ended with status $rc after $((end - start)) s"

# Responsive: the shell runs again, and the kernel still does work.
sleep 2
kill "$kmsg_pid" 2>/dev/null || true
wait "$kmsg_pid" 2>/dev/null || true
kmsg_pid=
range='/zsm-pressure-begin/,/zsm-pressure-end/p'
sed -n "$range" "$KMSG" >/tmp/pressure.log
if ! grep -q zsm-pressure-end /tmp/pressure.log; then
	# The reader fell behind (EPIPE) or stopped: use the log buffer.
	echo "pressure: /dev/kmsg capture incomplete, reading the log buffer"
	dmesg | sed -n "$range" >/tmp/pressure.log
	grep -q zsm-pressure-begin /tmp/pressure.log ||
		echo "pressure: note: the log buffer lost the start of the phase"
fi
oom=$(grep -c 'Out of memory: Killed process' /tmp/pressure.log || true)
allocfail=$(grep -c 'page allocation failure' /tmp/pressure.log || true)
echo "pressure: $oom OOM kills, $allocfail allocation-failure reports"
echo "pressure: zram mm_stat: $(cat $ZRAM/mm_stat)"
# shellcheck disable=SC2046 # one positional parameter per field
set -- $(cat $ZRAM/mm_stat)
zsm_metric pressure.oom_kills "$oom"
zsm_metric pressure.alloc_failure_reports "$allocfail"
zsm_metric pressure.zram_mem_used_max_pages $(($5 / 4096))
zsm_metric pressure.hog_seconds $((end - start))
zsm_metric pressure.hog_status "$rc"

# Reports other than the expected OOM and allocation-failure ones.
others=$(grep -E 'WARNING:|BUG:|KASAN:|Oops|general protection|UBSAN:|list_(add|del) corruption|[Bb]ad page|sleeping function called|INFO: |RCU stall|detected stall|soft lockup|hung task|blocked for more than|unreferenced object' \
	/tmp/pressure.log || true)
if [ -n "$others" ]; then
	echo "pressure: kernel reports while memory was exhausted:"
	echo "$others" | sed 's/^[0-9]*,[0-9]*,[0-9]*,[^;]*;/  /'
	exit 1
fi

case $rc in
0) echo "pressure: the hog's allocations failed before the OOM killer came" ;;
137) [ "$oom" -gt 0 ] || echo "pressure: the hog was killed by the time limit" ;;
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
! zsm_loaded zsm
zsm_metric pressure.survived 1
