#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Offline unit tests of the zsm-run.py log parser, on synthetic logs.

Cheap (no guest): `make check` and `make check-runner` run them first.
Each log below imitates what the guest console really prints: printk
timestamps, KUnit's KTAP indentation, /dev/kmsg markers, splat layouts.
"""

import importlib.util
import io
import json
import os
import shutil
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "zsm_run", os.path.join(HERE, "zsm-run.py"))
zr = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(zr)
_spec = importlib.util.spec_from_file_location(
    "zsm_summary", os.path.join(HERE, "zsm-summary.py"))
zs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(zs)
_spec = importlib.util.spec_from_file_location(
    "bench_run", os.path.join(HERE, "bench-run.py"))
br = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(br)


def ts(lines, t0=1.0):
    """Prefix each line with a printk timestamp, like the console does."""
    out = []
    for i, line in enumerate(textwrap.dedent(lines).strip("\n").split("\n")):
        if line.startswith("U:"):           # userspace output: no prefix
            out.append(line[2:] + "\r\n")
        else:
            out.append("[%12.6f] %s\r\n" % (t0 + i * 0.001, line))
    return out


def parse(lines, tests=None):
    return zr.parse_lines(lines, tests)


def by_name(parser):
    return {r.name: r for r in parser.results}


def statuses(parser):
    return {r.name: r.status for r in parser.results}


START = "zsm-guest-start mode=check tests=%s cpus=0-1 kernel=6.12.57"

KTAP = """\
    KTAP version 1
    # Subtest: zsm_class
    # module: zsm_kunit
    1..4
    ok 1 zsm_class_sizes
    # zsm_class_fail: EXPECTATION FAILED at tests/zsm_class_kunit.c:42
    Expected a == b, but
        a == 1 (0x1)
    not ok 2 zsm_class_fail
        KTAP version 1
        # Subtest: zsm_class_param
        ok 1 size 32
        not ok 2 size 48
        ok 3 size 64 # SKIP not this one
    # zsm_class_param: pass:2 fail:1 skip:0 total:3
    not ok 3 zsm_class_param
    ok 4 zsm_class_skipped # SKIP no huge pages
