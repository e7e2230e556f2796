/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zsm_test_util.h: the one toolkit of zsm's tests. Every test module (the
 * KUnit suites tests/zsm_*_kunit.c and the guest modules tests/zsm_test_*.c)
 * writes object contents with zsm_tu_fill(), checks them with zsm_tu_csum()
 * and draws sizes with zsm_tu_pick_size(); the KUnit suites (which define
 * ZSM_TU_KUNIT before including this file) share one pool fixture,
 * struct zsm_kt_fx, at the end of the file.
 *
 * Object bytes come from a per-object Weyl sequence and are checksummed
 * with a Fletcher-style sum over 8-byte words (then tail bytes); sizes are
 * drawn like zram's compressed pages.
 *
 * On top of that every object carries its identity, so that a map showing
 * another object's bytes (an object relocated to the wrong slot, two
 * objects swapped, a stale copy after a lost write-back) is told apart from
 * random damage:
 *
 *   object of size >= 16:
 *   +----------------+-----------+----------+------------------------------+
 *   | id (u64)       | size (u32)| gen (u32)| Weyl sequence from           |
 *   |                |           |          | zsm_tu_seed(id, gen)         |
 *   +----------------+-----------+----------+------------------------------+
 *   object of size < 16: the stream alone (every byte depends on id, gen).
 *
 * id is unique per object and never derived from its handle; gen counts
 * rewrites of the object. The checksum covers all bytes, header included,
 * and is computed while the bytes are generated, so an object is hashed
 * without being read back.
 */
#ifndef _ZSM_TEST_UTIL_H
#define _ZSM_TEST_UTIL_H

#include <linux/atomic.h>
#include <linux/kernel.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/prandom.h>
#include <linux/printk.h>
#include <linux/sizes.h>
#include <linux/string.h>
#include <linux/types.h>

#ifdef ZSM_TU_KUNIT
#include "zsm_internal.h"
#endif

#ifdef _ZSM_INTERNAL_H
#include <linux/workqueue.h>

/*
 * Wait until @zpool's worker has given back the zspages zs_free() emptied
 * (zs_free() leaves that to it). Not with a page lock of the pool held.
 */
static inline void zsm_tu_released(struct zs_pool *zpool)
{
	flush_delayed_work(&zsm_pool(zpool)->free_work);
}
#endif

/* === Checksum ============================================================ */

/*
 * A Fletcher-style sum over 64-bit words (then tail bytes): @a is the sum
 * of the words, @b the sum of the running @a, so any one changed word and
 * any reordering of words changes the result. It costs two additions per
 * word (natively about 3.4 times cheaper than a multiply-and-shift hash;
 * in the debug guest under TCG the stress test ran no faster with it,
 * measured side by side: the time goes into zsm and the kernel's checks).
 */
struct zsm_tu_sum {
	u64 a;
	u64 b;
};

static inline void zsm_tu_sum_init(struct zsm_tu_sum *s, unsigned int len)
{
	s->a = 0xcbf29ce484222325ULL ^ len;
	s->b = len;
}

static inline void zsm_tu_sum_add(struct zsm_tu_sum *s, u64 w)
{
	s->a += w;
	s->b += s->a;
}

static inline u64 zsm_tu_sum_final(const struct zsm_tu_sum *s)
{
	return s->a ^ (s->b * 0x9e3779b97f4a7c15ULL);
}

/* Checksum of @len bytes at @buf (words, then tail bytes). */
static inline u64 zsm_tu_csum(const u8 *buf, unsigned int len)
{
	struct zsm_tu_sum s;
	unsigned int i;
	u64 w;

	zsm_tu_sum_init(&s, len);
	for (i = 0; i + sizeof(w) <= len; i += sizeof(w)) {
		memcpy(&w, buf + i, sizeof(w));
		zsm_tu_sum_add(&s, w);
	}
	for (; i < len; i++)
		zsm_tu_sum_add(&s, buf[i]);
	return zsm_tu_sum_final(&s);
}

/* === Object contents ===================================================== */

/* Identity header at the start of every object of at least its size. */
struct zsm_tu_hdr {
	u64 id;
	u32 size;
	u32 gen;
};

#define ZSM_TU_HDR_SIZE		sizeof(struct zsm_tu_hdr)

/* Stream seed of one generation of one object. */
static inline u64 zsm_tu_seed(u64 id, u32 gen)
{
	u64 s = (id ^ ((u64)gen << 40 | gen)) * 0x9e3779b97f4a7c15ULL;

	return s ^ (s >> 31) ^ 0x2545f4914f6cdd1dULL;
}

