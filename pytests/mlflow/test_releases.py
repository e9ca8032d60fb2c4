"""Firmware, service and config releases against the real server: an artifact pushed as a dataset file, rolled out
stage by stage through a signed webhook to a real receiver, or through a workload in the job sandbox that checks the
artifact it was given; a target that refuses, or a step that fails, rolls the release back and is told to undo it."""
import hashlib
import json
import os
import time
import uuid

import pytest
import requests
from conftest import unique
from evaluation_data import push_dataset
from receiver import Receiver, signature


@pytest.fixture(scope="module")
def firmware(api):
    image = os.urandom(300_000)
    dataset_id = push_dataset(api["base"], api["headers"], api["project"], image, unique("firmware"), path="images/fw-2.4.bin", format="mixed")
    return {"dataset_id": dataset_id, "sha256": hashlib.sha256(image).hexdigest(), "bytes": image}


def create(api, firmware, target, **extra):
    body = {"project_id": api["project"], "name": unique("fleet"), "version": "2.4", "release_type": "firmware",
            "canary_stages": [25, 100], "approval_policy": {"required": 0},
            "analysis": {"interval_seconds": 1, "intervals_per_stage": 1},
            "artifact": {"dataset_id": firmware["dataset_id"], "path": "images/fw-2.4.bin"}, "deploy_target": target, **extra}
    answer = requests.post(f"{api['base']}/api/v1/releases", headers=api["headers"], json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def wait_for(api, release_id, statuses, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = requests.get(f"{api['base']}/api/v1/releases/{release_id}", headers=api["headers"]).json()
        if view["status"] in statuses:
            return view
        time.sleep(0.3)
    raise AssertionError(f"release {release_id} is still {view['status']}: {view['status_reason']}")


def test_a_firmware_release_reaches_its_fleet_through_a_signed_webhook_stage_by_stage(api, firmware):
    receiver = Receiver()
    release = create(api, firmware, {"type": "webhook", "url": f"{receiver.base}/fleet", "secret": "fleet-secret"})
    assert release["artifact"]["sha256"] == firmware["sha256"] and release["artifact"]["version"] == "v1", release
    assert release["deploy_target"] == {"type": "webhook", "url": f"{receiver.base}/fleet", "has_secret": True}, release
    assert "service_id" not in release and "model_uri" not in release
    deployed = requests.post(f"{api['base']}/api/v1/releases/{release['id']}/deploy", headers=api["headers"])
    assert deployed.status_code == 200 and deployed.json()["status"] == "canary", deployed.text
    done = wait_for(api, release["id"], {"production", "rolled_back"})
    assert done["status"] == "production" and done["applied_stage"] == 2, done
    calls = receiver.wait_for("/fleet", count=2)
    for _, headers, body in calls:
        assert headers["x-mlflow-signature"] == signature("fleet-secret", headers, body)
    steps = [json.loads(body) for _, _, body in calls]
    assert [(s["action"], s["data"]["stage"], s["data"]["percent"]) for s in steps] == [("deploy", 1, 25), ("deploy", 2, 100)], steps
    artifact = steps[0]["data"]["artifact"]
    assert artifact["sha256"] == firmware["sha256"] and artifact["size_bytes"] == len(firmware["bytes"])
    # The receiver fetches the artifact with its own credential, and checks it.
    fetched = requests.get(api["base"] + artifact["download"], headers=api["headers"])
    assert fetched.status_code == 200 and hashlib.sha256(fetched.content).hexdigest() == firmware["sha256"]
    kinds = [e["kind"] for e in done["timeline"]]
    assert kinds.count("stage_deployed") == 2 and kinds[-1] == "production", kinds
    graph = requests.get(f"{api['base']}/api/v1/datasets/{firmware['dataset_id']}/lineage?direction=downstream", headers=api["headers"]).json()
    assert any(e["relation"] == "released" and e["target"]["id"] == release["id"] for e in graph["edges"]), graph

    # Rolled back from production by hand: the target is told to undo it.
    back = requests.post(f"{api['base']}/api/v1/releases/{release['id']}/rollback", headers=api["headers"], json={"reason": "field reports"})
    assert back.status_code == 200 and back.json()["status"] == "rolled_back", back.text
    undo = json.loads(receiver.wait_for("/fleet", count=3)[2][2])
    assert undo["action"] == "rollback" and undo["data"]["release_id"] == release["id"], undo
    assert any(e["kind"] == "rollback_step" and "answered 200" in e["detail"] for e in back.json()["timeline"]), back.json()["timeline"]
    receiver.server.shutdown()


def test_a_target_that_refuses_a_stage_rolls_the_release_back(api, firmware):
    receiver = Receiver(status_for=lambda path, body: 422 if json.loads(body)["action"] == "deploy" else 200)
    release = create(api, firmware, {"type": "webhook", "url": f"{receiver.base}/strict"})
    requests.post(f"{api['base']}/api/v1/releases/{release['id']}/deploy", headers=api["headers"])
    done = wait_for(api, release["id"], {"production", "rolled_back"})
    assert done["status"] == "rolled_back" and "refused the step (422)" in done["rollback_reason"], done
    actions = [json.loads(body)["action"] for _, _, body in receiver.wait_for("/strict", count=2)]
    assert actions == ["deploy", "rollback"], actions
    assert "x-mlflow-signature" not in receiver.requests[0][1]  # no secret, no signature
    receiver.server.shutdown()


def test_a_config_release_runs_its_steps_as_workloads_with_the_artifact_and_a_failing_step_rolls_back(api, firmware):
    check = ('echo "$AITIP_ARTIFACT_SHA256  $AITIP_ARTIFACT" | sha256sum -c - && '
             'echo "stage $AITIP_RELEASE_STAGE: $AITIP_RELEASE_ACTION to $AITIP_RELEASE_PERCENT %"')
    release = create(api, firmware, {"type": "workload", "command": check, "cpu": 0.2, "memory_mib": 128}, release_type="config")
    requests.post(f"{api['base']}/api/v1/releases/{release['id']}/deploy", headers=api["headers"])
    done = wait_for(api, release["id"], {"production", "rolled_back"}, timeout=120)
    assert done["status"] == "production", done
    kinds = [e["kind"] for e in done["timeline"]]
    assert kinds.count("step_started") == 2 and kinds.count("stage_deployed") == 2, kinds

    failing = create(api, firmware, {"type": "workload", "command": "echo flashing failed >&2; exit 3"}, release_type="service")
    requests.post(f"{api['base']}/api/v1/releases/{failing['id']}/deploy", headers=api["headers"])
    failed = wait_for(api, failing["id"], {"production", "rolled_back"}, timeout=120)
    assert failed["status"] == "rolled_back" and "failed" in failed["rollback_reason"], failed
    assert any(e["kind"] == "rollback_step" and "rollback workload" in e["detail"] for e in failed["timeline"]), failed["timeline"]


def test_what_a_firmware_release_needs_is_checked_before_anything_is_stored(api, firmware):
    base, headers = api["base"], api["headers"]
    missing = requests.post(f"{base}/api/v1/releases", headers=headers, json={
        "project_id": api["project"], "name": "fw", "version": "1", "release_type": "firmware"})
    assert missing.status_code == 422 and "artifact" in missing.text and "deploy_target" in missing.text, missing.text
    gated = requests.post(f"{base}/api/v1/releases", headers=headers, json={
        "project_id": api["project"], "name": "fw", "version": "1", "release_type": "firmware",
        "artifact": {"dataset_id": firmware["dataset_id"], "path": "images/fw-2.4.bin"},
        "deploy_target": {"type": "workload", "command": "true"}, "gates": {"simulation_run_id": str(uuid.uuid4())}})
    assert gated.status_code == 422 and "test_execution_id" in gated.text, gated.text
    absent = requests.post(f"{base}/api/v1/releases", headers=headers, json={
        "project_id": api["project"], "name": "fw", "version": "1", "release_type": "firmware",
        "artifact": {"dataset_id": firmware["dataset_id"], "path": "images/nope.bin"}, "deploy_target": {"type": "workload", "command": "true"}})
    assert absent.status_code == 422 and "nope.bin" in absent.text, absent.text
    before = requests.get(f"{base}/api/v1/releases?project_id={api['project']}&limit=500", headers=headers).json()["items"]
    assert not any(r["name"] == "fw" for r in before)
