"""An evaluation's overhead over running the same script by hand.

    .venv-mlflow/bin/python bench/evaluation.py [--rows 1000 100000] [--repeat 3] [--benchmark classification|custom|serving]

Starts a real `aitip serve` (SQLite, local executor: the defaults), logs two threshold models with the real mlflow
client, pushes a held-out csv per size, and for each size runs an evaluation (candidate + champion baseline) through
the API `--repeat` times, timing submit → results ready and splitting it by the job's own timestamps: queue and
launch (created → started), the run in the sandbox (started → finished), scoring on the server (finished → scored).
By hand: the same code package (models, features or dataset files, aitip's scripts) unpacked and its entrypoint
(the job's own, as the API shows it) run with the same Python, outside any sandbox. `--benchmark custom` runs
examples/custom-evaluation/score.py; `serving` serves each model and sends it 500 requests of one row at concurrency 4
(the defaults), and `wrk` (4 connections, the same one-row requests, over TCP) loads the same candidate served by the
same MLflow scoring server, for what the job reported beside what a C load generator measures. The peer (`--peer-python`, a Python with full mlflow, scikit-learn and matplotlib, such as
.venv-bench-mlflow): `mlflow.models.evaluate(model_type="classifier")` of the candidate on the same rows in a fresh
process with a local SQLite tracking store, wall time of the whole process. Prints one JSON line per size."""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import datetime

import mlflow
import requests

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "pytests" / "support"))
from aitip_server import running_server  # noqa: E402
from evaluation_data import held_out_csv, push_dataset, register_threshold_models  # noqa: E402

PASSWORD = "bench-evaluation-password"

# MLflow's own evaluation of the same model on the same rows. The text column is left out: mlflow 3.17's default
# evaluator fails on pandas' string columns (TypeError: Cannot interpret StringDtype), and the model reads only x1.
PEER = """
import sys, mlflow, pandas as pd
model, rows, store = sys.argv[1:4]
mlflow.set_tracking_uri(store)
data = pd.read_csv(rows).drop(columns=["region"])
with mlflow.start_run():
    mlflow.models.evaluate(model, data, targets="label", model_type="classifier", evaluators=["default"])
"""


# MLflow's scoring server for the candidate on TCP, as the serving job runs it on a Unix socket.
SERVE_TCP = """
import sys, uvicorn
from mlflow.pyfunc import load_model, scoring_server
uvicorn.run(scoring_server.init(load_model(sys.argv[1])), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
"""


