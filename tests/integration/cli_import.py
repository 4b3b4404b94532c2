#!/usr/bin/env python3
"""`hepatrack import`, `ls`, `show` and `check` against the shared samples and a generated study.

usage: cli_import.py HEPATRACK HT-GEN-STUDY SAMPLES_DIR
"""
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from common import Checks, Hepatrack, generate  # noqa: E402

binary, gen, samples = sys.argv[1:4]
t = Checks()
DICOMDIR = "1.2.840.10008.1.3.10"
rows = list(csv.DictReader(open(os.path.join(samples, "manifest.tsv")), delimiter="\t"))

# 1. Each sample on its own.
uids = {}  # SOP Instance UID -> files
for row in rows:
    ht = Hepatrack(binary)
    path = os.path.join(samples, row["file"])
    p = ht.run("import", "--json", path)
    summary = __import__("json").loads(p.stdout)
    t.check(p.returncode in (0, 1), f"{row['file']}: exit {p.returncode}")
    if row["sop_class_uid"] == DICOMDIR:
        t.check(summary["skipped"] == 1, f"{row['file']}: a DICOMDIR is skipped")
    elif summary["new"] == 1:
        inst = ht.json("ls", "instances")
        t.check(len(inst) == 1, f"{row['file']}: one instance indexed")
        i = inst[0]
        uids.setdefault(i["SOPInstanceUID"], []).append(row["file"])
        if row["malformed"] != "yes":
            if row["sop_class_uid"][:1].isdigit():
                t.check(i["SOPClassUID"] == row["sop_class_uid"], f"{row['file']}: SOP class")
            if row["transfer_syntax_uid"][:1].isdigit():
                t.check(i["TransferSyntaxUID"] == row["transfer_syntax_uid"],
                        f"{row['file']}: transfer syntax {i['TransferSyntaxUID']}")
            if row["rows"].isdigit():
                t.check((i["Rows"], i["Columns"], i["NumberOfFrames"]) ==
                        (int(row["rows"]), int(row["cols"]), int(row["frames"])),
                        f"{row['file']}: dimensions")
        t.check(ht.run("check").returncode == 0, f"{row['file']}: check after import")
    else:
        reasons = [r["reason"] for r in summary["rejected"]]
        t.check(p.returncode == 1 and len(reasons) == 1 and reasons[0],
                f"{row['file']}: rejected with a reason")
        if row["malformed"] != "yes":
            # Readable but not indexable: only for a missing required attribute.
            t.check("is missing" in reasons[0], f"{row['file']}: refused: {reasons[0]}")
            print(f"note: {row['file']} refused: {reasons[0]}")
        t.check(ht.json("ls", "instances") == [], f"{row['file']}: nothing indexed")
        t.check(ht.run("check").returncode == 0, f"{row['file']}: nothing half-written")
    ht.cleanup()

# 2. All samples at once: twins that share a SOP Instance UID come out as conflicts.
ht = Hepatrack(binary)
bulk = ht.json("import", samples, expect=1)
files_indexed = sum(len(v) for v in uids.values())
t.check(bulk["new"] == len(uids), f"bulk: {bulk['new']} new, {len(uids)} distinct UIDs")
t.check(bulk["new"] + bulk["conflict"] + bulk["duplicate"] == files_indexed,
        f"bulk: new+conflict+duplicate = {files_indexed} files")
twins = sum(len(v) - 1 for v in uids.values())
t.check(bulk["conflict"] + bulk["duplicate"] == twins and bulk["conflict"] > 0,
        f"bulk: {bulk['conflict']} conflicts for {twins} twins")
conflicts = ht.json("ls", "conflicts")
t.check(len(conflicts) == bulk["conflict"], "bulk: every conflict is listed")
t.check(bulk["skipped"] == sum(r["sop_class_uid"] == DICOMDIR for r in rows), "bulk: DICOMDIRs")
t.check(ht.run("check").returncode == 0, "bulk: check")
again = ht.json("import", samples, expect=1)
t.check(again["new"] == 0 and again["duplicate"] + again["conflict"] == files_indexed,
        "bulk re-import: nothing new")
t.check(len(ht.json("ls", "conflicts")) == len(conflicts), "bulk re-import: no new conflicts")
ht.cleanup()

# 3. A DICOMDIR file-set: members reached through the folder walk and the DICOMDIR count once.
ht = Hepatrack(binary)
d = ht.json("import", os.path.join(samples, "dicomdir"))
t.check(d["new"] == 31 and d["skipped"] == 4 and d["rejected"] == [], f"dicomdir folder: {d}")
ht.cleanup()

