/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zsm_test_util.h: object contents, checksums and sizes shared by the guest
 * test modules (zsm_test_stress, zsm_test_badinput).
 *
 * Object bytes come from a per-object Weyl sequence and are checksummed
 * with a Fletcher-style sum over 8-byte words (then tail bytes); sizes are
 * drawn like zram's compressed pages (the distribution of zsm_test_core.c).
 *
 * On top of that every object carries its identity, so that a map showing
 * another object's bytes (an object relocated to the wrong slot, two
 * objects swapped, a stale copy after a lost write-back) is told apart from
 * random damage:
 *
 *   object of size >= 16:
 *   +----------------+-----------+----------+------------------------------+
 *   | id (u64)       | size (u32)| gen (u32)| Weyl sequence from           |
 *   |                |           |          | zsm_tu_seed(id, gen)         |
 *   +----------------+-----------+----------+------------------------------+
 *   object of size < 16: the stream alone (every byte depends on id, gen).
 *
 * id is unique per object and never derived from its handle; gen counts
 * rewrites of the object. The checksum covers all bytes, header included,
 * and is computed while the bytes are generated, so an object is hashed
 * without being read back.
 */
#ifndef _ZSM_TEST_UTIL_H
#define _ZSM_TEST_UTIL_H

#include <linux/atomic.h>
#include <linux/kernel.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/prandom.h>
#include <linux/printk.h>
#include <linux/string.h>
#include <linux/types.h>

/* === Checksum ============================================================ */

/*
 * A Fletcher-style sum over 64-bit words (then tail bytes): @a is the sum
 * of the words, @b the sum of the running @a, so any one changed word and
 * any reordering of words changes the result. It costs two additions per
 * word (natively about 3.4 times cheaper than a multiply-and-shift hash;
 * in the debug guest under TCG the stress test ran no faster with it,
 * measured side by side: the time goes into zsm and the kernel's checks).
 */
struct zsm_tu_sum {
	u64 a;
	u64 b;
};

static inline void zsm_tu_sum_init(struct zsm_tu_sum *s, unsigned int len)
{
	s->a = 0xcbf29ce484222325ULL ^ len;
	s->b = len;
}

static inline void zsm_tu_sum_add(struct zsm_tu_sum *s, u64 w)
{
	s->a += w;
	s->b += s->a;
}

static inline u64 zsm_tu_sum_final(const struct zsm_tu_sum *s)
{
	return s->a ^ (s->b * 0x9e3779b97f4a7c15ULL);
}

/* Checksum of @len bytes at @buf (words, then tail bytes). */
static inline u64 zsm_tu_csum(const u8 *buf, unsigned int len)
{
	struct zsm_tu_sum s;
	unsigned int i;
	u64 w;

	zsm_tu_sum_init(&s, len);
	for (i = 0; i + sizeof(w) <= len; i += sizeof(w)) {
		memcpy(&w, buf + i, sizeof(w));
		zsm_tu_sum_add(&s, w);
	}
	for (; i < len; i++)
		zsm_tu_sum_add(&s, buf[i]);
	return zsm_tu_sum_final(&s);
}

/* === Object contents ===================================================== */

/* Identity header at the start of every object of at least its size. */
struct zsm_tu_hdr {
	u64 id;
	u32 size;
	u32 gen;
};

#define ZSM_TU_HDR_SIZE		sizeof(struct zsm_tu_hdr)

/* Stream seed of one generation of one object. */
static inline u64 zsm_tu_seed(u64 id, u32 gen)
{
	u64 s = (id ^ ((u64)gen << 40 | gen)) * 0x9e3779b97f4a7c15ULL;

	return s ^ (s >> 31) ^ 0x2545f4914f6cdd1dULL;
}

/*
 * Word @i of the object: header words first, then the stream, a Weyl
 * sequence from the seed (one addition per word: objects differ by their
 * seed, and the bytes need not look random to zsm).
 */
static inline u64 zsm_tu_word(u64 *x, unsigned int i, unsigned int len,
			      u64 id, u32 gen)
{
	if (len >= ZSM_TU_HDR_SIZE) {
		if (i == 0)
			return id;
		if (i == 1)
			return (u64)gen << 32 | len;
	}
	*x += 0xd1b54a32d192ed03ULL;
	return *x;
}

/**
 * zsm_tu_fill() - write the bytes of object @id, generation @gen.
 * @buf: where (a mapping of the object, or a buffer).
 * @len: object size.
 * @id: object identity.
 * @gen: generation.
 *
 * Return: the checksum of the bytes written, as zsm_tu_csum() of them.
 */
static inline u64 zsm_tu_fill(u8 *buf, unsigned int len, u64 id, u32 gen)
{
	u64 x = zsm_tu_seed(id, gen), w;
	unsigned int i, k, n = 0;
	struct zsm_tu_sum s;

	zsm_tu_sum_init(&s, len);
	for (i = 0; i < len; i += sizeof(w), n++) {
		w = zsm_tu_word(&x, n, len, id, gen);
		if (len - i >= sizeof(w)) {
			memcpy(buf + i, &w, sizeof(w));
			zsm_tu_sum_add(&s, w);
			continue;
		}
		memcpy(buf + i, &w, len - i);
		for (k = 0; k < len - i; k++)
			zsm_tu_sum_add(&s, buf[i + k]);
	}
	return zsm_tu_sum_final(&s);
}

