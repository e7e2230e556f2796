// SPDX-License-Identifier: GPL-2.0
/*
 * zsm_test_map: mapping under CPU hotplug. Loaded in a guest by
 * guest/tests/map_hotplug.sh, which takes CPU 1 offline and online again
 * and again while this module's init runs; its insmod fails with -EIO when
 * a check fails.
 *
 * What is verified, and how:
 *
 * - One pool holds nr_objs objects of sizes that put many of them across
 *   page boundaries (and some inside one page). Worker kthreads, one per
 *   online CPU, started with plain kthread_run() (not bound, so the
 *   scheduler moves them off a CPU going down and back when it returns),
 *   each own a share of the objects and for duration_ms pick objects at
 *   random and: check them through a ZS_MM_RO map; rewrite them through
 *   ZS_MM_RW (after checking the old bytes) or ZS_MM_WO; hold one RO map
 *   while a second object is mapped RW with BH disabled (the nesting an
 *   interrupt does); read them with zs_obj_read_begin(); write them with
 *   zs_obj_write(); or free one and allocate a new object in its place.
 *   Every object's bytes are those of its identity and generation
 *   (zsm_tu_fill() of tests/zsm_test_util.h) and their checksum is kept; a
 *   map showing other bytes counts as corrupt (reported with its first
 *   wrong byte, or as another object's bytes, up to a few times).
 * - A CPU going down tears down that CPU's mapping areas and buffers in
 *   zsm's CPU-dead callback, and coming up rebuilds them: maps made on the
 *   CPU before and after must all be right. A CPU cannot go down while a
 *   map is held there (the map disables preemption).
 * - The module's own CPUHP_AP_ONLINE_DYN callbacks count the CPUs going
 *   down and coming up while the workers run; completed offline/online
 *   cycles are reported. The workers count the maps they made on CPUs other
 *   than 0 and how often they found themselves on another CPU.
 * - At the end every object is checked once more and freed, and the pool
 *   must hold no page.
 *
 * The cross-page mapping mode of zsm is probed (a cross-page map in vmalloc
 * space is a pte window) and checked against expect_mode. Results are
 * printed as "zsm-metric <metric_prefix>.<name>=<value>" lines and kept in
 * read-only parameters (hotplug_cycles, corrupt) for the script.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/bottom_half.h>
#include <linux/cpuhotplug.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/prandom.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <linux/zsmalloc.h>

#include "zsm_compat.h"
#include "zsm.h"
#include "zsm_test_util.h"

/* === Parameters ========================================================== */

static unsigned int duration_ms = 10000;
module_param(duration_ms, uint, 0444);
MODULE_PARM_DESC(duration_ms, "How long the workers map objects");

static unsigned int nr_objs = 1024;
module_param(nr_objs, uint, 0444);
MODULE_PARM_DESC(nr_objs, "Objects in the pool, all workers together");

static unsigned int seed = 1;
module_param(seed, uint, 0444);
MODULE_PARM_DESC(seed, "Random seed (objects, operations, contents)");

static char *metric_prefix = "map";
module_param(metric_prefix, charp, 0444);
MODULE_PARM_DESC(metric_prefix, "Prefix of the zsm-metric names");

static char *expect_mode = "";
module_param(expect_mode, charp, 0444);
MODULE_PARM_DESC(expect_mode,
		 "pte or copy: fail unless zsm maps cross-page objects so (empty: any)");

/* Results, for the script (read-only). */
static unsigned long hotplug_cycles;
module_param(hotplug_cycles, ulong, 0444);
MODULE_PARM_DESC(hotplug_cycles, "Result: CPU offline/online cycles seen");

static unsigned long corrupt;
module_param(corrupt, ulong, 0444);
MODULE_PARM_DESC(corrupt, "Result: maps that showed wrong bytes");

/* === Data ================================================================ */

#define TM_MAX_REPORTS		8	/* corrupt maps described in the log */
#define TM_SLEEP_MASK		63	/* sleep a little every 64 operations */

