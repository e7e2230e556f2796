// SPDX-License-Identifier: GPL-2.0
/*
 * zsmstat: per-class statistics of zsm pools, from zsm's debugfs files
 * /sys/kernel/debug/zsm/<pool>/{classes,summary} (see zsm_debugfs.c and
 * Documentation/zsm.rst, "Statistics").
 *
 *   zsmstat [-a] [-f] [-p POOL] [-s KEY] [-d SECS [-n COUNT]] [-D DIR]
 *
 * For each pool: a summary line, then one row per size class that has
 * zspages (-a: every class) with
 *
 *   zspages   zspages of the class (the sum of its fullness groups)
 *   objs/zsp  objects one zspage holds, pages/zsp its pages
 *   alloc     object slots in those zspages, used: live objects
 *   used%     used / alloc: slot occupancy
 *   pages     pages of the class's zspages
 *   frag%     share of those pages' bytes not holding a live object:
 *             100 * (1 - used * size / (pages * page size))
 *   freeable  pages compaction could free now (zsm's own estimate)
 *
 * and, with -f, the number of zspages in each fullness group (by tenths
 * of use, then full). -d SECS redraws the screen every SECS seconds, like
 * slabtop, until interrupted or, with -n, COUNT times.
 */
#include <errno.h>
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ZSMSTAT_ROOT	"/sys/kernel/debug/zsm"
#define MAX_CLASSES	512
#define MAX_POOLS	64
#define NR_FG		11	/* fullness columns: 0%..90%, full */
#define NAME_LEN	128
#define DIR_LEN		(NAME_LEN + 256)	/* <root>/<pool> */
#define PATH_LEN	(DIR_LEN + 16)		/* .../classes */

struct zclass {
	unsigned long index, size, fg[NR_FG];
	unsigned long alloc, used, pages, pages_per, freeable;
	unsigned long zspages;
};

struct zpool {
	char name[NAME_LEN];
	char map_mode[16];
	unsigned long pages_total, handle_blocks, handle_block_bytes, compacted,
		chain;
	unsigned long desc_bytes, hdir_bytes, fixed_bytes, total_pages;
	struct zclass cls[MAX_CLASSES];
	int nr;
};

static const char *root = ZSMSTAT_ROOT;
static int all_classes, show_fg;
static char sort_key[16] = "class";
static unsigned long page_size;

static void print_help(FILE *f)
{
	fprintf(f,
		"usage: zsmstat [-a] [-f] [-p POOL] [-s KEY] [-d SECS [-n COUNT]] [-D DIR]\n"
		"  -a        every class, also those without zspages\n"
		"  -f        zspages per fullness group (0%%..90%%, full)\n"
		"  -p POOL   only this pool (a directory of %s)\n"
		"  -s KEY    sort classes by class (default), pages, frag, freeable, used\n"
		"  -d SECS   redraw every SECS seconds, like slabtop\n"
		"  -n COUNT  with -d: stop after COUNT screens\n"
		"  -D DIR    read DIR instead of %s\n",
		ZSMSTAT_ROOT, ZSMSTAT_ROOT);
}

/* Column @name of the header @hdr (split on blanks): its index, or -1. */
static int column(char **hdr, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++) {
		if (!strcmp(hdr[i], name))
			return i;
	}
	return -1;
}

static int split(char *line, char **tok, int max)
{
	int n = 0;
	char *save, *t;

	for (t = strtok_r(line, " \t\n", &save); t && n < max;
	     t = strtok_r(NULL, " \t\n", &save))
		tok[n++] = t;
	return n;
}

/*
 * Read <dir>/classes. The header names the columns; rows are matched to it
 * by position, so columns added to the file later do not break zsmstat.
 */
