// SPDX-License-Identifier: GPL-2.0
/*
 * zsm_test_migrate: a pool of many checksummed objects that guest scripts
 * put through core-mm page migration, memory offlining, zs_compact() and
 * the pool shrinker (guest/tests/migrate.sh, compact.sh, shrinker.sh).
 *
 * The module does nothing at load but create its debugfs directory,
 * /sys/kernel/debug/zsm_test_migrate/. The script drives it by writing
 * commands to "ctl"; each command runs to completion in the write, which
 * fails (-EIO) when a check fails, so `echo cmd > ctl` under `sh -e` fails
 * the test. Commands:
 *
 *   fill            create a pool and allocate nr_objs objects of sizes
 *                   drawn uniformly from min_size..max_size (zram's object
 *                   page flags: GFP_NOIO | __GFP_HIGHMEM | __GFP_MOVABLE)
 *   free_half       free each live object with probability 1/2 (so that
 *                   zspages of every class are left partly used)
 *   churn_start     start a kthread that keeps allocating (40%), freeing
 *                   (40%), re-writing through ZS_MM_RW (10%) and reading
 *                   (10%) random objects until churn_stop
 *   churn_stop      stop it; print the churn.* metrics with the prefix
 *   verify P        read every live object; print P.objects_verified,
 *                   P.corrupt (objects with wrong bytes since load) and
 *                   P.errors (maps that failed, unexpected zs_malloc()
 *                   errors, since load); fail if either is not 0
 *   check_block N   fail if any page of any live zspage lies in memory
 *                   block N (block_bytes must be set)
 *   compact P       zs_compact(); see below
 *   mappers_start   start one kthread per online CPU, bound to it, that
 *                   maps the objects it owns (object i belongs to mapper
 *                   i % CPUs) in a tight loop: 3 of 4 maps ZS_MM_RO (the
 *                   CRC is checked), 1 of 4 ZS_MM_RW (checked, then new
 *                   contents written); each map is held map_hold_us
 *                   microseconds in all (a consumer compressing or
 *                   decompressing the object)
 *   mappers_stop P  stop them; print P.maps and P.map_cpus
 *   destroy         read and free every object, destroy the pool
 *
 * Files to read: "blocks" (memory block, zspage pages there, for blocks
 * holding any; block_bytes must be set), "stats" (key value lines),
 * "pages_compacted" (the pool's counter alone, for a watcher), "maps"
 * (maps the mappers made so far; readable while they run).
 *
 * Every object is written through a ZS_MM_WO map with the contents of its
 * identity and generation (zsm_tu_fill() of tests/zsm_test_util.h), and
 * their checksum is kept with (handle, size). Reads map ZS_MM_RO and
 * compare the checksum of the mapped bytes; a mismatch is reported (first
 * wrong byte or another object's bytes, class, slot) and counted. Before a
 * free the object is read.
 *
 * compact P checks: the return value of zs_compact() equals the growth of
 * zs_pool_stats().pages_compacted and the drop of zs_get_total_pages();
 * and afterwards the pool holds at most 5% more pages than the live
 * objects need at their class geometry, i.e. than the sum over classes of
 * ceil(objects / objs_per_zspage) * pages_per_zspage, counted from this
 * module's own object list. It prints P.pages_freed, P.overhead_pct and
 * the numbers behind them.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/prandom.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/zsmalloc.h>

#include "zsm_internal.h"
#include "zsm_test_util.h"

/* === Parameters ========================================================== */

static unsigned int nr_objs = 200000;
module_param(nr_objs, uint, 0444);
MODULE_PARM_DESC(nr_objs, "Objects allocated by fill");

static unsigned int min_size = 64;
module_param(min_size, uint, 0444);
MODULE_PARM_DESC(min_size, "Smallest object size");

static unsigned int max_size = 2048;
module_param(max_size, uint, 0444);
MODULE_PARM_DESC(max_size, "Largest object size (at most PAGE_SIZE)");

static unsigned int seed = 1;
module_param(seed, uint, 0444);
MODULE_PARM_DESC(seed, "Random seed (sizes, choices, contents)");

