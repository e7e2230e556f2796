// SPDX-License-Identifier: GPL-2.0
/*
 * zsm_test_core: allocate, fill, check and free many objects on two CPUs at
 * once, in one shared pool. Loaded in a guest; its insmod fails with -EIO
 * when a check fails.
 *
 * What is verified, and how:
 *
 * - Two kthreads, bound to CPUs 0 and 1, share one pool and together make
 *   nr_objs allocations of sizes drawn like zram's compressed pages (see
 *   zsm_tu_pick_size()). Each keeps up to `window` live objects, choosing at
 *   random to allocate (60%) or to free a random live object (40%), so
 *   zspages fill and empty in every class while the other CPU does the same.
 * - Every object is written through ZS_MM_WO with the contents of its
 *   identity (zsm_tu_fill() of tests/zsm_test_util.h), and its record
 *   (handle, identity, size, checksum) is kept in a vmalloc'd array. Before
 *   each free, and at the end for the objects still live, the object is
 *   mapped ZS_MM_RO and the checksum of the mapped bytes must match; 1
 *   operation in 64 also re-checks a random live object. A mismatch is
 *   reported with the first wrong byte, or as another object's contents.
 * - 1 allocation in 20 (nowait_pct) is made the way zram's first attempt
 *   is, with preemption disabled and GFP_NOWAIT | __GFP_NOWARN;
 *   -ENOMEM there is expected now and then and falls back to GFP_KERNEL like
 *   zram's retry. Any other error, or -ENOMEM with GFP_KERNEL, fails the test.
 * - After everything is freed, zs_get_total_pages() must reach 0.
 *
 * Results are printed as "zsm-metric core.<name>=<value>" lines.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/prandom.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <linux/zsmalloc.h>

#include "zsm_compat.h"
#include "zsm.h"
#include "zsm_test_util.h"

/* === Parameters ========================================================== */

static unsigned int nr_objs = 1000000;
module_param(nr_objs, uint, 0444);
MODULE_PARM_DESC(nr_objs, "Objects to allocate, both threads together");

static unsigned int window = 20000;
module_param(window, uint, 0444);
MODULE_PARM_DESC(window, "Most live objects per thread");

static unsigned int seed = 1;
module_param(seed, uint, 0444);
MODULE_PARM_DESC(seed, "Random seed (sizes, operations, contents)");

static unsigned int nowait_pct = 5;
module_param(nowait_pct, uint, 0444);
MODULE_PARM_DESC(nowait_pct,
		 "Percent of allocations tried first with GFP_NOWAIT and preemption off");

/* === Data ================================================================ */

#define CORE_THREADS		2
#define CORE_MAX_REPORTS	8	/* corrupt objects described in the log */
#define CORE_RECHECK_MASK	63	/* 1 operation in 64 re-checks */

/* One thread; its counters are read by init after the completion. */
struct core_worker {
	struct zs_pool *pool;
	struct task_struct *task;
	struct completion done;
	unsigned int id;
	unsigned int cpu;
	char name[16];			/* "cpuN", in reports */
	unsigned int target;		/* allocations to make */
	struct zsm_tu_obj *live;		/* @window entries */
	unsigned int nr_live;
	struct rnd_state rnd;

	unsigned long allocated;	/* WRITE_ONCE: progress reports */
	unsigned long verified;		/* objects checked good at free */
	unsigned long rechecked;	/* extra checks of live objects */
	unsigned long corrupt;
	unsigned long nowait_nomem;
	unsigned long errors;		/* unexpected zs_malloc() errors */
	unsigned long peak_pages;	/* zs_get_total_pages() seen */
};

static atomic_t core_reports = ATOMIC_INIT(0);

/* === Checks ============================================================== */

/* Map @o ZS_MM_RO and compare its checksum; count and report corruption. */
static bool core_check(struct core_worker *w, const struct zsm_tu_obj *o,
		       u8 *scratch)
{
	const u8 *buf;
	bool ok;

	buf = zs_map_object(w->pool, o->handle, ZS_MM_RO);
	if (!buf) {
		w->corrupt++;
		pr_err("cpu%u: map of live handle %lx size %u failed\n",
		       w->cpu, o->handle, o->size);
		return false;
	}
	ok = zsm_tu_obj_check(o, buf, w->name, scratch, &core_reports,
			      CORE_MAX_REPORTS);
	zs_unmap_object(w->pool, o->handle);
	if (!ok)
		w->corrupt++;
	return ok;
}

