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
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/zpool.h>
#include <linux/err.h>

#include "zsm_internal.h"

static void zsm_zpool_destroy(void *pool)
{
	zs_destroy_pool(pool);
}

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
