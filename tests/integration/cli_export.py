#!/usr/bin/env python3
"""The CDISC export (spec 10) through the real binary, value for value.

The spec's worked subjects (recist-examples.json) are imported, some reads signed; then every
SDTM and ADaM row is checked against the records imported (TU, TR: computed here from the
input, independently of hepatrack), against the engine's own timelines and cohort (RS, ADRS,
ADTTE) and against the spec's expected values; the XPT files are read back by two independent
readers, R's haven and pandas' read_sas, and compared with the CSV value for value; define.xml
is checked by xmllint and against every dataset, variable and codelist written; the HTTP zip is
the same files; signed reads only unless asked.

usage: cli_export.py HEPATRACK HT-GEN-STUDY
"""
import concurrent.futures
import csv
import datetime
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
from common import Checks, Hepatrack, generate, http_request, serve_http  # noqa: E402

binary, gen = sys.argv[1:3]
HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = os.path.join(HERE, "..", "..", "..", "shared", "spec", "recist-examples.json")
t = Checks()
work = tempfile.mkdtemp(prefix="ht-export-")
ht = Hepatrack(binary, os.path.join(work, "data"))
examples = json.load(open(SPEC))["subjects"]
inputs = {e["input"]["subject"]: e["input"] for e in examples}
expected = {e["input"]["subject"]: e["expected"] for e in examples}
STUDY = "NCT06071052"

# A CT study for X01's baseline, so that the method comes from the images.
study_uid = "1.2.826.0.1.3680043.10.543.77"
generate(gen, os.path.join(work, "ct"), slices=3, size=64, study_uid=study_uid, patient_id="PX01",
         study_date="20240205")
ht.run("import", os.path.join(work, "ct"), expect=0)
inputs["X01"]["timepoints"][0]["study_uids"] = [study_uid]
with open(os.path.join(work, "all.json"), "w") as f:
    json.dump(list(inputs.values()), f)
ht.run("measurements", "import", "--enrol", os.path.join(work, "all.json"), expect=0)

# Sign every read of the first half; the rest stay drafts.
signed = {}
for sid in sorted(inputs)[:13]:
    for tp in inputs[sid]["timepoints"]:
        p = ht.run("measurements", "sign", sid, tp["label"], "--reader", "dr.signer")
        if p.returncode == 0:
            signed.setdefault(sid, set()).add(tp["label"])


def export(out, *extra, expect=0):
    return ht.run("export", "cdisc", "--out", out, *extra, expect=expect)


STANDARD = {"TU": "sdtm", "TR": "sdtm", "RS": "sdtm", "ADRS": "adam", "ADTTE": "adam"}


