// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite zsm_map: mapping objects with zs_map_object()/zs_unmap_object()
 * and the zs_obj_read_begin()/zs_obj_write() calls, in both ways zsm maps a
 * cross-page object (zsm_map.c): "pte" (the object's two pages seen through a
 * per-CPU two-page window in vmalloc space) and "copy" (a per-CPU buffer).
 *
 * What is verified, and how. Every case runs once per mode (parameter "pte",
 * then "copy"), switched with zsm_map_set_mode(); pte is skipped where zsm
 * says it is impossible, and every case puts back the mode the suite found.
 * Object bytes are checked against an independent path: the test reads and
 * writes an object's bytes itself, from its zspage's pages with
 * kmap_local_page() under the zspage's read lock (zmt_peek()/zmt_poke()), so
 * a map that round-trips its own mistakes (wrong page, wrong offset) is
 * still caught. Contents and checksums are those of every zsm test
 * (zsm_tu_fill(), zsm_tu_csum() in tests/zsm_test_util.h, whose pool fixture
 * the suite uses); a mismatch names the first wrong byte, the slot and the
 * in-page offset.
 *
 * - Every canonical class: objects of the class size are allocated until one
 *   crosses a page boundary (if the class has such slots), each written
 *   through ZS_MM_WO and read back through ZS_MM_RO (checksum of the
 *   mapped bytes) and compared with the stored bytes. The address a map returns is
 *   checked too: in-page objects are mapped where they are (page_address +
 *   offset); cross-page objects in pte mode are in vmalloc space at the
 *   object's in-page offset, in copy mode they are not in vmalloc space.
 * - Split points: for every multi-page class whose objects cross pages, one
 *   full zspage; every cross-page object is read (RO) and rewritten (WO);
 *   the distinct in-page start offsets of cross-page objects checked are
 *   counted and must equal those the class geometry has; all neighbours
 *   stay intact. Consecutive maps reuse the same window in pte mode, so a
 *   stale TLB entry from the previous object would show here.
 * - RO/WO/RW: WO contents land; RW shows the object and a partial change
 *   around the page boundary keeps the rest; RO shows the current bytes. A
 *   write through an RO map of a cross-page object is not written back in
 *   copy mode (a copy taken at map time); in pte mode the RO map is the
 *   object itself, so a change made to the pages during the map is seen.
 * - Contexts: maps from a task, from softirq (a soft hrtimer), with hard
 *   IRQs disabled, and a softirq map nested inside a task's map on the same
 *   CPU (the task busy-waits with the map held until the timer has run).
 * - Nesting: two nested maps of different objects (cross/in-page in all
 *   four combinations in different zspages, and two objects of one
 *   zspage) both show the right bytes and write back on reverse-order
 *   unmaps; a third nested map returns NULL and an unmap of a handle that
 *   is not the last mapped is ignored, each with one warning (fenced with
 *   zsm-expect-warn-begin/-end lines for the runner; zsm warns once per
 *   load, so only the first run of each case is fenced: the suite expects a
 *   freshly loaded zsm.ko). After every unmap the zspage must be unlocked
 *   (a writer's trylock succeeds). The inner maps run with BH disabled (as
 *   an interrupt would nest), except in the two *_in_task cases, run last:
 *   two maps from plain task context.
 * - The 6.15 read/write API against map/unmap: zs_obj_write() then an RO
 *   map; a WO map then zs_obj_read_begin()/end(); a partial zs_obj_write();
 *   for an in-page and a cross-page object.
 * - Compaction against a held map: zs_compact() on another CPU while the
 *   task holds (preemption off) a map of the only object of the emptiest
 *   zspage must neither move the object nor wait for the map; after the
 *   unmap it moves the object, whose bytes are intact.
 * - A mode switch while a map is live: the unmap follows the mode the map
 *   was made with.
 * - Through the public API alone (zs_malloc() writes through a ZS_MM_WO map,
 *   checks through ZS_MM_RO): every size 1..PAGE_SIZE round-trips with all
 *   4096 objects alive at once; for every class whose objects cross pages,
 *   three full zspages, whose cross-page objects cover every split offset
 *   of the class and map in the mode under test; ZS_MM_RW changes around a
 *   page boundary land and leave the neighbours alone; a write into a
 *   copy-mode ZS_MM_RO map of a cross-page object is not written back; two
 *   cross-page objects of one zspage nest (inner map from softirq or from
 *   the task); zs_malloc() without __GFP_DIRECT_RECLAIM under a spinlock,
 *   maps with preemption and BH disabled, zs_free() under a spinlock.
 *
 * The suite needs zsm's internal headers (class geometry, handle words) and
 * zsm_map_set_mode() (EXPORT_SYMBOL_IF_KUNIT). Everything allocated is freed
 * by KUnit actions, also when a case aborts.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#define ZSM_TU_KUNIT
#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/highmem.h>
#include <linux/hrtimer.h>
#include <linux/interrupt.h>
#include <linux/irqflags.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <linux/zsmalloc.h>

#include "zsm_internal.h"
#include "zsm.h"
#include "zsm_test_util.h"

/* === Fixtures ============================================================ */

/* Smallest class size for the fixtures with few, large objects. */
#define ZMT_LARGE_SIZE		(PAGE_SIZE / 4)

/* Size of the small in-page objects of zmt_fx_pairs(). */
#define ZMT_SMALL_SIZE		64

/*
 * The softirq cases' timer delay; how long a task holding a map spins for
 * the timer (or the compacting kthread) before it gives up; and how long a
 * case then sleeps waiting for it.
 */
#define ZMT_TIMER_DELAY_NS	(100 * NSEC_PER_USEC)
#define ZMT_SPIN_NS		(2 * NSEC_PER_SEC)
#define ZMT_WAIT		(10 * HZ)

/* A fixture of tests/zsm_test_util.h with room for @cap objects. */
static struct zsm_kt_fx *zmt_fx_create(struct kunit *test, unsigned int cap)
{
	return zsm_kt_fx_create(test, "zsm_map_kunit", cap);
}

/* === Object bytes, bypassing the map code ================================ */

/* New contents for @o, written to @buf: a generation it never had. */
static void zmt_new_contents(struct zsm_kt_fx *fx, struct zsm_tu_obj *o,
			     u8 *buf)
{
	o->gen = zsm_kt_next_gen(fx);
	o->csum = zsm_tu_fill(buf, o->size, o->id, o->gen);
}

/* The current contents of @o, written to @buf. */
static void zmt_contents(const struct zsm_tu_obj *o, u8 *buf)
{
	zsm_tu_fill(buf, o->size, o->id, o->gen);
}

/* Copy an object's bytes out of (@write false) or into its zspage's pages. */
static void zmt_access(struct zsm_zspage *zspage, unsigned int idx,
		       unsigned int size, void *buf, bool write)
{
	unsigned long off = (unsigned long)idx * size;

	while (size) {
		unsigned int poff = offset_in_page(off);
		unsigned int n = min_t(unsigned int, size, PAGE_SIZE - poff);
		u8 *page = kmap_local_page(zsm_zspage_page(zspage, off >> PAGE_SHIFT));

		if (write)
			memcpy(page + poff, buf, n);
		else
			memcpy(buf, page + poff, n);
		kunmap_local(page);
		buf += n;
		off += n;
		size -= n;
	}
}

/*
 * Copy a live object's bytes out of (@write false) or into its pages, with
 * its zspage read-locked as a mapper holds it (see zsm_obj_lock_read()), so
 * that the pages stay put meanwhile.
 */
static void zmt_copy(const struct zsm_tu_obj *o, void *buf, bool write)
{
	unsigned long *hp = (unsigned long *)o->handle;
	struct zsm_zspage *zspage;
	unsigned long obj;

	rcu_read_lock();
	for (;;) {
		obj = READ_ONCE(*hp);
		zspage = zsm_obj_zspage(obj);
		zsm_zspage_read_lock(zspage);
		if (READ_ONCE(*hp) == obj) {
			zmt_access(zspage, zsm_obj_idx(obj), o->size, buf, write);
			zsm_zspage_read_unlock(zspage);
			break;
		}
		zsm_zspage_read_unlock(zspage);
	}
	rcu_read_unlock();
}

static void zmt_peek(const struct zsm_tu_obj *o, void *buf)
{
	zmt_copy(o, buf, false);
}

static void zmt_poke(const struct zsm_tu_obj *o, const void *buf)
{
	zmt_copy(o, (void *)buf, true);
}

/* As zmt_poke(), for the holder of a map of @o (the zspage is locked). */
static void zmt_poke_mapped(const struct zsm_tu_obj *o, const void *buf)
{
	zmt_access(zsm_kt_zspage(o), zsm_kt_slot(o), o->size, (void *)buf, true);
}

/*
 * True when nobody holds the zspage of @o locked: every map of it has been
 * undone (a writer's trylock succeeds, as compaction's would).
 */
static bool zmt_unlocked(const struct zsm_tu_obj *o)
{
	/* A write trylock with BH off, as zsm's writers: zsm_internal.h. */
	return !zsm_zspage_busy(zsm_kt_zspage(o));
}

/* Give @o new pattern contents, written directly into its pages. */
static void zmt_set(struct zsm_kt_fx *fx, struct zsm_tu_obj *o)
{
	zmt_new_contents(fx, o, fx->exp);
	zmt_poke(o, fx->exp);
}

/* Expect @got to equal @exp; name the first wrong byte otherwise. */
static bool zmt_expect_bytes(struct kunit *test, const struct zsm_tu_obj *o,
			     const u8 *got, const u8 *exp, const char *what)
{
	unsigned int i;

	if (!memcmp(got, exp, o->size))
		return true;
	for (i = 0; got[i] == exp[i]; i++)
		;
	KUNIT_FAIL(test,
		   "%s: size %u slot %u page offset %u%s: byte %u is %02x, expected %02x",
		   what, o->size, zsm_kt_slot(o), zsm_kt_poff(o),
		   zsm_kt_crosses(o) ? " (cross-page)" : "", i, got[i], exp[i]);
	return false;
}

