#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""zsm guest test runner.

Boots a guest kernel under QEMU with an initramfs holding our modules and the
guest test scripts, captures the serial console to a log, and turns the log
into results:

    PASS|FAIL|SKIP <name>[  -- <reason>]
    ...
    N passed, N failed[, N skipped]

Result names:
    kunit.<suite>.<case>  every KUnit case (parameterised cases count once)
    guest.<test>          every guest test script (zsm-test-begin/-end)
    guest.kmemleak        the kmemleak scan at the end of the run
    guest.completed       the guest reached zsm-guest-done
    kernel.splat          kernel splats outside any test window

Exit status 0 iff nothing failed and at least one test or KUnit case ran.

    zsm-run.py --kernel-dir DIR [--mode check] [--tests a,b] [--timeout S]
               [--arch x86_64|arm64]
    zsm-run.py --parse LOG [--tests a,b]

Python 3 standard library only. The protocol and the splat rules are
described in Documentation/testing.rst and at the top of guest/init.
"""

import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODE_DIRS = {"check": "tests", "demo": "demo", "selftest": "selftest"}

# === Log parsing ===========================================================

# printk prefix: "[    1.234567] ", optionally followed by a caller id.
TS_RE = re.compile(r"^\[\s*\d+\.\d+\](?:\[\s*[CT]\d+\])? ?")

BEGIN_RE = re.compile(r"zsm-test-begin (\S+)")
END_RE = re.compile(r"zsm-test-end (\S+) (pass|fail|skip)\b")
FENCE_BEGIN_RE = re.compile(r"zsm-expect-warn-begin (\S+)")
FENCE_END_RE = re.compile(r"zsm-expect-warn-end (\S+)")
OOM_BEGIN_RE = re.compile(r"zsm-expect-oom-begin (\S+)")
OOM_END_RE = re.compile(r"zsm-expect-oom-end (\S+)")
METRIC_RE = re.compile(r"zsm-metric ([^\s=]+)=(\S+)")
START_RE = re.compile(r"zsm-guest-start mode=(\S*) tests=(\S*)")
DONE_RE = re.compile(r"zsm-guest-done")
TIMEOUT_RE = re.compile(r"zsm-runner: timeout")

# KTAP as KUnit prints it: suite header and plan at indent 4, case results
# at indent 4, parameter results at indent 8, suite results at indent 0.
KTAP_SUITE_RE = re.compile(r"^    # Subtest: (\S+)")
KTAP_PLAN_RE = re.compile(r"^    1\.\.(\d+)")
KTAP_CASE_RE = re.compile(r"^    (not ok|ok) \d+ (\S+)(.*)$")
KTAP_SUITE_END_RE = re.compile(r"^(not ok|ok) \d+ (\S+)(.*)$")
KTAP_DIAG_RE = re.compile(r"^\s{4,}# (.*)$")
SKIP_RE = re.compile(r"#\s*SKIP\b", re.IGNORECASE)

# A WARN()/WARN_ON() report: the only splat an expected-warning fence
# tolerates, from this line to "---[ end trace". Up to 6.x
# "WARNING: CPU: 1 PID: 80 at file:line fn", from 7.x
# "WARNING: file:line at fn, CPU#1: comm/80".
WARN_RE = re.compile(r"WARNING: (?:CPU: \d+ PID: \d+ at "
                     r"|\S+:\d+ at .+, CPU#\d+: )")
END_TRACE_RE = re.compile(r"---\[ end trace")

# Reports that an expected-OOM fence tolerates (with the stack dump that
# follows them): the OOM killer's and the page allocator's. Outside such a
# fence they are splats ("oom", "alloc-failure" below).
OOM_REPORT_RE = re.compile(r"invoked oom-killer:|page allocation failure")

# Every other report fails the test it occurs in. Checked in order; the
# first match names the splat. Lockdep reports also begin with "WARNING:",
# so they come before the generic WARNING: rule.
SPLAT_RULES = [
    ("lockdep", re.compile(r"possible circular locking|possible recursive "
                           r"locking|inconsistent lock state")),
    ("kasan", re.compile(r"KASAN:")),
    ("bug", re.compile(r"\bBUG:")),
    ("warning", re.compile(r"\bWARNING:")),
    ("oops", re.compile(r"\bOops\b")),
    ("panic", re.compile(r"Kernel panic")),
    ("gpf", re.compile(r"general protection fault")),
    ("info", re.compile(r"\bINFO: ")),
    ("kmemleak", re.compile(r"unreferenced object 0x")),
    ("ubsan", re.compile(r"UBSAN:")),
    ("list", re.compile(r"list_(?:add|del) corruption")),
    ("bad-page", re.compile(r"[Bb]ad page")),
    ("atomic-sleep", re.compile(r"sleeping function called from invalid "
                                r"context")),
    ("rcu-stall", re.compile(r"RCU stall|rcu_\w+ detected stall|"
                             r"detected stalls on CPUs")),
    ("soft-lockup", re.compile(r"soft lockup")),
    ("hung-task", re.compile(r"hung task|blocked for more than \d+ second")),
    ("oom", re.compile(r"invoked oom-killer:")),
    ("alloc-failure", re.compile(r"page allocation failure")),
    # x86 prints "Call Trace:", arm64 "Call trace:".
    ("call-trace", re.compile(r"Call [Tt]race:")),
]

# KCSAN reports (the kcsan guest flavour, make check-kcsan): from the
# "BUG: KCSAN:" line to the "=====" line that closes the report. A report
# fails the test it occurs in (or the run, outside any test) when one of
# the two racing accesses is zsm's: its title names a zs_*/zsm_* function,
# or a frame of an access's stack is one of our modules ("[zsm]",
# "[zsm_test_stress]", ...) or a zs_*/zsm_* function (built in, or inlined
# into a caller), upstream zsmalloc's ("[zsmalloc]") excepted. Only the
# frames of the access itself count: an access made in an interrupt stops
# at the interrupt entry (the frames below it are the interrupted code,
# which took no part in the race), and the "locks held" listing is no
# stack. Other reports are data races in the kernel itself: listed ("KCSAN
# outside zsm" in the results), not failures, since KCSAN's strict mode
# reports many races the kernel tolerates on purpose.
KCSAN_BEGIN_RE = re.compile(r"BUG: KCSAN: (.*)")
KCSAN_END_RE = re.compile(r"^={20,}\s*$")
KCSAN_ZSM_RE = re.compile(r"\[zsm(?!alloc\])\w*\]|\bzsm?_\w+\+0x|"
                          r"data-race in (?:.* )?zsm?_\w+")
KCSAN_ZSMALLOC_RE = re.compile(r"\[zsmalloc\]")
# The line that opens one access's stack, and the frames that end it.
KCSAN_ACCESS_RE = re.compile(r"^(read|write)\b.* to 0x[0-9a-f]+ of \d+ bytes by ")
KCSAN_IRQ_ENTRY_RE = re.compile(r"^\s*(asm_\w+|\w*sysvec_\w+|irq_exit\w*|"
                                r"__do_softirq|handle_softirqs)\+0x")
# Lines a report may have; a longer one is closed there (a lost end line).
KCSAN_MAX_LINES = 150

# Fault injection (failslab, fail_page_alloc) prints a stack trace on
# purpose; the trace and allocation-failure report right after it are not
# splats.
FAULT_INJECTION_RE = re.compile(r"FAULT_INJECTION: forcing a failure")

# How many lines after a report header its "Call Trace:" may follow and
# still belong to it.
TRACE_WINDOW = 80


class Result:
    """One reported result."""

    def __init__(self, name, status, reasons=None, line=None, begin=None):
        self.name = name
        self.status = status            # "PASS", "FAIL" or "SKIP"
        self.reasons = list(reasons or [])
        self.line = line                # log line number where it ended
        self.begin = begin              # guest tests: where it began

    def __repr__(self):
        return "Result(%r, %r, %r)" % (self.name, self.status, self.reasons)

    def as_dict(self):
        return {"name": self.name, "status": self.status,
                "reasons": self.reasons, "line": self.line,
                "begin": self.begin}


class GuestTest:
    """An open zsm-test-begin/-end window."""

    def __init__(self, name, line):
        self.name = name
        self.begin = line
        self.reasons = []
        self.fences = []                # [tag, warnings seen]
        self.oom_fences = []            # tags of open expected-OOM fences


class Suite:
    """A KUnit suite being printed."""

    def __init__(self, name):
        self.name = name
        self.planned = None
        self.cases = 0
        self.diag = []                  # "# ..." lines since the last case
        self.splats = []                # splats since the last case


class LogParser:
    """Turns a guest console log into results. Feed lines in order."""

    def __init__(self, expected_tests=None):
        self.expected = list(expected_tests or [])
        self.results = []
        self.metrics = {}
        self.mode = None
        self.started = False
        self.done = False
        self.timed_out = False
        self.panicked = False
        self.outside = []               # splats outside any test window
        self.test = None
        self.seen_tests = []
        self.suite = None
        self.lineno = 0
        self.last_header = -TRACE_WINDOW - 1
        self.in_warn = False            # inside a tolerated WARN report
        self.fault_injected = -TRACE_WINDOW - 1
        self.kcsan = None               # open KCSAN report: [line, header,
                                        #  zsm frame seen, lines]
        self.kcsan_foreign = []         # KCSAN reports outside zsm

    # --- Results -----------------------------------------------------

    def add(self, name, status, reasons=None, begin=None):
        self.results.append(Result(name, status, reasons, self.lineno, begin))

    def fail_current(self, reason):
        if self.suite:
            self.suite.splats.append(reason)
        if self.test:
            self.test.reasons.append(reason)
        else:
            self.outside.append(reason)

    # --- KUnit -------------------------------------------------------

    def end_suite(self, status=None, rest=""):
        s = self.suite
        self.suite = None
        if s is None:
            return
        if s.planned is not None and s.cases < s.planned:
            self.add("kunit.%s" % s.name, "FAIL",
                     ["only %d of %d cases reported (crash or hang?)"
                      % (s.cases, s.planned)])
        elif status == "not ok" and s.cases == 0:
            self.add("kunit.%s" % s.name, "FAIL", ["suite failed" + rest])
        elif status is None:
            self.add("kunit.%s" % s.name, "FAIL", ["suite did not finish"])

    def ktap(self, text):
        m = KTAP_SUITE_RE.match(text)
        if m:
            self.end_suite()
            self.suite = Suite(m.group(1))
            return True
        m = KTAP_SUITE_END_RE.match(text)
        if m:
            status, name, rest = m.groups()
            if self.suite and self.suite.name == name:
                self.end_suite(status, rest)
            elif status == "not ok":
                # No header: the suite failed before its cases ran
                # (suite_init error).
                self.end_suite()
                self.add("kunit.%s" % name, "FAIL",
                         ["suite failed" + rest.rstrip()])
            return True
        if not self.suite:
            return False
        m = KTAP_PLAN_RE.match(text)
        if m and self.suite.planned is None:
            self.suite.planned = int(m.group(1))
            return True
        m = KTAP_CASE_RE.match(text)
        if m:
            status, case, rest = m.groups()
            name = "kunit.%s.%s" % (self.suite.name, case)
            self.suite.cases += 1
            if SKIP_RE.search(rest):
                self.add(name, "SKIP", [rest.strip().lstrip("#").strip()])
            elif status == "ok":
                self.add(name, "PASS")
            else:
                why = [d for d in self.suite.diag if "FAILED" in d]
                why = (why or self.suite.diag)[:3] + self.suite.splats
                self.add(name, "FAIL", why)
            if self.suite.splats and status == "ok":
                self.results[-1].status = "FAIL"
                self.results[-1].reasons = self.suite.splats
            self.suite.diag = []
            self.suite.splats = []
            return True
        m = KTAP_DIAG_RE.match(text)
        if m:
            self.suite.diag.append(m.group(1).strip())
        return False

    # --- Guest test windows -----------------------------------------

    def begin_test(self, name):
        if self.test:
            self.test.reasons.append("no end marker before the next test")
            self.close_test(None)
        self.test = GuestTest(name, self.lineno)
        self.seen_tests.append(name)

    def close_test(self, status):
        t = self.test
        self.test = None
        if self.suite:
            self.end_suite()
        for tag, count in t.fences:
            t.reasons.append("expected-warning fence %s not closed" % tag)
        for tag in t.oom_fences:
            t.reasons.append("expected-OOM fence %s not closed" % tag)
        if status == "fail":
            t.reasons.insert(0, "test reported fail")
        if status is None:
            st = "FAIL"
        elif t.reasons:
            st = "FAIL"
        else:
            st = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}[status]
        self.add("guest.%s" % t.name, st, t.reasons, t.begin)

    def fence_begin(self, tag):
        if not self.test:
            self.outside.append("expected-warning fence %s outside a test"
                                % tag)
            return
        self.test.fences.append([tag, 0])

    def fence_end(self, tag):
        if not self.test:
            return
        for i, (t, count) in enumerate(self.test.fences):
            if t == tag:
                del self.test.fences[i]
                if count == 0:
                    self.test.reasons.append(
                        "expected warning %s did not occur" % tag)
                return
        self.test.reasons.append("fence end %s without begin" % tag)

    def oom_fence_begin(self, tag):
        if not self.test:
            self.outside.append("expected-OOM fence %s outside a test" % tag)
            return
        self.test.oom_fences.append(tag)

    def oom_fence_end(self, tag):
        if not self.test:
            return
        if tag in self.test.oom_fences:
            self.test.oom_fences.remove(tag)
        else:
            self.test.reasons.append("OOM fence end %s without begin" % tag)

    # --- KCSAN --------------------------------------------------------

    def kcsan_line(self, text):
        """Feed a kernel line to an open KCSAN report, or open one.
        True if the line belongs to a report."""
        if self.kcsan is None:
            m = KCSAN_BEGIN_RE.search(text)
            if not m:
                return False
            # [line, header, zsm's, lines, in an access stack]
            self.kcsan = [self.lineno, m.group(1).strip(),
                          bool(KCSAN_ZSM_RE.search(text)) and
                          not KCSAN_ZSMALLOC_RE.search(text), 1, False]
            return True
        k = self.kcsan
        k[3] += 1
        if KCSAN_ACCESS_RE.match(text.strip()):
            k[4] = True
        elif not text.strip() or KCSAN_IRQ_ENTRY_RE.match(text):
            k[4] = False
        elif (k[4] and KCSAN_ZSM_RE.search(text) and
              not KCSAN_ZSMALLOC_RE.search(text)):
            k[2] = True
        if KCSAN_END_RE.match(text.strip()) or k[3] > KCSAN_MAX_LINES:
            self.kcsan_close()
        return True

    def kcsan_close(self):
        line, header, zsm, _, _ = self.kcsan
        self.kcsan = None
        if zsm:
            self.fail_current("line %d: KCSAN in zsm: %s" % (line, header))
        else:
            where = self.test.name if self.test else "outside tests"
            self.kcsan_foreign.append("line %d (%s): %s"
                                      % (line, where, header))

    # --- Splats -------------------------------------------------------

    def splat(self, text):
        """Classify one kernel line; record it if it is a splat."""
        if FAULT_INJECTION_RE.search(text):
            self.fault_injected = self.lineno
            return
        if END_TRACE_RE.search(text):
            self.in_warn = False
            return
        if (self.test and self.test.oom_fences and
                OOM_REPORT_RE.search(text)):
            # Tolerated; its "Call Trace:" follows within TRACE_WINDOW.
            self.last_header = self.lineno
            self.in_warn = False
            return
        if WARN_RE.search(text):
            self.last_header = self.lineno
            if self.test and self.test.fences:
                self.test.fences[-1][1] += 1
                self.in_warn = True
                return
            self.in_warn = False
            self.fail_current("line %d: %s" % (self.lineno, text.strip()))
            return
        for kind, rx in SPLAT_RULES:
            if not rx.search(text):
                continue
            near_header = self.lineno - self.last_header <= TRACE_WINDOW
            near_fault = self.lineno - self.fault_injected <= TRACE_WINDOW
            if kind == "call-trace" and (near_header or near_fault or
                                         self.in_warn):
                return
            if kind == "alloc-failure" and near_fault:
                return
            if kind == "panic":
                self.panicked = True
            self.last_header = self.lineno
            self.fail_current("line %d: %s" % (self.lineno, text.strip()))
            return

    # --- Driver -------------------------------------------------------

    def feed(self, raw):
        self.lineno += 1
        line = raw.rstrip("\r\n").replace("\r", "")
        m = TS_RE.match(line)
        kernel = m is not None
        text = line[m.end():] if m else line

        m = METRIC_RE.search(text)
        if m:
            self.metrics[m.group(1)] = parse_value(m.group(2))
        m = START_RE.search(text)
        if m:
            self.started = True
            self.mode = m.group(1)
            if not self.expected and m.group(2):
                self.expected = m.group(2).split(",")
            return
        m = BEGIN_RE.search(text)
        if m:
            self.begin_test(m.group(1))
            return
        m = END_RE.search(text)
        if m:
            if self.test and self.test.name == m.group(1):
                self.close_test(m.group(2))
            else:
                self.outside.append("line %d: end marker for %s outside "
                                    "its window" % (self.lineno, m.group(1)))
            return
        m = FENCE_BEGIN_RE.search(text)
        if m:
            self.fence_begin(m.group(1))
            return
        m = FENCE_END_RE.search(text)
        if m:
            self.fence_end(m.group(1))
            return
        m = OOM_BEGIN_RE.search(text)
        if m:
            self.oom_fence_begin(m.group(1))
            return
        m = OOM_END_RE.search(text)
        if m:
            self.oom_fence_end(m.group(1))
            return
        if DONE_RE.search(text):
            self.done = True
            return
        if TIMEOUT_RE.search(text):
            self.timed_out = True
            return
        if kernel and self.ktap(text):
            return
        if kernel and self.kcsan_line(text):
            return
        if kernel or not text.startswith("zsm-"):
            self.splat(text)

    def finish(self):
        """End of log: close what is open, add the synthetic results."""
        if self.kcsan:
            self.kcsan_close()
        if self.test:
            why = "no end marker: the guest "
            if self.timed_out:
                why += "hung (runner timeout) during this test"
            elif self.panicked:
                why += "panicked during this test"
            else:
                why += "stopped during this test"
            self.test.reasons.append(why)
            self.close_test(None)
        if self.suite:
            self.end_suite()
        for name in self.expected:
            if name not in self.seen_tests:
                self.add("guest.%s" % name, "FAIL", ["did not run"])
        if self.done:
            self.add("guest.completed", "PASS")
        else:
            if self.timed_out:
                why = "runner timeout: guest hung"
            elif self.panicked:
                why = "kernel panic"
            elif not self.started:
                why = "guest never started the tests (boot failure?)"
            else:
                why = "guest stopped before zsm-guest-done"
            self.add("guest.completed", "FAIL", [why])
        if self.outside:
            self.add("kernel.splat", "FAIL", self.outside)
        return self.results


def parse_value(s):
    for conv in (int, float):
        try:
            return conv(s)
        except ValueError:
            pass
    return s


def parse_lines(lines, expected_tests=None):
    p = LogParser(expected_tests)
    for line in lines:
        p.feed(line)
    p.finish()
    return p


def parse_file(path, expected_tests=None):
    with open(path, encoding="utf-8", errors="replace") as f:
        return parse_lines(f, expected_tests)


# === Report ================================================================

def summary(results):
    n = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    for r in results:
        n[r.status] += 1
    s = "%d passed, %d failed" % (n["PASS"], n["FAIL"])
    if n["SKIP"]:
        s += ", %d skipped" % n["SKIP"]
    return n, s


def ran_something(results):
    return any(r.name.startswith("kunit.") or
               (r.name.startswith("guest.") and
                r.name not in ("guest.completed", "guest.kmemleak") and
                r.reasons != ["did not run"])
               for r in results)


def report(parser, out=sys.stdout, part=None):
    """Print the results; return the exit status. With part (a label), the
    run is one of several that scripts/zsm-summary.py adds up: the last line
    is then "<part>: N passed, N failed", not the overall summary."""
    results = parser.results
    if parser.metrics:
        print("--- metrics ---", file=out)
        for k, v in parser.metrics.items():
            print("zsm-metric %s=%s" % (k, v), file=out)
        print("---", file=out)
    if parser.kcsan_foreign:
        print("--- KCSAN outside zsm (listed, not failures) ---", file=out)
        for k in parser.kcsan_foreign:
            print(k, file=out)
        print("---", file=out)
    for r in results:
        line = "%s %s" % (r.status, r.name)
        if r.status != "PASS" and r.reasons:
            line += "  -- " + "; ".join(r.reasons[:4])
            if len(r.reasons) > 4:
                line += "; (+%d more)" % (len(r.reasons) - 4)
        print(line, file=out)
    n, s = summary(results)
    print("%s: %s" % (part, s) if part else s, file=out)
    out.flush()
    return 0 if n["FAIL"] == 0 and ran_something(results) else 1


def write_json(parser, path, extra=None):
    n, s = summary(parser.results)
    data = {"summary": s, "passed": n["PASS"], "failed": n["FAIL"],
            "skipped": n["SKIP"], "metrics": parser.metrics,
            "kcsan_foreign": parser.kcsan_foreign,
            "results": [r.as_dict() for r in parser.results]}
    data.update(extra or {})
    with open(path, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")


# === Guest =================================================================

def log(msg):
    print("zsm-run: %s" % msg, file=sys.stderr, flush=True)


def cache_dir():
    c = os.environ.get("ZSM_CACHE")
    if not c:
        base = os.environ.get("XDG_CACHE_HOME") or \
            os.path.join(os.path.expanduser("~"), ".cache")
        c = os.path.join(base, "zsm")
    os.makedirs(c, exist_ok=True)
    return c


def guest_tests(mode):
    d = os.path.join(REPO, "guest", MODE_DIRS[mode])
    return sorted(f[:-3] for f in os.listdir(d) if f.endswith(".sh"))


# A test script may name the guest it needs in a line
#     # zsm-run: --mem 256 --disk 256 --data
# (only these options; see directive_parser). Such a test runs in a boot of
# its own: it is left out of the default test list and must be named with
# --tests (scripts/stock-kernel.sh does, for the consumer tests). The boot
# gets the largest --disk, and --data, that any named test asks for; tests
# that state --mem must agree. Options given on the command line win.
DIRECTIVE_RE = re.compile(r"^#\s*zsm-run:(.*)$", re.MULTILINE)


def directive_parser():
    ap = argparse.ArgumentParser(prog="# zsm-run:", add_help=False)
    ap.add_argument("--mem", type=int, help="guest MiB")
    ap.add_argument("--disk", type=int, default=0,
                    help="MiB of an empty virtio disk (/dev/vda)")
    ap.add_argument("--data", action="store_true",
                    help="mke2fs and the test data tree in the initramfs")
    return ap


def test_directive(path):
    """The options of a script's `# zsm-run:` line, or None."""
    with open(path, encoding="utf-8", errors="replace") as f:
        m = DIRECTIVE_RE.search(f.read())
    if not m:
        return None
    try:
        return directive_parser().parse_args(m.group(1).split())
    except SystemExit:
        raise ValueError("%s: bad line: # zsm-run:%s" % (path, m.group(1)))


