# SPDX-License-Identifier: GPL-2.0
# Mapping under CPU hotplug: tests/zsm_test_map.ko maps, checks and rewrites
# objects on every CPU for a few seconds while this script takes CPU 1
# offline and online again in the background. Run once with zsm.ko in pte
# mode (where it has one: x86-64) and once in copy mode. The module prints
# the metrics (map.hotplug_cycles, map.corrupt, ...; map.copy.* for copy
# mode) and fails its insmod on corruption; this script also fails when no
# offline/online cycle completed while the workers ran, or when a toggle
# failed.
. /zsm/lib.sh

cpu1=/sys/devices/system/cpu/cpu1/online
duration_ms=8000
[ -w "$cpu1" ] || zsm_skip "CPU 1 cannot be taken offline (no $cpu1)"

cleanup() {
	touch /tmp/map_hotplug.stop
	wait
	echo 1 >"$cpu1" 2>/dev/null || true
	zsm_fair_server_restore
	zsm_rmmod zsm_test_map zsm
}
trap cleanup EXIT
# A 6.12 scheduler warning on CPU offline: see guest/lib.sh.
zsm_fair_server_off

# Take CPU 1 down and up until told to stop; count the cycles and failures.
toggle_cpu1() {
	local n=0 err=0
	while [ ! -e /tmp/map_hotplug.stop ]; do
		if echo 0 >"$cpu1" && echo 1 >"$cpu1"; then
			n=$((n + 1))
		else
			err=$((err + 1))
			echo 1 >"$cpu1" 2>/dev/null || true
			sleep 1
		fi
		echo "$n $err" >/tmp/map_hotplug.count
	done
}

# run_mode <map_mode> <metric prefix>
run_mode() {
	local mode="$1" prefix="$2" pid rc=0 cycles corrupt n err

	zsm_kmsg "map_hotplug: loading zsm, map_mode=$mode"
	zsm_insmod zsm.ko map_mode="$mode"
	# pte mode exists on x86-64 only (Documentation/zsm.rst): elsewhere
	# zsm says so at load and maps in copy mode, which the copy run tests.
	if [ "$mode" = pte ] &&
	   dmesg | sed -n '/map_hotplug: loading zsm, map_mode=pte/,$p' |
	   grep -q 'page-table mapping unsupported here'; then
		echo "pte: not available on this kernel ($(uname -m)), not run"
		zsm_rmmod zsm
		return 0
	fi
	rm -f /tmp/map_hotplug.stop
	echo "0 0" >/tmp/map_hotplug.count
	toggle_cpu1 &
	pid=$!
	zsm_insmod tests/zsm_test_map.ko duration_ms=$duration_ms \
		metric_prefix="$prefix" expect_mode="$mode" || rc=$?
	touch /tmp/map_hotplug.stop
	wait $pid || true
	echo 1 >"$cpu1"
	read -r n err </tmp/map_hotplug.count
	echo "$mode: script completed $n offline/online cycles, $err failed"
	if [ $rc -ne 0 ]; then
		echo "$mode: zsm_test_map.ko failed to load ($rc)"
		return 1
	fi
	cycles=$(cat /sys/module/zsm_test_map/parameters/hotplug_cycles)
	corrupt=$(cat /sys/module/zsm_test_map/parameters/corrupt)
	echo "$mode: module saw $cycles cycles, $corrupt corrupt maps"
	zsm_rmmod zsm_test_map zsm
	[ "$err" -eq 0 ] && [ "$cycles" -gt 0 ] && [ "$corrupt" -eq 0 ]
}

run_mode pte map
run_mode copy map.copy
