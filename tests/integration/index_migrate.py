#!/usr/bin/env python3
"""`hepatrack index migrate --to URL`: the demo trial's SQLite index (studies, a conflict, the
ledger's signed reads and audit, SR reports read back, users) moved to PostgreSQL answers every
listing, timeline, cohort and history exactly as before; new instances and records go on from
there; `check` is clean. Refusals leave the data directory as it was: a database that is not
empty, a URL that is not PostgreSQL, an index already moved.

Run under tests/tools/pgcluster.py (HT_TEST_PG_ADMIN names the cluster's maintenance database).

usage: index_migrate.py HEPATRACK HT-GEN-STUDY
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from common import Checks, Hepatrack, generate  # noqa: E402

binary, gen = sys.argv[1:3]
admin = os.environ.get("HT_TEST_PG_ADMIN")
if not admin:
    print("skipped: run under tests/tools/pgcluster.py")
    sys.exit(77)
t = Checks()
work = tempfile.mkdtemp(prefix="ht-migrate-")
data = os.path.join(work, "data")
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def database(name, *tables):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", admin, "-c",
                    f'CREATE DATABASE "{name}"'], check=True, capture_output=True)
    url = admin.replace("postgresql:///postgres?", f"postgresql:///{name}?", 1)
    for sql in tables:
        subprocess.run(["psql", "-X", "-q", "-d", url, "-c", sql], check=True, capture_output=True)
    return url


# The demo trial, and a conflict: the same SOP Instance UIDs with other pixels.
env = dict(os.environ, HT_DEMO_NO_SERVE="1")
p = subprocess.run(["sh", os.path.join(root, "tools", "demo.sh"), os.path.dirname(binary), data,
                    "0", "0", "1"], env=env, capture_output=True, text=True)
if p.returncode != 0:
    raise SystemExit("demo.sh: " + p.stdout[-1000:] + p.stderr[-1000:])
h = Hepatrack(binary, data)
generate(gen, os.path.join(work, "one"), slices=3, size=32, study_uid="2.25.77", seed=1)
generate(gen, os.path.join(work, "two"), slices=3, size=32, study_uid="2.25.77", seed=2)
h.run("import", os.path.join(work, "one"), expect=0)
h.run("import", os.path.join(work, "two"))
h.run("trial", "set", "sd_min_days", "42")


def answers():
    """What the index answers, command by command."""
    out = {}
    for kind in ("patients", "studies", "series", "instances", "conflicts"):
        out["ls " + kind] = h.json("ls", kind)
    for subject in ("S01", "S02", "S03"):
        out["timeline " + subject] = h.json("timeline", subject)
        out["history " + subject] = h.json("history", subject)
    out["cohort"] = h.json("cohort")
    out["trial"] = h.run("trial", "show", expect=0).stdout
    out["users"] = h.run("user", "list", expect=0).stdout
    return out


before = answers()
t.check(len(before["ls conflicts"]) == 3, f"a conflict per instance ({len(before['ls conflicts'])})")

# Refusals: nothing changes in the data directory.
busy = database("busy", "CREATE TABLE other (x int)")
for url, why in ((busy, "not empty"), ("mysql://localhost/x", "not a PostgreSQL URL"),
                 (admin.replace("host=", "host=/nonexistent"), "connecting")):
    p = h.run("index", "migrate", "--to", url)
    t.check(p.returncode != 0 and why in p.stderr, f"refused ({why}): {p.stderr.strip()}")
t.check(not os.path.exists(os.path.join(data, "index.ini")), "a refusal writes no index.ini")

# The move.
url = database("moved")
p = h.run("index", "migrate", "--to", url)
t.check(p.returncode == 0, f"index migrate: {p.stderr}")
print(p.stdout)
identical = [line for line in p.stdout.splitlines() if line.endswith("identical")]
t.check(len(identical) == 17, f"every table compared ({len(identical)} of 17)")
t.check("ledger_records" in p.stdout and "instances" in p.stdout, "tables named")
show = h.run("index", "show", expect=0).stdout
t.check("backend: postgresql" in show and "schema version: 13" in show, f"index show: {show}")
after = answers()
for key in before:
    t.check(before[key] == after[key], f"{key}: the same answer from PostgreSQL")
c = h.run("check")
t.check(c.returncode == 0, f"check is clean on PostgreSQL: {c.stdout[-300:]}")

# It goes on from there: new ids follow the copied ones.
generate(gen, os.path.join(work, "three"), slices=4, size=32, patient_id="AFTER")
p = h.run("import", os.path.join(work, "three"))
t.check(p.returncode == 0 and "4 new" in p.stdout, f"an import after the move: {p.stdout} {p.stderr}")
p = subprocess.run([binary, "--data", data, "user", "add", "later", "--role", "radiologist",
                    "--password-stdin"], input="later-password\n", capture_output=True, text=True)
t.check(p.returncode == 0, f"a user added after the move: {p.stderr}")
p = h.run("subject", "add", "S99")
t.check(p.returncode == 0, f"a subject enrolled after the move: {p.stderr}")
t.check(len(h.json("ls", "instances")) == len(before["ls instances"]) + 4, "the new instances listed")
p = h.run("index", "migrate", "--to", database("again"))
t.check(p.returncode != 0 and "already on PostgreSQL" in p.stderr, f"moved once: {p.stderr}")

shutil.rmtree(work, ignore_errors=True)
sys.exit(t.finish())
