# SPDX-License-Identifier: GPL-2.0
#
# Helpers of the benchmarks (guest/tests/bench.sh, zswap_bench.sh): their
# inputs, raw figures and the zswap workload. In the guest as
# /zsm/bench-lib.sh; source it after /zsm/lib.sh and /zsm/consumer-lib.sh
# and set P (provider: upstream or zsm) and R (round) before raw().
#
#   zsm-bench-raw <provider> r<round> <key>=<value>    one figure

# Where the inputs go.
D=/tmp/bench
# Rounds: zsm.bench_rounds=N on the kernel command line (default 5).
ROUNDS=$(sed -n 's/.*zsm\.bench_rounds=\([0-9]*\).*/\1/p' /proc/cmdline)
ROUNDS=${ROUNDS:-5}

# raw <key> <value>: one figure of provider $P in round $R.
raw() {
	zsm_kmsg "zsm-bench-raw $P r$R $1=$2"
}

# bench_inputs: the real inputs, in $D: the guest's module files
# (/lib/modules and /zsm/modules), a text corpus (kernel sources under
# /zsm/data, the runner's --data; without mm/zsm, zsm's copy in a kernel
# with zsm built in, so that such a kernel's boot gets the same text as
# one with zsmalloc) and binaries (busybox, /zsm/bin/*, the shared
# libraries in the initramfs), and all.bin, the three together.
bench_inputs() {
	mkdir -p $D
	find /lib/modules /zsm/modules -name '*.ko' -type f | sort | xargs cat >$D/modules.bin
	find /zsm/data -path /zsm/data/mm/zsm -prune -o -type f -print | sort |
		xargs cat >$D/text.bin
	{ echo /bin/busybox; find /zsm/bin /lib /usr/lib -name '*.so*' -type f; find /zsm/bin -type f; } 2>/dev/null |
		sort -u | xargs cat >$D/binary.bin
	cat $D/modules.bin $D/text.bin $D/binary.bin >$D/all.bin
}

# --- zswap ---------------------------------------------------------------
#
# all.bin as a working set in a cgroup, swapped out and in through zswap
# (guest/progs/zsm_swapset.c): $ZSWAP_CYCLES cycles of a store (everything
# pushed out with memory.reclaim) and a load (every page read back), then
# $ZSWAP_PASSES passes over the working set with memory.max $ZSWAP_MAX_PCT%
# of it. Every page read back is compared with its checksum. Swap is the
# runner's virtio disk (--disk), where zswap writes back (its shrinker
# stays off, the kernel's default) and what it rejects goes.
# Documentation/benchmarks.rst says why memory.max is not smaller.

ZSWAP_CYCLES=3
ZSWAP_PASSES=3
ZSWAP_MAX_PCT=80
ZSWAP_CG=/sys/fs/cgroup/zsm_bench
ZSWAP_COMP=lz4

# zswap_bench_setup: swap on the disk, zswap enabled (with $ZSWAP_COMP)
# and the cgroup; zswap_restore and swapoff undo it.
zswap_bench_setup() {
	swap_on_vda
	zswap_save enabled compressor
	echo $ZSWAP_COMP >"$ZSWAP_P/compressor"
	echo Y >"$ZSWAP_P/enabled"
	[ -e /sys/fs/cgroup/cgroup.controllers ] ||
		mount -t cgroup2 none /sys/fs/cgroup
	echo +memory >/sys/fs/cgroup/cgroup.subtree_control
	mkdir -p $ZSWAP_CG
}

# zswap_memory: raw figures of the pool while everything is stored:
# zswap's pool_total_size, and the total of what the pool holds, metadata
# included: zsm's pages and meta_bytes (debugfs summaries of its zswap
# pools); zsmalloc's pool_total_size plus its handle and zspage slab
# caches (/proc/slabinfo, live objects times their size: 6.12's caches
# are per pool, named after it; 7.x's are shared, and nothing but zswap
# uses zsmalloc in the benchmark's boot).
zswap_memory() {
	local total meta pages
	total=$(zswap_dbg pool_total_size)
	raw zswap.pool_total_size "$total"
	case $P in
	zsm)
		pages=$(zsm_zswap_sum pages_total)
		meta=$(zsm_zswap_sum meta_bytes)
		raw zswap.total_bytes $((pages * ZSM_PAGE_SIZE + meta))
		;;
	upstream)
		meta=$(awk '$1 ~ /^(zs_handle|zspage)(-zswap[0-9a-f]+)?$/ {
			b += $2 * $4; n++ } END { if (n >= 2) print b }' /proc/slabinfo)
		[ -n "$meta" ] || { echo "no zs_handle/zspage caches in /proc/slabinfo"; return 1; }
		raw zswap.total_bytes $((total + meta))
		;;
	esac
	raw zswap.meta_bytes "$meta"
	raw zswap.stored_pages "$(zswap_dbg stored_pages)"
}

# bench_zswap: one run of the workload on the allocator zswap uses now;
# raw figures zswap.* (the program's, the pool's, pages written back).
bench_zswap() {
	local out=/tmp/zswap_bench.out pid rc=0 wb0 k v bad
	wb0=$(zswap_dbg written_back_pages)
	: >$out
	zsm_swapset -c $ZSWAP_CG -r $ZSWAP_CYCLES -p $ZSWAP_PASSES \
		-m $ZSWAP_MAX_PCT -P $D/all.bin >$out 2>&1 &
	pid=$!
	while ! grep -q '^zsm_swapset: stored' $out; do
		if ! kill -0 $pid 2>/dev/null; then
			cat $out
			echo "FAIL: zsm_swapset ended before storing"
			return 1
		fi
		sleep 1
	done
	zswap_memory
	kill -USR1 $pid
	wait $pid || rc=$?
	cat $out
	bad=$(pattern_result $out corrupt)
	if [ "$rc" != 0 ] || [ "${bad:-x}" != 0 ]; then
		echo "FAIL: zsm_swapset status $rc, ${bad:-no result}: pages corrupt"
		return 1
	fi
	while read -r k v; do
		raw "zswap.$k" "$v"
	done <<EOF
$(sed -n 's/^metric //p' $out)
EOF
	raw zswap.written_back $(($(zswap_dbg written_back_pages) - wb0))
}
