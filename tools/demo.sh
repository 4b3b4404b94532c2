#!/bin/sh
# make demo: a small demo trial (three subjects, baseline and two follow-ups each, with liver
# lesions that shrink or grow) imported into a fresh data directory, its lesion measurements and
# timelines, then `hepatrack serve` (DICOM receiver and HTTP API) in the foreground until Ctrl-C.
# An existing demo data directory is served as it is (what was read in it stays); RESET=1 makes
# it again from nothing.
#
# usage: demo.sh BUILD DATA HTTP_PORT DICOM_PORT RESET [OHIF_DIR]
# With HT_DEMO_NO_SERVE=1 it makes the data and stops there (tools/docs-images.sh).
set -eu
build=$1
data=$2
http_port=$3
port=$4
reset=$5
ohif=${6:-} # OHIF's built viewer (make ohif): served under /ohif/ when it is there
ohif_line=""
if [ -n "$ohif" ] && [ -f "$ohif/index.html" ]; then
    ohif_line="  OHIF      http://127.0.0.1:$http_port/ohif/  (OHIF v3 on the same login; Open in OHIF on the worklist)"
fi
studies=$data-studies
radiologist=demo-radiologist # the reader of record of the demo's reads, and the station's login

serve() {
    cat <<MSG

hepatrack now runs in the foreground (Ctrl-C stops it):
  Open      http://127.0.0.1:$http_port/  (the reading station: worklist, reading, timelines, cohort)
${ohif_line:+$ohif_line
}  HTTP API  http://127.0.0.1:$http_port/api/  (docs/api.md)
            radiologist login: demo-radiologist / demo-radiologist-pw
            coordinator login: demo-coordinator / demo-coordinator-pw
  DICOM     AE title HEPATRACK on 127.0.0.1:$port
  Data      $data (index and archive; the generated studies are in $studies)
From another terminal:
  curl -s -c /tmp/ht.cookies -H 'Content-Type: application/json' \\
       -d '{"username":"demo-coordinator","password":"demo-coordinator-pw"}' http://127.0.0.1:$http_port/api/login
  curl -s -b /tmp/ht.cookies 'http://127.0.0.1:$http_port/api/subjects/S01/timeline'
  TOKEN=\$($build/hepatrack --data $data user token demo-coordinator)
  curl -s -H "Authorization: Bearer \$TOKEN" 'http://127.0.0.1:$http_port/api/cohort?format=csv'
  echoscu -aec HEPATRACK 127.0.0.1 $port
  storescu -aec HEPATRACK -aet PACS 127.0.0.1 $port +sd $studies/S02-FU2
  $build/hepatrack --data $data timeline S03 --criteria mrecist
MSG
    exec "$build/hepatrack" --data "$data" serve --dicom-port "$port" --http-port "$http_port" \
        ${ohif_line:+--ohif "$ohif"}
}

if [ -e "$data" ] && [ "$reset" != 1 ]; then
    echo "The demo's data directory $data exists: serving it as it is."
    echo "(make demo RESET=1 deletes it and $studies, and makes the demo trial again.)"
    serve
fi
rm -rf "$data" "$studies"
mkdir -p "$studies"

gen() { # subject visit date lesions...
    subject=$1 visit=$2 date=$3
    shift 3
    args=""
    for l in "$@"; do args="$args --lesion $l"; done
    # shellcheck disable=SC2086
    "$build/ht-gen-study" --out "$studies/$subject-$visit" --patient-id "$subject" \
        --issuer DEMO-HOSPITAL --patient-name "Demo^$subject" --study-date "$date" \
        --slices 40 --description "CT ABDOMEN $visit" $args >/dev/null
}

# Lesions: x,y,z (mm from the image centre and the first slice), diameter (mm), HU.
# S01 responds (30 -> 18 -> 14 mm), S02 stays stable, S03 progresses.
gen S01 BL 20260105 -80,-20,50,30,45 -110,30,60,18,40
gen S01 FU1 20260302 -80,-20,50,18,35 -110,30,60,12,30
gen S01 FU2 20260504 -80,-20,50,14,30 -110,30,60,10,30
gen S02 BL 20260112 -90,0,45,24,50
gen S02 FU1 20260309 -90,0,45,22,48
gen S02 FU2 20260511 -90,0,45,23,47
gen S03 BL 20260119 -70,-30,50,20,45
gen S03 FU1 20260316 -70,-30,50,26,50 -120,20,60,10,45
gen S03 FU2 20260518 -70,-30,50,33,55 -120,20,60,16,45

echo "importing the demo trial into $data"
"$build/hepatrack" --data "$data" import "$studies"
echo
"$build/hepatrack" --data "$data" ls patients
echo
"$build/hepatrack" --data "$data" ls studies
echo
"$build/hepatrack" --data "$data" check

