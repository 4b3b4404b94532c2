#!/usr/bin/env python3
"""What no client may do to the HTTP API, each attack of the hardening issue reproduced against a
running `hepatrack serve` with users: look-alike lesion labels, blank reasons, calipers outside
the frame, 500 mm as a hard bound, subjects made from nothing, duplicate JSON keys (a login
among them), encoded NULs in paths, the last admin, `user enable`, the password brake's 429,
failed logins in the log, the origin check, a token as a cookie, private caching, and slow
clients that hold connections without finishing their headers (bounded in time and count,
loopback only).

usage: api_hardening.py HEPATRACK HT-GEN-STUDY
"""
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from common import Checks, http_request, serve_http, Hepatrack, free_port, generate  # noqa: E402

binary, gen = sys.argv[1:3]
t = Checks()
work = tempfile.mkdtemp(prefix="ht-hard-")
data = os.path.join(work, "data")


def user(*args, password=None):
    return subprocess.run([binary, "--data", data, "user", *args], input=password,
                          capture_output=True, text=True, timeout=60)


def request(path, method="GET", body=None, headers=None):
    return http_request(base, path, method, body, headers)


def session(name, password):
    status, hdrs, _ = request("/api/login", "POST", {"username": name, "password": password})
    assert status == 200, f"login {name}: {status}"
    return {"Cookie": hdrs.get("Set-Cookie", "").split(";")[0]}


for name, role in (("rad", "radiologist"), ("root", "admin"), ("coord", "coordinator")):
    user("add", name, "--role", role, "--password-stdin", password=f"{name}-secret-1\n")
study = generate(gen, os.path.join(work, "study"), slices=3, patient_id="HARD-1")
Hepatrack(binary, data).run("import", os.path.join(work, "study"), expect=0)
sop = Hepatrack(binary, data).json("ls", "instances")[0]["SOPInstanceUID"]

srv, base, log = serve_http(binary, data, work)
http_port = int(base.rsplit(":", 1)[1])

rad = session("rad", "rad-secret-1")
root = session("root", "root-secret-1")
subject = {"subject": "S01", "timepoints": [{"label": "BL", "date": "2026-01-05", "baseline": True}],
           "lesions": [{"id": "T1", "role": "target", "site": "liver"}],
           "assessments": [{"lesion": "T1", "timepoint": "BL", "long_axis_mm": 30}]}
t.check(request("/api/subjects", "POST", {"subject": "S01"}, root)[0] == 201, "an admin enrols S01")
status, _, body = request("/api/measurements", "POST", subject, rad)
t.check(status == 200 and body["new_records"] == 3, f"a subject to attack: {body}")

# 3. Lesion labels that look alike are refused, as are labels differing only in case.
for label in ("T1 ", " T1", "\u0422" + "1", "T\u200b1", "T\n1", "-T1", ""):
    bad = {**subject, "lesions": [{"id": label, "role": "non-target", "site": "liver"}], "assessments": []}
    status, _, body = request("/api/measurements", "POST", bad, rad)
    t.check(status == 400 and "lesion" in body["error"]["message"], f"lesion id {label!r} refused: {body}")
status, _, body = request("/api/measurements", "POST",
                          {**subject, "lesions": [{"id": "t1", "role": "non-target", "site": "liver"}],
                           "assessments": []}, rad)
t.check(status == 400 and "differ only in case" in body["error"]["message"], f"t1 beside T1: {body}")

# 4. A correction's reason must say something; it is kept trimmed.
for reason in ("   ", "\u200b", "\n\t", "\u00a0\u2060"):
    corr = {**subject, "assessments": [{"lesion": "T1", "timepoint": "BL", "long_axis_mm": 31,
                                        "reason": reason}]}
    status, _, body = request("/api/measurements", "POST", corr, rad)
    t.check(status == 400 and ("reason" in body["error"]["message"]), f"blank reason {reason!r}: {body}")
corr = {**subject, "assessments": [{"lesion": "T1", "timepoint": "BL", "long_axis_mm": 31,
                                    "reason": "  remeasured  "}]}
