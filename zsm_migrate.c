// SPDX-License-Identifier: GPL-2.0
/*
 * zsm: moving objects and pages.
 *
 * Compaction moves objects from the emptiest zspages of a class into the
 * fullest, so that the emptied zspages can be freed. It runs per class with
 * the class lock held, and write-locks the source zspage while it empties
 * it, so that no mapper sees an object half moved: a mapper either holds
 * the read lock first (compaction waits) or finds the handle word already
 * pointing at the new place (see zsm_obj_lock_read()).
 *
 *   before:  A [x.........]  B [xxxxxxx...]  C [xxxxxxxxx.]
 *   after:   A (freed)       B [xxxxxxxx..]  C [xxxxxxxxxx]
 *            (A is the emptiest source; C, then B, the fullest targets)
 *
 * The pool shrinker runs compaction under memory pressure.
 *
 * Page migration (core mm compaction, memory offlining, CMA) moves single
 * pages. Every page of every zspage is registered with zsm_mops. Handles
 * name a zspage descriptor and a slot, not a page, so moving a page only
 * copies it and swaps the descriptor's pages[i]:
 *
 *   isolate_page(P)    page lock held: P's zspage is alive; nothing to do
 *                      but say yes (a dying zspage says no).
 *   migrate_page(N, P) page locks of N and P held; class->lock excludes
 *                      compaction and allocation bookkeeping, the zspage
 *                      write lock waits out mappers; copy P to N, swap
 *                      pages[i], register N, release our reference to P.
 *   putback_page(P)    nothing was changed at isolation: nothing to undo.
 *
 * Freeing races: a zspage is released only with every page lock held
 * (trylock under class->lock, else deferred to a worker that sleeps on the
 * locks), so a page is never freed while migrate_page() runs on it. A page
 * isolated but not locked can be released: __ClearPageMovable() tells core
 * mm, which then drops its own reference and never calls us for it again.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/highmem.h>
#include <linux/migrate.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/shrinker.h>
#include <linux/vmstat.h>
#include <linux/bitops.h>
#include <kunit/visibility.h>

#include "zsm_internal.h"

/* === Page migration ====================================================== */

/* Pages moved by zsm_migrate_page(), all pools; for tests and debugfs. */
atomic_long_t zsm_pages_migrated;
EXPORT_SYMBOL_IF_KUNIT(zsm_pages_migrated);

static bool zsm_isolate_page(struct page *page, isolate_mode_t mode)
{
	struct zsm_zspage *zspage = (struct zsm_zspage *)page_private(page);

	/* The page lock keeps the descriptor alive (see __zsm_zspage_free). */
	return zspage && !READ_ONCE(zspage->dead);
}

static int zsm_migrate_page(struct page *dst, struct page *src,
			    enum migrate_mode mode)
{
	struct zsm_zspage *zspage = (struct zsm_zspage *)page_private(src);
	struct zsm_class *class = zspage->class;
	unsigned int i = src->index;

	spin_lock(&class->lock);
	/*
	 * A dead zspage's pages[] must not change: its deferred free reads
	 * pages[i] and sleeps on that page's lock, which would be a freed
	 * page if we swapped it. Refuse; it is freed soon, and core mm
	 * drops a page that stopped being movable.
	 */
	if (zspage->dead) {
		spin_unlock(&class->lock);
		return -EAGAIN;
	}
	/* Mapped right now: let core mm retry later. */
	if (!zsm_zspage_write_trylock(zspage)) {
		spin_unlock(&class->lock);
		return -EAGAIN;
	}
	if (WARN_ON_ONCE(zspage->pages[i] != src)) {
		zsm_zspage_write_unlock(zspage);
		spin_unlock(&class->lock);
		return -EINVAL;
	}
	copy_highpage(dst, src);
	set_page_private(dst, (unsigned long)zspage);
	dst->index = i;
	zsm_page_set_movable(dst, &zsm_mops);
	WRITE_ONCE(zspage->pages[i], dst);
	zsm_zspage_write_unlock(zspage);
	spin_unlock(&class->lock);

	/* dst is ours now; core mm drops its own reference to it. */
	get_page(dst);
	if (page_zone(dst) != page_zone(src)) {
		dec_zone_page_state(src, NR_ZSPAGES);
		inc_zone_page_state(dst, NR_ZSPAGES);
	}
	zsm_page_clear_movable_ops(src);
	set_page_private(src, 0);
	src->index = 0;
	put_page(src);
	atomic_long_inc(&zsm_pages_migrated);
	return MIGRATEPAGE_SUCCESS;
}

static void zsm_putback_page(struct page *page)
{
}

const struct movable_operations zsm_mops = {
	.isolate_page = zsm_isolate_page,
	.migrate_page = zsm_migrate_page,
	.putback_page = zsm_putback_page,
};
EXPORT_SYMBOL_IF_KUNIT(zsm_mops);

