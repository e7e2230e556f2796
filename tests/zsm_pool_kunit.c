// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite zsm_pool: pools, their page accounting and compaction,
 * through the <linux/zsmalloc.h> API. (How objects are mapped, in either
 * map mode, is the zsm_map suite's.)
 *
 * What is verified, and how. Objects are allocated through the shared
 * fixture of tests/zsm_test_util.h: written through a ZS_MM_WO map with
 * contents of their own (zsm_tu_fill()), their checksum kept, and checked
 * later through a ZS_MM_RO map by the checksum of the mapped bytes; a
 * mismatch is reported with the first wrong byte, the object's class, slot
 * and in-page offset.
 *
 * - accounting: zs_get_total_pages() equals the sum of the classes' page
 *   counts plus their metadata (descriptors times their size, handle
 *   pages), read under each class lock; zspages are populated lazily, so a
 *   class holds no more pages than its zspages' chains and no fewer than
 *   its objects fill; allocation packs zspages fully; after freeing
 *   everything the pool holds no page and zsm_pages_held is back where it
 *   started (this assumes no other zsm pool is active while the suite runs);
 * - lazy population: filling a class object by object, the pool grows by
 *   one page exactly when an object first reaches into a new page;
 * - error codes of zs_malloc(), and zs_free() of 0 or an error value;
 * - two pools are independent (pages, objects, destruction);
 * - zsm_pages_held grows by the pool's zspage and handle block pages;
 * - total_pages_max is the peak of zs_get_total_pages();
 * - zs_free() leaves the zspage it empties to the pool's worker, counted
 *   until given back; zs_compact() gives such zspages back at once;
 * - zs_pool_stats() starts at 0 and counts what zs_compact() frees;
 *   compaction keeps object contents.
 *
 * Everything allocated is freed, also when a test aborts: the fixture's
 * KUnit action frees the live objects and destroys the pool (kmemleak runs
 * in the guest).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#define ZSM_TU_KUNIT
#include <kunit/test.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/workqueue.h>
#include <linux/zsmalloc.h>

#include "zsm_internal.h"
#include "zsm_test_util.h"

/* === Accounting ========================================================== */

/*
 * zs_get_total_pages() against the classes' own counts, read under each
 * class lock: their pages plus their descriptors and handle blocks; with
 * @packed (nothing freed yet), every class must have only as many zspages
 * as its objects need.
 */
static void zsm_check_accounting(struct kunit *test, struct zs_pool *pool,
				 bool packed)
{
	unsigned long sum = 0, total, meta;
	unsigned int i;

	for (i = 0; i < ZSM_NR_CLASSES; i++) {
		struct zsm_class *class = zsm_pool(pool)->classes[i];
		unsigned long zspages, inuse, pages;

		if (!class)
			continue;
		zsm_kt_class_counts(class, &zspages, &inuse);
		spin_lock(&class->lock);
		pages = class->nr_pages;
		spin_unlock(&class->lock);
		sum += pages;
		KUNIT_EXPECT_LE_MSG(test, inuse, zspages * class->geom.objs,
				    "class %u", i);
		/* Lazily populated: no more than the chains, no less than packed. */
		KUNIT_EXPECT_LE_MSG(test, pages, zspages * class->geom.pages,
				    "class %u", i);
		KUNIT_EXPECT_GE_MSG(test, pages,
				    DIV_ROUND_UP(inuse * class->geom.size,
						 PAGE_SIZE), "class %u", i);
		if (packed)
			KUNIT_EXPECT_EQ_MSG(test, zspages,
					    DIV_ROUND_UP(inuse, class->geom.objs),
					    "class %u size %u", i,
					    class->geom.size);
	}
	/*
	 * With the zspages zs_free() emptied, held until the pool's worker
	 * gives them back; it is stopped for the count.
	 */
	cancel_delayed_work_sync(&zsm_pool(pool)->free_work);
	zsm_kt_pending(pool, &sum, NULL);
	total = zsm_kt_obj_pages(pool);
	KUNIT_EXPECT_EQ(test, total, sum);
	/* zs_get_total_pages(): the zspages and every byte of metadata. */
	meta = zsm_kt_meta_bytes(pool);
	KUNIT_EXPECT_EQ(test, zsm_pool_meta_bytes(zsm_pool(pool)),
			(long)meta);
	KUNIT_EXPECT_EQ(test, zs_get_total_pages(pool),
			sum + DIV_ROUND_UP(meta, PAGE_SIZE));
	/* Restarted for what is still queued. */
	schedule_delayed_work(&zsm_pool(pool)->free_work, 0);
}

static void total_pages_match_classes(struct kunit *test)
{
	unsigned long held0 = atomic_long_read(&zsm_pages_held);
	unsigned long *count, hblock_pages;
	struct zsm_kt_fx *fx;
	unsigned int size, i;

	count = kunit_kcalloc(test, ZSM_NR_CLASSES, sizeof(*count), GFP_KERNEL);
	if (!count)
		kunit_skip(test, "cannot allocate counters");
	fx = zsm_kt_fx_create(test, "zsm_kunit_acct", 4096);

	/* 1..5 objects of sizes 1, 20, 39, ...: most classes, some shared. */
	for (size = 1; size <= PAGE_SIZE; size += 19) {
		unsigned int k;

		for (k = 0; k <= size % 5; k++) {
			int ret = zsm_kt_alloc(fx, size, GFP_KERNEL);

			KUNIT_ASSERT_GE_MSG(test, ret, 0, "size %u", size);
			count[zs_lookup_class_index(fx->pool, size)]++;
		}
	}
	for (i = 0; i < ZSM_NR_CLASSES; i++) {
		unsigned long zspages, inuse;

		if (!zsm_pool(fx->pool)->classes[i])
			continue;
		zsm_kt_class_counts(zsm_pool(fx->pool)->classes[i], &zspages, &inuse);
		KUNIT_EXPECT_EQ_MSG(test, inuse, count[i], "class %u", i);
	}
	KUNIT_EXPECT_GT(test, zs_get_total_pages(fx->pool), 0);
	zsm_check_accounting(test, fx->pool, true);
	/*
	 * zsm_pages_held, counted where zsm takes and gives back pages, not
	 * from the classes: the pool's zspage pages and handle block pages.
	 */
	spin_lock(&zsm_pool(fx->pool)->hblock_lock);
	hblock_pages = zsm_pool(fx->pool)->nr_hblock_pages;
	spin_unlock(&zsm_pool(fx->pool)->hblock_lock);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&zsm_pages_held) - held0,
			zsm_kt_obj_pages(fx->pool) + hblock_pages);

	/* Free every other object: partly used zspages in every class. */
	for (i = 0; i < fx->nr; i += 2)
		zsm_kt_free(fx, i);
	zsm_check_accounting(test, fx->pool, false);
	for (i = 1; i < fx->nr; i += 2)
		zsm_kt_check(fx, i);

	for (i = 1; i < fx->nr; i += 2)
		zsm_kt_free(fx, i);
	/* zs_free() leaves the zspages it empties to the pool's worker. */
	zsm_tu_released(fx->pool);
	KUNIT_EXPECT_EQ(test, zsm_kt_total_pages(fx->pool), 0);
	zsm_check_accounting(test, fx->pool, true);
	for (i = 0; i < ZSM_NR_CLASSES; i++) {
		unsigned long zspages, inuse;

		if (!zsm_pool(fx->pool)->classes[i])
			continue;
		zsm_kt_class_counts(zsm_pool(fx->pool)->classes[i], &zspages, &inuse);
		KUNIT_EXPECT_EQ_MSG(test, inuse, 0, "class %u", i);
		KUNIT_EXPECT_EQ_MSG(test, zspages, 0, "class %u", i);
	}
	KUNIT_EXPECT_EQ_MSG(test, atomic_long_read(&zsm_pages_held), held0,
			    "an empty pool still holds pages");

	zsm_kt_fx_release(fx);
	KUNIT_EXPECT_EQ_MSG(test, atomic_long_read(&zsm_pages_held), held0,
			    "pages not returned after zs_destroy_pool()");
}

