#!/usr/bin/env python3
"""DICOMweb (PS3.18) over real HTTP against `hepatrack serve` with users: QIDO-RS at every
resource (matching, paging, counts, RetrieveURL, warnings, errors), WADO-RS retrieval (the
stored files byte for byte in multipart/related), metadata against the file layer's DICOM
JSON, frames and bulk data against /pixels, STOW-RS of the shared samples with a duplicate, a
conflict and a wrong study, a body streamed without being collected (the server's peak memory
against the body's size), and who may do what.

usage: dicomweb.py HEPATRACK HT-GEN-STUDY SAMPLES_DIR
"""
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from common import Checks, Hepatrack, generate, http_request, serve_http  # noqa: E402

binary, gen, samples = sys.argv[1:4]
t = Checks()
work = tempfile.mkdtemp(prefix="ht-dicomweb-")
data = os.path.join(work, "data")
ht = Hepatrack(binary, data)
study_dir = os.path.join(work, "study")
files = generate(gen, study_dir, slices=8, patient_id="DW-1", issuer="SITE", patient_name="Doe^Jane",
                 study_date="20260105")
ht.run("import", study_dir, expect=0)
for name, role in (("rad", "radiologist"), ("coord", "coordinator"), ("root", "admin")):
    subprocess.run([binary, "--data", data, "user", "add", name, "--role", role, "--password-stdin"],
                   input=f"{name}-password-1\n", text=True, check=True, capture_output=True)
tokens = {name: ht.run("user", "token", name, expect=0).stdout.strip() for name in ("rad", "coord", "root")}
proc, base, log = serve_http(binary, data, work)


def auth(name="coord", **extra):
    return {"Authorization": f"Bearer {tokens[name]}", **extra}


def get(path, who="coord", **headers):
    return http_request(base, path, headers=auth(who, **headers))


def multipart(content_type, body):
    """The parts of a multipart/related body: [(headers dict, bytes)], exactly as framed."""
    boundary = re.search(r'boundary="?([^";]+)"?', content_type).group(1).encode()
    assert body.startswith(b"--" + boundary + b"\r\n"), body[:80]
    assert body.endswith(b"\r\n--" + boundary + b"--\r\n"), body[-80:]
    parts = []
    for chunk in body[len(boundary) + 4:-(len(boundary) + 8)].split(b"\r\n--" + boundary + b"\r\n"):
        head, _, content = chunk.partition(b"\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n"))
        parts.append((headers, content))
    return parts


def stow(path, blobs, who="rad", content_type=None):
    boundary = "stow-test-boundary"
    body = b"".join(b"--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + b + b"\r\n"
                    for b in blobs) + b"--" + boundary.encode() + b"--\r\n"
    ct = content_type or f'multipart/related; type="application/dicom"; boundary={boundary}'
    return http_request(base, path, "POST", body, auth(who, **{"Content-Type": ct}))


def value(item, tag):
    return (item.get(tag) or {}).get("Value", [None])[0]


# ---- QIDO-RS -------------------------------------------------------------------------------
status, headers, studies = get("/dicom-web/studies")
t.check(status == 200 and headers.get("Content-Type") == "application/dicom+json" and len(studies) == 1,
        f"QIDO studies: {status} {studies}")
study = studies[0]
study_uid = value(study, "0020000D")
t.check(value(study, "00100020") == "DW-1" and value(study, "00201206") == 1 and value(study, "00201208") == 8
        and value(study, "00080061") == "CT" and value(study, "00100010") == {"Alphabetic": "Doe^Jane"},
        f"the study's attributes and counts: {study}")
t.check(value(study, "00081190") == f"{base}/dicom-web/studies/{study_uid}", "RetrieveURL")
for query, expected in (("PatientName=doe*", 1), ("PatientName=DOE%5EJ?NE", 1), ("PatientName=Roe*", 0),
                        ("StudyDate=20260101-20260131", 1), ("StudyDate=-20251231", 0),
                        ("00100020=DW-1", 1), ("ModalitiesInStudy=CT", 1), ("ModalitiesInStudy=MR", 0),
                        (f"StudyInstanceUID=1.2.3%5C{study_uid}", 1), ("AccessionNumber=", 1)):
    status, _, found = get(f"/dicom-web/studies?{query}")
    t.check(status == 200 and len(found) == expected, f"{query}: {expected} match ({status} {found})")
