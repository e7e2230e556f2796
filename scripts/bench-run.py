#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make bench: zsm against upstream zsmalloc, in one perf-guest boot.

    bench-run.py --kernel-dir DIR [--rounds N] [--only W,...] [--out bench]
    (DIR: an x86_64 or arm64 perf guest kernel, scripts/build-kernel.sh)
    bench-run.py --parse CONSOLE.LOG [--out bench]
    bench-run.py --builtin UPSTREAM_DIR ZSM_DIR [--rounds N] [--out bench]
    bench-run.py --parse-builtin UPSTREAM.LOG ZSM.LOG [--out bench]

1. Copies the working tree to $ZSM_CACHE/bench-tree and builds there, against
   DIR/build, only the modules the benchmark loads (zsm.ko and
   tests/zsm_bench_{data,pool,map}.ko), so that a make check running in the
   tree at the same time keeps its own modules.
2. Boots the guest once with the copy's runner: guest/tests/bench.sh, which
   alternates upstream zsmalloc.ko and zsm.ko over N rounds and prints raw
   numbers (zsm-bench-raw / -hist / -dbg lines).
3. Reads the console log: per workload and round the ratio zsm/upstream
   (> 1: zsm better), their median and spread ((max - min) / median of the
   per-round ratios); prints a table and one line per workload
       zsm-bench <workload> ratio=<median> spread=<pct>
   and writes OUT/results.json and OUT/density-per-class.svg.

--builtin (make bench-builtin): the zswap workload alone, on two kernels
with zswap calling zs_* directly, the kernel's own zsmalloc built into the
first and zsm into the second (scripts/build-kernel.sh zsmalloc-perf7 and
builtin-perf7): guest/tests/zswap_bench.sh in a boot of each, rounds
paired by number, the same zsm-bench lines; OUT/builtin.json.

Python 3 standard library only. Methodology: Documentation/benchmarks.rst.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The guest's page size, the unit of every page count: the page_size line
# of the log (4096 for logs without one); set by report().
PAGE = 4096
PROVIDERS = ("upstream", "zsm")
MODULES = ["zsm.ko", "tests/zsm_bench_data.ko", "tests/zsm_bench_pool.ko",
           "tests/zsm_bench_map.ko"]

TS_RE = re.compile(r"^\[\s*\d+\.\d+\](?:\[\s*[CT]\d+\])? ?")
RAW_RE = re.compile(r"zsm-bench-raw (\S+) r(\d+) (\S+)=(\d+)\s*$")
HIST_RE = re.compile(r"zsm-bench-hist (\S+) r(\d+) (.*)$")
DBG_RE = re.compile(r"zsm-bench-dbg (\S+) r(\d+) (.*)$")
DATA_RE = re.compile(r"zsm-bench-data (\S+) (.*)$")
SIZES_RE = re.compile(r"zsm-bench-sizes (\S+)((?: \d+)+)\s*$")
MAP_KINDS = ("cross_ro", "cross_wo", "inpage_ro", "inpage_wo")
LAT_OPS = ("malloc", "free", "map")
LAT_QUANTILES = ("p50", "p99")


# === Running ===============================================================

def cache_dir():
    c = os.environ.get("ZSM_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or
        os.path.join(os.path.expanduser("~"), ".cache"), "zsm")
    os.makedirs(c, exist_ok=True)
    return c


def snapshot(arch):
    """Copy the working tree, without build products, to the cache (a tree
    per guest architecture, so that benchmarks of both can run at once)."""
    dest = os.path.join(cache_dir(), "bench-tree" +
                        ("" if arch == "x86_64" else "-" + arch))
    shutil.rmtree(dest, ignore_errors=True)
    ignore = shutil.ignore_patterns(
        ".git", "*.o", "*.ko", "*.mod", "*.mod.c", ".*.cmd", "*.a",
        "modules.order", "Module.symvers", "__pycache__", ".tmp_versions")
    shutil.copytree(REPO, dest, ignore=ignore, symlinks=True)
    return dest


