// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite zsm_alloc: where objects go, what compaction may do, and what
 * a pool's destruction waits for.
 *
 * - zs_malloc() puts an object into a slot of a page the class already
 *   holds when there is one, before it adds a page to a zspage
 *   (malloc_prefers_present_pages); when adding a page fails and a slot
 *   has been freed meanwhile, it uses that slot instead of failing
 *   (malloc_page_failure_uses_freed_slot).
 * - Compaction never allocates: it does not add a page to a target zspage,
 *   and what it frees when the other zspages have no room is the pages at
 *   the end of a source whose objects fit in its own first pages
 *   (compaction_never_adds_a_page); it counts no free slot of a
 *   zspage that is being evicted, so a compaction started from an eviction
 *   handler neither drains a source it cannot place nor warns
 *   (compaction_during_eviction).
 * - zs_destroy_pool() does not wait for an RCU grace period
 *   (destroy_does_not_wait_for_rcu).
 * - Slot words name handle words through the class's handle block
 *   directory: a class's metadata stays below the 16 bytes an object
 *   zsmalloc keeps (its in-object header and its handle), the directory
 *   grows with the handle blocks, compaction moves objects through it, and
 *   it goes with the last handle block
 *   (handle_directory_follows_handle_blocks); it grows by doubling its
 *   first leaf and then by whole leaves, keeping every entry, and a spare
 *   prepared before another zs_malloc() grew it is refused
 *   (handle_directory_grows_by_leaves).
 *
 * Every object's bytes are checked (zsm_test_util.h) after every step that
 * could move them.
 */

#include <kunit/test.h>
#include <kunit/static_stub.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/completion.h>
#include <linux/ktime.h>

#define ZSM_TU_KUNIT
#include "zsm_test_util.h"

MODULE_IMPORT_NS(ZSM_KUNIT_NS);

/* Objects of a fixture: two zspages of the class picked below, any PAGE_SIZE. */
#define ZA_MAX_OBJS	(512 * (PAGE_SIZE / SZ_4K))

/*
 * The class objects of @size go to; the first class from @size up whose
 * zspages chain at least @min_pages pages, hold 8 objects or more, and
 * 2 or more in their first page (so that pages are added one by one).
 */
static struct zsm_class *za_class(struct zsm_kt_fx *fx, unsigned int size,
				  unsigned int min_pages)
{
	struct zsm_pool *pool = zsm_pool(fx->pool);
	struct zsm_class *class;

	for (; size <= PAGE_SIZE / 2; size += ZSM_CLASS_DELTA) {
		class = pool->class_of[zsm_size_to_slot(size)];
		if (class->geom.pages >= min_pages && class->geom.objs >= 8 &&
		    class->slots_in[1] >= 2)
			break;
	}
	KUNIT_ASSERT_LE(fx->test, size, PAGE_SIZE / 2);
	KUNIT_ASSERT_LE(fx->test, class->geom.objs, ZA_MAX_OBJS / 2);
	return class;
}

static unsigned int za_alloc(struct zsm_kt_fx *fx, struct zsm_class *class,
			     gfp_t gfp)
{
	int i = zsm_kt_alloc(fx, class->geom.size, gfp);

	KUNIT_ASSERT_GE_MSG(fx->test, i, 0, "zs_malloc: %d", i);
	return i;
}

static struct zsm_zspage *za_zspage(struct zsm_kt_fx *fx, unsigned int i)
{
	return zsm_kt_zspage(&fx->objs[i]);
}

static void za_check_all(struct zsm_kt_fx *fx)
{
	unsigned int i;

	for (i = 0; i < fx->nr; i++) {
		if (fx->objs[i].handle)
			zsm_kt_check(fx, i);
	}
}

/*
 * A full zspage A, then a zspage B whose present page is full and whose
 * other pages are not there yet (B's free slots all need a new page).
 * Return: the index of B's first object; A's objects are 0..objs-1.
 */
static unsigned int za_make_full_and_partial(struct zsm_kt_fx *fx,
					     struct zsm_class *class)
{
	unsigned int i, b;

	for (i = 0; i < class->geom.objs; i++)
		za_alloc(fx, class, GFP_KERNEL);
	b = fx->nr;
	for (i = 0; i < class->slots_in[1]; i++)
		za_alloc(fx, class, GFP_KERNEL);
	KUNIT_ASSERT_PTR_NE(fx->test, za_zspage(fx, 0), za_zspage(fx, b));
	KUNIT_ASSERT_EQ(fx->test, za_zspage(fx, b)->nr_pages, 1);
	return b;
}

