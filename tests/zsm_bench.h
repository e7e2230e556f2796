/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zsm_bench.h: the data sets that zsm_bench_data.ko compresses once per
 * guest boot and zsm_bench.ko stores, on each zs_* provider in turn.
 *
 * A set is one input file (module files, a text corpus, a binary) cut into
 * pages, each page compressed with one algorithm through the kernel crypto
 * API. Pages whose words are all equal are left out, as zram keeps them
 * without allocating; a page that does not compress below PAGE_SIZE is
 * kept as it is, with length PAGE_SIZE, as zram stores it.
 */
#ifndef _ZSM_BENCH_H
#define _ZSM_BENCH_H

#include <linux/types.h>

#define ZSM_BENCH_NAME_MAX	32

/**
 * struct zsm_bench_set - the compressed pages of one file and algorithm.
 * @name: "<file>.<alg>", e.g. "text.lz4".
 * @nr: number of objects (stored pages).
 * @len: object i is @len[i] bytes (PAGE_SIZE: did not compress) ...
 * @off: ... at @data + @off[i].
 * @data: the objects, back to back.
 * @pages_read: pages read from the file.
 * @pages_same: of those, same-filled pages (not stored).
 * @bytes: sum of @len.
 * @density_only: only the density workload uses it (a synthetic set that
 *	would change the others' object mix).
 *
 * Read-only once zsm_bench_data.ko has loaded.
 */
struct zsm_bench_set {
	char name[ZSM_BENCH_NAME_MAX];
	unsigned int nr;
	unsigned int *len;
	unsigned int *off;
	u8 *data;
	unsigned long pages_read;
	unsigned long pages_same;
	u64 bytes;
	bool density_only;
};

unsigned int zsm_bench_nr_sets(void);
const struct zsm_bench_set *zsm_bench_get_set(unsigned int i);

#endif /* _ZSM_BENCH_H */
