// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite zsm_evict: the contract of zs_set_evict_handler() and
 * zs_evict_pages().
 *
 * Verified, with a real pool (the fixture of tests/zsm_test_util.h,
 * released by a KUnit action also when a case aborts) and a handler that
 * behaves like an owner with a backing store (it copies the object out and
 * zs_free()s it):
 * - no handler: -EINVAL; an empty pool: 0 pages, no handler call;
 * - a failing handler leaves every object intact (checksums) and frees no
 *   page; its first failure ends the zspage's eviction; the same zspage is
 *   evicted once the handler succeeds; so is one whose handler wrote some
 *   objects back before it failed, those gone and the rest intact;
 * - objects freed by the owner while their zspage is evicted, before their
 *   turn, are not offered, and the zspage is still freed, every page back
 *   (zsm_pages_held);
 * - zswap's contract (6.1's writeback through zpool): a handler that maps
 *   the object first and only then looks it up finds it intact although
 *   the owner freed it meanwhile (the free takes effect when the handler
 *   returns); the other objects of the zspage, read ("loaded") and freed
 *   during the eviction, and objects allocated meanwhile (which may reuse
 *   freed handle words) are never offered, stay intact, and nothing leaks;
 * - the zspage evicted is the least recently allocated into; zspages the
 *   handler keeps refusing an object of are each tried once per call and
 *   do not keep the call from the zspages behind them.
 */

#define ZSM_TU_KUNIT
#include <kunit/test.h>
#include <linux/slab.h>
#include <linux/sched.h>
#include <linux/string.h>

#include "zsm_internal.h"
#include "zsm_test_util.h"

MODULE_IMPORT_NS(ZSM_KUNIT_NS);

#define EV_MAX	64

/* The owner of a pool whose objects fill one zspage (tests/zsm_test_util.h). */
struct ev_ctx {
	struct zsm_kt_fx *fx;
	bool evicted[EV_MAX];
	int fail;		/* handler return value when non-zero */
	unsigned int fail_after; /* when non-zero, -EEXIST after this many */
	bool free_others;	/* first call frees every other object */
	unsigned int calls;
	unsigned int unknown;	/* calls for handles no longer owned */
};

/* Does @handle hold the contents of @o? Read through a ZS_MM_RO map. */
static bool ev_intact(struct zsm_kt_fx *fx, unsigned long handle,
		      const struct zsm_tu_obj *o)
{
	void *p = zs_map_object(fx->pool, handle, ZS_MM_RO);
	u64 csum = zsm_tu_csum(p, o->size);

	zs_unmap_object(fx->pool, handle);
	return csum == o->csum;
}

static int ev_find(struct zsm_kt_fx *fx, unsigned long handle)
{
	unsigned int i;

	for (i = 0; i < fx->nr; i++)
		if (fx->objs[i].handle == handle)
			return i;
	return -1;
}

static int ev_handler(struct zs_pool *pool, unsigned long handle, void *priv)
{
	struct ev_ctx *c = priv;
	struct zsm_kt_fx *fx = c->fx;
	int k = ev_find(fx, handle);
	unsigned int i;

	c->calls++;
	if (k < 0) {
		c->unknown++;
		return -ENOENT;
	}
	if (c->fail)
		return c->fail;
	if (c->fail_after && c->calls > c->fail_after)
		return -EEXIST;
	if (c->free_others) {
		c->free_others = false;
		for (i = 0; i < fx->nr; i++) {
			if (i == k || !fx->objs[i].handle)
				continue;
			zsm_kt_free(fx, i);
		}
	}
	/* "Write back": the checksum stands for the copy in the store. */
	KUNIT_EXPECT_TRUE(fx->test, ev_intact(fx, handle, &fx->objs[k]));
	zsm_kt_free(fx, k);
	c->evicted[k] = true;
	return 0;
}

/*
 * A context whose pool is filled with exactly one zspage of a multi-page
 * class (@fill), or left empty; released with the case.
 */
