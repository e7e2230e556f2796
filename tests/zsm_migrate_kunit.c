// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite zsm_migrate: zsm's movable_operations (zsm_mops) driven the
 * way core mm drives them.
 *
 * What is verified, and how. Each case builds one full zspage of a
 * multi-page class whose objects straddle every page boundary of the chain
 * (zsm_mig_pick_class()), in a pool of its own (the fixture of
 * tests/zsm_test_util.h), with every object written through a ZS_MM_WO map
 * (zsm_tu_fill()) and its checksum kept. Core mm
 * is then imitated step by step, as mm/migrate.c (6.12) does it for a
 * non-LRU movable page, with the same page flags, references and locks:
 *
 *   isolate   isolate_movable_page(): take a reference, check the page is
 *             movable, lock it, call ->isolate_page(), set PG_isolated
 *             (core's job, never the driver's), unlock, keep the reference;
 *             the page goes on a private list through page->lru.
 *   migrate   migrate_folio_unmap() + migrate_folio_move(): allocate and
 *             lock the destination, lock the source, call ->migrate_page()
 *             (MIGRATE_SYNC) if the source is still movable, clear
 *             PG_isolated on success, unlock both, drop the allocation
 *             reference of the destination and the isolation reference of
 *             the source (which must free it).
 *   putback   putback_movable_pages(): lock, ->putback_page() and clear
 *             PG_isolated if still movable (else only clear PG_isolated),
 *             unlock, drop the reference.
 *
 * Cases:
 * - isolating and putting back every page of the zspage changes nothing:
 *   all objects read back, also while the pages are isolated;
 * - migrating the head page, the second page or the last page (all
 *   objects cross page boundaries, so objects run into and out of the page
 *   moved): ->migrate_page() succeeds, page k of the zspage is the new page,
 *   which is movable with zsm_mops and knows its zspage and index; the old
 *   page is no longer movable and only core's reference is left on it; the
 *   old page is then overwritten with garbage before it is freed, and every
 *   object of the zspage must still read back (so no map may use the old
 *   page); zsm_pages_migrated grew, zsm_pages_held and zs_get_total_pages()
 *   did not change, nor did NR_ZSPAGES summed over both pages' zones;
 * - migrating every page of the zspage in turn, then reading everything;
 * - freeing the zspage while one of its pages is isolated (unlocked, core
 *   still holding its reference): zsm lets go of the page, core's putback
 *   finds it no longer movable and frees it; zsm_pages_held is back to its
 *   value before the pool had pages, and the page has no user left;
 * - the same, but core migrates the let-go page instead: on 6.17+, where
 *   core calls ->migrate_page() for it, zsm succeeds without touching
 *   either page;
 * - freeing the zspage while a page lock is held (a migration in progress)
 *   defers the free; ->isolate_page() refuses the dying zspage; after the
 *   lock is dropped the deferred free completes;
 * - a synchronous migration of a page whose zspage another CPU has mapped
 *   waits, bounded: a mapper that holds its map (and asks for a second map
 *   of that zspage meanwhile) makes it give up after the bound (-EAGAIN),
 *   and both maps complete. That it then succeeds once the mappers leave
 *   is shown by guest/tests/migrate_mapped.sh (memory offline).
 *
 * These tests assume nothing else uses zsm while the suite runs (pages
 * held are compared). Core compaction may move one of our pages at any
 * time; isolation retries when core holds the page, and migration counts
 * are compared with >=. Everything allocated is freed, also when a case
 * aborts (KUnit actions), and kmemleak runs in the guest.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#define ZSM_TU_KUNIT
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/kthread.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/page-flags.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmstat.h>
#include <linux/workqueue.h>
#include <linux/zsmalloc.h>

#include "zsm_internal.h"
#include "zsm_test_util.h"

/* Byte written over a migrated-away page before it is freed. */
#define ZSM_MIG_POISON		0x6b

/* Attempts to isolate a page that core mm holds isolated or locked. */
#define ZSM_MIG_ISOLATE_TRIES	100

/* Flags zram uses for its object pages (its sleeping retry). */
#define ZSM_MIG_GFP	(GFP_NOIO | __GFP_HIGHMEM | __GFP_MOVABLE)

/* === Fixture ============================================================= */

/* One pool holding one full zspage of a boundary-crossing class. */
struct zsm_mig_fx {
	struct kunit *test;
	struct zsm_kt_fx *kt;		/* the pool and its objects */
	struct zs_pool *pool;		/* kt->pool */
	const struct zsm_geom *geom;
	struct zsm_zspage *zspage;
	long held_before;		/* zsm_pages_held before any page */
};

/*
 * The canonical class with the longest chain whose objects cross every
 * page boundary of the chain: then whatever page is moved, objects run
 * into it from the page before and out of it into the page after.
 */
static const struct zsm_geom *zsm_mig_pick_class(void)
{
	const struct zsm_geom *best = NULL;
	unsigned int i, b;

	for (i = 0; i < ZSM_NR_CLASSES; i++) {
		const struct zsm_geom *g = &zsm_classes.geom[i];
		bool crosses_all = true;

		if (g->index != i || g->huge || g->pages < 3)
			continue;
		for (b = 1; b < g->pages; b++) {
			unsigned long edge = (unsigned long)b * PAGE_SIZE;

			if (!(edge % g->size) ||
			    edge >= (unsigned long)g->objs * g->size)
				crosses_all = false;
		}
		if (crosses_all && (!best || g->pages > best->pages))
			best = g;
	}
	return best;
}

