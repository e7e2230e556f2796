# SPDX-License-Identifier: GPL-2.0
# Eviction: zsm_test_evict.ko stores checksummed objects, evicts whole
# zspages to a backing store under a page budget, reloads and verifies
# everything, and refuses to load when a check fails (see the module).
. /zsm/lib.sh

trap 'zsm_rmmod zsm_test_evict zsm' EXIT
zsm_insmod zsm.ko
zsm_insmod tests/zsm_test_evict.ko
