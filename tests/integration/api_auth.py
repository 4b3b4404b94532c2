#!/usr/bin/env python3
"""Users, roles and credentials of the HTTP API against a running `hepatrack serve`: the
`user` command's refusals, 401 without credentials, logins with HttpOnly SameSite=Strict
cookies, bearer tokens, 403 for the wrong role, logout, revocation, expiry, disabled users,
password changes, cross-site refusals, the brake on repeated failed logins, and passwords kept
only as yescrypt hashes (read from the real SQLite file).

usage: api_auth.py HEPATRACK
"""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from common import Checks, http_request, serve_http, free_port  # noqa: E402

binary = sys.argv[1]
t = Checks()
work = tempfile.mkdtemp(prefix="ht-auth-")
data = os.path.join(work, "data")


def user(*args, password=None):
    return subprocess.run([binary, "--data", data, "user", *args], input=password,
                          capture_output=True, text=True, timeout=60)


def request(path, method="GET", body=None, headers=None):
    return http_request(base, path, method, body, headers)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def login(name, password, headers=None):
    return request("/api/login", "POST", {"username": name, "password": password}, headers)


def session_of(hdrs):
    cookie = hdrs.get("Set-Cookie", "")
    return cookie, {"Cookie": cookie.split(";")[0]}


# The user command.
t.check(user("add", "rad", "--role", "radiologist", "--password-stdin",
             password="rad-secret-1\n").returncode == 0, "add a radiologist")
t.check(user("add", "coord", "--role", "coordinator", "--password-stdin",
             password="coord-secret-1\n").returncode == 0, "add a coordinator")
t.check(user("add", "root", "--role", "admin", "--password-stdin",
             password="root-secret-1\n").returncode == 0, "add an admin")
for args, pw, expected in ((("add", "x", "--role", "radiologist", "--password-stdin"), "short\n", "8 characters"),
                           (("add", "y", "--role", "nurse", "--password-stdin"), "long-enough-1\n", "role must be"),
                           (("add", "rad", "--role", "admin", "--password-stdin"), "long-enough-1\n", "already exists"),
                           (("add", "bad name", "--role", "admin", "--password-stdin"), "long-enough-1\n", "user name"),
                           (("add", "z", "--password-stdin"), "long-enough-1\n", "--role"),
                           (("add", "w", "--role", "admin"), "long-enough-1\n", "--password-stdin"),
                           (("token", "nobody"), None, "no user 'nobody'"),
                           (("token", "rad", "--days", "400"), None, "--days")):
    p = user(*args, password=pw)
    t.check(p.returncode == 2 and expected in p.stderr, f"user {' '.join(args)}: refused, '{expected}' ({p.stderr.strip()})")
listing = user("list").stdout
t.check([line.split()[:2] for line in listing.splitlines()] ==
        [["coord", "coordinator"], ["rad", "radiologist"], ["root", "admin"]], f"user list: {listing}")
db = sqlite3.connect(os.path.join(data, "index.sqlite"))
hashes = dict(db.execute("SELECT name, password_hash FROM users"))
t.check(all(h.startswith("$y$") for h in hashes.values()) and "rad-secret-1" not in hashes["rad"],
        f"passwords kept only as yescrypt hashes: {hashes}")

coord_token = user("token", "coord").stdout.strip()
t.check(len(coord_token) == 64, "a token is printed once")
t.check(db.execute("SELECT count(*) FROM credentials WHERE digest = ?", (coord_token,)).fetchone()[0] == 0,
        "the index holds a digest of the token, not the token")

srv, base, log = serve_http(binary, data, work)

status, hdrs, body = request("/api/patients")
t.check(status == 401 and body["error"]["code"] == "EAUTH" and "Bearer" in hdrs.get("WWW-Authenticate", ""),
        f"no credentials: 401 ({status} {body})")
status, _, body = request("/api/patients", headers=bearer("0" * 64))
t.check(status == 401, "an unknown token: 401")
status, _, body = login("rad", "wrong-password")
t.check(status == 401 and body["error"]["message"] == "wrong user name or password", "wrong password: 401")
status, _, body = login("nobody", "rad-secret-1")
t.check(status == 401 and body["error"]["message"] == "wrong user name or password",
        "unknown user: the same 401 as a wrong password")

status, hdrs, body = login("rad", "rad-secret-1")
cookie, rad = session_of(hdrs)
t.check(status == 200 and body == {"username": "rad", "role": "radiologist"}, f"login: {body}")
t.check("HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=" in cookie and "Path=/" in cookie,
        f"session cookie: {cookie}")