/*
 * Object sizes: most cross pages in some slots of their class, a few are
 * small (always in one page) or whole pages.
 */
static const unsigned int tm_sizes[] = {
	3000, 1100, 2200, 700, 3500, 1500, 4096, 150, 2700, 900, 64, 1900,
};

struct tm_worker {
	struct zs_pool *pool;
	struct task_struct *task;
	unsigned int id;
	struct zsm_tu_obj *objs;
	unsigned int nr;
	struct rnd_state rnd;
	u8 *buf;			/* PAGE_SIZE scratch */
	u8 *exp;			/* PAGE_SIZE: expected bytes */
	u64 next_id;			/* identities: id << 40 | serial */
	int last_cpu;

	/* Counters: written by the worker, read after kthread_stop(). */
	unsigned long ops;
	unsigned long ops_off_cpu0;	/* operations on CPUs other than 0 */
	unsigned long migrations;	/* found itself on another CPU */
	unsigned long corrupt;
	unsigned long errors;		/* NULL maps, failed allocations */
};

static atomic_t tm_reports = ATOMIC_INIT(0);
static atomic_long_t tm_offlines = ATOMIC_INIT(0);
static atomic_long_t tm_onlines = ATOMIC_INIT(0);

/* === Object contents ===================================================== */

/*
 * Count a corrupt object; describe it (first wrong byte) while reports
 * last. @seen is a copy of the bytes the map showed.
 */
static void tm_corrupt(struct tm_worker *w, struct zsm_tu_obj *o,
		       const u8 *seen, const char *what)
{
	char who[48];

	w->corrupt++;
	snprintf(who, sizeof(who), "worker %u: %s", w->id, what);
	zsm_tu_obj_check(o, seen, who, w->exp, &tm_reports, TM_MAX_REPORTS);
}

/* === Operations ========================================================== */

/* Map RO and check. */
static void tm_check(struct tm_worker *w, struct zsm_tu_obj *o)
{
	bool ok;
	u8 *p;

	p = zs_map_object(w->pool, o->handle, ZS_MM_RO);
	if (!p) {
		w->errors++;
		return;
	}
	ok = zsm_tu_csum(p, o->size) == o->csum;
	if (!ok)
		memcpy(w->buf, p, o->size);
	zs_unmap_object(w->pool, o->handle);
	if (!ok)
		tm_corrupt(w, o, w->buf, "RO map");
}

/* Rewrite through an RW map (checking the old bytes) or a WO map. */
static void tm_rewrite(struct tm_worker *w, struct zsm_tu_obj *o,
		       enum zs_mapmode mm)
{
	u32 gen = o->gen + 1;
	bool ok = true;
	u64 csum = 0;
	u8 *p;

	p = zs_map_object(w->pool, o->handle, mm);
	if (!p) {
		w->errors++;
		return;
	}
	if (mm == ZS_MM_RW) {
		ok = zsm_tu_csum(p, o->size) == o->csum;
		if (!ok)
			memcpy(w->buf, p, o->size);
	}
	if (ok)
		csum = zsm_tu_fill(p, o->size, o->id, gen);
	zs_unmap_object(w->pool, o->handle);
	if (!ok) {
		tm_corrupt(w, o, w->buf, "RW map");
		return;
	}
	o->gen = gen;
	o->csum = csum;
}

/*
 * Hold an RO map of @a while @b is mapped RW with BH disabled (as an
 * interrupt nests) and rewritten; @a must be unchanged throughout.
 */
