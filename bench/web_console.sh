#!/usr/bin/env bash
# Web console benchmark (issue: web console): 10,000 runs and a 1,000,000-point metric in headless Chromium, against
# `aitip serve` (the release binary if built, else the debug one; this script builds neither) with the built console.
# Prints the machine, then one JSON line per server (bench/web_console.py). With --mlflow, also seeds the same data
# into MLflow's own server (mlflow==3.17.2 in .venv-bench-mlflow; about 10 more minutes on 2 cores) and times its UI
# the same way (bench/web_console_mlflow.py). Both servers' data live in a temporary folder removed at the end.
#   bench/web_console.sh [--runs N] [--points N] [--repeat N] [--mlflow]
set -uo pipefail
cd "$(dirname "$0")/.."
args=() mlflow=0
while [ $# -gt 0 ]; do
  case $1 in
    --mlflow) mlflow=1 ;;
    *) args+=("$1") ;;
  esac
  shift
done
bin=.build/release/aitip
[ -x "$bin" ] || bin=.build/debug/aitip
[ -x "$bin" ] || { echo "no aitip binary: build one first (swift build -c release --product aitip)"; exit 1; }
[ -f web/dist/app.js ] || { echo "no console bundle: run web/build.sh first"; exit 1; }
if [ ! -x .venv-ui/bin/python ]; then
  python3 -m venv .venv-ui && .venv-ui/bin/pip install -q -r pytests/ui/requirements.txt || exit 1
fi
pids=()
work=$(mktemp -d -t aitip-bench-web.XXXXXX)
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
wait_up() { for _ in $(seq 1 900); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo "aitip: $bin at $(git rev-parse --short HEAD); $(/usr/bin/chromium --version 2>/dev/null)"

port=15060
AITIP_ADMIN_PASSWORD=bench-password-1 AITIP_RATE_LIMIT=0 AITIP_LOG_LEVEL=warning AITIP_WEB_DIR="$PWD/web/dist" \
  "$bin" serve --listen 127.0.0.1:$port --data-dir "$work/aitip" >"$work/aitip.log" 2>&1 &
pids+=($!)
wait_up http://127.0.0.1:$port/healthz || { tail "$work/aitip.log"; exit 1; }
echo -n "aitip: "
.venv-ui/bin/python bench/web_console.py --url http://127.0.0.1:$port --password bench-password-1 "${args[@]}"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null

if [ $mlflow = 1 ]; then
  venv=.venv-bench-mlflow
  [ -x "$venv/bin/mlflow" ] || { echo "mlflow: not installed in $venv (bench/tracking.sh installs it)"; exit 1; }
  "$venv/bin/mlflow" server --host 127.0.0.1 --port 15061 --backend-store-uri "sqlite:///$work/mlflow.db" \
      --artifacts-destination "$work/mlartifacts" --serve-artifacts >"$work/mlflow.log" 2>&1 &
  pids+=($!)
  wait_up http://127.0.0.1:15061/health || { tail "$work/mlflow.log"; exit 1; }
  echo -n "mlflow: "
  .venv-ui/bin/python bench/web_console_mlflow.py --url http://127.0.0.1:15061 "${args[@]}"
fi