/*
 * Create a pool and fill exactly one zspage of the chosen class. A new
 * pool's first zspage takes the first geom->objs objects; that is checked,
 * not assumed.
 */
static struct zsm_mig_fx *zsm_mig_fx_create(struct kunit *test)
{
	DECLARE_BITMAP(slots, ZSM_MAX_OBJS_PER_ZSPAGE);
	struct zsm_mig_fx *fx;
	unsigned int i, size;

	fx = kunit_kzalloc(test, sizeof(*fx), GFP_KERNEL);
	if (!fx)
		kunit_skip(test, "cannot allocate the fixture");
	fx->test = test;
	fx->geom = zsm_mig_pick_class();
	if (!fx->geom)
		kunit_skip(test, "no class crosses every page boundary");
	size = fx->geom->size;
	fx->held_before = atomic_long_read(&zsm_pages_held);
	fx->kt = zsm_kt_fx_create(test, "zsm_migrate_kunit", fx->geom->objs);
	fx->pool = fx->kt->pool;

	bitmap_zero(slots, ZSM_MAX_OBJS_PER_ZSPAGE);
	for (i = 0; i < fx->geom->objs; i++) {
		int k = zsm_kt_alloc(fx->kt, size, ZSM_MIG_GFP);
		struct zsm_tu_obj *o;
		unsigned int slot;

		/* A live object must map; memory may be short. */
		KUNIT_ASSERT_NE_MSG(test, k, -EFAULT, "object %u does not map", i);
		if (k < 0)
			kunit_skip(test, "zs_malloc(%u) failed: %d", size, k);
		o = &fx->kt->objs[k];
		slot = zsm_kt_slot(o);
		if (!fx->zspage)
			fx->zspage = zsm_kt_zspage(o);
		KUNIT_ASSERT_PTR_EQ_MSG(test, zsm_kt_zspage(o), fx->zspage,
					"object %u of a new pool not in its first zspage",
					i);
		KUNIT_ASSERT_LT(test, slot, fx->geom->objs);
		KUNIT_ASSERT_FALSE_MSG(test, __test_and_set_bit(slot, slots),
				       "slot %u twice", slot);
	}
	KUNIT_ASSERT_EQ(test, (unsigned int)fx->zspage->nr_pages,
			fx->geom->pages);
	KUNIT_ASSERT_EQ(test, (unsigned int)fx->zspage->inuse, fx->geom->objs);
	return fx;
}

/*
 * Read every live object back through a ZS_MM_RO map.
 * Return: the number of objects whose contents did not match (each
 * reported, with the pages of the chain it spans).
 */
static unsigned int zsm_mig_check_all(struct zsm_mig_fx *fx, const char *when)
{
	unsigned int size = fx->geom->size, i, bad_objs = 0;

	for (i = 0; i < fx->kt->nr; i++) {
		const struct zsm_tu_obj *o = &fx->kt->objs[i];
		unsigned int slot, first, last;

		if (!o->handle)
			continue;
		slot = zsm_kt_slot(o);
		first = slot * size / PAGE_SIZE;
		last = (slot * size + size - 1) / PAGE_SIZE;
		if (zsm_kt_check(fx->kt, i))
			continue;
		bad_objs++;
		KUNIT_FAIL(fx->test, "%s: slot %u (class %u, pages %u..%u)",
			   when, slot, size, first, last);
	}
	return bad_objs;
}

/* === Core mm, imitated =================================================== */

/*
 * Core mm's view of a movable page, by kernel. Up to 6.16 each page names
 * its movable_operations and the owner clears that when it lets the page
 * go; core then no longer calls the driver for it. From 6.17 the page type
 * and its movable mark are sticky until the page is freed, the operations
 * are those registered for the type (zsm_mops, registered at load), and
 * core calls them for every marked page, let go or not.
 */
#ifdef ZSM_HAVE_SET_MOVABLE_OPS

/* Of the movable_ops type (zsmalloc's). */
static bool zsm_mig_movable_type(struct page *page)
{
	return page_has_movable_ops(page);
}

/* Movable and still zsm's: the page names its zspage. */
static bool zsm_mig_page_movable(struct page *page)
{
	return page_has_movable_ops(page) && page_private(page);
}

/* Would core mm call the page's movable_operations? */
static bool zsm_mig_core_calls(struct page *page)
{
	return page_has_movable_ops(page);
}

static const struct movable_operations *zsm_mig_ops(struct page *page)
{
	return &zsm_mops;
}

#define zsm_mig_isolated(page)		PageMovableOpsIsolated(page)
#define zsm_mig_set_isolated(page)	SetPageMovableOpsIsolated(page)
#define zsm_mig_clear_isolated(page)	ClearPageMovableOpsIsolated(page)

#else

/* __PageMovable(): of the movable_ops type, maybe released by its owner. */
static bool zsm_mig_movable_type(struct page *page)
{
	return __folio_test_movable(page_folio(page));
}

/* PageMovable() of mm/compaction.c, which modules cannot call. */
static bool zsm_mig_page_movable(struct page *page)
{
	return zsm_mig_movable_type(page) && page_movable_ops(page);
}

static bool zsm_mig_core_calls(struct page *page)
{
	return zsm_mig_page_movable(page);
}

