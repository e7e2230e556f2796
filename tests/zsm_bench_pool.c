// SPDX-License-Identifier: GPL-2.0
/*
 * zsm_bench_pool: throughput, density and fragmentation of whichever module
 * provides the zs_* API (zsm.ko or the guest kernel's zsmalloc.ko), on the
 * compressed pages of real files that zsm_bench_data.ko holds. Loaded by
 * guest/bench/bench.sh once per provider and round; the host
 * (scripts/bench-run.py) compares the providers. Only the public
 * <linux/zsmalloc.h> API is used, so this one .ko binds to either provider.
 *
 * Workloads (parameter `workloads`, comma-separated; all by default):
 *
 * alloc_free  zs_malloc + zs_free throughput. Each thread keeps af_live
 *             objects and af_ops times frees a random one and allocates a
 *             new one, of a size drawn from all data sets (objects at or
 *             above huge_limit are allocated as PAGE_SIZE, as zram stores
 *             them). One thread, then one thread on each of two CPUs on one
 *             shared pool. Only the replacement loop is timed.
 * density     per data set, in steps the script writes to density_step
 *             (not a `workloads` name): objects below huge_limit, each
 *             written with its real bytes, cycling through the set until
 *             density_mb MiB are stored ("fill <set>"); then a random half
 *             is overwritten (freed and replaced by another object of the
 *             set, as zram does on rewrite: "over"); then zs_compact()
 *             ("compact"). Payload and zs_get_total_pages() after each
 *             step; all contents are checked at "end". Between the steps
 *             the script reads the provider's memory (bench.sh).
 * fragment    objects drawn at random from all sets up to frag_mb MiB; a
 *             random half freed; zs_compact() timed; pages after each step
 *             (after the frees once the pool has settled, bb_settle());
 *             the survivors are checked.
 * latency     per-operation cost while compaction runs: objects drawn at
 *             random from all sets up to lat_mb MiB, a random half freed;
 *             then a kthread on another CPU calls zs_compact() over and
 *             over while this one does lat_ops random operations on the
 *             pool (free a live object or store a new one in a free place,
 *             and map + read + unmap a live one), each timed on its own.
 *             Median and 99th percentile of zs_malloc(), zs_free() and
 *             map + unmap; the survivors are checked.
 * hold        every object below huge_limit of all sets, once, in pool
 *             "zsm_bench_hold", which stays until the module is unloaded so
 *             that the script can read the provider's per-class statistics
 *             in debugfs and the memory freed at unload. A histogram of the
 *             object sizes (8-byte buckets) is printed so that the host can
 *             work out the payload of each provider's size class.
 *
 * The random streams depend only on `seed`, so both providers see the same
 * operations. Any content mismatch or allocation failure fails the load.
 *
 * Results: "zsm-bench-raw <provider> r<round> <key>=<value>" lines (the
 * first, page_size, is the guest's PAGE_SIZE, the unit of every page
 * count), and "zsm-bench-hist <provider> r<round> <upper>:<count>:<bytes>
 * ..." lines.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/zsmalloc.h>

#include "zsm_bench.h"

/* === Parameters ========================================================== */

static char *provider = "unknown";
module_param(provider, charp, 0444);
MODULE_PARM_DESC(provider, "Name of the zs_* provider, for the result lines");

static unsigned int round;
module_param(round, uint, 0444);
MODULE_PARM_DESC(round, "Round number, for the result lines");

static char *workloads = "alloc_free,fragment,latency,hold";
module_param(workloads, charp, 0444);
MODULE_PARM_DESC(workloads, "alloc_free,fragment,latency,hold (or info)");

static unsigned int huge_limit;
module_param(huge_limit, uint, 0444);
MODULE_PARM_DESC(huge_limit, "Objects of this size or more are huge (0: the provider's zs_huge_class_size)");

static unsigned long af_ops = 200000;
module_param(af_ops, ulong, 0444);
MODULE_PARM_DESC(af_ops, "alloc_free: replacements per thread");

