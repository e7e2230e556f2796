// SPDX-License-Identifier: GPL-2.0
/*
 * zsm_test_badinput: misuse of the zsmalloc API, one case at a time, each
 * with a defined outcome. Loaded in a guest by guest/tests/badinput.sh with
 * run=<case>[,<case>...]; its insmod fails with -EIO when a case fails.
 *
 * Every case runs next to "neighbours": objects of the sizes around the
 * misused one (tiny, in-page, cross-page, huge; the same class and handle
 * page as the victim), written with identity-carrying contents
 * (tests/zsm_test_util.h) before the case and all checked after it, and
 * then freed: the pool must be back to no page. A case that expects a
 * warning prints the fence markers of guest/init's protocol around the bad
 * call ("zsm-expect-warn-begin badinput-<case>"); zsm warns once per call
 * site per load (WARN_ONCE), so the script loads a fresh zsm.ko for each
 * such case and checks that exactly one warning with the expected text
 * appeared inside the fence.
 *
 * Cases (warning: the text expected inside the fence):
 *
 *   malloc_size     zs_malloc() of 0 is -EINVAL; of PAGE_SIZE + 1, 1 << 31
 *                   and SIZE_MAX is -ENOSPC; 1 and PAGE_SIZE work; no page
 *                   is taken by the failures.
 *   free_null       zs_free() of 0 and of every error value (-1..-4095) is
 *                   a no-op: class counts and pages unchanged.
 *   double_free     warning "double free"; the class counts and pages are
 *                   unchanged by the second free, and the handle is not on
 *                   the free list twice (new objects get distinct handles
 *                   and keep their contents).
 *   foreign_free    warning "free of handle ... not from pool": a handle of
 *                   another pool is refused; so are (silently, the warning
 *                   is once) a slab address, an unaligned handle, the
 *                   start of a handle's page, words of the header of a
 *                   live handle's own block and a stack address. The
 *                   other pool's object is intact and frees normally.
 *   map_freed       warning "map of free handle": zs_map_object() returns
 *                   NULL (also RW and WO, silently); zs_obj_read_begin()
 *                   returns NULL and zs_obj_write() writes nothing (the
 *                   freed slot's bytes are unchanged). The per-CPU map
 *                   stack is not left pushed (two nested maps still work).
 *   map_foreign     warning "map of handle ... not from pool": NULL for
 *                   another pool's handle, and silently for 0, an error
 *                   value and a slab address.
 *   unmap_unmapped  warning "not the last mapped": an unmap with no map is
 *                   ignored (and one of another handle while one is
 *                   mapped); the zspage's lock is balanced afterwards.
 *   unmap_order     warning "not the last mapped": with A then B mapped RW,
 *                   unmapping A first is ignored; unmapping B then A
 *                   writes both back (copy mode, cross-page objects).
 *   nested3         warning "more than 2 nested maps": the third map
 *                   returns NULL and releases the zspage lock it took; the
 *                   two outer maps stay valid.
 *   obj_overlong    warnings "write of N bytes to a M-byte object" and
 *                   "read of N bytes of a M-byte object": zs_obj_write()
 *                   of more bytes than the object stores its own bytes
 *                   only (in-page and cross-page objects; the object after
 *                   each in its zspage keeps its bytes), and
 *                   zs_obj_read_begin() of that length reads them.
 *   destroy_live    warning "destroyed with 100 live objects": a pool whose
 *                   objects were mapped and unmapped correctly and never
 *                   freed is destroyed; zsm_pages_held returns to its value
 *                   before the pool.
 *   destroy_mapped  warnings "destroyed with an object mapped" and
 *                   "destroyed with 10 live objects": a kthread on another
 *                   CPU maps an object and holds the map (preemption off)
 *                   for BI_MAP_HOLD_MS while this task destroys the pool;
 *                   the destroy waits for the unmap (it returns only after
 *                   it), the held object reads intact until then, and
 *                   every page is returned.
 *   create_null     zs_create_pool(NULL) is NULL and takes nothing.
 *   long_name       a 1000-character name is truncated to 64 characters;
 *                   two such pools coexist and work. With keep=1 both are
 *                   kept until unload so the script can see their debugfs
 *                   directories (<64 chars> and <64 chars>.1).
 *
 *   irq_malloc      warning (any "zsm: " text): zs_malloc() from hard IRQ
 *                   (an HRTIMER_MODE_REL_HARD hrtimer) is -EINVAL and takes
 *                   no page or slot.
 *   irq_free        warning: zs_free() from hard IRQ leaves the object
 *                   allocated and intact.
 *   irq_map         a map with interrupts disabled in task context works;
 *                   warning: zs_map_object() from hard IRQ is NULL.
 *   irq_read        warning: zs_obj_read_begin() from hard IRQ is NULL.
 *   irq_write       warning: zs_obj_write() from hard IRQ writes nothing.
 *   obj_end_refused warnings: zs_obj_read_begin() and zs_obj_read_sg_begin()
 *                   of another pool's handle, of a freed handle and from
 *                   hard IRQ are refused (NULL, no page), and the
 *                   zs_obj_read_end() / zs_obj_read_sg_end() that follow
 *                   each release nothing: the zspage locks stay free, the
 *                   objects read intact, two nested maps work.
 *   softirq         two warnings: an HRTIMER_MODE_REL_SOFT timer maps and
 *                   reads objects (zs_map_object(), zs_obj_read_begin())
 *                   for BI_SOFTIRQ_MS while a kthread on another CPU
 *                   allocates, frees and compacts: every map works and
 *                   shows the right bytes; its zs_malloc() is -EINVAL and
 *                   its zs_free() leaves the object allocated.
 *
 * Before each warning case the module logs the handle it misuses ("case
 * <case>: misused handle <hex>"); the script checks that zsm's warning does
 * not show it.
 *
 * Module unload while pools exist: writing N to the `pools` parameter
 * makes the module hold N empty pools; the script checks that each one
 * adds a reference to zsm (/sys/module/zsm/refcnt) and that rmmod zsm is
 * refused until they are gone.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/hardirq.h>
#include <linux/highmem.h>
#include <linux/hrtimer.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/zsmalloc.h>

#include "zsm_internal.h"
#include "zsm_test_util.h"

/* === Parameters ========================================================== */

static char *run = "";
module_param(run, charp, 0444);
MODULE_PARM_DESC(run, "Cases to run, comma-separated (see the source)");

static bool keep;
module_param(keep, bool, 0444);
MODULE_PARM_DESC(keep, "long_name: keep the pools until unload");

static unsigned int cases_passed;
module_param(cases_passed, uint, 0444);
MODULE_PARM_DESC(cases_passed, "Result: cases that passed");

/* === Data ================================================================ */

#define BI_NB_PER_SIZE		3
#define BI_MAX_REPORTS		8
#define BI_LIVE_AT_DESTROY	100
#define BI_LONG_NAME		1000
#define BI_MAX_POOLS		16
#define BI_MAPPED_OBJS		10
#define BI_MAP_HOLD_MS		300

/*
 * Cross-page objects: 3000/4096 of a page, so that with any page size the
 * class's zspages hold several of them and some lie across a page boundary
 * (3000 bytes would fit five to a 16 KiB page).
 */
#define BI_CROSS_SIZE		((unsigned int)(PAGE_SIZE / 4096 * 3000))

/*
 * Neighbour sizes: tiny, in-page, cross-page in classes of several pages,
 * just below the huge class, and a whole page. BI_VICTIM_SIZE is among
 * them, so victims share a class (and a handle block) with neighbours.
 */
static const unsigned int bi_sizes[] = {
	1, 37, 200, 700, 1100, 2200, BI_CROSS_SIZE, 3500, PAGE_SIZE,
};

#define BI_VICTIM_SIZE		700

#define BI_NB_MAX		(ARRAY_SIZE(bi_sizes) * BI_NB_PER_SIZE)

/* One case: its pool with the neighbours, and its verdict. */
struct bi_ctx {
	const char *name;
	struct zs_pool *pool;
	struct zsm_tu_obj nb[BI_NB_MAX];
	unsigned int nr_nb;
	u64 next_id;
	u8 *scratch;		/* PAGE_SIZE: expected bytes */
	u8 *buf;		/* PAGE_SIZE: zs_obj_* buffer */
	unsigned int failed;
};

static atomic_t bi_reports = ATOMIC_INIT(0);

/* long_name with keep=1: released at unload. */
static struct zs_pool *bi_kept[2];

/* The `pools` knob: pools held until set lower or unload. */
static DEFINE_MUTEX(bi_pools_lock);
static struct zs_pool *bi_pools[BI_MAX_POOLS];	/* under bi_pools_lock */
static unsigned int bi_nr_pools;		/* under bi_pools_lock */

