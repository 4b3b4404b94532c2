#!/usr/bin/env python3
"""Fail when a C/C++ source differs from what clang-format (with .clang-format) makes of it."""
import pathlib
import subprocess
import sys

clang_format, root = sys.argv[1], pathlib.Path(sys.argv[2])
files = [p for d in ("src", "include", "tests", "fixtures") for p in sorted((root / d).rglob("*"))
         if p.suffix in (".c", ".cc", ".h", ".hh")]
bad = []
for f in files:
    out = subprocess.run([clang_format, "--style=file", str(f)], capture_output=True, cwd=root)
    if out.returncode != 0 or out.stdout != f.read_bytes():
        bad.append(f.relative_to(root).as_posix())
for b in bad:
    print(f"not formatted: {b} (run make format)")
print(f"{len(files) - len(bad)} passed, {len(bad)} failed")
sys.exit(1 if bad else 0)
