#!/usr/bin/env python3
"""Several receivers: two `hepatrack serve` nodes on one data directory (one index, one archive)
behind Debian's HAProxy in TCP mode, against DCMTK's storescu as real processes on loopback. The
index is SQLite, or PostgreSQL when run under tests/tools/pgcluster.py.

- a 300-instance study sent through HAProxy by 4 storescu senders lands whole, once, across both
  nodes, and `check` is clean;
- the same instances sent to both nodes at once are stored once (duplicates), and sent again with
  other content to both at once are recorded as conflicts, once each, the first copy kept;
- a study whose instances arrive on both nodes becomes stable once, after the last of them;
- SIGKILL of one node while 4 senders send through HAProxy: every acknowledged instance is indexed
  and intact, the other node takes the resent rest, and after the killed node restarts `check`
  is clean;
- the HTTP API answers the same from either node, and a session made on one is good on the other.

usage: nodes.py HEPATRACK HT-GEN-STUDY
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from common import Checks, Hepatrack, data_dir, free_port, generate, http_request  # noqa: E402

binary, gen = sys.argv[1:3]
for tool in ("storescu", "echoscu", "haproxy"):
    if not shutil.which(tool):
        print(f"skipped: {tool} is not installed")
        sys.exit(77)
t = Checks()
work = tempfile.mkdtemp(prefix="ht-nodes-")
data = data_dir(os.path.join(work, "data"))
STABLE_SECONDS = 2


def echo(port):
    return subprocess.run(["echoscu", "-to", "2", "-aet", "PACS", "-aec", "HEPATRACK", "127.0.0.1",
                           str(port)], capture_output=True).returncode == 0


class Node:
    """One `hepatrack serve` on the shared data directory, with its own DICOM and HTTP ports."""

    def __init__(self, name, dicom_port=None, http_port=None):
        self.name = name
        self.dicom_port = dicom_port or free_port()
        self.http_port = http_port or free_port()
        self.base = f"http://127.0.0.1:{self.http_port}"
        self.log = open(os.path.join(work, f"{name}.log"), "a+")
        self.proc = subprocess.Popen(
            [binary, "--data", data, "serve", "--dicom-port", str(self.dicom_port), "--http-port",
             str(self.http_port), "--stable-seconds", str(STABLE_SECONDS)],
            stdout=self.log, stderr=self.log)
        for _ in range(200):
            if echo(self.dicom_port):
                return
            time.sleep(0.05)
        raise SystemExit(f"node {name} did not start: {self.text()}")

    def text(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def received(self):
        return sum(int(n) for n in re.findall(r"event=association .*?received=(\d+)", self.text()))

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=60)


HAPROXY_CONFIG = """global
    maxconn 256
defaults
    mode tcp
    timeout connect 2s
    timeout client 120s
    timeout server 120s
frontend dicom
    bind 127.0.0.1:{dicom}
    default_backend receivers
frontend http
    bind 127.0.0.1:{http}
    default_backend stations
backend receivers
    balance leastconn
    server a 127.0.0.1:{a_dicom} check inter 200ms fall 2 rise 2
    server b 127.0.0.1:{b_dicom} check inter 200ms fall 2 rise 2
backend stations
    balance roundrobin
    server a 127.0.0.1:{a_http} check inter 200ms fall 2 rise 2
    server b 127.0.0.1:{b_http} check inter 200ms fall 2 rise 2
