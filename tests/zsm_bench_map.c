// SPDX-License-Identifier: GPL-2.0
/*
 * zsm_bench_map: time zs_map_object() + zs_unmap_object() of in-page and
 * cross-page objects, ZS_MM_RO and ZS_MM_WO, for whichever allocator
 * provides the zs_* symbols: zsm.ko (pte or copy mode) or the kernel's own
 * zsmalloc.ko. Loaded in a guest by guest/tests/map_bench.sh, which loads
 * each provider in turn and compares the medians.
 *
 * What is measured, and how:
 *
 * - Only the public <linux/zsmalloc.h> API is used (zs_create_pool,
 *   zs_malloc, zs_map_object, zs_unmap_object, zs_free, zs_destroy_pool),
 *   whose modversion CRCs zsm and zsmalloc share, so this one .ko binds to
 *   either.
 * - nr_objs objects of `size` bytes are allocated. Which of them cross a
 *   page boundary is found without knowing the allocator's layout: each
 *   object is mapped once, and an object whose map lies in vmalloc space
 *   (a page-table window), or in a page shared with more maps than objects
 *   of that size fit in one page (a per-CPU copy buffer), is cross-page;
 *   the others are mapped in place, in-page.
 * - For each of cross/in-page and RO/WO, `loops` passes over the objects of
 *   the set are timed with ktime_get_ns(): map, touch the object (touch=1:
 *   its first and last 8 bytes, read for RO and written for WO, so that a
 *   page-table window really is used; touch=2: all of it; touch=0: not at
 *   all), unmap. Preemption is enabled between operations. This is done
 *   `reps` times in turn for the four kinds; the median of the per-operation
 *   times is reported.
 *
 * Results: "zsm-bench-raw map.<provider>.<cross|inpage>_<ro|wo>_ns=<ns>"
 * lines on the console, and the same in read-only parameters
 * (cross_ro_ns, ...) while the module stays loaded.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/unaligned.h>
#include <linux/zsmalloc.h>

/* === Parameters ========================================================== */

static char *provider = "unknown";
module_param(provider, charp, 0444);
MODULE_PARM_DESC(provider, "Name of the zs_* provider, for the result lines");

static unsigned int nr_objs = 2000;
module_param(nr_objs, uint, 0444);
MODULE_PARM_DESC(nr_objs, "Objects allocated");

static unsigned int size = 3000;
module_param(size, uint, 0444);
MODULE_PARM_DESC(size, "Object size in bytes (many cross pages at 3000)");

static unsigned int loops = 5;
module_param(loops, uint, 0444);
MODULE_PARM_DESC(loops, "Passes over the objects per measurement");

static unsigned int reps = 3;
module_param(reps, uint, 0444);
MODULE_PARM_DESC(reps, "Measurements of each kind; the median is reported");

static unsigned int touch = 1;
module_param(touch, uint, 0444);
MODULE_PARM_DESC(touch, "Access per map: 0 none, 1 first and last 8 bytes, 2 all");

/* Results (read-only), nanoseconds per map + unmap. */
static unsigned long cross_ro_ns, cross_wo_ns, inpage_ro_ns, inpage_wo_ns;
module_param(cross_ro_ns, ulong, 0444);
MODULE_PARM_DESC(cross_ro_ns, "Result: cross-page object, ZS_MM_RO");
module_param(cross_wo_ns, ulong, 0444);
MODULE_PARM_DESC(cross_wo_ns, "Result: cross-page object, ZS_MM_WO");
module_param(inpage_ro_ns, ulong, 0444);
MODULE_PARM_DESC(inpage_ro_ns, "Result: in-page object, ZS_MM_RO");
module_param(inpage_wo_ns, ulong, 0444);
MODULE_PARM_DESC(inpage_wo_ns, "Result: in-page object, ZS_MM_WO");

static unsigned int nr_cross, nr_inpage;
module_param(nr_cross, uint, 0444);
MODULE_PARM_DESC(nr_cross, "Result: objects found to cross pages");
module_param(nr_inpage, uint, 0444);
MODULE_PARM_DESC(nr_inpage, "Result: objects found inside one page");

