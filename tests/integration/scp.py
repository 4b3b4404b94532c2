#!/usr/bin/env python3
"""The DICOM receiver against DCMTK's own echoscu and storescu, as real processes on loopback:
C-ECHO; a generated study sent and compared with what was sent; four senders at once; refused
calling and called AE titles; SIGHUP reloading the allow-list; the same study twice; a full
data directory and one that stops being writable (0xA700); SIGTERM.

usage: scp.py HEPATRACK HT-GEN-STUDY HT-TEST-SENDER
"""
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from common import Checks, Hepatrack, data_dir, free_port, generate  # noqa: E402

binary, gen, sender = sys.argv[1:4]
if not shutil.which("storescu"):
    print("skipped: DCMTK's storescu is not installed")
    sys.exit(77)
t = Checks()
work = tempfile.mkdtemp(prefix="ht-scp-")


class Server:
    def __init__(self, data, *extra, prefix=()):
        self.port = free_port()
        self.log = open(os.path.join(work, f"serve-{self.port}.log"), "w+")
        # DICOM only (--http-port 0): parallel tests must not compete for port 8080
        self.proc = subprocess.Popen([*prefix, binary, "--data", data, "serve", "--dicom-port",
                                      str(self.port), "--http-port", "0", *extra],
                                     stdout=self.log, stderr=self.log)
        for _ in range(100):
            if subprocess.run(["echoscu", "-to", "2", "-aet", "PACS", "-aec", "HEPATRACK", "127.0.0.1",
                               str(self.port)], capture_output=True).returncode == 0:
                return
            time.sleep(0.05)
        raise SystemExit("the server did not start: " + self.text())

    def text(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=60)


def store(port, *args, aec="HEPATRACK", aet="PACS"):
    return subprocess.run(["storescu", "-aec", aec, "-aet", aet, "127.0.0.1", str(port), *args],
                          capture_output=True, text=True, timeout=600)


def uids_and_hashes(data):
    return {(i["SOPInstanceUID"], i["SHA256"]) for i in Hepatrack(binary, data).json("ls", "instances")}


studies = [os.path.join(work, f"study{i}") for i in range(4)]
for i, s in enumerate(studies):
    generate(gen, s, slices=120 if i == 0 else 30, patient_id=f"SCP-{i}")

# What the same files give when imported: the reference for what must arrive.
ref = data_dir(os.path.join(work, "ref"))
Hepatrack(binary, ref).run("import", studies[0], expect=0)
expected = uids_and_hashes(ref)

data = data_dir(os.path.join(work, "data"))
srv = Server(data)
p = subprocess.run(["echoscu", "-aec", "HEPATRACK", "127.0.0.1", str(srv.port)],
                   capture_output=True, text=True)
t.check(p.returncode == 0, f"C-ECHO: {p.stderr}")
p = store(srv.port, "+sd", studies[0])
t.check(p.returncode == 0, f"storescu of 120 slices: {p.stderr[-300:]}")
got = uids_and_hashes(data)
t.check(got == expected, f"every instance arrived with its dataset intact ({len(got)} of "
        f"{len(expected)})")

# Four senders at once, each its own study.
procs = [subprocess.Popen(["storescu", "-aec", "HEPATRACK", "-aet", f"PACS{i}", "127.0.0.1",
                           str(srv.port), "+sd", studies[i]], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE) for i in range(1, 4)]
procs.append(subprocess.Popen(["storescu", "-aec", "HEPATRACK", "-aet", "PACS0", "127.0.0.1",
                               str(srv.port), "+sd", studies[0]], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE))
codes = [pr.wait(timeout=600) for pr in procs]
t.check(codes == [0, 0, 0, 0], f"four senders at once: {codes}")
ht = Hepatrack(binary, data)
t.check(len(ht.json("ls", "instances")) == 120 + 3 * 30, "four studies indexed, the resend added nothing")
t.check(len(ht.json("ls", "studies")) == 4, "four studies")

# The same study again: success, no second copy.
files_before = sum(len(f) for _, _, f in os.walk(os.path.join(data, "instances")))
t.check(store(srv.port, "+sd", studies[1]).returncode == 0, "the same study again is accepted")
files_after = sum(len(f) for _, _, f in os.walk(os.path.join(data, "instances")))
t.check(files_after == files_before, f"no second copy ({files_before} -> {files_after} files)")