status, _, series = get(f"/dicom-web/studies/{study_uid}/series")
series_uid = value(series[0], "0020000E") if series else None
t.check(status == 200 and len(series) == 1 and value(series[0], "00201209") == 8 and
        value(series[0], "00080060") == "CT", f"the study's series: {series}")
status, _, instances = get(f"/dicom-web/studies/{study_uid}/series/{series_uid}/instances")
t.check(status == 200 and [value(i, "00200013") for i in instances] == list(range(1, 9)),
        "the series' instances by number")
status, _, page = get(f"/dicom-web/studies/{study_uid}/instances?limit=3&offset=2")
t.check([value(i, "00200013") for i in page] == [3, 4, 5], f"limit and offset: {page}")
status, _, some = get("/dicom-web/instances?InstanceNumber=4&PatientID=DW-1")
t.check(status == 200 and len(some) == 1 and value(some[0], "00081190").endswith(
    f"/studies/{study_uid}/series/{series_uid}/instances/{value(some[0], '00080018')}"),
        "instances across studies, with their RetrieveURL")
status, _, all_series = get("/dicom-web/series?Modality=CT")
t.check(status == 200 and len(all_series) == 1, "series across studies")
status, headers, _ = get("/dicom-web/studies?fuzzymatching=true&ReferringPhysicianName=X")
warning = headers.get("Warning", "")
t.check(status == 200 and warning.startswith("299 hepatrack") and "fuzzymatching" in warning and
        "ReferringPhysicianName" in warning, f"ignored keys get a Warning: 299 ({warning})")
for query, field in (("NoSuchThing=1", "NoSuchThing"), ("StudyDate=2026-01-01", "StudyDate"),
                     ("limit=x", "limit"), ("limit=0", "limit"), ("StudyInstanceUID=1.2.*", "StudyInstanceUID")):
    status, _, body = get(f"/dicom-web/studies?{query}")
    t.check(status == 400 and field in body["error"]["message"], f"{query}: 400 naming {field} ({body})")
status, _, body = get("/dicom-web/studies", Accept="application/xml")
t.check(status == 406, f"QIDO with Accept: application/xml is a 406 ({status})")
status, _, body = http_request(base, "/dicom-web/studies")
t.check(status == 401, "QIDO without credentials: 401")

# ---- WADO-RS: files, metadata, frames, bulk data ------------------------------------------
on_disk = {open(f, "rb").read() for f in files}
status, headers, body = get(f"/dicom-web/studies/{study_uid}")
parts = multipart(headers.get("Content-Type", ""), body) if status == 200 else []
t.check(status == 200 and 'type="application/dicom"' in headers.get("Content-Type", "") and
        {p[1] for p in parts} == on_disk and len(parts) == 8 and
        all(h["Content-Type"] == "application/dicom" for h, _ in parts),
        "the study as its stored files, byte for byte, framed as RFC 2046 says")
sop = value(instances[0], "00080018")
instance = f"/dicom-web/studies/{study_uid}/series/{series_uid}/instances/{sop}"
status, headers, body = get(instance, Accept='multipart/related; type="application/dicom"; transfer-syntax=*')
t.check(status == 200 and len(multipart(headers["Content-Type"], body)) == 1, "one instance")
status, _, _ = get(instance, Accept='multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50')
t.check(status == 406, f"a transcoded retrieval is a 406 ({status})")
status, _, _ = get(f"/dicom-web/studies/{study_uid}/series/1.2.3")
t.check(status == 404, "an unknown series: 404")

status, _, metadata = get(f"/dicom-web/studies/{study_uid}/series/{series_uid}/metadata")
t.check(status == 200 and len(metadata) == 8, f"series metadata: {status}")
_, _, api_json = get(f"/api/instances/{sop}")
mine = next(m for m in metadata if value(m, "00080018") == sop)
pixels_uri = mine.get("7FE00010", {}).get("BulkDataURI")
t.check(pixels_uri == f"{instance}/bulkdata/7FE00010", f"Pixel Data by reference: {pixels_uri}")
t.check({k: v for k, v in mine.items() if k != "7FE00010"} ==
        {k: v for k, v in api_json.items() if k != "7FE00010"},
        "metadata equals the file layer's DICOM JSON")