/* === Data ================================================================ */

#define BM_MAX_REPS	15
#define BM_KINDS	4

/* The four measurements, in the order they are run in each round. */
static const struct {
	const char *name;
	bool cross;
	enum zs_mapmode mm;
	unsigned long *result;
} bm_kinds[BM_KINDS] = {
	{ "cross_ro", true, ZS_MM_RO, &cross_ro_ns },
	{ "cross_wo", true, ZS_MM_WO, &cross_wo_ns },
	{ "inpage_ro", false, ZS_MM_RO, &inpage_ro_ns },
	{ "inpage_wo", false, ZS_MM_WO, &inpage_wo_ns },
};

struct bm_ctx {
	struct zs_pool *pool;
	unsigned long *handles;		/* nr_objs */
	unsigned long *cross;		/* nr_cross handles */
	unsigned long *inpage;		/* nr_inpage handles */
	u8 *buf;			/* PAGE_SIZE, for touch=2 */
};

/* === Classification ====================================================== */

static int bm_cmp_ulong(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a;
	unsigned long y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

/* Maps of the sorted @pages (n entries) that fall in @page. */
static unsigned int bm_count_page(const unsigned long *pages, unsigned int n,
				  unsigned long page)
{
	unsigned int lo = 0, hi = n, first;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (pages[mid] < page)
			lo = mid + 1;
		else
			hi = mid;
	}
	first = lo;
	while (lo < n && pages[lo] == page)
		lo++;
	return lo - first;
}

/*
 * Sort the objects into cross-page and in-page by where a map of each
 * lands (see the top of the file).
 */
static int bm_classify(struct bm_ctx *c)
{
	unsigned int per_page = max_t(unsigned int, PAGE_SIZE / size, 1);
	unsigned long *addr, *pages;
	bool *vm;
	unsigned int i;
	int ret = 0;

	addr = kvmalloc_array(nr_objs, sizeof(*addr), GFP_KERNEL);
	pages = kvmalloc_array(nr_objs, sizeof(*pages), GFP_KERNEL);
	vm = kvmalloc_array(nr_objs, sizeof(*vm), GFP_KERNEL);
	if (!addr || !pages || !vm) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nr_objs; i++) {
		void *p = zs_map_object(c->pool, c->handles[i], ZS_MM_RO);

		if (!p) {
			ret = -EINVAL;
			goto out;
		}
		addr[i] = (unsigned long)p;
		vm[i] = is_vmalloc_addr(p);
		zs_unmap_object(c->pool, c->handles[i]);
		pages[i] = addr[i] & PAGE_MASK;
	}
	sort(pages, nr_objs, sizeof(*pages), bm_cmp_ulong, NULL);
	for (i = 0; i < nr_objs; i++) {
		unsigned int shared = bm_count_page(pages, nr_objs,
						    addr[i] & PAGE_MASK);

		if (vm[i] || shared > per_page)
			c->cross[nr_cross++] = c->handles[i];
		else
			c->inpage[nr_inpage++] = c->handles[i];
	}
out:
	kvfree(vm);
	kvfree(pages);
	kvfree(addr);
	return ret;
}

/* === Timing ============================================================== */

static u64 bm_sink;
static unsigned long bm_errors;	/* maps that returned NULL */

/* Nanoseconds per map + touch + unmap over @n objects, `loops` times. */
static unsigned long bm_time(struct bm_ctx *c, const unsigned long *h,
			     unsigned int n, enum zs_mapmode mm)
{
	unsigned long ops = (unsigned long)loops * n;
	unsigned int l, i;
	u64 start, sum = 0;

	start = ktime_get_ns();
	for (l = 0; l < loops; l++) {
		for (i = 0; i < n; i++) {
			u8 *p = zs_map_object(c->pool, h[i], mm);

			if (unlikely(!p)) {
				bm_errors++;
				continue;
			}
			if (touch == 1 && mm == ZS_MM_RO) {
				sum += get_unaligned((u64 *)p);
				sum += get_unaligned((u64 *)(p + size - 8));
			} else if (touch == 1) {
				put_unaligned(sum, (u64 *)p);
				put_unaligned(sum, (u64 *)(p + size - 8));
			} else if (touch == 2 && mm == ZS_MM_RO) {
				memcpy(c->buf, p, size);
			} else if (touch == 2) {
				memcpy(p, c->buf, size);
			}
			zs_unmap_object(c->pool, h[i]);
			/* Preemption point between operations. */
			if (!(i & 63))
				cond_resched();
		}
	}
	WRITE_ONCE(bm_sink, sum);
	return div64_ul(ktime_get_ns() - start, ops);
}