/* Expect the stored bytes of @o to be its pattern. */
static bool zmt_expect_stored(struct zsm_kt_fx *fx, const struct zsm_tu_obj *o,
			      const char *what)
{
	zmt_contents(o, fx->exp);
	zmt_peek(o, fx->got);
	return zmt_expect_bytes(fx->test, o, fx->got, fx->exp, what);
}

/* Allocate an object of exactly a class size; its contents are unset. */
static struct zsm_tu_obj *zmt_alloc(struct zsm_kt_fx *fx, unsigned int size)
{
	struct kunit *test = fx->test;
	int i;

	/* Offsets are slot * size: @size must be the class size. */
	KUNIT_ASSERT_EQ(test, size,
			zsm_classes.geom[zs_lookup_class_index(fx->pool, size)].size);
	i = zsm_kt_add(fx, size, GFP_KERNEL);
	KUNIT_ASSERT_GE_MSG(test, i, 0, "zs_malloc(%u)", size);
	return &fx->objs[i];
}

/* === Geometry ============================================================ */

/* Fill @nr_zspages zspages of a cross-page class; set every object. */
static const struct zsm_geom *zmt_fx_fill(struct zsm_kt_fx *fx,
					  unsigned int min_size,
					  unsigned int nr_zspages)
{
	unsigned int ci = zsm_kt_cross_class(0, min_size);
	const struct zsm_geom *g;
	unsigned int i;

	KUNIT_ASSERT_LT_MSG(fx->test, ci, ZSM_NR_CLASSES,
			    "no cross-page class of size >= %u", min_size);
	g = &zsm_classes.geom[ci];
	for (i = 0; i < nr_zspages * g->objs; i++)
		zmt_set(fx, zmt_alloc(fx, g->size));
	return g;
}

/* The first object of the fixture with @cross after @after (or NULL). */
static struct zsm_tu_obj *zmt_find(struct zsm_kt_fx *fx, bool cross,
				   const struct zsm_tu_obj *after)
{
	unsigned int i = after ? after - fx->objs + 1 : 0;

	for (; i < fx->nr; i++) {
		if (fx->objs[i].handle &&
		    zsm_kt_crosses(&fx->objs[i]) == cross)
			return &fx->objs[i];
	}
	return NULL;
}

/* Like zmt_find(), but in another zspage than @other (@same: in its own). */
static struct zsm_tu_obj *zmt_find_by_zspage(struct zsm_kt_fx *fx,
					     bool cross,
					     const struct zsm_tu_obj *other,
					     bool same)
{
	struct zsm_tu_obj *o;

	for (o = zmt_find(fx, cross, NULL); o; o = zmt_find(fx, cross, o)) {
		if (o != other && (zsm_kt_zspage(o) == zsm_kt_zspage(other)) == same)
			return o;
	}
	return NULL;
}

static struct zsm_tu_obj *zmt_find_apart(struct zsm_kt_fx *fx, bool cross,
					 const struct zsm_tu_obj *other)
{
	return zmt_find_by_zspage(fx, cross, other, false);
}

/* === Map modes =========================================================== */

/* pte first: the fenced warnings are provoked in the first run. */
static const bool zmt_modes[] = { true, false };