/* Record a failed expectation of case @c; evaluates to @cond. */
#define BI_EXPECT(c, cond, fmt, ...) ({					\
	struct bi_ctx *__c = (c);					\
	bool __ok = (cond);						\
	if (!__ok) {							\
		__c->failed++;						\
		pr_err("case %s: " fmt "\n", __c->name, ##__VA_ARGS__);	\
	}								\
	__ok; })

/* === Helpers ============================================================= */

static void bi_fence_begin(struct bi_ctx *c)
{
	pr_info("zsm-expect-warn-begin badinput-%s\n", c->name);
}

static void bi_fence_end(struct bi_ctx *c)
{
	pr_info("zsm-expect-warn-end badinput-%s\n", c->name);
}

/* Print the handle a case misuses: its warning must not show it. */
static void bi_note_handle(struct bi_ctx *c, unsigned long handle)
{
	pr_info("case %s: misused handle %lx\n", c->name, handle);
}

/* Allocate @o of @size in @pool and write its first generation. */
static int bi_alloc(struct bi_ctx *c, struct zs_pool *pool,
		    struct zsm_tu_obj *o, unsigned int size)
{
	unsigned long h = zsm_zs_malloc(pool, size, GFP_KERNEL);
	void *p;

	if (IS_ERR_VALUE(h)) {
		BI_EXPECT(c, false, "zs_malloc(%u) failed: %ld", size, (long)h);
		return (int)(long)h;
	}
	o->handle = h;
	o->size = size;
	o->id = ++c->next_id;
	p = zs_map_object(pool, h, ZS_MM_WO);
	if (!BI_EXPECT(c, p, "WO map of new handle %lx failed", h)) {
		zs_free(pool, h);
		o->handle = 0;
		return -EFAULT;
	}
	zsm_tu_obj_write(o, p, 0);
	zs_unmap_object(pool, h);
	return 0;
}

/* Map @o RO and check it. */
static bool bi_check(struct bi_ctx *c, struct zs_pool *pool,
		     const struct zsm_tu_obj *o)
{
	const u8 *p = zs_map_object(pool, o->handle, ZS_MM_RO);
	bool ok;

	if (!BI_EXPECT(c, p, "RO map of live handle %lx failed", o->handle))
		return false;
	ok = zsm_tu_obj_check(o, p, c->name, c->scratch, &bi_reports,
			      BI_MAX_REPORTS);
	zs_unmap_object(pool, o->handle);
	return BI_EXPECT(c, ok, "object id %llu size %u corrupt", o->id,
			 o->size);
}

/* Rewrite @o through an RW map (checking the old bytes). */
static void bi_rewrite(struct bi_ctx *c, struct zs_pool *pool,
		       struct zsm_tu_obj *o)
{
	u8 *p = zs_map_object(pool, o->handle, ZS_MM_RW);

	if (!BI_EXPECT(c, p, "RW map of live handle %lx failed", o->handle))
		return;
	BI_EXPECT(c, zsm_tu_obj_check(o, p, c->name, c->scratch, &bi_reports,
				      BI_MAX_REPORTS),
		  "object id %llu size %u corrupt", o->id, o->size);
	zsm_tu_obj_write(o, p, o->gen + 1);
	zs_unmap_object(pool, o->handle);
}

static struct zsm_class *bi_class(struct zs_pool *pool, unsigned int size)
{
	return zsm_pool(pool)->classes[zs_lookup_class_index(pool, size)];
}

static unsigned long bi_class_inuse(struct zs_pool *pool, unsigned int size)
{
	struct zsm_class *class = bi_class(pool, size);
	unsigned long n;

	spin_lock(&class->lock);
	n = class->objs_inuse;
	spin_unlock(&class->lock);
	return n;
}

/* Does live object @o cross a page boundary in its zspage? */
static bool bi_crosses(struct zs_pool *pool, const struct zsm_tu_obj *o)
{
	unsigned long obj = READ_ONCE(*(unsigned long *)o->handle);
	unsigned int size = bi_class(pool, o->size)->geom.size;

	return (unsigned long)zsm_obj_idx(obj) * size % PAGE_SIZE + size >
	       PAGE_SIZE;
}

/*
 * Is the zspage of live object @o unlocked (no mapper, no writer)? A map
 * that leaked its read lock, or an unmap that dropped one it did not hold,
 * shows here (the latter also as a lockdep or rwlock debug report).
 */
static bool bi_zspage_unlocked(const struct zsm_tu_obj *o)
{
	unsigned long obj = READ_ONCE(*(unsigned long *)o->handle);

	return !zsm_zspage_busy(zsm_obj_zspage(obj));
}

/* Two nested maps still work on this CPU (the map stack is balanced). */
static void bi_nest_two(struct bi_ctx *c)
{
	struct zsm_tu_obj *a = &c->nb[0], *b = &c->nb[c->nr_nb - 1];
	void *pa, *pb;

	pa = zs_map_object(c->pool, a->handle, ZS_MM_RO);
	pb = zs_map_object(c->pool, b->handle, ZS_MM_RO);
	if (pb)
		zs_unmap_object(c->pool, b->handle);
	if (pa)
		zs_unmap_object(c->pool, a->handle);
	BI_EXPECT(c, pa && pb, "two nested maps failed afterwards (%p %p)",
		  pa, pb);
}

static int bi_ctx_init(struct bi_ctx *c, const char *name)
{
	unsigned int i, k;
	char pname[48];

	memset(c, 0, sizeof(*c));
	c->name = name;
	c->scratch = kmalloc(PAGE_SIZE, GFP_KERNEL);
	c->buf = kmalloc(PAGE_SIZE, GFP_KERNEL);
	snprintf(pname, sizeof(pname), "zsm_badinput_%s", name);
	c->pool = zs_create_pool(pname);
	if (!c->scratch || !c->buf || !c->pool)
		return -ENOMEM;
	for (k = 0; k < BI_NB_PER_SIZE; k++) {
		for (i = 0; i < ARRAY_SIZE(bi_sizes); i++) {
			if (bi_alloc(c, c->pool, &c->nb[c->nr_nb], bi_sizes[i]))
				return -ENOMEM;
			c->nr_nb++;
		}
	}
	return 0;
}

/* Check and free the neighbours; the pool must then hold no page. */
static void bi_ctx_exit(struct bi_ctx *c)
{
	unsigned int i, bad = 0;

	if (c->pool) {
		for (i = 0; i < c->nr_nb; i++)
			bad += !bi_check(c, c->pool, &c->nb[i]);
		BI_EXPECT(c, !bad, "%u of %u neighbours corrupt", bad,
			  c->nr_nb);
		for (i = 0; i < c->nr_nb; i++)
			zs_free(c->pool, c->nb[i].handle);
		zsm_tu_released(c->pool);
		BI_EXPECT(c, zs_get_total_pages(c->pool) == 0,
			  "%lu pages left after freeing every object",
			  zs_get_total_pages(c->pool));
		zs_destroy_pool(c->pool);
	}
	kfree(c->scratch);
	kfree(c->buf);
}

/* === Cases =============================================================== */

static void bi_malloc_size(struct bi_ctx *c)
{
	const unsigned long einval = (unsigned long)ERR_PTR(-EINVAL);
	const unsigned long enospc = (unsigned long)ERR_PTR(-ENOSPC);
	const size_t big[] = { PAGE_SIZE + 1, 1UL << 31, SIZE_MAX };
	unsigned long pages = zs_get_total_pages(c->pool), h;
	struct zsm_tu_obj o;
	unsigned int i;

	h = zsm_zs_malloc(c->pool, 0, GFP_KERNEL);
	BI_EXPECT(c, IS_ERR_VALUE(h) && h == einval,
		  "zs_malloc(0) = %ld, expected -EINVAL", (long)h);
	for (i = 0; i < ARRAY_SIZE(big); i++) {
		h = zsm_zs_malloc(c->pool, big[i], GFP_KERNEL);
		BI_EXPECT(c, IS_ERR_VALUE(h) && h == enospc,
			  "zs_malloc(%zu) = %ld, expected -ENOSPC", big[i],
			  (long)h);
	}
	BI_EXPECT(c, zs_get_total_pages(c->pool) == pages,
		  "failed allocations took pages: %lu -> %lu", pages,
		  zs_get_total_pages(c->pool));
	/* The limits themselves are valid. */
	if (!bi_alloc(c, c->pool, &o, 1)) {
		bi_check(c, c->pool, &o);
		zs_free(c->pool, o.handle);
	}
	if (!bi_alloc(c, c->pool, &o, PAGE_SIZE)) {
		bi_check(c, c->pool, &o);
		zs_free(c->pool, o.handle);
	}
}

