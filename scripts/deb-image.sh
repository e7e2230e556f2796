#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Debian 12 guest of the package test (scripts/deb-test.py): a root
# file system made with debootstrap, with Debian's stock 6.1 kernel and the
# initramfs that kernel's package makes, cached by recipe.
#
#   scripts/deb-image.sh
#
# Prints (last line) the image directory, $ZSM_CACHE/deb-image/<key>/:
#   root.img     raw ext4 file system (sparse; made with mke2fs -d, no loop
#                mount), the guest's /dev/vda; tests boot a qcow2 overlay
#                of it and never write it
#   vmlinuz      /boot/vmlinuz-<ABI> of the image (Debian's
#                linux-image-<ABI>-unsigned; ABI: the 6.1 kernel of
#                scripts/stock-kernel.sh --abis)
#   initrd.img   /boot/initrd.img-<ABI>, made by initramfs-tools inside the
#                image when the kernel package was installed
#   recipe       what <key> is the hash of
#
# The image: debootstrap --variant=minbase of bookworm, then inside it (a
# chroot with /proc, /sys and /dev mounted while apt runs) the bookworm,
# bookworm-updates and bookworm-security suites of the mirrors the host's
# apt uses, and systemd, udev, kmod, util-linux, systemd-zram-generator
# (zram0 as swap, the size of RAM: /etc/systemd/zram-generator.conf), dkms
# with gcc and make, linux-image-<ABI>-unsigned and linux-headers-<ABI>.
# Nothing is installed on the host: debootstrap and apt work inside the
# image directory. A unit, zsm-guest-hook.service, runs the test that
# scripts/deb-test.py puts on a second disk (/dev/vdb, ext4 labelled
# ZSMTEST; see guest/deb/run.sh) once the boot is done, when the kernel
# command line has zsm.deb_stage=.
#
# Cached in two steps, each keyed by the hash of its recipe (the suite,
# the mirrors, the package lists and its part of this script): the root
# file system as debootstrap and apt left it (base-<key>.tar, about 10
# minutes to make), and the image made from it (<key>/, a minute). Older
# ones are removed. Package versions are those of the day of the build.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${ZSM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zsm}
top=$cache/deb-image
SUITE=bookworm
IMAGE_MIB=3072

die() {
	echo "deb-image: $*" >&2
	exit 1
}

log() {
	echo "deb-image: $*" >&2
}

abi=$("$here/stock-kernel.sh" --abis | cut -d' ' -f1)

# site <suite>: the mirror the host's apt fetches <suite> from.
site() {
	# shellcheck disable=SC2016 # an apt format, not a shell expansion
	apt-get indextargets --format '$(SITE)' "Release: $1" \
		'Identifier: Packages' 2>/dev/null | head -n 1
}

