// SPDX-License-Identifier: GPL-2.0
/*
 * zsm_pattern: checksummed page patterns for the consumer tests (zram swap,
 * zswap, ext4 on zram). Built static by scripts/mkinitramfs.sh into /zsm/bin.
 *
 *   zsm_pattern mem  (-m MIB | -r PCT) [-s SEED] [-w] [-P] [-c CGROUP]
 *   zsm_pattern tree DIR -m MIB [-s SEED]
 *   zsm_pattern vtree DIR -m MIB [-s SEED] [-x]
 *   zsm_pattern thin DIR -m MIB [-s SEED]
 *
 * What is verified, and how: the content of every page is a pure function
 * of (seed, page index, generation), so the reader regenerates the expected
 * page and compares all of it, byte for byte. Pages of the kinds that carry
 * data also start with a header (magic ^ seed, index, generation and kind, a
 * checksum of the rest of the page), so a page found in the wrong place
 * (a swap slot or a zram slot mixed up) is reported as "misplaced", with the
 * index it claims to be.
 *
 * The kinds are mixed so that the compressed sizes cover the whole range of
 * zsm's size classes, and so that the data compresses to about a fifth on
 * average (1.5 times the guest's RAM must fit in zram):
 *
 *   4%   zero page          (zram same_pages, the swap layer's zero map)
 *   8%   same-filled page   (one non-zero 64-bit word repeated)
 *   5%   random page        (incompressible: zram stores it raw, huge class)
 *   70%  header + 0..761 random bytes, the rest one repeated word
 *   13%  header + 762..4063 random bytes, the rest one repeated word
 *
 * mem: maps (-m) MiB or (-r) PCT percent of MemTotal of anonymous memory,
 * writes every page, then reads every page back in a scattered order
 * (index * stride mod n). With -w, rewrites every third page with the next
 * generation and verifies everything again. With -P it stops after writing,
 * prints "zsm_pattern: filled" and waits for SIGUSR1 (so that the test can
 * look at zswap and zsm while the data is swapped out). With -c it first
 * moves itself into the cgroup v2 directory CGROUP.
 *
 * tree/vtree: a directory tree of files of log-uniform sizes (1 KiB to
 * 1 MiB, 16 subdirectories) summing to MIB MiB, each file made of pattern
 * pages; vtree checks that every file exists, has its size and content.
 * thin deletes every other file; vtree -x then checks the files left.
 *
 * mem and vtree end with a machine-readable line:
 *   result pages=<n> verified=<n> corrupt=<n> misplaced=<n> [files=<n>]
 * Exit status: 0 if nothing is corrupt, 1 on corruption, 2 on other errors.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "zsm_prog.h"

/* === Data ================================================================ */

#define PAGE_MAGIC	0x7a736d7061676521ULL	/* "zsmpage!" */
#define HDR_WORDS	4			/* magic, index, gen|kind, sum */
#define HDR_BYTES	(HDR_WORDS * sizeof(uint64_t))

enum page_kind { PK_ZERO, PK_SAME, PK_RANDOM, PK_SMALL, PK_LARGE };

static const char *const kind_name[] = {
	"zero", "same", "random", "small", "large",
};

static size_t page_size;
/* Corruption reports printed in full; the rest are only counted. */
static unsigned int reports_left = 10;

struct tally {
	uint64_t pages;		/* pages checked */
	uint64_t corrupt;	/* pages that differ from the expected content */
	uint64_t misplaced;	/* ... of which carry another page's header */
	uint64_t files;		/* files checked (vtree) */
};

/* === Pattern ============================================================= */

