#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# DKMS POST_BUILD hook (dkms.conf), run in the build directory after zsm.ko
# is built for a kernel: says which of zsm's two builds that kernel got.
#
#   scripts/dkms-post-build.sh KERNELRELEASE
#
# Module.symvers (written by the build) lists zsm's exports: zs_* where
# zsmalloc is a module (zram binds to zsm), zsm_* where it is built into
# the kernel (ZSM_RENAME=auto in dkms.conf; zsm then serves zswap only).
# On stderr: Debian's dkms postinst sends `dkms build`'s stdout to
# /dev/null.
kernel=${1:-unknown}
exec 1>&2

if grep -q '[[:space:]]zsm_malloc[[:space:]]' Module.symvers 2>/dev/null; then
	echo "zsm: kernel $kernel has zsmalloc built in: zsm is built with"
	echo "zsm: zsm_* names (ZSM_RENAME), so zram keeps the built-in zsmalloc;"
	echo "zsm: zswap can use zsm: echo zsm > /sys/module/zswap/parameters/zpool"
elif grep -q '[[:space:]]zs_malloc[[:space:]]' Module.symvers 2>/dev/null; then
	echo "zsm: kernel $kernel: zsm exports the zs_* API and is installed in"
	echo "zsm: updates/, so zram loads zsm instead of zsmalloc.ko from the next boot"
else
	echo "zsm: kernel $kernel: Module.symvers lists no zs_malloc or zsm_malloc"
fi
exit 0
