// SPDX-License-Identifier: GPL-2.0
/*
 * zsm: handle pages.
 *
 * A handle is the address of a word in a handle page: a page of its own
 * class, headed by struct zsm_handle_page, whose other words are handle
 * words. A live handle's word holds the object's location (zsm_obj_encode());
 * a free one links to the next free word of its page. Handle pages come and
 * go with the handles they hold, under the class lock, so zs_malloc() takes
 * a handle and a slot in one critical section, and zs_free() and the map
 * path can check a handle (owner, liveness) before they trust it.
 *
 * Two checks of a handle, sharing their opening tests
 * (zsm_handle_word_ok()): zsm_handle_class() (zs_free(): the struct page
 * names the owner) and zsm_handle_mapcheck() (map path: one load from the
 * handle page's own header). They, and taking and returning a handle word,
 * are inline (zsm_hot.h, zsm_internal.h); this file keeps the life of
 * handle pages.
 */

#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/list.h>

#include "zsm_internal.h"

/**
 * zsm_handle_page_alloc() - a new handle page for @class, all words free.
 * @class: the class it will serve (not locked: the page is not installed).
 * @gfp: zs_malloc()'s flags; the page is neither highmem nor movable.
 *
 * The page counts in zsm_pages_held and in its pool's meta_bytes until
 * zsm_handle_page_release(). Install it with __zsm_handle_page_add().
 *
 * Return: the page or NULL.
 */
struct page *zsm_handle_page_alloc(struct zsm_class *class, gfp_t gfp)
{
	struct page *page = alloc_page(zsm_meta_gfp(gfp));
	struct zsm_handle_page *h;
	unsigned long *words, link;
	unsigned int i;

	if (!page)
		return NULL;
	atomic_long_inc(&zsm_pages_held);
	atomic_long_add(PAGE_SIZE, &class->pool->meta_bytes);
	h = page_address(page);
	words = (unsigned long *)(h + 1);
	set_page_private(page, (unsigned long)class);
	zsm_page_set_index(page, zsm_handle_page_cookie(class->pool));
	h->cookie = zsm_handle_page_cookie(class->pool);
	/*
	 * Every word links to the one after it: the same value in each, so
	 * stored eight at a time (this runs in zs_malloc(), and a 16 KiB page
	 * holds 2043 words).
	 */
	link = zsm_handle_free_link(&words[0], &words[1]);
	for (i = 0; i + 8 < ZSM_HANDLES_PER_PAGE; i += 8) {
		words[i] = link;
		words[i + 1] = link;
		words[i + 2] = link;
		words[i + 3] = link;
		words[i + 4] = link;
		words[i + 5] = link;
		words[i + 6] = link;
		words[i + 7] = link;
	}
	for (; i < ZSM_HANDLES_PER_PAGE - 1; i++)
		words[i] = link;
	words[i] = zsm_handle_free_link(&words[i], NULL);
	h->free = words;
	h->inuse = 0;
	return page;
}

/* Install a handle page from zsm_handle_page_alloc(). */
void __zsm_handle_page_add(struct zsm_class *class, struct page *page)
{
	struct zsm_handle_page *h = page_address(page);

	lockdep_assert_held(&class->lock);
	list_add(&h->list, &class->handle_pages);
	class->nr_handle_pages++;
}

/* Give a handle page back to the page allocator (not listed, or unlisted). */
void zsm_handle_page_release(struct page *page)
{
	struct zsm_handle_page *h = page_address(page);
	struct zsm_class *class = (struct zsm_class *)page_private(page);

	atomic_long_sub(PAGE_SIZE, &class->pool->meta_bytes);
	WRITE_ONCE(h->cookie, 0);
	set_page_private(page, 0);
	zsm_page_set_index(page, 0);
	__free_page(page);
	atomic_long_dec(&zsm_pages_held);
}

/* A handle page that holds no handle any more leaves @class. */
void __zsm_handle_page_drop(struct zsm_class *class, struct zsm_handle_page *h)
{
	lockdep_assert_held(&class->lock);
	list_del(&h->list);
	class->nr_handle_pages--;
	zsm_handle_page_release(virt_to_page(h));
}

/* Release every handle page of @class, used or not (pool destruction). */
void __zsm_handle_pages_drain(struct zsm_class *class)
{
	struct zsm_handle_page *h, *tmp;

	lockdep_assert_held(&class->lock);
	list_splice_init(&class->handle_pages_full, &class->handle_pages);
	list_for_each_entry_safe(h, tmp, &class->handle_pages, list) {
		list_del(&h->list);
		class->nr_handle_pages--;
		zsm_handle_page_release(virt_to_page(h));
	}
}