# 4. A generated study: import, re-import, listings, show, check and repair.
with tempfile.TemporaryDirectory() as tmp:
    study = generate(gen, os.path.join(tmp, "s"), slices=12, patient_id="IT-1", issuer="SITE-A",
                     study_date="20260301")
    generate(gen, os.path.join(tmp, "t"), slices=3, patient_id="IT-1", issuer="SITE-B",
             study_date="20260301")
    ht = Hepatrack(binary)
    r = ht.json("import", os.path.join(tmp, "s"), os.path.join(tmp, "t"))
    t.check(r == {"new": 15, "duplicate": 0, "conflict": 0, "skipped": 0, "rejected": []},
            f"generated: {r}")
    r = ht.json("import", study[0], study[1], os.path.join(tmp, "s"))
    t.check(r["duplicate"] == 12 and r["new"] == 0, f"re-import: {r} (each file counted once)")
    patients = ht.json("ls", "patients")
    t.check(sorted((p["PatientID"], p["IssuerOfPatientID"]) for p in patients) ==
            [("IT-1", "SITE-A"), ("IT-1", "SITE-B")], "same ID, two issuers: two patients")
    studies = ht.json("ls", "studies", "--patient", "IT-1", "--issuer", "SITE-A")
    t.check(len(studies) == 1 and studies[0]["NumberOfInstances"] == 12 and
            studies[0]["ModalitiesInStudy"] == "CT" and studies[0]["StudyDate"] == "20260301",
            "ls studies with a patient filter")
    series = ht.json("ls", "series", "--study", studies[0]["StudyInstanceUID"])
    t.check(len(series) == 1 and series[0]["PixelSpacing"] == [0.78125, 0.78125] and
            series[0]["SliceThickness"] == 2.5 and series[0]["ContrastBolusAgent"] == "IOPAMIDOL 370",
            f"ls series: {series}")
    inst = ht.json("ls", "instances", "--series", series[0]["SeriesInstanceUID"])
    t.check([i["InstanceNumber"] for i in inst] == list(range(1, 13)), "instances in order")
    shown = ht.json("show", inst[0]["SOPInstanceUID"])
    t.check(shown["QueryRetrieveLevel"] == "IMAGE" and shown["PatientID"] == "IT-1" and
            len(shown["ImagePositionPatient"]) == 3 and len(shown["SHA256"]) == 64, "show image")
    t.check(ht.json("show", studies[0]["StudyInstanceUID"])["QueryRetrieveLevel"] == "STUDY",
            "show study")
    t.check(ht.run("show", "1.2.3.4.5.6").returncode == 1, "show of an unknown UID")
    table = ht.run("ls", "studies", expect=0).stdout
    t.check("IT-1" in table and "20260301" in table, "table output")

    # check: a removed file, an orphan and a temporary file are found; --repair mends the latter.
    victim = os.path.join(ht.data, inst[0]["ArchivePath"])
    content = open(victim, "rb").read()
    os.remove(victim)
    r = ht.json("check", expect=1)
    t.check(not r["consistent"] and [p["kind"] for p in r["problems"]] == ["missing"],
            f"check finds a missing file: {r['problems']}")
    open(victim, "wb").write(content[:-1] + bytes([content[-1] ^ 1]))
    r = ht.json("check", expect=1)
    t.check([p["kind"] for p in r["problems"]] == ["corrupt"], "check finds a corrupt file")
    open(victim, "wb").write(content)
    folder = os.path.dirname(victim)
    gone = subprocess.Popen(["true"])
    gone.wait()  # a writer that died: its temporary file is left over
    open(os.path.join(folder, f".tmp-{gone.pid}-1"), "wb").write(b"partial")
    writer = subprocess.Popen(["sleep", "120"])  # a writer still at work: its file is in use
    in_use = os.path.join(folder, f".tmp-{writer.pid}-1")
    open(in_use, "wb").write(b"being written")
    orphan_src = generate(gen, os.path.join(tmp, "o"), slices=1, patient_id="IT-ORPHAN")[0]
    r = Hepatrack(binary)
    r.json("import", orphan_src)
    orphan_rel = r.json("ls", "instances")[0]["ArchivePath"]
    os.makedirs(os.path.dirname(os.path.join(ht.data, orphan_rel)), exist_ok=True)
    open(os.path.join(ht.data, orphan_rel), "wb").write(open(orphan_src, "rb").read())
    r.cleanup()
    r = ht.json("check", expect=1)
    t.check(sorted(p["kind"] for p in r["problems"]) == ["orphan", "temporary"],
            f"check finds an orphan and a temporary file: {r['problems']}")
    r = ht.json("check", "--repair")
    t.check(r["consistent"] and all(p["repaired"] for p in r["problems"]), "check --repair")
    t.check(ht.run("check").returncode == 0, "consistent after repair")
    t.check(os.path.exists(in_use), "a running process's temporary file is neither reported nor removed")
    writer.kill()
    writer.wait()
    t.check(len(ht.json("ls", "patients")) == 3, "the orphan was indexed again")
    ht.cleanup()

