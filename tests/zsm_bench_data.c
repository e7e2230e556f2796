// SPDX-License-Identifier: GPL-2.0
/*
 * zsm_bench_data: real compressed pages for the zsm benchmark.
 *
 * Loaded once per guest boot by guest/bench/bench.sh, before any zs_*
 * provider: it reads the files named in `files`, cuts them into pages and
 * compresses every page with each algorithm of `algs` through the kernel
 * crypto API (crypto_comp, the interface zswap used before acomp). The
 * results stay in memory and are handed to zsm_bench.ko, which is loaded
 * and unloaded once per provider and round, through zsm_bench_get_set().
 * This module does not use the zs_* API, so it stays loaded while the
 * providers change under it.
 *
 * What is checked: every compressed page is decompressed again and must
 * give back the page read from the file byte for byte; any difference, or
 * a file that cannot be read, fails the load.
 *
 * For each set one line is printed:
 *   zsm-bench-data <file>.<alg> pages=<read> same=<same-filled> objs=<n>
 *                  huge=<did not compress> bytes=<sum of lengths>
 * and, with sizes=1, its objects' lengths in order, a few dozen a line:
 *   zsm-bench-sizes <file>.<alg> <len> <len> ...
 * from which scripts/bench-run.py computes what the best allocator of
 * zsmalloc's kind could do with the set (Documentation/benchmarks.rst).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/crypto.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "zsm_bench.h"

/* === Parameters ========================================================== */

static char *files = "";
module_param(files, charp, 0444);
MODULE_PARM_DESC(files, "Inputs: name=path[,name=path...]");

static char *algs = "lz4,zstd";
module_param(algs, charp, 0444);
MODULE_PARM_DESC(algs, "Compression algorithms (crypto API names)");

static char *density_only = "small";
module_param(density_only, charp, 0444);
MODULE_PARM_DESC(density_only, "Inputs only the density workload uses: name[,name...]");

static bool sizes;
module_param(sizes, bool, 0444);
MODULE_PARM_DESC(sizes, "Print every object's length (zsm-bench-sizes lines)");

static unsigned int max_mb = 16;
module_param(max_mb, uint, 0444);
MODULE_PARM_DESC(max_mb, "Read at most this many MiB of each file");

/* === Data ================================================================ */

#define BD_MAX_FILES	4
#define BD_MAX_ALGS	3
#define BD_MAX_SETS	(BD_MAX_FILES * BD_MAX_ALGS)

/* Written by the init function only; read-only after it. */
static struct zsm_bench_set bd_sets[BD_MAX_SETS];
static unsigned int bd_nr_sets;

/* One algorithm being run over a file. */
struct bd_comp {
	struct crypto_comp *tfm;
	struct zsm_bench_set *set;
	unsigned int cap;		/* bytes allocated at set->data */
	unsigned int huge;
};

/* === Internals =========================================================== */

static bool bd_same_filled(const u8 *page)
{
	const unsigned long *w = (const unsigned long *)page;
	unsigned int i;

	for (i = 1; i < PAGE_SIZE / sizeof(*w); i++) {
		if (w[i] != w[0])
			return false;
	}
	return true;
}

