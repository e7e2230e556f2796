/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zsm: the helpers of zs_malloc() and zs_free(), inline.
 *
 * What every allocation and free runs through: the size-to-class lookup,
 * the handle check of zs_free(), taking and returning a handle word and a
 * slot, and the fullness lists they refile a zspage on. Kept here, inline,
 * so that zs_malloc() and zs_free() make no calls but the class lock and,
 * rarely, the page allocator; compaction and eviction use the same helpers.
 * Included at the end of zsm_internal.h, which defines what they work on.
 */
#ifndef _ZSM_HOT_H
#define _ZSM_HOT_H

#include <linux/jiffies.h>
#include <linux/mm.h>

/* === Size classes ======================================================== */

/**
 * zsm_size_to_slot() - class slot of an object size.
 * @size: object size in bytes, 1..PAGE_SIZE.
 *
 * Context: Any context.
 * Return: the slot index; the canonical class is zsm_classes.geom[slot].index.
 */
static inline unsigned int zsm_size_to_slot(size_t size)
{
	/* At most PAGE_SIZE (both callers bound it): unsigned int is enough. */
	unsigned int s = size;

	if (s <= ZSM_MIN_ALLOC)
		return 0;
	if (s <= ZSM_FINE_MAX)
		return DIV_ROUND_UP(s - ZSM_MIN_ALLOC, ZSM_FINE_DELTA);
	return ZSM_FINE_SLOTS + DIV_ROUND_UP(s - ZSM_FINE_MAX, ZSM_CLASS_DELTA);
}

/* === Fullness lists ====================================================== */

/* Take @zspage off its fullness list; its ready slots stop counting. */
static inline void __zsm_fullness_del(struct zsm_class *class,
				      struct zsm_zspage *zspage)
{
	lockdep_assert_held(&class->lock);
	class->ready_free -= __zsm_zspage_ready(class, zspage);
	list_del_init(&zspage->list);
	if (!--class->fullness_count[zspage->fullness])
		class->fullness_mask &= ~BIT(zspage->fullness);
}

/* File @zspage in fullness group @grp; its ready slots count. */
static inline void __zsm_fullness_add(struct zsm_class *class,
				      struct zsm_zspage *zspage,
				      unsigned int grp)
{
	lockdep_assert_held(&class->lock);
	class->ready_free += __zsm_zspage_ready(class, zspage);
	zspage->fullness = grp;
	list_add(&zspage->list, &class->fullness_list[grp]);
	class->fullness_count[grp]++;
	class->fullness_mask |= BIT(grp);
}

/**
 * __zsm_zspage_refile() - move a zspage to the fullness group of its inuse.
 * @class: owning class, locked.
 * @zspage: a zspage on one of @class's lists.
 *
 * Return: the new group; ZSM_FULLNESS_EMPTY means the zspage is off every list and
 * the caller must free it.
 */
static __always_inline unsigned int
__zsm_zspage_refile(struct zsm_class *class, struct zsm_zspage *zspage)
{
	unsigned int grp = zsm_fullness_of(zspage->inuse, class->geom.objs);

	lockdep_assert_held(&class->lock);
	/* An evicting zspage is on no list; its evictor refiles it. */
	if (grp == zspage->fullness || zspage->evicting)
		return grp;
	__zsm_fullness_del(class, zspage);
	if (grp == ZSM_FULLNESS_EMPTY) {
		zspage->fullness = ZSM_FULLNESS_EMPTY;
		return grp;
	}
	__zsm_fullness_add(class, zspage, grp);
	return grp;
}

/**
 * __zsm_zspage_pick() - the zspage the next object of a class goes into.
 * @class: the class, locked.
 * @not: a zspage not to pick (compaction's source), or NULL.
 * @ready_only: only a zspage that needs no new page (compaction, which
 *	never allocates).
 *
 * The fullest zspage whose first free slot lies in a present page; else,
 * unless @ready_only, the fullest zspage with a free slot at all (its
 * caller adds the page). Objects thus go where memory is already held
 * before any page is added: a page is allocated only when no zspage of the
 * class has a ready slot (class->ready_free is 0). The free list keeps the
 * ready slots first (__zsm_zspage_ready()), and only zspages being filled
 * for the first time are not ready, so the search is short.
 *
 * Return: the zspage, or NULL if there is none.
 */
static inline struct zsm_zspage *
__zsm_zspage_pick(struct zsm_class *class, struct zsm_zspage *not,
		  bool ready_only)
{
	unsigned long mask = class->fullness_mask & (BIT(ZSM_FULLNESS_FULL) - 1);
	struct zsm_zspage *zspage, *fullest = NULL;

	lockdep_assert_held(&class->lock);
	while (mask) {
		unsigned int grp = __fls(mask);

		list_for_each_entry(zspage, &class->fullness_list[grp], list) {
			if (zspage == not)
				continue;
			if (__zsm_zspage_ready(class, zspage))
				return zspage;
			if (!fullest)
				fullest = zspage;
			if (!class->ready_free && !ready_only)
				return fullest;
		}
		mask &= ~BIT(grp);
	}
	return ready_only ? NULL : fullest;
}

/* === Slots =============================================================== */

/* The slot word of an object whose handle word is @hp (an installed page's). */
static __always_inline u32 zsm_slot_ref(unsigned long *hp)
{
	u32 word = ((unsigned long)hp & (ZSM_HBLOCK_SIZE - 1)) /
		   sizeof(unsigned long);

	return (zsm_handle_block_of(hp)->id << ZSM_HWORD_BITS | word) << 1;
}

