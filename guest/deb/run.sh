#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The zsm-dkms package test, inside the Debian 12 guest of
# scripts/deb-image.sh (systemd, Debian's stock 6.1 kernel, zram0 swap set
# up by systemd-zram-generator). scripts/deb-test.py puts this script, the
# package and static builds of zsm_pattern and zsmstat on the test disk
# (/dev/vdb, mounted read-only on /run/zsm-test) and boots the guest once
# per stage, zsm.deb_stage=<stage> on the kernel command line; the
# image's zsm-guest-hook.service runs this script once the boot is done.
#
#   install   zram0 swaps on zsmalloc.ko (the kernel's own); then
#             `apt-get install ./zsm-dkms_*.deb`: DKMS builds zsm for the
#             running kernel and installs it into updates/dkms, and
#             `modprobe --show-depends zram` now names zsm.ko, not
#             zsmalloc.ko. Test deb_install.
#   zsm       after the reboot: zram0 is swap, zsm is loaded with zram as
#             its holder, zsmalloc is not loaded; zsm_pattern dirties
#             DEB_PCT% of MemTotal, at least a quarter of MemTotal goes
#             to swap, zsmstat shows the pool zram0 holding objects, and
#             every page reads back identical (test deb_zram_on_zsm).
#             Then `apt-get purge zsm-dkms` takes the module away and
#             modprobe names zsmalloc.ko again (test deb_purge).
#   removed   after another reboot: zram0 swaps on zsmalloc.ko again, zsm
#             is gone (test deb_zram_on_zsmalloc).
#
# Each stage reports through /dev/kmsg in the protocol of guest/init
# (zsm-guest-start, zsm-test-begin/-end, zsm-metric, zsm-guest-done) and
# then reboots (the host's QEMU runs with -no-reboot, so it exits) or,
# after the last stage, powers off.
set -u
T=/run/zsm-test
PATH=$T/bin:/usr/sbin:/usr/bin:/sbin:/bin
DEBIAN_FRONTEND=noninteractive
export PATH DEBIAN_FRONTEND
DEB_PCT=110
SEED=2121
KVER=$(uname -r)

kmsg() {
	echo "$*" >/dev/kmsg
}

metric() {
	kmsg "zsm-metric $1=$2"
}

# fail <reason>: ends the test (each runs in a subshell, see run_test).
fail() {
	echo "FAIL: $*"
	exit 1
}

param() {
	sed -n "s/.*$1=\\([^ ]*\\).*/\\1/p" /proc/cmdline
}

meminfo() {
	awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo
}

pkg_status() {
	dpkg-query -W -f '${Status}' zsm-dkms 2>/dev/null || true
}

loaded() {
	grep -q "^$1 " /proc/modules
}

# zram_is_swap: zram0 is an active swap device (systemd-zram-generator's).
zram_is_swap() {
	swapon --show
	zramctl
	grep -q '^/dev/zram0 ' /proc/swaps || fail "zram0 is not swap"
}

# zram_runs_on <allocator>: zram is a holder of <allocator> (zsm or
# zsmalloc), and the other one is not loaded.
zram_runs_on() {
	other=zsm
	[ "$1" = zsmalloc ] || other=zsmalloc
	grep -E '^(zsm|zsmalloc|zram) ' /proc/modules
	[ -e "/sys/module/$1/holders/zram" ] ||
		fail "/sys/module/$1/holders/zram missing: zram is not on $1"
	! loaded "$other" || fail "$other is loaded"
}

# modprobe_picks <allocator>: which module modprobe would load for zram.
modprobe_picks() {
	modprobe --show-depends zram | tee /tmp/deps
	case $1 in
	zsm)
		grep -q "/updates/dkms/zsm\\.ko" /tmp/deps ||
			fail "modprobe zram would not load updates/dkms/zsm.ko"
		! grep -q '/zsmalloc\.ko' /tmp/deps ||
			fail "modprobe zram would load zsmalloc.ko"
		;;
	zsmalloc)
		grep -q '/zsmalloc\.ko' /tmp/deps ||
			fail "modprobe zram would not load zsmalloc.ko"
		! grep -q '/zsm\.ko' /tmp/deps ||
			fail "modprobe zram would still load zsm.ko"
		;;
	esac
}

# run_test <name> <function>: one test window of the protocol; the
# function runs in a subshell under set -e (not in a condition, where
# set -e would be ignored).
run_test() {
	t0=$(date +%s)
	kmsg "zsm-test-begin $1"
	(set -e; "$2")
	rc=$?
	res=pass
	[ $rc = 0 ] || { res=fail; echo "$1: exit status $rc"; }
	kmsg "zsm-test-end $1 $res $(($(date +%s) - t0))s"
}

boot_state() {
	# The boot is over when the hook runs, unless a unit is still
	# starting; a failed unit fails the stage's first test.
	state=$(systemctl is-system-running --wait)
	echo "system state: $state ($(cut -d' ' -f1 /proc/uptime) s after boot)"
	if [ "$state" != running ]; then
		systemctl --failed --no-pager
		fail "system state $state"
	fi
}

# === Stages ===============================================================