static void malloc_prefers_present_pages(struct kunit *test)
{
	struct zsm_kt_fx *fx = zsm_kt_fx_create(test, "zsm_alloc", ZA_MAX_OBJS);
	struct zsm_class *class = za_class(fx, 256, 2);
	struct zsm_zspage *a, *b;
	unsigned int bi, n, i;
	unsigned long pages;

	bi = za_make_full_and_partial(fx, class);
	a = za_zspage(fx, 0);
	b = za_zspage(fx, bi);
	/*
	 * A keeps one object: B is the fuller zspage, but its next slot
	 * needs a page, while A has free slots in pages it holds.
	 */
	for (i = 1; i < class->geom.objs; i++)
		zsm_kt_free(fx, i);
	KUNIT_ASSERT_GT(test, b->inuse, a->inuse);
	pages = zs_get_total_pages(fx->pool);
	n = za_alloc(fx, class, GFP_NOWAIT | __GFP_NOWARN);
	KUNIT_EXPECT_PTR_EQ(test, za_zspage(fx, n), a);
	KUNIT_EXPECT_EQ(test, zs_get_total_pages(fx->pool), pages);
	KUNIT_EXPECT_EQ(test, b->nr_pages, 1);
	za_check_all(fx);
}

/*
 * zsm_page_alloc() replaced: fails; the first call also frees object
 * za_stub_free_idx, as another task could at that moment.
 */
static struct zsm_kt_fx *za_stub_fx;
static unsigned int za_stub_calls;
static int za_stub_free_idx = -1;

static struct page *za_page_alloc_stub(gfp_t gfp, int nid)
{
	za_stub_calls++;
	if (za_stub_free_idx >= 0) {
		zsm_kt_free(za_stub_fx, za_stub_free_idx);
		za_stub_free_idx = -1;
	}
	return NULL;
}

static void malloc_page_failure_uses_freed_slot(struct kunit *test)
{
	struct zsm_kt_fx *fx = zsm_kt_fx_create(test, "zsm_alloc", ZA_MAX_OBJS);
	struct zsm_class *class = za_class(fx, 256, 2);
	unsigned long pages, h;
	struct zsm_zspage *a;
	unsigned int bi;

	bi = za_make_full_and_partial(fx, class);
	a = za_zspage(fx, 0);
	pages = zs_get_total_pages(fx->pool);
	za_stub_fx = fx;
	za_stub_calls = 0;
	za_stub_free_idx = 0;
	kunit_activate_static_stub(test, zsm_page_alloc, za_page_alloc_stub);
	/* Every present slot is used: B's next needs a page, which fails. */
	h = zsm_zs_malloc(fx->pool, class->geom.size, GFP_NOWAIT | __GFP_NOWARN);
	kunit_deactivate_static_stub(test, zsm_page_alloc);
	KUNIT_EXPECT_EQ(test, za_stub_calls, 1U);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR_VALUE(h), "zs_malloc: %ld",
			       (long)h);
	/* It went into the slot object 0 left in A. */
	KUNIT_EXPECT_PTR_EQ(test,
			    zsm_obj_zspage(READ_ONCE(*(unsigned long *)h)), a);
	KUNIT_EXPECT_EQ(test, zs_get_total_pages(fx->pool), pages);
	zs_free(fx->pool, h);

	/* No free slot anywhere: -ENOMEM, and nothing held for it. */
	za_alloc(fx, class, GFP_KERNEL);	/* object 0's old slot */
	pages = atomic_long_read(&zsm_pages_held);
	kunit_activate_static_stub(test, zsm_page_alloc, za_page_alloc_stub);
	h = zsm_zs_malloc(fx->pool, class->geom.size, GFP_NOWAIT | __GFP_NOWARN);
	kunit_deactivate_static_stub(test, zsm_page_alloc);
	KUNIT_EXPECT_EQ(test, h, (unsigned long)ERR_PTR(-ENOMEM));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&zsm_pages_held), pages);
	KUNIT_EXPECT_EQ(test, za_zspage(fx, bi)->nr_pages, 1);
	za_check_all(fx);
}

/*
 * zs_compact() with zsm_page_alloc() replaced by the stub: compaction must
 * not ask for a page at all (the stub would fail it, and counts the call).
 */
static unsigned long za_compact_no_page(struct kunit *test,
					struct zsm_kt_fx *fx)
{
	unsigned long freed;

