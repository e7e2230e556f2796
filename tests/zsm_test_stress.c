// SPDX-License-Identifier: GPL-2.0
/*
 * zsm_test_stress: a long randomized workload on one pool from several
 * threads, optionally under fault injection. Loaded in a guest by
 * guest/tests/stress.sh (which meanwhile runs kernel compaction and takes
 * CPU 1 offline and online) and guest/tests/faults.sh (which enables
 * failslab and fail_page_alloc for the threads of this module). Its insmod
 * fails with -EIO when a check fails.
 *
 * What is verified, and how:
 *
 * - `threads` kthreads (default 2), started unbound so that the scheduler
 *   moves them off a CPU going down, share one pool and together perform
 *   `ops` operations (5,000,000 by default). Each thread owns its objects
 *   (up to `window` live) and draws each operation at random: zs_malloc()
 *   (sizes as zram's compressed pages, see zsm_tu_pick_size(); gfp flags
 *   as zram's first attempt under preemption off, as its GFP_NOIO retry,
 *   or GFP_KERNEL), zs_free(), a ZS_MM_RO map that checks, a ZS_MM_RW map
 *   that checks and rewrites, a ZS_MM_WO map that rewrites (after an RO
 *   check), an RO map holding while a second object is mapped RW with BH
 *   disabled (an interrupt's nesting), zs_obj_read_begin() and
 *   zs_obj_write(). The live set grows to `window` and shrinks to an
 *   eighth of it, again and again, so that zspages fill and empty.
 *   One operation in `compact_every` per thread also runs zs_compact(),
 *   one in `flip_every` switches the cross-page mapping mode
 *   (zsm_map_set_mode(), pte <-> copy) under the other thread's maps.
 * - Every object carries its identity: a header with an id that does not
 *   depend on its handle, its size and a generation bumped at each
 *   rewrite, then bytes generated from (id, generation); its checksum
 *   covers all of it (tests/zsm_test_util.h). Each map checks the object,
 *   so an object moved to the wrong place, swapped with another, damaged,
 *   or showing a stale generation (lost write-back) is counted as corrupt
 *   and described. Every `full_check_every` operations a thread checks all
 *   its objects, and at the end every object is checked once more before
 *   it is freed.
 * - A map of a live handle must not fail; zs_malloc() must return a
 *   handle, or -ENOMEM only where the flags allow failure (no direct
 *   reclaim) or faults are injected. Anything else is an error.
 * - With fault_inject=1 each thread sets its own task's make_it_fail, so
 *   failslab and fail_page_alloc with task-filter=Y fail the allocations
 *   zsm makes for it; -ENOMEM is then expected from any zs_malloc() and
 *   counted. First, `pool_cycles` times, a pool is created, used and
 *   destroyed with faults on (zs_create_pool() may return NULL). At the
 *   end, faults off, everything is checked and freed.
 * - With sweep=1 as well, systematic faults come first (the task's
 *   fail-nth): the 1st, 2nd, ... allocation of zs_create_pool() fails in
 *   turn until a call completes without reaching the fault; every call
 *   must give NULL or a working pool. The same for one zs_malloc() in an
 *   empty pool (a small, a cross-page and a huge object): -ENOMEM and no
 *   page kept (zsm_pages_held), or a working object.
 * - After the last free the pool must hold no page (zs_get_total_pages(),
 *   after zsm's deferred frees ran), and after zs_destroy_pool() zsm must
 *   hold exactly the pages it held before the test (zsm_pages_held); the
 *   difference is reported as leaked pages.
 *
 * Results are printed as "zsm-metric <metric_prefix>.<name>=<value>".
 * Counting: one operation is one draw of the mix above (a free includes
 * its check, a nested map both of its maps); objects_verified counts the
 * checks that passed.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/bottom_half.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/prandom.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <linux/zsmalloc.h>

#include "zsm_internal.h"
#include "zsm_test_util.h"

/* === Parameters ========================================================== */

static unsigned long ops = 5000000;
module_param(ops, ulong, 0444);
MODULE_PARM_DESC(ops, "Operations, all threads together (default 5000000)");

static unsigned int threads = 2;
module_param(threads, uint, 0444);
MODULE_PARM_DESC(threads, "Worker kthreads, unbound (default 2)");

static unsigned int window = 4000;
module_param(window, uint, 0444);
MODULE_PARM_DESC(window, "Most live objects per thread (default 4000)");

