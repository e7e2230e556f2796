// SPDX-License-Identifier: GPL-2.0
/*
 * zsm: a memory allocator for many small objects (compressed pages).
 *
 * zsm provides the API of the kernel's zsmalloc (<linux/zsmalloc.h>) so that
 * zram and zswap run on it. Objects of 1..PAGE_SIZE bytes are packed into
 * zspages, chains of order-0 pages, by size class (zsm_class.c); an object
 * may straddle two pages of its chain and is then mapped through a per-CPU
 * area (zsm_map.c). Pages are movable and pools compact (zsm_migrate.c).
 *
 * Data layout
 *
 *   handle --> [handle word] --(zspage descriptor address, slot)--+
 *                  ^                                              |
 *                  |         zspage descriptor (slab)  <----------+
 *                  |         | pages[] | slots[]: handle or free link |
 *                  +-------------------------'
 *
 * The descriptor, not the pages, holds the free list and the reverse map
 * (slot -> handle): zs_malloc() and zs_free() never touch object memory.
 *
 * Lock ordering (outermost first):
 *
 *   page lock (core mm, migration only)
 *     -> zs_pool.compact_lock (mutex, one zs_compact() at a time)
 *       -> zsm_class.lock (spinlock; per class: lists, counters, slots,
 *                          handle words and handle pages of the class)
 *         -> zsm_zspage.lock (rwlock; read: mappers; write: compaction,
 *                              migration; writers disable BH)
 *         -> zs_pool.deferred_lock (spinlock)
 *
 * Page locks are also taken under zsm_class.lock, against the order above,
 * but only with trylock_page(), never waited for: when a zspage is freed
 * (all its pages, else the free is deferred to a worker that sleeps on
 * them with no zsm lock held) and when a fresh page joins a zspage
 * (zsm_page_make_movable(); nobody else can hold its lock).
 *
 * Mappers take only zsm_zspage.lock (read), from any context but hard IRQ,
 * and find the zspage under RCU (descriptors are freed with kfree_rcu()).
 * No lock is pool-wide on the malloc, free or map paths.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/highmem.h>
#include <linux/pagemap.h>
#include <linux/bitops.h>
#include <linux/delay.h>
#include <linux/string.h>
#include <kunit/visibility.h>

#include "zsm_internal.h"

/* === Data ================================================================ */

static unsigned int chain_size = ZSM_CHAIN_DEFAULT;
module_param(chain_size, uint, 0444);
MODULE_PARM_DESC(chain_size,
		 "Longest zspage chain in pages, 4..16 (default 8)");

/* Pages held from the page allocator by all pools; atomic. */
atomic_long_t zsm_pages_held;
EXPORT_SYMBOL_IF_KUNIT(zsm_pages_held);

/* === Internals: handle pages ============================================= */

static inline struct zsm_hpage *zsm_hpage_of(unsigned long *hp)
{
	return (struct zsm_hpage *)((unsigned long)hp & PAGE_MASK);
}

static void zsm_hpage_init(struct zsm_class *class, struct page *page)
{
	struct zsm_hpage *h = page_address(page);
	unsigned long *words = (unsigned long *)(h + 1);
	unsigned int i;

	set_page_private(page, (unsigned long)class);
	page->index = zsm_hpage_cookie(class->pool);
	h->cookie = page->index;
	for (i = 0; i < ZSM_HANDLES_PER_PAGE - 1; i++)
		words[i] = (unsigned long)&words[i + 1] | ZSM_HANDLE_FREE;
	words[i] = ZSM_HANDLE_FREE;
	h->free = words;
	h->inuse = 0;
}

/* Install a fresh handle page. */
static void __zsm_hpage_add(struct zsm_class *class, struct page *page)
{
	struct zsm_hpage *h = page_address(page);

	lockdep_assert_held(&class->lock);
	list_add(&h->list, &class->hpages);
	class->nr_hpages++;
}

