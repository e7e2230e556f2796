// SPDX-License-Identifier: GPL-2.0
/*
 * zsm: compaction and the pool shrinker.
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
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/shrinker.h>
#include <linux/bitops.h>

#include "zsm_internal.h"

/* === Compaction ========================================================== */

/* Mapped source zspages compaction steps over before leaving a class. */
#define ZSM_COMPACT_BUSY_TRIES	8

/* The emptiest zspage with objects, or NULL. */
static struct zsm_zspage *__zsm_zspage_emptiest(struct zsm_class *class)
{
	unsigned long mask;

	lockdep_assert_held(&class->lock);
	mask = class->fullness_mask & (BIT(ZSM_FULLNESS_FULL) - 1) &
	       ~BIT(ZSM_FULLNESS_EMPTY);
	if (!mask)
		return NULL;
	return list_first_entry(&class->fullness_list[__ffs(mask)],
				struct zsm_zspage, list);
}

static bool zsm_should_yield(struct zsm_class *class)
{
	return need_resched() || spin_is_contended(&class->lock);
}

/*
 * Move every object of @src, write-locked by the caller, into free slots of
 * present pages of other zspages of its class, and write-unlock @src. The
 * caller checked that there are enough such slots (class->ready_free less
 * @src's own). Return: true if @src was emptied (and is off every list),
 * false if we stopped early to give up the CPU.
 *
 * Context: class->lock held (throughout); @src write-locked on entry,
 * unlocked on return.
 */
static bool __zsm_zspage_drain(struct zsm_class *class, struct zsm_zspage *src)
	__must_hold(&class->lock) __releases(&src->lock)
{
	unsigned long *slots = zsm_zspage_slots(src);
	unsigned int size = class->geom.size;
	unsigned int i;

	lockdep_assert_held(&class->lock);
	for (i = 0; i < class->geom.objs; i++) {
		unsigned long *hp = (unsigned long *)slots[i];
		struct zsm_zspage *dst;

		if (slots[i] & ZSM_SLOT_FREE_TAG)
			continue;
		dst = __zsm_zspage_pick(class, src, true);
		/* The room check before the drain makes this impossible. */
		if (WARN_ON_ONCE(!dst))
			break;
		zsm_obj_copy(dst, dst->free_head, src, i, size);
		/* Mappers of this object wait on src->lock, then re-read *hp. */
		__zsm_slot_take(class, dst, hp);
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

/*
 * Compaction never allocates: objects move only into slots of pages the
 * class already holds, so it cannot grow the pool, cannot fail for want of
 * memory, and touches no reserve when it runs in reclaim (the shrinker).
 */
static unsigned long zsm_class_compact(struct zsm_pool *pool,
				       struct zsm_class *class)
{
	unsigned long freed = 0;
	unsigned int busy = 0;
	struct zsm_zspage *src;

	if (class->geom.objs == 1)
		return 0;

	spin_lock(&class->lock);
	while (!READ_ONCE(pool->destroying)) {
		src = __zsm_zspage_emptiest(class);
		/* Stop when the emptiest zspage cannot be emptied elsewhere. */
		if (!src || class->ready_free - __zsm_zspage_ready(class, src) <
			    src->inuse)
			break;
		if (!zsm_zspage_write_trylock(src)) {
			/* Mapped: try the next one, a bounded number of times. */
			if (++busy > ZSM_COMPACT_BUSY_TRIES)
				break;
			list_move_tail(&src->list,
				       &class->fullness_list[src->fullness]);
			continue;
		}
		if (__zsm_zspage_drain(class, src)) {
			freed += src->nr_pages;
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
	unsigned long zspages, inuse, pages, need;

	/*
	 * Racy on purpose: the counters change under class->lock, which the
	 * shrinker's count does not take; a stale value only mis-sizes one
	 * scan.
	 */
	zspages = data_race(class->nr_zspages);
	/* Racy on purpose, as above. */
	inuse = data_race(class->objs_inuse);
	/* Racy on purpose, as above. */
	pages = data_race(class->nr_pages);

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