/* === Worker ============================================================== */

/* Allocate @o->size bytes with @gfp and write the contents of @o->id. */
static unsigned long core_alloc_fill(struct core_worker *w,
				     struct zsm_tu_obj *o, gfp_t gfp)
{
	unsigned long h = zsm_zs_malloc(w->pool, o->size, gfp);
	void *buf;

	if (IS_ERR_VALUE(h))
		return h;
	buf = zs_map_object(w->pool, h, ZS_MM_WO);
	if (!buf) {
		zs_free(w->pool, h);
		return (unsigned long)ERR_PTR(-EFAULT);
	}
	zsm_tu_obj_write(o, buf, 0);
	zs_unmap_object(w->pool, h);
	return h;
}

static int core_alloc(struct core_worker *w)
{
	const unsigned long nomem = (unsigned long)ERR_PTR(-ENOMEM);
	struct zsm_tu_obj *o = &w->live[w->nr_live];
	unsigned long h = nomem;

	o->size = zsm_tu_pick_size(&w->rnd);
	/* Unique in the run: this thread's allocations so far, the thread. */
	o->id = (u64)seed << 44 ^ (u64)w->id << 40 ^ w->allocated;

	if (prandom_u32_state(&w->rnd) % 100 < nowait_pct) {
		/* As zram's first attempt: no sleeping, preemption off. */
		preempt_disable();
		h = core_alloc_fill(w, o, GFP_NOWAIT | __GFP_NOWARN);
		preempt_enable();
		if (h == nomem)
			w->nowait_nomem++;
	}
	/* As zram's retry (GFP_NOIO there). */
	if (h == nomem)
		h = core_alloc_fill(w, o, GFP_KERNEL);
	if (IS_ERR_VALUE(h)) {
		if (!w->errors++)
			pr_err("cpu%u: zs_malloc(%u) failed: %ld\n", w->cpu,
			       o->size, (long)h);
		return (int)(long)h;
	}
	o->handle = h;
	w->nr_live++;
	WRITE_ONCE(w->allocated, w->allocated + 1);
	return 0;
}

static void core_free(struct core_worker *w, unsigned int i, u8 *scratch)
{
	struct zsm_tu_obj *o = &w->live[i];

	if (core_check(w, o, scratch))
		w->verified++;
	zs_free(w->pool, o->handle);
	*o = w->live[--w->nr_live];
}

static int core_worker_fn(void *data)
{
	struct core_worker *w = data;
	unsigned long ops = 0;
	u8 *scratch;

	scratch = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!scratch) {
		w->errors++;
		goto out;
	}

	while (w->allocated < w->target && !w->errors) {
		u32 r = prandom_u32_state(&w->rnd);
		bool alloc = !w->nr_live ||
			     (w->nr_live < window && r % 100 < 60);

		if (alloc)
			core_alloc(w);
		else
			core_free(w, (r >> 8) % w->nr_live, scratch);

		if (!(++ops & CORE_RECHECK_MASK)) {
			if (w->nr_live) {
				r = prandom_u32_state(&w->rnd);
				core_check(w, &w->live[r % w->nr_live], scratch);
				w->rechecked++;
			}
			if (!(ops & 4095))
				w->peak_pages = max(w->peak_pages,
						    zs_get_total_pages(w->pool));
			cond_resched();
		}
	}

	/* Check and free whatever is still live. */
	while (w->nr_live) {
		core_free(w, w->nr_live - 1, scratch);
		if (!(w->nr_live & CORE_RECHECK_MASK))
			cond_resched();
	}
	kfree(scratch);
out:
	kthread_complete_and_exit(&w->done, 0);
}

/* === Module ============================================================== */

static unsigned int core_cpu(unsigned int id)
{
	if (cpu_online(id))
		return id;
	pr_warn("cpu%u offline: thread %u runs on cpu0\n", id, id);
	return cpumask_first(cpu_online_mask);
}