static unsigned int af_live = 4096;
module_param(af_live, uint, 0444);
MODULE_PARM_DESC(af_live, "alloc_free: live objects per thread");

static unsigned int density_mb = 24;
module_param(density_mb, uint, 0444);
MODULE_PARM_DESC(density_mb, "density: MiB of payload per data set");

static unsigned int frag_mb = 24;
module_param(frag_mb, uint, 0444);
MODULE_PARM_DESC(frag_mb, "fragment: MiB of payload");

static unsigned int lat_mb = 8;
module_param(lat_mb, uint, 0444);
MODULE_PARM_DESC(lat_mb, "latency: MiB of payload before the random half is freed");

static unsigned int lat_ops = 20000;
module_param(lat_ops, uint, 0444);
MODULE_PARM_DESC(lat_ops, "latency: operations timed (each a free or a store, and a map)");

static ulong seed = 0x5eed;
module_param(seed, ulong, 0444);
MODULE_PARM_DESC(seed, "Seed of the random streams");

/* === Data ================================================================ */

/* zram's allocation flags for a compressed page (first attempt). */
#define BB_GFP		(GFP_NOIO | __GFP_NOWARN | __GFP_HIGHMEM | __GFP_MOVABLE)

/* An object reference: data set number and object number in the set. */
#define BB_REF(s, i)	((u32)(s) << 24 | (i))
#define BB_REF_SET(r)	((r) >> 24)
#define BB_REF_IDX(r)	((r) & 0xffffff)

/* Histogram buckets: bucket b holds sizes 8b-7 .. 8b. */
#define BB_HIST		(PAGE_SIZE / 8 + 1)

/* Objects stored in one pool, with what each one holds. */
struct bb_store {
	struct zs_pool *pool;
	unsigned long *h;		/* handle of object k, 0 if none */
	u32 *ref;			/* what object k holds */
	unsigned int n;
	u64 payload;			/* bytes of the live objects */
};

/* One alloc_free thread. */
struct bb_af {
	struct zs_pool *pool;
	const unsigned int *sizes;
	unsigned int nr_sizes;
	unsigned long *h;
	u64 rnd;
	struct completion *go;
	struct completion done;
	u64 ns;
	int err;
};

static unsigned int bb_nr_sets;
static u8 bb_lat_sink;			/* keeps the latency reads */
static unsigned int bb_huge;		/* huge_limit in effect */
static struct bb_store bb_hold;		/* the "hold" pool, until unload */

/* === Helpers ============================================================= */

static u64 bb_next(u64 *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545f4914f6cdd1dULL;
}

static __printf(2, 3) void bb_out(u64 v, const char *fmt, ...)
{
	char key[96];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(key, sizeof(key), fmt, ap);
	va_end(ap);
	pr_info("zsm-bench-raw %s r%u %s=%llu\n", provider, round, key, v);
}

static const struct zsm_bench_set *bb_set(u32 ref)
{
	return zsm_bench_get_set(BB_REF_SET(ref));
}

static unsigned int bb_len(u32 ref)
{
	return bb_set(ref)->len[BB_REF_IDX(ref)];
}

static const u8 *bb_bytes(u32 ref)
{
	const struct zsm_bench_set *s = bb_set(ref);

	return s->data + s->off[BB_REF_IDX(ref)];
}

static bool bb_wanted(const char *name)
{
	const char *p = workloads;
	size_t n = strlen(name);

	while ((p = strstr(p, name)) != NULL) {
		if ((p == workloads || p[-1] == ',') &&
		    (p[n] == '\0' || p[n] == ','))
			return true;
		p += n;
	}
	return false;
}

/*
 * References of the objects below the huge limit: of set @only, or of every
 * set but the density-only ones when @only is negative. Return the array
 * (kvfree it) and its length.
 */