status, _, again = get(f"{instance}/metadata")
t.check(status == 200 and again == [mine], "instance metadata (from the cache the series made)")

_, _, pixels = get(f"/api/instances/{sop}/frames/1/pixels")
for accept, label in (('multipart/related; type="application/octet-stream"; transfer-syntax=*', "as stored"),
                      ('multipart/related; type="application/octet-stream"', "decoded"),
                      (None, "by default")):
    status, headers, body = get(f"{instance}/frames/1", **({"Accept": accept} if accept else {}))
    frames = multipart(headers.get("Content-Type", ""), body) if status == 200 else []
    t.check(status == 200 and len(frames) == 1 and frames[0][1] == pixels and
            frames[0][0]["Content-Type"] == "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1",
            f"frame 1 {label} equals /pixels ({status})")
etag = headers.get("ETag")
status, _, _ = get(f"{instance}/frames/1", **{"If-None-Match": etag})
t.check(status == 304, "frames: If-None-Match gives 304")
for frames_list, code in (("2", 404), ("0", 400), ("1,x", 400)):
    status, headers, body = get(f"{instance}/frames/{frames_list}")
    t.check(status == code and headers.get("Cache-Control") == "no-store" and "ETag" not in headers,
            f"frames/{frames_list}: {code}, never cached ({status} {headers.get('Cache-Control')} {body})")
status, _, _ = get(f"{instance}/frames/1", Accept="image/png")
t.check(status == 406, "frames as image/png: 406")
status, headers, body = get(f"{instance}/bulkdata/7FE00010")
bulk = multipart(headers.get("Content-Type", ""), body) if status == 200 else []
t.check(status == 200 and len(bulk) == 1 and bulk[0][1] == pixels, "Pixel Data's bulk data")
status, headers, body = get(f"/api/instances/{sop}/bulkdata/7FE00010")
t.check(status == 200 and multipart(headers["Content-Type"], body)[0][1] == pixels,
        "the API's BulkDataURI names the whole attribute")
_, _, api_json = get(f"/api/instances/{sop}")
t.check(api_json["7FE00010"].get("BulkDataURI") == f"/api/instances/{sop}/bulkdata/7FE00010",
        "the API's instance JSON points at it")

