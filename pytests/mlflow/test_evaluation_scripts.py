"""Benchmarks whose job scores each model itself: the example custom script (examples/custom-evaluation) run by
the real server once per model, its JSON result read back, gated with the directions it declared, logged and
reported; hostile result files; and lm-eval jobs refused where they cannot run (no GPU here)."""
import json
import pathlib
import subprocess
import sys

import mlflow
import pytest
import requests
from code_package import upload_code
from evaluation_data import held_out_csv, push_dataset, register_threshold_models, threshold_model_code, wait_for_results
from mlflow import MlflowClient
from conftest import unique

ROOT = pathlib.Path(__file__).resolve().parents[2]


def default_project(base, headers):
    return next(p for p in requests.get(f"{base}/api/v1/projects?limit=500", headers=headers).json()["items"]
                if p["slug"] == "default")["id"]


def test_a_custom_script_scores_each_model_and_its_result_is_gated(tmp_path, server, admin_token):
    base = server["url"]
    headers = {"Authorization": f"Bearer {admin_token}"}
    project = default_project(base, headers)
    mlflow.set_experiment(unique("custom-evaluation"))
    name = unique("churn")
    runs = register_threshold_models(tmp_path, name)
    body, (x1, label, region) = held_out_csv()
    dataset_id = push_dataset(base, headers, project, body, unique("holdout"))
    script = (ROOT / "examples" / "custom-evaluation" / "score.py").read_bytes()
    archive = upload_code(base, headers, project, {"score.py": script})

    custom = next(b for b in requests.get(f"{base}/api/v1/evaluation/benchmarks", headers=headers).json()["items"]
                  if b["name"] == "custom")
    assert custom["runner"] == "script" and custom["metrics"] == [] and "AITIP_RESULT_FILE" in custom["description"]

    request = {
        "project_id": project, "model": f"models:/{name}/2", "benchmark": "custom", "dataset": {"dataset_id": dataset_id},
        "command": f"{sys.executable} score.py", "code_archive": archive,
        # brier is declared lower-is-better by the script: the candidate's must fall by 0.05 at least.
        "thresholds": {"accuracy": {"threshold": 0.8}, "brier": {"min_absolute_change": 0.05}},
        "resources": {"cpu": 0.5, "memory_mib": 1024},
    }
    created = requests.post(f"{base}/api/v1/evaluation/jobs", headers=headers, json=request)
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["baseline"] == f"models:/{name}/1" and job.get("target") is None and job["dataset"].get("path") is None
    results = wait_for_results(base, headers, job["id"])
    assert results["result_state"] == "ready", (results, requests.get(f"{base}/api/v1/evaluation/jobs/{job['id']}/logs", headers=headers).text)

    predicted = (x1 > 0.0).astype(int)
    champion = (x1 > 1.0).astype(int)
    assert results["rows"] == 400
    accuracy = results["candidate"]["accuracy"]
    assert accuracy["value"] == pytest.approx(float((predicted == label).mean()))
    assert accuracy["ci_low"] < accuracy["value"] < accuracy["ci_high"]
    assert results["candidate"]["brier"]["value"] == pytest.approx(float(((predicted - label) ** 2).mean()))
    assert results["baseline"]["brier"]["value"] == pytest.approx(float(((champion - label) ** 2).mean()))
    assert results["directions"] == {"accuracy": True, "brier": False}
    assert results["gate"]["passed"] is True, results["gate"]
    brier_check = next(c for c in results["gate"]["checks"] if c["metric"] == "brier")
    assert "improvement over the baseline" in brier_check["reason"], brier_check
    south = next(s for s in results["slices"] if s["value"] == "south")
    mask = region == "south"
    assert south["rows"] == int(mask.sum()) and south["baseline"]["accuracy"]["value"] == pytest.approx(float((champion[mask] == label[mask]).mean()))
    assert MlflowClient().get_run(runs[2]).data.metrics["eval.custom.brier"] == pytest.approx(results["candidate"]["brier"]["value"])
    pdf = requests.get(f"{base}/api/v1/evaluation/jobs/{job['id']}/report", headers=headers)
    assert pdf.status_code == 200, pdf.text[:300]
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf.content, capture_output=True, check=True).stdout.decode()
    assert "Gate passed" in text and "brier" in text and "south" in text, text

    # The baseline's Brier score is better than any the candidate could beat by 0.5: the gate fails, saying why.
    strict = dict(request, thresholds={"brier": {"min_absolute_change": 0.5}})
    failed = wait_for_results(base, headers, requests.post(f"{base}/api/v1/evaluation/jobs", headers=headers, json=strict).json()["id"])
    assert failed["gate"]["passed"] is False and "< min_absolute_change 0.5" in failed["gate"]["checks"][0]["reason"], failed