def kernel_arch(kdir):
    """x86_64, or arm64 for a kernel configured with CONFIG_ARM64."""
    with open(os.path.join(kdir, "build", ".config")) as f:
        return "arm64" if "CONFIG_ARM64=y\n" in f else "x86_64"


def build(tree, kdir, arch):
    cmd = ["make", "-s", "-C", os.path.join(kdir, "build"), "M=" + tree]
    if arch == "arm64":
        cmd += ["ARCH=arm64", "CROSS_COMPILE=" +
                os.environ.get("CROSS_COMPILE", "aarch64-linux-gnu-")]
    subprocess.run(cmd + MODULES, check=True)


def boot(tree, kdir, arch, rounds, timeout, accel, only, test="bench"):
    # slab_nomerge: zsmalloc's zs_handle/zspage caches keep their names in
    # /proc/slabinfo (tests/zsm_bench_pool.c, guest/bench-lib.sh).
    append = "zsm.bench_rounds=%d slab_nomerge" % rounds
    if only:
        append += " zsm.bench_only=" + only
    cmd = [os.path.join(tree, "scripts", "zsm-run.py"), "--kernel-dir", kdir,
           "--arch", arch, "--mode", "check", "--tests", test,
           "--timeout", str(timeout),
           "--accel", accel, "--append", append]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    sys.stdout.write(p.stdout)
    m = re.search(r"^console log: (\S+)", p.stdout, re.MULTILINE)
    if not m:
        sys.exit("bench-run: no console log from the runner")
    return m.group(1), p.returncode


# === Parsing ===============================================================

def parse_log(path):
    raw = {}                    # (provider, round, key) -> int
    hist = {}                   # upper bound of bucket -> [count, bytes]
    dbg = {}                    # (provider, round) -> [line]
    data = {}                   # set -> {field: int}
    sizes = {}                  # set -> [object length, in set order]
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            text = TS_RE.sub("", line.rstrip("\r\n"))
            m = RAW_RE.search(text)
            if m:
                raw[(m.group(1), int(m.group(2)), m.group(3))] = \
                    int(m.group(4))
                continue
            m = HIST_RE.search(text)
            if m and not hist_done(hist, m):
                for item in m.group(3).split():
                    u, c, b = (int(x) for x in item.split(":"))
                    hist[u] = [c, b]
                continue
            m = DBG_RE.search(text)
            if m:
                dbg.setdefault((m.group(1), int(m.group(2))), []).append(
                    m.group(3))
                continue
            m = DATA_RE.search(text)
            if m:
                data[m.group(1)] = {k: int(v) for k, v in
                                    (kv.split("=") for kv in
                                     m.group(2).split())}
                continue
            m = SIZES_RE.search(text)
            if m:
                sizes.setdefault(m.group(1), []).extend(
                    int(x) for x in m.group(2).split())
    return raw, hist, dbg, data, sizes


_hist_owner = {}


def hist_done(hist, m):
    """Take the histogram of the first provider and round only (it is the
    same data for every load)."""
    who = (m.group(1), m.group(2))
    owner = _hist_owner.setdefault("first", who)
    return owner != who


# === Figures ===============================================================

def rounds_of(raw):
    return sorted({r for (p, r, k) in raw if p in PROVIDERS})


def get(raw, p, r, key):
    return raw.get((p, r, key))


