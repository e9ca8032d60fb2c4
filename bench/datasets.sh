#!/usr/bin/env bash
# Datasets benchmark (issue: datasets): push and pull one generated file of SIZE_MB through `aitip datasets` with the
# filesystem store and with the S3 store (a real SeaweedFS), then the same file through MLflow's artifact proxy
# (`mlflow server --serve-artifacts`, `log_artifact` / `download_artifacts`), on this machine in one run.
# Reports seconds, MB/s and peak RSS of each client and server.
#   bench/datasets.sh [SIZE_MB]        (default 1000; installs mlflow==3.17.2 into .venv-bench-mlflow on first use)
set -uo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-1000}
venv=.venv-bench-mlflow
if [ ! -x "$venv/bin/mlflow" ]; then
  python3 -m venv "$venv" && "$venv/bin/pip" install -q mlflow==3.17.2 requests || exit 1
fi
[ -x .build/release/aitip ] || swift build -c release --product aitip || exit 1
bin=$PWD/.build/release/aitip
. scripts/services.sh
work=$(mktemp -d -t aitip-bench-datasets.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null; done; wait 2>/dev/null; s3_stop; rm -rf "$work"' EXIT
wait_up() { for _ in $(seq 1 600); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
# Peak resident memory (MB) of a process and its descendants (MLflow serves from worker processes).
peak_mb() {
  local total=0 pid
  for pid in $1 $(pgrep -P "$1") $(for child in $(pgrep -P "$1"); do pgrep -P "$child"; done); do
    local kb; kb=$(awk '/VmHWM/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ "${kb:-0}" -gt "$total" ] && total=$kb
  done
  echo $((total / 1024))
}
rate() { python3 -c "print(f'{$size_mb / $1:.0f}')"; }

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo "aitip: release build $(git rev-parse --short HEAD); mlflow: $("$venv/bin/python" -c 'import mlflow; print(mlflow.__version__)')"
head -c "${size_mb}000000" /dev/urandom >"$work/data.bin" || exit 1
s3_start || { echo "SeaweedFS did not start"; exit 1; }

run_aitip() {  # run_aitip NAME [object store URL]
  local name=$1 store=${2:-} port=15068
  local env=(AITIP_ADMIN_PASSWORD=bench-password-1 AITIP_RATE_LIMIT=0 AITIP_LOG_LEVEL=warning XDG_CONFIG_HOME="$work/$name-config")
  [ -n "$store" ] && env+=(AITIP_OBJECT_STORE="$store" AITIP_S3_ACCESS_KEY="$AITIP_TEST_S3_ACCESS_KEY" AITIP_S3_SECRET_KEY="$AITIP_TEST_S3_SECRET_KEY")
  env "${env[@]}" "$bin" serve --listen 127.0.0.1:$port --data-dir "$work/$name" >"$work/$name.log" 2>&1 &
  local server=$!; pids+=($server)
  wait_up http://127.0.0.1:$port/readyz || { tail "$work/$name.log"; return 1; }
  local cli=(env XDG_CONFIG_HOME="$work/$name-config" "$bin")
  echo bench-password-1 | "${cli[@]}" login --server http://127.0.0.1:$port --username admin --password-stdin >/dev/null || return 1
  local project; project=$("${cli[@]}" projects list -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
  "${cli[@]}" datasets create --project "$project" --format mixed bench >/dev/null || return 1
  /usr/bin/time -f "%e %M" -o "$work/push.time" "${cli[@]}" datasets push --project "$project" bench "$work/data.bin" --version v1 >/dev/null 2>&1 || return 1
  local push_server; push_server=$(peak_mb "$server")
  /usr/bin/time -f "%e %M" -o "$work/pull.time" "${cli[@]}" datasets pull --project "$project" bench --dir "$work/$name-pulled" >/dev/null 2>&1 || return 1
  cmp -s "$work/data.bin" "$work/$name-pulled/data.bin" || { echo "$name: pulled file differs"; return 1; }
  read -r push_s push_kb <"$work/push.time"; read -r pull_s pull_kb <"$work/pull.time"
  echo "aitip $name: push ${push_s}s ($(rate "$push_s") MB/s), CLI peak $((push_kb / 1024)) MB, server peak ${push_server} MB;" \
       "pull ${pull_s}s ($(rate "$pull_s") MB/s), CLI peak $((pull_kb / 1024)) MB, server peak $(peak_mb "$server") MB"
  kill "$server"; wait "$server" 2>/dev/null
  rm -rf "$work/$name-pulled" "$work/$name"
}

run_aitip filesystem || exit 1
run_aitip s3 "${AITIP_TEST_S3_URL/s3:\/\/aitip-test/s3://bench-$$}" || exit 1

# MLflow's artifact proxy: the client PUTs the file to the server, which writes it to its artifact destination.
"$venv/bin/mlflow" server --host 127.0.0.1 --port 15067 --backend-store-uri "sqlite:///$work/mlflow.db" \
    --artifacts-destination "$work/mlartifacts" --serve-artifacts >"$work/mlflow.log" 2>&1 &
mlflow_pid=$!; pids+=($mlflow_pid)
wait_up http://127.0.0.1:15067/health || { tail "$work/mlflow.log"; exit 1; }
"$venv/bin/python" - "$work" "$size_mb" "$mlflow_pid" <<'PY'
import os, resource, subprocess, sys, time
import mlflow
work, size_mb, server = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def server_peak_mb():
    pids = subprocess.run(["bash", "-c", f"echo {server} $(pgrep -P {server}) $(for c in $(pgrep -P {server}); do pgrep -P $c; done)"],
                          capture_output=True, text=True).stdout.split()
    peak = 0
    for pid in pids:
        try:
            for line in open(f"/proc/{pid}/status"):
                if line.startswith("VmHWM"): peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
    return peak // 1024
mlflow.set_tracking_uri("http://127.0.0.1:15067")
with mlflow.start_run() as run:
    start = time.time(); mlflow.log_artifact(os.path.join(work, "data.bin")); push = time.time() - start
push_client = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024; push_server = server_peak_mb()
start = time.time()
path = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="data.bin", dst_path=os.path.join(work, "mlpulled"))
pull = time.time() - start
print(f"mlflow artifact proxy: push {push:.2f}s ({size_mb / push:.0f} MB/s), client peak {push_client} MB, server peak {push_server} MB; "
      f"pull {pull:.2f}s ({size_mb / pull:.0f} MB/s), client peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB, "
      f"server peak {server_peak_mb()} MB; pulled size {os.path.getsize(path)}")
PY