static void zmt_mode_desc(const bool *pte, char *desc)
{
	strscpy(desc, *pte ? "pte" : "copy", KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(zmt_mode, zmt_modes, zmt_mode_desc);

/* The mode zsm was in when the suite started (probed by zmt_suite_init). */
static bool zmt_orig_pte;

static bool zmt_switch(struct kunit *test, bool pte)
{
	int ret = zsm_map_set_mode(pte);

	if (ret == -EOPNOTSUPP)
		kunit_skip(test, "pte mode is not possible here");
	KUNIT_ASSERT_EQ(test, ret, 0);
	return pte;
}

/* Switch to the case's mode parameter. */
static bool zmt_enter_mode(struct kunit *test)
{
	return zmt_switch(test, *(const bool *)test->param_value);
}

/*
 * Is @p the right address for a map of @o? In-page objects are mapped in
 * place; cross-page objects in pte mode through a window in vmalloc space
 * at the object's in-page offset, in copy mode through a buffer elsewhere.
 * Context: @o is mapped (its zspage is read-locked).
 */
static bool zmt_addr_ok(const struct zsm_tu_obj *o, const void *p, bool pte)
{
	unsigned long off = (unsigned long)zsm_kt_slot(o) * o->size;

	if (!zsm_kt_crosses(o)) {
		if (IS_ENABLED(CONFIG_HIGHMEM))
			return !is_vmalloc_addr(p);
		return p == page_address(zsm_zspage_page(zsm_kt_zspage(o),
							 off >> PAGE_SHIFT)) +
			    zsm_kt_poff(o);
	}
	if (pte)
		return is_vmalloc_addr(p) && offset_in_page(p) == zsm_kt_poff(o);
	return !is_vmalloc_addr(p);
}

/* === Every class ========================================================= */

/*
 * Write @o with a new pattern through a WO map, read it through an RO map.
 * Return: false if a check failed (already reported).
 */
static bool zmt_round_trip(struct zsm_kt_fx *fx, struct zsm_tu_obj *o, bool pte,
			   unsigned int *bad_addr)
{
	struct kunit *test = fx->test;
	bool ok = true;
	u64 csum;
	u8 *p;

	zmt_new_contents(fx, o, fx->exp);

	p = zs_map_object(fx->pool, o->handle, ZS_MM_WO);
	KUNIT_ASSERT_NOT_NULL(test, p);
	memcpy(p, fx->exp, o->size);
	if (!zmt_addr_ok(o, p, pte))
		(*bad_addr)++;
	zs_unmap_object(fx->pool, o->handle);

	p = zs_map_object(fx->pool, o->handle, ZS_MM_RO);
	KUNIT_ASSERT_NOT_NULL(test, p);
	csum = zsm_tu_csum(p, o->size);
	memcpy(fx->got, p, o->size);
	if (!zmt_addr_ok(o, p, pte))
		(*bad_addr)++;
	zs_unmap_object(fx->pool, o->handle);

	if (csum != o->csum)
		ok = zmt_expect_bytes(test, o, fx->got, fx->exp, "RO map after WO");
	ok &= zmt_expect_stored(fx, o, "stored bytes after WO");
	return ok;
}

static void every_class_round_trips(struct kunit *test)
{
	struct zsm_kt_fx *fx = zmt_fx_create(test, ZSM_MAX_OBJS_PER_ZSPAGE);
	unsigned int ci, classes = 0, crossing = 0, objects = 0, bad_addr = 0;
	bool pte = zmt_enter_mode(test);

	for (ci = 0; ci < ZSM_NR_CLASSES; ci++) {
		const struct zsm_geom *g = &zsm_classes.geom[ci];
		bool want_cross = zsm_kt_class_crosses(g), seen_cross = false;
		unsigned int n;

		if (g->index != ci)
			continue;
		classes++;
		KUNIT_ASSERT_EQ(test, zs_lookup_class_index(fx->pool, g->size), ci);
		/* Up to the first cross-page slot: it is where the bugs are. */
		for (n = 0; n < g->objs; n++) {
			struct zsm_tu_obj *o = zmt_alloc(fx, g->size);

			objects++;
			if (!zmt_round_trip(fx, o, pte, &bad_addr))
				break;
			if (zsm_kt_crosses(o)) {
				seen_cross = true;
				break;
			}
			if (!want_cross)
				break;
		}
		KUNIT_EXPECT_EQ_MSG(test, seen_cross, want_cross,
				    "class %u size %u", ci, g->size);
		crossing += seen_cross;
		zsm_kt_free_all(fx);
		cond_resched();
	}
	kunit_info(test, "%s: %u classes (%u with cross-page objects), %u objects\n",
		   pte ? "pte" : "copy", classes, crossing, objects);
	KUNIT_EXPECT_GT(test, crossing, 0);
	KUNIT_EXPECT_EQ_MSG(test, bad_addr, 0,
			    "maps at an address of the wrong kind");
	KUNIT_EXPECT_EQ(test, zsm_kt_total_pages(fx->pool), 0);
}

/* === Split points ======================================================== */

/*
 * Every in-page start offset at which an object of a class crosses into the
 * next page is checked. Example, size 1168, 2 pages, 7 objects:
 *
 *   |      page 0       |      page 1       |
 *   | 0  | 1  | 2  | 3 ~~ | 4  | 5  | 6  |  |
 *                    ^ slot 3 starts at 3504 and crosses: offset 3504
 */
static void cross_page_split_points(struct kunit *test)
{
	struct zsm_kt_fx *fx = zmt_fx_create(test, ZSM_MAX_OBJS_PER_ZSPAGE);
	DECLARE_BITMAP(want, ZSM_KT_OFFSET_BITS);
	DECLARE_BITMAP(seen, ZSM_KT_OFFSET_BITS);
	unsigned int ci, classes = 0, splits = 0, bad_addr = 0;
	bool pte = zmt_enter_mode(test);

	for (ci = zsm_kt_cross_class(0, 0); ci < ZSM_NR_CLASSES;
	     ci = zsm_kt_cross_class(ci + 1, 0)) {
		const struct zsm_geom *g = &zsm_classes.geom[ci];
		unsigned int i, nsplit;

		if (g->pages < 2)
			continue;
		nsplit = zsm_kt_split_offsets(g, want);
		bitmap_zero(seen, ZSM_KT_OFFSET_BITS);
		/* The class is empty: one zspage takes all these objects. */
		for (i = 0; i < g->objs; i++)
			zmt_set(fx, zmt_alloc(fx, g->size));
		for (i = 0; i < fx->nr; i++) {
			struct zsm_tu_obj *o = &fx->objs[i];
			bool ro_ok;
			u8 *p;

			KUNIT_ASSERT_PTR_EQ(test, zsm_kt_zspage(o), zsm_kt_zspage(fx->objs));
			if (!zsm_kt_crosses(o))
				continue;
			/* RO: the bytes set directly in the pages. */
			zmt_contents(o, fx->exp);
			p = zs_map_object(fx->pool, o->handle, ZS_MM_RO);
			KUNIT_ASSERT_NOT_NULL(test, p);
			ro_ok = zsm_tu_csum(p, o->size) == o->csum;
			memcpy(fx->got, p, o->size);
			if (!zmt_addr_ok(o, p, pte))
				bad_addr++;
			zs_unmap_object(fx->pool, o->handle);
			if (!ro_ok)
				zmt_expect_bytes(test, o, fx->got, fx->exp,
						 "RO map at a split point");
			/* WO: new bytes land in the pages. */
			zmt_new_contents(fx, o, fx->exp);
			p = zs_map_object(fx->pool, o->handle, ZS_MM_WO);
			KUNIT_ASSERT_NOT_NULL(test, p);
			memcpy(p, fx->exp, o->size);
			zs_unmap_object(fx->pool, o->handle);
			if (ro_ok && zmt_expect_stored(fx, o, "WO map at a split point"))
				__set_bit(zsm_kt_poff(o) / ZSM_ALIGN, seen);
		}
		/* Neighbours, in-page ones included, are untouched. */
		for (i = 0; i < fx->nr; i++)
			zmt_expect_stored(fx, &fx->objs[i], "neighbour");
		KUNIT_EXPECT_GT_MSG(test, nsplit, 0, "class %u", ci);
		KUNIT_EXPECT_EQ_MSG(test, bitmap_weight(seen, ZSM_KT_OFFSET_BITS),
				    nsplit, "class %u size %u: split points checked",
				    ci, g->size);
		KUNIT_EXPECT_TRUE(test, bitmap_equal(seen, want, ZSM_KT_OFFSET_BITS));
		classes++;
		splits += nsplit;
		zsm_kt_free_all(fx);
		cond_resched();
	}
	kunit_info(test, "%s: %u multi-page classes, %u split points\n",
		   pte ? "pte" : "copy", classes, splits);
	KUNIT_EXPECT_GT(test, classes, 0);
	KUNIT_EXPECT_EQ(test, bad_addr, 0);
}

/* === RO, WO, RW ========================================================== */

/* A WO map's bytes are what the object holds after unmap. */
static void zmt_wo_lands(struct zsm_kt_fx *fx, struct zsm_tu_obj *o)
{
	u8 *p;

	zmt_new_contents(fx, o, fx->exp);
	p = zs_map_object(fx->pool, o->handle, ZS_MM_WO);
	KUNIT_ASSERT_NOT_NULL(fx->test, p);
	memcpy(p, fx->exp, o->size);
	zs_unmap_object(fx->pool, o->handle);
	o->csum = zsm_tu_csum(fx->exp, o->size);
	zmt_expect_stored(fx, o, "WO map");
}

/*
 * An RW map shows the object; changing a few bytes around the page boundary
 * (the middle of an in-page object) and both ends keeps the others:
 *
 *   before  |aaaaaaaaaaaaaaaaa|aaaaaaaaaaaaaaa|
 *   after   |Aaaaaaaaaaaaaa~~~|~~~aaaaaaaaaaaA|
 *                          page boundary
 */
static void zmt_rw_partial(struct zsm_kt_fx *fx, struct zsm_tu_obj *o)
{
	unsigned int mid = zsm_kt_crosses(o) ? PAGE_SIZE - zsm_kt_poff(o) : o->size / 2;
	unsigned int from = mid > 24 ? mid - 24 : 0;
	unsigned int to = min(mid + 24, o->size);
	struct kunit *test = fx->test;
	unsigned int k;
	u8 *p;

	zmt_set(fx, o);
	p = zs_map_object(fx->pool, o->handle, ZS_MM_RW);
	KUNIT_ASSERT_NOT_NULL(test, p);
	memcpy(fx->got, p, o->size);
	for (k = from; k < to; k++)
		p[k] ^= 0xff;
	p[0] ^= 0x5a;
	p[o->size - 1] ^= 0xa5;
	zs_unmap_object(fx->pool, o->handle);

	zmt_expect_bytes(test, o, fx->got, fx->exp, "RW map shows the object");
	for (k = from; k < to; k++)
		fx->exp[k] ^= 0xff;
	fx->exp[0] ^= 0x5a;
	fx->exp[o->size - 1] ^= 0xa5;
	zmt_peek(o, fx->got);
	zmt_expect_bytes(test, o, fx->got, fx->exp, "RW partial change");
	zmt_set(fx, o);
}

/* An RO map shows the bytes the object holds. */
static void zmt_ro_shows(struct zsm_kt_fx *fx, struct zsm_tu_obj *o)
{
	u8 *p;

	zmt_set(fx, o);
	p = zs_map_object(fx->pool, o->handle, ZS_MM_RO);
	KUNIT_ASSERT_NOT_NULL(fx->test, p);
	memcpy(fx->got, p, o->size);
	zs_unmap_object(fx->pool, o->handle);
	zmt_expect_bytes(fx->test, o, fx->got, fx->exp, "RO map");
}

/*
 * During an RO map the object's pages are changed directly (@fx->tmp).
 * Where the map is the object itself (in-page, or pte mode) it shows the
 * change; a copy-mode map of a cross-page object keeps the bytes of map
 * time. Then the map is written to: in copy mode, not written back.
 */
static void zmt_ro_live(struct zsm_kt_fx *fx, struct zsm_tu_obj *o, bool pte)
{
	bool in_place = pte || !zsm_kt_crosses(o);
	struct kunit *test = fx->test;
	u32 old_gen;
	u8 *p;

	zmt_set(fx, o);
	old_gen = o->gen;
	zmt_new_contents(fx, o, fx->tmp);
	p = zs_map_object(fx->pool, o->handle, ZS_MM_RO);
	KUNIT_ASSERT_NOT_NULL(test, p);
	zmt_poke_mapped(o, fx->tmp);
	memcpy(fx->got, p, o->size);
	if (!in_place)
		memset(p, 0x5a, o->size);	/* a caller bug, tolerated */
	zs_unmap_object(fx->pool, o->handle);

	if (in_place) {
		zmt_expect_bytes(test, o, fx->got, fx->tmp,
				 "RO map shows the current bytes");
	} else {
		zsm_tu_fill(fx->exp, o->size, o->id, old_gen);
		zmt_expect_bytes(test, o, fx->got, fx->exp,
				 "copy-mode RO map shows the bytes of map time");
	}
	/* The pages hold the direct change, not the write into the map. */
	zmt_expect_stored(fx, o, "RO map written back");
}

static void ro_wo_rw_semantics(struct kunit *test)
{
	struct zsm_kt_fx *fx = zmt_fx_create(test, ZSM_MAX_OBJS_PER_ZSPAGE);
	bool pte = zmt_enter_mode(test);
	struct zsm_tu_obj *objs[2];
	unsigned int i;

	zmt_fx_fill(fx, ZMT_LARGE_SIZE, 1);
	objs[0] = zmt_find(fx, true, NULL);
	objs[1] = zmt_find(fx, false, NULL);
	KUNIT_ASSERT_NOT_NULL(test, objs[0]);
	KUNIT_ASSERT_NOT_NULL(test, objs[1]);
	for (i = 0; i < ARRAY_SIZE(objs); i++) {
		zmt_wo_lands(fx, objs[i]);
		zmt_rw_partial(fx, objs[i]);
		zmt_ro_shows(fx, objs[i]);
		zmt_ro_live(fx, objs[i], pte);
		KUNIT_EXPECT_TRUE(test, zmt_unlocked(objs[i]));
	}
	for (i = 0; i < fx->nr; i++)
		zmt_expect_stored(fx, &fx->objs[i], "neighbour");
}

/* === Contexts ============================================================ */

/*
 * Maps that can run in any context: each object is read (RO, checked by
 * CRC), a range of bytes is flipped through an RW map, and the result is
 * read again. Results are counted; the test checks them afterwards.
 */
struct zmt_work {
	struct zs_pool *pool;
	struct zsm_tu_obj *objs[2];
	unsigned int from[2], to[2];	/* bytes to flip */
	u64 flipped_csum[2];		/* expected checksum after the flip */
	unsigned int bad_ro, bad_rw, nulls;
	bool irqs_off, softirq;		/* the context the work ran in */
};

static void zmt_work_run(struct zmt_work *w)
{
	unsigned int i, k;
	u8 *p;

	w->irqs_off = irqs_disabled();
	w->softirq = in_serving_softirq();
	for (i = 0; i < ARRAY_SIZE(w->objs); i++) {
		struct zsm_tu_obj *o = w->objs[i];

		p = zs_map_object(w->pool, o->handle, ZS_MM_RO);
		if (!p) {
			w->nulls++;
			continue;
		}
		if (zsm_tu_csum(p, o->size) != o->csum)
			w->bad_ro++;
		zs_unmap_object(w->pool, o->handle);

		p = zs_map_object(w->pool, o->handle, ZS_MM_RW);
		if (!p) {
			w->nulls++;
			continue;
		}
		for (k = w->from[i]; k < w->to[i]; k++)
			p[k] ^= 0xff;
		zs_unmap_object(w->pool, o->handle);

		p = zs_map_object(w->pool, o->handle, ZS_MM_RO);
		if (!p) {
			w->nulls++;
			continue;
		}
		if (zsm_tu_csum(p, o->size) != w->flipped_csum[i])
			w->bad_rw++;
		zs_unmap_object(w->pool, o->handle);
	}
}

/* Set up @w on a cross-page and an in-page object of @fx. */
static void zmt_work_init(struct zsm_kt_fx *fx, struct zmt_work *w)
{
	unsigned int i, k;

	memset(w, 0, sizeof(*w));
	w->pool = fx->pool;
	w->objs[0] = zmt_find(fx, true, NULL);
	w->objs[1] = zmt_find(fx, false, NULL);
	KUNIT_ASSERT_NOT_NULL(fx->test, w->objs[0]);
	KUNIT_ASSERT_NOT_NULL(fx->test, w->objs[1]);
	for (i = 0; i < ARRAY_SIZE(w->objs); i++) {
		struct zsm_tu_obj *o = w->objs[i];
		unsigned int mid = zsm_kt_crosses(o) ? PAGE_SIZE - zsm_kt_poff(o) : o->size / 2;

		zmt_set(fx, o);
		w->from[i] = mid > 40 ? mid - 40 : 0;
		w->to[i] = min(mid + 40, o->size);
		for (k = w->from[i]; k < w->to[i]; k++)
			fx->exp[k] ^= 0xff;
		w->flipped_csum[i] = zsm_tu_csum(fx->exp, o->size);
	}
}

/* After zmt_work_run(): everything right, and the pages hold the flips. */
static void zmt_work_check(struct zsm_kt_fx *fx, struct zmt_work *w,
			   const char *ctx)
{
	struct kunit *test = fx->test;
	unsigned int i, k;

	KUNIT_EXPECT_EQ_MSG(test, w->nulls, 0, "%s: a map returned NULL", ctx);
	KUNIT_EXPECT_EQ_MSG(test, w->bad_ro, 0, "%s: RO map showed wrong bytes",
			    ctx);
	KUNIT_EXPECT_EQ_MSG(test, w->bad_rw, 0, "%s: RW change not seen", ctx);
	for (i = 0; i < ARRAY_SIZE(w->objs); i++) {
		struct zsm_tu_obj *o = w->objs[i];

		zmt_contents(o, fx->exp);
		for (k = w->from[i]; k < w->to[i]; k++)
			fx->exp[k] ^= 0xff;
		zmt_peek(o, fx->got);
		zmt_expect_bytes(test, o, fx->got, fx->exp, ctx);
		KUNIT_EXPECT_TRUE_MSG(test, zmt_unlocked(o), "%s: zspage locked",
				      ctx);
		zmt_set(fx, o);
	}
}

static void maps_from_process_context(struct kunit *test)
{
	struct zsm_kt_fx *fx = zmt_fx_create(test, ZSM_MAX_OBJS_PER_ZSPAGE);
	struct zmt_work w;

	zmt_enter_mode(test);
	zmt_fx_fill(fx, ZMT_LARGE_SIZE, 1);
	zmt_work_init(fx, &w);
	zmt_work_run(&w);
	KUNIT_EXPECT_FALSE(test, w.irqs_off);
	KUNIT_EXPECT_FALSE(test, w.softirq);
	zmt_work_check(fx, &w, "process context");
}

static void maps_with_irqs_disabled(struct kunit *test)
{
	struct zsm_kt_fx *fx = zmt_fx_create(test, ZSM_MAX_OBJS_PER_ZSPAGE);
	unsigned long flags;
	struct zmt_work w;

	zmt_enter_mode(test);
	zmt_fx_fill(fx, ZMT_LARGE_SIZE, 1);
	zmt_work_init(fx, &w);
	local_irq_save(flags);
	zmt_work_run(&w);
	local_irq_restore(flags);
	KUNIT_EXPECT_TRUE(test, w.irqs_off);
	zmt_work_check(fx, &w, "hard IRQs disabled");
}

/*
 * A soft hrtimer (its callback runs in HRTIMER_SOFTIRQ) pinned to the CPU
 * that starts it. With @outer set, the task holds a map of @outer while the
 * timer runs, so the callback's maps nest inside the task's.
 */
struct zmt_softirq {
	struct hrtimer timer;
	struct completion done;
	struct zmt_work work;
	bool task_holds_map;	/* WRITE_ONCE by the task */
	bool nested;		/* the callback saw task_holds_map */
	int cpu;		/* where the callback ran */
};

static enum hrtimer_restart zmt_softirq_fn(struct hrtimer *timer)
{
	struct zmt_softirq *s = container_of(timer, struct zmt_softirq, timer);

	s->nested = READ_ONCE(s->task_holds_map);
	s->cpu = smp_processor_id();
	zmt_work_run(&s->work);
	complete(&s->done);
	return HRTIMER_NORESTART;
}

static void zmt_softirq_cancel(void *data)
{
	struct zmt_softirq *s = data;

	hrtimer_cancel(&s->timer);
}

static struct zmt_softirq *zmt_softirq_create(struct kunit *test)
{
	struct zmt_softirq *s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);

	if (!s)
		kunit_skip(test, "cannot allocate the timer");
	init_completion(&s->done);
	s->cpu = -1;
	zsm_hrtimer_setup(&s->timer, zmt_softirq_fn, CLOCK_MONOTONIC,
			  HRTIMER_MODE_REL_PINNED_SOFT);
	/* Cancelled before it is freed, also when the case aborts. */
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, zmt_softirq_cancel, s));
	return s;
}