/* splitmix64's finalizer: a bijective 64-bit mix. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static uint64_t page_key(uint64_t seed, uint64_t index, uint64_t gen)
{
	return mix64(seed ^ mix64(index + 1) ^ (gen << 56));
}

static enum page_kind page_kind_of(uint64_t key, size_t *nrandom)
{
	uint64_t r = (key >> 8) % 100, span = page_size - HDR_BYTES;

	*nrandom = 0;
	if (r < 4)
		return PK_ZERO;
	if (r < 12)
		return PK_SAME;
	if (r < 17)
		return PK_RANDOM;
	if (r < 87) {
		*nrandom = (key >> 32) % (span * 3 / 16);
		return PK_SMALL;
	}
	*nrandom = span * 3 / 16 + (key >> 32) % (span - span * 3 / 16);
	return PK_LARGE;
}

/* A word-wise checksum of the page after the header (cheap under TCG). */
static uint64_t page_sum(const uint64_t *w, size_t nwords)
{
	uint64_t h = 0x243f6a8885a308d3ULL;
	size_t i;

	for (i = HDR_WORDS; i < nwords; i++)
		h = (h ^ w[i]) * 0x100000001b3ULL + (h >> 29);
	return h;
}

/*
 * Write page @index of generation @gen of the pattern @seed into @p; return
 * its kind.
 */
static enum page_kind page_fill(void *p, uint64_t seed, uint64_t index,
				uint64_t gen)
{
	uint64_t key = page_key(seed, index, gen), x = key | 1, *w = p;
	size_t nwords = page_size / sizeof(*w), nrandom, i, nr;
	enum page_kind kind = page_kind_of(key, &nrandom);
	uint64_t fill = mix64(key ^ 0x5555) | 1;

	switch (kind) {
	case PK_ZERO:
		memset(p, 0, page_size);
		return kind;
	case PK_SAME:
		for (i = 0; i < nwords; i++)
			w[i] = fill;
		return kind;
	case PK_RANDOM:
		nrandom = page_size - HDR_BYTES;
		break;
	default:
		break;
	}
	/* xorshift64 for the random part, one repeated word after it. */
	nr = HDR_WORDS + (nrandom + sizeof(*w) - 1) / sizeof(*w);
	for (i = HDR_WORDS; i < nr && i < nwords; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		w[i] = x;
	}
	for (; i < nwords; i++)
		w[i] = fill;
	w[0] = PAGE_MAGIC ^ seed;
	w[1] = index;
	w[2] = gen << 8 | kind;
	w[3] = page_sum(w, nwords);
	return kind;
}

/*
 * Compare @p with the expected page @exp (index @index, of kind @kind, @len
 * bytes of it); count and describe a difference. @what names the place
 * (memory, a file).
 */
static void page_check(const void *p, const void *exp, enum page_kind kind,
		       size_t len, uint64_t seed, uint64_t index,
		       const char *what, struct tally *t)
{
	const uint64_t *w = p, *e = exp;
	const unsigned char *a = p, *b = exp;
	size_t off;

	t->pages++;
	if (!memcmp(p, exp, len))
		return;
	t->corrupt++;
	for (off = 0; off < len && a[off] == b[off]; off++)
		;
	if (len >= HDR_BYTES && w[0] == (PAGE_MAGIC ^ seed) &&
	    w[1] != index && e[0] == w[0])
		t->misplaced++;
	if (!reports_left)
		return;
	reports_left--;
	printf("CORRUPT %s page %" PRIu64 " (%s): first difference at byte %zu",
	       what, index, kind_name[kind], off);
	if (len >= HDR_BYTES && w[0] == (PAGE_MAGIC ^ seed))
		printf(", header says index %" PRIu64 " gen %" PRIu64
		       " sum %s", w[1], w[2] >> 8,
		       page_sum(w, len / sizeof(*w)) == w[3] ? "ok" : "bad");
	printf("\n");
}

/* === Helpers ============================================================= */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t memtotal_bytes(void)
{
	char line[256];
	uint64_t kb = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		die("/proc/meminfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %" SCNu64 " kB", &kb) == 1)
			break;
	fclose(f);
	if (!kb)
		die("no MemTotal in /proc/meminfo");
	return kb * 1024;
}

