// SPDX-License-Identifier: GPL-2.0
/*
 * Planted warning for the runner's self-test: WARN_ON(1) at load time, then
 * load successfully. Loaded outside an expected-warning fence the runner must
 * fail the test; inside a fence it must pass it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bug.h>
#include <linux/module.h>

static int __init zsm_selftest_warn_init(void)
{
	pr_info("planting a warning\n");
	WARN_ON(1);
	return 0;
}
module_init(zsm_selftest_warn_init);

static void __exit zsm_selftest_warn_exit(void)
{
}
module_exit(zsm_selftest_warn_exit);

MODULE_DESCRIPTION("zsm runner self-test: a planted WARN_ON");
MODULE_LICENSE("GPL");