static void bi_free_null(struct bi_ctx *c)
{
	unsigned long pages = zs_get_total_pages(c->pool);
	unsigned long inuse = bi_class_inuse(c->pool, BI_VICTIM_SIZE);
	int e;

	zs_free(c->pool, 0);
	for (e = 1; e <= MAX_ERRNO; e++)
		zs_free(c->pool, (unsigned long)ERR_PTR(-e));
	BI_EXPECT(c, zs_get_total_pages(c->pool) == pages,
		  "pages changed: %lu -> %lu", pages,
		  zs_get_total_pages(c->pool));
	BI_EXPECT(c, bi_class_inuse(c->pool, BI_VICTIM_SIZE) == inuse,
		  "objects in use changed: %lu -> %lu", inuse,
		  bi_class_inuse(c->pool, BI_VICTIM_SIZE));
}

#define BI_REALLOC	32

static void bi_double_free(struct bi_ctx *c)
{
	struct zsm_tu_obj v, *fresh;
	unsigned long pages, inuse;
	unsigned int i, j;

	fresh = kcalloc(BI_REALLOC, sizeof(*fresh), GFP_KERNEL);
	if (!BI_EXPECT(c, fresh, "no memory") ||
	    bi_alloc(c, c->pool, &v, BI_VICTIM_SIZE))
		goto out;
	zs_free(c->pool, v.handle);
	pages = zs_get_total_pages(c->pool);
	inuse = bi_class_inuse(c->pool, BI_VICTIM_SIZE);

	bi_note_handle(c, v.handle);
	bi_fence_begin(c);
	zs_free(c->pool, v.handle);
	bi_fence_end(c);

	BI_EXPECT(c, zs_get_total_pages(c->pool) == pages,
		  "second free changed pages: %lu -> %lu", pages,
		  zs_get_total_pages(c->pool));
	BI_EXPECT(c, bi_class_inuse(c->pool, BI_VICTIM_SIZE) == inuse,
		  "second free changed objects in use: %lu -> %lu", inuse,
		  bi_class_inuse(c->pool, BI_VICTIM_SIZE));

	/* A handle pushed twice on the free list would come out twice. */
	for (i = 0; i < BI_REALLOC; i++)
		if (bi_alloc(c, c->pool, &fresh[i], BI_VICTIM_SIZE))
			break;
	for (j = 0; j < i; j++) {
		unsigned int k;

		for (k = j + 1; k < i; k++)
			BI_EXPECT(c, fresh[j].handle != fresh[k].handle,
				  "handle %lx handed out twice", fresh[j].handle);
		for (k = 0; k < c->nr_nb; k++)
			BI_EXPECT(c, fresh[j].handle != c->nb[k].handle,
				  "live handle %lx handed out again",
				  fresh[j].handle);
	}
	for (j = 0; j < i; j++)
		bi_check(c, c->pool, &fresh[j]);
	for (j = 0; j < i; j++)
		zs_free(c->pool, fresh[j].handle);
out:
	kfree(fresh);
}

static void bi_foreign_free(struct bi_ctx *c)
{
	struct zs_pool *other = zs_create_pool("zsm_badinput_other");
	unsigned long pages, opages, stack_word = 0;
	struct zsm_tu_obj y;
	void *slab = kmalloc(64, GFP_KERNEL);

	if (!BI_EXPECT(c, other && slab, "no memory") ||
	    bi_alloc(c, other, &y, BI_VICTIM_SIZE))
		goto out;
	pages = zs_get_total_pages(c->pool);
	opages = zs_get_total_pages(other);

	bi_note_handle(c, y.handle);
	bi_fence_begin(c);
	zs_free(c->pool, y.handle);
	bi_fence_end(c);

	/* The same call site, already warned: refused silently. */
	zs_free(c->pool, (unsigned long)slab);
	zs_free(c->pool, y.handle + 1);
	zs_free(c->pool, y.handle & PAGE_MASK);
	zs_free(c->pool, (unsigned long)&stack_word);
	zs_free(c->pool, c->nb[0].handle + sizeof(unsigned long) / 2);
	/* Words of this pool's own block header, whose cookie is right. */
	zs_free(c->pool, c->nb[0].handle & ~(ZSM_HBLOCK_SIZE - 1UL));
	zs_free(c->pool, (c->nb[0].handle & ~(ZSM_HBLOCK_SIZE - 1UL)) +
		sizeof(struct zsm_handle_block) - sizeof(unsigned long));

	BI_EXPECT(c, zs_get_total_pages(c->pool) == pages,
		  "pool pages changed: %lu -> %lu", pages,
		  zs_get_total_pages(c->pool));
	BI_EXPECT(c, zs_get_total_pages(other) == opages,
		  "other pool's pages changed: %lu -> %lu", opages,
		  zs_get_total_pages(other));
	bi_check(c, other, &y);
	zs_free(other, y.handle);
	zsm_tu_released(other);
	BI_EXPECT(c, zs_get_total_pages(other) == 0,
		  "other pool holds %lu pages after its free",
		  zs_get_total_pages(other));
out:
	kfree(slab);
	zs_destroy_pool(other);
}

/*
 * Checksum of the @len bytes at slot @idx of @zspage, read from its pages
 * (through c->scratch): the caller holds the zspage read-locked.
 */
static u64 bi_slot_sum(struct bi_ctx *c, struct zsm_zspage *zspage,
		       unsigned int idx, unsigned int len)
{
	unsigned long off = (unsigned long)idx * zspage->class->geom.size;
	unsigned int done, n;
	u8 *src;

	for (done = 0; done < len; done += n) {
		n = min_t(unsigned int, len - done,
			  PAGE_SIZE - offset_in_page(off + done));
		src = kmap_local_page(zsm_zspage_page(zspage,
						      (off + done) >> PAGE_SHIFT));
		memcpy(c->scratch + done, src + offset_in_page(off + done), n);
		kunmap_local(src);
	}
	return zsm_tu_csum(c->scratch, len);
}

/* The zspage of live object @o (changes only if compaction moves it). */
static struct zsm_zspage *bi_zspage_of(const struct zsm_tu_obj *o)
{
	return zsm_obj_zspage(READ_ONCE(*(unsigned long *)o->handle));
}

static void bi_map_freed(struct bi_ctx *c)
{
	struct zsm_tu_obj v, g = {}, *pin = &g;
	struct zsm_zspage *zspage;
	unsigned int i, idx;
	void *p, *held;
	u64 sum;

	if (bi_alloc(c, c->pool, &v, BI_VICTIM_SIZE))
		return;
	if (bi_alloc(c, c->pool, &g, BI_VICTIM_SIZE))
		goto out_victim;
	/*
	 * Another object of the victim's zspage (the one allocated after it,
	 * or a neighbour if the victim took its zspage's last slot) is read
	 * for the whole case: the zspage stays, its pages stay in place, and
	 * the freed slot can be looked at.
	 */
	zspage = bi_zspage_of(&v);
	idx = zsm_obj_idx(READ_ONCE(*(unsigned long *)v.handle));
	for (i = 0; i < c->nr_nb && bi_zspage_of(pin) != zspage; i++)
		pin = &c->nb[i];
	if (!BI_EXPECT(c, bi_zspage_of(pin) == zspage,
		       "no other object in the victim's zspage"))
		goto out_victim;
	held = zs_obj_read_begin(c->pool, pin->handle, 1, c->buf);
	if (!BI_EXPECT(c, held, "read of live handle %lx failed",
		       pin->handle))
		goto out_victim;
	zs_free(c->pool, v.handle);
	sum = bi_slot_sum(c, zspage, idx, BI_VICTIM_SIZE);

	bi_note_handle(c, v.handle);
	bi_fence_begin(c);
	p = zs_map_object(c->pool, v.handle, ZS_MM_RO);
	bi_fence_end(c);
	BI_EXPECT(c, !p, "RO map of a freed handle returned %p", p);
	if (p)
		zs_unmap_object(c->pool, v.handle);

	p = zs_map_object(c->pool, v.handle, ZS_MM_RW);
	BI_EXPECT(c, !p, "RW map of a freed handle returned %p", p);
	p = zs_map_object(c->pool, v.handle, ZS_MM_WO);
	BI_EXPECT(c, !p, "WO map of a freed handle returned %p", p);
	p = zs_obj_read_begin(c->pool, v.handle, BI_VICTIM_SIZE, c->buf);
	BI_EXPECT(c, !p, "zs_obj_read_begin of a freed handle returned %p",
		  p);
	/* Must write nowhere: not the freed slot, not a neighbour. */
	memset(c->buf, 0xa5, PAGE_SIZE);
	zs_obj_write(c->pool, v.handle, c->buf, BI_VICTIM_SIZE);
	BI_EXPECT(c, bi_slot_sum(c, zspage, idx, BI_VICTIM_SIZE) == sum,
		  "the freed object's slot changed");
	zs_obj_read_end(c->pool, pin->handle, 1, held);
	bi_nest_two(c);
	zs_free(c->pool, g.handle);
	return;
out_victim:
	zs_free(c->pool, v.handle);
	if (g.handle)
		zs_free(c->pool, g.handle);
}

