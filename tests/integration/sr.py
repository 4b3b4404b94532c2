#!/usr/bin/env python3
"""DICOM SR Measurement Reports (TID 1500, spec 11) through the real binary and over HTTP: a
signed read stores its report in the time point's study, in a series of its own; dsrdump and
dciodvfy find no error; its content tree is checked value by value against the ledger; a re-sign
after a correction writes a new report naming its predecessor; `export sr` writes one to a file.

usage: sr.py HEPATRACK HT-GEN-STUDY
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from common import Checks, Hepatrack, generate, http_request, serve_http  # noqa: E402

binary, gen = sys.argv[1:3]
t = Checks()
work = tempfile.mkdtemp(prefix="ht-sr-")
data = os.path.join(work, "data")
ht = Hepatrack(binary, data)
SR_CLASS = "1.2.840.10008.5.1.4.1.1.88.22"  # Enhanced SR

studies = {}
for label, date in (("BL", "20260105"), ("FU1", "20260302")):
    generate(gen, os.path.join(work, label), patient_id="K1", issuer="SITE", study_date=date,
             slices=12, lesion="-80,-20,25,30,45")
    ht.run("import", os.path.join(work, label), expect=0)
for st in ht.json("ls", "studies"):
    studies[st["StudyDate"]] = st["StudyInstanceUID"]
bl_study, fu_study = studies["20260105"], studies["20260302"]
pixel, half = 0.78125, 511 * 0.78125 / 2
cx, cy = (-80 + half) / pixel, (-20 + half) / pixel


def instances(study):
    out = []
    for se in ht.json("ls", "series", "--study", study):
        out += [dict(i, Modality=se["Modality"]) for i in
                ht.json("ls", "instances", "--series", se["SeriesInstanceUID"])]
    return out


def slice_of(study, number):
    return [i for i in instances(study) if i.get("InstanceNumber") == number][0]["SOPInstanceUID"]


bl_slice, fu_slice = slice_of(bl_study, 6), slice_of(fu_study, 6)


def caliper(tp, sop, long_mm, perp_mm=None, nodal=False, lesion="T1", dy=0.0):
    r, r2 = long_mm / 2 / pixel, (perp_mm or 0) / 2 / pixel
    a = {"lesion": lesion, "timepoint": tp, "sop_uid": sop, "frame": 1}
    if perp_mm:
        a.update(tool="bidirectional", points=[[cx - r, cy + dy], [cx + r, cy + dy],
                                               [cx, cy + dy - r2], [cx, cy + dy + r2]])
    else:
        a.update(tool="length", points=[[cx - r, cy + dy], [cx + r, cy + dy]])
    return a


bl_t1 = dict(caliper("BL", bl_slice, 30, 20), roi=[[cx - 8, cy - 6], [cx + 8, cy + 6]])
doc = {"subject": "K1", "reader": "dr.sr", "dicom_patients": [{"id": "K1", "issuer": "SITE"}],
       "timepoints": [{"label": "BL", "date": "2026-01-05", "baseline": True,
                       "study_uids": [bl_study]},
                      {"label": "FU1", "date": "2026-03-02", "baseline": False,
                       "study_uids": [fu_study]}],
       "lesions": [{"id": "T1", "role": "target", "site": "liver", "location": "VII"},
                   {"id": "N1", "role": "target", "site": "lymph node", "nodal": True},
                   {"id": "NT1", "role": "non-target", "site": "peritoneum"}],
       "assessments": [bl_t1, caliper("BL", bl_slice, 16, nodal=True, lesion="N1", dy=40),
                       {"lesion": "NT1", "timepoint": "BL", "state": "present"},
                       caliper("FU1", fu_slice, 18), caliper("FU1", fu_slice, 12, lesion="N1", dy=40),
                       {"lesion": "NT1", "timepoint": "FU1", "state": "present"}]}
path = os.path.join(work, "k1.json")
with open(path, "w") as f:
    json.dump(doc, f)
ht.run("measurements", "import", "--enrol", path, expect=0)

# A draft time point has no report: export refuses it, naming why.
p = ht.run("export", "sr", "K1", "BL", "--out", os.path.join(work, "draft.dcm"))
t.check(p.returncode != 0 and "not signed" in p.stderr, f"export of a draft refused: {p.stderr}")

# ---- signing stores the report in the time point's study, in a series of its own -----------------
p = ht.run("measurements", "sign", "K1", "BL", "--reader", "dr.sr", expect=0)
t.check("measurement report" in p.stdout and "stored" in p.stdout, f"sign says: {p.stdout}")
srs = [i for i in instances(bl_study) if i["SOPClassUID"] == SR_CLASS]
t.check(len(srs) == 1, f"one SR in the baseline study ({len(srs)})")
images = [i for i in instances(bl_study) if i["SOPClassUID"] != SR_CLASS]
t.check(srs and srs[0]["SeriesInstanceUID"] not in {i["SeriesInstanceUID"] for i in images},
        "the report is in a series of its own")
t.check(srs and srs[0]["Modality"] == "SR", "its series' modality is SR")
t.check(not [i for i in instances(fu_study) if i["SOPClassUID"] == SR_CLASS],
        "no report for the unsigned FU1")
first_sr = srs[0]


def stored_file(inst):
    return os.path.join(data, inst["ArchivePath"]) if os.path.exists(
        os.path.join(data, inst["ArchivePath"])) else os.path.join(data, "instances", inst["ArchivePath"])


def validate(path, what):
    d = subprocess.run(["dsrdump", "-Ee", "-Ec", "-Er", "+Pc", "+Pu", "+Pl", "+Pt", path],
                       capture_output=True, text=True)
    t.check(d.returncode == 0 and "E:" not in d.stderr, f"{what}: dsrdump clean ({d.stderr[:300]})")
    strict = subprocess.run(["dsrdump", path], capture_output=True, text=True)
    t.check(strict.returncode == 0 and "E:" not in strict.stderr, f"{what}: strict dsrdump clean")
    v = subprocess.run(["dciodvfy", path], capture_output=True, text=True)
    errors = [line for line in (v.stdout + v.stderr).splitlines() if line.startswith("Error")]
    t.check(not errors, f"{what}: dciodvfy without errors {errors[:3]}")
    return d.stdout


def tree(dump):
    """The content tree of a dsrdump listing: (depth, relationship, value type, code, value)."""
    items = []
    for line in dump.splitlines():
        m = re.match(r"^( *)<(.*?)(CONTAINER|TEXT|CODE|NUM|SCOORD|IMAGE|UIDREF|PNAME):"
                     r"(?:\((.*?),(.*?),\"(.*?)\"\))?=?(.*?)>(?:\s+#.*)?$", line)
        if m:
            items.append({"depth": len(m.group(1)) // 2, "rel": m.group(2).strip(), "vt": m.group(3),
                          "code": (m.group(4), m.group(5)), "meaning": m.group(6), "value": m.group(7)})
    return items


def groups(items):
    out, cur = [], None
    for k, it in enumerate(items):
        if it["vt"] == "CONTAINER" and it["code"] == ("125007", "DCM"):
            cur = {"items": [], "depth": it["depth"]}
            out.append(cur)
        elif cur and it["depth"] > cur["depth"]:
            cur["items"].append(it)
        else:
            cur = None
    return out


def first(g, code, vt=None):
    return [i for i in g["items"] if i["code"] == code and (vt is None or i["vt"] == vt)]


def num(item):
    m = re.match(r'"(.*?)" \((.*?),UCUM', item["value"])
    return float(m.group(1)), m.group(2)


bl_dump = validate(stored_file(first_sr), "stored BL report")
items = tree(bl_dump)
root_line = [line for line in bl_dump.splitlines() if line.startswith("<CONTAINER")]
t.check(items and items[0]["code"] == ("126000", "DCM") and root_line and
        root_line[0].endswith("# TID 1500 (DCMR)"), "root: Imaging Measurement Report, TID 1500")
t.check("Enhanced SR Document" in bl_dump, "Enhanced SR")
obs = [i for i in items if i["code"] == ("121008", "DCM")]
t.check(obs and obs[0]["value"] == '"dr.sr"', f"Person Observer Name is the signing reader {obs}")
tp = [i for i in items if i["code"] == ("C2348792", "UMLS") and i["depth"] == 1]
t.check(tp and tp[0]["value"] == '"BL"', "Time Point Context = BL")
proc = [i for i in items if i["code"] == ("121058", "DCM")]
t.check(proc and "25045-6,LN" in proc[0]["value"], "Procedure reported: CT")
lib = [i for i in items if i["vt"] == "IMAGE" and i["rel"] == "contains"]
t.check(len(lib) == 1 and bl_slice in lib[0]["value"], "Image Library: the measured slice once")
gs = groups(items)
t.check(len(gs) == 4, f"groups: T1, its ellipse (TID 1410), N1, NT1 ({len(gs)})")
tracking = {}
for g in gs:
    tid = first(g, ("112039", "DCM"))[0]["value"].strip('"')
    uid = first(g, ("112040", "DCM"))[0]["value"].strip('"')
    tracking.setdefault(tid, set()).add(uid)
t.check(set(tracking) == {"T1", "N1", "NT1"}, f"tracking identifiers are the labels {set(tracking)}")
t.check(all(len(u) == 1 and re.match(r"^2\.25\.\d+$", next(iter(u))) for u in tracking.values()),
        "one 2.25 Tracking UID per lesion")
by_label = {}
for g in gs:
    by_label.setdefault(first(g, ("112039", "DCM"))[0]["value"].strip('"'), []).append(g)
t1 = by_label["T1"][0]
site = first(t1, ("363698007", "SCT"))
t.check(site and "(10200004,SCT," in site[0]["value"], "T1's finding site: SCT Liver")
long_axis = first(t1, ("103339001", "SCT"), "NUM")
short_axis = first(t1, ("103340004", "SCT"), "NUM")
t.check(long_axis and num(long_axis[0]) == (30.0, "mm"), f"T1 Long Axis 30.0 mm {long_axis}")
t.check(short_axis and num(short_axis[0]) == (20.0, "mm"), f"T1 Short Axis (perpendicular) 20.0 mm")
scoords = [i for i in t1["items"] if i["vt"] == "SCOORD" and i["rel"] == "inferred from"]
t.check(len(scoords) == 2 and all("POLYLINE" in s["value"] for s in scoords),
        "each axis INFERRED FROM an SCOORD POLYLINE")


def pts(s):
    return [tuple(float(v) for v in p.split("/")) for p in s["value"].strip("()").split(",")[1:]]


want = [(round(x, 2), round(y, 2)) for x, y in bl_t1["points"]]
got = [(round(x, 2), round(y, 2)) for s in scoords for x, y in pts(s)]
t.check(got == want, f"the caliper's points, as drawn ({got} vs {want})")
sel = [i for i in t1["items"] if i["vt"] == "IMAGE" and i["rel"] == "selected from"]
t.check(len(sel) == 2 and all(bl_slice in s["value"] for s in sel), "SELECTED FROM the measured slice")
roi = by_label["T1"][-1]
t.check("1410" in bl_dump and first(roi, ("112039", "DCM"))[0]["value"] == '"T1"',
        "the ellipse's mean: a TID 1410 group of T1")
region = first(roi, ("111030", "DCM"), "SCOORD")
t.check(region and region[0]["value"].startswith("(ELLIPSE"), "its Image Region is an ELLIPSE")
ell = pts(region[0])
t.check([(round(x, 2), round(y, 2)) for x, y in ell] ==
        [(round(cx - 8, 2), round(cy, 2)), (round(cx + 8, 2), round(cy, 2)),
         (round(cx, 2), round(cy - 6, 2)), (round(cx, 2), round(cy + 6, 2))],
        f"the ellipse's axes from the drawn box {ell}")
records = ht.json("history", "K1")
bodies = {(v["kind"], v["key"]): v["record"] for v in records["versions"]}
mean = first(roi, ("112031", "DCM"), "NUM")
ledger_mean = bodies[("assessment", "T1\tBL")].get("mean_hu")  # stored in tenths of HU
t.check(mean and isinstance(ledger_mean, (int, float)) and abs(num(mean[0])[0] - ledger_mean / 10) < 1e-9,
        f"mean HU as the ledger has it ({mean}, {ledger_mean})")
t.check(mean and "[hnsf'U]" in mean[0]["value"], "in UCUM [hnsf'U]")
deriv = first(roi, ("121401", "DCM"))
t.check(deriv and "(373098007,SCT," in deriv[0]["value"], "Derivation Mean (SCT)")
n1 = by_label["N1"][0]
t.check(num(first(n1, ("103340004", "SCT"), "NUM")[0]) == (16.0, "mm"), "N1 Short Axis 16.0 mm")
t.check("(59441001,SCT," in first(n1, ("363698007", "SCT"))[0]["value"], "N1's site: lymph node")
nt1 = by_label["NT1"][0]
t.check(not first(nt1, ("103339001", "SCT")) and first(nt1, ("121106", "DCM")) and
        "present" in first(nt1, ("121106", "DCM"))[0]["value"], "NT1: no size, its state")
prov = [i for i in items if i["code"] == ("121106", "DCM") and i["depth"] == 2]
t.check(prov and prov[0]["value"].startswith('"hepatrack-ledger subject K1; timepoint BL;') and
        "assessment T1/BL v1" in prov[0]["value"], f"provenance: the ledger versions {prov}")

# ---- a correction reopens BL; signing again writes a new report naming the first -----------------
fix = {"subject": "K1", "reader": "dr.sr", "reason": "re-measured",
       "assessments": [dict(caliper("BL", bl_slice, 32, 20), roi=bl_t1["roi"])]}
with open(path, "w") as f:
    json.dump(fix, f)
ht.run("measurements", "import", path, expect=0)
ht.run("measurements", "sign", "K1", "BL", "--reader", "dr.sr", expect=0)
srs = sorted([i for i in instances(bl_study) if i["SOPClassUID"] == SR_CLASS],
             key=lambda i: i["InstanceNumber"])
t.check(len(srs) == 2, f"two reports after the re-sign ({len(srs)})")
if len(srs) == 2:
    second = srs[1]
    t.check(second["SeriesInstanceUID"] == first_sr["SeriesInstanceUID"] and
            second["SOPInstanceUID"] != first_sr["SOPInstanceUID"] and second["InstanceNumber"] == 2,
            "the new report: same series, new SOP Instance UID, the next instance number")
    dump2 = validate(stored_file(second), "re-signed BL report")
    t.check("Predecessor Docs    : 1" in dump2, "it lists one predecessor")
    pred = subprocess.run(["dcmdump", "+P", "0040,a360", "+P", "0008,1155", stored_file(second)],
                          capture_output=True, text=True).stdout
    t.check(first_sr["SOPInstanceUID"] in pred, "Predecessor Documents Sequence names the first report")
    g2 = groups(tree(dump2))
    g2_t1 = [g for g in g2 if first(g, ("112039", "DCM"))[0]["value"] == '"T1"']
    t.check(num(first(g2_t1[0], ("103339001", "SCT"), "NUM")[0]) == (32.0, "mm"), "the corrected 32.0 mm")
    t.check("assessment T1/BL v2" in dump2, "its provenance names the new version")
    t1_uid = {first(g, ("112040", "DCM"))[0]["value"] for g in g2 if
              first(g, ("112039", "DCM"))[0]["value"] == '"T1"'}
    t.check(t1_uid == {'"' + next(iter(tracking["T1"])) + '"'}, "T1 keeps its Tracking UID")

# ---- over HTTP: the sign route stores FU1's report; QIDO finds it in its study ---------------------
subprocess.run([binary, "--data", data, "user", "add", "rad", "--role", "radiologist",
                "--password-stdin"], input="rad-password-1\n", text=True, check=True,
               capture_output=True)
token = ht.run("user", "token", "rad", expect=0).stdout.strip()
auth = {"Authorization": f"Bearer {token}"}
srv, base, log = serve_http(binary, data, work)
try:
    status, _, body = http_request(base, "/api/subjects/K1/timepoints/FU1/sign", "POST", {}, auth)
    t.check(status == 200 and body.get("report_sop_instance_uid"), f"HTTP sign stores a report {body}")
    status, _, series = http_request(base, f"/dicom-web/studies/{fu_study}/series?Modality=SR",
                                     headers=dict(auth, Accept="application/dicom+json"))
    t.check(status == 200 and len(series) == 1, f"QIDO: one SR series in FU1's study ({status})")
    status, _, found = http_request(base, f"/dicom-web/studies/{fu_study}/instances?SOPClassUID={SR_CLASS}",
                                    headers=dict(auth, Accept="application/dicom+json"))
    t.check(status == 200 and [i["00080018"]["Value"][0] for i in found] ==
            [body.get("report_sop_instance_uid")], "QIDO: the report instance")
finally:
    srv.terminate()
    srv.wait()
    log.close()
fu = [i for i in instances(fu_study) if i["SOPClassUID"] == SR_CLASS]
if fu:
    fu_dump = validate(stored_file(fu[0]), "FU1 report")
    fg = groups(tree(fu_dump))
    t1_fu = [g for g in fg if first(g, ("112039", "DCM"))[0]["value"] == '"T1"']
    t.check(t1_fu and {first(g, ("112040", "DCM"))[0]["value"] for g in t1_fu} ==
            {'"' + next(iter(tracking["T1"])) + '"'}, "T1's Tracking UID is the same at FU1")
    t.check(num(first(t1_fu[0], ("103339001", "SCT"), "NUM")[0]) == (18.0, "mm"), "FU1 T1 18.0 mm")

# ---- export sr: the same report, to a file ---------------------------------------------------------
out = os.path.join(work, "fu1.dcm")
p = ht.run("export", "sr", "K1", "FU1", "--out", out, expect=0)
exported = validate(out, "exported FU1 report")
t.check(groups(tree(exported)) and len(groups(tree(exported))) == len(groups(tree(fu_dump))),
        "export sr writes the time point's groups")
p = ht.run("export", "sr", "K1", "W9", "--out", out)
t.check(p.returncode != 0 and "W9" in p.stderr, "an unknown time point is refused")

shutil.rmtree(work, ignore_errors=True)
sys.exit(t.finish())