# 5. A machine stopped before its last batch was durable: only that batch's rows can lack their
# files, and they were never acknowledged, so the next start removes them; a row of an earlier
# batch without its file is a real loss, reported and kept for a person. Each process records
# the batches whose sync returned, in its next batch or as it stops; a power loss keeps the
# last one from being recorded.
import sqlite3  # noqa: E402
ht = Hepatrack(binary)
study = os.path.join(tempfile.mkdtemp(prefix="ht-batch-"), "s")
generate(gen, study, slices=6, patient_id="BATCH-1")
for f in sorted(os.listdir(study)):
    ht.run("import", os.path.join(study, f), expect=0)  # one batch per file
db = sqlite3.connect(os.path.join(ht.data, "index.sqlite"))
rows = db.execute("SELECT batch, sop_uid, archive_path FROM instances ORDER BY batch").fetchall()
state = db.execute("SELECT last_batch, n.durable_batch FROM ingest_state, ingest_nodes n").fetchall()
t.check([r[0] for r in rows] == list(range(1, 7)), f"each import committed its own batch: {[r[0] for r in rows]}")
t.check(state == [(6, 6)], f"batches numbered by the index, all recorded durable by the node: {state}")
nodes = db.execute("SELECT DISTINCT node FROM instances").fetchall()
t.check(len(nodes) == 1 and nodes[0][0] is not None, f"each row names its node: {nodes}")
db.execute("UPDATE ingest_nodes SET durable_batch = 5")  # the power loss: batch 6 never said so
db.commit()
db.close()
last, earlier = rows[-1], rows[1]
with open(os.path.join(ht.data, last[2]), "r+b") as f:
    f.truncate(1000)  # the last batch's data never reached the disk
os.remove(os.path.join(ht.data, earlier[2]))
empty = tempfile.mkdtemp(prefix="ht-empty-")
p = ht.run("import", empty)  # the next run confirms the last batch first
t.check(last[1] in p.stderr and "interrupted earlier import removed" in p.stderr and
        "1000 bytes" in p.stderr, f"the unconfirmed instance is removed and named: {p.stderr.strip()}")
left = {i["SOPInstanceUID"] for i in ht.json("ls", "instances")}
t.check(len(left) == 5 and last[1] not in left and earlier[1] in left,
        "only the last batch's row went; the earlier row stays")
p = ht.run("import", study)
t.check(p.returncode == 0 and ht.json("show", last[1])["SOPInstanceUID"] == last[1] and
        ht.run("import", empty).stderr == "", "importing again brings it back, and it is confirmed")
r = ht.json("check", expect=1)
t.check([(q["kind"], q["path"]) for q in r["problems"]] == [("missing", earlier[2])],
        f"an earlier batch's missing file is reported, not dropped: {r['problems']}")
ht.cleanup()

# 5b. Symbolic link loops end: two links to "..", three to ".", one to "/" beside a real file;
# the file is imported, each loop rejected with its reason, and the walk ends at once.
with tempfile.TemporaryDirectory() as tmp:
    loops = os.path.join(tmp, "loops")
    generate(gen, loops, slices=1, patient_id="LOOP-1")
    for name, target in (("up1", ".."), ("up2", ".."), ("here1", "."), ("here2", "."), ("here3", "."),
                         ("root", "/")):
        os.symlink(target, os.path.join(loops, name))
    ht = Hepatrack(binary)
    started = time.monotonic()
    p = ht.run("import", "--json", loops)
    took = time.monotonic() - started
    r = json.loads(p.stdout)
    reasons = {os.path.basename(x["path"]): x["reason"] for x in r["rejected"]}
    t.check(r["new"] == 1 and took < 20, f"symbolic link loops: the real file imported in {took:.1f} s: {r}")
    t.check(sorted(reasons) == ["here1", "here2", "here3", "root", "up1", "up2"] and
            all("loop" in why for why in reasons.values()), f"each loop rejected with its reason: {reasons}")
    ht.cleanup()