# Rendered and thumbnail resources: JPEG by default, PNG on request, PS3.18's parameters.
def jpeg_size(data):
    """(width, height) from a baseline or progressive JPEG's SOF marker."""
    assert data[:2] == b"\xff\xd8", data[:4]
    pos = 2
    while pos < len(data):
        marker, length = data[pos + 1], int.from_bytes(data[pos + 2:pos + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            return int.from_bytes(data[pos + 7:pos + 9], "big"), int.from_bytes(data[pos + 5:pos + 7], "big")
        pos += 2 + length
    return None


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


status, headers, picture = get(f"{instance}/rendered")
t.check(status == 200 and headers.get("Content-Type") == "image/jpeg" and jpeg_size(picture) == (512, 512),
        f"an instance rendered: a 512x512 JPEG by default ({status} {headers.get('Content-Type')})")
status, headers, png = get(f"{instance}/rendered?window=40,400", Accept="image/png")
_, _, api_png = get(f"/api/instances/{sop}/frames/1/rendered?wc=40&ww=400")
t.check(status == 200 and headers.get("Content-Type") == "image/png" and png == api_png,
        "window=40,400 as PNG is the API's W400/L40 rendering, byte for byte")
_, _, sigmoid = get(f"{instance}/rendered?window=40,400,sigmoid", Accept="image/png")
t.check(sigmoid != png and png_size(sigmoid) == (512, 512), "the sigmoid VOI function draws otherwise")
status, _, small = get(f"{instance}/frames/1/rendered?viewport=64,48", Accept="image/png")
t.check(status == 200 and png_size(small) == (48, 48), f"viewport=64,48 fits a 48x48 picture ({status})")
_, _, low = get(f"{instance}/rendered?quality=10")
_, _, high = get(f"{instance}/rendered?quality=95")
t.check(len(low) < len(high), f"quality changes the JPEG ({len(low)} < {len(high)} bytes)")
for thumb in (f"/dicom-web/studies/{study_uid}/thumbnail", f"/dicom-web/studies/{study_uid}/series/{series_uid}/thumbnail",
              f"{instance}/thumbnail", f"{instance}/frames/1/thumbnail"):
    status, headers, picture = get(thumb)
    t.check(status == 200 and jpeg_size(picture) == (128, 128), f"{thumb.split('/')[-1]} of {thumb.count('/')} levels: 128x128 JPEG")
status, headers, body = get(f"/dicom-web/studies/{study_uid}/series/{series_uid}/rendered", Accept='multipart/related; type="image/png"')
pictures = multipart(headers.get("Content-Type", ""), body) if status == 200 else []
t.check(len(pictures) == 8 and all(h["Content-Type"] == "image/png" for h, _ in pictures),
        f"a series rendered: 8 PNGs in multipart/related ({status})")
for query, code in (("window=abc", 400), ("window=40,0", 400), ("window=40,400,cubic", 400),
                    ("viewport=1,2,3,4,5,6", 400), ("quality=0", 400), ("quality=101", 400)):
    status, _, body = get(f"{instance}/rendered?{query}")
    t.check(status == code, f"rendered?{query}: {code} ({status})")
status, _, _ = get(f"{instance}/rendered", Accept="application/json")
t.check(status == 406, "rendered as JSON: 406")
status, _, _ = get(f"{instance}/frames/2/rendered")
t.check(status == 404, "a frame beyond the last: 404")

# Compressed samples (of distinct SOP Instance UIDs): frames as stored are their codestreams;
# decoded, they equal /pixels.
compressed = {"1.2.840.10008.1.2.4.70": ("ct/CT-JPEGLosslessSV1.dcm", b"\xff\xd8"),
              "1.2.840.10008.1.2.4.80": ("ct/CT1_UNC.not_fragmented_bot_jpeg_ls.80.dcm", b"\xff\xd8"),
              "1.2.840.10008.1.2.4.90": ("mr/MR_small_jp2klossless.dcm", b"\xff\x4f"),
              "1.2.840.10008.1.2.5": ("multiframe/CT0012.not_fragmented_bot_rle.dcm", None)}
chosen = {ts: os.path.join(samples, f) for ts, (f, _) in compressed.items()}
status, _, answer = stow("/dicom-web/studies", [open(p, "rb").read() for p in chosen.values()])
stored = answer.get("00081199", {}).get("Value", []) if isinstance(answer, dict) else []
t.check(status == 200 and len(stored) == len(chosen) and len(chosen) >= 2,
        f"STOW of {len(chosen)} compressed samples: 200 ({status} {answer})")
for ts, item in zip(chosen, stored):
    url = value(item, "00081190").replace(base, "")
    uid = value(item, "00081155")
    status, headers, body = get(f"{url}/frames/1", Accept='multipart/related; type="application/octet-stream"; transfer-syntax=*')
    part = multipart(headers["Content-Type"], body)[0] if status == 200 else ({}, b"")
    t.check(status == 200 and f"transfer-syntax={ts}" in part[0].get("Content-Type", "") and
            (compressed[ts][1] is None or part[1].startswith(compressed[ts][1])),
            f"{ts}: frame 1 as stored ({part[0].get('Content-Type')})")
    _, _, pixels = get(f"/api/instances/{uid}/frames/1/pixels")
    status, headers, body = get(f"{url}/frames/1")
    t.check(status == 200 and multipart(headers["Content-Type"], body)[0][1] == pixels,
            f"{ts}: frame 1 decoded equals /pixels")

# ---- STOW-RS --------------------------------------------------------------------------------
blob = open(files[0], "rb").read()
status, _, answer = stow("/dicom-web/studies", [blob])
t.check(status == 200 and len(answer["00081199"]["Value"]) == 1, f"the same instance again: stored ({answer})")
altered = bytearray(blob)
altered[-1] ^= 0x01  # a pixel: same UIDs, other content
new = open(os.path.join(samples, "ct/CTImage.dcm_LittleEndianExplicitTransferSyntax_1.2.840.10008.1.2.1.dcm"),
           "rb").read()
status, _, answer = stow("/dicom-web/studies", [bytes(altered)])
failed = answer.get("00081198", {}).get("Value", [{}])[0] if isinstance(answer, dict) else {}
t.check(status == 409 and value(failed, "00081197") == 0x0111 and value(failed, "00081155") == sop,
        f"other content under a stored UID: 409, FailureReason 0x0111 ({status} {answer})")
status, headers, body = get(f"/dicom-web/studies/{study_uid}/series/{series_uid}/instances/{sop}")
t.check(status == 200 and multipart(headers["Content-Type"], body)[0][1] == blob, "the first copy is kept")
t.check(any(c["SOPInstanceUID"] == sop for c in ht.json("ls", "conflicts")), "the conflict is recorded")
status, _, answer = stow("/dicom-web/studies", [bytes(altered), new])
t.check(status == 202 and len(answer["00081198"]["Value"]) == 1 and len(answer["00081199"]["Value"]) == 1,
        f"one stored, one failed: 202 ({status})")
status, _, answer = stow("/dicom-web/studies/1.2.3.4", [blob])
t.check(status == 409 and value(answer["00081198"]["Value"][0], "00081197") == 0xA900 and
        value(answer, "00081190").endswith("/dicom-web/studies/1.2.3.4"),
        f"an instance of another study than the path's: 409, 0xA900 ({answer})")
status, _, answer = stow("/dicom-web/studies", [b"not DICOM at all"])
t.check(status == 409 and value(answer["00081198"]["Value"][0], "00081197") == 0xC000,
        f"an unreadable part: 0xC000 ({answer})")
status, _, body = stow("/dicom-web/studies", [blob], who="coord")
t.check(status == 403, f"a coordinator may not store ({status})")
status, _, body = stow("/dicom-web/studies", [blob], who="root")
t.check(status == 200, f"an admin may ({status})")
status, _, body = stow("/dicom-web/studies", [blob], content_type="application/json")
t.check(status == 415, f"not multipart/related: 415 ({status} {body})")
status, _, body = http_request(base, "/dicom-web/studies", "POST", b"--x\r\n\r\nunfinished",
                               auth("rad", **{"Content-Type": "multipart/related; boundary=x"}))
t.check(status == 400 and "close delimiter" in body["error"]["message"], f"a cut body: 400 ({body})")
t.check(not [f for _, _, fs in os.walk(os.path.join(data, "instances")) for f in fs if ".tmp" in f],
        "no staged part is left behind")

# A large series streams: the server's peak memory grows by far less than the body.
big_dir = os.path.join(work, "big")
big = generate(gen, big_dir, slices=160, patient_id="DW-2", study_date="20260301")
body_mb = sum(os.path.getsize(f) for f in big) / 1e6
peak = lambda: int(re.search(r"VmHWM:\s+(\d+)", open(f"/proc/{proc.pid}/status").read()).group(1)) / 1024
before = peak()
status, _, answer = stow("/dicom-web/studies", [open(f, "rb").read() for f in big])
grew = peak() - before
t.check(status == 200 and len(answer["00081199"]["Value"]) == 160, f"STOW of {body_mb:.0f} MB: 200")
if "ASAN_OPTIONS" in os.environ:  # AddressSanitizer's quarantine keeps freed memory
    print(f"note: under AddressSanitizer, peak memory is not compared")
else:
    t.check(grew < body_mb / 3,
            f"streamed, not collected: peak memory grew {grew:.0f} MB for a {body_mb:.0f} MB body")
print(f"note: STOW of {body_mb:.0f} MB grew the server's peak memory by {grew:.0f} MB")
status, _, found = get("/dicom-web/studies?PatientID=DW-2")
t.check(status == 200 and value(found[0], "00201208") == 160, "the stored series is found")
t.check(ht.run("check").returncode == 0, "check: archive and index agree")

proc.terminate()
proc.wait(timeout=30)
sys.exit(t.finish())
