// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite zsm_obj: the object API of 7.x (zs_obj_read_begin()/_end()
 * with mem_len, zs_obj_read_sg_begin()/_end()) and zs_malloc()'s node,
 * which zsm exports on every kernel.
 *
 * Cases:
 * - mem_len_split_points: one full zspage of each of three multi-page
 *   classes, so that an object straddles every page boundary of each
 *   chain. Every object is read with mem_len 1, the object's size, and,
 *   for an object that crosses a boundary at s bytes, s - 1, s and s + 1:
 *   read in place exactly when its first mem_len bytes lie in one page
 *   (then at its address in that page, the caller's buffer untouched),
 *   else copied into the buffer, mem_len bytes and not one more; the
 *   bytes are the ones written.
 * - sg_in_page_and_spanning: the same objects and lengths through the SG
 *   read: one entry (page, offset, length) for bytes in one page, two for
 *   bytes that cross; the entries name the zspage's own pages and hold
 *   the object's bytes; while the SG read is held the zspage refuses
 *   writers (compaction, migration), after its end it does not.
 * - reader_sleeps (in place, copied, SG): a reader holds an object of a
 *   sparse zspage and sleeps while another thread compacts the pool and
 *   tries to migrate a page of that zspage. Sleeping must be allowed (the
 *   debug guest reports sleeping in atomic context), compaction must
 *   finish without waiting for the reader, migration must be refused
 *   (-EAGAIN), and the object must stay where it is, bytes unchanged, until
 *   the read ends; then everything reads back after another compaction.
 * - alloc_on_node: for every online node, a fresh pool's first zspage,
 *   filled, has all its pages on that node (zsm_alloc_object(), and
 *   zs_malloc() where it takes the node); the guest of 7.x boots with two
 *   emulated nodes (numa=fake=2), and the node count is logged.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/highmem.h>
#include <linux/kthread.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/nodemask.h>
#include <linux/pagemap.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/zsmalloc.h>

#include "zsm_internal.h"

/* Byte the caller's buffer holds before a read, to see what was written. */
#define ZOK_POISON	0xa5

struct zok_fx {
	struct kunit *test;
	struct zs_pool *pool;
	unsigned long *handles;
	u32 *seeds;
	unsigned int *sizes;
	unsigned int nr, cap;
	u8 *buf;		/* PAGE_SIZE: the caller's local copy */
	u8 *exp;		/* PAGE_SIZE: expected bytes */
};

/* The object bytes of seed @seed: an xorshift stream. */
static void zok_fill(u8 *buf, unsigned int len, u32 seed)
{
	u32 x = seed | 1;
	unsigned int i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = x;
	}
}

static void zok_fx_release(void *arg)
{
	struct zok_fx *fx = arg;
	unsigned int i;

	for (i = 0; i < fx->nr; i++)
		zs_free(fx->pool, fx->handles[i]);
	zs_destroy_pool(fx->pool);
}

static struct zok_fx *zok_fx_create(struct kunit *test, unsigned int cap)
{
	struct zok_fx *fx = kunit_kzalloc(test, sizeof(*fx), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, fx);
	fx->test = test;
	fx->cap = cap;
	fx->handles = kunit_kcalloc(test, cap, sizeof(*fx->handles), GFP_KERNEL);
	fx->seeds = kunit_kcalloc(test, cap, sizeof(*fx->seeds), GFP_KERNEL);
	fx->sizes = kunit_kcalloc(test, cap, sizeof(*fx->sizes), GFP_KERNEL);
	fx->buf = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);
	fx->exp = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_TRUE(test, fx->handles && fx->seeds && fx->sizes &&
			  fx->buf && fx->exp);
	fx->pool = zs_create_pool("zsm_obj_kunit");
	KUNIT_ASSERT_NOT_NULL(test, fx->pool);
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, zok_fx_release, fx));
	return fx;
}

