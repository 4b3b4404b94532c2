#!/usr/bin/env python3
"""/pixels on the wire (issue 18): a slice's stored samples, plain and with the deflate content
coding, over one keep-alive connection; prints milliseconds and bytes per slice beside Python's
zlib at levels 1 and 6 compressing the same samples in this process, the reference of what
zlib would have sent (not a test).

usage: pixels.py BUILD_DIR [--slices 20] [--requests 200]
Needs Debian's python3-pydicom and python3-numpy (the bench kit's gen_study.py).
"""
import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import zlib

from serving import start_serve

ap = argparse.ArgumentParser()
ap.add_argument("build")
ap.add_argument("--slices", type=int, default=20)
ap.add_argument("--requests", type=int, default=200)
args = ap.parse_args()
here = os.path.dirname(os.path.abspath(__file__))
kit = os.path.join(here, "..", "..", "..", "shared", "bench")
work = tempfile.mkdtemp(prefix="ht-bench-pixels-")
ht = os.path.join(work, "hepatrack")
shutil.copy(os.path.join(args.build, "hepatrack"), ht)  # a rebuild during the run changes nothing
study, data = os.path.join(work, "study"), os.path.join(work, "data")
subprocess.run(["/usr/bin/python3", os.path.join(kit, "gen_study.py"), "--out", study, "--slices",
                str(args.slices)], check=True, stdout=subprocess.DEVNULL)
subprocess.run([ht, "--data", data, "import", study], check=True, stdout=subprocess.DEVNULL)
listing = subprocess.run([ht, "--data", data, "ls", "instances", "--json"], check=True,
                         capture_output=True, text=True).stdout

sops = [i["SOPInstanceUID"] for i in json.loads(listing)]


serve, port, _ = start_serve(ht, data, os.path.join(work, "serve.log"))
try:
    conn = http.client.HTTPConnection("127.0.0.1", port)

    def fetch(sop, coding):
        conn.request("GET", f"/api/instances/{sop}/frames/1/pixels",
                     headers={"Accept-Encoding": coding})
        r = conn.getresponse()
        body = r.read()
        assert r.status == 200, f"HTTP {r.status} for {sop}"
        return body, r.getheader("Content-Encoding")

    times = {"identity": [], "deflate": []}
    sizes = {"identity": [], "deflate": []}
    samples = {}
    for i in range(args.requests):  # alternate the codings so that both see the same machine
        sop = sops[i % len(sops)]
        for coding in ("identity", "deflate"):
            t = time.perf_counter()
            body, enc = fetch(sop, coding)
            times[coding].append((time.perf_counter() - t) * 1000)
            sizes[coding].append(len(body))
            if coding == "identity":
                samples[sop] = body
            else:
                assert enc == "deflate" and zlib.decompress(body) == samples[sop], "deflate round trip"
    print(f"{'/pixels, 512x512 int16':<28}{'median ms':>10}{'p90 ms':>8}{'bytes':>10}{'ratio':>7}")
    plain = statistics.mean(sizes["identity"])
    for coding in ("identity", "deflate"):
        ts = sorted(times[coding])
        size = statistics.mean(sizes[coding])
        print(f"{'hepatrack ' + coding:<28}{statistics.median(ts):>10.2f}"
              f"{ts[int(len(ts) * 0.9)]:>8.2f}{size:>10.0f}{plain / size:>7.2f}")
    for level in (1, 6):  # the reference: zlib on the same samples, no network
        ts, out = [], []
        for body in samples.values():
            t = time.perf_counter()
            out.append(len(zlib.compress(body, level)))
            ts.append((time.perf_counter() - t) * 1000)
        print(f"{'zlib level %d (in process)' % level:<28}{statistics.median(ts):>10.2f}"
              f"{sorted(ts)[int(len(ts) * 0.9)]:>8.2f}{statistics.mean(out):>10.0f}"
              f"{plain / statistics.mean(out):>7.2f}")
finally:
    serve.terminate()
    serve.wait()
    shutil.rmtree(work, ignore_errors=True)