static unsigned int map_hold_us = 20;
module_param(map_hold_us, uint, 0444);
MODULE_PARM_DESC(map_hold_us, "mappers_start: microseconds each map is held");

static unsigned long block_bytes;
module_param(block_bytes, ulong, 0644);
MODULE_PARM_DESC(block_bytes,
		 "Memory block size in bytes (/sys/devices/system/memory/block_size_bytes)");

/* === Data ================================================================ */

#define TMIG_GFP			(GFP_NOIO | __GFP_HIGHMEM | __GFP_MOVABLE)
#define TMIG_MAX_REPORTS		8	/* corrupt objects described */
#define TMIG_OVERHEAD_MAX_PCT	5

/*
 * All state is under tmig_lock, except while the churn thread or the
 * mappers run: then they own tmig_objs/tmig_nr_live (each mapper only its
 * own objects), and every command but churn_stop (mappers_stop) returns
 * -EBUSY.
 */
static DEFINE_MUTEX(tmig_lock);
static struct zs_pool *tmig_pool;
static struct zsm_tu_obj *tmig_objs;		/* nr_objs entries, live first */
static unsigned int tmig_nr_live;
static struct rnd_state tmig_rnd;
static u32 tmig_serial;			/* allocations made: identities */
static struct task_struct *tmig_churn;
static struct task_struct *tmig_mappers[NR_CPUS];
static unsigned int tmig_nr_mappers;
static atomic_long_t tmig_maps = ATOMIC_LONG_INIT(0);
static struct dentry *tmig_dir;

static atomic_long_t tmig_corrupt = ATOMIC_LONG_INIT(0);	/* bad bytes */
static atomic_long_t tmig_errors = ATOMIC_LONG_INIT(0);	/* bad calls */
static atomic_t tmig_reports = ATOMIC_INIT(0);

/* Churn counters; written by the thread, read after it stopped. */
static unsigned long tmig_churn_ops, tmig_churn_allocs, tmig_churn_frees;
static unsigned long tmig_churn_rewrites, tmig_churn_verified;
static unsigned long tmig_churn_nomem;

/* Any corruption or failed call since load. */
static bool tmig_failed(void)
{
	return atomic_long_read(&tmig_corrupt) || atomic_long_read(&tmig_errors);
}

/* === Object contents ===================================================== */

/* A new object's identity: unique in the run. */
static u64 tmig_new_id(void)
{
	return (u64)seed << 32 | ++tmig_serial;
}

/*
 * Compare the mapped bytes @buf of @o with its record; report a mismatch
 * (first wrong byte or another object's bytes, class, slot).
 * Context: @o is mapped (preemption disabled).
 * Return: true if they match.
 */
static bool tmig_bytes_ok(const struct zsm_tu_obj *o, const u8 *buf,
			  const char *when)
{
	char who[64];
	u8 *scratch;

	if (zsm_tu_csum(buf, o->size) == o->csum)
		return true;
	scratch = kmalloc(PAGE_SIZE, GFP_ATOMIC);
	snprintf(who, sizeof(who), "%s (class %u, slot %u)", when,
		 zs_lookup_class_index(tmig_pool, o->size),
		 zsm_obj_idx(READ_ONCE(*(unsigned long *)o->handle)));
	if (scratch)
		zsm_tu_obj_check(o, buf, who, scratch, &tmig_reports,
				 TMIG_MAX_REPORTS);
	else
		pr_err("%s: handle %lx size %u: wrong bytes\n", who,
		       o->handle, o->size);
	kfree(scratch);
	return false;
}

/*
 * Read object @o through a ZS_MM_RO map.
 * Return: true if intact; false (counted in tmig_corrupt) otherwise.
 */
static bool tmig_check(const struct zsm_tu_obj *o, const char *when)
{
	const u8 *buf;
	bool ok;

	buf = zs_map_object(tmig_pool, o->handle, ZS_MM_RO);
	if (!buf) {
		pr_err("%s: handle %lx does not map\n", when, o->handle);
		atomic_long_inc(&tmig_errors);
		return false;
	}
	ok = tmig_bytes_ok(o, buf, when);
	zs_unmap_object(tmig_pool, o->handle);
	if (ok)
		return true;
	atomic_long_inc(&tmig_corrupt);
	return false;
}

