/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zsm: internal definitions shared by the zsm source files and its tests.
 *
 * Nothing here is an ABI: the public interface is <linux/zsmalloc.h>.
 */
#ifndef _ZSM_INTERNAL_H
#define _ZSM_INTERNAL_H

#include <linux/types.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/lockdep.h>
#include <linux/rcupdate.h>
#include <linux/mm_types.h>
#include <linux/workqueue.h>
#include <linux/mutex.h>
#include <linux/kasan.h>
#include <linux/io.h>
#include <linux/migrate.h>
#include <linux/bottom_half.h>
#include <linux/processor.h>
#include <linux/sched/clock.h>
#include <linux/zsmalloc.h>

#include "zsm_compat.h"
#include "zsm.h"

/* === Geometry ============================================================ */

/*
 * Objects are 8-byte aligned inside a zspage: every class size is a multiple
 * of ZSM_ALIGN, so every object starts on an 8-byte boundary.
 */
#define ZSM_ALIGN		8

/* The smallest class. Smaller requests are rounded up to it. */
#define ZSM_MIN_ALLOC		32

/* The largest object: a whole page (the huge class stores it alone). */
#define ZSM_MAX_ALLOC		PAGE_SIZE

/*
 * Distance between adjacent class sizes: ZSM_FINE_DELTA up to ZSM_FINE_MAX,
 * ZSM_CLASS_DELTA above. Both are multiples of ZSM_ALIGN. A finer step
 * wastes fewer bytes per object but creates more classes, and every class
 * keeps one partly filled zspage; small objects, where the rounding is the
 * largest share of an object, get the finer one (Documentation/zsm.rst,
 * "Size classes").
 */
#define ZSM_FINE_DELTA		8
#define ZSM_FINE_MAX		512
#define ZSM_CLASS_DELTA		16

/* Slot of the size ZSM_FINE_MAX: the last of the fine steps. */
#define ZSM_FINE_SLOTS		((ZSM_FINE_MAX - ZSM_MIN_ALLOC) / ZSM_FINE_DELTA)

/* Number of class slots before merging (sizes ZSM_MIN_ALLOC..PAGE_SIZE). */
#define ZSM_NR_CLASSES \
	(ZSM_FINE_SLOTS + \
	 DIV_ROUND_UP(ZSM_MAX_ALLOC - ZSM_FINE_MAX, ZSM_CLASS_DELTA) + 1)

/* The size of class slot @slot (before merging). */
static inline unsigned int zsm_slot_size(unsigned int slot)
{
	if (slot <= ZSM_FINE_SLOTS)
		return ZSM_MIN_ALLOC + slot * ZSM_FINE_DELTA;
	return min_t(unsigned int, PAGE_SIZE,
		     ZSM_FINE_MAX + (slot - ZSM_FINE_SLOTS) * ZSM_CLASS_DELTA);
}

/* Range of the chain_size module parameter, as upstream's CHAIN_SIZE. */
#define ZSM_CHAIN_MIN		4
#define ZSM_CHAIN_MAX		16
#define ZSM_CHAIN_DEFAULT	8

/*
 * Bits of an encoded object location that hold the slot index; the rest
 * hold the zspage descriptor's address (see zsm_obj_encode()). This bounds
 * the objects in one zspage.
 */
#define ZSM_OBJ_IDX_BITS	10
#define ZSM_OBJ_IDX_MASK	((1UL << ZSM_OBJ_IDX_BITS) - 1)

/*
 * Most objects one zspage may hold. The descriptor keeps one word per slot,
 * and the whole descriptor must stay within one page so that it can be
 * allocated without sleeping (zram's first zs_malloc() may not sleep;
 * checked after struct zsm_zspage). With 4 KiB pages that leaves 448
 * slots; from 16 KiB pages up the bound is what a slot index can name
 * (ZSM_OBJ_IDX_MASK), and one page of ZSM_MIN_ALLOC objects must fit.
 */
#if PAGE_SHIFT == 12
#define ZSM_MAX_OBJS_PER_ZSPAGE	448
#else
#define ZSM_MAX_OBJS_PER_ZSPAGE	1023
#endif
static_assert(PAGE_SIZE / ZSM_MIN_ALLOC <= ZSM_MAX_OBJS_PER_ZSPAGE,
	      "a one-page zspage of the smallest class needs more slots than a descriptor holds");

/**
 * struct zsm_geom - the shape of one size class.
 * @size: object size of the class in bytes (multiple of ZSM_ALIGN).
 * @pages: order-0 pages chained in one zspage (1..chain_size).
 * @objs: objects one zspage holds.
 * @huge: one object per one-page zspage (the huge class).
 * @index: canonical class index this slot was merged into; equal to the slot's
 *	own index for the largest size of a merged group.
 */
struct zsm_geom {
	unsigned int size;
	unsigned int pages;
	unsigned int objs;
	bool huge;
	unsigned int index;
};

/**
 * struct zsm_class_table - class geometry for one chain_size.
 * @chain: the chain_size it was built for.
 * @geom: one entry per class slot; merged slots share @geom[i].index.
 * @huge_class_size: the smallest object size stored in the huge class.
 */
struct zsm_class_table {
	unsigned int chain;
	struct zsm_geom geom[ZSM_NR_CLASSES];
	size_t huge_class_size;
};

/* zsm_class.c */
int zsm_class_table_init(struct zsm_class_table *t, unsigned int chain);
unsigned int zsm_class_waste(const struct zsm_geom *g);

/* The table every pool uses, built at module load from chain_size. */
extern struct zsm_class_table zsm_classes;

/* Pages zsm holds from the page allocator, all pools (zspages + handles). */
extern atomic_long_t zsm_pages_held;

/* === Pools, classes, zspages ============================================= */