/* Is input @name one of the density_only parameter's names? */
static bool bd_density_only(const char *name)
{
	size_t len = strlen(name);
	const char *p = density_only;

	while (p && *p) {
		if (!strncmp(p, name, len) && (p[len] == ',' || !p[len]))
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

/* The zsm-bench-sizes lines of @s: its lengths, in order. */
static void bd_print_sizes(const struct zsm_bench_set *s)
{
	char line[160];
	unsigned int i;
	int n = 0;

	for (i = 0; i < s->nr; i++) {
		n += scnprintf(line + n, sizeof(line) - n, " %u", s->len[i]);
		if (n > (int)sizeof(line) - 16 || i + 1 == s->nr) {
			pr_info("zsm-bench-sizes %s%s\n", s->name, line);
			n = 0;
		}
	}
}

/* Compress @page into the set of @c; check that it decompresses back. */
static int bd_add_page(struct bd_comp *c, const u8 *page, u8 *dst, u8 *check)
{
	struct zsm_bench_set *s = c->set;
	unsigned int dlen = 2 * PAGE_SIZE, clen = PAGE_SIZE;
	const u8 *obj = dst;
	int ret;

	ret = crypto_comp_compress(c->tfm, page, PAGE_SIZE, dst, &dlen);
	if (ret || dlen >= PAGE_SIZE) {
		obj = page;
		dlen = PAGE_SIZE;
		c->huge++;
	} else {
		ret = crypto_comp_decompress(c->tfm, dst, dlen, check, &clen);
		if (ret || clen != PAGE_SIZE || memcmp(check, page, PAGE_SIZE)) {
			pr_err("%s: page %u does not decompress to itself (%d)\n",
			       s->name, s->nr, ret);
			return -EIO;
		}
	}
	if (s->bytes + dlen > c->cap)
		return -ENOSPC;
	s->off[s->nr] = s->bytes;
	s->len[s->nr] = dlen;
	memcpy(s->data + s->bytes, obj, dlen);
	s->bytes += dlen;
	s->nr++;
	return 0;
}

/* Give the set's data and index arrays their final sizes. */
static int bd_shrink(struct zsm_bench_set *s)
{
	u8 *data = vmalloc(max_t(u64, s->bytes, 1));

	if (!data)
		return -ENOMEM;
	memcpy(data, s->data, s->bytes);
	vfree(s->data);
	s->data = data;
	return 0;
}

/* Read up to max_mb MiB of @path and compress it with every algorithm. */
static int bd_load_file(const char *name, const char *path,
			const char *const *alg, unsigned int nr_algs)
{
	struct bd_comp comp[BD_MAX_ALGS] = { };
	unsigned long max_pages = (unsigned long)max_mb << (20 - PAGE_SHIFT);
	unsigned long pages, same = 0, read = 0;
	u8 *page = NULL, *dst = NULL, *check = NULL;
	struct file *f;
	loff_t pos = 0;
	unsigned int a;
	int ret = 0;

	f = filp_open(path, O_RDONLY, 0);
	if (IS_ERR(f)) {
		pr_err("%s: cannot open %s (%ld)\n", name, path, PTR_ERR(f));
		return PTR_ERR(f);
	}
	pages = min(DIV_ROUND_UP(i_size_read(file_inode(f)), PAGE_SIZE),
		    max_pages);
	page = kzalloc(PAGE_SIZE, GFP_KERNEL);
	dst = kmalloc(2 * PAGE_SIZE, GFP_KERNEL);
	check = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!page || !dst || !check || !pages) {
		ret = pages ? -ENOMEM : -EINVAL;
		goto out;
	}
	for (a = 0; a < nr_algs; a++) {
		struct zsm_bench_set *s = &bd_sets[bd_nr_sets + a];

		snprintf(s->name, sizeof(s->name), "%s.%s", name, alg[a]);
		comp[a].set = s;
		comp[a].cap = pages * PAGE_SIZE;
		comp[a].tfm = crypto_alloc_comp(alg[a], 0, 0);
		s->data = vmalloc(comp[a].cap);
		s->len = kvmalloc_array(pages, sizeof(*s->len), GFP_KERNEL);
		s->off = kvmalloc_array(pages, sizeof(*s->off), GFP_KERNEL);
		if (IS_ERR(comp[a].tfm)) {
			pr_err("no %s compressor (%ld)\n", alg[a],
			       PTR_ERR(comp[a].tfm));
			ret = PTR_ERR(comp[a].tfm);
			comp[a].tfm = NULL;
			goto out;
		}
		if (!s->data || !s->len || !s->off) {
			ret = -ENOMEM;
			goto out;
		}
	}
	while (read < pages) {
		ssize_t n = kernel_read(f, page, PAGE_SIZE, &pos);

		if (n < 0) {
			ret = n;
			goto out;
		}
		if (n == 0)
			break;
		if (n < PAGE_SIZE)
			memset(page + n, 0, PAGE_SIZE - n);
		read++;
		if (bd_same_filled(page)) {
			same++;
			continue;
		}
		for (a = 0; a < nr_algs; a++) {
			ret = bd_add_page(&comp[a], page, dst, check);
			if (ret)
				goto out;
		}
		cond_resched();
	}
	for (a = 0; a < nr_algs; a++) {
		struct zsm_bench_set *s = comp[a].set;

		s->pages_read = read;
		s->pages_same = same;
		s->density_only = bd_density_only(name);
		ret = bd_shrink(s);
		if (ret)
			goto out;
		pr_info("zsm-bench-data %s pages=%lu same=%lu objs=%u huge=%u bytes=%llu\n",
			s->name, read, same, s->nr, comp[a].huge, s->bytes);
		if (sizes)
			bd_print_sizes(s);
	}
	bd_nr_sets += nr_algs;
out:
	for (a = 0; a < nr_algs; a++) {
		if (comp[a].tfm)
			crypto_free_comp(comp[a].tfm);
	}
	kfree(check);
	kfree(dst);
	kfree(page);
	filp_close(f, NULL);
	/* On failure the caller frees every set, this file's included. */
	return ret;
}

static void bd_free_sets(void)
{
	unsigned int i;

	for (i = 0; i < BD_MAX_SETS; i++) {
		vfree(bd_sets[i].data);
		kvfree(bd_sets[i].len);
		kvfree(bd_sets[i].off);
	}
	memset(bd_sets, 0, sizeof(bd_sets));
	bd_nr_sets = 0;
}

/* === Interface =========================================================== */

/**
 * zsm_bench_nr_sets() - number of data sets loaded.
 *
 * Context: Any context.
 * Return: the count; sets are numbered 0..count-1.
 */
unsigned int zsm_bench_nr_sets(void)
{
	return bd_nr_sets;
}
EXPORT_SYMBOL_GPL(zsm_bench_nr_sets);

/**
 * zsm_bench_get_set() - one data set.
 * @i: set number, below zsm_bench_nr_sets().
 *
 * Context: Any context.
 * Return: the set (read-only, valid while this module is loaded), or NULL
 * when @i is out of range.
 */
const struct zsm_bench_set *zsm_bench_get_set(unsigned int i)
{
	return i < bd_nr_sets ? &bd_sets[i] : NULL;
}
EXPORT_SYMBOL_GPL(zsm_bench_get_set);

/* === Module ============================================================== */

static int __init zsm_bench_data_init(void)
{
	char *alg_copy, *file_copy, *p, *tok;
	const char *alg[BD_MAX_ALGS];
	unsigned int nr_algs = 0, nr_files = 0;
	int ret = 0;

	alg_copy = kstrdup(algs, GFP_KERNEL);
	file_copy = kstrdup(files, GFP_KERNEL);
	if (!alg_copy || !file_copy) {
		ret = -ENOMEM;
		goto out;
	}
	p = alg_copy;
	while ((tok = strsep(&p, ",")) != NULL) {
		if (!*tok)
			continue;
		if (nr_algs == BD_MAX_ALGS) {
			ret = -E2BIG;
			goto out;
		}
		alg[nr_algs++] = tok;
	}
	p = file_copy;
	while ((tok = strsep(&p, ",")) != NULL) {
		char *path = strchr(tok, '=');

		if (!*tok)
			continue;
		if (!path || nr_files == BD_MAX_FILES || !nr_algs) {
			pr_err("bad files=/algs= parameter\n");
			ret = -EINVAL;
			goto out;
		}
		*path++ = '\0';
		ret = bd_load_file(tok, path, alg, nr_algs);
		if (ret)
			goto out;
		nr_files++;
	}
	if (!nr_files) {
		pr_err("no input files\n");
		ret = -EINVAL;
	}
out:
	if (ret)
		bd_free_sets();
	kfree(file_copy);
	kfree(alg_copy);
	return ret;
}

static void __exit zsm_bench_data_exit(void)
{
	bd_free_sets();
}

module_init(zsm_bench_data_init);
module_exit(zsm_bench_data_exit);

MODULE_DESCRIPTION("Compressed pages of real files for the zsm benchmark");
MODULE_LICENSE("GPL");
