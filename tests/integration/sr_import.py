#!/usr/bin/env python3
"""DICOM SR Measurement Reports in (spec 11), through the real binary and over STOW-RS: every
TID 1500 sample of ../shared/dicom-samples/sr-tid1500 read group by group with each outcome
checked; hepatrack's own report recognised and not proposed again; the round trip (a signed
read's report imported with --accept into an empty ledger over the same images gives back the
same lesions, roles and measurements, and the same responses); a report sent by STOW-RS to a
running server appears as proposals, matched by Tracking UID, accepted and rejected over HTTP.

usage: sr_import.py HEPATRACK HT-GEN-STUDY SAMPLES_DIR
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from common import Checks, Hepatrack, generate, http_request, serve_http  # noqa: E402

binary, gen, samples = sys.argv[1:4]
t = Checks()
work = tempfile.mkdtemp(prefix="ht-sr-in-")

# ---- the shared samples: each group's outcome --------------------------------------------------
ht = Hepatrack(binary, os.path.join(work, "samples"))
out = ht.json("import", os.path.join(samples, "sr-tid1500"))
t.check(out.get("reports", {}).get("read") == 3, f"three TID 1500 reports read: {out.get('reports')}")
items = json.loads(ht.run("proposals", "--json", expect=0).stdout)
by_report = {}
for p in items:
    by_report.setdefault(p["source"], []).append(p)
reasons = [p["reason"] for p in items]
t.check(all(p["status"] == "unmatched" for p in items), "no subject is linked: nothing proposed")
t.check(any("{SUVbw}g/ml, not in HU" in r for r in reasons),
        f"dcmqi's SUVbw mean is refused by its unit: {reasons}")
t.check(sum("not linked to an enrolled subject" in r for r in reasons) == 3,
        f"dcmjs's three length groups reach matching (no subject): {reasons}")
t.check(len(items) == 8 and len(by_report) == 3, f"every group listed, none dropped ({len(items)})")
t.check("8 unmatched" in "".join(l for l in ht.run("ls", "proposals", expect=0).stdout.splitlines()[-1:])
        or len(ht.run("ls", "proposals", expect=0).stdout.splitlines()) == 9, "ls proposals lists them")
again = ht.json("import", os.path.join(samples, "sr-tid1500"))
t.check(again["duplicate"] == 5 and len(json.loads(ht.run("proposals", "--json").stdout)) == 8,
        "importing them again proposes nothing new")

# ---- a signed read and its report ----------------------------------------------------------------
first = Hepatrack(binary, os.path.join(work, "first"))
generate(gen, os.path.join(work, "ct"), patient_id="R1", issuer="SITE", study_date="20260105",
         slices=10, lesion="-80,-20,25,30,45")
first.run("import", os.path.join(work, "ct"), expect=0)
study = first.json("ls", "studies")[0]["StudyInstanceUID"]
series = first.json("ls", "series", "--study", study)[0]["SeriesInstanceUID"]
sop = [i for i in first.json("ls", "instances", "--series", series) if i["InstanceNumber"] == 5][0]["SOPInstanceUID"]
pixel, half = 0.78125, 511 * 0.78125 / 2
cx, cy = (-80 + half) / pixel, (-20 + half) / pixel
r = 30 / 2 / pixel
subject = {"subject": "R1", "reader": "dr.one", "dicom_patients": [{"id": "R1", "issuer": "SITE"}],
           "timepoints": [{"label": "BL", "date": "2026-01-05", "baseline": True, "study_uids": [study]}]}
reads = dict(subject, lesions=[{"id": "T1", "role": "target", "site": "liver"},
                               {"id": "NT1", "role": "non-target", "site": "peritoneum"}],
             assessments=[{"lesion": "T1", "timepoint": "BL", "sop_uid": sop, "frame": 1, "tool": "length",
                           "points": [[cx - r, cy], [cx + r, cy]]},
                          {"lesion": "NT1", "timepoint": "BL", "state": "present"}])
with open(os.path.join(work, "r1.json"), "w") as f:
    json.dump(reads, f)
first.run("measurements", "import", "--enrol", os.path.join(work, "r1.json"), expect=0)
first.run("measurements", "sign", "R1", "BL", "--reader", "dr.one", expect=0)
report = os.path.join(work, "r1-bl.dcm")
first.run("export", "sr", "R1", "BL", "--out", report, expect=0)
own = first.json("import", report)
t.check(own.get("reports", {}).get("own", 0) >= 1 and own["reports"]["proposed"] == 0
        and own["reports"]["unmatched"] == 0,
        f"hepatrack's own report is recognised, not proposed again: {own.get('reports')}")
want = json.loads(first.run("timeline", "R1", "--format", "json").stdout)

# ---- the round trip: an empty ledger over the same images, the report imported with --accept ---
second = Hepatrack(binary, os.path.join(work, "second"))
second.run("import", os.path.join(work, "ct"), expect=0)
with open(os.path.join(work, "enrol.json"), "w") as f:
    json.dump(dict(subject, reader="dr.two"), f)
second.run("measurements", "import", "--enrol", os.path.join(work, "enrol.json"), expect=0)
got = second.json("import", "--accept", "--reader", "dr.two", report)
t.check(got.get("reports", {}).get("proposed") == 2 and got["reports"]["accepted"] == 2,
        f"both groups proposed and accepted: {got.get('reports')}")
records = json.loads(second.run("history", "R1", "--json", expect=0).stdout)
lesions = {}
for v in records["versions"]:
    if v["kind"] == "lesion":
        lesions[v["key"]] = v["record"]
t.check({k: (l["role"], l["site"].lower()) for k, l in lesions.items()} ==
        {"T1": ("target", "liver"), "NT1": ("non-target", "peritoneum")},
        f"the same lesions, roles and sites: {lesions}")
t.check(any("accepted from report" in (v.get("reason") or "") for v in records["versions"]),
        "each version's reason names the report")
second.run("measurements", "sign", "R1", "BL", "--reader", "dr.two", expect=0)
back = json.loads(second.run("timeline", "R1", "--format", "json").stdout)
t.check(back["timepoints"][0]["sum_mm"] == want["timepoints"][0]["sum_mm"] == 30.0,
        f"the same measurement: {back['timepoints'][0]['sum_mm']} mm")

# ---- many reports at once, a SEG among them; a copy of hepatrack's report is not its own ----------
many = Hepatrack(binary, os.path.join(work, "many"))
many.run("import", os.path.join(work, "ct"), expect=0)
many.run("measurements", "import", "--enrol", os.path.join(work, "enrol.json"), expect=0)
folder = os.path.join(work, "reports")
os.makedirs(folder)
for k in range(17):  # each export is a new report (a new SOP Instance UID)
    first.run("export", "sr", "R1", "BL", "--out", os.path.join(folder, f"r{k:02d}.dcm"), expect=0)
got = many.json("import", folder)
db = __import__("sqlite3").connect(os.path.join(many.data, "index.sqlite"))
outcomes = [o for (o,) in db.execute("SELECT outcome FROM report_imports")]
db.close()
t.check(got["reports"]["read"] == 17 and got["reports"]["proposed"] == 34 and len(outcomes) == 17
        and all(o == "2 proposed, 0 unmatched, 0 known" for o in outcomes),
        f"17 reports read in one pass, each proposed: {got.get('reports')} {set(outcomes)}")
copy = os.path.join(work, "copy.dcm")
shutil.copy(report, copy)
subprocess.run(["dcmodify", "-nb", "-m", "(0008,0018)=1.2.826.0.1.3680043.10.543.999", copy],
               check=True, capture_output=True)
spoof = first.json("import", copy)
t.check(spoof["reports"]["own"] == 0 and spoof["reports"]["proposed"] == 2,
        f"a copy of hepatrack's report under another UID is proposed, not taken for its own: {spoof['reports']}")

# ---- a newer report supersedes an older one's pending proposals; an unmatched one is dismissed ----
fourth = Hepatrack(binary, os.path.join(work, "fourth"))
fourth.run("import", os.path.join(work, "ct"), expect=0)
fourth.run("measurements", "import", "--enrol", os.path.join(work, "enrol.json"), expect=0)
signed_sr = [i for se in first.json("ls", "series", "--study", study)
             for i in first.json("ls", "instances", "--series", se["SeriesInstanceUID"])
             if i["SOPClassUID"].startswith("1.2.840.10008.5.1.4.1.1.88.")][0]
older = os.path.join(work, "older.dcm")
shutil.copy(os.path.join(first.data, signed_sr["ArchivePath"]) if os.path.exists(
    os.path.join(first.data, signed_sr["ArchivePath"])) else
    os.path.join(first.data, "instances", signed_sr["ArchivePath"]), older)
fourth.run("import", older, expect=0)
before = json.loads(fourth.run("proposals", "--json", "--status", "proposed").stdout)
fourth.run("import", report, expect=0)  # an export names the signed report as its predecessor
after = json.loads(fourth.run("proposals", "--json").stdout)
old = [p for p in after if p["source"] == signed_sr["SOPInstanceUID"]]
t.check(len(before) == 2 and len(old) == 2 and all(
    p["status"] == "rejected" and p["reason"].startswith("superseded by report ") for p in old),
    f"a newer report rejects the older one's pending proposals: {[(p['status'], p['reason']) for p in old]}")
t.check(len([p for p in after if p["status"] == "proposed"]) == 2, "the newer report's are proposed")
unmatched = json.loads(ht.run("proposals", "--json", "--status", "unmatched").stdout)[0]
p = ht.run("proposals", "reject", str(unmatched["id"]), "--reader", "dr.x", "--reason", "not ours")
t.check(p.returncode == 0 and json.loads(ht.run("proposals", "--json", "--status", "rejected").stdout)[0]["id"]
        == unmatched["id"], f"an unmatched group can be dismissed with a reason: {p.stderr}")

# ---- a segmentation: the liver's volume proposed for the time point listing its study ------------
seg = Hepatrack(binary, os.path.join(work, "seg"))
subprocess.run([gen, "--out", os.path.join(work, "seg-ct"), "--patient-id", "Q1", "--issuer", "SITE",
                "--study-date", "20260110", "--slices", "12", "--seg"], check=True, capture_output=True)
study_q = None
seg.run("import", os.path.join(work, "seg-ct"))  # the SEG is read at the end: no subject yet
t.check(json.loads(seg.run("proposals", "--json").stdout)[0]["status"] == "unmatched",
        "a SEG of a patient not enrolled: unmatched, with its reason")
study_q = seg.json("ls", "studies")[0]["StudyInstanceUID"]
seg_uid = [i["SOPInstanceUID"] for se in seg.json("ls", "series", "--study", study_q)
           for i in seg.json("ls", "instances", "--series", se["SeriesInstanceUID"])
           if i["SOPClassUID"] == "1.2.840.10008.5.1.4.1.1.66.4"][0]
shown = seg.json("show", seg_uid)
liver_ml = [s for s in shown["Segments"] if s["type"]["value"] == "10200004"][0]["volume_ml"]
q1 = {"subject": "Q1", "reader": "dr.q", "dicom_patients": [{"id": "Q1", "issuer": "SITE"}],
      "timepoints": [{"label": "BL", "date": "2026-01-10", "baseline": True, "study_uids": [study_q]}],
      "lesions": [{"id": "T1", "role": "target", "site": "liver"}],
      "assessments": [{"lesion": "T1", "timepoint": "BL", "long_axis_mm": 30, "perpendicular_mm": 30,
                       "craniocaudal_mm": 30}]}
with open(os.path.join(work, "q1.json"), "w") as f:
    json.dump(q1, f)
p = seg.run("measurements", "import", "--enrol", os.path.join(work, "q1.json"), expect=0)
t.check("1 groups proposed" in p.stdout, f"enrolled, the SEG is read again and matches: {p.stdout}")
items = json.loads(seg.run("proposals", "--json", "--status", "proposed").stdout)
t.check(len(items) == 1 and items[0]["timepoint"] == "BL" and items[0]["lesion"] is None
        and abs(items[0]["fields"]["liver_volume_ml"] - liver_ml) < 0.06,
        f"the liver's {liver_ml} mL proposed for BL: {items}")
tl = json.loads(seg.run("timeline", "Q1", "--include-drafts", "--format", "json").stdout)
t.check(tl["timepoints"][0]["hepatic"]["liver_replacement_pct"] is None, "not counted before it is accepted")
seg.run("proposals", "accept", str(items[0]["id"]), "--reader", "dr.q", expect=0)

tl = json.loads(seg.run("timeline", "Q1", "--include-drafts", "--format", "json").stdout)
hep = tl["timepoints"][0]["hepatic"]
t.check(hep["liver_replacement_pct"] is not None and hep["liver_replacement_pct"] > 0,
        f"accepted, the liver volume gives % liver replacement: {hep}")
# The segment under the lesion's caliper is listed beside it (the default phantom's 30 mm lesion
# at x = -80, y = -20 mm, in the middle slice).
q_series = seg.json("ls", "series", "--study", study_q)
ct = [i for se in q_series for i in seg.json("ls", "instances", "--series", se["SeriesInstanceUID"])
      if i["SOPClassUID"] == "1.2.840.10008.5.1.4.1.1.2"]
middle = sorted(ct, key=lambda i: i["InstanceNumber"])[len(ct) // 2]["SOPInstanceUID"]
px, py = (-80 + 511 * 0.78125 / 2) / 0.78125, (-20 + 511 * 0.78125 / 2) / 0.78125
q1["assessments"] = [{"lesion": "T1", "timepoint": "BL", "sop_uid": middle, "frame": 1, "tool": "length",
                      "points": [[px - 10, py], [px + 10, py]]}]
q1["reason"] = "measured on the image"
with open(os.path.join(work, "q1b.json"), "w") as f:
    json.dump(q1, f)
seg.run("measurements", "import", os.path.join(work, "q1b.json"), expect=0)
proc, base, log = serve_http(binary, seg.data, work)
try:
    subprocess.run([binary, "--data", seg.data, "user", "add", "q", "--role", "radiologist",
                    "--password-stdin"], input="a-long-secret-1\n", text=True, check=True, capture_output=True)
    qtoken = {"Authorization": "Bearer " + seg.run("user", "token", "q", expect=0).stdout.strip()}
    status, _, answer = http_request(base, "/api/subjects/Q1/timepoints/BL/segments", headers=qtoken)
    lesion_segments = [s for s in shown["Segments"] if s["type"]["value"] != "10200004"]
    t.check(status == 200 and answer["segmentations"] == [seg_uid] and len(answer["items"]) == 1
            and answer["items"][0]["lesion"] == "T1"
            and abs(answer["items"][0]["volume_ml"] - lesion_segments[0]["volume_ml"]) < 0.01,
            f"the lesion's segment listed beside it, with its volume: {status} {answer}")
finally:
    proc.terminate()
    proc.wait(timeout=30)

# ---- over STOW-RS to a running server: proposals by Tracking UID, decided over HTTP --------------
third = Hepatrack(binary, os.path.join(work, "third"))
third.run("import", os.path.join(work, "ct"), expect=0)
tracking = json.loads(first.run("history", "R1", "--json").stdout)
t1_uid = [v["record"].get("tracking_uid") for v in tracking["versions"] if v["kind"] == "lesion" and v["key"] == "T1"][0]
renamed = dict(subject, reader="dr.three",
               lesions=[{"id": "LIVER-A", "role": "target", "site": "liver", "tracking_uid": t1_uid}],
               assessments=[{"lesion": "LIVER-A", "timepoint": "BL", "long_axis_mm": 28}])
with open(os.path.join(work, "renamed.json"), "w") as f:
    json.dump(renamed, f)
third.run("measurements", "import", "--enrol", os.path.join(work, "renamed.json"), expect=0)
subprocess.run([binary, "--data", third.data, "user", "add", "rad", "--role", "radiologist",
                "--password-stdin"], input="a-long-secret-1\n", text=True, check=True, capture_output=True)
token = {"Authorization": "Bearer " + third.run("user", "token", "rad", expect=0).stdout.strip()}
proc, base, log = serve_http(binary, third.data, work)
try:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + open(report, "rb").read()
            + f"\r\n--{boundary}--\r\n".encode())
    status, _, _ = http_request(base, "/dicom-web/studies", "POST", body, {
        **token, "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}'})
    t.check(status == 200, f"STOW-RS stores the report: {status}")
    items = []
    for _ in range(50):  # the server reads arrived reports every second
        status, _, answer = http_request(base, "/api/proposals?subject=R1&status=proposed", headers=token)
        items = answer["items"] if status == 200 else []
        if len(items) >= 2:
            break
        time.sleep(0.2)
    lesion_of = {p["item"]: p for p in items}
    matched = [p for p in items if p["lesion"] == "LIVER-A"]
    t.check(len(items) == 2 and len(matched) == 1 and "Tracking UID" in matched[0]["reason"]
            and matched[0]["fields"].get("long_axis_mm") == 30.0,
            f"the report's T1 is LIVER-A here, found by its Tracking UID {t1_uid}: {items}")
    newcomer = [p for p in items if p["new_lesion"]]
    t.check(len(newcomer) == 1 and newcomer[0]["lesion"] == "NT1", f"NT1 is new to this ledger: {newcomer}")
    status, _, answer = http_request(base, f"/api/proposals/{matched[0]['id']}/accept", "POST", {}, token)
    t.check(status == 200, f"accepted over HTTP: {status} {answer}")
    status, _, answer = http_request(base, f"/api/proposals/{matched[0]['id']}/accept", "POST", {}, token)
    t.check(status == 409, f"a decision is made once: {status}")
    status, _, answer = http_request(base, f"/api/proposals/{newcomer[0]['id']}/reject", "POST", {}, token)
    t.check(status == 400 and "reason" in json.dumps(answer), f"a rejection needs a reason: {status}")
    status, _, answer = http_request(base, f"/api/proposals/{newcomer[0]['id']}/reject", "POST",
                                     {"reason": "not seen on our read"}, token)
    t.check(status == 200, f"rejected with a reason: {status}")
    status, _, tl = http_request(base, "/api/subjects/R1/timeline?include_drafts=1", headers=token)
    t.check(status == 200 and tl["timepoints"][0]["sum_mm"] == 30.0,
            f"the accepted length counts now: {tl['timepoints'][0]['sum_mm'] if status == 200 else tl}")
finally:
    proc.terminate()
    proc.wait(timeout=30)
sys.exit(t.finish())
