"""Artifact transfer benchmark: the real `mlflow` client logs and downloads one large file through a tracking
server's artifact proxy; prints one JSON line per size with MB/s and peak memory (client and server).

    python bench/artifacts.py --uri URL --server-pid PID --work DIR [--username U --password P] [--sizes-gib 1 5]

Each phase runs in a child process so its peak RSS is its own (ru_maxrss of the child); the server's is the largest
VmHWM over its process tree (MLflow runs workers as children), read after each phase."""
import argparse
import hashlib
import json
import os
import pathlib
import resource
import subprocess
import sys
import time

CHILD = r"""
import os, sys, time, resource, json
import mlflow
from mlflow import MlflowClient
mode, path = sys.argv[1], sys.argv[2]
start = time.monotonic()
if mode == "upload":
    mlflow.set_experiment("artifacts-bench")
    with mlflow.start_run() as run:
        mlflow.log_artifact(path)
    result = run.info.run_id
else:
    run_id, name = sys.argv[3], sys.argv[4]
    result = MlflowClient().download_artifacts(run_id, name, path)
seconds = time.monotonic() - start
print(json.dumps({"seconds": seconds, "result": result, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def tree_peak_mb(pid):
    """Largest VmHWM (peak resident set) of the process and its descendants, MiB."""
    peak, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = pathlib.Path(f"/proc/{current}/status").read_text()
            peak = max(peak, int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024)
            for task in pathlib.Path(f"/proc/{current}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, StopIteration, ProcessLookupError):
            pass
    return round(peak)


def make_file(path, size):
    digest = hashlib.sha256()
    block = os.urandom(64 << 20)
    with open(path, "wb") as out:
        left = size
        while left:
            chunk = block[:min(left, len(block))]
            out.write(chunk)
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        for chunk in iter(lambda: source.read(64 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def phase(env, *args):
    answer = subprocess.run([sys.executable, "-c", CHILD, *args], env=env, capture_output=True, text=True)
    if answer.returncode != 0:
        raise SystemExit(answer.stderr[-3000:])
    return json.loads(answer.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--uri", required=True)
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument("--sizes-gib", type=float, nargs="+", default=[1, 5])
    options = parser.parse_args()
    env = dict(os.environ, MLFLOW_TRACKING_URI=options.uri)
    if options.username:
        env.update(MLFLOW_TRACKING_USERNAME=options.username, MLFLOW_TRACKING_PASSWORD=options.password)
    work = pathlib.Path(options.work)
    idle = tree_peak_mb(options.server_pid)
    for gib in options.sizes_gib:
        size = int(gib * (1 << 30))
        source = work / f"model-{gib:g}g.bin"
        digest = make_file(source, size)
        up = phase(env, "upload", str(source))
        server_after_upload = tree_peak_mb(options.server_pid)
        target = work / "download"
        target.mkdir(exist_ok=True)
        down = phase(env, "download", str(target), up["result"], source.name)
        server_after_download = tree_peak_mb(options.server_pid)
        intact = sha256(down["result"]) == digest
        os.remove(down["result"])
        source.unlink()
        mb = size / 1e6
        print(json.dumps({
            "size_gib": gib, "intact": intact,
            "upload_mb_s": round(mb / up["seconds"]), "download_mb_s": round(mb / down["seconds"]),
            "client_peak_mb": {"upload": round(up["maxrss_mb"]), "download": round(down["maxrss_mb"])},
            "server_peak_mb": {"idle": idle, "after_upload": server_after_upload, "after_download": server_after_download},
        }), flush=True)


if __name__ == "__main__":
    main()
