#!/bin/sh
# The README's pictures (docs/images/), drawn from the demo trial:
#
#   make docs-images            (or: sh tools/docs-images.sh BUILD [OUT])
#
# It makes the demo trial as `make demo` does (tools/demo.sh, without serving), then does what
# a radiologist and a coordinator would do next in the station: S01's last study (FU2), left
# unread by the demo, is read with calipers drawn on its slices and signed; S03's death and
# the others' last contact are recorded, so that overall survival has something to estimate.
# Then `hepatrack cohort --plots` draws the cohort and `hepatrack report S01` makes S01's PDF,
# whose summary and key-image pages pdftoppm turns into pictures.
set -eu
build=${1:-build}
out=${2:-docs/images}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
data=$work/demo
ht() { "$build/hepatrack" --data "$data" "$@"; }

HT_DEMO_NO_SERVE=1 sh "$(dirname "$0")/demo.sh" "$build" "$data" 0 0 1 >"$work/demo.log"

# S01 FU2: T1 (14 mm at x -80, y -20, z 50 mm) and T2 (10 mm at -110, 30, 60), as ht-gen-study
# drew them (512 pixels of 0.78125 mm, slices of 2.5 mm), measured with the length tool.
ht ls studies --json >"$work/studies.json"
study=$(python3 -c 'import json,sys; print([s["StudyInstanceUID"] for s in json.load(open(sys.argv[1]))
    if s["PatientID"] == "S01" and s["StudyDate"] == "20260504"][0])' "$work/studies.json")
series=$(ht ls series --study "$study" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["SeriesInstanceUID"])')
ht ls instances --series "$series" --json >"$work/instances.json"
python3 - "$work/instances.json" "$study" >"$work/fu2.json" <<'PY'
import json, sys
instances = {i["InstanceNumber"]: i["SOPInstanceUID"] for i in json.load(open(sys.argv[1]))}
half, pixel = 511 * 0.78125 / 2, 0.78125
def length(lesion, x, y, z, diameter):
    cx, cy, r = (x + half) / pixel, (y + half) / pixel, diameter / 2 / pixel
    return {"lesion": lesion, "timepoint": "FU2", "tool": "length", "frame": 1,
            "sop_uid": instances[int(z / 2.5 - 0.5) + 1], "points": [[cx - r, cy], [cx + r, cy]]}
json.dump({"subject": "S01", "reader": "demo-radiologist",
           "timepoints": [{"label": "FU2", "date": "2026-05-04", "baseline": False,
                           "study_uids": [sys.argv[2]]}],
           "assessments": [length("T1", -80, -20, 50, 14), length("T2", -110, 30, 60, 10)]},
          sys.stdout)
PY
ht measurements import "$work/fu2.json" >/dev/null
ht measurements sign S01 FU2 --reader demo-radiologist >/dev/null
ht subject set S03 death_date 2026-08-03 >/dev/null
ht subject set S01 last_known_alive 2026-09-14 >/dev/null
ht subject set S02 last_known_alive 2026-08-24 >/dev/null

mkdir -p "$out"
ht cohort --plots "$work/plots"
for name in waterfall spider swimmer km-pfs km-os; do
    cp "$work/plots/$name.png" "$out/$name.png"
done
ht report S01 --out "$work/S01.pdf"
pages=$(pdfinfo "$work/S01.pdf" | awk '/^Pages:/ {print $2}')
pdftoppm -png -r 80 -f 1 -l 1 -singlefile "$work/S01.pdf" "$out/report-S01-summary"
pdftoppm -png -r 80 -f "$pages" -l "$pages" -singlefile "$work/S01.pdf" "$out/report-S01-key-images"
ls -l "$out"
