# SPDX-License-Identifier: GPL-2.0
# zsmstat (tools/zsmstat.c) against a pool with known contents:
# tests/zsm_test_stat.ko allocates COUNTS objects of SIZES bytes in a fresh
# pool, in order, and frees every EVERY-th object of each size. This script
# works out, on its own, what each class must then hold (class index and
# size, objects per zspage, pages per zspage, zspages, slots, live objects,
# pages, fragmentation, freeable pages, zspages per fullness group) from
# the documented class geometry (Documentation/zsm.rst, "Size classes")
# and the allocation order, and compares every number of zsmstat's table
# with it. It also checks the pool total against zs_get_total_pages(), the
# class indexes against zs_lookup_class_index() (the module's metrics),
# the refreshing view (-d/-n) and the refusal of an unknown pool.
. /zsm/lib.sh

SIZES=100,700,3000,4000
COUNTS=5000,1000,300,40
EVERY=3
POOL=zsm_test_stat
out=/tmp/zsmstat.out

trap 'zsm_rmmod zsm_test_stat zsm' EXIT
command -v zsmstat >/dev/null || { echo "zsmstat missing from /zsm/bin"; exit 1; }
zsm_insmod zsm.ko
zsm_insmod tests/zsm_test_stat.ko sizes=$SIZES counts=$COUNTS \
	free_every=$EVERY
chain=$(cat /sys/module/zsm/parameters/chain_size)
page=$ZSM_PAGE_SIZE
# The descriptor's fixed part (larger under lockdep), which the chain
# length pick weighs.
descfix=$(awk '$1 == "descriptor_fixed_bytes" { print $2 }' \
	/sys/kernel/debug/zsm/$POOL/summary)
[ -n "$descfix" ] || { echo "no descriptor_fixed_bytes in summary"; exit 1; }

# The raw debugfs files zsmstat reads (also a sample for the docs).
cat /sys/kernel/debug/zsm/$POOL/summary /sys/kernel/debug/zsm/$POOL/classes
zsmstat -f -p $POOL | tee $out

# Expected rows, same columns as zsmstat's table:
# class size objs/zsp pages/zsp zspages alloc used used% pages frag%
# freeable 0% 10% ... 90% full
awk -v sizes=$SIZES -v counts=$COUNTS -v every=$EVERY -v chain="$chain" \
    -v page="$page" -v descfix="$descfix" '
function ceil(x) { return x == int(x) ? x : int(x) + 1 }
function desc(n, o) { return int((descfix + 8 * n + 4 * o + 7) / 8) * 8 }
function slot_size(i,  s) {
	s = i <= 60 ? 32 + 8 * i : 512 + 16 * (i - 60)
	return s > page ? page : s
}
BEGIN {
	# Class geometry: slot i has size 32 + 8 i up to 512 (slot 60), then
	# 512 + 16 (i - 60) (at most a page). The first slot whose objects
	# take a page each at every chain length 1..chain starts the huge
	# class (the last slot, one page, one object). Below it, the
	# chain of a slot is the 1..chain pages with the fewest bytes per object,
	# pages plus descriptor (descfix + 8 a page + 4 an object, rounded
	# up to 8 as a slab object) (shorter
	# on a tie, at most maxobjs objects: 448 with 4 KiB pages, 1023 with
	# larger ones); runs of slots with the same shape merge into their
	# largest slot.
	nslots = 60 + int((page - 512 + 15) / 16) + 1; first_huge = nslots - 1
	maxobjs = page == 4096 ? 448 : 1023
	for (i = 0; i < nslots; i++) {
		s = slot_size(i)
		huge = 1
		for (n = 1; n <= chain; n++)
			if (int(n * page / s) > n) huge = 0
		if (huge) { first_huge = i; break }
		bp = 1; bo = int(page / s)
		for (n = 2; n <= chain; n++) {
			o = int(n * page / s)
			if (o > maxobjs) break
			if (o * (bp * page + desc(bp, bo)) > \
			    bo * (n * page + desc(n, o))) {
				bp = n; bo = o
			}
		}
		S[i] = s; P[i] = bp; O[i] = bo
	}
	for (i = first_huge; i < nslots; i++) {
		S[i] = slot_size(i)
		P[i] = 1; O[i] = 1; IDX[i] = nslots - 1
	}
	for (i = first_huge - 1; i >= 0; i--)
		IDX[i] = (i + 1 < first_huge && P[i] == P[i + 1] && \
			  O[i] == O[i + 1]) ? IDX[i + 1] : i
	ns = split(sizes, SZ, ","); split(counts, CT, ",")
	# Objects fill their class in allocation order; every every-th of
	# each size is freed.
	for (j = 1; j <= ns; j++) {
		slot = SZ[j] <= 32 ? 0 : SZ[j] <= 512 ? ceil((SZ[j] - 32) / 8) : \
		       60 + ceil((SZ[j] - 512) / 16)
		c = IDX[slot]; used_class[c] = 1
		print "class_of_size", SZ[j], c
		for (i = 0; i < CT[j]; i++)
			L[c, N[c]++] = (every >= 2 && i % every == every - 1) ? 0 : 1
	}
	for (c = 0; c < nslots; c++) {
		if (!(c in used_class)) continue
		objs = O[c]; zsp = 0; live = 0; pages = 0
		for (g = 1; g <= 11; g++) FG[g] = 0
		for (z = 0; z * objs < N[c]; z++) {
			inuse = 0; placed = 0
			for (k = z * objs; k < (z + 1) * objs && k < N[c]; k++) {
				inuse += L[c, k]; placed++
			}
			if (!inuse) continue	# an emptied zspage is freed
			zsp++; live += inuse
			# Pages are added as objects reach into them: a
			# zspage holds the pages its placed objects touch.
			pages += ceil(placed * S[c] / page)
			g = inuse >= objs ? 11 : 1 + int(inuse * 10 / objs)
			FG[g]++
		}
		need = ceil(live / objs)
		# Freeable: pages present less the pages the live objects
		# fill when packed (0 when they need every zspage).
		free = (objs == 1 || zsp <= need) ? 0 : \
		       pages - ceil(live * S[c] / page)
		if (free < 0) free = 0
		line = sprintf("%d %d %d %d %d %d %d %.1f %d %.1f %d", c, S[c],
			       objs, P[c], zsp, zsp * objs, live,
			       100 * live / (zsp * objs), pages,
			       100 * (1 - live * S[c] / (pages * page)), free)
		for (g = 1; g <= 11; g++) line = line " " FG[g]
		print "row", line
	}
}' >/tmp/zsmstat.expected

