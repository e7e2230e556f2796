#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The consumer tests (zram_ext4, zram_swap, zswap: zram and zswap on zsm)
# on Debian's unmodified kernels and on the debug guest kernel.
#
#   scripts/stock-kernel.sh [--prepare] [--results FILE] \
#       6.1|6.12|guest|7.x|7.x-suite|7.x-builtin|7.x-builtin-suite|
#       arm64|arm64-suite|arm64-16k|arm64-16k-suite|arm64-16k-check|
#       arm64-kasan|
#       6.1-arm64 [zsm-run.py options]
#   scripts/stock-kernel.sh --abis
#
# 6.1    Debian's linux-image-<ABI>-unsigned, ABI $ZSM_STOCK_6_1
#        (default 6.1.0-56-amd64). zsmalloc is a module there, so zsm.ko
#        exports zs_* and the stock zram.ko binds to it. Tests: zram_ext4,
#        zram_swap, zswap (zpool "zsm"), zswap61 (zswap's writeback through
#        the zpool, on zsmalloc.ko and on zsm).
# 6.1-arm64
#        Debian's linux-image-<ABI>-unsigned for arm64, ABI
#        $ZSM_STOCK_6_1_ARM64 (default 6.1.0-50-arm64, 4 KiB pages), from
#        scripts/apt-private.sh's arm64 lists, booted with zsm-run.py
#        --arch arm64; zsm.ko cross-built against its headers
#        (scripts/fetch-headers.sh). Tests: zram_ext4, zram_swap, zswap;
#        label 6_1_arm64_stock.
# 6.12   Debian's linux-image-<ABI>-unsigned, ABI $ZSM_STOCK_6_12 (default
#        6.12.115+deb12-amd64). zsmalloc is built in, so zsm.ko is built
#        with ZSM_RENAME=1 (exports zsm_*) and serves zswap through zpool
#        "zsm"; zram keeps the built-in zsmalloc. Test: zswap.
# guest  The guest kernel of scripts/build-kernel.sh, flavour
#        $ZSM_GUEST_FLAVOR (default debug: lockdep, DEBUG_VM, kmemleak;
#        kasan adds KASAN), with the modules of the work tree (built if
#        needed). Tests: zram_ext4, zram_swap, zswap.
# 7.x    The 7.x guest kernel of scripts/build-kernel.sh, flavour
#        $ZSM_GUEST7_FLAVOR (default debug7: Debian's linux-source-7.x,
#        zsmalloc and zram modules, no zswap, the checkers of debug), with
#        the work tree's modules built against it in
#        $ZSM_CACHE/stock-build/7.x-<release>/. zram.ko of that kernel
#        binds to zsm.ko. Tests: zram_ext4, zram_swap (zswap is built-in
#        only on 7.x: it selects a built-in zsmalloc).
# 7.x-suite
#        The same kernel (modules in .../7.x-suite-<release>/), zsm's own
#        tests: kunit, core, migrate, compact, with two emulated NUMA
#        nodes (numa=fake=2) for the node tests.
# 7.x-builtin
#        The builtin7 guest kernel of scripts/build-kernel.sh: debug7 with
#        zsm built in where zsmalloc was (scripts/kernel-builtin.sh) and
#        zswap, which stores in it; zram.ko binds to the built-in zsm. The
#        work tree's test modules (no zsm.ko: Kbuild sees zsm in vmlinux)
#        are built in .../7.x-builtin-<release>/. Tests: zswap, zram_ext4,
#        zram_swap; label 7_x_builtin.
# 7.x-builtin-suite
#        The same kernel, zsm's own tests as 7.x-suite has them (the tests
#        use the built-in zsm instead of loading zsm.ko).
# arm64, arm64-16k
#        The arm64 guest kernels of scripts/build-kernel.sh (debug-arm64,
#        4 KiB pages; debug-arm64-16k, 16 KiB pages), booted with
#        zsm-run.py --arch arm64; the work tree's modules are cross-built
#        against them in .../<flavour>-<release>/. Tests: zram_ext4,
#        zram_swap, zswap; label arm64_4k or arm64_16k.
# arm64-suite, arm64-16k-suite
#        The same kernels, zsm's own tests: kunit, core, stress, migrate,
#        compact, badinput (Documentation/testing.rst, "The arm64 guests").
# arm64-16k-check
#        make check's arm64 boot: debug-arm64-16k with kunit, core,
#        zram_ext4, zswap in one boot (label arm64_16k).
# arm64-kasan
#        kasan-arm64 (4 KiB pages, KASAN with software tags: pointers
#        carry tags, as with MTE): kunit, core, badinput, zram_ext4,
#        zswap (label arm64_kasan); make check-arm64 runs it.
#
# For a stock kernel the script
#   1. fetches linux-headers-<ABI> into the cache
#      (scripts/fetch-headers.sh; nothing is installed on the host);
#   2. fetches linux-image-<ABI>-unsigned with `apt-get download` and
#      unpacks it into $ZSM_CACHE/stock-<ABI>-<package version>/, in the
#      layout scripts/zsm-run.py --kernel-dir expects: bzImage (the
#      package's vmlinuz), mods/lib/modules/<ABI>/ (only the modules the
#      tests need and their dependencies, decompressed, with a fresh
#      depmod), and build/ (include/config/kernel.release and source/, a
#      kernel source tree whose mm/ and include/linux/ are the test data;
#      not a KDIR). Done once per package version.
#   3. copies the work tree to $ZSM_CACHE/stock-build/<ABI>/ (an
#      out-of-tree build writes into its source directory) and builds
#      zsm.ko there against those headers.
# Then it boots the kernel with the tests (scripts/zsm-run.py; the tests'
# `# zsm-run:` lines give the guest 256 MiB, a 256 MiB virtio disk and the
# ext4 data), labelled 6_1_stock, 6_12_stock, 6_12_guest or, for the 7.x
# guest, <major>_<minor>_guest (7_3_guest).
#
# With --results FILE the runner's results go to FILE and its summary line
# is prefixed with the label: `make check` adds several kernels up with
# scripts/zsm-summary.py. Without it, zsm-summary.py runs here and prints
#   zsm-metric kernel.<label>.<test>=pass|fail|skip
# and the summary line. --prepare stops after step 3 and prints the kernel
# directory. --abis prints the stock kernels' ABIs (for the build matrix
# and the DKMS check).
# Extra arguments go to zsm-run.py (e.g. --echo user). The exit status is
# non-zero when a test failed. Nothing is loaded into the host kernel.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cache=${ZSM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zsm}