/* What a map of an object showed. */
enum zsm_tu_verdict {
	ZSM_TU_OK,
	ZSM_TU_FOREIGN,		/* intact header of another object or gen */
	ZSM_TU_DAMAGED,		/* other bytes */
};

/**
 * zsm_tu_judge() - compare the bytes of a mapped object with its record.
 * @buf: the mapped bytes.
 * @len: object size.
 * @id: expected identity.
 * @gen: expected generation.
 * @csum: expected checksum.
 * @seen: set to the header found (zeroed when @len is below its size).
 *
 * Return: ZSM_TU_OK, ZSM_TU_FOREIGN when the bytes carry another object's
 * (or another generation's) header, ZSM_TU_DAMAGED otherwise.
 */
static inline enum zsm_tu_verdict
zsm_tu_judge(const u8 *buf, unsigned int len, u64 id, u32 gen, u64 csum,
	     struct zsm_tu_hdr *seen)
{
	memset(seen, 0, sizeof(*seen));
	if (len >= ZSM_TU_HDR_SIZE)
		memcpy(seen, buf, sizeof(*seen));
	if (zsm_tu_csum(buf, len) == csum)
		return ZSM_TU_OK;
	if (len >= ZSM_TU_HDR_SIZE && (seen->id != id || seen->gen != gen) &&
	    seen->size && seen->size <= PAGE_SIZE)
		return ZSM_TU_FOREIGN;
	return ZSM_TU_DAMAGED;
}

/* First byte where @got differs from object (@id, @gen); @len if none. */
static inline unsigned int zsm_tu_first_bad(const u8 *got, u8 *scratch,
					    unsigned int len, u64 id, u32 gen)
{
	unsigned int i = 0;

	zsm_tu_fill(scratch, len, id, gen);
	while (i < len && got[i] == scratch[i])
		i++;
	return i;
}

/* === Object records ==================================================== */

/**
 * struct zsm_tu_obj - what a test knows about one live object.
 * @handle: from zs_malloc().
 * @id: identity, unique per object, independent of @handle.
 * @csum: checksum of the bytes last written.
 * @size: size asked of zs_malloc().
 * @gen: generation of the bytes last written.
 */
struct zsm_tu_obj {
	unsigned long handle;
	u64 id;
	u64 csum;
	u32 size;
	u32 gen;
};

/* Write generation @gen of @o into @buf (its mapping) and record it. */
static inline void zsm_tu_obj_write(struct zsm_tu_obj *o, void *buf, u32 gen)
{
	o->gen = gen;
	o->csum = zsm_tu_fill(buf, o->size, o->id, gen);
}

/**
 * zsm_tu_obj_check() - check the mapped bytes of @o; describe a mismatch.
 * @o: the record.
 * @buf: the object's mapped bytes.
 * @who: prefix of the report line.
 * @scratch: PAGE_SIZE bytes for the expected contents.
 * @reports: count of reports so far; nothing is printed past @max.
 * @max: most reports printed.
 *
 * Context: any; may run with the object mapped (preemption disabled).
 * Return: true if the bytes are those of @o's last generation.
 */
static inline bool zsm_tu_obj_check(const struct zsm_tu_obj *o,
				    const u8 *buf, const char *who,
				    u8 *scratch, atomic_t *reports, int max)
{
	struct zsm_tu_hdr seen;
	enum zsm_tu_verdict v;
	unsigned int bad;

	v = zsm_tu_judge(buf, o->size, o->id, o->gen, o->csum, &seen);
	if (v == ZSM_TU_OK)
		return true;
	if (atomic_inc_return(reports) > max)
		return false;
	bad = zsm_tu_first_bad(buf, scratch, o->size, o->id, o->gen);
	if (v == ZSM_TU_FOREIGN)
		pr_err("%s: object id %llx gen %u size %u (handle %lx) shows object id %llx gen %u size %u: relocated or swapped\n",
		       who, o->id, o->gen, o->size, o->handle, seen.id,
		       seen.gen, seen.size);
	else
		pr_err("%s: object id %llx gen %u size %u (handle %lx) damaged: first bad byte %u of %u: %*ph != %*ph\n",
		       who, o->id, o->gen, o->size, o->handle, bad, o->size,
		       bad < o->size ? (int)min(8U, o->size - bad) : 0,
		       buf + min(bad, o->size),
		       bad < o->size ? (int)min(8U, o->size - bad) : 0,
		       scratch + min(bad, o->size));
	return false;
}

/* === Sizes =============================================================== */

/*
 * Sizes of compressed 4 KiB pages, roughly as zram sees them (the
 * distribution of zsm_test_core.c): most between 200 and 3500 bytes,
 * peaking near the middle, some tiny, some barely compressed, some stored
 * raw as whole pages.
 */
static inline unsigned int zsm_tu_pick_size(struct rnd_state *rnd)
{
	u32 r = prandom_u32_state(rnd);
	u32 a = prandom_u32_state(rnd);
	unsigned int pct = r % 100;

	if (pct < 8)
		return 1 + a % 199;
	if (pct < 88)
		return 200 + (a % 3301 + (a >> 16) % 3301) / 2;
	if (pct < 96)
		return 3501 + a % (PAGE_SIZE - 3501);
	return PAGE_SIZE;
}

#endif /* _ZSM_TEST_UTIL_H */