def read_csv(folder, name):
    with open(os.path.join(folder, STANDARD[name], name + ".csv"), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def xpt_path(folder, name):
    return os.path.join(folder, STANDARD[name], name.lower() + ".xpt")


def listing(folder):
    return sorted(os.path.relpath(os.path.join(d, f), folder) for d, _, fs in os.walk(folder) for f in fs)


EXPORT_FILES = sorted([f"{STANDARD[n]}/{n}.csv" for n in STANDARD] + [f"{STANDARD[n]}/{n.lower()}.xpt" for n in STANDARD]
                      + ["sdtm/define.xml", "sdtm/define.md", "adam/define.xml", "adam/define.md"])


def day(text):
    return datetime.date.fromisoformat(text)


def study_day(date, baseline):
    d = (day(date) - day(baseline)).days
    return d + 1 if d >= 0 else d


def timeline(sid, criterion, confirmation=True):
    args = ["timeline", sid, "--criteria", criterion, "--include-drafts", "--format", "json"]
    if not confirmation:
        args.append("--no-confirmation")
    return json.loads(ht.run(*args, expect=0).stdout)


CATEGORY = {"recist1.1": "RECIST 1.1", "mrecist": "MRECIST", "choi": "CHOI"}

# ---- everything, drafts included ----------------------------------------------------------
ht.run("subject", "set", "X01", "death_date", "2024-08-15", expect=0)  # so that the cohort has OS
full = os.path.join(work, "full")
p = export(full, "--include-drafts")
t.check("26 subjects" in p.stdout, f"all 26 worked subjects exported: {p.stdout}")
files = listing(full)
t.check(files == EXPORT_FILES, f"the export's files: sdtm/ and adam/, each with its define: {files}")
data = {name: read_csv(full, name) for name in ("TU", "TR", "RS", "ADRS", "ADTTE")}

# TU: one row per lesion, where it was first recorded.
tu = {(r["USUBJID"], r["TULNKID"]): r for r in data["TU"]}
ROLE = {"target": "TARGET", "non-target": "NON-TARGET", "new": "NEW"}
for sid, doc in inputs.items():
    dates = {tp["label"]: tp["date"] for tp in doc["timepoints"]}
    baseline = next(tp["date"] for tp in doc["timepoints"] if tp["baseline"])
    for lesion in doc["lesions"]:
        seen = sorted((dates[a["timepoint"]], a["timepoint"]) for a in doc["assessments"]
                      if a["lesion"] == lesion["id"])
        row = tu.get((f"{STUDY}-{sid}", lesion["id"]))
        if not seen:
            t.check(row is None, f"TU: {sid} {lesion['id']} never recorded, no row")
            continue
        first_date, first_label = seen[0]
        ok = (row is not None and row["TUORRES"] == ROLE[lesion["role"]]
              and row["TUSTRESC"] == ROLE[lesion["role"]] and row["TULOC"] == lesion["site"].upper()
              and row["VISIT"] == first_label and row["TUDTC"] == first_date
              and int(row["TUDY"]) == study_day(first_date, baseline)
              and row["TUTESTCD"] == "TUMIDENT" and row["TUEVAL"] == "INVESTIGATOR")
        t.check(ok, f"TU {sid} {lesion['id']}: {row}")
t.check(tu[(f"{STUDY}-X01", "T1")]["TUMETHOD"] == "CT SCAN"
        and tu[(f"{STUDY}-X02", "T1")]["TUMETHOD"] == "",
        "TUMETHOD from the studies' modality (CT SCAN), empty without studies")


def expected_tr(lesion, a):
    """(TRTESTCD, TRORRES, TRSTRESN, TRSTAT, TRREASND) as spec 10 says, from the input."""
    state = a.get("state")
    if lesion["role"] == "target":
        code = "LPERP" if lesion.get("nodal") else "LDIAM"
        if state == "too_small":
            return code, "TOO SMALL TO MEASURE", 5.0, "", ""
        if state == "absent":
            return code, "0", 0.0, "", ""
        if state == "merged":
            return code, "MERGED", 0.0, "", ""
        if state == "not_evaluable":
            return code, "", None, "NOT DONE", "NOT EVALUABLE"
        value = sum(a["fragments_mm"]) if a.get("fragments_mm") else (
            a["short_axis_mm"] if lesion.get("nodal") else a["long_axis_mm"])
        return code, f"{value:g}", float(value), "", ""
    nodal = lesion.get("nodal") and lesion["role"] == "non-target"
    if state == "unequivocal_progression":
        return "TUMSTATE", "UNEQUIVOCAL", None, "", ""
    if state == "not_evaluated":
        return ("LNSTATE" if nodal else "TUMSTATE"), "", None, "NOT DONE", "NOT EVALUATED"
    if nodal:
        return "LNSTATE", {"present": "PATHOLOGICAL", "absent": "NON-PATHOLOGICAL"}[state], None, "", ""
    if lesion["role"] == "new":
        return "TUMSTATE", {"equivocal": "EQUIVOCAL", "absent": "ABSENT"}.get(state, "UNEQUIVOCAL"), None, "", ""
    return "TUMSTATE", state.upper(), None, "", ""


tr = {}
for r in data["TR"]:
    tr.setdefault((r["USUBJID"], r["TRLNKID"], r["VISIT"]), []).append(r)
checked_tr = 0
for sid, doc in inputs.items():
    lesions = {l["id"]: l for l in doc["lesions"]}
    baseline = next(tp["date"] for tp in doc["timepoints"] if tp["baseline"])
    dates = {tp["label"]: tp["date"] for tp in doc["timepoints"]}
    order = {label: i + 1 for i, (d, label) in enumerate(sorted((d, l) for l, d in dates.items()))}
    for a in doc["assessments"]:
        rows = tr.get((f"{STUDY}-{sid}", a["lesion"], a["timepoint"]), [])
        code, orres, stresn, stat, reason = expected_tr(lesions[a["lesion"]], a)
        row = rows[0] if len(rows) == 1 else None
        ok = (row is not None and row["TRTESTCD"] == code and row["TRORRES"] == orres
              and (float(row["TRSTRESN"]) if row["TRSTRESN"] else None) == stresn
              and row["TRSTAT"] == stat and row["TRREASND"] == reason
              and row["TRDTC"] == dates[a["timepoint"]]
              and int(row["TRDY"]) == study_day(dates[a["timepoint"]], baseline)
              and int(row["VISITNUM"]) == order[a["timepoint"]]
              and (row["TRSTRESU"] == "mm") == (stresn is not None)
              and (row["TRORRESU"] == "mm") == (stresn is not None and orres[0].isdigit()))
        t.check(ok, f"TR {sid} {a['lesion']} {a['timepoint']}: want {code} {orres!r} {stresn} "
                    f"{stat} {reason}, got {rows}")
        checked_tr += 1
    for tp in doc["timepoints"]:  # a time point without imaging: every lesion NOT DONE
        if tp.get("imaging_performed", True):
            continue
        rows = [r for r in data["TR"] if r["USUBJID"] == f"{STUDY}-{sid}" and r["VISIT"] == tp["label"]]
        t.check(rows and all(r["TRSTAT"] == "NOT DONE" and r["TRREASND"] == "SCAN NOT PERFORMED"
                             and r["TRDTC"] == "" and r["TRDY"] == "" for r in rows),
                f"TR {sid} {tp['label']} without imaging: NOT DONE, no date: {rows}")
    # Exactly the rows spec 10 asks for: each lesion at each time point from its first record
    # on (a new lesion not recorded again at a scan is not seen: no row), and one sum a visit.
    first = {}
    for a in doc["assessments"]:
        first[a["lesion"]] = min(first.get(a["lesion"], "9999"), dates[a["timepoint"]])
    recorded = {(a["lesion"], a["timepoint"]) for a in doc["assessments"]}
    imaged = {tp["label"]: tp.get("imaging_performed", True) for tp in doc["timepoints"]}
    want = sum(1 for label, d in dates.items() for lid, f in first.items() if f <= d
               and not (lesions[lid]["role"] == "new" and imaged[label] and (lid, label) not in recorded))
    got = [r for r in data["TR"] if r["USUBJID"] == f"{STUDY}-{sid}"]
    t.check(len([r for r in got if r["TRTESTCD"] != "SUMDIAM"]) == want
            and len([r for r in got if r["TRTESTCD"] == "SUMDIAM"]) == len(dates)
            and [int(r["TRSEQ"]) for r in got] == list(range(1, len(got) + 1)),
            f"TR {sid}: {want} lesion rows and {len(dates)} sums, numbered in order")
t.check(checked_tr == sum(len(d["assessments"]) for d in inputs.values()),
        f"every assessment has its TR row ({checked_tr})")
dy = [int(r["TRDY"]) for r in data["TR"] if r["TRDY"]] + [int(r["TUDY"]) for r in data["TU"]]
t.check(0 not in dy and 1 in dy, "study days start at 1 and skip 0")
t.check(all(len(r["TRTEST"]) <= 40 for r in data["TR"]) and
        all(len(r["RSTEST"]) <= 40 for r in data["RS"]), "test names of at most 40 characters")

# SUMDIAM, RS, ADRS against the engine's timelines and the spec's expected values.
rs = {}
for r in data["RS"]:
    rs[(r["USUBJID"], r["RSCAT"], r["RSTESTCD"], r["VISIT"])] = r
adrs = {(r["USUBJID"], r["PARCAT1"], r["PARAMCD"], r["AVISIT"]): r for r in data["ADRS"]}
AVAL = {"CR": 1, "PR": 2, "SD": 3, "NON-CR/NON-PD": 4, "PD": 5, "NE": 6}


def response_row(row, value, missing_reason):
    if value in (None, "NA"):
        return row is not None and row["RSSTAT"] == "NOT DONE" and row["RSREASND"] == missing_reason
    return row is not None and row["RSORRES"] == value.upper() and row["RSSTRESC"] == value.upper()


for sid in inputs:
    usub = f"{STUDY}-{sid}"
    rec = timeline(sid, "recist1.1", confirmation=False)
    for tp in rec["timepoints"]:
        rows = [r for r in tr.get((usub, "", tp["label"]), []) if r["TRTESTCD"] == "SUMDIAM"]
        if tp["sum_mm"] is not None and tp["sum_complete"]:
            ok = len(rows) == 1 and float(rows[0]["TRSTRESN"]) == tp["sum_mm"]
        else:
            ok = len(rows) == 1 and rows[0]["TRSTAT"] == "NOT DONE"
        t.check(ok, f"SUMDIAM {sid} {tp['label']} = {tp['sum_mm']}: {rows}")
    for criterion, category in CATEGORY.items():
        plain = timeline(sid, criterion, confirmation=False)
        confirmed = timeline(sid, criterion)
        for tp in plain["timepoints"][1:]:
            key = (usub, category)
            imaged = tp["hepatic"] is not None
            if imaged:
                t.check(response_row(rs.get(key + ("TRGRESP", tp["label"])), tp["target"],
                                     "NO TARGET LESIONS"), f"RS TRGRESP {sid} {criterion} {tp['label']}")
                t.check(response_row(rs.get(key + ("NTRGRESP", tp["label"])), tp["non_target"],
                                     "NO NON-TARGET LESIONS"),
                        f"RS NTRGRESP {sid} {criterion} {tp['label']}")
                newl = rs.get(key + ("NEWLIND", tp["label"]))
                t.check(newl is not None and newl["RSORRES"] == ("N" if tp["new_lesions"] == "none" else "Y"),
                        f"RS NEWLIND {sid} {criterion} {tp['label']}: {newl}")
                prog = rs.get(key + ("NEWLPROG", tp["label"]))
                t.check((prog is None) if tp["new_lesions"] == "none"
                        else (prog is not None and prog["RSORRES"] == tp["new_lesions"].upper()),
                        f"RS NEWLPROG {sid} {criterion} {tp['label']}: {prog}")
            ovr = rs.get(key + ("OVRLRESP", tp["label"]))
            t.check(response_row(ovr, tp["overall"], "NOT EVALUABLE") and ovr["RSDTC"] == tp["date"],
                    f"RS OVRLRESP {sid} {criterion} {tp['label']} = {tp['overall']}: {ovr}")
            a = adrs.get((usub, category, "OVR", tp["label"]))
            t.check(a is not None and a["AVALC"] == tp["overall"].upper()
                    and int(a["AVAL"]) == AVAL[tp["overall"].upper()] and a["ADT"] == tp["date"],
                    f"ADRS OVR {sid} {criterion} {tp['label']}: {a}")
        best = rs.get((usub, category, "BESTRESP", ""))
        want = plain["best_overall_response"]
        bor_date = next((tp["date"] for tp in plain["timepoints"] if tp["label"] == plain["bor_timepoint"]), "")
        t.check(best is not None and best["RSORRES"] == (want or "").upper() and best["RSDTC"] == bor_date,
                f"RS BESTRESP {sid} {criterion} = {want} on {bor_date}: {best}")
        for code, tl, param in (("BOR", plain, "Best Overall Response by Investigator (confirmation not required)"),
                                ("CBOR", confirmed, "Best Confirmed Overall Response by Investigator")):
            a = adrs.get((usub, category, code, ""))
            want = "MISSING" if tl["bor_timepoint"] is None else tl["best_overall_response"].upper()
            when = next((tp["date"] for tp in tl["timepoints"] if tp["label"] == tl["bor_timepoint"]), "")
            t.check(a is not None and a["AVALC"] == want and a["PARAM"] == param and a["ADT"] == when
                    and a["PARCAT2"] == "INVESTIGATOR"
                    and (a["ADY"] == "" if not when else int(a["ADY"]) == study_day(when, tl["timepoints"][0]["date"])),
                    f"ADRS {code} {sid} {criterion} = {want} on {when}: {a}")
        a = adrs.get((usub, category, "PD", ""))
        pd_date = plain["progression_date"]
        t.check(a is not None and a["AVALC"] == ("Y" if pd_date else "N") and a["ADT"] == (pd_date or ""),
                f"ADRS PD {sid} {criterion} = {pd_date}: {a}")
    # The spec's own expected values (RECIST 1.1, confirmation as the trial sets it).
    exp = expected[sid]
    for tp in exp["timepoints"][1:]:
        if "overall" in tp:
            row = rs.get((usub, "RECIST 1.1", "OVRLRESP", tp["label"]))
            t.check(row is not None and row["RSORRES"] == tp["overall"].upper(),
                    f"spec: {sid} {tp['label']} overall {tp['overall']}: {row}")
    if "best_overall_response" in exp:
        a = adrs.get((usub, "RECIST 1.1", "CBOR", ""))
        t.check(a is not None and a["AVALC"] == (exp["best_overall_response"] or "MISSING").upper(),
                f"spec: {sid} confirmed BOR {exp['best_overall_response']}: {a}")

# ADTTE against the cohort.
for criterion, category in CATEGORY.items():
    cohort = json.loads(ht.run("cohort", "--criteria", criterion, "--include-drafts", "--format",
                               "json", expect=0).stdout)
    for s in cohort["subjects"]:
        row = next((r for r in data["ADTTE"] if r["USUBJID"] == f"{STUDY}-{s['subject']}"
                    and r["PARAMCD"] == "PFS" and r["PARCAT1"] == category), None)
        start = day(s["start_date"])
        EVENT = {"progression": "DISEASE PROGRESSION", "death": "DEATH"}
        ok = (row is not None and int(row["AVAL"]) == s["pfs_days"]
              and int(row["CNSR"]) == int(s["pfs_censored"]) and row["STARTDT"] == s["start_date"]
              and row["ADT"] == (start + datetime.timedelta(days=s["pfs_days"])).isoformat()
              and (row["CNSDTDSC"] == s["pfs_censoring_rule"]
                   and row["EVNTDESC"] in ("LAST TUMOR ASSESSMENT", "START DATE")
                   if s["pfs_censored"] else
                   row["CNSDTDSC"] == "" and row["EVNTDESC"] == EVENT[s["pfs_censoring_rule"]]))
        t.check(ok, f"ADTTE PFS {s['subject']} {criterion} = {s['pfs_days']} days: {row}")
        osrow = [r for r in data["ADTTE"] if r["USUBJID"] == f"{STUDY}-{s['subject']}" and r["PARAMCD"] == "OS"]
        t.check(cohort["os"] is not None and len(osrow) == 1 and int(osrow[0]["AVAL"]) == s["os_days"]
                and int(osrow[0]["CNSR"]) == int(s["os_censored"]) and osrow[0]["PARCAT1"] == ""
                and (osrow[0]["EVNTDESC"] == "DEATH") == (not s["os_censored"]),
                f"ADTTE OS {s['subject']} = {s['os_days']} days: {osrow}")

# ---- the XPT files read back by two independent readers --------------------------------------
xpts = [xpt_path(full, n) for n in data]
haven_out = os.path.join(work, "haven")
os.makedirs(haven_out)
p = subprocess.run(["Rscript", os.path.join(HERE, "xpt_read.R"), haven_out, *xpts],
                   capture_output=True, text=True, timeout=300)
t.check(p.returncode == 0, f"R haven reads every XPT file: {p.stderr[-500:]}")
p = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "xpt_read.py"), *xpts],
                   capture_output=True, text=True, timeout=300)
