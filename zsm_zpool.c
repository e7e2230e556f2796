// SPDX-License-Identifier: GPL-2.0
/*
 * zsm: zpool driver, so that zswap can store compressed pages in zsm.
 *
 * Registered as zpool type "zsm" (module alias "zpool-zsm", so zswap's
 * request_module() finds it). Select it with
 *   echo zsm > /sys/module/zswap/parameters/zpool
 * or zswap.zpool=zsm on the kernel command line.
 *
 * The driver is a thin translation to the zs_* calls; zsm_compat.h holds
 * the differences between the 6.1 and 6.12 struct zpool_driver. Built only
 * with CONFIG_ZPOOL (Kbuild); zsm_internal.h has the stubs otherwise.
 *
 * Writeback (6.1, ZSM_ZPOOL_SHRINK): zswap of 6.1 passes create() its
 * zpool_ops, whose evict(zpool, handle) writes one object back, and calls
 * shrink() when its pool is full. shrink() is zs_evict_pages(): the
 * coldest zspages are emptied, each object through evict(), and their page
 * frames freed; so zpool_evictable() is true and zswap heads every object
 * with its zswap_header (the swap entry). evict() runs under the pool's
 * eviction mutex and no spinlock, may sleep, maps the object before it
 * looks the entry up, and on success frees the handle itself: zsm keeps
 * the object live until evict() returns even when zswap frees it
 * meanwhile, and skips objects freed before their turn (zs_evict_fn). An
 * error (-EEXIST: the page is in the swap cache, -ENOMEM) leaves the
 * object; its zspage goes back to the hot end of the LRU and shrink() goes
 * on with the next coldest (Documentation/zsm.rst, "zswap writeback on
 * 6.1").
 * 6.12's zswap keeps its own LRU and writes back without the zpool.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/zpool.h>
#include <linux/err.h>
#include <linux/slab.h>

#include "zsm_internal.h"

#if ZSM_ZPOOL_SHRINK
/* The pool's owner, as zpool_ops->evict() needs it. */
struct zsm_zpool_owner {
	const struct zpool_ops *ops;
	struct zpool *zpool;
};

static int zsm_zpool_evict(struct zs_pool *pool, unsigned long handle,
			   void *priv)
{
	struct zsm_zpool_owner *owner = priv;

	return owner->ops->evict(owner->zpool, handle);
}

static void *zsm_zpool_create(const char *name, gfp_t gfp,
			      const struct zpool_ops *ops, struct zpool *zpool)
{
	struct zsm_zpool_owner *owner = NULL;
	struct zs_pool *pool;

	/* Both allocate with GFP_KERNEL, as zsmalloc does. */
	if (ops && ops->evict) {
		owner = kmalloc(sizeof(*owner), GFP_KERNEL);
		if (!owner)
			return NULL;
		owner->ops = ops;
		owner->zpool = zpool;
	}
	pool = zs_create_pool(name);
	if (!pool) {
		kfree(owner);
		return NULL;
	}
	if (owner)
		zs_set_evict_handler(pool, zsm_zpool_evict, owner);
	return pool;
}

static void zsm_zpool_destroy(void *pool)
{
	/* zswap destroys a pool with no shrink() running. */
	void *owner = zsm_pool(pool)->evict_priv;

	zs_destroy_pool(pool);
	kfree(owner);
}

/*
 * Free @pages page frames by eviction; 0 if done, else -EAGAIN (or
 * -EINVAL for a pool created without zpool_ops), as zbud does. zswap counts
 * a non-zero return in reject_reclaim_fail.
 */
static int zsm_zpool_shrink(void *pool, unsigned int pages,
			    unsigned int *reclaimed)
{
	long freed = zs_evict_pages(pool, pages);

	if (reclaimed)
		*reclaimed = max(freed, 0L);
	if (freed < 0)
		return freed;
	return freed >= pages ? 0 : -EAGAIN;
}
#else
static void zsm_zpool_destroy(void *pool)
{
	zs_destroy_pool(pool);
}
#endif

static int zsm_zpool_malloc(void *pool, size_t size, gfp_t gfp,
			    unsigned long *handle)
{
	*handle = zs_malloc(pool, size, gfp);
	if (IS_ERR_VALUE(*handle))
		return PTR_ERR((void *)*handle);
	return 0;
}

static void zsm_zpool_free(void *pool, unsigned long handle)
{
	zs_free(pool, handle);
}

static void *zsm_zpool_map(void *pool, unsigned long handle,
			   enum zpool_mapmode mm)
{
	enum zs_mapmode zs_mm;

	switch (mm) {
	case ZPOOL_MM_RO:
		zs_mm = ZS_MM_RO;
		break;
	case ZPOOL_MM_WO:
		zs_mm = ZS_MM_WO;
		break;
	default:
		zs_mm = ZS_MM_RW;
		break;
	}
	return zs_map_object(pool, handle, zs_mm);
}

static void zsm_zpool_unmap(void *pool, unsigned long handle)
{
	zs_unmap_object(pool, handle);
}

static struct zpool_driver zsm_zpool_driver = {
	.type =			  "zsm",
	.owner =		  THIS_MODULE,
	.create =		  zsm_zpool_create,
	.destroy =		  zsm_zpool_destroy,
	.malloc_support_movable = true,
	.malloc =		  zsm_zpool_malloc,
	.free =			  zsm_zpool_free,
	.map =			  zsm_zpool_map,
	.unmap =		  zsm_zpool_unmap,
#if ZSM_ZPOOL_SHRINK
	.shrink =		  zsm_zpool_shrink,
#endif
	.ZSM_ZPOOL_TOTAL_FIELD =  zsm_zpool_total,
};

MODULE_ALIAS("zpool-zsm");

/** zsm_zpool_init() - register the "zsm" zpool driver. */
void zsm_zpool_init(void)
{
	zpool_register_driver(&zsm_zpool_driver);
}

/**
 * zsm_zpool_exit() - unregister the "zsm" zpool driver.
 *
 * zswap holds a module reference for each zsm pool it uses, so no pool of
 * this driver exists when the module goes away.
 */
void zsm_zpool_exit(void)
{
	zpool_unregister_driver(&zsm_zpool_driver);
}