static void zmt_softirq_start(struct zmt_softirq *s)
{
	hrtimer_start(&s->timer, ns_to_ktime(ZMT_TIMER_DELAY_NS),
		      HRTIMER_MODE_REL_PINNED_SOFT);
}

static void maps_from_softirq(struct kunit *test)
{
	struct zsm_kt_fx *fx = zmt_fx_create(test, ZSM_MAX_OBJS_PER_ZSPAGE);
	struct zmt_softirq *s = zmt_softirq_create(test);

	zmt_enter_mode(test);
	zmt_fx_fill(fx, ZMT_LARGE_SIZE, 1);
	zmt_work_init(fx, &s->work);
	zmt_softirq_start(s);
	KUNIT_ASSERT_NE_MSG(test, wait_for_completion_timeout(&s->done, ZMT_WAIT),
			    0, "the soft hrtimer did not run");
	KUNIT_EXPECT_TRUE(test, s->work.softirq);
	zmt_work_check(fx, &s->work, "softirq");
}

/*
 * The task maps a cross-page object and, with the map held (preemption is
 * off, interrupts on), waits for a timer on its CPU; the timer's softirq
 * runs on the way out of the timer interrupt and maps two other objects of
 * the class (one cross-page, one in-page) at the next depth. The task's map
 * must be undisturbed.
 */
static void softirq_map_nests_in_task_map(struct kunit *test)
{
	struct zsm_kt_fx *fx = zmt_fx_create(test, 2 * ZSM_MAX_OBJS_PER_ZSPAGE);
	struct zmt_softirq *s = zmt_softirq_create(test);
	struct zsm_tu_obj *outer;
	u64 start;
	u8 *p;

	zmt_enter_mode(test);
	zmt_fx_fill(fx, ZMT_LARGE_SIZE, 2);
	zmt_work_init(fx, &s->work);
	outer = zmt_find(fx, true, s->work.objs[0]);
	KUNIT_ASSERT_NOT_NULL(test, outer);
	zmt_contents(outer, fx->exp);

	p = zs_map_object(fx->pool, outer->handle, ZS_MM_RW);
	KUNIT_ASSERT_NOT_NULL(test, p);
	WRITE_ONCE(s->task_holds_map, true);
	zmt_softirq_start(s);
	start = ktime_get_ns();
	while (!completion_done(&s->done) &&
	       ktime_get_ns() - start < ZMT_SPIN_NS)
		cpu_relax();
	WRITE_ONCE(s->task_holds_map, false);
	memcpy(fx->got, p, outer->size);
	p[0] ^= 0xff;
	zs_unmap_object(fx->pool, outer->handle);

	KUNIT_ASSERT_NE_MSG(test, wait_for_completion_timeout(&s->done, ZMT_WAIT),
			    0, "the soft hrtimer did not run");
	KUNIT_EXPECT_TRUE(test, s->work.softirq);
	KUNIT_EXPECT_TRUE_MSG(test, s->nested,
			      "the softirq did not run inside the task's map");
	zmt_expect_bytes(test, outer, fx->got, fx->exp,
			 "task's map after the nested softirq maps");
	fx->exp[0] ^= 0xff;
	zmt_peek(outer, fx->got);
	zmt_expect_bytes(test, outer, fx->got, fx->exp,
			 "task's RW map written back");
	KUNIT_EXPECT_TRUE(test, zmt_unlocked(outer));
	zmt_work_check(fx, &s->work, "softirq nested in a task's map");
}

/* === Nesting ============================================================= */

/*
 * Two zspages of a large cross-page class and a few small in-page objects
 * (another class, so other zspages): objects to nest in every combination,
 * each pair in different zspages.
 */
static void zmt_fx_pairs(struct zsm_kt_fx *fx)
{
	unsigned int i;

	zmt_fx_fill(fx, ZMT_LARGE_SIZE, 2);
	for (i = 0; i < 2; i++)
		zmt_set(fx, zmt_alloc(fx, ZMT_SMALL_SIZE));
}

/* zsm warns once per load; only the first provocation is fenced. */
static bool zmt_warned_nest3, zmt_warned_order;

static bool zmt_fence_begin(bool warned, const char *tag)
{
	if (!warned)
		pr_info("zsm-expect-warn-begin %s\n", tag);
	return !warned;
}

static void zmt_fence_end(bool fenced, bool *warned, const char *tag)
{
	if (!fenced)
		return;
	pr_info("zsm-expect-warn-end %s\n", tag);
	*warned = true;
}

/*
 * After nested RW maps that set outer @a to 0xc3 and inner @b to 0x3c
 * bytes: both changes landed, both zspages are unlocked. Then both get new
 * contents.
 */
static void zmt_expect_nest_written_back(struct zsm_kt_fx *fx,
					 struct zsm_tu_obj *a,
					 struct zsm_tu_obj *b)
{
	struct kunit *test = fx->test;

	memset(fx->exp, 0xc3, a->size);
	zmt_peek(a, fx->got);
	zmt_expect_bytes(test, a, fx->got, fx->exp, "outer RW written back");
	memset(fx->exp, 0x3c, b->size);
	zmt_peek(b, fx->got);
	zmt_expect_bytes(test, b, fx->got, fx->exp, "inner RW written back");
	KUNIT_EXPECT_TRUE(test, zmt_unlocked(a));
	KUNIT_EXPECT_TRUE(test, zmt_unlocked(b));
	zmt_set(fx, a);
	zmt_set(fx, b);
}

/*
 * Map @a (outer) then @b (inner, with BH disabled as an interrupt would
 * nest), both RW; change both; unmap in reverse order. Both maps must show
 * their object while the other is held, and both changes must land.
 */