/*
 * Word @i of the object: header words first, then the stream, a Weyl
 * sequence from the seed (one addition per word: objects differ by their
 * seed, and the bytes need not look random to zsm).
 */
static inline u64 zsm_tu_word(u64 *x, unsigned int i, unsigned int len,
			      u64 id, u32 gen)
{
	if (len >= ZSM_TU_HDR_SIZE) {
		if (i == 0)
			return id;
		if (i == 1)
			return (u64)gen << 32 | len;
	}
	*x += 0xd1b54a32d192ed03ULL;
	return *x;
}

/**
 * zsm_tu_fill() - write the bytes of object @id, generation @gen.
 * @buf: where (a mapping of the object, or a buffer).
 * @len: object size.
 * @id: object identity.
 * @gen: generation.
 *
 * Return: the checksum of the bytes written, as zsm_tu_csum() of them.
 */
static inline u64 zsm_tu_fill(u8 *buf, unsigned int len, u64 id, u32 gen)
{
	u64 x = zsm_tu_seed(id, gen), w;
	unsigned int i, k, n = 0;
	struct zsm_tu_sum s;

	zsm_tu_sum_init(&s, len);
	for (i = 0; i < len; i += sizeof(w), n++) {
		w = zsm_tu_word(&x, n, len, id, gen);
		if (len - i >= sizeof(w)) {
			memcpy(buf + i, &w, sizeof(w));
			zsm_tu_sum_add(&s, w);
			continue;
		}
		memcpy(buf + i, &w, len - i);
		for (k = 0; k < len - i; k++)
			zsm_tu_sum_add(&s, buf[i + k]);
	}
	return zsm_tu_sum_final(&s);
}

/* What a map of an object showed. */
enum zsm_tu_verdict {
	ZSM_TU_OK,
	ZSM_TU_FOREIGN,		/* intact header of another object or gen */
	ZSM_TU_DAMAGED,		/* other bytes */
};

/**
 * zsm_tu_judge() - compare the bytes of a mapped object with its record.
 * @buf: the mapped bytes.
 * @len: object size.
 * @id: expected identity.
 * @gen: expected generation.
 * @csum: expected checksum.
 * @seen: set to the header found (zeroed when @len is below its size).
 *
 * Return: ZSM_TU_OK, ZSM_TU_FOREIGN when the bytes carry another object's
 * (or another generation's) header, ZSM_TU_DAMAGED otherwise.
 */
static inline enum zsm_tu_verdict
zsm_tu_judge(const u8 *buf, unsigned int len, u64 id, u32 gen, u64 csum,
	     struct zsm_tu_hdr *seen)
{
	memset(seen, 0, sizeof(*seen));
	if (len >= ZSM_TU_HDR_SIZE)
		memcpy(seen, buf, sizeof(*seen));
	if (zsm_tu_csum(buf, len) == csum)
		return ZSM_TU_OK;
	if (len >= ZSM_TU_HDR_SIZE && (seen->id != id || seen->gen != gen) &&
	    seen->size && seen->size <= PAGE_SIZE)
		return ZSM_TU_FOREIGN;
	return ZSM_TU_DAMAGED;
}

/* First byte where @got differs from object (@id, @gen); @len if none. */
static inline unsigned int zsm_tu_first_bad(const u8 *got, u8 *scratch,
					    unsigned int len, u64 id, u32 gen)
{
	unsigned int i = 0;

	zsm_tu_fill(scratch, len, id, gen);
	while (i < len && got[i] == scratch[i])
		i++;
	return i;
}

/* === Object records ==================================================== */

/**
 * struct zsm_tu_obj - what a test knows about one live object.
 * @handle: from zs_malloc().
 * @id: identity, unique per object, independent of @handle.
 * @csum: checksum of the bytes last written.
 * @size: size asked of zs_malloc().
 * @gen: generation of the bytes last written.
 */
struct zsm_tu_obj {
	unsigned long handle;
	u64 id;
	u64 csum;
	u32 size;
	u32 gen;
};

/* Write generation @gen of @o into @buf (its mapping) and record it. */
static inline void zsm_tu_obj_write(struct zsm_tu_obj *o, void *buf, u32 gen)
{
	o->gen = gen;
	o->csum = zsm_tu_fill(buf, o->size, o->id, gen);
}

