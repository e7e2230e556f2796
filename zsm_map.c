// SPDX-License-Identifier: GPL-2.0
/*
 * zsm: mapping objects for the CPU.
 *
 * An object inside one page is used where it is: the descriptor keeps
 * each page's address in the direct map (zsm is 64-bit only, without
 * highmem), so no kmap is needed. An object that crosses from page i to
 * page i + 1 of its zspage is mapped in one of two ways (module parameter
 * map_mode):
 *
 * pte:  each CPU owns virtual areas of two pages, reserved when the CPU
 *       comes up (vmap of a dummy page, whose two PTEs we then own). A map
 *       points the two PTEs at the object's pages; nothing is allocated, so
 *       a map cannot fail. x86-64 only.
 * copy: the object is copied into a per-CPU buffer at map time (unless
 *       ZS_MM_WO) and back at unmap time (unless ZS_MM_RO), as zsmalloc
 *       does. Works everywhere; the fallback.
 *
 * TLB argument for pte mode (x86-64, with or without PTI and PCIDs):
 *
 *   Invariant: outside a map window, the area's PTEs are not present and
 *   no TLB of any CPU, in any PCID, holds a translation for the area.
 *
 *   - x86 does not cache not-present translations, so the PTEs written at
 *     map time are the only ones the window can load.
 *   - A window runs on one CPU with preemption disabled, so translations
 *     for the area are created only in that CPU's TLB, and only in the
 *     PCID(s) current during the window. Other CPUs never access the area.
 *   - At unmap we clear the PTEs and INVLPG both pages. INVLPG drops the
 *     current PCID's entries and global entries for the page; with PTI the
 *     PTEs are not global, and user-mode PCIDs cannot hold them (the user
 *     page tables do not map vmalloc space). So if the PCID at unmap is the
 *     one at map, the invariant holds again.
 *   - The PCID can change inside a window without a context switch only
 *     when a TLB-flush IPI finds the CPU in lazy-TLB mode and switches it to
 *     init_mm (leave_mm()); it cannot switch back before the next schedule.
 *     We compare CR3 at map and at unmap; if it changed we also flush the
 *     whole local TLB, every PCID included (__flush_tlb_all()).
 *
 *   flush_tlb_one_kernel() would do this (it marks other PCIDs for flush),
 *   but it is not exported to modules.
 *
 * Each CPU has ZSM_MAP_DEPTH mapping slots used as a stack, so a map may
 * nest inside another on the same CPU (a softirq mapping while the
 * interrupted task holds a mapping, or a copy from one object to another);
 * unmaps must come in reverse order. A deeper nest, an unmap with
 * no map, or an unmap out of order is refused with one warning.
 *
 * Between map and unmap the object's zspage is read-locked: compaction and
 * migration, which move bytes, wait; allocation and free, which do not
 * touch object memory, do not. A mapping also disables preemption, so the
 * CPU and its slot stay ours until unmap.
 *
 * The object API (zs_obj_read_begin()/_end(), the SG reads, zs_obj_write())
 * uses no per-CPU state: between begin and end the caller holds only the
 * zspage's read lock, and may sleep (as 7.x zsmalloc allows). An object is
 * read in place when its first mem_len bytes lie in one page, else copied
 * into the caller's buffer; the SG read hands out the page(s) themselves,
 * which migration cannot replace while the read lock is held.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/highmem.h>
#include <linux/percpu.h>
#include <linux/cpuhotplug.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/scatterlist.h>
#include <kunit/visibility.h>

#include "zsm_internal.h"
#include "zsm.h"

/* pte mode: x86-64, where modules may flush the local TLB (zsm_compat.h). */
#if defined(CONFIG_X86_64) && defined(ZSM_HAVE_FLUSH_TLB_ALL)
#include <linux/vmalloc.h>
#include <asm/tlbflush.h>
#include <asm/special_insns.h>
#include <asm/pgtable.h>
#define ZSM_HAVE_PTE_MAP 1
#else
#define ZSM_HAVE_PTE_MAP 0
#endif

/* === Data ================================================================ */

/*
 * copy is the default: it was faster than pte in the guest map benchmark
 * and in zsmalloc's own 2012 bare-metal numbers (Documentation/zsm.rst).
 */
static char *map_mode = "copy";
module_param(map_mode, charp, 0444);
MODULE_PARM_DESC(map_mode,
		 "Cross-page mapping: copy (default) or pte (copy where pte is unsupported); auto = pte");

/*
 * Mode for new cross-page maps: set at module load from map_mode (tests may
 * switch it with zsm_map_set_mode()). Each live mapping records the mode it
 * was made with, so a switch never confuses an unmap.
 */
static bool zsm_use_pte;

/* pte mode is possible here (x86-64, native MMU): areas are reserved. */
static bool zsm_pte_possible;

/* The page every reserved area maps before its PTEs are taken over. */
static struct page *zsm_dummy_page;

/* Nested mappings one CPU can hold at once. */
#define ZSM_MAP_DEPTH	2

/* struct zsm_map_slot.cross */
#define ZSM_CROSS_PTE		1
#define ZSM_CROSS_COPY		2	/* written back at unmap */
#define ZSM_CROSS_COPY_RO	3	/* ZS_MM_RO: not written back */

/**
 * struct zsm_map_slot - one live mapping.
 * @handle: the mapped handle.
 * @zspage: its zspage, read-locked until unmap.
 * @kaddr: address of the page of an in-page object; NULL for a
 *	cross-page one, whose mapping the fields below describe.
 * @idx: slot index of the object in @zspage (cross-page).
 * @cross: how the cross-page object is mapped: ZSM_CROSS_PTE through the
 *	area (pte mode), ZSM_CROSS_COPY copied into the buffer and back at
 *	unmap (copy mode), ZSM_CROSS_COPY_RO the same for ZS_MM_RO, not
 *	copied back.
 *
 * An in-page map, the common case, fills only the first three.
 */