static struct ev_ctx *ev_setup(struct kunit *test, bool fill)
{
	struct ev_ctx *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	unsigned int i, nr, size = 3000;

	KUNIT_ASSERT_NOT_NULL(test, c);
	c->fx = zsm_kt_fx_create(test, "zsm_evict_kunit", EV_MAX);
	if (!fill)
		return c;
	/* A class with a few objects per zspage, crossing pages. */
	nr = zsm_kt_geom(size)->objs;
	KUNIT_ASSERT_LE(test, nr + 4, EV_MAX);	/* 4: see the last case */
	for (i = 0; i < nr; i++)
		KUNIT_ASSERT_GE(test, zsm_kt_alloc(c->fx, size, GFP_KERNEL), 0);
	return c;
}

/*
 * With the handler now taking every object: the zspage that held all of
 * them (@pages pages) goes in one call, every object was written back, and
 * zsm holds what it held (@held) before the case.
 */
static void ev_evict_rest(struct kunit *test, struct ev_ctx *c,
			  unsigned long pages, long held)
{
	struct zsm_kt_fx *fx = c->fx;
	unsigned int i;

	KUNIT_EXPECT_EQ(test, zs_evict_pages(fx->pool, 1), (long)pages);
	KUNIT_EXPECT_EQ(test, zsm_kt_total_pages(fx->pool), 0UL);
	for (i = 0; i < fx->nr; i++)
		KUNIT_EXPECT_TRUE(test, c->evicted[i]);
	zsm_kt_fx_release(fx);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&zsm_pages_held), held);
}

static void evict_without_handler_is_einval(struct kunit *test)
{
	struct ev_ctx *c = ev_setup(test, false);

	KUNIT_EXPECT_EQ(test, zs_evict_pages(c->fx->pool, 1), -EINVAL);
}

static void evict_empty_pool_frees_nothing(struct kunit *test)
{
	struct ev_ctx *c = ev_setup(test, false);

	zs_set_evict_handler(c->fx->pool, ev_handler, c);
	KUNIT_EXPECT_EQ(test, zs_evict_pages(c->fx->pool, 4), 0);
	KUNIT_EXPECT_EQ(test, c->calls, 0U);
}

static void evict_failing_handler_keeps_objects(struct kunit *test)
{
	long held = atomic_long_read(&zsm_pages_held);
	struct ev_ctx *c = ev_setup(test, true);
	struct zsm_kt_fx *fx = c->fx;
	unsigned long pages;
	unsigned int i;

	pages = zsm_kt_obj_pages(fx->pool);
	zs_set_evict_handler(fx->pool, ev_handler, c);

	c->fail = -EIO;
	KUNIT_EXPECT_EQ(test, zs_evict_pages(fx->pool, 1), 0);
	/* The first failure ends the zspage's eviction. */
	KUNIT_EXPECT_EQ(test, c->calls, 1U);
	KUNIT_EXPECT_EQ(test, zsm_kt_obj_pages(fx->pool), pages);
	for (i = 0; i < fx->nr; i++)
		KUNIT_EXPECT_TRUE(test, zsm_kt_check(fx, i));

	/* Filed back: the next try with a working handler empties it. */
	c->fail = 0;
	ev_evict_rest(test, c, pages, held);
}

/*
 * The handler writes back two objects of the zspage, then refuses one (as
 * zswap's -EEXIST does for a page in the swap cache): no page frame is
 * freed, the two are gone, the rest intact and counted; once the handler
 * takes them all, the zspage goes.
 */
