# SPDX-License-Identifier: GPL-2.0
#
# Helpers for guest test scripts: `. /zsm/lib.sh` at the top of a test.
# Tests run under `sh -e` (busybox ash); see the protocol in guest/init.

ZSM_MODULES=/zsm/modules
KVER=$(uname -r)
KMODS=/lib/modules/$KVER

# Write a line into the kernel log, ordered with kernel messages.
zsm_kmsg() {
	echo "$*" >/dev/kmsg
}

# zsm_metric <name> <value>: reported by the runner at the end of the run.
zsm_metric() {
	zsm_kmsg "zsm-metric $1=$2"
}

# zsm_skip <reason>: end the test as skipped.
zsm_skip() {
	echo "skip: $*"
	exit 77
}

# zsm_insmod <path relative to the repository> [params...]: load one of ours.
zsm_insmod() {
	local ko=$ZSM_MODULES/$1
	shift
	[ -f "$ko" ] || { echo "missing module $ko"; return 1; }
	insmod "$ko" "$@"
}

# zsm_kmod <name> [params...]: load a module of the guest kernel by name
# (e.g. zram), from /lib/modules. Dependencies are not resolved.
zsm_kmod() {
	local name=$1 ko
	shift
	ko=$(find "$KMODS" -name "$name.ko" | head -n 1)
	[ -n "$ko" ] || { echo "missing kernel module $name.ko"; return 1; }
	insmod "$ko" "$@"
}

# zsm_loaded <module>: true when the module is loaded.
zsm_loaded() {
	grep -q "^$1 " /proc/modules
}

# zsm_rmmod <module>...: unload, if loaded.
zsm_rmmod() {
	local m
	for m in "$@"; do
		if zsm_loaded "$m"; then
			rmmod "$m"
		fi
	done
}

# Expected-warning fence: WARN splats between begin and end are tolerated
# by the runner, and at least one must occur. Other splats still fail.
zsm_expect_warn_begin() {
	zsm_kmsg "zsm-expect-warn-begin $1"
}

zsm_expect_warn_end() {
	zsm_kmsg "zsm-expect-warn-end $1"
}

# zsm_kunit_failed <suite>...: true if a loaded suite's debugfs results
# report a top-level "not ok".
zsm_kunit_failed() {
	local s r=1
	for s in "$@"; do
		if grep -q '^not ok' "/sys/kernel/debug/kunit/$s/results"; then
			echo "kunit suite $s failed"
			r=0
		fi
	done
	return $r
}

# zsm_kunit_suites: names of the KUnit suites currently registered.
zsm_kunit_suites() {
	ls /sys/kernel/debug/kunit 2>/dev/null || true
}
