#!/usr/bin/env bash
# Foundation benchmarks (issue: foundation): cold start, idle RSS, and wrk latency/throughput of an authenticated
# GET /api/v1/projects on SQLite and PostgreSQL. Prints markdown for docs/benchmarks.md.
#   bench/foundation.sh            (builds the release binary if needed; installs wrk if missing)
set -uo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
[ -x .build/release/aitip ] || swift build -c release --product aitip || exit 1
bin=.build/release/aitip
PGPORT=${AITIP_BENCH_PGPORT:-55442}  # apart from the test suite's server
. scripts/services.sh
trap 'pg_stop; [ -n "${server_pid:-}" ] && kill $server_pid 2>/dev/null' EXIT
pg_start >/dev/null || exit 1
port=18282

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo "binary: release build, $(git rev-parse --short HEAD)"

bench_db() {
  local name=$1 url=$2 data
  data=$(mktemp -d -t aitip-bench.XXXXXX)
  echo; echo "### $name"
  if [ "$name" = postgres ]; then
    for db in bench_cold bench; do
      PGPASSWORD=secret "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -q -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    done
    python3 bench/cold_start.py "$bin" "${url%/*}/bench_cold" --port $((port + 1))
  else
    python3 bench/cold_start.py "$bin" "$url" --port $((port + 1))
  fi
  url=${url/DATA/$data}
  AITIP_ADMIN_PASSWORD=bench-password-1 AITIP_RATE_LIMIT=0 "$bin" serve --listen 127.0.0.1:$port --data-dir "$data" \
      --database-url "$url" >"$data/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do curl -fs http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done
  token=$(curl -fs http://127.0.0.1:$port/api/v1/auth/login -H 'content-type: application/json' \
      -d '{"username":"admin","password":"bench-password-1"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  export AITIP_BENCH_TOKEN=$token
  wrk -t1 -c4 -d5s -s bench/paced.lua http://127.0.0.1:$port/api/v1/projects >/dev/null  # warm-up
  for projects in 1 20; do
    while [ "$(curl -fs "http://127.0.0.1:$port/api/v1/projects?limit=500" -H "authorization: Bearer $token" \
               | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')" -lt $projects ]; do
      curl -fs http://127.0.0.1:$port/api/v1/projects -H "authorization: Bearer $token" -H 'content-type: application/json' \
          -d "{\"name\":\"bench $RANDOM$RANDOM\"}" >/dev/null
    done
    echo "GET /api/v1/projects returning $projects project(s):"
    echo -n "  paced, 13 connections with a 10 ms pause each (about 1,000 req/s offered), 20 s: "
    AITIP_BENCH_DELAY_MS=10 wrk -t2 -c13 -d20s -s bench/paced.lua http://127.0.0.1:$port/api/v1/projects | grep RESULT
    echo -n "  saturated, 32 connections, 10 s: "
    AITIP_BENCH_DELAY_MS=0 wrk -t2 -c32 -d10s -s bench/paced.lua http://127.0.0.1:$port/api/v1/projects | grep RESULT
  done
  echo "busy RSS after load: $(awk '/VmRSS/{printf "%.1f MiB", $2/1024}' /proc/$server_pid/status)"
  kill -TERM $server_pid; wait $server_pid; server_pid=
  rm -rf "$data"
}

bench_db sqlite "sqlite://DATA/aitip.db"
bench_db postgres "postgres://postgres:secret@127.0.0.1:$PGPORT/bench"

# The runs above lift the per-principal rate limit (AITIP_RATE_LIMIT=0): one token offers ~1,000 req/s. The same
# paced run at the defaults (rate_limit 100/s, burst 200) shows what that token gets: 100 answers a second, the
# rest 429 with Retry-After (counted as errors by wrk).
echo; echo "### sqlite, default settings (rate limit on)"
data=$(mktemp -d -t aitip-bench.XXXXXX)
AITIP_ADMIN_PASSWORD=bench-password-1 "$bin" serve --listen 127.0.0.1:$port --data-dir "$data" >"$data/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do curl -fs http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done
export AITIP_BENCH_TOKEN=$(curl -fs http://127.0.0.1:$port/api/v1/auth/login -H 'content-type: application/json' \
    -d '{"username":"admin","password":"bench-password-1"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
echo -n "  paced, 13 connections with a 10 ms pause each, 20 s: "
AITIP_BENCH_DELAY_MS=10 wrk -t2 -c13 -d20s -s bench/paced.lua http://127.0.0.1:$port/api/v1/projects | grep RESULT
echo -n "  paced, 1 connection with a 20 ms pause (about 50 req/s, under the limit), 20 s: "
AITIP_BENCH_DELAY_MS=20 wrk -t1 -c1 -d20s -s bench/paced.lua http://127.0.0.1:$port/api/v1/projects | grep RESULT
kill -TERM $server_pid; wait $server_pid; server_pid=
rm -rf "$data"