static u32 *bb_small_objects(int only, unsigned int *nr)
{
	unsigned int s, i, n = 0, total = 0;
	u32 *refs;

	for (s = 0; s < bb_nr_sets; s++)
		total += zsm_bench_get_set(s)->nr;
	refs = kvmalloc_array(max(total, 1U), sizeof(*refs), GFP_KERNEL);
	if (!refs)
		return NULL;
	for (s = 0; s < bb_nr_sets; s++) {
		const struct zsm_bench_set *set = zsm_bench_get_set(s);

		if (only >= 0 ? s != only : set->density_only)
			continue;
		for (i = 0; i < set->nr; i++) {
			if (set->len[i] < bb_huge)
				refs[n++] = BB_REF(s, i);
		}
	}
	*nr = n;
	return refs;
}

/* === Stores ============================================================== */

static int bb_store_init(struct bb_store *st, const char *name,
			 unsigned int n)
{
	memset(st, 0, sizeof(*st));
	st->h = kvcalloc(n, sizeof(*st->h), GFP_KERNEL);
	st->ref = kvcalloc(n, sizeof(*st->ref), GFP_KERNEL);
	st->pool = zs_create_pool(name);
	st->n = n;
	if (!st->h || !st->ref || !st->pool)
		return -ENOMEM;
	return 0;
}

static void bb_store_destroy(struct bb_store *st)
{
	unsigned int k;

	for (k = 0; st->h && k < st->n; k++) {
		if (st->h[k])
			zs_free(st->pool, st->h[k]);
	}
	if (st->pool)
		zs_destroy_pool(st->pool);
	kvfree(st->ref);
	kvfree(st->h);
	memset(st, 0, sizeof(*st));
}

/*
 * Store object @ref as object @k, with its bytes. With @ns, which holds the
 * ktime_get_ns() taken just before the call, set *@ns to the time
 * zs_malloc() took.
 */
static int bb_put_timed(struct bb_store *st, unsigned int k, u32 ref, u64 *ns)
{
	unsigned int len = bb_len(ref);
	unsigned long h;
	void *p;

	h = zs_malloc(st->pool, len, BB_GFP);
	if (ns)
		*ns = ktime_get_ns() - *ns;
	if (IS_ERR_VALUE(h)) {
		pr_err("zs_malloc(%u) failed (%ld)\n", len, (long)h);
		return -ENOMEM;
	}
	p = zs_map_object(st->pool, h, ZS_MM_WO);
	memcpy(p, bb_bytes(ref), len);
	zs_unmap_object(st->pool, h);
	st->h[k] = h;
	st->ref[k] = ref;
	st->payload += len;
	return 0;
}

static int bb_put(struct bb_store *st, unsigned int k, u32 ref)
{
	return bb_put_timed(st, k, ref, NULL);
}

static void bb_drop(struct bb_store *st, unsigned int k)
{
	zs_free(st->pool, st->h[k]);
	st->h[k] = 0;
	st->payload -= bb_len(st->ref[k]);
}

/*
 * Before a pool's size is read after frees: zsm gives the pages of the
 * zspages that frees emptied back from its pool's worker a jiffy later
 * (Documentation/zsm.rst, "Fullness and allocation"), and a loop that
 * does not sleep holds that worker off on its CPU. A settled pool is
 * what the figures compare; zsmalloc has nothing to settle.
 */
static void bb_settle(void)
{
	msleep(20);
}

/* Compare every live object with its source bytes; return mismatches. */
static unsigned int bb_verify(struct bb_store *st)
{
	unsigned int k, bad = 0;

	for (k = 0; k < st->n; k++) {
		const void *p;

		if (!st->h[k])
			continue;
		p = zs_map_object(st->pool, st->h[k], ZS_MM_RO);
		if (memcmp(p, bb_bytes(st->ref[k]), bb_len(st->ref[k])))
			bad++;
		zs_unmap_object(st->pool, st->h[k]);
		if (!(k & 255))
			cond_resched();
	}
	if (bad)
		pr_err("%u objects do not hold what was written\n", bad);
	return bad;
}

