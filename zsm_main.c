// SPDX-License-Identifier: GPL-2.0
/*
 * zsm: a memory allocator for many small objects (compressed pages).
 *
 * zsm provides the API of the kernel's zsmalloc (<linux/zsmalloc.h>) so that
 * zram and zswap run on it. Objects of 1..PAGE_SIZE bytes are packed into
 * zspages, chains of order-0 pages, by size class (zsm_class.c); an object
 * may straddle two pages of its chain and is then mapped through a per-CPU
 * area (zsm_map.c). This file holds pools and the allocation interface;
 * zspages and page migration are in zsm_zspage.c, handles in zsm_handle.c,
 * compaction in zsm_compact.c, eviction in zsm_evict.c. Locks and their
 * order: include/zsm_internal.h.
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
	pool->handle_cookie = ZSM_HANDLE_BLOCK_MAGIC ^ (unsigned long)pool;
	spin_lock_init(&pool->hblock_lock);
	INIT_LIST_HEAD(&pool->hblock_pages);
	pool->hblock_lo = ULONG_MAX;
	spin_lock_init(&pool->deferred_lock);
	INIT_LIST_HEAD(&pool->deferred_free);
	INIT_DELAYED_WORK(&pool->free_work, zsm_deferred_free_work);
	mutex_init(&pool->compact_lock);
	mutex_init(&pool->evict_lock);

	for (i = ZSM_NR_CLASSES; i-- > 0;) {
		const struct zsm_geom *g = &zsm_classes.geom[i];
		struct zsm_class *class;
		unsigned int grp, n;

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
		for (n = 0; n <= g->pages; n++)
			class->slots_in[n] = min(g->objs, n * PAGE_SIZE / g->size);
		for (grp = 0; grp < ZSM_NR_FULLNESS; grp++)
			INIT_LIST_HEAD(&class->fullness_list[grp]);
		INIT_LIST_HEAD(&class->handle_blocks);
		INIT_LIST_HEAD(&class->handle_blocks_full);
		INIT_LIST_HEAD(&class->lru);
		class->desc_cache = zsm_desc_cache(i, &class->desc_size);
		zsm_hdir_init(class);
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

/* Release every zspage and handle block of @class (pool destruction). */
static unsigned long zsm_class_drain(struct zsm_pool *pool,
				     struct zsm_class *class)
{
	struct zsm_zspage *zspage, *tmp;
	unsigned long live;
	unsigned int grp;

	spin_lock(&class->lock);
	live = class->objs_inuse;
	for (grp = 0; grp < ZSM_NR_FULLNESS; grp++) {
		list_for_each_entry_safe(zspage, tmp, &class->fullness_list[grp], list) {
			__zsm_fullness_del(class, zspage);
			class->objs_inuse -= zspage->inuse;
			zspage->inuse = 0;
			__zsm_zspage_free(pool, zspage);
		}
	}
	__zsm_handle_blocks_drain(class);
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
	unsigned int i, grp;
	bool mapped;

