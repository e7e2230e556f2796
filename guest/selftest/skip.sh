# SPDX-License-Identifier: GPL-2.0
# Runner self-test: a test that skips (exit 77).
. /zsm/lib.sh
zsm_skip "planted skip"