/* Objects that @refs (cycled) need to reach @mb MiB of payload. */
static unsigned int bb_count_for(const u32 *refs, unsigned int nr,
				 unsigned int mb)
{
	u64 want = (u64)mb << 20, got = 0;
	unsigned int n = 0;

	while (got < want)
		got += bb_len(refs[n++ % nr]);
	return n;
}

/* === alloc_free ========================================================== */

static int bb_af_thread(void *arg)
{
	struct bb_af *t = arg;
	unsigned long i;
	unsigned int k;
	u64 t0;

	for (k = 0; k < af_live; k++) {
		t->h[k] = zs_malloc(t->pool,
				    t->sizes[bb_next(&t->rnd) % t->nr_sizes],
				    BB_GFP);
		if (IS_ERR_VALUE(t->h[k])) {
			t->h[k] = 0;
			t->err = -ENOMEM;
			goto out;
		}
	}
	wait_for_completion(t->go);
	t0 = ktime_get_ns();
	for (i = 0; i < af_ops; i++) {
		u64 r = bb_next(&t->rnd);
		unsigned long h;

		k = r % af_live;
		zs_free(t->pool, t->h[k]);
		h = zs_malloc(t->pool, t->sizes[(r >> 32) % t->nr_sizes],
			      BB_GFP);
		if (IS_ERR_VALUE(h)) {
			t->h[k] = 0;
			t->err = -ENOMEM;
			break;
		}
		t->h[k] = h;
		if (!(i & 255))
			cond_resched();
	}
	t->ns = ktime_get_ns() - t0;
out:
	for (k = 0; k < af_live; k++) {
		if (t->h[k])
			zs_free(t->pool, t->h[k]);
	}
	complete(&t->done);
	return 0;
}

/* Run @nr threads, thread i on CPU cpus[i]; report ops per second. */
static int bb_af_run(const unsigned int *sizes, unsigned int nr_sizes,
		     const unsigned int *cpus, unsigned int nr,
		     const char *label)
{
	DECLARE_COMPLETION_ONSTACK(go);
	struct bb_af t[2] = { };
	struct zs_pool *pool;
	u64 max_ns = 0;
	unsigned int i;
	int ret = 0;

	pool = zs_create_pool("zsm_bench_af");
	if (!pool)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		struct task_struct *task;

		t[i].pool = pool;
		t[i].sizes = sizes;
		t[i].nr_sizes = nr_sizes;
		t[i].rnd = seed * 7919 + i + 1;
		t[i].go = &go;
		init_completion(&t[i].done);
		t[i].h = kvcalloc(af_live, sizeof(*t[i].h), GFP_KERNEL);
		if (!t[i].h) {
			ret = -ENOMEM;
			break;
		}
		task = kthread_create_on_cpu(bb_af_thread, &t[i], cpus[i],
					     "zsm_bench_af/%u");
		if (IS_ERR(task)) {
			ret = PTR_ERR(task);
			kvfree(t[i].h);
			t[i].h = NULL;
			break;
		}
		wake_up_process(task);
	}
	complete_all(&go);
	for (i = 0; i < nr; i++) {
		if (!t[i].h)
			continue;
		wait_for_completion(&t[i].done);
		kvfree(t[i].h);
		if (t[i].err)
			ret = t[i].err;
		max_ns = max(max_ns, t[i].ns);
	}
	zs_destroy_pool(pool);
	if (!ret && max_ns)
		bb_out(div64_u64((u64)nr * af_ops * NSEC_PER_SEC, max_ns),
		       "alloc_free.%s.ops_per_s", label);
	return ret;
}

