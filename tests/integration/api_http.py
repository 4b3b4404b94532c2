#!/usr/bin/env python3
"""The HTTP API over real HTTP against a running `hepatrack serve --http-no-auth`: listings with
filters and paging, validation errors naming their parameter, 404s, instance attributes and
files with ETag and long caching, timelines and the cohort in JSON and CSV, and the refusals
of the not-yet-authenticated server.

usage: api_http.py HEPATRACK HT-GEN-STUDY
"""
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from common import Checks, Hepatrack, generate  # noqa: E402

binary, gen = sys.argv[1:3]
t = Checks()
work = tempfile.mkdtemp(prefix="ht-http-")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(path, headers=None):
    req = urllib.request.Request(base + path, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def get_json(path):
    status, headers, body = get(path)
    return status, json.loads(body) if body else None


study = os.path.join(work, "study")
files = generate(gen, study, slices=5, patient_id="HTTP-1", issuer="SITE")
data = os.path.join(work, "data")
ht = Hepatrack(binary, data)
ht.run("import", study, expect=0)
measures = os.path.join(work, "m.json")
with open(measures, "w") as f:
    json.dump({"subject": "H1", "reader": "r", "timepoints": [
        {"label": "BL", "date": "2026-01-01", "baseline": True},
        {"label": "FU1", "date": "2026-03-01", "baseline": False}],
        "lesions": [{"id": "T1", "role": "target", "site": "liver"}],
        "assessments": [{"lesion": "T1", "timepoint": "BL", "long_axis_mm": 40},
                        {"lesion": "T1", "timepoint": "FU1", "long_axis_mm": 20}]}, f)
ht.run("measurements", "import", measures, expect=0)

http_port, dicom_port = free_port(), free_port()
base = f"http://127.0.0.1:{http_port}"
log = open(os.path.join(work, "serve.log"), "w+")
srv = subprocess.Popen([binary, "--data", data, "serve", "--dicom-port", str(dicom_port),
                        "--http-port", str(http_port), "--http-no-auth"], stdout=log, stderr=log)
for _ in range(100):
    try:
        urllib.request.urlopen(base + "/api/patients", timeout=1)
        break
    except Exception:
        time.sleep(0.05)

status, body = get_json("/api/patients")
t.check(status == 200 and body["total"] == 1 and body["items"][0]["PatientID"] == "HTTP-1",
        f"patients: {body}")
status, body = get_json("/api/studies?patient=HTTP-1&issuer=SITE")
t.check(status == 200 and body["total"] == 1, "studies filtered by patient and issuer")
study_uid = body["items"][0]["StudyInstanceUID"]
status, body = get_json(f"/api/series?study={study_uid}")
t.check(status == 200 and body["total"] == 1 and body["items"][0]["NumberOfInstances"] == 5, "series")
series_uid = body["items"][0]["SeriesInstanceUID"]
status, body = get_json(f"/api/instances?series={series_uid}&limit=2&offset=3")
t.check(status == 200 and body["total"] == 5 and [i["InstanceNumber"] for i in body["items"]] == [4, 5],
        f"paging: {body}")
for bad, field in (("limit=0", "limit"), ("limit=abc", "limit"), ("offset=-1", "offset")):
    status, body = get_json(f"/api/instances?{bad}")
    t.check(status == 400 and body["error"]["code"] == "EINVALID" and body["error"]["field"] == field,
            f"{bad} is a 400 naming {field}: {body}")
status, body = get_json("/api/studies?issuer=SITE")
t.check(status == 400 and body["error"]["field"] == "issuer", "issuer without patient")
status, body = get_json("/api/nothing/here")
t.check(status == 404 and body["error"]["code"] == "ENOTFOUND", "unknown route: 404")
status, body = get_json("/api/instances/1.2.3.4")
t.check(status == 404 and body["error"]["code"] == "ENOTFOUND", "unknown instance: 404")

sop = [i["SOPInstanceUID"] for i in ht.json("ls", "instances") if i["InstanceNumber"] == 1][0]
status, body = get_json(f"/api/instances/{sop}")
t.check(status == 200 and body["SOPInstanceUID"] == sop and body["Rows"] == 512, "instance attributes")
status, headers, content = get(f"/api/instances/{sop}/file")
t.check(status == 200 and headers.get("Content-Type") == "application/dicom" and
        content == open(files[0], "rb").read(), "the Part 10 file, byte for byte")
t.check("immutable" in headers.get("Cache-Control", "") and headers.get("ETag"), "ETag and caching")
status, _, content = get(f"/api/instances/{sop}/file", {"If-None-Match": headers.get("ETag")})
t.check(status == 304 and content == b"", "If-None-Match gives 304")

status, body = get_json("/api/subjects")
t.check(status == 200 and body["items"] == ["H1"], "subjects")
status, body = get_json("/api/subjects/H1/timeline?criteria=recist1.1")
t.check(status == 200 and body["timepoints"][1]["target"] == "PR", "timeline JSON")
status, headers, content = get("/api/subjects/H1/timeline?format=csv")
t.check(status == 200 and headers.get("Content-Type", "").startswith("text/csv") and
        content.decode().startswith("label,date,"), "timeline CSV")
status, body = get_json("/api/subjects/H1/timeline?criteria=who")
t.check(status == 400 and body["error"]["field"] == "criteria", "unknown criteria: 400")
status, body = get_json("/api/subjects/NOPE/timeline")
t.check(status == 404, "unknown subject: 404")
status, body = get_json("/api/cohort?format=json")
t.check(status == 200 and body["n"] == 1 and body["orr"]["responders"] == 0, "cohort")
req = urllib.request.Request(base + "/api/patients", method="POST", data=b"{}")
try:
    urllib.request.urlopen(req, timeout=5)
    t.check(False, "POST is refused")
except urllib.error.HTTPError as e:
    t.check(e.code == 405, f"POST is refused with 405 (got {e.code})")
srv.terminate()
t.check(srv.wait(timeout=60) == 0, "exit 0 on SIGTERM")

# Without users yet, the API starts only with --http-no-auth, and only on loopback.
p = subprocess.run([binary, "--data", data, "serve", "--dicom-port", str(free_port()),
                    "--listen", "0.0.0.0", "--http-no-auth", "--check-config"],
                   capture_output=True, text=True)
t.check(p.returncode == 2 and "loopback" in p.stderr, f"--http-no-auth off loopback: {p.stderr}")
sys.exit(t.finish())
