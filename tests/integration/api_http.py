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
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib

sys.path.insert(0, os.path.dirname(__file__))
from common import Checks, Hepatrack, free_port, generate, png_decode  # noqa: E402

binary, gen = sys.argv[1:3]
t = Checks()
work = tempfile.mkdtemp(prefix="ht-http-")


def get(path, headers=None):
    req = urllib.request.Request(base + path, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def voi(x, center, width):
    """PS3.3 C.11.2.1.2.1, to 0..255."""
    if x <= center - 0.5 - (width - 1) / 2:
        return 0
    if x > center - 0.5 + (width - 1) / 2:
        return 255
    y = ((x - (center - 0.5)) / (width - 1) + 0.5) * 255
    return min(255, max(0, int(y + 0.5)))


def post_json(path, body):
    req = urllib.request.Request(base + path, method="POST", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


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
ht.run("measurements", "import", "--enrol", measures, expect=0)

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
status, body = get_json("/api/lesion-states")
t.check(status == 200 and body["target"] == ["too_small", "absent", "not_evaluable", "merged"] and
        "unequivocal_progression" in body["non-target"] and body["new"] == ["equivocal", "unequivocal", "absent"],
        f"the states each role allows come from the ledger: {body}")
status, body = get_json("/api/nothing/here")
t.check(status == 404 and body["error"]["code"] == "ENOTFOUND", "unknown route: 404")
status, body = get_json("/api/instances/1.2.3.4")
t.check(status == 404 and body["error"]["code"] == "ENOTFOUND", "unknown instance: 404")

sop = [i["SOPInstanceUID"] for i in ht.json("ls", "instances") if i["InstanceNumber"] == 1][0]
status, headers, content = get(f"/api/instances/{sop}")
body = json.loads(content)
t.check(status == 200 and headers.get("Content-Type") == "application/dicom+json" and
        body["00080018"] == {"vr": "UI", "Value": [sop]} and body["00280010"] == {"vr": "US", "Value": [512]} and
        body["00100020"]["Value"] == ["HTTP-1"] and
        body["7FE00010"] == {"vr": "OW", "BulkDataURI": f"/api/instances/{sop}/bulkdata/7FE00010"},
        f"instance attributes as DICOM JSON (PS3.18 F.2): {str(body)[:300]}")
t.check("00020010" not in body, "no File Meta in the dataset's JSON")
status, _, content = get(f"/api/instances/{sop}", {"If-None-Match": headers.get("ETag")})
t.check(status == 304, "DICOM JSON: If-None-Match gives 304")
status, headers, content = get(f"/api/instances/{sop}/file")
t.check(status == 200 and headers.get("Content-Type") == "application/dicom" and
        content == open(files[0], "rb").read(), "the Part 10 file, byte for byte")
t.check("immutable" in headers.get("Cache-Control", "") and headers.get("ETag"), "ETag and caching")
status, _, content = get(f"/api/instances/{sop}/file", {"If-None-Match": headers.get("ETag")})
t.check(status == 304 and content == b"", "If-None-Match gives 304")

# Frames: the stored samples, and PNGs windowed as the standard says.
frame = f"/api/instances/{sop}/frames/1"
stored = open(files[0], "rb").read()[-512 * 512 * 2:]  # Pixel Data is the file's last element
status, headers, content = get(frame + "/pixels", {"Accept-Encoding": "deflate"})
t.check(status == 200 and headers.get("Content-Encoding") == "deflate" and
        zlib.decompress(content) == stored, "pixels: the stored samples, deflated on the wire")
t.check((headers.get("X-Rows"), headers.get("X-Columns"), headers.get("X-Sample-Format"),
         headers.get("X-Signed"), headers.get("X-Rescale-Slope"), headers.get("X-Rescale-Intercept"))
        == ("512", "512", "int16", "1", "1", "-1024") and headers.get("X-Pixel-Spacing"),
        f"pixels described in headers: {headers}")
status, _, again = get(frame + "/pixels", {"Accept-Encoding": "deflate", "If-None-Match": headers.get("ETag")})
t.check(status == 304 and again == b"", f"the deflated pixels' ETag gives 304 ({status})")
status, headers, refused = get(frame + "/pixels", {"Accept-Encoding": "gzip, deflate;q=0"})
t.check(refused == stored and "Content-Encoding" not in headers, "deflate;q=0 is honoured")
status, headers, plain = get(frame + "/pixels")
t.check(status == 200 and plain == stored and "Content-Encoding" not in headers, "pixels uncompressed")
samples = struct.unpack(f"<{512 * 512}h", stored)
status, headers, content = get(frame + "/rendered?wc=40&ww=400")
width, height, channels, rows = png_decode(content)
t.check(status == 200 and headers.get("Content-Type") == "image/png" and
        (width, height, channels) == (512, 512, 1), f"rendered: a 512x512 grey PNG ({width}x{height})")
wrong = sum(1 for y in range(512) for x in range(512)
            if rows[y][x] != voi(samples[y * 512 + x] - 1024, 40, 400))
t.check(wrong == 0, f"every pixel windowed W400/L40 as PS3.3 C.11.2.1.2.1 says ({wrong} differ)")
status, _, liver = get(frame + "/rendered?window=liver")
_, _, _, liver_rows = png_decode(liver)
t.check(status == 200 and liver_rows[256][256] == voi(samples[256 * 512 + 256] - 1024, 90, 150),
        "the liver preset is W150/L90")
lo, hi = min(samples) - 1024, max(samples) - 1024  # window=full: the frame's whole range
status, _, full = get(frame + "/rendered?window=full")
_, _, _, full_rows = png_decode(full)
wrong = sum(1 for y in range(0, 512, 7) for x in range(0, 512, 5)
            if full_rows[y][x] != voi(samples[y * 512 + x] - 1024, (lo + hi + 1) / 2, hi - lo + 1))
t.check(status == 200 and wrong == 0 and min(map(min, full_rows)) == 0 and
        max(map(max, full_rows)) == 255, f"window=full stretches {lo}..{hi} HU over 0..255 ({wrong} differ)")
status, headers, small = get(frame + "/rendered?size=128")
t.check(status == 200 and png_decode(small)[:2] == (128, 128) and "immutable" in
        headers.get("Cache-Control", ""), "size=128 gives 128x128, cached for good")
status, _, again = get(frame + "/rendered?size=128", {"If-None-Match": headers.get("ETag")})
t.check(status == 304, "rendered: If-None-Match gives 304")
for bad, field, code in (("rendered?window=abdomen", "window", 400), ("rendered?wc=40", "ww", 400),
                         ("rendered?wc=40&ww=0", "ww", 400), ("rendered?size=5000", "size", 400),
                         ("rendered?wc=x&ww=3", "wc", 400), ("rendered?window=lung&wc=1&ww=2", "window", 400)):
    status, body = get_json(f"{frame}/{bad}")
    t.check(status == code and body["error"].get("field") == field, f"{bad}: {code} naming {field}: {body}")
status, body = get_json(f"/api/instances/{sop}/frames/2/pixels")
t.check(status == 404 and "frame 2" in body["error"]["message"], f"a frame beyond the last: 404 {body}")
status, body = get_json(f"/api/instances/{sop}/frames/0/rendered")
t.check(status == 400 and body["error"]["field"] == "frame", "frames count from 1")

# A series' thumbnail: its middle image (instance 3 of 5) as /rendered draws it, kept on disk.
status, body = get_json(f"/api/series?study={study_uid}")
frame_uid = body["items"][0].get("FrameOfReferenceUID", "")
t.check(frame_uid.startswith("2.25."), f"series rows name their Frame of Reference: {body['items'][0]}")
middle = [i["SOPInstanceUID"] for i in ht.json("ls", "instances") if i["InstanceNumber"] == 3][0]
thumbnail = f"/api/series/{series_uid}/thumbnail"
status, headers, content = get(thumbnail)
_, _, expected = get(f"/api/instances/{middle}/frames/1/rendered?size=128")
t.check(status == 200 and headers.get("Content-Type") == "image/png" and content == expected,
        "the thumbnail is the middle image rendered at 128 pixels")
t.check(headers.get("Cache-Control") == "private, no-cache" and headers.get("ETag"),
        f"a thumbnail is revalidated, since its series may grow: {headers.get('Cache-Control')}")
cache = os.path.join(data, "cache", "thumbnails")
kept = os.listdir(cache) if os.path.isdir(cache) else []
t.check(len(kept) == 1 and open(os.path.join(cache, kept[0]), "rb").read() == content,
        f"rendered once and kept under the data directory: {kept}")
status, _, again = get(thumbnail, {"If-None-Match": headers.get("ETag")})
t.check(status == 304 and again == b"", "thumbnail: If-None-Match gives 304")
status, _, big = get(thumbnail + "?size=64")
t.check(status == 200 and png_decode(big)[:2] == (64, 64), "thumbnail size=64")
for bad, code, field in (("?size=8", 400, "size"), ("?size=513", 400, "size"), ("?size=x", 400, "size")):
    status, body = get_json(thumbnail + bad)
    t.check(status == code and body["error"].get("field") == field, f"thumbnail{bad}: {code} {body}")
status, body = get_json("/api/series/1.2.3.4/thumbnail")
t.check(status == 404 and "1.2.3.4" in body["error"]["message"], f"an unknown series: 404 {body}")

# Studies that no time point lists yet; listing one in a time point assigns it.
status, body = get_json("/api/studies?unassigned=1")
t.check(status == 200 and [s["StudyInstanceUID"] for s in body["items"]] == [study_uid],
        f"the study is not assigned yet: {body}")
t.check([s["StudyInstanceUID"] for s in ht.json("ls", "studies", "--unassigned")] == [study_uid],
        "ls studies --unassigned")
status, body = get_json("/api/series?unassigned=1")
t.check(status == 400 and body["error"]["field"] == "unassigned", "unassigned is for studies only")
req = urllib.request.Request(base + "/api/measurements", method="POST", data=json.dumps(
    {"subject": "H1", "reader": "r", "reason": "study linked", "timepoints": [
        {"label": "BL", "date": "2026-01-01", "baseline": True, "study_uids": [study_uid]}]}).encode())
with urllib.request.urlopen(req, timeout=30) as r:
    t.check(json.loads(r.read())["corrections"] == 1, "the baseline now lists the study")
status, body = get_json("/api/studies?unassigned=1")
t.check(status == 200 and body["total"] == 0, f"assigned studies are no longer listed: {body}")
status, body = get_json("/api/studies?unassigned=0")
t.check(status == 200 and body["total"] == 1, "unassigned=0 lists them all")

# Proposals of time points from the linked patient's studies, then measurements drawn on a
# slice: lengths from Pixel Spacing (0.78125 mm) and the ellipse's mean density, server-side.
status, body = post_json("/api/subjects", {"subject": "H2", "dicom_patients": [{"id": "HTTP-1", "issuer": "SITE"}]})
t.check(status == 201 and body == {"subject": "H2"}, f"a subject enrolled, linked to patient HTTP-1: {body}")
status, body = post_json("/api/subjects", {"subject": "H2"})
t.check(status == 409, f"enrolling it again: 409 ({status} {body})")
status, body = post_json("/api/measurements", {"subject": "H3", "reader": "r", "timepoints": []})
t.check(status == 404 and "no such subject H3" in body["error"]["message"], f"a read for a subject not enrolled: {body}")
status, body = post_json("/api/measurements", {"subject": "H2", "reader": "r", "death_date": "2026-02-01"})
t.check(status == 403 and "death_date" in body["error"]["message"], f"a read does not set a subject's dates: {body}")
h2 = {"subject": "H2", "reader": "r"}
status, body = get_json("/api/subjects/H2/proposals")
t.check(status == 200 and len(body["items"]) == 1 and body["items"][0]["study_uid"] == study_uid and
        body["items"][0]["timepoint"] == "BL" and body["items"][0]["baseline"] is True and
        body["items"][0]["study_date"] == "2026-01-05", f"the study is proposed as the baseline: {body}")
sop3 = [i for i in get_json(f"/api/instances?series={series_uid}")[1]["items"] if i["InstanceNumber"] == 3][0]["SOPInstanceUID"]
centre = ((-80 + 199.609375) / 0.78125 + 0.5, (-20 + 199.609375) / 0.78125 + 0.5)  # the 30 mm lesion
drawn = {**h2, "timepoints": [{"label": "BL", "date": "2026-01-05", "baseline": True, "study_uids": [study_uid]}],
         "lesions": [{"id": "T1", "role": "target", "site": "liver"},
                     {"id": "N1", "role": "target", "site": "lymph node", "nodal": True}],
         "assessments": [
             {"lesion": "T1", "timepoint": "BL", "tool": "length", "sop_uid": sop3, "frame": 1,
              "points": [[100.5, 200.5], [140.5, 200.5]],
              "roi": [[centre[0] - 12, centre[1] - 12], [centre[0] + 12, centre[1] + 12]]},
             {"lesion": "N1", "timepoint": "BL", "tool": "bidirectional", "sop_uid": sop3, "frame": 1,
              "points": [[10, 10], [50, 10], [30, 0], [30, 20]]}]}
for change, field, what in (
        ({"long_axis_mm": 25}, "long_axis_mm", "computed from the points (31.3)"),
        ({"sop_uid": "1.2.3.4"}, None, "no stored instance"),
        ({"frame": 2}, None, "no frame 2"),
        ({"frame": None}, None, "frame must be"),
        ({"points": [[1, 1]]}, None, "points must be 2"),
        ({"tool": "angle"}, None, "tool must be"),
        ({"roi": [[0, 0], [0.2, 0.2]]}, None, "no pixel centre")):
    bad = json.loads(json.dumps(drawn))
    bad["assessments"][0].update(change)
    status, body = post_json("/api/measurements", bad)
    t.check(status in (400, 404) and what in body["error"]["message"] and "lesion T1" in body["error"]["message"],
            f"a drawn measurement with {change} is refused: {status} {body}")
t.check(get_json("/api/subjects/H2")[1]["assessments"] == [], "nothing of the refused measurements was stored")
tilted = json.loads(json.dumps(drawn))
tilted["assessments"][1]["points"] = [[10, 10], [50, 10], [28, 0], [34, 20]]
status, body = post_json("/api/measurements", tilted)
t.check(status == 400 and "perpendicular" in body["error"]["message"], f"a tilted short axis: {body}")
# The body is parsed once, with duplicate keys refused: the last one does not silently win.
twice = json.dumps(drawn)[:-1] + ', "subject": "H3"}'
req = urllib.request.Request(base + "/api/measurements", method="POST", data=twice.encode(),
                             headers={"Content-Type": "application/json"})
try:
    urllib.request.urlopen(req, timeout=30)
    status, body = 200, {}
except urllib.error.HTTPError as e:
    status, body = e.code, json.loads(e.read())
t.check(status == 400 and body["error"]["code"] == "EPARSE" and "duplicate" in body["error"]["message"],
        f"a key given twice in a measurement body is refused: {status} {body}")
status, body = post_json("/api/measurements", drawn)
t.check(status == 200 and body["new_records"] == 5, f"drawn measurements stored: {body}")
status, rec = get_json("/api/subjects/H2")
by_lesion = {a["lesion"]: a for a in rec["assessments"]}
t1, n1 = by_lesion.get("T1", {}), by_lesion.get("N1", {})
t.check(t1.get("long_axis_mm") == 31.3 and t1.get("points") == [[100.5, 200.5], [140.5, 200.5]] and
        t1.get("sop_uid") == sop3 and t1.get("frame") == 1 and t1.get("tool") == "length",
        f"40 pixels of 0.78125 mm: 31.3 mm, stored with its points, instance and frame: {t1}")
t.check(abs(t1.get("mean_hu", 0) - 44.5) <= 1.5 and t1.get("roi") is not None,
        f"the ellipse inside the 45 HU lesion: mean {t1.get('mean_hu')} HU")
t.check(n1.get("long_axis_mm") == 31.3 and n1.get("short_axis_mm") == 15.6 and "perpendicular_mm" not in n1,
        f"a node's bidirectional caliper gives its long and short axes: {n1}")
t.check(rec["timepoints"][0]["study_uids"] == [study_uid] and rec["timepoints"][0]["read_status"] == "draft" and
        {l["id"]: l["nodal"] for l in rec["lesions"]} == {"T1": False, "N1": True} and
        [(p["id"], p["issuer"], p["recorded_by"]) for p in rec["dicom_patients"]] == [("HTTP-1", "SITE", "no-auth")],
        f"the subject's records: {rec}")
status, body = get_json("/api/subjects/H2/proposals")
t.check(status == 200 and body["items"] == [], "an assigned study is no longer proposed")
again = json.loads(json.dumps(drawn))
again["assessments"][0]["long_axis_mm"] = 31.3  # sent back as read: the same value passes
status, body = post_json("/api/measurements", again)
t.check(status == 200 and body["unchanged"] == 5 and body["new_records"] == 0, f"the same drawing again changes nothing: {body}")
# A measurement on an image of another time point's study is refused (provenance); FU1 lists
# the study its split target is drawn on.
status, body = post_json("/api/measurements", {**h2, "timepoints": [{"label": "FU1", "date": "2026-03-01", "baseline": False}],
                                               "assessments": [{"lesion": "T1", "timepoint": "FU1", "long_axis_mm": 20,
                                                                "sop_uid": sop3, "frame": 1}]})
t.check(status == 400 and f"sop_uid {sop3} is an image of patient HTTP-1@SITE" in body["error"]["message"] and
        "the time point lists no study" in body["error"]["message"], f"an image of a study FU1 does not list: {body}")
status, body = post_json("/api/measurements", {**h2, "timepoints": [{"label": "FU1", "date": "2026-03-01", "baseline": False,
                                                                      "study_uids": ["1.2.3.999"]}]})
t.check(status == 400 and "study 1.2.3.999 is not in the index" in body["error"]["message"],
        f"a study not in the index is refused on the API: {body}")
split = {**h2, "timepoints": [{"label": "FU1", "date": "2026-03-01", "baseline": False, "study_uids": [study_uid]}],
         "assessments": [{"lesion": "T1", "timepoint": "FU1", "tool": "fragments", "sop_uid": sop3,
                          "frame": 1, "points": [[100, 200], [116, 200], [100, 220], [108, 220]]}]}
odd = json.loads(json.dumps(split))
odd["assessments"][0]["points"] = odd["assessments"][0]["points"][:3]
status, body = post_json("/api/measurements", odd)
t.check(status == 400 and "fragments" in body["error"]["message"], f"a split target needs pairs of points: {body}")
status, body = post_json("/api/measurements", split)
fu1 = [a for a in get_json("/api/subjects/H2")[1]["assessments"] if a["timepoint"] == "FU1"]
t.check(status == 200 and fu1 and fu1[0].get("fragments_mm") == [12.5, 6.3] and fu1[0]["tool"] == "fragments",
        f"a split target: a length per fragment, 16 and 8 pixels of 0.78125 mm: {fu1}")

# A correction changes only the groups it names (size, density, state); a null removes one.
def h2_assessment(lesion, tp):
    return next(a for a in get_json("/api/subjects/H2")[1]["assessments"] if a["lesion"] == lesion and a["timepoint"] == tp)


ellipse = [[centre[0] - 10, centre[1] - 10], [centre[0] + 10, centre[1] + 10]]
status, body = post_json("/api/measurements", {**h2, "assessments": [
    {"lesion": "N1", "timepoint": "BL", "roi": ellipse, "sop_uid": sop3, "frame": 1}]})
n1 = h2_assessment("N1", "BL")
t.check(status == 200 and n1.get("long_axis_mm") == 31.3 and n1.get("short_axis_mm") == 15.6 and
        n1.get("mean_hu") is not None and n1.get("roi_sop_uid") == sop3,
        f"an ellipse after a caliper keeps the caliper: {status} {body} {n1}")
status, body = post_json("/api/measurements", {**h2, "assessments": [
    {"lesion": "N1", "timepoint": "BL", "tool": "length", "sop_uid": sop3, "frame": 1,
     "points": [[10, 10], [40, 10]]}]})
n1b = h2_assessment("N1", "BL")
t.check(status == 200 and n1b.get("short_axis_mm") == 23.4 and n1b.get("mean_hu") == n1.get("mean_hu"),
        f"a length after an ellipse keeps the density: {body} {n1b}")
status, body = post_json("/api/measurements", {**h2, "assessments": [
    {"lesion": "N1", "timepoint": "BL", "mean_hu": None}]})
n1c = h2_assessment("N1", "BL")
t.check(status == 200 and "mean_hu" not in n1c and "roi" not in n1c and n1c.get("short_axis_mm") == 23.4,
        f"a null removes its group only: {n1c}")
status, body = post_json("/api/measurements", {**h2, "assessments": [
    {"lesion": "T1", "timepoint": "FU1", "state": "absent"}]})
t1f = h2_assessment("T1", "FU1")
t.check(status == 200 and t1f.get("state") == "absent" and "fragments_mm" not in t1f and "points" not in t1f,
        f"a state clears the size: {body} {t1f}")
reasons = [v["reason"] for v in get_json("/api/subjects/H2/history")[1]["versions"] if v["key"] == "N1\tBL"]
t.check(reasons[1:] == ["edited during the read"] * 3, f"edits of one's own draft read need no typed reason: {reasons}")
# More studies of the patient: one joins FU1 (within 7 days), two a week apart make one new
# visit, and one older than the baseline gets no proposal.
for date in ("20251201", "20260303", "20260504", "20260507"):
    generate(gen, os.path.join(work, f"more-{date}"), slices=1, patient_id="HTTP-1", issuer="SITE",
             study_date=date)
    ht.run("import", os.path.join(work, f"more-{date}"), expect=0)
status, body = get_json("/api/subjects/H2/proposals")
got = [(p["study_date"], p["timepoint"], p.get("new_timepoint"), p.get("note")) for p in body["items"]]
t.check(got == [("2025-12-01", None, None, "dated before the baseline"), ("2026-03-03", "FU1", False, None),
                ("2026-05-04", "FU2", True, None), ("2026-05-07", "FU2", True, None)],
        f"proposals: join FU1, one new FU2 for two studies of one visit, none before the baseline: {got}")
status, body = get_json("/api/subjects/NOPE")
t.check(status == 404, "records of an unknown subject: 404")

# The reading station's files, embedded in the binary, with a policy that runs only its scripts.
status, headers, content = get("/")
t.check(status == 200 and headers.get("Content-Type", "").startswith("text/html") and
        b'<script type="module" src="/app.js">' in content and
        "default-src 'self'" in headers.get("Content-Security-Policy", ""), "/ is the reading station")
status, headers, content = get("/app.js")
t.check(status == 200 and headers.get("Content-Type", "").startswith("text/javascript") and
        content == open(os.path.join(os.path.dirname(__file__), "../../web/app.js"), "rb").read(),
        "app.js served as written, as JavaScript")
status, body = get_json("/nothing.js")
t.check(status == 404 and body["error"]["code"] == "ENOTFOUND", "an unknown file: 404")

status, body = get_json("/api/subjects")
t.check(status == 200 and body["items"] == ["H1", "H2"], "subjects")
status, body = get_json("/api/subjects/H1/timeline")
t.check(status == 400 and "no signed read yet" in body["error"]["message"],
        f"results come from signed reads: H1 has none yet: {body}")
status, body = get_json("/api/subjects/H1/timeline?criteria=recist1.1&include_drafts=1")
t.check(status == 200 and body["timepoints"][1]["target"] == "PR" and body["drafts_included"] is True and
        body["timepoints"][1]["read_status"] == "draft", "timeline JSON with drafts, flagged")
status, body = get_json("/api/subjects/H1/timeline?include_drafts=yes")
t.check(status == 400 and body["error"]["field"] == "include_drafts", "include_drafts is 0 or 1")
status, headers, content = get("/api/subjects/H1/timeline?format=csv&include_drafts=1")
t.check(status == 200 and headers.get("Content-Type", "").startswith("text/csv") and
        content.decode().startswith("label,date,"), "timeline CSV")
status, body = get_json("/api/subjects/H1/timeline?criteria=who")
t.check(status == 400 and body["error"]["field"] == "criteria", "unknown criteria: 400")
status, body = get_json("/api/subjects/NOPE/timeline")
t.check(status == 404, "unknown subject: 404")
status, body = get_json("/api/cohort?format=json")
t.check(status == 200 and body["n"] == 0 and body["unsigned_left_out"] >= 3, f"cohort of signed reads: {body}")
status, body = get_json("/api/cohort?format=json&include_drafts=1")
t.check(status == 200 and body["n"] == 2 and body["orr"]["responders"] == 0, f"cohort with drafts: {body}")
# The server keeps a cohort until the ledger changes: a subject enrolled by another process is
# in the next answer.
extra = os.path.join(work, "h9.json")
with open(extra, "w") as f:
    json.dump({"subject": "H9", "reader": "dr.h", "timepoints": [
        {"label": "BL", "date": "2024-01-02", "baseline": True},
        {"label": "FU", "date": "2024-03-02", "baseline": False}],
        "lesions": [{"id": "T1", "role": "target", "site": "liver"}],
        "assessments": [{"lesion": "T1", "timepoint": "BL", "long_axis_mm": 40},
                        {"lesion": "T1", "timepoint": "FU", "long_axis_mm": 20}]}, f)
subprocess.run([binary, "--data", data, "measurements", "import", "--enrol", extra], check=True,
               capture_output=True)
status, body = get_json("/api/cohort?format=json&include_drafts=1")
t.check(status == 200 and body["n"] == 3 and "H9" in [s["subject"] for s in body["subjects"]],
        f"the cohort follows the ledger (a kept cohort is not served stale): {body.get('n')}")
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
