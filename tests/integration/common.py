"""Helpers shared by the integration tests: run the real binary, read its JSON."""
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import zlib


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


_databases = 0


def data_dir(path):
    """A data directory for a test: made, and when the test runs on PostgreSQL
    (tests/tools/pgcluster.py sets HT_TEST_PG_ADMIN) given a new database of its own through its
    index.ini. Returns path."""
    global _databases
    os.makedirs(path, exist_ok=True)
    admin = os.environ.get("HT_TEST_PG_ADMIN")
    if admin:
        _databases += 1
        name = f"t{os.getpid()}_{_databases}"
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", admin, "-c",
                        f'CREATE DATABASE "{name}"'], check=True, capture_output=True)
        url = admin.replace("postgresql:///postgres?", f"postgresql:///{name}?", 1)
        with open(os.path.join(path, "index.ini"), "w") as f:
            f.write(f"[index]\nbackend = postgresql\nurl = {url}\n")
    return path


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


def png_decode(data):
    """(width, height, channels, rows of bytes) of an 8-bit grey, RGB or RGBA PNG, every filter
    type undone."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "PNG signature"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, color = ihdr[:4]
    assert depth == 8, "8-bit"
    channels = {0: 1, 2: 3, 6: 4}[color]
    raw, stride, rows, prev = zlib.decompress(idat), width * channels, [], bytearray(width * channels)
    for y in range(height):
        line = raw[y * (stride + 1):(y + 1) * (stride + 1)]
        f, cur = line[0], bytearray(line[1:])
        for i in range(stride):
            a = cur[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if f == 1:
                cur[i] = (cur[i] + a) & 255
            elif f == 2:
                cur[i] = (cur[i] + b) & 255
            elif f == 3:
                cur[i] = (cur[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(cur))
        prev = cur
    return width, height, channels, rows