static void zmt_nest_pair(struct zsm_kt_fx *fx, struct zsm_tu_obj *a,
			  struct zsm_tu_obj *b, bool pte, bool inner_bh)
{
	bool a_ok = false, b_ok = false, a_still = false, addr_ok = false;
	struct kunit *test = fx->test;
	u8 *pa, *pb;

	zmt_set(fx, a);
	zmt_set(fx, b);
	pa = zs_map_object(fx->pool, a->handle, ZS_MM_RW);
	KUNIT_ASSERT_NOT_NULL(test, pa);
	if (inner_bh)
		local_bh_disable();
	pb = zs_map_object(fx->pool, b->handle, ZS_MM_RW);
	if (pb) {
		a_ok = zsm_tu_csum(pa, a->size) == a->csum;
		b_ok = zsm_tu_csum(pb, b->size) == b->csum;
		addr_ok = zmt_addr_ok(a, pa, pte) && zmt_addr_ok(b, pb, pte) &&
			  pa != pb;
		memset(pb, 0x3c, b->size);
		a_still = zsm_tu_csum(pa, a->size) == a->csum;
		zs_unmap_object(fx->pool, b->handle);
	}
	if (inner_bh)
		local_bh_enable();
	if (pb)
		memset(pa, 0xc3, a->size);
	zs_unmap_object(fx->pool, a->handle);

	KUNIT_ASSERT_NOT_NULL_MSG(test, pb, "second nested map");
	KUNIT_EXPECT_TRUE_MSG(test, a_ok, "outer map (%s, size %u at %u)",
			      zsm_kt_crosses(a) ? "cross" : "in-page", a->size,
			      zsm_kt_poff(a));
	KUNIT_EXPECT_TRUE_MSG(test, b_ok, "inner map (%s, size %u at %u)",
			      zsm_kt_crosses(b) ? "cross" : "in-page", b->size,
			      zsm_kt_poff(b));
	KUNIT_EXPECT_TRUE_MSG(test, a_still, "outer map changed by the inner");
	KUNIT_EXPECT_TRUE(test, addr_ok);
	zmt_expect_nest_written_back(fx, a, b);
}

static void zmt_nested_maps(struct kunit *test, bool inner_bh)
{
	struct zsm_kt_fx *fx = zmt_fx_create(test, 3 * ZSM_MAX_OBJS_PER_ZSPAGE);
	bool pte = zmt_enter_mode(test);
	struct zsm_tu_obj *c1, *c2, *c3, *i1, *i2, *i3;

	zmt_fx_pairs(fx);
	c1 = zmt_find(fx, true, NULL);
	KUNIT_ASSERT_NOT_NULL(test, c1);
	c2 = zmt_find_apart(fx, true, c1);
	i1 = zmt_find_apart(fx, false, c1);
	KUNIT_ASSERT_NOT_NULL(test, c2);
	KUNIT_ASSERT_NOT_NULL(test, i1);
	i2 = zmt_find_apart(fx, false, i1);
	KUNIT_ASSERT_NOT_NULL(test, i2);
	/* Slot 0 of every zspage is in-page. */
	i3 = zmt_find_by_zspage(fx, false, c1, true);
	KUNIT_ASSERT_NOT_NULL(test, i3);
	c3 = zmt_find_by_zspage(fx, true, c1, true);

	/* Different zspages. */
	zmt_nest_pair(fx, c1, c2, pte, inner_bh);
	zmt_nest_pair(fx, c1, i1, pte, inner_bh);
	zmt_nest_pair(fx, i1, c2, pte, inner_bh);
	zmt_nest_pair(fx, i1, i2, pte, inner_bh);
	/* One zspage, locked twice by one CPU. */
	zmt_nest_pair(fx, c1, i3, pte, inner_bh);
	zmt_nest_pair(fx, i3, c1, pte, inner_bh);
	if (c3)
		zmt_nest_pair(fx, c1, c3, pte, inner_bh);
}

static void nested_maps_work(struct kunit *test)
{
	zmt_nested_maps(test, true);
}

/*
 * Two maps from plain task context, as in a copy from one object to
 * another (zsm_map.c allows it). Run last: a lockdep report would turn
 * lockdep off for every case after it.
 */
static void nested_maps_in_task(struct kunit *test)
{
	zmt_nested_maps(test, false);
}

/*
 * Two maps held (the inner with BH disabled); a third returns NULL, with
 * one warning; the two held maps are intact and the stack works after.
 */
static void third_nested_map_fails(struct kunit *test)
{
	struct zsm_kt_fx *fx = zmt_fx_create(test, 3 * ZSM_MAX_OBJS_PER_ZSPAGE);
	bool pte = zmt_enter_mode(test);
	bool a_ok = false, b_ok = false, fenced;
	unsigned int bad_addr = 0;
	struct zsm_tu_obj *a, *b, *c;
	u8 *pa, *pb, *pc = NULL;

	zmt_fx_pairs(fx);
	a = zmt_find(fx, true, NULL);
	KUNIT_ASSERT_NOT_NULL(test, a);
	b = zmt_find_apart(fx, true, a);
	KUNIT_ASSERT_NOT_NULL(test, b);
	/* The last object is a small one: a third zspage. */
	c = &fx->objs[fx->nr - 1];
	KUNIT_ASSERT_EQ(test, c->size, ZMT_SMALL_SIZE);

	fenced = zmt_fence_begin(zmt_warned_nest3, "zsm_map_nest3");
	pa = zs_map_object(fx->pool, a->handle, ZS_MM_RO);
	KUNIT_ASSERT_NOT_NULL(test, pa);
	local_bh_disable();
	pb = zs_map_object(fx->pool, b->handle, ZS_MM_RO);
	if (pb) {
		pc = zs_map_object(fx->pool, c->handle, ZS_MM_RO);
		if (pc)		/* a bug: undo it to keep the stack sane */
			zs_unmap_object(fx->pool, c->handle);
		a_ok = zsm_tu_csum(pa, a->size) == a->csum;
		b_ok = zsm_tu_csum(pb, b->size) == b->csum;
		zs_unmap_object(fx->pool, b->handle);
	}
	local_bh_enable();
	zs_unmap_object(fx->pool, a->handle);
	zmt_fence_end(fenced, &zmt_warned_nest3, "zsm_map_nest3");

	KUNIT_ASSERT_NOT_NULL(test, pb);
	KUNIT_EXPECT_NULL_MSG(test, pc, "a third nested map succeeded");
	KUNIT_EXPECT_TRUE(test, a_ok);
	KUNIT_EXPECT_TRUE(test, b_ok);
	/* The refused map left its zspage unlocked... */
	KUNIT_EXPECT_TRUE_MSG(test, zmt_unlocked(c), "refused map kept its lock");
	KUNIT_EXPECT_TRUE(test, zmt_unlocked(a));
	KUNIT_EXPECT_TRUE(test, zmt_unlocked(b));
	/* ... and maps work again, with the right bytes. */
	zmt_ro_shows(fx, c);
	zmt_ro_shows(fx, a);
	KUNIT_EXPECT_TRUE(test, zmt_round_trip(fx, b, pte, &bad_addr));
	KUNIT_EXPECT_EQ(test, bad_addr, 0);
}

/*
 * With @a then @b mapped (the inner with BH disabled), an unmap of @a is
 * refused with one warning: both maps stay valid, the proper unmaps of @b
 * then @a work, and RW changes through both land.
 */
static void unmap_out_of_order_is_ignored(struct kunit *test)
{
	struct zsm_kt_fx *fx = zmt_fx_create(test, 3 * ZSM_MAX_OBJS_PER_ZSPAGE);
	struct zsm_tu_obj *a, *b;
	bool a_ok = false, b_ok = false, fenced;
	u8 *pa, *pb;

	zmt_enter_mode(test);
	zmt_fx_pairs(fx);
	a = zmt_find(fx, true, NULL);
	KUNIT_ASSERT_NOT_NULL(test, a);
	b = zmt_find_apart(fx, true, a);
	KUNIT_ASSERT_NOT_NULL(test, b);

	fenced = zmt_fence_begin(zmt_warned_order, "zsm_map_unmap_order");
	pa = zs_map_object(fx->pool, a->handle, ZS_MM_RW);
	KUNIT_ASSERT_NOT_NULL(test, pa);
	local_bh_disable();
	pb = zs_map_object(fx->pool, b->handle, ZS_MM_RW);
	if (pb) {
		zs_unmap_object(fx->pool, a->handle);	/* refused */
		a_ok = zsm_tu_csum(pa, a->size) == a->csum;
		b_ok = zsm_tu_csum(pb, b->size) == b->csum;
		memset(pb, 0x3c, b->size);
		zs_unmap_object(fx->pool, b->handle);
	}
	local_bh_enable();
	if (pb)
		memset(pa, 0xc3, a->size);
	zs_unmap_object(fx->pool, a->handle);
	zmt_fence_end(fenced, &zmt_warned_order, "zsm_map_unmap_order");

	KUNIT_ASSERT_NOT_NULL(test, pb);
	KUNIT_EXPECT_TRUE_MSG(test, a_ok, "outer map after the refused unmap");
	KUNIT_EXPECT_TRUE_MSG(test, b_ok, "inner map after the refused unmap");
	zmt_expect_nest_written_back(fx, a, b);
	zmt_ro_shows(fx, a);
}

/* === Read/write API ====================================================== */

/*
 * zs_obj_write() then an RO map; a WO map then zs_obj_read_begin() (which
 * copies a cross-page object into the caller's buffer and returns an
 * in-page one in place); a partial zs_obj_write() keeps the tail.
 */