static const struct movable_operations *zsm_mig_ops(struct page *page)
{
	return page_movable_ops(page);
}

#define zsm_mig_isolated(page)		PageIsolated(page)
#define zsm_mig_set_isolated(page)	SetPageIsolated(page)
#define zsm_mig_clear_isolated(page)	ClearPageIsolated(page)

#endif

enum zsm_mig_isolate {
	ZSM_MIG_ISOLATED,
	ZSM_MIG_REFUSED,	/* ->isolate_page() said no */
	ZSM_MIG_NOT_MOVABLE,	/* not (or no longer) a movable page */
	ZSM_MIG_BUSY,		/* core mm holds it locked or isolated */
};

/*
 * isolate_movable_page() for an order-0 page, plus isolate_folio_to_list():
 * on success the page holds our reference, has PG_isolated set and sits on
 * @list through page->lru.
 */
static enum zsm_mig_isolate zsm_mig_isolate_once(struct kunit *test,
						 struct page *page,
						 struct list_head *list)
{
	const struct movable_operations *mops;
	enum zsm_mig_isolate ret = ZSM_MIG_BUSY;

	get_page(page);
	if (!zsm_mig_movable_type(page)) {
		ret = ZSM_MIG_NOT_MOVABLE;
		goto out_put;
	}
	if (!trylock_page(page))
		goto out_put;
	if (!zsm_mig_core_calls(page)) {
		ret = ZSM_MIG_NOT_MOVABLE;
		goto out_unlock;
	}
	if (zsm_mig_isolated(page))
		goto out_unlock;
	mops = zsm_mig_ops(page);
	KUNIT_EXPECT_PTR_EQ(test, mops, &zsm_mops);
	if (!mops->isolate_page(page, ISOLATE_UNEVICTABLE)) {
		ret = ZSM_MIG_REFUSED;
		goto out_unlock;
	}
	/* "Driver shouldn't use the isolated flag" */
	KUNIT_EXPECT_FALSE(test, zsm_mig_isolated(page));
	zsm_mig_set_isolated(page);
	unlock_page(page);
	list_add(&page->lru, list);
	return ZSM_MIG_ISOLATED;

out_unlock:
	unlock_page(page);
out_put:
	put_page(page);
	return ret;
}

/* Isolate, waiting out core mm (kcompactd) if it holds the page. */
static enum zsm_mig_isolate zsm_mig_isolate(struct kunit *test,
					    struct page *page,
					    struct list_head *list)
{
	enum zsm_mig_isolate ret;
	unsigned int tries = 0;

	while ((ret = zsm_mig_isolate_once(test, page, list)) == ZSM_MIG_BUSY &&
	       ++tries < ZSM_MIG_ISOLATE_TRIES)
		msleep(20);
	return ret;
}

/* putback_movable_pages() for one isolated page. */
static void zsm_mig_putback(struct page *page)
{
	list_del(&page->lru);
	lock_page(page);
	if (zsm_mig_core_calls(page))
		zsm_mig_ops(page)->putback_page(page);
	zsm_mig_clear_isolated(page);
	unlock_page(page);
	put_page(page);
}

/* Isolate pages[k] of the fixture's zspage (it must say yes). */
/*
 * Lock @src and the fresh page @dst as migration does (source first). On
 * failure both are released (@src put back, @dst freed), the case fails
 * and false is returned.
 */
static bool zsm_mig_lock_pair(struct kunit *test, struct page *src,
			      struct page *dst)
{
	lock_page(src);
	if (trylock_page(dst))
		return true;
	unlock_page(src);
	zsm_mig_putback(src);
	put_page(dst);
	KUNIT_FAIL(test, "a fresh page is locked");
	return false;
}

static struct page *zsm_mig_isolate_k(struct zsm_mig_fx *fx, unsigned int k,
				      struct list_head *list)
{
	struct page *page = zsm_zspage_page(fx->zspage, k);
	enum zsm_mig_isolate ret = zsm_mig_isolate(fx->test, page, list);

	KUNIT_ASSERT_EQ_MSG(fx->test, ret, ZSM_MIG_ISOLATED,
			    "isolating page %u of a live zspage", k);
	/* Core compaction cannot have moved it: we held a reference. */
	KUNIT_ASSERT_PTR_EQ(fx->test, zsm_zspage_page(fx->zspage, k), page);
	return page;
}

/* Snapshot of what a migration must (not) change. */
struct zsm_mig_counts {
	long migrated;
	long held;
	unsigned long pool_pages;
};

static void zsm_mig_counts(struct zsm_mig_fx *fx, struct zsm_mig_counts *c)
{
	c->migrated = atomic_long_read(&zsm_pages_migrated);
	c->held = atomic_long_read(&zsm_pages_held);
	c->pool_pages = zs_get_total_pages(fx->pool);
}

/* NR_ZSPAGES of the zones of @a and @b, per-CPU deltas included. */
static long zsm_mig_nr_zspages(struct page *a, struct page *b)
{
	long n = zone_page_state_snapshot(page_zone(a), NR_ZSPAGES);

	if (page_zone(b) != page_zone(a))
		n += zone_page_state_snapshot(page_zone(b), NR_ZSPAGES);
	return n;
}

/*
 * Migrate isolated page pages[k] (@src) to a fresh page, as core mm does,
 * checking zsm's side of the contract while both pages are locked. @src is
 * overwritten before it is released.
 */