t.check(p.returncode == 0, f"pandas reads every XPT file: {p.stderr[-500:]}")
pandas_read = json.loads(p.stdout) if p.returncode == 0 else {}
defines = {std: ET.parse(os.path.join(full, std, "define.xml")).getroot() for std in ("sdtm", "adam")}
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.0"}
item_defs = {i.get("OID"): i for d in defines.values() for i in d.iter("{%s}ItemDef" % NS["odm"])}
SAS_EPOCH = datetime.date(1960, 1, 1)


def number(text):
    try:
        return float(text)
    except ValueError:
        return None


def haven_same(a, b):
    if a == b:
        return True
    na, nb = number(a), number(b)
    return na is not None and nb is not None and abs(na - nb) < 1e-9


def same(csv_value, got, is_date):
    if csv_value == "":
        return got in (None, "", float("nan")) or got != got
    if is_date and isinstance(got, (int, float)):
        return (SAS_EPOCH + datetime.timedelta(days=int(got))).isoformat() == csv_value
    if isinstance(got, (int, float)):
        return abs(float(csv_value) - got) < 1e-9
    return str(got) == csv_value


for name, rows in data.items():
    lower = name.lower()
    dates = [v for v in (rows[0].keys() if rows else [])
             if item_defs.get(f"IT.{name}.{v}") is not None
             and item_defs[f"IT.{name}.{v}"].get("{%s}DisplayFormat" % NS["def"]) == "DATE9."]
    hv = os.path.join(haven_out, lower + ".haven.csv")
    t.check(os.path.exists(hv), f"haven read {lower}.xpt")
    if os.path.exists(hv):
        with open(hv, newline="", encoding="utf-8") as f:
            back = list(csv.DictReader(f))
        diffs = [(i, k, r[k], b.get(k)) for i, (r, b) in enumerate(zip(rows, back)) for k in r
                 if not haven_same(r[k], b.get(k, ""))]
        t.check(len(back) == len(rows) and not diffs,
                f"haven reads {lower}.xpt as the CSV ({len(back)} rows): {diffs[:3]}")
        labels = dict(line.split("\t", 1) for line in
                      open(os.path.join(haven_out, lower + ".labels.tsv")).read().splitlines())
        wrong = [v for v, label in labels.items() if item_defs[f"IT.{name}.{v}"].find(
            "odm:Description/odm:TranslatedText", NS).text != label or len(label) > 40]
        t.check(not wrong and len(labels) == len(rows[0]), f"{lower}.xpt labels as define.xml: {wrong}")
    got = pandas_read.get(xpt_path(full, name))
    t.check(got is not None, f"pandas read {lower}.xpt")
    if got:
        cols = got["columns"]
        t.check(cols == list(rows[0].keys()), f"pandas: {lower}.xpt columns {cols}")
        diffs = [(i, c, r[c], g) for i, (r, grow) in enumerate(zip(rows, got["rows"]))
                 for c, g in zip(cols, grow) if not same(r[c], g, c in dates)]
        t.check(len(got["rows"]) == len(rows) and not diffs,
                f"pandas reads {lower}.xpt as the CSV ({len(got['rows'])} rows): {diffs[:3]}")