	za_stub_calls = 0;
	za_stub_free_idx = -1;
	kunit_activate_static_stub(test, zsm_page_alloc, za_page_alloc_stub);
	freed = zs_compact(fx->pool);
	kunit_deactivate_static_stub(test, zsm_page_alloc);
	KUNIT_EXPECT_EQ_MSG(test, za_stub_calls, 0U,
			    "compaction asked for a page");
	return freed;
}

static void compaction_never_adds_a_page(struct kunit *test)
{
	struct zsm_kt_fx *fx = zsm_kt_fx_create(test, "zsm_alloc", ZA_MAX_OBJS);
	struct zsm_class *class = za_class(fx, 256, 2);
	unsigned int objs = class->geom.objs, bi, i, a_pages;
	unsigned long pages, held;
	struct zsm_zspage *b;

	bi = za_make_full_and_partial(fx, class);
	b = za_zspage(fx, bi);
	/*
	 * A keeps its last two objects, in its last page: fewer than B has
	 * free slots, but B could take them only by adding a page. They move
	 * to A's own first slots instead (its first page holds two or more),
	 * and A's other pages go.
	 */
	for (i = 0; i < objs - 2; i++)
		zsm_kt_free(fx, i);
	pages = zs_get_total_pages(fx->pool);
	held = atomic_long_read(&zsm_pages_held);
	a_pages = za_zspage(fx, objs - 1)->nr_pages;
	KUNIT_ASSERT_GE(test, a_pages, 2U);
	KUNIT_EXPECT_EQ(test, za_compact_no_page(test, fx), a_pages - 1UL);
	KUNIT_EXPECT_EQ(test, b->nr_pages, 1);
	KUNIT_EXPECT_EQ(test, za_zspage(fx, objs - 1)->nr_pages, 1);
	KUNIT_EXPECT_EQ(test, zs_get_total_pages(fx->pool),
			pages - (a_pages - 1));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&zsm_pages_held),
			held - (a_pages - 1));
	za_check_all(fx);
	/* Nothing left to gain: nothing moves. */
	KUNIT_EXPECT_EQ(test, za_compact_no_page(test, fx), 0UL);
	za_check_all(fx);

	/* B down to one object, which fits in A's present pages: moved. */
	for (i = bi + 1; i < fx->nr; i++)
		zsm_kt_free(fx, i);
	KUNIT_EXPECT_EQ(test, za_compact_no_page(test, fx), 1UL);
	KUNIT_EXPECT_EQ(test, class->nr_zspages, 1UL);
	KUNIT_EXPECT_PTR_EQ(test, za_zspage(fx, bi), za_zspage(fx, objs - 1));
	za_check_all(fx);
}

/* Eviction handler: compacts the pool on its first call, then evicts. */
struct za_evict {
	struct zsm_kt_fx *fx;
	unsigned int calls;
	unsigned long compacted;
};

static int za_evict_handler(struct zs_pool *pool, unsigned long handle,
			    void *priv)
{
	struct za_evict *ev = priv;
	struct zsm_kt_fx *fx = ev->fx;
	unsigned int i;

	if (!ev->calls++)
		ev->compacted = zs_compact(pool);
	for (i = 0; i < fx->nr; i++) {
		if (fx->objs[i].handle == handle) {
			zsm_kt_free(fx, i);
			return 0;
		}
	}
	return -ENOENT;
}

static void compaction_during_eviction(struct kunit *test)
{
	struct zsm_kt_fx *fx = zsm_kt_fx_create(test, "zsm_alloc", ZA_MAX_OBJS);
	struct zsm_class *class = za_class(fx, 256, 1);
	unsigned int objs = class->geom.objs, i, bi;
	struct za_evict ev = { .fx = fx };
	long freed;

	/* A: the coldest zspage, one object left; B: two objects. */
	for (i = 0; i < objs; i++)
		za_alloc(fx, class, GFP_KERNEL);
	bi = fx->nr;
	for (i = 0; i < 2; i++)
		za_alloc(fx, class, GFP_KERNEL);
	KUNIT_ASSERT_PTR_NE(test, za_zspage(fx, 0), za_zspage(fx, bi));
	for (i = 1; i < objs; i++)
		zsm_kt_free(fx, i);

	/*
	 * The compaction inside the handler must not count A's free slots
	 * as room for B: A is being evicted.
	 */
	zs_set_evict_handler(fx->pool, za_evict_handler, &ev);
	freed = zs_evict_pages(fx->pool, 1);
	zs_set_evict_handler(fx->pool, NULL, NULL);
	KUNIT_EXPECT_GE(test, freed, 1L);
	KUNIT_EXPECT_EQ(test, ev.calls, 1U);
	KUNIT_EXPECT_EQ(test, ev.compacted, 0UL);
	KUNIT_EXPECT_EQ(test, fx->objs[0].handle, 0UL);
	KUNIT_EXPECT_EQ(test, class->nr_zspages, 1UL);
	za_check_all(fx);
}