/* Allocate an object of @size on node @nid and write its bytes. */
static unsigned int zok_alloc(struct zok_fx *fx, unsigned int size, int nid)
{
	unsigned int i = fx->nr;
	unsigned long h;

	KUNIT_ASSERT_LT(fx->test, i, fx->cap);
	h = zsm_alloc_object(zsm_pool(fx->pool), size, GFP_KERNEL, nid);
	KUNIT_ASSERT_FALSE_MSG(fx->test, IS_ERR_VALUE(h), "alloc(%u): %ld",
			       size, (long)h);
	fx->handles[i] = h;
	fx->sizes[i] = size;
	fx->seeds[i] = 0x9e3779b9u * (i + 1) ^ size;
	zok_fill(fx->exp, size, fx->seeds[i]);
	zs_obj_write(fx->pool, h, fx->exp, size);
	fx->nr++;
	return i;
}

static void zok_free(struct zok_fx *fx, unsigned int i)
{
	zs_free(fx->pool, fx->handles[i]);
	fx->handles[i] = 0;
}

/* Where object @i is; nothing moves it while the case runs single-handed. */
static struct zsm_zspage *zok_where(struct zok_fx *fx, unsigned int i,
				    unsigned int *idx)
{
	unsigned long obj = READ_ONCE(*(unsigned long *)fx->handles[i]);

	*idx = zsm_obj_idx(obj);
	return zsm_obj_zspage(obj);
}

/* Compare @len bytes at @p with object @i's; report the first difference. */
static bool zok_bytes_ok(struct zok_fx *fx, unsigned int i, const u8 *p,
			 unsigned int len, const char *what)
{
	unsigned int k;

	zok_fill(fx->exp, fx->sizes[i], fx->seeds[i]);
	for (k = 0; k < len; k++) {
		if (p[k] != fx->exp[k]) {
			KUNIT_FAIL(fx->test,
				   "%s: object %u (size %u), byte %u of %u: %02x != %02x",
				   what, i, fx->sizes[i], k, len, p[k],
				   fx->exp[k]);
			return false;
		}
	}
	return true;
}

/* Read every live object of @fx in full and check it. */
static void zok_check_all(struct zok_fx *fx, const char *what)
{
	unsigned int i;
	void *p;

	for (i = 0; i < fx->nr; i++) {
		if (!fx->handles[i])
			continue;
		p = zs_obj_read_begin(fx->pool, fx->handles[i], fx->sizes[i],
				      fx->buf);
		KUNIT_ASSERT_NOT_NULL(fx->test, p);
		zok_bytes_ok(fx, i, p, fx->sizes[i], what);
		zs_obj_read_end(fx->pool, fx->handles[i], fx->sizes[i], p);
	}
}

/*
 * Three multi-page classes whose objects cross page boundaries: the first,
 * one from the middle and the last (largest) such class.
 */
static bool zok_crossing(unsigned int i)
{
	const struct zsm_geom *g = &zsm_classes.geom[i];

	return g->index == i && !g->huge && g->pages > 1 && PAGE_SIZE % g->size;
}

/*
 * Counted first, then picked: a table of all of them would not fit the
 * stack with larger pages (ZSM_NR_CLASSES grows with PAGE_SIZE).
 */
static unsigned int zok_pick_classes(const struct zsm_geom **out)
{
	unsigned int i, k = 0, n = 0;

	for (i = 0; i < ZSM_NR_CLASSES; i++)
		n += zok_crossing(i);
	if (n < 3)
		return 0;
	for (i = 0; i < ZSM_NR_CLASSES; i++) {
		if (!zok_crossing(i))
			continue;
		if (k == 0)
			out[0] = &zsm_classes.geom[i];
		if (k == n / 2)
			out[1] = &zsm_classes.geom[i];
		if (k == n - 1)
			out[2] = &zsm_classes.geom[i];
		k++;
	}
	return 3;
}