static unsigned int seed = 1;
module_param(seed, uint, 0444);
MODULE_PARM_DESC(seed, "Random seed (operations, sizes, contents)");

static unsigned int compact_every = 16384;
module_param(compact_every, uint, 0444);
MODULE_PARM_DESC(compact_every,
		 "One operation in N per thread also runs zs_compact() (0: never)");

static unsigned int flip_every = 16384;
module_param(flip_every, uint, 0444);
MODULE_PARM_DESC(flip_every,
		 "One operation in N per thread switches the map mode (0: never)");

static unsigned int full_check_every = 200000;
module_param(full_check_every, uint, 0444);
MODULE_PARM_DESC(full_check_every,
		 "Every N operations a thread checks all its objects (0: only at the end)");

static bool fault_inject;
module_param(fault_inject, bool, 0444);
MODULE_PARM_DESC(fault_inject,
		 "Set make_it_fail on the worker threads (failslab/fail_page_alloc task-filter)");

static unsigned int pool_cycles;
module_param(pool_cycles, uint, 0444);
MODULE_PARM_DESC(pool_cycles,
		 "With fault_inject: pools created, used and destroyed under faults first");

static bool sweep;
module_param(sweep, bool, 0444);
MODULE_PARM_DESC(sweep,
		 "With fault_inject: fail each allocation of zs_create_pool() and of a first zs_malloc() in turn (fail-nth)");

static char *metric_prefix = "stress";
module_param(metric_prefix, charp, 0444);
MODULE_PARM_DESC(metric_prefix, "Prefix of the zsm-metric names");

/* === Data ================================================================ */

#define ST_MAX_REPORTS		8	/* corrupt objects described in the log */
#define ST_MAX_ERRORS		8	/* unexpected errors described */
#define ST_RESCHED_MASK		63
#define ST_PROGRESS_S		30
#define ST_CYCLE_OBJS		64	/* objects per pool in pool_cycles */

/* zram's first zs_malloc() attempt, under its per-CPU stream. */
#define ST_GFP_ZRAM_FAST	(__GFP_KSWAPD_RECLAIM | __GFP_NOWARN | \
				 __GFP_HIGHMEM | __GFP_MOVABLE)
/* zram's retry. */
#define ST_GFP_ZRAM_SLOW	(GFP_NOIO | __GFP_HIGHMEM | __GFP_MOVABLE)

struct st_worker {
	struct zs_pool *pool;
	struct task_struct *task;
	struct completion done;
	unsigned int id;
	unsigned long target;		/* operations to perform */
	struct zsm_tu_obj *live;	/* @window entries */
	unsigned int nr_live;
	bool shrinking;			/* freeing down to window / 8 */
	struct rnd_state rnd;
	u64 next_id;
	u8 *scratch;			/* PAGE_SIZE: expected bytes */
	u8 *copy;			/* PAGE_SIZE: zs_obj_* buffer */
	int last_cpu;

	/* Written by the worker; read by init after the completion. */
	unsigned long ops;		/* WRITE_ONCE: progress reports */
	unsigned long verified;
	unsigned long final_verified;
	unsigned long corrupt;
	unsigned long errors;
	unsigned long mallocs;
	unsigned long frees;
	unsigned long maps;
	unsigned long enomem;		/* -ENOMEM where failure is allowed */
	unsigned long compactions;
	unsigned long compacted;	/* pages zs_compact() freed */
	unsigned long flips;
	unsigned long cpu_moves;
	unsigned long peak_pages;
	unsigned long cycles_created;	/* pool_cycles: pools made */
	unsigned long cycles_failed;	/* pool_cycles: NULL pools */
};

static atomic_t st_reports = ATOMIC_INIT(0);
static atomic_t st_error_reports = ATOMIC_INIT(0);
static bool st_can_flip;

#ifdef CONFIG_FAULT_INJECTION
static void st_set_make_it_fail(int on)
{
	current->make_it_fail = on;
}

/* Fail the @n-th allocation this task makes from now on (0: none). */
static void st_set_fail_nth(unsigned int n)
{
	WRITE_ONCE(current->fail_nth, n);
}

/* Nonzero if the fault set by st_set_fail_nth() has not fired yet. */
static unsigned int st_fail_nth_left(void)
{
	return READ_ONCE(current->fail_nth);
}
#else
static void st_set_make_it_fail(int on)
{
}

