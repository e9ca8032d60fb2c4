"""Tracking at the default settings (issue 16, item 1): does honest work meet a 429? Drives a release server started
with no setting changed (bench/sweep.sh) with the real `mlflow` client under one API key:

  1. one training loop: sequential log_metric calls;
  2. a sweep: 32 such loops at once, one process each, all under the same key;
  3. a flood: wrk with 256 connections on one key (a tracking route), to show the in-flight cap still bounds abuse.

429s are read from the server's own /metrics (the client retries them silently, backing off a second or more).
Prints markdown for docs/benchmarks.md."""
import argparse
import multiprocessing
import os
import re
import subprocess
import time

import requests


def too_many(url):
    text = requests.get(f"{url}/metrics", timeout=10).text
    return sum(float(value) for value in re.findall(r'^aitip_http_requests_total\{[^}]*status="429"[^}]*\} (\S+)$', text, re.M))


def loop(arguments):
    url, key, experiment_id, calls = arguments
    os.environ["MLFLOW_TRACKING_TOKEN"] = key
    from mlflow import MlflowClient
    client = MlflowClient(url)
    run_id = client.create_run(experiment_id).info.run_id
    start = time.perf_counter()
    for step in range(calls):
        client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
    elapsed = time.perf_counter() - start
    assert len(client.get_metric_history(run_id, "loss")) == calls
    return calls / elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--loop-calls", type=int, default=2000)
    parser.add_argument("--sweep", type=int, default=32)
    parser.add_argument("--sweep-calls", type=int, default=300)
    parser.add_argument("--no-flood", action="store_true")
    args = parser.parse_args()
    url = args.url
    token = requests.post(f"{url}/api/v1/auth/login", json={"username": "admin", "password": args.password}, timeout=10).json()["access_token"]
    key = requests.post(f"{url}/api/v1/auth/api-keys", json={"name": "sweep"}, headers={"Authorization": f"Bearer {token}"},
                        timeout=10).json()["key"]
    os.environ["MLFLOW_TRACKING_TOKEN"] = key
    from mlflow import MlflowClient
    experiment_id = MlflowClient(url).create_experiment(f"sweep-{int(time.time())}")

    print("| phase | result | 429 answers |")
    print("|---|---|---|")
    before = too_many(url)
    rate = loop((url, key, experiment_id, args.loop_calls))
    after = too_many(url)
    print(f"| one loop, {args.loop_calls} `log_metric` calls | {rate:,.0f} calls/s | {after - before:.0f} |")

    if not args.sweep:
        return
    before = too_many(url)
    start = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(args.sweep) as pool:
        rates = pool.map(loop, [(url, key, experiment_id, args.sweep_calls)] * args.sweep)
    wall = time.perf_counter() - start
    after = too_many(url)
    # The loops overlap (each starts after its process has imported mlflow): their rates add up while all run.
    print(f"| {args.sweep} loops at once under one key, {args.sweep_calls} calls each | {sum(rates):,.0f} calls/s in all "
          f"({min(rates):,.0f}–{max(rates):,.0f} per loop; wall {wall:.1f} s with the clients' start-up) | {after - before:.0f} |")

    if args.no_flood:
        return
    before = too_many(url)
    flood = subprocess.run(
        ["wrk", "-t2", "-c256", "-d10s", "-H", f"Authorization: Bearer {key}", f"{url}/api/2.0/mlflow/experiments/search?max_results=1"],
        capture_output=True, text=True, timeout=60).stdout
    after = too_many(url)
    requests_done = re.search(r"(\d+) requests in", flood)
    print(f"| flood: wrk, 256 connections on one key, 10 s | {int(requests_done.group(1)) if requests_done else 0:,} answers "
          f"| {after - before:,.0f} |")


if __name__ == "__main__":
    main()