static unsigned long *__zsm_handle_get(struct zsm_class *class)
{
	struct zsm_hpage *h;
	unsigned long *hp;

	lockdep_assert_held(&class->lock);
	h = list_first_entry_or_null(&class->hpages, struct zsm_hpage, list);
	if (!h)
		return NULL;
	hp = h->free;
	h->free = (unsigned long *)(*hp & ~ZSM_HANDLE_FREE);
	h->inuse++;
	if (!h->free)
		list_move(&h->list, &class->hpage_full);
	return hp;
}

static void zsm_hpage_release(struct page *page)
{
	struct zsm_hpage *h = page_address(page);

	WRITE_ONCE(h->cookie, 0);
	set_page_private(page, 0);
	page->index = 0;
	__free_page(page);
	atomic_long_dec(&zsm_pages_held);
}

static void __zsm_handle_put(struct zsm_class *class, unsigned long *hp)
{
	struct zsm_hpage *h = zsm_hpage_of(hp);

	lockdep_assert_held(&class->lock);
	if (!h->free)
		list_move(&h->list, &class->hpages);
	*hp = (unsigned long)h->free | ZSM_HANDLE_FREE;
	h->free = hp;
	if (--h->inuse == 0) {
		list_del(&h->list);
		class->nr_hpages--;
		zsm_hpage_release(virt_to_page(h));
	}
}

/*
 * Check that @handle is a handle word of @pool, without trusting it: its
 * struct page must carry @pool's cookie before page->private is believed.
 * Returns the owning class or NULL. Used where a bad handle would do harm:
 * zs_free().
 */
static struct zsm_class *zsm_handle_class(struct zsm_pool *pool,
					  unsigned long handle)
{
	struct page *page;

	if (!IS_ALIGNED(handle, sizeof(unsigned long)) ||
	    offset_in_page(handle) < sizeof(struct zsm_hpage) ||
	    !virt_addr_valid((void *)handle))
		return NULL;
	page = virt_to_page((void *)handle);
	if (READ_ONCE(page->index) != zsm_hpage_cookie(pool))
		return NULL;
	return (struct zsm_class *)page_private(page);
}

/* === Internals: zspages ================================================== */

/* Take @zspage off its fullness list; class->lock held. */
void __zsm_fg_del(struct zsm_class *class, struct zsm_zspage *zspage)
{
	list_del_init(&zspage->list);
	if (!--class->fg_count[zspage->fg])
		class->fg_mask &= ~BIT(zspage->fg);
}

/* File @zspage in fullness group @fg; class->lock held. */
void __zsm_fg_add(struct zsm_class *class, struct zsm_zspage *zspage,
		  unsigned int fg)
{
	zspage->fg = fg;
	list_add(&zspage->list, &class->fg_list[fg]);
	class->fg_count[fg]++;
	class->fg_mask |= BIT(fg);
}

/**
 * __zsm_zspage_refile() - move a zspage to the fullness group of its inuse.
 * @class: owning class, locked.
 * @zspage: a zspage on one of @class's lists.
 *
 * Return: the new group; ZSM_FG_EMPTY means the zspage is off every list and
 * the caller must free it.
 */
unsigned int __zsm_zspage_refile(struct zsm_class *class,
				 struct zsm_zspage *zspage)
{
	unsigned int fg = zsm_fg_of(zspage->inuse, class->geom.objs);

	lockdep_assert_held(&class->lock);
	/* An evicting zspage is on no list; its evictor refiles it. */
	if (fg == zspage->fg || zspage->evicting)
		return fg;
	__zsm_fg_del(class, zspage);
	if (fg == ZSM_FG_EMPTY) {
		zspage->fg = ZSM_FG_EMPTY;
		return fg;
	}
	__zsm_fg_add(class, zspage, fg);
	return fg;
}

/* The fullest zspage that still has a free slot, or NULL. */
struct zsm_zspage *__zsm_zspage_fullest(struct zsm_class *class)
{
	unsigned long mask = class->fg_mask & (BIT(ZSM_FG_FULL) - 1);

	lockdep_assert_held(&class->lock);
	if (!mask)
		return NULL;
	return list_first_entry(&class->fg_list[__fls(mask)],
				struct zsm_zspage, list);
}

static inline gfp_t zsm_meta_gfp(gfp_t gfp)
{
	return gfp & ~(__GFP_HIGHMEM | __GFP_MOVABLE);
}

