"""Evaluation jobs end to end: models logged and registered by the real mlflow client, a csv dataset version
pushed through the API, evaluations run in the sandbox by the real server, scored against labels the server
kept, gated against the champion, logged to the model's run, linked in lineage, and reported as PDF."""
import subprocess
import sys

import mlflow
import pytest
import requests
from evaluation_data import held_out_csv, push_dataset, register_threshold_models, threshold_model_code, wait_for_results
from mlflow import MlflowClient
from conftest import unique


def test_an_evaluation_gates_a_candidate_against_the_champion_and_reports_it(tmp_path, server, admin_token):
    base = server["url"]
    headers = {"Authorization": f"Bearer {admin_token}"}
    project = next(p for p in requests.get(f"{base}/api/v1/projects?limit=500", headers=headers).json()["items"]
                   if p["slug"] == "default")["id"]
    mlflow.set_experiment(unique("evaluation"))
    name = unique("churn")
    runs = register_threshold_models(tmp_path, name)
    body, (x1, label, region) = held_out_csv()
    dataset_id = push_dataset(base, headers, project, body, unique("holdout"))

    benchmarks = requests.get(f"{base}/api/v1/evaluation/benchmarks", headers=headers).json()["items"]
    classification = next(b for b in benchmarks if b["name"] == "classification")
    assert classification["version"] == 1 and "f1_macro" in [m["name"] for m in classification["metrics"]]

    request = {
        "project_id": project, "model": f"models:/{name}/2", "benchmark": "classification",
        "dataset": {"dataset_id": dataset_id}, "target": "label", "slice_by": ["region"], "python": sys.executable,
        "thresholds": {"accuracy": {"threshold": 0.8, "min_absolute_change": 0.05}, "f1_macro": {"min_relative_change": 0.01}},
        "resources": {"cpu": 0.5, "memory_mib": 1024},
    }
    created = requests.post(f"{base}/api/v1/evaluation/jobs", headers=headers, json=request)
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["model"] == f"models:/{name}/2" and job["baseline"] == f"models:/{name}/1", job
    assert "champion" in job["baseline_reason"] and job["result_state"] == "pending"
    assert job["dataset"]["path"] == "holdout.csv" and job["dataset"]["version"] == "v1"

    results = wait_for_results(base, headers, job["id"])
    assert results["result_state"] == "ready", results
    predicted = (x1 > 0.0).astype(int)
    expected_accuracy = float((predicted == label).mean())
    champion_accuracy = float(((x1 > 1.0).astype(int) == label).mean())
    candidate = results["candidate"]
    assert results["rows"] == 400
    assert candidate["accuracy"]["value"] == pytest.approx(expected_accuracy)
    assert results["baseline"]["accuracy"]["value"] == pytest.approx(champion_accuracy)
    assert candidate["accuracy"]["ci_low"] < expected_accuracy < candidate["accuracy"]["ci_high"]
    assert results["gate"]["passed"] is True, results["gate"]
    assert {check["metric"] for check in results["gate"]["checks"]} == {"accuracy", "f1_macro"}
    north = next(s for s in results["slices"] if s["column"] == "region" and s["value"] == "north")
    mask = region == "north"
    assert north["rows"] == int(mask.sum())
    assert north["candidate"]["accuracy"]["value"] == pytest.approx(float((predicted[mask] == label[mask]).mean()))
    # The model's run has the metrics; the evaluation is in the dataset version's lineage.
    metrics = MlflowClient().get_run(runs[2]).data.metrics
    assert metrics["eval.classification.accuracy"] == pytest.approx(expected_accuracy)
    graph = requests.get(f"{base}/api/v1/datasets/{dataset_id}/lineage?direction=downstream", headers=headers).json()
    assert any(n["kind"] == "evaluation" and n["id"] == job["id"] for n in graph["nodes"]), graph
    assert any(e["relation"] == "evaluated_on" for e in graph["edges"]), graph
    finished = requests.get(f"{base}/api/v1/evaluation/jobs/{job['id']}", headers=headers).json()
    assert finished["gate_passed"] is True and finished["status"] == "succeeded"

    # The PDF report (printed by Chromium) holds the verdict and the metrics.
    pdf = requests.get(f"{base}/api/v1/evaluation/jobs/{job['id']}/report", headers=headers)
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf", pdf.text[:300]
    assert pdf.content.startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf.content, capture_output=True, check=True).stdout.decode()
    assert "Gate passed" in text and "accuracy" in text and "f1_macro" in text and "north" in text, text
    assert f"{expected_accuracy:.4g}" in text, text
    html = requests.get(f"{base}/api/v1/evaluation/jobs/{job['id']}/report?format=html", headers=headers)
    assert html.headers["Content-Type"].startswith("text/html") and "<svg" in html.text

    # A bar too high fails the gate, with the reason per metric.
    strict = dict(request, thresholds={"accuracy": {"threshold": 0.99}}, baseline="none")
    failed = requests.post(f"{base}/api/v1/evaluation/jobs", headers=headers, json=strict)
    assert failed.status_code == 201, failed.text
    assert failed.json().get("baseline") is None and failed.json()["baseline_reason"] == "none asked for"
    verdict = wait_for_results(base, headers, failed.json()["id"])
    assert verdict["gate"]["passed"] is False
    assert verdict["gate"]["checks"][0]["reason"].startswith("accuracy ") and "< threshold 0.99" in verdict["gate"]["checks"][0]["reason"]
    assert verdict.get("baseline") is None

    # A release of the version is blocked by the failed evaluation as its gate, and let through by the passed one.
    def service(service_name, parent=None):
        body = {"project_id": project, "name": service_name, "model": f"models:/{name}/2", "runtime": "process", "replicas": 0,
                "min_replicas": 0, "runtime_config": {"command": "exec sleep 600"}}
        if parent:
            body.update(parent_service_id=parent, traffic_percentage=0)
        answer = requests.post(f"{base}/api/v1/inference/services", headers=headers, json=body)
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]

    stable = service(unique("churn"))
    canary = service(unique("churn-v2"), parent=stable)
    gated = {}
    for outcome, evidence in (("failed", failed.json()["id"]), ("passed", job["id"])):
        answer = requests.post(f"{base}/api/v1/releases", headers=headers, json={
            "project_id": project, "name": unique("churn"), "version": outcome, "service_id": stable, "canary_service_id": canary,
            "approval_policy": {"required": 0}, "gates": {"evaluation_job_id": evidence}})
        assert answer.status_code == 201, answer.text
        gated[outcome] = answer.json()["id"]
    refused = requests.post(f"{base}/api/v1/releases/{gated['failed']}/deploy", headers=headers)
    assert refused.status_code == 409 and "evaluation: the evaluation's gate failed" in refused.text, refused.text
    check = requests.get(f"{base}/api/v1/releases/{gated['failed']}", headers=headers).json()["gate_checks"][0]
    assert check["gate"] == "evaluation" and check["passed"] is False and check["evidence_id"] == failed.json()["id"], check
    deployed = requests.post(f"{base}/api/v1/releases/{gated['passed']}/deploy", headers=headers)
    assert deployed.status_code == 200 and deployed.json()["status"] == "canary", deployed.text
    assert requests.post(f"{base}/api/v1/releases/{gated['passed']}/rollback", headers=headers, json={}).status_code == 200


