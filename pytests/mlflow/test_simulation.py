"""Simulation against the real server: CartPole policies registered through the MLflow client, played over a 20-seed
suite with perturbations in each isolation level that runs here (bubblewrap with seccomp, gVisor), scored and judged
per category; a custom simulator through the adapter contract; a hostile simulator contained in both sandboxes; and
what is refused before anything is created."""
import base64
import json
import os
import pathlib
import subprocess
import sys
import time

import mlflow
import pytest
import requests
from code_package import upload_code
from conftest import ADMIN_PASSWORD, unique
from evaluation_data import push_dataset
from receiver import Receiver, signature
from simulation_data import register_cartpole_policies, save_cartpole_policy

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCENARIOS = [
    {"name": "nominal", "category": "nominal"},
    {"name": "noisy-sensors", "category": "sensors", "perturbations": {"observation_noise": 0.05, "sensor_dropout": 0.05}},
    {"name": "wind", "category": "disturbance", "perturbations": {"push": {"magnitude": 0.5, "every": 50}}},
    {"name": "tilted-start", "category": "disturbance", "perturbations": {"initial_state_noise": 0.05}},
]


@pytest.fixture(scope="module")
def policies(server):
    """Registered once for the module, as the `tracking` fixture would let a test do it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", server["url"])
        patch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
        patch.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN_PASSWORD)
        mlflow.set_tracking_uri(server["url"])
        mlflow.set_experiment(unique("cartpole"))
        return register_cartpole_policies(unique("cartpole"), ("good", "bad", "pendulum", "cheat"))


def create_environment(api, **fields):
    body = {"project_id": api["project"], "name": unique("env"), "python": sys.executable,
            "resources": {"cpu": 0.5, "memory_mib": 1024}, **fields}
    return requests.post(f"{api['base']}/api/v1/simulation/environments", headers=api["headers"], json=body)


def wait_for_run(api, run_id, seconds=300):
    """The run once every scenario has ended and it is judged; its scenarios' logs in the failure message."""
    deadline = time.monotonic() + seconds
    while True:
        run = requests.get(f"{api['base']}/api/v1/simulation/runs/{run_id}", headers=api["headers"]).json()
        if run["state"] != "running":
            return run
        if time.monotonic() > deadline:
            logs = [requests.get(api["base"] + s["logs_url"], headers=api["headers"]).text[-2000:] for s in run["scenarios"]]
            pytest.fail(f"the run did not end: {run} {logs}")
        time.sleep(0.5)


def logs(api, run):
    return {s["name"]: requests.get(api["base"] + s["logs_url"], headers=api["headers"]).text for s in run["scenarios"]}


