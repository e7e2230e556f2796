// SPDX-License-Identifier: GPL-2.0
/*
 * zsm_test_mix: every path that moves or drops objects, at once, on one
 * pool (guest/tests/mix.sh drives it and adds core mm's part).
 *
 * Threads, started by "start" (writes to debugfs
 * /sys/kernel/debug/zsm_test_mix/ctl) and stopped by "stop":
 *
 *   mappers      one per online CPU, bound to it: pick a random entry;
 *                if its object is in the pool, map it ZS_MM_RO and check
 *                it (3 of 4), or ZS_MM_RW, check it and write its next
 *                generation; if it was evicted, load it back from the
 *                backing store; 1 in 16 picks replace the object by a new
 *                one of another size (fragmenting the pool).
 *   evictor      zs_evict_pages() while the pool holds more than
 *                budget_pct of its pages after the fill; the handler
 *                (evict_fn) copies the object to the backing store,
 *                checking it, and frees it.
 *   compactor    zs_compact() every few milliseconds.
 *
 * The script meanwhile writes /proc/sys/vm/compact_memory and takes a
 * movable memory block holding the pool's pages offline and online.
 *
 * Entries are guarded by bucket spinlocks (entry i by bucket i %
 * MIX_BUCKETS); the handler finds the entry of a handle in an xarray
 * (handle -> entry index) and checks under the bucket lock that the entry
 * still holds that handle. Object contents are those of zsm_test_util.h
 * (identity header, checksum).
 *
 * "stop" stops the threads, then checks every entry (in the pool through
 * ZS_MM_RO, or in the store) and prints mix.maps, mix.evicted,
 * mix.compacted (pages zs_compact() freed), mix.migrated (pages zsm's
 * migration callback moved), mix.reloads, mix.replaced, mix.verified and
 * mix.corrupt (bad bytes seen at any time, including the final check).
 * The write fails (-EIO) on corruption, on a failed call and when an
 * activity of this module never happened.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/xarray.h>
#include <linux/zsmalloc.h>

#include "zsm_internal.h"
#include "zsm_test_util.h"

static unsigned int nr_objs = 4000;
module_param(nr_objs, uint, 0444);
MODULE_PARM_DESC(nr_objs, "Entries (objects in the pool or the store)");

static unsigned int budget_pct = 70;
module_param(budget_pct, uint, 0444);
MODULE_PARM_DESC(budget_pct, "Evict while the pool is above this percent of its filled size");

#define MIX_GFP		(__GFP_HIGHMEM | __GFP_MOVABLE)
#define MIX_BUCKETS	64
#define MIX_MAX_REPORTS	8
#define MIX_MAX_MAPPERS	8

struct mix_entry {
	struct zsm_tu_obj o;	/* o.handle 0: in the store */
	u8 *store;		/* evicted bytes, o.size of them */
};

static struct zs_pool *mix_pool;
static struct mix_entry *mix_e;
static spinlock_t mix_bucket[MIX_BUCKETS];
static DEFINE_XARRAY(mix_index);	/* handle -> entry index + 1 */
static DEFINE_MUTEX(mix_lock);		/* commands */
static struct task_struct *mix_mappers[MIX_MAX_MAPPERS];
static unsigned int mix_nr_mappers;
static struct task_struct *mix_evictor, *mix_compactor;
static unsigned long mix_budget;
static atomic64_t mix_next_id = ATOMIC64_INIT(0);
static long mix_migrated0;
static struct dentry *mix_dir;

static atomic_long_t mix_maps, mix_evicted, mix_compacted, mix_reloads,
	mix_replaced, mix_corrupt, mix_errors, mix_nomem;
static atomic_t mix_reports = ATOMIC_INIT(0);

static spinlock_t *mix_lock_of(unsigned int i)
{
	return &mix_bucket[i % MIX_BUCKETS];
}

/* Check the mapped bytes @p of entry @e; count a mismatch. */
static void mix_check(const struct mix_entry *e, const u8 *p, u8 *scratch,
		      const char *who)
{
	if (!zsm_tu_obj_check(&e->o, p, who, scratch, &mix_reports,
			      MIX_MAX_REPORTS))
		atomic_long_inc(&mix_corrupt);
}

/*
 * Put entry @i's object (size set, bytes in @src or, if NULL, a new
 * generation) into the pool; bucket lock held, so no sleeping allocation.
 * Return: 0, or -ENOMEM (the entry is unchanged).
 */