# The radiologist's measurements of the demo lesions (the true diameters the studies were
# generated with), and S01's timeline.
cat > "$studies/measurements.json" <<'JSON'
[
 {"subject": "S01", "reader": "demo-radiologist", "dicom_patients": [{"id": "S01", "issuer": "DEMO-HOSPITAL"}],
  "timepoints": [{"label": "BL", "date": "2026-01-05", "baseline": true, "portal_vein_status": "none"},
                 {"label": "FU1", "date": "2026-03-02", "baseline": false}],
  "lesions": [{"id": "T1", "role": "target", "site": "liver", "location": "VII"},
              {"id": "T2", "role": "target", "site": "liver", "location": "VI"}],
  "assessments": [{"lesion": "T1", "timepoint": "BL", "long_axis_mm": 30, "mean_hu": 45},
                  {"lesion": "T2", "timepoint": "BL", "long_axis_mm": 18, "mean_hu": 40},
                  {"lesion": "T1", "timepoint": "FU1", "long_axis_mm": 18, "mean_hu": 35},
                  {"lesion": "T2", "timepoint": "FU1", "long_axis_mm": 12, "mean_hu": 30}]},
 {"subject": "S02", "reader": "demo-radiologist", "dicom_patients": [{"id": "S02", "issuer": "DEMO-HOSPITAL"}],
  "timepoints": [{"label": "BL", "date": "2026-01-12", "baseline": true, "portal_vein_status": "none"},
                 {"label": "FU1", "date": "2026-03-09", "baseline": false},
                 {"label": "FU2", "date": "2026-05-11", "baseline": false}],
  "lesions": [{"id": "T1", "role": "target", "site": "liver", "location": "VIII"}],
  "assessments": [{"lesion": "T1", "timepoint": "BL", "long_axis_mm": 24},
                  {"lesion": "T1", "timepoint": "FU1", "long_axis_mm": 22},
                  {"lesion": "T1", "timepoint": "FU2", "long_axis_mm": 23}]},
 {"subject": "S03", "reader": "demo-radiologist", "dicom_patients": [{"id": "S03", "issuer": "DEMO-HOSPITAL"}],
  "timepoints": [{"label": "BL", "date": "2026-01-19", "baseline": true, "portal_vein_status": "none"},
                 {"label": "FU1", "date": "2026-03-16", "baseline": false},
                 {"label": "FU2", "date": "2026-05-18", "baseline": false}],
  "lesions": [{"id": "T1", "role": "target", "site": "liver", "location": "VII"},
              {"id": "NL1", "role": "new", "site": "liver", "location": "VI"}],
  "assessments": [{"lesion": "T1", "timepoint": "BL", "long_axis_mm": 20},
                  {"lesion": "T1", "timepoint": "FU1", "long_axis_mm": 26},
                  {"lesion": "NL1", "timepoint": "FU1", "state": "equivocal", "long_axis_mm": 10},
                  {"lesion": "T1", "timepoint": "FU2", "long_axis_mm": 33},
                  {"lesion": "NL1", "timepoint": "FU2", "state": "unequivocal", "long_axis_mm": 16}]}
]
JSON
# Each time point lists the study it was read on (found by patient and date). S01's FU2 study
# has no time point yet: the station proposes it, to be assigned in two clicks and read there.
"$build/hepatrack" --data "$data" ls studies --json > "$studies/studies.json"
python3 - "$studies/measurements.json" "$studies/studies.json" <<'PY'
import json, sys
subjects, studies = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
for s in subjects:
    for tp in s["timepoints"]:
        tp["study_uids"] = [st["StudyInstanceUID"] for st in studies
                            if st["PatientID"] == s["subject"] and st["StudyDate"] == tp["date"].replace("-", "")]
        if len(tp["study_uids"]) != 1:
            sys.exit(f"demo: {s['subject']} {tp['label']} has {len(tp['study_uids'])} studies, not one")
json.dump(subjects, open(sys.argv[1], "w"), indent=1)
PY
"$build/hepatrack" --data "$data" measurements import --enrol "$studies/measurements.json"
# Every read is signed, in date order: results come from signed reads.
for read in "S01 BL" "S01 FU1" "S02 BL" "S02 FU1" "S02 FU2" "S03 BL" "S03 FU1" "S03 FU2"; do
    set -- $read
    "$build/hepatrack" --data "$data" measurements sign "$1" "$2" --reader "$radiologist" >/dev/null
done
echo
"$build/hepatrack" --data "$data" timeline S01
echo
"$build/hepatrack" --data "$data" cohort

# Demo accounts; their passwords are printed (this is a demo).
for account in radiologist coordinator; do
    echo "demo-$account-pw" |
        "$build/hepatrack" --data "$data" user add "demo-$account" --role "$account" --password-stdin
done
if [ "${HT_DEMO_NO_SERVE:-0}" = 1 ]; then
    exit 0
fi
serve
