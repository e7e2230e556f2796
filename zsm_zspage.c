// SPDX-License-Identifier: GPL-2.0
/*
 * zsm: zspages, the chains of order-0 pages objects live in.
 *
 *   handle --> [handle word] --(zspage descriptor address, slot)--+
 *                  ^                                              |
 *                  |         zspage descriptor (slab)  <----------+
 *                  |         | page_addr[] | slots[]: handle or free link |
 *                  +-----------------------------'
 *
 * The descriptor, not the pages, holds the free list and the reverse map
 * (slot -> handle): zs_malloc() and zs_free() never touch object memory.
 * This file keeps a zspage's life: its descriptor, its fullness group, its
 * pages (added lazily, registered with migration as they join, released
 * with their page locks held: by the pool's worker for the zspages
 * zs_free() empties, at once for compaction, eviction and destruction), its
 * slots, and the migration callbacks that move one of its pages.
 *
 * Page migration (core mm compaction, memory offlining, CMA) moves single
 * pages. Every page of every zspage is registered with zsm_mops. Handles
 * name a zspage descriptor and a slot, not a page, so moving a page only
 * copies it and swaps the descriptor's page_addr[i]:
 *
 *   isolate_page(P)    page lock held: P's zspage is alive; nothing to do
 *                      but say yes (a dying zspage says no).
 *   migrate_page(N, P) page locks of N and P held; class->lock excludes
 *                      compaction and allocation bookkeeping, the zspage
 *                      write lock waits out mappers; copy P to N, swap
 *                      page_addr[i], register N, release our reference to P.
 *   putback_page(P)    nothing was changed at isolation: nothing to undo.
 *
 * Freeing races: a zspage is released only with every page lock held
 * (trylock, else left to the worker, which sleeps on the locks), so a page
 * is never freed while migrate_page() runs on it. A page
 * isolated but not locked can be released: up to 6.16 clearing its movable
 * mark tells core mm, which then drops its own reference and never calls
 * us for it again; from 6.17 the mark is sticky and migrate_page() is
 * called for it, finds no zspage and succeeds without doing anything.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kasan.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/highmem.h>
#include <linux/migrate.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/vmstat.h>
#include <linux/bitops.h>
#include <kunit/visibility.h>

#include "zsm_internal.h"

/* === Registration with page migration ==================================== */

/*
 * zsm_page_make_movable() - register a new zspage page with migration.
 * @page: a page nobody else references yet, about to join a zspage.
 *
 * Also accounts the page in the zone's NR_ZSPAGES (/proc/vmstat
 * nr_zspages), as zsmalloc does.
 */
static void zsm_page_make_movable(struct page *page)
{
	inc_zone_page_state(page, NR_ZSPAGES);
	/* A fresh page: no one else can hold its lock. */
	if (WARN_ON_ONCE(!trylock_page(page)))
		return;
	zsm_page_set_movable(page, &zsm_mops);
	unlock_page(page);
}

/*
 * zsm_page_clear_movable() - unregister a page leaving the pool.
 * @page: a locked zspage page.
 */
static void zsm_page_clear_movable(struct page *page)
{
	dec_zone_page_state(page, NR_ZSPAGES);
	if (zsm_page_movable_ops(page))
		zsm_page_clear_movable_ops(page);
}

/* === Zspages ============================================================== */

/**
 * zsm_page_alloc() - allocate one object page.
 * @gfp: zs_malloc()'s flags; __GFP_MOVABLE and __GFP_HIGHMEM are honoured
 *	(zspage pages can move and need no permanent kernel mapping).
 * @nid: node to take it from first (alloc_pages_node()), or NUMA_NO_NODE.
 *
 * The page counts in zsm_pages_held from here until zsm_page_unused() or
 * the release of its zspage.
 *
 * Return: the page or NULL.
 */
struct page *zsm_page_alloc(gfp_t gfp, int nid)
{
	struct page *page;

	/* KUnit cases replace it to fail at chosen moments (zsm_alloc). */
	KUNIT_STATIC_STUB_REDIRECT(zsm_page_alloc, gfp, nid);
	page = alloc_pages_node(nid, gfp, 0);
	if (page)
		atomic_long_inc(&zsm_pages_held);
	return page;
}
EXPORT_SYMBOL_IF_KUNIT(zsm_page_alloc);

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
 * The page is registered movable before it is published in
 * @zspage->page_addr[]; mappers only look at pages of live objects, and no
 * object lives in it until the caller places one, under @class->lock.
 */