static void zsm_mig_migrate_k(struct zsm_mig_fx *fx, unsigned int k,
			      struct page *src)
{
	struct kunit *test = fx->test;
	int rc = 0;
	long zspages_before;
	struct page *dst;
	void *addr;

	/* migrate_folio_unmap(): a page only core holds was freed meanwhile. */
	KUNIT_ASSERT_GT(test, page_ref_count(src), 1);
	dst = alloc_page(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN);
	if (!dst) {
		zsm_mig_putback(src);
		kunit_skip(test, "cannot allocate a destination page");
	}
	set_page_private(dst, 0);
	zspages_before = zsm_mig_nr_zspages(src, dst);
	if (!zsm_mig_lock_pair(test, src, dst))
		return;

	/* migrate_folio_move() -> migrate_movable_ops_page() */
	KUNIT_EXPECT_TRUE(test, zsm_mig_isolated(src));
	if (zsm_mig_core_calls(src))
		rc = zsm_mig_ops(src)->migrate_page(dst, src, MIGRATE_SYNC);
	if (rc) {
		/* Ownership unchanged: undo dst, put src back. */
		unlock_page(dst);
		put_page(dst);
		unlock_page(src);
		zsm_mig_putback(src);
		KUNIT_FAIL(test, "migrate_page of page %u: %d", k, rc);
		return;
	}
	zsm_mig_clear_isolated(src);

	/* zsm's side, checked under both page locks. */
	KUNIT_EXPECT_PTR_EQ(test, zsm_zspage_page(fx->zspage, k), dst);
	KUNIT_EXPECT_TRUE(test, zsm_mig_page_movable(dst));
	if (zsm_mig_movable_type(dst))
		KUNIT_EXPECT_PTR_EQ(test, zsm_mig_ops(dst), &zsm_mops);
	KUNIT_EXPECT_EQ(test, page_private(dst), (unsigned long)fx->zspage);
	KUNIT_EXPECT_EQ(test, zsm_page_index(dst), (unsigned long)k);
	KUNIT_EXPECT_FALSE(test, zsm_mig_page_movable(src));
	KUNIT_EXPECT_EQ(test, page_private(src), 0UL);
	/* zsm holds dst; core holds both its allocation and isolation refs. */
	KUNIT_EXPECT_EQ(test, page_ref_count(dst), 2);
	KUNIT_EXPECT_EQ(test, page_ref_count(src), 1);
	/* NR_ZSPAGES moves with the page: the sum over both zones stays. */
	KUNIT_EXPECT_EQ(test, zsm_mig_nr_zspages(src, dst), zspages_before);

	/* No map may use the old page any more. */
	addr = kmap_local_page(src);
	memset(addr, ZSM_MIG_POISON, PAGE_SIZE);
	kunmap_local(addr);

	/* The end of migrate_folio_move() and migrate_folio_done(). */
	unlock_page(dst);
	put_page(dst);
	list_del(&src->lru);
	unlock_page(src);
	put_page(src);
}

/* === Cases =============================================================== */