struct zsm_map_slot {
	unsigned long handle;
	struct zsm_zspage *zspage;
	void *kaddr;
	unsigned int idx;
	u8 cross;
};

/**
 * struct zsm_map_area - per-CPU mapping state.
 * @depth: slots in use; changed only by this CPU, with preemption off.
 *	An interrupt that maps here (a softirq: hard IRQ and NMI maps are
 *	refused) unmaps before it returns, so it leaves @depth as it found
 *	it, even in the middle of a push or pop (zsm_slot_push()).
 * @slot: the mapping stack.
 * @buf: copy mode: one PAGE_SIZE buffer per slot.
 * @va: pte mode: one two-page virtual area per slot.
 * @ptep: pte mode: the kernel PTEs of each area's two pages.
 * @cr3: pte mode: CR3 when each area was mapped, to detect a lazy-TLB
 *	switch.
 *
 * @buf, @va and @ptep are set up by the CPU-prepare callback and torn down
 * by the CPU-dead callback, both run for the CPU while it is offline.
 */
struct zsm_map_area {
	unsigned int depth;
	struct zsm_map_slot slot[ZSM_MAP_DEPTH];
	char *buf[ZSM_MAP_DEPTH];
	void *va[ZSM_MAP_DEPTH];
	pte_t *ptep[ZSM_MAP_DEPTH][2];
	unsigned long cr3[ZSM_MAP_DEPTH];
};

static DEFINE_PER_CPU(struct zsm_map_area, zsm_map_areas);

/*
 * The fast paths' accesses to this CPU's map area, preemption off, through
 * @area = zsm_area_here(). x86 reaches per-CPU data in one instruction
 * through its segment register: there @area is NULL, unused, and the
 * accesses are this_cpu ones (zsm_area_ptr() gives the cold paths the
 * area's address). Elsewhere each this_cpu access computes the per-CPU
 * address anew (on arm64 a system register read and an add, and an
 * exclusive load/store loop for this_cpu_inc_return()), so @area is the
 * address, taken once (Documentation/zsm.rst, "Mapping", has the cost).
 */
#ifdef CONFIG_X86
#define zsm_area_here()		NULL
#define zsm_area_ptr(area)	({ (void)(area); this_cpu_ptr(&zsm_map_areas); })
#define zsm_area_rd(area, f)	({ (void)(area); __this_cpu_read(zsm_map_areas.f); })
#define zsm_area_wr(area, f, v)	({ (void)(area); __this_cpu_write(zsm_map_areas.f, v); })
#define zsm_area_inc_return(area, f) \
	({ (void)(area); __this_cpu_inc_return(zsm_map_areas.f); })
#else
#define zsm_area_here()			this_cpu_ptr(&zsm_map_areas)
#define zsm_area_ptr(area)		(area)
#define zsm_area_rd(area, f)		((*(area)).f)
#define zsm_area_wr(area, f, v)		((*(area)).f = (v))
#define zsm_area_inc_return(area, f)	(++(*(area)).f)
#endif

static enum cpuhp_state zsm_cpuhp_state;

/* === Internals =========================================================== */

/*
 * Is a map of @handle from here refused? From hard IRQ or NMI (one read
 * of the preempt count for in_hardirq() || in_nmi(); see
 * zsm_obj_lookup_read()), or of a handle that is not a handle word of
 * @pool. No warning: zsm_obj_lookup_read() warns for the map paths.
 */
static __always_inline bool zsm_obj_map_refused(struct zsm_pool *pool,
						unsigned long handle)
{
	return unlikely((preempt_count() & (HARDIRQ_MASK | NMI_MASK)) ||
			!zsm_handle_mapcheck(pool, handle));
}

/*
 * zsm_obj_lock_fast() - the common case of finding and pinning a live
 * object's zspage, inline: a handle that passes its checks, whose zspage
 * no writer holds or waits for, read-locked at the first attempt.
 * @pool: the pool.
 * @handle: a handle of @pool.
 * @objp: set to the object's location when a zspage is returned.
 *
 * The handle word can change under us (compaction moves objects with the
 * source zspage write-locked); the descriptor read from it is kept alive by
 * RCU until we hold its lock and have seen the handle word unchanged, after
 * which compaction and migration of that zspage wait for us. The RCU read
 * side is preemption off: since the RCU flavours were consolidated (4.20)
 * call_rcu() waits for preempt-disabled regions too, and on a preemptible
 * RCU kernel preempt_disable()/preempt_enable() is cheaper than
 * rcu_read_lock()/rcu_read_unlock(), whose unlock is a call.
 *
 * Return: true with *@zspagep read-locked (and *@objp set), or false with
 * nothing held and nothing warned: the caller then takes the slow path,
 * zsm_obj_lookup_read(), which tells a refusal from a retry.
 */
static __always_inline bool
zsm_obj_lock_fast(struct zsm_pool *pool, unsigned long handle,
		  struct zsm_zspage **zspagep, unsigned long *objp)
{
	unsigned long *hp = (unsigned long *)handle;
	struct zsm_zspage *zspage;
	unsigned long obj;

