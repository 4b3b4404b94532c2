#!/usr/bin/env python3
"""Debian's Orthanc as a second peer of hepatrack's query/retrieve: through Orthanc's REST API it
echoes hepatrack, queries it at study, series and instance level (/modalities/{id}/query,
/queries/{id}/answers), retrieves a study with C-MOVE (/queries/{id}/retrieve) and one series with
/modalities/{id}/move, and stores into hepatrack (/modalities/{id}/store): each instance arrives.
Orthanc binds every interface, so the whole test runs in a private network namespace with only
loopback (unshare -n as root, unshare -rn otherwise), hepatrack beside it.

usage: qr_orthanc.py HEPATRACK HT-GEN-STUDY
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from common import Checks, Hepatrack, free_port, generate  # noqa: E402

if not os.environ.get("HT_IN_NETNS"):
    if not shutil.which("Orthanc") or not shutil.which("unshare") or not shutil.which("ip"):
        print("skipped: needs Debian's orthanc, unshare and ip")
        sys.exit(77)
    flags = ["-n"] if os.geteuid() == 0 else ["-r", "-n"]
    if subprocess.run(["unshare", *flags, "true"], capture_output=True).returncode != 0:
        print("skipped: no private network namespace here (unshare -n needs root or user namespaces)")
        sys.exit(77)
    os.execvpe("unshare", ["unshare", *flags, "--", sys.executable, __file__, *sys.argv[1:]],
               {**os.environ, "HT_IN_NETNS": "1"})

subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
binary, gen = sys.argv[1:3]
t = Checks()
work = tempfile.mkdtemp(prefix="ht-orthanc-")
started = time.monotonic()

study = generate(gen, os.path.join(work, "study"), patient_id="ORT-1", patient_name="Orthanc^Peer",
                 study_date="20240410", slices=5, size=64)
more = generate(gen, os.path.join(work, "more"), patient_id="ORT-2", patient_name="Second^Peer",
                study_date="20240411", slices=2, size=64)
data = os.path.join(work, "data")
ht = Hepatrack(binary, data)
ht.run("import", os.path.join(work, "study"), expect=0)
sops = {i["SOPInstanceUID"] for i in ht.json("ls", "instances")}
study_uid = ht.json("ls", "studies")[0]["StudyInstanceUID"]
series_uid = ht.json("ls", "series")[0]["SeriesInstanceUID"]

ht_port, orthanc_port, http_port = free_port(), free_port(), free_port()
ini = os.path.join(work, "hepatrack.ini")
with open(ini, "w") as f:
    f.write(f"[dicom.destinations]\nORTHANC = 127.0.0.1:{orthanc_port}\n")
ht_log = open(os.path.join(work, "hepatrack.log"), "w+")
server = subprocess.Popen([binary, "--data", data, "serve", "--config", ini, "--dicom-port", str(ht_port),
                           "--http-port", "0"], stdout=ht_log, stderr=ht_log)
storage = os.path.join(work, "orthanc")
os.mkdir(storage)
config = {
    "Name": "ORTHANC", "StorageDirectory": storage, "IndexDirectory": storage, "Plugins": [],
    "HttpServerEnabled": True, "HttpPort": http_port, "RemoteAccessAllowed": False,
    "AuthenticationEnabled": False, "DicomServerEnabled": True, "DicomAet": "ORTHANC",
    "DicomPort": orthanc_port, "DicomCheckCalledAet": False, "DicomAlwaysAllowEcho": True,
    "DicomAlwaysAllowStore": True, "DicomModalities": {"hepatrack": ["HEPATRACK", "127.0.0.1", ht_port]},
    "SaveJobs": False, "ExecuteLuaEnabled": False, "DicomScuTimeout": 30,
}
with open(os.path.join(work, "orthanc.json"), "w") as f:
    json.dump(config, f)
orthanc_log = open(os.path.join(work, "orthanc.log"), "w+")
orthanc = subprocess.Popen(["Orthanc", "--no-jobs", os.path.join(work, "orthanc.json")],
                           stdout=orthanc_log, stderr=orthanc_log)
base = f"http://127.0.0.1:{http_port}"


def rest(path, body=None):
    data_ = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(base + path, data=data_, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            content = r.read()
            return r.status, json.loads(content) if content[:1] in (b"{", b"[") else content
    except urllib.error.HTTPError as e:
        return e.code, e.read()


for _ in range(300):
    try:
        if rest("/system")[0] == 200:
            break
    except OSError:
        pass
    time.sleep(0.1)
else:
    orthanc_log.seek(0)
    raise SystemExit("Orthanc did not start: " + orthanc_log.read()[-500:])

status, _ = rest("/modalities/hepatrack/echo", {})
t.check(status == 200, f"Orthanc's C-ECHO to hepatrack: {status}")


def query(level, keys):
    status, q = rest("/modalities/hepatrack/query", {"Level": level, "Query": keys})
    if status != 200:
        return None, []
    _, answers = rest(f"/queries/{q['ID']}/answers")
    return q["ID"], [rest(f"/queries/{q['ID']}/answers/{a}/content?simplify")[1] for a in answers]


qid, answers = query("Study", {"PatientID": "ORT*", "PatientName": "", "StudyDate": "20240401-",
                               "StudyInstanceUID": "", "NumberOfStudyRelatedInstances": ""})
t.check(len(answers) == 1 and answers[0].get("StudyInstanceUID") == study_uid and
        answers[0].get("PatientName") == "Orthanc^Peer" and
        answers[0].get("NumberOfStudyRelatedInstances") == "5",
        f"Orthanc's study query (wildcard, date range, counts): {answers}")
_, series = query("Series", {"StudyInstanceUID": study_uid, "SeriesInstanceUID": "", "Modality": ""})
t.check(len(series) == 1 and series[0].get("SeriesInstanceUID") == series_uid and
        series[0].get("Modality") == "CT", f"Orthanc's series query: {series}")
_, images = query("Instance", {"StudyInstanceUID": study_uid, "SeriesInstanceUID": series_uid,
                               "SOPInstanceUID": ""})
t.check({a.get("SOPInstanceUID") for a in images} == sops, f"Orthanc's instance query: {len(images)}")
_, none = query("Study", {"PatientID": "NOBODY"})
t.check(none == [], "a query that matches nothing")

status, out = rest(f"/queries/{qid}/retrieve", b"ORTHANC")
_, held = rest("/instances")
got = {rest(f"/instances/{i}")[1]["MainDicomTags"]["SOPInstanceUID"] for i in held}
t.check(status == 200 and got == sops, f"Orthanc retrieves the study by C-MOVE: {len(got)} of 5 ({status} {out})")

for i in held:
    req = urllib.request.Request(f"{base}/instances/{i}", method="DELETE")
    urllib.request.urlopen(req, timeout=30).read()
status, out = rest("/modalities/hepatrack/move",
                   {"Level": "Series", "Resources": [{"StudyInstanceUID": study_uid,
                                                      "SeriesInstanceUID": series_uid}],
                    "TargetAet": "ORTHANC", "Synchronous": True})
t.check(status == 200 and len(rest("/instances")[1]) == 5, f"Orthanc's /modalities/hepatrack/move of a series: {status}")

# Orthanc as a sender: it stores what it holds into hepatrack.
upload = [rest("/instances", open(f, "rb").read())[1]["ID"] for f in more]
status, out = rest("/modalities/hepatrack/store", {"Resources": upload, "Synchronous": True})
t.check(status == 200 and len(ht.json("ls", "instances")) == 7,
        f"Orthanc stores into hepatrack: {status} {out}")

orthanc.send_signal(signal.SIGTERM)
orthanc.wait(timeout=60)
server.send_signal(signal.SIGTERM)
t.check(server.wait(timeout=60) == 0, "hepatrack exits 0 on SIGTERM")
ht_log.seek(0)
log = ht_log.read()
t.check("event=find " in log and "event=move " in log and "aet=ORTHANC" in log,
        "hepatrack logs Orthanc's queries and retrievals")
print(f"total: {time.monotonic() - started:.1f} s")
if not t.failed:
    shutil.rmtree(work, ignore_errors=True)
else:
    print(f"kept for a look: {work}")
sys.exit(t.finish())