# A wrong called AE title.
p = store(srv.port, os.path.join(studies[1], "CT0001.dcm"), aec="NOTUS")
t.check(p.returncode != 0 and "Called AE Title Not Recognized" in p.stderr + p.stdout,
        f"wrong called AE title: {p.stderr}")
srv.stop()
log = srv.text()
t.check("event=association" in log and "received=120" in log, "one log line per association")
t.check("called AE title not recognized" in log, "the refusal is logged")
t.check(ht.run("check").returncode == 0, "archive and index consistent after SIGTERM")

# An allow-list: the calling AE title must be on it.
srv = Server(data, "--allow", "PACS@127.0.0.1")
p = store(srv.port, os.path.join(studies[1], "CT0001.dcm"), aet="INTRUDER")
t.check(p.returncode != 0 and "Calling AE Title Not Recognized" in p.stderr + p.stdout,
        f"calling AE title not allowed: {p.stderr}")
t.check(store(srv.port, os.path.join(studies[1], "CT0001.dcm"), aet="PACS").returncode == 0,
        "an allowed calling AE title")
t.check(srv.stop() == 0, "exit 0 on SIGTERM")

# SIGHUP reloads the allow-list from the config file, without a restart.
ini = os.path.join(work, "hepatrack.ini")
with open(ini, "w") as f:
    f.write("[dicom]\nallow = PACS\n")
srv = Server(data, "--config", ini)
one_slice = os.path.join(studies[1], "CT0002.dcm")
t.check(store(srv.port, one_slice, aet="NEWPACS").returncode != 0, "before SIGHUP: NEWPACS is refused")
with open(ini, "w") as f:
    f.write("[dicom]\nallow = NEWPACS\n")
srv.proc.send_signal(signal.SIGHUP)
for _ in range(100):
    if "event=reload" in srv.text():
        break
    time.sleep(0.05)
t.check(store(srv.port, one_slice, aet="NEWPACS").returncode == 0, "after SIGHUP: NEWPACS is accepted")
t.check(store(srv.port, one_slice, aet="PACS").returncode != 0, "and PACS, no longer listed, is refused")
t.check(srv.stop() == 0, "exit 0 on SIGTERM after a reload")

# A broken peer: an unindexable dataset and a mismatched UID are refused while the association
# goes on; a sender that drops mid-instance or stalls past the timeout leaves nothing.
data2 = data_dir(os.path.join(work, "data2"))
srv = Server(data2, "--timeout", "2")
one = os.path.join(studies[2], "CT0001.dcm")
p = subprocess.run([sender, str(srv.port), "HEPATRACK", "nostudy,mismatch,good", one],
                   capture_output=True, text=True, timeout=60)
t.check(p.stdout.split() == ["status=0xC000", "status=0xC000", "status=0x0000"],
        f"refusals then success on one association: {p.stdout} {p.stderr}")
p = subprocess.run([sender, str(srv.port), "HEPATRACK", "drop", os.path.join(studies[2], "CT0002.dcm")],
                   capture_output=True, text=True, timeout=60)
t.check("dropped" in p.stdout, "the sender dropped mid-instance")
p = subprocess.run([sender, str(srv.port), "HEPATRACK", "stall:4", os.path.join(studies[2], "CT0003.dcm")],
                   capture_output=True, text=True, timeout=60)
t.check(p.returncode != 0, "a stalled transfer is broken off")
time.sleep(0.5)
h2 = Hepatrack(binary, data2)
t.check(len(h2.json("ls", "instances")) == 1, "only the good instance is kept")
t.check(h2.run("check").returncode == 0, "no partial file is left after a drop or a stall")
srv.stop()
t.check("Study Instance UID (0020,000D) is missing" in srv.text() and
        "differs from the request's" in srv.text(), "refusals are logged with their reason")

# A dataset without its SOP Class UID is refused; a presentation context for a UID with a
# trailing dot is not accepted; an AE title with a line break forges no log line.
srv = Server(data2, "--timeout", "2")
p = subprocess.run([sender, str(srv.port), "HEPATRACK", "noclass", os.path.join(studies[2], "CT0004.dcm")],
                   capture_output=True, text=True, timeout=60)