	if (unlikely(zsm_obj_map_refused(pool, handle)))
		return false;
	/* The RCU reader: preemption off (see above). */
	preempt_disable();
	/*
	 * Pairs with the smp_store_release() that publishes a moved object's
	 * location (__zsm_slot_take()): seeing the new location, we also see
	 * the bytes copied there.
	 */
	obj = smp_load_acquire(hp);
	zspage = zsm_obj_zspage(obj);
	if (unlikely(obj & ZSM_HANDLE_FREE) ||
	    unlikely(!zsm_zspage_read_tryacquire(zspage))) {
		preempt_enable();
		return false;
	}
	zsm_zspage_lock_taken(zspage);
	/*
	 * Pairs with the write_unlock() after compaction moved it, and with
	 * the smp_store_release() of a move back into this very slot: the
	 * reads of the bytes and page_addr[] below must not pass this one.
	 */
	if (unlikely(smp_load_acquire(hp) != obj)) {
		zsm_zspage_read_unlock(zspage);
		preempt_enable();
		return false;
	}
	preempt_enable();
	*zspagep = zspage;
	*objp = obj;
	/* Held on return: zsm_obj_lock_read(), zs_map_object() */
	zsm_zspage_lock_to_caller(zspage);
	return true;
}

/*
 * zsm_obj_lookup_read() - find and pin the zspage of a live object, when
 * zsm_obj_lock_fast() did not: refuse the handle or the context (warned
 * once), or retry until the zspage is read-locked with the object in it.
 * @pool: the pool.
 * @handle: a handle of @pool.
 * @idx: set to the object's slot index.
 *
 * Callers use the zsm_obj_lock_read() wrapper, which tells sparse that the
 * lock is held exactly when a zspage is returned.
 *
 * Context: Task or softirq context; not hard IRQ or NMI (refused, warned
 * once). Does not sleep.
 * Return: the zspage, read-locked, or NULL for a handle that is not a live
 * handle of @pool or a refused context (warned once).
 */
static noinline struct zsm_zspage *
zsm_obj_lookup_read(struct zsm_pool *pool, unsigned long handle,
		    unsigned int *idx)
{
	unsigned long *hp = (unsigned long *)handle;
	struct zsm_zspage *zspage;
	unsigned long obj;

	/*
	 * A hard-IRQ mapper could spin forever on a zspage its CPU's
	 * interrupted task holds write-locked (writers only disable BH).
	 */
	if (WARN_ONCE(in_hardirq() || in_nmi(),
		      "zsm: map from hard IRQ or NMI context\n"))
		return NULL;
	if (WARN_ONCE(!zsm_handle_mapcheck(pool, handle),
		      "zsm: map of handle %p not from pool %s\n",
		      (void *)handle, pool->name))
		return NULL;

	rcu_read_lock();
	for (;;) {
		/* As in zsm_obj_lock_fast(). */
		obj = smp_load_acquire(hp);
		if (WARN_ONCE(obj & ZSM_HANDLE_FREE,
			      "zsm: map of free handle %p\n", (void *)handle)) {
			zspage = NULL;
			break;
		}
		zspage = zsm_obj_zspage(obj);
		zsm_zspage_read_lock(zspage);
		/* As in zsm_obj_lock_fast(): the re-read is an acquire too. */
		if (smp_load_acquire(hp) == obj) {
			/* Held on return: zsm_obj_lock_read() */
			zsm_zspage_lock_to_caller(zspage);
			break;
		}
		zsm_zspage_read_unlock(zspage);
	}
	rcu_read_unlock();
	*idx = zsm_obj_idx(obj);
	return zspage;
}

/*
 * zsm_obj_lock_read() - the zspage of a live object, read-locked, or NULL
 * (refused, warned once): zsm_obj_lock_fast(), else zsm_obj_lookup_read().
 * Tells sparse that the lock is held exactly when a zspage is returned.
 */
static __always_inline struct zsm_zspage *
zsm_obj_lock_read(struct zsm_pool *pool, unsigned long handle,
		  unsigned int *idx)
{
	struct zsm_zspage *zspage;
	unsigned long obj;

	if (likely(zsm_obj_lock_fast(pool, handle, &zspage, &obj)))
		*idx = zsm_obj_idx(obj);
	else
		zspage = zsm_obj_lookup_read(pool, handle, idx);
	(void)zsm_cond_lock(&zspage->lock, zspage);
	return zspage;
}

/* The address of the page of @zspage that holds its byte @off. */
static inline void *zsm_span_addr(struct zsm_zspage *zspage,
				  unsigned long off)
{
	return zspage->page_addr[off >> PAGE_SHIFT];
}

/*
 * Copy @len bytes at zspage offset @off into @buf. An object is at most a
 * page long, so the bytes lie in at most two pages: two copies, no loop
 * (a cross-page map in copy mode runs this once per map or unmap). The
 * second length is clamped to PAGE_SIZE (a no-op) so that the compiler
 * knows both lengths' bound and may expand both copies inline, as x86-64
 * GCC does.
 */
static inline void zsm_zspage_read(struct zsm_zspage *zspage,
				   unsigned long off, void *buf,
				   unsigned int len)
{
	void **addr = &zspage->page_addr[off >> PAGE_SHIFT];
	unsigned int poff = offset_in_page(off);
	unsigned int n = min_t(unsigned int, len, PAGE_SIZE - poff);

	memcpy(buf, addr[0] + poff, n);
	if (n == len)
		return;
	memcpy(buf + n, addr[1], min_t(unsigned int, len - n, PAGE_SIZE));
}

/* Copy @len bytes from @buf to zspage offset @off; as zsm_zspage_read(). */
static inline void zsm_zspage_write(struct zsm_zspage *zspage,
				    unsigned long off, const void *buf,
				    unsigned int len)
{
	void **addr = &zspage->page_addr[off >> PAGE_SHIFT];
	unsigned int poff = offset_in_page(off);
	unsigned int n = min_t(unsigned int, len, PAGE_SIZE - poff);

	memcpy(addr[0] + poff, buf, n);
	if (n == len)
		return;
	memcpy(addr[1], buf + n, min_t(unsigned int, len - n, PAGE_SIZE));
}