static void st_set_fail_nth(unsigned int n)
{
}

static unsigned int st_fail_nth_left(void)
{
	return 0;
}
#endif

/* === Checks ============================================================== */

static void st_error(struct st_worker *w, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	w->errors++;
	if (atomic_inc_return(&st_error_reports) > ST_MAX_ERRORS)
		return;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_err("thread %u: %pV\n", w->id, &vaf);
	va_end(args);
}

/* Check mapped bytes of @o; count the result. */
static bool st_check_buf(struct st_worker *w, const struct zsm_tu_obj *o,
			 const u8 *buf, const char *what)
{
	if (zsm_tu_obj_check(o, buf, what, w->scratch, &st_reports,
			     ST_MAX_REPORTS)) {
		w->verified++;
		return true;
	}
	w->corrupt++;
	return false;
}

/* === Operations ========================================================== */

/* Rewrite @o with its next generation through a ZS_MM_WO map. */
static void st_write_wo(struct st_worker *w, struct zsm_tu_obj *o)
{
	u8 *p = zs_map_object(w->pool, o->handle, ZS_MM_WO);

	w->maps++;
	if (!p) {
		st_error(w, "WO map of live handle %lx failed", o->handle);
		return;
	}
	zsm_tu_obj_write(o, p, o->gen + 1);
	zs_unmap_object(w->pool, o->handle);
}

/* RO map and check; a corrupt object gets fresh bytes (counted once). */
static bool st_check(struct st_worker *w, struct zsm_tu_obj *o,
		     const char *what)
{
	const u8 *p = zs_map_object(w->pool, o->handle, ZS_MM_RO);
	bool ok;

	w->maps++;
	if (!p) {
		st_error(w, "RO map of live handle %lx failed", o->handle);
		return false;
	}
	ok = st_check_buf(w, o, p, what);
	zs_unmap_object(w->pool, o->handle);
	if (!ok)
		st_write_wo(w, o);
	return ok;
}

/* RW map: check, then rewrite in place. */
static void st_rw(struct st_worker *w, struct zsm_tu_obj *o)
{
	u8 *p = zs_map_object(w->pool, o->handle, ZS_MM_RW);

	w->maps++;
	if (!p) {
		st_error(w, "RW map of live handle %lx failed", o->handle);
		return;
	}
	st_check_buf(w, o, p, "RW map");
	zsm_tu_obj_write(o, p, o->gen + 1);
	zs_unmap_object(w->pool, o->handle);
}

/*
 * Hold an RO map of @a while @b is mapped RW with BH disabled (as an
 * interrupt nests) and rewritten; @a must read the same before and after.
 */
static void st_nested(struct st_worker *w, struct zsm_tu_obj *a,
		      struct zsm_tu_obj *b)
{
	const u8 *pa;
	bool a_ok;
	u8 *pb;

	pa = zs_map_object(w->pool, a->handle, ZS_MM_RO);
	w->maps++;
	if (!pa) {
		st_error(w, "outer RO map of live handle %lx failed", a->handle);
		return;
	}
	a_ok = st_check_buf(w, a, pa, "outer RO map");
	local_bh_disable();
	pb = zs_map_object(w->pool, b->handle, ZS_MM_RW);
	w->maps++;
	if (pb) {
		st_check_buf(w, b, pb, "nested RW map");
		zsm_tu_obj_write(b, pb, b->gen + 1);
		zs_unmap_object(w->pool, b->handle);
	}
	local_bh_enable();
	if (a_ok)
		a_ok = st_check_buf(w, a, pa, "outer RO map after nesting");
	zs_unmap_object(w->pool, a->handle);
	if (!pb)
		st_error(w, "nested RW map of live handle %lx failed",
			 b->handle);
	/* A corrupt object gets fresh bytes: counted once. */
	if (!a_ok)
		st_write_wo(w, a);
}

/* The object read API: the object in place or copied into w->copy. */
static void st_read_api(struct st_worker *w, struct zsm_tu_obj *o)
{
	const u8 *p = zs_obj_read_begin(w->pool, o->handle, o->size,
					  w->copy);

	w->maps++;
	if (!p) {
		st_error(w, "zs_obj_read_begin of live handle %lx failed",
			 o->handle);
		return;
	}
	st_check_buf(w, o, p, "zs_obj_read_begin");
	zs_obj_read_end(w->pool, o->handle, o->size, (void *)p);
}

