# SPDX-License-Identifier: GPL-2.0
# zsm-run: --mem 2048 --disk 256 --data
# make bench: every workload on upstream zsmalloc.ko and on zsm.ko, in one
# boot, alternating the providers over several rounds (the order is
# reversed every other round: A B, B A, A B, ...). The guest only prints raw
# numbers; scripts/bench-run.py takes medians, spreads and ratios. Not part
# of make check (the `zsm-run:` line above keeps it out of the default list);
# meant for the perf kernel. Rounds: zsm.bench_rounds=N on the kernel command
# line (default 5). Workloads: zsm.bench_only=a,b,... (alloc_free, density,
# fragment, latency, hold, map, zram, zram_fill, zswap; default all) runs
# only those.
#
#   zsm-bench-raw <provider> r<round> <key>=<value>    one figure
#   zsm-bench-hist <provider> r<round> ...              object sizes (hold)
#   zsm-bench-dbg <provider> r<round> <line>            per-class statistics
#
# Data: zsm_bench_data.ko compresses, once, pages of three real inputs with
# lz4 and zstd through the kernel crypto API: the guest's module files
# (/lib/modules and /zsm/modules), a text corpus (kernel sources under
# /zsm/data) and binaries (busybox, /zsm/bin/*, the shared libraries in the
# initramfs); and a synthetic small-object input (zsm_sparse) that only the
# density workload uses. The guest boots with slab_nomerge (bench-run.py):
# zsm_bench_pool.ko reads zsmalloc's metadata from its named slab caches.
#
# Per provider and round:
#   zsm_bench_pool.ko    alloc_free, density, fragment; holds a mixed pool
#                        whose per-class statistics (debugfs) are printed;
#                        latency (a load of its own, with the kernel's
#                        compaction running in a loop alongside)
#   zsm_bench_map.ko     map: map + unmap RO/WO, in-page/cross-page, of
#                        objects of 3000/4096 of a page (3000 bytes with
#                        4 KiB pages, 12000 with 16 KiB ones)
#   zram.ko              zram0 with lz4: write the inputs, drop caches, read
#                        them back and compare; times and mm_stat; then
#                        zram_fill (below)
#   zswap                zswap's zpool switched to the provider: the zswap
#                        workload of /zsm/bench-lib.sh on the inputs
. /zsm/lib.sh
# shellcheck disable=SC2034 # read by consumer-lib.sh
TEST=bench
. /zsm/consumer-lib.sh
. /zsm/bench-lib.sh

ONLY=$(sed -n 's/.*zsm\.bench_only=\([a-z_,]*\).*/\1/p' /proc/cmdline)
ZSMALLOC=$KMODS/kernel/mm/zsmalloc.ko
COMP=lz4

[ -f "$ZSMALLOC" ] || { echo "no $ZSMALLOC"; exit 1; }
trap 'zswap_restore; zsm_rmmod zram zsm_bench_map zsm_bench_pool zsm zsmalloc zsm_bench_data' EXIT

# wanted <workload>: selected by zsm.bench_only (all when it is not given).
wanted() {
	case ",${ONLY:-$1}," in
	*",$1,"*) return 0 ;;
	*) return 1 ;;
	esac
}

# The zsm_bench_pool.ko workloads (of its load with density) wanted,
# comma-separated.
pool_workloads() {
	local w l=
	for w in alloc_free fragment hold; do
		wanted $w && l=${l:+$l,}$w
	done
	echo "$l"
}

# Seconds since boot, centisecond resolution, as an integer of 1/100 s.
now_cs() {
	local u
	read -r u _ </proc/uptime
	echo "${u%.*}${u#*.}"
}

load_provider() {
	case $P in
	upstream) insmod "$ZSMALLOC" ;;
	zsm) zsm_insmod zsm.ko ;;
	esac
}

debugfs_classes() {
	case $P in
	upstream) echo /sys/kernel/debug/zsmalloc/"$1"/classes ;;
	zsm) echo /sys/kernel/debug/zsm/"$1"/classes ;;
	esac
}

# --- inputs ---------------------------------------------------------------
bench_inputs
# Small objects (30-400 bytes compressed), as sparse and repetitive pages
# give; not in all.bin, the zram workload's input.
zsm_sparse 4096 1 >$D/small.bin
ls -l $D
zsm_insmod tests/zsm_bench_data.ko \
	files=modules=$D/modules.bin,text=$D/text.bin,binary=$D/binary.bin,small=$D/small.bin \
	algs=lz4,zstd sizes=1
all_kb=$(($(wc -c <$D/all.bin) / 1024))

