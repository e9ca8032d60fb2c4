#!/usr/bin/env bash
# Tracking benchmark (issues: experiment tracking; tracking for daily use): the same real-`mlflow`-client workload
# against the ceiling (nginx answering the same routes with bodies recorded from aitip: the client's own limit),
# MLflow's own server (--workers 1, its best configuration here, and its default workers) and aitip at its default
# settings (SQLite and PostgreSQL), on this machine, in one run; then raw HTTP ingest into aitip without the client.
# Prints JSON lines for docs/benchmarks.md.
# aitip on SQLite and the ceiling then run in alternating rounds (AITIP_BENCH_ROUNDS, default 3), and the last lines
# give each phase's share of the ceiling per round and its median: this VM's speed drifts by ±15 % over minutes, so
# only phases measured side by side are compared.
#   bench/tracking.sh [--big-runs N]      (installs mlflow==3.17.2 into .venv-bench-mlflow on first use; needs PostgreSQL 15
#                                          and nginx: apt-get install nginx-light)
set -uo pipefail
cd "$(dirname "$0")/.."
big_runs=0
[ "${1:-}" = "--big-runs" ] && big_runs=$2
venv=.venv-bench-mlflow
if [ ! -x "$venv/bin/mlflow" ]; then
  python3 -m venv "$venv" && "$venv/bin/pip" install -q mlflow==3.17.2 requests || exit 1
fi
[ -x .build/release/aitip ] || swift build -c release --product aitip || exit 1
command -v nginx >/dev/null || { echo "nginx is needed for the ceiling: apt-get install nginx-light"; exit 1; }
bin=.build/release/aitip
PGPORT=${AITIP_BENCH_PGPORT:-55442}
. scripts/services.sh
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null; done; wait 2>/dev/null; pg_stop' EXIT
work=$(mktemp -d -t aitip-bench-tracking.XXXXXX)

wait_up() { for _ in $(seq 1 600); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo "aitip: release build $(git rev-parse --short HEAD); mlflow: $("$venv/bin/python" -c 'import mlflow; print(mlflow.__version__)')"

# MLflow's own server: SQLite backend, proxied artifacts; one worker (its best configuration on this machine: the
# default workers contend for the SQLite file), then its default.
run_mlflow() {  # run_mlflow NAME [--workers N]
  local name=$1 start
  shift
  start=$(date +%s.%N)
  "$venv/bin/mlflow" server --host 127.0.0.1 --port 15057 "$@" --backend-store-uri "sqlite:///$work/$name.db" \
      --artifacts-destination "$work/$name-artifacts" --serve-artifacts >"$work/$name.log" 2>&1 &
  pids+=($!)
  wait_up http://127.0.0.1:15057/health || { tail "$work/$name.log"; exit 1; }
  echo "$name cold start: $(echo "$(date +%s.%N) - $start" | bc) s"
  echo -n "$name: "; "$venv/bin/python" bench/tracking_client.py --uri http://127.0.0.1:15057
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null
}
run_mlflow mlflow-workers-1 --workers 1
run_mlflow mlflow-default

run_aitip() {  # run_aitip NAME DATABASE_URL [client only]
  local name=$1 url=$2 port=15058
  AITIP_ADMIN_PASSWORD=bench-password-1 AITIP_LOG_LEVEL=warning "$bin" serve --listen 127.0.0.1:$port \
      --data-dir "$work/$name" --database-url "$url" >"$work/$name.log" 2>&1 &
  pids+=($!)
  wait_up http://127.0.0.1:$port/healthz || { tail "$work/$name.log"; exit 1; }
  echo -n "aitip-$name: "
  "$venv/bin/python" bench/tracking_client.py --uri http://127.0.0.1:$port --username admin --password bench-password-1 \
      --big-runs "$big_runs" | tee -a "$work/rounds-$name.jsonl"
  if [ -z "${3:-}" ]; then
    echo -n "aitip-$name raw ingest: "
    "$venv/bin/python" bench/ingest.py --url http://127.0.0.1:$port --username admin --password bench-password-1
  fi
  # The ceiling's answers are recorded from the first aitip (the same bodies, byte for byte).
  [ -d "$work/bodies" ] || "$venv/bin/python" bench/null_server.py capture --uri http://127.0.0.1:$port --username admin \
      --password bench-password-1 --out "$work/bodies" || exit 1
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null
}
run_aitip sqlite "sqlite://$work/sqlite/aitip.db"

# The ceiling: the client against nginx answering instantly with the recorded bodies (readable by nginx's workers,
# which run as www-data when nginx starts as root).
mkdir -p "$work/nginx-root"
chmod 711 "$work" && chmod 755 "$work/bodies" && chmod 644 "$work/bodies"/*
"$venv/bin/python" bench/null_server.py config --bodies "$work/bodies" --port 15059 --work "$work" > "$work/nginx.conf"
nginx -c "$work/nginx.conf" &
nginx_pid=$!
pids+=($nginx_pid)
wait_up http://127.0.0.1:15059/api/2.0/mlflow/runs/log-metric || { cat "$work/nginx-error.log"; exit 1; }
ceiling() {
  echo -n "ceiling (nginx $(nginx -v 2>&1 | sed 's/.*\///')): "
  "$venv/bin/python" bench/tracking_client.py --uri http://127.0.0.1:15059 | tee -a "$work/rounds-ceiling.jsonl"
}
ceiling
for round in $(seq 2 "${AITIP_BENCH_ROUNDS:-3}"); do
  run_aitip "sqlite-$round" "sqlite://$work/sqlite-$round/aitip.db" client-only
  ceiling
done
kill $nginx_pid; wait $nginx_pid 2>/dev/null
for round in $(seq 2 "${AITIP_BENCH_ROUNDS:-3}"); do cat "$work/rounds-sqlite-$round.jsonl"; done | cat "$work/rounds-sqlite.jsonl" - > "$work/rounds-aitip.jsonl"
"$venv/bin/python" bench/ceiling_share.py "$work/rounds-aitip.jsonl" "$work/rounds-ceiling.jsonl"

pg_start >/dev/null || exit 1
run_aitip postgres "${AITIP_TEST_POSTGRES_URL}"