/*
 * A zspage holds only the pages its objects reach into: filling a class
 * object by object, the pool grows by one page exactly when the next
 * object is the first to reach into a new page, and a partly used zspage
 * costs only its touched pages. Freeing an object returns no page (the
 * zspage keeps its chain) until the zspage empties.
 */
static void zspages_populate_lazily(struct kunit *test)
{
	unsigned int ci = zsm_kt_cross_class(0, 1024), k;
	const struct zsm_geom *g;
	struct zsm_kt_fx *fx;

	if (ci == ZSM_NR_CLASSES)
		kunit_skip(test, "no class with objects crossing pages");
	g = &zsm_classes.geom[ci];
	fx = zsm_kt_fx_create(test, "zsm_kunit_lazy", 2 * g->objs);
	for (k = 1; k <= 2 * g->objs; k++) {
		unsigned int in_zspage = (k - 1) % g->objs + 1;
		unsigned long want = (k - 1) / g->objs * g->pages +
			DIV_ROUND_UP(in_zspage * g->size, PAGE_SIZE);

		KUNIT_ASSERT_GE(test, zsm_kt_alloc(fx, g->size, GFP_KERNEL), 0);
		KUNIT_ASSERT_EQ_MSG(test, zsm_kt_obj_pages(fx->pool), want,
				    "class size %u, %u objects of %u per zspage",
				    g->size, k, g->objs);
	}
	/* Emptying the first zspage frees its chain, whole. */
	for (k = 0; k < g->objs; k++)
		zsm_kt_free(fx, k);
	zsm_tu_released(fx->pool);
	KUNIT_EXPECT_EQ(test, zsm_kt_obj_pages(fx->pool),
			(unsigned long)g->pages);
	for (k = g->objs; k < 2 * g->objs; k++)
		KUNIT_EXPECT_TRUE(test, zsm_kt_check(fx, k));
	zsm_check_accounting(test, fx->pool, true);
}