static void bi_map_foreign(struct bi_ctx *c)
{
	struct zs_pool *other = zs_create_pool("zsm_badinput_other");
	void *slab = kmalloc(64, GFP_KERNEL);
	struct zsm_tu_obj y;
	void *p;

	if (!BI_EXPECT(c, other && slab, "no memory") ||
	    bi_alloc(c, other, &y, BI_VICTIM_SIZE))
		goto out;

	bi_note_handle(c, y.handle);
	bi_fence_begin(c);
	p = zs_map_object(c->pool, y.handle, ZS_MM_RW);
	bi_fence_end(c);
	BI_EXPECT(c, !p, "map of another pool's handle returned %p", p);

	/* The same call site: NULL, silently. */
	p = zs_map_object(c->pool, 0, ZS_MM_RO);
	BI_EXPECT(c, !p, "map of handle 0 returned %p", p);
	p = zs_map_object(c->pool, (unsigned long)ERR_PTR(-ENOMEM), ZS_MM_RO);
	BI_EXPECT(c, !p, "map of an error value returned %p", p);
	p = zs_map_object(c->pool, (unsigned long)slab, ZS_MM_RO);
	BI_EXPECT(c, !p, "map of a slab address returned %p", p);
	bi_nest_two(c);
	bi_check(c, other, &y);
	zs_free(other, y.handle);
out:
	kfree(slab);
	zs_destroy_pool(other);
}

static void bi_unmap_unmapped(struct bi_ctx *c)
{
	struct zsm_tu_obj *a = &c->nb[0], *b = &c->nb[1];
	void *p;

	bi_note_handle(c, a->handle);
	bi_fence_begin(c);
	zs_unmap_object(c->pool, a->handle);
	bi_fence_end(c);

	/* One mapped, another unmapped: ignored (no second warning). */
	p = zs_map_object(c->pool, a->handle, ZS_MM_RO);
	if (BI_EXPECT(c, p, "map after a stray unmap failed")) {
		zs_unmap_object(c->pool, b->handle);
		zs_unmap_object(c->pool, a->handle);
	}
	BI_EXPECT(c, bi_zspage_unlocked(a), "zspage of the object stays locked");
	BI_EXPECT(c, bi_zspage_unlocked(b), "zspage of the object stays locked");
	bi_nest_two(c);
	bi_rewrite(c, c->pool, a);
}

/* Two cross-page neighbours of the same size, or NULL. */
static bool bi_two_crossing(struct bi_ctx *c, struct zsm_tu_obj **a,
			    struct zsm_tu_obj **b)
{
	unsigned int i;

	*a = *b = NULL;
	for (i = 0; i < c->nr_nb; i++) {
		struct zsm_tu_obj *o = &c->nb[i];

		if (o->size != BI_CROSS_SIZE || !bi_crosses(c->pool, o))
			continue;
		if (!*a)
			*a = o;
		else if (!*b)
			*b = o;
	}
	return BI_EXPECT(c, *a && *b, "no two cross-page objects of size %u",
			 BI_CROSS_SIZE);
}

static void bi_unmap_order(struct bi_ctx *c)
{
	bool pte = !strcmp(zsm_map_mode_name(), "pte");
	struct zsm_tu_obj *a, *b;
	u8 *pa, *pb;

	if (!bi_two_crossing(c, &a, &b))
		return;
	/* Copy mode: a wrong unmap would write back the wrong buffer. */
	zsm_map_set_mode(false);
	pa = zs_map_object(c->pool, a->handle, ZS_MM_RW);
	pb = pa ? zs_map_object(c->pool, b->handle, ZS_MM_RW) : NULL;
	if (!BI_EXPECT(c, pa && pb, "maps failed (%p %p)", pa, pb)) {
		if (pa)
			zs_unmap_object(c->pool, a->handle);
		goto out;
	}
	bi_note_handle(c, a->handle);
	bi_fence_begin(c);
	zs_unmap_object(c->pool, a->handle);
	bi_fence_end(c);
	/* Both mappings are still valid: write the next generations. */
	zsm_tu_obj_write(a, pa, a->gen + 1);
	zsm_tu_obj_write(b, pb, b->gen + 1);
	zs_unmap_object(c->pool, b->handle);
	zs_unmap_object(c->pool, a->handle);
	BI_EXPECT(c, bi_zspage_unlocked(a) && bi_zspage_unlocked(b),
		  "zspage stays locked after the unmaps");
	bi_check(c, c->pool, a);
	bi_check(c, c->pool, b);
out:
	zsm_map_set_mode(pte);
}

/* Is live @b in the slot right after live @a's, in the same zspage? */
static bool bi_adjacent(const struct zsm_tu_obj *a, const struct zsm_tu_obj *b)
{
	unsigned long oa = READ_ONCE(*(unsigned long *)a->handle);
	unsigned long ob = READ_ONCE(*(unsigned long *)b->handle);

	return zsm_obj_zspage(oa) == zsm_obj_zspage(ob) &&
	       zsm_obj_idx(ob) == zsm_obj_idx(oa) + 1;
}

#define BI_OVERLONG_OBJS	64
#define BI_OVERLONG_EXTRA	100

/*
 * obj_overlong: the object API given more bytes than the object has.
 * Objects of exactly their class's size are allocated in a row; for an
 * in-page one and a cross-page one, each followed in its zspage by
 * another, zs_obj_write() of size + BI_OVERLONG_EXTRA bytes stores the
 * first size bytes (the object reads back as its next generation) and
 * leaves the next object's bytes alone; zs_obj_read_begin() of that
 * length returns the object's own bytes. Two warnings (the first write
 * and the first read; the cross-page ones are silent).
 */
static void bi_obj_overlong(struct bi_ctx *c)
{
	unsigned int size = bi_class(c->pool, BI_VICTIM_SIZE)->geom.size;
	size_t len = size + BI_OVERLONG_EXTRA;
	struct zsm_tu_obj *o, *v[2] = { NULL, NULL };
	unsigned int i, k, n = 0;

	o = kcalloc(BI_OVERLONG_OBJS, sizeof(*o), GFP_KERNEL);
	if (!BI_EXPECT(c, o, "no memory"))
		return;
	for (; n < BI_OVERLONG_OBJS; n++)
		if (bi_alloc(c, c->pool, &o[n], size))
			goto out;
	for (i = 0; i + 1 < n; i++) {
		k = bi_crosses(c->pool, &o[i]);
		if (!v[k] && bi_adjacent(&o[i], &o[i + 1]))
			v[k] = &o[i];
	}
	if (!BI_EXPECT(c, v[0] && v[1],
		       "no in-page and cross-page objects of %u bytes followed by another",
		       size))
		goto out;
	bi_fence_begin(c);
	for (k = 0; k < 2; k++) {
		u8 *p;

		bi_note_handle(c, v[k]->handle);
		memset(c->buf, 0x5a, PAGE_SIZE);
		zsm_tu_obj_write(v[k], c->buf, v[k]->gen + 1);
		zs_obj_write(c->pool, v[k]->handle, c->buf, len);
		memset(c->buf, 0, PAGE_SIZE);
		p = zs_obj_read_begin(c->pool, v[k]->handle, len, c->buf);
		if (BI_EXPECT(c, p, "overlong zs_obj_read_begin returned NULL")) {
			BI_EXPECT(c, zsm_tu_obj_check(v[k], p, c->name,
						      c->scratch, &bi_reports,
						      BI_MAX_REPORTS),
				  "overlong read: object %s page corrupt",
				  k ? "cross" : "in");
			zs_obj_read_end(c->pool, v[k]->handle, len, p);
		}
	}
	bi_fence_end(c);
	for (i = 0; i < n; i++)
		bi_check(c, c->pool, &o[i]);
out:
	for (i = 0; i < n; i++)
		zs_free(c->pool, o[i].handle);
	kfree(o);
}

