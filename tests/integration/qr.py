#!/usr/bin/env python3
"""Query/retrieve and the receiver's fixes against DCMTK's tools, as real processes on loopback:
C-FIND with findscu at every level of both models (universal, wildcard, date range matching, the
counts, only the keys asked for, an unsupported key, bad levels and values, a cancel); C-MOVE
with movescu to a storescp started here (byte-identical data sets, an unknown destination, one
that is down, a cancel, conversion when the destination refuses JPEG); C-GET with getscu; our own
Implementation Class UID; the retired JPEG processes 6/8 and 10/12 and HTJ2K stored, listed and
decoded (HTJ2K moved from one hepatrack to another unchanged); a data set in odd-length PDVs; a
conflict's log line and its count in `check`.

usage: qr.py HEPATRACK HT-GEN-STUDY HT-TEST-SENDER
"""
import hashlib
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import craft  # noqa: E402
from common import Checks, Hepatrack, free_port, generate  # noqa: E402

binary, gen, sender = sys.argv[1:4]
for tool in ("findscu", "movescu", "getscu", "storescp", "storescu", "dcmsend", "dcmcjpeg", "echoscu"):
    if not shutil.which(tool):
        print(f"skipped: DCMTK's {tool} is not installed")
        sys.exit(77)
t = Checks()
work = tempfile.mkdtemp(prefix="ht-qr-")
IMPLEMENTATION_UID = "2.25.21604965792799707602249182031673939010"
STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"


class Server:
    def __init__(self, data, *extra, http=False):
        self.port = free_port()
        self.http = free_port() if http else 0
        self.log = open(os.path.join(work, f"serve-{self.port}.log"), "w+")
        args = ["--http-port", str(self.http)] + (["--http-no-auth"] if http else [])
        self.proc = subprocess.Popen([binary, "--data", data, "serve", "--dicom-port", str(self.port),
                                      *args, *extra], stdout=self.log, stderr=self.log)
        for _ in range(100):
            if subprocess.run(["echoscu", "-to", "2", "-aec", "HEPATRACK", "127.0.0.1", str(self.port)],
                              capture_output=True).returncode == 0:
                return
            time.sleep(0.05)
        raise SystemExit("the server did not start: " + self.text())

    def text(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)


def dataset_sha(path):
    """SHA-256 of a Part 10 file's data set (after the File Meta group)."""
    with open(path, "rb") as f:
        d = f.read()
    meta_len = struct.unpack("<I", d[140:144])[0]  # (0002,0000) UL after preamble and DICM
    return hashlib.sha256(d[144 + meta_len:]).hexdigest(), d


def meta_ts(d):
    i = d.find(b"\x02\x00\x10\x00UI")
    n = struct.unpack("<H", d[i + 6:i + 8])[0]
    return d[i + 8:i + 8 + n].rstrip(b"\0 ").decode()


LINE = re.compile(r"^I: \(([0-9a-f]{4}),([0-9a-f]{4})\) (\w\w) (.*?)\s+#\s+\d+,")


def find(model, *keys, port=None, extra=()):
    """findscu: (answers as {tag: value}, pending statuses, final status text)."""
    args = ["findscu", "-v", model, "-aec", "HEPATRACK", *extra, "127.0.0.1", str(port or srv.port)]
    for k in keys:
        args += ["-k", k]
    p = subprocess.run(args, capture_output=True, text=True, timeout=60)
    answers, statuses, final, current = [], [], "", None
    for line in (p.stdout + p.stderr).splitlines():
        m = re.match(r"^I: Find Response: \d+ \((.*)\)", line)
        if m:
            current = {}
            answers.append(current)
            statuses.append(m.group(1))
            continue
        m = re.match(r"^I: Received Final Find Response \((.*)\)", line)
        if m:
            final, current = m.group(1), None
            continue
        m = LINE.match(line)
        if m and current is not None:
            v = m.group(4)
            current[f"{m.group(1)},{m.group(2)}".upper()] = \
                "" if v.startswith("(no value") else v.strip("[]").rstrip("\0 ")
    return answers, statuses, final


def values(answers, tag):
    return sorted(a.get(tag, "") for a in answers)