/**
 * zsm_page_gfp() - flags for a zspage's object pages.
 * @gfp: the zs_malloc() caller's flags (__GFP_MOVABLE and __GFP_HIGHMEM are
 *	honoured: zsm pages can move and need no permanent kernel mapping).
 *
 * Return: the flags to allocate object pages with.
 */
gfp_t zsm_page_gfp(gfp_t gfp)
{
	return gfp;
}

/**
 * zsm_page_make_movable() - register a new zspage page with migration.
 * @page: a page nobody else references yet, about to join a zspage.
 *
 * Also accounts the page in the zone's NR_ZSPAGES (/proc/vmstat
 * nr_zspages), as zsmalloc does.
 */
void zsm_page_make_movable(struct page *page)
{
	inc_zone_page_state(page, NR_ZSPAGES);
	/* A fresh page: no one else can hold its lock. */
	if (WARN_ON_ONCE(!trylock_page(page)))
		return;
	zsm_page_set_movable(page, &zsm_mops);
	unlock_page(page);
}

/**
 * zsm_page_clear_movable() - unregister a page leaving the pool.
 * @page: a locked zspage page.
 */
void zsm_page_clear_movable(struct page *page)
{
	dec_zone_page_state(page, NR_ZSPAGES);
	if (zsm_page_movable_ops(page))
		zsm_page_clear_movable_ops(page);
}

/* === Compaction ========================================================== */

/* Mapped source zspages compaction steps over before leaving a class. */
#define ZSM_COMPACT_BUSY_TRIES	8

/* The emptiest zspage with objects, or NULL. */
static struct zsm_zspage *__zsm_zspage_emptiest(struct zsm_class *class)
{
	unsigned long mask = class->fg_mask & (BIT(ZSM_FG_FULL) - 1) &
			     ~BIT(ZSM_FG_EMPTY);

	if (!mask)
		return NULL;
	return list_first_entry(&class->fg_list[__ffs(mask)],
				struct zsm_zspage, list);
}

/* The fullest zspage with a free slot, other than @not, or NULL. */
static struct zsm_zspage *__zsm_zspage_target(struct zsm_class *class,
					      struct zsm_zspage *not)
{
	unsigned long mask = class->fg_mask & (BIT(ZSM_FG_FULL) - 1);
	struct zsm_zspage *zspage;

	while (mask) {
		unsigned int fg = __fls(mask);

		list_for_each_entry(zspage, &class->fg_list[fg], list) {
			if (zspage != not)
				return zspage;
		}
		mask &= ~BIT(fg);
	}
	return NULL;
}

/* Free slots of @class outside @zspage. */
static unsigned long __zsm_free_slots_besides(struct zsm_class *class,
					      struct zsm_zspage *zspage)
{
	unsigned long slots = class->nr_zspages * class->geom.objs;

	return slots - class->objs_inuse - (class->geom.objs - zspage->inuse);
}

static bool zsm_should_yield(struct zsm_class *class)
{
	return need_resched() || spin_is_contended(&class->lock);
}

/* Pages compaction adds to target zspages: never sleeps, never warns. */
#define ZSM_COMPACT_GFP	(GFP_NOWAIT | __GFP_NOWARN | __GFP_HIGHMEM | \
			 __GFP_MOVABLE)

/*
 * Make @dst's first free slot usable: add the page it reaches into, if
 * missing. Return: false if that page could not be had (without sleeping).
 */
static bool __zsm_target_ready(struct zsm_class *class, struct zsm_zspage *dst,
			       unsigned long *added)
{
	while (__zsm_pages_missing(class, dst)) {
		struct page *page = zsm_page_alloc(ZSM_COMPACT_GFP);

		if (!page)
			return false;
		__zsm_zspage_add_page(class, dst, page);
		(*added)++;
	}
	return true;
}

/*
 * Move every object of @src, write-locked by the caller, to other zspages of
 * its class, and write-unlock @src. Pages added to targets on the way are
 * counted in @added. Return: true if @src was emptied (and is off every
 * list), false if we stopped early to give up the CPU or for want of a page.
 *
 * Context: class->lock held (throughout); @src write-locked on entry,
 * unlocked on return.
 */
static bool __zsm_zspage_drain(struct zsm_class *class, struct zsm_zspage *src,
			       unsigned long *added)
	__must_hold(&class->lock) __releases(&src->lock)
{
	unsigned long *slots = zsm_zspage_slots(src);
	unsigned int size = class->geom.size;
	unsigned int i;

	for (i = 0; i < class->geom.objs; i++) {
		unsigned long *hp = (unsigned long *)slots[i];
		struct zsm_zspage *dst;

		if (slots[i] & ZSM_SLOT_FREE_TAG)
			continue;
		dst = __zsm_zspage_target(class, src);
		if (WARN_ON_ONCE(!dst) || !__zsm_target_ready(class, dst, added))
			break;
		zsm_obj_copy(dst, dst->free_head, src, i, size);
		/* Mappers of this object wait on src->lock, then re-read *hp. */
		__zsm_slot_move(class, dst, hp);
		if (__zsm_slot_release(class, src, i)) {
			zsm_zspage_write_unlock(src);
			return true;
		}
		if (zsm_should_yield(class))
			break;
	}
	zsm_zspage_write_unlock(src);
	return false;
}