static void tm_nested(struct tm_worker *w, struct zsm_tu_obj *a, struct zsm_tu_obj *b)
{
	bool a_ok, b_ok = true, a_still = true;
	u32 gen = b->gen + 1;
	u64 csum = 0;
	u8 *pa, *pb;

	pa = zs_map_object(w->pool, a->handle, ZS_MM_RO);
	if (!pa) {
		w->errors++;
		return;
	}
	a_ok = zsm_tu_csum(pa, a->size) == a->csum;
	local_bh_disable();
	pb = zs_map_object(w->pool, b->handle, ZS_MM_RW);
	if (pb) {
		b_ok = zsm_tu_csum(pb, b->size) == b->csum;
		if (b_ok)
			csum = zsm_tu_fill(pb, b->size, b->id, gen);
		zs_unmap_object(w->pool, b->handle);
		a_still = zsm_tu_csum(pa, a->size) == a->csum;
	}
	local_bh_enable();
	if (!a_ok || !a_still)
		memcpy(w->buf, pa, a->size);
	zs_unmap_object(w->pool, a->handle);

	if (!pb)
		w->errors++;
	if (!a_ok || !a_still)
		tm_corrupt(w, a, w->buf, a_ok ? "outer map after nesting" :
			   "outer map");
	if (!b_ok) {
		/* Its bytes are unknown now: describe, then rewrite them. */
		w->corrupt++;
		pr_err("worker %u: nested RW map of object %lx size %u showed wrong bytes\n",
		       w->id, b->handle, b->size);
		tm_rewrite(w, b, ZS_MM_WO);
		return;
	}
	if (pb) {
		b->gen = gen;
		b->csum = csum;
	}
}

/* The object read API. */
static void tm_read_api(struct tm_worker *w, struct zsm_tu_obj *o)
{
	bool ok;
	u8 *p;

	p = zs_obj_read_begin(w->pool, o->handle, o->size, w->buf);
	if (!p) {
		w->errors++;
		return;
	}
	ok = zsm_tu_csum(p, o->size) == o->csum;
	if (!ok && p != w->buf)
		memcpy(w->buf, p, o->size);
	zs_obj_read_end(w->pool, o->handle, o->size, p);
	if (!ok)
		tm_corrupt(w, o, w->buf, "zs_obj_read_begin");
}

static void tm_write_api(struct tm_worker *w, struct zsm_tu_obj *o)
{
	o->csum = zsm_tu_fill(w->buf, o->size, o->id, ++o->gen);
	zs_obj_write(w->pool, o->handle, w->buf, o->size);
}

/* Allocate @o anew (size from the table) and write it through WO. */
static int tm_alloc(struct tm_worker *w, struct zsm_tu_obj *o, gfp_t gfp)
{
	unsigned long h;

	o->size = tm_sizes[prandom_u32_state(&w->rnd) % ARRAY_SIZE(tm_sizes)];
	h = zsm_zs_malloc(w->pool, o->size, gfp);
	if (IS_ERR_VALUE(h)) {
		o->handle = 0;
		return (int)(long)h;
	}
	o->handle = h;
	o->id = ((u64)seed << 48 ^ (u64)w->id << 40) | ++w->next_id;
	o->gen = 0;
	tm_rewrite(w, o, ZS_MM_WO);
	return 0;
}

static void tm_realloc(struct tm_worker *w, struct zsm_tu_obj *o)
{
	tm_check(w, o);
	zs_free(w->pool, o->handle);
	if (tm_alloc(w, o, GFP_KERNEL))
		w->errors++;
}

/* === Workers ============================================================= */

static struct zsm_tu_obj *tm_pick(struct tm_worker *w)
{
	struct zsm_tu_obj *o = &w->objs[prandom_u32_state(&w->rnd) % w->nr];

	return o->handle ? o : NULL;
}

