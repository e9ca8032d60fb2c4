"""The ceiling for the tracking benchmark: nginx answering the MLflow routes bench/tracking_client.py calls with
bodies recorded from a real aitip beforehand, so the client meets a server that costs (almost) nothing.

    python bench/null_server.py capture --uri URL --username U --password P --out DIR   # records the answers
    python bench/null_server.py config --bodies DIR --port PORT --work DIR > nginx.conf  # nginx serving them

Recorded: experiments/create, runs/create, an empty `{}` (log-metric, log-batch), a 10,000-point metric history and a
100-run search page over 500 runs — the same sizes the client receives from aitip."""
import argparse
import json
import pathlib
import sys
import uuid

import requests

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from tracking_client import seed_runs  # noqa: E402

# Route → recorded body. Every route answers 200 with its file whatever the method or body (nginx's static module
# turns a POST into 405, which error_page turns back into the file: the request body is read and dropped).
ROUTES = {
    "/api/2.0/mlflow/experiments/create": "experiment.json",
    "/api/2.0/mlflow/runs/create": "run.json",
    "/api/2.0/mlflow/runs/log-metric": "empty.json",
    "/api/2.0/mlflow/runs/log-batch": "empty.json",
    "/api/2.0/mlflow/metrics/get-history": "history.json",
    "/api/2.0/mlflow/runs/search": "search.json",
}


def capture(options):
    out = pathlib.Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    session = requests.Session()
    session.auth = (options.username, options.password)
    api = options.uri + "/api/2.0/mlflow"

    def post(route, body):
        answer = session.post(f"{api}/{route}", json=body)
        answer.raise_for_status()
        return answer

    experiment = post("experiments/create", {"name": f"ceiling-{uuid.uuid4().hex[:8]}"})
    (out / "experiment.json").write_bytes(experiment.content)
    experiment_id = experiment.json()["experiment_id"]
    run = post("runs/create", {"experiment_id": experiment_id, "start_time": 1_700_000_000_000})
    (out / "run.json").write_bytes(run.content)
    run_id = run.json()["run"]["info"]["run_id"]
    (out / "empty.json").write_bytes(post("runs/log-metric", {"run_id": run_id, "key": "x", "value": 1, "timestamp": 1, "step": 0}).content)
    for offset in range(0, 10_000, 1000):
        post("runs/log-batch", {"run_id": run_id, "metrics": [
            {"key": "loss", "value": 1 / (i + 1), "timestamp": 1_700_000_000_000 + i, "step": i} for i in range(offset, offset + 1000)]})
    history = session.get(f"{api}/metrics/get-history", params={"run_id": run_id, "metric_key": "loss", "max_results": 25000})
    history.raise_for_status()
    assert len(history.json()["metrics"]) == 10_000
    (out / "history.json").write_bytes(history.content)
    search_experiment = post("experiments/create", {"name": f"ceiling-search-{uuid.uuid4().hex[:8]}"}).json()["experiment_id"]
    seed_runs(options.uri, session.auth, search_experiment, 500)
    search = post("runs/search", {"experiment_ids": [search_experiment], "filter": "metrics.acc > 0.5 AND params.model = 'resnet'",
                                  "order_by": ["metrics.acc DESC"], "max_results": 100})
    answer = search.json()
    assert len(answer["runs"]) == 100
    answer.pop("next_page_token", None)  # one page: the client's search_runs(max_results=100) stops here
    (out / "search.json").write_text(json.dumps(answer))


def config(options):
    bodies = pathlib.Path(options.bodies).resolve()
    work = pathlib.Path(options.work).resolve()
    locations = "\n".join(
        f"        location = {route} {{ rewrite ^ /body/{name} last; }}"
        for route, name in ROUTES.items())
    print(f"""worker_processes auto;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {work}/nginx-body;
    client_max_body_size 64m;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    default_type application/json;
    server {{
        listen 127.0.0.1:{options.port};
        root {work}/nginx-root;
        location /body/ {{ alias {bodies}/; error_page 405 =200 $uri; }}
{locations}
    }}
}}""")


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    recording = commands.add_parser("capture")
    recording.add_argument("--uri", required=True)
    recording.add_argument("--username", required=True)
    recording.add_argument("--password", required=True)
    recording.add_argument("--out", required=True)
    serving = commands.add_parser("config")
    serving.add_argument("--bodies", required=True)
    serving.add_argument("--port", type=int, required=True)
    serving.add_argument("--work", required=True)
    options = parser.parse_args()
    capture(options) if options.command == "capture" else config(options)


if __name__ == "__main__":
    main()
