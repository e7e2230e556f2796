// SPDX-License-Identifier: GPL-2.0
/*
 * Guest test: a consumer of zsm's page-granular eviction, with a backing
 * store.
 *
 * What is verified and how:
 * - nr_objs "compressed pages" (sizes from a compressed-page-like mix,
 *   contents of their own: zsm_tu_fill() of tests/zsm_test_util.h) are
 *   stored in pool A; each entry knows where its data lives: in the pool
 *   (handle) or in the backing store (a kvmalloc'd copy made by the
 *   eviction handler, which then zs_free()s the handle).
 * - Under a page budget (budget_pct of the pool's pages), zs_evict_pages(A,
 *   1) is called until the pool fits. Every call must free at least one
 *   page frame while the pool holds any (evict.calls_without_progress=0).
 *   fail_every makes the handler refuse some objects (they must survive).
 * - Afterwards every entry is verified by checksum: pool entries through
 *   ZS_MM_RO, evicted ones after reloading them into the pool.
 * - Comparison: pool B gets the same objects in the same order, and frees
 *   as many objects as eviction wrote back, oldest first (allocation
 *   order); the page frames that freed give evict.lru_pages_per_object,
 *   against evict.pages_per_object for eviction.
 *
 * The module does everything at load time and refuses to load (-EIO) when
 * a check fails.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/xarray.h>
#include <linux/random.h>
#include <linux/mutex.h>
#include <linux/sched.h>

#include "zsm_compat.h"
#include "zsm.h"
#include "zsm_test_util.h"

static unsigned int nr_objs = 20000;
module_param(nr_objs, uint, 0444);
MODULE_PARM_DESC(nr_objs, "Objects stored");

static unsigned int budget_pct = 50;
module_param(budget_pct, uint, 0444);
MODULE_PARM_DESC(budget_pct, "Page budget, percent of the filled pool");

static unsigned int fail_every;
module_param(fail_every, uint, 0444);
MODULE_PARM_DESC(fail_every, "Handler refuses every Nth object (0: never)");

struct ev_entry {
	unsigned long handle;	/* 0 while in the backing store */
	void *stored;		/* backing-store copy, or NULL */
	u32 size;
	u64 sum;
};

struct ev_owner {
	struct zs_pool *pool;
	struct mutex lock;	/* entries and index */
	struct xarray index;	/* handle -> entry */
	struct ev_entry *e;
	unsigned long written_back;
	unsigned long refused;
	unsigned long handler_calls;
};

static u32 ev_size(u32 r)
{
	/* Mostly 300..3300 bytes, some small, some near a page. */
	switch (r % 10) {
	case 0:
		return 32 + r % 256;
	case 9:
		return 3300 + r % (PAGE_SIZE - 3300 + 1);
	default:
		return 300 + r % 3000;
	}
}

static int ev_store(struct zs_pool *pool, struct ev_entry *e,
		    const u8 *data)
{
	unsigned long h = zsm_zs_malloc(pool, e->size, GFP_KERNEL);
	void *p;

	if (IS_ERR_VALUE(h))
		return PTR_ERR((void *)h);
	p = zs_map_object(pool, h, ZS_MM_WO);
	memcpy(p, data, e->size);
	zs_unmap_object(pool, h);
	e->handle = h;
	return 0;
}

static bool ev_check_pool(struct zs_pool *pool, struct ev_entry *e)
{
	void *p = zs_map_object(pool, e->handle, ZS_MM_RO);
	u64 sum = zsm_tu_csum(p, e->size);

	zs_unmap_object(pool, e->handle);
	return sum == e->sum;
}

/* The owner's write-back: copy out, index update, zs_free(). */
static int ev_handler(struct zs_pool *pool, unsigned long handle, void *priv)
{
	struct ev_owner *o = priv;
	struct ev_entry *e;
	void *p, *copy;
	int ret = 0;

	mutex_lock(&o->lock);
	o->handler_calls++;
	e = xa_load(&o->index, handle);
	if (!e || e->handle != handle) {
		ret = -ENOENT;		/* not ours any more */
		goto out;
	}
	if (fail_every && (o->handler_calls % fail_every) == 0) {
		o->refused++;
		ret = -EAGAIN;
		goto out;
	}
	copy = kvmalloc(e->size, GFP_KERNEL);
	if (!copy) {
		ret = -ENOMEM;
		goto out;
	}
	p = zs_map_object(pool, handle, ZS_MM_RO);
	memcpy(copy, p, e->size);
	zs_unmap_object(pool, handle);
	e->stored = copy;
	e->handle = 0;
	xa_erase(&o->index, handle);
	zs_free(pool, handle);
	o->written_back++;
out:
	mutex_unlock(&o->lock);
	return ret;
}

