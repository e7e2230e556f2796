# SPDX-License-Identifier: GPL-2.0
# Bad input: each misuse of the API has a defined outcome, and the objects
# around it are not damaged (tests/zsm_test_badinput.c describes every
# case; that module checks them and fails its insmod when one fails).
#
# zsm warns once per call site per load (WARN_ONCE), so every case runs in
# a fresh load of zsm.ko. A case that expects a warning is fenced by the
# module (zsm-expect-warn-begin/end badinput-<case>, see guest/init);
# here we also check that exactly one WARNING with the expected text
# appeared inside the fence. Then, from this script:
#
#   refcount        each pool a module holds adds one reference to zsm
#                   (/sys/module/zsm/refcnt); rmmod zsm is refused while
#                   they exist and succeeds after they are destroyed and
#                   their owner unloaded.
#   param:*         zsm.ko refuses to load with chain_size out of 4..16 or
#                   map_mode other than pte|copy|auto (insmod fails with
#                   EINVAL and zsm logs why); the limits themselves load.
#
# The warning lines of each fence must not show the misused handle's value
# nor any other kernel address (no_address).
#
# badinput.cases is the number of cases that passed; any failure fails the
# test.
. /zsm/lib.sh

BI=tests/zsm_test_badinput.ko
PARAMS=/sys/module/zsm_test_badinput/parameters
passed=0
failed=0

trap 'zsm_rmmod zsm_test_badinput zsm' EXIT

pass() {
	passed=$((passed + 1))
	echo "badinput: $1: pass"
}

fail() {
	failed=$((failed + 1))
	echo "badinput: $1: FAIL: $2"
}

# The kernel log from the last line matching <begin> to <end> (sed BREs).
log_window() {
	dmesg | sed -n "/$1/,/$2/p"
}

# no_address <case> <fence window>: zsm's warning lines (those with "zsm:")
# show no kernel address: neither the handle the case misused (the module
# logs it, "case <case>: misused handle <hex>") nor any 16-digit hex word
# of the kernel half (ffff...).
no_address() {
	local c=$1 msgs h
	msgs=$(echo "$2" | grep 'zsm:' || true)
	if echo "$msgs" | grep -qi 'ffff[0-9a-f]\{12\}'; then
		fail "$c" "a warning shows a kernel address: $(echo "$msgs" | grep -i 'ffff[0-9a-f]\{12\}' | head -n 1)"
		return 1
	fi
	for h in $(dmesg | sed -n "s/.*case $c: misused handle \([0-9a-f]*\)$/\1/p"); do
		if echo "$msgs" | grep -qi "$h"; then
			fail "$c" "a warning shows the handle $h"
			return 1
		fi
	done
	return 0
}