/*
 * Locks, outermost first. An arrow is an order that exists in the code: the
 * lock on its right is taken while the one on its left is held.
 *
 *   zsm_pool.evict_lock (mutex; one zs_evict_pages() per pool; held across
 *   |                    the owner's eviction handler)
 *   +-> (the owner's own locks, in the handler) -> zsm_class.lock
 *   +-> zsm_class.lock
 *
 *   zsm_pool.compact_lock (mutex; one zs_compact() per pool)
 *   +-> zsm_class.lock
 *
 *   page lock (core mm holds it around zsm_mops.migrate_page())
 *   +-> zsm_class.lock
 *
 *   zsm_class.lock (spinlock; per class: lists, counters, slot words,
 *   |               handle words, handle blocks and handle directory of
 *   |               the class)
 *   +-> zsm_zspage.lock (reader/writer; read: mappers, on their own, not
 *   |                    under class->lock, may sleep; write: compaction
 *   |                    and migration with BH disabled, by trylock, or
 *   |                    spinning at most ZSM_MIGRATE_WAIT_NS for a
 *   |                    synchronous migration)
 *   +-> zsm_pool.deferred_lock (spinlock; innermost)
 *   +-> zsm_pool.hblock_lock (spinlock; innermost): a class's handle block
 *   |                        going back to the pool's block pages
 *   +-> page lock, trylock_page() only (never waited for): freeing a
 *       zspage, a fresh page joining one, compaction giving back a
 *       zspage's unused tail pages
 *
 *   zsm_zspage.lock (read) -> zsm_class.lock: a caller that holds a map
 *   and calls zs_malloc() or zs_free(). No cycle with the writers' order
 *   above, because no writer waits for readers without a bound.
 *
 * zs_malloc() takes zsm_pool.hblock_lock on its own, without the class
 * lock, to take a handle block for the class. The release worker takes
 * the page locks of a dead zspage (sleeping) with no zsm lock held;
 * zs_compact() takes them by trylock, with no zsm lock held either.
 *
 * Mappers take only zsm_zspage.lock (read), and find the zspage under RCU
 * (descriptors are freed after an RCU grace period). No lock is pool-wide
 * on the map path, nor on the common malloc and free paths:
 * zsm_pool.hblock_lock is taken only when a class takes or gives back a
 * handle block (at most once in ZSM_HANDLES_PER_BLOCK handles).
 *
 * Naming rule: a function whose name starts with "__zsm_" is called with
 * the class lock of the class it works on held, and says so with
 * lockdep_assert_held(&class->lock).
 */

/*
 * Memory ordering. Everything read under the lock that protects it is
 * ordered by that lock. The reads below are not; each names what orders it,
 * and the site repeats the pairing in one line. Written for a weakly
 * ordered CPU (arm64): none relies on x86's store or load order.
 *
 *  read (where)                    written by        ordered by
 *  handle word, map paths           __zsm_slot_take(), smp_load_acquire()
 *   (zsm_obj_lock_fast(),           __zsm_zspage_pack() against their
 *   zsm_obj_lookup_read())          (class->lock)     smp_store_release(): the
 *                                                     object's bytes (copied by
 *                                                     compaction) and the
 *                                                     zspage's page_addr[] before
 *                                                     its location
 *  handle word, re-read after the   compaction, under the writer's release of
 *   read lock (same functions)      the zspage write  the zspage lock against
 *                                   lock; or          the reader's acquire: a
 *                                   __zsm_slot_take() reader that got the lock
 *                                                     after a move sees the new
 *                                                     word and retries. And
 *                                                     smp_load_acquire() against
 *                                                     __zsm_slot_take()'s
 *                                                     release: an object moved
 *                                                     out and back into the same
 *                                                     slot (compaction writes
 *                                                     into a destination it does
 *                                                     not lock) gives the same
 *                                                     word, and the reads of its
 *                                                     bytes and page_addr[] after
 *                                                     the re-read must not pass
 *                                                     it
 *  zspage lock count, with its      readers, writers  acquire on every taking
 *   waiting bit                     (atomics)         (fetch_inc, cmpxchg),
 *                                                     release on every
 *                                                     dropping; a reader's
 *                                                     back-out and the waiting
 *                                                     bit's setting and
 *                                                     clearing are relaxed
 *                                                     (they order nothing)
 *  object bytes, page_addr[] under  migration,        the zspage lock (above)
 *   the read lock                   compaction (write
 *                                   lock)
 *  the descriptor itself, from the  __zsm_zspage_free RCU: freed by call_rcu(),
 *   handle word (map paths)                           read in rcu_read_lock()
 *                                                     or, on the fast path,
 *                                                     with preemption off
 *  zspage->dead (isolate_page)      class->lock       the page lock (isolate
 *                                                     holds it, the free drops
 *                                                     its pages with it held);
 *                                                     a stale 0 is re-checked
 *                                                     under class->lock in
 *                                                     migrate_page
 *  zspage->page_addr[i] of a dead   migration before  class->lock, then
 *   zspage (deferred free)          the zspage died   deferred_lock, then the
 *                                                     page lock re-check
 *  pool->evict_pin (zs_free() of    evictor, under    equal only for a handle
 *   another class)                  its class->lock   of the pinned class, read
 *                                                     under that same lock; a
 *                                                     handle word reused in
 *                                                     another class was freed
 *                                                     and allocated again after
 *                                                     the unpin, through locks
 *  handle block cookie and class    handle block      the caller's own order:
 *   (zsm_handle_mapcheck(),         alloc, before it  it got the handle from
 *   zsm_handle_class())             is listed         zs_malloc(); for a bad
 *                                   (class->lock)     handle the check is a
 *                                                     best-effort refusal, and
 *                                                     the class is stored
 *                                                     before the cookie's
 *                                                     release, read after its
 *                                                     load and an smp_rmb()
 *                                                     (zs_free(): never the
 *                                                     free link the class
 *                                                     field held before)
 *  pool->hblock_lo, hblock_hi       hblock page new   the caller's own order,
 *   (zsm_handle_mapcheck())         (hblock_lock)     as for the cookie; they
 *                                                     only widen, so any value
 *                                                     read is safe for a
 *                                                     handle already published
 *  pool->evict (zs_evict_pages()'s  evict_lock        the early -EINVAL test
 *   early test)                                       only; used under
 *                                                     evict_lock
 *  pool->destroying (compaction     zs_destroy_pool() a hint to stop early;
 *   loop)                                             destroy's caller has no
 *                                                     zs_compact() running
 *  zsm_use_pte (map)                zsm_map_set_mode  each mapping records its
 *                                                     mode for its unmap
 *  statistics (class counters in    their locks or    nothing: approximate by
 *   the shrinker count, debugfs,    atomics           design (data_race(),
 *   pages_evicted)                                    atomic_long_read())
 *
 * Per-CPU map areas are touched only by their CPU with preemption off, and
 * by the CPU hotplug callbacks while that CPU is not running. Object pages
 * are reached only through the kernel's linear map (struct zsm_zspage's
 * @page_addr; never mapped to user space), so no cache maintenance
 * (flush_dcache_page()) is needed on any architecture; pte mode, which
 * remaps them, is x86-64 only (zsm_compat.h).
 */

/* Fullness groups: 0 = empty, 1..ZSM_FULLNESS_FULL-1 = by tenths, ZSM_FULLNESS_FULL. */
#define ZSM_FULLNESS_EMPTY		0
#define ZSM_FULLNESS_FULL		11
#define ZSM_NR_FULLNESS		(ZSM_FULLNESS_FULL + 1)

struct zsm_pool;
struct zsm_class;

/**
 * struct zsm_zspage_lock - a zspage's reader/writer lock (see below).
 * @cnt: readers holding it (> 0), a writer holding it (ZSM_ZSPAGE_WRLOCKED
 *	plus the readers backing out), or free (0); ZSM_ZSPAGE_WAITING
 *	added while a migration waits for the readers to leave.
 * @dep_map: lockdep's view of it.
 */
struct zsm_zspage_lock {
	atomic_t cnt;
	struct lockdep_map dep_map;	/* empty without lockdep */
};

