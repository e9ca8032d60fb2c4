#!/usr/bin/env bash
# Log path benchmark against a fresh release server at its defaults (SQLite, the bubblewrap sandbox, the default
# rate limit; one simulated a100): see bench/logs.py.
#   bench/logs.sh [--lines N] [--rate R] [--seconds S]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product aitip >/dev/null
work=$(mktemp -d -t aitip-logbench.XXXXXX)
port=15070
AITIP_SIMULATE_GPUS=a100:1 AITIP_ADMIN_PASSWORD=bench-password-1 \
  .build/release/aitip serve --listen 127.0.0.1:$port --data-dir "$work/data" --log-level warning >"$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fs http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done
token=$(curl -fs -X POST http://127.0.0.1:$port/api/v1/auth/login -H 'content-type: application/json' \
  -d '{"username":"admin","password":"bench-password-1"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
project=$(curl -fs -H "Authorization: Bearer $token" http://127.0.0.1:$port/api/v1/projects | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
echo "machine: $(nproc) cores, $(uname -r); commit $(git rev-parse --short HEAD)"
python3 bench/logs.py --server http://127.0.0.1:$port --token "$token" --project "$project" "$@"
