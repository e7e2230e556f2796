/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zsm: differences between the kernels zsm builds for (6.1, 6.12, 7.x), in one
 * place. Code elsewhere uses the names defined here, never version checks.
 *
 * The ZSM_HAVE_* macros come from feature tests in Kbuild, which look at
 * the headers of the kernel being built against (distribution kernels
 * backport, so the headers, not the version number, are the truth):
 *
 *   ZSM_ZPOOL_V1       struct zpool_driver of 6.1: create() takes zpool_ops
 *                      and the zpool, has shrink() (ZSM_ZPOOL_SHRINK),
 *                      reports total_size in bytes. Otherwise (6.12):
 *                      create(name, gfp), total_pages().
 *   ZSM_HAVE_SHRINKER_ALLOC
 *                      shrinker_alloc()/shrinker_register() (6.7+); else an
 *                      embedded struct shrinker and register_shrinker().
 *   ZSM_HAVE_LOOKUP_CLASS_INDEX
 *                      <linux/zsmalloc.h> declares zs_lookup_class_index().
 *   ZSM_HAVE_KUNIT_STATIC_STUB
 *                      <kunit/static_stub.h> exists (6.4+).
 *   ZSM_HAVE_MALLOC_NID
 *                      zs_malloc() takes a NUMA node (7.x).
 *   ZSM_HAVE_OBJ_API   <linux/zsmalloc.h> declares the object API of 7.x
 *                      (zs_obj_read_begin() with mem_len, the SG reads);
 *                      elsewhere include/zsm.h declares the same functions.
 *   ZSM_HAVE_MAP_OBJECT
 *                      <linux/zsmalloc.h> declares zs_map_object() (up to
 *                      6.14); elsewhere include/zsm.h does.
 *   ZSM_HAVE_SET_MOVABLE_OPS
 *                      movable pages are registered per page type, with
 *                      set_movable_ops() (6.17+); earlier, per page, with
 *                      __SetPageMovable().
 *   ZSM_HAVE_FOLIO_INDEX
 *                      struct page's index word is __folio_index (7.x).
 *   ZSM_HAVE_NS_STRING symbol namespaces are strings (6.13+).
 *   ZSM_HAVE_HRTIMER_SETUP
 *                      hrtimer_setup() (6.13+; hrtimer_init() went in 6.15).
 *   ZSM_HAVE_ADD_NEGATIVE_ACQUIRE
 *                      atomic_add_negative_acquire() (6.4+); earlier only
 *                      the fully ordered atomic_add_negative().
 *   ZSM_HAVE_FLUSH_TLB_ALL
 *                      __flush_tlb_all() is exported to modules (x86, up
 *                      to 6.x; 7.x exports it to KVM only). The pte
 *                      mapping mode needs it (zsm_map.c); without it zsm
 *                      maps in copy mode only.
 *
 * Not version differences, and so not here: CONFIG_ZPOOL (zsm_zpool.c is
 * built only with it, see Kbuild) and CONFIG_X86_64 (pte mapping mode,
 * zsm_map.c). Other architectures, arm64 among them, map in copy mode
 * only: a module there has no way to the kernel PTEs of a vmalloc area
 * (no lookup_address(), init_mm is not exported, so neither a page-table
 * walk nor apply_to_page_range() on it), and the TLB argument of pte mode
 * is x86's (Documentation/zsm.rst, "TLB argument").
 */
#ifndef _ZSM_COMPAT_H
#define _ZSM_COMPAT_H

#include <linux/hrtimer.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <linux/migrate.h>
#include <linux/page-flags.h>
#include <linux/zsmalloc.h>

/* KUnit static stubs (6.4+); a no-op where the kernel has none. */
#ifdef ZSM_HAVE_KUNIT_STATIC_STUB
#include <kunit/static_stub.h>
#else
#define KUNIT_STATIC_STUB_REDIRECT(...) do { } while (0)
#endif

#if !defined(CONFIG_64BIT)
#error "zsm encodes object locations in 64-bit handle words"
#endif

/*
 * On PREEMPT_RT, rwlock_t and spinlock_t sleep and do not disable
 * preemption, so a mapping could lose its CPU and its per-CPU map slot to
 * another task, and the class lock could not be held by the trylock-only
 * writers the zspage lock protocol relies on. zsm does not support it:
 * refused here, at build time (dkms.conf's BUILD_EXCLUSIVE_CONFIG skips
 * such kernels before this is reached).
 */