status, _, body = request("/api/patients", headers=rad)
t.check(status == 200 and body["total"] == 0, "the session cookie opens the API")
status, _, body = request("/api/me", headers=rad)
t.check(status == 200 and body["role"] == "radiologist", "me")
status, _, body = request("/api/users", headers=rad)
t.check(status == 403 and body["error"]["code"] == "EPERM", f"a radiologist may not list users: {status}")
status, _, body = request("/api/cohort", headers=bearer(coord_token))
t.check(status == 200 and body["n"] == 0, "a coordinator's bearer token reads the cohort")
status, _, body = request("/api/users", headers=bearer(coord_token))
t.check(status == 403, "a coordinator may not list users")
status, hdrs, body = login("root", "root-secret-1")
_, root = session_of(hdrs)
status, _, body = request("/api/users", headers=root)
t.check(status == 200 and body["total"] == 3 and "password_hash" not in json.dumps(body),
        f"an admin lists users, without hashes: {body}")

# Writes: the logged-in radiologist is the reader of record; coordinators may not write.
subject = {"subject": "A1", "timepoints": [
    {"label": "BL", "date": "2026-01-01", "baseline": True},
    {"label": "FU1", "date": "2026-03-01", "baseline": False}],
    "lesions": [{"id": "T1", "role": "target", "site": "liver"}],
    "assessments": [{"lesion": "T1", "timepoint": "BL", "long_axis_mm": 40},
                    {"lesion": "T1", "timepoint": "FU1", "long_axis_mm": 20}]}
status, _, body = request("/api/subjects", "POST", {"subject": "A1"}, rad)
t.check(status == 403 and "coordinator" in body["error"]["message"], f"a radiologist does not enrol: {status} {body}")
status, _, body = request("/api/subjects", "POST", {"subject": "A1"}, bearer(coord_token))
t.check(status == 201, f"a coordinator enrols A1: {status} {body}")
status, _, body = request("/api/subjects/A1", "PATCH", {"treatment_start": "2026-01-02"}, bearer(coord_token))
t.check(status == 200, f"a coordinator sets its treatment start: {status} {body}")
status, _, body = request("/api/subjects/A1", "PATCH", {"treatment_start": "2026-01-03"}, rad)
t.check(status == 403, f"a radiologist does not change a subject: {status}")
status, _, body = request("/api/measurements", "POST", subject, bearer(coord_token))
t.check(status == 403 and "radiologist" in body["error"]["message"], f"a coordinator may not write: {status}")
status, _, body = request("/api/measurements", "POST", subject, root)
t.check(status == 403, f"an admin may not write assessments either: {status}")
status, _, body = request("/api/measurements", "POST", {**subject, "reader": "someone-else"}, rad)
t.check(status == 400 and body["error"]["field"] == "reader", f"no writing in another's name: {body}")
status, _, body = request("/api/measurements", "POST", subject, rad)
t.check(status == 200 and body["new_records"] == 5 and body["subjects"] == 1, f"measurements stored: {body}")
status, _, body = request("/api/subjects/A1/timepoints/FU1/sign", "POST", {}, rad)
t.check(status == 400 and "cannot sign before BL" in body["error"]["message"], f"reads are signed in date order: {body}")
t.check(request("/api/subjects/A1/timepoints/BL/sign", "POST", {}, rad)[0] == 200 and
        request("/api/subjects/A1/timepoints/FU1/sign", "POST", {}, rad)[0] == 200, "BL, then FU1, signed")
status, _, body = request("/api/subjects/A1/timeline", headers=bearer(coord_token))
t.check(status == 200 and body["timepoints"][1]["target"] == "PR", "the coordinator reads the new timeline")
corrected = json.loads(json.dumps(subject))
corrected["assessments"][1]["long_axis_mm"] = 22
status, _, body = request("/api/measurements", "POST", corrected, rad)
t.check(status == 400 and "reason" in body["error"]["message"], f"a correction needs a reason: {body}")
corrected["assessments"][1]["reason"] = "remeasured on the arterial phase"
status, _, body = request("/api/measurements", "POST", corrected, rad)
t.check(status == 200 and body["corrections"] == 1 and body["unchanged"] == 4, f"a correction: {body}")
status, _, body = request("/api/measurements", "POST", b"{oops", rad)
t.check(status == 400 and body["error"]["code"] == "EPARSE", "measurements that are not JSON: 400")
status, _, body = request("/api/measurements", "POST", {"subject": "A2", "timepoints": [
    {"label": "BL", "date": "2026-01-01", "baseline": True}, {"label": "FU1", "date": "2026-13-45", "baseline": False}]}, rad)