# run_case <case> [<expected warning text>...]: one load of zsm and the
# module for one case. With texts, the fence must hold exactly one WARNING
# per text, and each text must match one of them (sed BREs).
run_case() {
	local c=$1 win n want
	shift
	zsm_insmod zsm.ko
	if ! zsm_insmod "$BI" run="$c"; then
		fail "$c" "zsm_test_badinput.ko run=$c failed to load"
		zsm_rmmod zsm_test_badinput zsm
		return
	fi
	zsm_rmmod zsm_test_badinput zsm
	if [ $# -eq 0 ]; then
		pass "$c"
		return
	fi
	win=$(log_window "zsm-expect-warn-begin badinput-$c\$" \
			 "zsm-expect-warn-end badinput-$c\$")
	n=$(echo "$win" | grep -c 'WARNING: CPU: [0-9]* PID: [0-9]* at ' || true)
	if [ -z "$win" ]; then
		fail "$c" "fence markers not found in the kernel log"
		return
	fi
	if [ "$n" -ne $# ]; then
		fail "$c" "$n warnings inside the fence, expected $#"
		return
	fi
	for want in "$@"; do
		if ! echo "$win" | grep -q "$want"; then
			fail "$c" "no warning matching '$want' inside the fence"
			return
		fi
	done
	if ! no_address "$c" "$win"; then
		return
	fi
	pass "$c"
}

# --- Cases of the module ----------------------------------------------
run_case malloc_size
run_case free_null
run_case create_null
run_case double_free "zsm: double free.* in pool zsm_badinput_double_free"
run_case foreign_free "zsm: free of .*not from pool zsm_badinput_foreign_free"
run_case map_freed "zsm: map of .*free"
run_case map_foreign "zsm: map of .*not from pool zsm_badinput_map_foreign"
run_case unmap_unmapped "zsm: unmap of .*not the last mapped"
run_case unmap_order "zsm: unmap of .*not the last mapped"
run_case nested3 "zsm: more than 2 nested maps on a CPU"
run_case obj_overlong "zsm: write of [0-9]* bytes to a [0-9]*-byte object" \
	"zsm: read of [0-9]* bytes of a [0-9]*-byte object"
run_case destroy_live "zsm: pool zsm_badinput_live destroyed with 100 live objects"
run_case destroy_mapped \
	"zsm: pool zsm_badinput_mapped destroyed with an object mapped: waiting for the unmap" \
	"zsm: pool zsm_badinput_mapped destroyed with 10 live objects"
# Calling contexts: zs_malloc() and zs_free() are refused in hard IRQ and
# softirq, zs_map_object(), zs_obj_read_begin() and zs_obj_write() in hard
# IRQ (mapping works in softirq, where the case maps while another CPU
# compacts).
run_case irq_malloc "zsm: .*() from interrupt context"
run_case irq_free "zsm: .*() from interrupt context"
run_case irq_map "zsm: map from hard IRQ or NMI context"
run_case irq_read "zsm: map from hard IRQ or NMI context"
run_case irq_write "zsm: map from hard IRQ or NMI context"
# The ends after refused object reads release nothing.
run_case obj_end_refused \
	"zsm: map of .*not from pool zsm_badinput_obj_end_refused" \
	"zsm: map of free handle" "zsm: map from hard IRQ"
run_case softirq "zsm: .*() from interrupt context" \
	"zsm: .*() from interrupt context"

# long_name: the two pools stay until unload; look at their debugfs.
zsm_insmod zsm.ko
if zsm_insmod "$BI" run=long_name keep=1; then
	prefix=$(dmesg | sed -n 's/.*case long_name: pool name prefix \([a-z]*\)$/\1/p' |
		 tail -n 1)
	dir=/sys/kernel/debug/zsm/$prefix
	if [ ${#prefix} -ne 64 ]; then
		fail long_name "name prefix of ${#prefix} characters in the log"
	elif [ ! -d "$dir" ] || [ ! -d "$dir.1" ]; then
		fail long_name "no debugfs directories $dir and $dir.1"
	elif ! grep -qx "name $prefix" "$dir/summary"; then
		fail long_name "$dir/summary does not name the pool $prefix"
	else
		pass long_name
	fi
else
	fail long_name "zsm_test_badinput.ko run=long_name failed to load"
fi
zsm_rmmod zsm_test_badinput zsm

# --- refcount: unload while pools exist -------------------------------
refcount_case() {
	local base held
	zsm_insmod zsm.ko
	zsm_insmod "$BI"
	base=$(cat /sys/module/zsm/refcnt)
	echo 3 >"$PARAMS/pools"
	held=$(cat /sys/module/zsm/refcnt)
	echo "badinput: zsm refcnt $base, with 3 pools $held"
	if [ "$held" -ne $((base + 3)) ]; then
		fail refcount "3 pools took $((held - base)) references, expected 3"
		return
	fi
	if rmmod zsm 2>/dev/null || ! zsm_loaded zsm; then
		fail refcount "rmmod zsm succeeded while pools exist"
		return
	fi
	echo 0 >"$PARAMS/pools"
	if [ "$(cat /sys/module/zsm/refcnt)" -ne "$base" ]; then
		fail refcount "references not dropped by zs_destroy_pool()"
		return
	fi
	rmmod zsm_test_badinput
	if ! rmmod zsm || zsm_loaded zsm; then
		fail refcount "rmmod zsm refused after the pools were destroyed"
		return
	fi
	pass refcount
}
refcount_case
zsm_rmmod zsm_test_badinput zsm

# --- param:*: insmod zsm.ko with parameters out of range -------------
# param_reject <message> <param>: the load fails with EINVAL and logs it.
param_reject() {
	local want=$1 p=$2 name="param:$2" mark
	mark="zsm-badinput-insmod $p"
	zsm_kmsg "$mark"
	if zsm_insmod zsm.ko "$p" 2>/tmp/insmod.err; then
		fail "$name" "zsm.ko loaded with $p"
		zsm_rmmod zsm
		return
	fi
	if ! grep -q "Invalid argument" /tmp/insmod.err; then
		fail "$name" "insmod error is not EINVAL: $(cat /tmp/insmod.err)"
	elif ! log_window "$mark\$" 'NEVER-MATCHES' | grep -q "$want"; then
		fail "$name" "no '$want' in the kernel log"
	else
		pass "$name"
	fi
}

param_reject "zsm: chain_size=3 out of range 4..16" chain_size=3
param_reject "zsm: chain_size=17 out of range 4..16" chain_size=17
param_reject "zsm: chain_size=0 out of range 4..16" chain_size=0
param_reject "zsm: map_mode=bogus: expected pte, copy or auto" map_mode=bogus
param_reject "zsm: map_mode=: expected pte, copy or auto" map_mode=

# The limits load, and a pool works with them.
for p in chain_size=4 chain_size=16 map_mode=copy map_mode=pte map_mode=auto; do
	if zsm_insmod zsm.ko "$p" && zsm_insmod "$BI" run=malloc_size; then
		pass "param:$p"
	else
		fail "param:$p" "zsm.ko $p with a pool failed"
	fi
	zsm_rmmod zsm_test_badinput zsm
done

zsm_metric badinput.cases "$passed"
zsm_metric badinput.failed "$failed"
echo "badinput: $passed cases passed, $failed failed"
[ "$failed" -eq 0 ]