mirror=${ZSM_DEB_MIRROR:-$(site $SUITE)}
mirror=${mirror:-http://deb.debian.org/debian}
security=${ZSM_DEB_SECURITY:-$(site $SUITE-security)}
security=${security:-http://deb.debian.org/debian-security}

# Installed by debootstrap (from bookworm alone), then by apt in the image
# (the kernel is in bookworm-security).
BASE=systemd,systemd-sysv,udev,kmod,util-linux,systemd-zram-generator,dkms,gcc,make,e2fsprogs
KERNEL="linux-image-$abi-unsigned linux-headers-$abi"

# Two steps, each cached by the hash of its recipe: the root file system
# as debootstrap and apt left it (base-<key>.tar; the slow part, rarely
# changed), and the image made from it (<key>/: configuration, mke2fs).
base_recipe() {
	echo "suite $SUITE"
	echo "mirror $mirror"
	echo "security $security"
	echo "base $BASE"
	echo "kernel $KERNEL"
	sed -n '/^# === Base/,/^# === Image/p' "$0"
}
recipe() {
	base_recipe
	sed -n '/^# === Image/,$p' "$0"
}
bkey=$(base_recipe | sha256sum | cut -c1-16)
key=$(recipe | sha256sum | cut -c1-16)
out=$top/$key
base=$top/base-$bkey.tar

mkdir -p "$top"
exec 9>"$top/.lock"
flock 9
if [ -f "$out/.done" ]; then
	log "reusing $out"
	echo "$out"
	exit 0
fi

for t in debootstrap mke2fs; do
	command -v "$t" >/dev/null ||
		die "$t missing: run scripts/deps.sh (as root) first"
done
[ "$(id -u)" = 0 ] || die "debootstrap and chroot need root"

tmp=$(mktemp -d "$top/tmp.XXXXXX")
root=$tmp/root
mounts=()
cleanup() {
	local i
	for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
		umount -l "${mounts[$i]}" 2>/dev/null || true
	done
	# Never into a file system still mounted below it (/dev, /proc).
	rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
t0=$(date +%s)

# === Base: debootstrap, then apt inside the image ========================
make_base() {
	local m i
	log "debootstrap $SUITE from $mirror into $root"
	debootstrap --variant=minbase --include="$BASE" $SUITE "$root" \
		"$mirror" >"$tmp/debootstrap.log" 2>&1 || {
		tail -n 30 "$tmp/debootstrap.log" >&2
		die "debootstrap failed"
	}
	cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror $SUITE main
deb $mirror $SUITE-updates main
deb $security $SUITE-security main
EOF
	# apt in the image, with the kernel file systems it needs meanwhile.
	for m in proc sys dev; do
		[ -d "${root:?}/$m" ] || die "no $root/$m"
		mount --bind "/$m" "$root/$m"
		mounts+=("$root/$m")
	done
	log "installing $KERNEL in the image"
	# shellcheck disable=SC2086 # one package per word
	chroot "$root" /bin/sh -ec "
		export DEBIAN_FRONTEND=noninteractive
		apt-get update
		apt-get install -y --no-install-recommends $KERNEL
		apt-get clean
		rm -rf /var/lib/apt/lists/*
	" >"$tmp/apt.log" 2>&1 || {
		tail -n 30 "$tmp/apt.log" >&2
		die "apt-get in the image failed"
	}
	for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
		umount "${mounts[$i]}"
	done
	mounts=()
	for m in "boot/vmlinuz-$abi" "boot/initrd.img-$abi" \
		 "usr/src/linux-headers-$abi/Makefile"; do
		[ -f "$root/$m" ] || die "no /$m in the image"
	done
	tar -C "$root" -cf "$tmp/base.tar" .
	find "$top" -maxdepth 1 -name 'base-*.tar' -delete
	mv "$tmp/base.tar" "$base"
	log "$base: made in $(($(date +%s) - t0)) s"
}

if [ -f "$base" ]; then
	log "unpacking $base"
	mkdir "$root"
	tar -C "$root" -xf "$base"
else
	make_base
fi

# === Image: configuration, mke2fs ========================================
log "configuring the image"
echo zsm-deb >"$root/etc/hostname"
echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" >"$root/etc/fstab"
# zram0, the size of RAM, as swap (priority 100), from the first boot on.
cat >"$root/etc/systemd/zram-generator.conf" <<'EOF'
[zram0]
zram-size = ram
EOF
# A machine id, so that no boot is a "first boot" (systemd-firstboot
# would prompt on the console); no logins on the console either: it
# carries the test's output.
echo 5a534d2d6465622d696d6167652d3031 >"$root/etc/machine-id"
for u in serial-getty@ttyS0 getty@tty1 console-getty systemd-firstboot; do
	ln -sf /dev/null "$root/etc/systemd/system/$u.service"
done
# The hook that runs the test disk's script (guest/deb/run.sh).
cat >"$root/usr/local/sbin/zsm-guest-hook" <<'EOF'
#!/bin/sh
# Runs the zsm test disk (/dev/vdb, scripts/deb-test.py) once the boot is
# done.
set -e
mkdir -p /run/zsm-test
mount -o ro /dev/vdb /run/zsm-test
exec /bin/sh /run/zsm-test/run.sh
EOF
chmod 755 "$root/usr/local/sbin/zsm-guest-hook"
cat >"$root/etc/systemd/system/zsm-guest-hook.service" <<'EOF'
[Unit]
Description=zsm package test (scripts/deb-test.py)
ConditionKernelCommandLine=zsm.deb_stage
After=local-fs.target swap.target

[Service]
Type=simple
ExecStart=/usr/local/sbin/zsm-guest-hook
StandardOutput=journal+console
StandardError=inherit

[Install]
WantedBy=multi-user.target
EOF
ln -sf /etc/systemd/system/zsm-guest-hook.service \
	"$root/etc/systemd/system/multi-user.target.wants/zsm-guest-hook.service"

cp "$root/boot/vmlinuz-$abi" "$tmp/vmlinuz"
cp "$root/boot/initrd.img-$abi" "$tmp/initrd.img"
log "mke2fs -d: $(du -sm "$root" | cut -f1) MiB into a $IMAGE_MIB MiB image"
truncate -s "${IMAGE_MIB}M" "$tmp/root.img"
mke2fs -q -t ext4 -L zsm-deb -d "$root" "$tmp/root.img" >&2
rm -rf "$root"
recipe >"$tmp/recipe"
rm -rf "$out"
find "$top" -mindepth 1 -maxdepth 1 -type d ! -name 'tmp.*' \
	-exec rm -rf {} +
mv "$tmp" "$out"
trap - EXIT
touch "$out/.done"
log "$out: built in $(($(date +%s) - t0)) s"
echo "$out"
