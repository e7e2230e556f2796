// SPDX-License-Identifier: GPL-2.0
/*
 * zsm: handle blocks.
 *
 * A handle is the address of a word in a handle block: ZSM_HBLOCK_SIZE bytes
 * of its own class, aligned to their size, headed by struct
 * zsm_handle_block, whose other words are handle words. A live handle's
 * word holds the object's location (zsm_obj_encode()); a free one links to
 * the next free word of its block. Handle blocks come and go with the
 * handles they hold, under the class lock, so zs_malloc() takes a handle
 * and a slot in one critical section, and zs_free() and the map path can
 * check a handle (owner, liveness) before they trust it. Blocks are a
 * fraction of a page so that the many classes of a pool that hold few
 * objects each do not hold a page of handle words each.
 *
 * Blocks are carved from pages of their pool, ZSM_HBLOCKS_PER_PAGE to a
 * page, shared by the pool's classes: a page counts PAGE_SIZE bytes in the
 * pool's metadata (zsm_pool_meta_add()) from its first block taken to its
 * last block given back, so what the blocks cost is exact and the pool's own, free blocks
 * included, whatever the slab allocator or its debugging options would
 * add. A page's free blocks are on a list through the blocks themselves
 * (page->private its head, the page's blocks in use in page->index, the
 * pages with a free block on pool->hblock_pages by page->lru), under
 * pool->hblock_lock.
 *
 * Two checks of a handle, sharing their opening tests
 * (zsm_handle_word_ok()): zsm_handle_class() (zs_free(): also that the
 * handle is in a valid page of the direct map) and zsm_handle_mapcheck()
 * (map path); both recognise the pool by the cookie in the header of the
 * handle's block. They, and taking and returning a handle word, are inline
 * (zsm_hot.h, zsm_internal.h); this file keeps the life of handle blocks.
 *
 * Slot words name handle words in 32 bits (zsm_slot_ref()): by the handle
 * block's id, its index in the class's directory (class->hdir), and the
 * word's index in the block. The directory holds a pointer per handle
 * block (8 bytes per ZSM_HANDLES_PER_BLOCK handles) in leaves of at most a
 * page, so no allocation of it is bigger than a page until a class has
 * ZSM_HDIR_LEAF^2 handle blocks. Its first ZSM_HDIR_MIN ids are in the
 * class itself, so a class with few objects allocates none. It grows when
 * a new handle block finds no free id (allocated by zs_malloc() without the
 * lock, installed under it), a freed id is reused lowest first, and it
 * shrinks back to the class's own ids with the class's last handle block.
 */

#include <linux/kasan.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/list.h>
#include <linux/slab.h>
#include <kunit/visibility.h>

#include "zsm_internal.h"

/* A free block of a block page: its cookie cleared, linked to the next. */
struct zsm_hblock_free {
	unsigned long cookie;
	struct zsm_hblock_free *next;
};

/* A free block of one of @pool's block pages, taken, or NULL. */
static struct zsm_handle_block *zsm_hblock_take(struct zsm_pool *pool)
{
	struct zsm_hblock_free *f = NULL;
	struct page *page;

	spin_lock(&pool->hblock_lock);
	page = list_first_entry_or_null(&pool->hblock_pages, struct page, lru);
	if (page) {
		f = (struct zsm_hblock_free *)page_private(page);
		set_page_private(page, (unsigned long)f->next);
		zsm_page_set_index(page, zsm_page_index(page) + 1);
		if (!f->next)
			list_del_init(&page->lru);
	}
	spin_unlock(&pool->hblock_lock);
	return (struct zsm_handle_block *)f;
}

/* A new block page of @pool, its first block taken, or NULL. */
static struct zsm_handle_block *zsm_hblock_page_new(struct zsm_pool *pool,
						    gfp_t gfp)
{
	struct page *page = alloc_page(zsm_meta_gfp(gfp));
	struct zsm_hblock_free *f, *next = NULL;
	void *base;
	unsigned int i;

	if (!page)
		return NULL;
	atomic_long_inc(&zsm_pages_held);
	zsm_pool_meta_add(pool, PAGE_SIZE);
	/*
	 * Handles are untagged pointers: with KASAN's tags (MTE, or software
	 * tags) page_address() carries the page's tag in the top byte, and
	 * zsm_handle_mapcheck() compares handles as addresses. The untagged
	 * (match-all) pointer reaches the same memory.
	 */
	base = kasan_reset_tag(page_address(page));
	for (i = ZSM_HBLOCKS_PER_PAGE - 1; i > 0; i--) {
		f = base + i * ZSM_HBLOCK_SIZE;
		f->cookie = 0;
		f->next = next;
		next = f;
	}
	set_page_private(page, (unsigned long)next);
	zsm_page_set_index(page, 1);
	spin_lock(&pool->hblock_lock);
	pool->nr_hblock_pages++;
	list_add(&page->lru, &pool->hblock_pages);
	/* Before any handle of the page is returned (zsm_handle_mapcheck()). */
	if ((unsigned long)base < pool->hblock_lo)
		WRITE_ONCE(pool->hblock_lo, (unsigned long)base);
	if ((unsigned long)base + PAGE_SIZE > pool->hblock_hi)
		WRITE_ONCE(pool->hblock_hi, (unsigned long)base + PAGE_SIZE);
	spin_unlock(&pool->hblock_lock);
	return base;
}

