#!/usr/bin/env python3
"""Benchmark the ledger and the response engine (prints figures; not a test).

Builds a ledger of N subjects x 8 time points x 8 lesions (default N = 10000) in one import, then
times `cohort` over all of them and `timeline` for single subjects. Process start (`hepatrack
--version`) is measured in the same run and reported beside the single timeline, as the
reference that a one-subject command cannot beat, and the sqlite3 shell reading the same current
rows as the cohort's floor. Targets (issue 18): cohort under 0.25 s and within 3x of that floor,
a single timeline under 1 ms besides process start, the import under 3 s.

usage: response.py BUILD_DIR [--subjects N]
"""
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("build")
ap.add_argument("--subjects", type=int, default=10000)
ap.add_argument("--keep", metavar="DIR", help="keep the data directory there (for profiling)")
args = ap.parse_args()
ht = os.path.join(args.build, "hepatrack")
work = tempfile.mkdtemp(prefix="ht-bench-response-")
data = os.path.join(work, "data")
rng = random.Random(7)


def subject(i):
    tps = [{"label": f"TP{k}", "date": f"2024-{1 + k:02d}-{1 + (i % 27):02d}", "baseline": k == 0}
           for k in range(8)]
    lesions, assessments = [], []
    for j in range(8):
        role = "target" if j < 4 else ("non-target" if j < 7 else "new")
        lesions.append({"id": f"L{j}", "role": role, "site": "liver" if j % 2 == 0 else "lung",
                        "location": "segment VII" if j == 0 else None})
        size = rng.uniform(12, 60)
        for k in range(8):
            if role == "target":
                size *= rng.uniform(0.8, 1.15)
                a = {"lesion": f"L{j}", "timepoint": f"TP{k}", "long_axis_mm": round(size, 1),
                     "perpendicular_mm": round(size * 0.7, 1), "mean_hu": rng.randint(40, 90)}
            elif role == "non-target":
                a = {"lesion": f"L{j}", "timepoint": f"TP{k}",
                     "state": "present" if k < 6 or rng.random() < 0.9 else "unequivocal_progression"}
            else:
                if k < 4:
                    continue
                a = {"lesion": f"L{j}", "timepoint": f"TP{k}",
                     "state": "equivocal" if k == 4 else "unequivocal", "long_axis_mm": 9 + k}
            assessments.append(a)
    for l in lesions:
        if l["location"] is None:
            del l["location"]
    return {"subject": f"S{i:05d}", "reader": "bench", "timepoints": tps, "lesions": lesions,
            "assessments": assessments}


path = os.path.join(work, "ledger.json")
with open(path, "w") as f:
    json.dump([subject(i) for i in range(args.subjects)], f)
mb = os.path.getsize(path) / 1e6


def timed(*cmd):
    start = time.monotonic()
    p = subprocess.run([ht, "--data", data, *cmd], capture_output=True, text=True)
    elapsed = time.monotonic() - start
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {p.stderr}")
    return elapsed, p.stdout


t_import, _ = timed("measurements", "import", "--enrol", path)
print(f"import: {args.subjects} subjects x 8 time points x 8 lesions ({mb:.0f} MB JSON) "
      f"in {t_import:.2f} s")
cohort = []
for criteria in ("recist1.1", "recist1.1", "mrecist", "choi"):
    t, out = timed("cohort", "--criteria", criteria, "--include-drafts", "--format", "json")
    cohort.append((criteria, t))
n = json.loads(out)["n"]

# The floor no loader can beat: the sqlite3 shell reading the same current rows (ledger_current:
# each record's engine fields, in the loader's order), once printing them and once only touching
# every value (lengths summed: no formatting at all).
FROM = " FROM subjects sj CROSS JOIN ledger_current r ON r.subject = sj.id"
rows_sql = "SELECT sj.subject_id, r.kind, r.key, r.fields" + FROM + " ORDER BY sj.id, r.kind, r.key"
touch_sql = ("SELECT count(*), sum(length(sj.subject_id) + length(r.kind) + length(r.key)"
             " + length(r.fields))" + FROM)


def shell(sql):
    start = time.monotonic()
    subprocess.run(["sqlite3", os.path.join(data, "index.sqlite"), sql], check=True,
                   stdout=subprocess.DEVNULL)
    return time.monotonic() - start


floor_rows = min(shell(rows_sql) for _ in range(3))
floor_touch = min(shell(touch_sql) for _ in range(3))
print(f"floor: the sqlite3 shell printing the current rows {floor_rows * 1000:.0f} ms, "
      f"touching every value {floor_touch * 1000:.0f} ms")
for criteria, t in cohort:
    print(f"cohort --criteria {criteria}: {t * 1000:.0f} ms over {n} subjects "
          f"({t / floor_rows:.2f}x the shell printing the rows, {t / floor_touch:.1f}x touching them; "
          f"target 0.25 s and 3x)")
start = [timed("--version")[0] for _ in range(30)]
single = [timed("timeline", f"S{rng.randrange(args.subjects):05d}", "--include-drafts", "--format", "json")[0]
          for _ in range(50)]
s0, s1 = statistics.median(start), statistics.median(single)
print(f"process start (hepatrack --version), median of 30: {s0 * 1000:.2f} ms")
print(f"single timeline, median of 50: {s1 * 1000:.2f} ms, of which beyond process start: "
      f"{(s1 - s0) * 1000:.2f} ms")
if args.keep:
    shutil.move(data, args.keep)
shutil.rmtree(work)