/**
 * zsm_obj_copy() - copy one object's bytes to another object.
 * @dst: destination zspage.
 * @didx: destination slot.
 * @src: source zspage.
 * @sidx: source slot.
 * @size: bytes to copy (the class size).
 *
 * Context: the caller keeps both zspages' pages in place (class->lock
 * excludes migration; the source is write-locked by compaction).
 */
void zsm_obj_copy(struct zsm_zspage *dst, unsigned int didx,
		  struct zsm_zspage *src, unsigned int sidx, unsigned int size)
{
	unsigned long soff = (unsigned long)sidx * size;
	unsigned long doff = (unsigned long)didx * size;

	while (size) {
		unsigned int so = offset_in_page(soff), dof = offset_in_page(doff);
		unsigned int n = min3(size, (unsigned int)PAGE_SIZE - so,
				      (unsigned int)PAGE_SIZE - dof);
		memcpy(zsm_span_addr(dst, doff) + dof,
		       zsm_span_addr(src, soff) + so, n);
		soff += n;
		doff += n;
		size -= n;
	}
}

/*
 * Push a mapping slot on @area, this CPU's, preemption off: its depth, or
 * ZSM_MAP_DEPTH if the stack is full. A plain read-modify-write of the
 * depth is enough: a softirq that runs between its read and its write
 * pops every slot it pushed before we continue (struct zsm_map_area).
 */
static __always_inline unsigned int zsm_slot_push(struct zsm_map_area *area)
{
	unsigned int d = zsm_area_inc_return(area, depth) - 1;

	if (unlikely(d >= ZSM_MAP_DEPTH)) {
		zsm_area_wr(area, depth, d);
		return ZSM_MAP_DEPTH;
	}
	/* The slot is filled only once the depth says it is ours. */
	barrier();
	return d;
}

#if ZSM_HAVE_PTE_MAP
static inline void zsm_invlpg(void *addr)
{
	asm volatile("invlpg (%0)" : : "r" (addr) : "memory");
}

/* Point area @d of this CPU at @p0, @p1. Not-present before: no flush. */
static void *zsm_pte_map(struct zsm_map_area *area, unsigned int d,
			 struct page *p0, struct page *p1)
{
	area->cr3[d] = __read_cr3();
	set_pte(area->ptep[d][0], mk_pte(p0, PAGE_KERNEL));
	set_pte(area->ptep[d][1], mk_pte(p1, PAGE_KERNEL));
	return area->va[d];
}

/* Restore the invariant: PTEs clear, no translation left in any PCID. */
static void zsm_pte_unmap(struct zsm_map_area *area, unsigned int d)
{
	set_pte(area->ptep[d][0], __pte(0));
	set_pte(area->ptep[d][1], __pte(0));
	zsm_invlpg(area->va[d]);
	zsm_invlpg(area->va[d] + PAGE_SIZE);
	if (unlikely(__read_cr3() != area->cr3[d]))
		__flush_tlb_all();
}

static int zsm_pte_area_init(struct zsm_map_area *area, unsigned int d)
{
	struct page *pages[2] = { zsm_dummy_page, zsm_dummy_page };
	unsigned int level, i;

	area->va[d] = vmap(pages, 2, VM_MAP, PAGE_KERNEL);
	if (!area->va[d])
		return -ENOMEM;
	for (i = 0; i < 2; i++) {
		pte_t *ptep = lookup_address((unsigned long)area->va[d] +
					     i * PAGE_SIZE, &level);

		if (!ptep || level != PG_LEVEL_4K) {
			vunmap(area->va[d]);
			area->va[d] = NULL;
			return -EFAULT;
		}
		area->ptep[d][i] = ptep;
		/* The CPU is offline: nothing can have cached the dummy. */
		set_pte(ptep, __pte(0));
	}
	return 0;
}

static void zsm_pte_area_exit(struct zsm_map_area *area, unsigned int d)
{
	if (!area->va[d])
		return;
	/* vunmap() expects its own PTEs back. */
	set_pte(area->ptep[d][0], mk_pte(zsm_dummy_page, PAGE_KERNEL));
	set_pte(area->ptep[d][1], mk_pte(zsm_dummy_page, PAGE_KERNEL));
	vunmap(area->va[d]);
	area->va[d] = NULL;
}
#else
static void *zsm_pte_map(struct zsm_map_area *area, unsigned int d,
			 struct page *p0, struct page *p1)
{
	return NULL;
}

static void zsm_pte_unmap(struct zsm_map_area *area, unsigned int d)
{
}

static int zsm_pte_area_init(struct zsm_map_area *area, unsigned int d)
{
	return -EOPNOTSUPP;
}

static void zsm_pte_area_exit(struct zsm_map_area *area, unsigned int d)
{
}
#endif

/*
 * Pop the top mapping, slot @depth - 1, of this CPU's map stack; drop its
 * zspage's read lock and the preemption count of zs_map_object() and of
 * zs_unmap_object().
 */
static __always_inline void zsm_slot_pop(struct zsm_map_area *area,
					 unsigned int depth)
{
	struct zsm_zspage *zspage = zsm_area_rd(area, slot[depth - 1].zspage);

	zsm_area_wr(area, slot[depth - 1].handle, 0);
	/* The slot is read and cleared before the depth gives it up. */
	barrier();
	zsm_area_wr(area, depth, depth - 1);
	/* The lock zs_map_object() left to the mapping in @slot. */
	zsm_zspage_lock_from_caller(zspage);
	zsm_zspage_read_unlock(zspage);
	/* zs_unmap_object()'s. */
	preempt_enable();
	/* zs_map_object()'s. */
	preempt_enable();
}

/*
 * Map cross-page object @idx of @zspage into slot @d of this CPU's @area
 * (zsm_map_locked() has filled in the handle and zspage).
 */