static void zmt_rw_api_one(struct zsm_kt_fx *fx, struct zsm_tu_obj *o, u8 *local)
{
	struct kunit *test = fx->test;
	unsigned int half = zsm_kt_crosses(o) ? PAGE_SIZE - zsm_kt_poff(o) + 8 : o->size / 2;
	bool where_ok;
	u64 csum;
	u8 *p;

	/* zs_obj_write(), then map RO. */
	zmt_new_contents(fx, o, fx->tmp);
	zs_obj_write(fx->pool, o->handle, fx->tmp, o->size);
	p = zs_map_object(fx->pool, o->handle, ZS_MM_RO);
	KUNIT_ASSERT_NOT_NULL(test, p);
	memcpy(fx->got, p, o->size);
	zs_unmap_object(fx->pool, o->handle);
	zmt_expect_bytes(test, o, fx->got, fx->tmp, "RO map after zs_obj_write");

	/* Map WO, then zs_obj_read_begin(). */
	zmt_new_contents(fx, o, fx->exp);
	p = zs_map_object(fx->pool, o->handle, ZS_MM_WO);
	KUNIT_ASSERT_NOT_NULL(test, p);
	memcpy(p, fx->exp, o->size);
	zs_unmap_object(fx->pool, o->handle);
	memset(local, 0, PAGE_SIZE);
	p = zs_obj_read_begin(fx->pool, o->handle, o->size, local);
	KUNIT_ASSERT_NOT_NULL(test, p);
	csum = zsm_tu_csum(p, o->size);
	memcpy(fx->got, p, o->size);
	where_ok = zsm_kt_crosses(o) ? p == local : p != local && !is_vmalloc_addr(p);
	zs_obj_read_end(fx->pool, o->handle, o->size, p);
	KUNIT_EXPECT_TRUE_MSG(test, where_ok,
			      "zs_obj_read_begin of a%s object returned %s",
			      zsm_kt_crosses(o) ? " cross-page" : "n in-page",
			      p == local ? "the local copy" : "another address");
	if (csum != o->csum)
		zmt_expect_bytes(test, o, fx->got, fx->exp,
				 "zs_obj_read_begin after a WO map");

	/* A partial zs_obj_write() (past the page boundary) keeps the tail. */
	zsm_tu_fill(fx->tmp, half, o->id, o->gen ^ 0x55555555);
	memcpy(fx->exp, fx->tmp, half);
	zs_obj_write(fx->pool, o->handle, fx->tmp, half);
	p = zs_map_object(fx->pool, o->handle, ZS_MM_RO);
	KUNIT_ASSERT_NOT_NULL(test, p);
	memcpy(fx->got, p, o->size);
	zs_unmap_object(fx->pool, o->handle);
	zmt_expect_bytes(test, o, fx->got, fx->exp, "partial zs_obj_write");
	KUNIT_EXPECT_TRUE(test, zmt_unlocked(o));
	zmt_set(fx, o);
}

static void read_write_api_with_maps(struct kunit *test)
{
	struct zsm_kt_fx *fx = zmt_fx_create(test, ZSM_MAX_OBJS_PER_ZSPAGE);
	struct zsm_tu_obj *cross, *inpage;
	u8 *local = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);
	unsigned int i;

	if (!local)
		kunit_skip(test, "cannot allocate a buffer");
	zmt_enter_mode(test);
	zmt_fx_fill(fx, ZMT_LARGE_SIZE, 1);
	cross = zmt_find(fx, true, NULL);
	inpage = zmt_find(fx, false, NULL);
	KUNIT_ASSERT_NOT_NULL(test, cross);
	KUNIT_ASSERT_NOT_NULL(test, inpage);
	zmt_rw_api_one(fx, cross, local);
	zmt_rw_api_one(fx, inpage, local);
	for (i = 0; i < fx->nr; i++)
		zmt_expect_stored(fx, &fx->objs[i], "neighbour");
}

/* === Compaction against a held map ====================================== */

/* zs_compact() from a kthread bound to another CPU. */
struct zmt_compactor {
	struct zs_pool *pool;
	struct task_struct *task;
	struct completion done;
	unsigned long freed;
};

static int zmt_compactor_fn(void *data)
{
	struct zmt_compactor *c = data;

	c->freed = zs_compact(c->pool);
	complete(&c->done);
	/* Exit only through kthread_stop(): the task stays valid for it. */
	set_current_state(TASK_INTERRUPTIBLE);
	while (!kthread_should_stop()) {
		schedule();
		set_current_state(TASK_INTERRUPTIBLE);
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

static void zmt_compactor_stop(void *data)
{
	struct zmt_compactor *c = data;

	kthread_stop(c->task);
}

/*
 * While an object is mapped its bytes must stay where the map points (in
 * pte mode the window maps its pages), so compaction must leave its zspage
 * alone, without waiting for the map either: the mapper may be waiting for
 * the compaction (here it spins, preemption off, until zs_compact() on
 * another CPU returns). After the unmap, compaction moves the object.
 *
 *   zspage 1: | A |   |   |   |     A alone: the first zspage to empty
 *   zspage 2: | x |   | x |   |
 *   zspage 3: | x |   | x |   |
 */
static void compaction_skips_mapped_zspage(struct kunit *test)
{
	struct zsm_kt_fx *fx = zmt_fx_create(test, 3 * ZSM_MAX_OBJS_PER_ZSPAGE);
	bool done = false, moved = false, ok = false;
	struct zmt_compactor *c;
	unsigned long before, freed;
	unsigned int cpu, other, i;
	const struct zsm_geom *g;
	struct zsm_tu_obj *a;
	u64 start;
	u8 *p;

	zmt_enter_mode(test);
	if (num_online_cpus() < 2)
		kunit_skip(test, "needs two online CPUs");
	c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	if (!c)
		kunit_skip(test, "cannot allocate the compactor");
	g = zmt_fx_fill(fx, ZMT_LARGE_SIZE, 3);
	a = zmt_find(fx, true, NULL);
	KUNIT_ASSERT_NOT_NULL(test, a);
	for (i = 0; i < fx->nr; i++) {
		struct zsm_tu_obj *o = &fx->objs[i];

		if (o == a)
			continue;
		if (zsm_kt_zspage(o) == zsm_kt_zspage(a) || (i & 1))
			zsm_kt_free(fx, i);
	}

	c->pool = fx->pool;
	init_completion(&c->done);
	migrate_disable();
	cpu = smp_processor_id();
	other = cpumask_any_but(cpu_online_mask, cpu);
	c->task = kthread_create(zmt_compactor_fn, c, "zmt_compact");
	if (IS_ERR(c->task)) {
		migrate_enable();
		kunit_skip(test, "cannot create a kthread");
	}
	kthread_bind(c->task, other);

	before = READ_ONCE(*(unsigned long *)a->handle);
	p = zs_map_object(fx->pool, a->handle, ZS_MM_RO);
	if (p) {
		wake_up_process(c->task);
		start = ktime_get_ns();
		while (!completion_done(&c->done) &&
		       ktime_get_ns() - start < ZMT_SPIN_NS)
			cpu_relax();
		done = completion_done(&c->done);
		moved = READ_ONCE(*(unsigned long *)a->handle) != before;
		ok = zsm_tu_csum(p, a->size) == a->csum;
		zs_unmap_object(fx->pool, a->handle);
	} else {
		wake_up_process(c->task);
	}
	migrate_enable();
	/* Stopped after the wait below, or when the case aborts. */
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, zmt_compactor_stop, c));
	KUNIT_ASSERT_NE_MSG(test, wait_for_completion_timeout(&c->done, ZMT_WAIT),
			    0, "zs_compact() did not return");
	KUNIT_ASSERT_NOT_NULL(test, p);
	kunit_info(test, "class size %u: compaction during the map freed %lu pages\n",
		   g->size, c->freed);
	KUNIT_EXPECT_TRUE_MSG(test, done,
			      "zs_compact() waited for a held map (CPU %u, compactor on %u)",
			      cpu, other);
	KUNIT_EXPECT_FALSE_MSG(test, moved, "a mapped object was moved");
	KUNIT_EXPECT_TRUE_MSG(test, ok, "the map changed during compaction");

	/* Unmapped, it moves: its zspage is the emptiest. */
	freed = zs_compact(fx->pool);
	KUNIT_EXPECT_GE(test, freed, g->pages);
	KUNIT_EXPECT_NE_MSG(test, READ_ONCE(*(unsigned long *)a->handle), before,
			    "the object did not move after its unmap");
	for (i = 0; i < fx->nr; i++) {
		if (fx->objs[i].handle)
			zmt_expect_stored(fx, &fx->objs[i], "after compaction");
	}
	zmt_ro_shows(fx, a);
}

/* === Mode switch ========================================================= */

/*
 * A map made in one mode and undone after a switch to the other: the unmap
 * follows the map's own mode (a copy is written back, a window is torn
 * down), and the next map uses the new mode.
 */
static void mode_switch_keeps_live_map(struct kunit *test)
{
	struct zsm_kt_fx *fx = zmt_fx_create(test, ZSM_MAX_OBJS_PER_ZSPAGE);
	bool pte = zmt_enter_mode(test);
	unsigned int bad_addr = 0;
	struct zsm_tu_obj *o;
	bool addr_ok;
	u8 *p;

	/* Both modes must be possible to switch. */
	zmt_switch(test, true);
	zmt_switch(test, pte);
	zmt_fx_fill(fx, ZMT_LARGE_SIZE, 1);
	o = zmt_find(fx, true, NULL);
	KUNIT_ASSERT_NOT_NULL(test, o);

	zmt_contents(o, fx->exp);
	p = zs_map_object(fx->pool, o->handle, ZS_MM_RW);
	KUNIT_ASSERT_NOT_NULL(test, p);
	addr_ok = zmt_addr_ok(o, p, pte);
	zsm_map_set_mode(!pte);
	memcpy(fx->got, p, o->size);
	memset(p + PAGE_SIZE - zsm_kt_poff(o) - 4, 0x77, 8);
	zs_unmap_object(fx->pool, o->handle);

	KUNIT_EXPECT_TRUE(test, addr_ok);
	zmt_expect_bytes(test, o, fx->got, fx->exp, "map before the switch");
	memset(fx->exp + PAGE_SIZE - zsm_kt_poff(o) - 4, 0x77, 8);
	zmt_peek(o, fx->got);
	zmt_expect_bytes(test, o, fx->got, fx->exp, "unmap after the switch");
	KUNIT_EXPECT_TRUE(test, zmt_unlocked(o));
	KUNIT_EXPECT_TRUE(test, zmt_round_trip(fx, o, !pte, &bad_addr));
	KUNIT_EXPECT_EQ_MSG(test, bad_addr, 0, "map after the switch");
}