static int bb_alloc_free(void)
{
	unsigned int s, i, n = 0, total = 0, cpus[2], cpu, nr_cpus = 0;
	unsigned int *sizes;
	int ret;

	for (s = 0; s < bb_nr_sets; s++)
		total += zsm_bench_get_set(s)->nr;
	sizes = kvmalloc_array(max(total, 1U), sizeof(*sizes), GFP_KERNEL);
	if (!sizes)
		return -ENOMEM;
	for (s = 0; s < bb_nr_sets; s++) {
		const struct zsm_bench_set *set = zsm_bench_get_set(s);

		for (i = 0; i < set->nr && !set->density_only; i++)
			sizes[n++] = set->len[i] < bb_huge ? set->len[i] :
							     PAGE_SIZE;
	}
	for_each_online_cpu(cpu) {
		if (nr_cpus < 2)
			cpus[nr_cpus++] = cpu;
	}
	ret = bb_af_run(sizes, n, cpus, 1, "1cpu");
	if (!ret && nr_cpus == 2)
		ret = bb_af_run(sizes, n, cpus, 2, "2cpu");
	else if (!ret)
		pr_warn("one CPU online: no 2-CPU alloc_free\n");
	kvfree(sizes);
	return ret;
}

/* === density ============================================================= */

/*
 * Stepped from the script, so that it can read each provider's memory
 * between the steps (zsm's debugfs summary, zsmalloc's slab caches in
 * /proc/slabinfo, which a module cannot read): "fill <set>", "over",
 * "compact", "end", written to the density_step parameter. One data set at
 * a time; bb_dlock serialises the steps.
 */
static DEFINE_MUTEX(bb_dlock);
static struct bb_density {
	struct bb_store st;
	u32 *refs;
	unsigned int set, nr, n;
	u64 rnd;
	bool live;
} bb_d;

static void bb_out_pool(const char *step)
{
	const char *set = zsm_bench_get_set(bb_d.set)->name;

	bb_out(bb_d.st.payload, "density.%s.%s.payload", set, step);
	bb_out(zs_get_total_pages(bb_d.st.pool), "density.%s.%s.pages", set,
	       step);
}

static void bb_density_end(void)
{
	if (!bb_d.live)
		return;
	bb_store_destroy(&bb_d.st);
	kvfree(bb_d.refs);
	bb_d.refs = NULL;
	bb_d.live = false;
}

static int bb_density_fill(unsigned int s)
{
	unsigned int k;
	int ret;

	if (s >= bb_nr_sets)
		return -EINVAL;
	bb_density_end();
	bb_d.refs = bb_small_objects(s, &bb_d.nr);
	if (!bb_d.refs)
		return -ENOMEM;
	if (!bb_d.nr) {
		kvfree(bb_d.refs);
		bb_d.refs = NULL;
		return -ENODATA;
	}
	bb_d.set = s;
	bb_d.rnd = seed + s;
	bb_d.n = bb_count_for(bb_d.refs, bb_d.nr, density_mb);
	ret = bb_store_init(&bb_d.st, "zsm_bench_density", bb_d.n);
	bb_d.live = true;
	for (k = 0; !ret && k < bb_d.n; k++) {
		ret = bb_put(&bb_d.st, k, bb_d.refs[k % bb_d.nr]);
		if (!(k & 255))
			cond_resched();
	}
	if (ret)
		return ret;
	bb_out(bb_d.n, "density.%s.objects", zsm_bench_get_set(s)->name);
	bb_out_pool("fill");
	return 0;
}

/* Rewrite a random half, as zram frees then stores a new version. */
static int bb_density_over(void)
{
	unsigned int k;
	int ret = 0;

	for (k = 0; !ret && k < bb_d.n; k++) {
		u64 r = bb_next(&bb_d.rnd);

		if (r & 1)
			continue;
		bb_drop(&bb_d.st, k);
		ret = bb_put(&bb_d.st, k, bb_d.refs[(r >> 32) % bb_d.nr]);
		if (!(k & 255))
			cond_resched();
	}
	if (!ret) {
		bb_settle();
		bb_out_pool("over");
	}
	return ret;
}