static void isolate_putback_keeps_data(struct kunit *test)
{
	struct zsm_mig_fx *fx = zsm_mig_fx_create(test);
	unsigned int n = fx->geom->pages, k;
	struct zsm_mig_counts c0, c1;
	struct page **pages;
	LIST_HEAD(isolated);

	pages = kunit_kcalloc(test, n, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		kunit_skip(test, "cannot allocate page array");
	zsm_mig_counts(fx, &c0);
	for (k = 0; k < n; k++) {
		pages[k] = zsm_mig_isolate_k(fx, k, &isolated);
		KUNIT_EXPECT_TRUE(test, zsm_mig_isolated(pages[k]));
	}
	/* Isolated pages stay in use: objects map and read back. */
	KUNIT_EXPECT_EQ(test, zsm_mig_check_all(fx, "isolated"), 0U);
	for (k = 0; k < n; k++) {
		zsm_mig_putback(pages[k]);
		KUNIT_EXPECT_FALSE(test, zsm_mig_isolated(pages[k]));
		KUNIT_EXPECT_PTR_EQ(test, zsm_zspage_page(fx->zspage, k),
				    pages[k]);
		KUNIT_EXPECT_TRUE(test, zsm_mig_page_movable(pages[k]));
	}
	zsm_mig_counts(fx, &c1);
	KUNIT_EXPECT_EQ(test, c1.held, c0.held);
	KUNIT_EXPECT_EQ(test, c1.pool_pages, c0.pool_pages);
	KUNIT_EXPECT_EQ(test, zsm_mig_check_all(fx, "put back"), 0U);
}

/* Which page of the chain a migration case moves. */
struct zsm_mig_pos {
	const char *name;
	int k;		/* page index; negative counts from the end */
};

static const struct zsm_mig_pos zsm_mig_positions[] = {
	{ "head", 0 },
	{ "second", 1 },
	{ "last", -1 },
};

static void zsm_mig_pos_desc(const struct zsm_mig_pos *p, char *desc)
{
	strscpy(desc, p->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(zsm_mig_pos, zsm_mig_positions, zsm_mig_pos_desc);

static void migrate_page_moves_data(struct kunit *test)
{
	const struct zsm_mig_pos *pos = test->param_value;
	struct zsm_mig_fx *fx = zsm_mig_fx_create(test);
	unsigned int n = fx->geom->pages, k, size = fx->geom->size;
	struct zsm_mig_counts c0, c1;
	LIST_HEAD(isolated);
	struct page *src;

	k = pos->k < 0 ? n + pos->k : pos->k;
	KUNIT_ASSERT_LT(test, k, n);
	/* Objects run into page k (unless k == 0) and out of it (unless last). */
	if (k > 0)
		KUNIT_ASSERT_NE(test, k * PAGE_SIZE % size, 0UL);
	if (k + 1 < n)
		KUNIT_ASSERT_NE(test, (k + 1) * PAGE_SIZE % size, 0UL);

	zsm_mig_counts(fx, &c0);
	src = zsm_mig_isolate_k(fx, k, &isolated);
	zsm_mig_migrate_k(fx, k, src);
	zsm_mig_counts(fx, &c1);

	KUNIT_EXPECT_GE(test, c1.migrated - c0.migrated, 1L);
	KUNIT_EXPECT_EQ(test, c1.held, c0.held);
	KUNIT_EXPECT_EQ(test, c1.pool_pages, c0.pool_pages);
	KUNIT_EXPECT_EQ(test, zsm_mig_check_all(fx, "migrated"), 0U);
}

static void migrate_every_page(struct kunit *test)
{
	struct zsm_mig_fx *fx = zsm_mig_fx_create(test);
	unsigned int n = fx->geom->pages, k;
	struct zsm_mig_counts c0, c1;
	LIST_HEAD(isolated);

	zsm_mig_counts(fx, &c0);
	for (k = 0; k < n; k++)
		zsm_mig_migrate_k(fx, k, zsm_mig_isolate_k(fx, k, &isolated));
	zsm_mig_counts(fx, &c1);
	KUNIT_EXPECT_GE(test, c1.migrated - c0.migrated, (long)n);
	KUNIT_EXPECT_EQ(test, c1.held, c0.held);
	KUNIT_EXPECT_EQ(test, c1.pool_pages, c0.pool_pages);
	KUNIT_EXPECT_EQ(test, zsm_mig_check_all(fx, "all migrated"), 0U);
}

/* Free every object of the fixture's zspage. */
static void zsm_mig_free_all(struct zsm_mig_fx *fx)
{
	zsm_kt_free_all(fx->kt);
}

/*
 *   core: get_page, lock, isolate, unlock   (page isolated, unlocked)
 *   zsm:  zs_free() x objs                  -> zspage freed, page let go
 *   core: putback: lock, not movable, clear PG_isolated, unlock, put
 *                                           -> page freed
 */
static void free_while_isolated(struct kunit *test)
{
	struct zsm_mig_fx *fx = zsm_mig_fx_create(test);
	unsigned int k = fx->geom->pages / 2;
	LIST_HEAD(isolated);
	struct page *page;

	page = zsm_mig_isolate_k(fx, k, &isolated);
	zsm_mig_free_all(fx);
	zsm_tu_released(fx->pool);

	/* zsm let go of the page; only core's reference is left. */
	KUNIT_EXPECT_EQ(test, page_ref_count(page), 1);
	KUNIT_EXPECT_EQ(test, page_private(page), 0UL);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&zsm_pages_held),
			fx->held_before);
	KUNIT_EXPECT_EQ(test, zsm_kt_total_pages(fx->pool), 0UL);

	/* putback_movable_pages() */
	list_del(&page->lru);
	lock_page(page);
	KUNIT_EXPECT_TRUE(test, zsm_mig_movable_type(page));
	KUNIT_EXPECT_FALSE(test, zsm_mig_page_movable(page));
	if (zsm_mig_core_calls(page))
		zsm_mig_ops(page)->putback_page(page);
	zsm_mig_clear_isolated(page);
	unlock_page(page);
	put_page(page);

	KUNIT_EXPECT_EQ(test, atomic_long_read(&zsm_pages_held),
			fx->held_before);
}

/*
 *   core: get_page, lock, isolate, unlock   (page isolated, unlocked)
 *   zsm:  zs_free() x objs                  -> zspage freed, page let go
 *   core: lock it and a destination; on 6.17+ ->migrate_page(), which must
 *         succeed and change nothing (earlier kernels see the page is no
 *         longer movable and do not call it)
 *   core: unlock both, drop its references  -> both pages freed
 */
static void migrate_after_free_while_isolated(struct kunit *test)
{
	struct zsm_mig_fx *fx = zsm_mig_fx_create(test);
	unsigned int k = fx->geom->pages / 2;
	LIST_HEAD(isolated);
	struct page *page, *dst;
	int rc = 0;

	dst = alloc_page(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN);
	if (!dst)
		kunit_skip(test, "cannot allocate a destination page");
	set_page_private(dst, 0);
	page = zsm_mig_isolate_k(fx, k, &isolated);
	zsm_mig_free_all(fx);
	zsm_tu_released(fx->pool);
	KUNIT_EXPECT_EQ(test, page_ref_count(page), 1);
	if (!zsm_mig_lock_pair(test, page, dst))
		return;
	if (zsm_mig_core_calls(page))
		rc = zsm_mig_ops(page)->migrate_page(dst, page, MIGRATE_SYNC);
	KUNIT_EXPECT_EQ_MSG(test, rc, 0,
			    "migrate_page() of a page its zspage let go");
	KUNIT_EXPECT_EQ(test, page_private(dst), 0UL);
	KUNIT_EXPECT_FALSE(test, zsm_mig_page_movable(dst));
	KUNIT_EXPECT_EQ(test, page_ref_count(dst), 1);
	zsm_mig_clear_isolated(page);
	unlock_page(dst);
	put_page(dst);
	list_del(&page->lru);
	unlock_page(page);
	KUNIT_EXPECT_EQ(test, page_ref_count(page), 1);
	put_page(page);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&zsm_pages_held),
			fx->held_before);
}