# Modules the consumer tests load on a stock kernel; their dependencies
# are added from modules.dep.
WANTED_MODULES="zram zsmalloc ext4 virtio_pci virtio_blk crc32c_generic
crc32c_intel lz4 lz4hc zstd"

prepare=0
kernel=

die() {
	echo "stock-kernel: $*" >&2
	exit 1
}

log() {
	echo "stock-kernel: $*" >&2
}

usage() {
	echo "usage: $0 [--prepare] [--results FILE] 6.1|6.12|guest|7.x|7.x-suite|7.x-builtin|7.x-builtin-suite|arm64[-16k][-suite]|arm64-16k-check|6.1-arm64 [zsm-run.py options]" >&2
	echo "       $0 --abis" >&2
	exit 2
}

# headers <abi>: the Debian headers the modules are built against, fetched
# into the cache (scripts/fetch-headers.sh: never installed on the host).
headers() {
	"$repo/scripts/fetch-headers.sh" "$1" | tail -n 1
}

# Prefix of the apt commands for the stock kernel's packages: none for
# amd64; for arm64 scripts/apt-private.sh with its arm64 lists.
apt_pre=()
# Its image: bzImage, or for arm64 Image (Debian's arm64 vmlinuz is one).
image=bzImage
cross=()

# candidate_version <package>: the version apt would fetch.
candidate_version() {
	"${apt_pre[@]}" apt-cache show --no-all-versions "$1" 2>/dev/null |
		awk '$1 == "Version:" { print $2; exit }'
}

