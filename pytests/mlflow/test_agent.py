"""The agent API against the real server: a training job submitted through agent/execute asynchronously — a costly
tool, so confirmed first — with its outcome POSTed, signed, to a real receiver, and links to follow the job."""
import json

import requests
from conftest import unique
from receiver import Receiver, signature


def test_a_training_job_submitted_by_an_agent_is_confirmed_run_in_the_background_and_called_back(api):
    base, headers = api["base"], api["headers"]
    receiver = Receiver()
    params = {"project_id": api["project"], "name": unique("agent-job"), "entrypoint": "echo trained by an agent",
              "resources": {"cpu": 0.2, "memory_mib": 128}}
    asked = requests.post(f"{base}/api/v1/agent/execute", headers=headers, json={
        "tool": "training.submit", "params": params, "async": True, "callback_url": f"{receiver.base}/agent", "callback_secret": "cb-secret"})
    assert asked.status_code == 200 and asked.json()["status"] == "awaiting_confirmation", asked.text
    assert asked.json()["risk"] == "costly" and asked.json()["confirmation_token"]
    confirmed = requests.post(f"{base}/api/v1/agent/execute", headers=headers, json={
        "tool": "training.submit", "params": params, "confirmation_token": asked.json()["confirmation_token"]})
    assert confirmed.status_code == 200 and confirmed.json()["status"] in ("queued", "running", "succeeded"), confirmed.text
    assert confirmed.json()["execution_id"] == asked.json()["execution_id"]

    _, sent_headers, body = receiver.wait_for("/agent")[0]
    assert sent_headers["x-mlflow-signature"] == signature("cb-secret", sent_headers, body)
    callback = json.loads(body)
    assert (callback["entity"], callback["action"]) == ("agent_execution", "succeeded"), callback
    job_id = callback["data"]["result"]["id"]
    assert callback["data"]["http_status"] == 201 and callback["data"]["tool"] == "training.submit"

    execution = requests.get(f"{base}/api/v1/agent/executions/{asked.json()['execution_id']}", headers=headers).json()
    assert execution["status"] == "succeeded" and execution["callback_status"].startswith("delivered"), execution
    links = execution["monitoring"]
    assert links["resource_url"] == f"/api/v1/training/jobs/{job_id}" and links["logs_url"] == f"/api/v1/training/jobs/{job_id}/logs", links
    job = requests.get(base + links["resource_url"], headers=headers)
    assert job.status_code == 200 and job.json()["name"] == params["name"], job.text
    receiver.server.shutdown()
