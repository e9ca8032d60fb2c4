#!/usr/bin/env bash
# Where a log_metric call goes: the real client's log_metric loop against a release aitip at its defaults (SQLite), its
# rate, and per call the SQLite statements (a uprobe on sqlite3_step) and the server's context switches (perf stat).
#   bench/log_metric_profile.sh [CALLS]     (needs perf: apt-get install linux-perf; run as root for the uprobe)
#   AITIP_BIN names another build of aitip, to compare two in one sitting.
set -uo pipefail
cd "$(dirname "$0")/.."
calls=${1:-1000}
venv=.venv-bench-mlflow
[ -x "$venv/bin/mlflow" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q mlflow==3.17.2 requests; } || exit 1
bin=${AITIP_BIN:-$PWD/.build/release/aitip}  # AITIP_BIN: another build, to compare two in one sitting
[ -x "$bin" ] || swift build -c release --product aitip || exit 1
work=$(mktemp -d -t aitip-bench-logmetric.XXXXXX)
port=15061
AITIP_ADMIN_PASSWORD=bench-password-1 AITIP_LOG_LEVEL=warning "$bin" serve --listen 127.0.0.1:$port --data-dir "$work/data" >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; perf probe -q -d "probe_aitip:*" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 300); do curl -fs http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done

loop() {  # loop CALLS: prints calls/s
  "$venv/bin/python" - "$port" "$1" <<'PY'
import os, sys, time
from mlflow import MlflowClient
os.environ.update(MLFLOW_TRACKING_USERNAME="admin", MLFLOW_TRACKING_PASSWORD="bench-password-1")
client = MlflowClient(f"http://127.0.0.1:{sys.argv[1]}")
run = client.create_run(client.create_experiment(f"log-metric-{time.time()}")).info.run_id
calls = int(sys.argv[2])
start = time.perf_counter()
for step in range(calls):
    client.log_metric(run, "single", step * 0.5, step=step)
print(f"{calls / (time.perf_counter() - start):.0f}")
PY
}
loop 200 >/dev/null  # warm-up
for i in 1 2 3; do echo "log_metric calls/s, run $i: $(loop "$calls")"; done
command -v perf >/dev/null || { echo "perf not installed: no per-call counts"; exit 0; }
perf probe -q -x "$bin" --add sqlite_nio_sqlite3_step || { echo "could not add the uprobe (root needed)"; exit 0; }
perf stat -x, -e probe_aitip:sqlite_nio_sqlite3_step -e context-switches -p $server -o "$work/stat.csv" &
stat=$!
sleep 0.5
loop "$calls" >/dev/null
kill -INT $stat; wait $stat 2>/dev/null
awk -F, -v calls="$calls" '/sqlite3_step/ {printf "SQLite statements per call: %.1f\n", $1 / calls} /context-switches/ {printf "context switches per call: %.1f\n", $1 / calls}' "$work/stat.csv"