def wrk_against(model, row):
    """wrk's p50, p99 and requests/s for one-row requests to `model`, 4 connections (the serving job's default)."""
    x1, x2, region, _ = row.decode().split(",")
    body = json.dumps({"dataframe_split": {"columns": ["x1", "x2", "region"], "data": [[float(x1), float(x2), region]]}})
    script = pathlib.Path(model.parent, "post.lua")
    script.write_text(f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = {json.dumps(body)}\n')
    port = 18000 + os.getpid() % 1000
    server = subprocess.Popen([sys.executable, "-c", SERVE_TCP, str(model), str(port)], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/ping", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the scoring server did not start"
                time.sleep(0.2)
        subprocess.run(["wrk", "-t1", "-c4", "-d3s", "-s", str(script), f"http://127.0.0.1:{port}/invocations"], capture_output=True, check=True)
        done = subprocess.run(["wrk", "-t2", "-c4", "-d10s", "--latency", "-s", str(script), f"http://127.0.0.1:{port}/invocations"],
                              capture_output=True, text=True, check=True).stdout
    finally:
        server.terminate()
        server.wait()

    def milliseconds(text):
        for unit, scale in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
            if text.endswith(unit):
                return float(text[: -len(unit)]) * scale
        raise ValueError(f"wrk printed a latency without a unit: {text}")

    lines = done.splitlines()
    percentile = {line.split()[0]: milliseconds(line.split()[1]) for line in lines if line.strip().startswith(("50%", "99%"))}
    rps = next(float(line.split()[1]) for line in lines if line.startswith("Requests/sec"))
    errors = next((line for line in lines if "Non-2xx" in line), None)
    assert errors is None, done
    return {"wrk_latency_p50_ms": round(percentile["50%"], 2), "wrk_latency_p99_ms": round(percentile["99%"], 2), "wrk_throughput_rps": round(rps, 1)}


def upload_code(base, headers, project, script, scratch):
    package = pathlib.Path(scratch, "score.tar.gz")
    with tarfile.open(package, "w:gz") as archive:
        source = pathlib.Path(scratch, "score.py")
        source.write_bytes(script)
        archive.add(source, arcname="score.py")
    answer = requests.post(f"{base}/api/v1/training/code?project_id={project}", data=package.read_bytes(),
                           headers={**headers, "Content-Type": "application/gzip"})
    assert answer.status_code == 201, answer.text
    return answer.json()["sha256"]


def seconds_between(start, end):
    return (datetime.fromisoformat(end.replace("Z", "+00:00")) - datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[1000, 100000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--peer-python", help="a Python with full mlflow (scikit-learn, matplotlib) to time mlflow.models.evaluate")
    parser.add_argument("--benchmark", choices=["classification", "custom", "serving"], default="classification")
    args = parser.parse_args()
    # The models run with this Python, read-only in the sandbox (as a user points the sandbox at their environment).
    settings = {"AITIP_SANDBOX_RO_PATHS": f"{sys.prefix},{sys.base_prefix}"}
    with running_server(PASSWORD, settings) as (base, data), tempfile.TemporaryDirectory() as scratch:
        token = requests.post(f"{base}/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        project = next(p for p in requests.get(f"{base}/api/v1/projects", headers=headers).json()["items"] if p["slug"] == "default")["id"]
        os.environ.update(MLFLOW_TRACKING_URI=base, MLFLOW_TRACKING_USERNAME="admin", MLFLOW_TRACKING_PASSWORD=PASSWORD)
        mlflow.set_experiment("evaluation-bench")
        register_threshold_models(pathlib.Path(scratch), "bench-model")
        for rows in args.rows:
            body, _ = held_out_csv(rows)
            dataset = push_dataset(base, headers, project, body, f"holdout-{rows}")
            request = {"project_id": project, "model": "models:/bench-model/2", "benchmark": args.benchmark,
                       "dataset": {"dataset_id": dataset}, "target": "label", "slice_by": ["region"], "python": sys.executable,
                       "thresholds": {"accuracy": {"min_absolute_change": 0.0}}}
            if args.benchmark == "custom":
                script = (ROOT / "examples" / "custom-evaluation" / "score.py").read_bytes()
                request.update(command=f"{sys.executable} score.py", code_archive=upload_code(base, headers, project, script, scratch))
                del request["target"], request["slice_by"]
            elif args.benchmark == "serving":
                request.update(slice_by=[], thresholds={"latency_p95_ms": {"min_relative_change": -0.5}})
            through, queue, run, scoring = [], [], [], []
            for _ in range(args.repeat):
                start = time.monotonic()
                job = requests.post(f"{base}/api/v1/evaluation/jobs", headers=headers, json=request).json()
                while requests.get(f"{base}/api/v1/evaluation/jobs/{job['id']}/results", headers=headers).json()["result_state"] == "pending":
                    time.sleep(0.05)
                through.append(time.monotonic() - start)
                job = requests.get(f"{base}/api/v1/evaluation/jobs/{job['id']}", headers=headers).json()
                assert job["result_state"] == "ready", (job, requests.get(f"{base}/api/v1/evaluation/jobs/{job['id']}/results", headers=headers).text)
                queue.append(seconds_between(job["created_at"], job["started_at"]))
                run.append(seconds_between(job["started_at"], job["finished_at"]))
                scoring.append(seconds_between(job["finished_at"], job["completed_at"]))
            # The same package by hand: the newest code package in the server's object store is this job's.
            package = max(pathlib.Path(data, "objects", "code").rglob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
            unpacked = pathlib.Path(scratch, f"by-hand-{rows}")
            with tarfile.open(package) as archive:
                archive.extractall(unpacked, filter="data")
            by_hand = []
            for _ in range(args.repeat):
                start = time.monotonic()
                subprocess.run(["sh", "-c", job["entrypoint"]], cwd=unpacked, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                by_hand.append(time.monotonic() - start)
            peer = []
            if args.peer_python and args.benchmark == "classification":
                frame = pathlib.Path(scratch, f"peer-{rows}.csv")
                frame.write_bytes(body)
                for attempt in range(args.repeat):
                    start = time.monotonic()
                    done = subprocess.run(
                        [args.peer_python, "-c", PEER, str(unpacked / "candidate"), str(frame), f"sqlite:///{scratch}/peer-{rows}-{attempt}.db"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                        env={key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")})
                    assert done.returncode == 0, done.stderr[-2000:]
                    peer.append(time.monotonic() - start)
            reported = requests.get(f"{base}/api/v1/evaluation/jobs/{job['id']}/results", headers=headers).json()["candidate"]
            serving = {}
            if args.benchmark == "serving":
                serving = {"job_" + name: round(reported[name]["value"], 2) for name in ("latency_p50_ms", "latency_p99_ms", "throughput_rps")}
                serving.update(wrk_against(unpacked / "candidate", body.split(b"\n")[1]))
            median = statistics.median
            print(json.dumps({**serving,
                "benchmark": args.benchmark, "rows": rows, "repeat": args.repeat, "by_hand_s": round(median(by_hand), 2), "through_aitip_s": round(median(through), 2),
                "overhead_s": round(median(through) - median(by_hand), 2), "queue_and_launch_s": round(median(queue), 2),
                "run_in_sandbox_s": round(median(run), 2), "scoring_s": round(median(scoring), 3),
                "peer_mlflow_evaluate_s": round(median(peer), 2) if peer else None}), flush=True)


if __name__ == "__main__":
    main()