def test_evaluations_that_cannot_run_are_refused_before_anything_is_created(tmp_path, server, admin_token):
    base = server["url"]
    headers = {"Authorization": f"Bearer {admin_token}"}
    project = next(p for p in requests.get(f"{base}/api/v1/projects?limit=500", headers=headers).json()["items"]
                   if p["slug"] == "default")["id"]
    mlflow.set_experiment(unique("evaluation-refusals"))
    name = unique("solo")
    code = tmp_path / "solo.py"
    code.write_text(threshold_model_code(0.0))
    with mlflow.start_run():
        mlflow.pyfunc.log_model(name="model", python_model=str(code), registered_model_name=name)
    body, _ = held_out_csv(50)
    dataset_id = push_dataset(base, headers, project, body, unique("small"))
    before = len(requests.get(f"{base}/api/v1/evaluation/jobs?limit=500", headers=headers).json()["items"])
    valid = {"project_id": project, "model": f"models:/{name}/1", "benchmark": "classification",
             "dataset": {"dataset_id": dataset_id}, "target": "label"}
    refusals = [
        (dict(valid, benchmark="bleu"), 422, "benchmark"),
        (dict(valid, target="nope"), 422, "no column 'nope'"),
        (dict(valid, slice_by=["missing"]), 422, "no column 'missing'"),
        (dict(valid, benchmark="regression", target="region"), 422, "regression needs numbers"),
        (dict(valid, thresholds={"accuracy": {"min_absolute_change": 0.1}}), 422, "has no champion alias"),
        (dict(valid, thresholds={"bleu": {"threshold": 1}}), 422, "not a metric of classification"),
        (dict(valid, model=f"models:/{name}/7"), 422, "not found"),
        (dict(valid, model="not-a-uri"), 422, "models:/"),
        (dict(valid, python="python3; rm -rf /"), 422, "interpreter"),
        (dict(valid, dataset={"dataset_id": dataset_id, "path": "other.csv"}), 422, "no file 'other.csv'"),
    ]
    for request, status, words in refusals:
        answer = requests.post(f"{base}/api/v1/evaluation/jobs", headers=headers, json=request)
        assert answer.status_code == status and words in answer.text, (request, answer.status_code, answer.text)
        assert answer.headers["Content-Type"].startswith("application/problem+json")
    # A key that may run evaluations but not read the registry cannot evaluate a model.
    key = requests.post(f"{base}/api/v1/auth/api-keys", headers=headers, json={"name": unique("eval-only"), "scopes": ["evaluation:write"]})
    assert key.status_code == 201, key.text
    scoped = {"Authorization": f"Bearer {key.json()['key']}"}
    denied = requests.post(f"{base}/api/v1/evaluation/jobs", headers=scoped, json=valid)
    assert denied.status_code == 403 and "experiments:read" in denied.text, denied.text
    after = len(requests.get(f"{base}/api/v1/evaluation/jobs?limit=500", headers=headers).json()["items"])
    assert after == before
