#!/usr/bin/env bash
# The MLflow compatibility suite: the real `mlflow` client (pinned in pytests/mlflow/requirements.txt) against a
# real `aitip serve` on a fresh database (on PostgreSQL with its artifacts in S3 when scripts/services.sh started it).
#   scripts/mlflow-compat.sh sqlite|postgres     (postgres needs AITIP_TEST_POSTGRES_URL, see scripts/services.sh)
set -uo pipefail
cd "$(dirname "$0")/.."
kind=${1:-sqlite}
venv=${MLFLOW_VENV:-.venv-mlflow}

. scripts/venv.sh
pinned_venv "$venv" pytests/mlflow/requirements.txt || exit 1

db=
if [ "$kind" = postgres ]; then
  [ -n "${AITIP_TEST_POSTGRES_URL:-}" ] || { echo "AITIP_TEST_POSTGRES_URL is not set"; exit 1; }
  db="aitip_mlflow_$$"
  PGPASSWORD=secret psql -h 127.0.0.1 -p "${PGPORT:-55432}" -U postgres -qc "CREATE DATABASE $db" || exit 1
  export AITIP_TEST_DATABASE_URL="${AITIP_TEST_POSTGRES_URL%/*}/$db"
fi
# The PostgreSQL run keeps the artifacts in the S3 server when one runs (scripts/services.sh s3_start).
if [ "$kind" = postgres ] && [ -n "${AITIP_TEST_S3_URL:-}" ]; then
  export AITIP_OBJECT_STORE="${AITIP_TEST_S3_URL/s3:\/\/aitip-test/s3://mlflow-$$}" AITIP_S3_ACCESS_KEY="$AITIP_TEST_S3_ACCESS_KEY" AITIP_S3_SECRET_KEY="$AITIP_TEST_S3_SECRET_KEY"
  echo "mlflow ($kind): artifacts in $AITIP_OBJECT_STORE"
fi
"$venv/bin/python" -m pytest -q -p no:cacheprovider --timeout=300 pytests/mlflow
code=$?
[ -n "$db" ] && PGPASSWORD=secret psql -h 127.0.0.1 -p "${PGPORT:-55432}" -U postgres -qc "DROP DATABASE $db WITH (FORCE)" >/dev/null
exit $code