static void bi_nested3(struct bi_ctx *c)
{
	struct zsm_tu_obj *a, *b, *z = &c->nb[2];
	u8 *pa, *pb, *pz;

	if (!bi_two_crossing(c, &a, &b))
		return;
	pa = zs_map_object(c->pool, a->handle, ZS_MM_RW);
	pb = pa ? zs_map_object(c->pool, b->handle, ZS_MM_RW) : NULL;
	if (!BI_EXPECT(c, pa && pb, "maps failed (%p %p)", pa, pb)) {
		if (pa)
			zs_unmap_object(c->pool, a->handle);
		return;
	}
	bi_fence_begin(c);
	pz = zs_map_object(c->pool, z->handle, ZS_MM_RO);
	bi_fence_end(c);
	if (!BI_EXPECT(c, !pz, "a third nested map returned %p", pz))
		zs_unmap_object(c->pool, z->handle);
	/* The outer maps are intact and still writable. */
	BI_EXPECT(c, zsm_tu_csum(pa, a->size) == a->csum &&
		  zsm_tu_csum(pb, b->size) == b->csum,
		  "outer maps changed by the refused third map");
	zsm_tu_obj_write(a, pa, a->gen + 1);
	zsm_tu_obj_write(b, pb, b->gen + 1);
	zs_unmap_object(c->pool, b->handle);
	zs_unmap_object(c->pool, a->handle);
	BI_EXPECT(c, bi_zspage_unlocked(z),
		  "the refused map left its zspage locked");
	bi_check(c, c->pool, a);
	bi_check(c, c->pool, b);
	bi_nest_two(c);
}

/* After a destroy: zsm holds what it held before the pool (@held0). */
static void bi_expect_held(struct bi_ctx *c, long held0)
{
	long held = atomic_long_read(&zsm_pages_held);

	BI_EXPECT(c, held == held0,
		  "zsm holds %ld pages after the destroy, %ld before the pool",
		  held, held0);
}

/* Free @n objects of @pool (if any) and destroy it; free @objs. */
static void bi_release(struct zs_pool *pool, struct zsm_tu_obj *objs,
		       unsigned int n)
{
	unsigned int i;

	if (pool) {
		for (i = 0; i < n; i++)
			zs_free(pool, objs[i].handle);
		zs_destroy_pool(pool);
	}
	kfree(objs);
}

static void bi_destroy_live(struct bi_ctx *c)
{
	long held0 = atomic_long_read(&zsm_pages_held);
	struct zsm_tu_obj *objs;
	struct zs_pool *pool;
	unsigned int i, n = 0;

	objs = kcalloc(BI_LIVE_AT_DESTROY, sizeof(*objs), GFP_KERNEL);
	pool = zs_create_pool("zsm_badinput_live");
	if (!BI_EXPECT(c, objs && pool, "no memory"))
		goto out;
	for (i = 0; i < BI_LIVE_AT_DESTROY; i++) {
		unsigned int size = bi_sizes[i % ARRAY_SIZE(bi_sizes)] + i;

		if (bi_alloc(c, pool, &objs[n], min_t(unsigned int, size, PAGE_SIZE)))
			break;
		n++;
	}
	/* Correct maps and unmaps, then compaction: nothing stays held. */
	for (i = 0; i < n; i += 2)
		bi_rewrite(c, pool, &objs[i]);
	zs_compact(pool);
	for (i = 0; i < n; i++)
		bi_check(c, pool, &objs[i]);
	if (!BI_EXPECT(c, n == BI_LIVE_AT_DESTROY, "only %u objects", n))
		goto out;
	pr_info("case %s: destroying a pool with %u live objects, %lu pages\n",
		c->name, n, zs_get_total_pages(pool));

	bi_fence_begin(c);
	zs_destroy_pool(pool);
	bi_fence_end(c);
	pool = NULL;

	bi_expect_held(c, held0);
out:
	bi_release(pool, objs, n);
}

/* destroy_mapped: the task that holds a map while the pool is destroyed. */
struct bi_mapper {
	struct zs_pool *pool;
	const struct zsm_tu_obj *o;
	struct completion mapped;
	struct completion done;
	bool map_ok;
	bool intact;
	atomic_t unmapping;	/* set just before the unmap */
};

static int bi_mapper_fn(void *data)
{
	struct bi_mapper *m = data;
	const u8 *p = zs_map_object(m->pool, m->o->handle, ZS_MM_RO);

	m->map_ok = p;
	complete(&m->mapped);
	if (p) {
		/* Preemption is off while mapped: the destroy runs elsewhere. */
		mdelay(BI_MAP_HOLD_MS);
		m->intact = zsm_tu_csum(p, m->o->size) == m->o->csum;
		atomic_set(&m->unmapping, 1);
		zs_unmap_object(m->pool, m->o->handle);
	}
	kthread_complete_and_exit(&m->done, 0);
}

static void bi_destroy_mapped(struct bi_ctx *c)
{
	long held0 = atomic_long_read(&zsm_pages_held);
	struct zsm_tu_obj *objs;
	struct task_struct *t;
	struct bi_mapper m;
	struct zs_pool *pool;
	unsigned int i, n = 0, cpu;

	cpu = cpumask_any_but(cpu_online_mask, raw_smp_processor_id());
	if (!BI_EXPECT(c, cpu < nr_cpu_ids, "needs two online CPUs"))
		return;
	objs = kcalloc(BI_MAPPED_OBJS, sizeof(*objs), GFP_KERNEL);
	pool = zs_create_pool("zsm_badinput_mapped");
	if (!BI_EXPECT(c, objs && pool, "no memory"))
		goto out;
	for (i = 0; i < BI_MAPPED_OBJS; i++) {
		if (bi_alloc(c, pool, &objs[n], bi_sizes[i % ARRAY_SIZE(bi_sizes)]))
			break;
		n++;
	}
	if (!BI_EXPECT(c, n == BI_MAPPED_OBJS, "only %u objects", n))
		goto out;

	memset(&m, 0, sizeof(m));
	m.pool = pool;
	m.o = &objs[BI_MAPPED_OBJS / 2];
	init_completion(&m.mapped);
	init_completion(&m.done);
	t = kthread_create(bi_mapper_fn, &m, "zsm_bi_mapper");
	if (!BI_EXPECT(c, !IS_ERR(t), "kthread_create: %ld", PTR_ERR(t)))
		goto out;
	kthread_bind(t, cpu);
	wake_up_process(t);
	wait_for_completion(&m.mapped);
	if (!BI_EXPECT(c, m.map_ok, "the mapper's map failed")) {
		wait_for_completion(&m.done);
		goto out;
	}

	bi_fence_begin(c);
	zs_destroy_pool(pool);
	bi_fence_end(c);
	pool = NULL;
	BI_EXPECT(c, atomic_read(&m.unmapping),
		  "zs_destroy_pool() returned while an object was mapped");
	wait_for_completion(&m.done);
	BI_EXPECT(c, m.intact, "the mapped object changed before its unmap");
	bi_expect_held(c, held0);
out:
	bi_release(pool, objs, n);
}

static void bi_create_null(struct bi_ctx *c)
{
	long held0 = atomic_long_read(&zsm_pages_held);
	struct zs_pool *pool = zs_create_pool(NULL);

	if (!BI_EXPECT(c, !pool, "zs_create_pool(NULL) returned a pool"))
		zs_destroy_pool(pool);
	BI_EXPECT(c, atomic_long_read(&zsm_pages_held) == held0,
		  "zs_create_pool(NULL) took pages");
}

static void bi_long_name(struct bi_ctx *c)
{
	struct zs_pool *pools[2] = { NULL, NULL };
	char *name = kmalloc(BI_LONG_NAME + 1, GFP_KERNEL);
	unsigned int i;

	if (!BI_EXPECT(c, name, "no memory"))
		return;
	for (i = 0; i < BI_LONG_NAME; i++)
		name[i] = 'a' + i % 26;
	name[BI_LONG_NAME] = '\0';
	for (i = 0; i < ARRAY_SIZE(pools); i++) {
		const char *kept;
		struct zsm_tu_obj o;

		pools[i] = zs_create_pool(name);
		if (!BI_EXPECT(c, pools[i], "pool %u with a long name: NULL", i))
			continue;
		kept = zsm_pool(pools[i])->name;
		BI_EXPECT(c, strlen(kept) == ZSM_POOL_NAME_MAX &&
			  !strncmp(kept, name, ZSM_POOL_NAME_MAX),
			  "name kept as \"%s\" (%zu characters)", kept,
			  strlen(kept));
		if (!bi_alloc(c, pools[i], &o, BI_CROSS_SIZE)) {
			bi_check(c, pools[i], &o);
			zs_free(pools[i], o.handle);
		}
	}
	pr_info("case %s: pool name prefix %.*s\n", c->name,
		ZSM_POOL_NAME_MAX, name);
	for (i = 0; i < ARRAY_SIZE(pools); i++) {
		if (keep)
			bi_kept[i] = pools[i];
		else
			zs_destroy_pool(pools[i]);
	}
	kfree(name);
}