BAD_RESULTS = [
    (b"not json", "is not JSON"),
    (json.dumps({"metrics": {}}).encode(), "metrics is empty"),
    (json.dumps({"metrics": {"a;b": 1}}).encode(), "a metric named 'a;b'"),
    (json.dumps({"metrics": {"acc": {"value": 0.5, "ci_low": 0.9, "ci_high": 0.1}}}).encode(), "ci_low is above ci_high"),
    (b'{"metrics": {"acc": NaN}}', "metrics.acc must be a finite number"),
    (json.dumps({"metrics": {"acc": 1}, "slices": "all"}).encode(), "slices must be an array"),
    (None, "wrote no result to AITIP_RESULT_FILE"),
    # The command prints a result line of its own (as a model's code could, to forge the other model's numbers).
    ("forged", "two results"),
]


def test_a_bad_result_file_fails_the_results_with_the_reason(tmp_path, server, admin_token):
    base = server["url"]
    headers = {"Authorization": f"Bearer {admin_token}"}
    project = default_project(base, headers)
    mlflow.set_experiment(unique("custom-bad-result"))
    name = unique("solo")
    code = tmp_path / "solo.py"
    code.write_text(threshold_model_code(0.0))
    with mlflow.start_run():
        mlflow.pyfunc.log_model(name="model", python_model=str(code), registered_model_name=name)
    body, _ = held_out_csv(20)
    dataset_id = push_dataset(base, headers, project, body, unique("small"))
    jobs = []
    for result, words in BAD_RESULTS:
        if result == "forged":
            files = {"result.json": json.dumps({"metrics": {"acc": 1}}).encode()}
            command = 'cp result.json "$AITIP_RESULT_FILE"; echo "aitip.file result.candidate $(base64 -w0 result.json)"'
        elif result is None:
            files, command = {"empty.txt": b""}, "true"
        else:
            files, command = {"result.json": result}, 'cp result.json "$AITIP_RESULT_FILE"'
        created = requests.post(f"{base}/api/v1/evaluation/jobs", headers=headers, json={
            "project_id": project, "model": f"models:/{name}/1", "benchmark": "custom", "dataset": {"dataset_id": dataset_id},
            "command": command, "code_archive": upload_code(base, headers, project, files),
            "resources": {"cpu": 0.25, "memory_mib": 256}})
        assert created.status_code == 201, created.text
        jobs.append((created.json()["id"], words))
    for job_id, words in jobs:
        results = wait_for_results(base, headers, job_id)
        assert results["result_state"] == "failed" and words in results["result_error"], results
        assert results.get("candidate") is None


def test_script_benchmarks_that_cannot_run_are_refused_before_anything_is_created(tmp_path, server, admin_token):
    base = server["url"]
    headers = {"Authorization": f"Bearer {admin_token}"}
    project = default_project(base, headers)
    mlflow.set_experiment(unique("script-refusals"))
    pyfunc_name, hf_name = unique("pyfunc"), unique("tiny-lm")
    code = tmp_path / "solo.py"
    code.write_text(threshold_model_code(0.0))
    with mlflow.start_run():
        mlflow.pyfunc.log_model(name="model", python_model=str(code), registered_model_name=pyfunc_name)
    # A Hugging Face folder: what lm-eval loads (its weights do not matter here, it never starts).
    folder = tmp_path / "hf"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    (folder / "tokenizer.json").write_text("{}")
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(folder), "model")
    MlflowClient().create_registered_model(hf_name)
    MlflowClient().create_model_version(hf_name, source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id)
    body, _ = held_out_csv(20)
    dataset_id = push_dataset(base, headers, project, body, unique("tasks"))
    archive = upload_code(base, headers, project, {"score.py": b"print(1)\n"})
    before = len(requests.get(f"{base}/api/v1/evaluation/jobs?limit=500", headers=headers).json()["items"])
    custom = {"project_id": project, "model": f"models:/{pyfunc_name}/1", "benchmark": "custom",
              "dataset": {"dataset_id": dataset_id}, "command": "python score.py", "code_archive": archive}
    lm_eval = {"project_id": project, "model": f"models:/{hf_name}/1", "benchmark": "lm-eval", "dataset": {"dataset_id": dataset_id},
               "lm_eval": {"tasks": ["hellaswag"]}, "resources": {"gpu_count": 1}}
    refusals = [
        (dict(custom, command=" "), 422, "command"),
        ({k: v for k, v in custom.items() if k != "code_archive"}, 422, "code_archive"),
        (dict(custom, code_archive="0" * 64), 400, "No uploaded code archive"),
        (dict(custom, target="label"), 422, "custom scores itself"),
        (dict(custom, slice_by=["region"]), 422, "reports its own slices"),
        (dict(custom, dataset={"dataset_id": dataset_id, "path": "nope.csv"}), 422, "no file 'nope.csv'"),
        (dict(custom, thresholds={"bad;name": {"threshold": 1}}), 422, "is not a metric name"),
        (dict(custom, lm_eval={"tasks": ["x"]}), 422, "is for the lm-eval benchmark"),
        ({k: v for k, v in lm_eval.items() if k != "lm_eval"}, 422, "lm_eval.tasks"),
        (dict(lm_eval, lm_eval={"tasks": ["hella swag; rm -rf /"]}), 422, "is not a task name"),
        (dict(lm_eval, resources={"cpu": 1}), 422, "lm-eval runs the model on a GPU"),
        # Nothing here has a GPU: the job could never start, and says so before anything is packed (a model without
        # config.json is refused after that check: ScriptJobTests).
        (lm_eval, 400, "can never be scheduled"),
        (dict(lm_eval, model=f"models:/{pyfunc_name}/1"), 400, "can never be scheduled"),
    ]
    for request, status, words in refusals:
        answer = requests.post(f"{base}/api/v1/evaluation/jobs", headers=headers, json=request)
        assert answer.status_code == status and words in answer.text, (request, answer.status_code, answer.text)
        assert answer.headers["Content-Type"].startswith("application/problem+json")
    after = len(requests.get(f"{base}/api/v1/evaluation/jobs?limit=500", headers=headers).json()["items"])
    assert after == before