# huge_limit: upstream's zs_huge_class_size, the same for both providers.
insmod "$ZSMALLOC"
zsm_insmod tests/zsm_bench_pool.ko provider=probe workloads=info
HUGE=$(dmesg | sed -n 's/.*zsm-bench-raw probe r0 huge_class_size=//p' | tail -n 1)
PAGE=$(dmesg | sed -n 's/.*zsm-bench-raw probe r0 page_size=//p' | tail -n 1)
zsm_rmmod zsm_bench_pool zsmalloc
echo "huge_limit=$HUGE (upstream zs_huge_class_size), page_size=$PAGE"
[ -n "$HUGE" ] && [ -n "$PAGE" ]

# The data sets, in zsm_bench_data.ko's order (set numbers from 0).
SETS=$(dmesg | sed -n 's/.*zsm-bench-data \([^ ]*\) pages=.*/\1/p')

# --- one provider, one round ---------------------------------------------

# Memory of pool zsm_bench_density outside zs_get_total_pages()'s view, as
# raw lines for step $2 of set $1: zsm's pages_total and meta_bytes
# (debugfs summary); zsmalloc's metadata, the live objects of its two slab
# caches times their size (/proc/slabinfo; slab_nomerge keeps the names).
density_memory() {
	local k="density.$1.$2" f=/sys/kernel/debug/zsm/zsm_bench_density/summary
	local pages= meta
	case $P in
	zsm)
		pages=$(awk '$1 == "pages_total" { print $2 }' $f)
		meta=$(awk '$1 == "meta_bytes" { print $2 }' $f)
		[ -n "$pages" ] || { echo "no pages_total in $f"; exit 1; }
		raw "$k.pool_pages" "$pages"
		;;
	upstream)
		meta=$(awk '$1 == "zs_handle-zsm_bench_density" ||
			$1 == "zspage-zsm_bench_density" { b += $2 * $4; n++ }
			END { if (n == 2) print b }' /proc/slabinfo)
		;;
	esac
	[ -n "$meta" ] || { echo "$P: no metadata figure for $k"; exit 1; }
	raw "$k.meta_bytes" "$meta"
}

# The density workload, stepped (tests/zsm_bench_pool.c, density_step).
bench_density() {
	local p=/sys/module/zsm_bench_pool/parameters/density_step i=0 set step
	for set in $SETS; do
		echo "fill $i" >$p || exit 1
		density_memory "$set" fill
		for step in over compact; do
			echo $step >$p || exit 1
			density_memory "$set" $step
		done
		echo end >$p || exit 1
		i=$((i + 1))
	done
}

bench_pool() {
	local f l w
	w=$(pool_workloads)
	[ -n "$w" ] || wanted density || return 0
	zsm_insmod tests/zsm_bench_pool.ko provider="$P" round="$R" huge_limit="$HUGE" \
		workloads="${w:-none}"
	f=$(debugfs_classes zsm_bench_hold)
	# One write per line: /dev/kmsg takes each write as one record.
	if [ -f "$f" ]; then
		while IFS= read -r l; do
			zsm_kmsg "zsm-bench-dbg $P r$R $l"
		done <"$f"
	fi
	if wanted density; then bench_density; fi
	rmmod zsm_bench_pool
}

# latency (zsm_bench_pool.ko, a load of its own): the module's compacting
# kthread runs zs_compact() in a loop, and this shell runs the kernel's
# compaction (/proc/sys/vm/compact_memory), which migrates the pool's
# movable pages, in a loop alongside (the perf kernel counts no VM events,
# so how many it moved is not known).
bench_latency() {
	local pid
	while :; do echo 1 >/proc/sys/vm/compact_memory; done &
	pid=$!
	zsm_insmod tests/zsm_bench_pool.ko provider="$P" round="$R" huge_limit="$HUGE" \
		workloads=latency
	kill $pid
	wait $pid 2>/dev/null || true
	rmmod zsm_bench_pool
}

bench_map() {
	local k
	zsm_insmod tests/zsm_bench_map.ko provider="$P" size=$((PAGE * 3000 / 4096))
	for k in cross_ro cross_wo inpage_ro inpage_wo; do
		raw map.${k}_ns "$(cat /sys/module/zsm_bench_map/parameters/${k}_ns)"
	done
	rmmod zsm_bench_map
}