/* Through a ZS_MM_RW map: check the old contents, write new ones. */
static bool tmig_rewrite(struct zsm_tu_obj *o)
{
	bool ok = true;
	u8 *buf;

	buf = zs_map_object(tmig_pool, o->handle, ZS_MM_RW);
	if (!buf) {
		pr_err("rewrite: handle %lx does not map\n", o->handle);
		atomic_long_inc(&tmig_errors);
		return false;
	}
	if (!tmig_bytes_ok(o, buf, "rewrite")) {
		atomic_long_inc(&tmig_corrupt);
		ok = false;
	}
	zsm_tu_obj_write(o, buf, o->gen + 1);
	zs_unmap_object(tmig_pool, o->handle);
	return ok;
}

static unsigned int tmig_pick_size(struct rnd_state *rnd)
{
	return min_size + prandom_u32_state(rnd) % (max_size - min_size + 1);
}

/* Allocate and fill one object into tmig_objs[tmig_nr_live]. */
static int tmig_alloc(struct rnd_state *rnd)
{
	struct zsm_tu_obj *o = &tmig_objs[tmig_nr_live];
	unsigned long h;
	u8 *buf;

	o->size = tmig_pick_size(rnd);
	h = zsm_zs_malloc(tmig_pool, o->size, TMIG_GFP);
	if (IS_ERR_VALUE(h))
		return (int)(long)h;
	o->handle = h;
	o->id = tmig_new_id();
	buf = zs_map_object(tmig_pool, h, ZS_MM_WO);
	if (!buf) {
		zs_free(tmig_pool, h);
		return -EIO;
	}
	zsm_tu_obj_write(o, buf, 0);
	zs_unmap_object(tmig_pool, h);
	tmig_nr_live++;
	return 0;
}

/* Check and free tmig_objs[i]; the last live object takes its place. */
static bool tmig_free(unsigned int i, const char *when)
{
	bool ok = tmig_check(&tmig_objs[i], when);

	zs_free(tmig_pool, tmig_objs[i].handle);
	tmig_objs[i] = tmig_objs[--tmig_nr_live];
	return ok;
}

/* === Churn thread ======================================================== */

static int tmig_churn_fn(void *arg)
{
	struct rnd_state rnd;

	prandom_seed_state(&rnd, (u64)seed << 32 | 0xc0ffee);
	while (!kthread_should_stop()) {
		unsigned int r = prandom_u32_state(&rnd) % 100;
		unsigned int i = tmig_nr_live ?
				 prandom_u32_state(&rnd) % tmig_nr_live : 0;

		if (r < 40 && tmig_nr_live < nr_objs) {
			int err = tmig_alloc(&rnd);

			if (err == -ENOMEM) {
				tmig_churn_nomem++;
			} else if (err) {
				pr_err("churn: zs_malloc: %d\n", err);
				atomic_long_inc(&tmig_errors);
			} else {
				tmig_churn_allocs++;
			}
		} else if (r < 80 && tmig_nr_live) {
			tmig_free(i, "churn free");
			tmig_churn_frees++;
			tmig_churn_verified++;
		} else if (r < 90 && tmig_nr_live) {
			tmig_rewrite(&tmig_objs[i]);
			tmig_churn_rewrites++;
		} else if (tmig_nr_live) {
			tmig_check(&tmig_objs[i], "churn read");
			tmig_churn_verified++;
		}
		if (!(++tmig_churn_ops & 63))
			cond_resched();
	}
	return 0;
}

/* === Mappers ============================================================= */

/*
 * Map the objects of mapper @arg (i % tmig_nr_mappers == arg) until told to
 * stop. Objects are neither allocated nor freed meanwhile, so
 * tmig_objs[i] stays the same object; only its owner rewrites it.
 */
