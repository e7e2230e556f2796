// SPDX-License-Identifier: GPL-2.0
/*
 * zsm_swapset: a working set of real data swapped out and in through zswap,
 * timed; the zswap workload of make bench (guest/bench-lib.sh). Built
 * static by scripts/mkinitramfs.sh into /zsm/bin.
 *
 *   zsm_swapset FILE -c CGROUP [-r CYCLES] [-p PASSES] [-m PCT] [-P]
 *
 * Moves itself into the cgroup v2 directory CGROUP (memory.max "max"),
 * reads FILE into anonymous memory (the working set, one page per page of
 * the file) and keeps a checksum of every page. Then:
 *
 * 1. CYCLES times (default 3): store, every page pushed out by writing the
 *    working set's size to CGROUP/memory.reclaim; load, every page read
 *    back (scattered order) and its checksum compared. With -P, after the
 *    last store it prints "zsm_swapset: stored" and waits for SIGUSR1, so
 *    that the caller can read the pool while everything is out.
 * 2. memory.max set to PCT percent of the working set (default 80), and
 *    PASSES (default 3) passes that read every page in order and compare
 *    it: pages are loaded, and others pushed out, as the pass goes (a loop
 *    over more than the cgroup holds; zswap's pool is charged to the
 *    cgroup too).
 *
 * Times are the process's CPU time (CLOCK_PROCESS_CPUTIME_ID: the
 * scheduler's runtime, so under qemu -icount counted guest instructions,
 * and no idle time: waits for the disk, or reclaim's throttling sleeps,
 * would add virtual time that depends on the host); zswap's stores and
 * loads run in the process (memory.reclaim, direct reclaim, page faults).
 * The elapsed time (CLOCK_MONOTONIC) is reported too, as *_wall_ns.
 * Page counts are deltas of the cgroup's zswpout, zswpin, zswpwb and
 * pswpout events (memory.stat). One line per figure:
 *   metric <name> <value>
 * pages store_ns store_wall_ns stored store_pswpout load_ns load_wall_ns
 * loaded cycle_ns cycle_wall_ns cycle_in cycle_out cycle_wb (phase 2),
 * then
 *   result pages=<n> verified=<n> corrupt=<n>
 * counting every page check of both phases. Exit status: 0 if nothing is
 * corrupt, 1 on corruption, 2 on other errors.
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
#include <time.h>
#include <unistd.h>

#include "zsm_prog.h"

static size_t page_size;
static const char *cgroup;

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* A phase's CPU time and elapsed time. */
struct timer {
	uint64_t cpu0, wall0;
	uint64_t cpu, wall;
};

static void timer_start(struct timer *t)
{
	t->cpu0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	t->wall0 = clock_ns(CLOCK_MONOTONIC);
}

static void timer_stop(struct timer *t)
{
	t->cpu += clock_ns(CLOCK_PROCESS_CPUTIME_ID) - t->cpu0;
	t->wall += clock_ns(CLOCK_MONOTONIC) - t->wall0;
}

/* Write @val to the cgroup file @file; 0 or -errno (EAGAIN is news). */
static int cg_write(const char *file, const char *val)
{
	char path[4096];
	ssize_t n;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", cgroup, file);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	n = write(fd, val, strlen(val));
	if (n < 0)
		err = -errno;
	close(fd);
	return err;
}

/*
 * The cgroup's memory.stat events the phases count (the perf guest kernel
 * has no /proc/vmstat events; pswpout may be missing, then 0).
 */
enum { V_ZSWPOUT, V_ZSWPIN, V_ZSWPWB, V_PSWPOUT, V_NR };
static const char *const vm_name[V_NR] = {
	"zswpout", "zswpin", "zswpwb", "pswpout",
};

static void vmstat(uint64_t *v)
{
	char key[64], path[4096];
	uint64_t val;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "%s/memory.stat", cgroup);
	f = fopen(path, "r");
	if (!f)
		die("%s: %s", path, strerror(errno));
	memset(v, 0, V_NR * sizeof(*v));
	while (fscanf(f, "%63s %" SCNu64, key, &val) == 2)
		for (i = 0; i < V_NR; i++)
			if (!strcmp(key, vm_name[i]))
				v[i] = val;
	fclose(f);
}

/* FNV-1a over 64-bit words. */
static uint64_t page_sum(const unsigned char *p)
{
	const uint64_t *w = (const uint64_t *)p;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < page_size / sizeof(*w); i++)
		h = (h ^ w[i]) * 0x100000001b3ULL;
	return h;
}

struct set {
	unsigned char *base;
	uint64_t *sum;
	uint64_t n;
	uint64_t checked;
	uint64_t corrupt;
};

/* Read every page, in steps of @stride (coprime with n), and check it. */
static void verify(struct set *s, uint64_t stride)
{
	uint64_t i, idx;

	for (i = 0, idx = 0; i < s->n; i++, idx = (idx + stride) % s->n) {
		s->checked++;
		if (page_sum(s->base + idx * page_size) == s->sum[idx])
			continue;
		if (s->corrupt++ < 10)
			printf("CORRUPT page %" PRIu64 "\n", idx);
	}
}

