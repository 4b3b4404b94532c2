#!/bin/bash
# Benchmark the DICOM receiver against Orthanc and DCMTK's storescp in one interleaved run
# (prints figures and ratios; not a test), then the durable floor of one sender: a receiver
# that acknowledges only what is on the device cannot beat storescp-fast's time per instance
# plus one syncfs of the data directory's file system after writing one instance, measured
# here on the disk the run used. Needs Debian's dcmtk, orthanc, curl, python3-pydicom and
# python3-numpy (see ../shared/bench/README.md).
# usage: tests/bench/ingest.sh BUILD_DIR [REPS] [--netns]
set -eu -o pipefail
build=$(cd "$1" && pwd)
shift
reps=5
if [[ $# -gt 0 && $1 != --* ]]; then reps=$1; shift; fi
kit=$(cd "$(dirname "$0")/../../../shared/bench" && pwd)
# A copy of the binary, so that rebuilding during the run does not pull it away.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$build/hepatrack" "$work/hepatrack"
"$kit/compare.sh" --reps "$reps" --senders "1 4" "$@" \
    --candidate "$work/hepatrack serve --data {dir} --dicom-port {port} --http-port {http_port} --aet HEPATRACK" \
    --candidate-aet HEPATRACK | tee "$work/compare.out"

python3 - "$work/compare.out" "${BENCH_WORKDIR:-${TMPDIR:-/tmp}}" <<'EOF'
import ctypes, os, re, statistics, sys, tempfile, time
out, where = sys.argv[1], sys.argv[2]
rate = {}
for line in open(out):
    m = re.match(r"SUMMARY receiver=(\S+) senders=(\d+) median_inst_per_s=([\d.]+)", line)
    if m:
        rate[(m[1], int(m[2]))] = float(m[3])
libc = ctypes.CDLL(None, use_errno=True)
d = tempfile.mkdtemp(prefix="bench-syncfs.", dir=where)
fd = os.open(d, os.O_RDONLY)
payload = os.urandom(525_714)  # one generated CT slice
times = []
for i in range(300):
    with open(os.path.join(d, f"i{i}"), "wb") as f:
        f.write(payload)
    t = time.perf_counter()
    if libc.syncfs(fd) != 0:
        sys.exit(f"syncfs: {os.strerror(ctypes.get_errno())}")
    times.append(time.perf_counter() - t)
os.close(fd)
for i in range(300):
    os.unlink(os.path.join(d, f"i{i}"))
os.rmdir(d)
flush = statistics.median(times)
fast, ht = rate.get(("storescp-fast", 1)), rate.get(("hepatrack", 1))
print(f"\nsyncfs after writing one instance: median {flush * 1000:.3f} ms "
      f"(p90 {sorted(times)[270] * 1000:.3f} ms, 300 files)")
if fast and ht:
    floor = 1 / (1 / fast + flush)
    print(f"durable floor at 1 sender: {floor:.0f} inst/s (storescp-fast {fast:.0f} inst/s + one syncfs)")
    print(f"FLOOR senders=1 durable_floor_inst_per_s={floor:.1f} hepatrack_inst_per_s={ht:.1f} "
          f"x_durable_floor={ht / floor:.3f}")
EOF
