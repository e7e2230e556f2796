# SPDX-License-Identifier: GPL-2.0
# Runner self-test: a test that passes.
echo "planted pass"