/**
 * zsm_tu_obj_check() - check the mapped bytes of @o; describe a mismatch.
 * @o: the record.
 * @buf: the object's mapped bytes.
 * @who: prefix of the report line.
 * @scratch: PAGE_SIZE bytes for the expected contents.
 * @reports: count of reports so far; nothing is printed past @max.
 * @max: most reports printed.
 *
 * Context: any; may run with the object mapped (preemption disabled).
 * Return: true if the bytes are those of @o's last generation.
 */
static inline bool zsm_tu_obj_check(const struct zsm_tu_obj *o,
				    const u8 *buf, const char *who,
				    u8 *scratch, atomic_t *reports, int max)
{
	struct zsm_tu_hdr seen;
	enum zsm_tu_verdict v;
	unsigned int bad;

	v = zsm_tu_judge(buf, o->size, o->id, o->gen, o->csum, &seen);
	if (v == ZSM_TU_OK)
		return true;
	if (atomic_inc_return(reports) > max)
		return false;
	bad = zsm_tu_first_bad(buf, scratch, o->size, o->id, o->gen);
	if (v == ZSM_TU_FOREIGN)
		pr_err("%s: object id %llx gen %u size %u (handle %lx) shows object id %llx gen %u size %u: relocated or swapped\n",
		       who, o->id, o->gen, o->size, o->handle, seen.id,
		       seen.gen, seen.size);
	else
		pr_err("%s: object id %llx gen %u size %u (handle %lx) damaged: first bad byte %u of %u: %*ph != %*ph\n",
		       who, o->id, o->gen, o->size, o->handle, bad, o->size,
		       bad < o->size ? (int)min(8U, o->size - bad) : 0,
		       buf + min(bad, o->size),
		       bad < o->size ? (int)min(8U, o->size - bad) : 0,
		       scratch + min(bad, o->size));
	return false;
}

/* === Sizes =============================================================== */

/*
 * Sizes of compressed pages, roughly as zram sees them: with 4 KiB pages
 * most between 200 and 3500 bytes, peaking near the middle, some tiny, some
 * barely compressed, some stored raw as whole pages. Larger pages scale
 * every bound by PAGE_SIZE / 4 KiB, so the same share of objects lands in
 * the multi-page and huge classes.
 */
static inline unsigned int zsm_tu_pick_size(struct rnd_state *rnd)
{
	const unsigned int k = PAGE_SIZE / SZ_4K;
	u32 r = prandom_u32_state(rnd);
	u32 a = prandom_u32_state(rnd);
	unsigned int pct = r % 100;

	if (pct < 8)
		return 1 + a % (199 * k);
	if (pct < 88)
		return 200 * k + (a % (3301 * k) + (a >> 16) % (3301 * k)) / 2;
	if (pct < 96)
		return 3501 * k + a % (PAGE_SIZE - 3501 * k);
	return PAGE_SIZE;
}

/* === KUnit: one pool fixture ============================================= */

#ifdef ZSM_TU_KUNIT

#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/err.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/zsmalloc.h>

#include "zsm_internal.h"

/* In-page offsets are multiples of ZSM_ALIGN: one bit per possible offset. */
#define ZSM_KT_OFFSET_BITS	(PAGE_SIZE / ZSM_ALIGN)

/**
 * struct zsm_kt_fx - a pool and the objects a KUnit case allocated from it.
 * @test: the case.
 * @pool: its own pool, destroyed with the case (NULL once released).
 * @objs: records of the objects allocated; a freed one has handle 0.
 * @nr: entries of @objs in use (live or freed).
 * @cap: entries of @objs.
 * @next_id: identity of the last object allocated.
 * @gen: generation of the last contents written by a case (zsm_kt_next_gen()).
 * @exp: PAGE_SIZE bytes: expected contents.
 * @got: PAGE_SIZE bytes: contents seen through a map.
 * @tmp: PAGE_SIZE bytes: scratch.
 *
 * Everything is released by a KUnit action, also when a case aborts on a
 * failed assertion: the live objects are freed and the pool destroyed.
 */
struct zsm_kt_fx {
	struct kunit *test;
	struct zs_pool *pool;
	struct zsm_tu_obj *objs;
	unsigned int nr;
	unsigned int cap;
	u64 next_id;
	u32 gen;
	u8 *exp;
	u8 *got;
	u8 *tmp;
};