/**
 * zsm_page_alloc() - allocate one object page.
 * @gfp: zs_malloc()'s flags (see zsm_page_gfp()).
 *
 * The page counts in zsm_pages_held from here until zsm_page_unused() or
 * the release of its zspage.
 *
 * Return: the page or NULL.
 */
struct page *zsm_page_alloc(gfp_t gfp)
{
	struct page *page = alloc_page(zsm_page_gfp(gfp));

	if (page)
		atomic_long_inc(&zsm_pages_held);
	return page;
}

/**
 * zsm_page_unused() - give back a page from zsm_page_alloc() never added.
 * @page: the page.
 */
void zsm_page_unused(struct page *page)
{
	__free_page(page);
	atomic_long_dec(&zsm_pages_held);
}

/**
 * __zsm_zspage_add_page() - add the next page of a zspage's chain.
 * @class: owning class, locked.
 * @zspage: a zspage with fewer than class->geom.pages pages present.
 * @page: a page from zsm_page_alloc().
 *
 * The page is registered movable before it is published in @zspage->pages;
 * mappers only look at pages of live objects, and no object lives in it
 * until the caller places one, under @class->lock.
 */
void __zsm_zspage_add_page(struct zsm_class *class, struct zsm_zspage *zspage,
			   struct page *page)
{
	unsigned int i = zspage->nr_pages;

	lockdep_assert_held(&class->lock);
	set_page_private(page, (unsigned long)zspage);
	page->index = i;
	zsm_page_make_movable(page);
	WRITE_ONCE(zspage->pages[i], page);
	zspage->nr_pages = i + 1;
	class->nr_pages++;
	atomic_long_inc(&class->pool->pages_total);
}

/*
 * A new zspage with only its first page (enough for slot 0); the rest of
 * the chain is added as objects reach into it (see struct zsm_zspage).
 * Installed by the caller under the class lock, with
 * __zsm_zspage_add_page() for @first.
 */
static struct zsm_zspage *zsm_zspage_alloc(struct zsm_class *class,
					   gfp_t gfp)
{
	const struct zsm_geom *g = &class->geom;
	struct zsm_zspage *zspage;
	unsigned long *slots;
	unsigned int i;

	zspage = kmalloc(struct_size(zspage, pages, g->pages) +
			 g->objs * sizeof(unsigned long), zsm_meta_gfp(gfp));
	if (!zspage)
		return NULL;

	INIT_LIST_HEAD(&zspage->list);
	zspage->class = class;
	rwlock_init(&zspage->lock);
	zspage->inuse = 0;
	zspage->free_head = 0;
	zspage->fg = ZSM_FG_EMPTY;
	zspage->dead = 0;
	zspage->evicting = 0;
	zspage->evict_gen = 0;
	zspage->nr_pages = 0;
	INIT_LIST_HEAD(&zspage->lru);
	zspage->last_alloc = jiffies;
	memset(zspage->pages, 0, g->pages * sizeof(zspage->pages[0]));

	slots = zsm_zspage_slots(zspage);
	for (i = 0; i < g->objs - 1; i++)
		slots[i] = (unsigned long)(i + 1) << 1 | ZSM_SLOT_FREE_TAG;
	slots[i] = (unsigned long)ZSM_SLOT_END << 1 | ZSM_SLOT_FREE_TAG;
	return zspage;
}

static void zsm_zspage_release(struct zsm_pool *pool, struct zsm_zspage *zspage)
{
	unsigned int i, n = zspage->nr_pages;

	for (i = 0; i < n; i++) {
		struct page *page = zspage->pages[i];

		zsm_page_clear_movable(page);
		set_page_private(page, 0);
		page->index = 0;
		unlock_page(page);
		put_page(page);
	}
	atomic_long_sub(n, &pool->pages_total);
	atomic_long_sub(n, &zsm_pages_held);
	kfree_rcu(zspage, rcu);
}

/* Lock every page of @zspage without sleeping; all or nothing. */
static bool zsm_zspage_trylock_pages(struct zsm_zspage *zspage)
{
	unsigned int i;

	for (i = 0; i < zspage->nr_pages; i++) {
		if (!trylock_page(zspage->pages[i])) {
			while (i--)
				unlock_page(zspage->pages[i]);
			return false;
		}
	}
	return true;
}

