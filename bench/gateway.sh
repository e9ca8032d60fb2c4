#!/usr/bin/env bash
# The inference gateway against nginx (issue 17): one replica answering instantly (nginx from Debian, `return 200`,
# run by aitip in its sandbox on the replica's Unix socket), called three ways in one run:
#   direct     wrk → an identical nginx replica over TCP (the replica's own cost; wrk cannot speak to Unix sockets)
#   nginx      wrk → nginx proxying to aitip's replica socket (upstream keep-alive, worker_processes auto)
#   aitip      wrk → aitip /serve/<id>/ (default settings, an API key with inference:invoke) → the same socket
# Paced at about 2,000 req/s (p50/p99), then saturated (throughput); then the server's memory for 1,000 idle
# keep-alive connections. Prints markdown for docs/benchmarks.md.
#   bench/gateway.sh        (builds the release binary if needed; installs wrk and nginx if missing)
set -uo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v nginx >/dev/null || { apt-get update -qq && apt-get install -y -qq nginx-light >/dev/null; }
[ -x .build/release/aitip ] || swift build -c release --product aitip || exit 1
bin=.build/release/aitip
work=$(mktemp -d -t aitip-gateway.XXXXXX)
chmod 755 "$work"
port=18383 direct_port=18384 proxy_port=18385
pids=()
# Replicas outlive the server by design (the next start adopts them): the sandboxed nginx replica is stopped by name.
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null; done; [ -n "${server_pid:-}" ] && kill $server_pid 2>/dev/null; pkill -f -- "-c /workspace/nginx.conf"; wait 2>/dev/null; rm -rf "$work"' EXIT

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo "binary: release build, $(git rev-parse --short HEAD); nginx $(nginx -v 2>&1 | sed 's/.*nginx\///')"

# The replica: nginx answering a small JSON body at once, on the socket aitip gives it.
mkdir -p "$work/replica"
sed -e 's/STATUS/200/' -e 's/BODY/{"prediction": [0.5]}/' bench/replica-nginx.conf >"$work/replica/nginx.conf"
tar -czf "$work/replica.tar.gz" -C "$work/replica" nginx.conf

# The direct baseline: the same replica outside the sandbox, on TCP.
mkdir -p "$work/direct"
sed -e "s#/tmp/#$work/direct/#g" -e "s#/workspace/#$work/direct/#g" -e "s#listen unix:[^;]*;#listen 127.0.0.1:$direct_port;#" \
    "$work/replica/nginx.conf" >"$work/direct/nginx.conf"
nginx -e "$work/direct/error.log" -c "$work/direct/nginx.conf" &
pids+=($!)