# ---- data: three studies (A with two series), imported ---------------------------------------
A = generate(gen, os.path.join(work, "a1"), patient_id="P1", patient_name="Doe^John",
             study_date="20240105", slices=4, size=64, accession="ACC-A")
study_a = subprocess.run(["dcmdump", "+P", "0020,000d", A[0]], capture_output=True,
                         text=True).stdout.split("[")[1].split("]")[0]
A2 = generate(gen, os.path.join(work, "a2"), patient_id="P1", patient_name="Doe^John",
              study_date="20240105", slices=2, size=64, study_uid=study_a, series_number=2,
              accession="ACC-A")
B = generate(gen, os.path.join(work, "b"), patient_id="P2", patient_name="Roe^Jane",
             study_date="20240301", slices=3, size=64)
C = generate(gen, os.path.join(work, "c"), patient_id="P3", patient_name="Cancel^Case",
             study_date="20231120", slices=40, size=64)
data = os.path.join(work, "data")
ht = Hepatrack(binary, data)
ht.run("import", os.path.join(work, "a1"), os.path.join(work, "a2"), os.path.join(work, "b"),
       os.path.join(work, "c"), expect=0)
instances = ht.json("ls", "instances")
sha_of = {i["SOPInstanceUID"]: i["SHA256"] for i in instances}
by_series = {}
for i in instances:
    by_series.setdefault(i["SeriesInstanceUID"], []).append(i["SOPInstanceUID"])
studies = {s["PatientID"]: s["StudyInstanceUID"] for s in ht.json("ls", "studies")}
s1 = next(u for u, sops in by_series.items() if len(sops) == 4)
s2 = next(u for u, sops in by_series.items() if len(sops) == 2)

# An HTJ2K instance (ojph_compress when Debian's openjph-tools is there), imported.
pgm = os.path.join(work, "g.pgm")
pixels = bytes(((x * 4) ^ (y * 2)) & 0xFF for y in range(64) for x in range(64))
with open(pgm, "wb") as f:
    f.write(b"P5\n64 64\n255\n" + pixels)
htj2k = os.path.join(work, "htj2k.dcm")
HTJ2K_UIDS = ("1.2.826.0.1.3680043.10.543.1", "1.2.826.0.1.3680043.10.543.1.1",
              "1.2.826.0.1.3680043.10.543.1.1.1")
have_ojph = shutil.which("ojph_compress") is not None
if have_ojph:
    j2c = os.path.join(work, "g.j2c")
    subprocess.run(["ojph_compress", "-i", pgm, "-o", j2c, "-reversible", "true"], check=True,
                   capture_output=True)
    craft.encapsulated(htj2k, "1.2.840.10008.1.2.4.201", open(j2c, "rb").read(), 64, 64, 8,
                       HTJ2K_UIDS, patient_id="P9")
else:  # no encoder: the "stored and listed" path with a codestream that only declares .201
    print("ojph_compress missing (Debian's openjph-tools): HTJ2K decoding not checked")
    craft.encapsulated(htj2k, "1.2.840.10008.1.2.4.201", b"\xff\x4f\xff\x51" + b"\0" * 60, 64, 64,
                       8, HTJ2K_UIDS, patient_id="P9")
# A transfer syntax nothing here decodes (JPEG XL, newer than DCMTK 3.6.7): kept all the same.
jxl = os.path.join(work, "jxl.dcm")
JXL_UIDS = ("1.2.826.0.1.3680043.10.543.2", "1.2.826.0.1.3680043.10.543.2.1",
            "1.2.826.0.1.3680043.10.543.2.1.1")
craft.encapsulated(jxl, "1.2.840.10008.1.2.4.110", b"\xff\x0a" + b"\0" * 62, 64, 64, 8, JXL_UIDS,
                   patient_id="P9")
ht.run("import", htj2k, jxl, expect=0)
sha_of[JXL_UIDS[2]] = next(i["SHA256"] for i in ht.json("ls", "instances")
                           if i["SOPInstanceUID"] == JXL_UIDS[2])
sha_of[HTJ2K_UIDS[2]] = next(i["SHA256"] for i in ht.json("ls", "instances")
                              if i["SOPInstanceUID"] == HTJ2K_UIDS[2])

