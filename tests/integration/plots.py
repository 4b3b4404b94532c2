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
import zlib

sys.path.insert(0, os.path.dirname(__file__))
from common import Checks, Hepatrack, generate, http_request, serve_http  # noqa: E402

binary, gen = sys.argv[1:3]
t = Checks()
work = tempfile.mkdtemp(prefix="ht-plots-")
ht = Hepatrack(binary, os.path.join(work, "data"))

COLOURS = {"CR": (0x38, 0x8e, 0x3c), "PR": (0x81, 0xc7, 0x84), "SD": (0x64, 0xb5, 0xf6),
           "PD": (0xe5, 0x73, 0x73), "NE": (0x99, 0x99, 0x99)}
INK, LINE_PR, LINE_PD = (0x33, 0x33, 0x33), (0x2e, 0x7d, 0x32), (0xc6, 0x28, 0x28)
CALIPER = (0xff, 0xd6, 0x00)


def png_decode(data):
    """(width, height, rows of (r, g, b) tuples) of an 8-bit RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "PNG signature"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, color = ihdr[:4]
    assert depth == 8
    channels = {2: 3, 6: 4}[color]
    raw, stride = zlib.decompress(idat), width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        line = raw[y * (stride + 1):(y + 1) * (stride + 1)]
        f, cur = line[0], bytearray(line[1:])
        for i in range(stride):
            a = cur[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if f == 1:
                cur[i] = (cur[i] + a) & 255
            elif f == 2:
                cur[i] = (cur[i] + b) & 255
            elif f == 3:
                cur[i] = (cur[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(cur[x * channels:x * channels + 3]) for x in range(width)])
        prev = cur
    return width, height, rows


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
w, h, rows = png_decode(waterfall_png)
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

shutil.rmtree(work, ignore_errors=True)
sys.exit(t.finish())
