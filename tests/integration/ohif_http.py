#!/usr/bin/env python3
"""`hepatrack serve --ohif DIR` over real HTTP, with a small stand-in for OHIF's dist (the real
one is e2e_ohif's): the folder checked at start, `[http] ohif_dir`, `GET /api/config`, pages only
for a logged-in user (else the station's login with `next`), `/ohif` to `/ohif/` with the query,
files with their types, caching, ETags, 304, deflate and streaming, the generated app-config.js,
unknown routes answered with index.html and missing assets with 404, no way out of DIR (`..`,
encoded `..`, a symbolic link), 405 for other methods, and OHIF's Content-Security-Policy beside
the station's unchanged one.

usage: ohif_http.py HEPATRACK
"""
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.dirname(__file__))
from common import Checks, free_port  # noqa: E402

binary = sys.argv[1]
t = Checks()
work = tempfile.mkdtemp(prefix="ht-ohif-http-")
data = os.path.join(work, "data")
dist = os.path.join(work, "www")
os.makedirs(os.path.join(dist, "assets"))
INDEX = b'<!doctype html><script>window.PUBLIC_URL="/ohif/"</script><div id="root"></div>'
BIG = bytes(range(256)) * (5 * 4096 + 7)  # over 4 MiB: streamed
files = {
    "index.html": INDEX,
    "app.bundle.0123456789abcdef.js": b"__webpack_require__.p = \"/ohif/\";\n" * 50,
    "app.bundle.css": b"body{src:url(/ohif/a34f9d1faa5f3315.woff2)}\n" * 200,
    "0ddf166f7a343eda.wasm": b"\0asm\1\0\0\0",
    "a34f9d1faa5f3315.woff2": b"wOF2 not really",
    "manifest.json": b'{"name": "OHIF"}',
    "assets/favicon.ico": b"\0\0\1\0",
    "assets/logo.svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    "assets/image.png": b"\x89PNG\r\n\x1a\n",
    "silent-refresh.html": b"<!doctype html><p>refresh",
    "big.0123456789abcdef.js": BIG,
    "app-config.js": b"window.config = {from: 'dist'}; // never served: hepatrack generates its own",
}
for name, content in files.items():
    with open(os.path.join(dist, name), "wb") as f:
        f.write(content)
with open(os.path.join(work, "secret.js"), "w") as f:
    f.write("a file beside DIR, never served")
os.symlink(os.path.join(work, "secret.js"), os.path.join(dist, "escape.js"))
os.symlink("app.bundle.css", os.path.join(dist, "inside.css"))
os.symlink(work, os.path.join(dist, "up"))

subprocess.run([binary, "--data", data, "user", "add", "rad", "--role", "radiologist", "--password-stdin"],
               input="rad-secret-1\n", text=True, capture_output=True, check=True)


def serve(*args):
    port = free_port()
    log = open(os.path.join(work, f"serve-{port}.log"), "w+")
    proc = subprocess.Popen([binary, "--data", data, "serve", "--dicom-port", str(free_port()),
                             "--http-port", str(port), *args], stdout=log, stderr=log)
    for _ in range(200):
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/")
            break
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
    return proc, port, log