@pytest.mark.parametrize("isolation", ["container", "gvisor"])
def test_a_good_policy_passes_and_a_bad_one_fails_in_each_sandbox(api, policies, isolation, tmp_path):
    created = create_environment(
        api, template="cartpole", isolation_type=isolation, model=policies["good"],
        scenario_config={"seed_count": 20, "scenarios": SCENARIOS, "pass_score": 90, "category_pass_scores": {"sensors": 85},
                         "max_violation_rate": 0.1})
    assert created.status_code == 201, created.text
    environment = created.json()
    assert environment["template_version"] == 1 and environment["scenario_config"]["seeds"] == list(range(20))
    assert environment["status"] == "ready" and environment["isolation_type"] == isolation
    base, headers, env_id = api["base"], api["headers"], environment["id"]

    started = requests.post(f"{base}/api/v1/simulation/environments/{env_id}/start", headers=headers)
    assert started.status_code == 201, started.text
    assert [s["name"] for s in started.json()["scenarios"]] == [s["name"] for s in SCENARIOS]
    running = requests.get(f"{base}/api/v1/simulation/environments/{env_id}", headers=headers).json()
    assert running["status"] == "running" or running["active_runs"] == 0
    bad = requests.post(f"{base}/api/v1/simulation/environments/{env_id}/runs", headers=headers, json={"model": policies["bad"]})
    assert bad.status_code == 201, bad.text

    good_run = wait_for_run(api, started.json()["id"])
    bad_run = wait_for_run(api, bad.json()["id"])
    assert good_run["state"] == "completed", (good_run, logs(api, good_run))
    assert good_run["passed"] is True and good_run["safety_score"] >= 95, good_run["results"]
    assert good_run["suite_overridden"] is False and good_run["model_sandbox"] == "own"
    # The first seed's episode of each scenario, filmed: 20 evenly spaced frames and the last, each a PNG.
    frames = requests.get(f"{base}/api/v1/simulation/runs/{good_run['id']}/scenarios/wind/frames", headers=headers).json()
    assert [f["step"] for f in frames["frames"]] == list(range(0, 501, 25)) and frames["dropped"] == 0, frames.get("problem")
    assert all(base64.b64decode(f["png"]).startswith(b"\x89PNG\r\n\x1a\n") and f["seed"] == 0 for f in frames["frames"])
    if isolation == "container":  # the CLI saves them as files
        binary = os.environ.get("AITIP_BIN", str(ROOT / ".build" / "debug" / "aitip"))
        saved = subprocess.run([binary, "sim", "frames", good_run["id"], "wind", "-d", str(tmp_path)], capture_output=True, text=True,
                               env=dict(os.environ, AITIP_SERVER=base, AITIP_TOKEN=headers["Authorization"][7:]), timeout=60)
        assert saved.returncode == 0, saved.stderr
        assert sorted(p.name for p in tmp_path.iterdir())[:2] == ["seed-0-step-00000.png", "seed-0-step-00025.png"]
        assert (tmp_path / "seed-0-step-00500.png").read_bytes() == base64.b64decode(frames["frames"][-1]["png"])
    assert good_run["model"] == policies["good"] and good_run["isolation_type"] == isolation
    assert [c["category"] for c in good_run["results"]["categories"]] == ["nominal", "sensors", "disturbance"]
    assert all(c["passed"] and c["reasons"] == [] for c in good_run["results"]["categories"])
    sensors = next(c for c in good_run["results"]["categories"] if c["category"] == "sensors")
    assert sensors["pass_score"] == 85 and sensors["summary"]["episodes"] == 20
    for scenario in good_run["scenarios"]:
        assert scenario["status"] == "succeeded" and scenario["result_state"] == "ready"
        assert len(scenario["episodes"]) == 20 and scenario["steps_per_second"] > 0
        assert scenario["summary"]["completion"]["mean"] > 0.95 and "pole_fell" not in scenario["summary"]["events"]
    assert good_run["results"]["overall"]["episodes"] == 80

    assert bad_run["state"] == "completed" and bad_run["passed"] is False and bad_run["safety_score"] < 5
    for category in bad_run["results"]["categories"]:
        assert not category["passed"] and "below" in category["reasons"][0]
    for scenario in bad_run["scenarios"]:
        assert scenario["summary"]["events"]["pole_fell"] == 20
        episode = scenario["episodes"][0]
        assert episode["ended"] == "terminated" and episode["events"][0]["type"] == "pole_fell"
        # The score is the documented product: completion × 0.6 for the fall.
        assert episode["score"] == pytest.approx(100 * episode["completion"] * 0.6)

    listed = requests.get(f"{base}/api/v1/simulation/environments/{env_id}/runs?limit=1", headers=headers).json()
    assert listed["items"][0]["id"] == bad_run["id"] and listed["next_cursor"]
    report = requests.get(f"{base}/api/v1/simulation/runs/{bad_run['id']}/report?format=html", headers=headers)
    assert report.status_code == 200 and "Failed" in report.text and "pole_fell" in report.text
    assert "<script" not in report.text.lower()
    # The environment goes with its runs, their workloads and logs.
    assert requests.delete(f"{base}/api/v1/simulation/environments/{env_id}", headers=headers).status_code == 204
    assert requests.get(f"{base}/api/v1/simulation/runs/{bad_run['id']}", headers=headers).status_code == 404