/* Free the live objects, destroy the pool; may run twice (early release). */
static inline void zsm_kt_fx_release(void *data)
{
	struct zsm_kt_fx *fx = data;
	unsigned int i;

	if (fx->pool) {
		for (i = 0; i < fx->nr; i++) {
			if (fx->objs[i].handle)
				zs_free(fx->pool, fx->objs[i].handle);
			fx->objs[i].handle = 0;
		}
		zs_destroy_pool(fx->pool);
		fx->pool = NULL;
	}
	kvfree(fx->objs);
	fx->objs = NULL;
}

/**
 * zsm_kt_fx_create() - a new pool with room for @cap object records.
 * @test: the case; everything is released when it ends.
 * @name: pool name.
 * @cap: most objects the case allocates.
 *
 * Skips the case when memory or the pool cannot be had.
 * Return: the fixture.
 */
static inline struct zsm_kt_fx *zsm_kt_fx_create(struct kunit *test,
						 const char *name,
						 unsigned int cap)
{
	struct zsm_kt_fx *fx;

	fx = kunit_kzalloc(test, sizeof(*fx), GFP_KERNEL);
	if (!fx)
		kunit_skip(test, "cannot allocate the fixture");
	fx->exp = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);
	fx->got = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);
	fx->tmp = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);
	if (!fx->exp || !fx->got || !fx->tmp)
		kunit_skip(test, "cannot allocate the fixture's buffers");
	fx->objs = kvcalloc(cap, sizeof(*fx->objs), GFP_KERNEL);
	if (!fx->objs)
		kunit_skip(test, "cannot allocate %u object records", cap);
	fx->test = test;
	fx->cap = cap;
	/* Runs before the buffers above are freed (actions run in reverse). */
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, zsm_kt_fx_release, fx));
	/* A pool that cannot be made is zsm's failure, not a skip. */
	fx->pool = zs_create_pool(name);
	KUNIT_ASSERT_NOT_NULL_MSG(test, fx->pool, "cannot create pool %s",
				  name);
	return fx;
}

/* A generation no contents of this fixture had before. */
static inline u32 zsm_kt_next_gen(struct zsm_kt_fx *fx)
{
	return ++fx->gen;
}

/*
 * Allocate an object of @size and record it, contents unset.
 * Return: its index in fx->objs, or a negative errno from zs_malloc().
 */
static inline int zsm_kt_add(struct zsm_kt_fx *fx, unsigned int size,
			     gfp_t gfp)
{
	struct zsm_tu_obj *o;
	unsigned long h;

	KUNIT_ASSERT_LT(fx->test, fx->nr, fx->cap);
	h = zsm_zs_malloc(fx->pool, size, gfp);
	if (IS_ERR_VALUE(h))
		return (int)(long)h;
	o = &fx->objs[fx->nr];
	o->handle = h;
	o->id = ++fx->next_id;
	o->size = size;
	o->gen = 0;
	o->csum = 0;
	return fx->nr++;
}

/*
 * Allocate an object of @size and write its contents through a ZS_MM_WO
 * map. May run in atomic context (with an atomic @gfp): no KUNIT_* on a
 * failed map.
 * Return: its index in fx->objs, or a negative errno.
 */
static inline int zsm_kt_alloc(struct zsm_kt_fx *fx, unsigned int size,
			       gfp_t gfp)
{
	int i = zsm_kt_add(fx, size, gfp);
	struct zsm_tu_obj *o;
	void *buf;

	if (i < 0)
		return i;
	o = &fx->objs[i];
	buf = zs_map_object(fx->pool, o->handle, ZS_MM_WO);
	if (!buf) {
		zs_free(fx->pool, o->handle);
		o->handle = 0;
		return -EFAULT;
	}
	zsm_tu_obj_write(o, buf, 0);
	zs_unmap_object(fx->pool, o->handle);
	return i;
}

static inline void zsm_kt_free(struct zsm_kt_fx *fx, unsigned int i)
{
	zs_free(fx->pool, fx->objs[i].handle);
	fx->objs[i].handle = 0;
}

/* Free every live object; the records are reused from index 0. */
static inline void zsm_kt_free_all(struct zsm_kt_fx *fx)
{
	unsigned int i;

	for (i = 0; i < fx->nr; i++) {
		if (fx->objs[i].handle)
			zsm_kt_free(fx, i);
	}
	fx->nr = 0;
}

/* === KUnit: a pool's memory ============================================== */

/* zs_get_total_pages() of @zpool once zsm_tu_released(). */
static inline unsigned long zsm_kt_total_pages(struct zs_pool *zpool)
{
	zsm_tu_released(zpool);
	return zs_get_total_pages(zpool);
}

