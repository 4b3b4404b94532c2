#!/bin/sh
# Benchmark DICOMweb against Orthanc with Debian's orthanc-dicomweb plugin, serving the same
# 300-slice series, in one interleaved run inside a private network namespace (Orthanc binds
# every interface): QIDO, series metadata, every frame as stored and decoded, STOW-RS of a
# series. Prints each figure and hepatrack's ratio to Orthanc (not a test). Needs Debian's
# dcmtk, orthanc, orthanc-dicomweb, curl, python3-pydicom and python3-numpy.
# usage: tests/bench/dicomweb.sh BUILD_DIR [REPS] [SLICES]
set -eu
build=$(cd "$1" && pwd)
reps=${2:-3}
slices=${3:-300}
kit=$(cd "$(dirname "$0")/../../../shared/bench" && pwd)
# A copy of the binary, so that rebuilding during the run does not pull it away.
bin=$(mktemp -d)/hepatrack
cp "$build/hepatrack" "$bin"
exec "$kit/dicomweb.sh" --netns --reps "$reps" --slices "$slices" \
    --candidate "$bin serve --data {dir} --dicom-port {port} --http-port {http_port} --aet HEPATRACK --http-no-auth" \
    --candidate-root 'http://127.0.0.1:{http_port}/dicom-web' --candidate-aet HEPATRACK