def test_a_custom_simulator_plays_the_model_through_the_adapter(api, policies):
    simulator = (ROOT / "examples" / "custom-simulation" / "pole_sim.py").read_bytes()
    archive = upload_code(api["base"], api["headers"], api["project"], {"pole_sim.py": simulator})
    created = create_environment(
        api, template="custom", command=f"{sys.executable} pole_sim.py", code_archive=archive,
        scenario_config={"seed_count": 10, "max_steps": 300, "penalties": {"pole_fell": 0.5, "wind_drift": 0.9},
                         "scenarios": [{"name": "calm", "category": "nominal"},
                                       {"name": "gusty", "category": "wind", "perturbations": {"push": {"magnitude": 0.3, "every": 40}}}]})
    assert created.status_code == 201, created.text
    env_id = created.json()["id"]
    answer = requests.post(f"{api['base']}/api/v1/simulation/environments/{env_id}/start", headers=api["headers"])
    assert answer.status_code == 422 and "model" in answer.text, "no model is bound to this environment"
    runs = {}
    for policy in ("good", "bad"):
        answer = requests.post(f"{api['base']}/api/v1/simulation/environments/{env_id}/runs", headers=api["headers"],
                               json={"model": policies[policy]})
        assert answer.status_code == 201, answer.text
        runs[policy] = wait_for_run(api, answer.json()["id"])
    good, bad = runs["good"], runs["bad"]
    assert good["state"] == "completed" and good["passed"], (good, logs(api, good))
    assert good["results"]["penalties"] == {"pole_fell": 0.5, "wind_drift": 0.9}
    assert all(len(s["episodes"]) == 10 and s["episodes"][0]["steps"] <= 300 for s in good["scenarios"])
    assert bad["state"] == "completed" and not bad["passed"]
    assert bad["scenarios"][0]["summary"]["events"]["pole_fell"] == 10


def test_a_mujoco_template_runs_headless(api, policies):
    created = create_environment(
        api, template="inverted-pendulum", model=policies["pendulum"],
        scenario_config={"seed_count": 5, "scenarios": [{"name": "pushed", "category": "disturbance",
                                                          "perturbations": {"push": {"magnitude": 0.2, "every": 100}}}]})
    assert created.status_code == 201, created.text
    answer = requests.post(f"{api['base']}/api/v1/simulation/environments/{created.json()['id']}/start", headers=api["headers"])
    assert answer.status_code == 201, answer.text
    run = wait_for_run(api, answer.json()["id"])
    assert run["state"] == "completed" and run["passed"], (run, logs(api, run))
    scenario = run["scenarios"][0]
    assert scenario["summary"]["completion"]["mean"] == 1 and scenario["episodes"][0]["steps"] == 1000
    frames = requests.get(f"{api['base']}/api/v1/simulation/runs/{run['id']}/scenarios/pushed/frames", headers=api["headers"]).json()
    assert [f["step"] for f in frames["frames"]] == list(range(0, 1001, 50)), (frames.get("problem"), logs(api, run))