# 5c. What a file holds reaches no terminal as control characters: an ESC sequence in a
# PatientID and a line break in a file's name are shown escaped.
with tempfile.TemporaryDirectory() as tmp:
    esc = os.path.join(tmp, "esc")
    files = generate(gen, esc, slices=1, patient_id="ESC-1")
    subprocess.run(["dcmodify", "-nb", "-m", "(0010,0020)=P\x1b[2J\x1b[31mRED", files[0]], check=True,
                   capture_output=True)
    bad_name = os.path.join(esc, "broken\nrejected X: forged.dcm")
    with open(bad_name, "wb") as f:
        f.write(b"not DICOM")
    ht = Hepatrack(binary)
    p = ht.run("import", esc)
    out = ht.run("ls", "patients").stdout
    t.check("\x1b" not in out and "P\\x1B[2J" in out, f"an ESC sequence in a PatientID is shown escaped: {out!r}")
    t.check("\x1b" not in p.stdout + p.stderr and "broken\\x0Arejected" in p.stdout,
            f"a line break in a file's name is shown escaped: {p.stdout!r}")
    ht.cleanup()

# 5d. Loose UIDs and a missing SOP Class UID are refused (the fuzz seeds of these cases).
ht = Hepatrack(binary)
seeds = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "dicom-seeds")
r = ht.json("import", seeds, expect=1)
why = {os.path.basename(x["path"]): x["reason"] for x in r["rejected"]}
t.check(r["new"] == 0 and "(0008,0016) is missing" in why.get("noclass.dcm", "") and
        "'1.02.3' is not a valid UID" in why.get("uid.dcm", "") and
        "'1.2.840.10008.5.1.4.1.1.' is not a valid UID" in why.get("trailing.dcm", ""),
        f"PS3.5 9.1 UIDs and a SOP Class UID are required: {why}")
ht.cleanup()

# 6. Usage and bad paths.
ht = Hepatrack(binary)
t.check(ht.run("import").returncode == 2, "import without paths: exit 2")
t.check(ht.run("frobnicate").returncode == 2, "unknown command: exit 2")
p = ht.run("import", "--json", "/nonexistent/file.dcm")
t.check(p.returncode == 1 and "/nonexistent/file.dcm" in p.stdout, "missing path is rejected")
t.check(ht.run("--version").stdout.startswith("hepatrack "), "--version")
for cmd in ("import", "ls", "show", "check"):
    t.check(ht.run(cmd, "--help").returncode == 0, f"{cmd} --help")
env_data = tempfile.mkdtemp(prefix="ht-env-")
import subprocess  # noqa: E402
p = subprocess.run([binary, "ls", "patients", "--json"], capture_output=True, text=True,
                   env={**os.environ, "HEPATRACK_DATA": env_data})
t.check(p.returncode == 0 and p.stdout.strip() == "[]", "HEPATRACK_DATA is used")
ht.cleanup()

# 7. Progress: a bar on a terminal (util-linux's script gives the import one), files and MB
# counted to the end; a plain line only every --progress seconds otherwise.
ht = Hepatrack(binary)
folder = os.path.join(tempfile.mkdtemp(prefix="ht-progress-"), "study")
generate(gen, folder, slices=12)
megabytes = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder)) / 1e6
p = subprocess.run(["script", "-qec", f"{binary} --data {ht.data} import {folder}", "/dev/null"],
                   capture_output=True, text=True)
last = p.stdout.replace("\r", "\n").split("\n")
bar = [line for line in last if line.startswith("[")]
t.check(p.returncode == 0 and bar and f"12/12 files, {megabytes:.0f}/{megabytes:.0f} MB" in bar[-1] and
        "MB/s" in bar[-1], f"a progress bar on a terminal: {bar[-1:] or p.stdout[:300]}")
ht.cleanup()
ht = Hepatrack(binary)
p = ht.run("import", folder)
t.check(p.returncode == 0 and p.stderr == "", f"no terminal, a short import: no progress lines ({p.stderr!r})")
for bad in ("-1", "x", ""):
    p = ht.run("import", "--progress", bad, folder)
    t.check(p.returncode == 2 and "--progress" in p.stderr, f"--progress {bad!r} is refused: {p.stderr}")
ht.cleanup()
sys.exit(t.finish())
