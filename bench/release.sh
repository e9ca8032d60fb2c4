#!/usr/bin/env bash
# Releases under load (issue 20): failed requests while a release promotes and rolls back at about 1,000 req/s, and
# the time from a failed analysis to 0 % canary traffic (bench/release.py says how). Default server settings; the
# release binary; nginx from Debian as the replicas. Prints markdown for docs/benchmarks.md.
#   bench/release.sh [RATE]     (default 1000 requests a second)
set -uo pipefail
cd "$(dirname "$0")/.."
command -v nginx >/dev/null || { apt-get update -qq && apt-get install -y -qq nginx-light >/dev/null; }
swift build -c release --build-path .build-release --product aitip >/dev/null 2>&1 || { echo "release build failed"; exit 1; }
bin=.build-release/release/aitip
work=$(mktemp -d -t aitip-release.XXXXXX)
chmod 755 "$work"
port=18386
# Replicas outlive the server by design (the next start adopts them): the sandboxed nginx replicas are stopped by name.
trap '[ -n "${server_pid:-}" ] && kill $server_pid 2>/dev/null; pkill -f -- "-c /workspace/(stable|canary|broken).conf"; wait 2>/dev/null; rm -rf "$work"' EXIT

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo "binary: release build, $(git rev-parse --short HEAD); nginx $(nginx -v 2>&1 | sed 's/.*nginx\///')"
AITIP_ADMIN_PASSWORD=bench-password-1 "$bin" serve --listen 127.0.0.1:$port --data-dir "$work/data" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do curl -fs http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done
python3 bench/release.py "http://127.0.0.1:$port" bench-password-1 "${1:-1000}" || { tail -20 "$work/server.log"; exit 1; }
