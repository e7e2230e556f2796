# SPDX-License-Identifier: GPL-2.0
# Runner self-test: a test that never ends. Only the runner's timeout stops
# the guest; the runner must fail this test and guest.completed.
echo "hanging forever"
while :; do
	sleep 3600
done
