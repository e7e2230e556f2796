/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zsm: interfaces zsm exports beyond the <linux/zsmalloc.h> of the kernel
 * it is built for.
 *
 * The object API is that of Linux 7.x zsmalloc, exported with the same
 * signatures on every kernel; 7.x's own header declares it there. On 6.1
 * and 6.12 no in-kernel caller uses it (zram and zswap map objects there).
 * zs_map_object()/zs_unmap_object() are gone from 7.x's header; zsm keeps
 * them everywhere (its tests and its page-table mapping mode use them).
 */
#ifndef _ZSM_H
#define _ZSM_H

#include <linux/zsmalloc.h>

struct scatterlist;

#ifndef ZSM_HAVE_OBJ_API
void *zs_obj_read_begin(struct zs_pool *pool, unsigned long handle,
			size_t mem_len, void *local_copy);
void zs_obj_read_end(struct zs_pool *pool, unsigned long handle,
		     size_t mem_len, void *handle_mem);
void zs_obj_read_sg_begin(struct zs_pool *pool, unsigned long handle,
			  struct scatterlist *sg, size_t mem_len);
void zs_obj_read_sg_end(struct zs_pool *pool, unsigned long handle);
void zs_obj_write(struct zs_pool *pool, unsigned long handle,
		  void *handle_mem, size_t mem_len);
#endif

#ifndef ZSM_HAVE_MAP_OBJECT
enum zs_mapmode {
	ZS_MM_RW,
	ZS_MM_RO,
	ZS_MM_WO
};

void *zs_map_object(struct zs_pool *pool, unsigned long handle,
		    enum zs_mapmode mm);
void zs_unmap_object(struct zs_pool *pool, unsigned long handle);
#endif

/**
 * typedef zs_evict_fn - write one object back so that zsm can free its page.
 * @pool: the pool.
 * @handle: an object of the zspage being evicted, live when the handler is
 *	called (objects freed before their turn are skipped). It stays live
 *	until the handler returns: a zs_free() of it meanwhile, by the
 *	handler or by the owner elsewhere, takes effect then, so the handler
 *	may map and read it at any point. The owner may be freeing it at the
 *	same moment: the handler must check under its own lock that the
 *	object is still in use.
 * @priv: the pointer given to zs_set_evict_handler().
 *
 * Called in process context with no zsm spinlock held (the pool's eviction
 * mutex is); may sleep. On success the handler has stored the object
 * elsewhere and called zs_free() on it, or found it already freed.
 *
 * Return: 0 on success; an error leaves the object in place.
 */
typedef int (*zs_evict_fn)(struct zs_pool *pool, unsigned long handle,
			   void *priv);

void zs_set_evict_handler(struct zs_pool *pool, zs_evict_fn handler,
			  void *priv);
long zs_evict_pages(struct zs_pool *pool, unsigned long nr_pages);

#endif /* _ZSM_H */
