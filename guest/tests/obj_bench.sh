# SPDX-License-Identifier: GPL-2.0
# zsm-run: --mem 1024
# Object API benchmark (7.x kernels, whose zsmalloc has no zs_map_object()):
# tests/zsm_bench_obj.ko (public zs_* API only) is loaded on top of each
# provider in turn, the guest kernel's zsmalloc.ko ("upstream") and zsm.ko,
# for several rounds with the order rotated each round. Per kind
# (cross/inpage x read/write) the median of the rounds is taken and the
# ratio upstream_ns / zsm_ns reported (> 1: zsm is faster) as zsm-metric
# obj.<kind>.zsm_vs_upstream, with the medians as
# obj.bench.<provider>.<kind>_ns. Meant for the perf7 kernel with
# --accel icount (Documentation/benchmarks.rst); the `zsm-run:` line above
# keeps it out of make check. Skipped where the module is not built (6.12)
# or without zsmalloc.ko.
. /zsm/lib.sh

zsmalloc=$KMODS/kernel/mm/zsmalloc.ko
kinds="cross_read cross_write inpage_read inpage_write"
out=/tmp/obj_bench.txt
rounds=5

[ -f "$zsmalloc" ] || zsm_skip "no $zsmalloc"
[ -f "$ZSM_MODULES/tests/zsm_bench_obj.ko" ] || zsm_skip "no zsm_bench_obj.ko (6.12)"
trap 'zsm_rmmod zsm_bench_obj zsm zsmalloc' EXIT
zsm_rmmod zsm_bench_obj zsm zsmalloc
: >"$out"

# bench_one <upstream|zsm>: one load of the provider and the bench.
bench_one() {
	local p="$1" k
	case $p in
	upstream) insmod "$zsmalloc" ;;
	*) zsm_insmod zsm.ko ;;
	esac
	zsm_insmod tests/zsm_bench_obj.ko provider="$p"
	for k in $kinds; do
		echo "$p $k $(cat /sys/module/zsm_bench_obj/parameters/"${k}"_ns)" >>"$out"
	done
	zsm_rmmod zsm_bench_obj zsm zsmalloc
}

order="upstream zsm"
r=1
while [ $r -le $rounds ]; do
	echo "round $r: $order"
	for p in $order; do
		bench_one "$p"
	done
	order="${order#* } ${order%% *}"
	r=$((r + 1))
done

awk -v kinds="$kinds" '
	{ n = ++cnt[$1, $2]; v[$1, $2, n] = $3 }
	function median(p, k,    n, i, j, t, a) {
		n = cnt[p, k]
		for (i = 1; i <= n; i++)
			a[i] = v[p, k, i]
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	END {
		nk = split(kinds, ks, " ")
		for (i = 1; i <= nk; i++) {
			k = ks[i]
			up = median("upstream", k)
			z = median("zsm", k)
			print "obj.bench.upstream." k "_ns", up
			print "obj.bench.zsm." k "_ns", z
			print "obj." k ".zsm_vs_upstream", z > 0 ? sprintf("%.3f", up / z) : "nan"
		}
	}' "$out" >/tmp/obj_bench.metrics
while read -r name value; do
	zsm_metric "$name" "$value"
done </tmp/obj_bench.metrics