bench_zram() {
	local z=/sys/block/zram0 t0 t1 t2
	zsm_kmod zram num_devices=1
	echo $COMP >$z/comp_algorithm
	echo 256M >$z/disksize
	t0=$(now_cs)
	dd if=$D/all.bin of=/dev/zram0 bs=1M conv=fsync 2>/dev/null
	t1=$(now_cs)
	raw zram.write_cs $((t1 - t0))
	# shellcheck disable=SC2046 # one positional parameter per field
	set -- $(cat $z/mm_stat)
	raw zram.orig_data_size "$1"
	raw zram.compr_data_size "$2"
	raw zram.mem_used_total "$3"
	raw zram.huge_pages "$8"
	echo 3 >/proc/sys/vm/drop_caches
	t1=$(now_cs)
	dd if=/dev/zram0 of=/dev/null bs=1M count=$((all_kb / 1024)) 2>/dev/null
	t2=$(now_cs)
	raw zram.read_cs $((t2 - t1))
	raw zram.kb $all_kb
	if ! head -c "$(wc -c <$D/all.bin)" /dev/zram0 | cmp -s - $D/all.bin; then
		echo "zram0 on $P does not read back what was written"
		return 1
	fi
	echo 1 >$z/reset
	rmmod zram
}

# zram_fill: total memory measured from the free page count, as a
# cross-check of total_density. zram0 (lz4, 512 MiB) takes all.bin repeated
# to at least 200 MiB (FILL_MIB); free memory is read, settled
# (zsm_settled_free_kib), with zram0 set up and empty and again after the
# fill: the drop is what the pool took in all (object pages, and zsm's
# descriptors and handle blocks or zsmalloc's zs_handle and zspage slab
# objects), beside mm_stat's mem_used_total (zs_get_total_pages()). Then
# the whole fill is read back and its checksum compared. Memory figures
# barely move between rounds (spread 0.3%), so it runs in the first
# FILL_ROUNDS rounds only (one of each order).
FILL_MIB=200
FILL_ROUNDS=2
FILL_N=$(((FILL_MIB * 1024 + all_kb - 1) / all_kb))

# fill_stream: all.bin FILL_N times.
fill_stream() {
	local i=0
	while [ $i -lt $FILL_N ]; do
		cat $D/all.bin
		i=$((i + 1))
	done
}
FILL_MD5=

bench_zram_fill() {
	local z=/sys/block/zram0 free0 free1 got
	[ "$R" -le $FILL_ROUNDS ] || return 0
	[ -n "$FILL_MD5" ] || FILL_MD5=$(fill_stream | md5sum)
	zsm_kmod zram num_devices=1
	echo $COMP >$z/comp_algorithm
	echo 512M >$z/disksize
	free0=$(zsm_settled_free_kib)
	fill_stream | dd of=/dev/zram0 bs=1M iflag=fullblock conv=fsync 2>/dev/null
	free1=$(zsm_settled_free_kib)
	# shellcheck disable=SC2046 # one positional parameter per field
	set -- $(cat $z/mm_stat)
	raw zram_fill.orig_data_size "$1"
	raw zram_fill.mem_used_total "$3"
	raw zram_fill.free_drop_kb $((free0 - free1))
	got=$(head -c $((FILL_N * $(wc -c <$D/all.bin))) /dev/zram0 | md5sum)
	echo 1 >$z/reset
	rmmod zram
	if [ "$FILL_MD5" != "$got" ]; then
		echo "zram0 on $P: the $FILL_N copies of all.bin do not read back"
		return 1
	fi
}

# zswap on the provider: its zpool, then back to zbud (built in), which
# retires the provider's pool; rmmod_wait waits until it is gone.
run_zswap() {
	case $P in
	upstream) echo zsmalloc >"$ZSWAP_P/zpool" ;;
	zsm) echo zsm >"$ZSWAP_P/zpool" ;;
	esac
	echo "zswap: zpool $(cat "$ZSWAP_P/zpool"), compressor $(cat "$ZSWAP_P/compressor")"
	bench_zswap
	echo zbud >"$ZSWAP_P/zpool"
}

run_one() {
	echo "--- round $R: $P"
	load_provider
	bench_pool
	if wanted latency; then bench_latency; fi
	if wanted map; then bench_map; fi
	if wanted zram; then bench_zram; fi
	if wanted zram_fill; then bench_zram_fill; fi
	if wanted zswap; then run_zswap; fi
	rmmod_wait zsm
	rmmod_wait zsmalloc
}

if wanted zswap; then
	zswap_save zpool
	zswap_bench_setup
fi
order="upstream zsm"
R=1
while [ $R -le "$ROUNDS" ]; do
	for P in $order; do
		run_one
	done
	order="${order#* } ${order%% *}"
	R=$((R + 1))
done
zsm_metric bench.rounds "$ROUNDS"