def derived(raw, p, r, sets):
    """Per provider and round: name -> (value, higher_is_better)."""
    d = {}

    def put(name, v, hib):
        if v is not None:
            d[name] = (v, hib)

    for lab in ("1cpu", "2cpu"):
        put("alloc_free." + lab,
            get(raw, p, r, "alloc_free.%s.ops_per_s" % lab), True)
    for k in MAP_KINDS:
        put("map." + k, get(raw, p, r, "map.%s_ns" % k), False)
    for step in ("fill", "over", "compact"):
        pay = pages = total = 0
        for s in sets:
            key = "density.%s.%s." % (s, step)
            a = get(raw, p, r, key + "payload")
            # Pool pages only (zsm: without its metadata); older logs
            # have just zs_get_total_pages().
            b = get(raw, p, r, key + "pool_pages") or \
                get(raw, p, r, key + "pages")
            m = get(raw, p, r, key + "meta_bytes")
            if a is None or not b:
                continue
            pay += a
            pages += b
            put("density.%s.%s" % (s, step), a / (b * PAGE), True)
            if m is not None:
                total += b * PAGE + m
                put("total_density.%s.%s" % (s, step),
                    a / (b * PAGE + m), True)
        if pages:
            put("density." + step, pay / (pages * PAGE), True)
        if total:
            put("total_density." + step, pay / total, True)
    full = get(raw, p, r, "fragment.full.pages")
    half = get(raw, p, r, "fragment.half.pages")
    comp = get(raw, p, r, "fragment.compact.pages")
    if None not in (full, half, comp):
        put("fragment.pages_after", comp, False)
        put("fragment.freed", half - comp, True)
        put("fragment.freed_total", full - comp, True)
        put("fragment.compact_ns", get(raw, p, r, "fragment.compact.ns"),
            False)
        pay = get(raw, p, r, "fragment.half.payload")
        if pay and comp:
            put("fragment.density_after", pay / (comp * PAGE), True)
    kb = get(raw, p, r, "zram.kb")
    for op in ("write", "read"):
        cs = get(raw, p, r, "zram.%s_cs" % op)
        if kb and cs:
            put("zram." + op, kb * 100.0 / cs, True)
    put("zram.mem_used_total", get(raw, p, r, "zram.mem_used_total"), False)
    drop = get(raw, p, r, "zram_fill.free_drop_kb")
    orig = get(raw, p, r, "zram_fill.orig_data_size")
    if drop and orig:
        put("zram_fill.free_drop_kb", drop, False)
        put("zram_fill.total_density", orig / (drop * 1024.0), True)
    pay = get(raw, p, r, "hold.payload")
    pages = get(raw, p, r, "hold.pages")
    if pay and pages:
        put("hold.density", pay / (pages * PAGE), True)
    derived_latency(raw, p, r, put)
    derived_zswap(raw, p, r, put)
    return d


# zswap figures: guest ns per page of each phase (guest/bench-lib.sh), and
# of all of them together (time): the process's CPU time, and (*_wall)
# its elapsed time; the pool's memory while it holds the whole working
# set.
ZSWAP_PHASES = {"store": ("stored",), "load": ("loaded",),
                "cycle": ("cycle_in", "cycle_out")}


def derived_zswap(raw, p, r, put):
    for clock, suffix in (("_ns", ""), ("_wall_ns", "_wall")):
        ns_all = pages_all = 0
        for name, page_keys in ZSWAP_PHASES.items():
            ns = get(raw, p, r, "zswap." + name + clock)
            pages = [get(raw, p, r, "zswap." + k) for k in page_keys]
            if ns is None or None in pages or not sum(pages):
                break
            put("zswap." + name + suffix, ns / sum(pages), False)
            ns_all += ns
            pages_all += sum(pages)
        else:
            put("zswap.time" + suffix, ns_all / pages_all, False)
    for k in ("total_bytes", "pool_total_size", "meta_bytes",
              "written_back"):
        put("zswap." + k, get(raw, p, r, "zswap." + k), False)


def derived_latency(raw, p, r, put):
    """latency: per-operation times while compaction runs (lower better)."""
    for op in LAT_OPS:
        for q in LAT_QUANTILES:
            put("lat.%s.%s" % (op, q), get(raw, p, r, "lat.%s.%s" % (op, q)),
                False)


def latency_lines(figures):
    """One zsm-bench line per latency figure that was measured."""
    for op in LAT_OPS:
        for q in LAT_QUANTILES:
            f = figures.get("lat.%s.%s" % (op, q))
            if f and "ratio" in f:
                print("zsm-bench lat.%s.%s ratio=%.3f spread=%.1f%%"
                      % (op, q, f["ratio"]["median"],
                         f["ratio"]["spread_pct"]))


