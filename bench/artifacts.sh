#!/usr/bin/env bash
# Artifact transfers (issue: tracking for daily use, item 4): the real `mlflow` client (3.17.2) logs and downloads a
# 1 GiB and a 5 GiB file through aitip's artifact routes (local disk, then S3 on SeaweedFS) and through MLflow's
# artifact proxy (`mlflow server --serve-artifacts`, local disk; --workers 1, its best configuration here, and its
# default), all at default settings, in one run. A `cp` of the same file on the same disk is the ceiling.
#   bench/artifacts.sh [SIZES_GIB...]     (default: 1 5; needs ~3× the largest size free under $TMPDIR)
set -uo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] && sizes=("$@") || sizes=(1 5)
venv=.venv-bench-mlflow
if [ ! -x "$venv/bin/mlflow" ]; then
  python3 -m venv "$venv" && "$venv/bin/pip" install -q mlflow==3.17.2 requests || exit 1
fi
[ -x .build/release/aitip ] || swift build -c release --product aitip || exit 1
bin=.build/release/aitip
. scripts/services.sh
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null; done; wait 2>/dev/null; s3_stop 2>/dev/null' EXIT
work=$(mktemp -d -t aitip-bench-artifacts.XXXXXX)
wait_up() { for _ in $(seq 1 600); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); disk: $(df -h "$work" | awk 'NR==2{print $1}')"
echo "aitip: release build $(git rev-parse --short HEAD); mlflow: $("$venv/bin/python" -c 'import mlflow; print(mlflow.__version__)')"

# The ceiling: the same bytes copied on the same disk, no network, no client.
head -c $((1 << 30)) /dev/urandom > "$work/ceiling.bin"; sync
start=$(date +%s.%N); cp "$work/ceiling.bin" "$work/ceiling-copy.bin"; sync; end=$(date +%s.%N)
echo "ceiling (cp 1 GiB + sync): $(echo "1073.741824 / ($end - $start)" | bc) MB/s"
rm -f "$work/ceiling.bin" "$work/ceiling-copy.bin"

measure() {  # measure NAME PID URI [USERNAME PASSWORD]
  local name=$1 pid=$2 uri=$3
  shift 3
  local credentials=()
  [ $# -gt 0 ] && credentials=(--username "$1" --password "$2")
  "$venv/bin/python" bench/artifacts.py --uri "$uri" --server-pid "$pid" --work "$work" "${credentials[@]}" --sizes-gib "${sizes[@]}" \
    | sed "s/^/$name: /"
}

run_aitip() {  # run_aitip NAME [OBJECT_STORE]
  local name=$1 port=15068
  mkdir -p "$work/$name"
  local settings=(AITIP_ADMIN_PASSWORD=bench-password-1 AITIP_LOG_LEVEL=warning)
  [ -n "${2:-}" ] && settings+=(AITIP_OBJECT_STORE="$2" AITIP_S3_ACCESS_KEY="$AITIP_TEST_S3_ACCESS_KEY" AITIP_S3_SECRET_KEY="$AITIP_TEST_S3_SECRET_KEY")
  env "${settings[@]}" "$bin" serve --listen 127.0.0.1:$port --data-dir "$work/$name" >"$work/$name.log" 2>&1 &
  pids+=($!)
  wait_up http://127.0.0.1:$port/healthz || { tail "$work/$name.log"; exit 1; }
  measure "aitip-$name" "${pids[-1]}" http://127.0.0.1:$port admin bench-password-1
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null
  rm -rf "$work/$name"
}

run_mlflow() {  # run_mlflow NAME [--workers N]
  local name=$1 port=15067
  shift
  mkdir -p "$work/$name"
  "$venv/bin/mlflow" server --host 127.0.0.1 --port $port "$@" --backend-store-uri "sqlite:///$work/$name/mlflow.db" \
      --artifacts-destination "$work/$name/artifacts" --serve-artifacts >"$work/$name.log" 2>&1 &
  pids+=($!)
  wait_up http://127.0.0.1:$port/health || { tail "$work/$name.log"; exit 1; }
  measure "$name" "${pids[-1]}" http://127.0.0.1:$port
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null
  rm -rf "$work/$name"
}

run_aitip disk
S3_PORT=$(free_port) s3_start || exit 1
run_aitip s3 "${AITIP_TEST_S3_URL/s3:\/\/aitip-test/s3://bench-artifacts}"
s3_stop
run_mlflow mlflow-workers-1 --workers 1
run_mlflow mlflow-default
rm -rf "$work"
