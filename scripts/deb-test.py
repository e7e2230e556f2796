#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The zsm-dkms package in a real Debian 12 system, under QEMU.

    deb-test.py [--results FILE] [--label L] [--tcg-thread multi|single]
                [--timeout S] [--mem MIB] [--echo none|progress|user|all]

Builds the package (scripts/build-deb.sh) and the Debian 12 guest image
(scripts/deb-image.sh: debootstrap, systemd, systemd-zram-generator,
Debian's stock 6.1 kernel and its initramfs; cached), then boots a qcow2
overlay of the image three times, one stage of guest/deb/run.sh each:

    install   zram0 swap on zsmalloc.ko; apt-get install ./zsm-dkms_*.deb
              (DKMS builds zsm in the guest)                  deb_install
    zsm       after the reboot zram0 swap runs on zsm; a swap workload
              reads back every page; zsmstat shows the pool deb_zram_on_zsm
              apt-get purge zsm-dkms                          deb_purge
    removed   after the reboot zram0 swap runs on zsmalloc.ko again
                                                       deb_zram_on_zsmalloc

The package, guest/deb/run.sh and static builds of guest/progs/zsm_pattern.c
and tools/zsmstat.c go on a second disk (/dev/vdb, read-only). The guest
reports in the protocol of guest/init; the consoles of the three boots
are kept as one log, which scripts/zsm-run.py's parser reads: a kernel
splat fails the test it occurs in, a boot that does not end its stage
stops the run (its tests and the later ones fail). Besides the results
of the four tests it prints

    zsm-metric deb.boot_zram_on_zsm=pass|fail   (deb_install, deb_zram_on_zsm)
    zsm-metric deb.remove=pass|fail       (deb_purge, deb_zram_on_zsmalloc)

With --results FILE the results go to FILE for scripts/zsm-summary.py
(make check) and the summary line is prefixed with the label. The guest
runs under TCG (-accel tcg); nothing is loaded into the host kernel and
the cached image is never written. Exit status non-zero on any failure.

Python 3 standard library only.
"""

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
_spec = importlib.util.spec_from_file_location(
    "zsm_run", os.path.join(HERE, "zsm-run.py"))
zr = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(zr)

# (stage, its tests), in boot order; guest/deb/run.sh has the same list.
STAGES = [
    ("install", ["deb_install"]),
    ("zsm", ["deb_zram_on_zsm", "deb_purge"]),
    ("removed", ["deb_zram_on_zsmalloc"]),
]
# Each summary metric passes when all of its tests pass.
METRICS = [
    ("deb.boot_zram_on_zsm", ["deb_install", "deb_zram_on_zsm"]),
    ("deb.remove", ["deb_purge", "deb_zram_on_zsmalloc"]),
]
TEST_DISK_MIB = 64


def log(msg):
    print("deb-test: %s" % msg, file=sys.stderr, flush=True)


def last_line(cmd):
    """Run a build script (its stderr shown); its last line of output."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit("deb-test: %s failed (status %d)" % (cmd[0], p.returncode))
    lines = p.stdout.strip().splitlines()
    if not lines:
        sys.exit("deb-test: %s printed nothing" % cmd[0])
    return lines[-1]


def test_disk(path, deb, work):
    """The ext4 image of /dev/vdb: run.sh, the package, bin/zsm_pattern
    and bin/zsmstat (static, so that they need nothing of the guest)."""
    d = os.path.join(work, "testdisk")
    os.makedirs(os.path.join(d, "bin"))
    shutil.copy(os.path.join(REPO, "guest", "deb", "run.sh"), d)
    shutil.copy(deb, d)
    for src in ("guest/progs/zsm_pattern.c", "tools/zsmstat.c"):
        out = os.path.join(d, "bin", os.path.basename(src)[:-2])
        subprocess.run(["gcc", "-static", "-O2", "-Wall", "-o", out,
                        os.path.join(REPO, src)], check=True)
    with open(path, "wb") as f:
        f.truncate(TEST_DISK_MIB << 20)
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-L", "ZSMTEST",
                    "-d", d, path], check=True)
    shutil.rmtree(d)