def zram_fill_counted(raw, rounds):
    """Per provider: zram_fill's mem_used_total (zs_get_total_pages())
    over the free-memory drop of the fill, summarized over the rounds: the
    share of its real memory an allocator counts."""
    out = {}
    for p in PROVIDERS:
        vals = []
        for r in rounds:
            drop = get(raw, p, r, "zram_fill.free_drop_kb")
            used = get(raw, p, r, "zram_fill.mem_used_total")
            if drop and used:
                vals.append(used / (drop * 1024.0))
        if vals:
            out[p] = summarize(vals)
    return out


# === Density ceiling =======================================================
#
# What the best allocator of zsmalloc's kind could make of a density fill:
# objects of a size class share pages only with their class, and each
# object has a handle word of 8 bytes (objects move, so handles name a word
# that says where; zsmalloc's zs_handle, zsm's handle word). Everything
# else is taken to cost nothing: every class is packed into whole pages
# with no waste at a zspage's end (objects may span pages, chains are as
# long as needed), no descriptor, no reverse map, no partly used metadata.
# Two ceilings:
#   any:  the size classes chosen for this very data (the partition of its
#         distinct lengths with the fewest pages, a class being as large as
#         its largest object): no allocator of that kind does better.
#   grid: classes of zsm's slot sizes (8-byte steps up to 512, 16 above),
#         adjacent ones merged where that saves pages, as zsm merges
#         slots, and zsm's 12 bytes an object (handle and slot word).
# Each is reported as zsmalloc's measured total after the fill over the
# ceiling: the highest total_density ratio such an allocator could show.


def fill_counts(lengths, n):
    """Objects per length when n are stored by cycling through lengths,
    as zsm_bench_pool's density fill does (object k is lengths[k % nr])."""
    nr = len(lengths)
    counts = {}
    for i, ln in enumerate(lengths):
        counts[ln] = counts.get(ln, 0) + n // nr + (1 if i < n % nr else 0)
    return counts