void __zsm_zspage_add_page(struct zsm_class *class, struct zsm_zspage *zspage,
			   struct page *page)
{
	unsigned int i = zspage->nr_pages;

	lockdep_assert_held(&class->lock);
	set_page_private(page, (unsigned long)zspage);
	zsm_page_set_index(page, i);
	zsm_page_make_movable(page);
	zsm_zspage_set_page(zspage, i, page);
	if (!zspage->evicting && !list_empty(&zspage->list))
		class->ready_free += class->slots_in[i + 1] - class->slots_in[i];
	zspage->nr_pages = i + 1;
	class->nr_pages++;
	zsm_pool_pages_add(class->pool, 1);
}

/*
 * Descriptor caches. A descriptor's size depends only on its class's
 * geometry (struct_size(pages) plus one slot word per object), which every
 * pool shares, so there is one slab cache per distinct size, made at module
 * load and shared by all pools: no power-of-two rounding as with kmalloc(),
 * and a name in /proc/slabinfo ("zsm_zspage-<bytes>"). Constant after
 * zsm_desc_caches_init().
 */
struct zsm_desc_cache {
	unsigned int size;
	struct kmem_cache *cache;
	char *name;
};

static struct zsm_desc_cache zsm_desc_caches[ZSM_NR_CLASSES];
static unsigned int zsm_nr_desc_caches;

static unsigned int zsm_desc_size(const struct zsm_geom *g)
{
	return zsm_desc_bytes(g->pages, g->objs);
}

/* The made cache of descriptors of @size bytes, or NULL. */
static struct zsm_desc_cache *zsm_desc_cache_find(unsigned int size)
{
	unsigned int j;

	for (j = 0; j < zsm_nr_desc_caches; j++)
		if (zsm_desc_caches[j].size == size)
			return &zsm_desc_caches[j];
	return NULL;
}

/**
 * zsm_desc_caches_init() - make the descriptor caches for zsm_classes.
 *
 * Return: 0 or -ENOMEM (nothing is left made).
 */
int zsm_desc_caches_init(void)
{
	unsigned int i;

	for (i = 0; i < ZSM_NR_CLASSES; i++) {
		const struct zsm_geom *g = &zsm_classes.geom[i];
		unsigned int size = zsm_desc_size(g);
		struct zsm_desc_cache *dc;

		if (g->index != i || zsm_desc_cache_find(size))
			continue;
		dc = &zsm_desc_caches[zsm_nr_desc_caches];
		/*
		 * The name must outlive the cache: SLUB keeps the pointer of a
		 * cache merged into another (an alias) until sysfs is up,
		 * which for a built-in zsm is after this runs.
		 */
		dc->name = kasprintf(GFP_KERNEL, "zsm_zspage-%u", size);
		dc->cache = dc->name ?
			kmem_cache_create(dc->name, size, sizeof(unsigned long),
					  0, NULL) : NULL;
		if (!dc->cache) {
			kfree(dc->name);
			dc->name = NULL;
			zsm_desc_caches_exit();
			return -ENOMEM;
		}
		dc->size = size;
		zsm_nr_desc_caches++;
	}
	return 0;
}

/**
 * zsm_desc_caches_exit() - destroy the descriptor caches.
 *
 * Descriptors are freed after a grace period (call_rcu()): wait for the
 * callbacks still queued before the caches go.
 */
void zsm_desc_caches_exit(void)
{
	rcu_barrier();
	while (zsm_nr_desc_caches) {
		struct zsm_desc_cache *dc = &zsm_desc_caches[--zsm_nr_desc_caches];

		kmem_cache_destroy(dc->cache);
		kfree(dc->name);
		dc->cache = NULL;
		dc->name = NULL;
		dc->size = 0;
	}
}

/**
 * zsm_desc_cache() - the descriptor cache of a canonical class.
 * @index: canonical class index in zsm_classes.
 * @size: set to the bytes one descriptor takes in it.
 *
 * Return: the cache (never NULL once zsm_desc_caches_init() succeeded).
 */
struct kmem_cache *zsm_desc_cache(unsigned int index, unsigned int *size)
{
	struct zsm_desc_cache *dc =
		zsm_desc_cache_find(zsm_desc_size(&zsm_classes.geom[index]));