static void evict_fails_after_some_writebacks(struct kunit *test)
{
	long held = atomic_long_read(&zsm_pages_held);
	struct ev_ctx *c = ev_setup(test, true);
	struct zsm_kt_fx *fx = c->fx;
	unsigned long pages, zspages, inuse;
	unsigned int i, written = 0;

	KUNIT_ASSERT_GE(test, fx->nr, 3U);
	pages = zsm_kt_obj_pages(fx->pool);
	zs_set_evict_handler(fx->pool, ev_handler, c);

	c->fail_after = 2;
	KUNIT_EXPECT_EQ(test, zs_evict_pages(fx->pool, 1), 0);
	KUNIT_EXPECT_EQ(test, c->calls, 3U);
	KUNIT_EXPECT_EQ(test, zsm_kt_obj_pages(fx->pool), pages);
	for (i = 0; i < fx->nr; i++) {
		if (c->evicted[i]) {
			written++;
			KUNIT_EXPECT_EQ(test, fx->objs[i].handle, 0UL);
		} else {
			KUNIT_EXPECT_TRUE(test, zsm_kt_check(fx, i));
		}
	}
	KUNIT_EXPECT_EQ(test, written, 2U);
	zsm_kt_class_counts(zsm_pool(fx->pool)->class_of[zsm_size_to_slot(3000)],
			    &zspages, &inuse);
	KUNIT_EXPECT_EQ(test, zspages, 1UL);
	KUNIT_EXPECT_EQ(test, inuse, (unsigned long)fx->nr - 2);

	c->fail_after = 0;
	ev_evict_rest(test, c, pages, held);
}

static void evict_with_concurrent_free(struct kunit *test)
{
	long held = atomic_long_read(&zsm_pages_held);
	struct ev_ctx *c = ev_setup(test, true);
	struct zsm_kt_fx *fx = c->fx;
	unsigned long pages;

	KUNIT_ASSERT_GE(test, fx->nr, 2U);
	pages = zsm_kt_obj_pages(fx->pool);
	zs_set_evict_handler(fx->pool, ev_handler, c);

	/*
	 * The owner frees the others while the zspage is being evicted: they
	 * are not offered.
	 */
	c->free_others = true;
	KUNIT_EXPECT_EQ(test, zs_evict_pages(fx->pool, 1), (long)pages);
	KUNIT_EXPECT_EQ(test, c->calls, 1U);
	KUNIT_EXPECT_EQ(test, c->unknown, 0U);
	KUNIT_EXPECT_EQ(test, zsm_kt_total_pages(fx->pool), 0UL);
	zsm_kt_fx_release(fx);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&zsm_pages_held), held);
}

/*
 * The owner of zswap61_handler(): objects 0..nr-1 fill the evicted zspage.
 * The handler's first call plays the rest of the system, in one go: it
 * "invalidates" (frees) the object it was called for and another one (the
 * victim), "loads" (reads) every other object, and stores @new_objs new
 * objects; then, as zswap does, it maps the object before it looks it up.
 */
struct ev61_ctx {
	struct zsm_kt_fx *fx;
	unsigned int nr;	/* objects of the evicted zspage */
	unsigned int new_objs;
	unsigned int calls;
	unsigned int written_back;
	unsigned int invalidated;	/* mapped after the owner freed it */
	unsigned int offered_other;	/* freed or new objects offered */
};

static int zswap61_handler(struct zs_pool *pool, unsigned long handle,
			   void *priv)
{
	struct ev61_ctx *c = priv;
	struct zsm_kt_fx *fx = c->fx;
	int k = ev_find(fx, handle);
	struct zsm_tu_obj self;
	unsigned int i, victim = 0;
	void *p;
	u64 csum;

	c->calls++;
	if (k < 0 || k >= (int)c->nr) {
		c->offered_other++;
		return -ENOENT;
	}
	if (c->calls > 1) {
		/* Write back: the checksum stands for the copy. */
		KUNIT_EXPECT_TRUE(fx->test, ev_intact(fx, handle, &fx->objs[k]));
		zsm_kt_free(fx, k);
		c->written_back++;
		return 0;
	}

	self = fx->objs[k];
	for (i = 0; i < c->nr; i++)
		if (i != (unsigned int)k && fx->objs[i].handle)
			victim = i;
	zsm_kt_free(fx, k);
	zsm_kt_free(fx, victim);
	for (i = 0; i < c->nr; i++)
		if (fx->objs[i].handle)
			KUNIT_EXPECT_TRUE(fx->test, zsm_kt_check(fx, i));
	for (i = 0; i < c->new_objs; i++)
		KUNIT_EXPECT_GE(fx->test, zsm_kt_alloc(fx, 3000, GFP_KERNEL), 0);

	/* Freed, but live until we return: the bytes are the object's. */
	p = zs_map_object(pool, handle, ZS_MM_RO);
	KUNIT_EXPECT_NOT_NULL(fx->test, p);
	if (p) {
		csum = zsm_tu_csum(p, self.size);
		/* Unmapped first: a failure report allocates. */
		zs_unmap_object(pool, handle);
		KUNIT_EXPECT_EQ(fx->test, csum, self.csum);
	}
	/* The lookup finds no entry: nothing to write back, as in zswap. */
	c->invalidated++;
	return 0;
}