/* === Calling contexts ==================================================== */

/*
 * What runs in interrupt context, and what it saw. The hard-IRQ cases run
 * @fn once from an hrtimer in HRTIMER_MODE_REL_HARD (hard interrupt
 * context also on PREEMPT_RT); the softirq case re-arms an
 * HRTIMER_MODE_REL_SOFT timer (HRTIMER_SOFTIRQ) until told to stop.
 */
struct bi_irq {
	struct hrtimer timer;
	struct bi_ctx *c;
	struct zsm_tu_obj *o;		/* the object the interrupt uses */
	void (*fn)(struct bi_irq *irq);
	struct completion done;
	bool hardirq;			/* in_hardirq() held in the callback */
	bool softirq;			/* in_serving_softirq() held */
	unsigned long handle;		/* zs_malloc() result */
	void *p;			/* zs_map_object() result */
	struct page *sg_page;		/* zs_obj_read_sg_begin()'s page */
	/* softirq case */
	struct zsm_tu_obj *objs;
	unsigned int nr_objs;
	struct rnd_state rnd;
	atomic_t stop;
	unsigned long maps;
	unsigned long bad_maps;
	unsigned long corrupt;
	unsigned long runs;
};

static enum hrtimer_restart bi_hardirq_fn(struct hrtimer *t)
{
	struct bi_irq *irq = container_of(t, struct bi_irq, timer);

	irq->hardirq = in_hardirq();
	irq->fn(irq);
	complete(&irq->done);
	return HRTIMER_NORESTART;
}

/* Run @fn in hard interrupt context on this CPU; wait for it. */
static void bi_in_hardirq(struct bi_ctx *c, struct bi_irq *irq,
			  void (*fn)(struct bi_irq *irq))
{
	irq->c = c;
	irq->fn = fn;
	init_completion(&irq->done);
	zsm_hrtimer_setup(&irq->timer, bi_hardirq_fn, CLOCK_MONOTONIC,
			  HRTIMER_MODE_REL_HARD);
	hrtimer_start(&irq->timer, ns_to_ktime(1000), HRTIMER_MODE_REL_HARD);
	wait_for_completion(&irq->done);
	hrtimer_cancel(&irq->timer);
	BI_EXPECT(c, irq->hardirq, "the hrtimer did not run in hard IRQ");
}

static void bi_irq_malloc_fn(struct bi_irq *irq)
{
	irq->handle = zsm_zs_malloc(irq->c->pool, BI_VICTIM_SIZE, GFP_ATOMIC);
}

/* irq_malloc: zs_malloc() in hard IRQ is refused with -EINVAL. */
static void bi_irq_malloc(struct bi_ctx *c)
{
	unsigned long pages = zs_get_total_pages(c->pool);
	unsigned long inuse = bi_class_inuse(c->pool, BI_VICTIM_SIZE);
	struct bi_irq irq = { };

	bi_fence_begin(c);
	bi_in_hardirq(c, &irq, bi_irq_malloc_fn);
	bi_fence_end(c);
	if (!BI_EXPECT(c, irq.handle == (unsigned long)ERR_PTR(-EINVAL),
		       "zs_malloc() in hard IRQ returned %ld, expected -EINVAL",
		       IS_ERR_VALUE(irq.handle) ? (long)irq.handle : 0L)) {
		if (!IS_ERR_VALUE(irq.handle))
			zs_free(c->pool, irq.handle);
		return;
	}
	BI_EXPECT(c, zs_get_total_pages(c->pool) == pages &&
		  bi_class_inuse(c->pool, BI_VICTIM_SIZE) == inuse,
		  "the refused zs_malloc() took pages or a slot");
}

static void bi_irq_free_fn(struct bi_irq *irq)
{
	zs_free(irq->c->pool, irq->o->handle);
}

/* Is the handle word of @h that of a freed handle? */
static bool bi_handle_freed(unsigned long h)
{
	return READ_ONCE(*(unsigned long *)h) & ZSM_HANDLE_FREE;
}

/* irq_free: zs_free() in hard IRQ is refused; the object stays. */
static void bi_irq_free(struct bi_ctx *c)
{
	unsigned long inuse;
	struct bi_irq irq = { };
	struct zsm_tu_obj v;

	if (bi_alloc(c, c->pool, &v, BI_VICTIM_SIZE))
		return;
	inuse = bi_class_inuse(c->pool, BI_VICTIM_SIZE);
	irq.o = &v;
	bi_note_handle(c, v.handle);
	bi_fence_begin(c);
	bi_in_hardirq(c, &irq, bi_irq_free_fn);
	bi_fence_end(c);
	if (!BI_EXPECT(c, !bi_handle_freed(v.handle) &&
		       bi_class_inuse(c->pool, BI_VICTIM_SIZE) == inuse,
		       "zs_free() in hard IRQ freed the object"))
		return;
	bi_check(c, c->pool, &v);
	zs_free(c->pool, v.handle);
}

static void bi_irq_map_fn(struct bi_irq *irq)
{
	irq->p = zs_map_object(irq->c->pool, irq->o->handle, ZS_MM_RO);
	if (irq->p)
		zs_unmap_object(irq->c->pool, irq->o->handle);
}

/*
 * irq_map: zs_map_object() in hard IRQ returns NULL. With interrupts
 * disabled in task context it works.
 */
static void bi_irq_map(struct bi_ctx *c)
{
	struct zsm_tu_obj *o = &c->nb[c->nr_nb / 2];
	struct bi_irq irq = { .o = o };
	unsigned long flags;
	const u8 *p;
	bool ok = false;

	local_irq_save(flags);
	p = zs_map_object(c->pool, o->handle, ZS_MM_RO);
	if (p) {
		ok = zsm_tu_csum(p, o->size) == o->csum;
		zs_unmap_object(c->pool, o->handle);
	}
	local_irq_restore(flags);
	BI_EXPECT(c, ok, "map with interrupts disabled failed (%p)", p);

	bi_note_handle(c, o->handle);
	bi_fence_begin(c);
	bi_in_hardirq(c, &irq, bi_irq_map_fn);
	bi_fence_end(c);
	BI_EXPECT(c, !irq.p, "zs_map_object() in hard IRQ returned %p", irq.p);
	bi_nest_two(c);
}

static void bi_irq_read_fn(struct bi_irq *irq)
{
	irq->p = zs_obj_read_begin(irq->c->pool, irq->o->handle, irq->o->size,
				   irq->c->buf);
	if (irq->p)
		zs_obj_read_end(irq->c->pool, irq->o->handle, irq->o->size,
				irq->p);
}

/* irq_read: zs_obj_read_begin() in hard IRQ returns NULL. */
static void bi_irq_read(struct bi_ctx *c)
{
	struct bi_irq irq = { .o = &c->nb[c->nr_nb / 2] };

	bi_note_handle(c, irq.o->handle);
	bi_fence_begin(c);
	bi_in_hardirq(c, &irq, bi_irq_read_fn);
	bi_fence_end(c);
	BI_EXPECT(c, !irq.p, "zs_obj_read_begin() in hard IRQ returned %p",
		  irq.p);
}

static void bi_irq_write_fn(struct bi_irq *irq)
{
	zs_obj_write(irq->c->pool, irq->o->handle, irq->c->buf,
		     irq->o->size);
}

/* irq_write: zs_obj_write() in hard IRQ writes nothing. */
static void bi_irq_write(struct bi_ctx *c)
{
	struct bi_irq irq = { .o = &c->nb[c->nr_nb / 2] };

	memset(c->buf, 0x5a, PAGE_SIZE);
	bi_note_handle(c, irq.o->handle);
	bi_fence_begin(c);
	bi_in_hardirq(c, &irq, bi_irq_write_fn);
	bi_fence_end(c);
	/* bi_ctx_exit() checks every neighbour, irq.o among them. */
}

/*
 * A scatterlist that names a page, so that only a begin that sets it up
 * (sg_init_table()) leaves it without one.
 */
static void bi_sg_poison(struct bi_ctx *c, struct scatterlist *sg)
{
	sg_init_table(sg, 2);
	sg_set_page(sg, virt_to_page(c->scratch), 1, 0);
}