static unsigned long zsm_class_compact(struct zsm_pool *pool,
				       struct zsm_class *class)
{
	unsigned long freed = 0, added = 0;
	unsigned int busy = 0;
	struct zsm_zspage *src;

	if (class->geom.objs == 1)
		return 0;

	spin_lock(&class->lock);
	while (!READ_ONCE(pool->destroying)) {
		src = __zsm_zspage_emptiest(class);
		/* Stop when the emptiest zspage cannot be emptied elsewhere. */
		if (!src || __zsm_free_slots_besides(class, src) < src->inuse)
			break;
		if (!zsm_zspage_write_trylock(src)) {
			/* Mapped: try the next one, a bounded number of times. */
			if (++busy > ZSM_COMPACT_BUSY_TRIES)
				break;
			list_move_tail(&src->list, &class->fg_list[src->fg]);
			continue;
		}
		if (__zsm_zspage_drain(class, src, &added)) {
			freed += src->nr_pages;
			__zsm_zspage_free(pool, src);
		} else if (!zsm_should_yield(class)) {
			break;	/* no page for a target */
		}
		if (zsm_should_yield(class)) {
			spin_unlock(&class->lock);
			cond_resched();
			spin_lock(&class->lock);
		}
	}
	spin_unlock(&class->lock);
	/* Net: a moved object can open a page in its target. */
	return freed > added ? freed - added : 0;
}

/**
 * zs_compact() - free zspages by moving objects together.
 * @zpool: the pool.
 *
 * One compaction runs per pool at a time; a call made while another runs
 * returns 0 at once. Gives up the CPU and the class lock when contended.
 *
 * Context: Process context; may sleep.
 * Return: pages freed by this call; also added to pages_compacted.
 */
unsigned long zs_compact(struct zs_pool *zpool)
{
	struct zsm_pool *pool = zsm_pool(zpool);
	unsigned long freed = 0;
	unsigned int i;

	if (!mutex_trylock(&pool->compact_lock))
		return 0;
	for (i = ZSM_NR_CLASSES; i-- > 0;) {
		if (pool->classes[i])
			freed += zsm_class_compact(pool, pool->classes[i]);
		cond_resched();
	}
	atomic_long_add(freed, &pool->stats.pages_compacted);
	mutex_unlock(&pool->compact_lock);
	return freed;
}
EXPORT_SYMBOL_GPL(zs_compact);

/**
 * zsm_class_freeable_pages() - pages compaction could free in a class now.
 * @class: the class; read without its lock, so an estimate.
 *
 * Return: 0 when the live objects need every zspage; otherwise the pages
 * present less the pages the live objects fill when packed.
 */
unsigned long zsm_class_freeable_pages(struct zsm_class *class)
{
	unsigned long zspages = READ_ONCE(class->nr_zspages);
	unsigned long inuse = READ_ONCE(class->objs_inuse);
	unsigned long pages = READ_ONCE(class->nr_pages);
	unsigned long need;

	if (class->geom.objs == 1 ||
	    zspages <= DIV_ROUND_UP(inuse, class->geom.objs))
		return 0;
	need = DIV_ROUND_UP(inuse * class->geom.size, PAGE_SIZE);
	return pages > need ? pages - need : 0;
}

/* === Shrinker ============================================================ */

static unsigned long zsm_shrinker_count(struct shrinker *shrinker,
					struct shrink_control *sc)
{
	struct zsm_pool *pool = zsm_shrinker_owner(shrinker);
	unsigned long pages = 0;
	unsigned int i;

	for (i = 0; i < ZSM_NR_CLASSES; i++) {
		if (pool->classes[i])
			pages += zsm_class_freeable_pages(pool->classes[i]);
	}
	return pages;
}

static unsigned long zsm_shrinker_scan(struct shrinker *shrinker,
				       struct shrink_control *sc)
{
	struct zsm_pool *pool = zsm_shrinker_owner(shrinker);
	unsigned long freed = zs_compact(zs_pool_of(pool));

	return freed ? freed : SHRINK_STOP;
}

/**
 * zsm_pool_shrinker_init() - register the pool's shrinker.
 * @pool: the new pool.
 *
 * Return: 0 or -ENOMEM.
 */
int zsm_pool_shrinker_init(struct zsm_pool *pool)
{
	pool->shrinker = zsm_shrinker_create(pool, zsm_shrinker_count,
					     zsm_shrinker_scan, pool->name);
	return pool->shrinker ? 0 : -ENOMEM;
}

/**
 * zsm_pool_shrinker_exit() - unregister the pool's shrinker.
 * @pool: the pool being destroyed.
 */
void zsm_pool_shrinker_exit(struct zsm_pool *pool)
{
	zsm_shrinker_destroy(pool->shrinker);
}
