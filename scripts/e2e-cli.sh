#!/usr/bin/env bash
# End-to-end: the real `aitip` binary as a server and as a CLI, over a real socket.
#   scripts/e2e-cli.sh sqlite|postgres     (postgres needs AITIP_TEST_POSTGRES_URL, see scripts/services.sh)
set -uo pipefail
cd "$(dirname "$0")/.."
kind=${1:-sqlite}
bin=${AITIP_BIN:-.build/debug/aitip}
work=$(mktemp -d -t aitip-e2e.XXXXXX)
port=$((20000 + RANDOM % 20000))
server="http://127.0.0.1:$port"
export XDG_CONFIG_HOME="$work/config"
unset AITIP_TOKEN AITIP_SERVER
passed=0; failed=0; server_pid=

cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

check() {  # check "description" command… — passes when the command succeeds
  local what=$1; shift
  if "$@" >"$work/out" 2>&1; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $what"; sed 's/^/    /' "$work/out"; fi
}
exits() {  # exits CODE "description" command… — passes when the command exits with CODE
  local code=$1 what=$2; shift 2
  "$@" >"$work/out" 2>&1; local got=$?
  if [ "$got" -eq "$code" ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $what (exit $got, wanted $code)"; sed 's/^/    /' "$work/out"; fi
}

database_url="sqlite://$work/data/aitip.db"
if [ "$kind" = postgres ]; then
  [ -n "${AITIP_TEST_POSTGRES_URL:-}" ] || { echo "AITIP_TEST_POSTGRES_URL is not set"; exit 1; }
  db="aitip_e2e_$$"
  PGPASSWORD=secret psql -h 127.0.0.1 -p "${PGPORT:-55432}" -U postgres -qc "CREATE DATABASE $db" || exit 1
  database_url="${AITIP_TEST_POSTGRES_URL%/*}/$db"
fi

# The PostgreSQL run keeps objects (datasets, logs, artifacts) in the S3 server when one runs (scripts/services.sh s3_start).
if [ "$kind" = postgres ] && [ -n "${AITIP_TEST_S3_URL:-}" ]; then
  export AITIP_OBJECT_STORE="${AITIP_TEST_S3_URL/s3:\/\/aitip-test/s3://e2e-$$}" AITIP_S3_ACCESS_KEY="$AITIP_TEST_S3_ACCESS_KEY" AITIP_S3_SECRET_KEY="$AITIP_TEST_S3_SECRET_KEY"
  echo "e2e ($kind): objects in $AITIP_OBJECT_STORE"
fi

# The example training script needs NumPy; local jobs see this virtualenv (and the Python it was made from) read-only.
examples_venv=${AITIP_EXAMPLES_VENV:-.venv-examples}
[ -x "$examples_venv/bin/python" ] || { python3 -m venv "$examples_venv" && "$examples_venv/bin/pip" install -q -r examples/requirements.txt; } || exit 1
python_prefix=$("$examples_venv/bin/python" -c 'import sys; print(sys.base_prefix)')
export AITIP_SIMULATE_GPUS=a100:2 AITIP_GRACE_PERIOD=2 AITIP_SANDBOX_RO_PATHS="$PWD/$examples_venv,$python_prefix"

# First start on an empty database: the admin password is generated and printed once.
"$bin" serve --listen "127.0.0.1:$port" --data-dir "$work/data" --database-url "$database_url" >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
for _ in $(seq 1 100); do curl -fs "$server/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
check "healthz answers" curl -fs "$server/healthz"
check "readyz answers" curl -fs "$server/readyz"
password=$(sed -n 's/.*One-time admin password: \([^ ]*\).*/\1/p' "$work/server.out")
check "a one-time admin password is printed" test -n "$password"
check "the password is not in the logs" bash -c "! grep -q -- '$password' '$work/server.err'"

aitip() { "$bin" "$@"; }
exits 3 "whoami before login says not signed in" aitip whoami --server "$server"
check "login with the printed password" bash -c "printf '%s\n' '$password' | '$bin' login --server '$server' --username admin --password-stdin"
check "credentials are saved 0600" bash -c "[ \"\$(stat -c %a '$XDG_CONFIG_HOME/aitip/credentials.json')\" = 600 ]"
check "whoami" aitip whoami
check "without XDG_CONFIG_HOME the credentials live under \$HOME/.config" bash -c "printf '%s\n' '$password' | env -u XDG_CONFIG_HOME HOME='$work/home' '$bin' login --server '$server' --username admin --password-stdin >/dev/null && [ -f '$work/home/.config/aitip/credentials.json' ] && env -u XDG_CONFIG_HOME HOME='$work/home' '$bin' whoami >/dev/null"
credentials="$XDG_CONFIG_HOME/aitip/credentials.json"
refresh_before=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["refresh_token"])' "$credentials")
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["access_token"]="expired"; json.dump(c, open(sys.argv[1], "w"))' "$credentials"
check "a refused access token is renewed once with the saved refresh token, and the new pair is saved" bash -c "
  '$bin' whoami | grep -q admin &&
  python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); sys.exit(c[\"access_token\"] == \"expired\" or c[\"refresh_token\"] == sys.argv[2])' '$credentials' '$refresh_before'"
exits 3 "with a refused access token and no refresh token the CLI says it is signed out" env AITIP_TOKEN=not-a-token "$bin" whoami
check "orgs list shows the default organization" bash -c "'$bin' orgs list | grep -q default"
check "orgs create" aitip orgs create --name "E2E Lab" -o json
org=$(aitip orgs list -o json | python3 -c 'import json,sys; print([o["id"] for o in json.load(sys.stdin)["items"] if o["slug"]=="e2e-lab"][0])')
check "projects create" aitip projects create --name "Detector" --org "$org" --description "e2e"
project=$(aitip projects list --org "$org" -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
check "projects get -o yaml" bash -c "'$bin' projects get '$project' -o yaml | grep -q 'name: Detector'"
# Tracking: experiments, runs and models through the CLI (data logged over the native and MLflow APIs).
token=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["access_token"])' "$XDG_CONFIG_HOME/aitip/credentials.json")
api() { curl -fsS -H "Authorization: Bearer $token" -H 'content-type: application/json' "$@"; }
check "experiments create" aitip experiments create --project "$project" --name "baseline" --hypothesis "bigger is better"
experiment=$(aitip experiments list --project "$project" -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
check "experiments list shows it" bash -c "'$bin' experiments list --project '$project' | grep -q baseline"
run_a=$(api "$server/api/v1/experiments/$experiment/runs" -d '{"name":"small"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
run_b=$(api "$server/api/v1/experiments/$experiment/runs" -d '{"name":"large"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
check "log metrics and params (native bulk API)" api "$server/api/v1/runs/$run_a/log" -d '{"metrics":[{"key":"acc","steps":[0,1],"values":[0.5,0.7]}],"params":{"width":"64"}}'
check "log metrics and params to a second run" api "$server/api/v1/runs/$run_b/log" -d '{"metrics":[{"key":"acc","steps":[0,1],"values":[0.6,0.9]}],"params":{"width":"256"}}'
check "runs list with a filter and order" bash -c "'$bin' runs list --experiment '$experiment' --filter 'metrics.acc > 0.8' --order-by 'metrics.acc DESC' | grep -q large"
exits 1 "runs list with a malformed filter is refused" aitip runs list --experiment "$experiment" --filter "metrics.acc >> 1"
check "runs get -o json" bash -c "'$bin' runs get '$run_a' -o json | python3 -c 'import json,sys; assert json.load(sys.stdin)[\"params\"][\"width\"] == \"64\"'"
check "runs compare shows both runs side by side" bash -c "'$bin' runs compare '$run_a' '$run_b' | grep -q 'params.width *64 *256'"
trace_body='{"trace":{"trace_info":{"trace_id":"tr-e2e1","trace_location":{"type":"MLFLOW_EXPERIMENT","mlflow_experiment":{"experiment_id":"'$experiment'"}},"request_time":"2026-12-06T10:00:00Z","execution_duration":"0.250s","state":"ERROR","tags":{"mlflow.traceName":"predict"}}}}'
check "log a trace (MLflow 3 API)" api "$server/api/3.0/mlflow/traces" -d "$trace_body"
check "traces list with a filter" bash -c "'$bin' traces list --experiment '$experiment' --filter \"status = 'ERROR'\" | grep -q 'tr-e2e1 *predict'"
exits 1 "traces list refuses a run filter" aitip traces list --experiment "$experiment" --filter "metrics.acc > 1"
check "traces get -o json" bash -c "'$bin' traces get tr-e2e1 -o json | python3 -c 'import json,sys; t=json.load(sys.stdin); assert t[\"execution_ms\"] == 250 and t[\"spans_available\"] is False'"
check "register a model (MLflow API)" api "$server/mlflow/e2e-lab/detector/api/2.0/mlflow/registered-models/create" -d '{"name":"detector"}'
check "create a version from the run" api "$server/mlflow/e2e-lab/detector/api/2.0/mlflow/model-versions/create" -d "{\"name\":\"detector\",\"source\":\"runs:/$run_b/model\",\"run_id\":\"$run_b\"}"
check "models list" bash -c "'$bin' models list --project '$project' | grep -q detector"
check "models versions show lineage to the run" bash -c "'$bin' models versions detector --project '$project' | grep -q '$run_b'"
 # Training jobs: package examples/, run the NumPy training script on a simulated GPU, follow its log live.
py="$PWD/$examples_venv/bin/python"
check "resources gpu lists the simulated a100 node" bash -c "'$bin' resources gpu | grep -q a100"
check "jobs submit --code --follow runs the example to the end" bash -c "'$bin' jobs submit --project '$project' --name logreg --code examples --entrypoint '$py train.py' --gpu-type a100 --gpus 1 --config '{\"epochs\": 5}' --follow | grep -q 'done: test accuracy'"
job=$(aitip jobs list --project "$project" -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
check "jobs list shows it succeeded" bash -c "'$bin' jobs list --project '$project' | grep logreg | grep -q succeeded"
check "jobs get --events lists the transitions" bash -c "'$bin' jobs get '$job' --events | grep -q running"
check "the job's metrics come from its output" bash -c "curl -fs -H 'Authorization: Bearer $token' '$server/api/v1/training/jobs/$job/metrics' | grep -q accuracy"
check "jobs logs prints the saved log" bash -c "'$bin' jobs logs '$job' | grep -q 'epoch 5/5'"
# The trained model, for the inference section: its checkpoint next to the example's server.
mkdir -p "$work/serving" && cp examples/serve.py "$work/serving/"
check "the trained weights are in the job's checkpoint" cp "$work/data/jobs/$job/checkpoints/logreg.npz" "$work/serving/"
# The sandbox (bubblewrap; scripts/test.sh installs it, and without it the server refuses jobs).
check "a sandboxed job cannot see the server's data directory" bash -c "'$bin' jobs submit --project '$project' --name peek --entrypoint 'test ! -e $work/data/aitip.db && test ! -e $work/data/objects' --follow"
check "a job runs as nobody and has no network by default" bash -c "'$bin' jobs submit --project '$project' --name offline --entrypoint 'test \$(id -u) = 65534 && ! curl -s -m 2 $server/healthz' --follow"
exits 1 "a job asking for the network is refused (job_network=none)" aitip jobs submit --project "$project" --name online --network --entrypoint true
exits 1 "a job no node can ever hold is refused" aitip jobs submit --project "$project" --name huge --entrypoint true --gpu-type a100 --gpus 4
sleeper=$(aitip jobs submit --project "$project" --name sleeper --entrypoint 'sleep 300' --gpus 1 --gpu-type a100 -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
check "queue shows the running job" bash -c "for i in \$(seq 1 100); do '$bin' queue --project '$project' | grep -q sleeper && exit 0; sleep 0.1; done; exit 1"
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
once() { aitip jobs submit --project "$project" --name once --entrypoint true --idempotency-key "e2e-$project" -o json | json 'd["id"]'; }
first=$(once) && again=$(once)
check "jobs submit with the same --idempotency-key answers the first job" test -n "$first" -a "$first" = "$again"
exits 1 "the same --idempotency-key with another job is refused" aitip jobs submit --project "$project" --name other --entrypoint true --idempotency-key "e2e-$project"
check "jobs stop" aitip jobs stop "$sleeper"
check "the stopped job ends cancelled" bash -c "for i in \$(seq 1 50); do '$bin' jobs get '$sleeper' -o json | grep -q '\"cancelled\"' && exit 0; sleep 0.2; done; exit 1"
check "resources usage counts the GPU time" bash -c "'$bin' resources usage -o json | grep -q total_gpu_hours"
check "jobs delete" aitip jobs delete "$job"
exits 1 "projects create without a name is refused" aitip projects create --name " " --org "$org"
exits 1 "orgs get with a bad id is refused" aitip orgs get not-a-uuid
# Datasets: push a directory, an archive and a large file (interrupted, then resumed); pull back; lineage.
mkdir -p "$work/ds/sub" && printf 'id,label,score\n1,cat,0.5\n2,dog,\n' >"$work/ds/train.csv" && printf '{"x": 1}\n' >"$work/ds/sub/more.jsonl"
check "datasets create" aitip datasets create --project "$project" --format csv reviews
check "datasets push a directory" aitip datasets push --project "$project" reviews "$work/ds" --version v1 --changes first
check "the version's schema merges the csv's and the jsonl's columns" bash -c "'$bin' datasets get --project '$project' reviews --version v1 -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert {\"id\",\"label\",\"score\",\"x\"} == {c[\"name\"] for c in d[\"schema\"][\"columns\"]} and d[\"num_rows\"] == 3, d'"
check "datasets pull writes the same files" bash -c "'$bin' datasets pull --project '$project' reviews --version v1 --dir '$work/pulled' && diff -r '$work/ds' '$work/pulled'"
exits 1 "a second v1 is refused" aitip datasets push --project "$project" reviews "$work/ds" --version v1
tar -czf "$work/ds.tgz" -C "$work/ds" .
check "datasets push an archive stores its files" bash -c "'$bin' datasets push --project '$project' reviews '$work/ds.tgz' --version v2 -o json | python3 -c 'import json,sys; assert json.load(sys.stdin)[\"file_count\"] == 2'"
v1=$(aitip datasets get --project "$project" reviews --version v1 -o json | json 'd["id"]')
check "a derived dataset records its upstream" aitip datasets create --project "$project" --format csv reviews-clean
# Inference: serve the model the job trained (its checkpoint, packaged with examples/serve.py), bound to the registered
# version, through the gateway; scale, call with an invoke-only key, stop and delete.
service=$(aitip inference deploy --project "$project" --name detector --model models:/detector/1 --code "$work/serving" --command "exec $py serve.py" --cpu 0.2 --memory-mib 256 -o json | json 'd["id"]')
check "inference deploy answers the service" test -n "$service"
check "inference deploy --runtime mlflow refuses files that are not an MLflow model, with the reason" bash -c "out=\$('$bin' inference deploy --project '$project' --name plain --model models:/detector/1 --runtime mlflow 2>&1); [ \$? -eq 1 ] && echo \"\$out\" | grep -q 'no MLmodel'"
ready() {
  for _ in $(seq 1 300); do aitip inference get "$service" -o json | json 'd["health_status"]' | grep -qx healthy && return 0; sleep 0.1; done
  aitip inference get "$service" -o yaml; aitip inference logs "$service"; return 1
}
check "the service becomes ready" ready
row=$(python3 -c 'print(",".join(["0.5"] * 20))')
check "inference invoke predicts through the gateway" bash -c "'$bin' inference invoke '$service' --path /predict --data '{\"inputs\": [[$row]]}' | grep -q 'models:/detector/1'"
exits 1 "a bad request is the replica's 400, passed through" aitip inference invoke "$service" --path /predict --data '{"inputs": [[1]]}'
invoker=$(aitip api-keys create --name app --org "$org" --scope inference:invoke -o json | json 'd["key"]')
check "an inference:invoke key calls the model" bash -c "AITIP_TOKEN='$invoker' AITIP_SERVER='$server' '$bin' inference invoke '$service' --path /predict --data '{\"inputs\": [[$row]]}' | grep -q probabilities"
exits 1 "an inference:invoke key cannot change the service" env AITIP_TOKEN="$invoker" AITIP_SERVER="$server" "$bin" inference scale "$service" --replicas 2
check "inference logs prints the newest replica's output" aitip inference logs "$service"
check "inference scale" aitip inference scale "$service" --replicas 2
check "inference list shows it" bash -c "'$bin' inference list --project '$project' | grep -q detector"
check "inference get --metrics counts the calls" bash -c "'$bin' inference get '$service' --metrics -o json | python3 -c 'import json,sys; assert json.load(sys.stdin)[\"versions\"][0][\"requests\"] >= 3'"
# A release of a canary of the service: approvals (the creator cannot approve), stages moved by hand, a rollback.
canary=$(aitip inference deploy --project "$project" --name detector-v2 --model models:/detector/1 --code "$work/serving" --command "exec $py serve.py" --cpu 0.2 --memory-mib 256 --parent "$service" --traffic 0 -o json | json 'd["id"]')
# Release transitions go to the project's webhooks (this machine reaches no public receiver: the deliveries wait).
hook=$(aitip webhooks create --project "$project" --name deploys --url https://hooks.example.com/aitip --event release.deployed --event release.rolled_back --secret e2e-secret -o json | json 'd["id"]')
exits 1 "webhooks create refuses a private address" aitip webhooks create --project "$project" --name local --url http://127.0.0.1:9/hook --event release.deployed
check "webhooks list hides the secret" bash -c "'$bin' webhooks list --project '$project' -o json | python3 -c 'import json,sys; d=json.load(sys.stdin)[\"items\"][0]; assert d[\"has_secret\"] and \"secret\" not in d, d'"
gated=$(aitip release create --project "$project" --name detector --version 1 --service "$service" --canary "$canary" -o json | json 'd["id"]')
check "release create waits for an approval" bash -c "'$bin' release get '$gated' -o json | python3 -c 'import json,sys; assert json.load(sys.stdin)[\"status\"] == \"pending_approval\"'"
exits 1 "release approve refuses the release's creator" aitip release approve "$gated" --comment mine
exits 1 "release deploy refuses a release without its approval" aitip release deploy "$gated"
check "release delete" aitip release delete "$gated"
release=$(aitip release create --project "$project" --name detector --version 2 --service "$service" --canary "$canary" --approvals 0 --stages 50,100 --manual-promotion -o json | json 'd["id"]')
check "release deploy puts the canary at its first stage" bash -c "'$bin' release deploy '$release' -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"status\"] == \"canary\" and d[\"current_stage\"] == 1, d'"
check "release promote moves to the next stage" bash -c "'$bin' release promote '$release' -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"current_stage\"] == 2 and d[\"canary_percentage\"] == 100, d'"
check "release promote after the last stage: production" bash -c "'$bin' release promote '$release' -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"status\"] == \"production\", d'"
check "release rollback returns the traffic" bash -c "'$bin' release rollback '$release' --reason e2e -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"status\"] == \"rolled_back\" and d[\"rollback_reason\"] == \"e2e\", d'"
check "release list shows it" bash -c "'$bin' release list --project '$project' | grep -q rolled_back"
check "webhooks deliveries holds the release's transitions" bash -c "'$bin' webhooks deliveries '$hook' -o json | python3 -c 'import json,sys; d=[x[\"event\"] for x in json.load(sys.stdin)[\"items\"]]; assert d == [\"release.rolled_back\", \"release.deployed\"], d'"
check "webhooks test reports what came back" bash -c "'$bin' webhooks test '$hook' --event release.promoted -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"success\"] is False and d[\"error_message\"], d'"
check "webhooks update --disable" bash -c "'$bin' webhooks update '$hook' --disable -o json | grep -q DISABLED"
check "webhooks delete" aitip webhooks delete "$hook"
# A config release: a dataset file rolled out by a workload step per stage, which checks the artifact it was given.
reviews=$(aitip datasets list --project "$project" -o json | json '[x["id"] for x in d["items"] if x["name"] == "reviews"][0]')
config=$(aitip release create --project "$project" --name settings --version 1 --type config --artifact-dataset "$reviews" --artifact-version v1 --artifact-path train.csv --deploy-command 'echo "$AITIP_ARTIFACT_SHA256  $AITIP_ARTIFACT" | sha256sum -c -' --approvals 0 --stages 50,100 --interval 1 -o json | json 'd["id"]')
check "release deploy --wait: a config release's workload steps reach production" aitip release deploy "$config" --wait
# The agent API: tools derived from the spec, run with the caller's rights; a destructive one after its confirmation.
check "agent tools lists the design's release.create with its risk" bash -c "'$bin' agent tools --area releases -o json | python3 -c 'import json,sys; t={x[\"name\"]: x for x in json.load(sys.stdin)}; assert t[\"release.create\"][\"risk\"] == \"write\" and t[\"releases.rollback_release\"][\"risk\"] == \"destructive\"'"
check "agent run runs a read tool" bash -c "'$bin' agent run projects.list_projects --param limit=5 -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"status\"] == \"succeeded\" and d[\"result\"][\"items\"], d'"
doomed=$(aitip api-keys create --name doomed --org "$org" --scope projects:read -o json | json 'd["id"]')
confirmation=$(aitip agent run api_keys.revoke_api_key --param key_id="$doomed" -o json | json 'd["confirmation_token"]')
check "agent run --confirm runs a destructive tool once confirmed" bash -c "'$bin' agent run api_keys.revoke_api_key --param key_id='$doomed' --confirm '$confirmation' -o json | grep -q '\"succeeded\"'"
check "agent approvals lists the calls waiting for an approval of yours" aitip agent approvals
check "agent ask reads words into a plan and runs it with --run" bash -c "'$bin' agent ask 'what versions does dataset reviews have' --project '$project' --run -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"intent\"] == \"datasets.list_dataset_versions\" and d[\"execution\"][\"status\"] == \"succeeded\", d'"
exits 64 "release create refuses a deploy webhook and command together" aitip release create --project "$project" --name x --version 1 --type config --deploy-webhook https://hooks.example.com --deploy-command true
check "the release's canary is deleted" aitip inference delete "$canary"
check "inference stop" aitip inference stop "$service"
exits 1 "a stopped service answers 503" aitip inference invoke "$service" --path /predict --data '{"inputs": []}'
check "inference delete" aitip inference delete "$service"
# Evaluation (the whole run is in pytests/mlflow/test_evaluation.py, where mlflow is installed): the catalog, and a
# refusal that names the reason before anything runs.
check "eval benchmarks lists classification and regression" bash -c "'$bin' eval benchmarks | grep -q classification && '$bin' eval benchmarks | grep -q regression"
check "eval run refuses files that are not an MLflow model, with the reason" bash -c "out=\$('$bin' eval run --project '$project' --model models:/detector/1 --benchmark classification --dataset reviews --target label 2>&1); [ \$? -eq 1 ] && echo \"\$out\" | grep -q 'no MLmodel'"
# A custom script scores any files (the result format of docs/evaluation.md); lm-eval asks for a GPU.
mkdir -p "$work/escore" && printf 'printf "{\\"metrics\\": {\\"files\\": %%s}}" "$(ls -R "$AITIP_DATASET_DIR" | grep -c .)" >"$AITIP_RESULT_FILE"\n' >"$work/escore/score.sh"
check "eval run --benchmark custom runs the script on each model and gates its result" bash -c "'$bin' eval run --project '$project' --model models:/detector/1 --benchmark custom --dataset reviews --code '$work/escore' --command 'sh score.sh' --threshold files=1 --wait -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"gate\"][\"passed\"] and d[\"candidate\"][\"files\"][\"value\"] >= 1, d'"
check "eval run --benchmark lm-eval without a GPU is refused, saying why" bash -c "out=\$('$bin' eval run --project '$project' --model models:/detector/1 --benchmark lm-eval --dataset reviews --task hellaswag 2>&1); [ \$? -eq 1 ] && echo \"\$out\" | grep -q 'on a GPU'"
# Simulation (CartPole runs end to end in pytests/mlflow/test_simulation.py): the catalog, an environment in gVisor,
# a run refused because the model is not an MLflow model, the environment deleted.
check "sim templates lists cartpole and the custom template" bash -c "'$bin' sim templates | grep -q cartpole && '$bin' sim templates | grep -q custom"
simenv=$(aitip sim create --project "$project" --name balance --template cartpole --isolation gvisor --seeds 5 --model models:/detector/1 -o json | json 'd["id"]')
check "sim create answers a ready environment in gVisor with seeds 0-4" bash -c "'$bin' sim get '$simenv' -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"status\"] == \"ready\" and d[\"isolation_type\"] == \"gvisor\" and d[\"scenario_config\"][\"seeds\"] == [0, 1, 2, 3, 4], d'"
check "sim start refuses files that are not an MLflow model, with the reason" bash -c "out=\$('$bin' sim start '$simenv' 2>&1); [ \$? -eq 1 ] && echo \"\$out\" | grep -q 'no MLmodel'"
check "sim create refuses the vm isolation, saying why" bash -c "out=\$('$bin' sim create --project '$project' --name vm --template cartpole --isolation vm 2>&1); [ \$? -eq 1 ] && echo \"\$out\" | grep -q Firecracker"
check "sim delete removes the environment" bash -c "'$bin' sim delete '$simenv' && ! '$bin' sim envs --project '$project' | grep -q balance"

# Test plans (the example pytest suite runs in pytests/mlflow/test_test_plans.py): a plan whose command writes a
# JUnit report, run and waited for; a failing report posted as from CI; the executions and cases.
mkdir -p "$work/tsuite" && printf '<testsuite name="s"><testcase classname="c" name="ok" time="0.1"/></testsuite>' >"$work/tsuite/fixture.xml"
printf '<testsuite name="s"><testcase classname="c" name="ok"><failure message="broke"/></testcase></testsuite>' >"$work/failing.xml"
plan=$(aitip test create --project "$project" --name smoke --code "$work/tsuite" --command "cp fixture.xml junit.xml" -o json | json 'd["id"]')
check "test create answers the plan" test -n "$plan"
check "test run --wait passes when every case passes" aitip test run "$plan" --wait
exits 1 "test create refuses a bad cron expression" aitip test create --project "$project" --name nightly --command true --schedule "61 * * * *"
check "test report records a CI run from its JUnit file" bash -c "'$bin' test report '$plan' --junit '$work/failing.xml' -o json | python3 -c 'import json,sys; assert json.load(sys.stdin)[\"failed_cases\"] == 1'"
hook=$(aitip test webhook "$plan" -o json)
secret=$(echo "$hook" | json 'd["secret"]'); hook_url=$(echo "$hook" | json 'd["url"]')
signature=$(python3 -c 'import hashlib, hmac, sys; print(hmac.new(sys.argv[1].encode(), b"{\"ref\":\"main\"}", hashlib.sha256).hexdigest())' "$secret")
check "a delivery signed with the plan's webhook secret runs it, with no aitip credential" bash -c "[ \$(curl -s -o /dev/null -w '%{http_code}' -X POST '$server$hook_url' -H 'X-Hub-Signature-256: sha256=$signature' -d '{\"ref\":\"main\"}') = 202 ]"
check "an unsigned delivery is refused" bash -c "[ \$(curl -s -o /dev/null -w '%{http_code}' -X POST '$server$hook_url' -d '{}') = 401 ]"
check "test webhook --remove" aitip test webhook "$plan" --remove
check "test executions lists the three runs" bash -c "[ \$('$bin' test executions '$plan' -o json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[\"items\"]))') = 3 ]"
check "test cases shows the case's history" bash -c "'$bin' test cases '$plan' | grep -q ok"
# The delivery's run may still be going: delete answers 409 until it has ended.
check "test delete, once the delivery's run has ended" bash -c "for i in \$(seq 120); do '$bin' test delete '$plan' 2>/dev/null && exit 0; sleep 0.5; done; exit 1"
check "datasets push --derived-from" aitip datasets push --project "$project" reviews-clean "$work/ds/train.csv" --version v1 --derived-from "$v1" --transformation '{"script": "clean.py"}'
check "datasets lineage shows what depends on v1" bash -c "'$bin' datasets lineage --project '$project' reviews --version v1 --direction downstream | grep -q 'reviews:v1 (dataset_version)  --derived_from-->  reviews-clean:v1'"
head -c 200000000 /dev/urandom >"$work/big.bin"
check "datasets create (big)" aitip datasets create --project "$project" --format mixed big
"$bin" datasets push --project "$project" big "$work/big.bin" --version v1 --chunk-mib 1 >"$work/push1.out" 2>&1 &
push_pid=$!
for _ in $(seq 1 200); do part=$(ls "$work"/data/uploads/*.part 2>/dev/null | head -1); [ -n "$part" ] && [ "$(stat -c %s "$part")" -gt 8000000 ] && break; sleep 0.05; done
kill "$push_pid" 2>/dev/null; wait "$push_pid" 2>/dev/null
check "an interrupted push left part of the file on the server" bash -c "[ \$(stat -c %s $work/data/uploads/*.part) -lt 200000000 ]"
check "pushing again resumes (sends only what the server lacks) and completes the version" bash -c "'$bin' datasets push --project '$project' big '$work/big.bin' --version v1 --chunk-mib 8 2>'$work/push.err' && grep -Eq '[0-9.]+ [KMG]?B already on the server' '$work/push.err' || { cat '$work/push.err'; false; }"
check "the pulled big file is byte-identical" bash -c "'$bin' datasets pull --project '$project' big --dir '$work/big-pulled' && cmp '$work/big.bin' '$work/big-pulled/big.bin'"
check "datasets delete" aitip datasets delete --project "$project" big
key=$(aitip api-keys create --name e2e --org "$org" --scope projects:read -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
key_id=$(aitip api-keys list -o json | python3 -c 'import json,sys; print([k for k in json.load(sys.stdin)["items"] if k["name"] == "e2e"][0]["id"])')
check "an API key works as AITIP_TOKEN" bash -c "AITIP_TOKEN='$key' AITIP_SERVER='$server' '$bin' projects list | grep -q Detector"
exits 1 "the key's scopes hold (no projects:write)" env AITIP_TOKEN="$key" AITIP_SERVER="$server" "$bin" projects create --name "Nope" --org "$org"
check "api-keys revoke" aitip api-keys revoke "$key_id"
exits 3 "a revoked key is refused" env AITIP_TOKEN="$key" AITIP_SERVER="$server" "$bin" projects list
check "projects delete" aitip projects delete "$project"
exits 1 "orgs delete without the slug is refused" aitip orgs delete "$org" --confirm default
check "orgs delete" aitip orgs delete "$org" --confirm e2e-lab
exits 4 "an unreachable server is reported" env AITIP_TOKEN=x "$bin" whoami --server http://127.0.0.1:1
check "--help everywhere" bash -c "'$bin' --help && '$bin' projects create --help && '$bin' api-keys --help"
check "shell completion script" bash -c "'$bin' --generate-completion-script bash | grep -q _aitip"
check "logout" aitip logout
exits 3 "after logout the CLI is signed out" aitip whoami --server "$server"
check "migrate --dry-run on an up-to-date database" bash -c "'$bin' migrate --dry-run --database-url '$database_url' | grep -q 'Up to date'"

# Graceful shutdown: SIGTERM drains and exits 0.
kill -TERM "$server_pid"; wait "$server_pid"; code=$?; server_pid=
check "SIGTERM stops the server cleanly (exit $code)" test "$code" -eq 0

if [ "$kind" = postgres ]; then
  PGPASSWORD=secret psql -h 127.0.0.1 -p "${PGPORT:-55432}" -U postgres -qc "DROP DATABASE $db WITH (FORCE)" >/dev/null
fi
echo "e2e ($kind): $passed checks passed, $failed failed"
[ "$failed" -eq 0 ]