static int tmig_mapper_fn(void *arg)
{
	unsigned int me = (unsigned long)arg, n = tmig_nr_mappers, i;
	struct rnd_state rnd;
	unsigned long maps = 0;

	prandom_seed_state(&rnd, (u64)seed << 32 | me);
	while (!kthread_should_stop()) {
		struct zsm_tu_obj *o;
		bool rw;
		u8 *buf;

		i = prandom_u32_state(&rnd) % tmig_nr_live;
		i -= i % n;
		i += me;
		if (i >= tmig_nr_live)
			continue;
		o = &tmig_objs[i];
		rw = !(prandom_u32_state(&rnd) & 3);
		buf = zs_map_object(tmig_pool, o->handle, rw ? ZS_MM_RW : ZS_MM_RO);
		if (!buf) {
			atomic_long_inc(&tmig_errors);
			continue;
		}
		if (!tmig_bytes_ok(o, buf, "mapper"))
			atomic_long_inc(&tmig_corrupt);
		if (rw)
			zsm_tu_obj_write(o, buf, o->gen + 1);
		udelay(map_hold_us);
		zs_unmap_object(tmig_pool, o->handle);
		atomic_long_inc(&tmig_maps);
		if (!(++maps & 15))
			cond_resched();
	}
	return 0;
}

static void tmig_mappers_end(const char *prefix)
{
	unsigned int k;

	for (k = 0; k < tmig_nr_mappers; k++)
		kthread_stop(tmig_mappers[k]);
	pr_info("zsm-metric %s.maps=%ld\n", prefix, atomic_long_read(&tmig_maps));
	pr_info("zsm-metric %s.map_cpus=%u\n", prefix, tmig_nr_mappers);
	tmig_nr_mappers = 0;
}

static int tmig_mappers_begin(void)
{
	unsigned int k = 0, cpu;

	if (tmig_nr_live < num_online_cpus())
		return -EINVAL;
	atomic_long_set(&tmig_maps, 0);
	tmig_nr_mappers = num_online_cpus();
	for_each_online_cpu(cpu) {
		struct task_struct *t;

		if (k == tmig_nr_mappers)
			break;
		t = kthread_create(tmig_mapper_fn, (void *)(unsigned long)k,
				   "zsm_mt_map/%u", cpu);
		if (IS_ERR(t)) {
			tmig_nr_mappers = k;
			tmig_mappers_end("mappers_failed");
			return PTR_ERR(t);
		}
		kthread_bind(t, cpu);
		tmig_mappers[k++] = t;
	}
	tmig_nr_mappers = k;
	for (k = 0; k < tmig_nr_mappers; k++)
		wake_up_process(tmig_mappers[k]);
	return 0;
}

/* === Commands ============================================================ */

static int tmig_fill(void)
{
	unsigned int i;
	int err;

	if (tmig_pool)
		return -EEXIST;
	tmig_objs = vcalloc(nr_objs, sizeof(*tmig_objs));
	if (!tmig_objs)
		return -ENOMEM;
	tmig_pool = zs_create_pool("zsm_test_migrate");
	if (!tmig_pool) {
		vfree(tmig_objs);
		tmig_objs = NULL;
		return -ENOMEM;
	}
	tmig_nr_live = 0;
	for (i = 0; i < nr_objs; i++) {
		err = tmig_alloc(&tmig_rnd);
		if (err) {
			pr_err("fill: object %u: %d\n", i, err);
			return err;
		}
		if (!(i & 255))
			cond_resched();
	}
	pr_info("fill: %u objects, %lu pool pages\n", tmig_nr_live,
		zs_get_total_pages(tmig_pool));
	return 0;
}

static int tmig_free_half(void)
{
	unsigned int i, freed = 0;
	bool ok = true;

	for (i = tmig_nr_live; i-- > 0;) {
		if (prandom_u32_state(&tmig_rnd) & 1)
			continue;
		ok &= tmig_free(i, "free_half");
		freed++;
		if (!(freed & 255))
			cond_resched();
	}
	pr_info("free_half: freed %u, %u live, %lu pool pages\n", freed,
		tmig_nr_live, zs_get_total_pages(tmig_pool));
	return ok ? 0 : -EIO;
}