/**
 * struct zsm_zspage - descriptor of one zspage (a chain of order-0 pages).
 *
 * The descriptor lives in slab memory (never in the pool's pages), so
 * allocation and free never touch the object pages; it comes from its
 * class's cache, sized exactly (class->desc_cache), and counts in the
 * pool's metadata (zsm_pool_meta_add()). Its address, shifted
 * by 3 and combined with a slot index, is the object location stored in a
 * handle (zsm_obj_encode()); page migration only swaps @page_addr[i] and
 * needs no handle update.
 *
 * @list: node in the class's fullness list @fullness; under class->lock.
 * @class: owning class; constant.
 * @lock: "page lock" of the zspage contents. Readers: mappers, from map to
 *	unmap (the bytes and @page_addr[] stay put). Writers: compaction moving
 *	objects out (under class->lock), migration swapping a page. Only
 *	through zsm_zspage_read_lock() / zsm_zspage_write_trylock(): see
 *	there.
 * @inuse: live objects; under class->lock.
 * @free_head: first free slot index or ZSM_SLOT_END; under class->lock.
 * @fullness: current fullness group; under class->lock.
 * @lru: node in class->lru, most recently allocated-into first; under
 *	class->lock. Off the list while the zspage is being evicted.
 * @last_alloc: jiffies of the last allocation into it; under class->lock.
 * @evict_gen: the zs_evict_pages() round that last tried it; under
 *	class->lock.
 * @evicting: zs_evict_pages() owns the zspage: it is off the fullness
 *	and LRU lists, takes no new object, and only the evictor frees it;
 *	under class->lock.
 * @dead: set (under class->lock) when the zspage left its class for
 *	freeing; page isolation and migration leave a dead zspage's pages
 *	alone. Mappers do not read it: a stale one fails its handle word
 *	re-read and retries.
 * @nr_pages: pages present. A zspage is populated lazily, from page 0 up:
 *	a page is added when the first object that reaches into it is placed
 *	(zs_malloc(), compaction), so a zspage holds only the pages its
 *	objects have touched and a class's partly used zspage costs at most
 *	one partly used page. Grows under class->lock; shrinks under it when
 *	compaction gives back the pages at the end that no live object
 *	reaches any more (zsm_compact.c); read without it only once the
 *	zspage is dead.
 * @rcu: descriptor freed after an RCU grace period (lockless map lookup).
 * @deferred: node in pool->deferred_free once dead and waiting for
 *	release (freed by zs_free(), or its page locks were busy); under
 *	pool->deferred_lock.
 * @page_addr: the chain, class->geom.pages entries of which the first
 *	@nr_pages are present (the rest NULL): each page's address in the
 *	direct map (zsm is 64-bit only: no highmem), which the map paths
 *	use as it is; zsm_zspage_page() gives the struct page. An entry is
 *	replaced under @lock (write side) and the page lock of the page
 *	being replaced; a NULL entry is filled, and an entry past the last
 *	live object's page cleared, under class->lock.
 *
 * After @page_addr[class->geom.pages] come the slots (zsm_zspage_slots()): one
 * 32-bit word per object slot. Allocated slot: its handle word as a
 * reference into the class's handle block directory (zsm_slot_ref(), bit 0
 * clear). Free slot: next free index << 1 | 1. Under class->lock.
 */
struct zsm_zspage {
	struct list_head list;
	struct zsm_class *class;
	struct zsm_zspage_lock lock;
	u16 inuse;
	u16 free_head;
	u8 fullness;
	u8 dead;
	u8 evicting;
	u8 nr_pages;
	unsigned int evict_gen;
	struct list_head lru;
	unsigned long last_alloc;
	union {
		struct rcu_head rcu;
		struct list_head deferred;
	};
	void *page_addr[];
	/* u32 slots[objs] follows page_addr[class->geom.pages] */
};

/* Page @k of @zspage, one of its @nr_pages present ones. */
static inline struct page *zsm_zspage_page(const struct zsm_zspage *zspage,
					   unsigned int k)
{
	return virt_to_page(READ_ONCE(zspage->page_addr[k]));
}

/* Make @page (NULL: none) page @k of @zspage. */
static inline void zsm_zspage_set_page(struct zsm_zspage *zspage,
				       unsigned int k, struct page *page)
{
	WRITE_ONCE(zspage->page_addr[k], page ? page_address(page) : NULL);
}

/*
 * Bytes of the descriptor of a zspage of @pages pages and @objs objects:
 * its slab object (zsm_zspage.c), and the metadata cost zsm_class.c weighs
 * when it picks a class's chain length. Rounded up to a word, as slab
 * rounds each object of the cache (without debug metadata), so that the
 * count is what the slab holds: /proc/slabinfo's object size.
 */
static inline unsigned int zsm_desc_bytes(unsigned int pages, unsigned int objs)
{
	return ALIGN(sizeof(struct zsm_zspage) + pages * sizeof(void *) +
		     objs * sizeof(u32), sizeof(void *));
}

/* The largest descriptor (zsm_zspage.c allocates it) fits one page. */
static_assert(sizeof(struct zsm_zspage) + ZSM_CHAIN_MAX * sizeof(void *) +
	      ZSM_MAX_OBJS_PER_ZSPAGE * sizeof(u32) <= PAGE_SIZE);

/*
 * zspage lock protocol. Mappers may nest (two maps on one CPU, even of one
 * zspage) and may run in softirq context, so a reader must never queue
 * behind a waiting writer, as qrwlock readers in task context do: that
 * would deadlock a task holding one mapping and asking for another while a
 * writer waits. So writers never wait unboundedly: they trylock, with BH
 * disabled (a softirq mapper on their CPU must not spin on them), and give
 * up when the zspage is mapped (compaction skips it, asynchronous migration
 * returns -EAGAIN); only synchronous migration waits, at most
 * ZSM_MIGRATE_WAIT_NS (zsm_zspage_write_lock_bounded()).
 * Readers spin until no writer holds the lock, which is for the length of
 * one page or object copy: a writer holds class->lock, so it is never
 * preempted.
 *
 * A reader holds no spinlock and does not disable preemption: holding the
 * lock, it may sleep (the 7.x object API allows a caller to sleep between
 * zs_obj_read_begin() and zs_obj_read_end(); writers only trylock, so none
 * waits for it). The lock is a counter for that reason, not an rwlock_t;
 * lockdep sees it as a recursive-read/trylock-write lock. zs_map_object(),
 * whose per-CPU slots need the CPU, disables preemption itself.
 *
 * What the lock covers: the bytes of the zspage's objects and @page_addr[]
 * (readers see both stable; writers change them). It does not cover the
 * slot words, fullness or lists (class->lock). Writers take it only with
 * class->lock held, so class->lock -> zspage->lock is the only order.
 *
 * Static checking (sparse, make C=2): the helpers below carry sparse
 * context annotations. A read lock that outlives the function taking it
 * (zs_map_object() to zs_unmap_object(), zs_obj_read_begin() to
 * zs_obj_read_end()) is handed over explicitly with
 * zsm_zspage_lock_to_caller() / zsm_zspage_lock_from_caller(), because
 * sparse counts locks per function.
 */
