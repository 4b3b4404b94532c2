#!/usr/bin/env python3
"""The archive as it grows (issue 19): an archive grown to N small generated instances, measured
at 0, 10 %, 50 % and 100 % of N (prints a table and draws a PNG chart; not a test).

At each point: C-STORE ingest with 1 and 4 storescu senders (fresh studies of --probe instances
per sender, TCP_NODELAY, 128 KiB PDUs; the median of --reps interleaved sends); query latency over one keep-alive connection (a study by
UID through QIDO-RS and through `hepatrack ls`, a patient's studies through QIDO-RS and the API, a
month of study dates over all studies through QIDO-RS: median and p99); `hepatrack check` (every
file read and hashed) with its time and peak RSS; the size of the index. Between points the
archive grows by `hepatrack import` of generated studies (the ingest measurements' studies stay
and count) (--per-study 32x32 slices each, four
studies per patient, dates spread over 2020-2026), removed once imported.
Targets (issue 19): ingest at N within 10 % of ingest into an empty archive; query p99 under
20 ms at N; `check` in bounded memory (peak RSS flat as N grows).

usage: scale.py BUILD_DIR [--instances 200000] [--per-study 100] [--probe 300] [--reps 3]
                [--requests 200] [--chart scale.png] [--keep DIR]
Needs Debian's dcmtk (storescu) and gnuplot-nox (the chart).
"""
import argparse
import datetime
import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from serving import start_serve

ap = argparse.ArgumentParser()
ap.add_argument("build")
ap.add_argument("--instances", type=int, default=200000)
ap.add_argument("--per-study", type=int, default=100)
ap.add_argument("--probe", type=int, default=300, help="instances per sender at each point")
ap.add_argument("--requests", type=int, default=200, help="queries of each kind at each point")
ap.add_argument("--reps", type=int, choices=range(1, 100), default=3,
                help="ingest measurements at each point (median)")
ap.add_argument("--chart", default="scale.png")
ap.add_argument("--keep", metavar="DIR", help="keep the grown data directory there")
ap.add_argument("--postgresql", action="store_true",
                help="the index on a throwaway PostgreSQL server (tests/tools/pgcluster.py)")
args = ap.parse_args()
for tool in ("storescu", "gnuplot"):
    if not shutil.which(tool):
        sys.exit(f"scale.py: {tool} is missing (apt-get install dcmtk gnuplot-nox)")
work = tempfile.mkdtemp(prefix="ht-bench-scale-")
ht = os.path.join(work, "hepatrack")
gen = os.path.join(args.build, "ht-gen-study")
shutil.copy(os.path.join(args.build, "hepatrack"), ht)  # a rebuild during the run changes nothing
data = os.path.join(work, "data")
rng = random.Random(19)
studies = []  # (study UID, patient ID, study date) of every grown study
probed = 0  # instances the ingest measurements sent (they stay in the archive)
EPOCH = datetime.date(2020, 1, 1)


def run(*cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, **kw)