/* An RCU reader on another CPU that keeps a grace period from ending. */
struct za_reader {
	struct completion in;
	unsigned int ms;
};

static int za_rcu_reader(void *data)
{
	struct za_reader *r = data;

	rcu_read_lock();
	complete(&r->in);
	mdelay(r->ms);
	rcu_read_unlock();
	return 0;
}

static void za_rcu_nop(struct rcu_head *head)
{
}

static void destroy_does_not_wait_for_rcu(struct kunit *test)
{
	struct za_reader r = { .ms = 600 };
	static struct rcu_head head;
	struct task_struct *t;
	struct zs_pool *pool;
	unsigned long h[64];
	unsigned int i;
	ktime_t start;
	s64 ms;

	if (num_online_cpus() < 2)
		kunit_skip(test, "needs two CPUs");
	pool = zs_create_pool("zsm_alloc_kunit_rcu");
	KUNIT_ASSERT_NOT_NULL(test, pool);
	for (i = 0; i < ARRAY_SIZE(h); i++) {
		h[i] = zsm_zs_malloc(pool, 100 + i * 40, GFP_KERNEL);
		KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(h[i]));
	}
	for (i = 0; i < ARRAY_SIZE(h); i++)
		zs_free(pool, h[i]);

	init_completion(&r.in);
	t = kthread_create(za_rcu_reader, &r, "zsm_rcu_reader");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	kthread_bind(t, cpumask_any_but(cpu_online_mask, raw_smp_processor_id()));
	wake_up_process(t);
	wait_for_completion(&r.in);
	/* A callback pending behind the reader, as the system always has. */
	call_rcu(&head, za_rcu_nop);
	start = ktime_get();
	zs_destroy_pool(pool);
	ms = ktime_ms_delta(ktime_get(), start);
	/* The reader ends after r.ms: waiting for it would take that long. */
	KUNIT_EXPECT_LT_MSG(test, ms, (s64)r.ms / 2,
			    "zs_destroy_pool() took %lld ms behind an RCU reader",
			    ms);
	rcu_barrier();
}

/* The class of the smallest objects. */
static struct zsm_class *za_smallest_class(struct zsm_kt_fx *fx)
{
	return zsm_pool(fx->pool)->class_of[zsm_size_to_slot(ZSM_MIN_ALLOC)];
}

static void handle_directory_follows_handle_blocks(struct kunit *test)
{
	/* Enough objects for the descriptors' fixed parts to be amortised. */
	unsigned int n = 79 * ZSM_HANDLES_PER_BLOCK + 1, i;
	struct zsm_kt_fx *fx = zsm_kt_fx_create(test, "zsm_alloc", n);
	struct zsm_class *class = za_smallest_class(fx);
	struct zsm_pool *pool = zsm_pool(fx->pool);

	for (i = 0; i < n; i++) {
		za_alloc(fx, class, GFP_KERNEL);
		/* The class's own ids serve its first handle blocks. */
		if (i == ZSM_HDIR_MIN * ZSM_HANDLES_PER_BLOCK - 1)
			KUNIT_EXPECT_EQ(test, class->hdir_bytes, 0U);
	}
	/* 80 handle blocks: the first leaf grew from 4 ids to 8, ... 128. */
	KUNIT_EXPECT_EQ(test, class->nr_handle_blocks, 80UL);
	KUNIT_EXPECT_EQ(test, class->hdir_len, 128U);
	KUNIT_EXPECT_EQ(test, class->hdir_leaves, 1U);
	KUNIT_EXPECT_EQ(test, zsm_pool_meta_bytes(pool),
			(long)zsm_kt_meta_bytes(fx->pool));
	/* Only this class has objects: all of the pool's metadata is theirs. */
	KUNIT_EXPECT_LT_MSG(test, zsm_pool_meta_bytes(pool), 16L * n,
			    "%ld bytes of metadata for %u objects",
			    zsm_pool_meta_bytes(pool), n);

	/* Half of them freed; compaction moves the rest by their slot words. */
	for (i = 0; i < n; i += 2)
		zsm_kt_free(fx, i);
	KUNIT_EXPECT_GT(test, zs_compact(fx->pool), 0UL);
	za_check_all(fx);
	KUNIT_EXPECT_EQ(test, zsm_pool_meta_bytes(pool),
			(long)zsm_kt_meta_bytes(fx->pool));

	for (i = 1; i < n; i += 2)
		zsm_kt_free(fx, i);
	zsm_tu_released(fx->pool);
	KUNIT_EXPECT_EQ(test, class->nr_handle_blocks, 0UL);
	/* Back to the class's own ids, nothing allocated. */
	KUNIT_EXPECT_EQ(test, class->hdir_len, ZSM_HDIR_MIN);
	KUNIT_EXPECT_EQ(test, class->hdir_bytes, 0U);
	KUNIT_EXPECT_EQ(test, zsm_pool_meta_bytes(pool), 0L);
}

