#!/usr/bin/env python3
"""The ledger through the real binary: every import error, re-import semantics (corrections need
a reason, retraction, roles never change, unchanged files change nothing), history, trial
parameters, and the timeline and cohort in all three formats.

usage: cli_ledger.py HEPATRACK
"""
import copy
import csv
import io
import json
import os
import sqlite3
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from common import Checks, Hepatrack  # noqa: E402

binary = sys.argv[1]
t = Checks()
tmp = tempfile.mkdtemp(prefix="ht-ledger-")

BASE = {
    "subject": "S07", "reader": "dr.test",
    "dicom_patients": [{"id": "P7", "issuer": "HOSP"}],
    "timepoints": [
        {"label": "BL", "date": "2024-02-05", "baseline": True, "portal_vein_status": "none",
         "liver_volume_ml": 1500},
        {"label": "FU1", "date": "2024-03-25", "baseline": False},
        {"label": "FU2", "date": "2024-05-13", "baseline": False},
    ],
    "lesions": [
        {"id": "T1", "role": "target", "site": "liver", "location": "segment VII"},
        {"id": "T2", "role": "target", "site": "lung"},
        {"id": "NT1", "role": "non-target", "site": "liver"},
    ],
    "assessments": [
        {"lesion": "T1", "timepoint": "BL", "long_axis_mm": 52, "perpendicular_mm": 40},
        {"lesion": "T2", "timepoint": "BL", "long_axis_mm": 18},
        {"lesion": "NT1", "timepoint": "BL", "state": "present"},
        {"lesion": "T1", "timepoint": "FU1", "long_axis_mm": 34},
        {"lesion": "T2", "timepoint": "FU1", "long_axis_mm": 12},
        {"lesion": "NT1", "timepoint": "FU1", "state": "present"},
        {"lesion": "T1", "timepoint": "FU2", "long_axis_mm": 30},
        {"lesion": "T2", "timepoint": "FU2", "long_axis_mm": 11},
        {"lesion": "NT1", "timepoint": "FU2", "state": "present"},
    ],
}


def write(doc, name="in.json"):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def imports(ht, doc):
    return ht.run("measurements", "import", "--enrol", write(doc))


def assessment(doc, lesion, tp):
    return next(a for a in doc["assessments"] if a["lesion"] == lesion and a["timepoint"] == tp)


# 1. Errors: each rejects the whole file with a message naming what was wrong, storing nothing.
def broken(change, expect):
    doc = copy.deepcopy(BASE)
    change(doc)
    return doc, expect