def test_a_model_that_cheats_cannot_touch_its_score(api, policies, tmp_path):
    """The cheat plays badly and rewrites the simulator's records from inside its process. Loaded into the simulator
    (as it would be without a sandbox of its own), it gets a perfect result; played by the server, it fails."""
    runner = ROOT / "Sources" / "Simulation" / "Python"
    save_cartpole_policy(tmp_path / "model", "cheat")
    (tmp_path / "scenario.json").write_text(json.dumps(
        {"template": "cartpole", "seeds": [0, 1, 2], "scenario": {"name": "nominal", "category": "nominal"}}))
    environment = {k: v for k, v in os.environ.items() if k != "AITIP_POLICY_SOCKET"}
    subprocess.run([sys.executable, str(runner / "sim_runner.py")], cwd=tmp_path, check=True, timeout=120,
                   env={**environment, "PYTHONPATH": str(runner), "MLFLOW_DISABLE_TELEMETRY": "true"})
    cheated = json.loads((tmp_path / "result.json").read_text())
    assert [(e["steps"], e["completion"], e["events"]) for e in cheated["episodes"]] == [(500, 1.0, [])] * 3

    created = create_environment(api, template="cartpole", model=policies["cheat"],
                                 scenario_config={"seed_count": 5, "scenarios": [{"name": "nominal", "category": "nominal"}]})
    assert created.status_code == 201, created.text
    answer = requests.post(f"{api['base']}/api/v1/simulation/environments/{created.json()['id']}/start", headers=api["headers"])
    run = wait_for_run(api, answer.json()["id"])
    assert run["state"] == "completed" and run["model_sandbox"] == "own", (run, logs(api, run))
    assert run["passed"] is False and run["safety_score"] < 5
    assert run["scenarios"][0]["summary"]["events"]["pole_fell"] == 5
    # The model's sandbox speaks in the log only after the simulator, each line marked.
    log = logs(api, run)["nominal"]
    assert "[companion] aitip: serving the model on /run/aitip/link/policy.sock" in log

    # Lineage: from the data the model was made from (an edge recorded by hand here) down to this simulation.
    base, headers = api["base"], api["headers"]
    dataset_id = push_dataset(base, headers, api["project"], b"x,y\n1,0\n", unique("sim-data"), path="data.csv")
    version_id = requests.get(f"{base}/api/v1/datasets/{dataset_id}/versions", headers=headers).json()["items"][0]["id"]
    edge = requests.post(f"{base}/api/v1/lineage/edges", headers=headers, json={
        "source": {"kind": "dataset_version", "id": version_id},
        "target": {"kind": "model_version", "id": run["model_version_id"]}, "relation": "trained_on"})
    assert edge.status_code == 201, edge.text
    graph = requests.get(f"{base}/api/v1/datasets/{dataset_id}/lineage?direction=downstream", headers=headers).json()
    assert any(n["kind"] == "simulation" and n["id"] == run["id"] for n in graph["nodes"]), graph
    assert any(e["relation"] == "simulated" and e["target"]["id"] == run["id"] for e in graph["edges"]), graph


HOSTILE = """
import os, socket, sys
import aitip_sim
spec = aitip_sim.scenario()
if spec["scenario"]["name"] == "hog":
    hoard = bytearray(900 * 1024 * 1024)
    print("allocated", len(hoard))
    sys.exit(0)
for target in sys.argv[1:-1]:
    try:
        print("READ", target, os.listdir(target) if os.path.isdir(target) else open(target, "rb").read(40))
    except OSError as error:
        print("blocked", target, type(error).__name__)
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[-1])), timeout=2)
    print("REACHED the server")
except OSError as error:
    print("blocked network", type(error).__name__)
recorder = aitip_sim.Recorder()
for seed in spec["seeds"]:
    episode = recorder.episode(seed, max_steps=spec["max_steps"])
    episode.step(1.0)
    episode.end("truncated")
recorder.write(seconds=0.001)
"""


@pytest.mark.parametrize("isolation", ["container", "gvisor"])
def test_a_hostile_simulator_is_contained(api, policies, isolation):
    port = api["base"].rsplit(":", 1)[1]
    data = api["data"]
    archive = upload_code(api["base"], api["headers"], api["project"], {"probe.py": HOSTILE.encode()})
    created = create_environment(
        api, template="custom", isolation_type=isolation, command=f"{sys.executable} probe.py {data} {data}/aitip.db {port}",
        code_archive=archive, resources={"cpu": 0.5, "memory_mib": 256},
        scenario_config={"seed_count": 2, "max_steps": 5,
                         "scenarios": [{"name": "probe", "category": "escape"}, {"name": "hog", "category": "memory"}]})
    assert created.status_code == 201, created.text
    answer = requests.post(f"{api['base']}/api/v1/simulation/environments/{created.json()['id']}/runs", headers=api["headers"],
                           json={"model": policies["good"]})
    assert answer.status_code == 201, answer.text
    run = wait_for_run(api, answer.json()["id"])
    output = logs(api, run)
    assert "READ" not in output["probe"] and "REACHED" not in output["probe"], output["probe"]
    assert output["probe"].count("blocked") == 3, output["probe"]
    probe, hog = run["scenarios"]
    assert probe["result_state"] == "ready", probe
    assert hog["status"] == "failed" and "out of memory" in hog["reason"], hog
    assert "allocated" not in output["hog"]
    assert run["state"] == "failed" and "hog" in run["error"] and run.get("passed") is False


