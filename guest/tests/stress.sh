# SPDX-License-Identifier: GPL-2.0
# Stress: tests/zsm_test_stress.ko runs a randomized mix of zs_malloc,
# zs_free, RO/WO/RW maps (each checking the object's checksum and
# identity), nested maps, zs_compact and map-mode flips on two unbound
# kthreads for a fixed number of operations, while this script runs kernel
# compaction (/proc/sys/vm/compact_memory, which migrates zsm's movable
# pages) and takes CPU 1 offline and online, each in a loop in the
# background, every 2 s (more often, and the guest spends its time in
# compaction and stop_machine instead of zsm). The module prints stress.* metrics and fails its insmod on
# any corruption, error, page left behind or short count; this script also
# fails when no compaction or (with CPU 1 hot-pluggable) no offline/online
# cycle completed while the module ran.
#
# Operations: 5,000,000 by default; zsm.stress_ops=N on the kernel command
# line (scripts/zsm-run.py --append) overrides it, e.g. for a soak run.
. /zsm/lib.sh

cpu1=/sys/devices/system/cpu/cpu1/online
stop=/tmp/stress.stop
ops=$(sed -n 's/.*zsm\.stress_ops=\([0-9]*\).*/\1/p' /proc/cmdline)
ops=${ops:-5000000}

# While CPU 1 cycles, the CPUs' fair servers are off: see
# zsm_fair_server_off in guest/lib.sh (a 6.12 scheduler warning).

cleanup() {
	touch "$stop"
	wait
	[ ! -w "$cpu1" ] || echo 1 >"$cpu1" 2>/dev/null || true
	zsm_fair_server_restore
	zsm_rmmod zsm_test_stress zsm
}
trap cleanup EXIT

# Kernel compaction, again and again; count the passes.
compact_loop() {
	local n=0
	while [ ! -e "$stop" ]; do
		echo 1 >/proc/sys/vm/compact_memory
		n=$((n + 1))
		echo "$n" >/tmp/stress.compactions
		sleep 2
	done
}

# CPU 1 down and up, again and again; count cycles and failures.
hotplug_loop() {
	local n=0 err=0
	while [ ! -e "$stop" ]; do
		if echo 0 >"$cpu1" && echo 1 >"$cpu1"; then
			n=$((n + 1))
		else
			err=$((err + 1))
			echo 1 >"$cpu1" 2>/dev/null || true
		fi
		echo "$n $err" >/tmp/stress.hotplug
		sleep 2
	done
}

rm -f "$stop"
echo 0 >/tmp/stress.compactions
echo "0 0" >/tmp/stress.hotplug
zsm_insmod zsm.ko
compact_loop &
if [ -w "$cpu1" ]; then
	zsm_fair_server_off
	hotplug_loop &
else
	echo "CPU 1 cannot be taken offline (no $cpu1): no hotplug cycles"
fi

rc=0
zsm_insmod tests/zsm_test_stress.ko ops="$ops" || rc=$?
touch "$stop"
wait
[ ! -w "$cpu1" ] || echo 1 >"$cpu1"
zsm_fair_server_restore

read -r compactions </tmp/stress.compactions
read -r cycles hotplug_err </tmp/stress.hotplug
echo "stress: $ops operations requested; $compactions kernel compactions," \
     "$cycles CPU 1 offline/online cycles ($hotplug_err failed)"
zsm_metric stress.kernel_compactions "$compactions"
zsm_metric stress.hotplug_cycles "$cycles"
zsm_metric stress.hotplug_failures "$hotplug_err"
if [ "$rc" -ne 0 ]; then
	echo "stress: zsm_test_stress.ko failed ($rc)"
	exit 1
fi
zsm_rmmod zsm_test_stress zsm
[ "$compactions" -gt 0 ]
[ ! -w "$cpu1" ] || [ "$cycles" -gt 0 ]
# The kernel's compaction moved zsm pages while the objects were checked.
migrated=$(dmesg | sed -n 's/.*zsm-metric stress\.pages_migrated=\([0-9]*\).*/\1/p' |
	tail -n 1)
if [ "${migrated:-0}" -eq 0 ]; then
	echo "stress: no zsm page migrated: migration was not exercised"
	exit 1
fi
