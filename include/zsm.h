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

#endif /* _ZSM_H */