	if (!dc)
		return NULL;
	*size = kmem_cache_size(dc->cache);
	return dc->cache;
}

/*
 * The grace period may outlast the pool (zs_destroy_pool() does not wait for
 * it), so the callback must not look at zspage->class: kfree() finds the
 * cache of a slab object itself. zsm_desc_caches_exit() waits for these
 * callbacks before the caches go.
 */
static void zsm_zspage_desc_free_rcu(struct rcu_head *head)
{
	kfree(container_of(head, struct zsm_zspage, rcu));
}

/**
 * zsm_zspage_unused() - free a descriptor from zsm_zspage_alloc() that was
 * never installed (no page, no object, never seen by a mapper).
 * @zspage: the descriptor.
 */
void zsm_zspage_unused(struct zsm_zspage *zspage)
{
	struct zsm_class *class = zspage->class;

	zsm_pool_meta_add(class->pool, -(long)class->desc_size);
	kmem_cache_free(class->desc_cache, zspage);
}

/*
 * A new zspage with only its first page (enough for slot 0); the rest of
 * the chain is added as objects reach into it (see struct zsm_zspage).
 * Installed by the caller under the class lock, with
 * __zsm_zspage_add_page() for @first.
 */
struct zsm_zspage *zsm_zspage_alloc(struct zsm_class *class, gfp_t gfp)
{
	const struct zsm_geom *g = &class->geom;
	struct zsm_zspage *zspage;
	unsigned int i;
	u32 *slots;

	/*
	 * Untagged: handle words name a descriptor by its physical address,
	 * so zsm_obj_zspage() returns a pointer without KASAN's tag (software
	 * tags, MTE), and every pointer to it must be the same value (list
	 * heads point at themselves, page_private() is compared with it).
	 */
	zspage = kasan_reset_tag(kmem_cache_alloc(class->desc_cache,
						  zsm_meta_gfp(gfp)));
	if (!zspage)
		return NULL;
	zsm_pool_meta_add(class->pool, class->desc_size);

	INIT_LIST_HEAD(&zspage->list);
	zspage->class = class;
	zsm_zspage_lock_init(zspage);
	zspage->inuse = 0;
	zspage->free_head = 0;
	zspage->fullness = ZSM_FULLNESS_EMPTY;
	zspage->dead = 0;
	zspage->evicting = 0;
	zspage->evict_gen = 0;
	zspage->nr_pages = 0;
	INIT_LIST_HEAD(&zspage->lru);
	zspage->last_alloc = jiffies;
	memset(zspage->page_addr, 0, g->pages * sizeof(zspage->page_addr[0]));

	slots = zsm_zspage_slots(zspage);
	for (i = 0; i < g->objs - 1; i++)
		slots[i] = (i + 1) << 1 | ZSM_SLOT_FREE_TAG;
	slots[i] = ZSM_SLOT_END << 1 | ZSM_SLOT_FREE_TAG;
	return zspage;
}

/**
 * zsm_page_release() - give a zspage page back to the page allocator.
 * @page: a page of a zspage, locked by the caller, which holds no object
 *	and is no longer (or about to be no longer) in the zspage's page_addr[].
 *
 * The caller takes it out of the page counters (pool->pages_total,
 * zsm_pages_held, class->nr_pages).
 */
void zsm_page_release(struct page *page)
{
	zsm_page_clear_movable(page);
	set_page_private(page, 0);
	zsm_page_set_index(page, 0);
	unlock_page(page);
	put_page(page);
}

static void zsm_zspage_release(struct zsm_pool *pool, struct zsm_zspage *zspage)
{
	unsigned int i, n = zspage->nr_pages;

	for (i = 0; i < n; i++)
		zsm_page_release(zsm_zspage_page(zspage, i));
	zsm_pool_pages_add(pool, -(long)n);
	atomic_long_sub(n, &zsm_pages_held);
	zsm_pool_meta_add(pool, -(long)zspage->class->desc_size);
	call_rcu(&zspage->rcu, zsm_zspage_desc_free_rcu);
}

/* Lock every page of @zspage without sleeping; all or nothing. */
static bool zsm_zspage_trylock_pages(struct zsm_zspage *zspage)
{
	unsigned int i;

	for (i = 0; i < zspage->nr_pages; i++) {
		if (!trylock_page(zsm_zspage_page(zspage, i))) {
			while (i--)
				unlock_page(zsm_zspage_page(zspage, i));
			return false;
		}
	}
	return true;
}