/* The mem_len values a read of object @i is tried with; returns how many. */
static unsigned int zok_lengths(unsigned int size, unsigned int poff,
				unsigned int *len)
{
	unsigned int n = 0, k, s = PAGE_SIZE - poff;
	unsigned int want[5] = { 1, size, s - 1, s, s + 1 };

	for (k = 0; k < ARRAY_SIZE(want); k++) {
		if (k >= 2 && poff + size <= PAGE_SIZE)
			break;
		if (want[k] >= 1 && want[k] <= size &&
		    (!n || want[k] != len[n - 1]))
			len[n++] = want[k];
	}
	return n;
}

/* A full zspage of class @g: its objects' indices in @fx. */
static void zok_fill_zspage(struct zok_fx *fx, const struct zsm_geom *g)
{
	struct zsm_zspage *first = NULL, *zspage;
	unsigned int i, j, idx;

	for (j = 0; j < g->objs; j++) {
		i = zok_alloc(fx, g->size, NUMA_NO_NODE);
		zspage = zok_where(fx, i, &idx);
		if (!first)
			first = zspage;
		KUNIT_ASSERT_PTR_EQ(fx->test, zspage, first);
		KUNIT_ASSERT_EQ(fx->test, idx, j);
	}
}

/* One read of the split-point cases: object @i's first @len bytes. */
struct zok_read {
	struct zok_fx *fx;
	unsigned int i;
	struct zsm_zspage *zspage;
	unsigned int pg;	/* page of the object's first byte */
	unsigned int poff;	/* its offset in that page */
	unsigned int len;
	bool cross;		/* the @len bytes cross into page @pg + 1 */
};

/*
 * Call @fn for every read of the split-point cases: one full zspage of
 * each class of zok_pick_classes(), every object, every length of
 * zok_lengths(). Return: the objects that cross a page boundary.
 */
static unsigned long zok_each_read(struct kunit *test,
				   void (*fn)(struct zok_read *rd, void *arg),
				   void *arg)
{
	const struct zsm_geom *gs[3];
	unsigned int c, nc = zok_pick_classes(gs);
	unsigned long crossings = 0;

	KUNIT_ASSERT_EQ(test, nc, 3U);
	for (c = 0; c < nc; c++) {
		const struct zsm_geom *g = gs[c];
		struct zok_read rd = { .fx = zok_fx_create(test, g->objs) };

		zok_fill_zspage(rd.fx, g);
		for (rd.i = 0; rd.i < rd.fx->nr; rd.i++) {
			unsigned int idx, len[5], n, k;
			unsigned long off;

			rd.zspage = zok_where(rd.fx, rd.i, &idx);
			off = (unsigned long)idx * g->size;
			rd.poff = offset_in_page(off);
			rd.pg = off >> PAGE_SHIFT;
			crossings += rd.poff + g->size > PAGE_SIZE;
			n = zok_lengths(g->size, rd.poff, len);
			for (k = 0; k < n; k++) {
				rd.len = len[k];
				rd.cross = rd.poff + rd.len > PAGE_SIZE;
				fn(&rd, arg);
			}
		}
		kunit_info(test, "class %u: %u pages, %u objects\n", g->size,
			   g->pages, g->objs);
	}
	return crossings;
}

static void zok_read_one(struct zok_read *rd, void *arg)
{
	struct zok_fx *fx = rd->fx;
	struct kunit *test = fx->test;
	u8 *at = page_address(zsm_zspage_page(rd->zspage, rd->pg));
	unsigned long *reads = arg;
	u8 *p;

	memset(fx->buf, ZOK_POISON, PAGE_SIZE);
	p = zs_obj_read_begin(fx->pool, fx->handles[rd->i], rd->len, fx->buf);
	KUNIT_ASSERT_NOT_NULL(test, p);
	(*reads)++;
	if (rd->cross) {
		KUNIT_EXPECT_PTR_EQ(test, p, fx->buf);
		KUNIT_EXPECT_NULL(test, memchr_inv(fx->buf + rd->len, ZOK_POISON,
						   PAGE_SIZE - rd->len));
	} else {
		KUNIT_EXPECT_PTR_EQ(test, p, at + rd->poff);
		KUNIT_EXPECT_NULL(test, memchr_inv(fx->buf, ZOK_POISON,
						   PAGE_SIZE));
	}
	zok_bytes_ok(fx, rd->i, p, rd->len, "read_begin");
	zs_obj_read_end(fx->pool, fx->handles[rd->i], rd->len, p);
	KUNIT_EXPECT_FALSE(test, zsm_zspage_busy(rd->zspage));
}

