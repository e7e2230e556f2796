// SPDX-License-Identifier: GPL-2.0
/*
 * zsm: size classes and their zspage geometry.
 *
 * A size class stores objects of one rounded size in zspages: chains of
 * 1..chain_size order-0 pages laid end to end, so that an object may start
 * in one page and end in the next. For every class the chain length is the
 * one that costs the fewest bytes per object, its pages and its descriptor
 * counted; classes whose best chains have the same shape (pages, objects)
 * are merged into the largest of them, which costs no memory (the same
 * number of objects fits the same pages either way) and leaves fewer partly
 * filled zspages.
 *
 * Example, class 3264 (4 KiB pages, chain_size 8):
 *
 *   pages: |    page 0     |    page 1     |    page 2     |    page 3     |
 *   objs:  | obj 0   | obj 1   | obj 2   | obj 3   | obj 4  | ...
 *                    ^ object 1 crosses the page 0/1 boundary
 *
 * 8 pages hold 10 objects (32640 of 32768 bytes, 0.4% unused) where one page
 * would hold one (20% unused).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/math.h>
#include <kunit/visibility.h>

#include "zsm_internal.h"

/* === Data ================================================================ */

/* Built once at module load from the chain_size parameter; read-only after. */
struct zsm_class_table zsm_classes;
EXPORT_SYMBOL_IF_KUNIT(zsm_classes);

/* === Internals =========================================================== */

/*
 * The memory a zspage of @pages pages holding @objs objects costs: its pages
 * and its descriptor.
 */
static u64 zsm_chain_bytes(unsigned int pages, unsigned int objs)
{
	return (u64)pages * PAGE_SIZE + zsm_desc_bytes(pages, objs);
}

/*
 * Pick the chain length for objects of @size: the one with the fewest bytes
 * per object, pages and descriptor counted (zsm_chain_bytes()); on a tie the
 * shorter chain, which frees sooner and fragments less. Counting the
 * descriptor matters where one page already holds a whole number of
 * objects: 2048 bytes, two to a page, cost 48 descriptor bytes per object
 * in one-page zspages and 13 in eight-page ones. The descriptor bound
 * ZSM_MAX_OBJS_PER_ZSPAGE stops the search for small sizes.
 */
static void zsm_pick_chain(unsigned int size, unsigned int chain,
			   struct zsm_geom *g)
{
	unsigned int best_pages = 1, best_objs = PAGE_SIZE / size;
	unsigned int n;

	for (n = 2; n <= chain; n++) {
		unsigned int objs = n * PAGE_SIZE / size;

		if (objs > ZSM_MAX_OBJS_PER_ZSPAGE)
			break;
		/* objs / bytes(n) > best_objs / bytes(best), in integers */
		if (objs * zsm_chain_bytes(best_pages, best_objs) >
		    best_objs * zsm_chain_bytes(n, objs)) {
			best_pages = n;
			best_objs = objs;
		}
	}
	g->size = size;
	g->pages = best_pages;
	g->objs = best_objs;
	g->huge = false;
}

/*
 * Whether objects of @size take a page each however long the chain: then
 * no chain holds more objects than pages, (n + 1) * size > n * PAGE_SIZE for
 * every n <= @chain.
 */
static bool zsm_size_is_huge(unsigned int size, unsigned int chain)
{
	unsigned int n;

	for (n = 1; n <= chain; n++)
		if (n * PAGE_SIZE / size > n)
			return false;
	return true;
}

/* === Interface =========================================================== */

/**
 * zsm_class_waste() - bytes of a zspage that no object can use.
 * @g: class geometry.
 *
 * Context: Any context.
 * Return: pages * PAGE_SIZE - objs * size.
 */
unsigned int zsm_class_waste(const struct zsm_geom *g)
{
	return g->pages * PAGE_SIZE - g->objs * g->size;
}
EXPORT_SYMBOL_IF_KUNIT(zsm_class_waste);

/**
 * zsm_class_table_init() - compute class geometry for a chain length.
 * @t: table to fill.
 * @chain: longest zspage chain, ZSM_CHAIN_MIN..ZSM_CHAIN_MAX.
 *
 * Slots run from ZSM_MIN_ALLOC to PAGE_SIZE (zsm_slot_size()).
 * The first slot whose objects take a page each at every chain length
 * (zsm_size_is_huge()) starts the huge class; it and every larger slot
 * merge into the last slot (PAGE_SIZE). Whether a slot is huge is
 * monotonic in its size: it is huge exactly when (n + 1) * size >
 * n * PAGE_SIZE for every n <= @chain.
 *
 * Context: Process context.
 * Return: 0, or -EINVAL when @chain is out of range.
 */
int zsm_class_table_init(struct zsm_class_table *t, unsigned int chain)
{
	unsigned int i, first_huge = ZSM_NR_CLASSES - 1;

	if (chain < ZSM_CHAIN_MIN || chain > ZSM_CHAIN_MAX)
		return -EINVAL;

	t->chain = chain;
	for (i = 0; i < ZSM_NR_CLASSES; i++) {
		struct zsm_geom *g = &t->geom[i];

		if (zsm_size_is_huge(zsm_slot_size(i), chain)) {
			first_huge = i;
			break;
		}
		zsm_pick_chain(zsm_slot_size(i), chain, g);
	}
	for (i = first_huge; i < ZSM_NR_CLASSES; i++) {
		struct zsm_geom *g = &t->geom[i];

		g->size = zsm_slot_size(i);
		g->pages = 1;
		g->objs = 1;
		g->huge = true;
		g->index = ZSM_NR_CLASSES - 1;
	}

	/* Merge runs of equal shape into their largest member. */
	for (i = first_huge; i-- > 0;) {
		struct zsm_geom *g = &t->geom[i], *up = &t->geom[i + 1];

		if (i + 1 < first_huge && g->pages == up->pages &&
		    g->objs == up->objs)
			g->index = up->index;
		else
			g->index = i;
	}

	/* Sizes above the largest non-huge slot's size go to the huge class. */
	t->huge_class_size = first_huge ? t->geom[first_huge - 1].size + 1 :
					  ZSM_MIN_ALLOC;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(zsm_class_table_init);
