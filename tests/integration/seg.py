#!/usr/bin/env python3
"""DICOM SEG through the real binary: a phantom generated with `ht-gen-study --seg` (its liver and
each lesion segmented, true volumes printed) and the shared SEG samples imported; `show --json`
and GET /api/instances/{uid} list each segment with its volume (the liver within 2 % of the
analytic volume, every segment equal to the voxel-count truth), and the SEGs dcmseg cannot read
(Label Map, no Number of Frames) are stored and listed as not
read, with the reason.

usage: seg.py HEPATRACK HT-GEN-STUDY SAMPLES
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from common import Checks, Hepatrack, http_request, serve_http  # noqa: E402

binary, gen, samples = sys.argv[1:4]
t = Checks()
work = tempfile.mkdtemp(prefix="ht-seg-")
ht = Hepatrack(binary, os.path.join(work, "data"))

# A phantom off the defaults (3 mm slices, 0.8 mm pixels), a large and a small lesion.
study = os.path.join(work, "study")
p = subprocess.run([gen, "--out", study, "--seg", "--slices", "50", "--thickness", "3", "--pixel",
                    "0.8", "--lesion", "-80,-20,75,40,45", "--lesion", "-105,25,90,12,40"],
                   capture_output=True, text=True, check=True, timeout=600)
truth = {}
for m in re.finditer(r'SEG segment (\d+) "([^"]*)" voxels=(\d+) volume_ml=([\d.]+) '
                     r'analytic_ml=([\d.]+)', p.stdout):
    truth[int(m[1])] = {"label": m[2], "voxels": int(m[3]), "volume_ml": float(m[4]),
                        "analytic_ml": float(m[5])}
t.check(sorted(truth) == [1, 2, 3], f"ht-gen-study --seg prints three segments: {p.stdout}")
print("truth:", truth)
ht.run("import", study, expect=0)

seg_uid = [i["SOPInstanceUID"] for i in ht.json("ls", "instances")
           if i["SOPClassUID"] == "1.2.840.10008.5.1.4.1.1.66.4"]
t.check(len(seg_uid) == 1, f"the SEG is imported beside its slices: {seg_uid}")
shown = ht.json("show", seg_uid[0])
segments = {s["number"]: s for s in shown.get("Segments", [])}
t.check(sorted(segments) == [1, 2, 3], f"show lists three segments: {shown.get('Segments')}")


def check_segment(number, s, where):
    want = truth[number]
    t.check(s["label"] == want["label"], f"{where}: segment {number} label {s['label']}")
    t.check(s["voxels"] == want["voxels"], f"{where}: segment {number} voxels {s['voxels']} "
            f"!= {want['voxels']}")
    t.check(abs(s["volume_ml"] - want["volume_ml"]) <= 1e-6 * want["volume_ml"],
            f"{where}: segment {number} volume {s['volume_ml']} != {want['volume_ml']}")
    t.check(s["slice_spacing_source"] == "frame positions" and abs(s["slice_spacing_mm"] - 3) < 1e-9,
            f"{where}: slice spacing {s['slice_spacing_mm']} from {s['slice_spacing_source']}")
    error = abs(s["volume_ml"] - want["analytic_ml"]) / want["analytic_ml"]
    print(f"{where}: segment {number} {s['label']}: measured {s['volume_ml']:.3f} mL, voxel truth "
          f"{want['volume_ml']:.3f} mL, analytic {want['analytic_ml']:.3f} mL ({100 * error:.2f} %)")
    limit = 0.02 if number == 1 else 0.05  # a 12 mm sphere on 3 mm slices: a few per cent
    t.check(error <= limit, f"{where}: segment {number} within {100 * limit:.0f} % of the "
            f"analytic volume ({100 * error:.2f} %)")


for number, s in segments.items():
    check_segment(number, s, "show")
liver = segments.get(1, {})
t.check(liver.get("type", {}).get("scheme") == "SCT" and liver["type"]["value"] == "10200004"
        and liver["type"]["meaning"] == "Liver", f"liver coded SCT 10200004: {liver.get('type')}")
t.check(segments.get(2, {}).get("category", {}).get("value") == "49755003",
        f"lesion category: {segments.get(2, {}).get('category')}")
any_ct = [i["SOPInstanceUID"] for i in ht.json("ls", "instances")
          if i["SOPClassUID"] == "1.2.840.10008.5.1.4.1.1.2"][0]
ct_shown = ht.json("show", any_ct)
t.check("Segments" not in ct_shown and "SegmentsNotRead" not in ct_shown,
        "a CT image has no Segments")
text = ht.run("show", seg_uid[0], expect=0).stdout
t.check("Segments" in text and "Liver" in text, "show without --json prints the segments")

# The shared samples: every SEG stored; the ones dcmseg reads listed, the others with a reason.
sample_dir = os.path.join(work, "samples")
shutil.copytree(os.path.join(samples, "seg"), sample_dir)
for name in ("series/dcmqi-23x38x3/label.seg", "sr-tid1500/dcmqi-sr-example/seg.dcm"):
    shutil.copy(os.path.join(samples, name), os.path.join(sample_dir, name.replace("/", "_")))
ht.run("import", sample_dir, expect=0)
by_file = {}
for i in ht.json("ls", "instances"):
    if i["SOPClassUID"].startswith("1.2.840.10008.5.1.4.1.1.66"):
        s = ht.json("show", i["SOPInstanceUID"])
        by_file[os.path.basename(s["Source"])] = s
not_read = {
    "sparse-labelmap-noppv.dcm": "Label Map Segmentation",
    "liver_1frame.dcm": "Number of Frames",
}
for name, reason in not_read.items():
    s = by_file.get(name, {})
    t.check(reason in s.get("SegmentsNotRead", "") and "Segments" not in s,
            f"{name} stored and not read: {s.get('SegmentsNotRead')}")
# Its twin with a Pixel Padding Value has the same SOP Instance UID (a conflict above): alone.
twin = Hepatrack(binary, os.path.join(work, "twin"))
twin.run("import", os.path.join(samples, "seg", "sparse-labelmap-ppv5.dcm"), expect=0)
s = twin.json("show", twin.json("ls", "instances")[0]["SOPInstanceUID"])
t.check("Label Map Segmentation" in s.get("SegmentsNotRead", ""),
        f"sparse-labelmap-ppv5.dcm stored and not read: {s.get('SegmentsNotRead')}")
read = {  # file: (segments, first segment's voxels, its volume in mL), from pydicom and numpy
    "series_dcmqi-23x38x3_label.seg": (1, 322, 0.394450),
    "sr-tid1500_dcmqi-sr-example_seg.dcm": (1, 795, 33.582412),
    "seg_image_ct_binary.dcm": (1, 638, 0.190139),
    "seg_image_ct_binary_overlap.dcm": (2, 64, 0.019073),
    "seg_image_ct_true_fractional.dcm": (1, 326.023529, 0.097162),
    "partial_overlaps.dcm": (5, 9602, 6.308384),
    # frames inflated by the file layer for dcmseg; counted with Python's zlib
    "liver_nonbyte_aligned_deflate.dcm": (1, 107098, 107098 * 0.810547 ** 2 / 1000),
}
for name, (count, voxels, volume) in read.items():
    segs = by_file.get(name, {}).get("Segments", [])
    t.check(len(segs) == count and abs(segs[0]["voxels"] - voxels) < 1e-5
            and abs(segs[0]["volume_ml"] - volume) < 1e-5,
            f"{name}: {count} segments, {voxels} voxels, {volume} mL: {segs[:1]}")
dcmqi = by_file.get("series_dcmqi-23x38x3_label.seg", {}).get("Segments", [{}])[0]
t.check(dcmqi.get("type", {}).get("value") == "10200004"
        and dcmqi["type"].get("original_scheme") == "SRT"
        and dcmqi["type"].get("original_value") == "T-62000",
        f"dcmqi's SRT T-62000 shown as SCT 10200004: {dcmqi.get('type')}")

# The HTTP API gives the same segments beside the dataset's DICOM JSON.
subprocess.run([binary, "--data", ht.data, "user", "add", "coord", "--role", "coordinator",
                "--password-stdin"], input="coord-password-1\n", text=True, check=True,
               capture_output=True)
token = ht.run("user", "token", "coord", expect=0).stdout.strip()
proc, base, log = serve_http(binary, ht.data, work)
try:
    auth = {"Authorization": f"Bearer {token}"}
    status, headers, body = http_request(base, f"/api/instances/{seg_uid[0]}", headers=auth)
    t.check(status == 200 and "dicom+json" in headers.get("Content-Type", ""),
            f"GET /api/instances/{{seg}}: {status} {headers.get('Content-Type')}")
    body = body or {}
    t.check(body.get("00080016", {}).get("Value") == ["1.2.840.10008.5.1.4.1.1.66.4"],
            "the answer is still the dataset's DICOM JSON")
    api = {s["number"]: s for s in body.get("Segments", [])}
    t.check(sorted(api) == [1, 2, 3], f"the API lists three segments: {body.get('Segments')}")
    for number, s in api.items():
        check_segment(number, s, "api")
    label_map = [i["SOPInstanceUID"] for i in ht.json("ls", "instances")
                 if i["SOPClassUID"] == "1.2.840.10008.5.1.4.1.1.66.7"][0]
    status, _, body = http_request(base, f"/api/instances/{label_map}", headers=auth)
    t.check(status == 200 and "Label Map" in (body or {}).get("SegmentsNotRead", ""),
            f"the API says why a Label Map SEG is not read: {status}")
    status, _, body = http_request(base, f"/api/instances/{any_ct}", headers=auth)
    t.check(status == 200 and "Segments" not in body, "a CT's DICOM JSON gains nothing")
finally:
    proc.terminate()
    proc.wait(timeout=30)
    log.close()

code = t.finish()
if code == 0:
    shutil.rmtree(work, ignore_errors=True)
sys.exit(code)