/*
 *   core: get_page, lock page k      (as migrate_folio_unmap() holds it)
 *   zsm:  zs_free() x objs           -> zspage dead, queued for the worker
 *   core: ->isolate_page(page k)     -> false, the zspage is dying
 *   zsm:  zs_compact()               -> trylock of page k fails: it stays
 *                                       queued, counted
 *   core: unlock, put                -> the worker frees the zspage
 */
static void free_while_locked_is_deferred(struct kunit *test)
{
	struct zsm_mig_fx *fx = zsm_mig_fx_create(test);
	unsigned int k = fx->geom->pages - 1;
	struct page *page = zsm_zspage_page(fx->zspage, k);
	bool isolated;

	get_page(page);
	lock_page(page);
	/* Core may have moved it before we locked it: use the current one. */
	if (zsm_zspage_page(fx->zspage, k) != page) {
		unlock_page(page);
		put_page(page);
		kunit_skip(test, "page %u moved by core mm meanwhile", k);
	}
	zsm_mig_free_all(fx);
	KUNIT_EXPECT_TRUE(test, zsm_mig_page_movable(page));
	isolated = zsm_mig_page_movable(page) &&
		   zsm_mig_ops(page)->isolate_page(page, ISOLATE_UNEVICTABLE);
	KUNIT_EXPECT_FALSE_MSG(test, isolated,
			       "isolate_page() accepted a page of a dead zspage");
	if (isolated)
		zsm_mig_ops(page)->putback_page(page);
	zs_compact(fx->pool);
	KUNIT_EXPECT_EQ(test, zsm_kt_pending_pages(zsm_pool(fx->pool)),
			(unsigned long)fx->zspage->nr_pages);
	unlock_page(page);

	zsm_tu_released(fx->pool);
	KUNIT_EXPECT_EQ(test, page_ref_count(page), 1);
	KUNIT_EXPECT_FALSE(test, zsm_mig_page_movable(page));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&zsm_pages_held),
			fx->held_before);
	KUNIT_EXPECT_EQ(test, zsm_kt_total_pages(fx->pool), 0UL);
	put_page(page);
}

/*
 *   core: get_page, lock, isolate, unlock   (page k isolated)
 *   core: lock page k                       (migrate_folio_unmap())
 *   zsm:  zs_free() x objs                  -> zspage dead, queued for
 *                                              the worker
 *   core: ->migrate_page(dst, page k)       -> -EAGAIN: a dead zspage's
 *                                              pages[] must not change, the
 *                                              worker sleeps on pages[k]
 *   core: unlock, putback                   -> the worker frees the zspage
 */
static void migrate_of_dying_zspage_is_refused(struct kunit *test)
{
	struct zsm_mig_fx *fx = zsm_mig_fx_create(test);
	unsigned int k = fx->geom->pages / 2;
	struct zsm_zspage *zspage = fx->zspage;
	LIST_HEAD(isolated);
	struct page *page, *dst;
	int rc = -EINVAL;

	dst = alloc_page(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN);
	if (!dst)
		kunit_skip(test, "cannot allocate a destination page");
	page = zsm_mig_isolate_k(fx, k, &isolated);
	if (!zsm_mig_lock_pair(test, page, dst))
		return;
	zsm_mig_free_all(fx);
	/* Deferred: the descriptor lives until the worker has run. */
	KUNIT_EXPECT_TRUE(test, READ_ONCE(zspage->dead));
	if (zsm_mig_core_calls(page))
		rc = zsm_mig_ops(page)->migrate_page(dst, page,
						     MIGRATE_SYNC);
	KUNIT_EXPECT_EQ_MSG(test, rc, -EAGAIN,
			    "migrate_page() of a dead zspage's page");
	KUNIT_EXPECT_PTR_EQ(test, zsm_zspage_page(zspage, k), page);
	KUNIT_EXPECT_EQ(test, page_private(dst), 0UL);
	unlock_page(dst);
	put_page(dst);
	unlock_page(page);
	zsm_mig_putback(page);

	zsm_tu_released(fx->pool);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&zsm_pages_held),
			fx->held_before);
	KUNIT_EXPECT_EQ(test, zsm_kt_total_pages(fx->pool), 0UL);
}

/*
 * A reader on another CPU: maps object 0 of the zspage and holds the map
 * until a migration announces that it waits (zsm_zspage_writer_waits()), or
 * for ZSM_MIG_HOLD_MS at most. With @nested it then maps object 1 of the
 * same zspage inside the first map, as a caller copying between two
 * objects would, before it unmaps both.
 */
#define ZSM_MIG_HOLD_MS		1000

struct zsm_mig_reader {
	struct zsm_mig_fx *fx;
	bool nested;
	struct completion mapped;
	struct completion done;
	bool saw_waiter;	/* a migration waited while we held the map */
	u64 nested_at;		/* local_clock() when the nested map returned */
	bool intact;		/* both objects read back right */
};

