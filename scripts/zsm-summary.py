#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Add up the results of several guest boots into one summary.

    zsm-summary.py [--json OUT] RESULTS.json...

Each RESULTS.json is what `scripts/zsm-run.py --results FILE --label L`
wrote for one boot (`make check` boots the debug guest kernel for the main
tests, then each kernel of CONSUMER_KERNELS for the consumer tests). Prints
one line per boot, one metric per guest test and kernel,

    zsm-metric kernel.<label>.<test>=pass|fail|skip

and, last, the overall "N passed, N failed[, N skipped]" over every result
of every boot. A file that is missing or unreadable (the boot never
produced results) counts as a failed result "boot.<file name>". Exit
status 0 iff nothing failed and every boot ran at least one test.

Python 3 standard library only.
"""

import argparse
import json
import os
import sys

# Pseudo-tests of every boot: counted, but not reported per kernel.
PSEUDO = ("guest.completed", "guest.kmemleak")


def load(path):
    """The results of one boot; a failed pseudo-result if there are none."""
    name = os.path.splitext(os.path.basename(path))[0]
    try:
        with open(path) as f:
            data = json.load(f)
        if not isinstance(data.get("results"), list):
            raise ValueError("no results list")
    except (OSError, ValueError) as e:
        return {"label": name, "missing": True, "seconds": 0, "log": "",
                "results": [{"name": "boot." + name, "status": "FAIL",
                             "reasons": ["no results: %s" % e]}]}
    data.setdefault("label", "")
    data["label"] = data["label"] or name
    return data


def ran_tests(boot):
    return any(r["name"].startswith("kunit.") or
               (r["name"].startswith("guest.") and r["name"] not in PSEUDO
                and r.get("reasons") != ["did not run"])
               for r in boot["results"])


def counts(results):
    n = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    for r in results:
        n[r["status"]] = n.get(r["status"], 0) + 1
    return n


def line(n):
    s = "%d passed, %d failed" % (n["PASS"], n["FAIL"])
    if n["SKIP"]:
        s += ", %d skipped" % n["SKIP"]
    return s


def summarize(boots, out=sys.stdout):
    """Print the summary of the boots; return the exit status."""
    total = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    ok = True
    print("--- %d guest boot(s) ---" % len(boots), file=out)
    for b in boots:
        n = counts(b["results"])
        for k in total:
            total[k] += n[k]
        if not ran_tests(b):
            ok = False
        print("%-12s %-32s %4d s  %s" % (b["label"], line(n),
                                         b.get("seconds", 0),
                                         b.get("log", "")), file=out)
    for b in boots:
        for r in b["results"]:
            name = r["name"]
            if name.startswith("guest.") and name not in PSEUDO:
                print("zsm-metric kernel.%s.%s=%s"
                      % (b["label"], name[len("guest."):],
                         r["status"].lower()), file=out)
    for b in boots:
        for r in b["results"]:
            if r["status"] == "FAIL":
                why = "; ".join(r.get("reasons") or [])[:300]
                print("FAIL %s: %s%s" % (b["label"], r["name"],
                                         "  -- " + why if why else ""),
                      file=out)
    print(line(total), file=out)
    out.flush()
    return 0 if ok and total["FAIL"] == 0 else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results", nargs="+", metavar="RESULTS.json")
    ap.add_argument("--json", help="write the combined results here")
    args = ap.parse_args()
    boots = [load(p) for p in args.results]
    rc = summarize(boots)
    if args.json:
        total = counts([r for b in boots for r in b["results"]])
        with open(args.json, "w") as f:
            json.dump({"summary": line(total), "passed": total["PASS"],
                       "failed": total["FAIL"], "skipped": total["SKIP"],
                       "boots": boots}, f, indent=2)
            f.write("\n")
    return rc


if __name__ == "__main__":
    sys.exit(main())
