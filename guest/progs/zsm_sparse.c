// SPDX-License-Identifier: GPL-2.0
/*
 * zsm_sparse: write pages that compress to small objects, as sparse and
 * repetitive pages do (tens to a few hundred bytes with lz4 or zstd), for
 * the benchmark's small-object data set (guest/tests/bench.sh).
 *
 *   zsm_sparse PAGES SEED > file
 *
 * Page i (4 KiB units of the output, whatever the page size): even pages
 * are zeros with one run of R pseudo-random bytes at a pseudo-random
 * offset; odd pages repeat a pseudo-random pattern of 8 to 64 bytes and
 * carry R pseudo-random bytes at their start. R is uniform in 16..360. No
 * page is same-filled. The output depends only on PAGES and SEED.
 *
 * Exit: 0, or 2 on a usage or write error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNIT	4096

static uint64_t rnd_state;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 0x2545f4914f6cdd1dULL;
}

static void fill_random(unsigned char *p, unsigned int n)
{
	while (n--)
		*p++ = (unsigned char)(rnd() >> 56);
}

int main(int argc, char **argv)
{
	unsigned char page[UNIT], pat[64];
	unsigned long pages, i;
	unsigned int r, off, plen, j;

	if (argc != 3) {
		fprintf(stderr, "usage: zsm_sparse PAGES SEED\n");
		return 2;
	}
	pages = strtoul(argv[1], NULL, 0);
	rnd_state = strtoull(argv[2], NULL, 0) | 1;
	for (i = 0; i < pages; i++) {
		r = 16 + rnd() % 345;
		if (!(i & 1)) {
			memset(page, 0, sizeof(page));
			off = rnd() % (UNIT - r);
			fill_random(page + off, r);
		} else {
			plen = 8 + rnd() % 57;
			fill_random(pat, plen);
			for (j = 0; j < UNIT; j++)
				page[j] = pat[j % plen];
			fill_random(page, r);
		}
		if (fwrite(page, 1, UNIT, stdout) != UNIT) {
			perror("zsm_sparse: write");
			return 2;
		}
	}
	return fflush(stdout) ? 2 : 0;
}