static int tmig_verify(const char *prefix)
{
	unsigned long bad = 0;
	unsigned int i;

	for (i = 0; i < tmig_nr_live; i++) {
		if (!tmig_check(&tmig_objs[i], prefix))
			bad++;
		if (!(i & 255))
			cond_resched();
	}
	pr_info("zsm-metric %s.objects_verified=%u\n", prefix, tmig_nr_live - (unsigned int)bad);
	pr_info("zsm-metric %s.corrupt=%ld\n", prefix,
		atomic_long_read(&tmig_corrupt));
	pr_info("zsm-metric %s.errors=%ld\n", prefix,
		atomic_long_read(&tmig_errors));
	return tmig_failed() ? -EIO : 0;
}

static int tmig_churn_begin(void)
{
	tmig_churn_ops = 0;
	tmig_churn_allocs = 0;
	tmig_churn_frees = 0;
	tmig_churn_rewrites = 0;
	tmig_churn_verified = 0;
	tmig_churn_nomem = 0;
	tmig_churn = kthread_run(tmig_churn_fn, NULL, "zsm_mt_churn");
	if (IS_ERR(tmig_churn)) {
		int err = PTR_ERR(tmig_churn);

		tmig_churn = NULL;
		return err;
	}
	return 0;
}

static void tmig_churn_end(const char *prefix)
{
	kthread_stop(tmig_churn);
	tmig_churn = NULL;
	pr_info("zsm-metric %s.churn_ops=%lu\n", prefix, tmig_churn_ops);
	pr_info("zsm-metric %s.churn_allocs=%lu\n", prefix, tmig_churn_allocs);
	pr_info("zsm-metric %s.churn_frees=%lu\n", prefix, tmig_churn_frees);
	pr_info("zsm-metric %s.churn_rewrites=%lu\n", prefix,
		tmig_churn_rewrites);
	pr_info("zsm-metric %s.churn_verified=%lu\n", prefix,
		tmig_churn_verified);
	pr_info("zsm-metric %s.churn_nomem=%lu\n", prefix, tmig_churn_nomem);
}

/*
 * Call @fn for every page of the zspage of every live object, with the
 * object's class lock held (migration swaps pages[] under it).
 */
static void tmig_walk(void (*fn)(struct page *page, void *arg), void *arg)
{
	struct zsm_pool *pool = zsm_pool(tmig_pool);
	unsigned int i, k;

	for (i = 0; i < tmig_nr_live; i++) {
		const struct zsm_tu_obj *o = &tmig_objs[i];
		struct zsm_class *class;
		struct zsm_zspage *zspage;

		class = pool->class_of[zsm_size_to_slot(o->size)];
		spin_lock(&class->lock);
		zspage = zsm_obj_zspage(READ_ONCE(*(unsigned long *)o->handle));
		for (k = 0; k < zspage->nr_pages; k++)
			fn(zsm_zspage_page(zspage, k), arg);
		spin_unlock(&class->lock);
		if (!(i & 255))
			cond_resched();
	}
}

static inline unsigned long tmig_block_of(struct page *page)
{
	return page_to_pfn(page) / (block_bytes >> PAGE_SHIFT);
}

struct tmig_block_check {
	unsigned long block;
	unsigned long hits;
	unsigned long first_pfn;
};

static void tmig_block_check_page(struct page *page, void *arg)
{
	struct tmig_block_check *c = arg;

	if (tmig_block_of(page) != c->block)
		return;
	if (!c->hits++)
		c->first_pfn = page_to_pfn(page);
}

static int tmig_check_block(unsigned long block)
{
	struct tmig_block_check c = { .block = block };

	if (block_bytes < PAGE_SIZE)
		return -EINVAL;
	tmig_walk(tmig_block_check_page, &c);
	if (c.hits) {
		pr_err("check_block: %lu zspage page references in block %lu (pfn %lx)\n",
		       c.hits, block, c.first_pfn);
		return -EIO;
	}
	pr_info("check_block: no zspage page in block %lu\n", block);
	return 0;
}

/* Bytes the live objects occupy in their classes. */
static unsigned long tmig_live_bytes(void)
{
	unsigned long bytes = 0;
	unsigned int i;

	for (i = 0; i < tmig_nr_live; i++) {
		unsigned int ci = zs_lookup_class_index(tmig_pool,
							tmig_objs[i].size);

		bytes += zsm_classes.geom[ci].size;
	}
	return bytes;
}