static int bb_density_step(const char *val, const struct kernel_param *kp)
{
	unsigned int s;
	int ret;

	mutex_lock(&bb_dlock);
	if (sscanf(val, "fill %u", &s) == 1) {
		ret = bb_density_fill(s);
	} else if (!bb_d.live) {
		ret = -ENOENT;
	} else if (sysfs_streq(val, "over")) {
		ret = bb_density_over();
	} else if (sysfs_streq(val, "compact")) {
		bb_out(zs_compact(bb_d.st.pool), "density.%s.compact.freed",
		       zsm_bench_get_set(bb_d.set)->name);
		bb_out_pool("compact");
		ret = 0;
	} else if (sysfs_streq(val, "end")) {
		ret = bb_verify(&bb_d.st) ? -EIO : 0;
		bb_density_end();
	} else {
		ret = -EINVAL;
	}
	mutex_unlock(&bb_dlock);
	if (ret)
		pr_err("%s: density step \"%s\" failed (%d)\n", provider,
		       strim((char *)val), ret);
	return ret;
}

static const struct kernel_param_ops bb_density_ops = {
	.set = bb_density_step,
};
module_param_cb(density_step, &bb_density_ops, NULL, 0200);
MODULE_PARM_DESC(density_step, "density: fill <set>, over, compact, end");

/* Fill every place of @st with an object drawn from @refs (@nr of them). */
static int bb_fill_random(struct bb_store *st, const u32 *refs,
			  unsigned int nr, u64 *rnd)
{
	unsigned int k;
	int ret = 0;

	for (k = 0; !ret && k < st->n; k++) {
		ret = bb_put(st, k, refs[bb_next(rnd) % nr]);
		if (!(k & 255))
			cond_resched();
	}
	return ret;
}

/* === fragment ============================================================ */

static int bb_fragment(void)
{
	struct bb_store st;
	unsigned int nr, n, k, freed = 0;
	u64 rnd = seed ^ 0xf7a9, t0, ns;
	unsigned long ret_pages;
	u32 *refs;
	int ret;

	refs = bb_small_objects(-1, &nr);
	if (!refs)
		return -ENOMEM;
	if (!nr) {
		kvfree(refs);
		return -EINVAL;
	}
	n = bb_count_for(refs, nr, frag_mb);
	ret = bb_store_init(&st, "zsm_bench_fragment", n);
	if (!ret)
		ret = bb_fill_random(&st, refs, nr, &rnd);
	if (ret)
		goto out;
	bb_out(n, "fragment.objects");
	bb_out(st.payload, "fragment.full.payload");
	bb_out(zs_get_total_pages(st.pool), "fragment.full.pages");
	for (k = 0; k < n; k++) {
		if (bb_next(&rnd) & 1) {
			bb_drop(&st, k);
			freed++;
		}
	}
	bb_settle();
	bb_out(st.payload, "fragment.half.payload");
	bb_out(zs_get_total_pages(st.pool), "fragment.half.pages");
	t0 = ktime_get_ns();
	ret_pages = zs_compact(st.pool);
	ns = ktime_get_ns() - t0;
	bb_out(ret_pages, "fragment.compact.freed");
	bb_out(ns, "fragment.compact.ns");
	bb_out(zs_get_total_pages(st.pool), "fragment.compact.pages");
	if (bb_verify(&st))
		ret = -EIO;
out:
	bb_store_destroy(&st);
	kvfree(refs);
	return ret;
}

/* === latency ============================================================= */

/* The compacting thread of the latency workload. */
struct bb_lat_compactor {
	struct zs_pool *pool;
	struct completion done;
	unsigned long runs;
	bool stop;
};

static int bb_lat_compact_thread(void *arg)
{
	struct bb_lat_compactor *c = arg;

	while (!READ_ONCE(c->stop)) {
		zs_compact(c->pool);
		c->runs++;
		cond_resched();
	}
	complete(&c->done);
	return 0;
}

