/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zsm: interfaces zsm exports beyond the 6.12 <linux/zsmalloc.h>.
 *
 * The object read/write calls are those of Linux 6.15+ zsmalloc, where
 * zram and zswap use them instead of zs_map_object()/zs_unmap_object().
 */
#ifndef _ZSM_H
#define _ZSM_H

#include <linux/zsmalloc.h>

void *zs_obj_read_begin(struct zs_pool *pool, unsigned long handle,
			void *local_copy);
void zs_obj_read_end(struct zs_pool *pool, unsigned long handle,
		     void *handle_mem);
void zs_obj_write(struct zs_pool *pool, unsigned long handle,
		  void *handle_mem, size_t mem_len);

/**
 * typedef zs_evict_fn - write one object back so that zsm can free its page.
 * @pool: the pool.
 * @handle: a handle that was live in the zspage being evicted when zsm
 *	looked; the owner may have freed it, or freed and reused it, since:
 *	the handler must check under its own lock that @handle is still the
 *	object it thinks.
 * @priv: the pointer given to zs_set_evict_handler().
 *
 * Called in process context with no zsm lock held; may sleep. On success
 * the handler has stored the object elsewhere and called zs_free() on it.
 *
 * Return: 0 on success; an error leaves the object in place.
 */
typedef int (*zs_evict_fn)(struct zs_pool *pool, unsigned long handle,
			   void *priv);

void zs_set_evict_handler(struct zs_pool *pool, zs_evict_fn handler,
			  void *priv);
long zs_evict_pages(struct zs_pool *pool, unsigned long nr_pages);

#endif /* _ZSM_H */
