// SPDX-License-Identifier: GPL-2.0
/*
 * Planted memory leak for the runner's self-test: allocate at load time and
 * drop the only reference, so that the kmemleak scan at the end of the guest
 * run reports an unreferenced object and the runner fails guest.kmemleak.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>

/* Keeps the compiler from eliding the allocation. */
static noinline void *zsm_selftest_leak_alloc(void)
{
	void *p = kmalloc(256, GFP_KERNEL);

	if (p)
		memset(p, 0x5a, 256);
	return p;
}

static int __init zsm_selftest_leak_init(void)
{
	void *p = zsm_selftest_leak_alloc();

	pr_info("planted a leak: %s\n", p ? "yes" : "allocation failed");
	/* The pointer dies here: nothing references the object any more. */
	return 0;
}
module_init(zsm_selftest_leak_init);

static void __exit zsm_selftest_leak_exit(void)
{
}
module_exit(zsm_selftest_leak_exit);

MODULE_DESCRIPTION("zsm runner self-test: a planted kmemleak report");
MODULE_LICENSE("GPL");