/* One operation's time, in @t[*n] (dropped once @cap are kept). */
static void bb_lat_keep(u64 *t, unsigned int *n, unsigned int cap, u64 ns)
{
	if (*n < cap)
		t[(*n)++] = ns;
}

static int bb_lat_cmp(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* Median and 99th percentile of @n times, as lat.<op>.p50 / .p99. */
static void bb_lat_out(u64 *t, unsigned int n, const char *op)
{
	if (!n)
		return;
	sort(t, n, sizeof(*t), bb_lat_cmp, NULL);
	bb_out(t[n / 2], "lat.%s.p50", op);
	bb_out(t[(u64)n * 99 / 100], "lat.%s.p99", op);
	bb_out(n, "lat.%s.ops", op);
}

/* Time one free or store of object @k, and one map of a live object. */
static int bb_lat_op(struct bb_store *st, const u32 *refs, unsigned int nr,
		     u64 *rnd, u64 *t[3], unsigned int nt[3])
{
	unsigned int k = bb_next(rnd) % st->n;
	u64 t0;
	int ret;

	if (st->h[k]) {
		const u8 *p;

		t0 = ktime_get_ns();
		p = zs_map_object(st->pool, st->h[k], ZS_MM_RO);
		WRITE_ONCE(bb_lat_sink, READ_ONCE(*p));
		zs_unmap_object(st->pool, st->h[k]);
		bb_lat_keep(t[2], &nt[2], lat_ops, ktime_get_ns() - t0);
		t0 = ktime_get_ns();
		bb_drop(st, k);
		bb_lat_keep(t[1], &nt[1], lat_ops, ktime_get_ns() - t0);
		return 0;
	}
	t0 = ktime_get_ns();
	ret = bb_put_timed(st, k, refs[bb_next(rnd) % nr], &t0);
	bb_lat_keep(t[0], &nt[0], lat_ops, t0);
	return ret;
}

static int bb_latency(void)
{
	struct bb_lat_compactor c = { };
	unsigned int nr, n, k, i, nt[3] = { };
	u64 rnd = seed ^ 0x1a7e, *t[3] = { };
	struct task_struct *task = NULL;
	struct bb_store st;
	u32 *refs;
	int cpu, ret;

	refs = bb_small_objects(-1, &nr);
	if (!refs)
		return -ENOMEM;
	if (!nr) {
		kvfree(refs);
		return -EINVAL;
	}
	n = bb_count_for(refs, nr, lat_mb);
	ret = bb_store_init(&st, "zsm_bench_latency", n);
	for (i = 0; !ret && i < 3; i++) {
		t[i] = kvmalloc_array(lat_ops, sizeof(u64), GFP_KERNEL);
		if (!t[i])
			ret = -ENOMEM;
	}
	if (!ret)
		ret = bb_fill_random(&st, refs, nr, &rnd);
	if (ret)
		goto out;
	for (k = 0; k < n; k++) {
		if (bb_next(&rnd) & 1)
			bb_drop(&st, k);
	}
	/* The compactor on another CPU, if there is one. */
	c.pool = st.pool;
	init_completion(&c.done);
	cpu = cpumask_any_but(cpu_online_mask, raw_smp_processor_id());
	task = kthread_create_on_cpu(bb_lat_compact_thread, &c,
				     cpu < nr_cpu_ids ? cpu : raw_smp_processor_id(),
				     "zsm_bench_lat/%u");
	if (IS_ERR(task)) {
		ret = PTR_ERR(task);
		task = NULL;
		goto out;
	}
	wake_up_process(task);
	for (i = 0; !ret && i < lat_ops; i++) {
		ret = bb_lat_op(&st, refs, nr, &rnd, t, nt);
		if (!(i & 63))
			cond_resched();
	}
	WRITE_ONCE(c.stop, true);
	wait_for_completion(&c.done);
	if (ret)
		goto out;
	bb_out(c.runs, "lat.compactions");
	bb_lat_out(t[0], nt[0], "malloc");
	bb_lat_out(t[1], nt[1], "free");
	bb_lat_out(t[2], nt[2], "map");
	if (bb_verify(&st))
		ret = -EIO;
out:
	bb_store_destroy(&st);
	for (i = 0; i < 3; i++)
		kvfree(t[i]);
	kvfree(refs);
	return ret;
}

/* === hold ================================================================ */

static void bb_print_hist(const u32 *refs, unsigned int nr)
{
	unsigned long *cnt, *bytes;
	char line[512];
	unsigned int i, b, len = 0, items = 0;

	cnt = kcalloc(BB_HIST, sizeof(*cnt), GFP_KERNEL);
	bytes = kcalloc(BB_HIST, sizeof(*bytes), GFP_KERNEL);
	if (!cnt || !bytes)
		goto out;
	for (i = 0; i < nr; i++) {
		unsigned int l = bb_len(refs[i]);

		cnt[DIV_ROUND_UP(l, 8)]++;
		bytes[DIV_ROUND_UP(l, 8)] += l;
	}
	for (b = 0; b < BB_HIST; b++) {
		if (!cnt[b])
			continue;
		len += scnprintf(line + len, sizeof(line) - len, " %u:%lu:%lu",
				 b * 8, cnt[b], bytes[b]);
		if (++items == 16) {
			pr_info("zsm-bench-hist %s r%u%s\n", provider, round,
				line);
			len = 0;
			items = 0;
		}
	}
	if (items)
		pr_info("zsm-bench-hist %s r%u%s\n", provider, round, line);
out:
	kfree(bytes);
	kfree(cnt);
}

static int bb_hold_fill(void)
{
	unsigned int nr, k;
	u32 *refs;
	int ret;

	refs = bb_small_objects(-1, &nr);
	if (!refs)
		return -ENOMEM;
	ret = bb_store_init(&bb_hold, "zsm_bench_hold", max(nr, 1U));
	for (k = 0; !ret && k < nr; k++) {
		ret = bb_put(&bb_hold, k, refs[k]);
		if (!(k & 255))
			cond_resched();
	}
	if (!ret) {
		bb_out(nr, "hold.objects");
		bb_out(bb_hold.payload, "hold.payload");
		bb_out(zs_get_total_pages(bb_hold.pool), "hold.pages");
		bb_print_hist(refs, nr);
	}
	kvfree(refs);
	return ret;
}

/* === Module ============================================================== */

static int __init zsm_bench_pool_init(void)
{
	struct zs_pool *pool;
	int ret = 0;

	bb_nr_sets = zsm_bench_nr_sets();
	if (!bb_nr_sets) {
		pr_err("no data sets: load zsm_bench_data first\n");
		return -ENODATA;
	}
	pool = zs_create_pool("zsm_bench_info");
	if (!pool)
		return -ENOMEM;
	bb_out(PAGE_SIZE, "page_size");
	bb_out(zs_huge_class_size(pool), "huge_class_size");
	bb_huge = huge_limit ? huge_limit : zs_huge_class_size(pool);
	zs_destroy_pool(pool);
	bb_out(bb_huge, "huge_limit");

	if (bb_wanted("alloc_free"))
		ret = bb_alloc_free();
	if (!ret && bb_wanted("fragment"))
		ret = bb_fragment();
	if (!ret && bb_wanted("latency"))
		ret = bb_latency();
	if (!ret && bb_wanted("hold"))
		ret = bb_hold_fill();
	if (ret) {
		bb_store_destroy(&bb_hold);
		pr_err("%s: failed (%d)\n", provider, ret);
	}
	return ret;
}

static void __exit zsm_bench_pool_exit(void)
{
	bb_density_end();
	bb_store_destroy(&bb_hold);
}

module_init(zsm_bench_pool_init);
module_exit(zsm_bench_pool_exit);

MODULE_DESCRIPTION("zs_* throughput, density and fragmentation benchmark");
MODULE_LICENSE("GPL");