/* Pages of @zpool's zspages: zs_get_total_pages() without the metadata. */
static inline unsigned long zsm_kt_obj_pages(struct zs_pool *zpool)
{
	return atomic_long_read(&zsm_pool(zpool)->pages_total);
}

/* @pool's pending_pages, read under its lock. */
static inline unsigned long zsm_kt_pending_pages(struct zsm_pool *pool)
{
	unsigned long pages;

	spin_lock(&pool->deferred_lock);
	pages = pool->pending_pages;
	spin_unlock(&pool->deferred_lock);
	return pages;
}

/*
 * Add the pages and descriptor bytes of @zpool's dead zspages that wait for
 * release (zs_free() leaves them to the pool's worker) to @pages and @bytes
 * (either may be NULL), counted from the queue, not from pending_pages. A
 * zspage the worker took off the queue and is giving back is in neither.
 */
static inline void zsm_kt_pending(struct zs_pool *zpool, unsigned long *pages,
				  unsigned long *bytes)
{
	struct zsm_pool *pool = zsm_pool(zpool);
	struct zsm_zspage *zspage;

	spin_lock(&pool->deferred_lock);
	list_for_each_entry(zspage, &pool->deferred_free, deferred) {
		if (pages)
			*pages += zspage->nr_pages;
		if (bytes)
			*bytes += zspage->class->desc_size;
	}
	spin_unlock(&pool->deferred_lock);
}

/*
 * @zpool's metadata in bytes, counted from its classes (descriptors times
 * their size, handle block directories) and its handle block pages,
 * independently of the pool's own count (zsm_pool_meta_bytes()).
 */
static inline unsigned long zsm_kt_meta_bytes(struct zs_pool *zpool)
{
	struct zsm_pool *pool = zsm_pool(zpool);
	unsigned long bytes = 0;
	unsigned int i;

	for (i = 0; i < ZSM_NR_CLASSES; i++) {
		struct zsm_class *class = pool->classes[i];

		if (!class)
			continue;
		spin_lock(&class->lock);
		bytes += class->nr_zspages * class->desc_size +
			 class->hdir_bytes;
		spin_unlock(&class->lock);
	}
	spin_lock(&pool->hblock_lock);
	bytes += pool->nr_hblock_pages * PAGE_SIZE;
	spin_unlock(&pool->hblock_lock);
	zsm_kt_pending(zpool, NULL, &bytes);
	return bytes;
}

/* === KUnit: where an object lies ========================================= */

/* The canonical class of objects of @size. */
static inline const struct zsm_geom *zsm_kt_geom(unsigned int size)
{
	return &zsm_classes.geom[zsm_classes.geom[zsm_size_to_slot(size)].index];
}

/* Slot of a live object in its zspage: its handle word holds it. */
static inline unsigned int zsm_kt_slot(const struct zsm_tu_obj *o)
{
	return zsm_obj_idx(READ_ONCE(*(unsigned long *)o->handle));
}

/* The zspage of a live object; stable only while the object is mapped. */
static inline struct zsm_zspage *zsm_kt_zspage(const struct zsm_tu_obj *o)
{
	return zsm_obj_zspage(READ_ONCE(*(unsigned long *)o->handle));
}

/* Offset of a live object's first byte in its page. */
static inline unsigned int zsm_kt_poff(const struct zsm_tu_obj *o)
{
	return (unsigned long)zsm_kt_slot(o) * zsm_kt_geom(o->size)->size %
	       PAGE_SIZE;
}

/* Does a live object run across a page boundary? */
static inline bool zsm_kt_crosses(const struct zsm_tu_obj *o)
{
	return zsm_kt_poff(o) + o->size > PAGE_SIZE;
}

/* How many slots of a zspage of class @g run across a page boundary? */
static inline unsigned int zsm_kt_class_nr_crossing(const struct zsm_geom *g)
{
	unsigned int idx, n = 0;

	for (idx = 0; idx < g->objs; idx++) {
		if ((unsigned long)idx * g->size % PAGE_SIZE + g->size > PAGE_SIZE)
			n++;
	}
	return n;
}

/* Does any slot of class @g run across a page boundary? */
static inline bool zsm_kt_class_crosses(const struct zsm_geom *g)
{
	return zsm_kt_class_nr_crossing(g) > 0;
}

/*
 * The first canonical class from index @from on, of size at least
 * @min_size, whose zspages have at least @min_crossing objects that cross
 * pages.
 * Return: its index, or ZSM_NR_CLASSES if there is none.
 */
