#!/bin/sh
# Benchmark the DICOM receiver against Orthanc and DCMTK's storescp in one interleaved run
# (prints figures and ratios; not a test). Needs Debian's dcmtk, orthanc, curl, python3-pydicom
# and python3-numpy (see ../shared/bench/README.md).
# usage: tests/bench/ingest.sh BUILD_DIR [REPS]
set -eu
build=$(cd "$1" && pwd)
reps=${2:-5}
kit=$(cd "$(dirname "$0")/../../../shared/bench" && pwd)
# A copy of the binary, so that rebuilding during the run does not pull it away.
bin=$(mktemp -d)/hepatrack
cp "$build/hepatrack" "$bin"
exec "$kit/compare.sh" --reps "$reps" --senders "1 4" \
    --candidate "$bin serve --data {dir} --dicom-port {port} --http-port {http_port} --aet HEPATRACK" \
    --candidate-aet HEPATRACK