static void mem_len_split_points(struct kunit *test)
{
	unsigned long crossings, reads = 0;

	crossings = zok_each_read(test, zok_read_one, &reads);
	kunit_info(test, "%lu reads, %lu page-crossing objects\n", reads,
		   crossings);
	KUNIT_EXPECT_GT(test, crossings, 0UL);
}

/* Copy the bytes of an SG read into @dst; returns the bytes copied. */
static unsigned int zok_sg_copy(struct scatterlist *sg, u8 *dst)
{
	unsigned int n = 0;

	for (; sg; sg = sg_next(sg)) {
		u8 *src = kmap_local_page(sg_page(sg));

		memcpy(dst + n, src + sg->offset, sg->length);
		kunmap_local(src);
		n += sg->length;
	}
	return n;
}

static void zok_sg_read_one(struct zok_read *rd, void *arg)
{
	struct zok_fx *fx = rd->fx;
	struct kunit *test = fx->test;
	unsigned long *entries = arg;
	struct scatterlist sg[2];

	zs_obj_read_sg_begin(fx->pool, fx->handles[rd->i], sg, rd->len);
	KUNIT_EXPECT_TRUE(test, zsm_zspage_busy(rd->zspage));
	KUNIT_EXPECT_PTR_EQ(test, sg_page(&sg[0]),
			    zsm_zspage_page(rd->zspage, rd->pg));
	KUNIT_EXPECT_EQ(test, sg[0].offset, rd->poff);
	if (rd->cross) {
		entries[1]++;
		KUNIT_EXPECT_EQ(test, sg[0].length,
				(unsigned int)PAGE_SIZE - rd->poff);
		KUNIT_EXPECT_FALSE(test, sg_is_last(&sg[0]));
		KUNIT_EXPECT_TRUE(test, sg_is_last(&sg[1]));
		KUNIT_EXPECT_PTR_EQ(test, sg_page(&sg[1]),
				    zsm_zspage_page(rd->zspage, rd->pg + 1));
		KUNIT_EXPECT_EQ(test, sg[1].offset, 0U);
	} else {
		entries[0]++;
		KUNIT_EXPECT_EQ(test, sg[0].length, rd->len);
		KUNIT_EXPECT_TRUE(test, sg_is_last(&sg[0]));
	}
	KUNIT_EXPECT_EQ(test, zok_sg_copy(sg, fx->buf), rd->len);
	zs_obj_read_sg_end(fx->pool, fx->handles[rd->i]);
	KUNIT_EXPECT_FALSE(test, zsm_zspage_busy(rd->zspage));
	zok_bytes_ok(fx, rd->i, fx->buf, rd->len, "sg read");
}

static void sg_in_page_and_spanning(struct kunit *test)
{
	unsigned long entries[2] = { 0, 0 };

	zok_each_read(test, zok_sg_read_one, entries);
	kunit_info(test, "%lu one-entry and %lu two-entry SG reads\n",
		   entries[0], entries[1]);
	KUNIT_EXPECT_GT(test, entries[0], 0UL);
	KUNIT_EXPECT_GT(test, entries[1], 0UL);
}

/* How the sleeping reader holds its object. */
enum zok_read_mode { ZOK_IN_PLACE, ZOK_COPIED, ZOK_SG };

static const char * const zok_mode_names[] = { "in-place", "copied", "sg" };
static const enum zok_read_mode zok_modes[] = { ZOK_IN_PLACE, ZOK_COPIED,
						ZOK_SG };