static void join_cgroup(const char *dir)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	/* "0" is the writing process. */
	if (write(fd, "0", 1) != 1)
		die("%s: %s", path, strerror(errno));
	close(fd);
}

static void print_result(const struct tally *t, int files)
{
	printf("result pages=%" PRIu64 " verified=%" PRIu64 " corrupt=%" PRIu64
	       " misplaced=%" PRIu64, t->pages, t->pages - t->corrupt,
	       t->corrupt, t->misplaced);
	if (files)
		printf(" files=%" PRIu64, t->files);
	printf("\n");
	fflush(stdout);
}

/* === mem: anonymous memory through swap ================================== */

struct mem_opts {
	uint64_t bytes;
	uint64_t seed;
	int rewrite;
	int pause;
	const char *cgroup;
};

static void mem_verify(unsigned char *base, uint64_t n, const uint64_t *gen,
		       uint64_t seed, uint64_t stride, struct tally *t,
		       unsigned char *exp)
{
	uint64_t i, idx;

	for (i = 0, idx = 0; i < n; i++, idx = (idx + stride) % n) {
		enum page_kind kind = page_fill(exp, seed, idx, gen[idx]);

		page_check(base + idx * page_size, exp, kind, page_size, seed,
			   idx, "memory", t);
	}
}