/**
 * zsm_handle_block_alloc() - a new handle block for @class, all words free.
 * @class: the class it will serve (not locked: the block is not installed).
 * @gfp: zs_malloc()'s flags, for a new block page (without highmem or
 *	movable).
 *
 * A free block of the pool's block pages, or the first of a new page. Install
 * it with __zsm_handle_block_add(); give it back with
 * zsm_handle_block_release().
 *
 * Return: the block or NULL.
 */
struct zsm_handle_block *zsm_handle_block_alloc(struct zsm_class *class,
						gfp_t gfp)
{
	struct zsm_handle_block *h;
	unsigned long *words, link;
	unsigned int i;

	h = zsm_hblock_take(class->pool);
	if (!h)
		h = zsm_hblock_page_new(class->pool, gfp);
	if (!h)
		return NULL;
	words = (unsigned long *)(h + 1);
	WRITE_ONCE(h->class, class);
	/*
	 * The class before the cookie: while the block was free, the class
	 * field was a free-list link. Pairs with the smp_rmb() of
	 * zsm_handle_class(), whose caller (a stale handle's zs_free()) must
	 * not see this cookie with that link.
	 */
	smp_store_release(&h->cookie, zsm_handle_block_cookie(class->pool));
	/*
	 * Every word links to the one after it: the same value in each, so
	 * stored eight at a time (this runs in zs_malloc()).
	 */
	link = zsm_handle_free_link(&words[0], &words[1]);
	for (i = 0; i + 8 < ZSM_HANDLES_PER_BLOCK; i += 8) {
		words[i] = link;
		words[i + 1] = link;
		words[i + 2] = link;
		words[i + 3] = link;
		words[i + 4] = link;
		words[i + 5] = link;
		words[i + 6] = link;
		words[i + 7] = link;
	}
	for (; i < ZSM_HANDLES_PER_BLOCK - 1; i++)
		words[i] = link;
	words[i] = zsm_handle_free_link(&words[i], NULL);
	h->free = words;
	h->inuse = 0;
	return h;
}

/* Ids @class's directory will hold after its next growth. */
static unsigned int zsm_hdir_next_len(unsigned int len)
{
	if (len < ZSM_HDIR_LEAF)
		return min_t(unsigned int, 2 * len, ZSM_HDIR_LEAF);
	return len + ZSM_HDIR_LEAF;
}

/* Leaves a directory of @len ids has. */
static unsigned int zsm_hdir_nr_leaves(unsigned int len)
{
	return DIV_ROUND_UP(len, ZSM_HDIR_LEAF);
}

/* Ids in the last leaf of a directory of @len ids (@leaves leaves). */
static unsigned int zsm_hdir_last_leaf_len(unsigned int len,
					   unsigned int leaves)
{
	return len - (leaves - 1) * ZSM_HDIR_LEAF;
}

/**
 * zsm_hdir_prepare() - allocate what @class's directory needs to grow.
 * @class: the class (not locked: __zsm_hdir_grow() checks that @sp still
 *	fits).
 * @sp: the spare; what it holds already is released first.
 * @gfp: zs_malloc()'s flags. Every allocation is at most a page.
 *
 * Return: 0, or -ENOMEM (also when the directory has ZSM_HDIR_MAX ids).
 */