# source_tree: a kernel source tree for the test data (mm/, include/linux/),
# preferably the one scripts/build-kernel.sh extracted.
source_tree() {
	local d tarball=/usr/src/linux-source-6.12.tar.xz
	for d in "$cache"/src/*/linux-source-6.12; do
		if [ -d "$d/mm" ] && [ -d "$d/include/linux" ]; then
			echo "$d"
			return
		fi
	done
	[ -r "$tarball" ] || die "no kernel sources for the test data: apt-get install linux-source-6.12"
	d=$cache/stock-data
	if [ ! -f "$d/.done" ]; then
		log "extracting mm/ and include/linux/ from $tarball"
		rm -rf "$d"
		mkdir -p "$d"
		tar -C "$d" -xf "$tarball" linux-source-6.12/mm \
			linux-source-6.12/include/linux
		touch "$d/.done"
	fi
	echo "$d/linux-source-6.12"
}

# module_closure <root> <abi> <module>...: paths (relative to
# <root>/lib/modules/<abi>) of the modules and everything they depend on.
module_closure() {
	local root=$1 abi=$2 m
	shift 2
	for m in "$@"; do
		modprobe -d "$root" -S "$abi" --show-depends "$m" 2>/dev/null |
			awk '$1 == "insmod" { print $2 }' || true
	done | sed "s|^$root/lib/modules/$abi/||" | sort -u
}

# fetch_kernel <abi>: unpack the stock kernel once; prints its directory.
fetch_kernel() {
	local abi=$1 pkg=linux-image-$1-unsigned ver out tmp deb rel m n=0
	ver=$(candidate_version "$pkg")
	if [ -z "$ver" ]; then
		# No package lists: reuse what is cached.
		out=$(find "$cache" -maxdepth 1 -name "stock-$abi-*" -type d | sort | tail -n 1)
		if [ -z "$out" ] || [ ! -f "$out/.done" ]; then
			die "apt knows no $pkg (apt-get update?) and nothing is cached"
		fi
		echo "$out"
		return
	fi
	out=$cache/stock-$abi-$ver
	mkdir -p "$cache"
	exec 8>"$cache/.stock-$abi.lock"
	flock 8
	if [ -f "$out/.done" ]; then
		log "reusing $out"
		echo "$out"
		return
	fi
	command -v depmod >/dev/null || die "depmod missing: apt-get install kmod"
	tmp=$(mktemp -d "$cache/stock-tmp.XXXXXX")
	# shellcheck disable=SC2064 # expand now
	trap "rm -rf '$tmp'" EXIT
	log "downloading $pkg $ver"
	(cd "$tmp" && "${apt_pre[@]}" apt-get download "$pkg=$ver" >&2)
	deb=$(ls "$tmp"/*.deb)
	dpkg-deb -x "$deb" "$tmp/x"
	[ -f "$tmp/x/boot/vmlinuz-$abi" ] || die "no vmlinuz-$abi in $deb"
	[ -d "$tmp/x/lib/modules/$abi" ] || die "no lib/modules/$abi in $deb"
	depmod -b "$tmp/x" "$abi"

	rm -rf "$out"
	mkdir -p "$out/mods/lib/modules/$abi" "$out/build/include/config"
	cp "$tmp/x/boot/vmlinuz-$abi" "$out/$image"
	cp "$tmp/x/boot/config-$abi" "$out/config"
	# scripts/mkinitramfs.sh tells an arm64 kernel by its .config.
	cp "$out/config" "$out/build/.config"
	# shellcheck disable=SC2086 # one argument per module
	for rel in $(module_closure "$tmp/x" "$abi" $WANTED_MODULES); do
		m=$out/mods/lib/modules/$abi/$rel
		mkdir -p "$(dirname "$m")"
		case $rel in
		*.ko.xz) xz -dc "$tmp/x/lib/modules/$abi/$rel" >"${m%.xz}" ;;
		*.ko.zst) zstd -qdc "$tmp/x/lib/modules/$abi/$rel" >"${m%.zst}" ;;
		*.ko.gz) gzip -dc "$tmp/x/lib/modules/$abi/$rel" >"${m%.gz}" ;;
		*) cp "$tmp/x/lib/modules/$abi/$rel" "$m" ;;
		esac
		n=$((n + 1))
	done
	for m in modules.builtin modules.builtin.modinfo modules.order; do
		[ ! -f "$tmp/x/lib/modules/$abi/$m" ] ||
			cp "$tmp/x/lib/modules/$abi/$m" "$out/mods/lib/modules/$abi/"
	done
	depmod -b "$out/mods" "$abi"
	# For scripts/mkinitramfs.sh: the release our modules must match, and
	# the source tree of the test data.
	echo "$abi" >"$out/build/include/config/kernel.release"
	ln -s "$(source_tree)" "$out/build/source"
	echo "Debian $pkg $ver" >"$out/package"
	touch "$out/.done"
	rm -rf "$tmp"
	trap - EXIT
	log "$out: $n modules"
	echo "$out"
}

# build_zsm <kdir> <builddir> <target> [make args]: <target> (zsm.ko, or
# modules for the test modules too) against <kdir>, in a copy of the work
# tree.
build_zsm() {
	local kdir=$1 b=$2 target=$3
	shift 3
	mkdir -p "$b"
	# Build products are excluded, so the copy keeps its own (an
	# incremental rebuild) and never gets the work tree's. Files are
	# compared by content and a changed one gets the time of the copy, not
	# its own: the copy is shared by every work tree, and a source older
	# than the objects another tree's sources left would not be rebuilt.
	rsync -rlpD --checksum --delete --exclude .git --exclude '*.o' --exclude '*.ko' \
		--exclude '*.mod' --exclude '*.mod.c' --exclude '.*.cmd' \
		--exclude '*.a' --exclude Module.symvers --exclude modules.order \
		--exclude '__pycache__' "$repo/" "$b/"
	log "building $target in $b against $kdir $*"
	make -s -C "$kdir" M="$b" -j"$(nproc)" "$@" "$target" >&2
}

ABI_6_1=${ZSM_STOCK_6_1:-6.1.0-56-amd64}
ABI_6_12=${ZSM_STOCK_6_12:-6.12.115+deb12-amd64}
ABI_6_1_ARM64=${ZSM_STOCK_6_1_ARM64:-6.1.0-50-arm64}

main() {
	local abi tag tests kout bdir hdr rel vm rc=0 results=
	local extra=()
	while [ $# -gt 0 ]; do
		case $1 in
		--prepare) prepare=1; shift ;;
		--results) results=$2; shift 2 ;;
		--abis)
			echo "$ABI_6_1 $ABI_6_12"
			return 0
			;;
		6.1|6.12|guest|7.x|7.x-suite|7.x-builtin|7.x-builtin-suite|\
		arm64|arm64-suite|arm64-16k|arm64-16k-suite|arm64-16k-check|\
		arm64-kasan|6.1-arm64)
			kernel=$1; shift; break ;;
		*) usage ;;
		esac
	done
	[ -n "$kernel" ] || usage

	case $kernel in
	6.1)
		abi=$ABI_6_1
		tag=6_1_stock
		tests=zram_ext4,zram_swap,zswap,zswap61
		;;
	6.12)
		abi=$ABI_6_12
		tag=6_12_stock
		tests=zswap
		;;
	6.1-arm64)
		abi=$ABI_6_1_ARM64
		tag=6_1_arm64_stock
		tests=zram_ext4,zram_swap,zswap
		apt_pre=(env ZSM_APT_ARCH=arm64 "$here/apt-private.sh")
		image=Image
		cross=(ARCH=arm64 "CROSS_COMPILE=${CROSS_COMPILE:-aarch64-linux-gnu-}")
		extra=(--arch arm64)
		;;
	guest)
		tag=6_12_guest
		tests=zram_ext4,zram_swap,zswap
		;;
	7.x)
		tests=zram_ext4,zram_swap
		;;
	7.x-suite|7.x-builtin-suite)
		tests=kunit,core,migrate,compact
		extra=(--append numa=fake=2)
		;;
	7.x-builtin)
		tests=zswap,zram_ext4,zram_swap
		;;
	arm64|arm64-16k)
		tests=zram_ext4,zram_swap,zswap
		;;
	arm64-suite|arm64-16k-suite)
		tests=kunit,core,stress,migrate,compact,badinput
		;;
	arm64-16k-check)
		tests=kunit,core,zram_ext4,zswap
		;;
	arm64-kasan)
		tests=kunit,core,badinput,zram_ext4,zswap
		;;
	esac

	if [ "$kernel" = guest ]; then
		kout=$("$here/build-kernel.sh" "${ZSM_GUEST_FLAVOR:-debug}" |
		       tail -n 1)
		hdr=$kout/build
		rel=$(cat "$hdr/include/config/kernel.release")
		bdir=$repo
		log "building the work tree's modules against $hdr"
		# W=1 as make check builds them: with the same flags this is a
		# no-op there, not a rebuild under the main guest's feet.
		make -s -C "$repo" --no-print-directory modules KDIR="$hdr" \
			W=1 >&2
	elif [ "${kernel#arm64}" != "$kernel" ]; then
		local flavor=debug-arm64
		tag=arm64_4k
		if [ "${kernel#arm64-16k}" != "$kernel" ]; then
			flavor=debug-arm64-16k
			tag=arm64_16k
		elif [ "$kernel" = arm64-kasan ]; then
			flavor=kasan-arm64
			tag=arm64_kasan
		fi
		kout=$("$here/build-kernel.sh" "$flavor" | tail -n 1)
		hdr=$kout/build
		rel=$(cat "$hdr/include/config/kernel.release")
		# One copy per page size; the boots of one take turns on it
		# (the lock is held until this script exits).
		bdir=$cache/stock-build/$flavor-$rel
		mkdir -p "$cache/stock-build"
		exec 7>"$bdir.lock"
		flock 7
		build_zsm "$hdr" "$bdir" modules W=1 ARCH=arm64 \
			CROSS_COMPILE="${CROSS_COMPILE:-aarch64-linux-gnu-}"
		extra=(--arch arm64)
	elif [ "${kernel#7.x}" != "$kernel" ]; then
		local flavor=${ZSM_GUEST7_FLAVOR:-debug7}
		[ "${kernel#7.x-builtin}" = "$kernel" ] || flavor=builtin7
		kout=$("$here/build-kernel.sh" "$flavor" | tail -n 1)
		hdr=$kout/build
		rel=$(cat "$hdr/include/config/kernel.release")
		tag=$(echo "$rel" | cut -d. -f1,2 | tr . _)_guest
		[ "$flavor" != builtin7 ] || tag=7_x_builtin
		# One copy per name: make check runs 7.x and 7.x-suite at once.
		bdir=$cache/stock-build/$kernel-$rel
		build_zsm "$hdr" "$bdir" modules W=1
	else
		hdr=$(headers "$abi")
		[ -f "$hdr/Makefile" ] || die "no headers for $abi"
		kout=$(fetch_kernel "$abi")
		rel=$abi
		bdir=$cache/stock-build/$abi
		if [ "$kernel" = 6.12 ]; then
			build_zsm "$hdr" "$bdir" zsm.ko ZSM_RENAME=1
		else
			build_zsm "$hdr" "$bdir" zsm.ko "${cross[@]}"
		fi
	fi
	# zsm built in: no zsm.ko, the test modules are checked instead.
	local ko=$bdir/zsm.ko
	[ -f "$ko" ] || ko=$bdir/tests/zsm_kunit.ko
	vm=$(modinfo -F vermagic "$ko" | cut -d' ' -f1)
	[ "$vm" = "$rel" ] || die "$ko is for $vm, the kernel is $rel"
	if [ $prepare = 1 ]; then
		echo "$kout"
		return 0
	fi

	local own=
	if [ -z "$results" ]; then
		own=$(mktemp "${TMPDIR:-/tmp}/zsm-$tag.XXXXXX.json")
		results=$own
	fi
	# The kasan guest's boot took 794 s in make check-kasan (on one host
	# thread, beside the main guest); every other boot well under 300 s.
	local timeout=1200
	[ "$kernel/${ZSM_GUEST_FLAVOR:-debug}" != guest/kasan ] || timeout=2400
	log "booting $kernel ($kout): $tests"
	python3 "$bdir/scripts/zsm-run.py" --kernel-dir "$kout" --mode check \
		--tests "$tests" --timeout "$timeout" --label "$tag" \
		--results "$results" "${extra[@]}" "$@" || rc=$?
	if [ -n "$own" ]; then
		python3 "$repo/scripts/zsm-summary.py" "$results" || rc=$?
		rm -f "$own"
	fi
	return $rc
}

main "$@"