def grow(to):
    """Import generated studies until the archive holds `to` grown instances."""
    while len(studies) * args.per_study < to:
        batch = os.path.join(work, "batch")
        os.makedirs(batch)
        for _ in range(min(50, (to - len(studies) * args.per_study) // args.per_study or 1)):
            k = len(studies)
            date = (EPOCH + datetime.timedelta(days=(k * 37) % 2500)).strftime("%Y%m%d")
            uid = f"2.25.{rng.getrandbits(120)}"
            run(gen, "--out", os.path.join(batch, f"s{k}"), "--patient-id", f"P{k // 4:06d}",
                "--study-date", date, "--study-uid", uid, "--slices", str(args.per_study),
                "--size", "32", "--pixel", "12.5", "--seed", str(k + 1))
            studies.append((uid, f"P{k // 4:06d}", date))
        run(ht, "--data", data, "import", batch)
        shutil.rmtree(batch)


def ingest_rate(point, senders, dicom_port):
    """Instances per second for `senders` storescu associations of --probe instances each."""
    folders = []
    for j in range(senders):
        folder = os.path.join(work, f"probe-{point}-{senders}-{j}")
        run(gen, "--out", folder, "--patient-id", f"PROBE{point}-{senders}-{j}", "--study-date",
            "20261201", "--slices", str(args.probe), "--size", "32", "--pixel", "12.5", "--seed",
            str(10_000_000 + point * 10 + senders + j))
        folders.append(folder)
    env = dict(os.environ, TCP_NODELAY="1")
    start = time.monotonic()
    procs = [subprocess.Popen(["storescu", "-aec", "HEPATRACK", "-pdu", "131072", "+sd",
                               "127.0.0.1", str(dicom_port), f], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for f in folders]
    for p in procs:
        if p.wait() != 0:
            sys.exit(f"storescu failed: {p.stderr.read().decode()}")
    elapsed = time.monotonic() - start
    for f in folders:
        shutil.rmtree(f)
    return senders * args.probe / elapsed


def latency(conn, paths):
    """Median and p99 in ms of GETs of `paths` (each must answer 200); the first five only warm
    the server's caches after its start, untimed."""
    times = []
    for i, path in enumerate(paths[:5] + paths):
        t = time.perf_counter()
        conn.request("GET", path, headers={"Accept": "application/dicom+json"})
        r = conn.getresponse()
        r.read()
        if i >= 5:
            times.append((time.perf_counter() - t) * 1000)
        if r.status not in (200, 204):
            sys.exit(f"GET {path}: HTTP {r.status}")
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def cli_latency(picks):
    times = []
    for uid in picks:
        t = time.perf_counter()
        run(ht, "--data", data, "ls", "studies", "--study", uid, "--json")
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def queries():
    """Query latencies against a running server (`port`), as {name: (median, p99)}."""
    conn = http.client.HTTPConnection("127.0.0.1", http_port)
    n = args.requests
    picks = [rng.choice(studies) for _ in range(n)] if studies else []
    out = {}
    if picks:
        out["qido study"] = latency(conn, [f"/dicom-web/studies?StudyInstanceUID={s[0]}"
                                           for s in picks])
        out["ls study"] = cli_latency([s[0] for s in picks[:20]])
        out["qido patient"] = latency(conn, [f"/dicom-web/studies?PatientID={s[1]}" for s in picks])
        out["api patient"] = latency(conn, [f"/api/studies?patient={s[1]}" for s in picks])
        months = []
        for s in picks:
            d = datetime.datetime.strptime(s[2], "%Y%m%d").date().replace(day=1)
            end = (d + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
            months.append(f"/dicom-web/studies?StudyDate={d:%Y%m%d}-{end:%Y%m%d}")
        out["qido month"] = latency(conn, months)
    conn.close()
    return out


def check():
    """`hepatrack check`: seconds, peak RSS and peak anonymous memory (MiB). The index is mapped
    into memory (SQLite's mmap), so RSS also counts the index pages read, which are the page
    cache's; RssAnon, sampled every 5 ms, is the process's own."""
    t = time.monotonic()
    p = subprocess.Popen([ht, "--data", data, "check"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    hwm = anon = 0
    while p.poll() is None:
        try:
            with open(f"/proc/{p.pid}/status") as f:
                fields = dict(line.split(":", 1) for line in f)
            hwm = max(hwm, int(fields["VmHWM"].split()[0]))
            anon = max(anon, int(fields["RssAnon"].split()[0]))
        except (OSError, KeyError, ValueError):
            pass
        time.sleep(0.005)
    elapsed = time.monotonic() - t
    if p.returncode != 0:
        sys.exit(f"check failed: {p.stderr.read()}")
    return elapsed, hwm / 1024, anon / 1024


def index_mb():
    if pg:
        size = run("psql", "-X", "-A", "-t", "-d", pg_url, "-c",
                   "SELECT pg_database_size(current_database())").stdout
        return int(size) / 1e6
    return sum(os.path.getsize(os.path.join(data, f)) for f in os.listdir(data)
               if f.startswith("index.sqlite")) / 1e6


pg = pg_url = None
if args.postgresql:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
    from pgcluster import Cluster  # noqa: E402
    pg = Cluster(os.path.join(os.path.abspath(args.build), "pg")).start()
    pg_url = pg.database("scale")

rows = []
try:
    os.makedirs(data)
    if pg:
        with open(os.path.join(data, "index.ini"), "w") as f:
            f.write(f"[index]\nbackend = postgresql\nurl = {pg_url}\n")
    for point, fraction in enumerate((0, 0.1, 0.5, 1.0)):
        grow(int(args.instances * fraction))
        serve, http_port, dicom_port = start_serve(ht, data, os.path.join(work, "serve.log"),
                                                   "--aet", "HEPATRACK")
        try:
            held = len(studies) * args.per_study + probed
            # interleaved repetitions, their median: one short send swings by a quarter here
            rates = [(ingest_rate(point * 1000 + r, 1, dicom_port),
                      ingest_rate(point * 1000 + r, 4, dicom_port)) for r in range(args.reps)]
            probed += args.reps * 5 * args.probe
            one = statistics.median(r[0] for r in rates)
            four = statistics.median(r[1] for r in rates)
            q = queries()
        finally:
            serve.terminate()
            serve.wait()
        seconds, rss, anon = check()
        rows.append({"instances": held, "ingest1": one, "ingest4": four, "queries": q,
                     "check_s": seconds, "check_rss_mib": rss, "check_anon_mib": anon,
                     "index_mb": index_mb()})
        r = rows[-1]
        print(f"at {held:>8} instances: ingest {one:.0f} / {four:.0f} inst/s (1 / 4 senders), "
              + ", ".join(f"{k} {m:.2f}/{p:.2f} ms" for k, (m, p) in q.items())
              + f", check {seconds:.1f} s at {rss:.0f} MiB ({anon:.1f} anonymous), "
              f"index {r['index_mb']:.0f} MB",
              flush=True)
finally:
    if args.keep and os.path.isdir(data):
        shutil.move(data, args.keep)
    if pg:
        pg.stop()

names = list(rows[-1]["queries"])
print("\ninstances  ingest 1  ingest 4  " + "  ".join(f"{n + ' med/p99 ms':>24}" for n in names)
      + "   check s  RSS MiB  anon MiB  index MB")
for r in rows:
    cells = [f"{r['queries'][n][0]:.2f} / {r['queries'][n][1]:.2f}" if n in r["queries"] else "-"
             for n in names]
    print(f"{r['instances']:>9}  {r['ingest1']:>8.0f}  {r['ingest4']:>8.0f}  "
          + "  ".join(f"{c:>24}" for c in cells)
          + f"  {r['check_s']:>8.1f}  {r['check_rss_mib']:>7.0f}  {r['check_anon_mib']:>8.1f}"
          f"  {r['index_mb']:>8.1f}")
first, last = rows[0], rows[-1]
worst = max(last["queries"][n][1] for n in names if not n.startswith("ls "))
print(f"\ningest at N / empty: {last['ingest1'] / first['ingest1']:.2f} (1 sender), "
      f"{last['ingest4'] / first['ingest4']:.2f} (4 senders); target >= 0.90")
print(f"worst HTTP query p99 at N: {worst:.2f} ms; target < 20 ms")
print(f"check peak RSS: {first['check_rss_mib']:.0f} MiB empty, {last['check_rss_mib']:.0f} MiB at N "
      f"(of which the mapped index {last['index_mb']:.0f} MB at most); anonymous memory "
      f"{first['check_anon_mib']:.1f} MiB empty, {last['check_anon_mib']:.1f} MiB at N "
      f"({last['check_anon_mib'] / max(first['check_anon_mib'], 0.1):.2f}x); target flat")

table = os.path.join(work, "scale.dat")
with open(table, "w") as f:
    for r in rows:
        f.write(f"{r['instances']} {r['ingest1']:.1f} {r['ingest4']:.1f} "
                + " ".join(f"{r['queries'][n][1]:.3f}" if n in r["queries"] else "NaN"
                           for n in names)
                + f" {r['check_rss_mib']:.1f} {r['check_s']:.2f} {r['check_anon_mib']:.1f}\n")
plots = ", ".join(f"'{table}' using 1:{4 + i} with linespoints title '{n}'"
                  for i, n in enumerate(names) if not n.startswith("ls "))  # HTTP only
script = f"""
set terminal pngcairo size 1500,450 font 'DejaVu Sans,10'
set output '{os.path.abspath(args.chart)}'
set multiplot layout 1,3 title 'hepatrack archive growth ({args.per_study} instances per study)'
set xlabel 'instances in the archive'
set key bottom left
set title 'C-STORE ingest (inst/s)'
set yrange [0:*]
plot '{table}' using 1:2 with linespoints title '1 sender', '' using 1:3 with linespoints title '4 senders'
set title 'HTTP query p99 (ms)'
set key top left
plot {plots}, 20 with lines dashtype 2 title 'target'
set title 'check: peak memory (MiB) and time (s)'
plot '{table}' using 1:{4 + len(names)} with linespoints title 'RSS MiB', '' using 1:{6 + len(names)} with linespoints title 'anonymous MiB', '' using 1:{5 + len(names)} with linespoints title 'seconds'
unset multiplot
"""
subprocess.run(["gnuplot"], input=script, text=True, check=True)
print(f"chart: {os.path.abspath(args.chart)}")
print("JSON " + json.dumps(rows))
shutil.rmtree(work, ignore_errors=True)