/*
 * Lock every page of a dead zspage, sleeping on a busy one. The zspage is
 * dead: no object, no list, and migration no longer swaps its pages
 * (zsm_migrate_page() refuses a dead zspage), so page_addr[i] stays ours
 * while we sleep on its lock; a migration that was in flight when it died
 * finished its swap under class->lock before the zspage was marked dead.
 * The re-check after the lock is a second guard.
 */
static void zsm_zspage_lock_pages(struct zsm_zspage *zspage)
{
	unsigned int i;

	for (i = 0; i < zspage->nr_pages; i++) {
		struct page *page;

		for (;;) {
			page = zsm_zspage_page(zspage, i);
			lock_page(page);
			if (page == zsm_zspage_page(zspage, i))
				break;
			unlock_page(page);
		}
	}
}

/*
 * Queue @zspage, dead, for zsm_release_pending(), and make the worker run
 * after @delay at the latest. @count: it is new to the queue (not put back).
 */
static void zsm_zspage_defer(struct zsm_pool *pool, struct zsm_zspage *zspage,
			     unsigned long delay, bool count)
{
	bool first;

	spin_lock(&pool->deferred_lock);
	first = list_empty(&pool->deferred_free);
	list_add_tail(&zspage->deferred, &pool->deferred_free);
	if (count)
		pool->pending_pages += zspage->nr_pages;
	spin_unlock(&pool->deferred_lock);
	/*
	 * Queued by whoever made the list non-empty; the worker empties it
	 * whole. A zspage whose locks were busy wants the worker now: a
	 * timer still running is brought forward (the worker may then run
	 * twice, the second time on an empty list).
	 */
	if (!delay) {
		cancel_delayed_work(&pool->free_work);
		schedule_delayed_work(&pool->free_work, 0);
	} else if (first) {
		schedule_delayed_work(&pool->free_work, delay);
	}
}

/**
 * zsm_release_pending() - give back the pool's zspages waiting for release.
 * @pool: the pool.
 * @wait: sleep on busy page locks. Without it a zspage whose page lock is
 *	busy stays queued for the worker, which is kicked.
 *
 * Context: Process context, no zsm lock held; sleeps only with @wait.
 */
void zsm_release_pending(struct zsm_pool *pool, bool wait)
{
	struct zsm_zspage *zspage;
	unsigned int pages;

	for (;;) {
		spin_lock(&pool->deferred_lock);
		zspage = list_first_entry_or_null(&pool->deferred_free,
						  struct zsm_zspage, deferred);
		if (zspage)
			list_del(&zspage->deferred);
		spin_unlock(&pool->deferred_lock);
		if (!zspage)
			break;
		if (wait) {
			zsm_zspage_lock_pages(zspage);
		} else if (!zsm_zspage_trylock_pages(zspage)) {
			zsm_zspage_defer(pool, zspage, 0, false);
			break;
		}
		pages = zspage->nr_pages;
		zsm_zspage_release(pool, zspage);
		spin_lock(&pool->deferred_lock);
		pool->pending_pages -= pages;
		spin_unlock(&pool->deferred_lock);
	}
}

void zsm_deferred_free_work(struct work_struct *work)
{
	zsm_release_pending(container_of(to_delayed_work(work),
					 struct zsm_pool, free_work), true);
}

/* Take an empty zspage out of its class; the caller releases it. */
static void __zsm_zspage_kill(struct zsm_zspage *zspage)
{
	struct zsm_class *class = zspage->class;

	lockdep_assert_held(&class->lock);
	WRITE_ONCE(zspage->dead, 1);
	list_del_init(&zspage->lru);
	class->nr_zspages--;
	class->nr_pages -= zspage->nr_pages;
}

/**
 * __zsm_zspage_free() - return an empty, unlisted zspage to the system now.
 * @pool: owning pool.
 * @zspage: zspage with no object, already off its class's lists.
 *
 * Pages are released with their page lock held so that migration of any of
 * them is either finished or not yet started. If a page lock is busy (page
 * being migrated), the release is left to the worker, which runs at once.
 * For compaction, eviction and pool destruction, which count what they free.
 *
 * Context: class->lock held; does not sleep.
 */