# The retired JPEG processes, from a generated study.
J = generate(gen, os.path.join(work, "j"), patient_id="P4", patient_name="Jpeg^Old",
             study_date="20220202", slices=2, size=64)
j53, j55 = os.path.join(work, "j53.dcm"), os.path.join(work, "j55.dcm")
subprocess.run(["dcmcjpeg", "+es", J[0], j53], check=True)
subprocess.run(["dcmcjpeg", "+ep", J[1], j55], check=True)

store_scp_port, movescu_port, down_port, second_port = (free_port() for _ in range(4))
ini = os.path.join(work, "hepatrack.ini")
with open(ini, "w") as f:
    f.write(f"[dicom.destinations]\nSTORESCP = 127.0.0.1:{store_scp_port}\n"
            f"MOVESCU = 127.0.0.1:{movescu_port}\nDOWN = 127.0.0.1:{down_port}\n"
            f"SECOND = 127.0.0.1:{second_port}\n")
p = ht.run("serve", "--config", ini, "--check-config")
t.check(p.returncode == 0 and "destinations=4" in p.stdout, f"the destinations are read: {p.stdout}")
for bad, why in (("NOPORT = 127.0.0.1", "host:port"), ("BIG = 127.0.0.1:70000", "host:port"),
                 ("WAYTOOLONGAETITLE1 = 127.0.0.1:104", "AE title"), ("A = h:1\nA = h:2", "twice")):
    bad_ini = os.path.join(work, "bad.ini")
    with open(bad_ini, "w") as f:
        f.write(f"[dicom.destinations]\n{bad}\n")
    p = ht.run("serve", "--config", bad_ini, "--check-config")
    t.check(p.returncode != 0 and "[dicom.destinations]" in p.stderr and why in p.stderr,
            f"a bad destination line is refused, saying why: {bad!r}: {p.stderr.strip()}")
started = time.monotonic()
srv = Server(data, "--config", ini, http=True)

# ---- our identity on every association -------------------------------------------------------
p = subprocess.run(["echoscu", "-d", "-aec", "HEPATRACK", "127.0.0.1", str(srv.port)],
                   capture_output=True, text=True)
t.check(f"Their Implementation Class UID:    {IMPLEMENTATION_UID}" in p.stdout + p.stderr and
        "Their Implementation Version Name: HEPATRACK_" in p.stdout + p.stderr,
        "an accepted association carries hepatrack's Implementation Class UID and version name")

# ---- C-FIND ------------------------------------------------------------------------------------
STUDY_KEYS = ["QueryRetrieveLevel=STUDY", "StudyInstanceUID", "PatientName", "PatientID",
              "StudyDate", "AccessionNumber", "NumberOfStudyRelatedSeries",
              "NumberOfStudyRelatedInstances", "ModalitiesInStudy"]
ans, st, final = find("-S", *STUDY_KEYS)
t.check(len(ans) == 5 and final == "Success" and set(st) == {"Pending"},
        f"Study Root STUDY, universal matching: 5 studies, pending then success ({len(ans)}, {st}, {final})")
a = next((x for x in ans if x.get("0010,0020") == "P1"), {})
t.check(a.get("0020,1206") == "2" and a.get("0020,1208") == "6" and a.get("0008,0061") == "CT"
        and a.get("0008,0050") == "ACC-A" and a.get("0020,000D") == study_a,
        f"study A's counts, modalities and keys: {a}")
ans, st, final = find("-S", "QueryRetrieveLevel=STUDY", "StudyInstanceUID")
t.check(all(set(x) == {"0008,0052", "0008,0054", "0020,000D"} for x in ans) and
        all(x["0008,0054"] == "HEPATRACK" for x in ans),
        f"only the keys asked for, with the level and Retrieve AE Title: {ans[:1]}")
for rng, want in (("20240201-", ["P2", "P9", "P9"]), ("20240101-20240201", ["P1"]), ("-20231231", ["P3"]),
                  ("20240105", ["P1"])):
    ans, _, final = find("-S", "QueryRetrieveLevel=STUDY", f"StudyDate={rng}", "PatientID")
    t.check(values(ans, "0010,0020") == want and final == "Success",
            f"StudyDate={rng}: {values(ans, '0010,0020')}")
