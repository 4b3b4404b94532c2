#!/bin/sh
# Benchmark slice rendering against Orthanc's /instances/{id}/preview in one interleaved run
# (prints ms/image, PNG bytes and the speed-up; not a test). Both render the same slices in the
# same window: Orthanc's preview stretches each frame's whole range over 0..255, which is
# hepatrack's window=full (the file's own window, hepatrack's default, keeps more grey levels
# and so more bytes). Needs Debian's dcmtk, orthanc, curl,
# python3-pydicom and python3-numpy (see ../shared/bench/README.md).
# usage: tests/bench/render.sh BUILD_DIR [REPS] [REQUESTS]
set -eu
build=$(cd "$1" && pwd)
reps=${2:-5}
requests=${3:-200}
kit=$(cd "$(dirname "$0")/../../../shared/bench" && pwd)
# A copy of the binary, so that rebuilding during the run does not pull it away.
bin=$(mktemp -d)/hepatrack
cp "$build/hepatrack" "$bin"
exec "$kit/preview.sh" --reps "$reps" --requests "$requests" \
    --candidate "$bin serve --data {dir} --dicom-port {port} --http-port {http_port} --aet HEPATRACK --http-no-auth" \
    --candidate-url 'http://127.0.0.1:{http_port}/api/instances/{sop}/frames/1/rendered?window=full' \
    --candidate-aet HEPATRACK
