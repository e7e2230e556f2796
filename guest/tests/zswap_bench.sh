# SPDX-License-Identifier: GPL-2.0
# zsm-run: --mem 2048 --disk 256 --data
# zswap_bench: the zswap workload of make bench (/zsm/bench-lib.sh) on a
# kernel whose zswap calls zs_* directly (7.x), with zsm or the kernel's
# own zsmalloc built in: one allocator per boot, so make bench-builtin
# boots two kernels (scripts/build-kernel.sh builtin-perf7 and
# zsmalloc-perf7) and scripts/bench-run.py --builtin pairs their rounds.
# Rounds: zsm.bench_rounds=N (default 5). Prints zsm-bench-raw lines, as
# bench.sh, with the provider zsm when zsm is built in, else upstream.
# Not part of make check (the `zsm-run:` line above).
. /zsm/lib.sh
# shellcheck disable=SC2034 # read by consumer-lib.sh
TEST=zswap_bench
. /zsm/consumer-lib.sh
. /zsm/bench-lib.sh

[ -d "$ZSWAP_P" ] || zsm_skip "the kernel has no zswap"
[ ! -e "$ZSWAP_P/zpool" ] || zsm_skip "zswap has a zpool here: make bench compares in one boot"
if zsm_builtin; then
	P=zsm
elif grep -q '[[:space:]]zs_malloc$' /proc/kallsyms; then
	# Built in: kallsyms names no module after the symbol.
	P=upstream
else
	zsm_skip "neither zsm nor zsmalloc is built in"
fi
echo "zswap_bench: $P built in, $ROUNDS rounds"

trap zswap_restore EXIT
bench_inputs
ls -l $D
zswap_bench_setup
R=1
while [ $R -le "$ROUNDS" ]; do
	step "round $R"
	bench_zswap
	R=$((R + 1))
done
swapoff /dev/vda
zsm_metric zswap_bench.rounds "$ROUNDS"
