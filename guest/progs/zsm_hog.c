// SPDX-License-Identifier: GPL-2.0
/*
 * zsm_hog: take anonymous memory in steps until the kernel says no (mmap
 * fails with ENOMEM, or the OOM killer ends us). Used by
 * guest/tests/pressure.sh with zram on zsm as the only swap.
 *
 *   zsm_hog MAX_MB STEP_MB
 *   zsm_hog pin MB
 *
 * Each step maps STEP_MB, writes every page (a header naming the page,
 * then a quarter page of pseudo-random bytes and zeros: compressible about
 * 3:1, and never a same-filled page, so zram stores every page in zsm),
 * then re-reads a sample of pages of earlier steps, which by then have
 * been swapped out, and checks them. Sets its own oom_score_adj to 1000 so
 * that the OOM killer picks it first.
 *
 * "pin" maps MB, locks it in memory (mlock: never swapped), prints
 * "zsm_hog: pinned MB MB" and sleeps until killed: less memory for the
 * hog, so that it reaches the OOM point sooner. The caller keeps the OOM
 * killer away from it (oom_score_adj -1000 is inherited).
 *
 * Exit: 0 when mmap failed or MAX_MB was reached, 3 when a page read back
 * wrong, 2 on a usage error; killed (SIGKILL) by the OOM killer otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* The page size (sysconf at start): 4 KiB, or 16 KiB on arm64 16K guests. */
static unsigned long pagesz;
#define PG_MAX 65536UL
#define MAX_STEPS 4096
#define SAMPLE 64	/* pages of earlier steps re-read per step */

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

/* Contents of global page number @n. */
static void fill(uint64_t *p, uint64_t n)
{
	unsigned int i;

	memset(p, 0, pagesz);
	p[0] = 0x7a736d686f670000ULL | (n & 0xffff);
	p[1] = n;
	for (i = 2; i < pagesz / 8 / 4; i++)
		p[i] = mix(n * pagesz + i);
}

static int check(const uint64_t *p, uint64_t n)
{
	static uint64_t want[PG_MAX / 8];

	fill(want, n);
	return memcmp(p, want, pagesz) == 0;
}

static int pin(unsigned long mb)
{
	size_t len = mb << 20, i;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || mlock(p, len)) {
		printf("zsm_hog: cannot lock %lu MB: %s\n", mb, strerror(errno));
		return 1;
	}
	for (i = 0; i < len; i += pagesz)
		p[i] = 1;
	printf("zsm_hog: pinned %lu MB\n", mb);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	static char *steps[MAX_STEPS];
	unsigned long max_mb, step_mb, nsteps = 0, mb = 0, pages_per_step;
	unsigned long checked = 0;
	uint64_t seed = 1;
	time_t t0 = time(NULL);
	FILE *f;

	pagesz = sysconf(_SC_PAGESIZE);
	if (pagesz < 4096 || pagesz > PG_MAX) {
		fprintf(stderr, "zsm_hog: page size %lu unsupported\n", pagesz);
		return 2;
	}

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 3)
		goto usage;
	if (!strcmp(argv[1], "pin")) {
		max_mb = strtoul(argv[2], NULL, 0);
		if (!max_mb)
			goto usage;
		return pin(max_mb);
	}
	max_mb = strtoul(argv[1], NULL, 0);
	step_mb = strtoul(argv[2], NULL, 0);
	if (!max_mb || !step_mb)
		goto usage;
	pages_per_step = step_mb * 1024 * 1024 / pagesz;

	f = fopen("/proc/self/oom_score_adj", "w");
	if (f) {
		fputs("1000", f);
		fclose(f);
	}

	while (mb < max_mb && nsteps < MAX_STEPS) {
		char *p = mmap(NULL, step_mb << 20, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		unsigned long i;

		if (p == MAP_FAILED) {
			printf("zsm_hog: mmap failed at %lu MB: %s\n", mb,
			       strerror(errno));
			return 0;
		}
		for (i = 0; i < pages_per_step; i++)
			fill((uint64_t *)(p + i * pagesz), nsteps * pages_per_step + i);
		steps[nsteps++] = p;
		mb += step_mb;

		/* Earlier pages come back from swap: they must be intact. */
		for (i = 0; i < SAMPLE && nsteps > 1; i++) {
			unsigned long s, pg;

			seed = mix(seed + i);
			s = seed % (nsteps - 1);
			pg = (seed >> 20) % pages_per_step;
			if (!check((uint64_t *)(steps[s] + pg * pagesz),
				   s * pages_per_step + pg)) {
				printf("zsm_hog: CORRUPT page %lu of step %lu\n",
				       pg, s);
				return 3;
			}
			checked++;
		}
		printf("zsm_hog: %lu MB after %ld s, %lu earlier pages checked\n",
		       mb, (long)(time(NULL) - t0), checked);
	}
	printf("zsm_hog: reached %lu MB without failing\n", mb);
	return 0;

usage:
	fprintf(stderr, "usage: zsm_hog MAX_MB STEP_MB | zsm_hog pin MB\n");
	return 2;
}
