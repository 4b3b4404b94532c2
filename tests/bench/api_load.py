#!/usr/bin/env python3
"""The API under load (issue 18): GET /api/cohort and a subject's timeline from 50 concurrent
clients, with Apache's `ab` (Debian apache2-utils) on loopback; prints requests per second and the
99th percentile (not a test).

usage: api_load.py BUILD_DIR [--data DIR] [--subjects N] [--clients 50]
Without --data, a ledger of N subjects x 8 time points x 8 lesions is built first (response.py's).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

from serving import start_serve

ap = argparse.ArgumentParser()
ap.add_argument("build")
ap.add_argument("--data")
ap.add_argument("--subjects", type=int, default=10000)
ap.add_argument("--clients", type=int, default=50)
args = ap.parse_args()
if not shutil.which("ab"):
    sys.exit("ab is missing: apt-get install apache2-utils")
ht = os.path.join(args.build, "hepatrack")
work = tempfile.mkdtemp(prefix="ht-bench-api-")
data = args.data
if not data:
    data = os.path.join(work, "data")
    here = os.path.dirname(os.path.abspath(__file__))
    subprocess.run([sys.executable, os.path.join(here, "response.py"), args.build, "--subjects",
                    str(args.subjects), "--keep", data], check=True, stdout=subprocess.DEVNULL)


serve, port, _ = start_serve(ht, data, os.path.join(work, "serve.log"))
base = f"http://127.0.0.1:{port}"
subject = "S00042"


def load(path, requests):
    # keep-alive, as HTTP/1.1 clients do: without it, 50 clients opening a connection per
    # request from one address outrun the server's limit of 64 connections an address (closed
    # ones count until they are reaped) and some are refused
    p = subprocess.run(["ab", "-q", "-k", "-n", str(requests), "-c", str(args.clients), base + path],
                       capture_output=True, text=True)
    rps = re.search(r"Requests per second:\s+([\d.]+)", p.stdout)
    p99 = re.search(r"^\s+99%\s+(\d+)", p.stdout, re.M)
    failed = re.search(r"Failed requests:\s+(\d+)", p.stdout)
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", p.stdout)
    if not rps or not p99:
        log.seek(0)
        said = [line for line in log.read().splitlines() if "event=request" not in line]
        sys.exit(f"ab failed on {path}: {p.stdout[-400:]} {p.stderr[-400:]}\n" + "\n".join(said[-5:]))
    print(f"{path}: {float(rps.group(1)):.1f} requests/s, p99 {p99.group(1)} ms over {requests} "
          f"requests from {args.clients} clients (failed {failed.group(1) if failed else 0}, "
          f"non-2xx {non2xx.group(1) if non2xx else 0})")


try:
    load("/api/cohort?include_drafts=1", 500)
    load(f"/api/subjects/{subject}/timeline?include_drafts=1", 5000)
finally:
    serve.terminate()
    serve.wait(timeout=30)
    shutil.rmtree(work, ignore_errors=True)