static void load_file(struct set *s, const char *file)
{
	uint64_t i, size, off = 0;
	ssize_t got;
	int fd;

	fd = open(file, O_RDONLY);
	if (fd < 0)
		die("%s: %s", file, strerror(errno));
	size = lseek(fd, 0, SEEK_END);
	s->n = (size + page_size - 1) / page_size;
	if (!s->n)
		die("%s is empty", file);
	s->sum = calloc(s->n, sizeof(*s->sum));
	s->base = mmap(NULL, s->n * page_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!s->sum || s->base == MAP_FAILED)
		die("no memory for %" PRIu64 " pages", s->n);
#ifdef MADV_NOHUGEPAGE
	madvise(s->base, s->n * page_size, MADV_NOHUGEPAGE);
#endif
	while (off < size) {
		got = pread(fd, s->base + off, size - off, off);
		if (got <= 0)
			die("read %s: %s", file, got ? strerror(errno) : "EOF");
		off += got;
	}
	close(fd);
	for (i = 0; i < s->n; i++)
		s->sum[i] = page_sum(s->base + i * page_size);
}

static void figure(const char *name, uint64_t v)
{
	printf("metric %s %" PRIu64 "\n", name, v);
}

int main(int argc, char **argv)
{
	unsigned int cycles = 3, passes = 3, pct = 80, pause = 0, i;
	uint64_t v0[V_NR], v1[V_NR], stride;
	uint64_t stored = 0, swpout = 0, loaded = 0, cyc[V_NR] = { 0 };
	struct timer store = { 0 }, load = { 0 }, cycle = { 0 };
	struct set s = { 0 };
	char val[32];
	sigset_t set;
	int c, sig;

	page_size = sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt(argc, argv, "c:r:p:m:P")) != -1) {
		switch (c) {
		case 'c':
			cgroup = optarg;
			break;
		case 'r':
			cycles = strtoul(optarg, NULL, 0);
			break;
		case 'p':
			passes = strtoul(optarg, NULL, 0);
			break;
		case 'm':
			pct = strtoul(optarg, NULL, 0);
			break;
		case 'P':
			pause = 1;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1 || !cgroup || !cycles || !pct)
		goto usage;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	cg_write("cgroup.procs", "0");
	cg_write("memory.max", "max");
	load_file(&s, argv[optind]);
	printf("zsm_swapset: %" PRIu64 " pages of %s\n", s.n, argv[optind]);

	stride = scatter_stride(s.n);
	snprintf(val, sizeof(val), "%" PRIu64, s.n * page_size);
	for (i = 1; i <= cycles; i++) {
		vmstat(v0);
		timer_start(&store);
		/* EAGAIN: less than asked was reclaimed; counted below. */
		cg_write("memory.reclaim", val);
		timer_stop(&store);
		vmstat(v1);
		stored += v1[V_ZSWPOUT] - v0[V_ZSWPOUT];
		swpout += v1[V_PSWPOUT] - v0[V_PSWPOUT];
		if (pause && i == cycles) {
			printf("zsm_swapset: stored\n");
			if (sigwait(&set, &sig))
				die("sigwait failed");
		}
		vmstat(v0);
		timer_start(&load);
		verify(&s, stride);
		timer_stop(&load);
		vmstat(v1);
		loaded += v1[V_ZSWPIN] - v0[V_ZSWPIN];
	}

	snprintf(val, sizeof(val), "%" PRIu64, s.n * page_size / 100 * pct);
	cg_write("memory.max", val);
	for (i = 0; i < passes; i++) {
		int k;

		vmstat(v0);
		timer_start(&cycle);
		verify(&s, 1);
		timer_stop(&cycle);
		vmstat(v1);
		for (k = 0; k < V_NR; k++)
			cyc[k] += v1[k] - v0[k];
	}
	cg_write("memory.max", "max");

	figure("pages", s.n);
	figure("store_ns", store.cpu);
	figure("store_wall_ns", store.wall);
	figure("stored", stored);
	figure("store_pswpout", swpout);
	figure("load_ns", load.cpu);
	figure("load_wall_ns", load.wall);
	figure("loaded", loaded);
	figure("cycle_ns", cycle.cpu);
	figure("cycle_wall_ns", cycle.wall);
	figure("cycle_in", cyc[V_ZSWPIN]);
	figure("cycle_out", cyc[V_ZSWPOUT]);
	figure("cycle_wb", cyc[V_ZSWPWB]);
	printf("result pages=%" PRIu64 " verified=%" PRIu64 " corrupt=%" PRIu64
	       "\n", s.checked, s.checked - s.corrupt, s.corrupt);
	return s.corrupt ? 1 : 0;
usage:
	fprintf(stderr, "usage: zsm_swapset FILE -c CGROUP [-r CYCLES] [-p PASSES]"
		" [-m PCT] [-P]\n");
	return 2;
}