/*
 * The count of a write-locked zspage: a large negative bias, so that a
 * reader's optimistic increment (zsm_zspage_read_tryacquire()) leaves it
 * negative, and the writer's release (which subtracts the bias) leaves the
 * count of such readers, who then take their increment back.
 */
#define ZSM_ZSPAGE_WRLOCKED	(-(1 << 30))

/*
 * Added to the count while a migration waits for the readers to leave
 * (zsm_zspage_write_lock_bounded()): a negative bias too, half the
 * writer's, so that the count is negative exactly when a writer holds the
 * lock or waits for it, and the sign of the count a reader's increment
 * produces tells it both (zsm_zspage_read_tryacquire()). The two biases
 * never add up: the waiting writer's exchange replaces this one with
 * ZSM_ZSPAGE_WRLOCKED. Readers number far fewer than 2^28, so a biased
 * count stays negative and each bias keeps its own range: a count in
 * [ZSM_ZSPAGE_WAITING, 0) is a waiting writer, one below it a writer.
 */
#define ZSM_ZSPAGE_WAITING	(-(1 << 29))

/* Does a migration wait for @zspage's readers (tests)? */
static inline bool zsm_zspage_writer_waits(struct zsm_zspage *zspage)
{
	int cnt = atomic_read(&zspage->lock.cnt);

	return cnt < 0 && cnt >= ZSM_ZSPAGE_WAITING;
}

#define zsm_zspage_dep_map(zspage)	(&(zspage)->lock.dep_map)

static inline void zsm_zspage_lock_init(struct zsm_zspage *zspage)
{
	static struct lock_class_key key;

	atomic_set(&zspage->lock.cnt, 0);
	lockdep_init_map(zsm_zspage_dep_map(zspage), "zsm_zspage->lock", &key,
			 0);
}

/*
 * One attempt at the read lock: one atomic increment, kept if no writer
 * holds the lock and none waits for it (a waiting migration goes first:
 * zsm_zspage_write_lock_bounded()), that is if the count it produced is
 * not negative (on x86 a locked add and a branch on its sign flag), else
 * taken back. No sparse context: a caller that got the lock says so with
 * zsm_zspage_lock_taken().
 */
static __always_inline bool zsm_zspage_read_tryacquire(struct zsm_zspage *zspage)
{
	lock_acquire_shared_recursive(zsm_zspage_dep_map(zspage), 0, 0, NULL,
				      _RET_IP_);
	if (likely(!zsm_atomic_add_negative_acquire(1, &zspage->lock.cnt)))
		return true;
	atomic_dec(&zspage->lock.cnt);
	lock_release(zsm_zspage_dep_map(zspage), _RET_IP_);
	return false;
}

/*
 * A reader's release of the count. On x86 every locked instruction is a
 * full barrier and smp_mb__before_atomic() only a compiler barrier, so a
 * plain atomic_dec() (one instruction, its result unused) is the release;
 * elsewhere (arm64: LDADDL) the release form of the decrement is cheaper
 * than a barrier before a plain one.
 */
static __always_inline void zsm_atomic_dec_release(atomic_t *cnt)
{
#ifdef CONFIG_X86
	/* Orders the reader's accesses before the decrement (above). */
	smp_mb__before_atomic();
	atomic_dec(cnt);
#else
	atomic_dec_return_release(cnt);
#endif
}

static inline void zsm_zspage_read_lock(struct zsm_zspage *zspage)
	__acquires(&zspage->lock)
{
	while (!zsm_zspage_read_tryacquire(zspage)) {
		/* Until the writer has left and no other one waits. */
		while (atomic_read(&zspage->lock.cnt) < 0)
			cpu_relax();
	}
	__acquire(&zspage->lock);
}

static inline void zsm_zspage_read_unlock(struct zsm_zspage *zspage)
	__releases(&zspage->lock)
{
	lock_release(zsm_zspage_dep_map(zspage), _RET_IP_);
	zsm_atomic_dec_release(&zspage->lock.cnt);
	__release(&zspage->lock);
}

/*
 * The write lock, if the count is exactly @unlocked: 0, or
 * ZSM_ZSPAGE_WAITING for the waiting migration, whose bit the same
 * exchange clears.
 */
static inline bool zsm_zspage_write_acquire(struct zsm_zspage *zspage,
					    int unlocked)
{
	if (!atomic_try_cmpxchg_acquire(&zspage->lock.cnt, &unlocked,
					ZSM_ZSPAGE_WRLOCKED))
		return false;
	lock_acquire_exclusive(zsm_zspage_dep_map(zspage), 0, 1, NULL,
			       _RET_IP_);
	return true;
}

static inline bool zsm_zspage_write_trylock(struct zsm_zspage *zspage)
{
	local_bh_disable();
	if (zsm_cond_lock(&zspage->lock, zsm_zspage_write_acquire(zspage, 0)))
		return true;
	local_bh_enable();
	return false;
}

static inline void zsm_zspage_write_unlock(struct zsm_zspage *zspage)
	__releases(&zspage->lock)
{
	lock_release(zsm_zspage_dep_map(zspage), _RET_IP_);
	/* Leaves the increments of readers that are taking them back. */
	atomic_sub_return_release(ZSM_ZSPAGE_WRLOCKED, &zspage->lock.cnt);
	local_bh_enable();
	__release(&zspage->lock);
}

/*
 * Sparse-only markers (no code): a read lock leaves the function that took
 * it (to_caller), or is taken over from the function that took it
 * (from_caller). Every use says who owns the lock in between.
 */
#define zsm_zspage_lock_to_caller(zspage)	__release(&(zspage)->lock)

/* Sparse-only marker: zsm_zspage_read_tryacquire() took the lock. */
#define zsm_zspage_lock_taken(zspage)	__acquire(&(zspage)->lock)
#define zsm_zspage_lock_from_caller(zspage)	__acquire(&(zspage)->lock)

/*
 * Is @zspage read-locked (mapped) or write-locked right now? Writers only
 * ever trylock, so a failed write trylock means exactly that. Shaped (out
 * parameter, no early return of a constant) so that sparse can follow it.
 */
static inline void zsm_zspage_probe(struct zsm_zspage *zspage, bool *busy)
{
	*busy = true;
	if (!zsm_zspage_write_trylock(zspage))
		return;
	zsm_zspage_write_unlock(zspage);
	*busy = false;
}

static inline bool zsm_zspage_busy(struct zsm_zspage *zspage)
{
	bool busy;

	zsm_zspage_probe(zspage, &busy);
	return busy;
}

/* Ids of a class's handle block directory kept in the class itself. */
#define ZSM_HDIR_MIN		4

#define ZSM_SLOT_END		0xffffU
#define ZSM_SLOT_FREE_TAG	1U

