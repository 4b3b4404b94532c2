#!/bin/bash
# A receiver whose index is a new database on the benchmark's PostgreSQL server, for
# ../shared/bench/compare.sh's --candidate (run through exec: this PID is the receiver's, and
# SIGTERM stops it):
#   hepatrack  one `hepatrack serve` with DIR's index.ini naming the database
#   orthanc    Debian's Orthanc with the orthanc-postgresql plugin's index (files under DIR)
#   nodes      two `hepatrack serve` nodes on DIR behind HAProxy (TCP mode) listening on PORT
# usage: pg_receiver.sh KIND DIR PORT HTTP_PORT ADMIN_URL HEPATRACK
set -eu
kind=$1 dir=$2 port=$3 http=$4 admin=$5 bin=$6
mkdir -p "$dir"
db="b$(date +%s%N)"
psql -X -q -v ON_ERROR_STOP=1 -d "$admin" -c "CREATE DATABASE \"$db\"" >/dev/null
url=${admin/\/\/\/postgres\?/\/\/\/$db\?}
case $kind in
hepatrack)
    printf '[index]\nbackend = postgresql\nurl = %s\n' "$url" >"$dir/index.ini"
    exec "$bin" --data "$dir" serve --dicom-port "$port" --http-port "$http" --aet HEPATRACK ;;
orthanc)
    cat >"$dir.json" <<JSON
{"Name": "HEPATRACKBENCH", "StorageDirectory": "$dir", "IndexDirectory": "$dir",
 "StorageCompression": false, "HttpServerEnabled": true, "HttpPort": $http,
 "RemoteAccessAllowed": false, "AuthenticationEnabled": false, "KeepAlive": true,
 "TcpNoDelay": true, "DicomServerEnabled": true, "DicomAet": "HEPATRACK", "DicomPort": $port,
 "DicomCheckCalledAet": false, "DicomAlwaysAllowEcho": true, "DicomAlwaysAllowStore": true,
 "SaveJobs": false, "Plugins": ["/usr/share/orthanc/plugins/libOrthancPostgreSQLIndex.so"],
 "PostgreSQL": {"EnableIndex": true, "EnableStorage": false, "ConnectionUri": "$url",
                "Lock": false}}
JSON
    exec Orthanc --no-jobs "$dir.json" ;;
nodes)
    printf '[index]\nbackend = postgresql\nurl = %s\n' "$url" >"$dir/index.ini"
    pids=()
    trap 'kill "${pids[@]}" 2>/dev/null; wait; exit 0' TERM INT
    free() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
    a=$(free) b=$(free)
    HEPATRACK_NODE=a "$bin" --data "$dir" serve --dicom-port "$a" --http-port 0 --aet HEPATRACK &
    pids+=($!)
    sleep 0.3 # the first node makes the schema
    HEPATRACK_NODE=b "$bin" --data "$dir" serve --dicom-port "$b" --http-port 0 --aet HEPATRACK &
    pids+=($!)
    cat >"$dir.haproxy" <<CFG
global
    maxconn 256
defaults
    mode tcp
    timeout connect 2s
    timeout client 120s
    timeout server 120s
frontend dicom
    bind 127.0.0.1:$port
    default_backend receivers
backend receivers
    balance leastconn
    server a 127.0.0.1:$a check inter 200ms
    server b 127.0.0.1:$b check inter 200ms
CFG
    for _ in $(seq 100); do
        echoscu -aec HEPATRACK 127.0.0.1 "$a" 2>/dev/null && echoscu -aec HEPATRACK 127.0.0.1 "$b" \
            2>/dev/null && break
        sleep 0.05
    done
    haproxy -db -q -f "$dir.haproxy" &
    pids+=($!)
    wait ;;
*) echo "pg_receiver.sh: unknown kind '$kind'" >&2; exit 2 ;;
esac
