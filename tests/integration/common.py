"""Helpers shared by the integration tests: run the real binary, read its JSON."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request


class Hepatrack:
    def __init__(self, binary, data=None):
        self.binary = binary
        self.data = data or tempfile.mkdtemp(prefix="ht-it-")

    def run(self, *args, expect=None):
        p = subprocess.run([self.binary, "--data", self.data, *args], capture_output=True,
                           text=True, timeout=600)
        if expect is not None and p.returncode != expect:
            raise AssertionError(f"hepatrack {' '.join(args)}: exit {p.returncode}, expected "
                                 f"{expect}\nstdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    def json(self, *args, expect=0):
        return json.loads(self.run(*args, "--json", expect=expect).stdout)

    def cleanup(self):
        shutil.rmtree(self.data, ignore_errors=True)


def free_port():
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def generate(gen, out, **options):
    args = [gen, "--out", out]
    for key, value in options.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    subprocess.run(args, check=True, capture_output=True, timeout=600)
    return sorted(os.path.join(out, f) for f in os.listdir(out))


class Checks:
    """Collects failures so that one run reports all of them."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL: {what}")

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0


def serve_http(binary, data, work):
    """`hepatrack serve` with its HTTP API on a free loopback port, once it answers.
    Returns (process, base URL, log file open for reading back)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(os.path.join(work, "serve.log"), "w+")
    proc = subprocess.Popen([binary, "--data", data, "serve", "--dicom-port", str(free_port()),
                             "--http-port", str(port)], stdout=log, stderr=log)
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/api/me", timeout=1)
        except urllib.error.HTTPError:
            break
        except OSError:
            time.sleep(0.05)
    return proc, base, log


def http_request(base, path, method="GET", body=None, headers=None):
    """(status, headers, body): a JSON answer parsed, any other as bytes. A body that is not
    bytes is sent as JSON."""
    raw = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(base + path, method=method, data=raw,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, hdrs, content = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, hdrs, content = e.code, e.headers, e.read()
    if not content:
        return status, hdrs, None
    is_json = "json" in hdrs.get("Content-Type", "")
    return status, hdrs, json.loads(content) if is_json else content