void __zsm_zspage_free(struct zsm_pool *pool, struct zsm_zspage *zspage)
{
	__zsm_zspage_kill(zspage);
	if (zsm_zspage_trylock_pages(zspage))
		zsm_zspage_release(pool, zspage);
	else
		zsm_zspage_defer(pool, zspage, 0, true);
}

/**
 * __zsm_zspage_free_later() - queue an empty, unlisted zspage for release.
 * @pool: owning pool.
 * @zspage: zspage with no object, already off its class's lists.
 *
 * zs_free()'s way: its pages go back to the page allocator from the pool's
 * worker ZSM_RELEASE_DELAY later (or from the next zs_compact()), not from
 * the caller, which only links the descriptor into a list (and arms the
 * worker's timer if the list was empty). They stay in pages_total until
 * then. Documentation/zsm.rst, "Fullness and allocation".
 *
 * Context: class->lock held; does not sleep.
 */
void __zsm_zspage_free_later(struct zsm_pool *pool, struct zsm_zspage *zspage)
{
	__zsm_zspage_kill(zspage);
	zsm_zspage_defer(pool, zspage, ZSM_RELEASE_DELAY, true);
}

/* === Page migration ====================================================== */

/* Pages moved by zsm_migrate_page(), all pools; for tests and debugfs. */
atomic_long_t zsm_pages_migrated;
EXPORT_SYMBOL_IF_KUNIT(zsm_pages_migrated);

/*
 * Synchronous migrations (memory offline, CMA) that zsm_migrate_page()
 * turned down because the zspage stayed mapped for ZSM_MIGRATE_WAIT_NS,
 * all pools; for tests and debugfs.
 */
atomic_long_t zsm_migrate_sync_busy;
EXPORT_SYMBOL_IF_KUNIT(zsm_migrate_sync_busy);

static bool zsm_isolate_page(struct page *page, isolate_mode_t mode)
{
	struct zsm_zspage *zspage = (struct zsm_zspage *)page_private(page);

	/*
	 * The page lock keeps the descriptor alive (see __zsm_zspage_free);
	 * a stale "not dead" is caught under class->lock in migrate_page.
	 */
	return zspage && !READ_ONCE(zspage->dead);
}

static int zsm_migrate_page(struct page *dst, struct page *src,
			    enum migrate_mode mode)
{
	struct zsm_zspage *zspage = (struct zsm_zspage *)page_private(src);
	unsigned int i = zsm_page_index(src);
	struct zsm_class *class;

	/*
	 * Released while isolated (see zsm_compat.h, movable pages): not
	 * ours any more, nothing to move; core mm frees both pages.
	 */
	if (!zspage)
		return 0;
	class = zspage->class;
	spin_lock(&class->lock);
	/*
	 * A dead zspage's page_addr[] must not change: its deferred free reads
	 * page_addr[i] and sleeps on that page's lock, which would be a freed
	 * page if we swapped it. Refuse; it is freed soon, and core mm
	 * drops a page that stopped being movable.
	 */
	if (zspage->dead) {
		spin_unlock(&class->lock);
		return -EAGAIN;
	}
	/*
	 * Mapped right now: asynchronous migration (core mm compaction) comes
	 * back later; the synchronous modes wait for the mappers, bounded.
	 */
	if (mode == MIGRATE_ASYNC) {
		if (!zsm_zspage_write_trylock(zspage))
			goto busy;
	} else if (!zsm_zspage_write_lock_bounded(class, zspage)) {
		goto busy;
	}
	if (WARN_ON_ONCE(zsm_zspage_page(zspage, i) != src)) {
		zsm_zspage_write_unlock(zspage);
		spin_unlock(&class->lock);
		return -EINVAL;
	}
	copy_highpage(dst, src);
	set_page_private(dst, (unsigned long)zspage);
	zsm_page_set_index(dst, i);
	zsm_page_set_movable(dst, &zsm_mops);
	zsm_zspage_set_page(zspage, i, dst);
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
	zsm_page_set_index(src, 0);
	put_page(src);
	atomic_long_inc(&zsm_pages_migrated);
	return 0;

busy:
	spin_unlock(&class->lock);
	if (mode != MIGRATE_ASYNC)
		atomic_long_inc(&zsm_migrate_sync_busy);
	return -EAGAIN;
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