#ifdef CONFIG_PREEMPT_RT
#error "zsm does not support PREEMPT_RT kernels: use the kernel's zsmalloc there"
#endif

/* 6.1's <linux/zsmalloc.h> lacks it; zsm exports it everywhere. */
#ifndef ZSM_HAVE_LOOKUP_CLASS_INDEX
struct zs_pool;
unsigned int zs_lookup_class_index(struct zs_pool *pool, unsigned int size);
#endif

/*
 * zs_malloc() of the kernel built against, on no particular node: the
 * call of zsm's own tests and benchmarks (7.x adds the node argument).
 */
#ifdef ZSM_HAVE_MALLOC_NID
#define zsm_zs_malloc(pool, size, gfp)	zs_malloc(pool, size, gfp, NUMA_NO_NODE)
#else
#define zsm_zs_malloc(pool, size, gfp)	zs_malloc(pool, size, gfp)
#endif

/*
 * Sparse: @c, a condition under which lock @x is held (the kernel's
 * __cond_lock(), gone in 7.x with the move to compiler context analysis).
 */
#ifdef __CHECKER__
#define zsm_cond_lock(x, c)	((c) ? ({ __acquire(x); 1; }) : 0)
#else
#define zsm_cond_lock(x, c)	({ (void)(x); (c); })
#endif

/* A timer calling @fn (tests): hrtimer_setup() where it exists. */
static inline void zsm_hrtimer_setup(struct hrtimer *timer,
				     enum hrtimer_restart (*fn)(struct hrtimer *),
				     clockid_t clock, enum hrtimer_mode mode)
{
#ifdef ZSM_HAVE_HRTIMER_SETUP
	hrtimer_setup(timer, fn, clock, mode);
#else
	hrtimer_init(timer, clock, mode);
	timer->function = fn;
#endif
}

/* The zspage read lock's increment (zsm_zspage_read_tryacquire()). */
#ifdef ZSM_HAVE_ADD_NEGATIVE_ACQUIRE
#define zsm_atomic_add_negative_acquire(i, v) atomic_add_negative_acquire(i, v)
#else
#define zsm_atomic_add_negative_acquire(i, v) atomic_add_negative(i, v)
#endif

/* Test modules import zsm's EXPORT_SYMBOL_IF_KUNIT() symbols with this. */
#ifdef ZSM_HAVE_NS_STRING
#define ZSM_KUNIT_NS	"EXPORTED_FOR_KUNIT_TESTING"
#else
#define ZSM_KUNIT_NS	EXPORTED_FOR_KUNIT_TESTING
#endif

/*
 * A word of struct page that zsm keeps for its own pages (a zspage page's
 * place in its chain, a handle block's owner mark): page->index, renamed
 * __folio_index when 7.x made it folio-only. zsmalloc uses the same word.
 */
static inline unsigned long zsm_page_index(const struct page *page)
{
#ifdef ZSM_HAVE_FOLIO_INDEX
	return READ_ONCE(page->__folio_index);
#else
	return READ_ONCE(page->index);
#endif
}

static inline void zsm_page_set_index(struct page *page, unsigned long index)
{
#ifdef ZSM_HAVE_FOLIO_INDEX
	WRITE_ONCE(page->__folio_index, index);
#else
	WRITE_ONCE(page->index, index);
#endif
}

typedef unsigned long (*zsm_shrink_fn)(struct shrinker *,
				       struct shrink_control *);

#ifdef ZSM_HAVE_SHRINKER_ALLOC

static inline struct shrinker *zsm_shrinker_create(void *owner,
						   zsm_shrink_fn count,
						   zsm_shrink_fn scan,
						   const char *name)
{
	struct shrinker *s = shrinker_alloc(0, "zsm-%s", name);

	if (!s)
		return NULL;
	s->count_objects = count;
	s->scan_objects = scan;
	s->private_data = owner;
	shrinker_register(s);
	return s;
}

static inline void *zsm_shrinker_owner(struct shrinker *s)
{
	return s->private_data;
}

static inline void zsm_shrinker_destroy(struct shrinker *s)
{
	shrinker_free(s);
}

#else

/* The shrinker and its owner in one allocation. */
struct zsm_shrinker_box {
	struct shrinker shrinker;
	void *owner;
};

