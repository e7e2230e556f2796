// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite zsm_pool: the <linux/zsmalloc.h> API on real pools.
 *
 * What is verified, and how. Every object is written through a ZS_MM_WO
 * mapping with a byte pattern derived from (handle, size), its CRC32 is kept,
 * and it is checked later through a ZS_MM_RO mapping by the CRC of the
 * mapped bytes; a mismatch is reported with the first wrong byte, the
 * object's class, slot and in-page offset.
 *
 * - every size 1..PAGE_SIZE round-trips, with all 4096 objects alive at once
 *   so that they share zspages (allocate all, then check all, then free);
 * - cross-page objects: for every multi-page class whose objects straddle
 *   page boundaries, three full zspages are allocated and every object is
 *   checked; the in-page offsets (slot * size) % PAGE_SIZE of the checked
 *   objects that cross a boundary must cover all such offsets the class
 *   has (the slot comes from the handle word, see zsm_obj_slot());
 * - ZS_MM_RW maps show the object and write changes back, on both sides of
 *   a page boundary; in copy mode, writes into a ZS_MM_RO map of a
 *   cross-page object are not written back (ro_map_is_not_written_back());
 * - maps nest two deep on a CPU, the inner one from softirq context or from
 *   the same task, and each unmap writes back its own object;
 * - the cases that map objects run in both mapping modes, pte and copy
 *   (zsm_map_set_mode()), and check that cross-page maps really are of the
 *   mode under test; the suite restores the mode it started with;
 * - accounting: zs_get_total_pages() equals the sum over classes of
 *   nr_zspages * pages, allocation packs zspages fully, and after freeing
 *   everything the pool holds no page and zsm_pages_held is back where it
 *   started (this assumes no other zsm pool is active while the suite runs);
 * - error codes of zs_malloc(), and zs_free() of 0 or an error value;
 * - zs_malloc() without __GFP_DIRECT_RECLAIM under a spinlock (succeeds or
 *   fails with -ENOMEM; a sleep would be reported by DEBUG_ATOMIC_SLEEP),
 *   mapping with preemption and BH disabled, zs_free() under a spinlock;
 * - two pools are independent (pages, objects, destruction);
 * - zs_pool_stats() starts at 0 and counts what zs_compact() frees;
 *   compaction keeps object contents.
 *
 * Everything allocated is freed, also when a test aborts: each fixture's
 * KUnit action frees the live objects and destroys the pool (kmemleak runs
 * in the guest).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/crc32.h>
#include <linux/err.h>
#include <linux/hash.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>
#include <linux/zsmalloc.h>

#include "zsm_internal.h"

/* === Fixtures ============================================================ */

/* One object under test. */
struct zsm_obj {
	unsigned long handle;	/* 0 when free */
	unsigned int size;
	u32 seed;		/* pattern seed, from (handle, size) */
	u32 crc;		/* CRC32 of the bytes written */
};

/* A pool and the objects a test allocated from it. */
struct zsm_fx {
	struct kunit *test;
	struct zs_pool *pool;
	struct zsm_obj *objs;
	unsigned int nr;	/* entries of @objs in use (live or freed) */
	unsigned int cap;
	u8 *expect;		/* PAGE_SIZE bytes for mismatch reports */
};

KUNIT_DEFINE_ACTION_WRAPPER(zsm_kvfree, kvfree, const void *);

/* Free what is still allocated and destroy the pool. */
static void zsm_fx_release(void *data)
{
	struct zsm_fx *fx = data;
	unsigned int i;

	if (!fx->pool)
		return;
	for (i = 0; i < fx->nr; i++) {
		if (fx->objs[i].handle)
			zs_free(fx->pool, fx->objs[i].handle);
		fx->objs[i].handle = 0;
	}
	zs_destroy_pool(fx->pool);
	fx->pool = NULL;
}

static struct zsm_fx *zsm_fx_create(struct kunit *test, const char *name,
				    unsigned int cap)
{
	struct zsm_fx *fx;

	fx = kunit_kzalloc(test, sizeof(*fx), GFP_KERNEL);
	if (!fx)
		kunit_skip(test, "cannot allocate the fixture");
	fx->expect = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);
	if (!fx->expect)
		kunit_skip(test, "cannot allocate a buffer");
	fx->objs = kvcalloc(cap, sizeof(*fx->objs), GFP_KERNEL);
	if (!fx->objs)
		kunit_skip(test, "cannot allocate %u object records", cap);
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, zsm_kvfree, fx->objs));
	fx->test = test;
	fx->cap = cap;
	fx->pool = zs_create_pool(name);
	if (!fx->pool)
		kunit_skip(test, "cannot create pool %s", name);
	/* Runs before the arrays above are freed (actions run in reverse). */
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, zsm_fx_release, fx));
	return fx;
}

/* === Object contents ===================================================== */

static u32 zsm_pattern_seed(unsigned long handle, unsigned int size)
{
	return hash_64(handle ^ ((u64)size << 48), 32) | 1;
}

/* xorshift32 bytes: a wrong page or a shifted copy changes them. */
static void zsm_pattern(u8 *buf, unsigned int len, u32 seed)
{
	u32 x = seed;
	unsigned int i;

	for (i = 0; i < len; i++) {
		if (!(i & 3)) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
		}
		buf[i] = x >> ((i & 3) * 8);
	}
}

static u32 zsm_crc(const void *buf, unsigned int len)
{
	return crc32_le(~0U, buf, len);
}

