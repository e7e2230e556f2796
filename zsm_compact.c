// SPDX-License-Identifier: GPL-2.0
/*
 * zsm: compaction and the pool shrinker.
 *
 * Compaction moves objects from the emptiest zspages of a class into the
 * fullest, so that the emptied zspages can be freed. It runs per class with
 * the class lock held, and write-locks the source zspage while it empties
 * it, so that no mapper sees an object half moved: a mapper either holds
 * the read lock first (compaction skips that zspage) or finds the handle
 * word already pointing at the new place (see zsm_obj_lock_read()).
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
 * __zsm_zspage_trim() - give back the pages at the end of @zspage that no
 * live object reaches into, and relink its free slots.
 * @class: owning class, locked.
 * @zspage: a zspage with objects, on a fullness list.
 *
 * A zspage holds the pages its objects reach into (struct zsm_zspage,
 * @nr_pages); objects moved out of its end leave pages that hold none.
 * They go from the last one down; a page whose lock is busy (core mm is
 * migrating it) stops the trim, and stays. The free slots are then
 * relinked as the free list must be (__zsm_zspage_ready()): the free slots
 * of the present pages first, the others after them in ascending order.
 * The slot words of free slots need only their free tag on entry.
 *
 * Return: pages freed.
 */
static unsigned int __zsm_zspage_trim(struct zsm_class *class,
				      struct zsm_zspage *zspage)
	__must_hold(&class->lock)
{
	u32 *slots = zsm_zspage_slots(zspage);
	unsigned int old = zspage->nr_pages, n = old, top, i, head;

	lockdep_assert_held(&class->lock);
	/* The last live slot (there is one: the zspage has objects). */
	for (top = class->slots_in[n]; top-- > 0;) {
		if (!(slots[top] & ZSM_SLOT_FREE_TAG))
			break;
	}
	while (n > zsm_slot_pages(class, top) &&
	       trylock_page(zsm_zspage_page(zspage, n - 1))) {
		n--;
		zsm_page_release(zsm_zspage_page(zspage, n));
		zsm_zspage_set_page(zspage, n, NULL);
	}
	if (n < old) {
		class->ready_free -= class->slots_in[old] - class->slots_in[n];
		zspage->nr_pages = n;
		class->nr_pages -= old - n;
		zsm_pool_pages_add(class->pool, -(long)(old - n));
		atomic_long_sub(old - n, &zsm_pages_held);
	}
	head = ZSM_SLOT_END;
	for (i = class->geom.objs; i-- > 0;) {
		if (i < class->slots_in[n] && !(slots[i] & ZSM_SLOT_FREE_TAG))
			continue;
		slots[i] = head << 1 | ZSM_SLOT_FREE_TAG;
		head = i;
	}
	zspage->free_head = head;
	return old - n;
}

/*
 * Would moving the objects of @zspage to its first slots free a page?
 * (Its objects, packed, reach fewer pages than it holds.)
 */
static bool __zsm_zspage_packable(struct zsm_class *class,
				  struct zsm_zspage *zspage)
{
	lockdep_assert_held(&class->lock);
	return zspage->inuse &&
	       zsm_slot_pages(class, zspage->inuse - 1) < zspage->nr_pages;
}

/*
 * Move the objects at the end of @src, write-locked by the caller, to its
 * own free slots nearest its start, the last object to the first free slot,
 * until every object lies in the pages its objects fill when packed: the
 * objects below that need not move, as moving them frees no page. The free
 * list is left stale: the caller relinks it (__zsm_zspage_trim()).
 */
static void __zsm_zspage_pack(struct zsm_class *class, struct zsm_zspage *src)
	__must_hold(&class->lock)
{
	u32 *slots = zsm_zspage_slots(src);
	unsigned int size = class->geom.size;
	unsigned int lo = 0, hi = class->slots_in[src->nr_pages];
	unsigned int need = zsm_slot_pages(class, src->inuse - 1);

	lockdep_assert_held(&class->lock);
	for (;;) {
		unsigned long *hp;

		while (lo < hi && !(slots[lo] & ZSM_SLOT_FREE_TAG))
			lo++;
		while (hi > lo && (slots[hi - 1] & ZSM_SLOT_FREE_TAG))
			hi--;
		if (hi <= lo + 1 || zsm_slot_pages(class, hi - 1) <= need)
			break;
		hi--;
		hp = __zsm_slot_handle(class, slots[hi]);
		zsm_obj_copy(src, lo, src, hi, size);
		slots[lo] = slots[hi];
		slots[hi] = ZSM_SLOT_FREE_TAG;
		/* As __zsm_slot_take(): the bytes before the location. */
		smp_store_release(hp, zsm_obj_encode(src, lo));
	}
}

