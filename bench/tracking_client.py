"""Tracking benchmark with the real `mlflow` client, for any server that speaks MLflow's REST API (aitip or MLflow's
own). Prints one JSON object of measurements.

    python bench/tracking_client.py --uri http://127.0.0.1:5000 [--username U --password P] [--big-runs 100000]

Scenarios: sequential log_metric calls/s; log_batch points/s (1000 points per call, as the client sends them; and the
same batches as raw HTTP calls);
get_metric_history of 10,000 points (median of 10); search_runs over 500 runs (median of 20); optionally search over
--big-runs runs, seeded with concurrent HTTP calls (creating them through the client one by one takes too long)."""
import argparse
import concurrent.futures
import json
import os
import statistics
import time
import uuid

import requests


def timed(function, repeat):
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), min(samples)


def _seed_slice(arguments):
    uri, auth, experiment_id, start, stop = arguments
    session = requests.Session()
    session.auth = auth
    for index in range(start, stop):
        run = session.post(f"{uri}/api/2.0/mlflow/runs/create",
                           json={"experiment_id": experiment_id, "start_time": 1_700_000_000_000 + index}).json()["run"]
        body = {"run_id": run["info"]["run_id"],
                "metrics": [{"key": "acc", "value": (index * 7919 % 1000) / 1000, "timestamp": 1_700_000_000_000, "step": 0}],
                "params": [{"key": "model", "value": "resnet" if index % 3 else "vit"}],
                "tags": [{"key": "parity", "value": "even" if index % 2 == 0 else "odd"}]}
        session.post(f"{uri}/api/2.0/mlflow/runs/log-batch", json=body).raise_for_status()


def seed_runs(uri, auth, experiment_id, count, workers=6):
    """Creates `count` runs, each with one metric, one param and one tag, over plain HTTP from a few processes."""
    step = (count + workers - 1) // workers
    slices = [(uri, auth, experiment_id, start, min(start + step, count)) for start in range(0, count, step)]
    with concurrent.futures.ProcessPoolExecutor(len(slices)) as pool:
        list(pool.map(_seed_slice, slices))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--uri", required=True)
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument("--log-metric-calls", type=int, default=1000)
    parser.add_argument("--batch-points", type=int, default=100_000)
    parser.add_argument("--big-runs", type=int, default=0)
    args = parser.parse_args()
    os.environ["MLFLOW_TRACKING_URI"] = args.uri
    auth = None
    if args.username:
        os.environ["MLFLOW_TRACKING_USERNAME"] = args.username
        os.environ["MLFLOW_TRACKING_PASSWORD"] = args.password
        auth = (args.username, args.password)
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    client = MlflowClient(args.uri)
    results = {}
    experiment_id = client.create_experiment(f"bench-{uuid.uuid4().hex[:8]}")
    run_id = client.create_run(experiment_id).info.run_id

    start = time.perf_counter()
    for step in range(args.log_metric_calls):
        client.log_metric(run_id, "single", step * 0.5, step=step)
    results["log_metric_calls_per_s"] = args.log_metric_calls / (time.perf_counter() - start)

    points = [Metric("batched", i * 0.001, 1_700_000_000_000 + i, i) for i in range(args.batch_points)]
    start = time.perf_counter()
    for offset in range(0, len(points), 1000):
        client.log_batch(run_id, metrics=points[offset:offset + 1000])
    results["log_batch_points_per_s"] = args.batch_points / (time.perf_counter() - start)

    # The same 100,000 points as raw HTTP log-batch calls with pre-encoded bodies: what the server itself sustains,
    # without the client's own cost of building each batch (the larger part of a client call, see docs/benchmarks.md).
    raw = requests.Session()
    raw.auth = auth
    raw_run = client.create_run(experiment_id).info.run_id
    bodies = [json.dumps({"run_id": raw_run, "metrics": [{"key": "batched", "value": i * 0.001, "timestamp": 1_700_000_000_000 + i, "step": i}
                                                        for i in range(offset, offset + 1000)]})
              for offset in range(0, args.batch_points, 1000)]
    start = time.perf_counter()
    for body in bodies:
        raw.post(f"{args.uri}/api/2.0/mlflow/runs/log-batch", data=body, headers={"Content-Type": "application/json"}).raise_for_status()
    results["raw_log_batch_points_per_s"] = args.batch_points / (time.perf_counter() - start)

    history_run = client.create_run(experiment_id).info.run_id
    for offset in range(0, 10_000, 1000):
        client.log_batch(history_run, metrics=[Metric("loss", 1 / (i + 1), 1_700_000_000_000 + i, i) for i in range(offset, offset + 1000)])
    assert len(client.get_metric_history(history_run, "loss")) == 10_000
    results["get_metric_history_10k_ms"], results["get_metric_history_10k_min_ms"] = timed(
        lambda: client.get_metric_history(history_run, "loss"), 10)
    # The same call as raw HTTP (no client-side parsing): what the server itself costs.
    results["raw_history_10k_ms"], _ = timed(lambda: raw.get(f"{args.uri}/api/2.0/mlflow/metrics/get-history", params={
        "run_id": history_run, "metric_key": "loss", "max_results": 25000}).content, 20)

    search_experiment = client.create_experiment(f"bench-search-{uuid.uuid4().hex[:8]}")
    seed_runs(args.uri, auth, search_experiment, 500)
    query = dict(filter_string="metrics.acc > 0.5 AND params.model = 'resnet'", order_by=["metrics.acc DESC"], max_results=100)
    assert len(client.search_runs([search_experiment], **query)) == 100
    results["search_runs_500_ms"], results["search_runs_500_min_ms"] = timed(lambda: client.search_runs([search_experiment], **query), 20)
    raw_query = {"filter": query["filter_string"], "order_by": query["order_by"], "max_results": query["max_results"]}
    results["raw_search_runs_500_ms"], _ = timed(lambda: raw.post(f"{args.uri}/api/2.0/mlflow/runs/search", json={
        "experiment_ids": [search_experiment], **raw_query}).content, 20)

    if args.big_runs:
        big_experiment = client.create_experiment(f"bench-big-{uuid.uuid4().hex[:8]}")
        start = time.perf_counter()
        seed_runs(args.uri, auth, big_experiment, args.big_runs)
        results["seed_runs_per_s"] = args.big_runs / (time.perf_counter() - start)
        assert len(client.search_runs([big_experiment], **query)) == 100
        results[f"search_runs_{args.big_runs}_ms"], results[f"search_runs_{args.big_runs}_min_ms"] = timed(
            lambda: client.search_runs([big_experiment], **query), 10)
        results[f"raw_search_runs_{args.big_runs}_ms"], _ = timed(lambda: raw.post(f"{args.uri}/api/2.0/mlflow/runs/search", json={
            "experiment_ids": [big_experiment], **raw_query}).content, 20)
    print(json.dumps({k: round(v, 2) for k, v in results.items()}))


if __name__ == "__main__":
    main()