t.check(status == 400 and request("/api/subjects/A2/history", headers=rad)[0] == 404,
        f"an impossible date: 400, and nothing of the subject stored ({status} {body})")
status, _, body = request("/api/subjects/A1/timepoints/FU1/sign", "POST", {}, bearer(coord_token))
t.check(status == 403, "a coordinator may not sign")
status, _, body = request("/api/subjects/A1/timepoints/FU1/sign", "POST", {}, rad)
t.check(status == 200 and body["signed_by"] == "rad", f"the radiologist signs: {body}")
status, _, body = request("/api/subjects/A1/history", headers=bearer(coord_token))
versions = [v for v in body["versions"] if v["kind"] == "assessment" and "FU1" in v["key"]]
t.check(status == 200 and [v["version"] for v in versions] == [1, 2] and
        all(v["reader"] == ("coord" if v["kind"] == "subject" else "rad") for v in body["versions"]) and
        versions[1]["reason"] == "remeasured on the arterial phase" and "FU1" in json.dumps(versions[0]["record"]),
        f"history: both versions, by rad, with the reason: {versions}")
t.check(all(a["user"] == ("coord" if a["detail"].startswith("subject ") else "rad") for a in body["audit"]) and
        any("sign" in a["action"] for a in body["audit"]),
        f"the audit log names the user of every write: {body['audit']}")
status, _, body = request("/api/subjects/NOPE/history", headers=rad)
t.check(status == 404, "history of an unknown subject: 404")

# Writes from other sites are refused before anything else.
status, _, body = login("rad", "rad-secret-1", {"Origin": "http://evil.example"})
t.check(status == 403 and "cross-site" in body["error"]["message"], f"cross-origin login: 403 {body}")
status, _, body = login("rad", "rad-secret-1", {"Sec-Fetch-Site": "cross-site"})
t.check(status == 403, "Sec-Fetch-Site: cross-site: 403")
status, _, body = login("rad", "rad-secret-1", {"Origin": base})
t.check(status == 200, "same-origin login passes")

# Bad bodies.
for raw, field, what in ((b"{not json", None, "not JSON"), (b"[1]", None, "object"),
                         (json.dumps({"password": "x"}).encode(), "username", "username"),
                         (json.dumps({"username": "rad", "password": 5}).encode(), "password", "password"),
                         (b"{" + b" " * 1100000 + b"}", None, "larger than")):
    status, _, body = request("/api/login", "POST", raw)
    t.check(status == 400 and what in body["error"]["message"] and body["error"].get("field") == field,
            f"login body {raw[:20]!r}: 400 naming {what} ({status} {body})")

# Logout ends the session; the cookie is cleared.
status, hdrs, body = request("/api/logout", "POST", {}, rad)
t.check(status == 200 and "Max-Age=0" in hdrs.get("Set-Cookie", ""), "logout clears the cookie")
status, _, _ = request("/api/patients", headers=rad)
t.check(status == 401, "after logout the session is refused")

# Revoked, expired, disabled.
token = user("token", "rad").stdout.strip()
t.check(request("/api/patients", headers=bearer(token))[0] == 200, "a fresh token works")
t.check(user("revoke", token).returncode == 0, "user revoke")
t.check(request("/api/patients", headers=bearer(token))[0] == 401, "a revoked token: 401")
token = user("token", "rad").stdout.strip()
db.execute("UPDATE credentials SET expires_at = '2000-01-01T00:00:00.000Z' WHERE revoked_at IS NULL"
           " AND user = 'rad'")
db.commit()
t.check(request("/api/patients", headers=bearer(token))[0] == 401, "an expired token: 401")
status, hdrs, _ = login("coord", "coord-secret-1")
_, coord = session_of(hdrs)
t.check(user("disable", "coord").returncode == 0, "user disable")
t.check(request("/api/cohort", headers=bearer(coord_token))[0] == 401 and
        request("/api/cohort", headers=coord)[0] == 401, "a disabled user's token and session: 401")
t.check(login("coord", "coord-secret-1")[0] == 401, "a disabled user cannot log in")