static void evict_zswap61_contract(struct kunit *test)
{
	long held = atomic_long_read(&zsm_pages_held);
	struct ev61_ctx *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	struct zsm_kt_fx *fx;
	unsigned long pages;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, c);
	fx = ev_setup(test, true)->fx;
	c->fx = fx;
	c->nr = fx->nr;
	KUNIT_ASSERT_GE(test, c->nr, 3U);
	c->new_objs = 4;	/* ev_setup() left room */
	pages = zsm_kt_obj_pages(fx->pool);
	zs_set_evict_handler(fx->pool, zswap61_handler, c);

	KUNIT_EXPECT_EQ(test, zs_evict_pages(fx->pool, 1), (long)pages);
	/* Every object but the victim offered once, nothing else. */
	KUNIT_EXPECT_EQ(test, c->calls, c->nr - 1);
	KUNIT_EXPECT_EQ(test, c->offered_other, 0U);
	KUNIT_EXPECT_EQ(test, c->invalidated, 1U);
	KUNIT_EXPECT_EQ(test, c->written_back, c->nr - 2);
	for (i = 0; i < c->nr; i++)
		KUNIT_EXPECT_EQ(test, fx->objs[i].handle, 0UL);
	/* The new objects are intact, in a zspage of their own. */
	KUNIT_EXPECT_EQ(test, fx->nr, c->nr + c->new_objs);
	for (i = c->nr; i < fx->nr; i++)
		KUNIT_EXPECT_TRUE(test, zsm_kt_check(fx, i));
	KUNIT_EXPECT_GT(test, zsm_kt_obj_pages(fx->pool), 0UL);
	KUNIT_EXPECT_LE(test, zsm_kt_obj_pages(fx->pool), pages);
	zsm_kt_fx_release(fx);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&zsm_pages_held), held);
}

/*
 * More zspages than one call used to look past, each with an object the
 * handler keeps refusing (as zswap's -EEXIST does while the page is in the
 * swap cache), and behind them the newest zspage, which can be emptied.
 */
#define EV_STUCK	20

struct ev_stuck_ctx {
	struct zsm_kt_fx *fx;
	unsigned int stuck;	/* objects 0..stuck-1 are refused */
	unsigned int refused;
};

static int ev_stuck_handler(struct zs_pool *pool, unsigned long handle,
			    void *priv)
{
	struct ev_stuck_ctx *c = priv;
	struct zsm_kt_fx *fx = c->fx;
	int k = ev_find(fx, handle);

	if (k < 0)
		return -ENOENT;
	if (k < (int)c->stuck) {
		c->refused++;
		return -EEXIST;
	}
	KUNIT_EXPECT_TRUE(fx->test, ev_intact(fx, handle, &fx->objs[k]));
	zsm_kt_free(fx, k);
	return 0;
}

