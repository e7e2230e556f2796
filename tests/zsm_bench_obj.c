// SPDX-License-Identifier: GPL-2.0
/*
 * zsm_bench_obj: time the object API of 7.x, zs_obj_read_begin() +
 * zs_obj_read_end() and zs_obj_write(), of in-page and cross-page objects,
 * for whichever allocator provides the zs_* symbols: zsm.ko or the kernel's
 * own zsmalloc.ko. Loaded in a guest by guest/tests/obj_bench.sh, which
 * loads each provider in turn and compares the medians. The counterpart of
 * zsm_bench_map.c for kernels without zs_map_object().
 *
 * - nr_objs objects of `size` bytes are allocated and written with
 *   zs_obj_write(). An object whose zs_obj_read_begin() of all its bytes
 *   returns the caller's buffer (its bytes were copied) crosses a page
 *   boundary; one read in place is in-page.
 * - Per kind (cross/in-page x read/write), `loops` passes over the objects
 *   are timed with ktime_get_ns(): read = begin, read the first and last
 *   8 bytes, end; write = zs_obj_write() of all `size` bytes. This is done
 *   `reps` times in turn for the four kinds; the median is reported.
 *
 * Results: "zsm-bench-raw obj.<provider>.<cross|inpage>_<read|write>_ns=<ns>"
 * lines on the console, and the same in read-only parameters while the
 * module stays loaded.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/unaligned.h>
#include <linux/zsmalloc.h>

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

/* Results (read-only), nanoseconds per operation. */
static unsigned long cross_read_ns, cross_write_ns, inpage_read_ns,
		     inpage_write_ns;
module_param(cross_read_ns, ulong, 0444);
MODULE_PARM_DESC(cross_read_ns, "Result: cross-page object, read begin + end");
module_param(cross_write_ns, ulong, 0444);
MODULE_PARM_DESC(cross_write_ns, "Result: cross-page object, zs_obj_write");
module_param(inpage_read_ns, ulong, 0444);
MODULE_PARM_DESC(inpage_read_ns, "Result: in-page object, read begin + end");
module_param(inpage_write_ns, ulong, 0444);
MODULE_PARM_DESC(inpage_write_ns, "Result: in-page object, zs_obj_write");

#define BO_MAX_REPS	15
#define BO_KINDS	4

static const struct {
	const char *name;
	bool cross;
	bool write;
	unsigned long *result;
} bo_kinds[BO_KINDS] = {
	{ "cross_read", true, false, &cross_read_ns },
	{ "cross_write", true, true, &cross_write_ns },
	{ "inpage_read", false, false, &inpage_read_ns },
	{ "inpage_write", false, true, &inpage_write_ns },
};

struct bo_ctx {
	struct zs_pool *pool;
	unsigned long *handles, *cross, *inpage;
	unsigned int nr_cross, nr_inpage;
	u8 *buf;	/* PAGE_SIZE: the bytes written, and the read copy */
};

static u64 bo_sink;

static int bo_cmp_ulong(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a;
	unsigned long y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

/* Nanoseconds per operation of one kind over @n objects, `loops` times. */
static unsigned long bo_time(struct bo_ctx *c, const unsigned long *h,
			     unsigned int n, bool write)
{
	unsigned int l, i;
	u64 start, sum = 0;

	start = ktime_get_ns();
	for (l = 0; l < loops; l++) {
		for (i = 0; i < n; i++) {
			if (write) {
				zs_obj_write(c->pool, h[i], c->buf, size);
			} else {
				u8 *p = zs_obj_read_begin(c->pool, h[i], size,
							  c->buf);

				sum += get_unaligned((u64 *)p);
				sum += get_unaligned((u64 *)(p + size - 8));
				zs_obj_read_end(c->pool, h[i], size, p);
			}
			if (!(i & 63))
				cond_resched();
		}
	}
	WRITE_ONCE(bo_sink, sum);
	return div64_ul(ktime_get_ns() - start, (unsigned long)loops * n);
}

static void bo_run(struct bo_ctx *c)
{
	unsigned long t[BO_KINDS][BO_MAX_REPS];
	unsigned int r, k;

	for (r = 0; r < reps; r++) {
		for (k = 0; k < BO_KINDS; k++) {
			bool x = bo_kinds[k].cross;

			t[k][r] = bo_time(c, x ? c->cross : c->inpage,
					  x ? c->nr_cross : c->nr_inpage,
					  bo_kinds[k].write);
		}
	}
	for (k = 0; k < BO_KINDS; k++) {
		sort(t[k], reps, sizeof(t[k][0]), bo_cmp_ulong, NULL);
		*bo_kinds[k].result = t[k][reps / 2];
		pr_info("zsm-bench-raw obj.%s.%s_ns=%lu\n", provider,
			bo_kinds[k].name, *bo_kinds[k].result);
	}
}

/* Store every object, then sort them by whether a read copies them. */
static int bo_fill(struct bo_ctx *c)
{
	unsigned int i;

	for (i = 0; i < nr_objs; i++) {
		unsigned long h = zs_malloc(c->pool, size, GFP_KERNEL,
					    NUMA_NO_NODE);

		if (IS_ERR_VALUE(h))
			return (int)(long)h;
		c->handles[i] = h;
		memset(c->buf, i, size);
		zs_obj_write(c->pool, h, c->buf, size);
	}
	for (i = 0; i < nr_objs; i++) {
		void *p = zs_obj_read_begin(c->pool, c->handles[i], size,
					    c->buf);

		if (!p)
			return -EINVAL;
		if (p == c->buf)
			c->cross[c->nr_cross++] = c->handles[i];
		else
			c->inpage[c->nr_inpage++] = c->handles[i];
		zs_obj_read_end(c->pool, c->handles[i], size, p);
	}
	return 0;
}

static int __init zsm_bench_obj_init(void)
{
	struct bo_ctx c = { };
	unsigned int i;
	int ret;

	if (size < 16 || size > PAGE_SIZE || !nr_objs || !loops || !reps ||
	    reps > BO_MAX_REPS) {
		pr_err("bad parameters\n");
		return -EINVAL;
	}
	c.handles = kvcalloc(nr_objs, sizeof(*c.handles), GFP_KERNEL);
	c.cross = kvcalloc(nr_objs, sizeof(*c.cross), GFP_KERNEL);
	c.inpage = kvcalloc(nr_objs, sizeof(*c.inpage), GFP_KERNEL);
	c.buf = kzalloc(PAGE_SIZE, GFP_KERNEL);
	c.pool = zs_create_pool("zsm_bench_obj");
	if (!c.handles || !c.cross || !c.inpage || !c.buf || !c.pool) {
		ret = -ENOMEM;
		goto out;
	}
	ret = bo_fill(&c);
	if (ret)
		goto out;
	pr_info("%s: %u objects of %u bytes: %u cross pages, %u in one page; loops %u, reps %u\n",
		provider, nr_objs, size, c.nr_cross, c.nr_inpage, loops, reps);
	if (!c.nr_cross || !c.nr_inpage) {
		pr_err("need both cross-page and in-page objects; try another size\n");
		ret = -EINVAL;
		goto out;
	}
	bo_run(&c);
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

static void __exit zsm_bench_obj_exit(void)
{
}

module_init(zsm_bench_obj_init);
module_exit(zsm_bench_obj_exit);

MODULE_DESCRIPTION("zs_obj_read_begin()/zs_obj_write() benchmark for zsm.ko or zsmalloc.ko");
MODULE_LICENSE("GPL");
