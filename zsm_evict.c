// SPDX-License-Identifier: GPL-2.0
/*
 * zsm: page-granular eviction.
 *
 * Freeing one object rarely frees a page: its zspage still holds others.
 * An owner that must shrink its pool (write objects back to a backing
 * device) is better served by emptying whole zspages: zs_evict_pages()
 * picks the zspage least recently allocated into, asks the owner's handler
 * to write back and free each of its objects, and frees the zspage's pages.
 *
 * Each class keeps its zspages in allocation order (class->lru, moved to
 * the head by every allocation into the zspage, with a jiffies stamp); the
 * coldest zspage of the pool is the coldest of the class LRU tails. No
 * pool-wide list or lock is touched on the allocation path.
 *
 * While a zspage is evicted it is "evicting": off its class's fullness and
 * LRU lists, so no allocation or compaction uses it; zs_free() of its
 * objects works as usual but never frees it; page migration still may move
 * its pages. The handler is called for each object still live when its
 * turn comes, and that object is pinned until the handler returns: a
 * zs_free() of it meanwhile (the handler's own, or the owner's elsewhere)
 * is carried out then, so the handler can map it first and look it up in
 * its own tables afterwards, as zswap does. The first failure ends the
 * zspage's eviction (writing its other objects back would free nothing).
 * Afterwards the evictor frees the zspage if empty, or, if a handler
 * failed, files it back at the hot end of its LRU, as if just allocated
 * into: the evictor goes on with the next coldest, and a failed zspage is
 * tried again only after every other one. (A handler's failure tends to
 * last: zswap's -EEXIST, the page is in the swap cache, holds until that
 * page leaves it. Filed back at the cold end, the same few failing
 * zspages would be tried first by every call, and none behind them.)
 *
 *   coldest zspage [a b . c]  --handler(a), (b), (c)-->  [. . . .]  -> freed
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/sched.h>

#include "zsm_internal.h"

/*
 * The coldest zspage of @class if not yet tried in eviction round @gen.
 * One the round tried and could not empty was filed back at the hot end,
 * so a tried zspage is the coldest only when the round has tried them all.
 */
static struct zsm_zspage *__zsm_lru_untried(struct zsm_class *class,
					    unsigned int gen)
{
	struct zsm_zspage *z;

	lockdep_assert_held(&class->lock);
	if (list_empty(&class->lru))
		return NULL;
	z = list_last_entry(&class->lru, struct zsm_zspage, lru);
	return z->evict_gen != gen ? z : NULL;
}

/*
 * Find and claim the pool's coldest zspage not tried in round @gen: NULL if
 * there is none, ERR_PTR(-EAGAIN) if it changed under us.
 */
static struct zsm_zspage *zsm_evict_claim(struct zsm_pool *pool,
					  unsigned int gen)
{
	struct zsm_zspage *best = NULL;
	struct zsm_class *best_class = NULL;
	unsigned long best_time = 0;
	unsigned int i;

	for (i = 0; i < ZSM_NR_CLASSES; i++) {
		struct zsm_class *class = pool->classes[i];
		struct zsm_zspage *z;

		if (!class || list_empty(&class->lru))
			continue;
		spin_lock(&class->lock);
		z = __zsm_lru_untried(class, gen);
		/* Only the address is kept once the lock is dropped. */
		if (z && (!best || time_before(z->last_alloc, best_time))) {
			best = z;
			best_class = class;
			best_time = z->last_alloc;
		}
		spin_unlock(&class->lock);
	}
	if (!best)
		return NULL;

	/* Recheck under the lock: it may have been freed or claimed since. */
	spin_lock(&best_class->lock);
	if (__zsm_lru_untried(best_class, gen) != best) {
		spin_unlock(&best_class->lock);
		return ERR_PTR(-EAGAIN);
	}
	list_del_init(&best->lru);
	__zsm_fullness_del(best_class, best);
	best->evicting = 1;
	best->evict_gen = gen;
	spin_unlock(&best_class->lock);
	return best;
}

/*
 * The live object in slot @idx of evicting @zspage, pinned for the
 * handler (zs_free() of it is deferred until zsm_evict_unpin()), or 0 if
 * the slot is free: freed since the zspage was claimed, the handler is not
 * called for it.
 */
static unsigned long zsm_evict_pin(struct zsm_pool *pool,
				   struct zsm_zspage *zspage, unsigned int idx)
{
	struct zsm_class *class = zspage->class;
	unsigned long handle = 0;
	u32 ref;

	spin_lock(&class->lock);
	ref = zsm_zspage_slots(zspage)[idx];
	if (!(ref & ZSM_SLOT_FREE_TAG))
		handle = (unsigned long)__zsm_slot_handle(class, ref);
	WRITE_ONCE(pool->evict_pin, handle);
	spin_unlock(&class->lock);
	return handle;
}

