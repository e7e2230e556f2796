// SPDX-License-Identifier: GPL-2.0
/*
 * zsm_blkcheck: write checksummed 4 KiB blocks to a block device (zram)
 * with O_DIRECT, optionally under fault injection, and verify them later.
 * Used by guest/tests/faults.sh.
 *
 *   zsm_blkcheck write DEV NBLOCKS SEED STATE [STRIDE [fail]]
 *       Write blocks 0, STRIDE, 2*STRIDE, ... < NBLOCKS with generation
 *       SEED. With "fail", this task's /proc/self/make-it-fail is set for
 *       the writes (failslab/fail_page_alloc with task-filter=Y then fail
 *       the allocations made for them, zram's zs_malloc() included). A
 *       write may fail (EIO); zram keeps the block's previous contents
 *       then. STATE (created if missing) records, per block, the SEED of
 *       the last successful write (0: never written).
 *       Prints "written=N failed=N eio=N enomem=N other=N".
 *   zsm_blkcheck verify DEV NBLOCKS STATE
 *       Read every block back: it must hold the contents of its recorded
 *       generation, or zeros if never written.
 *       Prints "verified=N zero=N corrupt=N"; exit 1 if anything is corrupt.
 *
 * Block contents, from (block, seed): a header naming both, then one of
 * several kinds, so that zram stores objects of many sizes: a page filled
 * with one repeated word (zram's same-filled pages, no object), random
 * bytes (incompressible: a PAGE_SIZE object), or a random prefix of
 * 16..3000 bytes followed by a repeated pattern (compresses to about the
 * prefix length).
 *
 * The whole process is mlocked and prints nothing while faults are on, so
 * that only the block writes meet the injected failures.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLK 4096

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The contents of block @blk, generation @seed (nonzero). */
static void fill(uint8_t *buf, uint32_t blk, uint32_t seed)
{
	uint64_t x = (uint64_t)seed << 32 | blk;
	uint64_t kind = splitmix(&x) % 16, w;
	unsigned int i, prefix;

	if (kind == 0) {
		/* Same-filled: one word, itself naming block and seed. */
		w = splitmix(&x) | 1;
		for (i = 0; i < BLK; i += 8)
			memcpy(buf + i, &w, 8);
		return;
	}
	prefix = kind < 4 ? BLK : 16 + splitmix(&x) % 2985;
	for (i = 0; i < prefix; i += 8) {
		w = splitmix(&x);
		memcpy(buf + i, &w, prefix - i < 8 ? prefix - i : 8);
	}
	for (i = prefix; i < BLK; i++)
		buf[i] = (uint8_t)(i * 7 + seed);
	memcpy(buf, "zsmblk01", 8);
	memcpy(buf + 8, &blk, 4);
	memcpy(buf + 12, &seed, 4);
}

/*
 * /proc/self/make-it-fail, opened once before faults are turned on: with
 * them on, opening it again can itself fail (its struct file comes from
 * the slab), which would leave faults on for the rest of this task.
 */
static int make_it_fail_fd = -1;

static int set_make_it_fail(int on)
{
	int tries;

	if (make_it_fail_fd < 0)
		make_it_fail_fd = open("/proc/self/make-it-fail", O_WRONLY);
	if (make_it_fail_fd < 0)
		return -1;
	/* Turning faults off may meet an injected failure: retry. */
	for (tries = 0; tries < 1000; tries++) {
		if (pwrite(make_it_fail_fd, on ? "1" : "0", 1, 0) == 1)
			return 0;
	}
	return -1;
}

static uint32_t *load_state(const char *path, uint32_t n)
{
	uint32_t *st = calloc(n, sizeof(*st));
	FILE *f;

	if (!st)
		return NULL;
	f = fopen(path, "rb");
	if (f) {
		if (fread(st, sizeof(*st), n, f) != n)
			memset(st, 0, n * sizeof(*st));
		fclose(f);
	}
	return st;
}