t.check(p.stdout.strip() in ("status=0xC000", "status=0xA900"), f"no SOP Class UID: refused ({p.stdout} {p.stderr})")
p = subprocess.run([sender, str(srv.port), "HEPATRACK", "good", os.path.join(studies[2], "CT0005.dcm")],
                   capture_output=True, text=True, timeout=60,
                   env={**os.environ, "HT_SENDER_CLASS": "1.2.840.10008.5.1.4.1.1."})
t.check(p.returncode != 0 and "no accepted presentation context" in p.stderr,
        f"a SOP class UID with a trailing dot is not accepted: {p.stdout} {p.stderr}")
p = subprocess.run([sender, str(srv.port), "HEPATRACK", "good", os.path.join(studies[2], "CT0006.dcm")],
                   capture_output=True, text=True, timeout=60, env={**os.environ, "HT_SENDER_AET": "X\nevent=fake ok"})
srv.stop()
log = srv.text()
t.check("SOP Class UID (0008,0016) is missing" in log, "the missing SOP Class UID is logged")
t.check("aet=X\\x0Aevent=fake ok" in log and not any(line.startswith("event=fake") for line in log.splitlines()),
        "a line break in an AE title is escaped, not a new log line")

# Silent and slow peers delay no one: 70 connections that send nothing and one that sends half
# an association request, then echoscu answers at once; beyond 64 waiting connections the
# oldest are ended at once, and every one when the handshake time (here 3 s) is over.
import socket  # noqa: E402
srv = Server(data2, "--timeout", "3")
silent = [socket.create_connection(("127.0.0.1", srv.port), timeout=10) for _ in range(70)]
half = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
half.sendall(bytes([0x01, 0, 0, 0, 0x01, 0x00]) + b"\x00" * 40)  # announces 256 bytes, sends 40
started = time.monotonic()
p = subprocess.run(["echoscu", "-to", "5", "-aet", "PACS", "-aec", "HEPATRACK", "127.0.0.1", str(srv.port)],
                   capture_output=True, text=True, timeout=30)
took = time.monotonic() - started
t.check(p.returncode == 0 and took < 2, f"C-ECHO beside 71 silent or slow connections: {took:.2f} s {p.stderr}")


def closed_by_server(sock, wait):
    sock.settimeout(wait)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


early = sum(closed_by_server(s_, 0.5) for s_ in silent[:8])
t.check(early >= 7, f"beyond 64 waiting connections, the oldest are ended at once ({early} of 8)")
time.sleep(max(0.0, 3.5 - (time.monotonic() - started)))
late = sum(closed_by_server(s_, 2) for s_ in silent[8:] + [half])
t.check(late == 63, f"silent and half-sent connections are closed after the handshake time ({late} of 63)")
for s_ in silent + [half]:
    s_.close()
t.check(store(srv.port, one).returncode == 0, "the receiver still stores afterwards")
srv.stop()
t.check("no whole association request within the handshake time" in srv.text(),
        "a silent connection is logged with its reason")

# Study stability: quiet for --stable-seconds makes a study stable; a new instance undoes it.
data3 = data_dir(os.path.join(work, "data3"))
srv = Server(data3, "--stable-seconds", "1")
t.check(store(srv.port, "+sd", studies[3]).returncode == 0, "a study for stability")
h3 = Hepatrack(binary, data3)
time.sleep(2.5)
st = h3.json("ls", "studies")[0]
t.check(st["StableTime"] is not None and st["LastReceivedTime"] is not None,
        f"stable after a quiet second: {st}")
more = os.path.join(work, "more")
generate(gen, more, slices=31, patient_id="SCP-3", study_uid=st["StudyInstanceUID"])
t.check(store(srv.port, os.path.join(more, "CT0031.dcm")).returncode == 0, "one more instance")
t.check(h3.json("ls", "studies")[0]["StableTime"] is None, "a new instance makes it unstable")
time.sleep(2.5)
t.check(h3.json("ls", "studies")[0]["StableTime"] is not None, "and stable again")
srv.stop()
t.check(srv.text().count("event=stable study=" + st["StudyInstanceUID"]) == 2,
        "each stability is logged")