static void zsm_deferred_free_work(struct work_struct *work)
{
	struct zsm_pool *pool = container_of(work, struct zsm_pool, free_work);
	struct zsm_zspage *zspage;

	for (;;) {
		unsigned int i;

		spin_lock(&pool->deferred_lock);
		zspage = list_first_entry_or_null(&pool->deferred_free,
						  struct zsm_zspage, deferred);
		if (zspage)
			list_del(&zspage->deferred);
		spin_unlock(&pool->deferred_lock);
		if (!zspage)
			break;
		/*
		 * The zspage is dead: no object, no list, and migration no
		 * longer swaps its pages (zsm_migrate_page() refuses a dead
		 * zspage), so pages[i] stays ours while we sleep on its lock;
		 * a migration that was in flight when it died finished its
		 * swap under class->lock before the zspage was marked dead.
		 * The re-check after the lock is a second guard.
		 */
		for (i = 0; i < zspage->nr_pages; i++) {
			struct page *page;

			for (;;) {
				page = READ_ONCE(zspage->pages[i]);
				lock_page(page);
				if (page == READ_ONCE(zspage->pages[i]))
					break;
				unlock_page(page);
			}
		}
		zsm_zspage_release(pool, zspage);
	}
}

/**
 * __zsm_zspage_free() - return an empty, unlisted zspage to the system.
 * @pool: owning pool.
 * @zspage: zspage with no object, already off its class's lists.
 *
 * Pages are released with their page lock held so that migration of any of
 * them is either finished or not yet started. If a page lock is busy (page
 * being migrated), the free is deferred to process context.
 *
 * Context: class->lock held; does not sleep.
 */
void __zsm_zspage_free(struct zsm_pool *pool, struct zsm_zspage *zspage)
{
	struct zsm_class *class = zspage->class;

	lockdep_assert_held(&class->lock);
	WRITE_ONCE(zspage->dead, 1);
	list_del_init(&zspage->lru);
	class->nr_zspages--;
	class->nr_pages -= zspage->nr_pages;
	if (zsm_zspage_trylock_pages(zspage)) {
		zsm_zspage_release(pool, zspage);
		return;
	}
	spin_lock(&pool->deferred_lock);
	list_add_tail(&zspage->deferred, &pool->deferred_free);
	spin_unlock(&pool->deferred_lock);
	schedule_work(&pool->free_work);
}

/*
 * After a failed allocation: free the handle pages with no handle and the
 * zspages with no object that earlier rounds of it installed.
 */
static void __zsm_class_trim(struct zsm_pool *pool, struct zsm_class *class)
{
	struct zsm_zspage *zspage, *ztmp;
	struct zsm_hpage *h, *tmp;

	lockdep_assert_held(&class->lock);
	list_for_each_entry_safe(h, tmp, &class->hpages, list) {
		if (h->inuse)
			continue;
		list_del(&h->list);
		class->nr_hpages--;
		zsm_hpage_release(virt_to_page(h));
	}
	list_for_each_entry_safe(zspage, ztmp, &class->fg_list[ZSM_FG_EMPTY],
				 list) {
		__zsm_fg_del(class, zspage);
		__zsm_zspage_free(pool, zspage);
	}
}

/* Take a free slot of @zspage for handle @hp. */
static unsigned int __zsm_slot_take(struct zsm_class *class,
				    struct zsm_zspage *zspage,
				    unsigned long *hp)
{
	unsigned long *slots = zsm_zspage_slots(zspage);
	unsigned int idx = zspage->free_head;

	lockdep_assert_held(&class->lock);
	zspage->free_head = slots[idx] >> 1;
	slots[idx] = (unsigned long)hp;
	zspage->inuse++;
	class->objs_inuse++;
	__zsm_zspage_refile(class, zspage);
	if (likely(!zspage->evicting)) {
		list_move(&zspage->lru, &class->lru);
		zspage->last_alloc = jiffies;
	}
	*hp = zsm_obj_encode(zspage, idx);
	return idx;
}