def test_stopping_an_environment_stops_its_runs_without_a_verdict(api, policies):
    archive = upload_code(api["base"], api["headers"], api["project"], {"slow.py": b"import time\ntime.sleep(120)\n"})
    created = create_environment(api, template="custom", command=f"{sys.executable} slow.py", code_archive=archive,
                                 model=policies["good"], scenario_config={"seed_count": 1, "max_steps": 10})
    assert created.status_code == 201, created.text
    env_id = created.json()["id"]
    run = requests.post(f"{api['base']}/api/v1/simulation/environments/{env_id}/start", headers=api["headers"]).json()
    deadline = time.monotonic() + 60
    while requests.get(f"{api['base']}/api/v1/simulation/runs/{run['id']}", headers=api["headers"]).json()["scenarios"][0]["status"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert requests.get(f"{api['base']}/api/v1/simulation/environments/{env_id}", headers=api["headers"]).json()["status"] == "running"
    conflict = requests.delete(f"{api['base']}/api/v1/simulation/environments/{env_id}", headers=api["headers"])
    assert conflict.status_code == 409 and "still running" in conflict.text
    stopped = requests.post(f"{api['base']}/api/v1/simulation/environments/{env_id}/stop", headers=api["headers"])
    assert stopped.status_code == 200, stopped.text
    ended = wait_for_run(api, run["id"], seconds=90)
    assert ended["state"] == "stopped" and ended.get("passed") is None and ended["scenarios"][0]["status"] == "cancelled", ended
    assert requests.get(f"{api['base']}/api/v1/simulation/environments/{env_id}", headers=api["headers"]).json()["status"] == "ready"
    assert requests.delete(f"{api['base']}/api/v1/simulation/environments/{env_id}", headers=api["headers"]).status_code == 204


def test_what_cannot_run_is_refused_before_anything_is_created(api, policies):
    base, headers = api["base"], api["headers"]
    templates = requests.get(f"{base}/api/v1/simulation/templates", headers=headers).json()["items"]
    cartpole = next(t for t in templates if t["name"] == "cartpole")
    assert cartpole["gym_id"] == "CartPole-v1" and cartpole["penalties"]["pole_fell"] == 0.6
    assert next(t for t in templates if t["name"] == "highway")["slow"] is True
    name = unique("refused")
    cases = [
        ({"template": "cartpole", "isolation_type": "vm"}, "Firecracker"),
        ({"template": "chess"}, "template"),
        ({"template": "cartpole", "scenario_config": {"seeds": [1, 1]}}, "twice"),
        ({"template": "cartpole", "scenario_config": {"max_steps": 501}}, "max_steps"),
        ({"template": "cartpole", "scenario_config": {"scenarios": [{"name": "Bad Name", "category": "x"}]}}, "name"),
        ({"template": "cartpole", "scenario_config": {"category_pass_scores": {"elsewhere": 50}}}, "category"),
        ({"template": "cartpole", "scenario_config": {"scenarios": [
            {"name": "a", "category": "x", "perturbations": {"sensor_dropout": 2}}]}}, "probability"),
        ({"template": "custom"}, "command"),
        ({"template": "custom", "command": "x" * 9990, "code_archive": "0" * 64}, "longer than a workload takes"),
        ({"template": "cartpole", "command": "echo"}, "custom"),
        ({"template": "cartpole", "model": "not-a-model"}, "models:/"),
        ({"template": "cartpole", "resources": {"cpu": 4096}}, "cpu"),
    ]
    for fields, fragment in cases:
        answer = create_environment(api, name=name, **fields)
        assert answer.status_code == 422, (fields, answer.text)
        assert answer.headers["Content-Type"].startswith("application/problem+json") and fragment in answer.text, answer.text
    listed = requests.get(f"{base}/api/v1/simulation/environments?project_id={api['project']}&limit=500", headers=headers).json()
    assert name not in [e["name"] for e in listed["items"]]
    created = create_environment(api, name=name, template="cartpole")
    assert created.status_code == 201
    assert create_environment(api, name=name, template="cartpole").status_code == 409
    env_id = created.json()["id"]
    answer = requests.post(f"{base}/api/v1/simulation/environments/{env_id}/runs", headers=headers,
                           json={"model": policies["good"], "seeds": [1], "seed_count": 3})
    assert answer.status_code == 422 and "not both" in answer.text
    answer = requests.post(f"{base}/api/v1/simulation/environments/{env_id}/runs", headers=headers,
                           json={"model": policies["good"], "seed_count": 2})
    assert answer.status_code == 201 and answer.json()["suite_overridden"] is True, answer.text
    assert requests.post(f"{base}/api/v1/simulation/environments/{env_id}/stop", headers=headers).status_code == 200
    answer = requests.post(f"{base}/api/v1/simulation/environments/{env_id}/runs", headers=headers,
                           json={"model": "models:/no-such-model/1"})
    assert answer.status_code in (404, 422), answer.text
    runs = requests.get(f"{base}/api/v1/simulation/environments/{env_id}/runs", headers=headers).json()
    assert len(runs["items"]) == 1, "only the run that was accepted"


def test_a_release_is_blocked_by_a_low_safety_score_and_let_through_by_a_passing_run(api, policies):
    """A release's simulation gate reads the run itself: the bad policy's failed run blocks its release with the
    score; the good policy's passing run lets its release deploy; a run of another model version proves nothing."""
    base, headers = api["base"], api["headers"]
    created = create_environment(api, template="cartpole", model=policies["good"],
                                 scenario_config={"seed_count": 5, "pass_score": 90, "scenarios": [{"name": "nominal", "category": "nominal"}]})
    env_id = created.json()["id"]
    runs = {}
    for policy in ("good", "bad"):
        answer = requests.post(f"{base}/api/v1/simulation/environments/{env_id}/runs", headers=headers, json={"model": policies[policy]})
        runs[policy] = wait_for_run(api, answer.json()["id"])
    assert runs["good"]["passed"] is True and runs["bad"]["passed"] is False

    def service(name, model, parent=None):
        body = {"project_id": api["project"], "name": name, "model": model, "runtime": "process", "replicas": 0, "min_replicas": 0,
                "runtime_config": {"command": "exec sleep 600"}}
        if parent:
            body.update(parent_service_id=parent, traffic_percentage=0)
        answer = requests.post(f"{base}/api/v1/inference/services", headers=headers, json=body)
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]

    stable = service(unique("policy"), policies["good"])
    # Every transition of a release is announced to the project's webhooks, signed (aitip's webhook API: the MLflow
    # client's event types cannot name release events).
    receiver = Receiver()
    hook = requests.post(f"{base}/api/v1/projects/{api['project']}/webhooks", headers=headers, json={
        "name": unique("releases"), "url": f"{receiver.base}/releases", "secret": "rel-secret",
        "events": ["release.deployed", "release.rolled_back"]})
    assert hook.status_code == 201 and hook.json()["has_secret"] is True and "secret" not in hook.json(), hook.text

    def release(policy, evidence):
        canary = service(unique(f"policy-{policy}"), policies[policy], parent=stable)
        answer = requests.post(f"{base}/api/v1/releases", headers=headers, json={
            "project_id": api["project"], "name": unique("policy"), "version": policy, "service_id": stable, "canary_service_id": canary,
            "approval_policy": {"required": 0}, "gates": {"simulation_run_id": evidence, "min_safety_score": 80}})
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]

    blocked = release("bad", runs["bad"]["id"])
    refused = requests.post(f"{base}/api/v1/releases/{blocked}/deploy", headers=headers)
    assert refused.status_code == 409 and "blocked by its gates" in refused.text and "verdict is failed" in refused.text, refused.text
    checks = requests.get(f"{base}/api/v1/releases/{blocked}", headers=headers).json()["gate_checks"]
    assert checks[0]["gate"] == "simulation" and checks[0]["passed"] is False, checks

    borrowed = release("bad", runs["good"]["id"])
    refused = requests.post(f"{base}/api/v1/releases/{borrowed}/deploy", headers=headers)
    assert refused.status_code == 409 and "not " + policies["bad"] in refused.text, refused.text

    passing = release("good", runs["good"]["id"])
    deployed = requests.post(f"{base}/api/v1/releases/{passing}/deploy", headers=headers)
    assert deployed.status_code == 200 and deployed.json()["status"] == "canary", deployed.text
    assert deployed.json()["gate_checks"][0]["passed"] is True and "safety score" in deployed.json()["gate_checks"][0]["detail"]
    assert requests.post(f"{base}/api/v1/releases/{passing}/rollback", headers=headers, json={"reason": "seen enough"}).json()["status"] == "rolled_back"
    sent = receiver.wait_for("/releases", count=2)
    for _, sent_headers, body in sent:
        assert sent_headers["x-mlflow-signature"] == signature("rel-secret", sent_headers, body)
    # Deliveries are concurrent: the receiver may see them in either order; the events say when they happened.
    events = sorted((json.loads(body) for _, _, body in sent), key=lambda e: e["data"]["at_ms"])
    assert [(e["entity"], e["action"]) for e in events] == [("release", "deployed"), ("release", "rolled_back")], events
    assert events[0]["data"]["release_id"] == passing and events[0]["data"]["canary_percentage"] == 5 and events[0]["data"]["stage"] == 1
    assert events[1]["data"]["detail"] == "seen enough" and events[1]["data"]["from_status"] == "canary"
    assert events[1]["data"]["model"] == policies["good"] and events[1]["data"]["canary_percentage"] == 0
    # The receiver answers before the deliverer records the answer: wait for the records, not only the requests.
    deadline = time.monotonic() + 30
    while True:
        deliveries = requests.get(f"{base}/api/v1/webhooks/{hook.json()['id']}/deliveries", headers=headers).json()["items"]
        if all(d["status"] != "pending" for d in deliveries) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert [d["event"] for d in deliveries] == ["release.rolled_back", "release.deployed"], deliveries
    assert all(d["status"] == "delivered" and d["last_status"] == 200 for d in deliveries), deliveries
    receiver.server.shutdown()

    # Lineage reaches from the data behind the model (an edge recorded by hand here) through its version to the release.
    dataset_id = push_dataset(base, headers, api["project"], b"x,y\n1,0\n", unique("release-data"), path="data.csv")
    version_id = requests.get(f"{base}/api/v1/datasets/{dataset_id}/versions", headers=headers).json()["items"][0]["id"]
    edge = requests.post(f"{base}/api/v1/lineage/edges", headers=headers, json={
        "source": {"kind": "dataset_version", "id": version_id},
        "target": {"kind": "model_version", "id": runs["good"]["model_version_id"]}, "relation": "trained_on"})
    assert edge.status_code == 201, edge.text
    graph = requests.get(f"{base}/api/v1/datasets/{dataset_id}/lineage?direction=downstream", headers=headers).json()
    assert any(n["kind"] == "release" and n["id"] == passing for n in graph["nodes"]), graph
    assert any(e["relation"] == "released" and e["target"]["id"] == passing
               and e["source"]["id"] == runs["good"]["model_version_id"] for e in graph["edges"]), graph