# zsm_class: pass:1 fail:2 skip:1 total:4
# Totals: pass:3 fail:2 skip:1 total:6
not ok 1 zsm_class
"""


def guest_log(body, tests="kunit", done=True):
    text = START % tests + "\n" + textwrap.dedent(body).strip("\n")
    if done:
        text += "\nzsm-guest-done"
    return ts(text)


class KtapTest(unittest.TestCase):
    def test_cases_counted_once_with_params(self):
        p = parse(guest_log("zsm-test-begin kunit\n" + KTAP +
                            "zsm-test-end kunit fail 3s"))
        s = statuses(p)
        self.assertEqual(s["kunit.zsm_class.zsm_class_sizes"], "PASS")
        self.assertEqual(s["kunit.zsm_class.zsm_class_fail"], "FAIL")
        self.assertEqual(s["kunit.zsm_class.zsm_class_param"], "FAIL")
        self.assertEqual(s["kunit.zsm_class.zsm_class_skipped"], "SKIP")
        kunit = [r for r in p.results if r.name.startswith("kunit.")]
        self.assertEqual(len(kunit), 4)     # params are not cases
        self.assertNotIn("kunit.zsm_class.size", " ".join(s))
        self.assertIn("EXPECTATION FAILED",
                      by_name(p)["kunit.zsm_class.zsm_class_fail"].reasons[0])

    def test_without_timestamps(self):
        lines = [line + "\n" for line in
                 (START % "kunit" + "\nzsm-test-begin kunit\n" + KTAP +
                  "zsm-test-end kunit fail 1s\nzsm-guest-done").split("\n")]
        # Lines without a printk prefix are not kernel lines: KTAP comes
        # from the kernel, so only prefixed lines are taken as KTAP.
        p = parse(lines)
        self.assertFalse([r for r in p.results if r.name.startswith("kunit")])

    def test_caller_id_prefix(self):
        line = "[    2.000000][  T123]     ok 1 zsm_x\r\n"
        p = zr.LogParser()
        for x in ts(START % "kunit" + "\nzsm-test-begin kunit\n"
                    "    # Subtest: s\n    1..1"):
            p.feed(x)
        p.feed(line)
        p.feed("[    2.1] ok 1 s\n")
        p.feed("[    2.2] zsm-test-end kunit pass 1s\n")
        p.feed("[    2.3] zsm-guest-done\n")
        p.finish()
        self.assertEqual(statuses(p)["kunit.s.zsm_x"], "PASS")

    def test_incomplete_suite(self):
        p = parse(guest_log("""\
            zsm-test-begin kunit
                # Subtest: zsm_pool
                1..3
                ok 1 zsm_pool_create
            Kernel panic - not syncing: Fatal exception
            """, done=False))
        s = statuses(p)
        self.assertEqual(s["kunit.zsm_pool.zsm_pool_create"], "PASS")
        self.assertEqual(s["kunit.zsm_pool"], "FAIL")
        self.assertEqual(s["guest.kunit"], "FAIL")
        self.assertEqual(s["guest.completed"], "FAIL")
        self.assertIn("panic", by_name(p)["guest.completed"].reasons[0])

    def test_suite_init_failure(self):
        p = parse(guest_log("""\
            zsm-test-begin kunit
                # failed to initialize (-12)
            not ok 1 zsm_map
            zsm-test-end kunit pass 1s
            """))
        self.assertEqual(statuses(p)["kunit.zsm_map"], "FAIL")

    def test_splat_during_case_fails_case(self):
        p = parse(guest_log("""\
            zsm-test-begin kunit
                # Subtest: zsm_pool
                1..2
            BUG: sleeping function called from invalid context at mm/x.c:1
            Call Trace:
                ok 1 zsm_pool_a
                ok 2 zsm_pool_b
            ok 1 zsm_pool
            zsm-test-end kunit pass 1s
            """))
        s = statuses(p)
        self.assertEqual(s["kunit.zsm_pool.zsm_pool_a"], "FAIL")
        self.assertEqual(s["kunit.zsm_pool.zsm_pool_b"], "PASS")
        self.assertEqual(s["guest.kunit"], "FAIL")


WARN = """\
------------[ cut here ]------------
WARNING: CPU: 1 PID: 80 at tests/selftest/zsm_selftest_warn.c:17 init+0x10/0x20 [w]
Modules linked in: w(O+)
CPU: 1 UID: 0 PID: 80 Comm: insmod Tainted: G           O       6.12.57 #1
RIP: 0010:init+0x10/0x20 [w]
Call Trace:
 <TASK>
 ? __warn+0xa1/0x1e0
 ? report_bug+0x1b5/0x1e0
 </TASK>
irq event stamp: 1234
---[ end trace 0000000000000000 ]---
"""

# The same report as 7.x prints it.
WARN7 = """\
------------[ cut here ]------------
WARNING: zsm_selftest_warn.c:17 at init+0x10/0x20 [w], CPU#1: insmod/80
Modules linked in: w(O+)
CPU: 1 UID: 0 PID: 80 Comm: insmod Tainted: G           O        7.3.4 #1
RIP: 0010:init+0x10/0x20 [w]
---[ end trace 0000000000000000 ]---
"""

LOCKDEP = """\
======================================================
WARNING: possible circular locking dependency detected
6.12.57 #1 Tainted: G        W  O
------------------------------------------------------
insmod/80 is trying to acquire lock:
stack backtrace:
Call Trace:
 <TASK>
 dump_stack_lvl+0x5d/0x80
 </TASK>
"""

OOM = """\
zsm_hog invoked oom-killer: gfp_mask=0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO), order=0, oom_score_adj=1000
CPU: 1 UID: 0 PID: 120 Comm: zsm_hog Not tainted 6.12.57 #1
Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2
Call Trace:
 <TASK>
 dump_stack_lvl+0x5d/0x80
 dump_header+0x43/0x1a0
 oom_kill_process+0x10d/0x1c0
 out_of_memory+0x25d/0x580
 </TASK>
Mem-Info:
active_anon:0 inactive_anon:1 isolated_anon:0
Node 0 DMA free:0kB boost:0kB min:44kB low:52kB
lowmem_reserve[]: 0 0 0 0
Free swap  = 0kB
oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/,task=zsm_hog,pid=120,uid=0
Out of memory: Killed process 120 (zsm_hog) total-vm:1100000kB, anon-rss:700000kB oom_score_adj:1000
"""

ALLOC_FAILURE = """\
kswapd0: page allocation failure: order:0, mode:0x820(GFP_ATOMIC), nodemask=(null)
CPU: 0 UID: 0 PID: 40 Comm: kswapd0 Not tainted 6.12.57 #1
Call Trace:
 <TASK>
 warn_alloc+0x10d/0x1c0
 </TASK>
