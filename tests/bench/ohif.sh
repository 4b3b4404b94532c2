#!/bin/bash
# Benchmark the time OHIF v3 takes to draw the first image of the same study served by hepatrack
# and by Orthanc with Debian's orthanc-dicomweb plugin: one headless chromium, one run inside a
# private network namespace (Orthanc binds every interface), interleaved repetitions after a
# warm-up, each a fresh browser context (cold cache). Orthanc's DICOMweb sends no CORS headers,
# so each server sits behind the same kind of same-origin front (tests/bench/ohif.mjs: the same
# Node code for both, serving build/ohif/www under /ohif/ with hepatrack's generated app-config.js
# whose roots are the front's own /dicom-web, forwarding /dicom-web/* to the server). Both
# servers receive the same generated CT study by C-STORE. Prints each load, the medians and
# hepatrack's ratio to Orthanc (Orthanc's time / hepatrack's; not a test).
# Needs Debian's dcmtk, orthanc, orthanc-dicomweb, chromium, iproute2 and curl, make e2e-deps
# (playwright-core) and make ohif.
# usage: tests/bench/ohif.sh BUILD_DIR [REPS] [SLICES]
set -u # not -e: the kit's functions test commands that fail on purpose
build=$(cd "$1" && pwd) || exit 2
reps=${2:-3}
slices=${3:-300}
here=$(cd "$(dirname "$0")" && pwd)
kit=$(cd "$here/../../../shared/bench" && pwd)
export BENCH_NETNS=1
. "$kit/receivers.sh"
bench_netns "$0" "$@"
bench_check || exit 2
plugin=/usr/share/orthanc/plugins/libOrthancDicomWeb.so
[[ -f $plugin ]] || { bench_log "missing: apt-get install -y --no-install-recommends orthanc-dicomweb"; exit 2; }
[[ -x /usr/bin/chromium ]] || { bench_log "missing: apt-get install -y --no-install-recommends chromium"; exit 2; }
modules=$build/e2e-node/node_modules
[[ -d $modules/playwright-core ]] || { bench_log "playwright-core is not in $modules: run make e2e-deps"; exit 2; }
www=$build/ohif/www
[[ -f $www/index.html ]] || { bench_log "OHIF is not in $www: run make ohif"; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-ohif.XXXXXX")
trap 'bench_stop "$work/orthanc" >/dev/null 2>&1; kill "$ht" 2>/dev/null; rm -rf "$work"' EXIT
cp "$build/hepatrack" "$work/hepatrack" # rebuilding during the run does not pull it away

# A column of 40 mm lesions of 0 HU in the liver every 25 mm along z: every slice cuts one, so
# the image OHIF shows first has a lesion at (-85, -5) mm whichever slice it is.
lesions=()
for ((z10 = 125; z10 < slices * 25 + 125; z10 += 250)); do
    lesions+=(--lesion "-85,-5,$((z10 / 10)).$((z10 % 10)),40,0")
done
bench_log "generating a CT study of $slices slices"
study=$("$build/ht-gen-study" --out "$work/study" --patient-id OHIF-BENCH --patient-name Bench^Ohif \
    --study-date 20260105 --description "CT LIVER OHIF BENCH" --slices "$slices" "${lesions[@]}" |
    sed -n 's/.*study \([0-9.]*\).*/\1/p')
[[ -n $study ]] || { bench_log "ht-gen-study gave no study UID"; exit 1; }

bench_log "starting Orthanc and hepatrack, sending the study to both"
oport=$(bench_free_port) ohttp=$(bench_free_port) hport=$(bench_free_port) hhttp=$(bench_free_port)
BENCH_ORTHANC_JSON="{\"Plugins\": [\"$plugin\"], \"DicomWeb\": {\"Enable\": true, \"Root\": \"/dicom-web/\"}}" \
    bench_start orthanc "$oport" "$work/orthanc" "$ohttp" >/dev/null || exit 1
"$work/hepatrack" --data "$work/ht" serve --dicom-port "$hport" --http-port "$hhttp" \
    --http-no-auth --ohif "$www" >"$work/ht.log" 2>&1 &
ht=$!
bench_http_ready "http://127.0.0.1:$hhttp/dicom-web/studies?limit=1" 30 || exit 1
for port in "$oport" "$hport"; do # one association each
    storescu -aet BENCHSCU -aec HEPATRACK +sd +r 127.0.0.1 "$port" "$work/study" >"$work/storescu.log" 2>&1 ||
        { bench_log "storescu to port $port failed: $(tail -3 "$work/storescu.log")"; exit 1; }
done
# OHIF's configuration as hepatrack generates it; each front changes only its three roots.
curl -sf "http://127.0.0.1:$hhttp/ohif/app-config.js" >"$work/app-config.js" ||
    { bench_log "hepatrack did not answer /ohif/app-config.js"; exit 1; }

bench_log "OHIF first image: $reps interleaved reps after a warm-up, study $study ($slices slices)"
OHIF_BENCH_SHOTS=$work node "$here/ohif.mjs" "$modules" "$www" "$work/app-config.js" "$study" "$slices" "$reps" \
    "orthanc=http://127.0.0.1:$ohttp/dicom-web" "hepatrack=http://127.0.0.1:$hhttp/dicom-web"
rc=$?
if ((rc)); then # keep what explains a failure
    keep=$(mktemp -d "${TMPDIR:-/tmp}/bench-ohif-failed.XXXXXX")
    cp "$work"/*.png "$work/ht.log" "$work/orthanc.log" "$keep/" 2>/dev/null
    bench_log "failed: screenshots and logs in $keep"
fi
exit "$rc"