static int mix_place(unsigned int i, const u8 *src, gfp_t gfp)
{
	struct mix_entry *e = &mix_e[i];
	unsigned long h;
	u8 *p;

	h = zsm_zs_malloc(mix_pool, e->o.size, gfp);
	if (IS_ERR_VALUE(h)) {
		if (h != (unsigned long)ERR_PTR(-ENOMEM))
			atomic_long_inc(&mix_errors);
		return -ENOMEM;
	}
	if (xa_err(xa_store(&mix_index, h, xa_mk_value(i), GFP_ATOMIC))) {
		zs_free(mix_pool, h);
		return -ENOMEM;
	}
	p = zs_map_object(mix_pool, h, ZS_MM_WO);
	if (!p) {
		atomic_long_inc(&mix_errors);
		xa_erase(&mix_index, h);
		zs_free(mix_pool, h);
		return -ENOMEM;
	}
	if (src)
		memcpy(p, src, e->o.size);
	else
		zsm_tu_obj_write(&e->o, p, e->o.gen + 1);
	zs_unmap_object(mix_pool, h);
	e->o.handle = h;
	return 0;
}

/* Drop entry @i's object from the pool; bucket lock held. */
static void mix_drop(unsigned int i)
{
	struct mix_entry *e = &mix_e[i];

	xa_erase(&mix_index, e->o.handle);
	zs_free(mix_pool, e->o.handle);
	e->o.handle = 0;
}

/* === Eviction ============================================================ */

static int mix_evict_fn(struct zs_pool *pool, unsigned long handle,
			void *priv)
{
	u8 *scratch = priv, *copy;
	struct mix_entry *e;
	unsigned int i;
	const u8 *p;
	void *v;

	v = xa_load(&mix_index, handle);
	if (!v)
		return -ENOENT;		/* freed since zsm looked */
	i = xa_to_value(v);
	copy = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	spin_lock(mix_lock_of(i));
	e = &mix_e[i];
	if (e->o.handle != handle) {
		spin_unlock(mix_lock_of(i));
		kfree(copy);
		return -ENOENT;
	}
	p = zs_map_object(pool, handle, ZS_MM_RO);
	if (!p) {
		atomic_long_inc(&mix_errors);
		spin_unlock(mix_lock_of(i));
		kfree(copy);
		return -EIO;
	}
	mix_check(e, p, scratch, "evict");
	memcpy(copy, p, e->o.size);
	zs_unmap_object(pool, handle);
	e->store = copy;
	mix_drop(i);
	spin_unlock(mix_lock_of(i));
	atomic_long_inc(&mix_evicted);
	return 0;
}

static int mix_evictor_fn(void *arg)
{
	while (!kthread_should_stop()) {
		if (zs_get_total_pages(mix_pool) > mix_budget) {
			long got = zs_evict_pages(mix_pool, 4);

			if (got < 0 && got != -ENOENT && got != -EAGAIN &&
			    got != -EBUSY)
				pr_err("zs_evict_pages: %ld\n", got);
		}
		usleep_range(1000, 2000);
	}
	return 0;
}

/* === Compaction ========================================================== */

static int mix_compactor_fn(void *arg)
{
	while (!kthread_should_stop()) {
		atomic_long_add(zs_compact(mix_pool), &mix_compacted);
		usleep_range(3000, 5000);
	}
	return 0;
}

/* === Mappers ============================================================= */

/* Entry @i: map, reload or replace; bucket lock held. */
static void mix_touch(unsigned int i, struct rnd_state *rnd, u8 *scratch)
{
	struct mix_entry *e = &mix_e[i];
	u32 r = prandom_u32_state(rnd);
	u8 *p;

	if (!e->o.handle) {
		/* Evicted: load it back (the store is checked on the way). */
		if (zsm_tu_csum(e->store, e->o.size) != e->o.csum) {
			zsm_tu_obj_check(&e->o, e->store, "store", scratch,
					 &mix_reports, MIX_MAX_REPORTS);
			atomic_long_inc(&mix_corrupt);
		}
		if (mix_place(i, e->store, GFP_NOWAIT | __GFP_NOWARN | MIX_GFP)) {
			atomic_long_inc(&mix_nomem);
			return;
		}
		kfree(e->store);
		e->store = NULL;
		atomic_long_inc(&mix_reloads);
		return;
	}
	if (r % 16 == 0) {
		/* A new object of another size in its place. */
		u32 old = e->o.size;

		mix_drop(i);
		e->o.size = zsm_tu_pick_size(rnd);
		e->o.id = atomic64_inc_return(&mix_next_id);
		if (mix_place(i, NULL, GFP_NOWAIT | __GFP_NOWARN | MIX_GFP)) {
			/* Keep the entry valid: in the store. */
			e->store = kmalloc(e->o.size, GFP_ATOMIC);
			if (!e->store) {
				e->o.size = old;
				atomic_long_inc(&mix_errors);
				return;
			}
			zsm_tu_obj_write(&e->o, e->store, e->o.gen + 1);
			atomic_long_inc(&mix_nomem);
			return;
		}
		atomic_long_inc(&mix_replaced);
		return;
	}
	p = zs_map_object(mix_pool, e->o.handle, r % 4 ? ZS_MM_RO : ZS_MM_RW);
	if (!p) {
		atomic_long_inc(&mix_errors);
		return;
	}
	mix_check(e, p, scratch, "map");
	if (!(r % 4))
		zsm_tu_obj_write(&e->o, p, e->o.gen + 1);
	zs_unmap_object(mix_pool, e->o.handle);
	atomic_long_inc(&mix_maps);
}