/* === Every size, full zspages ========================================== */

/* Every size 1..PAGE_SIZE, all alive at once so that they share zspages. */
static void every_size_round_trips(struct kunit *test)
{
	struct zsm_kt_fx *fx = zsm_kt_fx_create(test, "zsm_kunit_sizes", PAGE_SIZE);
	unsigned int size, i, crossing = 0;

	zmt_enter_mode(test);

	for (size = 1; size <= PAGE_SIZE; size++) {
		int ret = zsm_kt_alloc(fx, size, GFP_KERNEL);

		KUNIT_ASSERT_GE_MSG(test, ret, 0, "zs_malloc(%u)", size);
		if (!(size % 64))
			cond_resched();
	}
	for (i = 0; i < fx->nr; i++) {
		if (zsm_kt_check(fx, i) && zsm_kt_crosses(&fx->objs[i]))
			crossing++;
		if (!(i % 64))
			cond_resched();
	}
	kunit_info(test, "%u objects checked, %u of them cross a page boundary\n",
		   fx->nr, crossing);
	KUNIT_EXPECT_GT(test, crossing, 0);
	for (i = 0; i < fx->nr; i++)
		zsm_kt_free(fx, i);
	KUNIT_EXPECT_EQ(test, zsm_kt_total_pages(fx->pool), 0);
}

#define ZMT_SPLIT_ZSPAGES	3

/*
 * For every class whose objects cross pages, ZMT_SPLIT_ZSPAGES full zspages
 * (and no more: the class packs them); every object is checked, and the
 * cross-page ones must start at every split offset the class has, each
 * mapped in the mode under test.
 */