static noinline void *zsm_map_cross(struct zsm_zspage *zspage,
				    unsigned int idx, enum zs_mapmode mm,
				    struct zsm_map_area *area, unsigned int d)
{
	struct zsm_map_slot *slot = &area->slot[d];
	unsigned int size = zspage->class->geom.size;
	unsigned long off = (unsigned long)idx * size;

	slot->kaddr = NULL;
	slot->idx = idx;
	if (READ_ONCE(zsm_use_pte)) {
		unsigned long pg = off >> PAGE_SHIFT;

		slot->cross = ZSM_CROSS_PTE;
		return zsm_pte_map(area, d, zsm_zspage_page(zspage, pg),
				   zsm_zspage_page(zspage, pg + 1)) +
		       offset_in_page(off);
	}
	slot->cross = mm == ZS_MM_RO ? ZSM_CROSS_COPY_RO : ZSM_CROSS_COPY;
	if (mm != ZS_MM_WO)
		zsm_zspage_read(zspage, off, area->buf[d], size);
	return area->buf[d];
}

/* zs_unmap_object() of the cross-page mapping on top of this CPU's stack. */
static noinline void zsm_unmap_cross(struct zsm_map_area *area,
				     unsigned int depth)
{
	unsigned int d = depth - 1;
	struct zsm_map_slot *slot = &area->slot[d];

	if (slot->cross == ZSM_CROSS_PTE) {
		zsm_pte_unmap(area, d);
	} else if (slot->cross == ZSM_CROSS_COPY) {
		struct zsm_zspage *zspage = slot->zspage;
		unsigned int size = zspage->class->geom.size;

		zsm_zspage_write(zspage, (unsigned long)slot->idx * size,
				 area->buf[d], size);
	}
	zsm_slot_pop(area, depth);
}

/* A third nested map: refused; undo what zs_map_object() did. */
static noinline void *zsm_map_too_deep(struct zsm_zspage *zspage)
	__releases(&zspage->lock)
{
	WARN_ONCE(1, "zsm: more than %d nested maps on a CPU\n",
		  ZSM_MAP_DEPTH);
	preempt_enable();
	zsm_zspage_read_unlock(zspage);
	return NULL;
}

/*
 * Map object @idx of @zspage, read-locked by the caller, whose lock the
 * mapping takes over until zs_unmap_object(), on this CPU's map stack.
 * An in-page object inline; a cross-page one in zsm_map_cross().
 */
static __always_inline void *zsm_map_locked(struct zsm_zspage *zspage,
					    unsigned int idx,
					    unsigned long handle,
					    enum zs_mapmode mm)
	__releases(&zspage->lock)
{
	unsigned long size, off, poff;
	struct zsm_map_area *area;
	unsigned int d;
	void *kaddr;

	/* Off until zs_unmap_object(): the slot is this CPU's. */
	preempt_disable();
	area = zsm_area_here();
	d = zsm_slot_push(area);
	if (unlikely(d == ZSM_MAP_DEPTH))
		return zsm_map_too_deep(zspage);
	/* The mapping owns the read lock until zs_unmap_object(). */
	zsm_zspage_lock_to_caller(zspage);
	zsm_area_wr(area, slot[d].handle, handle);
	zsm_area_wr(area, slot[d].zspage, zspage);
	size = zspage->class->geom.size;
	off = idx * size;
	poff = offset_in_page(off);
	if (unlikely(poff + size > PAGE_SIZE))
		return zsm_map_cross(zspage, idx, mm, zsm_area_ptr(area), d);
	kaddr = zsm_span_addr(zspage, off);
	zsm_area_wr(area, slot[d].kaddr, kaddr);
	return kaddr + poff;
}

/* zs_map_object() when zsm_obj_lock_fast() did not find the object. */
static noinline void *zsm_map_slow(struct zs_pool *zpool, unsigned long handle,
				   enum zs_mapmode mm)
{
	struct zsm_zspage *zspage;
	unsigned int idx;

	zspage = zsm_obj_lock_read(zsm_pool(zpool), handle, &idx);
	if (!zspage)
		return NULL;
	return zsm_map_locked(zspage, idx, handle, mm);
}

/* === CPU hotplug ========================================================= */

/* Give back what zsm_cpu_prepare() set up for @area (all or part). */
static void zsm_cpu_area_free(struct zsm_map_area *area)
{
	int i;

	for (i = 0; i < ZSM_MAP_DEPTH; i++) {
		zsm_pte_area_exit(area, i);
		kfree(area->buf[i]);
		area->buf[i] = NULL;
	}
}

static int zsm_cpu_prepare(unsigned int cpu)
{
	struct zsm_map_area *area = per_cpu_ptr(&zsm_map_areas, cpu);
	int i, err;

	/* Both modes are always ready, so that the mode can be switched. */
	area->depth = 0;
	for (i = 0; i < ZSM_MAP_DEPTH; i++) {
		if (zsm_pte_possible && !area->va[i]) {
			err = zsm_pte_area_init(area, i);
			if (err)
				goto fail;
		}
		if (area->buf[i])
			continue;
		area->buf[i] = kmalloc_node(PAGE_SIZE, GFP_KERNEL,
					    cpu_to_node(cpu));
		if (!area->buf[i]) {
			err = -ENOMEM;
			goto fail;
		}
	}
	return 0;

fail:
	/* cpuhp calls no teardown for the CPU whose prepare failed. */
	zsm_cpu_area_free(area);
	return err;
}

static int zsm_cpu_dead(unsigned int cpu)
{
	struct zsm_map_area *area = per_cpu_ptr(&zsm_map_areas, cpu);

	WARN_ON_ONCE(area->depth);
	zsm_cpu_area_free(area);
	return 0;
}