cases = [
    ('{"subject": "S07", ', "not valid JSON"),
    ("42", "expected a subject object or an array"),
    broken(lambda d: d.pop("reader"), "subject S07: reader is required"),
    broken(lambda d: d.update(extra=1), "subject S07: the subject has an unknown field 'extra'"),
    broken(lambda d: assessment(d, "T2", "FU1").update(long_axis_mm=-4),
           "subject S07, lesion T2, time point FU1: long_axis_mm must be > 0 and <= 500 (got -4)"),
    broken(lambda d: assessment(d, "T2", "FU1").update(long_axis_mm=0),
           "long_axis_mm must be > 0 and <= 500 (got 0)"),
    broken(lambda d: assessment(d, "T2", "FU1").update(long_axis_mm=501),
           "long_axis_mm must be > 0 and <= 500 (got 501)"),
    broken(lambda d: assessment(d, "T2", "FU1").update(long_axis_mm="12"),
           "long_axis_mm must be a number in mm"),
    broken(lambda d: assessment(d, "T2", "FU1").update(state="vanished", long_axis_mm=None),
           "state 'vanished' is unknown"),
    broken(lambda d: assessment(d, "NT1", "FU1").update(state="too_small"),
           "lesion NT1, time point FU1: state 'too_small' does not belong to a non-target"),
    broken(lambda d: d["timepoints"][1].update(baseline=True), "2 time points are marked baseline"),
    broken(lambda d: [tp.update(baseline=False) for tp in d["timepoints"]],
           "0 time points are marked baseline"),
    broken(lambda d: d["timepoints"][2].update(date="2024-01-01"),
           "time point FU2: date 2024-01-01 is before the baseline"),
    broken(lambda d: d["timepoints"][2].update(date="2024-02-30"),
           "date must be a date YYYY-MM-DD (got '2024-02-30')"),
    broken(lambda d: (d["lesions"].append({"id": "T9", "role": "target", "site": "liver"}),
                      d["assessments"].append({"lesion": "T9", "timepoint": "FU1",
                                               "long_axis_mm": 20})),
           "lesion T9, time point BL: a target needs a measurement at baseline"),
    broken(lambda d: assessment(d, "T2", "BL").update(state="absent", long_axis_mm=None),
           "lesion T2, time point BL: a target needs a measurement at baseline (got state absent)"),
    broken(lambda d: (d["lesions"].append({"id": "N1", "role": "target", "site": "lymph node",
                                           "nodal": True}),
                      d["assessments"].append({"lesion": "N1", "timepoint": "BL",
                                               "long_axis_mm": 20})),
           "lesion N1, time point BL: a nodal target needs short_axis_mm"),
    broken(lambda d: assessment(d, "T2", "FU2").update(state="merged", long_axis_mm=None),
           "state merged needs merged_into"),
    broken(lambda d: assessment(d, "T2", "FU2").update(state="merged", merged_into="T2",
                                                       long_axis_mm=None),
           "merged_into names the lesion itself"),
    broken(lambda d: assessment(d, "T2", "FU2").update(state="merged", merged_into="NT1",
                                                       long_axis_mm=None),
           "merged_into names NT1, which is not a target"),
    broken(lambda d: assessment(d, "T2", "FU2").update(state="merged", merged_into="T5",
                                                       long_axis_mm=None),
           "merged_into names lesion T5, which the subject does not have"),
    broken(lambda d: (assessment(d, "T2", "FU2").update(state="merged", merged_into="T1",
                                                        long_axis_mm=None),
                      assessment(d, "T1", "FU2").update(state="merged", merged_into="T2",
                                                        long_axis_mm=None)),
           "merged_into forms a cycle"),
    broken(lambda d: assessment(d, "NT1", "FU2").update(fragments_mm=[3, 4]),
           "fragments_mm is for a split target, not a non-target lesion"),
    broken(lambda d: d["assessments"].append({"lesion": "T7", "timepoint": "FU1",
                                              "long_axis_mm": 3}),
           "lesion T7, time point FU1: the assessment names a lesion that the subject does not have"),
    broken(lambda d: d["assessments"].append({"lesion": "T1", "timepoint": "FU9",
                                              "long_axis_mm": 3}),
           "the assessment names a time point that the subject does not have"),
    broken(lambda d: d["lesions"][0].update(role="boss"),
           "lesion T1: role must be target, non-target or new (got 'boss')"),
    broken(lambda d: d["timepoints"][1].update(portal_vein_status="partial"),
           "portal_vein_status must be none, branch or main (got 'partial')"),
    broken(lambda d: d["assessments"].append(dict(assessment(d, "T1", "FU1"))),
           "lesion T1, time point FU1: the assessment appears twice in the file"),
    broken(lambda d: (d["lesions"].append({"id": "NL1", "role": "new", "site": "liver"}),
                      d["assessments"].append({"lesion": "NL1", "timepoint": "BL",
                                               "state": "unequivocal"})),
           "a new lesion cannot be recorded at the baseline"),
    broken(lambda d: (d["timepoints"][2].update(imaging_performed=False)),
           "time point FU2: the time point has imaging_performed false"),
    broken(lambda d: assessment(d, "T1", "FU2").update(frame=0), "frame must be an integer >= 1"),
    broken(lambda d: assessment(d, "T1", "BL").update(perpendicular_mm=60),
           "perpendicular_mm 60.0 is longer than long_axis_mm 52.0"),
    broken(lambda d: d["timepoints"][2].update(date="2024-03-01"),
           "time point FU2: dated 2024-03-01, not after FU1 (2024-03-25)"),
    broken(lambda d: d["timepoints"][2].update(date="2099-01-01"), "date 2099-01-01 is after today"),
    broken(lambda d: d.update(death_date="2099-01-01"), "death_date 2099-01-01 is after today"),
    broken(lambda d: d.update(withdrawn="2024-04-01"),
           "time point FU2: dated 2024-05-13, after the subject's withdrawal on 2024-04-01"),
]
ht = Hepatrack(binary)
for doc, expect in cases:
    p = imports(ht, doc)
    t.check(p.returncode == 1 and expect in p.stderr, f"error '{expect}': got {p.stderr.strip()}")