static void evict_goes_past_refused_zspages(struct kunit *test)
{
	long held = atomic_long_read(&zsm_pages_held);
	struct ev_stuck_ctx *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	const struct zsm_geom *g = zsm_kt_geom(3000);
	unsigned int nr = (EV_STUCK + 1) * g->objs, i;
	long stuck_pages = EV_STUCK * g->pages;
	struct zsm_kt_fx *fx;

	KUNIT_ASSERT_NOT_NULL(test, c);
	fx = zsm_kt_fx_create(test, "zsm_evict_kunit", nr);
	c->fx = fx;
	c->stuck = EV_STUCK * g->objs;
	/* One class: EV_STUCK zspages filled one after the other, then one. */
	for (i = 0; i < nr; i++)
		KUNIT_ASSERT_GE(test, zsm_kt_alloc(fx, 3000, GFP_KERNEL), 0);
	KUNIT_ASSERT_EQ(test, zsm_kt_obj_pages(fx->pool),
			(unsigned long)(stuck_pages + g->pages));
	zs_set_evict_handler(fx->pool, ev_stuck_handler, c);

	/* Each refusing zspage tried once, then the newest one freed. */
	KUNIT_EXPECT_EQ(test, zs_evict_pages(fx->pool, 1), (long)g->pages);
	KUNIT_EXPECT_EQ(test, c->refused, (unsigned int)EV_STUCK);
	for (i = 0; i < nr; i++) {
		if (i < c->stuck)
			KUNIT_EXPECT_TRUE(test, zsm_kt_check(fx, i));
		else
			KUNIT_EXPECT_EQ(test, fx->objs[i].handle, 0UL);
	}
	/* Nothing left to empty: each is tried once more, nothing freed. */
	c->refused = 0;
	KUNIT_EXPECT_EQ(test, zs_evict_pages(fx->pool, 1), 0L);
	KUNIT_EXPECT_EQ(test, c->refused, (unsigned int)EV_STUCK);
	/* Once the handler takes them, all go. */
	c->stuck = 0;
	KUNIT_EXPECT_EQ(test, zs_evict_pages(fx->pool, stuck_pages), stuck_pages);
	KUNIT_EXPECT_EQ(test, zsm_kt_total_pages(fx->pool), 0UL);
	zsm_kt_fx_release(fx);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&zsm_pages_held), held);
}

static void evict_takes_coldest_zspage(struct kunit *test)
{
	struct ev_ctx *c = ev_setup(test, true);
	struct zsm_kt_fx *fx = c->fx;
	unsigned int i, nr = fx->nr;

	/* Newer objects, in another class, one jiffy or more later. */
	schedule_timeout_uninterruptible(2);
	for (i = 0; i < 4; i++)
		KUNIT_ASSERT_GE(test, zsm_kt_alloc(fx, 100, GFP_KERNEL), 0);
	zs_set_evict_handler(fx->pool, ev_handler, c);
	KUNIT_EXPECT_GT(test, zs_evict_pages(fx->pool, 1), 0L);
	/* The old zspage went, the new objects were not offered. */
	KUNIT_EXPECT_EQ(test, c->calls, nr);
	KUNIT_EXPECT_EQ(test, c->unknown, 0U);
	for (i = 0; i < nr; i++)
		KUNIT_EXPECT_TRUE(test, c->evicted[i]);
}

static struct kunit_case zsm_evict_cases[] = {
	KUNIT_CASE(evict_without_handler_is_einval),
	KUNIT_CASE(evict_empty_pool_frees_nothing),
	KUNIT_CASE(evict_failing_handler_keeps_objects),
	KUNIT_CASE(evict_fails_after_some_writebacks),
	KUNIT_CASE(evict_with_concurrent_free),
	KUNIT_CASE(evict_zswap61_contract),
	KUNIT_CASE(evict_takes_coldest_zspage),
	KUNIT_CASE(evict_goes_past_refused_zspages),
	{}
};

static struct kunit_suite zsm_evict_suite = {
	.name = "zsm_evict",
	.test_cases = zsm_evict_cases,
};

kunit_test_suite(zsm_evict_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests for zsm eviction");