static int tm_worker_fn(void *data)
{
	struct tm_worker *w = data;

	while (!kthread_should_stop()) {
		unsigned int op = prandom_u32_state(&w->rnd) % 100;
		struct zsm_tu_obj *o = tm_pick(w), *o2;
		int cpu = raw_smp_processor_id();

		if (cpu != w->last_cpu) {
			if (w->last_cpu >= 0)
				w->migrations++;
			w->last_cpu = cpu;
		}
		if (cpu != 0)
			w->ops_off_cpu0++;
		w->ops++;
		if (!o)
			continue;
		if (op < 35) {
			tm_check(w, o);
		} else if (op < 50) {
			tm_rewrite(w, o, ZS_MM_RW);
		} else if (op < 60) {
			tm_rewrite(w, o, ZS_MM_WO);
		} else if (op < 75) {
			o2 = tm_pick(w);
			if (o2 && o2 != o)
				tm_nested(w, o, o2);
		} else if (op < 85) {
			tm_read_api(w, o);
		} else if (op < 95) {
			tm_write_api(w, o);
		} else {
			tm_realloc(w, o);
		}
		/* Let the script that toggles CPUs run on a busy guest. */
		if (!(w->ops & TM_SLEEP_MASK))
			usleep_range(200, 500);
	}
	return 0;
}

/* === CPU hotplug counting ================================================ */

static int tm_cpu_online(unsigned int cpu)
{
	atomic_long_inc(&tm_onlines);
	return 0;
}

static int tm_cpu_offline(unsigned int cpu)
{
	atomic_long_inc(&tm_offlines);
	return 0;
}

/* === Module ============================================================== */

/*
 * Is a cross-page map a pte window (in vmalloc space)? Objects of 3000
 * bytes: the second slot of their zspage crosses into the next page.
 * Return: 1 (pte), 0 (copy) or a negative errno.
 */
static int tm_probe_pte(struct zs_pool *pool)
{
	unsigned long h[8] = { 0 };
	int i, ret = 0;

	for (i = 0; i < ARRAY_SIZE(h); i++) {
		void *p;

		h[i] = zsm_zs_malloc(pool, 3000, GFP_KERNEL);
		if (IS_ERR_VALUE(h[i])) {
			h[i] = 0;
			ret = -ENOMEM;
			break;
		}
		p = zs_map_object(pool, h[i], ZS_MM_RO);
		if (!p) {
			ret = -EINVAL;
			break;
		}
		if (is_vmalloc_addr(p))
			ret = 1;
		zs_unmap_object(pool, h[i]);
		if (ret)
			break;
	}
	for (i = 0; i < ARRAY_SIZE(h); i++) {
		if (h[i])
			zs_free(pool, h[i]);
	}
	return ret;
}

static void tm_metric(const char *name, unsigned long v)
{
	pr_info("zsm-metric %s.%s=%lu\n", metric_prefix, name, v);
}