static int cmd_mem(const struct mem_opts *o)
{
	uint64_t n = o->bytes / page_size, i, stride;
	struct tally t = { 0 };
	unsigned char *base, *exp;
	uint64_t *gen;
	double t0, t1;
	sigset_t set;
	int sig;

	if (!n)
		die("nothing to do: size 0");
	if (o->cgroup)
		join_cgroup(o->cgroup);
	gen = calloc(n, sizeof(*gen));
	exp = malloc(page_size);
	if (!gen || !exp)
		die("out of memory for %" PRIu64 " pages' bookkeeping", n);
	base = mmap(NULL, n * page_size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		die("mmap %" PRIu64 " MiB: %s", (n * page_size) >> 20,
		    strerror(errno));
#ifdef MADV_NOHUGEPAGE
	/* Base pages, so every page is swapped (and checked) on its own. */
	madvise(base, n * page_size, MADV_NOHUGEPAGE);
#endif
	/* Block SIGUSR1 before announcing the pause; sigwait() takes it. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);

	printf("zsm_pattern: %" PRIu64 " pages (%" PRIu64 " MiB), seed %"
	       PRIu64 ", MemTotal %" PRIu64 " MiB\n", n, (n * page_size) >> 20,
	       o->seed, memtotal_bytes() >> 20);
	fflush(stdout);
	t0 = now();
	for (i = 0; i < n; i++) {
		page_fill(base + i * page_size, o->seed, i, 0);
		if (i && i % (n / 4 ? n / 4 : 1) == 0) {
			printf("zsm_pattern: written %" PRIu64 "%%\n",
			       i * 100 / n);
			fflush(stdout);
		}
	}
	t1 = now();
	printf("zsm_pattern: write %.1f s\n", t1 - t0);
	if (o->pause) {
		printf("zsm_pattern: filled\n");
		fflush(stdout);
		if (sigwait(&set, &sig))
			die("sigwait failed");
	}

	/* A stride coprime with n visits every page once, scattered. */
	stride = scatter_stride(n);
	t0 = now();
	mem_verify(base, n, gen, o->seed, stride, &t, exp);
	t1 = now();
	printf("zsm_pattern: verify %.1f s, %" PRIu64 " corrupt\n", t1 - t0,
	       t.corrupt);

	if (o->rewrite) {
		t0 = now();
		for (i = 0; i < n; i += 3) {
			gen[i]++;
			page_fill(base + i * page_size, o->seed, i, gen[i]);
		}
		mem_verify(base, n, gen, o->seed, 1, &t, exp);
		t1 = now();
		printf("zsm_pattern: rewrite and verify %.1f s, %" PRIu64
		       " corrupt in total\n", t1 - t0, t.corrupt);
	}
	print_result(&t, 0);
	munmap(base, n * page_size);
	free(gen);
	free(exp);
	return t.corrupt ? 1 : 0;
}

/* === tree/vtree: files ================================================== */

#define TREE_DIRS	16
#define TREE_MIN_SHIFT	10	/* smallest file 1 KiB */
#define TREE_MAX_SHIFT	20	/* largest file just under 1 MiB */

/* Size of file @i: log-uniform in [2^TREE_MIN_SHIFT, 2^TREE_MAX_SHIFT). */
static uint64_t tree_file_size(uint64_t seed, uint64_t i)
{
	uint64_t k = mix64(seed ^ mix64(~i));
	unsigned int bits = TREE_MIN_SHIFT +
			    k % (TREE_MAX_SHIFT - TREE_MIN_SHIFT);
	uint64_t lo = 1ULL << bits;

	return lo + (k >> 16) % lo;		/* [2^bits, 2^(bits+1)) */
}

static void tree_path(char *buf, size_t len, const char *dir, uint64_t i)
{
	snprintf(buf, len, "%s/d%02u/f%05" PRIu64 ".bin", dir,
		 (unsigned int)(i % TREE_DIRS), i);
}

/* The pattern seed of file @i: each file is its own page sequence. */
static uint64_t tree_file_seed(uint64_t seed, uint64_t i)
{
	return mix64(seed + 0x9e3779b97f4a7c15ULL * (i + 1));
}

/* Number of files whose sizes add up to at least @bytes. */
static uint64_t tree_count(uint64_t seed, uint64_t bytes)
{
	uint64_t i, sum = 0;

	for (i = 0; sum < bytes; i++)
		sum += tree_file_size(seed, i);
	return i;
}

static int cmd_tree(const char *dir, uint64_t bytes, uint64_t seed)
{
	uint64_t n = tree_count(seed, bytes), i, total = 0;
	unsigned char *buf;
	char path[4096];
	unsigned int d;

	buf = malloc(page_size);
	if (!buf)
		die("out of memory");
	for (d = 0; d < TREE_DIRS; d++) {
		snprintf(path, sizeof(path), "%s/d%02u", dir, d);
		if (mkdir(path, 0755) && errno != EEXIST)
			die("mkdir %s: %s", path, strerror(errno));
	}
	for (i = 0; i < n; i++) {
		uint64_t size = tree_file_size(seed, i), fseed, off, pg;
		int fd;

		fseed = tree_file_seed(seed, i);
		tree_path(path, sizeof(path), dir, i);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			die("%s: %s", path, strerror(errno));
		for (off = 0, pg = 0; off < size; off += page_size, pg++) {
			size_t len = size - off < page_size ? size - off :
							       page_size;

			page_fill(buf, fseed, pg, 0);
			if (write(fd, buf, len) != (ssize_t)len)
				die("write %s: %s", path, strerror(errno));
		}
		if (close(fd))
			die("close %s: %s", path, strerror(errno));
		total += size;
	}
	printf("zsm_pattern: %" PRIu64 " files, %" PRIu64 " bytes in %s\n", n,
	       total, dir);
	free(buf);
	return 0;
}

static int cmd_vtree(const char *dir, uint64_t bytes, uint64_t seed,
		     int only_kept)
{
	uint64_t n = tree_count(seed, bytes), i;
	unsigned char *buf, *exp;
	struct tally t = { 0 };
	char path[4096];

	buf = malloc(page_size);
	exp = malloc(page_size);
	if (!buf || !exp)
		die("out of memory");
	for (i = 0; i < n; i++) {
		uint64_t size = tree_file_size(seed, i), fseed, off, pg;
		enum page_kind kind;
		struct stat st;
		int fd;

		if (only_kept && i % 2)
			continue;
		fseed = tree_file_seed(seed, i);
		tree_path(path, sizeof(path), dir, i);
		t.files++;
		fd = open(path, O_RDONLY);
		if (fd < 0 || fstat(fd, &st)) {
			printf("CORRUPT %s: %s\n", path, strerror(errno));
			t.corrupt++;
			if (fd >= 0)
				close(fd);
			continue;
		}
		if ((uint64_t)st.st_size != size) {
			printf("CORRUPT %s: size %lld, expected %" PRIu64 "\n",
			       path, (long long)st.st_size, size);
			t.corrupt++;
		}
		for (off = 0, pg = 0; off < size; off += page_size, pg++) {
			size_t len = size - off < page_size ? size - off :
							       page_size;
			ssize_t got = read(fd, buf, len);

			if (got != (ssize_t)len) {
				printf("CORRUPT %s: short read at %" PRIu64
				       "\n", path, off);
				t.corrupt++;
				break;
			}
			kind = page_fill(exp, fseed, pg, 0);
			page_check(buf, exp, kind, len, fseed, pg, path, &t);
		}
		close(fd);
	}
	print_result(&t, 1);
	free(buf);
	free(exp);
	return t.corrupt ? 1 : 0;
}

/* Delete every other file (the odd ones), so that zram frees slots. */
static int cmd_thin(const char *dir, uint64_t bytes, uint64_t seed)
{
	uint64_t n = tree_count(seed, bytes), i, gone = 0;
	char path[4096];

	for (i = 1; i < n; i += 2) {
		tree_path(path, sizeof(path), dir, i);
		if (unlink(path))
			die("unlink %s: %s", path, strerror(errno));
		gone++;
	}
	printf("zsm_pattern: deleted %" PRIu64 " of %" PRIu64 " files\n",
	       gone, n);
	return 0;
}

/* === Main ================================================================ */

static void __noreturn usage(void)
{
	fprintf(stderr,
		"usage: zsm_pattern mem (-m MIB | -r PCT) [-s SEED] [-w] [-P] [-c CGROUP]\n"
		"       zsm_pattern tree DIR -m MIB [-s SEED]\n"
		"       zsm_pattern vtree DIR -m MIB [-s SEED] [-x]\n"
		"       zsm_pattern thin DIR -m MIB [-s SEED]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct mem_opts mo = { .seed = 1 };
	uint64_t mib = 0, pct = 0;
	int only_kept = 0, c;
	const char *cmd, *dir = NULL;

	page_size = sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		usage();
	cmd = argv[1];
	optind = 2;
	if (strcmp(cmd, "mem")) {
		if (argc < 3)
			usage();
		dir = argv[2];
		optind = 3;
	}
	while ((c = getopt(argc, argv, "m:r:s:wPc:x")) != -1) {
		switch (c) {
		case 'm':
			mib = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			pct = strtoull(optarg, NULL, 0);
			break;
		case 's':
			mo.seed = strtoull(optarg, NULL, 0);
			break;
		case 'w':
			mo.rewrite = 1;
			break;
		case 'P':
			mo.pause = 1;
			break;
		case 'c':
			mo.cgroup = optarg;
			break;
		case 'x':
			only_kept = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	if (!strcmp(cmd, "mem")) {
		if (!mib == !pct)
			usage();
		mo.bytes = mib ? mib << 20 : memtotal_bytes() / 100 * pct;
		return cmd_mem(&mo);
	}
	if (!mib)
		usage();
	if (!strcmp(cmd, "tree"))
		return cmd_tree(dir, mib << 20, mo.seed);
	if (!strcmp(cmd, "vtree"))
		return cmd_vtree(dir, mib << 20, mo.seed, only_kept);
	if (!strcmp(cmd, "thin"))
		return cmd_thin(dir, mib << 20, mo.seed);
	usage();
}
