#!/bin/bash
# Issue 19's ingest benchmarks, with ../shared/bench/compare.sh (figures and ratios; not a test),
# on one throwaway PostgreSQL server (tests/tools/pgcluster.py, under the build folder):
#   1. hepatrack with its index on PostgreSQL against Orthanc with Debian's orthanc-postgresql
#      plugin on the same server, 1 and 4 senders (a new database for every start of either);
#   2. two hepatrack nodes behind HAProxy against one node, both on PostgreSQL, 4 and 8 senders.
# storescp-fast runs in each comparison as the common anchor (machines swing minute to minute).
# usage: tests/bench/cluster.sh BUILD_DIR [REPS] [--netns]
set -eu -o pipefail
build=$(cd "$1" && pwd)
shift
reps=3
if [[ $# -gt 0 && $1 != --* ]]; then reps=$1; shift; fi
here=$(cd "$(dirname "$0")" && pwd)
kit=$(cd "$here/../../../shared/bench" && pwd)
work=$(mktemp -d)
cp "$build/hepatrack" "$work/hepatrack" # rebuilding during the run does not pull it away
python3 - "$build/pg" >"$work/pg.url" <<PY &
import sys, time
sys.path.insert(0, "$here/../tools")
from pgcluster import Cluster
c = Cluster(sys.argv[1]).start()
print(c.url("postgres"), flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    c.stop()
PY
pg=$!
cleanup() { kill "$pg" 2>/dev/null || true; wait "$pg" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 100); do [[ -s $work/pg.url ]] && break; sleep 0.1; done
admin=$(head -1 "$work/pg.url")
rx="$here/pg_receiver.sh"
studies="$work/studies"

compare() { # NAME KIND SENDERS
    "$kit/compare.sh" --reps "$reps" --senders "$3" --receivers "$4" --studies "$studies" "${@:5}" \
        --candidate "$rx $2 {dir} {port} {http_port} '$admin' $work/hepatrack" \
        --candidate-name "$1" --candidate-aet HEPATRACK | tee -a "$work/all.out"
}
compare hepatrack-pg hepatrack "1 4" "storescp-fast orthanc" "$@"
compare orthanc-pg orthanc "1 4" "storescp-fast" "$@"
compare hepatrack-1node hepatrack "4 8" "storescp-fast" "$@"
compare hepatrack-2nodes nodes "4 8" "storescp-fast" "$@"

python3 - "$work/all.out" <<'PY'
import re, sys
rate = {}
for line in open(sys.argv[1]):
    m = re.match(r"SUMMARY receiver=(\S+) senders=(\d+) median_inst_per_s=([\d.]+)", line)
    if m:
        rate.setdefault((m[1], int(m[2])), []).append(float(m[3]))
print("\n# issue 19 ratios (medians; storescp-fast measured in each comparison)")
for k in (1, 4):
    h, o = rate.get(("hepatrack-pg", k)), rate.get(("orthanc-pg", k))
    if h and o:
        print(f"PG senders={k} hepatrack_pg={h[0]:.1f} orthanc_pg={o[0]:.1f} x_orthanc_pg={h[0] / o[0]:.2f}")
for k in (4, 8):
    one, two = rate.get(("hepatrack-1node", k)), rate.get(("hepatrack-2nodes", k))
    if one and two:
        print(f"NODES senders={k} one_node={one[0]:.1f} two_nodes={two[0]:.1f} gain={two[0] / one[0]:.2f}")
PY
exit 0
