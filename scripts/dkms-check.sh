#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make dkms-check: build zsm through Debian's dkms, as a distribution user
# would, against Debian's 6.1 and 6.12 kernel headers.
#
#   scripts/dkms-check.sh [KERNELRELEASE...]
#
# Default kernels: those of scripts/stock-kernel.sh --abis (headers fetched
# into the cache by scripts/fetch-headers.sh, never installed). dkms itself is installed
# when missing (as root; otherwise the apt-get line is printed).
#
# Everything happens in a private DKMS tree, $ZSM_CACHE/dkms/: the sources
# are copied to $ZSM_CACHE/dkms/source/zsm-<version>/ (--sourcetree) and
# dkms works in $ZSM_CACHE/dkms/tree/ (--dkmstree), so the host's /usr/src
# and /var/lib/dkms are untouched. Only `dkms add` and `dkms build` run:
# nothing is installed into /lib/modules, nothing is loaded, and module
# signing is off (no MOK key is generated).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cache=${ZSM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zsm}
top=$cache/dkms
read -r -a KERNELS <<<"$("$repo/scripts/stock-kernel.sh" --abis)"

die() {
	echo "dkms-check: $*" >&2
	exit 1
}

need_dkms() {
	command -v dkms >/dev/null && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "dkms-check: dkms is not installed; run as root:" >&2
		echo "  apt-get update && apt-get install -y --no-install-recommends dkms" >&2
		exit 1
	fi
	echo "dkms-check: installing dkms" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dkms >&2 ||
		{ apt-get update >&2 &&
		  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dkms >&2; }
}

conf_value() {
	sed -n "s/^$1=\"\\(.*\\)\"\$/\\1/p" "$repo/dkms.conf"
}

# The source tree as a package would ship it: dkms.conf, Kbuild and the
# module's sources; not tests/, guest/ or the tools.
stage_sources() {
	local dst=$1
	rm -rf "$dst"
	mkdir -p "$dst"
	(cd "$repo" && git ls-files -co --exclude-standard -z -- \
		dkms.conf Kbuild 'zsm_*.c' 'include/*.h' \
		scripts/dkms-post-build.sh |
		xargs -0 cp --parents -t "$dst")
}

# dkms with the private trees and signing off. Debian's dkms 3.0 signs
# modules when it finds the kernel's sign-file, creating a key in
# /var/lib/dkms the first time; pointed at a sign_file that does not
# exist, it says "modules won't be signed" and leaves /var/lib/dkms alone.
dk() {
	dkms "$@" --dkmstree "$top/tree" --sourcetree "$top/source"
}

build_one() {
	local k=$1 ver=$2 kdir ko log vm exports
	kdir=$("$repo/scripts/fetch-headers.sh" "$k" | tail -n 1)
	log=$top/tree/zsm/$ver/build/make.log
	if [ ! -f "$kdir/Makefile" ]; then
		echo "dkms-check: $k: FAIL: no headers (scripts/fetch-headers.sh $k)"
		return 1
	fi
	if ! dk build -m zsm -v "$ver" -k "$k" --kernelsourcedir "$kdir" \
		>"$top/dkms-$k.log" 2>&1; then
		sed 's/^/  /' "$top/dkms-$k.log" | tail -n 30
		[ -f "$log" ] && tail -n 30 "$log" | sed 's/^/  make.log: /'
		echo "dkms-check: $k: FAIL: dkms build (log $top/dkms-$k.log)"
		return 1
	fi
	ko=$(find "$top/tree/zsm/$ver/$k" -name 'zsm.ko*' | head -n 1)
	if [ -z "$ko" ]; then
		echo "dkms-check: $k: FAIL: dkms built no zsm.ko"
		return 1
	fi
	vm=$(modinfo -F vermagic "$ko" | cut -d' ' -f1)
	if [ "$vm" != "$k" ]; then
		echo "dkms-check: $k: FAIL: $ko has vermagic $vm"
		return 1
	fi
	# zs_* where zsmalloc is a module (6.1), zsm_* where it is built in.
	exports=$(modinfo -F name "$ko" >/dev/null &&
		  xz -dcf <"$ko" | strings | grep -m1 -oE '^__ksymtab_zsm?_create_pool$|^zsm?_create_pool$' || true)
	sed -n 's/^/  dkms: /p' "$top/dkms-$k.log" | grep -iE 'build|module|cleaning|running' | head -n 8
	echo "dkms-check: $k: OK: dkms build of zsm/$ver succeeded:" \
	     "$(basename "$ko"), vermagic $vm, exports ${exports:-?}" \
	     "($(du -k "$ko" | cut -f1) KiB)"
}

main() {
	local ver k failed=0 start kernels
	start=$(date +%s)
	need_dkms
	[ -f "$repo/dkms.conf" ] || die "no dkms.conf"
	ver=$(conf_value PACKAGE_VERSION)
	[ -n "$ver" ] || die "no PACKAGE_VERSION in dkms.conf"
	kernels=("$@")
	[ ${#kernels[@]} -gt 0 ] || kernels=("${KERNELS[@]}")
	echo "dkms-check: $(dkms --version 2>&1 | head -n 1); tree $top"
	# One dkms-check at a time per cache (several checkouts may share it).
	mkdir -p "$top"
	exec 9>"$top/.lock"
	flock 9
	rm -rf "$top/tree"
	mkdir -p "$top/tree" "$top/source"
	stage_sources "$top/source/zsm-$ver"
	export sign_file=/nonexistent/zsm-dkms-check-does-not-sign
	dk add -m zsm -v "$ver" >"$top/dkms-add.log" 2>&1 ||
		{ cat "$top/dkms-add.log"; die "dkms add failed"; }
	for k in "${kernels[@]}"; do
		build_one "$k" "$ver" || failed=$((failed + 1))
	done
	dk status -m zsm 2>/dev/null | sed 's/^/dkms-check: status: /'
	if [ $failed != 0 ]; then
		echo "dkms-check: FAIL: $failed of ${#kernels[@]} kernels" >&2
		return 1
	fi
	echo "dkms-check: OK: ${kernels[*]} in $(($(date +%s) - start)) s"
}

main "$@"