t.check(ht.run("timeline", "S07").returncode == 1, "nothing of a rejected file was stored")
arr = [copy.deepcopy(BASE), copy.deepcopy(BASE)]
arr[1]["subject"] = "S08"
assessment(arr[1], "T1", "FU1")["long_axis_mm"] = -1
p = imports(ht, arr)
t.check(p.returncode == 1 and "subject S08" in p.stderr, "an array is all or nothing")
t.check(ht.run("timeline", "S07").returncode == 1, "the good subject of a rejected array is not stored")
ht.cleanup()

# 1b. Enrolment is explicit: an import names only enrolled subjects unless --enrol, which says
# whom it enrolled; `subject` enrols, links, sets dates (a recorded one needs a reason) and
# withdraws; "today" can be fixed for a test with HEPATRACK_NOW.
ht = Hepatrack(binary)
p = ht.run("measurements", "import", write(BASE))
t.check(p.returncode == 1 and "no such subject S07" in p.stderr, f"an import names only enrolled subjects: {p.stderr}")
p = ht.run("measurements", "import", "--enrol", write(BASE))
t.check(p.returncode == 0 and "enrolled: S07" in p.stdout, f"--enrol says whom it enrolled: {p.stdout}")
t.check(ht.run("subject", "add", "S09", "--patient", "P9@HOSP").returncode == 0, "subject add")
p = ht.run("subject", "add", "S09")
t.check(p.returncode == 1 and "already enrolled" in p.stderr, f"subject add twice: {p.stderr}")
t.check(ht.run("subject", "link", "S09", "--patient", "P9B").returncode == 0, "subject link")
t.check(ht.run("subject", "set", "S09", "treatment_start", "2024-02-01").returncode == 0,
        "subject set, a first date: no reason needed")
p = ht.run("subject", "set", "S09", "treatment_start", "2024-02-02")
t.check(p.returncode == 1 and "reason" in p.stderr, f"changing a recorded date needs a reason: {p.stderr}")
t.check(ht.run("subject", "set", "S09", "death_date", "2024-06-01").returncode == 0, "a second date")
history = ht.json("history", "S09")
subject_versions = [v for v in history["versions"] if v["kind"] == "subject"]
t.check(subject_versions[-1]["record"]["treatment_start"] == "2024-02-01" and
        subject_versions[-1]["record"]["death_date"] == "2024-06-01",
        f"a date set later keeps the others: {subject_versions[-1]['record']}")
t.check(all(a["user"].startswith("operator:") for a in history["audit"]), "the operator is in the audit log")
later = {"subject": "S09", "reader": "r", "timepoints": [{"label": "BL", "date": "2024-02-05", "baseline": True},
                                                         {"label": "FU1", "date": "2024-05-01", "baseline": False}]}
t.check(ht.run("measurements", "import", write(later)).returncode == 0, "reads for S09")
p = ht.run("subject", "withdraw", "S09", "2024-04-01")
t.check(p.returncode == 1 and "after the subject's withdrawal" in p.stderr,
        f"a withdrawal before a recorded time point is refused: {p.stderr}")
t.check(ht.run("subject", "withdraw", "S09", "2024-05-10").returncode == 0, "subject withdraw")
later["timepoints"].append({"label": "FU2", "date": "2024-06-20", "baseline": False})
p = ht.run("measurements", "import", write(later))
t.check(p.returncode == 1 and "after the subject's withdrawal on 2024-05-10" in p.stderr,
        f"no time point after the withdrawal: {p.stderr}")