/* A recognisable stand-in for handle block @id (never dereferenced). */
static struct zsm_handle_block *za_fake_hblock(unsigned int id)
{
	return (struct zsm_handle_block *)(PAGE_OFFSET + (id + 1UL) * PAGE_SIZE);
}

static void handle_directory_grows_by_leaves(struct kunit *test)
{
	struct zsm_kt_fx *fx = zsm_kt_fx_create(test, "zsm_alloc", 1);
	struct zsm_class *class = za_smallest_class(fx);
	struct zsm_pool *pool = zsm_pool(fx->pool);
	struct zsm_hdir_spare sp = { }, late = { };
	unsigned int len = class->hdir_len, want = 2 * len, i;
	bool grew;

	KUNIT_ASSERT_EQ(test, len, ZSM_HDIR_MIN);
	spin_lock(&class->lock);
	for (i = 0; i < len; i++)
		*__zsm_hdir_entry(class, i) = za_fake_hblock(i);
	spin_unlock(&class->lock);
	while (len <= 2 * ZSM_HDIR_LEAF) {
		KUNIT_ASSERT_EQ(test, zsm_hdir_prepare(class, &sp, GFP_KERNEL), 0);
		spin_lock(&class->lock);
		grew = __zsm_hdir_grow(class, &sp);
		if (grew) {
			for (i = 0; i < class->hdir_len; i++) {
				struct zsm_handle_block **e = __zsm_hdir_entry(class, i);

				if (i >= len)
					*e = za_fake_hblock(i);
				else if (*e != za_fake_hblock(i))
					break;
			}
			len = class->hdir_len;
		}
		spin_unlock(&class->lock);
		zsm_hdir_spare_release(&sp);
		KUNIT_ASSERT_TRUE(test, grew);
		KUNIT_ASSERT_EQ_MSG(test, i, len, "entry %u lost at %u ids", i, len);
		KUNIT_EXPECT_EQ(test, len, want);
		KUNIT_EXPECT_EQ(test, zsm_pool_meta_bytes(pool),
				(long)class->hdir_bytes);
		want = want < ZSM_HDIR_LEAF ? 2 * want : want + ZSM_HDIR_LEAF;
	}
	KUNIT_EXPECT_GE(test, class->hdir_leaves, 3U);

	/* Two spares for the same growth: the second comes too late. */
	KUNIT_ASSERT_EQ(test, zsm_hdir_prepare(class, &sp, GFP_KERNEL), 0);
	KUNIT_ASSERT_EQ(test, zsm_hdir_prepare(class, &late, GFP_KERNEL), 0);
	spin_lock(&class->lock);
	KUNIT_EXPECT_TRUE(test, __zsm_hdir_grow(class, &sp));
	KUNIT_EXPECT_FALSE(test, __zsm_hdir_grow(class, &late));
	for (i = 0; i < class->hdir_len; i++)
		*__zsm_hdir_entry(class, i) = NULL;
	spin_unlock(&class->lock);
	zsm_hdir_spare_release(&sp);
	zsm_hdir_spare_release(&late);
	/* No handle block: zs_destroy_pool() frees the directory (kmemleak). */
	KUNIT_EXPECT_GT(test, class->hdir_bytes, 0U);
}

static struct kunit_case zsm_alloc_cases[] = {
	KUNIT_CASE(malloc_prefers_present_pages),
	KUNIT_CASE(malloc_page_failure_uses_freed_slot),
	KUNIT_CASE(compaction_never_adds_a_page),
	KUNIT_CASE(compaction_during_eviction),
	KUNIT_CASE_SLOW(destroy_does_not_wait_for_rcu),
	KUNIT_CASE(handle_directory_follows_handle_blocks),
	KUNIT_CASE(handle_directory_grows_by_leaves),
	{}
};

static struct kunit_suite zsm_alloc_suite = {
	.name = "zsm_alloc",
	.test_cases = zsm_alloc_cases,
};

kunit_test_suite(zsm_alloc_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit: zsm allocation placement, compaction, pool destruction");
