#!/usr/bin/env bash
# Crash tests: the real `aitip serve` killed with SIGKILL during metric ingest, with ten running jobs, with jobs
# queued, and during a dataset upload, then started again (pytests/crash; pytest pinned in its requirements.txt).
#   scripts/crash-tests.sh sqlite|postgres     (postgres needs AITIP_TEST_POSTGRES_URL, see scripts/services.sh)
set -uo pipefail
cd "$(dirname "$0")/.."
kind=${1:-sqlite}
venv=.venv-crash
. scripts/venv.sh
pinned_venv "$venv" pytests/crash/requirements.txt || exit 1
if [ "$kind" = postgres ]; then
  [ -n "${AITIP_TEST_POSTGRES_URL:-}" ] || { echo "AITIP_TEST_POSTGRES_URL is not set"; exit 1; }
fi
AITIP_CRASH_DATABASE=$kind "$venv/bin/python" -m pytest -q -p no:cacheprovider --timeout=300 pytests/crash