/*
 * zs_free() gives no page back itself: the zspage it empties is queued,
 * still counted (pages_total, pages_pending_release), and the pool's
 * worker is armed to give it back; zs_compact() gives it back at once,
 * without counting it as compacted. Seen to fail with zs_free() giving the
 * pages back itself (nothing armed, nothing pending).
 */
static void free_leaves_release_to_worker(struct kunit *test)
{
	const struct zsm_geom *g = zsm_kt_geom(1024);
	unsigned long pending, pages;
	struct zsm_kt_fx *fx;
	struct zsm_pool *pool;
	unsigned int k;
	bool armed;

	fx = zsm_kt_fx_create(test, "zsm_kunit_later", g->objs);
	pool = zsm_pool(fx->pool);
	for (k = 0; k < g->objs; k++)
		KUNIT_ASSERT_GE(test, zsm_kt_alloc(fx, g->size, GFP_KERNEL), 0);
	KUNIT_ASSERT_EQ(test, zsm_kt_obj_pages(fx->pool),
			(unsigned long)g->pages);
	for (k = 0; k + 1 < g->objs; k++)
		zsm_kt_free(fx, k);
	/* The last free empties the zspage; no timer fires before the look. */
	local_irq_disable();
	zsm_kt_free(fx, k);
	pending = zsm_kt_pending_pages(pool);
	pages = zsm_kt_obj_pages(fx->pool);
	armed = cancel_delayed_work(&pool->free_work);
	local_irq_enable();
	KUNIT_EXPECT_TRUE_MSG(test, armed, "zs_free() armed no release worker");
	KUNIT_EXPECT_EQ(test, pending, (unsigned long)g->pages);
	KUNIT_EXPECT_EQ(test, pages, (unsigned long)g->pages);

	KUNIT_EXPECT_EQ(test, zs_compact(fx->pool), 0UL);
	KUNIT_EXPECT_EQ(test, zsm_kt_obj_pages(fx->pool), 0UL);
	KUNIT_EXPECT_EQ(test, zsm_kt_pending_pages(pool), 0UL);
	zsm_check_accounting(test, fx->pool, true);
}

/* === Errors ============================================================== */

static void malloc_error_codes(struct kunit *test)
{
	struct zsm_kt_fx *fx = zsm_kt_fx_create(test, "zsm_kunit_err", 1);
	unsigned long h;

	h = zsm_zs_malloc(fx->pool, 0, GFP_KERNEL);
	KUNIT_EXPECT_TRUE(test, IS_ERR_VALUE(h));
	KUNIT_EXPECT_EQ(test, h, (unsigned long)ERR_PTR(-EINVAL));

	h = zsm_zs_malloc(fx->pool, PAGE_SIZE + 1, GFP_KERNEL);
	KUNIT_EXPECT_TRUE(test, IS_ERR_VALUE(h));
	KUNIT_EXPECT_EQ(test, h, (unsigned long)ERR_PTR(-ENOSPC));

	h = zsm_zs_malloc(fx->pool, SIZE_MAX, GFP_KERNEL);
	KUNIT_EXPECT_EQ(test, h, (unsigned long)ERR_PTR(-ENOSPC));

	KUNIT_EXPECT_EQ(test, zsm_kt_total_pages(fx->pool), 0);

	/* No-ops, as in zsmalloc: zs_free() ignores IS_ERR_OR_NULL handles. */
	zs_free(fx->pool, 0);
	zs_free(fx->pool, (unsigned long)ERR_PTR(-ENOMEM));

	/* The pool still works. */
	KUNIT_ASSERT_GE(test, zsm_kt_alloc(fx, PAGE_SIZE, GFP_KERNEL), 0);
	KUNIT_EXPECT_TRUE(test, zsm_kt_check(fx, 0));
	zsm_kt_free(fx, 0);
	KUNIT_EXPECT_EQ(test, zsm_kt_total_pages(fx->pool), 0);
}