static int mix_mapper_fn(void *arg)
{
	u8 *scratch = kmalloc(PAGE_SIZE, GFP_KERNEL);
	struct rnd_state rnd;
	unsigned long n = 0;

	if (!scratch) {
		atomic_long_inc(&mix_errors);
		return -ENOMEM;
	}
	prandom_seed_state(&rnd, 0x313 + (unsigned long)arg);
	while (!kthread_should_stop()) {
		unsigned int i = prandom_u32_state(&rnd) % nr_objs;

		spin_lock(mix_lock_of(i));
		mix_touch(i, &rnd, scratch);
		spin_unlock(mix_lock_of(i));
		if (!(++n & 31))
			cond_resched();
	}
	kfree(scratch);
	return 0;
}

/* === Commands ============================================================ */

static u8 *mix_evict_scratch;

static void mix_threads_stop(void)
{
	unsigned int k;

	for (k = 0; k < mix_nr_mappers; k++)
		kthread_stop(mix_mappers[k]);
	mix_nr_mappers = 0;
	if (mix_evictor)
		kthread_stop(mix_evictor);
	if (mix_compactor)
		kthread_stop(mix_compactor);
	mix_evictor = NULL;
	mix_compactor = NULL;
}

static void mix_free_all(void)
{
	unsigned int i;

	for (i = 0; mix_e && i < nr_objs; i++) {
		if (mix_e[i].o.handle)
			mix_drop(i);
		kfree(mix_e[i].store);
	}
	zs_destroy_pool(mix_pool);
	mix_pool = NULL;
	vfree(mix_e);
	mix_e = NULL;
	kfree(mix_evict_scratch);
	mix_evict_scratch = NULL;
	xa_destroy(&mix_index);
}

static int mix_start(void)
{
	struct rnd_state rnd;
	unsigned int i, k = 0, cpu;

	if (mix_pool)
		return -EBUSY;
	mix_e = vzalloc(array_size(nr_objs, sizeof(*mix_e)));
	mix_evict_scratch = kmalloc(PAGE_SIZE, GFP_KERNEL);
	mix_pool = zs_create_pool("zsm_test_mix");
	if (!mix_e || !mix_evict_scratch || !mix_pool) {
		mix_free_all();
		return -ENOMEM;
	}
	prandom_seed_state(&rnd, 0x31);
	for (i = 0; i < nr_objs; i++) {
		struct mix_entry *e = &mix_e[i];

		e->o.size = zsm_tu_pick_size(&rnd);
		e->o.id = atomic64_inc_return(&mix_next_id);
		if (mix_place(i, NULL, GFP_KERNEL | MIX_GFP)) {
			mix_free_all();
			return -ENOMEM;
		}
		if (!(i & 127))
			cond_resched();
	}
	mix_budget = zs_get_total_pages(mix_pool) * budget_pct / 100;
	zs_set_evict_handler(mix_pool, mix_evict_fn, mix_evict_scratch);
	mix_migrated0 = atomic_long_read(&zsm_pages_migrated);
	pr_info("start: %u objects, %lu pool pages, budget %lu\n", nr_objs,
		zs_get_total_pages(mix_pool), mix_budget);

	for_each_online_cpu(cpu) {
		struct task_struct *t;

		if (k == MIX_MAX_MAPPERS)
			break;
		t = kthread_create(mix_mapper_fn, (void *)(unsigned long)k,
				   "zsm_mix_map/%u", cpu);
		if (IS_ERR(t))
			goto fail;
		kthread_bind(t, cpu);
		mix_mappers[k++] = t;
		mix_nr_mappers = k;
	}
	mix_evictor = kthread_create(mix_evictor_fn, NULL, "zsm_mix_evict");
	if (IS_ERR(mix_evictor)) {
		mix_evictor = NULL;
		goto fail;
	}
	mix_compactor = kthread_create(mix_compactor_fn, NULL, "zsm_mix_compact");
	if (IS_ERR(mix_compactor)) {
		mix_compactor = NULL;
		goto fail;
	}
	for (k = 0; k < mix_nr_mappers; k++)
		wake_up_process(mix_mappers[k]);
	wake_up_process(mix_evictor);
	wake_up_process(mix_compactor);
	return 0;
fail:
	for (k = 0; k < mix_nr_mappers; k++)
		wake_up_process(mix_mappers[k]);
	if (mix_evictor)
		wake_up_process(mix_evictor);
	mix_threads_stop();
	mix_free_all();
	return -ENOMEM;
}