/* === Public interface ==================================================== */

/**
 * zs_map_object() - map an object for access by the CPU.
 * @zpool: the object's pool.
 * @handle: handle from zs_malloc().
 * @mm: ZS_MM_RO (the caller only reads), ZS_MM_WO (the caller only
 *	writes, a new object: contents are not read in), ZS_MM_RW. In copy
 *	mode a cross-page object mapped ZS_MM_RO is not written back; in pte
 *	mode, as for every in-page object, the mapping is the object itself,
 *	so writing through a ZS_MM_RO mapping is a caller bug either way.
 *
 * The whole object (its class size) is contiguous at the returned address
 * until zs_unmap_object(). Mappings nest up to two deep per CPU and must be
 * undone in reverse order.
 *
 * Context: Task context (atomic or not, interrupts may be disabled) or
 * softirq; not hard IRQ or NMI, where the map is refused. Does not sleep
 * or allocate; returns with preemption disabled until the unmap.
 * Return: the object's address, or NULL (warned once) for a handle that is
 * not live in @pool, a third nested mapping, or a refused context.
 */
void *zs_map_object(struct zs_pool *zpool, unsigned long handle,
		    enum zs_mapmode mm)
{
	struct zsm_zspage *zspage;
	unsigned long obj;

	if (unlikely(!zsm_obj_lock_fast(zsm_pool(zpool), handle, &zspage, &obj)))
		return zsm_map_slow(zpool, handle, mm);
	/* zsm_map_locked() takes over the read lock. */
	zsm_zspage_lock_from_caller(zspage);
	return zsm_map_locked(zspage, zsm_obj_idx(obj), handle, mm);
}
EXPORT_SYMBOL_GPL(zs_map_object);

/* An unmap that does not match this CPU's last map: ignored, warned once. */
static noinline void zsm_unmap_refuse(unsigned long handle)
{
	WARN_ONCE(1, "zsm: unmap of handle %p that is not the last mapped\n",
		  (void *)handle);
	/* zs_unmap_object()'s. */
	preempt_enable();
}

/**
 * zs_unmap_object() - end the most recent mapping on this CPU.
 * @zpool: the object's pool.
 * @handle: the handle passed to the matching zs_map_object().
 *
 * Writes a copied object back unless it was mapped ZS_MM_RO.
 *
 * Context: Same CPU and context as the matching zs_map_object().
 */
void zs_unmap_object(struct zs_pool *zpool, unsigned long handle)
{
	struct zsm_map_area *area;
	unsigned int depth;
	void *kaddr;

	/* Balanced in zsm_slot_pop(): a stray unmap from process context is safe. */
	preempt_disable();
	area = zsm_area_here();
	depth = zsm_area_rd(area, depth);
	if (unlikely(!depth) ||
	    unlikely(zsm_area_rd(area, slot[depth - 1].handle) != handle))
		return zsm_unmap_refuse(handle);
	kaddr = zsm_area_rd(area, slot[depth - 1].kaddr);
	if (unlikely(!kaddr)) {
		/* A copy-mode ZS_MM_RO mapping has nothing to undo but the pop. */
		if (zsm_area_rd(area, slot[depth - 1].cross) ==
		    ZSM_CROSS_COPY_RO)
			return zsm_slot_pop(area, depth);
		return zsm_unmap_cross(zsm_area_ptr(area), depth);
	}
	zsm_slot_pop(area, depth);
}
EXPORT_SYMBOL_GPL(zs_unmap_object);

/*
 * The object's first @mem_len bytes (clamped, warned once, to its class
 * size): where they start in their page (*@poff) and whether they stay in
 * it. The same answer at begin and end, since the read lock keeps the
 * object in place.
 */
/* A read or write longer than the object: clamped to it, warned once. */
static noinline size_t zsm_obj_len_clamp(size_t mem_len, unsigned int size,
					 bool write)
{
	if (write)
		WARN_ONCE(1, "zsm: write of %zu bytes to a %u-byte object\n",
			  mem_len, size);
	else
		WARN_ONCE(1, "zsm: read of %zu bytes of a %u-byte object\n",
			  mem_len, size);
	return size;
}

static __always_inline bool zsm_obj_in_page(struct zsm_zspage *zspage,
					    unsigned int idx, size_t *mem_len,
					    unsigned long *off,
					    unsigned int *poff)
{
	unsigned int size = zspage->class->geom.size;

	if (unlikely(*mem_len > size))
		*mem_len = zsm_obj_len_clamp(*mem_len, size, false);
	*off = (unsigned long)idx * size;
	*poff = offset_in_page(*off);
	return *poff + *mem_len <= PAGE_SIZE;
}

/* The zspage of a handle whose zspage the caller holds read-locked. */
static __always_inline struct zsm_zspage *zsm_obj_held(unsigned long handle)
{
	/* Stable: the read lock holds off compaction, whose unlock it acquired. */
	return zsm_obj_zspage(READ_ONCE(*(unsigned long *)handle));
}

/**
 * zs_obj_read_begin() - start reading an object.
 * @zpool: the object's pool.
 * @handle: handle from zs_malloc().
 * @mem_len: bytes the caller will read from the object's start (its
 *	stored length; at most the size it was allocated with). Whether they
 *	cross a page boundary decides between reading in place and copying.
 * @local_copy: a buffer of at least @mem_len bytes, used when they cross a
 *	page boundary; may be NULL when they cannot (@mem_len PAGE_SIZE).
 *
 * The object stays in place, and its bytes unchanged by zsm, until
 * zs_obj_read_end(): compaction and migration of its zspage wait.
 *
 * Context: Any context but hard IRQ. Does not sleep itself; the caller may
 * sleep before zs_obj_read_end().
 * Return: address of the object's bytes (in its page or in @local_copy), or
 * NULL for a handle that is not live in @pool (warned once).
 */