status, _, body = request("/api/measurements", "POST", corr, rad)
history = request("/api/subjects/S01/history", headers=rad)[2]
t.check(status == 200 and any(v["reason"] == "remeasured" for v in history["versions"]),
        "a reason is stored trimmed")

# 5. Caliper points outside the frame are refused (the frame is 512 x 512).
for points in ([[100, 100], [530, 100]], [[-500, 10], [10, 10]]):
    drawn = {**subject, "assessments": [{"lesion": "T1", "timepoint": "BL", "tool": "length", "sop_uid": sop,
                                         "frame": 1, "points": points, "reason": "redrawn"}]}
    status, _, body = request("/api/measurements", "POST", drawn, rad)
    t.check(status == 400 and "outside" in body["error"]["message"], f"points {points} refused: {body}")

# Read integrity: a length drawn on another patient's image is refused, naming both.
status, _, body = request("/api/measurements", "POST", {"subject": "S01", "assessments": [
    {"lesion": "T1", "timepoint": "BL", "tool": "length", "sop_uid": sop, "frame": 1,
     "points": [[100, 100], [140, 100]]}]}, rad)
t.check(status == 400 and f"sop_uid {sop} is an image of patient HARD-1" in body["error"]["message"] and
        "the subject is linked to none" in body["error"]["message"], f"a measurement on another subject's image: {body}")

# 10. 500 mm is a hard bound.
status, _, body = request("/api/measurements", "POST",
                          {**subject, "assessments": [{"lesion": "T1", "timepoint": "BL", "long_axis_mm": 500.01,
                                                       "reason": "r"}]}, rad)
t.check(status == 400 and "<= 500" in body["error"]["message"], f"500.01 mm refused: {body}")

# 12. Nothing creates an empty subject (a read for a subject not enrolled is a 404).
status, _, body = request("/api/measurements", "POST", {"subject": "S99", "reason": "x"}, rad)
t.check(status == 404 and "S99" in body["error"]["message"], f"an empty subject is refused: {body}")
t.check(request("/api/subjects", headers=rad)[2]["items"] == ["S01"], "S99 does not exist")

# 8. Duplicate keys are refused in every body, a login's among them.
status, _, body = request("/api/login", "POST",
                          b'{"username": "coord", "password": "rad-secret-1", "username": "rad"}')
t.check(status == 400 and "duplicate" in body["error"]["message"], f"a login with two user names: {status} {body}")
status, _, body = request("/api/password", "POST", b'{"current": "x", "new": "y", "new": "z"}', rad)
t.check(status == 400 and "duplicate" in body["error"]["message"], f"a password body with a key twice: {body}")

# 9. An encoded NUL (or any control character) in a path is a 400.
for path in ("/api/subjects/S01%00/history", "/index.html%00.png", "/api/subjects/S01%0a"):
    status, _, body = request(path, headers=rad)
    t.check(status == 400 and "control character" in body["error"]["message"], f"{path}: {status} {body}")

# 13. The last enabled admin stays; user enable; the password brake answers 429 everywhere.
status, _, body = request("/api/users/root/disable", "POST", headers=root)
t.check(status == 400 and "last enabled admin" in body["error"]["message"], f"the last admin stays: {body}")
p = user("disable", "root")
t.check(p.returncode != 0 and "last enabled admin" in p.stderr, f"user disable of the last admin: {p.stderr}")
t.check(request("/api/users/coord/disable", "POST", headers=root)[0] == 200, "an admin disables coord")
t.check(request("/api/login", "POST", {"username": "coord", "password": "coord-secret-1"})[0] == 401,
        "a disabled user cannot log in")
t.check(request("/api/users/coord/enable", "POST", headers=root)[0] == 200, "an admin enables coord again")
t.check(request("/api/login", "POST", {"username": "coord", "password": "coord-secret-1"})[0] == 200,
        "an enabled user logs in")
p = user("disable", "coord")
t.check(p.returncode == 0 and user("enable", "coord").returncode == 0, "user disable and enable on the CLI")
coord_line = [line for line in user("list").stdout.splitlines() if line.startswith("coord ")]
t.check(len(coord_line) == 1 and " active " in coord_line[0], f"coord is active again: {coord_line}")
for _ in range(5):
    request("/api/password", "POST", {"current": "wrong-password", "new": "another-secret-2"}, rad)