/*
 * zs_malloc() takes any gfp flags, zone modifiers too, and passes none of
 * them to the descriptors, handle blocks and handle directory (slab
 * reports __GFP_DMA32: "Unexpected gfp"). Every allocation here is a
 * class's first (new descriptor, handle block and, with 3000 bytes, a
 * second page). Which zone the object pages come from is not checked:
 * the guests' memory lies in one zone.
 */
static void malloc_takes_zone_flags(struct kunit *test)
{
	static const gfp_t gfps[] = {
		GFP_KERNEL | __GFP_DMA32,
		GFP_KERNEL | __GFP_DMA,
		GFP_NOIO | __GFP_HIGHMEM | __GFP_MOVABLE,
		GFP_KERNEL | __GFP_DMA32 | __GFP_MOVABLE,
	};
	static const unsigned int sizes[] = { 100, 3000, PAGE_SIZE };
	struct zsm_kt_fx *fx;
	unsigned int g, i, n;

	fx = zsm_kt_fx_create(test, "zsm_kunit_gfp",
			      ARRAY_SIZE(gfps) * ARRAY_SIZE(sizes));
	for (g = 0; g < ARRAY_SIZE(gfps); g++) {
		for (i = 0; i < ARRAY_SIZE(sizes); i++)
			KUNIT_ASSERT_GE_MSG(test,
					    zsm_kt_alloc(fx, sizes[i], gfps[g]),
					    0, "gfp %pGg size %u", &gfps[g],
					    sizes[i]);
		for (n = 0; n < fx->nr; n++)
			KUNIT_EXPECT_TRUE(test, zsm_kt_check(fx, n));
		zsm_kt_free_all(fx);
		KUNIT_EXPECT_EQ(test, zsm_kt_total_pages(fx->pool), 0);
	}
}

/* === Pools =============================================================== */

static void pools_are_independent(struct kunit *test)
{
	struct zsm_kt_fx *a = zsm_kt_fx_create(test, "zsm_kunit_a", 512);
	struct zsm_kt_fx *b = zsm_kt_fx_create(test, "zsm_kunit_b", 512);
	unsigned long pages_a, pages_b;
	unsigned int size, i;

	for (size = 24; size <= PAGE_SIZE; size += 97) {
		KUNIT_ASSERT_GE(test, zsm_kt_alloc(a, size, GFP_KERNEL), 0);
		KUNIT_ASSERT_GE(test, zsm_kt_alloc(a, size, GFP_KERNEL), 0);
	}
	pages_a = zs_get_total_pages(a->pool);
	KUNIT_EXPECT_GT(test, pages_a, 0);
	KUNIT_EXPECT_EQ(test, zsm_kt_total_pages(b->pool), 0);

	/* The same sequence in B gives the same pages, without touching A. */
	for (i = 0; i < a->nr; i++)
		KUNIT_ASSERT_GE(test,
				zsm_kt_alloc(b, a->objs[i].size, GFP_KERNEL), 0);
	pages_b = zs_get_total_pages(b->pool);
	KUNIT_EXPECT_EQ(test, pages_b, pages_a);
	KUNIT_EXPECT_EQ(test, zs_get_total_pages(a->pool), pages_a);
	for (i = 0; i < a->nr; i++)
		KUNIT_EXPECT_NE(test, a->objs[i].handle, b->objs[i].handle);

	for (i = 0; i < b->nr; i++)
		zsm_kt_check(b, i);
	for (i = 0; i < b->nr; i++)
		zsm_kt_free(b, i);
	KUNIT_EXPECT_EQ(test, zsm_kt_total_pages(b->pool), 0);
	zsm_kt_fx_release(b);

	KUNIT_EXPECT_EQ(test, zs_get_total_pages(a->pool), pages_a);
	for (i = 0; i < a->nr; i++)
		zsm_kt_check(a, i);
	for (i = 0; i < a->nr; i++)
		zsm_kt_free(a, i);
	KUNIT_EXPECT_EQ(test, zsm_kt_total_pages(a->pool), 0);
}

/* === Statistics and compaction =========================================== */

#define ZSM_PEAK_OBJS	600

/*
 * total_pages_max (debugfs) is the largest zs_get_total_pages() so far:
 * equal to it after every allocation of a fill, and left there when frees
 * and compaction shrink the pool.
 */