/**
 * struct zsm_class - per-pool state of one canonical size class.
 * @lock: protects everything below but the constants, the handle words of
 *	objects in this class, and the slot words of its zspages.
 * @pool: owning pool; constant.
 * @geom: geometry (size, pages, objs, huge); constant.
 * @index: canonical class index; constant.
 * @fullness_list: zspages by fullness group; ZSM_FULLNESS_EMPTY is unused.
 * @fullness_count: zspages in each fullness group.
 * @fullness_mask: bit g set when @fullness_list[g] is non-empty.
 * @handle_blocks: handle blocks of this class with free handles.
 * @handle_blocks_full: handle blocks with no free handle.
 * @lru: zspages by last allocation, most recent first (eviction order).
 * @nr_zspages: zspages of the class.
 * @nr_pages: pages present in the class's zspages.
 * @ready_free: free slots, on the zspages of the fullness lists, whose pages
 *	are present: what compaction can move objects into, and what
 *	zs_malloc() can use without allocating a page
 *	(__zsm_zspage_ready()). An evicting zspage is on no list and does
 *	not count.
 * @slots_in: slots that lie wholly within the first n pages of a zspage,
 *	for n = 0..geom.pages; constant.
 * @objs_inuse: live objects.
 * @nr_handle_blocks: handle blocks.
 * @hdir: the handle block directory (zsm_handle.c): handle block id ->
 *	handle block, NULL for a free id, in leaves of up to ZSM_HDIR_LEAF
 *	entries; slot words name handle words by id (zsm_slot_ref()). Starts
 *	as @hdir_top_first -> @hdir_first, in the class itself.
 * @hdir_leaves: entries of @hdir.
 * @hdir_len: ids the leaves hold; ids in use are below it.
 * @hdir_hint: no id below it is free.
 * @hdir_bytes: bytes of @hdir allocated (not the two below); they count in
 *	the pool's metadata (zsm_pool_meta_add()).
 * @hdir_first: the first ZSM_HDIR_MIN ids' leaf, until the directory grows.
 * @hdir_top_first: @hdir's one entry, until it grows.
 * @desc_cache: slab cache of this class's zspage descriptors, sized exactly
 *	(zsm_desc_caches_init()); constant.
 * @desc_size: bytes one descriptor takes in @desc_cache; constant.
 */
struct zsm_class {
	spinlock_t lock;		/* see above; inside compact_lock */
	struct zsm_pool *pool;
	struct zsm_geom geom;
	unsigned int index;
	struct list_head fullness_list[ZSM_NR_FULLNESS];
	unsigned long fullness_count[ZSM_NR_FULLNESS];
	unsigned long fullness_mask;
	struct list_head handle_blocks;
	struct list_head handle_blocks_full;
	struct list_head lru;
	unsigned long nr_zspages;
	unsigned long nr_pages;
	unsigned long ready_free;
	unsigned long objs_inuse;
	unsigned long nr_handle_blocks;
	struct zsm_handle_block ***hdir;
	unsigned int hdir_leaves;
	unsigned int hdir_len;
	unsigned int hdir_hint;
	unsigned int hdir_bytes;
	struct zsm_handle_block *hdir_first[ZSM_HDIR_MIN];
	struct zsm_handle_block **hdir_top_first;
	u16 slots_in[ZSM_CHAIN_MAX + 1];
	struct kmem_cache *desc_cache;
	unsigned int desc_size;
};

/* How long a migration waits for the mappers of a zspage to leave. */
#define ZSM_MIGRATE_WAIT_NS	(2 * NSEC_PER_MSEC)

/*
 * How long, in jiffies, a zspage zs_free() emptied waits for the worker
 * that gives its pages back. The first such zspage arms the timer, so one
 * run of the worker takes every zspage emptied in the period, and no
 * zs_free() wakes a thread.
 */
#define ZSM_RELEASE_DELAY	1

/*
 * The one writer that waits: page migration in a synchronous mode (memory
 * offline, CMA, alloc_contig_range()), which must not fail just because an
 * object of the zspage is being read. It adds ZSM_ZSPAGE_WAITING to the
 * lock's count, so that new mappers hold off, and spins on the write
 * trylock until the mappers it found have left, for at most
 * ZSM_MIGRATE_WAIT_NS; then it gives up (-EAGAIN to core mm, which
 * retries). The bound is what keeps the nested-map case safe: a mapper
 * that holds one map of the zspage and asks for another waits for the
 * bias to go, the migration waits for that mapper, and the bound ends it.
 * BH is off for the wait, so no softirq mapper can spin on the bias on this
 * CPU underneath it; hard-IRQ mappers are refused (zs_map_object()).
 *
 * Context: class->lock held (it serialises writers, so one bias suffices).
 * Return: true with the write lock held and BH disabled, as after
 * zsm_zspage_write_trylock(); false with neither.
 */
/*
 * A writer announces that it waits (BH off, the waiting bias added), and
 * takes the announcement back when it gives up: the two halves of
 * zsm_zspage_write_lock_bounded(), also used by the lock's tests.
 */
static inline void zsm_zspage_wait_announce(struct zsm_zspage *zspage)
{
	local_bh_disable();
	atomic_add(ZSM_ZSPAGE_WAITING, &zspage->lock.cnt);
}

static inline void zsm_zspage_wait_withdraw(struct zsm_zspage *zspage)
{
	atomic_sub(ZSM_ZSPAGE_WAITING, &zspage->lock.cnt);
	local_bh_enable();
}

static inline bool zsm_zspage_write_lock_bounded(struct zsm_class *class,
						 struct zsm_zspage *zspage)
{
	u64 end;

	lockdep_assert_held(&class->lock);
	if (zsm_zspage_write_trylock(zspage))
		return true;
	zsm_zspage_wait_announce(zspage);
	end = local_clock() + ZSM_MIGRATE_WAIT_NS;
	for (;;) {
		if (zsm_cond_lock(&zspage->lock,
				  zsm_zspage_write_acquire(zspage,
							   ZSM_ZSPAGE_WAITING)))
			return true;
		if (local_clock() >= end)
			break;
		cpu_relax();
	}
	zsm_zspage_wait_withdraw(zspage);
	return false;
}

static inline u32 *zsm_zspage_slots(struct zsm_zspage *zspage)
{
	return (u32 *)&zspage->page_addr[zspage->class->geom.pages];
}

/*
 * Pages slot @idx of @class reaches into (the object's last page + 1): a
 * zspage must have this many pages present before the slot is used.
 */
static inline unsigned int zsm_slot_pages(const struct zsm_class *class,
					  unsigned int idx)
{
	unsigned int size = class->geom.size;

	return ((idx + 1) * size - 1) / PAGE_SIZE + 1;
}

/*
 * Free slots of @zspage whose pages are present. The free list holds the
 * slots that were ever used first (released slots are pushed at its head)
 * and then the never used ones in ascending order, so these are exactly the
 * first ones on it: the zspage can take an object without a new page iff
 * this is not 0 (__zsm_pages_missing() is then 0).
 */