static void st_write_api(struct st_worker *w, struct zsm_tu_obj *o)
{
	zsm_tu_obj_write(o, w->copy, o->gen + 1);
	zs_obj_write(w->pool, o->handle, w->copy, o->size);
	w->maps++;
}

/*
 * Allocate @o (size and id already set) with @gfp and write its first
 * generation through a ZS_MM_WO map. With @atomic, as zram's first attempt:
 * preemption stays off from the allocation to the unmap.
 */
static unsigned long st_alloc_fill(struct st_worker *w, struct zs_pool *pool,
				   struct zsm_tu_obj *o, gfp_t gfp,
				   bool atomic)
{
	unsigned long h;
	u8 *p;

	if (atomic)
		preempt_disable();
	h = zsm_zs_malloc(pool, o->size, gfp);
	if (IS_ERR_VALUE(h))
		goto out;
	p = zs_map_object(pool, h, ZS_MM_WO);
	w->maps++;
	if (!p) {
		st_error(w, "WO map of new handle %lx failed", h);
		zs_free(pool, h);
		h = (unsigned long)ERR_PTR(-EFAULT);
		goto out;
	}
	o->handle = h;
	zsm_tu_obj_write(o, p, 0);
	zs_unmap_object(pool, h);
out:
	if (atomic)
		preempt_enable();
	return h;
}

/* zs_malloc() result @h with flags that may fail (@may_fail): judge it. */
static bool st_alloc_ok(struct st_worker *w, unsigned long h, bool may_fail,
			unsigned int size)
{
	if (!IS_ERR_VALUE(h))
		return true;
	if (h == (unsigned long)ERR_PTR(-ENOMEM) && may_fail) {
		w->enomem++;
		return false;
	}
	if (h != (unsigned long)ERR_PTR(-EFAULT))
		st_error(w, "zs_malloc(%u) failed: %ld", size, (long)h);
	return false;
}

static void st_new_obj(struct st_worker *w, struct zsm_tu_obj *o)
{
	o->size = zsm_tu_pick_size(&w->rnd);
	o->id = (u64)(w->id + 1) << 48 | ++w->next_id;
	o->gen = 0;
	o->handle = 0;
}

static void st_alloc(struct st_worker *w)
{
	struct zsm_tu_obj *o = &w->live[w->nr_live];
	unsigned int how = prandom_u32_state(&w->rnd) % 10;
	unsigned long h;

	st_new_obj(w, o);
	w->mallocs++;
	if (how < 2) {
		/* zram: fast attempt without sleeping, then the retry. */
		h = st_alloc_fill(w, w->pool, o, ST_GFP_ZRAM_FAST, true);
		if (h == (unsigned long)ERR_PTR(-ENOMEM)) {
			w->enomem++;
			w->mallocs++;
			h = st_alloc_fill(w, w->pool, o, ST_GFP_ZRAM_SLOW,
					  false);
		}
		if (!st_alloc_ok(w, h, fault_inject, o->size))
			return;
	} else {
		gfp_t gfp = how < 6 ? ST_GFP_ZRAM_SLOW : GFP_KERNEL;

		h = st_alloc_fill(w, w->pool, o, gfp, false);
		if (!st_alloc_ok(w, h, fault_inject, o->size))
			return;
	}
	w->nr_live++;
}

/* Check object @i, free it, and drop it from the live set. */
static void st_free(struct st_worker *w, unsigned int i)
{
	struct zsm_tu_obj *o = &w->live[i];

	st_check(w, o, "check before free");
	zs_free(w->pool, o->handle);
	w->frees++;
	*o = w->live[--w->nr_live];
}

static void st_check_all(struct st_worker *w, const char *what)
{
	unsigned int i;

	for (i = 0; i < w->nr_live; i++) {
		st_check(w, &w->live[i], what);
		if (!(i & ST_RESCHED_MASK))
			cond_resched();
	}
}

static void st_compact(struct st_worker *w)
{
	w->compacted += zs_compact(w->pool);
	w->compactions++;
}

/* Switch the mode of new cross-page maps; the other thread's stay valid. */
static void st_flip(struct st_worker *w)
{
	bool pte = prandom_u32_state(&w->rnd) & 1;

	if (!st_can_flip || pte == !strcmp(zsm_map_mode_name(), "pte"))
		return;
	if (zsm_map_set_mode(pte) == 0)
		w->flips++;
}