def qemu(img, overlay, disk, stage, args):
    append = ("console=ttyS0 root=/dev/vda rw printk.devkmsg=on "
              "oops=panic panic=-1 pci=noacpi systemd.show_status=error "
              "zsm.deb_stage=%s" % stage)
    return ["qemu-system-x86_64", "-m", str(args.mem), "-smp", "2",
            "-nographic", "-no-reboot", "-nic", "none",
            "-accel", "tcg,thread=%s" % args.tcg_thread, "-cpu", "max",
            "-kernel", os.path.join(img, "vmlinuz"),
            "-initrd", os.path.join(img, "initrd.img"),
            "-append", append,
            "-drive", "file=%s,if=virtio,format=qcow2,cache=unsafe"
            % overlay,
            "-drive", "file=%s,if=virtio,format=raw,readonly=on" % disk]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", metavar="FILE",
                    help="also write results.json to FILE (for "
                    "scripts/zsm-summary.py)")
    ap.add_argument("--label", default="6_1_deb",
                    help="name of this run in --results")
    ap.add_argument("--tcg-thread", default="multi",
                    choices=["multi", "single"],
                    help="one host thread per vCPU, or one for both")
    ap.add_argument("--timeout", type=int, default=1200,
                    help="seconds each boot may take (default 1200)")
    ap.add_argument("--mem", type=int, default=512, help="guest MiB")
    ap.add_argument("--echo", default="progress",
                    choices=["none", "progress", "user", "all"])
    args = ap.parse_args()

    t0 = time.monotonic()
    deb = last_line([os.path.join(HERE, "build-deb.sh")])
    img = last_line([os.path.join(HERE, "deb-image.sh")])
    run = zr.make_run_dir("deb")
    overlay = os.path.join(run, "root.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b",
                    os.path.join(img, "root.img"), "-F", "raw", overlay],
                   check=True)
    disk = os.path.join(run, "test.img")
    test_disk(disk, deb, run)

    logpath = os.path.join(run, "console.log")
    log("console log: %s" % logpath)
    tests = [t for _, ts in STAGES for t in ts]
    boots = {}
    with open(logpath, "w") as combined:
        for stage, ts in STAGES:
            slog = os.path.join(run, "console-%s.log" % stage)
            log("booting the Debian guest, stage %s (%s, %d MiB, timeout "
                "%d s): %s" % (stage, args.tcg_thread, args.mem,
                               args.timeout, ", ".join(ts)))
            b0 = time.monotonic()
            g = zr.Guest(qemu(img, overlay, disk, stage, args), slog,
                         args.echo)
            killed = g.wait(args.timeout)
            boots[stage] = round(time.monotonic() - b0)
            log("stage %s: guest %s after %d s" % (
                stage, "killed (timeout)" if killed else "exited",
                boots[stage]))
            with open(slog, encoding="utf-8", errors="replace") as f:
                text = f.read()
            combined.write(text)
            end = ("zsm-guest-done" if stage == STAGES[-1][0]
                   else "zsm-deb-stage-done %s" % stage)
            if end not in text:
                log("stage %s did not finish: stopping" % stage)
                break
    os.unlink(overlay)
    os.unlink(disk)

    parser = zr.parse_file(logpath, tests)
    status = {r.name: r.status for r in parser.results}
    for name, need in METRICS:
        ok = all(status.get("guest." + t) == "PASS" for t in need)
        parser.metrics[name] = "pass" if ok else "fail"
    for stage, secs in boots.items():
        parser.metrics["deb.%s_boot_seconds" % stage] = secs
    zr.print_failure_context(parser, logpath)
    secs = round(time.monotonic() - t0)
    jpath = os.path.join(run, "results.json")
    zr.write_json(parser, jpath, {"log": logpath, "accel": "tcg",
                                  "seconds": secs, "mode": "deb",
                                  "label": args.label, "kernel_dir": img,
                                  "tests": tests, "mem": args.mem,
                                  "disk": 0})
    if args.results:
        shutil.copyfile(jpath, args.results)
    print("console log: %s" % logpath)
    print("results: %s" % jpath)
    return zr.report(parser, part=args.label if args.results else None)


if __name__ == "__main__":
    sys.exit(main())