import subprocess  # noqa: E402
p = subprocess.run([binary, "--data", ht.data, "subject", "set", "S09", "last_known_alive", "2024-09-01"],
                   capture_output=True, text=True, env={**os.environ, "HEPATRACK_NOW": "2024-08-01"})
t.check(p.returncode == 1 and "after today (2024-08-01)" in p.stderr, f"HEPATRACK_NOW sets today: {p.stderr}")
ht.cleanup()

# 1c. Provenance on the operator's load: images and studies not in the index yet are accepted
# with a note, and the time point warns until they arrive.
ht = Hepatrack(binary)
early = copy.deepcopy(BASE)
early["timepoints"][0]["study_uids"] = ["1.2.826.0.1.99"]
assessment(early, "T1", "BL")["sop_uid"] = "1.2.826.0.1.99.1"
p = ht.run("measurements", "import", "--enrol", write(early))
t.check(p.returncode == 0 and "sop_uid 1.2.826.0.1.99.1 is not in the index yet" in p.stderr and
        "study 1.2.826.0.1.99 is not in the index yet" in p.stderr, f"historical reads are noted: {p.stderr}")
tl = ht.json("timeline", "S07", "--include-drafts")
t.check(any(w["rule"] == "W-STUDY-MISSING" and w["timepoint"] == "BL" for w in tl["warnings"]),
        f"the time point warns until its study arrives: {tl['warnings']}")
ht.cleanup()

# 2. Import, re-import, corrections, retraction, history.
ht = Hepatrack(binary)
p = imports(ht, BASE)
t.check(p.returncode == 0 and "16 new records" in p.stdout, f"first import: {p.stdout} {p.stderr}")
p = imports(ht, BASE)
t.check(p.returncode == 0 and "0 new records, 0 corrections" in p.stdout, "unchanged re-import")
doc = copy.deepcopy(BASE)
assessment(doc, "T1", "FU1")["long_axis_mm"] = 33.95  # rounds to 34.0: unchanged
p = imports(ht, doc)
t.check(p.returncode == 0 and "0 corrections" in p.stdout and "rounded" in p.stderr,
        f"rounding is noted and an equal value is no change: {p.stdout} {p.stderr}")
# While a time point is read (never signed), its reader's changes need no typed reason; a
# signed read's do, and reads are signed in date order.
during = copy.deepcopy(BASE)
assessment(during, "T1", "FU2")["long_axis_mm"] = 31
p = imports(ht, during)
t.check(p.returncode == 0 and "1 corrections" in p.stdout, f"an edit during the read: {p.stdout} {p.stderr}")
other = copy.deepcopy(during)
other["reader"] = "dr.other"
assessment(other, "T1", "FU2")["long_axis_mm"] = 32
p = imports(ht, other)
t.check(p.returncode == 1 and "needs a reason" in p.stderr, f"another reader's change needs a reason: {p.stderr}")
assessment(during, "T1", "FU2")["long_axis_mm"] = 30
t.check(imports(ht, during).returncode == 0, "and back, during the read")
reasons = [v["reason"] for v in ht.json("history", "S07")["versions"] if v["key"] == "T1\tFU2"]
t.check(reasons == ["", "edited during the read", "edited during the read"], f"the history says so: {reasons}")
p = ht.run("measurements", "sign", "S07", "FU1", "--reader", "dr.test")
t.check(p.returncode == 1 and "cannot sign before BL" in p.stderr, f"FU1 before BL is refused: {p.stderr}")
t.check(ht.run("measurements", "sign", "S07", "BL", "--reader", "dr.test").returncode == 0 and
        ht.run("measurements", "sign", "S07", "FU1", "--reader", "dr.test").returncode == 0,
        "BL, then FU1, signed")
assessment(doc, "T1", "FU1")["long_axis_mm"] = 35
p = imports(ht, doc)
t.check(p.returncode == 1 and "a correction needs a reason" in p.stderr and "lesion T1" in p.stderr,
        f"a correction of a signed read without a reason is refused: {p.stderr}")