/* One draw of the operation mix. */
static void st_op(struct st_worker *w)
{
	unsigned int r = prandom_u32_state(&w->rnd) % 1000;
	unsigned int alloc_pm = w->shrinking ? 100 : 400;
	struct zsm_tu_obj *o, *o2;
	unsigned int i, j;

	if (w->nr_live >= window)
		w->shrinking = true;
	else if (w->nr_live <= window / 8)
		w->shrinking = false;

	if (!w->nr_live || (r < alloc_pm && w->nr_live < window)) {
		st_alloc(w);
		return;
	}
	i = prandom_u32_state(&w->rnd) % w->nr_live;
	o = &w->live[i];
	if (r < 500) {
		st_free(w, i);
	} else if (r < 650) {
		st_check(w, o, "RO map");
	} else if (r < 750) {
		st_rw(w, o);
	} else if (r < 830) {
		if (st_check(w, o, "RO map before WO"))
			st_write_wo(w, o);
	} else if (r < 900) {
		j = prandom_u32_state(&w->rnd) % w->nr_live;
		o2 = &w->live[j];
		if (j != i)
			st_nested(w, o, o2);
		else
			st_rw(w, o);
	} else if (r < 950) {
		st_read_api(w, o);
	} else {
		st_write_api(w, o);
	}
}

/* === Pool cycles under faults ============================================ */

/*
 * Create a pool with faults on (it may fail), fill it, check, compact, free
 * and destroy it. Nothing may be lost: the final check of zsm_pages_held
 * covers these pools too.
 */
static void st_pool_cycle(struct st_worker *w, unsigned int n)
{
	struct zsm_tu_obj *objs = w->live;
	unsigned int i, nr = 0;
	struct zs_pool *pool;
	char name[32];

	snprintf(name, sizeof(name), "zsm_stress_cycle%u_%u", w->id, n);
	/*
	 * Under faults a pool is seldom created (it makes an allocation per
	 * class): every other cycle creates it with faults off and only uses
	 * and destroys it with faults on.
	 */
	if (!(n & 1))
		st_set_make_it_fail(0);
	pool = zs_create_pool(name);
	st_set_make_it_fail(1);
	if (!pool) {
		w->cycles_failed++;
		return;
	}
	w->cycles_created++;
	for (i = 0; i < ST_CYCLE_OBJS && i < window; i++) {
		struct zsm_tu_obj *o = &objs[nr];
		unsigned long h;

		st_new_obj(w, o);
		w->mallocs++;
		h = st_alloc_fill(w, pool, o, i & 1 ? GFP_KERNEL :
				  ST_GFP_ZRAM_SLOW, false);
		if (st_alloc_ok(w, h, true, o->size))
			nr++;
	}
	zs_compact(pool);
	for (i = 0; i < nr; i++) {
		const u8 *p = zs_map_object(pool, objs[i].handle, ZS_MM_RO);

		w->maps++;
		if (!p) {
			st_error(w, "RO map of live handle %lx failed",
				 objs[i].handle);
			continue;
		}
		st_check_buf(w, &objs[i], p, "pool cycle");
		zs_unmap_object(pool, objs[i].handle);
	}
	for (i = 0; i < nr; i++)
		zs_free(pool, objs[i].handle);
	w->frees += nr;
	zs_destroy_pool(pool);
}

/* === Systematic faults (fail-nth) ======================================== */

#define ST_SWEEP_MAX		2000

/* Sweep results, for the metrics. */
static unsigned int st_create_points, st_create_failed;
static unsigned int st_malloc_points, st_malloc_failed;

/*
 * Fail the 1st, 2nd, ... allocation of zs_create_pool() until one call
 * makes fewer allocations than the fault is set for. Each call must give
 * NULL or a working pool.
 */
