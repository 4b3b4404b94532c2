#!/usr/bin/env python3
"""Fail when an outside library's header is included outside the module that owns it."""
import pathlib
import re
import sys

ROOT = pathlib.Path(sys.argv[1])
RULES = [  # (include pattern, folders allowed to include it)
    (re.compile(r'#\s*include\s*[<"]sqlite3\.h[>"]'), ["src/store"]),
    (re.compile(r'#\s*include\s*[<"]libpq-fe\.h[>"]'), ["src/store"]),
    (re.compile(r'#\s*include\s*[<"]png\.h[>"]'), ["src/render"]),
    (re.compile(r'#\s*include\s*[<"]jpeglib\.h[>"]'), ["src/render"]),
    # dcmseg, dcmfg and dcmiod (segmentations) belong to the file layer only
    (re.compile(r'#\s*include\s*[<"]dcmtk/dcm(seg|fg|iod)/'), ["src/dicom"]),
    (re.compile(r'#\s*include\s*[<"]dcmtk/'), ["src/dicom", "src/net"]),
    # Structured reports (dcmsr) belong to the file layer alone: sr.h is their C face.
    (re.compile(r'#\s*include\s*[<"]dcmtk/dcmsr/'), ["src/dicom"]),
    (re.compile(r'#\s*include\s*[<"]microhttpd\.h[>"]'), ["src/http"]),
    (re.compile(r'#\s*include\s*[<"]openjpeg\.h[>"]'), ["src/dicom"]),
    (re.compile(r'#\s*include\s*[<"]jansson\.h[>"]'),
     ["src/ledger", "src/report", "src/measure", "src/cli", "src/http", "src/dicomweb", "src/export",
      "src/plot", "src/exchange",
      "include/hepatrack/report.h", "include/hepatrack/dicomweb.h", "include/hepatrack/seg_volume.h"]),
    (re.compile(r'#\s*include\s*[<"]openssl/'), ["src/archive"]),
    (re.compile(r'#\s*include\s*[<"]crypt\.h[>"]'), ["src/auth"]),
    (re.compile(r'#\s*include\s*[<"]zlib\.h[>"]'), ["src/dicom", "src/render"]),
    (re.compile(r'#\s*include\s*[<"]libdeflate\.h[>"]'), ["src/render"]),
    (re.compile(r'#\s*include\s*[<"]ini\.h[>"]'), ["src/cli", "src/store"]),
    (re.compile(r'#\s*include\s*[<"]cairo(-\w+)?\.h[>"]'), ["src/plot"]),
    (re.compile(r'#\s*include\s*[<"]readstat\.h[>"]'), ["src/export"]),
    (re.compile(r'#\s*include\s*[<"]libxml/'), ["src/export"]),
    (re.compile(r'#\s*include\s*[<"]zip\.h[>"]'), ["src/export"]),
]
# The response engine is pure (issue 6): no I/O, no database, no JSON, no clock, no globals.
IMPURE_CALL = re.compile(r"\b(fopen|fprintf|printf|puts|fwrite|fread|open|read|write|getenv|time"
                         r"|clock_gettime|sqlite3_\w+|json_\w+)\s*\(")
GLOBAL = re.compile(r"^(static\s+)?(?!const\b|typedef\b|return\b|struct\b|enum\b)[A-Za-z_][\w ]*"
                    r"[\s*]\w+(\[\w*\])?\s*(=[^=].*)?;\s*$")

bad = []
for path in sorted(list(ROOT.glob("src/**/*")) + list(ROOT.glob("include/**/*"))):
    if path.suffix not in (".c", ".cc", ".h", ".hh", ".cpp"):
        continue
    rel = path.relative_to(ROOT).as_posix()
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        for pattern, allowed in RULES:
            if pattern.search(line) and not any(rel == a or rel.startswith(a + "/") for a in allowed):
                bad.append(f"{rel}:{number}: {line.strip()} (allowed only in {', '.join(allowed)})")
for path in sorted(ROOT.glob("src/response/*.c")):
    rel = path.relative_to(ROOT).as_posix()
    for number, line in enumerate(path.read_text().splitlines(), 1):
        code = line.split("//")[0]
        if code.lstrip().startswith(("/*", "*")):
            continue
        if IMPURE_CALL.search(code) or (GLOBAL.match(code) and "(" not in code):
            bad.append(f"{rel}:{number}: {line.strip()} (the response engine must stay pure)")
# Each module says what it owns, what it may use and what it offers.
for folder in sorted(p for p in ROOT.glob("src/*") if p.is_dir()):
    if not (folder / "README.md").exists():
        bad.append(f"{folder.relative_to(ROOT).as_posix()}: no README.md (what it owns, may use, offers)")
for b in bad:
    print(b)
print(f"{len(bad)} boundary violations")
sys.exit(1 if bad else 0)
