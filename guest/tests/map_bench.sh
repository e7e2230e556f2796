# SPDX-License-Identifier: GPL-2.0
# Map benchmark: tests/zsm_bench_map.ko (public zs_* API only) is loaded on
# top of each provider in turn: the guest kernel's zsmalloc.ko ("upstream"),
# zsm.ko map_mode=pte and zsm.ko map_mode=copy, for several rounds with the
# order rotated each round. Per kind (cross/inpage x ro/wo) the median of
# the rounds is taken and the ratio upstream_ns / zsm_ns reported (> 1: zsm
# is faster) as zsm-metric map.<kind>.<pte|copy>_vs_upstream, with the
# medians as map.bench.<provider>.<kind>_ns. Under the debug kernel (kmemleak,
# lockdep, TCG) the numbers only say that the code runs; `make bench` on the
# perf kernel gives the ones that count. Skipped without zsmalloc.ko.
. /zsm/lib.sh

zsmalloc=$KMODS/kernel/mm/zsmalloc.ko
kinds="cross_ro cross_wo inpage_ro inpage_wo"
out=/tmp/map_bench.txt

# A debug kernel (lockdep, kmemleak) distorts the numbers anyway, and under
# TCG every module load takes seconds: fewer rounds and operations there.
if [ -e /proc/lockdep ] || [ -e /sys/kernel/debug/kmemleak ]; then
	rounds=3
	bench_args="nr_objs=1000 loops=2"
else
	rounds=5
	bench_args=
fi

[ -f "$zsmalloc" ] || zsm_skip "no $zsmalloc"
trap 'zsm_rmmod zsm_bench_map zsm zsmalloc' EXIT
zsm_rmmod zsm_bench_map zsm zsmalloc
: >"$out"

# bench_one <upstream|pte|copy>: one load of the provider and the bench.
bench_one() {
	local p="$1" k
	case $p in
	upstream) insmod "$zsmalloc" ;;
	*) zsm_insmod zsm.ko map_mode="$p" ;;
	esac
	# shellcheck disable=SC2086 # bench_args is a list of parameters
	zsm_insmod tests/zsm_bench_map.ko provider="$p" $bench_args
	for k in $kinds; do
		echo "$p $k $(cat /sys/module/zsm_bench_map/parameters/"${k}"_ns)" >>"$out"
	done
	zsm_rmmod zsm_bench_map zsm zsmalloc
}

order="upstream pte copy"
r=1
while [ $r -le $rounds ]; do
	echo "round $r: $order"
	for p in $order; do
		bench_one "$p"
	done
	order="${order#* } ${order%% *}"
	r=$((r + 1))
done

# One awk for all medians and ratios (every fork is slow under TCG).
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
			print "map.bench.upstream." k "_ns", up
			for (j = 1; j <= 2; j++) {
				p = j == 1 ? "pte" : "copy"
				z = median(p, k)
				print "map.bench." p "." k "_ns", z
				r = z > 0 ? sprintf("%.3f", up / z) : "nan"
				print "map." k "." p "_vs_upstream", r
			}
		}
	}' "$out" >/tmp/map_bench.metrics
while read -r name value; do
	zsm_metric "$name" "$value"
done </tmp/map_bench.metrics