/* How __zsm_zspage_drain() ended. */
enum zsm_drain {
	ZSM_DRAIN_EMPTIED,	/* @src is empty, off every list: free it */
	ZSM_DRAIN_NO_ROOM,	/* no free slot was left for its other objects */
	ZSM_DRAIN_YIELD,	/* stopped early to give up the CPU */
};

/*
 * Move the objects of @src, write-locked by the caller, into free slots of
 * present pages of other zspages of its class, the last object first, until
 * @src is empty or no such slot is left. When objects are left for lack of
 * room, those at its end move to its own free slots nearest its start if
 * that frees a page (__zsm_zspage_pack()). Then the pages at its end that
 * no object reaches any more are given back (*@freed); @src is
 * write-unlocked.
 *
 * Context: class->lock held (throughout); @src write-locked on entry,
 * unlocked on return.
 */
static enum zsm_drain __zsm_zspage_drain(struct zsm_class *class,
					 struct zsm_zspage *src,
					 unsigned int *freed)
	__must_hold(&class->lock) __releases(&src->lock)
{
	u32 *slots = zsm_zspage_slots(src);
	unsigned int size = class->geom.size;
	enum zsm_drain how = ZSM_DRAIN_NO_ROOM;
	unsigned int i;

	lockdep_assert_held(&class->lock);
	*freed = 0;
	for (i = class->slots_in[src->nr_pages]; i-- > 0;) {
		struct zsm_zspage *dst;

		if (slots[i] & ZSM_SLOT_FREE_TAG)
			continue;
		dst = __zsm_zspage_pick(class, src, true);
		if (!dst)
			break;
		zsm_obj_copy(dst, dst->free_head, src, i, size);
		/* Mappers of this object wait on src->lock, then re-read it. */
		__zsm_slot_take(class, dst, __zsm_slot_handle(class, slots[i]));
		if (__zsm_slot_release(class, src, i)) {
			zsm_zspage_write_unlock(src);
			return ZSM_DRAIN_EMPTIED;
		}
		if (zsm_should_yield(class)) {
			how = ZSM_DRAIN_YIELD;
			break;
		}
	}
	if (how == ZSM_DRAIN_NO_ROOM && __zsm_zspage_packable(class, src))
		__zsm_zspage_pack(class, src);
	*freed = __zsm_zspage_trim(class, src);
	zsm_zspage_write_unlock(src);
	return how;
}

/*
 * Compaction never allocates: objects move only into slots of pages the
 * class already holds, so it cannot grow the pool, cannot fail for want of
 * memory, and touches no reserve when it runs in reclaim (the shrinker).
 *
 * The emptiest zspage goes first. When the free slots of the other
 * zspages' present pages can take all of its objects, it is emptied and
 * freed, and the next emptiest one goes. Otherwise as many as fit move
 * there, the rest to its own first free slots, and the pages at its end
 * that this empties are given back; the class is then done.
 */
static unsigned long zsm_class_compact(struct zsm_pool *pool,
				       struct zsm_class *class)
{
	unsigned long freed = 0;
	unsigned int busy = 0, trimmed, other;
	struct zsm_zspage *src;
	enum zsm_drain how;

	if (class->geom.objs == 1)
		return 0;

	spin_lock(&class->lock);
	/* A hint: zs_destroy_pool()'s caller runs no zs_compact() beside it. */
	while (!READ_ONCE(pool->destroying)) {
		src = __zsm_zspage_emptiest(class);
		if (!src)
			break;
		/* Free slots for its objects in the other zspages. */
		other = class->ready_free - __zsm_zspage_ready(class, src);
		if (!other && !__zsm_zspage_packable(class, src))
			break;
		if (!zsm_zspage_write_trylock(src)) {
			/* Mapped: try the next one, a bounded number of times. */
			if (++busy > ZSM_COMPACT_BUSY_TRIES)
				break;
			list_move_tail(&src->list,
				       &class->fullness_list[src->fullness]);
			continue;
		}
		how = __zsm_zspage_drain(class, src, &trimmed);
		if (how == ZSM_DRAIN_EMPTIED) {
			freed += src->nr_pages;
			__zsm_zspage_free(pool, src);
		}
		freed += trimmed;
		if (how == ZSM_DRAIN_NO_ROOM)
			break;
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
 * First gives back the zspages zs_free() emptied that still wait for the
 * pool's worker (those whose page locks are free; not counted as freed).
 *
 * Context: Process context; may sleep.
 * Return: pages freed by this call; also added to pages_compacted.
 */
unsigned long zs_compact(struct zs_pool *zpool)
{
	struct zsm_pool *pool = zsm_pool(zpool);
	unsigned long freed = 0;
	unsigned int i;

	zsm_release_pending(pool, false);
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