static void total_pages_max_is_the_peak(struct kunit *test)
{
	struct zsm_kt_fx *fx = zsm_kt_fx_create(test, "zsm_kunit_peak",
						ZSM_PEAK_OBJS);
	atomic_long_t *max = &zsm_pool(fx->pool)->total_pages_max;
	unsigned long peak = 0;
	unsigned int i, bad = ZSM_PEAK_OBJS;
	long seen = 0;

	KUNIT_EXPECT_EQ(test, atomic_long_read(max), 0);
	for (i = 0; i < ZSM_PEAK_OBJS; i++) {
		KUNIT_ASSERT_GE(test, zsm_kt_alloc(fx, 1 + i * 37 % PAGE_SIZE,
						   GFP_KERNEL), 0);
		peak = max(peak, zs_get_total_pages(fx->pool));
		if (bad == ZSM_PEAK_OBJS && atomic_long_read(max) != (long)peak) {
			bad = i;
			seen = atomic_long_read(max);
		}
	}
	KUNIT_EXPECT_EQ_MSG(test, bad, ZSM_PEAK_OBJS,
			    "total_pages_max %ld after allocation %u, peak %lu",
			    seen, bad, peak);
	for (i = 0; i < ZSM_PEAK_OBJS; i += 2)
		zsm_kt_free(fx, i);
	zs_compact(fx->pool);
	KUNIT_EXPECT_LT(test, zs_get_total_pages(fx->pool), peak);
	KUNIT_EXPECT_EQ(test, atomic_long_read(max), (long)peak);
}

#define ZSM_COMPACT_ZSPAGES	8

static void pool_stats_count_compaction(struct kunit *test)
{
	unsigned int ci = zsm_kt_cross_class(0, 256);
	struct zs_pool_stats stats;
	const struct zsm_geom *g;
	unsigned long before, after, freed;
	struct zsm_kt_fx *fx;
	unsigned int n, i;

	if (ci == ZSM_NR_CLASSES)
		ci = zsm_kt_cross_class(0, 0);
	KUNIT_ASSERT_LT(test, ci, ZSM_NR_CLASSES);
	g = &zsm_classes.geom[ci];
	n = ZSM_COMPACT_ZSPAGES * g->objs;
	fx = zsm_kt_fx_create(test, "zsm_kunit_stats", n);

	memset(&stats, 0xff, sizeof(stats));
	zs_pool_stats(fx->pool, &stats);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&stats.pages_compacted), 0);

	for (i = 0; i < n; i++)
		KUNIT_ASSERT_GE(test, zsm_kt_alloc(fx, g->size, GFP_KERNEL), 0);
	/* Keep one object in four: every zspage a quarter full. */
	for (i = 0; i < n; i++)
		if (i % 4)
			zsm_kt_free(fx, i);
	before = zsm_kt_obj_pages(fx->pool);
	freed = zs_compact(fx->pool);
	after = zsm_kt_obj_pages(fx->pool);
	zs_pool_stats(fx->pool, &stats);

	kunit_info(test, "class %u size %u: %lu pages, compaction freed %lu\n",
		   ci, g->size, before, freed);
	KUNIT_EXPECT_EQ(test, before, (unsigned long)ZSM_COMPACT_ZSPAGES * g->pages);
	KUNIT_EXPECT_GT(test, freed, 0);
	KUNIT_EXPECT_EQ(test, before - after, freed);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&stats.pages_compacted),
			(long)freed);
	zsm_check_accounting(test, fx->pool, false);
	for (i = 0; i < n; i += 4)
		zsm_kt_check(fx, i);
	for (i = 0; i < n; i += 4)
		zsm_kt_free(fx, i);
	KUNIT_EXPECT_EQ(test, zsm_kt_total_pages(fx->pool), 0);
}

/* === Suite =============================================================== */

static struct kunit_case zsm_pool_cases[] = {
	KUNIT_CASE(total_pages_match_classes),
	KUNIT_CASE(zspages_populate_lazily),
	KUNIT_CASE(malloc_error_codes),
	KUNIT_CASE(malloc_takes_zone_flags),
	KUNIT_CASE(pools_are_independent),
	KUNIT_CASE(total_pages_max_is_the_peak),
	KUNIT_CASE(free_leaves_release_to_worker),
	KUNIT_CASE(pool_stats_count_compaction),
	{}
};

static struct kunit_suite zsm_pool_suite = {
	.name = "zsm_pool",
	.test_cases = zsm_pool_cases,
};

kunit_test_suite(zsm_pool_suite);