static void st_sweep_create(struct st_worker *w)
{
	unsigned int n;

	for (n = 1; n <= ST_SWEEP_MAX; n++) {
		struct zs_pool *pool;
		struct zsm_tu_obj *o = w->live;
		unsigned int left;
		unsigned long h;

		st_set_fail_nth(n);
		pool = zs_create_pool("zsm_stress_sweep");
		left = st_fail_nth_left();
		st_set_fail_nth(0);
		if (!pool) {
			st_create_failed++;
			if (left)
				st_error(w, "zs_create_pool() failed without a fault");
			continue;
		}
		st_new_obj(w, o);
		h = st_alloc_fill(w, pool, o, GFP_KERNEL, false);
		if (st_alloc_ok(w, h, false, o->size)) {
			const u8 *p = zs_map_object(pool, h, ZS_MM_RO);

			if (p) {
				st_check_buf(w, o, p, "pool from the sweep");
				zs_unmap_object(pool, h);
			} else {
				st_error(w, "RO map of live handle %lx failed", h);
			}
			zs_free(pool, h);
		}
		zs_destroy_pool(pool);
		if (left) {
			st_create_points = n - 1;
			return;
		}
	}
	st_error(w, "zs_create_pool() still allocating after %u faults", n);
}

/*
 * In an empty pool, fail the 1st, 2nd, ... allocation of a zs_malloc()
 * (handle block, descriptor, object pages), for a small, a cross-page and
 * a huge object. A failure must be -ENOMEM and leave no page behind.
 */
static void st_sweep_malloc(struct st_worker *w)
{
	static const unsigned int sizes[] = { 100, 3000, PAGE_SIZE };
	struct zs_pool *pool = zs_create_pool("zsm_stress_sweep");
	long held = atomic_long_read(&zsm_pages_held);
	unsigned int s, n;

	if (!pool) {
		st_error(w, "cannot create a pool for the sweep");
		return;
	}
	for (s = 0; s < ARRAY_SIZE(sizes); s++) {
		for (n = 1; n <= ST_SWEEP_MAX; n++) {
			struct zsm_tu_obj *o = w->live;
			unsigned int left;
			unsigned long h;
			long kept;

			st_new_obj(w, o);
			o->size = sizes[s];
			st_set_fail_nth(n);
			h = zsm_zs_malloc(pool, o->size, GFP_KERNEL);
			left = st_fail_nth_left();
			st_set_fail_nth(0);
			if (IS_ERR_VALUE(h)) {
				st_malloc_failed++;
				if (h != (unsigned long)ERR_PTR(-ENOMEM) || left)
					st_error(w, "zs_malloc(%u) with fault %u: %ld",
						 o->size, n, (long)h);
				/* The failed call gave back what it took. */
				zsm_tu_released(pool);
				kept = atomic_long_read(&zsm_pages_held) - held;
				if (kept)
					st_error(w, "zs_malloc(%u), fault %u: kept %ld pages",
						 o->size, n, kept);
				continue;
			}
			zs_free(pool, h);
			h = st_alloc_fill(w, pool, o, GFP_KERNEL, false);
			if (st_alloc_ok(w, h, false, o->size)) {
				const u8 *p = zs_map_object(pool, h, ZS_MM_RO);

				if (p) {
					st_check_buf(w, o, p, "malloc sweep");
					zs_unmap_object(pool, h);
				}
				zs_free(pool, h);
			}
			if (left) {
				st_malloc_points += n - 1;
				break;
			}
		}
	}
	zs_destroy_pool(pool);
}

/* === Worker ============================================================== */

static int st_worker_fn(void *data)
{
	struct st_worker *w = data;
	unsigned long n = 0;
	unsigned int i;

	w->last_cpu = raw_smp_processor_id();
	if (fault_inject) {
		/* Only this task's allocations fail (task-filter=Y). */
		st_set_make_it_fail(1);
		for (i = 0; i < pool_cycles; i++) {
			st_pool_cycle(w, i);
			cond_resched();
		}
	}

	while (n < w->target) {
		int cpu = raw_smp_processor_id();

		if (cpu != w->last_cpu) {
			w->cpu_moves++;
			w->last_cpu = cpu;
		}
		st_op(w);
		WRITE_ONCE(w->ops, ++n);
		if (compact_every && !(prandom_u32_state(&w->rnd) % compact_every))
			st_compact(w);
		if (flip_every && !(prandom_u32_state(&w->rnd) % flip_every))
			st_flip(w);
		if (full_check_every && !(n % full_check_every))
			st_check_all(w, "periodic check");
		if (!(n & ST_RESCHED_MASK)) {
			if (!(n & 4095))
				w->peak_pages = max(w->peak_pages,
						    zs_get_total_pages(w->pool));
			cond_resched();
		}
	}

	/* Faults off: the final check and frees must not be disturbed. */
	st_set_make_it_fail(0);
	while (w->nr_live) {
		struct zsm_tu_obj *o = &w->live[w->nr_live - 1];
		unsigned long before = w->verified;

		st_check(w, o, "final check");
		w->final_verified += w->verified - before;
		zs_free(w->pool, o->handle);
		w->frees++;
		w->nr_live--;
		if (!(w->nr_live & ST_RESCHED_MASK))
			cond_resched();
	}
	kthread_complete_and_exit(&w->done, 0);
}