static inline unsigned int zsm_kt_cross_class_n(unsigned int from,
						unsigned int min_size,
						unsigned int min_crossing)
{
	unsigned int i;

	for (i = from; i < ZSM_NR_CLASSES; i++) {
		const struct zsm_geom *g = &zsm_classes.geom[i];

		if (g->index == i && !g->huge && g->size >= min_size &&
		    zsm_kt_class_nr_crossing(g) >= min_crossing)
			return i;
	}
	return ZSM_NR_CLASSES;
}

/* The same, with at least one object that crosses. */
static inline unsigned int zsm_kt_cross_class(unsigned int from,
					      unsigned int min_size)
{
	return zsm_kt_cross_class_n(from, min_size, 1);
}

/*
 * For one class, the in-page offsets at which an object starts and crosses
 * into the next page (bits of @offsets, ZSM_KT_OFFSET_BITS long). Example,
 * size 1168, 2 pages, 7 objects:
 *
 *   |      page 0       |      page 1       |
 *   | 0  | 1  | 2  | 3 ~~ | 4  | 5  | 6  |  |
 *                    ^ slot 3 starts at 3504 and crosses: offset 3504
 *
 * Return: how many there are.
 */
static inline unsigned int zsm_kt_split_offsets(const struct zsm_geom *g,
						unsigned long *offsets)
{
	unsigned int idx;

	bitmap_zero(offsets, ZSM_KT_OFFSET_BITS);
	for (idx = 0; idx < g->objs; idx++) {
		unsigned int off = (unsigned long)idx * g->size % PAGE_SIZE;

		if (off + g->size > PAGE_SIZE)
			__set_bit(off / ZSM_ALIGN, offsets);
	}
	return bitmap_weight(offsets, ZSM_KT_OFFSET_BITS);
}

/* A class's counts of zspages and objects in use, read under its lock. */
static inline void zsm_kt_class_counts(struct zsm_class *class,
				       unsigned long *zspages,
				       unsigned long *inuse)
{
	spin_lock(&class->lock);
	*zspages = class->nr_zspages;
	*inuse = class->objs_inuse;
	spin_unlock(&class->lock);
}

/* === KUnit: checks ======================================================= */

/* zs_map_object() of a live handle, in process context: it must map. */
static inline void *zsm_kt_map(struct zsm_kt_fx *fx, unsigned long handle,
			       enum zs_mapmode mm)
{
	void *buf = zs_map_object(fx->pool, handle, mm);

	KUNIT_ASSERT_NOT_NULL_MSG(fx->test, buf, "map of handle %lx", handle);
	return buf;
}

/*
 * Check object @i through a ZS_MM_RO map. On a mismatch, fail the case
 * naming the first wrong byte, the class, slot and in-page offset.
 * Return: true if the contents are intact.
 */
static inline bool zsm_kt_check(struct zsm_kt_fx *fx, unsigned int i)
{
	struct zsm_tu_obj *o = &fx->objs[i];
	unsigned int bad = 0;
	u8 want = 0, got = 0;
	const u8 *buf;
	u64 csum;

	buf = zs_map_object(fx->pool, o->handle, ZS_MM_RO);
	if (!buf) {
		KUNIT_FAIL(fx->test, "object %u size %u: map failed", i,
			   o->size);
		return false;
	}
	csum = zsm_tu_csum(buf, o->size);
	if (csum != o->csum) {
		bad = zsm_tu_first_bad(buf, fx->exp, o->size, o->id, o->gen);
		if (bad < o->size) {
			want = fx->exp[bad];
			got = buf[bad];
		}
	}
	zs_unmap_object(fx->pool, o->handle);
	if (csum == o->csum)
		return true;

	KUNIT_FAIL(fx->test,
		   "object %u size %u (class %u, slot %u, page offset %u): csum %016llx != %016llx, first bad byte %u: %02x != %02x",
		   i, o->size, zs_lookup_class_index(fx->pool, o->size),
		   zsm_kt_slot(o), zsm_kt_poff(o), csum, o->csum, bad, got,
		   want);
	return false;
}

/* Record that object @i now holds the @size bytes at @buf. */
static inline void zsm_kt_set_csum(struct zsm_kt_fx *fx, unsigned int i,
				   const u8 *buf)
{
	fx->objs[i].csum = zsm_tu_csum(buf, fx->objs[i].size);
}

#endif /* ZSM_TU_KUNIT */

#endif /* _ZSM_TEST_UTIL_H */
