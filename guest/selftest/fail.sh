# SPDX-License-Identifier: GPL-2.0
# Runner self-test: a test script that fails (exit 3).
echo "planted failure"
exit 3