int zsm_hdir_prepare(struct zsm_class *class, struct zsm_hdir_spare *sp,
		     gfp_t gfp)
{
	unsigned int len = READ_ONCE(class->hdir_len);
	unsigned int next = zsm_hdir_next_len(len);
	unsigned int leaves = zsm_hdir_nr_leaves(next);

	zsm_hdir_spare_release(sp);
	if (next > ZSM_HDIR_MAX)
		return -ENOMEM;
	gfp = zsm_meta_gfp(gfp);
	sp->leaf_len = zsm_hdir_last_leaf_len(next, leaves);
	sp->leaf = kcalloc(sp->leaf_len, sizeof(*sp->leaf), gfp);
	if (!sp->leaf)
		return -ENOMEM;
	if (leaves > READ_ONCE(class->hdir_leaves)) {
		sp->nr_leaves = max(leaves, 2 * READ_ONCE(class->hdir_leaves));
		sp->leaves = kcalloc(sp->nr_leaves, sizeof(*sp->leaves), gfp);
		if (!sp->leaves)
			return -ENOMEM;
	}
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(zsm_hdir_prepare);

/**
 * __zsm_hdir_spare_fits() - can @sp grow @class's directory now?
 * @class: the class, locked.
 * @sp: a spare from zsm_hdir_prepare(), or an empty one.
 *
 * Return: false if @sp is empty or was prepared for a directory of another
 * size (another zs_malloc() grew or freed it meanwhile): prepare again.
 */
bool __zsm_hdir_spare_fits(const struct zsm_class *class,
			   const struct zsm_hdir_spare *sp)
{
	unsigned int next = zsm_hdir_next_len(class->hdir_len);
	unsigned int leaves = zsm_hdir_nr_leaves(next);

	lockdep_assert_held(&class->lock);
	return sp->leaf && sp->leaf_len == zsm_hdir_last_leaf_len(next, leaves) &&
	       (leaves <= class->hdir_leaves || sp->nr_leaves >= leaves);
}

/**
 * __zsm_hdir_grow() - grow @class's directory with what @sp holds.
 * @class: the class, locked.
 * @sp: from zsm_hdir_prepare(); what it gives up is taken out of it, and
 *	what the directory replaced put in, for zsm_hdir_spare_release()
 *	after unlocking.
 *
 * Return: true if the directory grew; false if @sp does not fit
 * (__zsm_hdir_spare_fits()).
 */
bool __zsm_hdir_grow(struct zsm_class *class, struct zsm_hdir_spare *sp)
{
	unsigned int next = zsm_hdir_next_len(class->hdir_len);
	unsigned int leaves = zsm_hdir_nr_leaves(next);
	unsigned int last = leaves - 1;
	struct zsm_handle_block **old_leaf = NULL;
	long bytes;

	if (!__zsm_hdir_spare_fits(class, sp))
		return false;
	bytes = sp->leaf_len * sizeof(*sp->leaf);
	if (leaves > class->hdir_leaves) {
		struct zsm_handle_block ***old = class->hdir;

		memcpy(sp->leaves, old, class->hdir_leaves * sizeof(*old));
		bytes += sp->nr_leaves * sizeof(*old);
		if (old != &class->hdir_top_first)
			bytes -= class->hdir_leaves * sizeof(*old);
		else
			old = NULL;
		class->hdir = sp->leaves;
		/* zsm_hdir_prepare() reads it without the lock. */
		WRITE_ONCE(class->hdir_leaves, sp->nr_leaves);
		sp->leaves = old;
	}
	/* The first leaf doubles: its ids move to the bigger one. */
	if (last * ZSM_HDIR_LEAF < class->hdir_len) {
		old_leaf = class->hdir[last];
		memcpy(sp->leaf, old_leaf,
		       (class->hdir_len - last * ZSM_HDIR_LEAF) * sizeof(*old_leaf));
		if (old_leaf != class->hdir_first)
			bytes -= (long)(class->hdir_len - last * ZSM_HDIR_LEAF) *
				 sizeof(*old_leaf);
		else
			old_leaf = NULL;
	}
	class->hdir[last] = sp->leaf;
	WRITE_ONCE(class->hdir_len, next);
	sp->leaf = old_leaf;
	class->hdir_bytes += bytes;
	zsm_pool_meta_add(class->pool, bytes);
	return true;
}
EXPORT_SYMBOL_IF_KUNIT(__zsm_hdir_grow);

/* Free what a zsm_hdir_spare holds. */
void zsm_hdir_spare_release(struct zsm_hdir_spare *sp)
{
	kfree(sp->leaf);
	kfree(sp->leaves);
	sp->leaf = NULL;
	sp->leaves = NULL;
	sp->leaf_len = 0;
	sp->nr_leaves = 0;
}
EXPORT_SYMBOL_IF_KUNIT(zsm_hdir_spare_release);

/**
 * zsm_hdir_init() - give @class its first directory: ZSM_HDIR_MIN ids in
 * the class itself, nothing allocated.
 * @class: a new class, or one whose directory holds no handle block.
 */
void zsm_hdir_init(struct zsm_class *class)
{
	memset(class->hdir_first, 0, sizeof(class->hdir_first));
	class->hdir_top_first = class->hdir_first;
	class->hdir = &class->hdir_top_first;
	WRITE_ONCE(class->hdir_leaves, 1);
	WRITE_ONCE(class->hdir_len, ZSM_HDIR_MIN);
	class->hdir_hint = 0;
	class->hdir_bytes = 0;
}

/* @class has no handle block left: its directory shrinks back to the first. */
static void __zsm_hdir_free(struct zsm_class *class)
{
	unsigned int i, leaves = zsm_hdir_nr_leaves(class->hdir_len);

	if (!class->hdir_bytes) {
		class->hdir_hint = 0;
		return;
	}
	for (i = 0; i < leaves; i++) {
		if (class->hdir[i] != class->hdir_first)
			kfree(class->hdir[i]);
	}
	if (class->hdir != &class->hdir_top_first)
		kfree(class->hdir);
	zsm_pool_meta_add(class->pool, -(long)class->hdir_bytes);
	zsm_hdir_init(class);
}

/*
 * Install a handle block from zsm_handle_block_alloc(), with the lowest free
 * id: the caller made sure there is one (nr_handle_blocks < hdir_len).
 */
void __zsm_handle_block_add(struct zsm_class *class,
			    struct zsm_handle_block *h)
{
	unsigned int id = class->hdir_hint;

	lockdep_assert_held(&class->lock);
	while (*__zsm_hdir_entry(class, id))
		id++;
	*__zsm_hdir_entry(class, id) = h;
	class->hdir_hint = id + 1;
	h->id = id;
	list_add(&h->list, &class->handle_blocks);
	class->nr_handle_blocks++;
}

/* Free @h's id in @class's directory; the directory goes with the last. */
static void __zsm_hdir_put(struct zsm_class *class, struct zsm_handle_block *h)
{
	*__zsm_hdir_entry(class, h->id) = NULL;
	class->hdir_hint = min(class->hdir_hint, h->id);
	if (!class->nr_handle_blocks)
		__zsm_hdir_free(class);
}

/*
 * Give a handle block (not listed, or unlisted) back to its pool's block
 * pages; the page goes when none of its blocks is taken.
 */
void zsm_handle_block_release(struct zsm_handle_block *h)
{
	struct zsm_pool *pool = h->class->pool;
	struct zsm_hblock_free *f = (struct zsm_hblock_free *)h;
	struct page *page = virt_to_page(h);
	unsigned long taken;

	/* A stale handle into it is refused from here (best effort). */
	WRITE_ONCE(h->cookie, 0);
	spin_lock(&pool->hblock_lock);
	f->next = (struct zsm_hblock_free *)page_private(page);
	set_page_private(page, (unsigned long)f);
	taken = zsm_page_index(page) - 1;
	zsm_page_set_index(page, taken);
	if (!taken) {
		list_del_init(&page->lru);
		pool->nr_hblock_pages--;
	} else if (!f->next) {
		list_add(&page->lru, &pool->hblock_pages);
	}
	spin_unlock(&pool->hblock_lock);
	if (taken)
		return;
	set_page_private(page, 0);
	__free_page(page);
	zsm_pool_meta_add(pool, -(long)PAGE_SIZE);
	atomic_long_dec(&zsm_pages_held);
}

/* A handle block that holds no handle any more leaves @class. */
void __zsm_handle_block_drop(struct zsm_class *class,
			     struct zsm_handle_block *h)
{
	lockdep_assert_held(&class->lock);
	list_del(&h->list);
	class->nr_handle_blocks--;
	__zsm_hdir_put(class, h);
	zsm_handle_block_release(h);
}

/*
 * Release every handle block of @class, used or not, and its directory
 * (pool destruction).
 */
void __zsm_handle_blocks_drain(struct zsm_class *class)
{
	struct zsm_handle_block *h, *tmp;

	lockdep_assert_held(&class->lock);
	list_splice_init(&class->handle_blocks_full, &class->handle_blocks);
	list_for_each_entry_safe(h, tmp, &class->handle_blocks, list) {
		list_del(&h->list);
		class->nr_handle_blocks--;
		__zsm_hdir_put(class, h);
		zsm_handle_block_release(h);
	}
	__zsm_hdir_free(class);
}
