#!/usr/bin/env python3
"""A full disk and a read-only data directory: a clear error, and an archive and index that
`hepatrack check` finds consistent. Uses small tmpfs mounts, so it needs root (exit 77 skips).

usage: faults.py HEPATRACK HT-GEN-STUDY
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from common import Checks, Hepatrack, generate  # noqa: E402

binary, gen = sys.argv[1:3]
if os.geteuid() != 0:
    print("skipped: needs root to mount a tmpfs")
    sys.exit(77)

t = Checks()


def mount_tmpfs(size):
    where = tempfile.mkdtemp(prefix="ht-fault-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", where], check=True)
    return where


def umount(where):
    subprocess.run(["umount", where], check=False)
    os.rmdir(where)


with tempfile.TemporaryDirectory() as tmp:
    study = generate(gen, os.path.join(tmp, "s"), slices=24, patient_id="FAULT-1")

    # Disk full: 24 slices of 0.5 MB do not fit in 6 MB.
    where = mount_tmpfs("6m")
    try:
        ht = Hepatrack(binary, os.path.join(where, "data"))
        p = ht.run("import", os.path.join(tmp, "s"))
        t.check(p.returncode == 2, f"disk full: exit {p.returncode}")
        t.check("no space left" in p.stderr.lower(), f"disk full: message: {p.stderr.strip()}")
        c = ht.run("check", "--json")
        t.check(c.returncode == 0, f"disk full: consistent afterwards: {c.stdout}")
        # Whatever was reported imported is there and intact; nothing else is.
        n = len(ht.json("ls", "instances"))
        t.check(n < 24, f"disk full: {n} instances indexed")
    finally:
        umount(where)

    # Read-only: import two slices, remount read-only, try the rest.
    where = mount_tmpfs("64m")
    try:
        ht = Hepatrack(binary, os.path.join(where, "data"))
        ht.run("import", study[0], study[1], expect=0)
        subprocess.run(["mount", "-o", "remount,ro", where], check=True)
        p = ht.run("import", os.path.join(tmp, "s"))
        t.check(p.returncode == 2, f"read-only: exit {p.returncode}")
        t.check("read-only" in p.stderr.lower() or "permission" in p.stderr.lower(),
                f"read-only: message: {p.stderr.strip()}")
        subprocess.run(["mount", "-o", "remount,rw", where], check=True)
        t.check(ht.run("check").returncode == 0, "read-only: consistent afterwards")
        t.check(len(ht.json("ls", "instances")) == 2, "read-only: the first two are intact")
        r = ht.json("import", os.path.join(tmp, "s"))
        t.check(r["new"] == 22 and r["duplicate"] == 2, f"writable again: {r}")
    finally:
        umount(where)

sys.exit(t.finish())