def get(port, path, method="GET", headers=None, body=None):
    """(status, headers as a dict with lower-case names, body bytes), the path sent as it is."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.putrequest(method, path, skip_accept_encoding=True)
    for k, v in (headers or {}).items():
        c.putheader(k, v)
    if body is not None:
        c.putheader("Content-Length", str(len(body)))
    c.endheaders(body)
    r = c.getresponse()
    content = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, content


def login(port):
    status, hdrs, _ = get(port, "/api/login", "POST", {"Content-Type": "application/json"},
                          json.dumps({"username": "rad", "password": "rad-secret-1"}).encode())
    assert status == 200, f"login: {status}"
    return {"Cookie": hdrs["set-cookie"].split(";")[0]}


def stop(proc):
    proc.terminate()
    proc.wait(timeout=30)


# A folder without index.html is refused at start, naming it.
empty = os.path.join(work, "empty")
os.makedirs(empty)
proc, port, log = serve("--ohif", empty)
code = proc.wait(timeout=30)
log.seek(0)
text = log.read()
t.check(code != 0 and "index.html" in text and empty in text, f"serve refuses an OHIF folder without index.html: {code} {text[-200:]}")

# Without --ohif: nothing under /ohif/, and the station is told so.
proc, port, log = serve()
me = login(port)
status, _, body = get(port, "/api/config", headers=me)
t.check(status == 200 and json.loads(body) == {"ohif": None}, f"GET /api/config without OHIF: {status} {body}")
status, _, body = get(port, "/ohif/", headers=me)
t.check(status == 404 and b"--ohif" in body, f"/ohif/ is a 404 without --ohif: {status} {body}")
status, _, _ = get(port, "/api/config")
t.check(status == 401, f"GET /api/config needs credentials: {status}")
stop(proc)

# [http] ohif_dir in the config file, as --ohif.
config = os.path.join(work, "hepatrack.ini")
with open(config, "w") as f:
    f.write(f"[http]\nohif_dir = {dist}\n")
proc, port, log = serve("--config", config)
me = login(port)
status, _, body = get(port, "/api/config", headers=me)
t.check(status == 200 and json.loads(body) == {"ohif": "/ohif/"}, f"GET /api/config with OHIF: {status} {body}")

# Pages need a logged-in user: without one, the station's login, which comes back with next.
for path, location in (("/ohif/", "/#/login?next=%2Fohif%2F"),
                       ("/ohif/viewer?StudyInstanceUIDs=1.2.3",
                        "/#/login?next=%2Fohif%2Fviewer%3FStudyInstanceUIDs%3D1.2.3"),
                       ("/ohif/viewer?a=x%20y&b", "/#/login?next=%2Fohif%2Fviewer%3Fa%3Dx%2520y%26b"),
                       ("/ohif/index.html", "/#/login?next=%2Fohif%2Findex.html"),
                       ("/ohif/silent-refresh.html", "/#/login?next=%2Fohif%2Fsilent-refresh.html"),
                       ("/ohif/viewer?StudyInstanceUIDs=" + "1." * 400, "/#/login")):
    status, hdrs, _ = get(port, path)
    t.check(status == 302 and hdrs.get("location") == location,
            f"{path[:60]} without a session: {status} to {hdrs.get('location')}")
status, hdrs, _ = get(port, "/ohif/", headers={"Cookie": "ht_session=not-a-session"})
t.check(status == 302 and hdrs["location"].startswith("/#/login"), f"a dead session is sent to the login too: {status}")
for path, location in (("/ohif", "/ohif/"), ("/ohif?StudyInstanceUIDs=1.2", "/ohif/?StudyInstanceUIDs=1.2")):
    status, hdrs, _ = get(port, path, headers=me)
    t.check(status == 301 and hdrs.get("location") == location, f"{path} moves to {location}: {status} {hdrs.get('location')}")

# Logged in: the page, and OHIF's routes answered with it.
for path in ("/ohif/", "/ohif/viewer?StudyInstanceUIDs=1.2.3", "/ohif/viewer/dicomweb", "/ohif/local/",
             "/ohif/viewer/1.2.840.113619.2.55", "/ohif/assets", "/ohif/index.html"):
    status, hdrs, body = get(port, path, headers=me)
    t.check(status == 200 and body == INDEX and hdrs["content-type"].startswith("text/html"),
            f"{path}: index.html ({status} {hdrs.get('content-type')})")
    t.check("'wasm-unsafe-eval'" in hdrs.get("content-security-policy", "") and
            "worker-src 'self' blob:" in hdrs["content-security-policy"] and
            hdrs.get("x-content-type-options") == "nosniff", f"{path}: OHIF's Content-Security-Policy")

# Files need no session (code and pictures of a public package; no patient data), each with its
# type; content-hashed names are kept a year, the rest revalidated by ETag.
types = {".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm", ".woff2": "font/woff2",
         ".json": "application/json", ".ico": "image/x-icon", ".svg": "image/svg+xml", ".png": "image/png"}
for name, content in files.items():
    if name.endswith((".html",)) or name == "app-config.js":
        continue
    status, hdrs, body = get(port, "/ohif/" + name)
    ext = os.path.splitext(name)[1]
    t.check(status == 200 and body == content and hdrs["content-type"].startswith(types[ext]),
            f"/ohif/{name}: {status} {hdrs.get('content-type')} {len(body)} bytes")
    hashed = name.split("/")[-1].startswith(("0ddf", "a34f")) or "0123456789abcdef" in name
    t.check(("immutable" in hdrs["cache-control"]) == hashed and (hashed or "no-cache" in hdrs["cache-control"]),
            f"/ohif/{name}: Cache-Control {hdrs['cache-control']}")
    status, _, body = get(port, "/ohif/" + name, headers={"If-None-Match": hdrs["etag"]})
    t.check(status == 304 and not body, f"/ohif/{name} with its ETag: {status}")
status, hdrs, body = get(port, "/ohif/app.bundle.css", headers={"Accept-Encoding": "deflate"})
t.check(hdrs.get("content-encoding") == "deflate" and zlib.decompress(body) == files["app.bundle.css"],
        f"a text file is deflated when asked: {hdrs.get('content-encoding')}")
status, hdrs, body = get(port, "/ohif/big.0123456789abcdef.js", "HEAD")
t.check(status == 200 and not body, f"HEAD of a file: {status} {len(body)}")
status, _, body = get(port, "/ohif/inside.css")
t.check(status == 200 and body == files["app.bundle.css"], f"a symbolic link inside DIR is followed: {status}")

# The generated app-config.js, not DIR's: this server's DICOMweb under /ohif.
status, hdrs, body = get(port, "/ohif/app-config.js")
t.check(status == 200 and hdrs["content-type"].startswith("text/javascript") and b"from: 'dist'" not in body and
        b"routerBasename: '/ohif'" in body and b"window.location.origin + '/dicom-web'" in body and
        b"supportsFuzzyMatching: false" in body and b"imageRendering: 'wadors'" in body and
        b"thumbnailRendering: 'wadors'" in body and b"bulkDataURI: { enabled: true }" in body and
        b"enableStudyLazyLoad: true" in body and b"status === 401" in body,
        f"app-config.js is hepatrack's: {status} {body[:80]}")

# Missing assets are 404s (not the page); nothing outside DIR, and only regular files.
for path in ("/ohif/missing.0123456789abcdef.js", "/ohif/assets/gone.png", "/ohif/x.wasm", "/ohif/y.css.map",
             "/ohif/../secret.js", "/ohif/assets/../../secret.js", "/ohif/%2e%2e/secret.js",
             "/ohif/assets/%2E%2E/%2E%2E/secret.js", "/ohif//etc/hostname.json", "/ohif/./index.js",
             "/ohif/escape.js", "/ohif/up/secret.js", "/ohif/up/data/index.sqlite.json"):
    status, hdrs, body = get(port, path, headers=me)
    t.check(status == 404 and b"never served" not in body, f"{path}: 404 ({status})")
for method in ("POST", "PUT", "DELETE"):
    status, _, _ = get(port, "/ohif/app.bundle.css", method, headers=me, body=b"")
    t.check(status == 405, f"{method} /ohif/...: 405 ({status})")

# The station keeps its own strict policy.
status, hdrs, _ = get(port, "/")
csp = hdrs.get("content-security-policy", "")
t.check(status == 200 and csp.startswith("default-src 'self'") and "unsafe" not in csp and "blob:" not in csp.split("img-src")[0],
        f"the station's Content-Security-Policy is unchanged: {csp}")
stop(proc)
code = t.finish()
if code == 0:
    shutil.rmtree(work, ignore_errors=True)
sys.exit(code)
