#!/usr/bin/env python3
"""`make demo`'s script as a user runs it: it serves on the ports given, its records match its
studies (every time point lists one study of its subject's patient on its date, every
measurement is on a time point with a study, one reader of record, the login's name), S01's last
study waits to be assigned, and a second run serves the data as it is instead of wiping it.

usage: demo.py DEMO_SH BUILD_DIR
"""
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from common import Checks, free_port, http_request  # noqa: E402

script, build = sys.argv[1:3]
t = Checks()
work = tempfile.mkdtemp(prefix="ht-demo-")
data = os.path.join(work, "demo-data")
http_port, dicom_port = free_port(), free_port()
base = f"http://127.0.0.1:{http_port}"


def start(reset):
    log = open(os.path.join(work, f"demo-{reset}.log"), "w+")
    proc = subprocess.Popen(["sh", script, build, data, str(http_port), str(dicom_port), reset],
                            stdout=log, stderr=subprocess.STDOUT)
    for _ in range(1200):
        if proc.poll() is not None:
            break
        try:
            if http_request(base, "/api/me")[0] == 401:
                break
        except OSError:
            time.sleep(0.1)
    log.seek(0)
    return proc, log.read()


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


def login(user, password):
    status, headers, _ = http_request(base, "/api/login", "POST", {"username": user, "password": password},
                                      {"Origin": base})
    cookie = headers.get("Set-Cookie", "").split(";")[0]
    return status, {"Cookie": cookie}


proc, out = start("0")
t.check(proc.poll() is None, f"the demo serves: {out[-600:]}")
t.check(f"http://127.0.0.1:{http_port}/" in out and f"127.0.0.1:{dicom_port}" in out and data in out,
        "it prints the station's address, the DICOM port and where its data lives")
status, auth = login("demo-radiologist", "demo-radiologist-pw")
t.check(status == 200, f"the printed radiologist login works ({status})")
_, _, studies = http_request(base, "/api/studies?limit=1000", headers=auth)
by_uid = {s["StudyInstanceUID"]: s for s in studies["items"]}
_, _, subjects = http_request(base, "/api/subjects", headers=auth)
t.check(subjects["items"] == ["S01", "S02", "S03"], f"three subjects: {subjects}")
readers, unmatched = set(), []
for subject in subjects["items"]:
    _, _, records = http_request(base, f"/api/subjects/{subject}", headers=auth)
    with_study = set()
    for tp in records["timepoints"]:
        listed = [by_uid.get(uid) for uid in tp.get("study_uids", [])]
        if len(listed) == 1 and listed[0] and listed[0]["PatientID"] == subject and \
                listed[0]["StudyDate"] == tp["date"].replace("-", ""):
            with_study.add(tp["label"])
        else:
            unmatched.append(f"{subject} {tp['label']}")
        readers.add(tp.get("read_by"))
    unmatched += [f"{subject} {a['lesion']}@{a['timepoint']}" for a in records["assessments"]
                  if a["timepoint"] not in with_study]
    readers |= {a["recorded_by"] for a in records["assessments"]}
t.check(unmatched == [], f"every time point has its study, every measurement a time point with one: {unmatched}")
t.check(readers == {"demo-radiologist"}, f"one reader of record, the login's name: {readers}")
_, _, offered = http_request(base, "/api/subjects/S01/proposals", headers=auth)
t.check([(p["timepoint"], p["study_date"]) for p in offered["items"]] == [("FU2", "2026-05-04")],
        f"S01's last study waits to be assigned: {offered}")
stop(proc)

# Again without RESET: the same data, served as it is.
http_port = free_port()
base = f"http://127.0.0.1:{http_port}"
marker = os.path.join(data, "kept")
open(marker, "w").close()
proc, out = start("0")
t.check(proc.poll() is None and "exists: serving it as it is" in out and "RESET=1" in out,
        f"a second run keeps the data directory and says how to start again: {out[:300]}")
t.check(os.path.exists(marker) and login("demo-coordinator", "demo-coordinator-pw")[0] == 200,
        "nothing was deleted and the logins still work")
stop(proc)
sys.exit(t.finish())