static int read_classes(const char *dir, struct zpool *p)
{
	static const char * const fg_names[NR_FG] = {
		"0%", "10%", "20%", "30%", "40%", "50%", "60%", "70%", "80%",
		"90%", "full" };
	char path[PATH_LEN], hline[1024], line[1024], *hdr[64], *tok[64];
	int nh, n, i, c_idx, c_size, c_alloc, c_used, c_pages, c_per, c_free;
	int c_fg[NR_FG];
	FILE *f;

	snprintf(path, sizeof(path), "%s/classes", dir);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	if (!fgets(hline, sizeof(hline), f)) {
		fclose(f);
		return -EINVAL;
	}
	nh = split(hline, hdr, 64);
	c_idx = column(hdr, nh, "class");
	c_size = column(hdr, nh, "size");
	c_alloc = column(hdr, nh, "objs_alloc");
	c_used = column(hdr, nh, "objs_inuse");
	c_pages = column(hdr, nh, "pages_used");
	c_per = column(hdr, nh, "pages_per_zspage");
	c_free = column(hdr, nh, "freeable");
	for (i = 0; i < NR_FG; i++)
		c_fg[i] = column(hdr, nh, fg_names[i]);
	if (c_idx < 0 || c_size < 0 || c_alloc < 0 || c_used < 0 ||
	    c_pages < 0 || c_per < 0 || c_free < 0 || c_fg[NR_FG - 1] < 0) {
		fclose(f);
		fprintf(stderr, "zsmstat: %s: unknown header\n", path);
		return -EINVAL;
	}
	p->nr = 0;
	while (fgets(line, sizeof(line), f) && p->nr < MAX_CLASSES) {
		struct zclass *c = &p->cls[p->nr];

		n = split(line, tok, 64);
		if (n != nh || !strcmp(tok[0], "Total"))
			continue;
		memset(c, 0, sizeof(*c));
		c->index = strtoul(tok[c_idx], NULL, 10);
		c->size = strtoul(tok[c_size], NULL, 10);
		c->alloc = strtoul(tok[c_alloc], NULL, 10);
		c->used = strtoul(tok[c_used], NULL, 10);
		c->pages = strtoul(tok[c_pages], NULL, 10);
		c->pages_per = strtoul(tok[c_per], NULL, 10);
		c->freeable = strtoul(tok[c_free], NULL, 10);
		for (i = 0; i < NR_FG; i++) {
			c->fg[i] = c_fg[i] < 0 ? 0 : strtoul(tok[c_fg[i]], NULL, 10);
			c->zspages += c->fg[i];
		}
		p->nr++;
	}
	fclose(f);
	return 0;
}

static void read_summary(const char *dir, struct zpool *p)
{
	char path[PATH_LEN], key[64], val[NAME_LEN];
	FILE *f;

	snprintf(path, sizeof(path), "%s/summary", dir);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fscanf(f, "%63s %127s", key, val) == 2) {
		if (!strcmp(key, "pages_total"))
			p->pages_total = strtoul(val, NULL, 10);
		else if (!strcmp(key, "handle_blocks"))
			p->handle_blocks = strtoul(val, NULL, 10);
		else if (!strcmp(key, "handle_block_bytes"))
			p->handle_block_bytes = strtoul(val, NULL, 10);
		else if (!strcmp(key, "descriptor_bytes"))
			p->desc_bytes = strtoul(val, NULL, 10);
		else if (!strcmp(key, "handle_dir_bytes"))
			p->hdir_bytes = strtoul(val, NULL, 10);
		else if (!strcmp(key, "fixed_bytes"))
			p->fixed_bytes = strtoul(val, NULL, 10);
		else if (!strcmp(key, "total_pages"))
			p->total_pages = strtoul(val, NULL, 10);
		else if (!strcmp(key, "pages_compacted"))
			p->compacted = strtoul(val, NULL, 10);
		else if (!strcmp(key, "chain_size"))
			p->chain = strtoul(val, NULL, 10);
		else if (!strcmp(key, "map_mode"))
			snprintf(p->map_mode, sizeof(p->map_mode), "%.15s", val);
	}
	fclose(f);
}

/* Percentage of @pages' bytes not holding live objects (@live bytes). */
static double waste_pct(double live, unsigned long pages)
{
	double bytes = (double)pages * page_size;

	return bytes ? 100.0 * (1.0 - live / bytes) : 0.0;
}

static double frag_pct(unsigned long used, unsigned long size,
		       unsigned long pages)
{
	return waste_pct((double)used * size, pages);
}

static double used_pct(unsigned long used, unsigned long alloc)
{
	return alloc ? 100.0 * used / alloc : 0.0;
}