static inline struct shrinker *zsm_shrinker_create(void *owner,
						   zsm_shrink_fn count,
						   zsm_shrink_fn scan,
						   const char *name)
{
	struct zsm_shrinker_box *box = kzalloc(sizeof(*box), GFP_KERNEL);

	if (!box)
		return NULL;
	box->owner = owner;
	box->shrinker.count_objects = count;
	box->shrinker.scan_objects = scan;
	box->shrinker.seeks = DEFAULT_SEEKS;
	if (register_shrinker(&box->shrinker, "zsm-%s", name)) {
		kfree(box);
		return NULL;
	}
	return &box->shrinker;
}

static inline void *zsm_shrinker_owner(struct shrinker *s)
{
	return container_of(s, struct zsm_shrinker_box, shrinker)->owner;
}

static inline void zsm_shrinker_destroy(struct shrinker *s)
{
	if (!s)
		return;
	unregister_shrinker(s);
	kfree(container_of(s, struct zsm_shrinker_box, shrinker));
}

#endif

/*
 * struct zpool_driver (used by zsm_zpool.c only). 6.1: create(name, gfp,
 * ops, zpool), shrink(), total_size() in bytes. 6.12: create(name, gfp), no
 * shrink(), total_pages(). The size callback (its field is
 * ZSM_ZPOOL_TOTAL_FIELD) and 6.12's create() are here. ZSM_ZPOOL_SHRINK is
 * 1 where the driver has shrink(): zswap writes back through it, and
 * zsm_zpool.c has 6.1's create() and shrink() on top of zsm's eviction.
 */
struct zpool;
struct zpool_ops;

#ifdef ZSM_ZPOOL_V1
#define ZSM_ZPOOL_TOTAL_FIELD	total_size
#define ZSM_ZPOOL_SHRINK	1

static inline u64 zsm_zpool_total(void *pool)
{
	return (u64)zs_get_total_pages(pool) << PAGE_SHIFT;
}
#else
#define ZSM_ZPOOL_TOTAL_FIELD	total_pages
#define ZSM_ZPOOL_SHRINK	0

static inline void *zsm_zpool_create(const char *name, gfp_t gfp)
{
	return zs_create_pool(name);
}

static inline u64 zsm_zpool_total(void *pool)
{
	return zs_get_total_pages(pool);
}
#endif

/*
 * Movable pages.
 *
 * Up to 6.16 each page carries its movable_operations (__SetPageMovable()
 * under the page lock; __ClearPageMovable() when it leaves, after which
 * core mm no longer calls us for it). From 6.17 the operations are
 * registered once per page type, and one owner holds the zsmalloc type:
 * zsm's pages are typed PGTY_zsmalloc and flagged movable, both sticky
 * until the page is freed, so a page released while isolated still
 * reaches migrate_page(), which must then succeed doing nothing. The
 * kernel's CamelCase names appear only here, which is why scripts/lint.sh
 * lets checkpatch's CAMELCASE check pass for these names in this file.
 */
#ifdef ZSM_HAVE_SET_MOVABLE_OPS

/*
 * Take the zsmalloc page type's migration slot. -EBUSY: another
 * allocator (zsmalloc built in or loaded) owns it; zsm then refuses to
 * load rather than leave its pages unmovable.
 */
static inline int zsm_movable_ops_register(const struct movable_operations *mops)
{
	return set_movable_ops(mops, PGTY_zsmalloc);
}

static inline void zsm_movable_ops_unregister(void)
{
	set_movable_ops(NULL, PGTY_zsmalloc);
}

static inline void zsm_page_set_movable(struct page *page,
					const struct movable_operations *mops)
{
	__SetPageZsmalloc(page);
	SetPageMovableOps(page);
}

/* Sticky until the page is freed: nothing to clear. */
static inline void zsm_page_clear_movable_ops(struct page *page)
{
}

static inline bool zsm_page_movable_ops(struct page *page)
{
	return page_has_movable_ops(page);
}

#else

static inline int zsm_movable_ops_register(const struct movable_operations *mops)
{
	return 0;
}

static inline void zsm_movable_ops_unregister(void)
{
}

static inline void zsm_page_set_movable(struct page *page,
					const struct movable_operations *mops)
{
	__SetPageMovable(page, mops);
}

static inline void zsm_page_clear_movable_ops(struct page *page)
{
	__ClearPageMovable(page);
}

static inline bool zsm_page_movable_ops(struct page *page)
{
	return __PageMovable(page);
}

#endif

#endif /* _ZSM_COMPAT_H */