AITIP_ADMIN_PASSWORD=bench-password-1 "$bin" serve --listen 127.0.0.1:$port --data-dir "$work/data" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do curl -fs http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done
api() { curl -fsS -H "Authorization: Bearer $token" -H 'content-type: application/json' "$@"; }
token=$(curl -fs http://127.0.0.1:$port/api/v1/auth/login -H 'content-type: application/json' \
    -d '{"username":"admin","password":"bench-password-1"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
project=$(api http://127.0.0.1:$port/api/v1/projects | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
experiment=$(api http://127.0.0.1:$port/api/2.0/mlflow/experiments/create -d '{"name":"bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["experiment_id"])')
run=$(api http://127.0.0.1:$port/api/2.0/mlflow/runs/create -d "{\"experiment_id\":\"$experiment\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["run"]["info"]["run_id"])')
api http://127.0.0.1:$port/api/2.0/mlflow/registered-models/create -d '{"name":"null-model"}' >/dev/null
api http://127.0.0.1:$port/api/2.0/mlflow/model-versions/create -d "{\"name\":\"null-model\",\"source\":\"runs:/$run/model\",\"run_id\":\"$run\"}" >/dev/null
code=$(curl -fsS -H "Authorization: Bearer $token" -H 'content-type: application/gzip' --data-binary @"$work/replica.tar.gz" \
    "http://127.0.0.1:$port/api/v1/training/code?project_id=$project" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sha256"])')
service=$(api http://127.0.0.1:$port/api/v1/inference/services -d "{\"project_id\":\"$project\",\"name\":\"null\",\"model\":\"models:/null-model/1\",
    \"runtime\":\"process\",\"runtime_config\":{\"command\":\"exec /usr/sbin/nginx -e /workspace/error.log -c /workspace/nginx.conf\",\"health_path\":\"/\",
    \"code_archive\":\"$code\"},\"resources\":{\"cpu\":1,\"memory_mib\":256}}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for _ in $(seq 1 300); do
  [ "$(api http://127.0.0.1:$port/api/v1/inference/services/$service | python3 -c 'import json,sys; print(json.load(sys.stdin)["health_status"])')" = healthy ] && break
  sleep 0.1
done
key=$(api http://127.0.0.1:$port/api/v1/auth/api-keys -d '{"name":"app","scopes":["inference:invoke"]}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
socket=$(ls "$work"/data/jobs/*/*/work/.aitip-serve.sock | head -1)
[ -S "$socket" ] || { echo "the replica did not start"; tail -20 "$work/server.log"; exit 1; }

# The peer: nginx proxying to the same replica socket, in its best configuration here.
mkdir -p "$work/proxy"
cat >"$work/proxy/nginx.conf" <<EOF
user root;
worker_processes auto;
daemon off;
pid $work/proxy/nginx.pid;
error_log $work/proxy/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/proxy/body; proxy_temp_path $work/proxy/tmp;
  keepalive_requests 1000000;
  upstream replica { server unix:$socket; keepalive 64; }
  server {
    listen 127.0.0.1:$proxy_port;
    location / { proxy_pass http://replica; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; }
  }
}
EOF
nginx -e "$work/proxy/error.log" -c "$work/proxy/nginx.conf" &
pids+=($!)
sleep 0.5

export AITIP_BENCH_TOKEN=$key
status=$(curl -s -o "$work/first" -w "%{http_code}" -H "Authorization: Bearer $key" "http://127.0.0.1:$port/serve/$service/predict")
[ "$status" = 200 ] || { echo "the gateway answered $status: $(cat "$work/first")"; api http://127.0.0.1:$port/api/v1/inference/services/$service; tail -5 "$work/server.log"; cat "$work"/data/jobs/*/*/work/error.log; curl -s -H "Authorization: Bearer $token" http://127.0.0.1:$port/api/v1/inference/services/$service/logs; exit 1; }
urls=("direct http://127.0.0.1:$direct_port/predict" "nginx http://127.0.0.1:$proxy_port/predict" "aitip http://127.0.0.1:$port/serve/$service/predict")
for entry in "${urls[@]}"; do AITIP_BENCH_DELAY_MS=0 wrk -t2 -c16 -d3s -s bench/paced.lua "${entry#* }" >/dev/null; done  # warm-up
rounds=${AITIP_BENCH_ROUNDS:-3}
echo; echo "### paced: 20 connections with a 10 ms pause each (about 2,000 req/s offered), 15 s, $rounds rounds"
for round in $(seq 1 "$rounds"); do
  for entry in "${urls[@]}"; do
    echo -n "  round $round ${entry%% *}: "
    AITIP_BENCH_DELAY_MS=10 wrk -t2 -c20 -d15s -s bench/paced.lua "${entry#* }" | grep RESULT
  done
done
echo; echo "### saturated: 32 connections, 10 s, $rounds rounds"
for round in $(seq 1 "$rounds"); do
  for entry in "${urls[@]}"; do
    echo -n "  round $round ${entry%% *}: "
    AITIP_BENCH_DELAY_MS=0 wrk -t2 -c32 -d10s -s bench/paced.lua "${entry#* }" | grep RESULT
  done
done
echo; echo "### memory: 1,000 idle keep-alive connections, each after one gateway call"
python3 - "$server_pid" "$port" "$service" "$key" <<'EOF'
import socket, sys, time
pid, port, service, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def rss():
    return int(next(line for line in open(f"/proc/{pid}/status") if line.startswith("VmRSS")).split()[1])
request = f"GET /serve/{service}/predict HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\r\n".encode()
before = rss()
held = []
for _ in range(1000):
    connection = socket.create_connection(("127.0.0.1", port))
    connection.sendall(request)
    answer = b""
    while b"prediction" not in answer:
        chunk = connection.recv(4096)
        if not chunk:
            sys.exit(f"the gateway closed the connection: {answer[:200]!r}")
        answer += chunk
    held.append(connection)
time.sleep(1)
after = rss()
print(f"  aitip RSS {before / 1024:.1f} MiB before, {after / 1024:.1f} MiB with 1,000 idle connections: {(after - before) / 1024:.1f} MiB per 1,000 ({(after - before) / 1000:.1f} KiB each)")
for connection in held:
    connection.close()
EOF
