"""Crash tests: the real `aitip serve` killed with SIGKILL in the middle of work, then started again on the same data
directory and database. What the server acknowledged before it died must be there after; work it had taken on must
finish exactly once."""
import os
import subprocess
import threading

import requests

from conftest import API, BINARY, wait_until

JOB_RESOURCES = {"gpu_count": 0, "cpu": 0.1, "memory_mib": 64}


def test_every_acknowledged_metric_point_survives_a_kill(make_server):
    server = make_server()
    server.start()
    api = API(server)
    experiment = api.post(f"/api/v1/projects/{api.project}/experiments", json={"name": "crash"})["id"]
    runs = [api.post(f"/api/v1/experiments/{experiment}/runs", json={"name": f"client-{n}"})["id"] for n in range(4)]
    acknowledged = {run: [] for run in runs}
    refused = []
    enough = threading.Event()

    def client(run):
        session = requests.Session()
        step = 0
        while True:
            steps = list(range(step, step + 50))
            body = {"metrics": [{"key": "loss", "steps": steps, "values": [1.0 / (1 + s) for s in steps]}]}
            try:
                answer = session.post(f"{server.url}/api/v1/runs/{run}/log", json=body, headers=api.headers, timeout=10)
            except requests.RequestException:
                return  # the server died with this batch in flight: not acknowledged
            if answer.status_code == 429:
                enough.wait(float(answer.headers.get("Retry-After", "1")))
                continue
            if answer.status_code != 204:
                refused.append(f"{answer.status_code} {answer.text}")
                return
            acknowledged[run].extend(steps)
            step += 50
            if sum(len(points) for points in acknowledged.values()) >= 20_000:
                enough.set()

    clients = [threading.Thread(target=client, args=(run,)) for run in runs]
    for thread in clients:
        thread.start()
    assert enough.wait(120), "the clients did not get 20,000 points acknowledged"
    server.kill()
    for thread in clients:
        thread.join(timeout=30)
    assert not refused, refused

    server.start()
    for run in runs:
        series = api.get(f"/api/v1/runs/{run}/metrics/loss")
        stored = {point["step"] for point in series["points"]}
        missing = set(acknowledged[run]) - stored
        assert not missing, f"run {run}: {len(missing)} acknowledged points lost, e.g. {sorted(missing)[:5]}"
        # A batch is one transaction: the batch in flight at the kill is either all there or not at all.
        assert len(stored) % 50 == 0 and stored == set(range(len(stored)))


def submit(api, name, entrypoint, **resources):
    body = {"project_id": api.project, "name": name, "entrypoint": entrypoint, "resources": {**JOB_RESOURCES, **resources}}
    return api.post("/api/v1/training/jobs", json=body)["id"]


def statuses(api, jobs):
    return {job: api.get(f"/api/v1/training/jobs/{job}")["status"] for job in jobs}


def test_ten_running_jobs_are_adopted_after_a_kill(make_server):
    server = make_server()
    server.start()
    api = API(server)
    lines = 40
    jobs = [submit(api, f"survivor-{n}", f"for i in $(seq 1 {lines}); do echo line $i; sleep 0.1; done") for n in range(10)]
    wait_until(lambda: set(statuses(api, jobs).values()) == {"running"}, "all ten jobs to run")
    server.kill()

    server.start()
    wait_until(lambda: set(statuses(api, jobs).values()) == {"succeeded"}, "all ten jobs to succeed after the restart", interval=0.5)
    expected = "".join(f"line {i}\n" for i in range(1, lines + 1))
    for job in jobs:
        detail = api.get(f"/api/v1/training/jobs/{job}")
        assert detail["attempt"] == 1, detail
        assert api.get(f"/api/v1/training/jobs/{job}/logs") == expected, f"job {job}: its log lost lines across the kill"


def test_queued_jobs_run_exactly_once_after_a_kill(make_server):
    # One GPU: the first job holds it, the others wait in the queue when the server dies.
    server = make_server(AITIP_SIMULATE_GPUS="a100:1")
    server.start()
    api = API(server)
    jobs = [submit(api, f"queued-{n}", "echo started; sleep 1; echo finished", gpu_type="a100", gpu_count=1) for n in range(3)]
    wait_until(lambda: sorted(statuses(api, jobs).values()) == ["queued", "queued", "running"], "one job running, two queued")
    server.kill()

    server.start()
    wait_until(lambda: set(statuses(api, jobs).values()) == {"succeeded"}, "every job to succeed after the restart", interval=0.5)
    for job in jobs:
        detail = api.get(f"/api/v1/training/jobs/{job}")
        assert detail["attempt"] == 1, detail
        assert api.get(f"/api/v1/training/jobs/{job}/logs") == "started\nfinished\n", f"job {job} ran more than once, or not whole"


def test_an_upload_cut_by_a_kill_resumes_into_a_byte_identical_version(make_server, tmp_path):
    server = make_server()
    server.start()
    api = API(server)
    source = tmp_path / "big.bin"
    with open(source, "wb") as out:
        out.write(os.urandom(96 * 1024 * 1024))
    env = dict(os.environ, AITIP_TOKEN=api.key, AITIP_SERVER=server.url)
    push = [BINARY, "datasets", "push", "--project", api.project, "big", str(source), "--version", "v1", "--chunk-mib", "64"]
    subprocess.run([BINARY, "datasets", "create", "--project", api.project, "--format", "mixed", "big"], env=env, check=True, stdout=subprocess.DEVNULL)
    first = subprocess.Popen(push, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = server.data / "uploads"
    wait_until(lambda: any(part.stat().st_size > 16 * 1024 * 1024 for part in parts.glob("*.part")) if parts.exists() else False,
               "16 MiB of the upload to reach the server", interval=0.01)
    server.kill()
    assert first.wait(timeout=60) != 0, "the push cannot have succeeded: the server died during it"

    server.start()
    again = subprocess.run(push, env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert "already on the server" in again.stderr, f"the push started over instead of resuming: {again.stderr}"
    pulled = tmp_path / "pulled"
    subprocess.run([BINARY, "datasets", "pull", "--project", api.project, "big", "--dir", str(pulled)], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    assert (pulled / "big.bin").read_bytes() == source.read_bytes()