/* === Module ============================================================== */

/* Sum of one counter over the workers. */
#define ST_SUM(ws, field) ({					\
	unsigned long __s = 0;					\
	unsigned int __i;					\
	for (__i = 0; __i < threads; __i++)			\
		__s += (ws)[__i].field;				\
	__s; })

static void st_free_workers(struct st_worker *ws)
{
	unsigned int i;

	for (i = 0; i < threads; i++) {
		vfree(ws[i].live);
		kfree(ws[i].scratch);
		kfree(ws[i].copy);
	}
	kfree(ws);
}

static void st_metric(const char *name, unsigned long v)
{
	pr_info("zsm-metric %s.%s=%lu\n", metric_prefix, name, v);
}

static int __init zsm_test_stress_init(void)
{
	long held0, held_after, migrated0;
	unsigned long total_ops, verified, corrupt, errors, pages_after;
	unsigned long peak = 0, leaked;
	bool pte0 = !strcmp(zsm_map_mode_name(), "pte");
	struct st_worker *ws;
	struct zs_pool *pool;
	ktime_t start;
	unsigned int i;
	int ret = 0;
	s64 ms;

	if (!window || !threads) {
		pr_err("window and threads must be at least 1\n");
		return -EINVAL;
	}
	if (fault_inject && !IS_ENABLED(CONFIG_FAULT_INJECTION)) {
		pr_err("fault_inject=1 needs CONFIG_FAULT_INJECTION\n");
		return -EOPNOTSUPP;
	}
	/* The leak check assumes this test's pools are zsm's only ones. */
	held0 = atomic_long_read(&zsm_pages_held);
	migrated0 = atomic_long_read(&zsm_pages_migrated);
	st_can_flip = zsm_map_set_mode(pte0) == 0 &&
		      zsm_map_set_mode(!pte0) == 0;
	zsm_map_set_mode(pte0);

	ws = kcalloc(threads, sizeof(*ws), GFP_KERNEL);
	if (!ws)
		return -ENOMEM;
	pool = zs_create_pool("zsm_test_stress");
	if (!pool) {
		kfree(ws);
		return -ENOMEM;
	}
	for (i = 0; i < threads; i++) {
		struct st_worker *w = &ws[i];

		w->pool = pool;
		w->id = i;
		w->target = ops / threads + (i < ops % threads);
		init_completion(&w->done);
		prandom_seed_state(&w->rnd, (u64)seed << 8 | i);
		w->live = vcalloc(window, sizeof(*w->live));
		w->scratch = kmalloc(PAGE_SIZE, GFP_KERNEL);
		w->copy = kmalloc(PAGE_SIZE, GFP_KERNEL);
		if (!w->live || !w->scratch || !w->copy) {
			ret = -ENOMEM;
			goto err_threads;
		}
		w->task = kthread_create(st_worker_fn, w, "zsm_stress/%u", i);
		if (IS_ERR(w->task)) {
			ret = PTR_ERR(w->task);
			w->task = NULL;
			goto err_threads;
		}
	}

	if (fault_inject && sweep) {
		st_sweep_create(&ws[0]);
		st_sweep_malloc(&ws[0]);
		pr_info("fail-nth sweep: zs_create_pool() failed cleanly at %u of %u allocation points, zs_malloc() at %u of %u\n",
			st_create_failed, st_create_points, st_malloc_failed,
			st_malloc_points);
	}

	pr_info("%lu operations, %u threads, window %u, seed %u, map mode %s%s, faults %s\n",
		ops, threads, window, seed, zsm_map_mode_name(),
		st_can_flip ? " (flipping)" : "",
		fault_inject ? "injected" : "off");
	start = ktime_get();
	for (i = 0; i < threads; i++)
		wake_up_process(ws[i].task);
	for (i = 0; i < threads; i++) {
		/* Wake up now and then: progress, and no hung-task report. */
		while (!wait_for_completion_timeout(&ws[i].done,
						    ST_PROGRESS_S * HZ)) {
			unsigned long done = 0;
			unsigned int k;

			for (k = 0; k < threads; k++)
				done += READ_ONCE(ws[k].ops);
			pr_info("progress: %lu/%lu operations, %lld s\n", done,
				ops, ktime_ms_delta(ktime_get(), start) / 1000);
		}
	}
	ms = ktime_ms_delta(ktime_get(), start);
	zsm_map_set_mode(pte0);

	/*
	 * zsm gives the zspages zs_free() empties back from a worker, about
	 * a jiffy later (and any zspage whose page was being migrated).
	 */
	for (i = 0; i < 100 && zs_get_total_pages(pool); i++)
		msleep(20);
	pages_after = zs_get_total_pages(pool);
	zs_destroy_pool(pool);
	held_after = atomic_long_read(&zsm_pages_held);
	leaked = held_after > held0 ? held_after - held0 : 0;

	total_ops = ST_SUM(ws, ops);
	verified = ST_SUM(ws, verified);
	corrupt = ST_SUM(ws, corrupt);
	errors = ST_SUM(ws, errors);
	for (i = 0; i < threads; i++)
		peak = max(peak, ws[i].peak_pages);

	st_metric("ops", total_ops);
	st_metric("objects_verified", verified);
	st_metric("corrupt", corrupt);
	st_metric("errors", errors);
	st_metric("final_verified", ST_SUM(ws, final_verified));
	st_metric("mallocs", ST_SUM(ws, mallocs));
	st_metric("frees", ST_SUM(ws, frees));
	st_metric("maps", ST_SUM(ws, maps));
	st_metric("enomem", ST_SUM(ws, enomem));
	st_metric("compactions", ST_SUM(ws, compactions));
	st_metric("pages_compacted", ST_SUM(ws, compacted));
	st_metric("mode_flips", ST_SUM(ws, flips));
	st_metric("cpu_moves", ST_SUM(ws, cpu_moves));
	st_metric("pages_migrated",
		  atomic_long_read(&zsm_pages_migrated) - migrated0);
	st_metric("peak_pool_pages", peak);
	st_metric("pool_pages_after_free", pages_after);
	st_metric("leaked_pages", leaked);
	if (fault_inject) {
		st_metric("pools_created", ST_SUM(ws, cycles_created));
		st_metric("pools_failed", ST_SUM(ws, cycles_failed));
	}
	if (fault_inject && sweep) {
		st_metric("sweep_create_points", st_create_points);
		st_metric("sweep_create_failed", st_create_failed);
		st_metric("sweep_malloc_points", st_malloc_points);
		st_metric("sweep_malloc_failed", st_malloc_failed);
	}
	st_metric("elapsed_ms", ms);
	st_metric("ops_per_s", ms > 0 ? total_ops * 1000 / ms : 0);

	/* Under fault injection, the failure paths must have been taken. */
	if (fault_inject && (!ST_SUM(ws, enomem) ||
			     (sweep && (!st_create_points || !st_malloc_points)))) {
		pr_err("FAIL: fault injection exercised nothing: %lu -ENOMEM, %u pool creation and %u malloc sweep points\n",
		       ST_SUM(ws, enomem), st_create_points, st_malloc_points);
		ret = -EIO;
	}
	if (corrupt || errors || total_ops < ops || pages_after ||
	    held_after != held0) {
		pr_err("FAIL: %lu corrupt, %lu errors, %lu/%lu operations, %lu pages left in the pool, zsm holds %ld pages, %ld before\n",
		       corrupt, errors, total_ops, ops, pages_after, held_after,
		       held0);
		ret = -EIO;
	}
	if (!ret)
		pr_info("PASS\n");
	st_free_workers(ws);
	/* Nothing to keep: the module's work is done at load time. */
	return ret;

err_threads:
	for (i = 0; i < threads; i++) {
		/* Created but never woken: the thread function does not run. */
		if (ws[i].task)
			kthread_stop(ws[i].task);
	}
	zs_destroy_pool(pool);
	st_free_workers(ws);
	return ret;
}

static void __exit zsm_test_stress_exit(void)
{
}

module_init(zsm_test_stress_init);
module_exit(zsm_test_stress_exit);

MODULE_DESCRIPTION("zsm integration test: randomized stress, optionally under fault injection");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(ZSM_KUNIT_NS);