def test_a_serving_evaluation_measures_both_models_as_replicas_serve_them(tmp_path, server, admin_token):
    base = server["url"]
    headers = {"Authorization": f"Bearer {admin_token}"}
    project = default_project(base, headers)
    mlflow.set_experiment(unique("serving-evaluation"))
    name = unique("churn")
    runs = register_threshold_models(tmp_path, name)
    body, _ = held_out_csv(50)
    dataset_id = push_dataset(base, headers, project, body, unique("requests"))
    serving = next(b for b in requests.get(f"{base}/api/v1/evaluation/benchmarks", headers=headers).json()["items"]
                   if b["name"] == "serving")
    assert serving["runner"] == "serving" and {"latency_p95_ms", "throughput_rps"} <= {m["name"] for m in serving["metrics"]}

    request = {
        "project_id": project, "model": f"models:/{name}/2", "benchmark": "serving", "dataset": {"dataset_id": dataset_id},
        "target": "label", "python": sys.executable, "serving": {"requests": 120, "concurrency": 2, "batch_rows": 5, "warmup": 5},
        # Bars any sandbox reaches; the second job below asks for what no model can (ten times the champion's throughput).
        "thresholds": {"latency_p95_ms": {"threshold": 10000}, "error_rate": {"threshold": 0}},
        "resources": {"cpu": 1, "memory_mib": 2048},
    }
    created = requests.post(f"{base}/api/v1/evaluation/jobs", headers=headers, json=request)
    assert created.status_code == 201, created.text
    results = wait_for_results(base, headers, created.json()["id"], seconds=300)
    log = requests.get(f"{base}/api/v1/evaluation/jobs/{created.json()['id']}/logs", headers=headers).text
    assert results["result_state"] == "ready", (results, log)
    for role in ("candidate", "baseline"):
        metrics = results[role]
        assert metrics["error_rate"]["value"] == 0 and metrics["throughput_rps"]["value"] > 0, metrics
        p50, p95, p99 = (metrics[f"latency_p{p}_ms"]["value"] for p in (50, 95, 99))
        assert 0 < p50 <= p95 <= p99, metrics
        assert metrics["latency_p95_ms"]["ci_low"] <= p95 <= metrics["latency_p95_ms"]["ci_high"]
        assert metrics["startup_seconds"]["value"] > 0
    assert results["rows"] == 120 and results["gate"]["passed"] is True, results["gate"]
    assert results["directions"]["latency_p95_ms"] is False and results["directions"]["throughput_rps"] is True
    assert "baseline: 120 requests at concurrency 2" in log and "candidate: 120 requests" in log, log
    assert MlflowClient().get_run(runs[2]).data.metrics["eval.serving.throughput_rps"] > 0

    strict = dict(request, thresholds={"throughput_rps": {"min_relative_change": 9}})
    failed = wait_for_results(base, headers, requests.post(f"{base}/api/v1/evaluation/jobs", headers=headers, json=strict).json()["id"], seconds=300)
    assert failed["gate"]["passed"] is False and "< min_relative_change 9" in failed["gate"]["checks"][0]["reason"], failed

    refused = requests.post(f"{base}/api/v1/evaluation/jobs", headers=headers, json=dict(request, serving={"concurrency": 0}))
    assert refused.status_code == 422 and "serving.concurrency" in refused.text, refused.text
    refused = requests.post(f"{base}/api/v1/evaluation/jobs", headers=headers, json=dict(request, thresholds={"bleu": {"threshold": 1}}))
    assert refused.status_code == 422 and "not a metric of serving" in refused.text, refused.text
