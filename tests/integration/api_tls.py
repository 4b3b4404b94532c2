#!/usr/bin/env python3
"""HTTPS: `hepatrack serve --tls-cert --tls-key` speaks TLS only (plain HTTP on its port gets no
answer), its session cookie is Secure, listening beyond loopback is allowed only with TLS, and
a missing key or a file that is not PEM is refused with a message naming it.

usage: api_tls.py HEPATRACK
"""
import http.client
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from common import Checks, free_port  # noqa: E402

binary = sys.argv[1]
t = Checks()
work = tempfile.mkdtemp(prefix="ht-tls-")
data = os.path.join(work, "data")
cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
               check=True, capture_output=True)
subprocess.run([binary, "--data", data, "user", "add", "rad", "--role", "radiologist", "--password-stdin"],
               input="rad-secret-1\n", text=True, check=True, capture_output=True)


def serve(*args):
    return subprocess.run([binary, "--data", data, "serve", "--dicom-port", str(free_port()), *args],
                          capture_output=True, text=True, timeout=60)


port = free_port()
log = open(os.path.join(work, "serve.log"), "w+")
srv = subprocess.Popen([binary, "--data", data, "serve", "--dicom-port", str(free_port()), "--http-port",
                        str(port), "--tls-cert", cert, "--tls-key", key], stdout=log, stderr=log)
context = ssl.create_default_context(cafile=cert)


def https(method, path, body=None, headers=None):
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers or {})
    r = conn.getresponse()
    return r.status, dict(r.getheaders()), r.read()


for _ in range(100):
    try:
        status, _, _ = https("GET", "/api/me")
        break
    except OSError:
        time.sleep(0.05)
t.check(status == 401, f"HTTPS answers, certificate verified: {status}")
status, headers, body = https("POST", "/api/login", {"username": "rad", "password": "rad-secret-1"},
                              {"Content-Type": "application/json"})
cookie = headers.get("Set-Cookie", "")
t.check(status == 200 and "; Secure" in cookie and "HttpOnly" in cookie, f"the session cookie is Secure: {cookie}")
status, _, body = https("GET", "/api/me", headers={"Cookie": cookie.split(";")[0]})
t.check(status == 200 and json.loads(body)["username"] == "rad", "the cookie opens the API over HTTPS")
plain = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
try:
    plain.request("GET", "/api/me")
    answer = plain.getresponse().status
except (OSError, http.client.HTTPException) as e:
    answer = type(e).__name__
t.check(not isinstance(answer, int), f"plain HTTP on the HTTPS port gets no HTTP answer ({answer})")
srv.terminate()
t.check(srv.wait(timeout=60) == 0, "exit 0 on SIGTERM")
log.seek(0)
t.check("http=https://127.0.0.1" in log.read(), "the log says HTTPS")

# Beyond loopback only with TLS (checked without binding: --check-config).
p = serve("--listen", "0.0.0.0", "--check-config")
t.check(p.returncode == 2 and "needs TLS" in p.stderr, f"no TLS beyond loopback: {p.stderr.strip()}")
p = serve("--listen", "0.0.0.0", "--tls-cert", cert, "--tls-key", key, "--check-config")
t.check(p.returncode == 0, f"with TLS beyond loopback: {p.stdout.strip()} {p.stderr.strip()}")
p = serve("--tls-cert", cert, "--check-config")
t.check(p.returncode == 2 and "both --tls-cert and --tls-key" in p.stderr, f"a certificate without key: {p.stderr.strip()}")
notpem = os.path.join(work, "not.pem")
with open(notpem, "w") as f:
    f.write("hello\n")
p = serve("--http-port", str(free_port()), "--tls-cert", notpem, "--tls-key", key)
t.check(p.returncode == 2 and "not PEM" in p.stderr and "not.pem" in p.stderr, f"a file that is not PEM: {p.stderr.strip()}")
p = serve("--http-port", str(free_port()), "--tls-cert", cert, "--tls-key", os.path.join(work, "missing.pem"))
t.check(p.returncode == 2 and "missing.pem" in p.stderr, f"a key that is not there: {p.stderr.strip()}")
p = serve("--http-port", str(free_port()), "--tls-cert", key, "--tls-key", cert)
t.check(p.returncode == 2 and "HTTPS" in p.stderr, f"certificate and key swapped: {p.stderr.strip()}")
sys.exit(t.finish())