static int __init zsm_test_evict_init(void)
{
	unsigned long pages_full, budget, calls = 0, stuck = 0, freed = 0;
	unsigned long pages_evicted;
	unsigned long corrupt = 0, b_before, b_freed, i;
	struct ev_owner *o;
	struct zs_pool *b;
	unsigned long *bh;
	u8 *buf;
	int ret = -ENOMEM;

	o = kzalloc(sizeof(*o), GFP_KERNEL);
	buf = kmalloc(PAGE_SIZE, GFP_KERNEL);
	bh = kvcalloc(nr_objs, sizeof(*bh), GFP_KERNEL);
	if (!o || !buf || !bh)
		goto out_free;
	o->e = kvcalloc(nr_objs, sizeof(*o->e), GFP_KERNEL);
	if (!o->e)
		goto out_free;
	mutex_init(&o->lock);
	xa_init(&o->index);
	o->pool = zs_create_pool("zsm_test_evict");
	b = zs_create_pool("zsm_test_evict_lru");
	if (!o->pool || !b)
		goto out_pools;

	/* Fill A and B alike. */
	for (i = 0; i < nr_objs; i++) {
		struct ev_entry *e = &o->e[i];
		struct ev_entry tmp;

		e->size = ev_size(get_random_u32());
		e->sum = zsm_tu_fill(buf, e->size, i, 0);
		tmp = *e;
		if (ev_store(o->pool, e, buf) || ev_store(b, &tmp, buf))
			goto out_entries;
		bh[i] = tmp.handle;
		xa_store(&o->index, e->handle, e, GFP_KERNEL);
		cond_resched();
	}
	pages_full = zs_get_total_pages(o->pool);
	budget = pages_full * budget_pct / 100;
	zs_set_evict_handler(o->pool, ev_handler, o);

	while (zs_get_total_pages(o->pool) > budget) {
		long got = zs_evict_pages(o->pool, 1);

		calls++;
		if (got < 0) {
			pr_err("zs_evict_pages: %ld\n", got);
			goto out_entries;
		}
		if (!got) {
			stuck++;
			if (!fail_every)
				break;
			if (stuck > 1000)
				break;
		}
		freed += got;
		cond_resched();
	}

	pages_evicted = zs_get_total_pages(o->pool);

	/* Same number of objects, freed oldest first, in pool B. */
	b_before = zs_get_total_pages(b);
	for (i = 0; i < o->written_back && i < nr_objs; i++) {
		zs_free(b, bh[i]);
		bh[i] = 0;
	}
	b_freed = b_before - zs_get_total_pages(b);

	/* Verify everything, reloading what was written back. */
	for (i = 0; i < nr_objs; i++) {
		struct ev_entry *e = &o->e[i];

		if (!e->handle) {
			if (!e->stored || zsm_tu_csum(e->stored, e->size) != e->sum) {
				corrupt++;
				continue;
			}
			if (ev_store(o->pool, e, e->stored))
				goto out_entries;
			kvfree(e->stored);
			e->stored = NULL;
		}
		if (!ev_check_pool(o->pool, e))
			corrupt++;
		cond_resched();
	}

	pr_info("zsm-metric evict.pages_full=%lu\n", pages_full);
	pr_info("zsm-metric evict.calls=%lu\n", calls);
	pr_info("zsm-metric evict.pages_freed=%lu\n", freed);
	pr_info("zsm-metric evict.pages_after=%lu\n", pages_evicted);
	pr_info("zsm-metric evict.objects_written_back=%lu\n", o->written_back);
	pr_info("zsm-metric evict.handler_refused=%lu\n", o->refused);
	pr_info("zsm-metric evict.calls_without_progress=%lu\n", stuck);
	pr_info("zsm-metric evict.pages_per_call=%lu.%02lu\n",
		calls ? freed / calls : 0,
		calls ? freed * 100 / calls % 100 : 0);
	pr_info("zsm-metric evict.pages_per_object=%lu.%03lu\n",
		o->written_back ? freed / o->written_back : 0,
		o->written_back ? freed * 1000 / o->written_back % 1000 : 0);
	pr_info("zsm-metric evict.lru_pages_per_object=%lu.%03lu\n",
		o->written_back ? b_freed / o->written_back : 0,
		o->written_back ? b_freed * 1000 / o->written_back % 1000 : 0);
	pr_info("zsm-metric evict.corrupt=%lu\n", corrupt);

	ret = 0;
	if (corrupt || !calls || pages_evicted > budget ||
	    (!fail_every && stuck))
		ret = -EIO;
	if (fail_every && !o->refused)
		ret = -EIO;

out_entries:
	for (i = 0; i < nr_objs; i++) {
		if (o->e[i].handle)
			zs_free(o->pool, o->e[i].handle);
		kvfree(o->e[i].stored);
		if (bh[i])
			zs_free(b, bh[i]);
	}
out_pools:
	zs_destroy_pool(b);
	zs_destroy_pool(o->pool);
	xa_destroy(&o->index);
out_free:
	if (o)
		kvfree(o->e);
	kvfree(bh);
	kfree(buf);
	kfree(o);
	return ret;
}

static void __exit zsm_test_evict_exit(void)
{
}

module_init(zsm_test_evict_init);
module_exit(zsm_test_evict_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("zsm guest test: eviction consumer with a backing store");