"""


KCSAN_ZSM = """\
==================================================================
BUG: KCSAN: data-race in __zsm_slot_take [zsm] / zs_map_object [zsm]

write to 0xffff888003a1c040 of 8 bytes by task 301 on cpu 1:
 __zsm_slot_take+0x1f3/0x260 [zsm]
 zs_compact+0x2b1/0x5a0 [zsm]
 kthread+0x12f/0x160

read to 0xffff888003a1c040 of 8 bytes by task 300 on cpu 0:
 zs_map_object+0x5c/0x3e0 [zsm]
 stress_worker+0x91/0x300 [zsm_test_stress]

value changed: 0xffff888003f0c002 -> 0xffff888003f0d801

Reported by Kernel Concurrency Sanitizer on:
CPU: 0 UID: 0 PID: 300 Comm: zsm_stress Not tainted 6.12.57 #1
==================================================================
"""

KCSAN_KERNEL = """\
==================================================================
BUG: KCSAN: data-race in tick_nohz_idle_stop_tick / tick_sched_timer

write to 0xffff88803ec1c0a0 of 8 bytes by interrupt on cpu 1:
 tick_sched_timer+0x51/0x140
 __hrtimer_run_queues+0x1a3/0x3e0

read to 0xffff88803ec1c0a0 of 8 bytes by task 0 on cpu 0:
 tick_nohz_idle_stop_tick+0x2c/0x90
 do_idle+0x12a/0x1b0

Reported by Kernel Concurrency Sanitizer on:
CPU: 0 UID: 0 PID: 0 Comm: swapper/0 Not tainted 6.12.57 #1
==================================================================
"""


# A kernel race whose interrupt hit zsm code, and the task held a zsm lock:
# neither access is zsm's (seen in make check-kcsan).
KCSAN_IRQ_IN_ZSM = """\
==================================================================
BUG: KCSAN: data-race in __hrtimer_run_queues / hrtimer_active

read to 0xffff88803e81ce08 of 8 bytes by interrupt on cpu 1:
 hrtimer_active+0x65/0xd0
 task_tick_fair+0xc9/0x140
 __hrtimer_run_queues+0x39f/0x650
 hrtimer_interrupt+0x1ca/0x3c0
 sysvec_apic_timer_interrupt+0x66/0x90
 asm_sysvec_apic_timer_interrupt+0x16/0x20
 __tsan_read8+0xee/0x180
 zs_unmap_object+0xbe/0x2c0 [zsm]
 st_worker_fn+0x1935/0x1940 [zsm_test_stress]
 kthread+0x1b6/0x1f0

2 locks held by zsm_stress/1/306:
 #0: ffff8880001c2020 (zsm_zspage->lock){++.+}-{0:0}, at: st_worker_fn+0x106a/0x1940 [zsm_test_stress]

write to 0xffff88803e81ce08 of 8 bytes by interrupt on cpu 0:
 __hrtimer_run_queues+0x249/0x650
 hrtimer_interrupt+0x1ca/0x3c0

