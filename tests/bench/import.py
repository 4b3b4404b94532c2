#!/usr/bin/env python3
"""Benchmark `hepatrack import` of a generated 300-slice study (not a test: prints figures).

Reference, measured in the same run on the same files: a durable parallel copy (each file
written, fsync'd, renamed and its folder fsync'd by 8 threads), which is what the file system
alone allows; hepatrack also parses, hashes and indexes. Prints instances/s, MB/s, peak RSS and
the ratio to the reference.

usage: import.py BUILD_DIR [--slices 300] [--runs 3]
"""
import argparse
import concurrent.futures
import os
import resource
import shutil
import subprocess
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("build")
ap.add_argument("--slices", type=int, default=300)
ap.add_argument("--runs", type=int, default=3)
args = ap.parse_args()
hepatrack = os.path.join(args.build, "hepatrack")
gen = os.path.join(args.build, "ht-gen-study")

work = tempfile.mkdtemp(prefix="ht-bench-import-")
study = os.path.join(work, "study")
subprocess.run([gen, "--out", study, "--slices", str(args.slices), "--patient-id", "BENCH"],
               check=True, capture_output=True)
files = sorted(os.path.join(study, f) for f in os.listdir(study))
size_mb = sum(os.path.getsize(f) for f in files) / 1e6


def durable_copy(dest):
    os.makedirs(dest)
    for i in range(256):
        os.mkdir(os.path.join(dest, "%02x" % i))

    def one(item):
        n, src = item
        folder = os.path.join(dest, "%02x" % (n % 256))
        data = open(src, "rb").read()
        tmp = os.path.join(folder, f".tmp-{n}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, data)
        os.fdatasync(fd)
        os.close(fd)
        os.rename(tmp, os.path.join(folder, f"{n}.dcm"))
        dfd = os.open(folder, os.O_RDONLY)
        os.fsync(dfd)
        os.close(dfd)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(one, enumerate(files)))


def timed(fn):
    start = time.monotonic()
    fn()
    return time.monotonic() - start


best_ref, best_ht, peak_kb = None, None, 0
for run in range(args.runs):
    ref_dir = os.path.join(work, f"copy{run}")
    t_ref = timed(lambda: durable_copy(ref_dir))
    data = os.path.join(work, f"data{run}")
    # The data directory exists beforehand, as on a running system.
    subprocess.run([hepatrack, "--data", data, "ls", "patients"], check=True, capture_output=True)
    subprocess.run([hepatrack, "--data", data, "import", files[0]], check=True, capture_output=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t_ht = timed(lambda: subprocess.run([hepatrack, "--data", data, "import", study], check=True,
                                        capture_output=True))
    peak_kb = max(peak_kb, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)
    best_ref = t_ref if best_ref is None else min(best_ref, t_ref)
    best_ht = t_ht if best_ht is None else min(best_ht, t_ht)
    print(f"run {run + 1}: hepatrack {len(files) / t_ht:7.0f} instances/s, "
          f"durable copy {len(files) / t_ref:7.0f} files/s")
    shutil.rmtree(ref_dir)
    shutil.rmtree(data)

n = len(files)
print(f"hepatrack import: {n / best_ht:.0f} instances/s, {size_mb / best_ht:.0f} MB/s "
      f"({n} files, {size_mb:.0f} MB, best of {args.runs})")
print(f"durable parallel copy (reference): {n / best_ref:.0f} files/s")
print(f"ratio hepatrack / reference: {best_ref / best_ht:.2f}")
print(f"peak RSS of hepatrack import: {peak_kb / 1024:.1f} MiB")
shutil.rmtree(work)