static void bm_run(struct bm_ctx *c)
{
	unsigned long t[BM_KINDS][BM_MAX_REPS];
	unsigned int r, k;

	for (r = 0; r < reps; r++) {
		for (k = 0; k < BM_KINDS; k++) {
			bool x = bm_kinds[k].cross;

			t[k][r] = bm_time(c, x ? c->cross : c->inpage,
					  x ? nr_cross : nr_inpage,
					  bm_kinds[k].mm);
		}
	}
	for (k = 0; k < BM_KINDS; k++) {
		sort(t[k], reps, sizeof(t[k][0]), bm_cmp_ulong, NULL);
		*bm_kinds[k].result = t[k][reps / 2];
		pr_info("zsm-bench-raw map.%s.%s_ns=%lu\n", provider,
			bm_kinds[k].name, *bm_kinds[k].result);
	}
}

/* === Module ============================================================== */

static int __init zsm_bench_map_init(void)
{
	struct bm_ctx c = { };
	unsigned int i;
	int ret = 0;

	if (size < 16 || size > PAGE_SIZE || !nr_objs || !loops || !reps ||
	    reps > BM_MAX_REPS || touch > 2) {
		pr_err("bad parameters\n");
		return -EINVAL;
	}
	c.handles = kvcalloc(nr_objs, sizeof(*c.handles), GFP_KERNEL);
	c.cross = kvcalloc(nr_objs, sizeof(*c.cross), GFP_KERNEL);
	c.inpage = kvcalloc(nr_objs, sizeof(*c.inpage), GFP_KERNEL);
	c.buf = kzalloc(PAGE_SIZE, GFP_KERNEL);
	c.pool = zs_create_pool("zsm_bench_map");
	if (!c.handles || !c.cross || !c.inpage || !c.buf || !c.pool) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nr_objs; i++) {
		unsigned long h = zs_malloc(c.pool, size, GFP_KERNEL);
		void *p;

		if (IS_ERR_VALUE(h)) {
			ret = (int)(long)h;
			goto out;
		}
		c.handles[i] = h;
		p = zs_map_object(c.pool, h, ZS_MM_WO);
		if (!p) {
			ret = -EINVAL;
			goto out;
		}
		memset(p, i, size);
		zs_unmap_object(c.pool, h);
	}
	ret = bm_classify(&c);
	if (ret)
		goto out;
	pr_info("%s: %u objects of %u bytes: %u cross pages, %u in one page; loops %u, reps %u, touch %u\n",
		provider, nr_objs, size, nr_cross, nr_inpage, loops, reps,
		touch);
	if (!nr_cross || !nr_inpage) {
		pr_err("need both cross-page and in-page objects; try another size\n");
		ret = -EINVAL;
		goto out;
	}
	bm_run(&c);
	if (bm_errors) {
		pr_err("%lu maps returned NULL\n", bm_errors);
		ret = -EIO;
	}
out:
	for (i = 0; c.handles && i < nr_objs; i++) {
		if (c.handles[i])
			zs_free(c.pool, c.handles[i]);
	}
	if (c.pool)
		zs_destroy_pool(c.pool);
	kfree(c.buf);
	kvfree(c.inpage);
	kvfree(c.cross);
	kvfree(c.handles);
	/* Stay loaded on success: the results are in the parameters. */
	return ret;
}

static void __exit zsm_bench_map_exit(void)
{
}

module_init(zsm_bench_map_init);
module_exit(zsm_bench_map_exit);

MODULE_DESCRIPTION("zs_map_object() benchmark for zsm.ko or zsmalloc.ko");
MODULE_LICENSE("GPL");