# Password change.
t.check(user("passwd", "rad", "--password-stdin", password="rad-secret-2\n").returncode == 0, "user passwd")
t.check(login("rad", "rad-secret-1")[0] == 401 and login("rad", "rad-secret-2")[0] == 200,
        "the old password fails, the new one works")

# Users change their own password over HTTP; the current one is checked.
status, hdrs, _ = login("rad", "rad-secret-2")
_, rad = session_of(hdrs)
status, _, body = request("/api/password", "POST", {"current": "nope-nope", "new": "rad-secret-3"}, rad)
t.check(status == 401 and body["error"]["field"] == "current", f"a wrong current password: 401 {body}")
status, _, body = request("/api/password", "POST", {"current": "rad-secret-2", "new": "short"}, rad)
t.check(status == 400 and body["error"]["field"] == "new" and "8 characters" in body["error"]["message"],
        f"a too short new password: 400 {body}")
status, _, body = request("/api/password", "POST", {"current": "rad-secret-2", "new": "rad-secret-3"}, rad)
t.check(status == 200 and login("rad", "rad-secret-3")[0] == 200 and login("rad", "rad-secret-2")[0] == 401,
        "password changed over HTTP")
t.check(request("/api/password", "POST", {"current": "x", "new": "y"})[0] == 401, "password change needs a login")

# An admin disables a user over HTTP; others may not.
t.check(user("add", "temp", "--role", "coordinator", "--password-stdin", password="temp-secret-1\n").returncode == 0,
        "add a user to disable")
temp_token = user("token", "temp").stdout.strip()
status, _, body = request("/api/users/temp/disable", "POST", {}, rad)
t.check(status == 403, "a radiologist may not disable users")
status, hdrs, _ = login("root", "root-secret-1")
_, root = session_of(hdrs)
status, _, body = request("/api/users/temp/disable", "POST", {}, root)
t.check(status == 200 and body == {"username": "temp", "disabled": True}, f"an admin disables a user: {body}")
t.check(request("/api/me", headers=bearer(temp_token))[0] == 401, "the disabled user's token ends")
status, _, body = request("/api/users/nobody/disable", "POST", {}, root)
t.check(status == 404, "disabling an unknown user: 404")

# Repeated failures: refused with 429 and Retry-After, even with the right password.
for _ in range(5):
    login("root", "guess")
status, hdrs, body = login("root", "root-secret-1")
t.check(status == 429 and int(hdrs.get("Retry-After", "0")) > 0 and
        "too many" in body.get("error", {}).get("message", ""),
        f"after 5 failures: 429 ({status} {body})")
t.check(login("rad", "rad-secret-3")[0] == 200, "other users are not braked")

# Every change to users and credentials is in the audit log, with who made it.
audit = sqlite3.connect(os.path.join(data, "index.sqlite")).execute(
    "SELECT user, action, detail FROM audit WHERE subject = '' ORDER BY id").fetchall()
actions = {(a, d.split(" ")[0]) for _, a, d in audit}
operator = [u for u, a, _ in audit if a == "user add"]
t.check({("user add", "rad"), ("user add", "coord"), ("token issue", "coord"), ("user disable", "coord"),
         ("user disable", "temp"), ("password change", "rad")} <= actions and
        all(u.startswith("operator:") for u in operator) and
        ("root", "user disable", "temp") in audit and any(a == "credential revoke" for _, a, _ in audit),
        f"user changes audited with their actor: {audit}")
t.check(not any(token in d or "secret" in d for _, _, d in audit), "no secret in the audit log")

srv.terminate()
t.check(srv.wait(timeout=60) == 0, "exit 0 on SIGTERM")
log.seek(0)
text = log.read()
t.check("event=login user=rad" in text and "rad-secret" not in text and token not in text,
        "logins logged, no secret in the log")

# Beyond loopback the API would need TLS.
p = subprocess.run([binary, "--data", data, "serve", "--listen", "0.0.0.0", "--check-config"],
                   capture_output=True, text=True)
t.check(p.returncode == 2 and "TLS" in p.stderr, f"HTTP beyond loopback refused: {p.stderr}")
p = subprocess.run([binary, "--data", data, "serve", "--listen", "0.0.0.0", "--http-port", "0",
                    "--check-config"], capture_output=True, text=True)
t.check(p.returncode == 0, f"DICOM only beyond loopback is fine: {p.stderr}")
print(open(os.path.join(work, "serve.log")).read()[-3000:]) if t.failed else None
sys.exit(t.finish())
