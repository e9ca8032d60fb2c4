"""Soak: a bounded mixed load on one aitip server over loopback, every kind paced at a fixed rate under the default
per-principal rate limit, and the server's resident memory sampled every 10 s. Prints markdown for
docs/benchmarks.md. Run it through bench/soak.sh (which starts the server at its default settings).

    python bench/soak.py --url http://127.0.0.1:PORT --password P --pid SERVER_PID --aitip BIN [--seconds 300]

Kinds (each in its own threads, each request timed from send to answer):
  ingest   the real `mlflow` client's log_batch (100 metrics a call) to four runs, 2 threads x 15 calls/s
  reads    GET /api/v1/projects, experiment and run lists, a run, a metric history: 40/s
  jobs     POST /api/v1/training/jobs (a job that echoes and exits), one every 2 s
  datasets `aitip datasets push` of a new 1 MB file as a new version, one every 10 s (timed whole)
An error is any answer that is not 2xx, or an exception."""
import argparse
import os
import statistics
import subprocess
import tempfile
import threading
import time

import requests


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.samples = {}
        self.errors = {}

    def record(self, kind, started, ok, detail=""):
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            self.samples.setdefault(kind, []).append(elapsed)
            if not ok:
                self.errors.setdefault(kind, []).append(detail[:200])


def paced(rate, until, action):
    """Calls `action` `rate` times a second until `until`, on a fixed schedule (a slow call does not shift the next)."""
    interval = 1.0 / rate
    next_at = time.monotonic()
    while time.monotonic() < until:
        action()
        next_at += interval
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def slope_per_minute(points):
    """Least-squares slope of (seconds, MiB) samples, in MiB per minute."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    denominator = sum((x - mean_x) ** 2 for x in xs)
    return 60 * sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / denominator if denominator else 0.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--aitip", required=True)
    parser.add_argument("--seconds", type=int, default=300)
    arguments = parser.parse_args()
    url = arguments.url

    token = requests.post(url + "/api/v1/auth/login", json={"username": "admin", "password": arguments.password}).json()["access_token"]
    session_headers = {"Authorization": f"Bearer {token}"}
    org = requests.get(url + "/api/v1/orgs", headers=session_headers).json()["items"][0]["id"]
    key = requests.post(url + "/api/v1/auth/api-keys", headers=session_headers, json={"name": "soak", "org_id": org}).json()["key"]
    headers = {"Authorization": f"Bearer {key}"}
    project = requests.get(url + "/api/v1/projects", headers=headers).json()["items"][0]["id"]

    os.environ["MLFLOW_TRACKING_URI"] = url
    os.environ["MLFLOW_TRACKING_TOKEN"] = key
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    experiment = client.create_experiment("soak")
    runs = [client.create_run(experiment).info.run_id for _ in range(4)]
    native_experiment = requests.get(url + f"/api/v1/projects/{project}/experiments", headers=headers).json()["items"][0]["id"]
    dataset = requests.post(url + f"/api/v1/projects/{project}/datasets", headers=headers, json={"name": "soak", "format": "mixed"}).json()["id"]

    recorder = Recorder()
    until = time.monotonic() + arguments.seconds
    steps = {run: 0 for run in runs}
    steps_lock = threading.Lock()

    def ingest(offset):
        def action():
            run = runs[(offset + int(time.monotonic() * 15)) % len(runs)]
            with steps_lock:
                step = steps[run]
                steps[run] += 1
            metrics = [Metric(f"m{i}", 1.0 / (step + 1), int(time.time() * 1000), step) for i in range(100)]
            started = time.perf_counter()
            try:
                client.log_batch(run, metrics=metrics)
                recorder.record("ingest (log_batch, 100 metrics)", started, True)
            except Exception as error:  # noqa: BLE001 - every failure is an error of the run
                recorder.record("ingest (log_batch, 100 metrics)", started, False, repr(error))
        return action

    read_paths = [
        "/api/v1/projects",
        f"/api/v1/projects/{project}/experiments",
        f"/api/v1/experiments/{native_experiment}/runs?limit=50",
        f"/api/v1/runs/{runs[0]}",
        f"/api/v1/runs/{runs[1]}/metrics/m0?max_points=500",
    ]
    read_session = requests.Session()
    read_counter = [0]

    def read():
        path = read_paths[read_counter[0] % len(read_paths)]
        read_counter[0] += 1
        started = time.perf_counter()
        try:
            answer = read_session.get(url + path, headers=headers, timeout=30)
            recorder.record("API reads", started, answer.ok, f"{answer.status_code} {path} {answer.text}")
        except requests.RequestException as error:
            recorder.record("API reads", started, False, repr(error))

    job_session = requests.Session()

    def submit_job():
        body = {"project_id": project, "name": "soak", "entrypoint": "echo soak", "resources": {"cpu": 0.1, "memory_mib": 64}}
        started = time.perf_counter()
        try:
            answer = job_session.post(url + "/api/v1/training/jobs", headers=headers, json=body, timeout=30)
            recorder.record("job submissions", started, answer.status_code == 201, f"{answer.status_code} {answer.text}")
        except requests.RequestException as error:
            recorder.record("job submissions", started, False, repr(error))

    scratch = tempfile.mkdtemp(prefix="aitip-soak-")
    versions = [0]

    def push():
        versions[0] += 1
        path = os.path.join(scratch, f"part-{versions[0]}.bin")
        with open(path, "wb") as out:
            out.write(os.urandom(1 << 20))
        command = [arguments.aitip, "datasets", "push", dataset, path, "--version", f"v{versions[0]}"]
        started = time.perf_counter()
        done = subprocess.run(command, env=dict(os.environ, AITIP_TOKEN=key, AITIP_SERVER=url), capture_output=True, text=True)
        recorder.record("dataset pushes (1 MB, CLI)", started, done.returncode == 0, done.stderr)

    rss = []
    start = time.monotonic()

    def sample():
        while time.monotonic() < until:
            rss.append((time.monotonic() - start, rss_mib(arguments.pid)))
            time.sleep(10)
        rss.append((time.monotonic() - start, rss_mib(arguments.pid)))

    threads = [threading.Thread(target=paced, args=(15, until, ingest(n))) for n in range(2)]
    threads += [threading.Thread(target=paced, args=(40, until, read)),
                threading.Thread(target=paced, args=(0.5, until, submit_job)),
                threading.Thread(target=paced, args=(0.1, until, push)),
                threading.Thread(target=sample)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    print(f"{arguments.seconds} s, every kind paced (total about 71 requests a second, under the default limit of 100/s per principal)\n")
    print("| kind | requests | errors | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|---|")
    for kind, samples in recorder.samples.items():
        ordered = sorted(samples)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        print(f"| {kind} | {len(samples)} | {len(recorder.errors.get(kind, []))} | {statistics.median(ordered):.1f} | {p99:.1f} | {ordered[-1]:.1f} |")
    print(f"\nserver RSS: {rss[0][1]:.0f} MiB at the start, {rss[-1][1]:.0f} MiB at the end, peak {max(r for _, r in rss):.0f} MiB; "
          f"slope {slope_per_minute(rss):+.2f} MiB/min over {len(rss)} samples (every 10 s)")
    for kind, errors in recorder.errors.items():
        print(f"\nerrors of {kind} (first 3): {errors[:3]}")


if __name__ == "__main__":
    main()