/* The handler returned: free the pinned object now if it was freed. */
static void zsm_evict_unpin(struct zsm_pool *pool, struct zsm_zspage *zspage,
			    unsigned int idx)
{
	struct zsm_class *class = zspage->class;

	spin_lock(&class->lock);
	if (pool->evict_pin_freed) {
		pool->evict_pin_freed = false;
		__zsm_handle_put(class, (unsigned long *)pool->evict_pin);
		/* Never true: only zsm_evict_one() frees an evicting zspage. */
		__zsm_slot_release(class, zspage, idx);
	}
	WRITE_ONCE(pool->evict_pin, 0);
	spin_unlock(&class->lock);
}

/* Evict one claimed zspage. Return the pages freed (all or nothing). */
static unsigned long zsm_evict_one(struct zsm_pool *pool,
				   struct zsm_zspage *zspage)
{
	struct zsm_class *class = zspage->class;
	zs_evict_fn evict = READ_ONCE(pool->evict);
	unsigned int i, objs = class->geom.objs;
	unsigned long freed = 0, handle;

	for (i = 0; i < objs && evict; i++) {
		int err;

		handle = zsm_evict_pin(pool, zspage, i);
		if (!handle)
			continue;
		err = evict(zs_pool_of(pool), handle, pool->evict_priv);
		zsm_evict_unpin(pool, zspage, i);
		/* The zspage stays: writing back the rest would free nothing. */
		if (err)
			break;
		cond_resched();
	}

	spin_lock(&class->lock);
	zspage->evicting = 0;
	if (!zspage->inuse) {
		freed = zspage->nr_pages;
		__zsm_zspage_free(pool, zspage);
	} else {
		/*
		 * A handler failed: back, at the hot end of the LRU, as if just
		 * allocated into, so that every other zspage is tried first.
		 */
		__zsm_fullness_add(class, zspage,
				   zsm_fullness_of(zspage->inuse,
						   class->geom.objs));
		list_add(&zspage->lru, &class->lru);
		zspage->last_alloc = jiffies;
	}
	spin_unlock(&class->lock);
	return freed;
}

/**
 * zs_set_evict_handler() - set the pool's eviction handler.
 * @zpool: the pool.
 * @handler: called for each object of an evicted zspage; NULL disables
 *	eviction.
 * @priv: passed to @handler.
 *
 * Context: Process context, with no zs_evict_pages() running on the pool.
 */
void zs_set_evict_handler(struct zs_pool *zpool, zs_evict_fn handler,
			  void *priv)
{
	struct zsm_pool *pool = zsm_pool(zpool);

	mutex_lock(&pool->evict_lock);
	pool->evict_priv = priv;
	WRITE_ONCE(pool->evict, handler);
	mutex_unlock(&pool->evict_lock);
}
EXPORT_SYMBOL_GPL(zs_set_evict_handler);

/**
 * zs_evict_pages() - free page frames by evicting whole zspages.
 * @zpool: the pool.
 * @nr_pages: page frames wanted.
 *
 * Evicts zspages, coldest (least recently allocated into) first, until
 * @nr_pages page frames are freed or no zspage is left that this call has
 * not tried (each is tried at most once per call). A zspage whose handler
 * fails for some object keeps that object and the ones after it (they are
 * not offered), and is filed back as the most recently used of its class.
 *
 * Context: Process context; may sleep (the handler may). Calls are
 * serialised per pool.
 * Return: page frames freed, or a negative error (-EINVAL when no handler
 * is set).
 */
long zs_evict_pages(struct zs_pool *zpool, unsigned long nr_pages)
{
	struct zsm_pool *pool = zsm_pool(zpool);
	unsigned long freed = 0, tries;
	unsigned int gen;

	/* Lockless early test only; the handler is used under evict_lock. */
	if (!READ_ONCE(pool->evict))
		return -EINVAL;

	mutex_lock(&pool->evict_lock);
	/* Each zspage gets at most one try per call: a new round number. */
	gen = ++pool->evict_gen;
	tries = atomic_long_read(&pool->pages_total) + 1;
	while (freed < nr_pages && tries--) {
		struct zsm_zspage *zspage = zsm_evict_claim(pool, gen);

		if (IS_ERR(zspage))
			continue;
		if (!zspage)
			break;
		freed += zsm_evict_one(pool, zspage);
	}
	WRITE_ONCE(pool->pages_evicted, pool->pages_evicted + freed);
	mutex_unlock(&pool->evict_lock);
	return freed;
}
EXPORT_SYMBOL_GPL(zs_evict_pages);
