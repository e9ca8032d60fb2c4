#!/usr/bin/env bash
# Soak (not CI): five minutes of mixed load (metric ingest through the MLflow routes with the real client, API reads,
# job submissions, dataset pushes) on a release build at its default settings (SQLite, local disk, the job sandbox,
# the default rate limit), with the server's RSS sampled every 10 s. Prints markdown for docs/benchmarks.md.
#   bench/soak.sh [seconds]     (default 300; the mlflow client from scripts/mlflow-compat.sh's .venv-mlflow)
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
[ -x .build/release/aitip ] || swift build -c release --product aitip || exit 1
bin=$PWD/.build/release/aitip
venv=.venv-mlflow
. scripts/venv.sh
pinned_venv "$venv" pytests/mlflow/requirements.txt || exit 1
data=$(mktemp -d -t aitip-soak.XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
trap '[ -n "${server_pid:-}" ] && kill $server_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$data"' EXIT
AITIP_ADMIN_PASSWORD=soak-password-1 "$bin" serve --listen 127.0.0.1:$port --data-dir "$data/server" >"$data/server.out" 2>"$data/server.err" &
server_pid=$!
for _ in $(seq 1 100); do curl -fs http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo "binary: release build, $(git rev-parse --short HEAD); defaults (SQLite, local disk, sandbox, rate limit 100/s burst 200)"
"$venv/bin/python" bench/soak.py --url http://127.0.0.1:$port --password soak-password-1 --pid $server_pid --aitip "$bin" --seconds "$seconds"