for pattern, want in (("Doe*", ["P1"]), ("?oe^Jane", ["P2"]), ("*Case", ["P3"]), ("Nobody*", [])):
    ans, _, final = find("-S", "QueryRetrieveLevel=STUDY", f"PatientName={pattern}", "PatientID")
    t.check(values(ans, "0010,0020") == want and final == "Success",
            f"PatientName={pattern}: {values(ans, '0010,0020')}")
ans, _, final = find("-P", "QueryRetrieveLevel=PATIENT", "PatientID=P*", "PatientName",
                     "NumberOfPatientRelatedStudies", "NumberOfPatientRelatedInstances")
p1 = next((x for x in ans if x.get("0010,0020") == "P1"), {})
t.check(len(ans) == 4 and p1.get("0020,1200") == "1" and p1.get("0020,1204") == "6",
        f"Patient Root PATIENT with a wildcard and the patient's counts: {len(ans)} {p1}")
ans, _, final = find("-P", "QueryRetrieveLevel=STUDY", "PatientID=P1", "StudyInstanceUID")
t.check(values(ans, "0020,000D") == [study_a], "Patient Root STUDY under a patient")
ans, _, final = find("-S", "QueryRetrieveLevel=SERIES", f"StudyInstanceUID={study_a}",
                     "SeriesInstanceUID", "SeriesNumber", "Modality", "NumberOfSeriesRelatedInstances")
numbers = sorted(str(i["SeriesNumber"]) for i in ht.json("ls", "series") if i["SeriesInstanceUID"] in (s1, s2))
t.check(values(ans, "0020,000E") == sorted([s1, s2]) and values(ans, "0020,1209") == ["2", "4"] and
        values(ans, "0020,0011") == numbers, f"Study Root SERIES of study A: {ans}")
ans, _, final = find("-P", "QueryRetrieveLevel=SERIES", "PatientID=P1", f"StudyInstanceUID={study_a}",
                     "Modality=CT", "SeriesInstanceUID")
t.check(len(ans) == 2, "Patient Root SERIES, matching Modality")
ans, _, final = find("-S", "QueryRetrieveLevel=IMAGE", f"StudyInstanceUID={study_a}",
                     f"SeriesInstanceUID={s1}", "SOPInstanceUID", "InstanceNumber", "SOPClassUID")
t.check(values(ans, "0008,0018") == sorted(by_series[s1]) and final == "Success",
        f"Study Root IMAGE: the series' 4 instances ({len(ans)})")
ans, _, final = find("-P", "QueryRetrieveLevel=IMAGE", "PatientID=P1", f"StudyInstanceUID={study_a}",
                     f"SeriesInstanceUID={s2}", "SOPInstanceUID")
t.check(values(ans, "0008,0018") == sorted(by_series[s2]), "Patient Root IMAGE")
ans, _, final = find("-S", "QueryRetrieveLevel=IMAGE", f"SOPInstanceUID={HTJ2K_UIDS[2]}",
                     "AvailableTransferSyntaxUID")
t.check(len(ans) == 1 and ans[0].get("0008,3002") == "1.2.840.10008.1.2.4.201",
        f"the HTJ2K instance is listed with its transfer syntax: {ans}")
ans, st, final = find("-S", "QueryRetrieveLevel=STUDY", "PatientID=P1", "StudyID", "ReferringPhysicianName")
t.check(len(ans) == 1 and set(st) == {"Pending: WarningUnsupportedOptionalKeys"} and
        ans[0].get("0020,0010") == "" and final == "Success",
        f"keys the index cannot match: returned empty, 0xFF01 ({st})")
ans, st, final = find("-S", "QueryRetrieveLevel=WARD", "PatientID")
t.check(not ans and "DataSetDoesNotMatchSOPClass" in final, f"a bad level: 0xA900 ({final})")
ans, st, final = find("-S", "QueryRetrieveLevel=PATIENT", "PatientID")
t.check(not ans and "DataSetDoesNotMatchSOPClass" in final, f"PATIENT in Study Root: 0xA900 ({final})")
ans, st, final = find("-S", "QueryRetrieveLevel=STUDY", "StudyDate=2024", "PatientID")
t.check(not ans and "DataSetDoesNotMatchSOPClass" in final, f"a malformed date: 0xA900 ({final})")
p = subprocess.run([sender, str(srv.port), "HEPATRACK", "findcancel", A[0]], capture_output=True,
                   text=True, timeout=60, env={**os.environ, "HT_SENDER_CLASS": STUDY_ROOT_FIND})
