#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Self-tests of the guest test runner (make check-runner).

Boots guests with planted failures (guest/selftest/*.sh, tests/selftest/*.ko)
and checks that scripts/zsm-run.py reports each one as it should, and exits
non-zero:

  boot "planted": one guest, independent scenarios in sequence
    pass          a passing script                   -> PASS
    skip          exit 77                            -> SKIP
    fail          exit 3                             -> FAIL
    kunit-fail    a KUnit suite with a failing case  -> that case FAIL,
                  the passing and parameterised cases PASS
    warn          WARN_ON(1) outside a fence         -> FAIL
    fence-warn    the same WARN inside a fence       -> PASS
    fence-nowarn  a fence with no warning            -> FAIL "did not occur"
    leak          a leaked kmalloc()                 -> kmemleak FAIL
  boot "hang": a script that sleeps forever, short timeout
    -> the test FAIL, later tests "did not run", guest.completed FAIL,
       QEMU killed at the timeout

Prints one line per check and ends with "N passed, N failed".
"""

import argparse
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "zsm-run.py")
RESULT_RE = re.compile(r"^(PASS|FAIL|SKIP) (\S+)(?:  -- (.*))?$")

PLANTED_TESTS = ["pass", "skip", "fail", "kunit-fail", "warn", "fence-warn",
                 "fence-nowarn", "leak"]
PLANTED_EXPECT = {
    "guest.pass": ("PASS", None),
    "guest.skip": ("SKIP", None),
    "guest.fail": ("FAIL", "test reported fail"),
    "kunit.zsm_selftest.zsm_selftest_passes": ("PASS", None),
    "kunit.zsm_selftest.zsm_selftest_fails": ("FAIL", "EXPECTATION FAILED"),
    "kunit.zsm_selftest.zsm_selftest_params": ("PASS", None),
    "guest.kunit-fail": ("FAIL", "test reported fail"),
    "guest.warn": ("FAIL", "WARNING: CPU:"),
    "guest.fence-warn": ("PASS", None),
    "guest.fence-nowarn": ("FAIL",
                           "expected warning selftest-nowarn did not occur"),
    "guest.leak": ("PASS", None),
    "guest.kmemleak": ("FAIL", "unreferenced object"),
    "guest.completed": ("PASS", None),
}
PLANTED_SUMMARY = "6 passed, 6 failed, 1 skipped"

HANG_TESTS = ["pass", "hang", "skip"]
HANG_EXPECT = {
    "guest.pass": ("PASS", None),
    "guest.hang": ("FAIL", "hung (runner timeout)"),
    "guest.skip": ("FAIL", "did not run"),
    "guest.completed": ("FAIL", "runner timeout"),
}


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("PASS selftest.%s" % name, flush=True)
        else:
            self.failed += 1
            print("FAIL selftest.%s  -- %s" % (name, detail), flush=True)


def run(kernel_dir, tests, timeout, extra=()):
    cmd = [sys.executable, RUNNER, "--kernel-dir", kernel_dir,
           "--mode", "selftest", "--tests", ",".join(tests),
           "--timeout", str(timeout)] + list(extra)
    print("check-runner: %s" % " ".join(cmd), flush=True)
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    secs = time.monotonic() - t0
    lines = p.stdout.splitlines()
    for line in lines:
        print("  | " + line)
    results = {}
    for line in lines:
        m = RESULT_RE.match(line)
        if m:
            results[m.group(2)] = (m.group(1), m.group(3) or "")
    return p.returncode, lines, results, secs


def expect(c, scenario, results, table):
    for name, (status, reason) in table.items():
        got = results.get(name)
        if got is None:
            c.check("%s.%s" % (scenario, name), False, "no result line")
            continue
        ok = got[0] == status and (reason is None or reason in got[1])
        c.check("%s.%s" % (scenario, name), ok,
                "want %s%s, got %s %s" % (status, reason and
                                          " (%s)" % reason or "",
                                          got[0], got[1]))
    extra = sorted(set(results) - set(table))
    c.check("%s.no-unexpected-results" % scenario, not extra,
            "unexpected: %s" % ", ".join(extra))


def planted(c, kernel_dir, timeout):
    rc, lines, results, _ = run(kernel_dir, PLANTED_TESTS, timeout)
    c.check("planted.exit-status", rc == 1, "exit status %d" % rc)
    expect(c, "planted", results, PLANTED_EXPECT)
    last = lines[-1] if lines else ""
    c.check("planted.summary", last == PLANTED_SUMMARY,
            "last line %r, want %r" % (last, PLANTED_SUMMARY))


def hang(c, kernel_dir, timeout):
    rc, lines, results, secs = run(kernel_dir, HANG_TESTS, timeout)
    c.check("hang.exit-status", rc == 1, "exit status %d" % rc)
    expect(c, "hang", results, HANG_EXPECT)
    c.check("hang.killed-at-timeout", timeout <= secs < timeout + 120,
            "runner took %.0f s with timeout %d s" % (secs, timeout))
    last = lines[-1] if lines else ""
    c.check("hang.summary", last == "1 passed, 3 failed",
            "last line %r" % last)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kernel-dir", required=True)
    ap.add_argument("--timeout", type=int, default=1200,
                    help="timeout of the planted-failures boot")
    ap.add_argument("--hang-timeout", type=int, default=180,
                    help="timeout of the hang boot (must cover the boot)")
    ap.add_argument("--only", choices=["planted", "hang"])
    args = ap.parse_args()

    c = Checks()
    if args.only in (None, "planted"):
        planted(c, args.kernel_dir, args.timeout)
    if args.only in (None, "hang"):
        hang(c, args.kernel_dir, args.hang_timeout)
    print("%d passed, %d failed" % (c.passed, c.failed))
    return 0 if c.failed == 0 and c.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