static void split_points_of_full_zspages(struct kunit *test)
{
	DECLARE_BITMAP(want, ZSM_KT_OFFSET_BITS);
	DECLARE_BITMAP(seen, ZSM_KT_OFFSET_BITS);
	unsigned int cap = ZMT_SPLIT_ZSPAGES * ZSM_MAX_OBJS_PER_ZSPAGE;
	struct zsm_kt_fx *fx = zsm_kt_fx_create(test, "zsm_kunit_split", cap);
	unsigned int ci, classes = 0, splits = 0, wrong_mode = 0;
	bool pte = zmt_enter_mode(test);

	for (ci = zsm_kt_cross_class(0, 0); ci < ZSM_NR_CLASSES;
	     ci = zsm_kt_cross_class(ci + 1, 0)) {
		const struct zsm_geom *g = &zsm_classes.geom[ci];
		unsigned int n = ZMT_SPLIT_ZSPAGES * g->objs;
		unsigned long zspages, inuse;
		unsigned int i, nsplit;

		nsplit = zsm_kt_split_offsets(g, want);
		bitmap_zero(seen, ZSM_KT_OFFSET_BITS);
		fx->nr = 0;
		/* The class is empty: @n objects fill exactly @n / objs zspages. */
		for (i = 0; i < n; i++) {
			int ret = zsm_kt_alloc(fx, g->size, GFP_KERNEL);

			KUNIT_ASSERT_GE_MSG(test, ret, 0, "class %u size %u",
					    ci, g->size);
			KUNIT_ASSERT_LT_MSG(test, zsm_kt_slot(&fx->objs[i]),
					    g->objs, "class %u size %u", ci,
					    g->size);
		}
		zsm_kt_class_counts(zsm_pool(fx->pool)->classes[ci], &zspages, &inuse);
		KUNIT_EXPECT_EQ_MSG(test, zspages, ZMT_SPLIT_ZSPAGES,
				    "class %u size %u", ci, g->size);
		for (i = 0; i < n; i++) {
			struct zsm_tu_obj *o = &fx->objs[i];
			void *buf;

			if (!zsm_kt_check(fx, i) || !zsm_kt_crosses(o))
				continue;
			__set_bit(zsm_kt_poff(o) / ZSM_ALIGN,
				  seen);
			/* The map really is of the mode under test. */
			buf = zsm_kt_map(fx, o->handle, ZS_MM_RO);
			if (is_vmalloc_addr(buf) != pte)
				wrong_mode++;
			zs_unmap_object(fx->pool, o->handle);
		}
		KUNIT_EXPECT_GT_MSG(test, nsplit, 0, "class %u size %u", ci,
				    g->size);
		KUNIT_EXPECT_TRUE_MSG(test,
				      bitmap_equal(want, seen, ZSM_KT_OFFSET_BITS),
				      "class %u size %u: %u of %u split offsets round-tripped",
				      ci, g->size,
				      bitmap_weight(seen, ZSM_KT_OFFSET_BITS),
				      nsplit);
		for (i = 0; i < n; i++)
			zsm_kt_free(fx, i);
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
	KUNIT_EXPECT_EQ(test, zsm_kt_total_pages(fx->pool), 0);
}

/* === One zspage: RW, RO, nesting ======================================== */

/*
 * Fill one zspage of a class in which two or more objects cross pages, from
 * an empty class, and return one object that crosses a page boundary
 * (*@cross) and one that lies inside a page (*@inpage).
 */
static void zmt_cross_and_inpage(struct kunit *test, struct zsm_kt_fx *fx,
				 unsigned int *cross, unsigned int *inpage)
{
	/* Two crossing objects: the nested-map cases map two at once. */
	unsigned int ci = zsm_kt_cross_class_n(0, 256, 2);
	const struct zsm_geom *g;
	unsigned int i;

	if (ci == ZSM_NR_CLASSES)
		ci = zsm_kt_cross_class_n(0, 0, 2);
	KUNIT_ASSERT_LT(test, ci, ZSM_NR_CLASSES);
	g = &zsm_classes.geom[ci];
	*cross = *inpage = UINT_MAX;
	for (i = 0; i < g->objs; i++) {
		int ret = zsm_kt_alloc(fx, g->size, GFP_KERNEL);

		KUNIT_ASSERT_GE_MSG(test, ret, 0, "class %u size %u", ci,
				    g->size);
		if (zsm_kt_crosses(&fx->objs[ret]))
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
 * Map object @i ZS_MM_RW: it must show its current bytes; flip bytes
 * around the page boundary (or the middle of an in-page object) and at both
 * ends; after unmap a ZS_MM_RO map must show the changes.
 */
static void zmt_rw_one(struct kunit *test, struct zsm_kt_fx *fx,
		       unsigned int i)
{
	struct zsm_tu_obj *o = &fx->objs[i];
	u8 *exp = fx->tmp;
	unsigned int off = zsm_kt_poff(o);
	unsigned int mid = off + o->size > PAGE_SIZE ? PAGE_SIZE - off :
		o->size / 2;
	unsigned int from = mid > 24 ? mid - 24 : 0;
	unsigned int to = min(mid + 24, o->size);
	bool before, after;
	unsigned int k;
	u8 *buf;

	zmt_contents(o, exp);
	for (k = from; k < to; k++)
		exp[k] = ~exp[k] ^ k;
	exp[0] ^= 0xff;
	exp[o->size - 1] ^= 0xff;

	buf = zsm_kt_map(fx, o->handle, ZS_MM_RW);
	before = zsm_tu_csum(buf, o->size) == o->csum;
	for (k = from; k < to; k++)
		buf[k] = ~buf[k] ^ k;
	buf[0] ^= 0xff;
	buf[o->size - 1] ^= 0xff;
	zs_unmap_object(fx->pool, o->handle);

	buf = zsm_kt_map(fx, o->handle, ZS_MM_RO);
	after = !memcmp(buf, exp, o->size);
	zs_unmap_object(fx->pool, o->handle);

	KUNIT_EXPECT_TRUE_MSG(test, before,
			      "RW map of size %u at page offset %u: wrong bytes",
			      o->size, off);
	KUNIT_EXPECT_TRUE_MSG(test, after,
			      "RW changes of size %u at page offset %u (bytes %u..%u) lost",
			      o->size, off, from, to);
	o->csum = zsm_tu_csum(exp, o->size);
}

static void rw_map_writes_back(struct kunit *test)
{
	struct zsm_kt_fx *fx = zsm_kt_fx_create(test, "zsm_kunit_rw",
					  ZSM_MAX_OBJS_PER_ZSPAGE);
	unsigned int cross, inpage, i;

	zmt_enter_mode(test);
	zmt_cross_and_inpage(test, fx, &cross, &inpage);
	zmt_rw_one(test, fx, cross);
	zmt_rw_one(test, fx, inpage);
	/* The neighbours of the two objects are untouched. */
	for (i = 0; i < fx->nr; i++)
		zsm_kt_check(fx, i);
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
	struct zsm_kt_fx *fx = zsm_kt_fx_create(test, "zsm_kunit_ro",
					  ZSM_MAX_OBJS_PER_ZSPAGE);
	unsigned int cross, inpage;
	struct zsm_tu_obj *o;
	void *buf;

	zmt_switch(test, false);
	zmt_cross_and_inpage(test, fx, &cross, &inpage);
	o = &fx->objs[cross];
	buf = zsm_kt_map(fx, o->handle, ZS_MM_RO);
	memset(buf, 0xa5, o->size);
	zs_unmap_object(fx->pool, o->handle);
	KUNIT_EXPECT_TRUE_MSG(test, zsm_kt_check(fx, cross),
			      "RO map of size %u at page offset %u written back",
			      o->size, zsm_kt_poff(o));
}

/*
 * Maps nest two deep on a CPU. Two cross-page objects of one zspage are
 * mapped RW, the inner one either from softirq context (an interrupt
 * mapping while the interrupted task holds a map: @inner_bh) or from the
 * same task (a copy from one object to another). The inner map must not
 * disturb the outer one, and unmaps in reverse order write each back.
 */
static void zmt_nested_one_zspage(struct kunit *test, bool inner_bh)
{
	struct zsm_kt_fx *fx = zsm_kt_fx_create(test, "zsm_kunit_nest",
					  ZSM_MAX_OBJS_PER_ZSPAGE);
	unsigned int cross, inpage, other = UINT_MAX, i;
	struct zsm_tu_obj *a, *b;
	bool a_ok, b_ok;
	u8 *pa, *pb;

	zmt_enter_mode(test);
	zmt_cross_and_inpage(test, fx, &cross, &inpage);
	for (i = 0; i < fx->nr; i++) {
		if (i != cross && zsm_kt_crosses(&fx->objs[i]))
			other = i;
	}
	KUNIT_ASSERT_NE(test, other, UINT_MAX);
	a = &fx->objs[cross];
	b = &fx->objs[other];

	pa = zsm_kt_map(fx, a->handle, ZS_MM_RW);
	if (inner_bh)
		local_bh_disable();
	pb = zsm_kt_map(fx, b->handle, ZS_MM_RW);
	a_ok = zsm_tu_csum(pa, a->size) == a->csum;
	b_ok = zsm_tu_csum(pb, b->size) == b->csum;
	memset(pb, 0x3c, b->size);
	zs_unmap_object(fx->pool, b->handle);
	if (inner_bh)
		local_bh_enable();
	a_ok = a_ok && zsm_tu_csum(pa, a->size) == a->csum;
	memset(pa, 0xc3, a->size);
	zs_unmap_object(fx->pool, a->handle);

	KUNIT_EXPECT_TRUE_MSG(test, a_ok, "outer map of size %u at %u",
			      a->size, zsm_kt_poff(a));
	KUNIT_EXPECT_TRUE_MSG(test, b_ok, "inner map of size %u at %u",
			      b->size, zsm_kt_poff(b));
	memset(fx->exp, 0xc3, a->size);
	a->csum = zsm_tu_csum(fx->exp, a->size);
	memset(fx->exp, 0x3c, b->size);
	b->csum = zsm_tu_csum(fx->exp, b->size);
	for (i = 0; i < fx->nr; i++)
		zsm_kt_check(fx, i);
}

static void nested_maps_of_one_zspage_in_softirq(struct kunit *test)
{
	zmt_nested_one_zspage(test, true);
}

/*
 * Both maps from one task. Run at the end of the suite, with
 * nested_maps_in_task: a lockdep report turns lockdep off for everything
 * after it.
 */
static void nested_maps_of_one_zspage_in_task(struct kunit *test)
{
	zmt_nested_one_zspage(test, false);
}

/* === Atomic context ====================================================== */

/*
 * zs_malloc() without __GFP_DIRECT_RECLAIM under a spinlock (succeeds or
 * fails with -ENOMEM; a sleep would be reported by DEBUG_ATOMIC_SLEEP),
 * maps with preemption and then BH disabled, zs_free() under a spinlock.
 */
static DEFINE_SPINLOCK(zmt_atomic_lock);

#define ZMT_ATOMIC_ROUNDS	8

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
			   ZMT_ATOMIC_ROUNDS;
	struct zsm_kt_fx *fx = zsm_kt_fx_create(test, "zsm_kunit_atomic", cap);
	unsigned int g, s, r, i, nomem = 0, intact = 0;
	int bad = 0;

	zmt_enter_mode(test);
	sizes[5] = zs_huge_class_size(fx->pool);
	for (g = 0; g < ARRAY_SIZE(gfps); g++) {
		for (s = 0; s < ARRAY_SIZE(sizes); s++) {
			for (r = 0; r < ZMT_ATOMIC_ROUNDS; r++) {
				int ret;

				spin_lock(&zmt_atomic_lock);
				ret = zsm_kt_alloc(fx, sizes[s], gfps[g]);
				spin_unlock(&zmt_atomic_lock);
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
		struct zsm_tu_obj *o = &fx->objs[i];
		void *buf = zs_map_object(fx->pool, o->handle, ZS_MM_RO);

		if (!buf)
			continue;
		if (zsm_tu_csum(buf, o->size) == o->csum)
			intact++;
		zs_unmap_object(fx->pool, o->handle);
	}
	preempt_enable();
	KUNIT_EXPECT_EQ_MSG(test, intact, fx->nr,
			    "objects intact, mapped with preemption off");

	intact = 0;
	local_bh_disable();
	for (i = 0; i < fx->nr; i++) {
		struct zsm_tu_obj *o = &fx->objs[i];
		u8 *buf = zs_map_object(fx->pool, o->handle, ZS_MM_RW);

		if (!buf)
			continue;	/* counted below as not intact */
		/* The RW map shows the object before it is changed. */
		if (zsm_tu_csum(buf, o->size) == o->csum)
			intact++;
		buf[0] ^= 0x5a;
		buf[o->size - 1] ^= 0xa5;
		o->csum = zsm_tu_csum(buf, o->size);
		zs_unmap_object(fx->pool, o->handle);
	}
	local_bh_enable();
	KUNIT_EXPECT_EQ_MSG(test, intact, fx->nr,
			    "objects intact, RW-mapped with BH off");
	for (i = 0; i < fx->nr; i++)
		zsm_kt_check(fx, i);

	spin_lock(&zmt_atomic_lock);
	for (i = 0; i < fx->nr; i++)
		zsm_kt_free(fx, i);
	spin_unlock(&zmt_atomic_lock);
	KUNIT_EXPECT_EQ(test, zsm_kt_total_pages(fx->pool), 0);
}

/* === Suite =============================================================== */

/* Probe zsm's mode: a cross-page map is a pte window iff it is in vmalloc. */
static int zmt_suite_init(struct kunit_suite *suite)
{
	unsigned int ci = zsm_kt_cross_class(0, ZMT_LARGE_SIZE);
	const struct zsm_geom *g;
	unsigned long *handles;
	struct zs_pool *pool;
	int ret = -ENODEV;
	unsigned int i;

	if (ci == ZSM_NR_CLASSES)
		return -ENODEV;
	g = &zsm_classes.geom[ci];
	handles = kcalloc(g->objs, sizeof(*handles), GFP_KERNEL);
	pool = zs_create_pool("zsm_map_kunit_probe");
	if (!handles || !pool) {
		ret = -ENOMEM;
		goto out;
	}
	/* Objects fill the slots of one zspage until one crosses pages. */
	for (i = 0; i < g->objs; i++) {
		struct zsm_tu_obj o = { .size = g->size };
		void *p;

		handles[i] = zsm_zs_malloc(pool, o.size, GFP_KERNEL);
		if (IS_ERR_VALUE(handles[i])) {
			handles[i] = 0;
			ret = -ENOMEM;
			break;
		}
		o.handle = handles[i];
		if (!zsm_kt_crosses(&o))
			continue;
		p = zs_map_object(pool, o.handle, ZS_MM_RO);
		if (!p)
			break;
		zmt_orig_pte = is_vmalloc_addr(p);
		zs_unmap_object(pool, o.handle);
		ret = 0;
		break;
	}
	for (i = 0; handles && i < g->objs; i++) {
		if (handles[i])
			zs_free(pool, handles[i]);
	}
out:
	if (pool)
		zs_destroy_pool(pool);
	kfree(handles);
	if (!ret)
		pr_info("zsm was in %s mode\n", zmt_orig_pte ? "pte" : "copy");
	return ret;
}

static void zmt_restore_mode(void)
{
	zsm_map_set_mode(zmt_orig_pte);
}

static void zmt_case_exit(struct kunit *test)
{
	zmt_restore_mode();
}

static void zmt_suite_exit(struct kunit_suite *suite)
{
	zmt_restore_mode();
}

static struct kunit_case zmt_cases[] = {
	KUNIT_CASE_PARAM(every_class_round_trips, zmt_mode_gen_params),
	KUNIT_CASE_PARAM(cross_page_split_points, zmt_mode_gen_params),
	KUNIT_CASE_PARAM(ro_wo_rw_semantics, zmt_mode_gen_params),
	KUNIT_CASE_PARAM(maps_from_process_context, zmt_mode_gen_params),
	KUNIT_CASE_PARAM(maps_from_softirq, zmt_mode_gen_params),
	KUNIT_CASE_PARAM(maps_with_irqs_disabled, zmt_mode_gen_params),
	KUNIT_CASE_PARAM(softirq_map_nests_in_task_map, zmt_mode_gen_params),
	KUNIT_CASE_PARAM(nested_maps_work, zmt_mode_gen_params),
	KUNIT_CASE_PARAM(third_nested_map_fails, zmt_mode_gen_params),
	KUNIT_CASE_PARAM(unmap_out_of_order_is_ignored, zmt_mode_gen_params),
	KUNIT_CASE_PARAM(read_write_api_with_maps, zmt_mode_gen_params),
	KUNIT_CASE_PARAM(compaction_skips_mapped_zspage, zmt_mode_gen_params),
	KUNIT_CASE_PARAM(mode_switch_keeps_live_map, zmt_mode_gen_params),
	KUNIT_CASE_PARAM(every_size_round_trips, zmt_mode_gen_params),
	KUNIT_CASE_PARAM(split_points_of_full_zspages, zmt_mode_gen_params),
	KUNIT_CASE_PARAM(rw_map_writes_back, zmt_mode_gen_params),
	KUNIT_CASE(ro_map_is_not_written_back),
	KUNIT_CASE_PARAM(nested_maps_of_one_zspage_in_softirq,
			 zmt_mode_gen_params),
	KUNIT_CASE_PARAM(atomic_context_alloc_and_map, zmt_mode_gen_params),
	KUNIT_CASE_PARAM(nested_maps_of_one_zspage_in_task, zmt_mode_gen_params),
	KUNIT_CASE_PARAM(nested_maps_in_task, zmt_mode_gen_params),
	{}
};

static struct kunit_suite zmt_suite = {
	.name = "zsm_map",
	.suite_init = zmt_suite_init,
	.suite_exit = zmt_suite_exit,
	.exit = zmt_case_exit,
	.test_cases = zmt_cases,
};

kunit_test_suite(zmt_suite);

MODULE_DESCRIPTION("KUnit tests for zsm: object mapping in pte and copy mode (zsm_map)");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(ZSM_KUNIT_NS);
