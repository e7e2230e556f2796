# SPDX-License-Identifier: GPL-2.0
# Demo: zram on zsm. Load zsm.ko, then the guest kernel's own zram.ko (its
# zs_* imports bind to zsm's exports; zsmalloc.ko is never loaded), make an
# ext4 file system on /dev/zram0, copy a real tree of files into it, drop
# the page cache and verify every file against checksums computed on the
# host. Then delete part of the tree (discard frees zram slots), compact,
# and verify the rest again.
. /zsm/lib.sh

MNT=/mnt/zram
SUMS=/zsm/data.sha256
MM_STAT_FIELDS="orig_data_size compr_data_size mem_used_total mem_limit
mem_used_max same_pages pages_compacted huge_pages huge_pages_since"

cleanup() {
	umount "$MNT" 2>/dev/null || true
	if [ -e /sys/block/zram0/reset ]; then
		echo 1 >/sys/block/zram0/reset || true
	fi
	zsm_rmmod zram zsm
}
trap cleanup EXIT

step() {
	echo
	echo "=== $* ==="
}

show_stats() {
	local label=$1 f
	# shellcheck disable=SC2046 # one positional parameter per field
	set -- $(cat /sys/block/zram0/mm_stat)
	echo "zram0 mm_stat, $label:"
	for f in $MM_STAT_FIELDS; do
		printf '  %-18s %s\n' "$f" "${1:-?}"
		[ -z "${1:-}" ] || zsm_metric "demo.$label.$f" "$1"
		[ $# -eq 0 ] || shift
	done
	for f in /sys/kernel/debug/zsm/*/classes; do
		[ -e "$f" ] || { echo "(no zsm class statistics in debugfs)"; break; }
		echo "$f:"
		cat "$f"
	done
}

# verify <label> <sums>: check the copies in $MNT against host checksums.
verify() {
	local n
	echo "verifying $(wc -l <"$2") files"
	if ! (cd "$MNT" && sha256sum -c "$2") >/tmp/verify.out 2>&1; then
		grep -v ': OK$' /tmp/verify.out | head -n 20
		echo "checksum verification FAILED"
		return 1
	fi
	n=$(grep -c ': OK$' /tmp/verify.out)
	echo "all $n checksums match"
	zsm_metric "demo.$1.files_verified" "$n"
}

step "load zsm.ko and the guest kernel's zram.ko"
zsm_insmod zsm.ko
zsm_kmod zram num_devices=1
grep -E '^(zsm|zram|zsmalloc) ' /proc/modules
! zsm_loaded zsmalloc

step "zram0: 256M, lzo-rle, ext4"
echo lzo-rle >/sys/block/zram0/comp_algorithm
echo 256M >/sys/block/zram0/disksize
/zsm/bin/mke2fs -q -t ext4 -E discard /dev/zram0
mkdir -p "$MNT"
mount -t ext4 -o discard /dev/zram0 "$MNT"

step "copy /lib/modules and kernel sources ($(du -sh /zsm/data | cut -f1))"
mkdir -p "$MNT/lib" "$MNT/zsm"
cp -a /lib/modules "$MNT/lib/"
cp -a /zsm/data "$MNT/zsm/"
sync
echo 3 >/proc/sys/vm/drop_caches
show_stats written

step "verify every file after dropping caches"
verify written "$SUMS"

step "delete the include/ copy, compact, verify the rest"
rm -rf "$MNT/zsm/data/include"
sync
fstrim "$MNT" 2>/dev/null || true
echo 1 >/sys/block/zram0/compact
echo 3 >/proc/sys/vm/drop_caches
grep -v ' zsm/data/include/' "$SUMS" >/tmp/rest.sha256
verify compacted /tmp/rest.sha256
show_stats compacted

step "unmount, reset, unload"
umount "$MNT"
echo 1 >/sys/block/zram0/reset
rmmod zram
rmmod zsm
trap - EXIT
echo "demo done"
