# SPDX-License-Identifier: GPL-2.0
# The guest must see the CPUs the runner gave it (-smp, passed as zsm.cpus):
# zsm's per-CPU and locking paths are only exercised with more than one.
. /zsm/lib.sh

online=$(cat /sys/devices/system/cpu/online)
n=$(nproc)
want=$(sed -n 's/.*zsm\.cpus=\([0-9]*\).*/\1/p' /proc/cmdline)
echo "cpus online: $online ($n), expected ${want:-?}"
zsm_metric guest.cpus_online "$n"
[ "$n" -ge 2 ]
[ -z "$want" ] || [ "$n" = "$want" ]