static inline unsigned int __zsm_zspage_ready(const struct zsm_class *class,
					      const struct zsm_zspage *zspage)
{
	lockdep_assert_held(&class->lock);
	return class->slots_in[zspage->nr_pages] - zspage->inuse;
}

/* Pages @zspage lacks before its first free slot can take an object. */
static inline unsigned int __zsm_pages_missing(const struct zsm_class *class,
					       const struct zsm_zspage *zspage)
{
	unsigned int want;

	lockdep_assert_held(&class->lock);
	if (zspage->free_head == ZSM_SLOT_END)
		return 0;
	want = zsm_slot_pages(class, zspage->free_head);
	return want > zspage->nr_pages ? want - zspage->nr_pages : 0;
}

/*
 * Handle blocks: ZSM_HBLOCK_SIZE bytes, aligned to their size, carved from
 * pages of their pool (zsm_handle.c), so that the header of a handle word's
 * block is found by masking the handle.
 */
#define ZSM_HBLOCK_SIZE		512
#define ZSM_HBLOCKS_PER_PAGE	(PAGE_SIZE / ZSM_HBLOCK_SIZE)

/* Masking finds the header; a page holds a whole number of blocks. */
static_assert(!(ZSM_HBLOCK_SIZE & (ZSM_HBLOCK_SIZE - 1)) &&
	      ZSM_HBLOCK_SIZE <= PAGE_SIZE);

/**
 * struct zsm_handle_block - header at the start of a handle block.
 *
 * Handles are words in blocks of their own, one set per class, so that
 * zs_malloc() takes a handle and a slot under one lock, and zs_free() can
 * check a handle (owner, liveness) before using it. A block is a fraction
 * of a page, so that a class of few objects holds a small block of handle
 * words rather than a page of them; its header records its owner.
 *
 * A handle word holds an encoded object location (bit 0 clear) while its
 * handle is live, and the link to the next free word | ZSM_HANDLE_FREE while
 * it is free: the distance to that word in bytes, modulo 2^BITS_PER_LONG
 * (zsm_handle_free_link()). A new block's words then all hold the same
 * value, "the next word", but for the last one, which links to NULL.
 *
 * @cookie: ZSM_HANDLE_BLOCK_MAGIC ^ (unsigned long)pool; constant while the
 *	block is owned, cleared when it is released. Lets both handle checks
 *	(zsm_handle_mapcheck(), zsm_handle_class()) recognise a handle of
 *	the pool with one load from the handle's own block.
 * @class: the owning class; constant while the block is owned.
 * @list: node in class->handle_blocks or class->handle_blocks_full; under
 *	class->lock.
 * @free: first free handle word or NULL; under class->lock.
 * @inuse: handles given out from this block; under class->lock.
 * @id: its index in class->hdir, set when it is installed; under
 *	class->lock.
 */
struct zsm_handle_block {
	unsigned long cookie;
	struct zsm_class *class;
	struct list_head list;
	unsigned long *free;
	unsigned int inuse;
	u32 id;
};

#define ZSM_HANDLE_BLOCK_MAGIC		0x7a736d68616e646cUL	/* "zsmhandl" */

struct zsm_pool;

/*
 * Owner mark of @pool's handle blocks, in their header. Kept in the pool
 * (zs_create_pool()), so that the map path compares it with one load.
 */
static inline unsigned long zsm_handle_block_cookie(struct zsm_pool *pool);

#define ZSM_HANDLE_FREE		1UL
#define ZSM_HANDLES_PER_BLOCK \
	((ZSM_HBLOCK_SIZE - sizeof(struct zsm_handle_block)) / \
	 sizeof(unsigned long))

/*
 * The header of the handle block that handle word @hp is in, through the
 * match-all tag: handles are untagged (zsm_hblock_page_new()), and the
 * checks of a possibly foreign handle read the header of memory that is
 * not zsm's, which KASAN's software tags would check even in
 * READ_ONCE_NOCHECK(). A no-op without tags.
 */
static __always_inline struct zsm_handle_block *
zsm_handle_block_of(const void *hp)
{
	return kasan_reset_tag((void *)((unsigned long)hp &
					~(ZSM_HBLOCK_SIZE - 1UL)));
}

/* The value of free handle word @hp whose next free word is @next (or NULL). */
static __always_inline unsigned long zsm_handle_free_link(unsigned long *hp,
							  unsigned long *next)
{
	return ((unsigned long)next - (unsigned long)hp) | ZSM_HANDLE_FREE;
}

/* The next free word after free handle word @hp, whose value is @link. */
static __always_inline unsigned long *zsm_handle_next_free(unsigned long *hp,
							   unsigned long link)
{
	return (unsigned long *)((unsigned long)hp + (link & ~ZSM_HANDLE_FREE));
}

/*
 * How a slot word names its handle word, in 31 bits above the free tag:
 * the handle block's id in class->hdir, then the word's index in that block
 * (ZSM_HWORD_BITS). Ids stay below ZSM_HDIR_MAX: 32 Mi handle blocks,
 * about 1.9 Gi handles, a class.
 */
#define ZSM_HWORD_BITS		(ilog2(ZSM_HBLOCK_SIZE / sizeof(unsigned long)))
#define ZSM_HDIR_MAX		(1U << (31 - ZSM_HWORD_BITS))
/* Ids a directory leaf holds: a page's worth of pointers. */
#define ZSM_HDIR_LEAF		(PAGE_SIZE / sizeof(void *))

/* Where handle block @id of @class is listed. */
static inline struct zsm_handle_block **
__zsm_hdir_entry(const struct zsm_class *class, u32 id)
{
	return &class->hdir[id / ZSM_HDIR_LEAF][id % ZSM_HDIR_LEAF];
}

/*
 * A directory grows, when a new handle block finds no free id, by what
 * zs_malloc() allocated without the lock: a bigger first leaf (it doubles
 * from the class's own ZSM_HDIR_MIN ids up to ZSM_HDIR_LEAF), or else one
 * more whole leaf, and a bigger array of leaves when that is full.
 */
struct zsm_hdir_spare {
	struct zsm_handle_block **leaf;
	unsigned int leaf_len;
	struct zsm_handle_block ***leaves;
	unsigned int nr_leaves;
};

/*
 * The opening tests of both handle checks (zsm_handle.c): an aligned word
 * past a handle block's header. In one comparison: the offset of the word
 * from the first one past the header, rotated right by 3, is at most the
 * index of the last word for a handle word; a misaligned offset has its
 * low bits rotated to the top, and an offset inside the header wraps
 * around (modulo the block) to past the last word.
 */
static __always_inline bool zsm_handle_word_ok(unsigned long handle)
{
	unsigned long off = (handle - sizeof(struct zsm_handle_block)) &
			    (ZSM_HBLOCK_SIZE - 1);

	BUILD_BUG_ON(!IS_ALIGNED(sizeof(struct zsm_handle_block),
				 sizeof(unsigned long)));
	return ror64(off, 3) < ZSM_HANDLES_PER_BLOCK;
}

