#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Model of pool density: zsmalloc 6.12 against zsm, on real object sizes.

Reads compressed sizes (one integer per line, e.g. lz4 sizes of the 4 KiB
pages of real files), fills each allocator's size classes with a sample of
N of them in allocation order (no frees), and prints

    payload bytes / (pool pages * PAGE_SIZE)

for objects below zsmalloc's huge class. Only class geometry is modelled:
zsmalloc rounds size + 8 (its in-object handle) to 16 bytes and merges
classes of equal shape; zsm rounds size to 8 bytes up to 512 and to 16
above, and its zspages are
either populated whole (eager) or page by page as objects reach into them
(lazy, what zsm does). A class's last zspage is partly used, which is what
separates the columns at moderate N.

    scripts/density-model.py SIZES [--n 2000,16000,64000] [--chain 8]

No kernel is involved; `make bench` measures the real pools in a guest.
"""

import argparse
import math
import random

PAGE = 4096


def upstream_table(chain):
    """zsmalloc 6.12: best used% per class, merge equal shapes from the top."""
    geo = []
    for i in range((PAGE - 32 + 15) // 16 + 1):
        size = min(PAGE, 32 + i * 16)
        best_used, best_pages = 0, 1
        for pages in range(1, chain + 1):
            span = pages * PAGE
            used = (span - span % size) * 100 // span
            if used > best_used:
                best_used, best_pages = used, pages
        geo.append((size, best_pages, best_pages * PAGE // size))
    index = [0] * len(geo)
    prev = None
    for i in range(len(geo) - 1, -1, -1):
        if prev is not None and geo[prev][1:] == geo[i][1:]:
            index[i] = prev
        else:
            index[i] = prev = i
    huge = next(s for s, p, o in geo if p == 1 and o == 1) - 7
    return geo, index, huge, upstream_slot


def zsm_slot_size(i):
    """zsm_slot_size(): 8-byte steps up to 512 (slot 60), then 16."""
    return min(PAGE, 32 + 8 * i if i <= 60 else 512 + 16 * (i - 60))


def zsm_slot(size):
    if size <= 32:
        return 0
    if size <= 512:
        return (size - 32 + 7) // 8
    return 60 + (size - 512 + 15) // 16


# sizeof(struct zsm_zspage) on x86-64 without lockdep: the descriptor's
# fixed part, which zsm's chain length pick weighs.
ZSM_DESC_FIXED = 80


def zsm_chain_bytes(pages, objs):
    # The descriptor is a slab object, rounded up to 8 bytes.
    return pages * PAGE + (ZSM_DESC_FIXED + 8 * pages + 4 * objs + 7) // 8 * 8


def zsm_table(chain, max_objs=448):
    """zsm_class_table_init(): huge from the first slot one object a page
    at every chain length; below, the fewest bytes per object (pages and
    descriptor); merge equal shapes below huge."""
    geo, first_huge = [], None
    for i in range(zsm_slot(PAGE) + 1):
        size = zsm_slot_size(i)
        if first_huge is None and \
                all(n * PAGE // size == n for n in range(1, chain + 1)):
            first_huge = i
        best_pages, best_objs = 1, PAGE // size
        for pages in range(2, chain + 1):
            objs = pages * PAGE // size
            if objs > max_objs:
                break
            if objs * zsm_chain_bytes(best_pages, best_objs) > \
                    best_objs * zsm_chain_bytes(pages, objs):
                best_pages, best_objs = pages, objs
        if first_huge is not None:
            best_pages, best_objs = 1, 1
        geo.append((size, best_pages, best_objs))
    index = list(range(len(geo)))
    for i in range(first_huge - 2, -1, -1):
        if geo[i][1:] == geo[i + 1][1:]:
            index[i] = index[i + 1]
    return geo, index, geo[first_huge - 1][0] + 1, zsm_slot


def upstream_slot(size):
    return 0 if size <= 32 else (size - 32 + 15) // 16


def density(sizes, table, header, lazy):
    geo, index, huge, slot = table
    count, payload = {}, 0
    for s in sizes:
        if s + header >= huge:
            continue
        g = geo[index[slot(s + header)]]
        count[g] = count.get(g, 0) + 1
        payload += s
    pages = 0
    for (size, per, objs), n in count.items():
        pages += n // objs * per
        if n % objs:
            pages += math.ceil(n % objs * size / PAGE) if lazy else per
    return payload / (pages * PAGE)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sizes", help="file of compressed sizes, one per line")
    ap.add_argument("--n", default="2000,16000,64000")
    ap.add_argument("--chain", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    with open(args.sizes) as f:
        sizes = [int(x) for x in f if x.strip() and int(x) <= PAGE]
    # Only objects below zsmalloc's huge class, for both allocators.
    up = upstream_table(8)
    sizes = [s for s in sizes if s + 8 < up[2]]
    rng = random.Random(args.seed)
    zsm = zsm_table(args.chain)
    print("%8s %9s %9s %9s" % ("N", "zsmalloc", "zsm-eager", "zsm-lazy"))
    for n in (int(x) for x in args.n.split(",")):
        sample = rng.sample(sizes, min(n, len(sizes)))
        print("%8d %8.2f%% %8.2f%% %8.2f%%" % (
            len(sample), 100 * density(sample, up, 8, False),
            100 * density(sample, zsm, 0, False),
            100 * density(sample, zsm, 0, True)))


if __name__ == "__main__":
    main()
