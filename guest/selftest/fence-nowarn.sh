# SPDX-License-Identifier: GPL-2.0
# Runner self-test: a fence in which no warning occurs must fail
# ("expected warning ... did not occur").
. /zsm/lib.sh

zsm_expect_warn_begin selftest-nowarn
echo "no warning here"
zsm_expect_warn_end selftest-nowarn