t_install() {
	boot_state
	zram_is_swap
	zram_runs_on zsmalloc
	modprobe_picks zsmalloc
	cp "$T"/zsm-dkms_*.deb /tmp/
	t1=$(date +%s)
	apt-get install -y /tmp/zsm-dkms_*.deb 2>&1 | tee /tmp/apt.out
	metric deb.install_seconds $(($(date +%s) - t1))
	[ "$(pkg_status)" = "install ok installed" ] ||
		fail "zsm-dkms is not installed: $(pkg_status)"
	dkms status
	dkms status zsm | grep "$KVER.*: installed" >/dev/null ||
		fail "dkms did not install zsm for $KVER"
	# dkms.conf's POST_BUILD note: this kernel has zsmalloc as a module.
	grep -q "^zsm: kernel $KVER: zsm exports the zs_\\* API" /tmp/apt.out ||
		fail "no post-build note for $KVER in apt's output"
	ko=$(modinfo -n zsm)
	echo "modinfo -n zsm: $ko"
	case $ko in
	/lib/modules/$KVER/updates/dkms/zsm.ko*) ;;
	*) fail "zsm is not installed in updates/dkms" ;;
	esac
	[ -d /usr/src/zsm-"$(dpkg-query -W -f '${Version}' zsm-dkms)" ] ||
		fail "no /usr/src/zsm-<version>"
	modprobe_picks zsm
}

t_zram_on_zsm() {
	boot_state
	zram_is_swap
	zram_runs_on zsm
	modinfo zsm | grep -E '^(filename|version|vermagic|parm):'
	memtotal=$(meminfo MemTotal)
	# No swap readahead (as usual for zram swap): the pages are read back
	# in a scattered order.
	echo 0 >/proc/sys/vm/page-cluster
	zsm_pattern mem -r $DEB_PCT -s $SEED -P >/tmp/pattern.out 2>&1 &
	pid=$!
	while ! grep -q '^zsm_pattern: filled' /tmp/pattern.out; do
		if ! kill -0 $pid 2>/dev/null; then
			cat /tmp/pattern.out
			fail "zsm_pattern ended before filling"
		fi
		sleep 1
	done
	used=$(($(meminfo SwapTotal) - $(meminfo SwapFree)))
	echo "swap in use: $((used / 1024)) MiB of MemTotal $((memtotal / 1024)) MiB"
	metric deb.swap_used_kb $used
	zramctl
	zsmstat -p zram0 | tee /tmp/zsmstat.out
	objs=$(sed -n 's/^pool zram0: .* zspages, \([0-9]*\) objects,.*/\1/p' /tmp/zsmstat.out)
	metric deb.zsm_objects "${objs:-0}"
	[ "${objs:-0}" -gt 0 ] || fail "zsmstat shows no objects in pool zram0"
	kill -USR1 $pid
	rc=0
	wait $pid || rc=$?
	cat /tmp/pattern.out
	pages=$(sed -n 's/^result.* pages=\([0-9]*\).*/\1/p' /tmp/pattern.out)
	verified=$(sed -n 's/^result.* verified=\([0-9]*\).*/\1/p' /tmp/pattern.out)
	bad=$(sed -n 's/^result.* corrupt=\([0-9]*\).*/\1/p' /tmp/pattern.out)
	metric deb.pages_verified "${verified:-0}"
	metric deb.corrupt "${bad:--1}"
	[ "$rc" = 0 ] || fail "zsm_pattern: exit status $rc"
	[ "${bad:-1}" = 0 ] || fail "zsm_pattern: ${bad:-?} pages corrupt"
	# Every page of DEB_PCT% of MemTotal was read back.
	[ "${verified:-0}" -eq "${pages:--1}" ] ||
		fail "$verified of $pages pages verified"
	[ "$pages" -ge $((memtotal * DEB_PCT / 100 / 4 - 1)) ] ||
		fail "$pages pages checked, $DEB_PCT% of MemTotal is more"
	[ "$used" -ge $((memtotal / 4)) ] ||
		fail "only $((used / 1024)) MiB went to swap"
}

t_purge() {
	apt-get purge -y zsm-dkms 2>&1
	case $(pkg_status) in
	""|"unknown ok not-installed") ;;
	*) fail "zsm-dkms is not purged: $(pkg_status)" ;;
	esac
	[ -z "$(find /lib/modules/"$KVER" -name 'zsm.ko*')" ] ||
		fail "a zsm.ko is left in /lib/modules/$KVER"
	[ -z "$(dkms status zsm)" ] || fail "dkms still knows zsm"
	modprobe_picks zsmalloc
}

t_zram_on_zsmalloc() {
	boot_state
	zram_is_swap
	zram_runs_on zsmalloc
	[ -z "$(find /usr/src /lib/modules -maxdepth 3 -name 'zsm*')" ] ||
		fail "zsm files left behind"
}

stage=$(param zsm.deb_stage)
case $stage in
install) tests="deb_install:t_install" ;;
zsm) tests="deb_zram_on_zsm:t_zram_on_zsm deb_purge:t_purge" ;;
removed) tests="deb_zram_on_zsmalloc:t_zram_on_zsmalloc" ;;
*) tests= ;;
esac
kmsg "zsm-guest-start mode=deb tests=$(echo "$tests" | sed 's/:[^ ]*//g; s/ /,/g') cpus=$(nproc) kernel=$KVER stage=$stage"
for t in $tests; do
	run_test "${t%%:*}" "${t#*:}"
done
sync
if [ "$stage" = removed ] || [ -z "$tests" ]; then
	kmsg "zsm-guest-done"
	systemctl poweroff
else
	kmsg "zsm-deb-stage-done $stage"
	systemctl reboot
fi
