#!/usr/bin/env python3
"""Fail when an outside library's header is included outside the module that owns it."""
import pathlib
import re
import sys

ROOT = pathlib.Path(sys.argv[1])
RULES = [  # (include pattern, folders allowed to include it)
    (re.compile(r'#\s*include\s*[<"]sqlite3\.h[>"]'), ["src/store"]),
    (re.compile(r'#\s*include\s*[<"]png\.h[>"]'), ["src/render"]),
    (re.compile(r'#\s*include\s*[<"]dcmtk/'), ["src/dicom", "src/net"]),
    (re.compile(r'#\s*include\s*[<"]microhttpd\.h[>"]'), ["src/http"]),
    (re.compile(r'#\s*include\s*[<"]openjpeg\.h[>"]'), ["src/dicom"]),
]

bad = []
for path in sorted(list(ROOT.glob("src/**/*")) + list(ROOT.glob("include/**/*"))):
    if path.suffix not in (".c", ".cc", ".h", ".hh", ".cpp"):
        continue
    rel = path.relative_to(ROOT).as_posix()
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        for pattern, allowed in RULES:
            if pattern.search(line) and not any(rel.startswith(a + "/") for a in allowed):
                bad.append(f"{rel}:{number}: {line.strip()} (allowed only in {', '.join(allowed)})")
for b in bad:
    print(b)
print(f"{len(bad)} boundary violations")
sys.exit(1 if bad else 0)