Reported by Kernel Concurrency Sanitizer on:
CPU: 1 UID: 0 PID: 306 Comm: zsm_stress Not tainted 6.12.117 #1
==================================================================
"""


class KcsanTest(unittest.TestCase):
    def run_test(self, body, name="t"):
        p = parse(guest_log("zsm-test-begin %s\n%s\nzsm-test-end %s pass 1s"
                            % (name, body, name), tests=name))
        return p, by_name(p)["guest." + name]

    def test_zsm_race_fails_test(self):
        p, r = self.run_test(KCSAN_ZSM)
        self.assertEqual(r.status, "FAIL")
        self.assertEqual(len(r.reasons), 1)     # one report, one reason
        self.assertIn("KCSAN in zsm: data-race in __zsm_slot_take",
                      r.reasons[0])
        self.assertEqual(p.kcsan_foreign, [])

    def test_zsm_frame_below_header_fails(self):
        body = KCSAN_KERNEL.replace(" do_idle+0x12a/0x1b0",
                                    " zs_free+0x12a/0x1b0 [zsm]")
        _, r = self.run_test(body)
        self.assertEqual(r.status, "FAIL")

    def test_kernel_race_listed_not_failed(self):
        p, r = self.run_test(KCSAN_KERNEL)
        self.assertEqual(r.status, "PASS", r.reasons)
        self.assertEqual(len(p.kcsan_foreign), 1)
        self.assertIn("(t): data-race in tick_nohz_idle_stop_tick",
                      p.kcsan_foreign[0])
        out = io.StringIO()
        self.assertEqual(zr.report(p, out), 0)
        self.assertIn("KCSAN outside zsm", out.getvalue())

    def test_interrupted_zsm_code_is_not_zsm(self):
        p, r = self.run_test(KCSAN_IRQ_IN_ZSM)
        self.assertEqual(r.status, "PASS", r.reasons)
        self.assertEqual(len(p.kcsan_foreign), 1)

    def test_zsm_frame_above_interrupt_entry_fails(self):
        body = KCSAN_IRQ_IN_ZSM.replace(" task_tick_fair+0xc9/0x140",
                                        " zsm_map_slot+0xc9/0x140 [zsm]")
        _, r = self.run_test(body)
        self.assertEqual(r.status, "FAIL")

    def test_upstream_zsmalloc_is_not_zsm(self):
        body = KCSAN_KERNEL.replace(" do_idle+0x12a/0x1b0",
                                    " zs_free+0x12a/0x1b0 [zsmalloc]")
        _, r = self.run_test(body)
        self.assertEqual(r.status, "PASS", r.reasons)

    def test_splat_after_kcsan_report_still_fails(self):
        _, r = self.run_test(KCSAN_KERNEL + WARN)
        self.assertEqual(r.status, "FAIL")
        self.assertIn("WARNING: CPU: 1", r.reasons[0])

    def test_unterminated_report_closed_at_end(self):
        p = parse(guest_log("zsm-test-begin t\n" +
                            KCSAN_ZSM.rsplit("=====", 1)[0].rstrip("=\n"),
                            tests="t", done=False))
        r = by_name(p)["guest.t"]
        self.assertEqual(r.status, "FAIL")
        self.assertTrue(any("KCSAN in zsm" in x for x in r.reasons))


class SplatTest(unittest.TestCase):
    def run_test(self, body, name="t"):
        p = parse(guest_log("zsm-test-begin %s\n%s\nzsm-test-end %s pass 1s"
                            % (name, body, name), tests=name))
        return p, by_name(p)["guest." + name]

    def test_warn_fails_test(self):
        p, r = self.run_test(WARN)
        self.assertEqual(r.status, "FAIL")
        self.assertEqual(len(r.reasons), 1)     # trace not counted again
        self.assertIn("WARNING: CPU: 1", r.reasons[0])
        self.assertNotIn("kernel.splat", statuses(p))

    def test_fenced_warn_passes(self):
        _, r = self.run_test("U:zsm-expect-warn-begin w\n" + WARN +
                             "zsm-expect-warn-end w")
        self.assertEqual(r.status, "PASS", r.reasons)

    def test_fenced_warn_7x_passes(self):
        _, r = self.run_test("U:zsm-expect-warn-begin w\n" + WARN7 +
                             "zsm-expect-warn-end w")
        self.assertEqual(r.status, "PASS", r.reasons)

    def test_warn_7x_fails_test(self):
        _, r = self.run_test(WARN7)
        self.assertEqual(r.status, "FAIL")
        self.assertIn("CPU#1", r.reasons[0])

    def test_fence_without_warning_fails(self):
        _, r = self.run_test("zsm-expect-warn-begin quiet\n"
                             "U:nothing here\nzsm-expect-warn-end quiet")
        self.assertEqual(r.status, "FAIL")
        self.assertEqual(r.reasons,
                         ["expected warning quiet did not occur"])

    def test_lockdep_in_fence_fails(self):
        _, r = self.run_test("zsm-expect-warn-begin w\n" + WARN + LOCKDEP +
                             "zsm-expect-warn-end w")
        self.assertEqual(r.status, "FAIL")
        self.assertEqual(len(r.reasons), 1)
        self.assertIn("circular locking", r.reasons[0])

    def test_kasan_in_fence_fails(self):
        _, r = self.run_test("zsm-expect-warn-begin w\n" + WARN +
                             "BUG: KASAN: slab-use-after-free in zs_free+0x1\n"
                             "zsm-expect-warn-end w")
        self.assertEqual(r.status, "FAIL")
        self.assertIn("KASAN", r.reasons[0])

    def test_unclosed_fence_fails(self):
        _, r = self.run_test("zsm-expect-warn-begin w\n" + WARN)
        self.assertEqual(r.status, "FAIL")
        self.assertIn("not closed", r.reasons[0])

    def test_oom_fails_test(self):
        _, r = self.run_test(OOM)
        self.assertEqual(r.status, "FAIL")
        self.assertEqual(len(r.reasons), 1)     # trace not counted again
        self.assertIn("invoked oom-killer", r.reasons[0])

    def test_alloc_failure_fails_test(self):
        _, r = self.run_test(ALLOC_FAILURE)
        self.assertEqual(r.status, "FAIL")
        self.assertEqual(len(r.reasons), 1)
        self.assertIn("page allocation failure", r.reasons[0])

    def test_fenced_oom_passes(self):
        _, r = self.run_test("zsm-expect-oom-begin hog\n" + OOM +
                             ALLOC_FAILURE + OOM + "zsm-expect-oom-end hog")
        self.assertEqual(r.status, "PASS", r.reasons)

    def test_oom_fence_without_oom_passes(self):
        _, r = self.run_test("zsm-expect-oom-begin hog\nU:mmap failed\n"
                             "zsm-expect-oom-end hog")
        self.assertEqual(r.status, "PASS", r.reasons)

    def test_oom_after_fence_fails(self):
        _, r = self.run_test("zsm-expect-oom-begin hog\n" + OOM +
                             "zsm-expect-oom-end hog\n" + OOM)
        self.assertEqual(r.status, "FAIL")
        self.assertEqual(len(r.reasons), 1)
        self.assertIn("invoked oom-killer", r.reasons[0])

    def test_warn_in_oom_fence_fails(self):
        _, r = self.run_test("zsm-expect-oom-begin hog\n" + OOM + WARN +
                             "zsm-expect-oom-end hog")
        self.assertEqual(r.status, "FAIL")
        self.assertEqual(len(r.reasons), 1)
        self.assertIn("WARNING: CPU: 1", r.reasons[0])

    def test_other_splats_in_oom_fence_fail(self):
        for text in ("BUG: KASAN: use-after-free in zs_map_object+0x1",
                     "INFO: task zsm_hog:120 blocked for more than 120 "
                     "seconds.", "WARNING: possible circular locking "
                     "dependency detected",
                     "BUG: sleeping function called from invalid context"):
            _, r = self.run_test("zsm-expect-oom-begin hog\n" + OOM +
                                 text + "\nzsm-expect-oom-end hog")
            self.assertEqual(r.status, "FAIL", text)

    def test_unclosed_oom_fence_fails(self):
        _, r = self.run_test("zsm-expect-oom-begin hog\n" + OOM)
        self.assertEqual(r.status, "FAIL")
        self.assertIn("expected-OOM fence hog not closed", r.reasons)

    def test_splat_outside_window(self):
        p = parse(guest_log(WARN + "zsm-test-begin t\nzsm-test-end t pass 1s",
                            tests="t"))
        s = statuses(p)
        self.assertEqual(s["guest.t"], "PASS")
        self.assertEqual(s["kernel.splat"], "FAIL")

    def test_lone_call_trace(self):
        _, r = self.run_test("CPU: 0 PID: 1\nCall Trace:\n <TASK>")
        self.assertEqual(r.status, "FAIL")

    def test_lone_call_trace_arm64(self):
        _, r = self.run_test("CPU: 0 PID: 1\nCall trace:\n dump_backtrace")
        self.assertEqual(r.status, "FAIL")

    def test_fault_injection_trace_is_benign(self):
        _, r = self.run_test("FAULT_INJECTION: forcing a failure.\n"
                             "name failslab, interval 1\nCall Trace:\n"
                             " <TASK>\ninsmod: page allocation failure: "
                             "order:0")
        self.assertEqual(r.status, "PASS", r.reasons)

    def test_every_kind(self):
        for text in ("BUG: unable to handle page fault",
                     "Oops: general protection fault, probably for non-"
                     "canonical address", "general protection fault",
                     "INFO: task kworker/0:1:12 blocked for more than 30 s",
                     "WARNING: suspicious RCU usage",
                     "WARNING: possible recursive locking detected",
                     "WARNING: inconsistent lock state",
                     "unreferenced object 0xffff888003a1c000 (size 256):",
                     "UBSAN: shift-out-of-bounds in mm/zsm.c:1:2",
                     "list_add corruption. prev->next should be next",
                     "list_del corruption, ffff8880 is LIST_POISON1",
                     "BUG: Bad page state in process insmod",
                     "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
                     "watchdog: BUG: soft lockup - CPU#0 stuck for 22s!",
                     "BUG: sleeping function called from invalid context",
                     "Kernel panic - not syncing: Fatal exception"):
            _, r = self.run_test(text)
            self.assertEqual(r.status, "FAIL", text)

    def test_benign_boot_lines(self):
        _, r = self.run_test(
            "Kernel command line: console=ttyS0 oops=panic panic=-1\n"
            "kasan: KernelAddressSanitizer initialized (generic)\n"
            "Lock dependency validator: Copyright (c) 2006 Red Hat, Inc.\n"
            "kmemleak: Kernel memory leak detector initialized (mempool "
            "available:16000)\nU:cpus online: 0-1 (2), expected 2")
        self.assertEqual(r.status, "PASS", r.reasons)


class LifecycleTest(unittest.TestCase):
    def test_all_pass(self):
        p = parse(guest_log("""\
            zsm-test-begin core
            zsm_test_core: zsm-metric core.objects=1000
            U:zsm-metric guest.cpus_online=2
            zsm-test-end core pass 2s
            zsm-test-begin kmemleak
            zsm-test-end kmemleak pass 0s
            """, tests="core"))
        self.assertEqual(statuses(p), {"guest.core": "PASS",
                                       "guest.kmemleak": "PASS",
                                       "guest.completed": "PASS"})
        self.assertEqual(p.metrics, {"core.objects": 1000,
                                     "guest.cpus_online": 2})
        out = io.StringIO()
        self.assertEqual(zr.report(p, out), 0)
        self.assertEqual(out.getvalue().splitlines()[-1],
                         "3 passed, 0 failed")

    def test_script_failure_and_skip(self):
        p = parse(guest_log("""\
            zsm-test-begin a
            zsm-test-end a fail 1s
            zsm-test-begin b
            zsm-test-end b skip 0s
            """, tests="a,b"))
        self.assertEqual(statuses(p)["guest.a"], "FAIL")
        self.assertEqual(statuses(p)["guest.b"], "SKIP")
        out = io.StringIO()
        self.assertEqual(zr.report(p, out), 1)
        self.assertEqual(out.getvalue().splitlines()[-1],
                         "1 passed, 1 failed, 1 skipped")

    def test_hang_timeout(self):
        lines = guest_log("zsm-test-begin a\nzsm-test-end a pass 1s\n"
                          "zsm-test-begin hang\nU:hanging forever",
                          tests="a,hang,b", done=False)
        lines.append("zsm-runner: timeout after 120 s, qemu killed\n")
        p = parse(lines)
        s = statuses(p)
        self.assertEqual(s["guest.a"], "PASS")
        self.assertEqual(s["guest.hang"], "FAIL")
        self.assertIn("hung", by_name(p)["guest.hang"].reasons[0])
        self.assertEqual(s["guest.b"], "FAIL")
        self.assertEqual(by_name(p)["guest.b"].reasons, ["did not run"])
        self.assertEqual(s["guest.completed"], "FAIL")
        self.assertIn("timeout", by_name(p)["guest.completed"].reasons[0])

    def test_no_boot(self):
        p = parse(["qemu-system-x86_64: -kernel x: No such file\n"],
                  tests=["core"])
        out = io.StringIO()
        self.assertEqual(zr.report(p, out), 1)
        self.assertIn("never started",
                      by_name(p)["guest.completed"].reasons[0])

    def test_nothing_ran_is_failure(self):
        p = parse(ts(START % "" + "\nzsm-guest-done"))
        out = io.StringIO()
        self.assertEqual(zr.report(p, out), 1)

    def test_plan_from_log(self):
        p = parse(guest_log("zsm-test-begin a\nzsm-test-end a pass 1s",
                            tests="a,b"))
        self.assertEqual(by_name(p)["guest.b"].reasons, ["did not run"])

    def test_kmemleak_report(self):
        p = parse(guest_log("""\
            zsm-test-begin kmemleak
            kmemleak: 1 new suspected memory leaks (see /sys/kernel/debug/kmemleak)
            U:unreferenced object 0xffff888003a1c000 (size 256):
            U:  comm "insmod", pid 80, jiffies 4294900000
            U:  backtrace (crc 0):
            U:    kmalloc_trace_noprof+0x2a5/0x330
            zsm-test-end kmemleak fail 0s
            """, tests=""))
        r = by_name(p)["guest.kmemleak"]
        self.assertEqual(r.status, "FAIL")
        self.assertTrue(any("unreferenced" in x for x in r.reasons))


class GuestSetupTest(unittest.TestCase):
    """The qemu command line, `# zsm-run:` lines, several-boot summaries."""

    def setUp(self):
        self.repo = tempfile.mkdtemp()
        self.old_repo = zr.REPO
        zr.REPO = self.repo
        os.makedirs(os.path.join(self.repo, "guest", "tests"))

    def tearDown(self):
        zr.REPO = self.old_repo
        shutil.rmtree(self.repo)

    def script(self, name, directive=None):
        with open(os.path.join(self.repo, "guest", "tests",
                               name + ".sh"), "w") as f:
            f.write("# SPDX-License-Identifier: GPL-2.0\n")
            if directive is not None:
                f.write("# zsm-run:%s\n" % directive)
            f.write(". /zsm/lib.sh\n")

    def test_qemu_disk(self):
        cmd = zr.qemu_cmd("/k", "/i", "x", 256, 2, "tcg", "/r/disk.img")
        self.assertEqual(cmd[cmd.index("-m") + 1], "256")
        self.assertIn("file=/r/disk.img,if=virtio,format=raw,cache=unsafe",
                      cmd)
        self.assertNotIn("-drive", zr.qemu_cmd("/k", "/i", "x", 1024, 2,
                                               "tcg"))

    def test_qemu_arm64(self):
        cmd = zr.qemu_cmd("/k", "/i", "x", 256, 2, "tcg", arch="arm64")
        self.assertEqual(cmd[:3], ["qemu-system-aarch64", "-M", "virt"])
        self.assertEqual(cmd[cmd.index("-kernel") + 1], "/k/Image")
        self.assertEqual(cmd[cmd.index("-cpu") + 1], "max,pauth-impdef=on")
        x86 = zr.qemu_cmd("/k", "/i", "x", 256, 2, "tcg")
        self.assertEqual(x86[0], "qemu-system-x86_64")
        self.assertEqual(x86[x86.index("-kernel") + 1], "/k/bzImage")

    def test_make_disk_sparse(self):
        p = zr.make_disk(os.path.join(self.repo, "d.img"), 64)
        st = os.stat(p)
        self.assertEqual(st.st_size, 64 << 20)
        self.assertLess(st.st_blocks * 512, 1 << 20)

    def test_directives(self):
        self.script("core")
        self.script("ext4", " --mem 256 --data")
        self.script("swap", " --mem 256")
        self.script("zswap", " --disk 128")
        self.script("big", " --mem 512 --disk 64")
        self.assertEqual(zr.default_tests("check"), ["core"])
        self.assertEqual(zr.guest_needs("check", ["core"]),
                         (None, 0, False))
        self.assertEqual(zr.guest_needs("check", ["ext4", "swap", "zswap"]),
                         (256, 128, True))
        self.assertEqual(zr.guest_needs("check", ["zswap", "big"]),
                         (512, 128, False))
        with self.assertRaises(ValueError):
            zr.guest_needs("check", ["swap", "big"])
        self.script("bad", " --mem lots")
        with self.assertRaises(ValueError):
            zr.guest_needs("check", ["bad"])

    def test_part_summary_line(self):
        p = parse(guest_log("zsm-test-begin a\nzsm-test-end a pass 1s",
                            tests="a"))
        out = io.StringIO()
        self.assertEqual(zr.report(p, out, part="6_1_stock"), 0)
        self.assertEqual(out.getvalue().splitlines()[-1],
                         "6_1_stock: 2 passed, 0 failed")

    def boot_json(self, label, results):
        path = os.path.join(self.repo, label + ".json")
        with open(path, "w") as f:
            json.dump({"label": label, "seconds": 5, "log": "l",
                       "results": [{"name": n, "status": s, "reasons": []}
                                   for n, s in results]}, f)
        return path

    def test_summary_of_boots(self):
        a = self.boot_json("6_12_guest", [("kunit.s.c", "PASS"),
                                          ("guest.core", "PASS"),
                                          ("guest.completed", "PASS")])
        b = self.boot_json("6_1_stock", [("guest.zram_ext4", "PASS"),
                                         ("guest.zswap", "FAIL"),
                                         ("guest.completed", "PASS")])
        out = io.StringIO()
        rc = zs.summarize([zs.load(a), zs.load(b)], out)
        lines = out.getvalue().splitlines()
        self.assertEqual(rc, 1)
        self.assertEqual(lines[-1], "5 passed, 1 failed")
        self.assertIn("zsm-metric kernel.6_1_stock.zswap=fail", lines)
        self.assertIn("zsm-metric kernel.6_12_guest.core=pass", lines)
        self.assertFalse(any("kernel.6_12_guest.completed" in x
                             for x in lines))
        out = io.StringIO()
        self.assertEqual(zs.summarize([zs.load(a)], out), 0)
        self.assertEqual(out.getvalue().splitlines()[-1], "3 passed, 0 failed")

    def test_summary_missing_boot_fails(self):
        a = self.boot_json("6_12_guest", [("guest.core", "PASS")])
        out = io.StringIO()
        boots = [zs.load(a), zs.load(os.path.join(self.repo, "6_1_stock.json"))]
        self.assertEqual(zs.summarize(boots, out), 1)
        self.assertEqual(out.getvalue().splitlines()[-1], "1 passed, 1 failed")
        self.assertIn("FAIL 6_1_stock: boot.6_1_stock", out.getvalue())

    def test_summary_boot_without_tests_fails(self):
        a = self.boot_json("6_12_stock", [("guest.completed", "PASS")])
        self.assertEqual(zs.summarize([zs.load(a)], io.StringIO()), 1)


class DensityCeilingTest(unittest.TestCase):
    """bench-run.py's density ceilings: the best allocator of zsmalloc's
    kind on a fill of known lengths."""

    def test_slot_sizes(self):
        self.assertEqual([br.zsm_slot_size(x) for x in
                          (1, 32, 33, 512, 513, 528, 529, 4096)],
                         [32, 32, 40, 512, 528, 528, 544, 4096])

    def test_fill_counts_cycle(self):
        # 7 objects over 3 lengths: the first length gets the extra ones.
        self.assertEqual(br.fill_counts([100, 200, 100], 7),
                         {100: 5, 200: 2})

    def test_any_classes_partition(self):
        # 2000 and 2040 alone take a page each; in one class of 2040
        # bytes both fit one page: the partition must find that.
        self.assertEqual(br.ceiling_pages({2000: 1, 2040: 1}), 1)
        # 1000 x 4 and 3000 x 2: apart 1 + 2 pages, together 5.
        self.assertEqual(br.ceiling_pages({1000: 4, 3000: 2}), 3)
        # zsm's slots: 1008 x 4 (1 page), 3008 x 2 (2 pages).
        self.assertEqual(br.ceiling_pages_grid({1000: 4, 3000: 2}), 3)
        # Slots 2000 and 2048 a page each, or merged into 2048: one page.
        self.assertEqual(br.ceiling_pages_grid({2000: 1, 2040: 1}), 1)

    def test_ratios_from_log(self):
        lines = ts("""
            zsm-bench-raw probe r0 huge_limit=3600
            zsm-bench-sizes s.lz4 2000 2040 4096
            zsm-bench-raw upstream r1 density.s.lz4.objects=4
            zsm-bench-raw upstream r1 density.s.lz4.fill.pages=4
            zsm-bench-raw upstream r1 density.s.lz4.fill.meta_bytes=96
            zsm-bench-raw zsm r1 density.s.lz4.fill.pool_pages=3
            zsm-bench-raw zsm r1 density.s.lz4.fill.meta_bytes=100
            """)
        with tempfile.NamedTemporaryFile("w", suffix=".log") as f:
            f.writelines(lines)
            f.flush()
            raw, _, _, _, sizes = br.parse_log(f.name)
        self.assertEqual(sizes, {"s.lz4": [2000, 2040, 4096]})
        c = br.density_ceilings(raw, sizes, [1])["s.lz4"]
        up = 4 * 4096 + 96
        # 4096 is huge: left out. 2000 x 2 and 2040 x 2 in one class of
        # 2040: 2 pages, plus 8 bytes a handle.
        self.assertAlmostEqual(c["any"], up / (2 * 4096 + 32))
        # zsm's slots 2000 and 2048: a page each (or both in 2048: two),
        # plus 12 bytes an object.
        self.assertAlmostEqual(c["grid"], up / (2 * 4096 + 48))
        self.assertAlmostEqual(c["zsm"], up / (3 * 4096 + 100))


if __name__ == "__main__":
    unittest.main(verbosity=1)