status, hdrs, body = request("/api/password", "POST", {"current": "rad-secret-1", "new": "another-secret-2"}, rad)
t.check(status == 429 and hdrs.get("Retry-After", "").isdigit(), f"the password brake: 429 with Retry-After ({status})")
for _ in range(5):
    request("/api/login", "POST", {"username": "ghost\nevent=fake", "password": "wrong-password"})
status, hdrs, body = request("/api/login", "POST", {"username": "ghost\nevent=fake", "password": "x"})
t.check(status == 429 and hdrs.get("Retry-After", "").isdigit(), "the login brake: 429 with Retry-After")

# 14. Origin against the server's own origin, not the Host sent; a token is no cookie; instance
# answers are private.
unchanged = {"subject": "S01"}
evil = {**rad, "Origin": "http://evil.example", "Host": "evil.example"}
status, _, body = request("/api/measurements", "POST", unchanged, evil)
t.check(status == 403 and "Origin" in body["error"]["message"], f"an Origin matching a forged Host: {status}")
status, _, body = request("/api/measurements", "POST", unchanged, {**rad, "Origin": f"https://127.0.0.1:{http_port}"})
t.check(status == 403, "an https Origin on a plain-HTTP port is refused")
status, _, body = request("/api/measurements", "POST", unchanged, {**rad, "Origin": f"http://localhost:{http_port}"})
t.check(status == 200, f"the server's own origin is accepted: {body}")
token = user("token", "rad").stdout.strip()
t.check(request("/api/me", headers={"Authorization": f"Bearer {token}"})[0] == 200, "a token as a bearer")
status, _, body = request("/api/me", headers={"Cookie": f"ht_session={token}"})
t.check(status == 401, f"a token sent as the session cookie is refused ({status})")
status, hdrs, _ = request(f"/api/instances/{sop}/file", headers=rad)
t.check(status == 200 and hdrs.get("Cache-Control", "").startswith("private"), "instance answers are private")

# 6. Slow clients: 100 connections from one address, each sending a header line now and then.
# At most 64 are kept; a client from another loopback address is answered at once; every slow
# one is closed once it has spent 10 s without finishing its headers.
slow = []
for _ in range(100):
    s = socket.create_connection(("127.0.0.1", http_port), timeout=5)
    s.sendall(b"GET /api/me HTTP/1.1\r\nHost: x\r\n")
    slow.append(s)
started = time.monotonic()


def closed(s, wait):
    s.settimeout(wait)
    try:
        return s.recv(64) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


time.sleep(0.5)
refused = sum(closed(s, 0.05) for s in slow)
t.check(refused >= 30, f"beyond 64 connections from one address the rest are closed ({refused} of 100)")
other = socket.socket()
other.bind(("127.0.0.2", 0))
other.settimeout(5)
other.connect(("127.0.0.1", http_port))
asked = time.monotonic()
other.sendall(b"GET /api/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
answer = other.recv(64)
t.check(answer.startswith(b"HTTP/1.1 401") and time.monotonic() - asked < 2,
        f"another client is answered at once beside them: {answer[:20]!r}")
other.close()
while time.monotonic() - started < 12:
    time.sleep(3)
    for s in slow:
        try:
            s.sendall(b"X-Slow: 1\r\n")
        except OSError:
            pass
left = sum(not closed(s, 0.2) for s in slow)
t.check(left == 0, f"slow clients are closed after 10 s without their headers ({left} still open)")
for s in slow:
    s.close()
t.check(request("/api/me", headers=rad)[0] == 200, "the API answers from that address again")

srv.terminate()
t.check(srv.wait(timeout=60) == 0, "exit 0 on SIGTERM")
log.seek(0)
text = log.read()
t.check("event=login-failed user=ghost\\x0Aevent=fake" in text and
        not any(line.startswith("event=fake") for line in text.splitlines()),
        "failed logins are logged, the name escaped")
t.check("wrong-password" not in text, "no password in the log")
t.check("event=login-braked" in text and "event=password-braked" in text, "lock-outs are logged")
sys.exit(t.finish())