def guest_needs(mode, tests):
    """(mem, disk, data) that the named tests' directives ask for; mem is
    None when none states it. ValueError when they disagree on mem."""
    d = os.path.join(REPO, "guest", MODE_DIRS[mode])
    mem, disk, data, who = None, 0, False, None
    for t in tests:
        o = test_directive(os.path.join(d, t + ".sh"))
        if o is None:
            continue
        if o.mem is not None:
            if mem is not None and o.mem != mem:
                raise ValueError("tests %s and %s want --mem %d and %d: "
                                 "boot them separately" % (who, t, mem, o.mem))
            mem, who = o.mem, t
        disk = max(disk, o.disk)
        data = data or o.data
    return mem, disk, data


# Tests that leave the guest's memory management in a state that changes
# what later tests see, so they run last: after an OOM-level workload
# kswapd gives up on the node (kswapd_failures) until direct reclaim makes
# progress, and the shrinker test, which relies on kswapd running zsm's
# shrinker, then sees no reclaim at all.
LAST_TESTS = ("pressure",)


def default_tests(mode):
    """Every test of the mode's directory without a `# zsm-run:` line,
    in name order, but LAST_TESTS last."""
    d = os.path.join(REPO, "guest", MODE_DIRS[mode])
    tests = [t for t in guest_tests(mode)
             if test_directive(os.path.join(d, t + ".sh")) is None]
    return ([t for t in tests if t not in LAST_TESTS] +
            [t for t in tests if t in LAST_TESTS])


