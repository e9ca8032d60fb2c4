#!/usr/bin/env bash
# Tracking at the default settings (not CI): one training loop, a sweep of 32 loops under one API key, and a flood,
# against a release build started with no setting changed. Prints markdown for docs/benchmarks.md.
#   bench/sweep.sh     (the mlflow client from scripts/mlflow-compat.sh's .venv-mlflow; wrk from Debian)
set -uo pipefail
cd "$(dirname "$0")/.."
[ -x .build/release/aitip ] || swift build -c release --product aitip || exit 1
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)"; exit 1; }
venv=.venv-mlflow
. scripts/venv.sh
pinned_venv "$venv" pytests/mlflow/requirements.txt || exit 1
data=$(mktemp -d -t aitip-sweep.XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
trap '[ -n "${server_pid:-}" ] && kill $server_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$data"' EXIT
AITIP_ADMIN_PASSWORD=sweep-password-1 .build/release/aitip serve --listen 127.0.0.1:$port --data-dir "$data/server" >"$data/server.out" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do curl -fs http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo "binary: release build, $(git rev-parse --short HEAD); every setting at its default (SQLite; rate_limit 100/s burst 200; principal_concurrency 64)"
"$venv/bin/python" bench/sweep.py --url http://127.0.0.1:$port --password sweep-password-1
kill $server_pid; wait $server_pid 2>/dev/null
# The same loops against the same binary with every request budget off: what the limiters cost.
echo
echo "the same binary with rate_limit=0 and principal_concurrency=0 (no budgets at all):"
AITIP_ADMIN_PASSWORD=sweep-password-1 AITIP_RATE_LIMIT=0 AITIP_PRINCIPAL_CONCURRENCY=0 .build/release/aitip serve --listen 127.0.0.1:$port \
    --data-dir "$data/unlimited" >"$data/unlimited.out" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do curl -fs http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done
"$venv/bin/python" bench/sweep.py --url http://127.0.0.1:$port --password sweep-password-1 --no-flood