/* Slot index of a live object: its handle word holds the location. */
static unsigned int zsm_obj_slot(unsigned long handle)
{
	return zsm_obj_idx(READ_ONCE(*(unsigned long *)handle));
}

static const struct zsm_geom *zsm_obj_geom(struct zs_pool *pool,
					   unsigned int size)
{
	return &zsm_classes.geom[zs_lookup_class_index(pool, size)];
}

/* Offset of the object's first byte in its page. */
static unsigned int zsm_obj_page_offset(struct zs_pool *pool,
					const struct zsm_obj *o)
{
	const struct zsm_geom *g = zsm_obj_geom(pool, o->size);

	return (unsigned long)zsm_obj_slot(o->handle) * g->size % PAGE_SIZE;
}

static bool zsm_obj_crosses(struct zs_pool *pool, const struct zsm_obj *o)
{
	return zsm_obj_page_offset(pool, o) + o->size > PAGE_SIZE;
}

/*
 * Allocate an object of @size and fill it through a ZS_MM_WO map.
 * Return: its index in fx->objs, or a negative errno from zs_malloc().
 */
static int zsm_fx_alloc(struct zsm_fx *fx, unsigned int size, gfp_t gfp)
{
	struct zsm_obj *o;
	unsigned long h;
	void *buf;

	KUNIT_ASSERT_LT(fx->test, fx->nr, fx->cap);
	h = zs_malloc(fx->pool, size, gfp);
	if (IS_ERR_VALUE(h))
		return (int)(long)h;
	o = &fx->objs[fx->nr];
	o->handle = h;
	o->size = size;
	o->seed = zsm_pattern_seed(h, size);
	buf = zs_map_object(fx->pool, h, ZS_MM_WO);
	if (!buf) {
		/* A live handle must map; may be atomic: no KUNIT_* here. */
		zs_free(fx->pool, h);
		o->handle = 0;
		return -EFAULT;
	}
	zsm_pattern(buf, size, o->seed);
	o->crc = zsm_crc(buf, size);
	zs_unmap_object(fx->pool, h);
	return fx->nr++;
}

static void zsm_fx_free(struct zsm_fx *fx, unsigned int i)
{
	zs_free(fx->pool, fx->objs[i].handle);
	fx->objs[i].handle = 0;
}

/* zs_map_object() of a live handle, in process context: it must map. */
static void *zsm_map(struct kunit *test, struct zs_pool *pool,
		     unsigned long handle, enum zs_mapmode mm)
{
	void *buf = zs_map_object(pool, handle, mm);

	KUNIT_ASSERT_NOT_NULL_MSG(test, buf, "map of handle %lx", handle);
	return buf;
}

/*
 * Check object @i through a ZS_MM_RO map. On a CRC mismatch, fail the test
 * naming the first wrong byte.
 * Return: true if the contents are intact.
 */
static bool zsm_fx_check(struct zsm_fx *fx, unsigned int i)
{
	struct zsm_obj *o = &fx->objs[i];
	unsigned int bad = 0;
	u8 want = 0, got = 0;
	const u8 *buf;
	u32 crc;

	buf = zs_map_object(fx->pool, o->handle, ZS_MM_RO);
	if (!buf) {
		KUNIT_FAIL(fx->test, "object %u size %u: map failed", i,
			   o->size);
		return false;
	}
	crc = zsm_crc(buf, o->size);
	if (crc != o->crc) {
		zsm_pattern(fx->expect, o->size, o->seed);
		while (bad < o->size && buf[bad] == fx->expect[bad])
			bad++;
		if (bad < o->size) {
			want = fx->expect[bad];
			got = buf[bad];
		}
	}
	zs_unmap_object(fx->pool, o->handle);
	if (crc == o->crc)
		return true;

	KUNIT_FAIL(fx->test,
		   "object %u size %u (class %u, slot %u, page offset %u): crc %08x != %08x, first bad byte %u: %02x != %02x",
		   i, o->size, zs_lookup_class_index(fx->pool, o->size),
		   zsm_obj_slot(o->handle), zsm_obj_page_offset(fx->pool, o),
		   crc, o->crc, bad, got, want);
	return false;
}

/* A class's counters, read under its lock. */
static void zsm_class_counts(struct zsm_class *class, unsigned long *zspages,
			     unsigned long *inuse)
{
	spin_lock(&class->lock);
	*zspages = class->nr_zspages;
	*inuse = class->objs_inuse;
	spin_unlock(&class->lock);
}

/*
 * The first canonical class (from size @min_size up) whose objects cross
 * page boundaries: several pages per zspage, size not dividing PAGE_SIZE.
 * Return: its index, or ZSM_NR_CLASSES if there is none.
 */
static unsigned int zsm_crossing_class(unsigned int from,
				       unsigned int min_size)
{
	unsigned int i;

	for (i = from; i < ZSM_NR_CLASSES; i++) {
		const struct zsm_geom *g = &zsm_classes.geom[i];

		if (g->index == i && !g->huge && g->pages > 1 &&
		    PAGE_SIZE % g->size && g->size >= min_size)
			return i;
	}
	return ZSM_NR_CLASSES;
}

/* === Map modes =========================================================== */

/*
 * zsm maps a cross-page object either through per-CPU PTEs ("pte", the
 * object's own pages seen through a vmalloc-space window) or through a
 * per-CPU copy ("copy"). Tests of mapping run in both modes: they switch
 * with zsm_map_set_mode(), and the suite puts back the mode it found.
 */
