"""Raw HTTP metric ingest into aitip, without the MLflow client: POST /api/v1/runs/{id}/log with columnar bodies of
--points points (pre-encoded once), from --connections keep-alive connections, --requests bodies each. Prints
points/s and the request count.

    python bench/ingest.py --url http://127.0.0.1:8080 --username admin --password P"""
import argparse
import http.client
import json
import threading
import time
import urllib.parse

import requests


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--points", type=int, default=50_000, help="points per request")
    parser.add_argument("--keys", type=int, default=10, help="metric keys the points are spread over")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--requests", type=int, default=20, help="requests per connection")
    args = parser.parse_args()

    token = requests.post(args.url + "/api/v1/auth/login", json={"username": args.username, "password": args.password}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    project = requests.get(args.url + "/api/v1/projects", headers=headers).json()["items"][0]["id"]
    experiment = requests.post(f"{args.url}/api/v1/projects/{project}/experiments", headers=headers,
                               json={"name": f"ingest-{time.time_ns()}"}).json()["id"]
    runs = [requests.post(f"{args.url}/api/v1/experiments/{experiment}/runs", headers=headers, json={}).json()["id"]
            for _ in range(args.connections)]

    per_key = args.points // args.keys
    bodies = []
    for request in range(args.requests):
        base = request * per_key
        metrics = [{"key": f"metric_{k}", "steps": list(range(base, base + per_key)),
                    "values": [((base + i) % 997) / 997 for i in range(per_key)],
                    "timestamps": [1_700_000_000_000 + base + i for i in range(per_key)]} for k in range(args.keys)]
        bodies.append(json.dumps({"metrics": metrics}).encode())

    target = urllib.parse.urlparse(args.url)
    errors = []

    def send(run):
        connection = http.client.HTTPConnection(target.hostname, target.port)
        for body in bodies:
            connection.request("POST", f"/api/v1/runs/{run}/log", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 204:
                errors.append(response.status)

    threads = [threading.Thread(target=send, args=(run,)) for run in runs]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    total = per_key * args.keys * args.requests * args.connections
    if errors:
        raise SystemExit(f"{len(errors)} requests failed: {errors[:5]}")
    series = requests.get(f"{args.url}/api/v1/runs/{runs[0]}/metrics/metric_0?max_points=10", headers=headers).json()
    assert series["total_points"] == per_key * args.requests, series["total_points"]
    print(json.dumps({"raw_ingest_points_per_s": round(total / elapsed), "points": total, "requests": args.requests * args.connections,
                      "bytes_per_request": len(bodies[0])}))


if __name__ == "__main__":
    main()
