#!/bin/bash
# Benchmark QIDO-RS over 1,000 studies against Orthanc with Debian's orthanc-dicomweb plugin, in
# one interleaved run inside a private network namespace (Orthanc binds every interface). Both
# servers receive the same generated studies (one small image each: 1,000 patients, dates spread
# over 2026) by C-STORE; then the same searches, one keep-alive client, alternate servers:
# by PatientID, by a date range (about a tenth), by a PatientName wildcard, and every study
# (limit=1000). Prints milliseconds per search and hepatrack's ratio to Orthanc (not a test).
# Needs Debian's dcmtk, orthanc, orthanc-dicomweb, iproute2 and curl.
# usage: tests/bench/qido.sh BUILD_DIR [STUDIES] [REQUESTS]
set -u # not -e: the kit's functions test commands that fail on purpose
build=$(cd "$1" && pwd) || exit 2
studies=${2:-1000}
requests=${3:-50}
kit=$(cd "$(dirname "$0")/../../../shared/bench" && pwd)
export BENCH_NETNS=1
. "$kit/receivers.sh"
bench_netns "$0" "$@"
bench_check || exit 2
plugin=/usr/share/orthanc/plugins/libOrthancDicomWeb.so
[[ -f $plugin ]] || { bench_log "missing: apt-get install -y --no-install-recommends orthanc-dicomweb"; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-qido.XXXXXX")
trap 'bench_stop "$work/orthanc" >/dev/null 2>&1; kill "$ht" 2>/dev/null; rm -rf "$work"' EXIT
cp "$build/hepatrack" "$work/hepatrack" # rebuilding during the run does not pull it away

bench_log "generating $studies studies"
mkdir -p "$work/studies"
for ((i = 0; i < studies; i++)); do
    day=$(printf '2026%02d%02d' $((i % 12 + 1)) $((i % 28 + 1)))
    "$build/ht-gen-study" --out "$work/studies/s$i" --patient-id "P$(printf %05d "$i")" \
        --patient-name "Name$((i % 97))^Given$i" --study-date "$day" --slices 1 --size 64 \
        --pixel 6.25 --seed "$i" >/dev/null
done

bench_log "starting Orthanc and hepatrack, sending the studies to both"
oport=$(bench_free_port) ohttp=$(bench_free_port) hport=$(bench_free_port) hhttp=$(bench_free_port)
BENCH_ORTHANC_JSON="{\"Plugins\": [\"$plugin\"], \"DicomWeb\": {\"Enable\": true, \"Root\": \"/dicom-web/\"}}" \
    bench_start orthanc "$oport" "$work/orthanc" "$ohttp" >/dev/null || exit 1
"$work/hepatrack" --data "$work/ht" serve --dicom-port "$hport" --http-port "$hhttp" \
    --http-no-auth >"$work/ht.log" 2>&1 &
ht=$!
bench_http_ready "http://127.0.0.1:$hhttp/dicom-web/studies?limit=1" 30 || exit 1
for port in "$oport" "$hport"; do # one association each
    storescu -aet BENCHSCU -aec HEPATRACK +sd +r 127.0.0.1 "$port" "$work/studies" >"$work/storescu.log" 2>&1 ||
        { bench_log "storescu to port $port failed: $(tail -3 "$work/storescu.log")"; exit 1; }
done

"$(bench_python)" - "$ohttp" "$hhttp" "$studies" "$requests" <<'EOF'
import http.client, json, statistics, sys, time
ohttp, hhttp, studies, requests = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
servers = {"orthanc": (ohttp, "/dicom-web"), "hepatrack": (hhttp, "/dicom-web")}
conns = {name: http.client.HTTPConnection("127.0.0.1", port) for name, (port, _) in servers.items()}
searches = [("PatientID", f"/studies?PatientID=P{studies // 2:05d}", 1),
            ("date range", "/studies?StudyDate=20260301-20260331", None),
            ("name wildcard", "/studies?PatientName=name7*", None),
            ("all studies", f"/studies?limit={studies}", studies)]


def search(name, path):
    port, root = servers[name]
    c = conns[name]
    c.request("GET", root + path, headers={"Accept": "application/dicom+json"})
    r = c.getresponse()
    body = r.read()
    assert r.status == 200, (name, path, r.status, body[:200])
    return len(json.loads(body))


results = {}
for label, path, expected in searches:
    counts = {name: search(name, path) for name in servers}
    ok = len(set(counts.values())) == 1 and (expected is None or counts["hepatrack"] == expected)
    times = {name: [] for name in servers}
    for _ in range(requests):
        for name in servers:  # interleaved
            t = time.perf_counter()
            search(name, path)
            times[name].append((time.perf_counter() - t) * 1000)
    med = {name: statistics.median(v) for name, v in times.items()}
    results[label] = med
    print(f"QIDO search={label!r} matches={counts['hepatrack']} orthanc_matches={counts['orthanc']} orthanc_ms={med['orthanc']:.2f} "
          f"hepatrack_ms={med['hepatrack']:.2f} ratio={med['orthanc'] / med['hepatrack']:.1f} "
          f"same_matches={int(ok)}")
EOF