static int zsm_mig_reader_fn(void *data)
{
	struct zsm_mig_reader *r = data;
	struct zsm_kt_fx *kt = r->fx->kt;
	struct zsm_zspage *zspage = r->fx->zspage;
	const u8 *a, *b;
	unsigned long end;

	a = zs_map_object(kt->pool, kt->objs[0].handle, ZS_MM_RO);
	complete(&r->mapped);
	end = jiffies + msecs_to_jiffies(ZSM_MIG_HOLD_MS);
	while (!zsm_zspage_writer_waits(zspage) && time_before(jiffies, end))
		cpu_relax();
	/* Pairs with the acquire in migrate_wait_is_bounded(). */
	smp_store_release(&r->saw_waiter, zsm_zspage_writer_waits(zspage));
	r->intact = a && zsm_tu_csum(a, kt->objs[0].size) == kt->objs[0].csum;
	if (r->nested) {
		/* Spins while the migration waits, until it gives up. */
		b = zs_map_object(kt->pool, kt->objs[1].handle, ZS_MM_RO);
		r->nested_at = local_clock();
		r->intact = r->intact && b &&
			    zsm_tu_csum(b, kt->objs[1].size) == kt->objs[1].csum;
		if (b)
			zs_unmap_object(kt->pool, kt->objs[1].handle);
	}
	if (a)
		zs_unmap_object(kt->pool, kt->objs[0].handle);
	complete(&r->done);
	return 0;
}

/* Start the reader on a CPU other than ours; wait until it holds its map. */
static void zsm_mig_reader_start(struct kunit *test, struct zsm_mig_reader *r)
{
	struct task_struct *t;

	if (num_online_cpus() < 2)
		kunit_skip(test, "needs two CPUs");
	init_completion(&r->mapped);
	init_completion(&r->done);
	t = kthread_create(zsm_mig_reader_fn, r, "zsm_mig_reader");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	kthread_bind(t, cpumask_any_but(cpu_online_mask,
					raw_smp_processor_id()));
	wake_up_process(t);
	wait_for_completion(&r->mapped);
}

/*
 * The wait is bounded: a mapper that holds its map longer than the bound
 * (and, if it sees the migration waiting, asks for a second map of the
 * zspage inside the first, which waits for the migration that waits for
 * it) makes the migration give up after ZSM_MIGRATE_WAIT_NS with -EAGAIN
 * (core mm retries), and both maps complete. The reader must see the
 * migration waiting, and its nested map must be held off meanwhile.
 */
static void migrate_wait_is_bounded(struct kunit *test)
{
	struct zsm_mig_fx *fx = zsm_mig_fx_create(test);
	struct zsm_mig_reader r = { .fx = fx, .nested = true };
	LIST_HEAD(isolated);
	struct page *page, *dst;
	unsigned long deadline;
	int rc = -EINVAL;
	u64 start, ns;

	dst = alloc_page(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN);
	if (!dst)
		kunit_skip(test, "cannot allocate a destination page");
	page = zsm_mig_isolate_k(fx, 0, &isolated);
	zsm_mig_reader_start(test, &r);
	if (!zsm_mig_lock_pair(test, page, dst))
		return;
	/*
	 * The reader's CPU may not run at all during one wait of 2 ms
	 * (single-threaded TCG runs one vCPU at a time, for longer than
	 * that): ask again, each time a whole bounded wait, as core mm does,
	 * until the reader has seen one, within half of its hold.
	 */
	deadline = jiffies + msecs_to_jiffies(ZSM_MIG_HOLD_MS / 2);
	do {
		start = local_clock();
		if (zsm_mig_core_calls(page))
			rc = zsm_mig_ops(page)->migrate_page(dst, page,
							     MIGRATE_SYNC);
		ns = local_clock() - start;
		/* Pairs with the release in zsm_mig_reader_fn(). */
	} while (rc == -EAGAIN && !smp_load_acquire(&r.saw_waiter) &&
		 time_before(jiffies, deadline));
	KUNIT_EXPECT_EQ(test, rc, -EAGAIN);
	KUNIT_EXPECT_GE_MSG(test, ns, (u64)ZSM_MIGRATE_WAIT_NS,
			    "gave up after %llu ns", ns);
	/* Bounded: a second is far more than the wait plus the emulation. */
	KUNIT_EXPECT_LT_MSG(test, ns, (u64)ZSM_MIGRATE_WAIT_NS + NSEC_PER_SEC,
			    "gave up after %llu ns", ns);
	KUNIT_EXPECT_PTR_EQ(test, zsm_zspage_page(fx->zspage, 0), page);
	KUNIT_EXPECT_FALSE(test, zsm_zspage_writer_waits(fx->zspage));
	unlock_page(dst);
	put_page(dst);
	unlock_page(page);
	zsm_mig_putback(page);
	wait_for_completion(&r.done);
	KUNIT_EXPECT_TRUE(test, r.intact);
	/*
	 * The reader saw the migration wait (the last one), and its nested
	 * map was held off while it did (half the wait: the two CPUs' clocks
	 * may differ).
	 */
	KUNIT_EXPECT_TRUE(test, r.saw_waiter);
	KUNIT_EXPECT_GE_MSG(test, (s64)(r.nested_at - start),
			    (s64)ZSM_MIGRATE_WAIT_NS / 2,
			    "nested map returned %lld ns after the migration began",
			    (s64)(r.nested_at - start));
	KUNIT_EXPECT_EQ(test, zsm_mig_check_all(fx, "after the bounded wait"),
			0U);
}

