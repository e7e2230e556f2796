#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian 12 packages that `make check` and `make demo` need.
#
#   scripts/deps.sh [--print]
#
# As root, missing packages are installed with apt-get. Otherwise the exact
# apt-get command is printed and the script fails. --print only prints the
# package list.
set -euo pipefail

PACKAGES=(
	linux-source-6.12	# guest kernel sources (scripts/build-kernel.sh)
	build-essential		# gcc, make, libc6-dev (static helpers)
	bc flex bison		# kernel build
	libelf-dev libssl-dev	# kernel build (objtool, certs)
	dwarves			# pahole
	kmod			# depmod for modules_install
	xz-utils		# unpack linux-source
	cpio gzip		# initramfs
	busybox-static		# guest userspace
	e2fsprogs		# mke2fs copied into the demo guest
	qemu-system-x86		# the guest
	python3			# scripts/zsm-run.py
	util-linux		# flock
	sparse			# scripts/build-matrix.sh (make C=2)
	dkms			# scripts/dkms-check.sh
	rsync			# scripts/stock-kernel.sh: the build copy
	debhelper dh-dkms lintian	# make deb (scripts/build-deb.sh)
	debootstrap qemu-utils	# the Debian guest image (scripts/deb-image.sh)
	gcc-aarch64-linux-gnu	# arm64 guests: kernel (build-kernel.sh debug-arm64)
	libc6-dev-arm64-cross	# arm64 guests: static helpers (mkinitramfs.sh)
	qemu-system-arm		# arm64 guests: qemu-system-aarch64 (zsm-run.py --arch arm64)
)
# Never a kernel package: Debian's kernel headers (build matrix, DKMS
# check, consumer boots) and images are fetched with `apt-get download`
# into the cache (scripts/fetch-headers.sh, scripts/stock-kernel.sh), since
# installing a header package may install a kernel into the host's /boot.

# Each package once, in the order first listed.
pkgs() {
	printf '%s\n' "${PACKAGES[@]}" | awk '!seen[$0]++'
}

missing() {
	local p
	for p in $(pkgs); do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		     grep -q 'install ok installed'; then
			echo "$p"
		fi
	done
}

main() {
	if [ "${1:-}" = --print ]; then
		pkgs | xargs echo
		return 0
	fi
	if ! command -v dpkg-query >/dev/null; then
		echo "deps: not a Debian system; install the equivalent of: $(pkgs | xargs echo)" >&2
		return 1
	fi
	local todo
	todo=$(missing | xargs echo)
	if [ -z "$todo" ]; then
		return 0
	fi
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing packages: $todo" >&2
		echo "deps: run as root:" >&2
		echo "  apt-get update && apt-get install -y --no-install-recommends $todo" >&2
		return 1
	fi
	echo "deps: installing $todo" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	# shellcheck disable=SC2086 # word splitting wanted
	apt-get install -y --no-install-recommends $todo
}

main "$@"