/* Pages the live objects need at their class geometry, packed. */
/*
 * Pages of the pool's zspages: what zs_compact() frees, what NR_ZSPAGES
 * counts and what tmig_ideal_pages() estimates; zs_get_total_pages() adds
 * the metadata.
 */
static unsigned long tmig_obj_pages(void)
{
	return atomic_long_read(&zsm_pool(tmig_pool)->pages_total);
}

static unsigned long tmig_ideal_pages(void)
{
	unsigned long *count, pages = 0;
	unsigned int i;

	count = kcalloc(ZSM_NR_CLASSES, sizeof(*count), GFP_KERNEL);
	if (!count)
		return 0;
	for (i = 0; i < tmig_nr_live; i++)
		count[zs_lookup_class_index(tmig_pool, tmig_objs[i].size)]++;
	for (i = 0; i < ZSM_NR_CLASSES; i++) {
		const struct zsm_geom *g = &zsm_classes.geom[i];

		/*
		 * Full zspages, then the pages the last partly used one
		 * reaches into (zspages are populated lazily).
		 */
		pages += count[i] / g->objs * g->pages +
			 DIV_ROUND_UP(count[i] % g->objs * g->size, PAGE_SIZE);
	}
	kfree(count);
	return pages;
}

static int tmig_compact(const char *prefix)
{
	unsigned long before, after, ideal, freed, delta, pct100;
	struct zs_pool_stats s0, s1;
	int err = 0;

	/*
	 * zs_compact() gives back the zspages zs_free() emptied that still
	 * wait for the worker, without counting them: let the worker have
	 * them first, so that the pool shrinks by what compaction frees.
	 */
	zsm_tu_released(tmig_pool);
	zs_pool_stats(tmig_pool, &s0);
	before = tmig_obj_pages();
	freed = zs_compact(tmig_pool);
	after = tmig_obj_pages();
	zs_pool_stats(tmig_pool, &s1);
	delta = atomic_long_read(&s1.pages_compacted) -
		atomic_long_read(&s0.pages_compacted);
	ideal = tmig_ideal_pages();
	if (!ideal)
		return -ENOMEM;
	pct100 = after > ideal ? (after - ideal) * 10000 / ideal : 0;

	pr_info("zsm-metric %s.pages_freed=%lu\n", prefix, freed);
	pr_info("zsm-metric %s.pages_compacted_delta=%lu\n", prefix, delta);
	pr_info("zsm-metric %s.pool_pages_before=%lu\n", prefix, before);
	pr_info("zsm-metric %s.pool_pages_after=%lu\n", prefix, after);
	pr_info("zsm-metric %s.ideal_pages=%lu\n", prefix, ideal);
	pr_info("zsm-metric %s.total_pages_after=%lu\n", prefix,
		zs_get_total_pages(tmig_pool));
	pr_info("zsm-metric %s.overhead_pct=%lu.%02lu\n", prefix,
		pct100 / 100, pct100 % 100);

	if (freed != delta) {
		pr_err("compact: zs_compact() returned %lu, pages_compacted grew by %lu\n",
		       freed, delta);
		err = -EIO;
	}
	if (before - after != freed) {
		pr_err("compact: zs_compact() returned %lu, the pool shrank by %lu pages\n",
		       freed, before - after);
		err = -EIO;
	}
	if (!freed) {
		pr_err("compact: nothing freed after freeing half the objects\n");
		err = -EIO;
	}
	/*
	 * Lazily populated zspages can beat the packed figure by a partial
	 * page per zspage, never the bytes the objects hold.
	 */
	if (after < tmig_live_bytes() / PAGE_SIZE) {
		pr_err("compact: %lu pages hold %lu bytes of objects\n",
		       after, tmig_live_bytes());
		err = -EIO;
	}
	if (pct100 > TMIG_OVERHEAD_MAX_PCT * 100) {
		pr_err("compact: %lu pages for %lu needed: more than %u%% over\n",
		       after, ideal, TMIG_OVERHEAD_MAX_PCT);
		err = -EIO;
	}
	return err;
}