# ---- define.xml: one per standard, beside its files ------------------------------------------
# Labels and Core of SDTMIG 3.4 (TU, TR, RS) and ADaMIG 1.3 (BDS, TTE) as the standards print
# them, typed here from the standards rather than read from hepatrack.
LABELS = {
    "TU.TUTESTCD": "Tumor/Lesion ID Short Name", "TU.TUTEST": "Tumor/Lesion ID Test Name",
    "TU.TUORRES": "Tumor/Lesion ID Result", "TU.TUSTRESC": "Tumor/Lesion ID Result Std. Format",
    "TU.TULOC": "Location of the Tumor/Lesion", "TU.TUMETHOD": "Method of Identification",
    "TU.TUDTC": "Date/Time of Tumor/Lesion Identification",
    "TU.TUDY": "Study Day of Tumor/Lesion Identification",
    "TR.TRTESTCD": "Tumor/Lesion Assessment Short Name", "TR.TRTEST": "Tumor/Lesion Assessment Test Name",
    "TR.TRORRES": "Result or Finding in Original Units", "TR.TRSTRESN": "Numeric Result/Finding in Standard Units",
    "TR.TRDTC": "Date/Time of Tumor/Lesion Measurement", "TR.TRDY": "Study Day of Tumor/Lesion Measurement",
    "RS.RSTESTCD": "Assessment Short Name", "RS.RSTEST": "Assessment Name", "RS.RSCAT": "Category for Assessment",
    "RS.RSDTC": "Date/Time of Assessment", "ADRS.AVALC": "Analysis Value (C)", "ADTTE.CNSR": "Censor",
    "ADTTE.STARTDT": "Time-to-Event Origin Date for Subject",
}
REQUIRED = {"TU": {"STUDYID", "DOMAIN", "USUBJID", "TUSEQ", "TUTESTCD", "TUTEST"},
            "TR": {"STUDYID", "DOMAIN", "USUBJID", "TRSEQ", "TRTESTCD", "TRTEST"},
            "RS": {"STUDYID", "DOMAIN", "USUBJID", "RSSEQ", "RSTESTCD", "RSTEST"},
            "ADRS": {"STUDYID", "USUBJID", "PARAMCD", "PARAM"},
            "ADTTE": {"STUDYID", "USUBJID", "PARAMCD", "PARAM", "AVAL", "STARTDT", "ADT", "CNSR"}}