static const bool zsm_map_modes[] = { false, true };

static void zsm_map_mode_desc(const bool *pte, char *desc)
{
	strscpy(desc, *pte ? "pte" : "copy", KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(zsm_map_mode, zsm_map_modes, zsm_map_mode_desc);

/* Mode found at suite start: probed, as zsm exports no getter for it. */
static bool zsm_suite_pte;

static void zsm_set_map_mode(struct kunit *test, bool pte)
{
	int ret = zsm_map_set_mode(pte);

	if (ret == -EOPNOTSUPP)
		kunit_skip(test, "%s mode is not possible here",
			   pte ? "pte" : "copy");
	KUNIT_ASSERT_EQ(test, ret, 0);
}

/* For a case run with zsm_map_mode_gen_params: switch to its mode. */
static bool zsm_param_map_mode(struct kunit *test)
{
	bool pte = *(const bool *)test->param_value;

	zsm_set_map_mode(test, pte);
	return pte;
}

/* A cross-page map is a pte window iff it lies in vmalloc space. */
static bool zsm_map_is_pte(const void *addr)
{
	return is_vmalloc_addr(addr);
}

/* === Round trips ========================================================= */

static void every_size_round_trips(struct kunit *test)
{
	struct zsm_fx *fx = zsm_fx_create(test, "zsm_kunit_sizes", PAGE_SIZE);
	unsigned int size, i, crossing = 0;

	zsm_param_map_mode(test);

	for (size = 1; size <= PAGE_SIZE; size++) {
		int ret = zsm_fx_alloc(fx, size, GFP_KERNEL);

		KUNIT_ASSERT_GE_MSG(test, ret, 0, "zs_malloc(%u)", size);
		if (!(size % 64))
			cond_resched();
	}
	for (i = 0; i < fx->nr; i++) {
		if (zsm_fx_check(fx, i) && zsm_obj_crosses(fx->pool, &fx->objs[i]))
			crossing++;
		if (!(i % 64))
			cond_resched();
	}
	kunit_info(test, "%u objects checked, %u of them cross a page boundary\n",
		   fx->nr, crossing);
	KUNIT_EXPECT_GT(test, crossing, 0);
	for (i = 0; i < fx->nr; i++)
		zsm_fx_free(fx, i);
	KUNIT_EXPECT_EQ(test, zs_get_total_pages(fx->pool), 0);
}

#define ZSM_SPLIT_ZSPAGES	3
#define ZSM_OFFSET_BITS		(PAGE_SIZE / ZSM_ALIGN)

/*
 * For one class, the in-page offsets at which an object starts and crosses
 * into the next page. Example, size 1168, 2 pages, 7 objects:
 *
 *   |      page 0       |      page 1       |
 *   | 0  | 1  | 2  | 3 ~~ | 4  | 5  | 6  |  |
 *                    ^ slot 3 starts at 3504 and crosses: offset 3504
 */
static unsigned int zsm_split_offsets(const struct zsm_geom *g,
				      unsigned long *offsets)
{
	unsigned int idx;

	bitmap_zero(offsets, ZSM_OFFSET_BITS);
	for (idx = 0; idx < g->objs; idx++) {
		unsigned int off = (unsigned long)idx * g->size % PAGE_SIZE;

		if (off + g->size > PAGE_SIZE)
			__set_bit(off / ZSM_ALIGN, offsets);
	}
	return bitmap_weight(offsets, ZSM_OFFSET_BITS);
}

static void cross_page_split_points(struct kunit *test)
{
	DECLARE_BITMAP(want, ZSM_OFFSET_BITS);
	DECLARE_BITMAP(seen, ZSM_OFFSET_BITS);
	unsigned int cap = ZSM_SPLIT_ZSPAGES * ZSM_MAX_OBJS_PER_ZSPAGE;
	struct zsm_fx *fx = zsm_fx_create(test, "zsm_kunit_split", cap);
	unsigned int ci, classes = 0, splits = 0, wrong_mode = 0;
	bool pte = zsm_param_map_mode(test);

	for (ci = zsm_crossing_class(0, 0); ci < ZSM_NR_CLASSES;
	     ci = zsm_crossing_class(ci + 1, 0)) {
		const struct zsm_geom *g = &zsm_classes.geom[ci];
		unsigned int n = ZSM_SPLIT_ZSPAGES * g->objs;
		unsigned long zspages, inuse;
		unsigned int i, nsplit;

		nsplit = zsm_split_offsets(g, want);
		bitmap_zero(seen, ZSM_OFFSET_BITS);
		fx->nr = 0;
		/* The class is empty: @n objects fill exactly @n / objs zspages. */
		for (i = 0; i < n; i++) {
			int ret = zsm_fx_alloc(fx, g->size, GFP_KERNEL);

			KUNIT_ASSERT_GE_MSG(test, ret, 0, "class %u size %u",
					    ci, g->size);
			KUNIT_ASSERT_LT_MSG(test, zsm_obj_slot(fx->objs[i].handle),
					    g->objs, "class %u size %u", ci,
					    g->size);
		}
		zsm_class_counts(zsm_pool(fx->pool)->classes[ci], &zspages, &inuse);
		KUNIT_EXPECT_EQ_MSG(test, zspages, ZSM_SPLIT_ZSPAGES,
				    "class %u size %u", ci, g->size);
		for (i = 0; i < n; i++) {
			struct zsm_obj *o = &fx->objs[i];
			void *buf;

			if (!zsm_fx_check(fx, i) || !zsm_obj_crosses(fx->pool, o))
				continue;
			__set_bit(zsm_obj_page_offset(fx->pool, o) / ZSM_ALIGN,
				  seen);
			/* The map really is of the mode under test. */
			buf = zsm_map(test, fx->pool, o->handle, ZS_MM_RO);
			if (zsm_map_is_pte(buf) != pte)
				wrong_mode++;
			zs_unmap_object(fx->pool, o->handle);
		}
		KUNIT_EXPECT_GT_MSG(test, nsplit, 0, "class %u size %u", ci,
				    g->size);
		KUNIT_EXPECT_TRUE_MSG(test,
				      bitmap_equal(want, seen, ZSM_OFFSET_BITS),
				      "class %u size %u: %u of %u split offsets round-tripped",
				      ci, g->size,
				      bitmap_weight(seen, ZSM_OFFSET_BITS),
				      nsplit);
		for (i = 0; i < n; i++)
			zsm_fx_free(fx, i);
		fx->nr = 0;
		classes++;
		splits += nsplit;
		cond_resched();
	}
	kunit_info(test, "%u classes, %u split offsets checked\n", classes,
		   splits);
	KUNIT_EXPECT_GT(test, classes, 0);
	KUNIT_EXPECT_EQ_MSG(test, wrong_mode, 0,
			    "cross-page maps not in %s mode",
			    pte ? "pte" : "copy");
	KUNIT_EXPECT_EQ(test, zs_get_total_pages(fx->pool), 0);
}

/* === Map modes =========================================================== */

/*
 * Fill one zspage of a class whose objects cross pages, from an empty
 * class, and return one object that crosses a page boundary (*@cross) and
 * one that lies inside a page (*@inpage).
 */
static void zsm_fx_cross_and_inpage(struct kunit *test, struct zsm_fx *fx,
				    unsigned int *cross, unsigned int *inpage)
{
	unsigned int ci = zsm_crossing_class(0, 256);
	const struct zsm_geom *g;
	unsigned int i;

	if (ci == ZSM_NR_CLASSES)
		ci = zsm_crossing_class(0, 0);
	KUNIT_ASSERT_LT(test, ci, ZSM_NR_CLASSES);
	g = &zsm_classes.geom[ci];
	*cross = *inpage = UINT_MAX;
	for (i = 0; i < g->objs; i++) {
		int ret = zsm_fx_alloc(fx, g->size, GFP_KERNEL);

		KUNIT_ASSERT_GE_MSG(test, ret, 0, "class %u size %u", ci,
				    g->size);
		if (zsm_obj_crosses(fx->pool, &fx->objs[ret]))
			*cross = ret;
		else
			*inpage = ret;
	}
	KUNIT_ASSERT_NE_MSG(test, *cross, UINT_MAX, "class %u size %u", ci,
			    g->size);
	KUNIT_ASSERT_NE_MSG(test, *inpage, UINT_MAX, "class %u size %u", ci,
			    g->size);
}

/*
 * Map object @i ZS_MM_RW: it must show the current bytes @exp; flip bytes
 * around the page boundary (or the middle of an in-page object) and at both
 * ends; after unmap a ZS_MM_RO map must show the changes.
 */
static void zsm_rw_one(struct kunit *test, struct zsm_fx *fx, unsigned int i,
		       u8 *exp)
{
	struct zsm_obj *o = &fx->objs[i];
	unsigned int off = zsm_obj_page_offset(fx->pool, o);
	unsigned int mid = off + o->size > PAGE_SIZE ? PAGE_SIZE - off :
		o->size / 2;
	unsigned int from = mid > 24 ? mid - 24 : 0;
	unsigned int to = min(mid + 24, o->size);
	bool before, after;
	unsigned int k;
	u8 *buf;

	zsm_pattern(exp, o->size, o->seed);
	for (k = from; k < to; k++)
		exp[k] = ~exp[k] ^ k;
	exp[0] ^= 0xff;
	exp[o->size - 1] ^= 0xff;

	buf = zsm_map(test, fx->pool, o->handle, ZS_MM_RW);
	before = zsm_crc(buf, o->size) == o->crc;
	for (k = from; k < to; k++)
		buf[k] = ~buf[k] ^ k;
	buf[0] ^= 0xff;
	buf[o->size - 1] ^= 0xff;
	zs_unmap_object(fx->pool, o->handle);

	buf = zsm_map(test, fx->pool, o->handle, ZS_MM_RO);
	after = !memcmp(buf, exp, o->size);
	zs_unmap_object(fx->pool, o->handle);

	KUNIT_EXPECT_TRUE_MSG(test, before,
			      "RW map of size %u at page offset %u: wrong bytes",
			      o->size, off);
	KUNIT_EXPECT_TRUE_MSG(test, after,
			      "RW changes of size %u at page offset %u (bytes %u..%u) lost",
			      o->size, off, from, to);
	o->crc = zsm_crc(exp, o->size);
}

static void rw_map_writes_back(struct kunit *test)
{
	struct zsm_fx *fx = zsm_fx_create(test, "zsm_kunit_rw",
					  ZSM_MAX_OBJS_PER_ZSPAGE);
	unsigned int cross, inpage, i;
	u8 *exp = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);

	if (!exp)
		kunit_skip(test, "cannot allocate a buffer");
	zsm_param_map_mode(test);
	zsm_fx_cross_and_inpage(test, fx, &cross, &inpage);
	zsm_rw_one(test, fx, cross, exp);
	zsm_rw_one(test, fx, inpage, exp);
	/* The neighbours of the two objects are untouched. */
	for (i = 0; i < fx->nr; i++)
		zsm_fx_check(fx, i);
}

/*
 * Writing into a ZS_MM_RO map is a caller bug. zsm tolerates it: for an
 * object inside one page, and in pte mode for every object, the map is the
 * object itself and the write lands; but in copy mode a cross-page object
 * is mapped through a per-CPU copy that ZS_MM_RO does not copy back at
 * unmap, so the object keeps its contents. Only that case is specified, and
 * checked here, in copy mode.
 */
static void ro_map_is_not_written_back(struct kunit *test)
{
	struct zsm_fx *fx = zsm_fx_create(test, "zsm_kunit_ro",
					  ZSM_MAX_OBJS_PER_ZSPAGE);
	unsigned int cross, inpage;
	struct zsm_obj *o;
	void *buf;

	zsm_set_map_mode(test, false);
	zsm_fx_cross_and_inpage(test, fx, &cross, &inpage);
	o = &fx->objs[cross];
	buf = zsm_map(test, fx->pool, o->handle, ZS_MM_RO);
	memset(buf, 0xa5, o->size);
	zs_unmap_object(fx->pool, o->handle);
	KUNIT_EXPECT_TRUE_MSG(test, zsm_fx_check(fx, cross),
			      "RO map of size %u at page offset %u written back",
			      o->size, zsm_obj_page_offset(fx->pool, o));
}

/*
 * Maps nest two deep on a CPU. Two cross-page objects of one zspage are
 * mapped RW, the inner one either from softirq context (an interrupt
 * mapping while the interrupted task holds a map: @inner_bh) or from the
 * same task (a copy from one object to another). The inner map must not
 * disturb the outer one, and unmaps in reverse order write each back.
 */
static void zsm_nested_maps(struct kunit *test, bool inner_bh)
{
	struct zsm_fx *fx = zsm_fx_create(test, "zsm_kunit_nest",
					  ZSM_MAX_OBJS_PER_ZSPAGE);
	unsigned int cross, inpage, other = UINT_MAX, i;
	struct zsm_obj *a, *b;
	bool a_ok, b_ok;
	u8 *pa, *pb;

	zsm_param_map_mode(test);
	zsm_fx_cross_and_inpage(test, fx, &cross, &inpage);
	for (i = 0; i < fx->nr; i++) {
		if (i != cross && zsm_obj_crosses(fx->pool, &fx->objs[i]))
			other = i;
	}
	KUNIT_ASSERT_NE(test, other, UINT_MAX);
	a = &fx->objs[cross];
	b = &fx->objs[other];

	pa = zsm_map(test, fx->pool, a->handle, ZS_MM_RW);
	if (inner_bh)
		local_bh_disable();
	pb = zsm_map(test, fx->pool, b->handle, ZS_MM_RW);
	a_ok = zsm_crc(pa, a->size) == a->crc;
	b_ok = zsm_crc(pb, b->size) == b->crc;
	memset(pb, 0x3c, b->size);
	zs_unmap_object(fx->pool, b->handle);
	if (inner_bh)
		local_bh_enable();
	a_ok = a_ok && zsm_crc(pa, a->size) == a->crc;
	memset(pa, 0xc3, a->size);
	zs_unmap_object(fx->pool, a->handle);

	KUNIT_EXPECT_TRUE_MSG(test, a_ok, "outer map of size %u at %u",
			      a->size, zsm_obj_page_offset(fx->pool, a));
	KUNIT_EXPECT_TRUE_MSG(test, b_ok, "inner map of size %u at %u",
			      b->size, zsm_obj_page_offset(fx->pool, b));
	memset(fx->expect, 0xc3, a->size);
	a->crc = zsm_crc(fx->expect, a->size);
	memset(fx->expect, 0x3c, b->size);
	b->crc = zsm_crc(fx->expect, b->size);
	for (i = 0; i < fx->nr; i++)
		zsm_fx_check(fx, i);
}

static void nested_maps_in_softirq(struct kunit *test)
{
	zsm_nested_maps(test, true);
}

/*
 * Both maps from one task. The suite runs this case last: a lockdep
 * report turns lockdep off for everything after it.
 */
static void nested_maps_in_task(struct kunit *test)
{
	zsm_nested_maps(test, false);
}

/* === Accounting ========================================================== */

/*
 * zs_get_total_pages() against the classes' own counts, read under each
 * class lock; with @packed (nothing freed yet), every class must have only
 * as many zspages as its objects need.
 */
static void zsm_check_accounting(struct kunit *test, struct zs_pool *pool,
				 bool packed)
{
	unsigned long sum = 0, total;
	unsigned int i;

	for (i = 0; i < ZSM_NR_CLASSES; i++) {
		struct zsm_class *class = zsm_pool(pool)->classes[i];
		unsigned long zspages, inuse, pages;

		if (!class)
			continue;
		zsm_class_counts(class, &zspages, &inuse);
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
	total = zs_get_total_pages(pool);
	KUNIT_EXPECT_EQ(test, total, sum);
}

static void total_pages_match_classes(struct kunit *test)
{
	unsigned long held0 = atomic_long_read(&zsm_pages_held);
	unsigned long *count;
	struct zsm_fx *fx;
	unsigned int size, i;

	count = kunit_kcalloc(test, ZSM_NR_CLASSES, sizeof(*count), GFP_KERNEL);
	if (!count)
		kunit_skip(test, "cannot allocate counters");
	fx = zsm_fx_create(test, "zsm_kunit_acct", 4096);

	/* 1..5 objects of sizes 1, 20, 39, ...: most classes, some shared. */
	for (size = 1; size <= PAGE_SIZE; size += 19) {
		unsigned int k;

		for (k = 0; k <= size % 5; k++) {
			int ret = zsm_fx_alloc(fx, size, GFP_KERNEL);

			KUNIT_ASSERT_GE_MSG(test, ret, 0, "size %u", size);
			count[zs_lookup_class_index(fx->pool, size)]++;
		}
	}
	for (i = 0; i < ZSM_NR_CLASSES; i++) {
		unsigned long zspages, inuse;

		if (!zsm_pool(fx->pool)->classes[i])
			continue;
		zsm_class_counts(zsm_pool(fx->pool)->classes[i], &zspages, &inuse);
		KUNIT_EXPECT_EQ_MSG(test, inuse, count[i], "class %u", i);
	}
	KUNIT_EXPECT_GT(test, zs_get_total_pages(fx->pool), 0);
	zsm_check_accounting(test, fx->pool, true);

	/* Free every other object: partly used zspages in every class. */
	for (i = 0; i < fx->nr; i += 2)
		zsm_fx_free(fx, i);
	zsm_check_accounting(test, fx->pool, false);
	for (i = 1; i < fx->nr; i += 2)
		zsm_fx_check(fx, i);

	for (i = 1; i < fx->nr; i += 2)
		zsm_fx_free(fx, i);
	/* A zspage whose page was locked (migration) is freed by a worker. */
	flush_work(&zsm_pool(fx->pool)->free_work);
	KUNIT_EXPECT_EQ(test, zs_get_total_pages(fx->pool), 0);
	zsm_check_accounting(test, fx->pool, true);
	for (i = 0; i < ZSM_NR_CLASSES; i++) {
		unsigned long zspages, inuse;

		if (!zsm_pool(fx->pool)->classes[i])
			continue;
		zsm_class_counts(zsm_pool(fx->pool)->classes[i], &zspages, &inuse);
		KUNIT_EXPECT_EQ_MSG(test, inuse, 0, "class %u", i);
		KUNIT_EXPECT_EQ_MSG(test, zspages, 0, "class %u", i);
	}
	KUNIT_EXPECT_EQ_MSG(test, atomic_long_read(&zsm_pages_held), held0,
			    "an empty pool still holds pages");

	zsm_fx_release(fx);
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
	unsigned int ci = zsm_crossing_class(0, 1024), k;
	const struct zsm_geom *g;
	struct zsm_fx *fx;

	if (ci == ZSM_NR_CLASSES)
		kunit_skip(test, "no class with objects crossing pages");
	g = &zsm_classes.geom[ci];
	fx = zsm_fx_create(test, "zsm_kunit_lazy", 2 * g->objs);
	for (k = 1; k <= 2 * g->objs; k++) {
		unsigned int in_zspage = (k - 1) % g->objs + 1;
		unsigned long want = (k - 1) / g->objs * g->pages +
			DIV_ROUND_UP(in_zspage * g->size, PAGE_SIZE);

		KUNIT_ASSERT_GE(test, zsm_fx_alloc(fx, g->size, GFP_KERNEL), 0);
		KUNIT_ASSERT_EQ_MSG(test, zs_get_total_pages(fx->pool), want,
				    "class size %u, %u objects of %u per zspage",
				    g->size, k, g->objs);
	}
	/* Emptying the first zspage frees its chain, whole. */
	for (k = 0; k < g->objs; k++)
		zsm_fx_free(fx, k);
	flush_work(&zsm_pool(fx->pool)->free_work);
	KUNIT_EXPECT_EQ(test, zs_get_total_pages(fx->pool),
			(unsigned long)g->pages);
	for (k = g->objs; k < 2 * g->objs; k++)
		KUNIT_EXPECT_TRUE(test, zsm_fx_check(fx, k));
	zsm_check_accounting(test, fx->pool, true);
}

/* === Errors ============================================================== */

static void malloc_error_codes(struct kunit *test)
{
	struct zsm_fx *fx = zsm_fx_create(test, "zsm_kunit_err", 1);
	unsigned long h;

	h = zs_malloc(fx->pool, 0, GFP_KERNEL);
	KUNIT_EXPECT_TRUE(test, IS_ERR_VALUE(h));
	KUNIT_EXPECT_EQ(test, h, (unsigned long)ERR_PTR(-EINVAL));

	h = zs_malloc(fx->pool, PAGE_SIZE + 1, GFP_KERNEL);
	KUNIT_EXPECT_TRUE(test, IS_ERR_VALUE(h));
	KUNIT_EXPECT_EQ(test, h, (unsigned long)ERR_PTR(-ENOSPC));

	h = zs_malloc(fx->pool, SIZE_MAX, GFP_KERNEL);
	KUNIT_EXPECT_EQ(test, h, (unsigned long)ERR_PTR(-ENOSPC));

	KUNIT_EXPECT_EQ(test, zs_get_total_pages(fx->pool), 0);

	/* No-ops, as in zsmalloc: zs_free() ignores IS_ERR_OR_NULL handles. */
	zs_free(fx->pool, 0);
	zs_free(fx->pool, (unsigned long)ERR_PTR(-ENOMEM));

	/* The pool still works. */
	KUNIT_ASSERT_GE(test, zsm_fx_alloc(fx, PAGE_SIZE, GFP_KERNEL), 0);
	KUNIT_EXPECT_TRUE(test, zsm_fx_check(fx, 0));
	zsm_fx_free(fx, 0);
	KUNIT_EXPECT_EQ(test, zs_get_total_pages(fx->pool), 0);
}

/* === Atomic context ====================================================== */

static DEFINE_SPINLOCK(zsm_test_lock);

#define ZSM_ATOMIC_ROUNDS	8

static void atomic_context_alloc_and_map(struct kunit *test)
{
	/* zram's first attempt, under its per-CPU stream, and GFP_NOWAIT. */
	const gfp_t gfps[] = {
		__GFP_KSWAPD_RECLAIM | __GFP_NOWARN | __GFP_HIGHMEM |
			__GFP_MOVABLE,
		GFP_NOWAIT | __GFP_NOWARN,
	};
	unsigned int sizes[] = { 1, 100, 700, 2100, 3000, 0, PAGE_SIZE };
	unsigned int cap = ARRAY_SIZE(gfps) * ARRAY_SIZE(sizes) *
			   ZSM_ATOMIC_ROUNDS;
	struct zsm_fx *fx = zsm_fx_create(test, "zsm_kunit_atomic", cap);
	unsigned int g, s, r, i, nomem = 0, intact = 0;
	int bad = 0;

	zsm_param_map_mode(test);
	sizes[5] = zs_huge_class_size(fx->pool);
	for (g = 0; g < ARRAY_SIZE(gfps); g++) {
		for (s = 0; s < ARRAY_SIZE(sizes); s++) {
			for (r = 0; r < ZSM_ATOMIC_ROUNDS; r++) {
				int ret;

				spin_lock(&zsm_test_lock);
				ret = zsm_fx_alloc(fx, sizes[s], gfps[g]);
				spin_unlock(&zsm_test_lock);
				if (ret == -ENOMEM)
					nomem++;
				else if (ret < 0 && !bad)
					bad = ret;
			}
		}
	}
	KUNIT_EXPECT_EQ_MSG(test, bad, 0, "zs_malloc() without reclaim");
	kunit_info(test, "%u allocated, %u -ENOMEM\n", fx->nr, nomem);

	preempt_disable();
	for (i = 0; i < fx->nr; i++) {
		struct zsm_obj *o = &fx->objs[i];
		void *buf = zs_map_object(fx->pool, o->handle, ZS_MM_RO);

		if (!buf)
			continue;
		if (zsm_crc(buf, o->size) == o->crc)
			intact++;
		zs_unmap_object(fx->pool, o->handle);
	}
	preempt_enable();
	KUNIT_EXPECT_EQ_MSG(test, intact, fx->nr,
			    "objects intact, mapped with preemption off");

	local_bh_disable();
	for (i = 0; i < fx->nr; i++) {
		struct zsm_obj *o = &fx->objs[i];
		u8 *buf = zs_map_object(fx->pool, o->handle, ZS_MM_RW);

		if (!buf)
			continue;	/* zsm_fx_check() below reports it */
		buf[0] ^= 0x5a;
		buf[o->size - 1] ^= 0xa5;
		o->crc = zsm_crc(buf, o->size);
		zs_unmap_object(fx->pool, o->handle);
	}
	local_bh_enable();
	for (i = 0; i < fx->nr; i++)
		zsm_fx_check(fx, i);

	spin_lock(&zsm_test_lock);
	for (i = 0; i < fx->nr; i++)
		zsm_fx_free(fx, i);
	spin_unlock(&zsm_test_lock);
	KUNIT_EXPECT_EQ(test, zs_get_total_pages(fx->pool), 0);
}

/* === Pools =============================================================== */

static void pools_are_independent(struct kunit *test)
{
	struct zsm_fx *a = zsm_fx_create(test, "zsm_kunit_a", 512);
	struct zsm_fx *b = zsm_fx_create(test, "zsm_kunit_b", 512);
	unsigned long pages_a, pages_b;
	unsigned int size, i;

	for (size = 24; size <= PAGE_SIZE; size += 97) {
		KUNIT_ASSERT_GE(test, zsm_fx_alloc(a, size, GFP_KERNEL), 0);
		KUNIT_ASSERT_GE(test, zsm_fx_alloc(a, size, GFP_KERNEL), 0);
	}
	pages_a = zs_get_total_pages(a->pool);
	KUNIT_EXPECT_GT(test, pages_a, 0);
	KUNIT_EXPECT_EQ(test, zs_get_total_pages(b->pool), 0);

	/* The same sequence in B gives the same pages, without touching A. */
	for (i = 0; i < a->nr; i++)
		KUNIT_ASSERT_GE(test,
				zsm_fx_alloc(b, a->objs[i].size, GFP_KERNEL), 0);
	pages_b = zs_get_total_pages(b->pool);
	KUNIT_EXPECT_EQ(test, pages_b, pages_a);
	KUNIT_EXPECT_EQ(test, zs_get_total_pages(a->pool), pages_a);
	for (i = 0; i < a->nr; i++)
		KUNIT_EXPECT_NE(test, a->objs[i].handle, b->objs[i].handle);

	for (i = 0; i < b->nr; i++)
		zsm_fx_check(b, i);
	for (i = 0; i < b->nr; i++)
		zsm_fx_free(b, i);
	KUNIT_EXPECT_EQ(test, zs_get_total_pages(b->pool), 0);
	zsm_fx_release(b);

	KUNIT_EXPECT_EQ(test, zs_get_total_pages(a->pool), pages_a);
	for (i = 0; i < a->nr; i++)
		zsm_fx_check(a, i);
	for (i = 0; i < a->nr; i++)
		zsm_fx_free(a, i);
	KUNIT_EXPECT_EQ(test, zs_get_total_pages(a->pool), 0);
}

/* === Statistics and compaction =========================================== */

#define ZSM_COMPACT_ZSPAGES	8

static void pool_stats_count_compaction(struct kunit *test)
{
	unsigned int ci = zsm_crossing_class(0, 256);
	struct zs_pool_stats stats;
	const struct zsm_geom *g;
	unsigned long before, after, freed;
	struct zsm_fx *fx;
	unsigned int n, i;

	if (ci == ZSM_NR_CLASSES)
		ci = zsm_crossing_class(0, 0);
	KUNIT_ASSERT_LT(test, ci, ZSM_NR_CLASSES);
	g = &zsm_classes.geom[ci];
	n = ZSM_COMPACT_ZSPAGES * g->objs;
	fx = zsm_fx_create(test, "zsm_kunit_stats", n);

	memset(&stats, 0xff, sizeof(stats));
	zs_pool_stats(fx->pool, &stats);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&stats.pages_compacted), 0);

	for (i = 0; i < n; i++)
		KUNIT_ASSERT_GE(test, zsm_fx_alloc(fx, g->size, GFP_KERNEL), 0);
	/* Keep one object in four: every zspage a quarter full. */
	for (i = 0; i < n; i++)
		if (i % 4)
			zsm_fx_free(fx, i);
	before = zs_get_total_pages(fx->pool);
	freed = zs_compact(fx->pool);
	after = zs_get_total_pages(fx->pool);
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
		zsm_fx_check(fx, i);
	for (i = 0; i < n; i += 4)
		zsm_fx_free(fx, i);
	KUNIT_EXPECT_EQ(test, zs_get_total_pages(fx->pool), 0);
}