static int cmp_class(const void *a, const void *b)
{
	const struct zclass *x = a, *y = b;
	double dx, dy;

	if (!strcmp(sort_key, "pages")) {
		dx = x->pages;
		dy = y->pages;
	} else if (!strcmp(sort_key, "frag")) {
		dx = frag_pct(x->used, x->size, x->pages);
		dy = frag_pct(y->used, y->size, y->pages);
	} else if (!strcmp(sort_key, "freeable")) {
		dx = x->freeable;
		dy = y->freeable;
	} else if (!strcmp(sort_key, "used")) {
		dx = x->used;
		dy = y->used;
	} else {
		return x->index < y->index ? -1 : x->index > y->index;
	}
	/* Largest first, then by class. */
	if (dx != dy)
		return dx < dy ? 1 : -1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static void print_pool(struct zpool *p)
{
	unsigned long zsp = 0, alloc = 0, used = 0, pages = 0, freeable = 0;
	double bytes = 0;
	int i, j;

	for (i = 0; i < p->nr; i++) {
		struct zclass *c = &p->cls[i];

		zsp += c->zspages;
		alloc += c->alloc;
		used += c->used;
		pages += c->pages;
		freeable += c->freeable;
		bytes += (double)c->used * c->size;
	}
	printf("pool %s: %lu pages (%lu KiB) in %lu zspages, %lu objects, ",
	       p->name, p->pages_total, p->pages_total * page_size / 1024,
	       zsp, used);
	printf("%lu handle blocks; used %.1f%%, frag %.1f%%, freeable %lu pages; ",
	       p->handle_blocks, used_pct(used, alloc),
	       waste_pct(bytes, pages), freeable);
	printf("compacted %lu; map %s, chain %lu\n", p->compacted,
	       p->map_mode[0] ? p->map_mode : "?", p->chain);
	printf("memory: %lu KiB in all = %lu KiB object pages + ",
	       p->total_pages * page_size / 1024,
	       p->pages_total * page_size / 1024);
	printf("%lu KiB descriptors + %lu KiB handle blocks + ",
	       p->desc_bytes / 1024, p->handle_block_bytes / 1024);
	printf("%lu B handle directories (+ %lu KiB fixed)\n",
	       p->hdir_bytes, p->fixed_bytes / 1024);
	printf("class  size objs/zsp pages/zsp  zspages      alloc       used");
	printf("  used%%      pages  frag%% freeable");
	if (show_fg)
		printf("   0%%  10%%  20%%  30%%  40%%  50%%  60%%  70%%  80%%  90%% full");
	printf("\n");
	qsort(p->cls, p->nr, sizeof(p->cls[0]), cmp_class);
	for (i = 0; i < p->nr; i++) {
		struct zclass *c = &p->cls[i];

		if (!c->zspages && !all_classes)
			continue;
		printf("%5lu %5lu", c->index, c->size);
		if (c->zspages)
			printf(" %8lu", c->alloc / c->zspages);
		else
			printf(" %8s", "-");
		printf(" %9lu %8lu %10lu %10lu %6.1f %10lu %6.1f %8lu",
		       c->pages_per, c->zspages, c->alloc, c->used,
		       used_pct(c->used, c->alloc), c->pages,
		       frag_pct(c->used, c->size, c->pages), c->freeable);
		if (show_fg) {
			for (j = 0; j < NR_FG; j++)
				printf(" %4lu", c->fg[j]);
		}
		printf("\n");
	}
	printf("total %5s %8s %9s %8lu %10lu %10lu %6.1f %10lu %6.1f %8lu\n",
	       "", "", "", zsp, alloc, used, used_pct(used, alloc), pages,
	       waste_pct(bytes, pages), freeable);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

/* Print every pool (or @only); return the number printed, -1 on error. */
static int show(const char *only)
{
	static struct zpool pool;
	char *names[MAX_POOLS], dir[DIR_LEN];
	struct dirent *e;
	int n = 0, i, shown = 0;
	DIR *d;

	d = opendir(root);
	if (!d) {
		fprintf(stderr, "zsmstat: %s: %s (is zsm loaded, debugfs mounted?)\n",
			root, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) && n < MAX_POOLS) {
		if (e->d_name[0] == '.')
			continue;
		if (only && strcmp(e->d_name, only))
			continue;
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_name);
	for (i = 0; i < n; i++) {
		memset(&pool, 0, sizeof(pool));
		snprintf(pool.name, sizeof(pool.name), "%s", names[i]);
		snprintf(dir, sizeof(dir), "%s/%s", root, names[i]);
		if (read_classes(dir, &pool) == 0) {
			read_summary(dir, &pool);
			if (shown)
				printf("\n");
			print_pool(&pool);
			shown++;
		}
		free(names[i]);
	}
	if (only && !shown) {
		fprintf(stderr, "zsmstat: no pool %s in %s\n", only, root);
		return -1;
	}
	if (!shown)
		printf("no zsm pools in %s\n", root);
	return shown;
}

int main(int argc, char **argv)
{
	const char *only = NULL;
	long count = -1;
	double secs = 0;
	int opt;

	while ((opt = getopt(argc, argv, "afhp:s:d:n:D:")) != -1) {
		switch (opt) {
		case 'a':
			all_classes = 1;
			break;
		case 'f':
			show_fg = 1;
			break;
		case 'p':
			only = optarg;
			break;
		case 's':
			snprintf(sort_key, sizeof(sort_key), "%.15s", optarg);
			break;
		case 'd':
			secs = strtod(optarg, NULL);
			if (secs <= 0) {
				print_help(stderr);
				return 2;
			}
			break;
		case 'n':
			count = strtol(optarg, NULL, 10);
			break;
		case 'D':
			root = optarg;
			break;
		case 'h':
			print_help(stdout);
			return 0;
		default:
			print_help(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		print_help(stderr);
		return 2;
	}
	page_size = sysconf(_SC_PAGESIZE);
	if (!secs)
		return show(only) < 0;

	/* Until interrupted (SIGINT ends the program) or COUNT screens. */
	while (count != 0) {
		struct timespec ts;
		time_t now = time(NULL);
		char when[64];

		strftime(when, sizeof(when), "%F %T", localtime(&now));
		/* Home the cursor and clear the screen, as slabtop does. */
		printf("\033[H\033[2Jzsmstat - %s - every %g s (Ctrl-C quits)\n\n",
		       when, secs);
		if (show(only) < 0)
			return 1;
		fflush(stdout);
		if (count > 0)
			count--;
		if (!count)
			break;
		ts.tv_sec = (time_t)secs;
		ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
	}
	return 0;
}