for std, define in defines.items():
    p = subprocess.run(["xmllint", "--noout", os.path.join(full, std, "define.xml")], capture_output=True, text=True)
    t.check(p.returncode == 0, f"{std}/define.xml is well-formed: {p.stderr}")
    versions = [(m.get("{%s}StandardName" % NS["def"]), m.get("{%s}StandardVersion" % NS["def"]),
                 "Controlled Terminology 2024-09-27" in m.get("Description"))
                for m in define.iter("{%s}MetaDataVersion" % NS["odm"])]
    t.check(versions == [("SDTM-IG", "3.4", True) if std == "sdtm" else ("ADaM-IG", "1.3", True)],
            f"{std}/define.xml: one MetaDataVersion naming its standard and the CT version: {versions}")
    codelists = {c.get("OID"): [e.get("CodedValue") for e in c.findall("odm:EnumeratedItem", NS)]
                 for c in define.iter("{%s}CodeList" % NS["odm"])}
    method_oids = {m.get("OID") for m in define.iter("{%s}MethodDef" % NS["odm"])}
    groups = [g.get("Name") for g in define.iter("{%s}ItemGroupDef" % NS["odm"])]
    t.check(groups == [n for n in data if STANDARD[n] == std], f"{std}/define.xml datasets: {groups}")
    for name in groups:
        rows = data[name]
        group = next(g for g in define.iter("{%s}ItemGroupDef" % NS["odm"]) if g.get("Name") == name)
        t.check(group.find("def:leaf", NS).get("{http://www.w3.org/1999/xlink}href") == name.lower() + ".xpt",
                f"define.xml: {name} and its file")
        refs = group.findall("odm:ItemRef", NS)
        t.check([r.get("ItemOID") for r in refs] == [f"IT.{name}.{v}" for v in rows[0]],
                f"define.xml: {name}'s variables in order")
        t.check({r.get("ItemOID").split(".")[-1] for r in refs if r.get("Mandatory") == "Yes"} == REQUIRED[name],
                f"define.xml: {name}'s required variables as the standard's Core says")
        for r in refs:
            v = r.get("ItemOID").split(".")[-1]
            item = item_defs.get(r.get("ItemOID"))
            if item is None:
                t.check(False, f"define.xml: no ItemDef for {name}.{v}")
                continue
            values = {row[v] for row in rows if row[v] != ""}
            if item.get("DataType") == "text":
                longest = max([len(x.encode()) for x in values] + [1])
                t.check(int(item.get("Length")) == longest, f"{name}.{v} Length {item.get('Length')} = {longest}")
            ref = item.find("odm:CodeListRef", NS)
            if ref is not None:
                terms = codelists.get(ref.get("CodeListOID"))
                t.check(terms is not None and values <= set(terms),
                        f"{name}.{v}: values {sorted(values - set(terms or []))} outside {ref.get('CodeListOID')}")
            if r.get("MethodOID") or item.find("def:Origin", NS).get("Type") == "Derived":
                t.check(r.get("MethodOID") in method_oids, f"{name}.{v}: derived, with its MethodDef")
            label = item.find("odm:Description/odm:TranslatedText", NS).text
            if f"{name}.{v}" in LABELS:
                t.check(label == LABELS[f"{name}.{v}"], f"{name}.{v} label {label!r}")
    md = open(os.path.join(full, std, "define.md")).read()
    t.check(all(f"| {v} |" in md for n in groups for v in data[n][0]), f"{std}/define.md lists every variable")