/**
 * __zsm_slot_move() - point handle @hp at a free slot of @dst.
 * @class: owning class, locked.
 * @dst: destination zspage with a free slot.
 * @hp: the handle; its object is in a slot the caller releases.
 *
 * Used by compaction after copying the object's bytes.
 *
 * Return: the slot index taken in @dst.
 */
unsigned int __zsm_slot_move(struct zsm_class *class, struct zsm_zspage *dst,
			     unsigned long *hp)
{
	return __zsm_slot_take(class, dst, hp);
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
bool __zsm_slot_release(struct zsm_class *class, struct zsm_zspage *zspage,
			unsigned int idx)
{
	unsigned long *slots = zsm_zspage_slots(zspage);

	lockdep_assert_held(&class->lock);
	slots[idx] = (unsigned long)zspage->free_head << 1 | ZSM_SLOT_FREE_TAG;
	zspage->free_head = idx;
	zspage->inuse--;
	class->objs_inuse--;
	/* Only its evictor frees an evicting zspage. */
	return __zsm_zspage_refile(class, zspage) == ZSM_FG_EMPTY &&
	       !zspage->evicting;
}

/* === Public interface ==================================================== */

/**
 * zs_create_pool() - create a pool of objects.
 * @name: name of the pool, used for debugfs and the shrinker; copied.
 *
 * Context: Process context; may sleep.
 * Return: the new pool, or NULL when @name is NULL or memory is short.
 */
struct zs_pool *zs_create_pool(const char *name)
{
	struct zsm_pool *pool;
	unsigned int i;

	if (!name) {
		pr_warn("%s: NULL name\n", __func__);
		return NULL;
	}
	pool = kzalloc(sizeof(*pool), GFP_KERNEL);
	if (!pool)
		return NULL;
	pool->name = kstrndup(name, ZSM_POOL_NAME_MAX, GFP_KERNEL);
	if (!pool->name)
		goto err_pool;
	spin_lock_init(&pool->deferred_lock);
	INIT_LIST_HEAD(&pool->deferred_free);
	INIT_WORK(&pool->free_work, zsm_deferred_free_work);
	mutex_init(&pool->compact_lock);
	mutex_init(&pool->evict_lock);

	for (i = ZSM_NR_CLASSES; i-- > 0;) {
		const struct zsm_geom *g = &zsm_classes.geom[i];
		struct zsm_class *class;
		unsigned int fg;

		if (g->index != i) {
			pool->class_of[i] = pool->classes[g->index];
			continue;
		}
		class = kzalloc(sizeof(*class), GFP_KERNEL);
		if (!class)
			goto err_classes;
		spin_lock_init(&class->lock);
		class->pool = pool;
		class->geom = *g;
		class->index = i;
		for (fg = 0; fg < ZSM_NR_FG; fg++)
			INIT_LIST_HEAD(&class->fg_list[fg]);
		INIT_LIST_HEAD(&class->hpages);
		INIT_LIST_HEAD(&class->hpage_full);
		INIT_LIST_HEAD(&class->lru);
		pool->classes[i] = class;
		pool->class_of[i] = class;
	}

	if (zsm_pool_shrinker_init(pool))
		goto err_classes;
	zsm_pool_debugfs_add(pool);
	/* Pools pin the module: see zsm_exit(). */
	__module_get(THIS_MODULE);
	return zs_pool_of(pool);

err_classes:
	for (i = 0; i < ZSM_NR_CLASSES; i++)
		kfree(pool->classes[i]);
	kfree(pool->name);
err_pool:
	kfree(pool);
	return NULL;
}
EXPORT_SYMBOL_GPL(zs_create_pool);

/* Release every zspage and handle page of @class (pool destruction). */
static unsigned long zsm_class_drain(struct zsm_pool *pool,
				     struct zsm_class *class)
{
	struct zsm_zspage *zspage, *tmp;
	struct zsm_hpage *h, *htmp;
	unsigned long live;
	unsigned int fg;

	spin_lock(&class->lock);
	live = class->objs_inuse;
	for (fg = 0; fg < ZSM_NR_FG; fg++) {
		list_for_each_entry_safe(zspage, tmp, &class->fg_list[fg], list) {
			__zsm_fg_del(class, zspage);
			class->objs_inuse -= zspage->inuse;
			zspage->inuse = 0;
			__zsm_zspage_free(pool, zspage);
		}
	}
	list_splice_init(&class->hpage_full, &class->hpages);
	list_for_each_entry_safe(h, htmp, &class->hpages, list) {
		list_del(&h->list);
		class->nr_hpages--;
		zsm_hpage_release(virt_to_page(h));
	}
	spin_unlock(&class->lock);
	return live;
}

/*
 * An object of @pool still mapped when zs_destroy_pool() is called (by a
 * task on another CPU) is a caller bug: warn once and wait for its unmap,
 * which must not find its pages freed. Compaction and migration write-lock
 * a zspage only under its class lock, so a zspage that cannot be
 * write-locked here is mapped.
 */
static void zsm_pool_wait_unmapped(struct zsm_pool *pool)
{
	struct zsm_zspage *zspage;
	unsigned int i, fg;
	bool mapped;

	for (i = 0; i < ZSM_NR_CLASSES; i++) {
		struct zsm_class *class = pool->classes[i];

		if (!class)
			continue;
		do {
			mapped = false;
			spin_lock(&class->lock);
			for (fg = 0; fg < ZSM_NR_FG && !mapped; fg++) {
				list_for_each_entry(zspage, &class->fg_list[fg],
						    list) {
					mapped = zsm_zspage_busy(zspage);
					if (mapped)
						break;
				}
			}
			spin_unlock(&class->lock);
			if (mapped) {
				WARN_ONCE(1, "zsm: pool %s destroyed with an object mapped: waiting for the unmap\n",
					  pool->name);
				usleep_range(1000, 2000);
			}
		} while (mapped);
	}
}

/**
 * zs_destroy_pool() - destroy a pool and return all its memory.
 * @zpool: pool from zs_create_pool(); NULL is ignored.
 *
 * Objects still allocated are a caller bug: they are warned about once and
 * their pages returned all the same. So is an object still mapped (by
 * another CPU) when this is called: warned about once, and its unmap is
 * waited for before any page is freed. Maps begun after this call are not
 * allowed.
 *
 * Context: Process context; may sleep.
 */
void zs_destroy_pool(struct zs_pool *zpool)
{
	struct zsm_pool *pool = zsm_pool(zpool);
	unsigned long live = 0;
	unsigned int i;

	if (!pool)
		return;
	zsm_pool_shrinker_exit(pool);
	zsm_pool_debugfs_remove(pool);
	WRITE_ONCE(pool->destroying, true);
	zsm_pool_wait_unmapped(pool);

	for (i = 0; i < ZSM_NR_CLASSES; i++) {
		if (pool->classes[i])
			live += zsm_class_drain(pool, pool->classes[i]);
	}
	WARN_ONCE(live, "zsm: pool %s destroyed with %lu live objects\n",
		  pool->name, live);

	flush_work(&pool->free_work);
	/* Descriptors go through RCU; their memory must outlive the wait. */
	rcu_barrier();
	for (i = 0; i < ZSM_NR_CLASSES; i++)
		kfree(pool->classes[i]);
	kfree(pool->name);
	kfree(pool);
	module_put(THIS_MODULE);
}
EXPORT_SYMBOL_GPL(zs_destroy_pool);

/**
 * zs_malloc() - allocate an object.
 * @zpool: pool to allocate from.
 * @size: object size in bytes, 1..PAGE_SIZE.
 * @gfp: allocation flags for any new memory. Without __GFP_DIRECT_RECLAIM
 *	zs_malloc() does not sleep.
 *
 * Context: Process or atomic context, depending on @gfp.
 * Return: an opaque handle, or an error value tested with IS_ERR_VALUE():
 * -EINVAL for @size 0, -ENOSPC for @size above PAGE_SIZE, -ENOMEM when
 * memory could not be had.
 */
unsigned long zs_malloc(struct zs_pool *zpool, size_t size, gfp_t gfp)
{
	struct zsm_pool *pool = zsm_pool(zpool);
	struct zsm_zspage *zspage, *fresh = NULL;
	struct page *spare[2] = { NULL, NULL };
	unsigned int nspare = 0, need_p;
	struct page *hpage = NULL;
	struct zsm_class *class;
	bool need_h, need_z;
	unsigned long *hp;

	if (unlikely(!size))
		return (unsigned long)ERR_PTR(-EINVAL);
	if (unlikely(size > ZSM_MAX_ALLOC))
		return (unsigned long)ERR_PTR(-ENOSPC);

	class = pool->class_of[zsm_size_to_slot(size)];
	for (;;) {
		spin_lock(&class->lock);
		if (hpage) {
			__zsm_hpage_add(class, hpage);
			hpage = NULL;
		}
		if (fresh) {
			/* A fresh zspage is used at once: never left empty. */
			class->nr_zspages++;
			__zsm_fg_add(class, fresh, ZSM_FG_EMPTY);
			zspage = fresh;
			fresh = NULL;
		} else {
			zspage = __zsm_zspage_fullest(class);
		}
		hp = NULL;
		need_p = zspage ? __zsm_pages_missing(class, zspage) : 1;
		if (zspage && need_p <= nspare)
			hp = __zsm_handle_get(class);
		if (likely(hp))
			break;
		need_h = list_empty(&class->hpages);
		need_z = !zspage;
		spin_unlock(&class->lock);

		/* Slow path: get what was missing without the lock, retry. */
		if (need_h) {
			hpage = alloc_page(zsm_meta_gfp(gfp));
			if (!hpage)
				goto nomem;
			atomic_long_inc(&zsm_pages_held);
			zsm_hpage_init(class, hpage);
		}
		if (need_z) {
			fresh = zsm_zspage_alloc(class, gfp);
			if (!fresh)
				goto nomem;
		}
		while (nspare < need_p && nspare < ARRAY_SIZE(spare)) {
			spare[nspare] = zsm_page_alloc(gfp);
			if (!spare[nspare])
				goto nomem;
			nspare++;
		}
	}
	while (__zsm_pages_missing(class, zspage))
		__zsm_zspage_add_page(class, zspage, spare[--nspare]);
	__zsm_slot_take(class, zspage, hp);
	spin_unlock(&class->lock);
	while (nspare)
		zsm_page_unused(spare[--nspare]);
	return (unsigned long)hp;

nomem:
	if (hpage)
		zsm_hpage_release(hpage);
	kfree(fresh);
	while (nspare)
		zsm_page_unused(spare[--nspare]);
	/* A handle page installed on an earlier round may now be unused. */
	spin_lock(&class->lock);
	__zsm_class_trim(pool, class);
	spin_unlock(&class->lock);
	return (unsigned long)ERR_PTR(-ENOMEM);
}
EXPORT_SYMBOL_GPL(zs_malloc);

/**
 * zs_free() - free an object.
 * @zpool: pool the object was allocated from.
 * @handle: handle from zs_malloc(); 0 and error values are ignored.
 *
 * A handle that is not a live handle of @pool (double free, another pool's
 * handle) is refused with one warning; nothing else is touched.
 *
 * Context: Any context but hard IRQ. Does not sleep.
 */
void zs_free(struct zs_pool *zpool, unsigned long handle)
{
	struct zsm_pool *pool = zsm_pool(zpool);
	unsigned long *hp = (unsigned long *)handle;
	struct zsm_zspage *zspage;
	struct zsm_class *class;
	unsigned long obj;
	unsigned int idx;

	if (IS_ERR_OR_NULL((void *)handle))
		return;
	class = zsm_handle_class(pool, handle);
	if (WARN_ONCE(!class, "zsm: free of handle %lx not from pool %s\n",
		      handle, pool->name))
		return;

	spin_lock(&class->lock);
	obj = *hp;
	if (WARN_ONCE(obj & ZSM_HANDLE_FREE,
		      "zsm: double free of handle %lx in pool %s\n", handle,
		      pool->name))
		goto out;
	zspage = zsm_obj_zspage(obj);
	idx = zsm_obj_idx(obj);
	if (WARN_ONCE(zspage->class != class || idx >= class->geom.objs ||
		      zsm_zspage_slots(zspage)[idx] != handle,
		      "zsm: handle %lx of pool %s is corrupt\n", handle,
		      pool->name))
		goto out;

	__zsm_handle_put(class, hp);
	if (__zsm_slot_release(class, zspage, idx))
		__zsm_zspage_free(pool, zspage);
out:
	spin_unlock(&class->lock);
}
EXPORT_SYMBOL_GPL(zs_free);

/**
 * zs_huge_class_size() - smallest object size stored alone in a page.
 * @zpool: a pool (the value is the same for every pool).
 *
 * zram stores data that compresses to this size or more uncompressed.
 *
 * Context: Any context.
 * Return: the size in bytes.
 */
size_t zs_huge_class_size(struct zs_pool *zpool)
{
	return zsm_classes.huge_class_size;
}
EXPORT_SYMBOL_GPL(zs_huge_class_size);

/**
 * zs_lookup_class_index() - class that holds objects of a size.
 * @zpool: a pool.
 * @size: object size, 1..PAGE_SIZE.
 *
 * Sizes with the same index are stored alike, so zram can tell whether
 * recompressing an object to a smaller size would save memory.
 *
 * Context: Any context.
 * Return: the canonical class index.
 */
unsigned int zs_lookup_class_index(struct zs_pool *zpool, unsigned int size)
{
	struct zsm_pool *pool = zsm_pool(zpool);

	if (size > ZSM_MAX_ALLOC)
		size = ZSM_MAX_ALLOC;
	return pool->class_of[zsm_size_to_slot(size)]->index;
}
EXPORT_SYMBOL_GPL(zs_lookup_class_index);

/**
 * zs_get_total_pages() - pages the pool's zspages hold.
 * @zpool: the pool.
 *
 * Context: Any context.
 * Return: the number of pages.
 */
unsigned long zs_get_total_pages(struct zs_pool *zpool)
{
	struct zsm_pool *pool = zsm_pool(zpool);

	return atomic_long_read(&pool->pages_total);
}
EXPORT_SYMBOL_GPL(zs_get_total_pages);

/**
 * zs_pool_stats() - read the pool's statistics.
 * @zpool: the pool.
 * @stats: filled in; pages_compacted counts pages freed by compaction.
 *
 * Context: Any context.
 */
void zs_pool_stats(struct zs_pool *zpool, struct zs_pool_stats *stats)
{
	struct zsm_pool *pool = zsm_pool(zpool);

	memcpy(stats, &pool->stats, sizeof(*stats));
}
EXPORT_SYMBOL_GPL(zs_pool_stats);

/* === Module ============================================================== */

static int __init zsm_init(void)
{
	int err;

	BUILD_BUG_ON(ZSM_CLASS_DELTA % ZSM_ALIGN);
	BUILD_BUG_ON(MAX_PHYSMEM_BITS - 3 + ZSM_OBJ_SHIFT > BITS_PER_LONG);
	BUILD_BUG_ON(ZSM_MAX_OBJS_PER_ZSPAGE > ZSM_OBJ_IDX_MASK);
	BUILD_BUG_ON(ZSM_MAX_OBJS_PER_ZSPAGE >= ZSM_SLOT_END);
	BUILD_BUG_ON(ZSM_NR_FG > BITS_PER_LONG);

	err = zsm_class_table_init(&zsm_classes, chain_size);
	if (err) {
		pr_err("chain_size=%u out of range %u..%u\n", chain_size,
		       ZSM_CHAIN_MIN, ZSM_CHAIN_MAX);
		return err;
	}
	err = zsm_map_init();
	if (err)
		return err;
	zsm_debugfs_init();
	zsm_zpool_init();
	return 0;
}

/*
 * Every pool holds a module reference, so zsm cannot be unloaded while a
 * pool exists: by the time this runs there is no page of ours left.
 */
static void __exit zsm_exit(void)
{
	zsm_zpool_exit();
	zsm_debugfs_exit();
	zsm_map_exit();
}

module_init(zsm_init);
module_exit(zsm_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("zsm: a zsmalloc-compatible allocator for compressed pages");