assessment(doc, "T1", "FU1")["reason"] = "remeasured on the portal phase"
p = imports(ht, doc)
t.check(p.returncode == 0 and "1 corrections" in p.stdout, f"correction with a reason: {p.stdout}")
doc2 = copy.deepcopy(BASE)
doc2["lesions"][1]["role"] = "non-target"
doc2["reason"] = "reclassified"
p = imports(ht, doc2)
t.check(p.returncode == 1 and "a lesion's role never changes" in p.stderr, "roles never change")
retract = {"subject": "S07", "reader": "dr.test", "assessments": [
    {"lesion": "NT1", "timepoint": "FU2", "retract": True, "reason": "wrong series"}]}
p = imports(ht, retract)
t.check(p.returncode == 0 and "1 retractions" in p.stdout, f"retraction: {p.stdout} {p.stderr}")
hist = ht.json("history", "S07")
versions = [v for v in hist["versions"] if v["kind"] == "assessment" and v["key"] == "T1\tFU1"]
t.check([v["version"] for v in versions] == [1, 2] and versions[1]["reason"] ==
        "remeasured on the portal phase" and versions[0]["record"]["long_axis"] == 340 and
        versions[1]["record"]["long_axis"] == 350, "history keeps both versions, in tenths")
t.check(any(a["action"] == "retract" for a in hist["audit"]) and
        all(a["user"] == "dr.test" for a in hist["audit"]), "the audit log records every write")
lesion_uids = {v["key"]: v["record"]["tracking_uid"] for v in hist["versions"] if v["kind"] == "lesion"}
t.check(all(u.startswith("2.25.") for u in lesion_uids.values()) and len(set(lesion_uids.values())) == 3,
        "each lesion has its own Tracking UID")
signed_only = ht.json("timeline", "S07", "--format", "json")
t.check([tp["label"] for tp in signed_only["timepoints"]] == ["BL"] and
        signed_only["unsigned_left_out"] == 2 and signed_only["drafts_included"] is False,
        f"results come from signed reads: FU1 (corrected, draft again) and FU2 are left out: "
        f"{[tp['label'] for tp in signed_only['timepoints']]}")
t.check("signed reads only (2 unsigned time points left out)" in ht.run("timeline", "S07").stdout,
        "the table says so")
tl = ht.json("timeline", "S07", "--include-drafts", "--format", "json")
fu2 = tl["timepoints"][2]
t.check(fu2["non_target"] == "NE", "the retracted non-target is now missing: NE")
t.check(any(w["rule"] == "W-MISSING" and w["lesion"] == "NT1" for w in tl["warnings"]),
        "the missing assessment is warned about")
t.check(tl["timepoints"][1]["sum_mm"] == 47.0, "the correction is what the timeline reads")

restore = copy.deepcopy(doc)
restore["reader"] = "dr.other"
p = imports(ht, restore)
t.check(p.returncode == 1 and "was retracted: restoring it needs a reason" in p.stderr,
        f"re-importing a retracted record needs a reason: {p.stderr}")
doc["assessments"] = [a for a in doc["assessments"]
                      if not (a["lesion"] == "NT1" and a["timepoint"] == "FU2")]

# Signing: a signed read returns to draft when corrected, until signed again.
t.check(ht.run("measurements", "sign", "S07", "FU1", "--reader", "dr.sign").returncode == 0, "sign")
signed_fu1 = ht.json("timeline", "S07", "--include-drafts")["timepoints"][1]
t.check(signed_fu1["read_status"] == "signed" and signed_fu1["signed_by"] == "dr.sign" and
        signed_fu1["signed_at"].startswith("20"), f"signed read, by whom and when: {signed_fu1}")
p = ht.run("measurements", "sign", "S07", "FU1", "--reader", "dr.sign")
t.check(p.returncode == 1 and "already signed" in p.stderr, "signing twice is refused")
p = ht.run("measurements", "sign", "S07", "FU2", "--reader", "dr.sign")
t.check(p.returncode == 1 and "no record yet for NT1" in p.stderr, f"sign needs every record: {p.stderr}")
assessment(doc, "T2", "FU1")["long_axis_mm"] = 12.5
assessment(doc, "T2", "FU1")["reason"] = "caliper slipped"
t.check(imports(ht, doc).returncode == 0, "correction of a signed read")
t.check(ht.json("timeline", "S07", "--include-drafts")["timepoints"][1]["read_status"] == "draft",
        "a corrected signed read is draft again")