/**
 * struct zsm_pool - a zsm pool (struct zs_pool to users of <linux/zsmalloc.h>).
 * @name: kstrdup'd name; constant.
 * @handle_cookie: ZSM_HANDLE_BLOCK_MAGIC ^ (unsigned long)pool, the owner mark
 *	of its handle blocks (zsm_handle_block_cookie()); constant.
 * @hblock_lo: the lowest address a handle block page of the pool ever had;
 *	only lowered, under @hblock_lock; read locklessly by
 *	zsm_handle_mapcheck() (a handle is published after its page's bound).
 * @hblock_hi: one past the highest; only raised, likewise.
 * @class_of: class slot -> canonical class (merged slots share one).
 * @classes: canonical classes, indexed by canonical index (NULL elsewhere).
 * @pages_total: pages in zspages of all classes; atomic.
 * @total_bytes: bytes the pool holds for its contents: @pages_total pages
 *	plus the metadata that grows with them (zspage descriptors at their
 *	slab object size, handle blocks in whole pages, handle directories);
 *	atomic, one value so that zs_get_total_pages() reads a total the pool
 *	had. Changed by zsm_pool_pages_add() and zsm_pool_meta_add(); the
 *	metadata alone is zsm_pool_meta_bytes().
 * @total_pages_max: the largest zs_get_total_pages() so far; atomic, raised
 *	by zsm_pool_total_add() (a peak, as zram's mem_used_max, for every
 *	user).
 * @stats: pages_compacted; atomic.
 * @hblock_lock: protects @hblock_pages, @nr_hblock_pages, the writes of
 *	@hblock_lo and @hblock_hi, and the free
 *	blocks of those pages (zsm_handle.c). Innermost; nests inside
 *	class->lock.
 * @hblock_pages: the pool's handle block pages that have a free block,
 *	linked by page->lru.
 * @nr_hblock_pages: the pool's handle block pages.
 * @deferred_lock: protects @deferred_free and @pending_pages. Nests
 *	inside class->lock.
 * @deferred_free: dead zspages waiting for release: emptied by zs_free(),
 *	or their page locks were busy when they were freed.
 * @pending_pages: the pages of the zspages queued on @deferred_free, until
 *	they are given back (in @pages_total until then).
 * @free_work: releases @deferred_free in process context, sleeping on
 *	page locks; armed ZSM_RELEASE_DELAY ahead by zs_free().
 * @compact_lock: held for the whole of one zs_compact() (one at a time).
 * @shrinker: pool shrinker (compaction under memory pressure).
 * @debugfs: per-pool debugfs directory.
 * @destroying: set by zs_destroy_pool(); no new work is queued.
 * @evict: owner's eviction handler (zs_set_evict_handler()); may be NULL.
 * @evict_priv: its argument.
 * @evict_lock: serialises zs_evict_pages() callers (mutex, outermost).
 * @evict_gen: round number of the last zs_evict_pages(); under @evict_lock.
 * @evict_pin: the handle the eviction handler is running for, or 0. Set and
 *	cleared under its class lock; zs_free() of it only sets
 *	@evict_pin_freed, and the evictor frees it when the handler returns.
 * @evict_pin_freed: the owner freed @evict_pin; under its class lock.
 * @pages_evicted: page frames zs_evict_pages() freed; under @evict_lock.
 */
struct zsm_pool {
	const char *name;
	unsigned long handle_cookie;
	unsigned long hblock_lo;	/* beside the cookie, which the map */
	unsigned long hblock_hi;	/* path reads with them */
	struct zsm_class *class_of[ZSM_NR_CLASSES];
	struct zsm_class *classes[ZSM_NR_CLASSES];
	atomic_long_t pages_total;
	atomic_long_t total_bytes;
	atomic_long_t total_pages_max;
	struct zs_pool_stats stats;
	spinlock_t hblock_lock;		/* innermost; see above */
	struct list_head hblock_pages;
	unsigned long nr_hblock_pages;
	spinlock_t deferred_lock;	/* innermost; guards deferred_free */
	struct list_head deferred_free;
	unsigned long pending_pages;
	struct delayed_work free_work;
	struct mutex compact_lock;	/* outermost; one zs_compact() */
	struct shrinker *shrinker;
	struct dentry *debugfs;
	bool destroying;
	zs_evict_fn evict;
	void *evict_priv;
	struct mutex evict_lock;	/* outermost; one evictor per pool */
	unsigned int evict_gen;
	unsigned long evict_pin;
	bool evict_pin_freed;
	unsigned long pages_evicted;
};

/*
 * struct zs_pool stays an incomplete type: the exported functions' modversion
 * CRCs then match those of zsmalloc, whose struct is private to its .c file,
 * and the stock zram.ko binds to zsm. zsm's own pool is struct zsm_pool.
 */
static inline struct zsm_pool *zsm_pool(struct zs_pool *zpool)
{
	return (struct zsm_pool *)zpool;
}

static inline struct zs_pool *zs_pool_of(struct zsm_pool *pool)
{
	return (struct zs_pool *)pool;
}

/*
 * The map path's check of @handle, at the cost of one load from the block
 * the handle word is in (which the map reads next anyway): a word within
 * the span of @pool's handle block pages (lowest to highest it ever had),
 * past the header of a block whose header carries @pool's cookie. A handle
 * of another pool, a freed handle block, an error value, NULL, or a
 * pointer into other memory (a slab object, say) is refused; like
 * zsmalloc, the map path does not guard against a pointer into an
 * unmapped hole of the direct map within that span. The span, not the
 * direct map's bounds: arm64 does not raise high_memory for hot-added
 * memory, whose pages can hold handle blocks. zs_free() uses the full
 * check, zsm_handle_class().
 */
static __always_inline bool zsm_handle_mapcheck(struct zsm_pool *pool,
						unsigned long handle)
{
	const struct zsm_handle_block *h = zsm_handle_block_of((void *)handle);

	if (!zsm_handle_word_ok(handle) ||
	    /* Only lowered: any value read is safe; a plain load, folded. */
	    handle < data_race(pool->hblock_lo) ||
	    /* Only raised: likewise. */
	    handle >= data_race(pool->hblock_hi))
		return false;
	/*
	 * Not KASAN-checked: for a bad handle this memory is someone else's.
	 * For a good one, the cookie was set before the block was listed
	 * under class->lock, and the caller got the handle after that.
	 */
	return READ_ONCE_NOCHECK(h->cookie) == zsm_handle_block_cookie(pool);
}

/*
 * The pool's size counters change only through zsm_pool_pages_add() and
 * zsm_pool_meta_add(), which keep @total_bytes (what zs_get_total_pages()
 * reads) in step with @pages_total and raise @total_pages_max from the
 * very value each change produced, so the peak is exact under concurrent
 * changes.
 */
