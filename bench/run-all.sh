#!/bin/sh
# Runs every performance measurement of bench/ one after the other and
# prints their Markdown reports (the tables of docs/performance.md). Each first
# waits for the machine to be quiet (1-minute load average below $WAIT_LOAD,
# default 0.7, for at most $WAIT_MAX, default 10m); each report gives the
# load it ran under. Loopback only; 30 to 35 minutes of measuring.
#
#   bench/run-all.sh > /tmp/results.md
set -eu
cd "$(dirname "$0")/.."
load=${WAIT_LOAD:-0.7}
wait=${WAIT_MAX:-10m}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/dex" ./cmd/deliverability_exporter
echo "# Measurements, $(date -u '+%Y-%m-%d %H:%M UTC'), $(go version), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo
timeout 25m go run ./bench/latency -wait-load "$load" -wait-max "$wait"
timeout 35m go run ./bench/throughput -wait-load "$load" -wait-max "$wait" -exporter "$bin/dex"
timeout 45m go run ./bench/memory -wait-load "$load" -wait-max "$wait" -exporter "$bin/dex"
timeout 15m go run ./bench/hostilemem -wait-load "$load" -wait-max "$wait" -exporter "$bin/dex"
# The fleet: 100,000 domains, two intervals of 5 minutes (issue 19).
timeout 30m go run ./bench/fleet -wait-load "$load" -wait-max "$wait" -exporter "$bin/dex"
timeout 35m bench/blackbox/run.sh -wait-load "$load" -wait-max "$wait" -exporter "$bin/dex" -probes 1000
echo '```'
timeout 15m go test -run '^$' -bench 'LatencyFullModule20ms|DNSOnlyParallel|FullModuleLoopback' -benchmem ./collector/
echo '```'
