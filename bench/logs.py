"""Log path benchmark: a job's stdout line → the server → an SSE client (GET /training/jobs/{id}/logs?follow=true).

Starts nothing itself: point it at a running server (AITIP_SERVER, AITIP_TOKEN, --project) that has a GPU or
simulated GPU. Two runs:
  burst  — the job prints N lines as fast as it can: lines/s seen by the client, and that no line is lost.
  paced  — the job prints --rate lines/s, each flushed with its send time: latency p50/p99/max from print to receipt.
The client reads the raw SSE bytes on a socket so that it is not the bottleneck.

    python3 bench/logs.py --project ID --lines 1000000 --rate 20000 --seconds 10
"""
import argparse
import json
import os
import socket
import statistics
import time
import urllib.request
from urllib.parse import urlparse

EMITTER = r'''
import sys, time
mode, count, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
out = sys.stdout
if mode == "burst":
    out.write("".join(f"line {i}\n" for i in range(count)))
else:
    start = time.time()
    for i in range(count):
        wait = start + i / rate - time.time()
        if wait > 0:
            time.sleep(wait)
        out.write(f"line {i} {time.time_ns()}\n")
        out.flush()
out.flush()
'''


def api(server, token, method, path, body=None):
    request = urllib.request.Request(server + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read() or b"null")


def follow(server, token, job_id, on_line):
    url = urlparse(server)
    sock = socket.create_connection((url.hostname, url.port or 80))
    sock.sendall((f"GET /api/v1/training/jobs/{job_id}/logs?follow=true HTTP/1.1\r\nHost: {url.netloc}\r\n"
                  f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n").encode())
    buffer = b""
    header_done = False
    while True:
        chunk = sock.recv(1 << 20)
        if not chunk:
            break
        now = time.time_ns()
        buffer += chunk
        if not header_done:
            if b"\r\n\r\n" not in buffer:
                continue
            buffer = buffer.split(b"\r\n\r\n", 1)[1]
            header_done = True
        # Chunked transfer encoding framing is interleaved; events are found by their "data: " lines.
        *complete, buffer = buffer.split(b"\n\n")
        for event in complete:
            for line in event.split(b"\n"):
                if line.startswith(b"data: line "):
                    on_line(line[6:], now)
                elif line.startswith(b"event: end"):
                    sock.close()
                    return


def run(server, token, project, mode, count, rate, python):
    job = api(server, token, "POST", "/api/v1/training/jobs", {
        "project_id": project, "name": f"log-bench-{mode}", "entrypoint": f"{python} -c '{EMITTER}' {mode} {count} {rate}",
        "resources": {"gpu_count": 1, "cpu": 1, "memory_mib": 512}})
    received = []
    latencies = []

    def on_line(data, now):
        parts = data.split(b" ")
        received.append(int(parts[1]))
        if mode == "paced":
            latencies.append((now - int(parts[2])) / 1e6)
    first = time.time()
    follow(server, token, job["id"], on_line)
    elapsed = time.time() - first
    missing = count - len(set(received))
    ordered = all(a < b for a, b in zip(received, received[1:]))
    result = {"mode": mode, "lines": count, "received": len(received), "missing": missing, "in_order": ordered,
              "seconds": round(elapsed, 3)}
    if mode == "burst":
        result["lines_per_second"] = round(len(received) / elapsed)
    else:
        latencies.sort()
        result.update({"rate": rate, "latency_ms_p50": round(statistics.median(latencies), 2),
                       "latency_ms_p99": round(latencies[int(len(latencies) * 0.99)], 2), "latency_ms_max": round(latencies[-1], 2)})
    api(server, token, "DELETE", f"/api/v1/training/jobs/{job['id']}")
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", default=os.environ.get("AITIP_SERVER", "http://127.0.0.1:8080"))
    parser.add_argument("--token", default=os.environ.get("AITIP_TOKEN"))
    parser.add_argument("--project", required=True)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=20_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--python", default="python3", help="Python the job runs (on the server's machine)")
    args = parser.parse_args()
    print(json.dumps(run(args.server, args.token, args.project, "burst", args.lines, 0, args.python)))
    print(json.dumps(run(args.server, args.token, args.project, "paced", int(args.rate * args.seconds), args.rate, args.python)))


if __name__ == "__main__":
    main()