static int __init zsm_test_map_init(void)
{
	unsigned long ops = 0, off0 = 0, migrations = 0, errors = 0;
	unsigned int nr_workers = num_online_cpus(), i, j;
	long offlines, onlines;
	struct tm_worker *workers;
	struct zs_pool *pool;
	unsigned long end;
	int pte, ret = 0;
	int cpuhp;

	if (nr_objs < nr_workers * 2) {
		pr_err("nr_objs must be at least 2 per worker\n");
		return -EINVAL;
	}
	workers = kcalloc(nr_workers, sizeof(*workers), GFP_KERNEL);
	if (!workers)
		return -ENOMEM;
	pool = zs_create_pool("zsm_test_map");
	if (!pool) {
		ret = -ENOMEM;
		goto err_workers;
	}
	pte = tm_probe_pte(pool);
	if (pte < 0) {
		ret = pte;
		goto err_pool;
	}
	pr_info("zsm maps cross-page objects in %s mode\n", pte ? "pte" : "copy");
	if (*expect_mode && strcmp(expect_mode, pte ? "pte" : "copy")) {
		pr_err("FAIL: expected %s mode\n", expect_mode);
		ret = -EINVAL;
		goto err_pool;
	}

	for (i = 0; i < nr_workers; i++) {
		struct tm_worker *w = &workers[i];

		w->pool = pool;
		w->id = i;
		w->last_cpu = -1;
		w->nr = nr_objs / nr_workers;
		prandom_seed_state(&w->rnd, (u64)seed << 8 | i);
		w->buf = kmalloc(PAGE_SIZE, GFP_KERNEL);
		w->exp = kmalloc(PAGE_SIZE, GFP_KERNEL);
		w->objs = vcalloc(w->nr, sizeof(*w->objs));
		if (!w->buf || !w->exp || !w->objs) {
			ret = -ENOMEM;
			goto err_objs;
		}
		for (j = 0; j < w->nr; j++) {
			ret = tm_alloc(w, &w->objs[j], GFP_KERNEL);
			if (ret)
				goto err_objs;
		}
	}

	cpuhp = cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN,
					  "zsm_test_map:online", tm_cpu_online,
					  tm_cpu_offline);
	if (cpuhp < 0) {
		ret = cpuhp;
		goto err_objs;
	}

	pr_info("%u workers, %u objects, %u ms, seed %u\n", nr_workers,
		nr_objs, duration_ms, seed);
	for (i = 0; i < nr_workers; i++) {
		struct task_struct *t;

		/* Not bound: the scheduler moves it off a CPU going down. */
		t = kthread_run(tm_worker_fn, &workers[i], "zsm_map/%u", i);
		if (IS_ERR(t)) {
			ret = PTR_ERR(t);
			break;
		}
		workers[i].task = t;
	}
	end = jiffies + msecs_to_jiffies(duration_ms);
	while (!ret && time_before(jiffies, end))
		msleep(100);
	for (i = 0; i < nr_workers; i++) {
		if (workers[i].task)
			kthread_stop(workers[i].task);
	}
	offlines = atomic_long_read(&tm_offlines);
	onlines = atomic_long_read(&tm_onlines);
	cpuhp_remove_state_nocalls(cpuhp);
	if (ret)
		goto err_objs;

	for (i = 0; i < nr_workers; i++) {
		struct tm_worker *w = &workers[i];

		for (j = 0; j < w->nr; j++) {
			if (w->objs[j].handle)
				tm_check(w, &w->objs[j]);
		}
		ops += w->ops;
		off0 += w->ops_off_cpu0;
		migrations += w->migrations;
		corrupt += w->corrupt;
		errors += w->errors;
	}
	hotplug_cycles = min(offlines, onlines);

	tm_metric("hotplug_cycles", hotplug_cycles);
	tm_metric("corrupt", corrupt);
	tm_metric("errors", errors);
	tm_metric("ops", ops);
	tm_metric("ops_off_cpu0", off0);
	tm_metric("migrations", migrations);
	tm_metric("mode_pte", pte);
	if (corrupt || errors) {
		pr_err("FAIL: %lu corrupt, %lu errors\n", corrupt, errors);
		ret = -EIO;
	}

err_objs:
	for (i = 0; i < nr_workers; i++) {
		struct tm_worker *w = &workers[i];

		for (j = 0; w->objs && j < w->nr; j++) {
			if (w->objs[j].handle)
				zs_free(pool, w->objs[j].handle);
		}
		vfree(w->objs);
		kfree(w->buf);
		kfree(w->exp);
	}
	/*
	 * zsm gives the zspages zs_free() empties back from a worker, about
	 * a jiffy later (and any zspage whose page was being migrated).
	 */
	for (i = 0; i < 100 && zs_get_total_pages(pool); i++)
		msleep(20);
	if (!ret && zs_get_total_pages(pool)) {
		pr_err("FAIL: %lu pages left in the pool\n",
		       zs_get_total_pages(pool));
		ret = -EIO;
	}
err_pool:
	zs_destroy_pool(pool);
err_workers:
	kfree(workers);
	if (!ret)
		pr_info("PASS\n");
	return ret;
}

static void __exit zsm_test_map_exit(void)
{
}

module_init(zsm_test_map_init);
module_exit(zsm_test_map_exit);

MODULE_DESCRIPTION("zsm integration test: object mapping under CPU hotplug");
MODULE_LICENSE("GPL");