# SIGKILL while a study is arriving: every instance acknowledged before is there and intact.
sources = {i["Source"][len("import:"):]: i["SOPInstanceUID"]
           for i in Hepatrack(binary, ref).json("ls", "instances")}
files = sorted(os.path.join(studies[0], f) for f in os.listdir(studies[0]))
rng = random.Random(5)
for trial in range(3):
    d = data_dir(os.path.join(work, f"kill{trial}"))
    srv = Server(d)
    sending = subprocess.Popen(["storescu", "-v", "-aec", "HEPATRACK", "-aet", "PACS",
                                "127.0.0.1", str(srv.port), *files],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(rng.uniform(0.05, 0.3))
    srv.proc.kill()
    srv.proc.wait()
    out = sending.communicate(timeout=120)[0]
    acked = out.count("Received Store Response (Success)")
    srv = Server(d)  # restart: recovery runs first
    srv.stop()
    h = Hepatrack(binary, d)
    indexed = {i["SOPInstanceUID"] for i in h.json("ls", "instances")}
    want = {sources[f] for f in files[:acked]}
    t.check(want <= indexed, f"SIGKILL trial {trial}: all {acked} acknowledged instances are "
            f"indexed ({len(indexed)} present)")
    c = h.run("check")
    t.check(c.returncode == 0, f"SIGKILL trial {trial}: no orphan file or row: {c.stdout[-300:]}")
    print(f"SIGKILL trial {trial}: {acked} acknowledged, {len(indexed)} indexed")

# A full data directory: 0xA700, and nothing half-written (needs root for the tmpfs).
if os.geteuid() == 0:
    small = tempfile.mkdtemp(prefix="ht-scp-full-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", small], check=True)
    try:
        srv = Server(data_dir(os.path.join(small, "data")))
        p = store(srv.port, "-v", "+sd", studies[1])
        t.check("Refused: OutOfResources" in p.stderr + p.stdout,
                f"disk full answers Out of Resources: {(p.stderr + p.stdout)[-400:]}")
        t.check(srv.stop() == 0 and "status=0xA700" in srv.text(), "the refusal is logged")
        c = Hepatrack(binary, os.path.join(small, "data")).run("check")
        t.check(c.returncode == 0, f"consistent after a full disk: {c.stdout}")
    finally:
        subprocess.run(["umount", small])
        os.rmdir(small)

# A data directory that stops being writable under the running server (run unprivileged with
# setpriv, since root writes anywhere): 0xA700, and nothing half-written.
UNPRIVILEGED = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
if os.geteuid() == 0 and shutil.which("setpriv") and subprocess.run(
        [*UNPRIVILEGED, binary, "--version"], capture_output=True).returncode != 0:
    print("unwritable data directory: skipped (user 65534 cannot run the binary from here)")
elif os.geteuid() == 0 and shutil.which("setpriv"):
    ro = tempfile.mkdtemp(prefix="ht-scp-ro-")
    os.chmod(ro, 0o755)
    ro_data = data_dir(os.path.join(ro, "data"))
    os.chown(ro_data, 65534, 65534)  # the server makes its index and folders as that user
    srv = Server(ro_data, prefix=UNPRIVILEGED)
    t.check(store(srv.port, os.path.join(studies[1], "CT0001.dcm")).returncode == 0,
            "one instance while the data directory is writable")
    subprocess.run(["chmod", "-R", "a-w", os.path.join(ro_data, "instances")], check=True)
    p = store(srv.port, "-v", os.path.join(studies[1], "CT0002.dcm"))
    t.check("Refused: OutOfResources" in p.stderr + p.stdout,
            f"an unwritable data directory answers Out of Resources: {(p.stderr + p.stdout)[-400:]}")
    t.check(srv.stop() == 0 and "status=0xA700" in srv.text(), "the refusal is logged")
    subprocess.run(["chmod", "-R", "u+w", os.path.join(ro_data, "instances")], check=True)
    c = Hepatrack(binary, ro_data).run("check")
    t.check(c.returncode == 0 and "1 index rows, 1 files" in c.stdout,
            f"only the first instance, intact: {c.stdout.strip()}")
    shutil.rmtree(ro, ignore_errors=True)

shutil.rmtree(work, ignore_errors=True)
sys.exit(t.finish())
