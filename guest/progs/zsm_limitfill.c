// SPDX-License-Identifier: GPL-2.0
/*
 * zsm_limitfill: fill a zram device with small compressed objects until
 * zram's mem_limit refuses a write, then check what it stored. Used by
 * guest/tests/zram_limit.sh. Built static by scripts/mkinitramfs.sh.
 *
 *   zsm_limitfill fill DEV MAXPAGES SEED
 *       Write pages 0, 1, 2, ... of generation SEED with O_DIRECT (no page
 *       cache: every page goes straight to zram), CHUNK pages per write,
 *       until a write fails or MAXPAGES are written. zram stops at the
 *       first page it cannot store (its write path breaks out of the bio
 *       on the first error), so the pages of a failed chunk before that
 *       page are stored and the ones from it on were never written (they
 *       read as zeros): the chunk is read back to find where it stopped.
 *       Prints "result stored=N failed=0|1 errno=E".
 *   zsm_limitfill same DEV NPAGES SEED FIRST
 *       The same writes, of same-filled pages (zram keeps them in its
 *       table, the allocator gets none), to pages FIRST .. FIRST+NPAGES-1:
 *       the write path's own cost. Prints "result stored=N failed=0|1
 *       errno=E".
 *   zsm_limitfill verify DEV NPAGES SEED
 *       Read pages 0 .. NPAGES-1 back and compare each, byte for byte,
 *       with the regenerated page; page NPAGES must read as zeros (the
 *       write that failed stored nothing). Prints
 *       "result verified=N corrupt=N"; exit 1 if anything is corrupt.
 *
 * Page contents, from (page index, seed): a 16-byte header naming both,
 * 8..360 random bytes, and the rest of the page one repeated 64-bit word.
 * lzo/lz4 store the random bytes as literals and the rest as one long
 * match, so a page compresses to about 30..400 bytes: zsm's small size
 * classes, where per-object metadata weighs most. No page is same-filled.
 *
 * Exit status: 0 on success, 1 on corruption, 2 on other errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PG		4096
#define CHUNK		16		/* pages per write or read */
#define HDR		16		/* magic, index, seed */
#define MIN_RANDOM	8
#define MAX_RANDOM	360

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Page @idx of generation @seed; same-filled if @same. */
static void fill(uint8_t *p, uint64_t idx, uint32_t seed, int same)
{
	uint64_t x = (uint64_t)seed << 40 ^ idx, w, word;
	unsigned int i, n;

	word = splitmix(&x) | 1;
	if (same) {
		for (i = 0; i < PG; i += 8)
			memcpy(p + i, &word, 8);
		return;
	}
	memcpy(p, "zsmlimit", 8);
	memcpy(p + 8, &idx, 4);
	memcpy(p + 12, &seed, 4);
	n = MIN_RANDOM + splitmix(&x) % (MAX_RANDOM - MIN_RANDOM + 1);
	for (i = 0; i < n; i += 8) {
		w = splitmix(&x);
		memcpy(p + HDR + i, &w, n - i < 8 ? n - i : 8);
	}
	for (i = HDR + n; i < PG; i++)
		p[i] = ((const uint8_t *)&word)[i % 8];
}

static int is_zero(const uint8_t *p)
{
	unsigned int i;

	for (i = 0; i < PG; i++)
		if (p[i])
			return 0;
	return 1;
}

/*
 * After a failed write of @n pages at @first: how many of them zram
 * stored (they read back as written; the first one that reads as zeros
 * was refused). -1 if the chunk is neither.
 */
static long stored_prefix(int fd, uint8_t *buf, uint8_t *want, uint64_t first,
			  unsigned int n, uint32_t seed, int same)
{
	unsigned int i;

	if (pread(fd, buf, (size_t)n * PG, (off_t)(first * PG)) !=
	    (ssize_t)n * PG) {
		perror("read back");
		return -1;
	}
	for (i = 0; i < n; i++) {
		fill(want, first + i, seed, same);
		if (memcmp(buf + (size_t)i * PG, want, PG))
			break;
	}
	if (i < n && !is_zero(buf + (size_t)i * PG)) {
		fprintf(stderr, "page %llu: neither written nor zero\n",
			(unsigned long long)(first + i));
		return -1;
	}
	return i;
}