	for (i = 0; i < ZSM_NR_CLASSES; i++) {
		struct zsm_class *class = pool->classes[i];

		if (!class)
			continue;
		do {
			mapped = false;
			spin_lock(&class->lock);
			for (grp = 0; grp < ZSM_NR_FULLNESS && !mapped; grp++) {
				list_for_each_entry(zspage, &class->fullness_list[grp],
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
	/* Every class gave its handle blocks back, so their pages went too. */
	WARN_ON_ONCE(pool->nr_hblock_pages);

	/*
	 * No rcu_barrier(): the descriptors still waiting for their grace
	 * period point at nothing their callback uses (it only kfree()s them);
	 * module unload waits for the callbacks (zsm_desc_caches_exit()).
	 */
	flush_delayed_work(&pool->free_work);
	/* The queue is empty after this, whatever became of the worker. */
	zsm_release_pending(pool, true);
	for (i = 0; i < ZSM_NR_CLASSES; i++)
		kfree(pool->classes[i]);
	kfree(pool->name);
	kfree(pool);
	module_put(THIS_MODULE);
}
EXPORT_SYMBOL_GPL(zs_destroy_pool);

/*
 * What zs_malloc() allocates outside the class lock and keeps to itself
 * until it uses it: nothing is installed in the class unless the object is
 * placed in the same critical section, so a failed or raced allocation has
 * nothing to take back but its own.
 */
struct zsm_alloc_spare {
	struct zsm_handle_block *handle_block;
	struct zsm_hdir_spare hdir;
	struct zsm_zspage *zspage;
	struct page *pages[2];
	unsigned int nr_pages;
};

static void zsm_alloc_spare_release(struct zsm_alloc_spare *sp)
{
	zsm_hdir_spare_release(&sp->hdir);
	if (sp->handle_block)
		zsm_handle_block_release(sp->handle_block);
	if (sp->zspage)
		zsm_zspage_unused(sp->zspage);
	while (sp->nr_pages)
		zsm_page_unused(sp->pages[--sp->nr_pages]);
}

/* What __zsm_alloc_locked() found missing. */
struct zsm_alloc_want {
	bool handle_block;	/* a handle block */
	bool hdir;		/* a bigger handle block directory */
	bool zspage;		/* a zspage descriptor */
	unsigned int pages;	/* pages for the zspage */
};

/*
 * Place an object of @class for handle-to-be, using @sp for what the class
 * lacks. Return: the handle, or 0 with @want set to what must be allocated
 * first.
 */
static unsigned long __zsm_alloc_locked(struct zsm_class *class,
					struct zsm_alloc_spare *sp,
					struct zsm_alloc_want *want)
{
	struct zsm_zspage *zspage = __zsm_zspage_pick(class, NULL, false);
	bool new_hblock = list_empty(&class->handle_blocks);
	/* A new handle block needs a free id in the directory. */
	bool new_id = new_hblock && class->nr_handle_blocks >= class->hdir_len;
	unsigned long *hp;

	lockdep_assert_held(&class->lock);
	/* A fresh zspage needs one page, for slot 0. */
	want->pages = zspage ? __zsm_pages_missing(class, zspage) : 1;
	want->handle_block = new_hblock && !sp->handle_block;
	want->hdir = new_id && !__zsm_hdir_spare_fits(class, &sp->hdir);
	want->zspage = !zspage && !sp->zspage;
	if (want->handle_block || want->hdir || want->zspage ||
	    want->pages > sp->nr_pages)
		return 0;

	if (new_id)
		__zsm_hdir_grow(class, &sp->hdir);
	if (new_hblock) {
		__zsm_handle_block_add(class, sp->handle_block);
		sp->handle_block = NULL;
	}
	if (!zspage) {
		zspage = sp->zspage;
		sp->zspage = NULL;
		class->nr_zspages++;
		__zsm_fullness_add(class, zspage, ZSM_FULLNESS_EMPTY);
	}
	while (__zsm_pages_missing(class, zspage))
		__zsm_zspage_add_page(class, zspage,
				      sp->pages[--sp->nr_pages]);
	hp = __zsm_handle_get(class);
	__zsm_slot_take(class, zspage, hp);
	return (unsigned long)hp;
}

/*
 * zsm_alloc_object() when the class lacked a ready slot or a free handle
 * word: allocate what it lacks without the lock, and retry until the
 * object is placed or memory cannot be had.
 */
static noinline unsigned long zsm_alloc_slow(struct zsm_class *class,
					     gfp_t gfp, int nid)
{
	struct zsm_alloc_spare sp = { };
	struct zsm_alloc_want want;
	bool retried = false;
	unsigned long handle;

	for (;;) {
		spin_lock(&class->lock);
		handle = __zsm_alloc_locked(class, &sp, &want);
		spin_unlock(&class->lock);
		if (handle)
			break;

		/* Get what was missing without the lock, and retry. */
		if (want.hdir && zsm_hdir_prepare(class, &sp.hdir, gfp))
			goto nomem;
		if (want.handle_block) {
			sp.handle_block = zsm_handle_block_alloc(class, gfp);
			if (!sp.handle_block)
				goto nomem;
		}
		if (want.zspage) {
			sp.zspage = zsm_zspage_alloc(class, gfp);
			if (!sp.zspage)
				goto nomem;
		}
		while (sp.nr_pages < want.pages &&
		       sp.nr_pages < ARRAY_SIZE(sp.pages)) {
			sp.pages[sp.nr_pages] = zsm_page_alloc(gfp, nid);
			if (!sp.pages[sp.nr_pages]) {
				/*
				 * Objects freed since we looked may have
				 * left a slot in a present page: look once
				 * more before failing.
				 */
				if (retried)
					goto nomem;
				retried = true;
				break;
			}
			sp.nr_pages++;
		}
	}
	zsm_alloc_spare_release(&sp);
	return handle;

nomem:
	zsm_alloc_spare_release(&sp);
	return (unsigned long)ERR_PTR(-ENOMEM);
}

/**
 * zsm_alloc_object() - allocate an object (zs_malloc()).
 * @pool: pool to allocate from.
 * @size: object size in bytes, 1..PAGE_SIZE.
 * @gfp: allocation flags for any new memory. Without __GFP_DIRECT_RECLAIM
 *	it does not sleep.
 * @nid: node the pages it adds to a zspage come from first, falling back
 *	to others as alloc_pages_node() does; NUMA_NO_NODE for the local
 *	node. Objects go into the class's fullest zspage wherever its pages
 *	are, as in zsmalloc.
 *
 * The object goes into the fullest zspage of its class that has a free
 * slot in a page already present; a page is allocated only when no such
 * slot exists, and if that allocation fails while objects were freed
 * meanwhile, the freed slots are used.
 *
 * Context: Task context, atomic or not (spinlocks may be held, preemption
 * or interrupts disabled), depending on @gfp; not from an interrupt
 * handler or softirq (refused with a warning, once).
 * Return: an opaque handle, or an error value tested with IS_ERR_VALUE():
 * -EINVAL for @size 0 or a call from interrupt context, -ENOSPC for @size
 * above PAGE_SIZE, -ENOMEM when memory could not be had.
 */
unsigned long zsm_alloc_object(struct zsm_pool *pool, size_t size, gfp_t gfp,
			       int nid)
{
	struct zsm_zspage *zspage;
	struct zsm_class *class;
	unsigned long *hp;

	if (unlikely(!size))
		return (unsigned long)ERR_PTR(-EINVAL);
	if (unlikely(size > ZSM_MAX_ALLOC))
		return (unsigned long)ERR_PTR(-ENOSPC);
	if (WARN_ONCE(!in_task(), "zsm: %s() from interrupt context\n", __func__))
		return (unsigned long)ERR_PTR(-EINVAL);

	class = pool->class_of[zsm_size_to_slot(size)];
	spin_lock(&class->lock);
	/*
	 * The common case, in one critical section that calls nothing: a
	 * ready slot (then some listed zspage has one) and a free handle
	 * word; what __zsm_alloc_locked() does when nothing is spare.
	 */
	if (likely(class->ready_free && !list_empty(&class->handle_blocks))) {
		zspage = __zsm_zspage_pick(class, NULL, true);
		if (likely(zspage)) {
			hp = __zsm_handle_get(class);
			__zsm_slot_take(class, zspage, hp);
			spin_unlock(&class->lock);
			return (unsigned long)hp;
		}
	}
	spin_unlock(&class->lock);
	return zsm_alloc_slow(class, gfp, nid);
}
EXPORT_SYMBOL_IF_KUNIT(zsm_alloc_object);

#ifdef ZSM_HAVE_MALLOC_NID
/**
 * zs_malloc() - allocate an object.
 * @zpool: pool to allocate from.
 * @size: object size in bytes, 1..PAGE_SIZE.
 * @gfp: allocation flags for any new memory; see zsm_alloc_object().
 * @nid: preferred node of new pages; see zsm_alloc_object().
 *
 * Context: See zsm_alloc_object().
 * Return: a handle or an error value; see zsm_alloc_object().
 */
unsigned long zs_malloc(struct zs_pool *zpool, size_t size, gfp_t gfp,
			const int nid)
{
	return zsm_alloc_object(zsm_pool(zpool), size, gfp, nid);
}
#else
/**
 * zs_malloc() - allocate an object.
 * @zpool: pool to allocate from.
 * @size: object size in bytes, 1..PAGE_SIZE.
 * @gfp: allocation flags for any new memory; see zsm_alloc_object().
 *
 * Context: See zsm_alloc_object().
 * Return: a handle or an error value; see zsm_alloc_object().
 */
unsigned long zs_malloc(struct zs_pool *zpool, size_t size, gfp_t gfp)
{
	return zsm_alloc_object(zsm_pool(zpool), size, gfp, NUMA_NO_NODE);
}
#endif
EXPORT_SYMBOL_GPL(zs_malloc);

/**
 * zs_free() - free an object.
 * @zpool: pool the object was allocated from.
 * @handle: handle from zs_malloc(); 0 and error values are ignored.
 *
 * A handle that is not a live handle of @pool (double free, another pool's
 * handle) is refused with one warning; nothing else is touched. A zspage
 * the free empties leaves its class, but its pages go back to the page
 * allocator from the pool's worker, about a jiffy later (counted in
 * zs_get_total_pages() until then). The object
 * an eviction handler is running for stays mapped-readable until the
 * handler returns, and is freed then (see zs_evict_fn).
 *
 * Context: Task context, atomic or not; does not sleep. Not from an
 * interrupt handler or softirq: refused with a warning (once), and the
 * object stays allocated.
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
	if (WARN_ONCE(!in_task(), "zsm: %s() from interrupt context\n", __func__))
		return;
	class = zsm_handle_class(pool, handle);
	if (WARN_ONCE(!class, "zsm: free of handle %p not from pool %s\n",
		      (void *)handle, pool->name))
		return;

	spin_lock(&class->lock);
	obj = *hp;
	if (WARN_ONCE(obj & ZSM_HANDLE_FREE,
		      "zsm: double free of handle %p in pool %s\n",
		      (void *)handle, pool->name))
		goto out;
	zspage = zsm_obj_zspage(obj);
	idx = zsm_obj_idx(obj);
	if (WARN_ONCE(zspage->class != class || idx >= class->geom.objs ||
		      zsm_zspage_slots(zspage)[idx] != zsm_slot_ref(hp),
		      "zsm: handle %p of pool %s is corrupt\n",
		      (void *)handle, pool->name))
		goto out;
	/*
	 * The eviction handler has it: zsm_evict_one() frees it afterwards.
	 * evict_pin is written under the pinned class's lock; it can equal
	 * only a handle of that class, read under that lock (ordering table,
	 * zsm_internal.h).
	 */
	if (unlikely(handle == READ_ONCE(pool->evict_pin))) {
		WARN_ONCE(pool->evict_pin_freed,
			  "zsm: double free of handle %p in pool %s\n",
			  (void *)handle, pool->name);
		pool->evict_pin_freed = true;
		goto out;
	}

	__zsm_handle_put(class, hp);
	if (__zsm_slot_release(class, zspage, idx))
		__zsm_zspage_free_later(pool, zspage);
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
 * zs_get_total_pages() - memory the pool holds for its objects, in pages.
 * @zpool: the pool.
 *
 * The pages of its zspages plus its metadata that grows with them: zspage
 * descriptors and handle blocks, rounded up to whole pages. What zram's
 * mem_limit and zswap's pool limit hold is then all of it; the per-pool
 * constant part (the pool and class structures) is left out, so an empty
 * pool reads 0. Documentation/zsm.rst, "Memory", lists every part.
 *
 * Context: Any context.
 * Return: the number of pages.
 */
unsigned long zs_get_total_pages(struct zs_pool *zpool)
{
	return DIV_ROUND_UP(atomic_long_read(&zsm_pool(zpool)->total_bytes),
			    PAGE_SIZE);
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
	BUILD_BUG_ON(ZSM_FINE_DELTA % ZSM_ALIGN);
	BUILD_BUG_ON((ZSM_FINE_MAX - ZSM_MIN_ALLOC) % ZSM_FINE_DELTA);
	BUILD_BUG_ON(MAX_PHYSMEM_BITS - 3 + ZSM_OBJ_SHIFT > BITS_PER_LONG);
	BUILD_BUG_ON(ZSM_MAX_OBJS_PER_ZSPAGE > ZSM_OBJ_IDX_MASK);
	BUILD_BUG_ON(ZSM_MAX_OBJS_PER_ZSPAGE >= ZSM_SLOT_END);
	BUILD_BUG_ON(ZSM_NR_FULLNESS > BITS_PER_LONG);

	err = zsm_class_table_init(&zsm_classes, chain_size);
	if (err) {
		pr_err("chain_size=%u out of range %u..%u\n", chain_size,
		       ZSM_CHAIN_MIN, ZSM_CHAIN_MAX);
		return err;
	}
	err = zsm_desc_caches_init();
	if (err)
		return err;
	err = zsm_movable_ops_register(&zsm_mops);
	if (err) {
		pr_err("page migration of zsmalloc-type pages is owned by another allocator (zsmalloc built in or loaded): not loading (%d)\n",
		       err);
		goto err_caches;
	}
	err = zsm_map_init();
	if (err) {
		zsm_movable_ops_unregister();
		goto err_caches;
	}
	zsm_debugfs_init();
	zsm_zpool_init();
	return 0;

err_caches:
	zsm_desc_caches_exit();
	return err;
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
	zsm_movable_ops_unregister();
	zsm_desc_caches_exit();
}

module_init(zsm_init);
module_exit(zsm_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("zsm: a zsmalloc-compatible allocator for compressed pages");