# ---- signed reads only, criteria, settings, refusals -------------------------------------------
signed_out = os.path.join(work, "signed")
p = export(signed_out, "--criteria", "recist1.1")
n_signed = sum(1 for sid in signed if any(tp["baseline"] and tp["label"] in signed[sid]
                                           for tp in inputs[sid]["timepoints"]))
t.check(f": {n_signed} subjects" in p.stdout and "left out" in p.stdout,
        f"signed reads only by default: {n_signed} subjects: {p.stdout}")
for r in read_csv(signed_out, "TR"):
    sid = r["USUBJID"].split("-", 1)[1]
    if r["VISIT"] not in signed.get(sid, ()):
        t.check(False, f"an unsigned read in the signed export: {r}")
        break
t.check({r["RSCAT"] for r in read_csv(signed_out, "RS")} == {"RECIST 1.1"}, "--criteria recist1.1 only")
t.check(all(r["TREVALID"] == "dr.signer" for r in read_csv(signed_out, "TR")), "--EVALID: the signer")
ht.run("trial", "set", "study_id", "HT-TEST-01", expect=0)
ht.run("trial", "set", "reader_role", "INDEPENDENT ASSESSOR", expect=0)
ht.run("trial", "set", "sdtmig_version", "3.3", expect=0)
p = ht.run("trial", "set", "reader_role", "SOMEONE")
t.check(p.returncode != 0 and "INVESTIGATOR|INDEPENDENT ASSESSOR" in p.stderr, f"reader_role checked: {p.stderr}")
export(signed_out)
rows = read_csv(signed_out, "TU")
t.check(rows and all(r["STUDYID"] == "HT-TEST-01" and r["USUBJID"].startswith("HT-TEST-01-")
                     and r["TUEVAL"] == "INDEPENDENT ASSESSOR" for r in rows),
        "STUDYID and the evaluator from the trial parameters")