static int __init zsm_test_core_init(void)
{
	struct core_worker *workers;
	unsigned long verified = 0, corrupt = 0, errors = 0, allocated = 0;
	unsigned long rechecked = 0, nomem = 0, peak = 0, pages_after;
	struct zs_pool *pool;
	ktime_t start;
	unsigned int i;
	int ret = 0;
	s64 ms;

	if (!window) {
		pr_err("window must be at least 1\n");
		return -EINVAL;
	}
	workers = kcalloc(CORE_THREADS, sizeof(*workers), GFP_KERNEL);
	if (!workers)
		return -ENOMEM;
	pool = zs_create_pool("zsm_test_core");
	if (!pool) {
		ret = -ENOMEM;
		goto err_workers;
	}

	for (i = 0; i < CORE_THREADS; i++) {
		struct core_worker *w = &workers[i];

		w->pool = pool;
		w->id = i;
		w->cpu = core_cpu(i);
		snprintf(w->name, sizeof(w->name), "cpu%u", w->cpu);
		w->target = nr_objs / CORE_THREADS +
			    (i < nr_objs % CORE_THREADS);
		init_completion(&w->done);
		prandom_seed_state(&w->rnd, (u64)seed << 8 | i);
		w->live = vcalloc(window, sizeof(*w->live));
		if (!w->live) {
			ret = -ENOMEM;
			goto err_threads;
		}
		w->task = kthread_create(core_worker_fn, w, "zsm_core/%u", i);
		if (IS_ERR(w->task)) {
			ret = PTR_ERR(w->task);
			w->task = NULL;
			goto err_threads;
		}
		kthread_bind(w->task, w->cpu);
	}

	pr_info("%u objects, window %u per thread, %u threads, seed %u\n",
		nr_objs, window, CORE_THREADS, seed);
	start = ktime_get();
	for (i = 0; i < CORE_THREADS; i++)
		wake_up_process(workers[i].task);
	for (i = 0; i < CORE_THREADS; i++) {
		struct core_worker *w = &workers[i];

		/* Wake up now and then: progress, and no hung-task report. */
		while (!wait_for_completion_timeout(&w->done, 30 * HZ))
			pr_info("progress: thread %u %lu/%u allocated\n", i,
				READ_ONCE(w->allocated), w->target);
	}
	ms = ktime_ms_delta(ktime_get(), start);

	for (i = 0; i < CORE_THREADS; i++) {
		struct core_worker *w = &workers[i];

		allocated += w->allocated;
		verified += w->verified;
		rechecked += w->rechecked;
		corrupt += w->corrupt;
		nomem += w->nowait_nomem;
		errors += w->errors;
		peak = max(peak, w->peak_pages);
		vfree(w->live);
	}

	/*
	 * zsm gives the zspages zs_free() empties back from a worker, about
	 * a jiffy later (and any zspage whose page was being migrated).
	 */
	for (i = 0; i < 100 && zs_get_total_pages(pool); i++)
		msleep(20);
	pages_after = zs_get_total_pages(pool);
	zs_destroy_pool(pool);
	kfree(workers);

	pr_info("zsm-metric core.objects_allocated=%lu\n", allocated);
	pr_info("zsm-metric core.objects_verified=%lu\n", verified);
	pr_info("zsm-metric core.rechecks=%lu\n", rechecked);
	pr_info("zsm-metric core.corrupt=%lu\n", corrupt);
	pr_info("zsm-metric core.errors=%lu\n", errors);
	pr_info("zsm-metric core.nowait_nomem=%lu\n", nomem);
	pr_info("zsm-metric core.peak_pool_pages=%lu\n", peak);
	pr_info("zsm-metric core.pool_pages_after_free=%lu\n", pages_after);
	pr_info("zsm-metric core.elapsed_ms=%lld\n", ms);

	if (corrupt || errors || pages_after || allocated != nr_objs ||
	    verified != allocated) {
		pr_err("FAIL: %lu corrupt, %lu errors, %lu pages left, %lu/%u allocated, %lu verified\n",
		       corrupt, errors, pages_after, allocated, nr_objs,
		       verified);
		return -EIO;
	}
	pr_info("PASS\n");
	/* Nothing to keep: the module's work is done at load time. */
	return 0;

err_threads:
	for (i = 0; i < CORE_THREADS; i++) {
		/* Created but never woken: the thread function does not run. */
		if (workers[i].task)
			kthread_stop(workers[i].task);
		vfree(workers[i].live);
	}
	zs_destroy_pool(pool);
err_workers:
	kfree(workers);
	return ret;
}

static void __exit zsm_test_core_exit(void)
{
}

module_init(zsm_test_core_init);
module_exit(zsm_test_core_exit);

MODULE_DESCRIPTION("zsm integration test: concurrent allocate/check/free on two CPUs");
MODULE_LICENSE("GPL");
