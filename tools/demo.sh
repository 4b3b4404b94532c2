#!/bin/sh
# make demo: a small demo trial (three subjects, baseline and two follow-ups each, with liver
# lesions that shrink or grow), imported into a fresh data directory, and what the index holds.
# Until the server exists (issue: PACS receiver), this is what the demo shows.
set -eu
build=$1
data=$2
studies=$data-studies
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
cat <<MSG

Next, try:
  $build/hepatrack --data $data ls series --patient S01 --issuer DEMO-HOSPITAL
  $build/hepatrack --data $data show <StudyInstanceUID from above> --json
  $build/hepatrack --data $data import /path/to/your/dicom/folder
MSG
