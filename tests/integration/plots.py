#!/usr/bin/env python3
"""The cohort's pictures and a subject's PDF report through the real binary and over HTTP,
checked against the engine's own JSON (`hepatrack cohort|timeline --format json`): bars where
their values put them, in their response's colour; the report's text (pdftotext) and pages
(pdftoppm).

usage: plots.py HEPATRACK HT-GEN-STUDY
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(__file__))
from common import Checks, Hepatrack, generate, http_request, png_decode, serve_http  # noqa: E402

binary, gen = sys.argv[1:3]
t = Checks()
work = tempfile.mkdtemp(prefix="ht-plots-")
ht = Hepatrack(binary, os.path.join(work, "data"))

COLOURS = {"CR": (0x38, 0x8e, 0x3c), "PR": (0x81, 0xc7, 0x84), "SD": (0x64, 0xb5, 0xf6),
           "PD": (0xe5, 0x73, 0x73), "NE": (0x99, 0x99, 0x99)}
INK, LINE_PR, LINE_PD = (0x33, 0x33, 0x33), (0x2e, 0x7d, 0x32), (0xc6, 0x28, 0x28)
CALIPER = (0xff, 0xd6, 0x00)


def png_rgb(data):
    """(width, height, rows of (r, g, b) tuples) of an 8-bit RGB or RGBA PNG."""
    width, height, channels, rows = png_decode(data)
    assert channels in (3, 4), "RGB or RGBA"
    return width, height, [[tuple(row[x * channels:x * channels + 3]) for x in range(width)]
                           for row in rows]


def bbox(rows, colour, x0=0, y0=0, x1=None, y1=None):
    """(x0, y0, x1, y1, count) of the pixels of exactly one colour in a region, or None."""
    found = [(x, y) for y in range(y0, y1 or len(rows)) for x in range(x0, x1 or len(rows[0]))
             if rows[y][x] == colour]
    if not found:
        return None
    xs, ys = [p[0] for p in found], [p[1] for p in found]
    return min(xs), min(ys), max(xs), max(ys), len(found)


# ---- a cohort of four subjects, one per response colour ------------------------------------------
def subject(sid, sums, dates=("2026-01-05", "2026-03-02", "2026-04-27"), **extra):
    tps = [{"label": ["BL", "FU1", "FU2"][i], "date": dates[i], "baseline": i == 0}
           for i in range(len(sums))]
    return {"subject": sid, "reader": "dr.plots", **extra, "timepoints": tps,
            "lesions": [{"id": "T1", "role": "target", "site": "liver", "location": "VII"}],
            "assessments": [{"lesion": "T1", "timepoint": tps[i]["label"], "long_axis_mm": s}
                            for i, s in enumerate(sums)]}


cohort_doc = [subject("C1", [50, 30, 30]),          # -40 %, confirmed PR
              subject("C2", [40, 50]),              # +25 %, PD
              subject("C3", [60, 55, 57], death_date="2026-06-01"),  # SD, died
              subject("C4", [40, 20, 20])]          # drafts only after baseline (left out)
path = os.path.join(work, "cohort.json")
with open(path, "w") as f:
    json.dump(cohort_doc, f)
ht.run("measurements", "import", "--enrol", path, expect=0)
for sid, labels in (("C1", "BL FU1 FU2"), ("C2", "BL FU1"), ("C3", "BL FU1 FU2"), ("C4", "BL")):
    for label in labels.split():
        ht.run("measurements", "sign", sid, label, "--reader", "dr.plots", expect=0)

engine = json.loads(ht.run("cohort", "--format", "json", expect=0).stdout)
by_id = {s["subject"]: s for s in engine["subjects"]}
t.check(by_id["C1"]["best_overall_response"] == "PR" and by_id["C1"]["best_change_from_baseline_pct"] == -40.0,
        f"engine: C1 is a PR at -40 % ({by_id['C1']})")
t.check(by_id["C2"]["best_overall_response"] == "PD", f"engine: C2 is PD ({by_id['C2']})")

# ---- hepatrack cohort --plots DIR -----------------------------------------------------------------
plots = os.path.join(work, "plots")
p = ht.run("cohort", "--plots", plots, expect=0)
names = ["waterfall", "spider", "swimmer", "km-pfs", "km-os"]
for name in names:
    for ext in ("png", "svg"):
        f = os.path.join(plots, f"{name}.{ext}")
        t.check(os.path.exists(f) and f in p.stdout, f"cohort --plots wrote and named {f}")
for name in names:
    with open(os.path.join(plots, f"{name}.png"), "rb") as f:
        w, h = struct.unpack(">II", f.read()[16:24])
    t.check((w, h) == (960, 600), f"{name}.png is 960x600 (got {w}x{h})")
    root = ET.parse(os.path.join(plots, f"{name}.svg")).getroot()
    t.check(root.tag.endswith("svg") and root.get("width") == "960pt", f"{name}.svg is SVG, 960pt wide")

with open(os.path.join(plots, "waterfall.png"), "rb") as f:
    waterfall_png = f.read()
w, h, rows = png_rgb(waterfall_png)
zero = bbox(rows, INK, 85, 85, 140)[1]
minus30 = bbox(rows, LINE_PR, 85, 85, 140)[1]
plus20 = bbox(rows, LINE_PD, 85, 85, 140)[1]
per_pct = (minus30 - zero) / 30
t.check(plus20 < zero < minus30 and abs((zero - plus20) / 20 - per_pct) < 0.1,
        f"waterfall: +20 % above 0 above -30 %, one scale ({plus20}, {zero}, {minus30})")
for sid in ("C1", "C2", "C3"):
    s = by_id[sid]
    box = bbox(rows, COLOURS[s["best_overall_response"]], 85, 85)
    value = s["best_change_from_baseline_pct"]
    end = box[3] if value < 0 else box[1]
    t.check(box and abs(abs(end - zero) - abs(value) * per_pct) <= 2,
            f"waterfall: {sid}'s {s['best_overall_response']} bar ends at {value} % (row {end})")
c1 = bbox(rows, COLOURS["PR"], 85, 85)
t.check(c1[3] > minus30, "waterfall: the -40 % PR bar ends below the -30 % line")
c2 = bbox(rows, COLOURS["PD"], 85, 85)
t.check(c2[1] < plus20, "waterfall: the PD bar rises above the +20 % line")

# Signed reads only: C4 has no signed follow-up, its draft time points stay out.
drafts_plots = os.path.join(work, "plots-drafts")
ht.run("cohort", "--plots", drafts_plots, "--include-drafts", expect=0)
with open(os.path.join(drafts_plots, "waterfall.png"), "rb") as f:
    t.check(f.read() != waterfall_png, "cohort --plots --include-drafts draws the drafts too")
crit_plots = os.path.join(work, "plots-choi")
t.check(ht.run("cohort", "--plots", crit_plots, "--criteria", "choi").returncode == 0,
        "cohort --plots --criteria choi")
t.check(ht.run("cohort", "--plots", crit_plots, "--criteria", "who").returncode != 0,
        "cohort --plots --criteria who is refused")

# ---- over HTTP ------------------------------------------------------------------------------------
subprocess.run([binary, "--data", ht.data, "user", "add", "coord", "--role", "coordinator",
                "--password-stdin"], input="coord-password-1\n", text=True, check=True,
               capture_output=True)
token = ht.run("user", "token", "coord", expect=0).stdout.strip()
auth = {"Authorization": f"Bearer {token}"}
srv, base, log = serve_http(binary, ht.data, work)
try:
    status, hdrs, body = http_request(base, "/api/cohort/plots/waterfall.png", headers=auth)
    t.check(status == 200 and hdrs.get("Content-Type") == "image/png", f"GET waterfall.png: {status}")
    t.check(body == waterfall_png, "the API's waterfall.png is the CLI's, byte for byte")
    t.check("no-store" in (hdrs.get("Cache-Control") or ""), "pictures are not cached")
    status, hdrs, body = http_request(base, "/api/cohort/plots/km-pfs.svg?criteria=mrecist", headers=auth)
    t.check(status == 200 and hdrs.get("Content-Type") == "image/svg+xml" and b"<svg" in body,
            f"GET km-pfs.svg?criteria=mrecist: {status} {hdrs.get('Content-Type')}")
    status, hdrs, body = http_request(base, "/api/cohort/plots/waterfall.png?include_drafts=1", headers=auth)
    with open(os.path.join(drafts_plots, "waterfall.png"), "rb") as f:
        t.check(status == 200 and body == f.read(), "include_drafts=1 gives the drafts' picture")
    for path, want in (("/api/cohort/plots/pie.png", 404), ("/api/cohort/plots/waterfall.gif", 404),
                       ("/api/cohort/plots/waterfall", 404), ("/api/cohort/plots/waterfall.pdf", 404),
                       ("/api/cohort/plots/waterfall.png?criteria=who", 400),
                       ("/api/cohort/plots/waterfall.png?include_drafts=2", 400)):
        status, hdrs, body = http_request(base, path, headers=auth)
        t.check(status == want and isinstance(body, dict) and "no-store" in (hdrs.get("Cache-Control") or ""),
                f"GET {path}: {want} with a JSON error, not cached (got {status} {body})")
    status, _, _ = http_request(base, "/api/cohort/plots/waterfall.png")
    t.check(status == 401, f"pictures need a login (got {status})")
finally:
    srv.terminate()
    srv.wait()
    log.close()

# ---- a subject's report: a subject measured on generated images ----------------------------------
ht.run("trial", "set", "study_id", "TRIAL-PLOTS-1", expect=0)
studies = {}
for label, date, diameter in (("BL", "20260105", 30), ("FU1", "20260302", 18)):
    out = os.path.join(work, f"K1-{label}")
    generate(gen, out, patient_id="K1", issuer="SITE", study_date=date, slices=40,
             lesion=f"-80,-20,50,{diameter},45")
    ht.run("import", out, expect=0)
for st in ht.json("ls", "studies"):
    if st["PatientID"] == "K1":
        studies[st["StudyDate"]] = st["StudyInstanceUID"]
pixel, half = 0.78125, 511 * 0.78125 / 2
cx, cy = (-80 + half) / pixel, (-20 + half) / pixel  # the lesion's centre in pixels


def slice_at(study_uid, number=20):
    series = ht.json("ls", "series", "--study", study_uid)[0]["SeriesInstanceUID"]
    for inst in ht.json("ls", "instances", "--series", series):
        if inst["InstanceNumber"] == number:
            return inst["SOPInstanceUID"]


def caliper(label, uid, diameter):
    r = diameter / 2 / pixel
    return {"lesion": "T1", "timepoint": label, "tool": "length", "sop_uid": uid, "frame": 1,
            "points": [[cx - r, cy], [cx + r, cy]]}


k1 = {"subject": "K1", "reader": "dr.key", "dicom_patients": [{"id": "K1", "issuer": "SITE"}],
      "timepoints": [{"label": "BL", "date": "2026-01-05", "baseline": True,
                      "study_uids": [studies["20260105"]], "portal_vein_status": "none"},
                     {"label": "FU1", "date": "2026-03-02", "baseline": False,
                      "study_uids": [studies["20260302"]]}],
      "lesions": [{"id": "T1", "role": "target", "site": "liver", "location": "VII"},
                  {"id": "NT1", "role": "non-target", "site": "liver", "location": "II"}],
      "assessments": [caliper("BL", slice_at(studies["20260105"]), 30),
                      caliper("FU1", slice_at(studies["20260302"]), 18),
                      {"lesion": "NT1", "timepoint": "BL", "state": "present"},
                      {"lesion": "NT1", "timepoint": "FU1", "state": "present"}]}
path = os.path.join(work, "k1.json")
with open(path, "w") as f:
    json.dump(k1, f)
ht.run("measurements", "import", "--enrol", path, expect=0)
ht.run("measurements", "sign", "K1", "BL", "--reader", "dr.key", expect=0)


def pdf_pages(pdf):
    info = subprocess.run(["pdfinfo", pdf], capture_output=True, text=True, check=True).stdout
    return int([l for l in info.splitlines() if l.startswith("Pages:")][0].split()[1])


def page_text(pdf, k):
    return subprocess.run(["pdftotext", "-layout", "-f", str(k), "-l", str(k), pdf, "-"],
                          capture_output=True, text=True, check=True).stdout


# With FU1 still a draft: signed reads only leave it out and say so; drafts flag it on every page.
signed_only = os.path.join(work, "k1-signed.pdf")
ht.run("report", "K1", "--out", signed_only, expect=0)
text = "".join(page_text(signed_only, k) for k in range(1, pdf_pages(signed_only) + 1))
t.check("FU1" not in text.split("Key images")[0] and "1 unsigned time point left out" in text,
        "report without drafts leaves the unsigned FU1 out and says so")
drafts = os.path.join(work, "k1-drafts.pdf")
ht.run("report", "K1", "--out", drafts, "--include-drafts", expect=0)
for k in range(1, pdf_pages(drafts) + 1):
    t.check("Read status: DRAFT (not signed: FU1)" in page_text(drafts, k),
            f"draft report: page {k} says FU1 is a draft")

ht.run("measurements", "sign", "K1", "FU1", "--reader", "dr.key", expect=0)
pdf = os.path.join(work, "k1.pdf")
p = ht.run("report", "K1", "--out", pdf, expect=0)
t.check(pdf in p.stdout, "report says what it wrote")
n = pdf_pages(pdf)
texts = [page_text(pdf, k) for k in range(1, n + 1)]
t.check(n == 5, f"report: summary, three criteria, key images: 5 pages (got {n})")
for k, page in enumerate(texts, 1):
    t.check(f"Page {k} of {n}" in page, f"page {k} says 'Page {k} of {n}'")
    t.check("Read status: signed by dr.key, last on 20" in page, f"page {k} carries the read status")
    t.check("Made 20" in page and "K1" in page and "TRIAL-PLOTS-1" in page,
            f"page {k} is dated and names the subject and the trial")
fonts = subprocess.run(["pdffonts", pdf], capture_output=True, text=True).stdout
t.check("DejaVuSans" in fonts, f"the report is set in DejaVu Sans ({fonts.splitlines()[2:3]})")
TITLES = {"recist1.1": "RECIST 1.1", "mrecist": "mRECIST", "choi": "Choi"}
for crit, title in TITLES.items():
    tl = json.loads(ht.run("timeline", "K1", "--criteria", crit, "--format", "json", expect=0).stdout)
    page = [x for x in texts if f"Timeline, {title}" in x]
    t.check(len(page) == 1, f"one page for {title}")
    if not page:
        continue
    rows = {line.split()[0]: line.split() for line in page[0].splitlines() if line.split()}
    for tp in tl["timepoints"]:
        cells = rows.get(tp["label"], [])
        want = [tp["date"], f"{tp['sum_mm']:.1f}"]
        if tp["change_from_baseline_pct"] is not None:
            want.append(f"{tp['change_from_baseline_pct']:+.1f}")
        if tp["overall"]:
            want.append(tp["overall"])
        t.check(all(w in cells for w in want), f"{title} {tp['label']}: {want} in {cells}")
    bor = [l for l in texts[0].splitlines() if l.strip().startswith(title + " ")]
    t.check(bor and tl["best_overall_response"] in bor[0].split(),
            f"summary: {title} BOR {tl['best_overall_response']} ({bor})")
    t.check(f"Best overall response: {tl['best_overall_response']}" in page[0],
            f"{title} page: its BOR")
tl = json.loads(ht.run("timeline", "K1", "--format", "json", expect=0).stdout)
t.check(tl["timepoints"][1]["sum_mm"] == 18.0 and tl["timepoints"][0]["sum_mm"] == 30.0,
        f"the engine measured the calipers: 30 and 18 mm ({[x['sum_mm'] for x in tl['timepoints']]})")
for check in tl["eligibility"]["checks"]:
    t.check(f"{check['rule']}" in texts[0] and check["status"] in texts[0],
            f"summary lists eligibility {check['rule']} {check['status']}")
t.check("Key images" in texts[-1] and "T1 (liver VII) at BL" in texts[-1] and "30.0 mm" in texts[-1]
        and "18.0 mm" in texts[-1], "the key-image page names each target, time point and length")

# The pages drawn: as many as pdfinfo says; the key-image page shows the slices and calipers.
ppm = os.path.join(work, "ppm")
os.makedirs(ppm)
subprocess.run(["pdftoppm", "-png", "-r", "72", pdf, os.path.join(ppm, "p")], check=True)
pngs = sorted(os.listdir(ppm))
t.check(len(pngs) == n, f"pdftoppm renders {n} pages (got {len(pngs)})")
with open(os.path.join(ppm, pngs[-1]), "rb") as f:
    w, h, rows = png_rgb(f.read())
grey = sum(1 for r in rows for px in r if px[0] == px[1] == px[2] and 20 < px[0] < 230)
yellow = sum(1 for r in rows for px in r if px[0] > 220 and 180 < px[1] < 240 and px[2] < 80)
t.check(grey > 5000, f"the key-image page shows the slices ({grey} grey pixels)")
t.check(yellow > 20, f"the key-image page shows the calipers in their colour ({yellow} pixels)")

one = os.path.join(work, "k1-mrecist.pdf")
ht.run("report", "K1", "--out", one, "--criteria", "mrecist", expect=0)
text = "".join(page_text(one, k) for k in range(1, pdf_pages(one) + 1))
t.check(pdf_pages(one) == 3 and "Timeline, mRECIST" in text and "Timeline, Choi" not in text,
        "report --criteria mrecist: one timeline")
t.check(ht.run("report", "NOBODY", "--out", one).returncode == 1, "report of an unknown subject: exit 1")
t.check(ht.run("report", "K1").returncode == 2, "report without --out: usage, exit 2")

srv, base, log = serve_http(binary, ht.data, work)
try:
    status, hdrs, body = http_request(base, "/api/subjects/K1/report.pdf", headers=auth)
    t.check(status == 200 and hdrs.get("Content-Type") == "application/pdf" and body[:5] == b"%PDF-",
            f"GET /api/subjects/K1/report.pdf: {status} {hdrs.get('Content-Type')}")
    api_pdf = os.path.join(work, "api.pdf")
    with open(api_pdf, "wb") as f:
        f.write(body or b"")
    t.check(status == 200 and pdf_pages(api_pdf) == n and "Page 1 of 5" in page_text(api_pdf, 1),
            "the API's report has the CLI's pages")
    status, hdrs, body = http_request(base, "/api/subjects/K1/report.pdf?criteria=choi", headers=auth)
    t.check(status == 200 and body[:5] == b"%PDF-", "report.pdf?criteria=choi")
    for path, want in (("/api/subjects/NOBODY/report.pdf", 404),
                       ("/api/subjects/K1/report.pdf?criteria=who", 400)):
        status, hdrs, body = http_request(base, path, headers=auth)
        t.check(status == want and "no-store" in (hdrs.get("Cache-Control") or ""),
                f"GET {path}: {want}, not cached (got {status})")
    status, _, _ = http_request(base, "/api/subjects/K1/report.pdf")
    t.check(status == 401, f"the report needs a login (got {status})")
finally:
    srv.terminate()
    srv.wait()
    log.close()

shutil.rmtree(work, ignore_errors=True)
sys.exit(t.finish())