t.check(p.stdout.strip() == "answers=0 status=0xFE00", f"a C-CANCEL stops the answers: {p.stdout} {p.stderr}")
print(f"C-FIND: {time.monotonic() - started:.1f} s")

# ---- C-MOVE --------------------------------------------------------------------------------------
moved = os.path.join(work, "moved")
os.mkdir(moved)
storescp = subprocess.Popen(["storescp", "-d", "+B", "-aet", "STORESCP", "-od", moved, str(store_scp_port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
for _ in range(100):
    if subprocess.run(["echoscu", "-to", "2", "-aec", "STORESCP", "127.0.0.1", str(store_scp_port)],
                      capture_output=True).returncode == 0:
        break
    time.sleep(0.05)


def move(dest, *keys, model="-S", extra=()):
    args = ["movescu", "-v", model, "-aec", "HEPATRACK", "-aem", dest, *extra, "127.0.0.1", str(srv.port)]
    for k in keys:
        args += ["-k", k]
    p = subprocess.run(args, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


def received(folder):
    out = {}
    for name in os.listdir(folder):
        sha, d = dataset_sha(os.path.join(folder, name))
        sop = subprocess.run(["dcmdump", "+P", "0008,0018", os.path.join(folder, name)],
                             capture_output=True, text=True).stdout.split("[")[1].split("]")[0]
        out[sop] = (sha, meta_ts(d))
    return out


def clear(folder):
    for name in os.listdir(folder):
        os.unlink(os.path.join(folder, name))


rc, out = move("STORESCP", "QueryRetrieveLevel=STUDY", f"StudyInstanceUID={study_a}")
got = received(moved)
t.check(rc == 0 and "Received Final Move Response (Success)" in out, f"C-MOVE of study A: {out[-300:]}")
t.check({k: v[0] for k, v in got.items()} == {s: sha_of[s] for s in by_series[s1] + by_series[s2]},
        f"the 6 instances arrived, each data set byte-identical ({len(got)})")
clear(moved)
rc, out = move("STORESCP", "QueryRetrieveLevel=SERIES", f"StudyInstanceUID={study_a}",
               f"SeriesInstanceUID={s2}", model="-P", extra=())
t.check(len(received(moved)) == 2 and "Success" in out, "Patient Root SERIES move: 2 instances")
clear(moved)
rc, out = move("STORESCP", "QueryRetrieveLevel=IMAGE", f"StudyInstanceUID={study_a}",
               f"SeriesInstanceUID={s1}", f"SOPInstanceUID={by_series[s1][0]}\\{by_series[s1][1]}")
t.check(len(received(moved)) == 2, "IMAGE move of a list of two SOP Instance UIDs")
clear(moved)
rc, out = move("NOWHERE", "QueryRetrieveLevel=STUDY", f"StudyInstanceUID={study_a}")
t.check("MoveDestinationUnknown" in out and not os.listdir(moved), f"an unknown destination: 0xA801 ({out[-200:]})")
rc, out = move("DOWN", "QueryRetrieveLevel=STUDY", f"StudyInstanceUID={studies['P2']}")
t.check("OutOfResourcesSubOperations" in out or "Refused" in out,
        f"a destination that is down: 0xA702 ({out[-200:]})")
rc, out = move("STORESCP", "QueryRetrieveLevel=STUDY", f"StudyInstanceUID={studies['P3']}",
               extra=("--cancel", "1"))
n = len(received(moved))
t.check("Cancel" in out and 0 < n < 40, f"movescu --cancel 1: 0xFE00 after {n} of 40 instances ({out[-200:]})")
clear(moved)
rc, out = move("STORESCP", "QueryRetrieveLevel=STUDY", "StudyInstanceUID")
t.check("DataSetDoesNotMatchSOPClass" in out or "IdentifierDoesNotMatchSOPClass" in out,
        f"a move without the level's unique key: 0xA900 ({out[-200:]})")
print(f"C-MOVE: {time.monotonic() - started:.1f} s")

# ---- C-GET ---------------------------------------------------------------------------------------
got_dir = os.path.join(work, "got")
os.mkdir(got_dir)
p = subprocess.run(["getscu", "-v", "-S", "-aec", "HEPATRACK", "-od", got_dir, "-k", "QueryRetrieveLevel=SERIES",
                    "-k", f"StudyInstanceUID={study_a}", "-k", f"SeriesInstanceUID={s1}", "127.0.0.1",
                    str(srv.port)], capture_output=True, text=True, timeout=120)
got = received(got_dir)
t.check(p.returncode == 0 and {k: v[0] for k, v in got.items()} == {s: sha_of[s] for s in by_series[s1]},
        f"getscu of series 1: its 4 instances, byte-identical ({len(got)}; {(p.stdout + p.stderr)[-300:]})")
clear(got_dir)
p = subprocess.run(["getscu", "-P", "-aec", "HEPATRACK", "-od", got_dir, "-k", "QueryRetrieveLevel=PATIENT",
                    "-k", "PatientID=P2", "127.0.0.1", str(srv.port)], capture_output=True, text=True, timeout=120)
t.check(len(os.listdir(got_dir)) == 3, f"Patient Root GET of a patient: 3 instances ({p.stderr[-200:]})")
print(f"C-GET: {time.monotonic() - started:.1f} s")

# ---- transfer syntaxes: retired JPEG, conversion on move, HTJ2K ---------------------------------
p = subprocess.run(["dcmsend", "-aec", "HEPATRACK", "127.0.0.1", str(srv.port), j53, j55],
                   capture_output=True, text=True, timeout=60)
listed = {i["SOPInstanceUID"]: i for i in ht.json("ls", "instances")}
studies = {s["PatientID"]: s["StudyInstanceUID"] for s in ht.json("ls", "studies")}
jpeg = {i["TransferSyntaxUID"]: i["SOPInstanceUID"] for i in listed.values()
        if i["TransferSyntaxUID"].startswith("1.2.840.10008.1.2.4.5")}
t.check(set(jpeg) == {"1.2.840.10008.1.2.4.53", "1.2.840.10008.1.2.4.55"},
        f"JPEG processes 6/8 and 10/12 received and stored as sent: {sorted(jpeg)} {p.stderr[-200:]}")
base = f"http://127.0.0.1:{srv.http}/api/instances"
for ts, sop in sorted(jpeg.items()):
    with urllib.request.urlopen(f"{base}/{sop}/frames/1/pixels", timeout=30) as r:
        t.check(r.status == 200 and len(r.read()) == 64 * 64 * 2, f"{ts} decodes (/pixels)")
if have_ojph:
    with urllib.request.urlopen(f"{base}/{HTJ2K_UIDS[2]}/frames/1/pixels", timeout=30) as r:
        t.check(r.read() == pixels, "HTJ2K decodes (OpenJPEG 2.5) to the very pixels encoded")
else:
    t.check(True, "HTJ2K decoding not checked (no encoder)")
try:
    urllib.request.urlopen(f"{base}/{JXL_UIDS[2]}/frames/1/pixels", timeout=30)
    t.check(False, "an undecodable instance's frame is refused")
except urllib.error.HTTPError as e:
    t.check(e.code == 415, f"an undecodable instance's frame answers 415: {e.code}")
rc, out = move("STORESCP", "QueryRetrieveLevel=STUDY", f"StudyInstanceUID={studies['P4']}")
got = received(moved)
t.check(len(got) == 2 and {v[1] for v in got.values()} <= {"1.2.840.10008.1.2.1", "1.2.840.10008.1.2"},
        f"JPEG moved to a storescp that takes only uncompressed: decoded on the way ({got})")
clear(moved)
data2 = os.path.join(work, "data2")
second_log = open(os.path.join(work, "second.log"), "w+")
second_port_srv = subprocess.Popen([binary, "--data", data2, "serve", "--dicom-port", str(second_port),
                                    "--http-port", "0", "--aet", "SECOND"], stdout=second_log,
                                   stderr=second_log)
for _ in range(100):
    if subprocess.run(["echoscu", "-to", "2", "-aec", "SECOND", "127.0.0.1", str(second_port)],
                      capture_output=True).returncode == 0:
        break
    time.sleep(0.05)
rc, out = move("SECOND", "QueryRetrieveLevel=IMAGE", f"StudyInstanceUID={HTJ2K_UIDS[0]}",
               f"SeriesInstanceUID={HTJ2K_UIDS[1]}", f"SOPInstanceUID={HTJ2K_UIDS[2]}")
h2 = Hepatrack(binary, data2)
rc, out = move("SECOND", "QueryRetrieveLevel=SERIES", f"StudyInstanceUID={JXL_UIDS[0]}",
               f"SeriesInstanceUID={JXL_UIDS[1]}")
kept_jxl = [i for i in h2.json("ls", "instances") if i["SOPInstanceUID"] == JXL_UIDS[2]]
t.check(len(kept_jxl) == 1 and kept_jxl[0]["TransferSyntaxUID"] == "1.2.840.10008.1.2.4.110" and
        kept_jxl[0]["SHA256"] == sha_of[JXL_UIDS[2]],
        f"a syntax nothing decodes is accepted on the network and stored as sent ({out[-200:]})")
copy = [i for i in h2.json("ls", "instances") if i["SOPInstanceUID"] == HTJ2K_UIDS[2]]
t.check(len(copy) == 1 and copy[0]["TransferSyntaxUID"] == "1.2.840.10008.1.2.4.201" and
        copy[0]["SHA256"] == sha_of[HTJ2K_UIDS[2]],
        f"HTJ2K moved to a second hepatrack: accepted on the network, stored unchanged ({out[-200:]})")

# ---- the receiver: odd-length PDVs, a conflict ----------------------------------------------------
p = subprocess.run([sender, str(second_port), "SECOND", "odd,good,altered", A[0]],
                   capture_output=True, text=True, timeout=60)
t.check(p.stdout.split() == ["status=0x0000", "status=0x0000", "status=0xB000"],
        f"odd-length PDVs accepted, the association goes on; an altered copy is a conflict: {p.stdout} {p.stderr}")
kept = [i for i in h2.json("ls", "instances") if i["SOPInstanceUID"] in sha_of and i["SOPInstanceUID"] in by_series[s1]]
t.check(len(kept) == 1 and kept[0]["SHA256"] == sha_of[kept[0]["SOPInstanceUID"]],
        "the instance sent in odd-length PDVs is stored intact")
c = h2.run("check")
t.check(c.returncode == 0 and "1 conflicts" in c.stdout, f"check counts the conflict: {c.stdout.strip()}")
t.check(h2.json("check")["conflicts"] == 1, "check --json counts the conflict")
second_port_srv.send_signal(signal.SIGTERM)
second_port_srv.wait(timeout=60)
second_log.seek(0)
conflict = [line for line in second_log.read().splitlines() if "event=conflict" in line]
t.check(len(conflict) == 1 and f"sop={kept[0]['SOPInstanceUID'] if kept else '?'}" in conflict[0] and
        "aet=TESTSENDER" in conflict[0] and f"stored_sha256={sha_of.get(kept[0]['SOPInstanceUID'] if kept else '', '?')}"
        in conflict[0] and re.search(r"received_sha256=[0-9a-f]{64}", conflict[0]),
        f"the conflict's log line names the SOP Instance UID, the calling AE and both hashes: {conflict}")

t.check(srv.stop() == 0, "exit 0 on SIGTERM")
log = srv.text()
t.check("event=find " in log and "event=move " in log and "event=get " in log and "status=0xA801" in log,
        "one log line per query and retrieval")
storescp.send_signal(signal.SIGTERM)
scp_log = storescp.communicate(timeout=30)[0]
t.check(f"Their Implementation Class UID:    {IMPLEMENTATION_UID}" in scp_log,
        "an association hepatrack opens carries its Implementation Class UID")
print(f"total: {time.monotonic() - started:.1f} s")
if not t.failed:
    shutil.rmtree(work, ignore_errors=True)
else:
    print(f"kept for a look: {work}")
sys.exit(t.finish())