void *zs_obj_read_begin(struct zs_pool *zpool, unsigned long handle,
			size_t mem_len, void *local_copy)
{
	struct zsm_pool *pool = zsm_pool(zpool);
	struct zsm_zspage *zspage;
	unsigned int idx, poff;
	unsigned long off;

	zspage = zsm_obj_lock_read(pool, handle, &idx);
	if (!zspage)
		return NULL;
	/* Held until zs_obj_read_end(). */
	zsm_zspage_lock_to_caller(zspage);
	if (zsm_obj_in_page(zspage, idx, &mem_len, &off, &poff))
		return zsm_span_addr(zspage, off) + poff;
	zsm_zspage_read(zspage, off, local_copy, mem_len);
	return local_copy;
}
EXPORT_SYMBOL_GPL(zs_obj_read_begin);

/**
 * zs_obj_read_end() - end a zs_obj_read_begin().
 * @zpool: the object's pool.
 * @handle: the handle.
 * @mem_len: the @mem_len given to zs_obj_read_begin().
 * @handle_mem: the address zs_obj_read_begin() returned; NULL, what a
 *	refused zs_obj_read_begin() returned, makes this a no-op.
 *
 * Context: The task (or softirq) that called zs_obj_read_begin(); reads
 * end in reverse order of their begins.
 */
void zs_obj_read_end(struct zs_pool *zpool, unsigned long handle,
		     size_t mem_len, void *handle_mem)
{
	struct zsm_zspage *zspage;

	/* zs_obj_read_begin() refused (and warned): it holds nothing. */
	if (unlikely(!handle_mem))
		return;
	zspage = zsm_obj_held(handle);
	/* The lock zs_obj_read_begin() left to its caller. */
	zsm_zspage_lock_from_caller(zspage);
	zsm_zspage_read_unlock(zspage);
}
EXPORT_SYMBOL_GPL(zs_obj_read_end);

/**
 * zs_obj_read_sg_begin() - start reading an object through its pages.
 * @zpool: the object's pool.
 * @handle: handle from zs_malloc().
 * @sg: a table of two entries, set to the object's first @mem_len bytes:
 *	one entry when they lie in one page, two when they cross into the
 *	next.
 * @mem_len: bytes the caller will read (at most the allocated size).
 *
 * The pages handed out stay the object's, and its bytes unchanged by zsm,
 * until zs_obj_read_sg_end(): migration of those pages and compaction of
 * the zspage wait. zswap of 7.x reads (decompresses) objects this way.
 * A handle that is not live in @zpool, or a call from hard IRQ, is
 * refused (warned once): @sg is then one entry with no page.
 *
 * Context: Any context but hard IRQ. Does not sleep itself; the caller may
 * sleep before zs_obj_read_sg_end().
 */
void zs_obj_read_sg_begin(struct zs_pool *zpool, unsigned long handle,
			  struct scatterlist *sg, size_t mem_len)
{
	struct zsm_pool *pool = zsm_pool(zpool);
	struct zsm_zspage *zspage;
	unsigned int idx, poff;
	unsigned long off;

	zspage = zsm_obj_lock_read(pool, handle, &idx);
	if (!zspage) {
		sg_init_table(sg, 1);
		return;
	}
	/* Held until zs_obj_read_sg_end(). */
	zsm_zspage_lock_to_caller(zspage);
	if (zsm_obj_in_page(zspage, idx, &mem_len, &off, &poff)) {
		sg_init_table(sg, 1);
		sg_set_page(sg, zsm_zspage_page(zspage, off >> PAGE_SHIFT),
			    mem_len, poff);
		return;
	}
	sg_init_table(sg, 2);
	sg_set_page(sg, zsm_zspage_page(zspage, off >> PAGE_SHIFT),
		    PAGE_SIZE - poff, poff);
	sg_set_page(sg_next(sg), zsm_zspage_page(zspage, (off >> PAGE_SHIFT) + 1),
		    mem_len - (PAGE_SIZE - poff), 0);
}
EXPORT_SYMBOL_GPL(zs_obj_read_sg_begin);

/**
 * zs_obj_read_sg_end() - end a zs_obj_read_sg_begin().
 * @zpool: the object's pool.
 * @handle: the handle.
 *
 * After a zs_obj_read_sg_begin() that refused the handle or the context
 * (its @sg then holds no page) this refuses them again, silently, and
 * does nothing: the checks of the begin are repeated (hard IRQ, a handle
 * word of @zpool, a live one), so a caller that ends every begin, as
 * zswap does, releases no lock it did not take.
 *
 * Context: The task (or softirq) that called zs_obj_read_sg_begin().
 */
void zs_obj_read_sg_end(struct zs_pool *zpool, unsigned long handle)
{
	struct zsm_zspage *zspage;

	if (unlikely(zsm_obj_map_refused(zsm_pool(zpool), handle) ||
		     (READ_ONCE(*(unsigned long *)handle) & ZSM_HANDLE_FREE)))
		return;
	zspage = zsm_obj_held(handle);
	/* The lock zs_obj_read_sg_begin() left to its caller. */
	zsm_zspage_lock_from_caller(zspage);
	zsm_zspage_read_unlock(zspage);
}
EXPORT_SYMBOL_GPL(zs_obj_read_sg_end);

/*
 * zs_obj_write() once the object's zspage is read-locked, for every write
 * but the common one it does inline: a write longer than the object
 * (clamped, warned once) or one that crosses a page boundary. Unlocks.
 */
