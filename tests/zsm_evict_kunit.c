// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite zsm_evict: the contract of zs_set_evict_handler() and
 * zs_evict_pages().
 *
 * Verified, with a real pool and a handler that behaves like an owner with
 * a backing store (it copies the object out and zs_free()s it):
 * - no handler: -EINVAL; an empty pool: 0 pages, no handler call;
 * - a failing handler leaves every object intact (checksums) and frees no
 *   page; the same zspage is evicted once the handler succeeds;
 * - objects freed by the owner while their zspage is evicted are handled
 *   (the handler sees handles it no longer owns and says so), and the
 *   zspage is still freed, every page back (zsm_pages_held);
 * - the zspage evicted is the least recently allocated into.
 */

#include <kunit/test.h>
#include <linux/crc32.h>
#include <linux/slab.h>
#include <linux/sched.h>
#include <linux/string.h>

#include "zsm_internal.h"

MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);

#define EV_MAX	64

struct ev_obj {
	unsigned long handle;	/* 0 once evicted or freed */
	u32 crc;
	bool evicted;
};

struct ev_ctx {
	struct kunit *test;
	struct zs_pool *pool;
	unsigned int size;
	unsigned int nr;
	struct ev_obj obj[EV_MAX];
	int fail;		/* handler return value when non-zero */
	bool free_others;	/* first call frees every other object */
	unsigned int calls;
	unsigned int unknown;	/* calls for handles no longer owned */
};

static u32 ev_fill(struct zs_pool *pool, unsigned long h, unsigned int size,
		   unsigned int seed)
{
	u8 *p = zs_map_object(pool, h, ZS_MM_WO);
	unsigned int i;
	u32 crc;

	for (i = 0; i < size; i++)
		p[i] = (u8)(seed * 131 + i * 7);
	crc = crc32(0, p, size);
	zs_unmap_object(pool, h);
	return crc;
}

static u32 ev_crc(struct zs_pool *pool, unsigned long h, unsigned int size)
{
	void *p = zs_map_object(pool, h, ZS_MM_RO);
	u32 crc = crc32(0, p, size);

	zs_unmap_object(pool, h);
	return crc;
}

static struct ev_obj *ev_find(struct ev_ctx *c, unsigned long handle)
{
	unsigned int i;

	for (i = 0; i < c->nr; i++)
		if (c->obj[i].handle == handle)
			return &c->obj[i];
	return NULL;
}

static int ev_handler(struct zs_pool *pool, unsigned long handle, void *priv)
{
	struct ev_ctx *c = priv;
	struct ev_obj *o = ev_find(c, handle);
	unsigned int i;

	c->calls++;
	if (!o) {
		c->unknown++;
		return -ENOENT;
	}
	if (c->fail)
		return c->fail;
	if (c->free_others) {
		c->free_others = false;
		for (i = 0; i < c->nr; i++) {
			if (&c->obj[i] == o || !c->obj[i].handle)
				continue;
			zs_free(pool, c->obj[i].handle);
			c->obj[i].handle = 0;
		}
	}
	/* "Write back": the checksum stands for the copy in the store. */
	KUNIT_EXPECT_EQ(c->test, ev_crc(pool, handle, c->size), o->crc);
	zs_free(pool, handle);
	o->handle = 0;
	o->evicted = true;
	return 0;
}

/* Fill exactly one zspage of a multi-page class. */
static void ev_setup(struct kunit *test, struct ev_ctx *c)
{
	unsigned int i, slot;

	c->test = test;
	c->pool = zs_create_pool("zsm_evict_kunit");
	if (!c->pool)
		kunit_skip(test, "no pool");
	/* A class with a few objects per zspage, crossing pages. */
	c->size = 3000;
	slot = zsm_size_to_slot(c->size);
	c->nr = zsm_classes.geom[zsm_classes.geom[slot].index].objs;
	KUNIT_ASSERT_LE(test, c->nr, EV_MAX);
	for (i = 0; i < c->nr; i++) {
		unsigned long h = zs_malloc(c->pool, c->size, GFP_KERNEL);

		KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(h));
		c->obj[i].handle = h;
		c->obj[i].crc = ev_fill(c->pool, h, c->size, i);
	}
}

static void ev_teardown(struct ev_ctx *c)
{
	unsigned int i;

	for (i = 0; i < c->nr; i++)
		if (c->obj[i].handle)
			zs_free(c->pool, c->obj[i].handle);
	zs_destroy_pool(c->pool);
}

static void evict_without_handler_is_einval(struct kunit *test)
{
	struct zs_pool *pool = zs_create_pool("zsm_evict_kunit");

	if (!pool)
		kunit_skip(test, "no pool");
	KUNIT_EXPECT_EQ(test, zs_evict_pages(pool, 1), -EINVAL);
	zs_destroy_pool(pool);
}

