// SPDX-License-Identifier: GPL-2.0
/*
 * zsm: statistics in debugfs.
 *
 *   /sys/kernel/debug/zsm/<pool>/classes   one row per class, then totals
 *   /sys/kernel/debug/zsm/<pool>/summary   pool-wide counters, key value
 *
 * Each class row is read under that class's lock, so a row is consistent
 * with itself; rows are not a snapshot of the whole pool.
 *
 * Both formats are read by programs (tools/zsmstat.c finds the classes
 * columns by their header names; tests read summary keys): add columns
 * at the end of a row and keys at the end of summary, never rename or
 * reorder. The columns are described in Documentation/zsm.rst,
 * "Statistics".
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/dcache.h>
#include <linux/string.h>

#include "zsm_internal.h"

/* === Data ================================================================ */

/* /sys/kernel/debug/zsm; NULL or an error pointer if debugfs is absent. */
static struct dentry *zsm_debugfs_root;

/* === Internals =========================================================== */

static int zsm_classes_show(struct seq_file *s, void *v)
{
	struct zsm_pool *pool = s->private;
	unsigned long t_objs = 0, t_inuse = 0, t_pages = 0, t_free = 0;
	unsigned long t_handle_blocks = 0, t_meta = 0;
	unsigned int i, grp;

	seq_puts(s, "class  size");
	for (grp = 1; grp < ZSM_FULLNESS_FULL; grp++)
		seq_printf(s, " %3u%%", grp * 10 - 10);
	seq_puts(s, " full   objs_alloc   objs_inuse pages_used pages_per_zspage freeable hblocks meta_bytes\n");

	for (i = 0; i < ZSM_NR_CLASSES; i++) {
		struct zsm_class *class = pool->classes[i];
		unsigned long cnt[ZSM_NR_FULLNESS], objs, inuse, pages, freeable, hp;
		unsigned long meta;

		if (!class)
			continue;
		spin_lock(&class->lock);
		memcpy(cnt, class->fullness_count, sizeof(cnt));
		objs = class->nr_zspages * class->geom.objs;
		inuse = class->objs_inuse;
		pages = class->nr_pages;
		hp = class->nr_handle_blocks;
		meta = class->nr_zspages * class->desc_size + hp * ZSM_HBLOCK_SIZE +
		       class->hdir_bytes;
		spin_unlock(&class->lock);
		freeable = zsm_class_freeable_pages(class);

		seq_printf(s, "%5u %5u", i, class->geom.size);
		for (grp = 1; grp <= ZSM_FULLNESS_FULL; grp++)
			seq_printf(s, " %4lu", cnt[grp]);
		seq_printf(s, " %12lu %12lu %10lu %16u %8lu %6lu %10lu\n", objs,
			   inuse, pages, class->geom.pages, freeable, hp, meta);
		t_objs += objs;
		t_inuse += inuse;
		t_pages += pages;
		t_free += freeable;
		t_handle_blocks += hp;
		t_meta += meta;
	}
	seq_printf(s, "Total      %*s %12lu %12lu %10lu %16s %8lu %6lu %10lu\n",
		   5 * ZSM_FULLNESS_FULL, "", t_objs, t_inuse, t_pages, "", t_free,
		   t_handle_blocks, t_meta);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(zsm_classes);

static int zsm_summary_show(struct seq_file *s, void *v)
{
	struct zsm_pool *pool = s->private;
	unsigned long objs = 0, handle_blocks = 0, zspages = 0, freeable = 0;
	unsigned long desc_bytes = 0, hdir_bytes = 0, fixed_bytes, hblock_pages;
	unsigned int i, nr_classes = 0;

	for (i = 0; i < ZSM_NR_CLASSES; i++) {
		struct zsm_class *class = pool->classes[i];

		if (!class)
			continue;
		nr_classes++;
		spin_lock(&class->lock);
		objs += class->objs_inuse;
		handle_blocks += class->nr_handle_blocks;
		zspages += class->nr_zspages;
		desc_bytes += class->nr_zspages * class->desc_size;
		hdir_bytes += class->hdir_bytes;
		spin_unlock(&class->lock);
		freeable += zsm_class_freeable_pages(class);
	}
	fixed_bytes = kmalloc_size_roundup(sizeof(*pool)) +
		      kmalloc_size_roundup(strlen(pool->name) + 1) +
		      nr_classes * kmalloc_size_roundup(sizeof(struct zsm_class));
	seq_printf(s, "name %s\n", pool->name);
	seq_printf(s, "pages_total %lu\n", atomic_long_read(&pool->pages_total));
	seq_printf(s, "zspages %lu\n", zspages);
	seq_printf(s, "objects %lu\n", objs);
	seq_printf(s, "handle_blocks %lu\n", handle_blocks);
	/* Memory: Documentation/zsm.rst, "Memory". */
	/* A statistic: read without pool->hblock_lock. */
	hblock_pages = data_race(pool->nr_hblock_pages);
	seq_printf(s, "handle_block_bytes %lu\n", hblock_pages * PAGE_SIZE);
	seq_printf(s, "descriptor_bytes %lu\n", desc_bytes);
	seq_printf(s, "handle_dir_bytes %lu\n", hdir_bytes);
	seq_printf(s, "meta_bytes %ld\n", zsm_pool_meta_bytes(pool));
	seq_printf(s, "fixed_bytes %lu\n", fixed_bytes);
	seq_printf(s, "total_pages %lu\n", zs_get_total_pages(zs_pool_of(pool)));
	seq_printf(s, "total_pages_max %ld\n",
		   atomic_long_read(&pool->total_pages_max));
	seq_printf(s, "pages_freeable %lu\n", freeable);
	seq_printf(s, "pages_compacted %lu\n",
		   atomic_long_read(&pool->stats.pages_compacted));
	seq_printf(s, "pages_migrated_all_pools %ld\n",
		   atomic_long_read(&zsm_pages_migrated));
	seq_printf(s, "migrate_sync_busy_all_pools %ld\n",
		   atomic_long_read(&zsm_migrate_sync_busy));
	seq_printf(s, "map_mode %s\n", zsm_map_mode_name());
	seq_printf(s, "chain_size %u\n", zsm_classes.chain);
	seq_printf(s, "huge_class_size %zu\n", zsm_classes.huge_class_size);
	/* What the chain length pick weighs (zsm_class.c). */
	seq_printf(s, "descriptor_fixed_bytes %u\n", zsm_desc_bytes(0, 0));
	seq_printf(s, "pages_evicted %lu\n", READ_ONCE(pool->pages_evicted));
	seq_printf(s, "pages_pending_release %lu\n",
		   /* A statistic: read without pool->deferred_lock. */
		   data_race(pool->pending_pages));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(zsm_summary);

/* === Interface =========================================================== */

/**
 * zsm_pool_debugfs_add() - create a pool's debugfs directory.
 * @pool: the pool.
 *
 * A name already taken (two pools called "zram0") gets a numeric suffix.
 * Failure is not an error: the pool works without statistics.
 */
void zsm_pool_debugfs_add(struct zsm_pool *pool)
{
	char name[ZSM_POOL_NAME_MAX + 16];
	unsigned int n;

	if (IS_ERR_OR_NULL(zsm_debugfs_root))
		return;
	strscpy(name, pool->name, sizeof(name));
	for (n = 1; n < 100; n++) {
		struct dentry *d = debugfs_lookup(name, zsm_debugfs_root);

		if (!d)
			break;
		dput(d);
		snprintf(name, sizeof(name), "%s.%u", pool->name, n);
	}
	pool->debugfs = debugfs_create_dir(name, zsm_debugfs_root);
	if (IS_ERR(pool->debugfs)) {
		pool->debugfs = NULL;
		return;
	}
	debugfs_create_file("classes", 0444, pool->debugfs, pool,
			    &zsm_classes_fops);
	debugfs_create_file("summary", 0444, pool->debugfs, pool,
			    &zsm_summary_fops);
}

/**
 * zsm_pool_debugfs_remove() - remove a pool's debugfs directory.
 * @pool: the pool.
 */
void zsm_pool_debugfs_remove(struct zsm_pool *pool)
{
	debugfs_remove_recursive(pool->debugfs);
	pool->debugfs = NULL;
}

/** zsm_debugfs_init() - create /sys/kernel/debug/zsm. */
void zsm_debugfs_init(void)
{
	zsm_debugfs_root = debugfs_create_dir("zsm", NULL);
}

/** zsm_debugfs_exit() - remove /sys/kernel/debug/zsm. */
void zsm_debugfs_exit(void)
{
	debugfs_remove_recursive(zsm_debugfs_root);
}
