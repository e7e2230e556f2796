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
 * Page migration of zspage pages is not implemented yet: zspage pages are
 * allocated without __GFP_MOVABLE so that they never sit in ZONE_MOVABLE
 * or a movable pageblock while they cannot move.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/shrinker.h>
#include <linux/bitops.h>

#include "zsm_internal.h"

/* === Page mobility ======================================================= */

/**
 * zsm_page_gfp() - flags for a zspage's object pages.
 * @gfp: the zs_malloc() caller's flags.
 *
 * Return: @gfp without __GFP_MOVABLE, while zsm pages cannot migrate.
 */
gfp_t zsm_page_gfp(gfp_t gfp)
{
	return gfp & ~__GFP_MOVABLE;
}

/**
 * zsm_zspage_set_movable() - register a new zspage's pages with migration.
 * @zspage: a zspage whose pages nobody else references yet.
 *
 * No page is registered while migration is not implemented.
 */
void zsm_zspage_set_movable(struct zsm_zspage *zspage)
{
}

/**
 * zsm_page_clear_movable() - unregister a page leaving the pool.
 * @page: a locked zspage page.
 */
void zsm_page_clear_movable(struct page *page)
{
}

/* === Compaction ========================================================== */

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

/*
 * Move every object of @src to other zspages of its class.
 * Return: true if @src was emptied (and is off every list), false if we
 * stopped early to give up the CPU.
 */
static bool __zsm_zspage_drain(struct zsm_class *class, struct zsm_zspage *src)
{
	unsigned long *slots = zsm_zspage_slots(src);
	unsigned int size = class->geom.size;
	unsigned int i;

	write_lock_bh(&src->lock);
	for (i = 0; i < class->geom.objs; i++) {
		unsigned long *hp = (unsigned long *)slots[i];
		struct zsm_zspage *dst;

		if (slots[i] & ZSM_SLOT_FREE_TAG)
			continue;
		dst = __zsm_zspage_target(class, src);
		if (WARN_ON_ONCE(!dst))
			break;
		zsm_obj_copy(dst, dst->free_head, src, i, size);
		/* Mappers of this object wait on src->lock, then re-read *hp. */
		__zsm_slot_move(class, dst, hp);
		if (__zsm_slot_release(class, src, i)) {
			write_unlock_bh(&src->lock);
			return true;
		}
		if (zsm_should_yield(class))
			break;
	}
	write_unlock_bh(&src->lock);
	return false;
}

static unsigned long zsm_class_compact(struct zs_pool *pool,
				       struct zsm_class *class)
{
	unsigned long freed = 0;
	struct zsm_zspage *src;

	if (class->geom.objs == 1)
		return 0;

	spin_lock(&class->lock);
	while (!READ_ONCE(pool->destroying)) {
		src = __zsm_zspage_emptiest(class);
		/* Stop when the emptiest zspage cannot be emptied elsewhere. */
		if (!src || __zsm_free_slots_besides(class, src) < src->inuse)
			break;
		if (__zsm_zspage_drain(class, src)) {
			freed += class->geom.pages;
			__zsm_zspage_free(pool, src);
		}
		if (zsm_should_yield(class)) {
			spin_unlock(&class->lock);
			cond_resched();
			spin_lock(&class->lock);
		}
	}
	spin_unlock(&class->lock);
	return freed;
}

/**
 * zs_compact() - free zspages by moving objects together.
 * @pool: the pool.
 *
 * One compaction runs per pool at a time; a call made while another runs
 * returns 0 at once. Gives up the CPU and the class lock when contended.
 *
 * Context: Process context; may sleep.
 * Return: pages freed by this call; also added to pages_compacted.
 */
unsigned long zs_compact(struct zs_pool *pool)
{
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
 * Return: (zspages - zspages the live objects need) * pages per zspage.
 */
unsigned long zsm_class_freeable_pages(struct zsm_class *class)
{
	unsigned long zspages = READ_ONCE(class->nr_zspages);
	unsigned long need = DIV_ROUND_UP(READ_ONCE(class->objs_inuse),
					  class->geom.objs);

	if (class->geom.objs == 1 || zspages <= need)
		return 0;
	return (zspages - need) * class->geom.pages;
}

/* === Shrinker ============================================================ */

static unsigned long zsm_shrinker_count(struct shrinker *shrinker,
					struct shrink_control *sc)
{
	struct zs_pool *pool = shrinker->private_data;
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
	struct zs_pool *pool = shrinker->private_data;
	unsigned long freed = zs_compact(pool);

	return freed ? freed : SHRINK_STOP;
}

/**
 * zsm_pool_shrinker_init() - register the pool's shrinker.
 * @pool: the new pool.
 *
 * Return: 0 or -ENOMEM.
 */
int zsm_pool_shrinker_init(struct zs_pool *pool)
{
	pool->shrinker = shrinker_alloc(0, "zsm-%s", pool->name);
	if (!pool->shrinker)
		return -ENOMEM;
	pool->shrinker->count_objects = zsm_shrinker_count;
	pool->shrinker->scan_objects = zsm_shrinker_scan;
	pool->shrinker->private_data = pool;
	shrinker_register(pool->shrinker);
	return 0;
}

/**
 * zsm_pool_shrinker_exit() - unregister the pool's shrinker.
 * @pool: the pool being destroyed.
 */
void zsm_pool_shrinker_exit(struct zs_pool *pool)
{
	shrinker_free(pool->shrinker);
}