/*
 * The zspage lock's states one by one, with the class lock held so that no
 * writer but this test's comes near the zspage: a reader gets in while the
 * lock is free or read-held and is kept out, its increment taken back,
 * while a writer holds it or waits for it; a writer waits for the readers
 * to leave. The waiting state is made with the half of
 * zsm_zspage_write_lock_bounded() that announces the wait, whose spin
 * cannot be watched from its own thread.
 */
static void zspage_lock_states(struct kunit *test)
{
	struct zsm_mig_fx *fx = zsm_mig_fx_create(test);
	struct zsm_zspage *zspage = fx->zspage;
	struct zsm_class *class = zspage->class;
	atomic_t *cnt = &zspage->lock.cnt;

	spin_lock(&class->lock);
	KUNIT_EXPECT_EQ(test, atomic_read(cnt), 0);
	/* Free: readers get in, a writer does not get past them. */
	if (!zsm_zspage_read_tryacquire(zspage)) {
		KUNIT_FAIL(test, "first reader refused at count %d",
			   atomic_read(cnt));
		goto out;
	}
	zsm_zspage_lock_taken(zspage);
	if (!zsm_zspage_read_tryacquire(zspage)) {
		KUNIT_FAIL(test, "second reader refused at count %d",
			   atomic_read(cnt));
		zsm_zspage_read_unlock(zspage);
		goto out;
	}
	zsm_zspage_lock_taken(zspage);
	KUNIT_EXPECT_EQ(test, atomic_read(cnt), 2);
	KUNIT_EXPECT_FALSE(test, zsm_zspage_write_acquire(zspage, 0));
	zsm_zspage_read_unlock(zspage);
	/* A migration waits for the remaining reader: new ones are held off. */
	zsm_zspage_wait_announce(zspage);
	KUNIT_EXPECT_TRUE(test, zsm_zspage_writer_waits(zspage));
	KUNIT_EXPECT_FALSE(test, zsm_zspage_read_tryacquire(zspage));
	KUNIT_EXPECT_EQ(test, atomic_read(cnt), ZSM_ZSPAGE_WAITING + 1);
	KUNIT_EXPECT_FALSE(test, zsm_zspage_write_acquire(zspage,
							  ZSM_ZSPAGE_WAITING));
	/* The reader leaves; the waiting writer gets the lock. */
	zsm_zspage_read_unlock(zspage);
	KUNIT_EXPECT_EQ(test, atomic_read(cnt), ZSM_ZSPAGE_WAITING);
	if (zsm_cond_lock(&zspage->lock,
			  zsm_zspage_write_acquire(zspage, ZSM_ZSPAGE_WAITING))) {
		/*
		 * Negative, so a reader's increment is taken back (not tried
		 * here: lockdep would see this thread read inside its write).
		 */
		KUNIT_EXPECT_FALSE(test, zsm_zspage_writer_waits(zspage));
		KUNIT_EXPECT_EQ(test, atomic_read(cnt), ZSM_ZSPAGE_WRLOCKED);
		zsm_zspage_write_unlock(zspage);
	} else {
		KUNIT_FAIL(test, "write lock refused at count %d",
			   atomic_read(cnt));
		zsm_zspage_wait_withdraw(zspage);
	}
	/* Free again: a reader gets in. */
	KUNIT_EXPECT_EQ(test, atomic_read(cnt), 0);
	if (zsm_zspage_read_tryacquire(zspage)) {
		zsm_zspage_lock_taken(zspage);
		zsm_zspage_read_unlock(zspage);
	} else {
		KUNIT_FAIL(test, "read lock refused at count %d",
			   atomic_read(cnt));
	}
out:
	spin_unlock(&class->lock);
}

static int zsm_migrate_suite_init(struct kunit_suite *suite)
{
	const struct zsm_geom *g = zsm_mig_pick_class();

	if (g)
		pr_info("class %u: %u pages, %u objects per zspage\n", g->size,
			g->pages, g->objs);
	return 0;
}

static struct kunit_case zsm_migrate_cases[] = {
	KUNIT_CASE(isolate_putback_keeps_data),
	KUNIT_CASE_PARAM(migrate_page_moves_data, zsm_mig_pos_gen_params),
	KUNIT_CASE(migrate_every_page),
	KUNIT_CASE(free_while_isolated),
	KUNIT_CASE(migrate_after_free_while_isolated),
	KUNIT_CASE(free_while_locked_is_deferred),
	KUNIT_CASE(migrate_of_dying_zspage_is_refused),
	KUNIT_CASE(migrate_wait_is_bounded),
	KUNIT_CASE(zspage_lock_states),
	{}
};

static struct kunit_suite zsm_migrate_suite = {
	.name = "zsm_migrate",
	.suite_init = zsm_migrate_suite_init,
	.test_cases = zsm_migrate_cases,
};

kunit_test_suite(zsm_migrate_suite);

MODULE_DESCRIPTION("KUnit tests for zsm: page isolation, migration and putback (zsm_migrate)");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(ZSM_KUNIT_NS);
