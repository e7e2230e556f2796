/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zsm: differences between the kernels zsm builds for (6.1, 6.12), in one
 * place. Code elsewhere uses the names defined here, never version checks.
 *
 * The ZSM_HAVE_* macros come from feature tests in Kbuild, which look at
 * the headers of the kernel being built against (distribution kernels
 * backport, so the headers, not the version number, are the truth):
 *
 *   ZSM_ZPOOL_V1       struct zpool_driver of 6.1: create() takes zpool_ops
 *                      and the zpool, has shrink(), reports total_size in
 *                      bytes. Otherwise (6.12): create(name, gfp),
 *                      total_pages().
 *   ZSM_HAVE_SHRINKER_ALLOC
 *                      shrinker_alloc()/shrinker_register() (6.7+); else an
 *                      embedded struct shrinker and register_shrinker().
 *   ZSM_HAVE_LOOKUP_CLASS_INDEX
 *                      <linux/zsmalloc.h> declares zs_lookup_class_index().
 */
#ifndef _ZSM_COMPAT_H
#define _ZSM_COMPAT_H

#include <linux/shrinker.h>
#include <linux/slab.h>

#if !defined(CONFIG_64BIT)
#error "zsm encodes object locations in 64-bit handle words"
#endif

/* 6.1's <linux/zsmalloc.h> lacks it; zsm exports it everywhere. */
#ifndef ZSM_HAVE_LOOKUP_CLASS_INDEX
struct zs_pool;
unsigned int zs_lookup_class_index(struct zs_pool *pool, unsigned int size);
#endif

typedef unsigned long (*zsm_shrink_fn)(struct shrinker *,
				       struct shrink_control *);

#ifdef ZSM_HAVE_SHRINKER_ALLOC

static inline struct shrinker *zsm_shrinker_create(void *owner,
						   zsm_shrink_fn count,
						   zsm_shrink_fn scan,
						   const char *name)
{
	struct shrinker *s = shrinker_alloc(0, "zsm-%s", name);

	if (!s)
		return NULL;
	s->count_objects = count;
	s->scan_objects = scan;
	s->private_data = owner;
	shrinker_register(s);
	return s;
}

static inline void *zsm_shrinker_owner(struct shrinker *s)
{
	return s->private_data;
}

static inline void zsm_shrinker_destroy(struct shrinker *s)
{
	shrinker_free(s);
}

#else

/* The shrinker and its owner in one allocation. */
struct zsm_shrinker_box {
	struct shrinker shrinker;
	void *owner;
};

static inline struct shrinker *zsm_shrinker_create(void *owner,
						   zsm_shrink_fn count,
						   zsm_shrink_fn scan,
						   const char *name)
{
	struct zsm_shrinker_box *box = kzalloc(sizeof(*box), GFP_KERNEL);

	if (!box)
		return NULL;
	box->owner = owner;
	box->shrinker.count_objects = count;
	box->shrinker.scan_objects = scan;
	box->shrinker.seeks = DEFAULT_SEEKS;
	if (register_shrinker(&box->shrinker, "zsm-%s", name)) {
		kfree(box);
		return NULL;
	}
	return &box->shrinker;
}

static inline void *zsm_shrinker_owner(struct shrinker *s)
{
	return container_of(s, struct zsm_shrinker_box, shrinker)->owner;
}

static inline void zsm_shrinker_destroy(struct shrinker *s)
{
	if (!s)
		return;
	unregister_shrinker(s);
	kfree(container_of(s, struct zsm_shrinker_box, shrinker));
}

#endif

#endif /* _ZSM_COMPAT_H */