static int do_fill(const char *dev, uint64_t first, uint64_t max,
		   uint32_t seed, int same)
{
	uint64_t done = 0, at;
	uint8_t *buf, *want;
	int fd, err = 0, failed = 0;
	unsigned int i, n;
	long k;

	if (posix_memalign((void **)&buf, PG, CHUNK * PG) ||
	    posix_memalign((void **)&want, PG, PG)) {
		fprintf(stderr, "zsm_limitfill: no memory\n");
		return 2;
	}
	fd = open(dev, O_RDWR | O_DIRECT);
	if (fd < 0) {
		perror(dev);
		return 2;
	}
	while (done < max) {
		n = max - done < CHUNK ? max - done : CHUNK;
		at = first + done;
		for (i = 0; i < n; i++)
			fill(buf + (size_t)i * PG, at + i, seed, same);
		if (pwrite(fd, buf, (size_t)n * PG, (off_t)(at * PG)) ==
		    (ssize_t)n * PG) {
			done += n;
			continue;
		}
		err = errno;
		failed = 1;
		k = stored_prefix(fd, buf, want, at, n, seed, same);
		if (k < 0)
			return 2;
		done += k;
		break;
	}
	close(fd);
	printf("result stored=%llu failed=%d errno=%d\n",
	       (unsigned long long)done, failed, err);
	return 0;
}

static int do_verify(const char *dev, uint64_t npages, uint32_t seed)
{
	unsigned long long verified = 0, corrupt = 0;
	uint64_t idx = 0;
	uint8_t *buf, *want;
	unsigned int i, n;
	int fd;

	if (posix_memalign((void **)&buf, PG, CHUNK * PG) ||
	    posix_memalign((void **)&want, PG, PG)) {
		fprintf(stderr, "zsm_limitfill: no memory\n");
		return 2;
	}
	fd = open(dev, O_RDONLY | O_DIRECT);
	if (fd < 0) {
		perror(dev);
		return 2;
	}
	/* Page npages, the refused one, too: it must read as zeros. */
	while (idx <= npages) {
		n = npages + 1 - idx < CHUNK ? npages + 1 - idx : CHUNK;
		if (pread(fd, buf, (size_t)n * PG, (off_t)(idx * PG)) !=
		    (ssize_t)n * PG) {
			perror("read");
			return 2;
		}
		for (i = 0; i < n; i++, idx++) {
			const uint8_t *p = buf + (size_t)i * PG;

			if (idx == npages) {
				if (is_zero(p))
					continue;
			} else {
				fill(want, idx, seed, 0);
				if (!memcmp(p, want, PG)) {
					verified++;
					continue;
				}
			}
			if (corrupt++ < 8)
				printf("page %llu: wrong contents\n",
				       (unsigned long long)idx);
		}
	}
	close(fd);
	printf("result verified=%llu corrupt=%llu\n", verified, corrupt);
	return corrupt ? 1 : 0;
}

int main(int argc, char **argv)
{
	uint64_t n;
	uint32_t seed;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 5 && !(argc == 6 && !strcmp(argv[1], "same"))) {
		fprintf(stderr,
			"usage: zsm_limitfill fill|verify DEV NPAGES SEED\n"
			"       zsm_limitfill same DEV NPAGES SEED FIRST\n");
		return 2;
	}
	n = strtoull(argv[3], NULL, 0);
	seed = strtoul(argv[4], NULL, 0);
	if (!strcmp(argv[1], "fill"))
		return do_fill(argv[2], 0, n, seed, 0);
	if (!strcmp(argv[1], "same"))
		return do_fill(argv[2], strtoull(argv[5], NULL, 0), n, seed, 1);
	if (!strcmp(argv[1], "verify"))
		return do_verify(argv[2], n, seed);
	fprintf(stderr, "zsm_limitfill: unknown command %s\n", argv[1]);
	return 2;
}
