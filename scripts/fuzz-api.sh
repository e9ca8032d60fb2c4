#!/usr/bin/env bash
# Schema fuzzing: schemathesis (pinned in pytests/fuzz/requirements.txt) generates requests from the served
# openapi.yaml, ones that follow it and ones that break it, and sends them to the real `aitip serve` at its default
# settings, signed with an API key of the first admin. It fails on any 5xx, any answer the document does not declare
# (status, content type, headers, body), an undeclared method not answered 405 with the right Allow, a route that
# ignores its credential, and a deleted resource that is still served.
#   scripts/fuzz-api.sh [seconds]     (default 180; AITIP_BIN picks the binary, default .build/debug/aitip)
# Left out, for now: the operations that would end the fuzzer's own credential (revoking API keys and sessions,
# logging out, changing the password), the job log stream (it follows a job until it ends) and the code upload (a
# gzip body schemathesis cannot make); the tests in Tests/HTTPServerTests cover them. The checks that requests
# breaking the document are refused and requests following it are accepted (negative_data_rejection,
# positive_data_acceptance) are off until what they found is fixed: opaque cursors declared as any string, null
# accepted for optional fields, empty strings for optional ids (docs/security.md lists them).
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-180}
bin=${AITIP_BIN:-.build/debug/aitip}
venv=.venv-fuzz
. scripts/venv.sh
pinned_venv "$venv" pytests/fuzz/requirements.txt || exit 1

work=$(mktemp -d -t aitip-fuzz.XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
server="http://127.0.0.1:$port"
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

"$bin" serve --listen "127.0.0.1:$port" --data-dir "$work/data" >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
for _ in $(seq 1 200); do curl -fs "$server/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "$server/healthz" >/dev/null || { echo "the server did not start"; cat "$work/server.err"; exit 1; }
json() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }
password=$(sed -n 's/.*One-time admin password: \([^ ]*\).*/\1/p' "$work/server.out")
token=$(curl -fs "$server/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"username\": \"admin\", \"password\": \"$password\"}" | json '["access_token"]') || exit 1
org=$(curl -fs "$server/api/v1/orgs" -H "authorization: Bearer $token" | json '["items"][0]["id"]') || exit 1
key=$(curl -fs "$server/api/v1/auth/api-keys" -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d "{\"name\": \"fuzz\", \"org_id\": \"$org\"}" | json '["key"]') || exit 1

echo "fuzzing $server for $seconds s (schemathesis $("$venv/bin/schemathesis" --version | sed 's/.* //'))"
# One worker: with two, hypothesis describes its filters with ast.parse from two threads at once, and CPython 3.11
# fails that now and then ("SystemError: AST constructor recursion depth mismatch"), an error of the fuzzer that
# ended a CI run; the rate limit, not the worker count, bounds the run.
"$venv/bin/schemathesis" run "$server/api/v1/openapi.yaml" --url "$server" \
  -H "Authorization: Bearer $key" --max-time "$seconds" --workers 1 --rate-limit 90/s \
  --checks all --exclude-checks negative_data_rejection,positive_data_acceptance --generation-database none --no-color \
  --exclude-operation-id revokeApiKey --exclude-operation-id revokeSession \
  --exclude-operation-id logout --exclude-operation-id changePassword \
  --exclude-operation-id getTrainingJobLogs --exclude-operation-id uploadTrainingCode
status=$?
if grep -qE '"status":5[0-9][0-9]|internal error|unhandled error' "$work/server.err"; then
  echo "the server logged internal errors:"; grep -E 'internal error|unhandled error' "$work/server.err" | head -20; status=1
fi
exit $status