/* The handle word that @ref, the slot word of a live object of @class, names. */
static inline unsigned long *__zsm_slot_handle(const struct zsm_class *class,
					       u32 ref)
{
	lockdep_assert_held(&class->lock);
	ref >>= 1;
	return (unsigned long *)*__zsm_hdir_entry(class, ref >> ZSM_HWORD_BITS) +
	       (ref & (BIT(ZSM_HWORD_BITS) - 1));
}

/**
 * __zsm_slot_take() - place handle @hp's object in @zspage's first free slot.
 * @class: owning class, locked.
 * @zspage: a zspage with a free slot whose pages are present
 *	(__zsm_pages_missing() is 0).
 * @hp: the handle word; set to the new location.
 *
 * zs_malloc() uses it for a new object, compaction after copying an
 * object's bytes there.
 *
 * Return: the slot index taken.
 */
static __always_inline unsigned int
__zsm_slot_take(struct zsm_class *class, struct zsm_zspage *zspage,
		unsigned long *hp)
{
	u32 *slots = zsm_zspage_slots(zspage);
	unsigned int idx = zspage->free_head;

	lockdep_assert_held(&class->lock);
	zspage->free_head = slots[idx] >> 1;
	slots[idx] = zsm_slot_ref(hp);
	zspage->inuse++;
	class->objs_inuse++;
	if (likely(!zspage->evicting)) {
		class->ready_free--;
		list_move(&zspage->lru, &class->lru);
		zspage->last_alloc = jiffies;
	}
	__zsm_zspage_refile(class, zspage);
	/*
	 * Publish the location after the object's bytes (compaction copied
	 * them here first). Pairs with the smp_load_acquire() of the handle
	 * word in the map path (zsm_obj_lookup_read()), which reads no lock
	 * that this store is ordered by: a mapper that sees the new location
	 * goes straight to this zspage.
	 */
	smp_store_release(hp, zsm_obj_encode(zspage, idx));
	return idx;
}

/**
 * __zsm_slot_release() - free slot @idx of @zspage.
 * @class: owning class, locked.
 * @zspage: the zspage.
 * @idx: an allocated slot.
 *
 * Return: true if the zspage became empty; it is then off every list and
 * the caller must free it with __zsm_zspage_free().
 */
static __always_inline bool
__zsm_slot_release(struct zsm_class *class, struct zsm_zspage *zspage,
		   unsigned int idx)
{
	u32 *slots = zsm_zspage_slots(zspage);

	lockdep_assert_held(&class->lock);
	slots[idx] = (u32)zspage->free_head << 1 | ZSM_SLOT_FREE_TAG;
	zspage->free_head = idx;
	zspage->inuse--;
	class->objs_inuse--;
	if (likely(!zspage->evicting))
		class->ready_free++;
	/* Only its evictor frees an evicting zspage. */
	return __zsm_zspage_refile(class, zspage) == ZSM_FULLNESS_EMPTY &&
	       !zspage->evicting;
}

/* === Handle words ======================================================== */

/* Take a free handle word of @class, or NULL if its handle blocks are full. */
static __always_inline unsigned long *__zsm_handle_get(struct zsm_class *class)
{
	struct zsm_handle_block *h;
	unsigned long *hp;

	lockdep_assert_held(&class->lock);
	h = list_first_entry_or_null(&class->handle_blocks,
				     struct zsm_handle_block, list);
	if (!h)
		return NULL;
	hp = h->free;
	h->free = zsm_handle_next_free(hp, *hp);
	h->inuse++;
	if (!h->free)
		list_move(&h->list, &class->handle_blocks_full);
	return hp;
}

/* Return handle word @hp to its page; the page goes when it holds none. */
static __always_inline void __zsm_handle_put(struct zsm_class *class,
					     unsigned long *hp)
{
	struct zsm_handle_block *h = zsm_handle_block_of(hp);

	lockdep_assert_held(&class->lock);
	if (!h->free)
		list_move(&h->list, &class->handle_blocks);
	*hp = zsm_handle_free_link(hp, h->free);
	h->free = hp;
	if (unlikely(--h->inuse == 0))
		__zsm_handle_block_drop(class, h);
}

/*
 * Check that @handle is a handle word of @pool, without trusting it: a word
 * of a valid page of the direct map, past the header of a block whose
 * header carries @pool's cookie, before the header's class is believed.
 * Returns the owning class or NULL. Used where a bad handle would do harm:
 * zs_free(). The map path's cheaper check is zsm_handle_mapcheck().
 */
static __always_inline struct zsm_class *
zsm_handle_class(struct zsm_pool *pool, unsigned long handle)
{
	const struct zsm_handle_block *h = zsm_handle_block_of((void *)handle);

	if (!zsm_handle_word_ok(handle) || !virt_addr_valid((void *)handle))
		return NULL;
	/* As in zsm_handle_mapcheck(); the block is in the handle's page. */
	if (READ_ONCE_NOCHECK(h->cookie) != zsm_handle_block_cookie(pool))
		return NULL;
	/* Pairs with the release of the cookie (zsm_handle_block_alloc()). */
	smp_rmb();
	return READ_ONCE_NOCHECK(h->class);
}

#endif /* _ZSM_HOT_H */