static int save_state(const char *path, const uint32_t *st, uint32_t n)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (!f)
		return -1;
	ok = fwrite(st, sizeof(*st), n, f) == n;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static int do_write(const char *dev, uint32_t n, uint32_t seed,
		    const char *state, uint32_t stride, int faults)
{
	unsigned long written = 0, failed = 0, eio = 0, enomem = 0, other = 0;
	int first_other = 0;
	uint32_t *st, b;
	uint8_t *buf;
	int fd;

	st = load_state(state, n);
	if (!st || posix_memalign((void **)&buf, BLK, BLK)) {
		fprintf(stderr, "zsm_blkcheck: no memory\n");
		return 2;
	}
	fd = open(dev, O_RDWR | O_DIRECT);
	if (fd < 0) {
		perror(dev);
		return 2;
	}
	/* Nothing of ours may fault in while our allocations fail. */
	if (mlockall(MCL_CURRENT | MCL_FUTURE))
		perror("mlockall");
	fflush(stdout);
	if (faults && set_make_it_fail(1)) {
		perror("/proc/self/make-it-fail");
		return 2;
	}
	for (b = 0; b < n; b += stride) {
		fill(buf, b, seed);
		if (pwrite(fd, buf, BLK, (off_t)b * BLK) == BLK) {
			st[b] = seed;
			written++;
			continue;
		}
		failed++;
		if (errno == EIO)
			eio++;
		else if (errno == ENOMEM)
			enomem++;
		else if (!other++)
			first_other = errno;
	}
	if (faults && set_make_it_fail(0)) {
		perror("/proc/self/make-it-fail (off)");
		return 2;
	}
	close(fd);
	if (save_state(state, st, n)) {
		perror(state);
		return 2;
	}
	printf("written=%lu failed=%lu eio=%lu enomem=%lu other=%lu\n",
	       written, failed, eio, enomem, other);
	if (other)
		printf("first other error: %s\n", strerror(first_other));
	return other ? 1 : 0;
}

static int do_verify(const char *dev, uint32_t n, const char *state)
{
	unsigned long verified = 0, zero = 0, corrupt = 0;
	uint8_t *buf, *want;
	uint32_t *st, b;
	int fd;

	st = load_state(state, n);
	if (!st || posix_memalign((void **)&buf, BLK, BLK) ||
	    posix_memalign((void **)&want, BLK, BLK)) {
		fprintf(stderr, "zsm_blkcheck: no memory\n");
		return 2;
	}
	fd = open(dev, O_RDONLY | O_DIRECT);
	if (fd < 0) {
		perror(dev);
		return 2;
	}
	for (b = 0; b < n; b++) {
		if (pread(fd, buf, BLK, (off_t)b * BLK) != BLK) {
			if (corrupt++ < 8)
				printf("block %u: read failed: %s\n", b,
				       strerror(errno));
			continue;
		}
		if (st[b])
			fill(want, b, st[b]);
		else
			memset(want, 0, BLK);
		if (!memcmp(buf, want, BLK)) {
			if (st[b])
				verified++;
			else
				zero++;
			continue;
		}
		if (corrupt++ < 8) {
			unsigned int i = 0;

			while (buf[i] == want[i])
				i++;
			printf("block %u (seed %u): first wrong byte %u: %02x != %02x\n",
			       b, st[b], i, buf[i], want[i]);
		}
	}
	close(fd);
	printf("verified=%lu zero=%lu corrupt=%lu\n", verified, zero, corrupt);
	return corrupt ? 1 : 0;
}

static void print_usage(void)
{
	fprintf(stderr,
		"usage: zsm_blkcheck write DEV NBLOCKS SEED STATE [STRIDE [fail]]\n"
		"       zsm_blkcheck verify DEV NBLOCKS STATE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	uint32_t n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 5)
		print_usage();
	n = strtoul(argv[3], NULL, 0);
	if (!n)
		print_usage();
	if (!strcmp(argv[1], "write") && argc >= 6) {
		uint32_t seed = strtoul(argv[4], NULL, 0);
		uint32_t stride = argc > 6 ? strtoul(argv[6], NULL, 0) : 1;
		int faults = argc > 7 && !strcmp(argv[7], "fail");

		if (!seed || !stride)
			print_usage();
		return do_write(argv[2], n, seed, argv[5], stride, faults);
	}
	if (!strcmp(argv[1], "verify"))
		return do_verify(argv[2], n, argv[4]);
	print_usage();
	return 2;
}
