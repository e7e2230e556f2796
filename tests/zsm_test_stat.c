// SPDX-License-Identifier: GPL-2.0
/*
 * zsm_test_stat: a pool with known contents for the zsmstat test
 * (guest/tests/zsmstat.sh).
 *
 * At load time, in a fresh pool named "zsm_test_stat", for each j:
 * counts[j] objects of sizes[j] bytes are allocated one after the other
 * (so each class's zspages fill in order), each written with contents of
 * its own (zsm_tu_fill() of tests/zsm_test_util.h) and its checksum kept;
 * then, with free_every = k > 1, every k-th object of each size
 * (i % k == k - 1) is freed. The live objects are
 * read back and checked. The pool stays as it is until the module is
 * unloaded, when the objects are checked again and freed.
 *
 * Printed as zsm-metric lines: per size, the class zs_lookup_class_index()
 * names and the live objects; the pool's zs_get_total_pages(); the objects
 * whose bytes did not read back (must be 0, or the load fails with -EIO).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <linux/zsmalloc.h>

#include "zsm_compat.h"
#include "zsm.h"
#include "zsm_internal.h"
#include "zsm_test_util.h"

#define STAT_MAX_SIZES	8

static unsigned int sizes[STAT_MAX_SIZES] = { 100, 700, 3000, 4000 };
static int nr_sizes = 4;
module_param_array(sizes, uint, &nr_sizes, 0444);
MODULE_PARM_DESC(sizes, "Object sizes in bytes (at most 8)");

static unsigned int counts[STAT_MAX_SIZES] = { 5000, 1000, 300, 40 };
static int nr_counts = 4;
module_param_array(counts, uint, &nr_counts, 0444);
MODULE_PARM_DESC(counts, "Objects of each size");

static unsigned int free_every = 3;
module_param(free_every, uint, 0444);
MODULE_PARM_DESC(free_every, "Free every Nth object of each size (0, 1: none)");

/* One object; handle 0 once freed. */
struct stat_obj {
	unsigned long handle;
	u32 size;
	u64 csum;
};

static struct zs_pool *stat_pool;
static struct stat_obj *stat_objs;
static unsigned long stat_nr;

/* Objects whose bytes no longer match their checksum. */
static unsigned long stat_verify(void)
{
	unsigned long i, bad = 0;

	for (i = 0; i < stat_nr; i++) {
		struct stat_obj *o = &stat_objs[i];
		void *p;

		if (!o->handle)
			continue;
		p = zs_map_object(stat_pool, o->handle, ZS_MM_RO);
		if (!p || zsm_tu_csum(p, o->size) != o->csum)
			bad++;
		if (p)
			zs_unmap_object(stat_pool, o->handle);
	}
	return bad;
}

static int stat_fill(void)
{
	unsigned long i, n = 0;
	unsigned int j;

	for (j = 0; j < nr_sizes; j++) {
		for (i = 0; i < counts[j]; i++, n++) {
			struct stat_obj *o = &stat_objs[n];
			unsigned long h;
			void *p;

			h = zsm_zs_malloc(stat_pool, sizes[j], GFP_KERNEL);
			if (IS_ERR_VALUE(h)) {
				pr_err("zs_malloc(%u): %ld\n", sizes[j], (long)h);
				return (int)h;
			}
			o->handle = h;
			o->size = sizes[j];
			p = zs_map_object(stat_pool, h, ZS_MM_WO);
			if (!p)
				return -EIO;
			o->csum = zsm_tu_fill(p, sizes[j], n, 0);
			zs_unmap_object(stat_pool, h);
		}
	}
	return 0;
}

/* Free every free_every-th object of each size; return the live count. */
static void stat_thin(unsigned long *live)
{
	unsigned long i, n = 0;
	unsigned int j;

	for (j = 0; j < nr_sizes; j++) {
		live[j] = counts[j];
		for (i = 0; i < counts[j]; i++, n++) {
			if (free_every < 2 || i % free_every != free_every - 1)
				continue;
			zs_free(stat_pool, stat_objs[n].handle);
			stat_objs[n].handle = 0;
			live[j]--;
		}
	}
}

static void stat_free_all(void)
{
	unsigned long i;

	for (i = 0; i < stat_nr; i++) {
		if (stat_objs[i].handle)
			zs_free(stat_pool, stat_objs[i].handle);
	}
	vfree(stat_objs);
	zs_destroy_pool(stat_pool);
}

static int __init zsm_test_stat_init(void)
{
	unsigned long live[STAT_MAX_SIZES], bad;
	unsigned int j;
	int ret;

	if (nr_counts != nr_sizes) {
		pr_err("sizes and counts differ in length\n");
		return -EINVAL;
	}
	stat_nr = 0;
	for (j = 0; j < nr_sizes; j++) {
		if (!sizes[j] || sizes[j] > PAGE_SIZE) {
			pr_err("size %u out of range\n", sizes[j]);
			return -EINVAL;
		}
		stat_nr += counts[j];
	}
	stat_objs = vzalloc(array_size(stat_nr ?: 1, sizeof(*stat_objs)));
	if (!stat_objs)
		return -ENOMEM;
	stat_pool = zs_create_pool("zsm_test_stat");
	if (!stat_pool) {
		vfree(stat_objs);
		return -ENOMEM;
	}
	ret = stat_fill();
	if (ret) {
		stat_free_all();
		return ret;
	}
	stat_thin(live);
	bad = stat_verify();
	for (j = 0; j < nr_sizes; j++) {
		pr_info("zsm-metric stat.size_%u.class=%u\n", sizes[j],
			zs_lookup_class_index(stat_pool, sizes[j]));
		pr_info("zsm-metric stat.size_%u.live=%lu\n", sizes[j], live[j]);
	}
	/*
	 * The zspages the thinning emptied wait for the pool's worker; let
	 * it give them back, so that the total is the one debugfs shows.
	 */
	zsm_tu_released(stat_pool);
	pr_info("zsm-metric stat.total_pages=%lu\n",
		zs_get_total_pages(stat_pool));
	pr_info("zsm-metric stat.corrupt=%lu\n", bad);
	if (bad) {
		stat_free_all();
		return -EIO;
	}
	return 0;
}

static void __exit zsm_test_stat_exit(void)
{
	unsigned long bad = stat_verify();

	if (bad)
		pr_err("%lu objects corrupt at unload\n", bad);
	stat_free_all();
}

module_init(zsm_test_stat_init);
module_exit(zsm_test_stat_exit);
MODULE_DESCRIPTION("zsm: a pool with known contents for zsmstat");
MODULE_LICENSE("GPL");