actions = [a["action"] for a in ht.json("history", "S07")["audit"]]
t.check("sign" in actions and "unsign" in actions, "signing is in the audit log")
assessment(doc, "T2", "FU1")["long_axis_mm"] = 12
assessment(doc, "T2", "FU1")["reason"] = "back to the first reading"
t.check(imports(ht, doc).returncode == 0, "correction back")

# 3. The formats.
keys = ["label", "date", "days_from_baseline", "sum_mm", "sum_complete", "nadir_mm",
        "change_from_baseline_pct", "change_from_nadir_pct", "change_from_nadir_mm", "target",
        "non_target", "new_lesions", "overall", "overall_prospective", "hepatic", "intrahepatic",
        "extrahepatic"]
t.check(all(k in tp for tp in tl["timepoints"] for k in keys), "every timeline key is present")
for k in ("best_overall_response", "bor_confirmed", "bor_timepoint", "confirming_timepoint",
          "progression_timepoint", "progression_date", "duration_of_response_days",
          "duration_of_response_censored", "best_change_from_baseline_pct", "subsets",
          "eligibility", "warnings", "parameters"):
    t.check(k in tl, f"timeline has {k}")
bl = tl["timepoints"][0]
t.check(bl["hepatic"]["liver_lesion_count"] == 2 and bl["hepatic"]["largest_liver_mm"] == 52.0 and
        bl["hepatic"]["by_segment"] == {"VII": {"count": 1, "sum_mm": 52.0}} and
        bl["hepatic"]["liver_sum_complete"] is False, f"hepatic load at baseline: {bl['hepatic']}")
t.check(tl["eligibility"]["eligible"] is False and
        {c["rule"]: c["status"] for c in tl["eligibility"]["checks"]}["E-EXTRAHEPATIC"] == "fail",
        "eligibility: the lung target fails E-EXTRAHEPATIC")
rows = list(csv.DictReader(io.StringIO(ht.run("timeline", "S07", "--include-drafts", "--format", "csv", expect=0).stdout)))
t.check(len(rows) == 3 and rows[1]["sum_mm"] == "47.0" and rows[0]["nadir_mm"] == "" and
        "hepatic_liver_lesion_count" in rows[0] and "intrahepatic_overall" in rows[0],
        f"CSV: {rows[:2]}")
table = ht.run("timeline", "S07", "--include-drafts", expect=0).stdout
t.check("best overall response" in table and "FU1" in table and "warnings:" in table, "table")
t.check(ht.json("timeline", "S07", "--include-drafts", "--criteria", "mrecist")["criteria"] == "mrecist", "mrecist")
choi = ht.json("timeline", "S07", "--include-drafts", "--criteria", "choi")
t.check("density_pr" in choi["timepoints"][1], "choi timeline has density fields")
t.check(ht.run("timeline", "S07", "--include-drafts", "--criteria", "who").returncode == 2, "unknown criteria")
t.check(ht.run("timeline", "NOPE").returncode == 1, "unknown subject")
nc = ht.json("timeline", "S07", "--include-drafts", "--no-confirmation")
t.check(nc["parameters"]["confirmation_required"] is False, "--no-confirmation is echoed")

# 4. Trial parameters and the cohort.
t.check(ht.run("trial", "set", "confirmation_min_days", "30").returncode == 0, "trial set")
t.check(ht.run("trial", "set", "sd_min_days", "soon").returncode == 1, "trial set refuses junk")
t.check(ht.run("trial", "set", "colour", "blue").returncode == 1, "trial set refuses unknown keys")
shown = ht.json("trial", "show")
t.check(shown["confirmation_min_days"] == 30 and shown["sd_min_days"] == 42, f"trial show: {shown}")
t.check(ht.json("timeline", "S07", "--include-drafts")["parameters"]["confirmation_min_days"] == 30,
        "the timeline uses the stored parameters")