static int tmig_destroy(void)
{
	unsigned long pages;
	bool ok = true;

	while (tmig_nr_live) {
		ok &= tmig_free(tmig_nr_live - 1, "destroy");
		if (!(tmig_nr_live & 255))
			cond_resched();
	}
	/* zs_free() leaves the zspages it empties to the pool's worker. */
	zsm_tu_released(tmig_pool);
	pages = zs_get_total_pages(tmig_pool);
	zs_destroy_pool(tmig_pool);
	tmig_pool = NULL;
	vfree(tmig_objs);
	tmig_objs = NULL;
	if (pages) {
		pr_err("destroy: %lu pool pages left with no object\n", pages);
		ok = false;
	}
	return ok ? 0 : -EIO;
}

/* Run one command line; tmig_lock held. */
static int tmig_command(char *line)
{
	char *cmd = strsep(&line, " ");
	char *arg = line ? strim(line) : NULL;
	unsigned long n;

	if (tmig_churn && strcmp(cmd, "churn_stop"))
		return -EBUSY;
	if (tmig_nr_mappers && strcmp(cmd, "mappers_stop"))
		return -EBUSY;
	if (!strcmp(cmd, "fill"))
		return tmig_fill();
	if (!tmig_pool)
		return -ENOENT;
	if (!strcmp(cmd, "free_half"))
		return tmig_free_half();
	if (!strcmp(cmd, "churn_start"))
		return tmig_churn_begin();
	if (!strcmp(cmd, "churn_stop")) {
		if (!tmig_churn)
			return -EINVAL;
		tmig_churn_end(arg && *arg ? arg : "churn");
		return tmig_failed() ? -EIO : 0;
	}
	if (!strcmp(cmd, "mappers_start"))
		return tmig_mappers_begin();
	if (!strcmp(cmd, "mappers_stop")) {
		if (!tmig_nr_mappers)
			return -EINVAL;
		tmig_mappers_end(arg && *arg ? arg : "mappers");
		return tmig_failed() ? -EIO : 0;
	}
	if (!strcmp(cmd, "destroy"))
		return tmig_destroy();
	if (!arg || !*arg)
		return -EINVAL;
	if (!strcmp(cmd, "verify"))
		return tmig_verify(arg);
	if (!strcmp(cmd, "compact")) {
		int err = tmig_compact(arg);

		return tmig_verify(arg) ?: err;
	}
	if (!strcmp(cmd, "check_block")) {
		if (kstrtoul(arg, 0, &n))
			return -EINVAL;
		return tmig_check_block(n);
	}
	return -EINVAL;
}

static ssize_t tmig_ctl_write(struct file *file, const char __user *ubuf,
			      size_t len, loff_t *ppos)
{
	char *line;
	int err;

	if (len >= 128)
		return -EINVAL;
	line = memdup_user_nul(ubuf, len);
	if (IS_ERR(line))
		return PTR_ERR(line);
	mutex_lock(&tmig_lock);
	err = tmig_command(strim(line));
	mutex_unlock(&tmig_lock);
	kfree(line);
	return err ? err : len;
}

static const struct file_operations tmig_ctl_fops = {
	.owner = THIS_MODULE,
	.write = tmig_ctl_write,
	.llseek = noop_llseek,
};

/* === Read-only files ===================================================== */

struct tmig_block_hist {
	unsigned long *pages;
	unsigned long nr;
};

static void tmig_block_count_page(struct page *page, void *arg)
{
	struct tmig_block_hist *h = arg;
	unsigned long b = tmig_block_of(page);

	if (!h->pages)
		h->nr = max(h->nr, b + 1);	/* first pass: sizing */
	else if (b < h->nr)
		h->pages[b]++;
}

/*
 * "blocks": memory block and the number of zspage page references in it,
 * one line per block holding any. A page is counted once per live object
 * of its zspage: a ranking, not a page count.
 */