# zsmstat's class rows, and the expected ones.
awk '$1 == "class" && $2 == "size" { t = 1; next }
     t && $1 ~ /^[0-9]+$/' $out >/tmp/zsmstat.have
sed -n 's/^row //p' /tmp/zsmstat.expected >/tmp/zsmstat.want
echo "expected:"; cat /tmp/zsmstat.want

fail=0
# Compare field by field; percentages may differ by rounding only.
if ! awk 'NR == FNR { want[FNR] = $0; nw = FNR; next }
     { have[FNR] = $0; nh = FNR }
     END {
	bad = 0
	if (nw != nh) { print "rows: expected " nw ", zsmstat " nh; bad = 1 }
	for (r = 1; r <= nw && r <= nh; r++) {
		n = split(want[r], w, " "); m = split(have[r], h, " ")
		if (n != m) { print "row " r ": " m " fields, expected " n; bad = 1; continue }
		for (f = 1; f <= n; f++) {
			d = w[f] - h[f]; if (d < 0) d = -d
			if ((f == 8 || f == 10) ? d > 0.11 : w[f] != h[f]) {
				print "row " r " field " f ": zsmstat " h[f] ", expected " w[f]
				bad = 1
			}
		}
	}
	exit bad
     }' /tmp/zsmstat.want /tmp/zsmstat.have; then
	fail=1
fi

# Class indexes as zs_lookup_class_index() reports them.
while read -r tag size c; do
	[ "$tag" = class_of_size ] || continue
	got=$(dmesg | sed -n "s/.*zsm-metric stat.size_$size.class=\([0-9]*\).*/\1/p" | tail -n 1)
	if [ "$got" != "$c" ]; then
		echo "size $size: zs_lookup_class_index $got, expected class $c"
		fail=1
	fi
done </tmp/zsmstat.expected

# Pool totals: zsmstat's summary of the zspages' pages against the class
# rows, and its memory line (zspages and metadata) against
# zs_get_total_pages().
total=$(dmesg | sed -n 's/.*zsm-metric stat.total_pages=\([0-9]*\).*/\1/p' | tail -n 1)
shown=$(sed -n "s/^pool $POOL: \([0-9]*\) pages.*/\1/p" $out)
rows=$(awk '{ s += $9 } END { print s + 0 }' /tmp/zsmstat.have)
all_kib=$(sed -n 's/^memory: \([0-9]*\) KiB in all.*/\1/p' $out | head -n 1)
echo "pages: zsmstat summary $shown, class rows $rows; zs_get_total_pages $total, zsmstat memory ${all_kib} KiB"
if [ "$shown" != "$rows" ] ||
	[ "$((total * page / 1024))" != "$all_kib" ]; then
	echo "pool page totals disagree"
	fail=1
fi
if [ "$total" -le "$shown" ]; then
	echo "zs_get_total_pages() does not count the metadata"
	fail=1
fi

# The refreshing view draws COUNT screens and stops.
screens=$(zsmstat -d 0.2 -n 3 -p $POOL | grep -c "^pool $POOL:")
echo "refresh: $screens screens"
[ "$screens" = 3 ] || fail=1

# An unknown pool is an error.
if zsmstat -p no_such_pool >/dev/null 2>&1; then
	echo "zsmstat -p no_such_pool succeeded"
	fail=1
fi

zsm_metric zsmstat.classes "$(wc -l </tmp/zsmstat.have)"
zsm_metric zsmstat.pages "$shown"
zsm_metric zsmstat.objects "$(awk '{ s += $7 } END { print s + 0 }' /tmp/zsmstat.have)"
zsm_metric zsmstat.mismatches "$fail"
[ $fail = 0 ]