second = copy.deepcopy(BASE)
second["subject"] = "S08"
second["death_date"] = "2024-09-01"
for a in second["assessments"]:
    if a["lesion"] == "T1" and a["timepoint"] == "FU2":
        a["long_axis_mm"] = 60
p = imports(ht, second)
t.check(p.returncode == 0, "second subject")
co = ht.json("cohort", "--include-drafts")
t.check(co["n"] == 2 and [s["subject"] for s in co["subjects"]] == ["S07", "S08"], "cohort subjects")
s8 = co["subjects"][1]
t.check(s8["best_overall_response"] == "SD" and s8["progression_date"] == "2024-05-13" and
        s8["pfs_days"] == 98 and s8["pfs_censored"] is False, f"S08 PFS: {s8}")
t.check(s8["os_days"] == 209 and s8["os_censored"] is False, "OS from the death date")
# S07 confirmed PR; S08 PR at FU1 then PD (unconfirmed: SD). R: binom.test(1, 2) 0.0126-0.9874
t.check(co["orr"]["responders"] == 1 and co["orr"]["rate_pct"] == 50.0 and
        co["orr"]["ci95_pct"] == [1.3, 98.7], f"ORR with its exact interval: {co['orr']}")
t.check(co["dcr"]["responders"] == 2, "DCR counts the SD")
t.check(co["pfs"]["events"] == 1 and co["os"]["events"] == 1, "PFS and OS events")
# PFS censoring (A20): progression after two missed visits is censored at the last assessment.
third = copy.deepcopy(BASE)
third["subject"] = "S09"
third["last_known_alive"] = "2024-08-01"
third["timepoints"] += [{"label": "FU3", "date": "2024-07-01", "baseline": False,
                         "imaging_performed": False},
                        {"label": "FU4", "date": "2024-08-12", "baseline": False,
                         "imaging_performed": False},
                        {"label": "FU5", "date": "2024-09-23", "baseline": False}]
third["assessments"] += [{"lesion": "T1", "timepoint": "FU5", "long_axis_mm": 50},
                         {"lesion": "T2", "timepoint": "FU5", "long_axis_mm": 20},
                         {"lesion": "NT1", "timepoint": "FU5", "state": "present"}]
t.check(imports(ht, third).returncode == 0, "third subject")
co = ht.json("cohort", "--include-drafts")
s9 = co["subjects"][2]
t.check(s9["progression_date"] == "2024-09-23" and s9["pfs_censored"] is True and
        s9["pfs_days"] == 98 and "missed visits" in s9["pfs_censoring_rule"],
        f"PFS after two missed visits is censored at the last assessment: {s9}")
t.check(s9["os_days"] == 178 and s9["os_censored"] is True, f"OS censored at last known alive: {s9}")
rows = list(csv.DictReader(io.StringIO(ht.run("cohort", "--include-drafts", "--format", "csv", expect=0).stdout)))
t.check(len(rows) == 3 and rows[1]["pfs_days"] == "98", "cohort CSV")
t.check("ORR" in ht.run("cohort", "--include-drafts", expect=0).stdout, "cohort table")

# The current versions the cohort reads (ledger_current, packed by the ledger as it appends) are
# exactly what the schema's view packs from the stored JSON, one per record whose latest version
# is not a retraction, after all of the above (corrections, retractions, signatures, reopenings).
db = sqlite3.connect(os.path.join(ht.data, "index.sqlite"))
want = db.execute("SELECT r.id, p.fields FROM ledger_records r JOIN ledger_packed p ON p.id = r.id"
                  " WHERE r.retracted = 0 AND r.version = (SELECT max(v.version) FROM ledger_records v"
                  " WHERE v.subject = r.subject AND v.kind = r.kind AND v.key = r.key)"
                  " ORDER BY r.id").fetchall()
got = db.execute("SELECT record, fields FROM ledger_current ORDER BY record").fetchall()
t.check(want == got and len(got) > 30, f"ledger_current holds each record's current version as "
        f"the view packs it ({len(got)} records; {len(set(want) ^ set(got))} differ)")
db.close()
ht.cleanup()
sys.exit(t.finish())