static inline void zsm_pool_total_add(struct zsm_pool *pool, long bytes)
{
	long now = atomic_long_add_return(bytes, &pool->total_bytes);
	long pages = DIV_ROUND_UP(now, PAGE_SIZE);
	long max = atomic_long_read(&pool->total_pages_max);

	while (pages > max &&
	       !atomic_long_try_cmpxchg(&pool->total_pages_max, &max, pages))
		;
}

/* @n (may be negative) pages added to or taken from zspages of @pool. */
static inline void zsm_pool_pages_add(struct zsm_pool *pool, long n)
{
	atomic_long_add(n, &pool->pages_total);
	zsm_pool_total_add(pool, n * (long)PAGE_SIZE);
}

/* @bytes (may be negative) of @pool's metadata allocated or freed. */
static inline void zsm_pool_meta_add(struct zsm_pool *pool, long bytes)
{
	zsm_pool_total_add(pool, bytes);
}

/*
 * @pool's metadata bytes: @total_bytes less the zspage pages. Two reads, so
 * exact only while the pool is quiet: a statistic (debugfs, tests).
 */
static inline long zsm_pool_meta_bytes(struct zsm_pool *pool)
{
	return atomic_long_read(&pool->total_bytes) -
	       atomic_long_read(&pool->pages_total) * (long)PAGE_SIZE;
}

static inline unsigned long zsm_handle_block_cookie(struct zsm_pool *pool)
{
	return pool->handle_cookie;
}

/* Object locations ------------------------------------------------------- */

/*
 * A live handle's word holds the object's location: the physical address of
 * its zspage descriptor (kmalloc'd, so 8-aligned: the low 3 bits are dropped)
 * above the slot index, shifted left once so that bit 0 stays clear (bit 0
 * set marks a free handle word). With MAX_PHYSMEM_BITS 52 that is at most
 * 52 - 3 + ZSM_OBJ_IDX_BITS + 1 bits.
 */
#define ZSM_OBJ_SHIFT		(ZSM_OBJ_IDX_BITS + 1)

static inline unsigned long zsm_obj_encode(struct zsm_zspage *zspage,
					   unsigned int idx)
{
	return ((unsigned long)virt_to_phys(zspage) >> 3) << ZSM_OBJ_SHIFT |
		(unsigned long)idx << 1;
}

static inline struct zsm_zspage *zsm_obj_zspage(unsigned long obj)
{
	return phys_to_virt((phys_addr_t)(obj >> ZSM_OBJ_SHIFT) << 3);
}

static inline unsigned int zsm_obj_idx(unsigned long obj)
{
	return (obj >> 1) & ZSM_OBJ_IDX_MASK;
}

/* Longest pool name kept (debugfs and shrinker names derive from it). */
#define ZSM_POOL_NAME_MAX	64

static inline unsigned int zsm_fullness_of(unsigned int inuse, unsigned int objs)
{
	if (!inuse)
		return ZSM_FULLNESS_EMPTY;
	if (inuse >= objs)
		return ZSM_FULLNESS_FULL;
	return 1 + inuse * 10 / objs;
}

/*
 * zs_malloc()'s flags for the metadata (descriptors, handle blocks, the
 * handle directory): no zone modifier. Those are the object pages'
 * (__GFP_HIGHMEM, __GFP_MOVABLE, or a caller's __GFP_DMA32, which slab
 * refuses); metadata is not movable and needs no particular zone.
 */
static inline gfp_t zsm_meta_gfp(gfp_t gfp)
{
	return gfp & ~GFP_ZONEMASK;
}

/* zsm_main.c */
unsigned long zsm_alloc_object(struct zsm_pool *pool, size_t size, gfp_t gfp,
			       int nid);

/* zsm_handle.c */
struct zsm_handle_block *zsm_handle_block_alloc(struct zsm_class *class,
						gfp_t gfp);
void zsm_handle_block_release(struct zsm_handle_block *h);
void __zsm_handle_block_add(struct zsm_class *class,
			    struct zsm_handle_block *h);
int zsm_hdir_prepare(struct zsm_class *class, struct zsm_hdir_spare *sp,
		     gfp_t gfp);
bool __zsm_hdir_spare_fits(const struct zsm_class *class,
			   const struct zsm_hdir_spare *sp);
bool __zsm_hdir_grow(struct zsm_class *class, struct zsm_hdir_spare *sp);
void zsm_hdir_spare_release(struct zsm_hdir_spare *sp);
void zsm_hdir_init(struct zsm_class *class);
void __zsm_handle_block_drop(struct zsm_class *class,
			     struct zsm_handle_block *h);
void __zsm_handle_blocks_drain(struct zsm_class *class);

/* zsm_zspage.c */
extern const struct movable_operations zsm_mops;
extern atomic_long_t zsm_pages_migrated;
extern atomic_long_t zsm_migrate_sync_busy;
int zsm_desc_caches_init(void);
void zsm_desc_caches_exit(void);
struct kmem_cache *zsm_desc_cache(unsigned int index, unsigned int *size);
struct zsm_zspage *zsm_zspage_alloc(struct zsm_class *class, gfp_t gfp);
void zsm_zspage_unused(struct zsm_zspage *zspage);
void __zsm_zspage_free(struct zsm_pool *pool, struct zsm_zspage *zspage);
void __zsm_zspage_free_later(struct zsm_pool *pool, struct zsm_zspage *zspage);
void zsm_release_pending(struct zsm_pool *pool, bool wait);
void zsm_deferred_free_work(struct work_struct *work);
void __zsm_zspage_add_page(struct zsm_class *class, struct zsm_zspage *zspage,
			   struct page *page);
struct page *zsm_page_alloc(gfp_t gfp, int nid);
void zsm_page_unused(struct page *page);
void zsm_page_release(struct page *page);

/* zsm_compact.c */
int zsm_pool_shrinker_init(struct zsm_pool *pool);
void zsm_pool_shrinker_exit(struct zsm_pool *pool);
unsigned long zsm_class_freeable_pages(struct zsm_class *class);

/* zsm_map.c */
const char *zsm_map_mode_name(void);
int zsm_map_set_mode(bool pte);
int zsm_map_init(void);
void zsm_map_exit(void);
void zsm_obj_copy(struct zsm_zspage *dst, unsigned int didx,
		  struct zsm_zspage *src, unsigned int sidx, unsigned int size);

/* zsm_zpool.c, built only with CONFIG_ZPOOL (Kbuild) */
#if IS_ENABLED(CONFIG_ZPOOL)
void zsm_zpool_init(void);
void zsm_zpool_exit(void);
#else
static inline void zsm_zpool_init(void) { }
static inline void zsm_zpool_exit(void) { }
#endif

/* zsm_debugfs.c */
void zsm_debugfs_init(void);
void zsm_debugfs_exit(void);
void zsm_pool_debugfs_add(struct zsm_pool *pool);
void zsm_pool_debugfs_remove(struct zsm_pool *pool);

/* The helpers of zs_malloc() and zs_free(), inline. */
#include "zsm_hot.h"

#endif /* _ZSM_INTERNAL_H */