static void bi_irq_end_fn(struct bi_irq *irq)
{
	struct bi_ctx *c = irq->c;
	struct scatterlist sg[2];

	irq->p = zs_obj_read_begin(c->pool, irq->o->handle, irq->o->size,
				   c->buf);
	zs_obj_read_end(c->pool, irq->o->handle, irq->o->size, irq->p);
	bi_sg_poison(c, sg);
	zs_obj_read_sg_begin(c->pool, irq->o->handle, sg, irq->o->size);
	irq->sg_page = sg_page(sg);
	zs_obj_read_sg_end(c->pool, irq->o->handle);
}

/* The refused begins of @handle, each followed by its end, as zswap does. */
static void bi_end_refused(struct bi_ctx *c, unsigned long handle,
			   unsigned int size, const char *what)
{
	struct scatterlist sg[2];
	void *p;

	p = zs_obj_read_begin(c->pool, handle, size, c->buf);
	BI_EXPECT(c, !p, "zs_obj_read_begin() of %s returned %p", what, p);
	zs_obj_read_end(c->pool, handle, size, p);
	bi_sg_poison(c, sg);
	zs_obj_read_sg_begin(c->pool, handle, sg, size);
	BI_EXPECT(c, !sg_page(sg), "zs_obj_read_sg_begin() of %s gave a page",
		  what);
	zs_obj_read_sg_end(c->pool, handle);
}

/*
 * obj_end_refused: zs_obj_read_end() and zs_obj_read_sg_end() after a
 * refused begin (another pool's handle, a freed one, hard IRQ) release
 * nothing: every zspage lock involved stays free.
 */
static void bi_obj_end_refused(struct bi_ctx *c)
{
	struct zs_pool *other = zs_create_pool("zsm_badinput_other");
	struct bi_irq irq = { .o = &c->nb[c->nr_nb / 2] };
	struct zsm_tu_obj y, v;

	if (!BI_EXPECT(c, other, "no memory") ||
	    bi_alloc(c, other, &y, BI_VICTIM_SIZE))
		goto out;
	if (bi_alloc(c, c->pool, &v, BI_VICTIM_SIZE))
		goto out_y;
	zs_free(c->pool, v.handle);

	bi_note_handle(c, y.handle);
	bi_note_handle(c, v.handle);
	bi_note_handle(c, irq.o->handle);
	bi_fence_begin(c);
	bi_end_refused(c, y.handle, y.size, "another pool's handle");
	bi_end_refused(c, v.handle, v.size, "a freed handle");
	bi_in_hardirq(c, &irq, bi_irq_end_fn);
	bi_fence_end(c);
	BI_EXPECT(c, !irq.p && !irq.sg_page,
		  "a read begun in hard IRQ was not refused");

	/* A lock released twice would read as held (and block readers). */
	if (BI_EXPECT(c, bi_zspage_unlocked(&y),
		      "the other pool's zspage lock is taken after the ends"))
		bi_check(c, other, &y);
	if (BI_EXPECT(c, bi_zspage_unlocked(irq.o),
		      "the zspage lock is taken after the hard-IRQ ends"))
		bi_nest_two(c);
out_y:
	zs_free(other, y.handle);
out:
	zs_destroy_pool(other);
}

#define BI_SOFTIRQ_OBJS		96
#define BI_SOFTIRQ_CHURN	384
#define BI_SOFTIRQ_MS		2000
#define BI_SOFTIRQ_PERIOD_NS	(50 * NSEC_PER_USEC)
#define BI_SOFTIRQ_MAPS		8	/* per timer run */

/* softirq: map (and read) objects, checking them; the refusals, once. */
static enum hrtimer_restart bi_softirq_fn(struct hrtimer *t)
{
	struct bi_irq *irq = container_of(t, struct bi_irq, timer);
	struct zs_pool *pool = irq->c->pool;
	unsigned int k;

	irq->softirq &= in_serving_softirq() && !in_hardirq();
	if (!irq->runs++) {
		/* Refused here (no class lock is taken from a softirq). */
		irq->handle = zsm_zs_malloc(pool, BI_VICTIM_SIZE, GFP_ATOMIC);
		zs_free(pool, irq->o->handle);
	}
	for (k = 0; k < BI_SOFTIRQ_MAPS; k++) {
		const struct zsm_tu_obj *o;
		const u8 *p;

		o = &irq->objs[prandom_u32_state(&irq->rnd) % irq->nr_objs];
		if (k & 1)
			p = zs_obj_read_begin(pool, o->handle, o->size,
					      irq->c->buf);
		else
			p = zs_map_object(pool, o->handle, ZS_MM_RO);
		if (!p) {
			irq->bad_maps++;
			continue;
		}
		irq->maps++;
		if (!zsm_tu_obj_check(o, p, "softirq", irq->c->scratch,
				      &bi_reports, BI_MAX_REPORTS))
			irq->corrupt++;
		if (k & 1)
			zs_obj_read_end(pool, o->handle, o->size, (void *)p);
		else
			zs_unmap_object(pool, o->handle);
	}
	if (atomic_read(&irq->stop)) {
		complete(&irq->done);
		return HRTIMER_NORESTART;
	}
	hrtimer_forward_now(t, ns_to_ktime(BI_SOFTIRQ_PERIOD_NS));
	return HRTIMER_RESTART;
}

/* The writer on another CPU: allocations, frees and zs_compact(). */
struct bi_compactor {
	struct bi_ctx *c;
	struct zsm_tu_obj *churn;
	unsigned int nr;
	unsigned long rounds;
	unsigned long freed_pages;
	unsigned long corrupt;		/* churn objects that read wrong */
};

/* Is @o's content intact? Checksum only: runs beside the case's thread. */
static bool bi_intact(struct zs_pool *pool, const struct zsm_tu_obj *o)
{
	const u8 *p = zs_map_object(pool, o->handle, ZS_MM_RO);
	bool ok = p && zsm_tu_csum(p, o->size) == o->csum;

	if (p)
		zs_unmap_object(pool, o->handle);
	return ok;
}

static int bi_compactor_fn(void *data)
{
	struct bi_compactor *w = data;
	struct zs_pool *pool = w->c->pool;
	struct rnd_state rnd;
	unsigned int i;

	prandom_seed_state(&rnd, 0x5eed);
	while (!kthread_should_stop()) {
		/* Refill the holes, punch new ones, pack the pool. */
		for (i = 0; i < w->nr; i++) {
			if (w->churn[i].handle)
				continue;
			if (bi_alloc(w->c, pool, &w->churn[i],
				     bi_sizes[i % ARRAY_SIZE(bi_sizes)]))
				w->churn[i].handle = 0;
		}
		for (i = 0; i < w->nr; i++) {
			if (!w->churn[i].handle || prandom_u32_state(&rnd) & 1)
				continue;
			/* Compaction moved it, maybe more than once. */
			if (!bi_intact(pool, &w->churn[i]))
				w->corrupt++;
			zs_free(pool, w->churn[i].handle);
			w->churn[i].handle = 0;
		}
		w->freed_pages += zs_compact(pool);
		w->rounds++;
		cond_resched();
	}
	return 0;
}

/*
 * softirq: while a kthread on another CPU allocates, frees and compacts
 * the pool, an HRTIMER_MODE_REL_SOFT timer maps objects (zs_map_object()
 * and zs_obj_read_begin()) every BI_SOFTIRQ_PERIOD_NS for BI_SOFTIRQ_MS
 * and checks them: every map works and shows the right bytes. In its
 * first run it calls zs_malloc() and zs_free(): both are refused with a
 * warning (-EINVAL; the object stays allocated).
 */