def make_run_dir(mode):
    runs = os.path.join(cache_dir(), "runs")
    os.makedirs(runs, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    d = os.path.join(runs, "%s-%s-%d" % (stamp, mode, os.getpid()))
    os.makedirs(d)
    # Keep the 30 newest runs.
    old = sorted(os.listdir(runs))[:-30]
    for o in old:
        shutil.rmtree(os.path.join(runs, o), ignore_errors=True)
    return d


def build_initramfs(kernel_dir, out, data):
    cmd = [os.path.join(REPO, "scripts", "mkinitramfs.sh"),
           "--kernel-dir", kernel_dir, "--out", out]
    if data:
        cmd.append("--data")
    subprocess.run(cmd, check=True)


def make_disk(path, mib):
    """An empty sparse raw image of mib MiB."""
    with open(path, "wb") as f:
        f.truncate(mib << 20)
    return path


# Per guest architecture: the QEMU binary and machine, the kernel image a
# scripts/build-kernel.sh flavour leaves, the console, the CPU model under
# TCG, and the kernel parameters of that architecture only. arm64 runs on
# the virt machine under TCG only (no KVM on an x86-64 host); -cpu max
# with the implementation-defined pointer-authentication algorithm, which
# TCG computes far faster than the architected QARMA one. With icount the
# arm64 generic timer runs at 1 GHz, so that the guest clock resolves each
# instruction (the virt machine's default 62.5 MHz ticks every 16).
ARCHES = {
    "x86_64": {"qemu": ["qemu-system-x86_64"], "image": "bzImage",
               "console": "ttyS0", "tcg_cpu": "max", "icount_cpu": "max",
               "kvm": True},
    "arm64": {"qemu": ["qemu-system-aarch64", "-M", "virt"],
              "image": "Image", "console": "ttyAMA0",
              "tcg_cpu": "max,pauth-impdef=on",
              "icount_cpu": "max,pauth-impdef=on,cntfrq=1000000000",
              "kvm": False},
}


def qemu_cmd(kernel_dir, initrd, append, mem, smp, accel, disk=None,
             tcg_thread="multi", arch="x86_64"):
    a = ARCHES[arch]
    cmd = a["qemu"] + ["-m", str(mem), "-smp", str(smp),
                       "-nographic", "-no-reboot", "-nic", "none",
                       "-kernel", os.path.join(kernel_dir, a["image"]),
                       "-initrd", initrd, "-append", append]
    if disk:
        # /dev/vda in the guest; its contents do not matter after the run.
        cmd += ["-drive", "file=%s,if=virtio,format=raw,cache=unsafe" % disk]
    if accel == "kvm":
        cmd += ["-accel", "kvm", "-cpu", "host"]
    elif accel == "icount":
        # Guest time counts guest instructions (1 ns each), so that timings
        # inside the guest do not depend on the host's load; vCPUs take
        # turns on one host thread.
        cmd += ["-accel", "tcg", "-icount", "shift=0,sleep=off",
                "-cpu", a["icount_cpu"]]
    else:
        # multi: one host thread per vCPU. single: the vCPUs take turns on
        # one host thread, so this guest never needs more than one host
        # core (make check's side boots, beside the main guest).
        cmd += ["-accel", "tcg,thread=%s" % tcg_thread,
                "-cpu", a["tcg_cpu"]]
    return cmd


class Guest:
    """A running QEMU whose console goes to a log file."""

    def __init__(self, cmd, logpath, echo="none"):
        self.logpath = logpath
        self.echo = echo
        self.started = False
        self.t0 = time.monotonic()
        self.log = open(logpath, "w", encoding="utf-8", errors="replace")
        self.log.write("# %s\n" % " ".join(cmd))
        self.log.flush()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", errors="replace")
            self.log.write(line)
            self.log.flush()
            self.show(line.rstrip("\r\n"))

    def show(self, line):
        if self.echo == "none":
            return
        if self.echo == "all":
            print(line, file=sys.stderr, flush=True)
            return
        text = TS_RE.sub("", line)
        el = time.monotonic() - self.t0
        m = BEGIN_RE.search(text)
        if m:
            log("[%4.0fs] %s ..." % (el, m.group(1)))
            return
        m = END_RE.search(text)
        if m:
            log("[%4.0fs] %s: %s" % (el, m.group(1), m.group(2)))
            return
        if START_RE.search(text):
            self.started = True
        # Script output: console lines without a printk prefix, once /init
        # runs (before, they are firmware noise).
        if self.echo == "user" and self.started and not TS_RE.match(line) \
                and not line.startswith("zsm-"):
            print("  | " + line, file=sys.stderr, flush=True)

    def wait(self, timeout):
        """Wait for QEMU to exit; kill it after timeout s. True if killed."""
        killed = False
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            killed = True
        except KeyboardInterrupt:
            self.proc.kill()
            self.proc.wait()
            raise
        if killed:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(timeout=10)
        if killed:
            self.log.write("\nzsm-runner: timeout after %d s, qemu killed\n"
                           % timeout)
        self.log.write("\nzsm-runner: qemu exit status %s after %.0f s\n"
                       % (self.proc.returncode, time.monotonic() - self.t0))
        self.log.close()
        return killed


def probe_kvm(kernel_dir, initrd, timeout=30):
    """Does a KVM guest actually boot here? Cached per host boot."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot_id = f.read().strip()
    except OSError:
        boot_id = "unknown"
    stamp = os.path.join(cache_dir(), "kvm-probe-" + boot_id)
    if os.path.exists(stamp):
        with open(stamp) as f:
            return f.read().strip() == "kvm"
    log("probing KVM (boots the guest once, up to %d s)" % timeout)
    cmd = qemu_cmd(kernel_dir, initrd,
                   "console=ttyS0 panic=-1 oops=panic zsm.mode=probe",
                   512, 1, "kvm")
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout)
        ok = b"zsm-probe-ok" in p.stdout
    except subprocess.TimeoutExpired:
        ok = False
    for f in os.listdir(cache_dir()):
        if f.startswith("kvm-probe-"):
            os.unlink(os.path.join(cache_dir(), f))
    with open(stamp, "w") as f:
        f.write("kvm\n" if ok else "tcg\n")
    log("KVM %s" % ("works" if ok else "does not work here: using TCG"))
    return ok


def boot(args):
    kdir = os.path.abspath(args.kernel_dir)
    arch = ARCHES[args.arch]
    if not os.path.isfile(os.path.join(kdir, arch["image"])):
        sys.exit("zsm-run: %s/%s missing (an %s guest kernel?)"
                 % (kdir, arch["image"], args.arch))
    known = guest_tests(args.mode)
    tests = args.tests.split(",") if args.tests else default_tests(args.mode)
    for t in tests:
        if t not in known:
            sys.exit("zsm-run: no test guest/%s/%s.sh" %
                     (MODE_DIRS[args.mode], t))
        if t in ("completed", "kmemleak"):
            sys.exit("zsm-run: test name %s is reserved" % t)
    try:
        mem, disk_mib, data = guest_needs(args.mode, tests)
    except ValueError as e:
        sys.exit("zsm-run: %s" % e)
    mem = args.mem or mem or 1024
    disk_mib = args.disk if args.disk is not None else disk_mib
    data = data or args.data or args.mode == "demo"

    run = make_run_dir(args.mode)
    initrd = os.path.join(run, "initramfs.cpio.gz")
    build_initramfs(kdir, initrd, data)
    disk = make_disk(os.path.join(run, "disk.img"), disk_mib) \
        if disk_mib else None

    accel = args.accel
    if accel == "auto":
        accel = "kvm" if arch["kvm"] and probe_kvm(kdir, initrd) else "tcg"
    elif accel == "kvm" and not arch["kvm"]:
        sys.exit("zsm-run: no KVM for %s guests here" % args.arch)
    # x86_64: pci=noacpi: on a loaded host the guest's ACPI _PRT evaluation
    # can hit AE_AML_LOOP_TIMEOUT and leave virtio-pci without an IRQ; the
    # BIOS routing table works. pti=on: zsm's pte mapping mode must be
    # correct with page-table isolation (QEMU's TCG CPU is not flagged
    # Meltdown-vulnerable, so PTI would stay off). arm64 has neither
    # ACPI here (device tree) nor a pte mode (Documentation/zsm.rst).
    archopts = "pci=noacpi pti=on " if args.arch == "x86_64" else ""
    append = ("console=%s loglevel=7 printk.devkmsg=on oops=panic "
              "panic=-1 rcupdate.rcu_cpu_stall_timeout=60 %s"
              "zsm.mode=%s zsm.tests=%s zsm.cpus=%d %s"
              % (arch["console"], archopts, args.mode, ",".join(tests),
                 args.smp, args.append)).strip()
    cmd = qemu_cmd(kdir, initrd, append, mem, args.smp, accel, disk,
                   args.tcg_thread, args.arch)
    if accel == "tcg" and args.tcg_thread == "single":
        accel = "tcg-single"
    logpath = os.path.join(run, "console.log")
    log("console log: %s" % logpath)
    log("booting %s %s guest (%s, %d MiB, %d CPUs%s, timeout %d s): %s"
        % (args.arch, args.mode, accel, mem, args.smp,
           ", %d MiB disk" % disk_mib if disk else "", args.timeout,
           ", ".join(tests)))
    t0 = time.monotonic()
    g = Guest(cmd, logpath, args.echo)
    killed = g.wait(args.timeout)
    secs = time.monotonic() - t0
    log("guest %s after %.0f s" % ("killed (timeout)" if killed else
                                   "exited", secs))
    if not args.keep_initramfs:
        os.unlink(initrd)
    if disk:
        os.unlink(disk)

    parser = parse_file(logpath, tests)
    print_failure_context(parser, logpath)
    jpath = os.path.join(run, "results.json")
    write_json(parser, jpath, {"log": logpath, "accel": accel,
                               "seconds": round(secs), "mode": args.mode,
                               "label": args.label, "kernel_dir": kdir,
                               "arch": args.arch,
                               "tests": tests, "mem": mem,
                               "disk": disk_mib or 0})
    if args.results:
        shutil.copyfile(jpath, args.results)
    print("console log: %s" % logpath)
    print("results: %s" % jpath)
    return report(parser, part=args.label or "boot" if args.results
                  else None)


def print_failure_context(parser, logpath, lines=40):
    """Show the log of each failed guest test (its last lines), and the end
    of the log when the guest did not complete."""
    with open(logpath, encoding="utf-8", errors="replace") as f:
        text = f.read().splitlines()
    for r in parser.results:
        if r.status != "FAIL":
            continue
        if r.begin:
            first, last = r.begin, min(r.line, len(text))
        elif r.name == "guest.completed":
            first, last = 1, len(text)
        else:
            continue
        first = max(first, last - lines + 1)
        print("--- %s: %s lines %d-%d ---" % (r.name, logpath, first, last))
        for line in text[first - 1:last]:
            print("  " + line)


# === Main ==================================================================

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parse", metavar="LOG",
                    help="parse an existing console log, do not boot")
    ap.add_argument("--kernel-dir",
                    help="guest kernel dir from scripts/build-kernel.sh")
    ap.add_argument("--mode", default="check", choices=sorted(MODE_DIRS))
    ap.add_argument("--tests", help="comma-separated test names "
                    "(default: every script of the mode's directory)")
    ap.add_argument("--timeout", type=int, default=1800,
                    help="hard timeout in seconds (default 1800)")
    ap.add_argument("--mem", type=int,
                    help="guest MiB (default: what the tests' `# zsm-run:` "
                    "lines ask for, else 1024)")
    ap.add_argument("--disk", type=int, metavar="MIB",
                    help="attach an empty sparse virtio disk of MIB MiB "
                    "(/dev/vda; default: what the tests ask for, else none)")
    ap.add_argument("--data", action="store_true",
                    help="put mke2fs and the test data tree (kernel sources, "
                    "checksums) in the initramfs, as --mode demo does")
    ap.add_argument("--smp", type=int, default=2, help="guest CPUs")
    ap.add_argument("--arch", default="x86_64", choices=sorted(ARCHES),
                    help="guest architecture: arm64 boots an Image of "
                    "scripts/build-kernel.sh debug-arm64[-16k] on "
                    "qemu-system-aarch64 -M virt (TCG)")
    ap.add_argument("--accel", default="auto",
                    choices=["auto", "kvm", "tcg", "icount"],
                    help="icount: TCG with instruction-counted guest time "
                    "(benchmarks)")
    ap.add_argument("--tcg-thread", default="multi",
                    choices=["multi", "single"],
                    help="TCG: one host thread per vCPU (multi) or one for "
                    "all vCPUs (single: the guest uses at most one host "
                    "core)")
    ap.add_argument("--append", default="", help="extra kernel parameters")
    ap.add_argument("--echo", default="progress",
                    choices=["none", "progress", "user", "all"],
                    help="what of the console to show while running")
    ap.add_argument("--json", help="with --parse: write results here")
    ap.add_argument("--keep-initramfs", action="store_true")
    ap.add_argument("--results", metavar="FILE",
                    help="also write results.json to FILE, for "
                    "scripts/zsm-summary.py, which prints the overall "
                    "summary of several boots; this run's own summary line "
                    "is then prefixed with its --label")
    ap.add_argument("--label", default="",
                    help="name of this boot in --results (e.g. the kernel: "
                    "6_12_guest, 6_1_stock, 6_12_stock)")
    args = ap.parse_args()

    if args.parse:
        tests = args.tests.split(",") if args.tests else None
        parser = parse_file(args.parse, tests)
        if args.json:
            write_json(parser, args.json)
        return report(parser)
    if not args.kernel_dir:
        ap.error("--kernel-dir or --parse is required")
    return boot(args)


if __name__ == "__main__":
    sys.exit(main())