static void evict_empty_pool_frees_nothing(struct kunit *test)
{
	struct ev_ctx *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, c);
	c->test = test;
	c->pool = zs_create_pool("zsm_evict_kunit");
	if (!c->pool)
		kunit_skip(test, "no pool");
	zs_set_evict_handler(c->pool, ev_handler, c);
	KUNIT_EXPECT_EQ(test, zs_evict_pages(c->pool, 4), 0);
	KUNIT_EXPECT_EQ(test, c->calls, 0U);
	zs_destroy_pool(c->pool);
}

static void evict_failing_handler_keeps_objects(struct kunit *test)
{
	struct ev_ctx *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	long held = atomic_long_read(&zsm_pages_held);
	unsigned long pages;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, c);
	ev_setup(test, c);
	pages = zs_get_total_pages(c->pool);
	zs_set_evict_handler(c->pool, ev_handler, c);

	c->fail = -EIO;
	KUNIT_EXPECT_EQ(test, zs_evict_pages(c->pool, 1), 0);
	KUNIT_EXPECT_EQ(test, c->calls, c->nr);
	KUNIT_EXPECT_EQ(test, zs_get_total_pages(c->pool), pages);
	for (i = 0; i < c->nr; i++)
		KUNIT_EXPECT_EQ(test, ev_crc(c->pool, c->obj[i].handle, c->size),
				c->obj[i].crc);

	/* Filed back: the next try with a working handler empties it. */
	c->fail = 0;
	KUNIT_EXPECT_EQ(test, zs_evict_pages(c->pool, 1), (long)pages);
	KUNIT_EXPECT_EQ(test, zs_get_total_pages(c->pool), 0UL);
	for (i = 0; i < c->nr; i++)
		KUNIT_EXPECT_TRUE(test, c->obj[i].evicted);
	ev_teardown(c);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&zsm_pages_held), held);
}

static void evict_with_concurrent_free(struct kunit *test)
{
	struct ev_ctx *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	long held = atomic_long_read(&zsm_pages_held);
	unsigned long pages;

	KUNIT_ASSERT_NOT_NULL(test, c);
	ev_setup(test, c);
	KUNIT_ASSERT_GE(test, c->nr, 2U);
	pages = zs_get_total_pages(c->pool);
	zs_set_evict_handler(c->pool, ev_handler, c);

	/* The owner frees the others while the zspage is being evicted. */
	c->free_others = true;
	KUNIT_EXPECT_EQ(test, zs_evict_pages(c->pool, 1), (long)pages);
	KUNIT_EXPECT_EQ(test, c->calls, c->nr);
	KUNIT_EXPECT_EQ(test, c->unknown, c->nr - 1);
	KUNIT_EXPECT_EQ(test, zs_get_total_pages(c->pool), 0UL);
	ev_teardown(c);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&zsm_pages_held), held);
}

static void evict_takes_coldest_zspage(struct kunit *test)
{
	struct ev_ctx *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	unsigned long late[4];
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, c);
	ev_setup(test, c);
	/* Newer objects, in another class, one jiffy or more later. */
	schedule_timeout_uninterruptible(2);
	for (i = 0; i < ARRAY_SIZE(late); i++) {
		late[i] = zs_malloc(c->pool, 100, GFP_KERNEL);
		KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(late[i]));
	}
	zs_set_evict_handler(c->pool, ev_handler, c);
	KUNIT_EXPECT_GT(test, zs_evict_pages(c->pool, 1), 0L);
	/* The old zspage went, the new objects were not offered. */
	KUNIT_EXPECT_EQ(test, c->calls, c->nr);
	KUNIT_EXPECT_EQ(test, c->unknown, 0U);
	for (i = 0; i < c->nr; i++)
		KUNIT_EXPECT_TRUE(test, c->obj[i].evicted);
	for (i = 0; i < ARRAY_SIZE(late); i++)
		zs_free(c->pool, late[i]);
	ev_teardown(c);
}

static struct kunit_case zsm_evict_cases[] = {
	KUNIT_CASE(evict_without_handler_is_einval),
	KUNIT_CASE(evict_empty_pool_frees_nothing),
	KUNIT_CASE(evict_failing_handler_keeps_objects),
	KUNIT_CASE(evict_with_concurrent_free),
	KUNIT_CASE(evict_takes_coldest_zspage),
	{}
};

static struct kunit_suite zsm_evict_suite = {
	.name = "zsm_evict",
	.test_cases = zsm_evict_cases,
};

kunit_test_suite(zsm_evict_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests for zsm eviction");