/* === Suite =============================================================== */

static struct kunit_case zsm_pool_cases[] = {
	KUNIT_CASE_PARAM(every_size_round_trips, zsm_map_mode_gen_params),
	KUNIT_CASE_PARAM(cross_page_split_points, zsm_map_mode_gen_params),
	KUNIT_CASE_PARAM(rw_map_writes_back, zsm_map_mode_gen_params),
	KUNIT_CASE(ro_map_is_not_written_back),
	KUNIT_CASE_PARAM(nested_maps_in_softirq, zsm_map_mode_gen_params),
	KUNIT_CASE(total_pages_match_classes),
	KUNIT_CASE(zspages_populate_lazily),
	KUNIT_CASE(malloc_error_codes),
	KUNIT_CASE_PARAM(atomic_context_alloc_and_map, zsm_map_mode_gen_params),
	KUNIT_CASE(pools_are_independent),
	KUNIT_CASE(pool_stats_count_compaction),
	KUNIT_CASE_PARAM(nested_maps_in_task, zsm_map_mode_gen_params),
	{}
};

/*
 * Probe the mapping mode in use: map an object that crosses a page in a
 * scratch pool and see where the map lies.
 */
static int zsm_pool_suite_init(struct kunit_suite *suite)
{
	unsigned int ci = zsm_crossing_class(0, 0);
	const struct zsm_geom *g;
	unsigned long *h;
	struct zs_pool *pool;
	unsigned int i, n = 0;
	int ret = -ENOENT;

	if (ci == ZSM_NR_CLASSES)
		return -ENOENT;
	g = &zsm_classes.geom[ci];
	h = kcalloc(g->objs, sizeof(*h), GFP_KERNEL);
	pool = zs_create_pool("zsm_kunit_probe");
	if (!h || !pool) {
		ret = -ENOMEM;
		goto out;
	}
	for (n = 0; n < g->objs; n++) {
		unsigned int off;
		void *buf;

		h[n] = zs_malloc(pool, g->size, GFP_KERNEL);
		if (IS_ERR_VALUE(h[n])) {
			ret = (int)(long)h[n];
			h[n] = 0;
			break;
		}
		off = (unsigned long)zsm_obj_slot(h[n]) * g->size % PAGE_SIZE;
		if (off + g->size <= PAGE_SIZE)
			continue;
		buf = zs_map_object(pool, h[n], ZS_MM_RO);
		n++;
		if (!buf) {
			ret = -EFAULT;
			break;
		}
		zsm_suite_pte = zsm_map_is_pte(buf);
		zs_unmap_object(pool, h[n - 1]);
		ret = 0;
		break;
	}
out:
	for (i = 0; i < n; i++)
		zs_free(pool, h[i]);
	zs_destroy_pool(pool);
	kfree(h);
	if (!ret)
		pr_info("map mode at suite start: %s\n",
			zsm_suite_pte ? "pte" : "copy");
	return ret;
}

static void zsm_pool_suite_exit(struct kunit_suite *suite)
{
	zsm_map_set_mode(zsm_suite_pte);
}

static struct kunit_suite zsm_pool_suite = {
	.name = "zsm_pool",
	.suite_init = zsm_pool_suite_init,
	.suite_exit = zsm_pool_suite_exit,
	.test_cases = zsm_pool_cases,
};

kunit_test_suite(zsm_pool_suite);