static void bi_softirq(struct bi_ctx *c)
{
	struct bi_compactor w = { .c = c, .nr = BI_SOFTIRQ_CHURN };
	struct task_struct *t = NULL;
	struct bi_irq *irq;
	struct zsm_tu_obj v;
	unsigned int i, cpu;

	cpu = cpumask_any_but(cpu_online_mask, raw_smp_processor_id());
	if (!BI_EXPECT(c, cpu < nr_cpu_ids, "needs two online CPUs"))
		return;
	irq = kzalloc(sizeof(*irq), GFP_KERNEL);
	w.churn = kcalloc(BI_SOFTIRQ_CHURN, sizeof(*w.churn), GFP_KERNEL);
	if (!irq)
		goto out;
	irq->objs = kcalloc(BI_SOFTIRQ_OBJS, sizeof(*irq->objs), GFP_KERNEL);
	if (!BI_EXPECT(c, w.churn && irq->objs, "no memory"))
		goto out;
	/* Stable objects between churn ones, so that compaction moves them. */
	for (i = 0; i < BI_SOFTIRQ_OBJS; i++) {
		if (bi_alloc(c, c->pool, &irq->objs[i],
			     bi_sizes[i % ARRAY_SIZE(bi_sizes)]))
			goto out;
		irq->nr_objs++;
		if (i < BI_SOFTIRQ_CHURN &&
		    bi_alloc(c, c->pool, &w.churn[i],
			     bi_sizes[i % ARRAY_SIZE(bi_sizes)]))
			goto out;
	}
	if (bi_alloc(c, c->pool, &v, BI_VICTIM_SIZE))
		goto out;
	t = kthread_create(bi_compactor_fn, &w, "zsm_bi_compact");
	if (!BI_EXPECT(c, !IS_ERR(t), "kthread_create: %ld", PTR_ERR(t))) {
		t = NULL;
		goto out_v;
	}
	kthread_bind(t, cpu);
	wake_up_process(t);

	irq->c = c;
	irq->o = &v;
	irq->softirq = true;
	prandom_seed_state(&irq->rnd, 0xb1);
	init_completion(&irq->done);
	zsm_hrtimer_setup(&irq->timer, bi_softirq_fn, CLOCK_MONOTONIC,
			  HRTIMER_MODE_REL_SOFT);
	bi_note_handle(c, v.handle);
	bi_fence_begin(c);
	hrtimer_start(&irq->timer, ns_to_ktime(BI_SOFTIRQ_PERIOD_NS),
		      HRTIMER_MODE_REL_SOFT);
	msleep(BI_SOFTIRQ_MS);
	atomic_set(&irq->stop, 1);
	wait_for_completion(&irq->done);
	hrtimer_cancel(&irq->timer);
	bi_fence_end(c);
	kthread_stop(t);

	pr_info("case %s: %lu timer runs, %lu maps, %lu compaction rounds freed %lu pages\n",
		c->name, irq->runs, irq->maps, w.rounds, w.freed_pages);
	pr_info("zsm-metric badinput.softirq_maps=%lu\n", irq->maps);
	pr_info("zsm-metric badinput.softirq_compactions=%lu\n", w.rounds);
	BI_EXPECT(c, irq->softirq, "the timer did not run in softirq context");
	BI_EXPECT(c, irq->maps && !irq->bad_maps && !irq->corrupt,
		  "%lu maps, %lu failed, %lu showed wrong bytes", irq->maps,
		  irq->bad_maps, irq->corrupt);
	BI_EXPECT(c, w.rounds && w.freed_pages,
		  "the compactor made %lu rounds, freed %lu pages", w.rounds,
		  w.freed_pages);
	BI_EXPECT(c, !w.corrupt, "%lu churn objects read wrong before their free",
		  w.corrupt);
	BI_EXPECT(c, irq->handle == (unsigned long)ERR_PTR(-EINVAL),
		  "zs_malloc() in softirq returned %ld, expected -EINVAL",
		  IS_ERR_VALUE(irq->handle) ? (long)irq->handle : 0L);
	if (!IS_ERR_VALUE(irq->handle))
		zs_free(c->pool, irq->handle);
	if (!BI_EXPECT(c, !bi_handle_freed(v.handle),
		       "zs_free() in softirq freed the object"))
		goto out;
out_v:
	bi_check(c, c->pool, &v);
	zs_free(c->pool, v.handle);
out:
	if (irq) {
		for (i = 0; i < irq->nr_objs; i++) {
			bi_check(c, c->pool, &irq->objs[i]);
			zs_free(c->pool, irq->objs[i].handle);
		}
		kfree(irq->objs);
	}
	for (i = 0; w.churn && i < BI_SOFTIRQ_CHURN; i++) {
		if (!w.churn[i].handle)
			continue;
		bi_check(c, c->pool, &w.churn[i]);
		zs_free(c->pool, w.churn[i].handle);
	}
	kfree(w.churn);
	kfree(irq);
}

static const struct {
	const char *name;
	void (*fn)(struct bi_ctx *c);
} bi_cases[] = {
	{ "malloc_size", bi_malloc_size },
	{ "free_null", bi_free_null },
	{ "double_free", bi_double_free },
	{ "foreign_free", bi_foreign_free },
	{ "map_freed", bi_map_freed },
	{ "map_foreign", bi_map_foreign },
	{ "unmap_unmapped", bi_unmap_unmapped },
	{ "unmap_order", bi_unmap_order },
	{ "nested3", bi_nested3 },
	{ "obj_overlong", bi_obj_overlong },
	{ "destroy_live", bi_destroy_live },
	{ "destroy_mapped", bi_destroy_mapped },
	{ "create_null", bi_create_null },
	{ "long_name", bi_long_name },
	{ "irq_malloc", bi_irq_malloc },
	{ "irq_free", bi_irq_free },
	{ "irq_map", bi_irq_map },
	{ "irq_read", bi_irq_read },
	{ "irq_write", bi_irq_write },
	{ "obj_end_refused", bi_obj_end_refused },
	{ "softirq", bi_softirq },
};

/* Run one case with its neighbours; return true if it passed. */
static bool bi_run_case(unsigned int i)
{
	struct bi_ctx *c = kzalloc(sizeof(*c), GFP_KERNEL);
	bool ok;

	if (!c)
		return false;
	if (bi_ctx_init(c, bi_cases[i].name)) {
		pr_err("case %s: cannot set up the neighbours\n",
		       bi_cases[i].name);
		c->failed++;
	} else {
		bi_cases[i].fn(c);
	}
	bi_ctx_exit(c);
	ok = !c->failed;
	pr_info("case %s: %s\n", bi_cases[i].name, ok ? "pass" : "FAIL");
	kfree(c);
	return ok;
}

/* === The `pools` knob ==================================================== */

/* Hold exactly @n empty pools. */
static int bi_pools_set(const char *val, const struct kernel_param *kp)
{
	unsigned int n;
	int ret;

	ret = kstrtouint(val, 0, &n);
	if (ret)
		return ret;
	if (n > BI_MAX_POOLS)
		return -EINVAL;
	mutex_lock(&bi_pools_lock);
	while (bi_nr_pools < n) {
		char name[32];

		snprintf(name, sizeof(name), "zsm_badinput_hold%u",
			 bi_nr_pools);
		bi_pools[bi_nr_pools] = zs_create_pool(name);
		if (!bi_pools[bi_nr_pools]) {
			ret = -ENOMEM;
			break;
		}
		bi_nr_pools++;
	}
	while (bi_nr_pools > n)
		zs_destroy_pool(bi_pools[--bi_nr_pools]);
	mutex_unlock(&bi_pools_lock);
	return ret;
}

static int bi_pools_get(char *buf, const struct kernel_param *kp)
{
	unsigned int n;

	mutex_lock(&bi_pools_lock);
	n = bi_nr_pools;
	mutex_unlock(&bi_pools_lock);
	return sysfs_emit(buf, "%u\n", n);
}

static const struct kernel_param_ops bi_pools_ops = {
	.set = bi_pools_set,
	.get = bi_pools_get,
};
module_param_cb(pools, &bi_pools_ops, NULL, 0644);
MODULE_PARM_DESC(pools, "Empty pools this module holds (write to change)");

/* === Module ============================================================== */

static int __init zsm_test_badinput_init(void)
{
	char *list, *cur, *tok;
	unsigned int failed = 0, i;
	int ret = 0;

	list = kstrdup(run, GFP_KERNEL);
	if (!list)
		return -ENOMEM;
	cur = list;
	while ((tok = strsep(&cur, ",")) != NULL) {
		if (!*tok)
			continue;
		for (i = 0; i < ARRAY_SIZE(bi_cases); i++)
			if (!strcmp(tok, bi_cases[i].name))
				break;
		if (i == ARRAY_SIZE(bi_cases)) {
			pr_err("unknown case %s\n", tok);
			ret = -EINVAL;
			break;
		}
		if (bi_run_case(i))
			cases_passed++;
		else
			failed++;
	}
	kfree(list);
	if (!ret && failed)
		ret = -EIO;
	if (ret) {
		for (i = 0; i < ARRAY_SIZE(bi_kept); i++)
			zs_destroy_pool(bi_kept[i]);
	}
	return ret;
}

static void __exit zsm_test_badinput_exit(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bi_kept); i++)
		zs_destroy_pool(bi_kept[i]);
	mutex_lock(&bi_pools_lock);
	while (bi_nr_pools)
		zs_destroy_pool(bi_pools[--bi_nr_pools]);
	mutex_unlock(&bi_pools_lock);
}

module_init(zsm_test_badinput_init);
module_exit(zsm_test_badinput_exit);

MODULE_DESCRIPTION("zsm integration test: misuse of the API has defined outcomes");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(ZSM_KUNIT_NS);