static int tmig_blocks_show(struct seq_file *s, void *unused)
{
	struct tmig_block_hist h = { };
	unsigned long b;
	int err = 0;

	mutex_lock(&tmig_lock);
	if (!tmig_pool || tmig_churn || tmig_nr_mappers ||
	    block_bytes < PAGE_SIZE) {
		err = -EINVAL;
		goto out;
	}
	tmig_walk(tmig_block_count_page, &h);
	h.pages = kvcalloc(h.nr ?: 1, sizeof(*h.pages), GFP_KERNEL);
	if (!h.pages) {
		err = -ENOMEM;
		goto out;
	}
	tmig_walk(tmig_block_count_page, &h);
	for (b = 0; b < h.nr; b++) {
		if (h.pages[b])
			seq_printf(s, "%lu %lu\n", b, h.pages[b]);
	}
	kvfree(h.pages);
out:
	mutex_unlock(&tmig_lock);
	return err;
}
DEFINE_SHOW_ATTRIBUTE(tmig_blocks);

static int tmig_stats_show(struct seq_file *s, void *unused)
{
	struct zs_pool_stats st;

	mutex_lock(&tmig_lock);
	seq_printf(s, "pages_migrated %ld\n",
		   atomic_long_read(&zsm_pages_migrated));
	seq_printf(s, "migrate_sync_busy %ld\n",
		   atomic_long_read(&zsm_migrate_sync_busy));
	seq_printf(s, "pages_held %ld\n", atomic_long_read(&zsm_pages_held));
	seq_printf(s, "corrupt %ld\n", atomic_long_read(&tmig_corrupt));
	seq_printf(s, "errors %ld\n", atomic_long_read(&tmig_errors));
	if (tmig_pool) {
		zs_pool_stats(tmig_pool, &st);
		seq_printf(s, "pool_pages %lu\n", tmig_obj_pages());
		seq_printf(s, "total_pages %lu\n",
			   zs_get_total_pages(tmig_pool));
		seq_printf(s, "pages_compacted %ld\n",
			   atomic_long_read(&st.pages_compacted));
		if (!tmig_churn && !tmig_nr_mappers) {
			seq_printf(s, "live_objects %u\n", tmig_nr_live);
			seq_printf(s, "ideal_pages %lu\n", tmig_ideal_pages());
		}
	}
	mutex_unlock(&tmig_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(tmig_stats);

/* Polled by guest/progs/zsm_memhog.c while it makes memory pressure. */
static int tmig_pages_compacted_show(struct seq_file *s, void *unused)
{
	struct zs_pool_stats st = { };

	mutex_lock(&tmig_lock);
	if (tmig_pool)
		zs_pool_stats(tmig_pool, &st);
	mutex_unlock(&tmig_lock);
	seq_printf(s, "%ld\n", atomic_long_read(&st.pages_compacted));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(tmig_pages_compacted);

/* Maps made by the mappers since mappers_start; no lock: read while they run. */
static int tmig_maps_show(struct seq_file *s, void *unused)
{
	seq_printf(s, "%ld\n", atomic_long_read(&tmig_maps));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(tmig_maps);

/* === Module ============================================================== */

static int __init tmig_init(void)
{
	if (!nr_objs || !min_size || min_size > max_size ||
	    max_size > PAGE_SIZE) {
		pr_err("bad parameters: nr_objs %u, sizes %u..%u\n", nr_objs,
		       min_size, max_size);
		return -EINVAL;
	}
	prandom_seed_state(&tmig_rnd, seed);
	tmig_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("ctl", 0200, tmig_dir, NULL, &tmig_ctl_fops);
	debugfs_create_file("blocks", 0444, tmig_dir, NULL, &tmig_blocks_fops);
	debugfs_create_file("stats", 0444, tmig_dir, NULL, &tmig_stats_fops);
	debugfs_create_file("pages_compacted", 0444, tmig_dir, NULL,
			    &tmig_pages_compacted_fops);
	debugfs_create_file("maps", 0444, tmig_dir, NULL, &tmig_maps_fops);
	return 0;
}

static void __exit tmig_exit(void)
{
	debugfs_remove_recursive(tmig_dir);
	mutex_lock(&tmig_lock);
	if (tmig_churn)
		tmig_churn_end("exit");
	if (tmig_nr_mappers)
		tmig_mappers_end("exit");
	if (tmig_pool)
		tmig_destroy();
	mutex_unlock(&tmig_lock);
}

module_init(tmig_init);
module_exit(tmig_exit);

MODULE_DESCRIPTION("zsm integration test: migration, memory offline, compaction and shrinker");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(ZSM_KUNIT_NS);