t.check('def:StandardVersion="3.3"' in open(os.path.join(signed_out, "sdtm", "define.xml")).read(),
        "SDTMIG version")
p = ht.run("trial", "set", "sdtmig_version", "3.1")
t.check(p.returncode != 0 and "3.3|3.4" in p.stderr, f"only versions the tables follow: {p.stderr}")
p = ht.run("export", "cdisc", "--out", os.path.join(work, "x"), "--criteria", "recist2")
t.check(p.returncode != 0 and "recist2" in p.stderr and not os.path.exists(os.path.join(work, "x")),
        f"an unknown criterion is refused, nothing written: {p.stderr}")

# ---- the HTTP API: the same files as one zip ----------------------------------------------------

def stamped(data):
    """A file with its creation times blanked (XPT headers, define.xml's CreationDateTime)."""
    data = re.sub(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d", b"DDMMMYY:HH:MM:SS", data)
    return re.sub(rb'CreationDateTime="[^"]*"', b'CreationDateTime=""', data)


def token(name, role):
    subprocess.run([binary, "--data", ht.data, "user", "add", name, "--role", role,
                    "--password-stdin"], input="a-long-secret-1\n", text=True, check=True,
                   capture_output=True)
    return {"Authorization": "Bearer " + ht.run("user", "token", name, expect=0).stdout.strip()}


coordinator, radiologist = token("coord", "coordinator"), token("rad", "radiologist")
proc, base, log = serve_http(binary, ht.data, work)
try:
    status, _, _ = http_request(base, "/api/exports/cdisc", headers=radiologist)
    t.check(status == 403, f"a radiologist may not export: {status}")
    status, hdrs, body = http_request(base, "/api/exports/cdisc?include_drafts=1", headers=coordinator)
    t.check(status == 200 and hdrs.get("Content-Type") == "application/zip"
            and "HT-TEST-01-cdisc.zip" in hdrs.get("Content-Disposition", ""), f"zip answer: {status} {hdrs}")
    full2 = os.path.join(work, "full2")
    export(full2, "--include-drafts")
    if status == 200:
        z = zipfile.ZipFile(io.BytesIO(body))
        t.check(sorted(z.namelist()) == files, f"the zip's files: {z.namelist()}")
        differ = [n for n in z.namelist() if stamped(z.read(n)) != stamped(open(os.path.join(full2, n), "rb").read())]
        t.check(not differ, f"the zip holds the CLI's files, byte for byte but their time stamps: {differ}")
    status, _, body = http_request(base, "/api/exports/cdisc?criteria=nope", headers=coordinator)
    t.check(status == 400 and "nope" in json.dumps(body), f"bad criteria: 400 {body}")
    # Several coordinators at once: each export its own, all alike.
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: http_request(base, "/api/exports/cdisc?include_drafts=1",
                                                       headers=coordinator), range(6)))
    tr = {zipfile.ZipFile(io.BytesIO(b)).read("sdtm/TR.csv") for st, _, b in answers if st == 200}
    t.check(all(st == 200 for st, _, _ in answers) and len(tr) == 1, "six exports at once: alike")

    # ---- a value XPT cannot hold: refused by name, nothing written, the earlier export intact ----
    mine = os.path.join(work, "mine")
    os.makedirs(mine)
    open(os.path.join(mine, "notes.txt"), "w").write("mine")
    p = ht.run("export", "cdisc", "--out", mine)
    t.check(p.returncode == 1 and "notes.txt" in p.stderr and os.listdir(mine) == ["notes.txt"],
            f"a folder holding other files is refused, untouched: {p.stderr}")
    before = {n: open(os.path.join(signed_out, n), "rb").read() for n in listing(signed_out)}
    odd = {"subject": "Z99", "reader": "dr.z", "timepoints": [{"label": "BL", "date": "2024-01-02", "baseline": True}],
           "lesions": [{"id": "T1", "role": "target", "site": "r\u00e9tro-p\u00e9ritoine"}],
           "assessments": [{"lesion": "T1", "timepoint": "BL", "long_axis_mm": 20}]}
    with open(os.path.join(work, "odd.json"), "w") as f:
        json.dump(odd, f)
    ht.run("measurements", "import", "--enrol", os.path.join(work, "odd.json"), expect=0)
    ht.run("measurements", "sign", "Z99", "BL", "--reader", "dr.z", expect=0)
    p = ht.run("export", "cdisc", "--out", signed_out)
    after = {n: open(os.path.join(signed_out, n), "rb").read() for n in listing(signed_out)}
    t.check(p.returncode == 1 and "TU.TULOC" in p.stderr and "Z99" in p.stderr and "not ASCII" in p.stderr
            and after == before and not [n for n in os.listdir(work) if ".tmp-" in n],
            f"a non-ASCII value is refused by name, the earlier export untouched: {p.stderr}")
    status, _, body = http_request(base, "/api/exports/cdisc", headers=coordinator)
    t.check(status == 409 and "TU.TULOC" in json.dumps(body), f"over HTTP: 409 naming it: {status} {body}")
finally:
    proc.terminate()
    proc.wait(timeout=30)
sys.exit(t.finish())