#define MIX_METRIC(name, v) pr_info("zsm-metric mix." name "=%ld\n", (long)(v))

static int mix_stop(void)
{
	unsigned long verified = 0;
	unsigned int i;
	long migrated;
	int err = 0;
	u8 *scratch = mix_evict_scratch;

	if (!mix_pool)
		return -ENOENT;
	mix_threads_stop();
	migrated = atomic_long_read(&zsm_pages_migrated) - mix_migrated0;
	for (i = 0; i < nr_objs; i++) {
		struct mix_entry *e = &mix_e[i];
		const u8 *p;

		if (!e->o.handle) {
			if (zsm_tu_csum(e->store, e->o.size) != e->o.csum)
				atomic_long_inc(&mix_corrupt);
			verified++;
			continue;
		}
		p = zs_map_object(mix_pool, e->o.handle, ZS_MM_RO);
		if (!p) {
			atomic_long_inc(&mix_errors);
			continue;
		}
		mix_check(e, p, scratch, "final");
		zs_unmap_object(mix_pool, e->o.handle);
		verified++;
		if (!(i & 127))
			cond_resched();
	}
	MIX_METRIC("maps", atomic_long_read(&mix_maps));
	MIX_METRIC("evicted", atomic_long_read(&mix_evicted));
	MIX_METRIC("compacted", atomic_long_read(&mix_compacted));
	MIX_METRIC("migrated", migrated);
	MIX_METRIC("reloads", atomic_long_read(&mix_reloads));
	MIX_METRIC("replaced", atomic_long_read(&mix_replaced));
	MIX_METRIC("nomem", atomic_long_read(&mix_nomem));
	MIX_METRIC("verified", verified);
	MIX_METRIC("errors", atomic_long_read(&mix_errors));
	MIX_METRIC("corrupt", atomic_long_read(&mix_corrupt));
	if (atomic_long_read(&mix_corrupt) || atomic_long_read(&mix_errors) ||
	    verified != nr_objs)
		err = -EIO;
	if (!atomic_long_read(&mix_maps) || !atomic_long_read(&mix_evicted) ||
	    !atomic_long_read(&mix_compacted) || !atomic_long_read(&mix_reloads)) {
		pr_err("stop: an activity never happened\n");
		err = -EIO;
	}
	mix_free_all();
	return err;
}

static ssize_t mix_ctl_write(struct file *file, const char __user *ubuf,
			     size_t len, loff_t *ppos)
{
	char cmd[16];
	int err;

	if (len >= sizeof(cmd) || copy_from_user(cmd, ubuf, len))
		return -EINVAL;
	cmd[len] = '\0';
	strim(cmd);
	mutex_lock(&mix_lock);
	if (!strcmp(cmd, "start"))
		err = mix_start();
	else if (!strcmp(cmd, "stop"))
		err = mix_stop();
	else
		err = -EINVAL;
	mutex_unlock(&mix_lock);
	return err ? err : len;
}

static const struct file_operations mix_ctl_fops = {
	.owner = THIS_MODULE,
	.write = mix_ctl_write,
	.llseek = noop_llseek,
};

/* Pages the zsm migration callback moved since start (read while running). */
static int mix_migrated_show(struct seq_file *s, void *unused)
{
	seq_printf(s, "%ld\n", atomic_long_read(&zsm_pages_migrated) -
		   READ_ONCE(mix_migrated0));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mix_migrated);

static int __init mix_init(void)
{
	unsigned int i;

	if (!nr_objs || !budget_pct || budget_pct > 100)
		return -EINVAL;
	for (i = 0; i < MIX_BUCKETS; i++)
		spin_lock_init(&mix_bucket[i]);
	mix_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("ctl", 0200, mix_dir, NULL, &mix_ctl_fops);
	debugfs_create_file("migrated", 0444, mix_dir, NULL,
			    &mix_migrated_fops);
	return 0;
}

static void __exit mix_exit(void)
{
	debugfs_remove_recursive(mix_dir);
	mutex_lock(&mix_lock);
	if (mix_pool) {
		mix_threads_stop();
		mix_free_all();
	}
	mutex_unlock(&mix_lock);
}

module_init(mix_init);
module_exit(mix_exit);

MODULE_DESCRIPTION("zsm integration test: eviction, compaction, migration, offline and mapping at once");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(ZSM_KUNIT_NS);
