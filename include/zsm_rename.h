/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zsm: exported names for kernels with zsmalloc built in (Debian's stock
 * 6.12), where the zs_* names are taken. Built with `make ZSM_RENAME=1`,
 * which force-includes this file before any other: every zs_* function of
 * zsm, and its prototype in <linux/zsmalloc.h>, becomes zsm_*. zram keeps
 * using the built-in allocator there; zswap uses zsm through zpool "zsm".
 */
#ifndef _ZSM_RENAME_H
#define _ZSM_RENAME_H

/* Modules meant to bind to either provider (benchmarks) opt out. */
#ifndef ZSM_NO_RENAME

#define zs_create_pool		zsm_create_pool
#define zs_destroy_pool		zsm_destroy_pool
#define zs_malloc		zsm_malloc
#define zs_free			zsm_free
#define zs_huge_class_size	zsm_huge_class_size
#define zs_map_object		zsm_map_object
#define zs_unmap_object		zsm_unmap_object
#define zs_get_total_pages	zsm_get_total_pages
#define zs_compact		zsm_compact
#define zs_lookup_class_index	zsm_lookup_class_index
#define zs_pool_stats		zsm_pool_stats
#define zs_obj_read_begin	zsm_obj_read_begin
#define zs_obj_read_end		zsm_obj_read_end
#define zs_obj_read_sg_begin	zsm_obj_read_sg_begin
#define zs_obj_read_sg_end	zsm_obj_read_sg_end
#define zs_obj_write		zsm_obj_write
#define zs_set_evict_handler	zsm_set_evict_handler
#define zs_evict_pages		zsm_evict_pages

#endif /* ZSM_NO_RENAME */
#endif /* _ZSM_RENAME_H */