static noinline void zsm_obj_write_locked(struct zsm_zspage *zspage,
					  unsigned int idx,
					  const void *handle_mem,
					  size_t mem_len)
	__releases(&zspage->lock)
{
	unsigned int size = zspage->class->geom.size;
	unsigned long off = (unsigned long)idx * size;

	if (unlikely(mem_len > size))
		mem_len = zsm_obj_len_clamp(mem_len, size, true);
	zsm_zspage_write(zspage, off, handle_mem, mem_len);
	zsm_zspage_read_unlock(zspage);
}

/* zs_obj_write() of a handle zsm_obj_lock_fast() did not lock. */
static noinline void zsm_obj_write_slow(struct zsm_pool *pool,
					unsigned long handle,
					const void *handle_mem, size_t mem_len)
{
	struct zsm_zspage *zspage;
	unsigned int idx;

	zspage = zsm_obj_lookup_read(pool, handle, &idx);
	if (!zspage)
		return;
	/* zsm_obj_lookup_read()'s, released by zsm_obj_write_locked(). */
	zsm_zspage_lock_from_caller(zspage);
	zsm_obj_write_locked(zspage, idx, handle_mem, mem_len);
}

/**
 * zs_obj_write() - write an object's bytes.
 * @zpool: the object's pool.
 * @handle: handle from zs_malloc().
 * @handle_mem: the bytes to store.
 * @mem_len: how many, at most the size the object was allocated with.
 *
 * The common case, a handle that passes zsm_obj_lock_fast() and bytes that
 * fit in the object's first page, is done inline; the rest is out of line
 * (zsm_obj_write_slow(), zsm_obj_write_locked()), so that the inline path
 * keeps one value, the zspage, across the copy.
 *
 * Context: Any context but hard IRQ; does not sleep.
 */
void zs_obj_write(struct zs_pool *zpool, unsigned long handle,
		  void *handle_mem, size_t mem_len)
{
	struct zsm_zspage *zspage;
	unsigned long obj, off;
	unsigned int size, poff;
	void *dst;

	if (unlikely(!zsm_obj_lock_fast(zsm_pool(zpool), handle, &zspage,
					&obj)))
		return zsm_obj_write_slow(zsm_pool(zpool), handle, handle_mem,
					  mem_len);
	/* zsm_obj_lock_fast()'s; released here or by zsm_obj_write_locked(). */
	zsm_zspage_lock_from_caller(zspage);
	size = zspage->class->geom.size;
	off = (unsigned long)zsm_obj_idx(obj) * size;
	poff = offset_in_page(off);
	if (unlikely(mem_len > size || poff + mem_len > PAGE_SIZE))
		return zsm_obj_write_locked(zspage, zsm_obj_idx(obj),
					    handle_mem, mem_len);
	dst = zsm_span_addr(zspage, off);
	memcpy(dst + poff, handle_mem, mem_len);
	zsm_zspage_read_unlock(zspage);
}
EXPORT_SYMBOL_GPL(zs_obj_write);

/* === Module ============================================================== */

/*
 * Resolve map_mode; pte mode needs x86-64 and a native (not Xen PV) MMU,
 * and falls back to copy mode elsewhere. Any other value fails the load.
 */
static int zsm_map_mode_init(void)
{
	bool pte_ok = ZSM_HAVE_PTE_MAP;

#if ZSM_HAVE_PTE_MAP
	if (boot_cpu_has(X86_FEATURE_XENPV))
		pte_ok = false;
#endif
	zsm_pte_possible = pte_ok;
	if (!strcmp(map_mode, "copy")) {
		zsm_use_pte = false;
	} else if (!strcmp(map_mode, "pte") || !strcmp(map_mode, "auto")) {
		if (!pte_ok)
			pr_info("map_mode=%s: page-table mapping unsupported here, using copy\n",
				map_mode);
		zsm_use_pte = pte_ok;
	} else {
		pr_err("map_mode=%s: expected pte, copy or auto\n", map_mode);
		return -EINVAL;
	}
	return 0;
}

/**
 * zsm_map_set_mode() - switch the mode of new cross-page mappings (tests).
 * @pte: true for pte mode, false for copy mode.
 *
 * Context: Any context; live mappings keep the mode they were made with.
 * Return: 0, or -EOPNOTSUPP when pte mode is not possible here.
 */
int zsm_map_set_mode(bool pte)
{
	if (pte && !zsm_pte_possible)
		return -EOPNOTSUPP;
	WRITE_ONCE(zsm_use_pte, pte);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(zsm_map_set_mode);

/**
 * zsm_map_mode_name() - the mapping mode in use.
 *
 * Return: "pte" or "copy".
 */
const char *zsm_map_mode_name(void)
{
	return zsm_use_pte ? "pte" : "copy";
}
EXPORT_SYMBOL_IF_KUNIT(zsm_map_mode_name);

int zsm_map_init(void)
{
	int ret;

	ret = zsm_map_mode_init();
	if (ret)
		return ret;
	if (zsm_pte_possible) {
		zsm_dummy_page = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!zsm_dummy_page)
			return -ENOMEM;
	}

	/* A dynamic state: CPUHP_MM_ZS_PREPARE belongs to the built-in zsmalloc. */
	ret = cpuhp_setup_state(CPUHP_BP_PREPARE_DYN, "mm/zsm:prepare",
				zsm_cpu_prepare, zsm_cpu_dead);
	if (ret < 0) {
		pr_err("cpuhp_setup_state: %d\n", ret);
		if (zsm_dummy_page)
			__free_page(zsm_dummy_page);
		return ret;
	}
	zsm_cpuhp_state = ret;
	pr_info("map_mode=%s\n", zsm_map_mode_name());
	return 0;
}

void zsm_map_exit(void)
{
	cpuhp_remove_state(zsm_cpuhp_state);
	if (zsm_dummy_page)
		__free_page(zsm_dummy_page);
}