static void zok_mode_desc(const enum zok_read_mode *m, char *desc)
{
	strscpy(desc, zok_mode_names[*m], KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(zok_mode, zok_modes, zok_mode_desc);

struct zok_mover {
	struct zok_fx *fx;
	struct zsm_zspage *zspage;	/* the one being read */
	struct completion done;
	unsigned long compacted;
	int migrate_rc;
	bool migrate_tried;
};

/* Compact the pool, then try to migrate page 0 of the zspage being read. */
static int zok_mover_fn(void *arg)
{
	struct zok_mover *m = arg;
	struct page *src = zsm_zspage_page(m->zspage, 0);
	struct page *dst;

	m->compacted = zs_compact(m->fx->pool);
	dst = alloc_page(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN);
	if (dst) {
		get_page(src);
		lock_page(src);
		if (trylock_page(dst)) {
			m->migrate_rc = zsm_mops.migrate_page(dst, src,
							      MIGRATE_SYNC);
			m->migrate_tried = true;
			unlock_page(dst);
		}
		unlock_page(src);
		put_page(src);
		/* Ours (migration core's); zsm took its own on success. */
		put_page(dst);
	}
	complete(&m->done);
	return 0;
}

static void reader_sleeps(struct kunit *test)
{
	const enum zok_read_mode mode = *(const enum zok_read_mode *)test->param_value;
	const struct zsm_geom *gs[3];
	const struct zsm_geom *g;
	struct zsm_zspage *zspage;
	struct zok_mover m = { };
	unsigned long moved;
	struct task_struct *t;
	struct scatterlist sg[2];
	unsigned int i, r = UINT_MAX, idx, poff;
	bool want_cross = mode == ZOK_COPIED, cross;
	struct zok_fx *fx;
	u8 *p = NULL;

	KUNIT_ASSERT_EQ(test, zok_pick_classes(gs), 3U);
	g = gs[1];
	fx = zok_fx_create(test, 4 * g->objs);
	/* Four zspages, then every object but one in four freed. */
	for (i = 0; i < 4 * g->objs; i++)
		zok_alloc(fx, g->size, NUMA_NO_NODE);
	for (i = 0; i < fx->nr; i++)
		if (i % 4)
			zok_free(fx, i);
	/* The reader's object: a kept one, crossing a page boundary or not. */
	for (i = 0; i < fx->nr && r == UINT_MAX; i += 4) {
		zok_where(fx, i, &idx);
		poff = offset_in_page((unsigned long)idx * g->size);
		cross = poff + g->size > PAGE_SIZE;
		if (cross == want_cross)
			r = i;
	}
	KUNIT_ASSERT_NE(test, r, UINT_MAX);
	zspage = zok_where(fx, r, &idx);

	if (mode == ZOK_SG) {
		zs_obj_read_sg_begin(fx->pool, fx->handles[r], sg, fx->sizes[r]);
	} else {
		memset(fx->buf, ZOK_POISON, PAGE_SIZE);
		p = zs_obj_read_begin(fx->pool, fx->handles[r], fx->sizes[r],
				      fx->buf);
		KUNIT_ASSERT_NOT_NULL(test, p);
		KUNIT_EXPECT_EQ(test, p == fx->buf, want_cross);
	}

	m.fx = fx;
	m.zspage = zspage;
	init_completion(&m.done);
	t = kthread_run(zok_mover_fn, &m, "zsm_obj_mover");
	if (IS_ERR(t))
		complete(&m.done);
	/* Sleep holding the read: with the mover running meanwhile. */
	msleep(50);
	moved = wait_for_completion_timeout(&m.done, 30 * HZ);
	KUNIT_EXPECT_NE_MSG(test, moved, 0UL,
			    "compaction or migration waited for a sleeping reader");
	msleep(20);

	/* Still held: the object did not move, its bytes did not change. */
	KUNIT_EXPECT_PTR_EQ(test, zok_where(fx, r, &i), zspage);
	KUNIT_EXPECT_TRUE(test, zsm_zspage_busy(zspage));
	if (mode == ZOK_SG) {
		KUNIT_EXPECT_EQ(test, zok_sg_copy(sg, fx->buf), fx->sizes[r]);
		zs_obj_read_sg_end(fx->pool, fx->handles[r]);
		zok_bytes_ok(fx, r, fx->buf, fx->sizes[r], "sg read, slept");
	} else {
		zok_bytes_ok(fx, r, p, fx->sizes[r], "read, slept");
		zs_obj_read_end(fx->pool, fx->handles[r], fx->sizes[r], p);
	}
	if (!moved)
		wait_for_completion(&m.done);
	if (!IS_ERR(t)) {
		KUNIT_EXPECT_TRUE(test, m.migrate_tried);
		KUNIT_EXPECT_EQ_MSG(test, m.migrate_rc, -EAGAIN,
				    "migration of a page held by a reader");
	}
	kunit_info(test, "%s: compaction freed %lu pages while the reader slept\n",
		   zok_mode_names[mode], m.compacted);

	/* Released: everything moves freely again and reads back. */
	KUNIT_EXPECT_FALSE(test, zsm_zspage_busy(zspage));
	zs_compact(fx->pool);
	zok_check_all(fx, "after the read");
}

static void zok_check_nodes(struct kunit *test, struct zok_fx *fx,
			    unsigned int i, int nid)
{
	unsigned int idx, k;
	struct zsm_zspage *zspage = zok_where(fx, i, &idx);

	for (k = 0; k < zspage->nr_pages; k++)
		KUNIT_EXPECT_EQ_MSG(test, page_to_nid(zsm_zspage_page(zspage, k)), nid,
				    "page %u of a zspage allocated on node %d",
				    k, nid);
}

static void alloc_on_node(struct kunit *test)
{
	const struct zsm_geom *gs[3];
	unsigned int nodes = 0;
	int nid;

	KUNIT_ASSERT_EQ(test, zok_pick_classes(gs), 3U);
	for_each_online_node(nid) {
		const struct zsm_geom *g = gs[2];
		struct zok_fx *fx;
		unsigned int j;

		if (!node_state(nid, N_MEMORY))
			continue;
		nodes++;
		fx = zok_fx_create(test, g->objs + 1);
		for (j = 0; j < g->objs; j++)
			zok_alloc(fx, g->size, nid);
		KUNIT_EXPECT_EQ(test, zok_where(fx, 0, &j)->nr_pages, g->pages);
		zok_check_nodes(test, fx, 0, nid);
#ifdef ZSM_HAVE_MALLOC_NID
		{
			/* The exported entry: a new zspage of another class. */
			unsigned long h = zs_malloc(fx->pool, gs[0]->size,
						    GFP_KERNEL, nid);

			KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(h));
			fx->handles[fx->nr] = h;
			fx->sizes[fx->nr] = gs[0]->size;
			fx->seeds[fx->nr] = 1;
			zok_fill(fx->exp, gs[0]->size, 1);
			zs_obj_write(fx->pool, h, fx->exp, gs[0]->size);
			fx->nr++;
			zok_check_nodes(test, fx, fx->nr - 1, nid);
		}
#endif
		zok_check_all(fx, "allocated on a node");
	}
	kunit_info(test, "%u node(s) with memory\n", nodes);
	KUNIT_EXPECT_GE(test, nodes, 1U);
}

static struct kunit_case zsm_obj_cases[] = {
	KUNIT_CASE(mem_len_split_points),
	KUNIT_CASE(sg_in_page_and_spanning),
	KUNIT_CASE_PARAM(reader_sleeps, zok_mode_gen_params),
	KUNIT_CASE(alloc_on_node),
	{}
};

static struct kunit_suite zsm_obj_suite = {
	.name = "zsm_obj",
	.test_cases = zsm_obj_cases,
};

kunit_test_suite(zsm_obj_suite);

MODULE_DESCRIPTION("KUnit tests for zsm: the 7.x object API and allocation on a node (zsm_obj)");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(ZSM_KUNIT_NS);
