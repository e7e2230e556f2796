# SPDX-License-Identifier: GPL-2.0
# zsm-run: --data
# zram_ext4: the kernel's own, unmodified zram.ko on zsm, with ext4 on it.
#
# Loads zsm.ko, then the guest kernel's zram.ko (its zs_* imports bind to
# zsm's exports; zsmalloc.ko must not be loaded). Makes ext4 on a 512 MiB
# /dev/zram0 and writes a tree of at least 64 MiB: /lib/modules and the
# kernel sources packed in the initramfs (/zsm/data, checked against the
# host's sha256 sums) plus generated files of mixed compressibility (zero,
# same-filled, random and partly random pages; checked page by page by
# zsm_pattern). Then: sync, drop caches, verify everything; delete half of
# the files, compact (echo 1 > compact), drop caches, verify the rest.
# After each step zram's mm_stat must agree with zsm's own accounting
# (debugfs zsm/zram0/summary): mem_used_total == total_pages * page size,
# pages_compacted equal, and zsm's object count == pages zram stores less
# its same-filled pages.
#
# The zsm-run line above puts mke2fs and the data tree in the initramfs.
# Skips where zram cannot run on zsm: no zram.ko, or zsm built with
# ZSM_RENAME=1 (Debian's 6.12, where zram uses the built-in zsmalloc).
# Where zsm is built into the kernel, zram.ko binds to it (nothing to
# load or unload).
. /zsm/lib.sh
# shellcheck disable=SC2034 # read by consumer-lib.sh
TEST=zram_ext4
. /zsm/consumer-lib.sh

MNT=/mnt/zram_ext4
GEN=$MNT/gen
SEED=20261122
DISKSIZE=512M
MIN_TOTAL_MIB=64
ZSMDBG=/sys/kernel/debug/zsm/zram0
corrupt=0

cleanup() {
	umount "$MNT" 2>/dev/null || true
	if [ -e /sys/block/zram0/reset ]; then
		echo 1 >/sys/block/zram0/reset || true
	fi
	zsm_rmmod zram zsm
}
trap cleanup EXIT

# verify <label> <sha256 list> <zsm_pattern vtree options>: check every
# copied file against its checksum and every generated page.
verify() {
	local label=$1 sums=$2 n=0 g out
	shift 2
	if ! (cd "$MNT" && sha256sum -c "$sums") >/tmp/zram_ext4.sha 2>&1; then
		grep -v ': OK$' /tmp/zram_ext4.sha | head -n 20
		corrupt=$((corrupt + $(grep -vc ': OK$' /tmp/zram_ext4.sha)))
	fi
	n=$(grep -c ': OK$' /tmp/zram_ext4.sha || true)
	out=$(zsm_pattern vtree "$GEN" -m "$gen_mib" -s $SEED "$@") || true
	echo "$out" | grep -v '^result' | head -n 20
	g=$(echo "$out" | sed -n 's/^result .* corrupt=\([0-9]*\) .* files=\([0-9]*\)$/\1 \2/p')
	[ -n "$g" ] || { echo "zsm_pattern vtree failed"; return 1; }
	# shellcheck disable=SC2086 # "corrupt files"
	set -- $g
	corrupt=$((corrupt + $1))
	n=$((n + $2 - $1))
	echo "$label: $n files verified, $corrupt corrupt so far"
	zsm_metric "zram_ext4.$label.files_verified" "$n"
	files_verified=$((files_verified + n))
}

[ -x /zsm/bin/mke2fs ] ||
	{ echo "FAIL: no mke2fs in the initramfs (zsm-run.py --data)"; exit 1; }

step "load zsm.ko, then the kernel's zram.ko"
zram_on_zsm
load_dep crc32c_generic
load_dep ext4
grep -qw ext4 /proc/filesystems || { echo "FAIL: no ext4"; exit 1; }

step "ext4 on a $DISKSIZE zram0 ($(cat /sys/block/zram0/comp_algorithm))"
echo $DISKSIZE >/sys/block/zram0/disksize
# No lazy initialisation: nothing may write behind the checks' back.
/zsm/bin/mke2fs -q -t ext4 -E lazy_itable_init=0,lazy_journal_init=0 /dev/zram0
mkdir -p "$MNT"
mount -t ext4 -o noatime,discard /dev/zram0 "$MNT"
[ -d "$ZSMDBG" ] || { echo "FAIL: no $ZSMDBG"; exit 1; }

step "write the tree"
mkdir -p "$MNT/lib" "$MNT/zsm" "$GEN"
cp -a /lib/modules "$MNT/lib/"
if [ -f /zsm/data.sha256 ]; then
	cp -a /zsm/data "$MNT/zsm/"
	cp /zsm/data.sha256 /tmp/zram_ext4.sums
else
	(cd / && find lib/modules -type f | sort | xargs sha256sum) \
		>/tmp/zram_ext4.sums
fi
real_mib=$(du -sm "$MNT" | cut -f1)
# Generated files fill the tree up to a little over the minimum.
gen_mib=$((MIN_TOTAL_MIB + 2 - real_mib))
[ $gen_mib -ge 32 ] || gen_mib=32
zsm_pattern tree "$GEN" -m $gen_mib -s $SEED
sync
echo 3 >/proc/sys/vm/drop_caches
total_mib=$(du -sm "$MNT" | cut -f1)
echo "tree: $total_mib MiB ($real_mib MiB copied, $gen_mib MiB generated)"
zsm_metric zram_ext4.tree_mib "$total_mib"
[ "$total_mib" -ge $MIN_TOTAL_MIB ]
zram_accounting written

files_verified=0
step "verify every file after dropping caches"
verify written /tmp/zram_ext4.sums

step "delete half of the files, compact, verify the rest"
zsm_pattern thin "$GEN" -m $gen_mib -s $SEED
rm -rf "$MNT/zsm/data/include"
grep -v ' zsm/data/include/' /tmp/zram_ext4.sums >/tmp/zram_ext4.rest
sync
fstrim "$MNT" 2>/dev/null || true
zram_accounting deleted
echo 1 >/sys/block/zram0/compact
echo 3 >/proc/sys/vm/drop_caches
zram_accounting compacted
verify compacted /tmp/zram_ext4.rest -x

zsm_metric zram_ext4.files_verified "$files_verified"
zsm_metric zram_ext4.corrupt "$corrupt"
[ "$corrupt" -eq 0 ]

step "unmount, reset, unload"
umount "$MNT"
echo 1 >/sys/block/zram0/reset
rmmod zram
zsm_rmmod zsm
trap - EXIT