"""


def store(port, *args):
    return subprocess.run(["storescu", "-v", "-aec", "HEPATRACK", "-aet", "PACS", "127.0.0.1",
                           str(port), *args], capture_output=True, text=True, timeout=600)


def send_all(port, groups):
    """One storescu per group of files, all at once; their results in order."""
    results = [None] * len(groups)

    def run(i):
        results[i] = store(port, *groups[i])
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(groups))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return results


def acknowledged(result, files):
    """The files storescu was told were stored (Success, or 0xB000 for a kept conflict)."""
    sent, acked = None, []
    for line in (result.stdout + result.stderr).splitlines():
        m = re.search(r"Sending file: (\S+)", line)
        if m:
            sent = m.group(1)
        elif "Received Store Response" in line and ("Success" in line or "Warning" in line):
            acked.append(sent)
    return [f for f in acked if f in files]


def index_of(h):
    return {(i["SOPInstanceUID"], i["SHA256"]) for i in h.json("ls", "instances")}


def split(files, n):
    return [files[i::n] for i in range(n)]


# What the files give when imported: the reference of what must arrive, and each file's UID.
big = generate(gen, os.path.join(work, "big"), slices=300, size=64, patient_id="NODES-1")
twins = generate(gen, os.path.join(work, "twins"), slices=40, size=64, patient_id="NODES-2",
                 study_uid="2.25.4242", seed=1)
other = generate(gen, os.path.join(work, "other"), slices=40, size=64, patient_id="NODES-2",
                 study_uid="2.25.4242", seed=2)
halves = generate(gen, os.path.join(work, "halves"), slices=40, size=64, patient_id="NODES-3")
killed = generate(gen, os.path.join(work, "killed"), slices=400, size=64, patient_id="NODES-4")
ref = Hepatrack(binary, data_dir(os.path.join(work, "ref")))
for folder in ("big", "twins", "halves", "killed"):
    ref.run("import", os.path.join(work, folder), expect=0)
uid_of = {i["Source"][len("import:"):]: i["SOPInstanceUID"] for i in ref.json("ls", "instances")}
sha_of = {i["SOPInstanceUID"]: i["SHA256"] for i in ref.json("ls", "instances")}


def expected(files):
    return {(uid_of[f], sha_of[uid_of[f]]) for f in files}


h = Hepatrack(binary, data)
a, b = Node("a"), Node("b")
front_dicom, front_http = free_port(), free_port()
config = os.path.join(work, "haproxy.cfg")
with open(config, "w") as f:
    f.write(HAPROXY_CONFIG.format(dicom=front_dicom, http=front_http, a_dicom=a.dicom_port,
                                  b_dicom=b.dicom_port, a_http=a.http_port, b_http=b.http_port))
haproxy_log = open(os.path.join(work, "haproxy.log"), "w")
haproxy = subprocess.Popen(["haproxy", "-db", "-f", config], stdout=haproxy_log,
                           stderr=subprocess.STDOUT)
for _ in range(100):
    if echo(front_dicom):
        break
    time.sleep(0.05)
time.sleep(0.6)  # both servers seen up by HAProxy's checks

try:
    # 1. 300 instances through HAProxy by 4 senders: whole, once, across both nodes.
    results = send_all(front_dicom, split(big, 4))
    t.check(all(r.returncode == 0 for r in results),
            "4 senders through HAProxy: " + " | ".join(r.stderr[-200:] for r in results))
    got = index_of(h)
    t.check(got == expected(big), f"the 300-instance study landed whole and once ({len(got)})")
    ra, rb = a.received(), b.received()
    print(f"received through HAProxy: node a {ra}, node b {rb}")
    t.check(ra > 0 and rb > 0 and ra + rb == 300, f"both nodes received a share: {ra} + {rb}")
    files = [os.path.join(dp, f) for dp, _, fs in os.walk(os.path.join(data, "instances"))
             for f in fs if not f.startswith(".layout")]  # the archive's layout mark
    t.check(len(files) == 300 and all(f.endswith(".dcm") for f in files),
            f"one file per instance, no temporary left ({len(files)}: "
            f"{[f for f in files if not f.endswith('.dcm')][:3]})")
    c = h.run("check")
    t.check(c.returncode == 0, f"check is clean after two nodes received: {c.stdout[-300:]}")

    # 2. The same 40 instances to both nodes at once, twice each: stored once. Then other content
    # under the same UIDs to both at once: one conflict each, the first copy kept.
    results = []
    threads = [threading.Thread(target=lambda p=p: results.append(store(p, *twins)))
               for p in (a.dicom_port, b.dicom_port, a.dicom_port, b.dicom_port)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t.check(all(r.returncode == 0 and len(acknowledged(r, twins)) == 40 for r in results),
            "the same instances to both nodes at once are all acknowledged")
    got = index_of(h)
    t.check(got == expected(big) | expected(twins), f"and stored once ({len(got)} rows)")
    results = []
    threads = [threading.Thread(target=lambda p=p: results.append(store(p, *other)))
               for p in (a.dicom_port, b.dicom_port)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    conflicts = h.json("ls", "conflicts")
    t.check(len(conflicts) == 40 and len({c["SOPInstanceUID"] for c in conflicts}) == 40,
            f"other content under the same UIDs from both nodes: one conflict each ({len(conflicts)})")
    t.check(index_of(h) == expected(big) | expected(twins), "the first copies are kept")
    warned = a.text().count("event=conflict") + b.text().count("event=conflict")
    t.check(warned == 80, f"every conflicting copy was answered as a conflict ({warned} of 80)")

    # 3. A study arriving on both nodes is stable once, after its last instance on either.
    first, second = halves[:20], halves[20:]
    t.check(store(a.dicom_port, *first).returncode == 0, "half a study to node a")
    time.sleep(STABLE_SECONDS * 0.6)
    t.check(store(b.dicom_port, *second).returncode == 0, "the other half to node b")
    study = [s for s in h.json("ls", "studies") if s["PatientID"] == "NODES-3"][0]
    t.check(study["StableTime"] is None, "not stable while instances arrive on the other node")
    last_b = study["LastReceivedTime"]
    time.sleep(STABLE_SECONDS + 2.5)
    study = [s for s in h.json("ls", "studies") if s["PatientID"] == "NODES-3"][0]
    t.check(study["StableTime"] is not None and study["StableTime"] > last_b
            and study["LastReceivedTime"] == last_b,
            f"stable after the last instance on either node: {study}")
    marked = (a.text() + b.text()).count("event=stable study=" + study["StudyInstanceUID"])
    t.check(marked == 1, f"decided once across nodes ({marked} nodes said so)")

    # 4. The HTTP API from either node, through HAProxy too; a session made on one works on the
    # other (credentials live in the shared index).
    user = subprocess.run([binary, "--data", data, "user", "add", "coord", "--role", "coordinator",
                           "--password-stdin"], input="nodes-password\n", capture_output=True,
                          text=True)
    t.check(user.returncode == 0, f"a user added beside the nodes: {user.stderr}")
    status, hdrs, _ = http_request(a.base, "/api/login", "POST",
                                   {"username": "coord", "password": "nodes-password"})
    cookie = {"Cookie": hdrs.get("Set-Cookie", "").split(";")[0]}
    t.check(status == 200, f"login on node a: {status}")
    status, _, body = http_request(b.base, "/api/subjects", "POST", {"subject": "N01"}, cookie)
    t.check(status in (200, 201), f"node a's session enrols a subject on node b: {status} {body}")
    lists = [http_request(base, "/api/studies", headers=cookie)
             for base in (a.base, b.base, f"http://127.0.0.1:{front_http}")]
    t.check(all(s == 200 for s, _, _ in lists) and lists[0][2] == lists[1][2] == lists[2][2],
            "the same studies from node a, node b and HAProxy")
    subjects = http_request(a.base, "/api/subjects", headers=cookie)[2]
    t.check("N01" in str(subjects), "node a lists the subject node b enrolled")

    # 4b. On PostgreSQL: the database server restarted under running nodes (its sessions cut,
    # as a failover does). Each node connects again at its next statement; nothing is resent
    # by hand.
    if os.environ.get("HT_TEST_PG_RESTART"):
        subprocess.run(os.environ["HT_TEST_PG_RESTART"], shell=True, check=True)
        again = generate(gen, os.path.join(work, "again"), slices=20, size=64, patient_id="NODES-5")
        results = send_all(front_dicom, split(again, 2))
        t.check(all(r.returncode == 0 for r in results),
                "after a restart of PostgreSQL the nodes store again: "
                + " | ".join(r.stderr[-200:] for r in results))
        patients = {p["PatientID"] for p in h.json("ls", "patients")}
        t.check("NODES-5" in patients, "the study is indexed")
        status, _, _ = http_request(b.base, "/api/studies", headers=cookie)
        t.check(status == 200, f"the HTTP API answers after the restart: {status}")

    # 5. SIGKILL of node a while 4 senders send 400 instances through HAProxy.
    before = index_of(h)
    groups = split(killed, 4)
    results = [None] * 4

    def send(i):
        results[i] = store(front_dicom, *groups[i])
    threads = [threading.Thread(target=send, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for _ in range(400):  # until node a has stored some of them
        if len(index_of(h)) > len(before) + 60:
            break
        time.sleep(0.05)
    a.stop(signal.SIGKILL)
    for th in threads:
        th.join()
    acked = [f for i in range(4) for f in acknowledged(results[i], groups[i])]
    failed = [i for i in range(4) if results[i].returncode != 0 or
              len(acknowledged(results[i], groups[i])) < len(groups[i])]
    print(f"SIGKILL of node a: {len(acked)} of 400 acknowledged, senders cut: {failed}")
    t.check(failed, "some sender was cut off by the kill")
    got = index_of(h)
    t.check(expected(acked) <= got, f"every acknowledged instance is indexed and intact "
            f"({len(expected(acked) - got)} missing)")
    time.sleep(0.8)  # HAProxy's checks see node a down
    rest = [f for f in killed if f not in set(acked)]
    received_b = b.received()
    resend = send_all(front_dicom, split(rest, 4))
    t.check(all(r.returncode == 0 for r in resend),
            "the rest, resent through HAProxy, is taken by node b alone: "
            + " | ".join(r.stderr[-200:] for r in resend))
    t.check(b.received() - received_b == len(rest), f"node b took all {len(rest)}")
    a = Node("a", a.dicom_port, a.http_port)  # restarted: its recovery runs first
    got = index_of(h)
    t.check(got == before | expected(killed), f"the study is whole and once ({len(got)} rows)")
    c = h.run("check")
    t.check(c.returncode == 0, f"check is clean after the kill and restart: {c.stdout[-400:]}")
finally:
    haproxy.terminate()
    haproxy.wait(timeout=30)
    for node in (a, b):
        if node.proc.poll() is None:
            node.stop()
if t.failed == 0 and not os.environ.get("HT_KEEP"):
    shutil.rmtree(work, ignore_errors=True)
sys.exit(t.finish())