def zsm_slot_size(size):
    """zsm_slot_size() of the slot an object of size bytes goes to."""
    if size <= 32:
        return 32
    if size <= 512:
        return 32 + 8 * -(-(size - 32) // 8)
    return 512 + 16 * -(-(size - 512) // 16)


def pages_for(nbytes):
    return -(-nbytes // PAGE)


def ceiling_pages(counts, size_of=lambda ln: ln):
    """Fewest pages of any partition of the lengths into classes, a class
    being as large as size_of() its largest length: dp[j] is the best for
    the j smallest lengths, the last class being lengths i..j."""
    d = sorted(counts)
    dp = [0] + [None] * len(d)
    for j in range(1, len(d) + 1):
        c = 0
        size = size_of(d[j - 1])
        for i in range(j, 0, -1):
            c += counts[d[i - 1]]
            v = dp[i - 1] + pages_for(c * size)
            if dp[j] is None or v < dp[j]:
                dp[j] = v
    return dp[len(d)]


def ceiling_pages_grid(counts):
    """The same with class sizes from zsm's slots (merged as zsm merges
    adjacent slots, or further)."""
    return ceiling_pages(counts, zsm_slot_size)


def density_ceilings(raw, sizes, rounds):
    """Per data set: {"any", "grid"}: zsmalloc's total memory after the
    fill over each ceiling's (first round with the set; the fill is the
    same in every round), and "zsm": zsm's measured ratio."""
    huge = next((v for (p, r, k), v in raw.items() if k == "huge_limit"),
                None)
    out = {}
    for s, lengths in sorted(sizes.items()):
        small = [ln for ln in lengths if huge is None or ln < huge]
        for r in rounds:
            key = "density.%s." % s
            n = get(raw, "upstream", r, key + "objects")
            up_p = get(raw, "upstream", r, key + "fill.pages")
            up_m = get(raw, "upstream", r, key + "fill.meta_bytes")
            zs_p = get(raw, "zsm", r, key + "fill.pool_pages")
            zs_m = get(raw, "zsm", r, key + "fill.meta_bytes")
            if None in (n, up_p, up_m) or not small:
                continue
            counts = fill_counts(small, n)
            up = up_p * PAGE + up_m
            best = ceiling_pages(counts) * PAGE + 8 * n
            grid = ceiling_pages_grid(counts) * PAGE + 12 * n
            out[s] = {"objects": n, "distinct": len(counts),
                      "any": up / best, "grid": up / grid,
                      "zsm": up / (zs_p * PAGE + zs_m)
                      if None not in (zs_p, zs_m) else None}
            break
    return out


# Workload -> the figure its headline ratio is taken from.
HEADLINE = {
    "alloc_free": "alloc_free.2cpu",
    "map": "map",                       # geometric mean of the four kinds
    "density": "density.fill",
    "total_density": "total_density.fill",
    "fragment": "fragment.pages_after",
    "zram": "zram.mem_used_total",
    "zram_fill": "zram_fill.total_density",
    "zswap": "zswap.time",
    "zswap_memory": "zswap.total_bytes",
}
# What the builtin pair measures: the zswap workload only.
HEADLINE_BUILTIN = {"zswap": "zswap.time",
                    "zswap_memory": "zswap.total_bytes"}
ZSWAP_LINES = ("zswap.store", "zswap.load", "zswap.cycle",
               "zswap.pool_total_size")


def geomean(xs):
    p = 1.0
    for x in xs:
        p *= x
    return p ** (1.0 / len(xs))


def summarize(vals):
    med = statistics.median(vals)
    spread = (max(vals) - min(vals)) / med * 100 if med else float("nan")
    return {"values": vals, "median": med, "spread_pct": spread}


def analyse(raw):
    rounds = rounds_of(raw)
    sets = sorted({k.split(".")[1] + "." + k.split(".")[2]
                   for (p, r, k) in raw if k.startswith("density.") and
                   k.endswith(".objects")})
    per = {(p, r): derived(raw, p, r, sets) for p in PROVIDERS
           for r in rounds}
    names = sorted({n for d in per.values() for n in d})
    figures = {}
    for n in names:
        f = {"higher_is_better": None, "providers": {}, "ratios": []}
        for p in PROVIDERS:
            vals = [per[(p, r)][n][0] for r in rounds if n in per[(p, r)]]
            if vals:
                f["providers"][p] = summarize(vals)
        for r in rounds:
            a, b = per[("upstream", r)].get(n), per[("zsm", r)].get(n)
            if a and b and a[0] and b[0]:
                f["higher_is_better"] = a[1]
                f["ratios"].append(b[0] / a[0] if a[1] else a[0] / b[0])
        if f["ratios"]:
            f["ratio"] = summarize(f["ratios"])
        figures[n] = f
    # map: per round the geometric mean of the four kinds' ratios.
    mr = []
    for i in range(len(rounds)):
        xs = [figures["map." + k]["ratios"][i] for k in MAP_KINDS
              if "map." + k in figures and
              len(figures["map." + k]["ratios"]) > i]
        if len(xs) == len(MAP_KINDS):
            mr.append(geomean(xs))
    if mr:
        figures["map"] = {"higher_is_better": True, "providers": {},
                          "ratios": mr, "ratio": summarize(mr)}
    return rounds, sets, figures


# === Per-class density =====================================================

# zsmalloc 6.12's struct zspage (x86-64, no lock debugging), one per zspage,
# and its handle (zs_handle cache), one per object.
UPSTREAM_ZSPAGE_BYTES = 56
UPSTREAM_HANDLE_BYTES = 8


def class_rows(lines):
    """(size, objs_inuse, pages_used, meta_bytes, pages_per_zspage) of each
    class row of a provider's debugfs classes file. meta_bytes: zsm's own
    column (descriptors and handle blocks); for zsmalloc worked out from the
    row, one handle per object and one struct zspage per zspage."""
    head, rows = None, []
    for ln in lines:
        t = ln.split()
        if not t:
            continue
        if "size" in t and "pages_used" in t:
            head = t
            continue
        if head is None or not t[0].isdigit() or len(t) != len(head):
            continue
        col = dict(zip(head, t))
        used = int(col.get("obj_used", col.get("objs_inuse")))
        size, pages = int(col["size"]), int(col["pages_used"])
        if "meta_bytes" in col:
            meta = int(col["meta_bytes"])
        elif "obj_allocated" in col:
            per = int(col["pages_per_zspage"]) * PAGE // size
            meta = (UPSTREAM_HANDLE_BYTES * used + UPSTREAM_ZSPAGE_BYTES *
                    (int(col["obj_allocated"]) // max(per, 1)))
        else:
            meta = None
        rows.append((size, used, pages, meta, int(col["pages_per_zspage"])))
    return sorted(rows)


def spanning(rows):
    """Share of the objects in use that cross a page boundary, were every
    slot of a class's zspages used alike: per class, of the slots of a
    zspage (pages_per_zspage x PAGE // size, laid end to end) those that
    start in one page and end in the next, weighted by the objects the
    class holds."""
    objs = span = 0
    for size, used, _, _, chain in rows:
        n = chain * PAGE // size
        if not used or not n:
            continue
        cross = sum(1 for i in range(n)
                    if i * size // PAGE != ((i + 1) * size - 1) // PAGE)
        objs += used
        span += used * cross / n
    return span / objs if objs else None


def per_class(hist, dbg, provider, rnd):
    """Payload, objects and pages of each of the provider's classes in the
    hold pool: objects are put in the smallest class that fits size + the
    provider's per-object header (zsmalloc: the 8-byte handle)."""
    rows = class_rows(dbg.get((provider, rnd), []))
    if not rows or not hist:
        return [], []
    hdr = 8 if provider == "upstream" else 0
    acc = {row[0]: [0, 0] for row in rows}
    for upper, (cnt, nbytes) in sorted(hist.items()):
        fit = [row[0] for row in rows if row[0] >= upper + hdr]
        if not fit:
            continue
        acc[fit[0]][0] += cnt
        acc[fit[0]][1] += nbytes
    out, mismatch = [], []
    for size, used, pages, meta, _ in rows:
        cnt, nbytes = acc[size]
        if cnt != used:
            mismatch.append({"class_size": size, "debugfs_objs": used,
                             "mapped_objs": cnt})
        if not pages:
            continue
        row = {"class_size": size, "objects": used, "pages": pages,
               "payload": nbytes,
               "density": nbytes / (pages * PAGE),
               "waste_bytes": pages * PAGE - nbytes}
        if meta is not None:
            row["meta_bytes"] = meta
            row["meta_per_object"] = meta / used if used else None
            row["total_density"] = nbytes / (pages * PAGE + meta)
        out.append(row)
    return out, mismatch


def svg_plot(classes, path):
    """Density per size class, both providers; stdlib-only SVG."""
    w, h, ml, mr, mt, mb = 900, 420, 60, 20, 30, 50
    pw, ph = w - ml - mr, h - mt - mb
    ymin, ymax = 0.5, 1.0

    def x(size):
        return ml + pw * size / PAGE

    def y(v):
        v = min(max(v, ymin), ymax)
        return mt + ph * (ymax - v) / (ymax - ymin)

    colour = {"upstream": "#d62728", "zsm": "#1f77b4"}
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="11">' % (w, h),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="18" font-size="13">Density per size class '
           '(payload / class pages x PAGE_SIZE), hold pool of all data sets'
           '</text>' % ml]
    for i in range(6):
        v = ymin + (ymax - ymin) * i / 5
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>'
                   % (ml, ml + pw, y(v), y(v)))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%d%%</text>'
                   % (ml - 5, y(v) + 4, round(v * 100)))
    for s in range(0, PAGE + 1, PAGE // 8):
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%d</text>'
                   % (x(s), mt + ph + 15, s))
    out.append('<text x="%d" y="%d" text-anchor="middle">class size '
               '(bytes)</text>' % (ml + pw / 2, h - 10))
    out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" '
               'stroke="black"/>' % (ml, mt, pw, ph))
    for k, p in enumerate(PROVIDERS):
        rows = [c for c in classes.get(p, []) if c["objects"]]
        pts = " ".join("%.1f,%.1f" % (x(c["class_size"]), y(c["density"]))
                       for c in rows)
        out.append('<polyline points="%s" fill="none" stroke="%s" '
                   'stroke-width="1"/>' % (pts, colour[p]))
        for c in rows:
            out.append('<circle cx="%.1f" cy="%.1f" r="2" fill="%s"/>'
                       % (x(c["class_size"]), y(c["density"]), colour[p]))
        out.append('<text x="%d" y="%d" fill="%s">%s</text>'
                   % (ml + 10, mt + 15 + 14 * k, colour[p], p))
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


# === Report ================================================================

def fmt(v):
    if isinstance(v, float) and v < 10:
        return "%.4f" % v
    return "%.0f" % v


def report(logpath, outdir, meta, builtin_log=None):
    """The figures of one make bench log; with builtin_log, of the pair of
    logs of --builtin (upstream's, zsm's)."""
    global PAGE
    raw, hist, dbg, data, sizes = parse_log(logpath)
    headline, jname = HEADLINE, "results.json"
    if builtin_log:
        raw.update(parse_log(builtin_log)[0])
        headline, jname = HEADLINE_BUILTIN, "builtin.json"
        logpath = [logpath, builtin_log]
    PAGE = next((v for (p, r, k), v in raw.items() if k == "page_size"),
                4096)
    rounds, sets, figures = analyse(raw)
    if not rounds:
        sys.exit("bench-run: no zsm-bench-raw lines in %s" % logpath)
    classes, checks, span = {}, {}, {}
    for p in PROVIDERS:
        classes[p], checks[p] = per_class(hist, dbg, p, rounds[0])
        span[p] = spanning(class_rows(dbg.get((p, rounds[0]), [])))
    os.makedirs(outdir, exist_ok=True)
    svg = None
    if not builtin_log:
        svg = os.path.join(outdir, "density-per-class.svg")
        svg_plot(classes, svg)

    print("%-28s %14s %14s %8s %8s" % ("figure", "upstream", "zsm",
                                       "ratio", "spread"))
    for n, f in sorted(figures.items()):
        if "ratio" not in f:
            continue
        up = f["providers"].get("upstream", {}).get("median")
        zs = f["providers"].get("zsm", {}).get("median")
        print("%-28s %14s %14s %8.3f %7.1f%%" % (
            n, fmt(up) if up is not None else "-",
            fmt(zs) if zs is not None else "-",
            f["ratio"]["median"], f["ratio"]["spread_pct"]))
    pp = {}
    for step in ("fill", "over", "compact"):
        f = figures.get("density." + step)
        if f and len(f["providers"]) == 2:
            pp[step] = 100 * (f["providers"]["zsm"]["median"] -
                              f["providers"]["upstream"]["median"])
            print("density.%-8s zsm - upstream = %+.2f percentage points"
                  % (step, pp[step]))
    for w, n in headline.items():
        f = figures.get(n)
        if f and "ratio" in f:
            print("zsm-bench %s ratio=%.3f spread=%.1f%%"
                  % (w, f["ratio"]["median"], f["ratio"]["spread_pct"]))
        else:
            print("zsm-bench %s ratio=nan spread=nan (no data)" % w)
    for n, f in sorted(figures.items()):
        if n.startswith("total_density.") and "ratio" in f:
            print("zsm-bench %s ratio=%.3f spread=%.1f%%"
                  % (n, f["ratio"]["median"], f["ratio"]["spread_pct"]))
    latency_lines(figures)
    for n in ZSWAP_LINES:
        f = figures.get(n)
        if f and "ratio" in f:
            print("zsm-bench %s ratio=%.3f spread=%.1f%%"
                  % (n, f["ratio"]["median"], f["ratio"]["spread_pct"]))
    ceilings = density_ceilings(raw, sizes, rounds)
    for n, c in ceilings.items():
        print("density ceiling %s (%d objects, %d lengths): total_density "
              "after the fill at best %.3f with any size classes, %.3f "
              "with zsm's; zsm %s"
              % (n, c["objects"], c["distinct"], c["any"], c["grid"],
                 "%.3f" % c["zsm"] if c["zsm"] else "-"))
    counted = zram_fill_counted(raw, rounds)
    for p, c in sorted(counted.items()):
        print("zram_fill %s: mem_used_total is %.1f%% of the free-memory "
              "drop (median; spread %.1f%%)"
              % (p, 100 * c["median"], c["spread_pct"]))
    if None not in span.values():
        print("spanning: hold objects across a page boundary (%d-byte "
              "pages): upstream %.1f%%, zsm %.1f%%"
              % (PAGE, 100 * span["upstream"], 100 * span["zsm"]))
    for p in PROVIDERS:
        if checks[p]:
            print("warning: %s per-class mapping differs from debugfs in "
                  "%d classes" % (p, len(checks[p])))
    res = dict(meta)
    res.update({
        "log": logpath, "page_size": PAGE, "rounds": rounds,
        "data_sets": data,
        "headline": headline, "density_pp": pp, "figures": figures,
        "raw": [{"provider": p, "round": r, "key": k, "value": v}
                for (p, r, k), v in sorted(raw.items())],
        "zram_fill_counted": counted,
        "density_ceiling": ceilings,
        "per_class": classes, "per_class_check": checks, "spanning": span,
        "size_histogram": {str(u): cb for u, cb in sorted(hist.items())},
    })
    jpath = os.path.join(outdir, jname)
    with open(jpath, "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    print("results: %s" % jpath)
    if svg:
        print("plot: %s" % svg)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kernel-dir", help="perf guest kernel directory")
    ap.add_argument("--parse", metavar="LOG", help="only read a console log")
    ap.add_argument("--builtin", nargs=2, metavar=("UPSTREAM_DIR", "ZSM_DIR"),
                    help="the zswap workload on two kernels, zsmalloc and "
                    "zsm built in")
    ap.add_argument("--parse-builtin", nargs=2, metavar=("UPSTREAM", "ZSM"),
                    help="only read the two console logs of --builtin")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--timeout", type=int, default=1140)
    ap.add_argument("--out", default=os.path.join(REPO, "bench"))
    ap.add_argument("--accel", default="icount",
                    choices=["icount", "tcg", "kvm", "auto"],
                    help="icount (default): guest time counts guest "
                    "instructions, repeatable on a loaded host; tcg: "
                    "wall-clock time under multi-threaded TCG")
    ap.add_argument("--only", metavar="W,...",
                    help="run only these workloads (alloc_free, density, "
                    "fragment, latency, hold, map, zram, zram_fill, zswap); "
                    "default all")
    args = ap.parse_args()
    t0 = time.monotonic()
    if args.parse:
        report(args.parse, args.out, {"parsed_only": True})
        return 0
    if args.parse_builtin:
        report(args.parse_builtin[0], args.out, {"parsed_only": True},
               args.parse_builtin[1])
        return 0
    if args.builtin:
        return run_builtin(args, t0)
    if not args.kernel_dir:
        ap.error("--kernel-dir or --parse is required")
    kdir = os.path.abspath(args.kernel_dir)
    arch = kernel_arch(kdir)
    tree = snapshot(arch)
    build(tree, kdir, arch)
    log, rc = boot(tree, kdir, arch, args.rounds, args.timeout, args.accel,
                   args.only)
    meta = {"kernel_dir": kdir, "kernel": os.path.basename(kdir),
            "arch": arch, "runner_status": rc, "accel": args.accel}
    if args.only:
        meta["only"] = args.only
    meta["seconds"] = round(time.monotonic() - t0)
    report(log, args.out, meta)
    print("bench-run: %d s in all" % meta["seconds"])
    return rc


def run_builtin(args, t0):
    """--builtin: a boot of each kernel, then the paired report."""
    tree = snapshot("x86_64")
    logs, meta = [], {"accel": args.accel, "kernels": [], "runner_status": []}
    for kdir in args.builtin:
        kdir = os.path.abspath(kdir)
        log, rc = boot(tree, kdir, "x86_64", args.rounds, args.timeout,
                       args.accel, None, test="zswap_bench")
        logs.append(log)
        meta["kernels"].append(os.path.basename(kdir))
        meta["runner_status"].append(rc)
    meta["seconds"] = round(time.monotonic() - t0)
    report(logs[0], args.out, meta, logs[1])
    print("bench-run: %d s in all" % meta["seconds"])
    return max(meta["runner_status"])


if __name__ == "__main__":
    sys.exit(main())
