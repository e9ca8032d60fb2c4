"""The real `mlflow` client against aitip, unchanged: only MLFLOW_TRACKING_URI and credentials point it here."""
import hashlib
import json
import math
import os
import pathlib

import pytest
import requests
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from receiver import Receiver, signature

import mlflow
from conftest import unique


def test_experiment_lifecycle():
    client = MlflowClient()
    name = unique("exp")
    experiment_id = mlflow.create_experiment(name, tags={"team": "vision"})
    experiment = client.get_experiment(experiment_id)
    assert experiment.name == name
    assert experiment.tags["team"] == "vision"
    assert experiment.lifecycle_stage == "active"
    assert client.get_experiment_by_name(name).experiment_id == experiment_id

    client.rename_experiment(experiment_id, name + "-renamed")
    client.set_experiment_tag(experiment_id, "stage", "research")
    experiment = client.get_experiment(experiment_id)
    assert experiment.name == name + "-renamed" and experiment.tags["stage"] == "research"

    client.delete_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "deleted"
    active = [e.experiment_id for e in client.search_experiments()]
    deleted = [e.experiment_id for e in client.search_experiments(view_type=mlflow.entities.ViewType.DELETED_ONLY)]
    assert experiment_id not in active and experiment_id in deleted
    client.restore_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "active"

    with pytest.raises(MlflowException) as duplicate:
        mlflow.create_experiment(name + "-renamed")
    assert duplicate.value.error_code == "RESOURCE_ALREADY_EXISTS"
    assert client.get_experiment_by_name(unique("missing")) is None


def test_run_lifecycle_params_metrics_tags():
    mlflow.set_experiment(unique("runs"))
    with mlflow.start_run(run_name="baseline", tags={"owner": "ana"}) as run:
        mlflow.log_param("lr", 0.01)
        mlflow.log_params({"optimizer": "adam", "layers": 4})
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"acc": 0.91, "f1": 0.88})
        mlflow.set_tag("stage", "dev")
        run_id = run.info.run_id
    fetched = MlflowClient().get_run(run_id)
    assert fetched.info.status == "FINISHED" and fetched.info.end_time is not None
    assert fetched.info.run_name == "baseline"
    assert fetched.data.params == {"lr": "0.01", "optimizer": "adam", "layers": "4"}
    assert fetched.data.metrics["loss"] == pytest.approx(0.2)  # the latest step's value
    assert fetched.data.metrics["acc"] == pytest.approx(0.91)
    assert fetched.data.tags["owner"] == "ana" and fetched.data.tags["stage"] == "dev"
    assert fetched.data.tags["mlflow.runName"] == "baseline"

    client = MlflowClient()
    client.delete_tag(run_id, "stage")
    assert "stage" not in client.get_run(run_id).data.tags
    with pytest.raises(MlflowException) as changed:
        client.log_param(run_id, "lr", "0.02")
    assert changed.value.error_code == "INVALID_PARAMETER_VALUE"

    client.delete_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    with pytest.raises(MlflowException):
        client.log_metric(run_id, "late", 1.0)
    client.restore_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "active"


def test_log_batch_and_history_paging():
    client = MlflowClient()
    experiment_id = client.create_experiment(unique("batch"))
    run = client.create_run(experiment_id)
    metrics = [Metric("loss", 1.0 / (i + 1), 1_700_000_000_000 + i, i) for i in range(3000)]
    client.log_batch(run.info.run_id, metrics=metrics, params=[Param("p", "1")], tags=[RunTag("t", "x")])
    history = client.get_metric_history(run.info.run_id, "loss")
    assert len(history) == 3000
    assert [m.step for m in history] == list(range(3000))
    assert history[10].value == pytest.approx(1.0 / 11)

    # Paging as the client does it: max_results + next_page_token.
    from mlflow.tracking._tracking_service.utils import _get_store
    store = _get_store()
    page = store.get_metric_history(run.info.run_id, "loss", max_results=1000)
    assert len(page) == 1000 and page.token
    second = store.get_metric_history(run.info.run_id, "loss", max_results=1000, page_token=page.token)
    assert second[0].step == 1000


def test_batch_limits_are_mlflows(server):
    client = MlflowClient()
    run = client.create_run(client.create_experiment(unique("limits")))
    body = {"run_id": run.info.run_id, "metrics": [{"key": "m", "value": 1, "timestamp": 1, "step": i} for i in range(1001)]}
    answer = requests.post(server["url"] + "/api/2.0/mlflow/runs/log-batch", json=body, auth=("admin", os.environ["MLFLOW_TRACKING_PASSWORD"]))
    assert answer.status_code == 400
    assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "at most 1000 metrics" in answer.json()["message"]
    params = {"run_id": run.info.run_id, "params": [{"key": f"p{i}", "value": "v"} for i in range(101)]}
    answer = requests.post(server["url"] + "/api/2.0/mlflow/runs/log-batch", json=params, auth=("admin", os.environ["MLFLOW_TRACKING_PASSWORD"]))
    assert answer.status_code == 400 and answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert client.get_run(run.info.run_id).data.params == {}  # nothing of a refused batch was written
    repeated = {"run_id": run.info.run_id, "tags": [{"key": "t", "value": "first"}, {"key": "t", "value": "last"}],
                "params": [{"key": "p", "value": "same"}, {"key": "p", "value": "same"}]}
    answer = requests.post(server["url"] + "/api/2.0/mlflow/runs/log-batch", json=repeated, auth=("admin", os.environ["MLFLOW_TRACKING_PASSWORD"]))
    assert answer.status_code == 200, answer.text
    data = client.get_run(run.info.run_id).data
    assert data.tags["t"] == "last" and data.params["p"] == "same"


def test_an_exact_duplicate_point_is_stored_once():
    client = MlflowClient()
    run_id = client.create_run(client.create_experiment(unique("duplicates"))).info.run_id
    moment = 1_700_000_000_000
    client.log_metric(run_id, "loss", 0.5, timestamp=moment, step=1)
    client.log_metric(run_id, "loss", 0.5, timestamp=moment, step=1)
    client.log_metric(run_id, "loss", 0.4, timestamp=moment, step=1)  # another value: another point
    client.log_batch(run_id, metrics=[Metric("loss", 0.5, moment, 1), Metric("loss", 0.3, moment + 1, 2), Metric("loss", 0.3, moment + 1, 2)])
    history = client.get_metric_history(run_id, "loss")
    assert sorted((m.step, m.timestamp, m.value) for m in history) == [(1, moment, 0.4), (1, moment, 0.5), (2, moment + 1, 0.3)]


def test_nan_and_infinity_round_trip():
    client = MlflowClient()
    run = client.create_run(client.create_experiment(unique("nan")))
    client.log_metric(run.info.run_id, "nan", float("nan"), step=0)
    client.log_metric(run.info.run_id, "pinf", float("inf"), step=0)
    client.log_metric(run.info.run_id, "ninf", float("-inf"), step=0)
    metrics = client.get_run(run.info.run_id).data.metrics
    assert math.isnan(metrics["nan"])
    assert metrics["pinf"] == math.inf and metrics["ninf"] == -math.inf
    assert math.isnan(client.get_metric_history(run.info.run_id, "nan")[0].value)


def test_search_runs_filters_order_and_pages():
    client = MlflowClient()
    experiment_id = client.create_experiment(unique("search"))
    for index in range(12):
        run = client.create_run(experiment_id, run_name=f"r{index:02d}", tags={"parity": "even" if index % 2 == 0 else "odd"})
        client.log_batch(run.info.run_id, metrics=[Metric("acc", index / 10, 0, 0)],
                         params=[Param("model", "resnet" if index < 6 else "vit")])
        if index == 3:
            client.set_terminated(run.info.run_id, "FAILED")

    def names(runs):
        return [r.info.run_name for r in runs]

    best = client.search_runs([experiment_id], "metrics.acc > 0.75", order_by=["metrics.acc DESC"])
    assert names(best) == ["r11", "r10", "r09", "r08"]
    assert names(client.search_runs([experiment_id], "params.model = 'vit' AND tags.parity = 'odd'", order_by=["metrics.acc ASC"])) == ["r07", "r09", "r11"]
    assert names(client.search_runs([experiment_id], "params.model LIKE 'res%' AND metrics.acc <= 0.1", order_by=["attributes.run_name"])) == ["r00", "r01"]
    assert names(client.search_runs([experiment_id], "params.model ILIKE 'VIT' AND metrics.acc < 0.7")) == ["r06"]
    assert names(client.search_runs([experiment_id], "attributes.status = 'FAILED'")) == ["r03"]
    assert len(client.search_runs([experiment_id], "attributes.run_name IN ('r01', 'r02', 'nope')")) == 2
    assert len(client.search_runs([experiment_id], "tags.`parity` != 'odd'")) == 6

    first = client.search_runs([experiment_id], order_by=["metrics.acc DESC"], max_results=5)
    assert len(first) == 5 and first.token
    second = client.search_runs([experiment_id], order_by=["metrics.acc DESC"], max_results=5, page_token=first.token)
    assert names(first) + names(second) == [f"r{i:02d}" for i in range(11, 1, -1)]

    frame = mlflow.search_runs([experiment_id], filter_string="metrics.acc >= 1.0")
    assert list(frame["tags.mlflow.runName"]) == ["r10", "r11"] or sorted(frame["tags.mlflow.runName"]) == ["r10", "r11"]

    with pytest.raises(MlflowException) as bad:
        client.search_runs([experiment_id], "metrics.acc >> 1")
    assert bad.value.error_code == "INVALID_PARAMETER_VALUE"


def test_artifacts_files_directories_nested(tmp_path):
    (tmp_path / "config.json").write_text('{"a": 1}')
    nested = tmp_path / "plots" / "deep"
    nested.mkdir(parents=True)
    (nested / "curve.txt").write_text("0.1,0.2")
    (tmp_path / "plots" / "summary.txt").write_text("ok")
    mlflow.set_experiment(unique("artifacts"))
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(tmp_path / "config.json"))
        mlflow.log_artifacts(str(tmp_path / "plots"), artifact_path="plots")
        mlflow.log_text("hello", "notes/readme.txt")
        mlflow.log_dict({"k": [1, 2]}, "meta/data.json")
    client = MlflowClient()
    top = {(f.path, f.is_dir) for f in client.list_artifacts(run.info.run_id)}
    assert top == {("config.json", False), ("plots", True), ("notes", True), ("meta", True)}
    assert {f.path for f in client.list_artifacts(run.info.run_id, "plots")} == {"plots/deep", "plots/summary.txt"}
    # MLflow's own listing route (its UI and older clients), paths relative to the run's artifact root.
    listed = requests.get(os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/artifacts/list", params={"run_id": run.info.run_id, "path": "plots"},
                          auth=("admin", os.environ["MLFLOW_TRACKING_PASSWORD"])).json()
    assert listed["root_uri"] == run.info.artifact_uri
    assert {(f["path"], f["is_dir"], f.get("file_size")) for f in listed["files"]} == {("plots/deep", True, None), ("plots/summary.txt", False, 2)}
    escaped = requests.get(os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/artifacts/list", params={"run_id": run.info.run_id, "path": "../.."},
                           auth=("admin", os.environ["MLFLOW_TRACKING_PASSWORD"]))
    assert escaped.status_code == 400 and escaped.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    target = tmp_path / "download"
    target.mkdir()
    local = client.download_artifacts(run.info.run_id, "plots", str(target))
    assert open(os.path.join(local, "deep", "curve.txt")).read() == "0.1,0.2"
    assert mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/notes/readme.txt") == "hello"
    assert mlflow.artifacts.load_dict(f"runs:/{run.info.run_id}/meta/data.json") == {"k": [1, 2]}


def test_a_file_over_1_gb_goes_up_in_parts_and_comes_back_whole(tmp_path, server, admin_token):
    """The client sends files of 500 MB and more in parts when server-info offers it; here 1 GiB and a bit."""
    from mlflow.environment_variables import MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE
    size = (1 << 30) + 12_345
    source = tmp_path / "weights.bin"
    sent = hashlib.sha256()
    block = os.urandom(16 << 20)
    with open(source, "wb") as out:
        left = size
        while left:
            chunk = block[:min(left, len(block))]
            out.write(chunk)
            sent.update(chunk)
            left -= len(chunk)
    mlflow.set_experiment(unique("large"))
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(source), artifact_path="model")
    source.unlink()
    parts = math.ceil(size / MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE.get())
    audit = requests.get(server["url"] + "/api/v1/audit", params={"action": "artifact.upload", "limit": 500},
                         headers={"Authorization": f"Bearer {admin_token}"}).json()["items"]
    uploads = [e for e in audit if e["target_id"].endswith(f"{run.info.run_id}/artifacts/model/weights.bin")]
    assert [e["detail"] for e in uploads] == [f"{size} bytes in {parts} parts"]
    client = MlflowClient()
    assert [(f.path, f.file_size) for f in client.list_artifacts(run.info.run_id, "model")] == [("model/weights.bin", size)]
    local = client.download_artifacts(run.info.run_id, "model/weights.bin", str(tmp_path))
    received = hashlib.sha256()
    with open(local, "rb") as back:
        for chunk in iter(lambda: back.read(16 << 20), b""):
            received.update(chunk)
    assert os.path.getsize(local) == size and received.hexdigest() == sent.hexdigest()


def test_dataset_inputs_and_logged_models_show_on_the_native_run(server, admin_token):
    import pandas as pd
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    dataset = mlflow.data.from_pandas(frame, source="https://data.example/train.csv", name="train-set")
    mlflow.set_experiment(unique("inputs"))
    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training")
        mlflow.log_metric("m", 1.0)
    native = requests.get(f"{server['url']}/api/v1/runs/{run.info.run_id}", headers={"Authorization": f"Bearer {admin_token}"}).json()
    [logged] = native["datasets"]
    assert (logged["name"], logged["digest"], logged["context"]) == ("train-set", dataset.digest, "training")
    assert json.loads(logged["profile"])["num_rows"] == 3 and json.loads(logged["source"])["url"] == "https://data.example/train.csv"
    # What MLflow's own client reads back is unchanged.
    assert MlflowClient().get_run(run.info.run_id).inputs.dataset_inputs[0].dataset.digest == dataset.digest


def test_artifact_paths_cannot_escape(server):
    client = MlflowClient()
    experiment_id = client.create_experiment(unique("escape"))
    run = client.create_run(experiment_id)
    auth = ("admin", os.environ["MLFLOW_TRACKING_PASSWORD"])
    base = f"{server['url']}/api/2.0/mlflow-artifacts/artifacts/{experiment_id}/{run.info.run_id}/artifacts"
    for path in ["..%2F..%2F..%2Fescaped.txt", "a/..%2F..%2F..%2F..%2Fescaped.txt", "%2Fetc%2Fescaped.txt"]:
        answer = requests.put(f"{base}/{path}", data=b"x", auth=auth)
        assert answer.status_code in (400, 404), (path, answer.status_code)
    listing = requests.get(f"{server['url']}/api/2.0/mlflow-artifacts/artifacts", params={"path": f"{experiment_id}/../.."}, auth=auth)
    assert listing.status_code == 400
    assert not any(p.name == "escaped.txt" for p in server["data"].rglob("escaped.txt"))
    assert not os.path.exists("/etc/escaped.txt")


def test_sklearn_model_register_alias_load_predict():
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    features = np.array([[0.0, 0.1], [0.2, 0.1], [0.9, 1.0], [1.0, 0.8]])
    labels = np.array([0, 0, 1, 1])
    model = LogisticRegression().fit(features, labels)
    mlflow.set_experiment(unique("registry"))
    name = unique("classifier")
    with mlflow.start_run() as run:
        for step in range(3):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        info = mlflow.sklearn.log_model(model, name="model", input_example=features[:1])
    # The client sends the run's metrics again with the model: each point is still there once.
    assert len(MlflowClient().get_metric_history(run.info.run_id, "loss")) == 3
    version = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
    assert version.version == "1"
    client = MlflowClient()
    client.set_registered_model_alias(name, "champion", version.version)
    client.set_model_version_tag(name, version.version, "validated", "yes")
    by_alias = client.get_model_version_by_alias(name, "champion")
    assert by_alias.version == "1" and by_alias.tags["validated"] == "yes"
    assert by_alias.run_id == run.info.run_id

    loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    assert list(loaded.predict(features)) == [0, 0, 1, 1]
    assert list(mlflow.sklearn.load_model(info.model_uri).predict(features)) == [0, 0, 1, 1]

    second = client.create_model_version(name, f"models:/{info.model_id}", run_id=run.info.run_id)
    assert second.version == "2"
    client.transition_model_version_stage(name, "2", "Production")
    assert client.get_model_version(name, "2").current_stage == "Production"
    assert {m.name for m in client.search_registered_models(f"name = '{name}'")} == {name}
    assert {v.version for v in client.search_model_versions(f"name = '{name}'")} == {"1", "2"}
    client.delete_registered_model_alias(name, "champion")
    with pytest.raises(MlflowException):
        client.get_model_version_by_alias(name, "champion")
    client.rename_registered_model(name, name + "-v2")
    assert client.get_registered_model(name + "-v2").name == name + "-v2"
    client.delete_model_version(name + "-v2", "2")
    client.delete_registered_model(name + "-v2")
    with pytest.raises(MlflowException) as gone:
        client.get_registered_model(name + "-v2")
    assert gone.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_api_key_as_tracking_token(server, admin_token, monkeypatch):
    answer = requests.post(server["url"] + "/api/v1/auth/api-keys", json={"name": unique("mlflow")},
                           headers={"Authorization": f"Bearer {admin_token}"})
    answer.raise_for_status()
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME")
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", answer.json()["key"])
    experiment_id = MlflowClient().create_experiment(unique("token"))
    assert MlflowClient().get_experiment(experiment_id).lifecycle_stage == "active"


def test_unauthenticated_and_wrong_password_are_refused(server, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "wrong")
    with pytest.raises(MlflowException) as refused:
        MlflowClient().create_experiment(unique("nope"))
    assert "401" in str(refused.value) or refused.value.error_code == "UNAUTHENTICATED"
    answer = requests.post(server["url"] + "/api/2.0/mlflow/experiments/search", json={})
    assert answer.status_code == 401 and answer.json()["error_code"] == "UNAUTHENTICATED"


def test_project_scoped_tracking_uri(server, admin_token, monkeypatch):
    headers = {"Authorization": f"Bearer {admin_token}"}
    slug = unique("vision")
    requests.post(server["url"] + "/api/v1/projects", json={"name": slug, "slug": slug}, headers=headers).raise_for_status()
    scoped = f"{server['url']}/mlflow/default/{slug}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", scoped)
    mlflow.set_tracking_uri(scoped)
    name = unique("scoped")
    mlflow.set_experiment(name)
    with mlflow.start_run():
        mlflow.log_metric("x", 1.0)
        mlflow.log_text("in project", "file.txt")
    # Visible through the scoped URI, not in the default project.
    assert MlflowClient(scoped).get_experiment_by_name(name) is not None
    assert MlflowClient(server["url"]).get_experiment_by_name(name) is None
    missing = requests.get(f"{server['url']}/mlflow/default/no-such-project/api/2.0/mlflow/experiments/get-by-name",
                           params={"experiment_name": name}, auth=("admin", os.environ["MLFLOW_TRACKING_PASSWORD"]))
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_default_experiment_and_server_info(server):
    with mlflow.start_run(experiment_id="0") as run:
        mlflow.log_metric("m", 2.0)
    experiment = MlflowClient().get_experiment(run.info.experiment_id)
    assert experiment.name == "Default"
    info = requests.get(server["url"] + "/api/3.0/mlflow/server-info").json()
    assert info["multipart_uploads_enabled"] is True


def test_legacy_log_model_records_history(server):
    client = MlflowClient()
    run = client.create_run(client.create_experiment(unique("legacy")))
    auth = ("admin", os.environ["MLFLOW_TRACKING_PASSWORD"])
    for flavor in ("sklearn", "onnx"):
        answer = requests.post(server["url"] + "/api/2.0/mlflow/runs/log-model", auth=auth,
                               json={"run_id": run.info.run_id, "model_json": json.dumps({"artifact_path": "model", "flavors": {flavor: {}}})})
        assert answer.status_code == 200, answer.text
    history = json.loads(client.get_run(run.info.run_id).data.tags["mlflow.log-model.history"])
    assert [list(entry["flavors"]) for entry in history] == [["sklearn"], ["onnx"]]
    bad = requests.post(server["url"] + "/api/2.0/mlflow/runs/log-model", auth=auth, json={"run_id": run.info.run_id, "model_json": "{nope"})
    assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_registry_webhooks_are_signed_retried_and_managed():
    import time
    receiver = Receiver()
    client = MlflowClient()
    hook = client.create_webhook(name="registry", url=f"{receiver.base}/hook", secret="s3cret",
                                 events=["registered_model.created", "model_version.created"])
    assert hook.status.value == "ACTIVE" and {str(e) for e in hook.events} == {"registered_model.created", "model_version.created"}
    assert client.get_webhook(hook.webhook_id).url == f"{receiver.base}/hook"
    assert hook.webhook_id in [h.webhook_id for h in client.list_webhooks()]

    # test_webhook sends an example of the first event now and reports the answer.
    result = client.test_webhook(hook.webhook_id)
    assert result.success and result.response_status == 200
    receiver.wait_for("/hook")

    name = unique("hooked")
    client.create_registered_model(name)
    mlflow.set_experiment(unique("webhooks"))
    with mlflow.start_run() as run:
        mlflow.log_text("weights", "model/weights.txt")
    client.create_model_version(name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    deliveries = [json.loads(body) for _, _, body in receiver.wait_for("/hook", count=3)]
    created = next(d for d in deliveries if (d["entity"], d["action"], d["data"]["name"]) == ("model_version", "created", name))
    assert created["data"]["version"] == "1" and created["data"]["run_id"] == run.info.run_id
    assert created["data"]["source"] == f"runs:/{run.info.run_id}/model"
    assert any((d["entity"], d["action"], d["data"]["name"]) == ("registered_model", "created", name) for d in deliveries)

    # Every request is signed as MLflow signs it: v1,base64(HMAC-SHA256(secret, "<delivery id>.<timestamp>.<body>")).
    for _, headers, body in receiver.requests:
        assert headers["x-mlflow-signature"] == signature("s3cret", headers, body)
        assert abs(int(headers["x-mlflow-timestamp"]) - time.time()) < 120

    # A receiver that answers 503 is tried again with the same delivery id until it accepts.
    flaky = client.create_webhook(name="flaky", url=f"{receiver.base}/flaky/alias", events=["model_version_alias.created"])
    client.set_registered_model_alias(name, "champion", "1")
    attempts = receiver.wait_for("/flaky/alias", count=3)
    assert len({headers["x-mlflow-delivery-id"] for _, headers, _ in attempts}) == 1
    assert json.loads(attempts[-1][2])["data"] == {"name": name, "alias": "champion", "version": "1"}
    assert "x-mlflow-signature" not in attempts[0][1]  # no secret, no signature

    # Disabled, it is not called; deleted, it is gone.
    client.update_webhook(flaky.webhook_id, status="DISABLED")
    assert client.get_webhook(flaky.webhook_id).status.value == "DISABLED"
    client.set_registered_model_alias(name, "challenger", "1")
    time.sleep(2.5)
    assert len([r for r in receiver.requests if r[0] == "/flaky/alias"]) == 3
    client.delete_webhook(flaky.webhook_id)
    with pytest.raises(MlflowException, match="not found"):
        client.get_webhook(flaky.webhook_id)
    with pytest.raises(MlflowException, match="not a webhook event"):
        client.create_webhook(name="prompts", url=f"{receiver.base}/p", events=["prompt.created"])
    receiver.server.shutdown()


def test_traces_are_stored_searchable_and_come_back_as_a_span_tree(server, admin_token):
    client = MlflowClient()
    experiment_id = mlflow.set_experiment(unique("traces")).experiment_id

    @mlflow.trace(span_type="CHAIN")
    def pipeline(question):
        with mlflow.start_span(name="retrieve", span_type="RETRIEVER") as span:
            span.set_inputs({"query": question})
            span.set_outputs(["doc-1", "doc-2"])
        return answer(question)

    @mlflow.trace(name="answer", span_type="LLM")
    def answer(question):
        return question.upper()

    @mlflow.trace
    def broken(value):
        raise ValueError(f"cannot handle {value}")

    with mlflow.start_run() as run:
        assert pipeline("what is aitip?") == "WHAT IS AITIP?"
    ok_id = mlflow.get_last_active_trace_id()
    with pytest.raises(ValueError):
        broken(7)
    error_id = mlflow.get_last_active_trace_id()
    mlflow.flush_trace_async_logging()

    # The trace comes back whole: the client reads the summary from the server and the spans it uploaded.
    trace = mlflow.get_trace(ok_id)
    assert trace.info.state.value == "OK" and trace.info.experiment_id == experiment_id
    assert "what is aitip?" in trace.info.request_preview and "WHAT IS AITIP?" in trace.info.response_preview
    assert trace.info.trace_metadata["mlflow.sourceRun"] == run.info.run_id
    spans = {span.name: span for span in trace.data.spans}
    assert set(spans) == {"pipeline", "retrieve", "answer"}
    assert spans["retrieve"].parent_id == spans["pipeline"].span_id == spans["answer"].parent_id
    assert spans["retrieve"].inputs == {"query": "what is aitip?"} and spans["retrieve"].outputs == ["doc-1", "doc-2"]
    assert mlflow.get_trace(error_id).info.state.value == "ERROR"

    # Searchable by state, name, run, time and tags, in the order asked.
    def found(filter_string=None, **options):
        return [t.info.trace_id for t in mlflow.search_traces(locations=[experiment_id], filter_string=filter_string,
                                                              return_type="list", **options)]
    assert found(order_by=["timestamp_ms ASC"]) == [ok_id, error_id]
    assert found(order_by=["timestamp_ms DESC"]) == [error_id, ok_id]
    assert found("attributes.status = 'ERROR'") == [error_id]
    assert found("trace.name = 'pipeline'") == [ok_id]
    assert found(run_id=run.info.run_id) == [ok_id]
    assert found(f"metadata.`mlflow.sourceRun` = '{run.info.run_id}'") == [ok_id]
    assert found(f"trace.timestamp_ms > {trace.info.request_time + 10**9}") == []
    client.set_trace_tag(error_id, "triage", "needs-owner")
    assert found("tags.triage = 'needs-owner'") == [error_id]
    client.delete_trace_tag(error_id, "triage")
    assert found("tags.triage = 'needs-owner'") == []
    with pytest.raises(MlflowException, match="unknown trace attribute"):
        found("trace.colour = 'red'")

    # The console's view: the span tree from the native API, with the client's JSON attributes as written.
    headers = {"Authorization": f"Bearer {admin_token}"}
    native = requests.get(f"{server['url']}/api/v1/traces/{ok_id}", headers=headers).json()
    assert native["state"] == "OK" and native["name"] == "pipeline" and native["run_id"] == run.info.run_id
    by_name = {span["name"]: span for span in native["spans"]}
    assert by_name["retrieve"]["parent_span_id"] == by_name["pipeline"]["span_id"] and "parent_span_id" not in by_name["pipeline"]
    assert json.loads(by_name["retrieve"]["attributes"]["mlflow.spanInputs"]) == {"query": "what is aitip?"}
    listed = requests.get(f"{server['url']}/api/v1/experiments/{experiment_id}/traces", params={"filter": "status = 'OK'"},
                          headers=headers).json()
    assert [t["trace_id"] for t in listed["items"]] == [ok_id]
    audit = requests.get(server["url"] + "/api/v1/audit", params={"action": "trace.create", "limit": 500}, headers=headers).json()["items"]
    assert {ok_id, error_id} <= {entry["target_id"] for entry in audit}

    # Deleting traces removes them from searches and from the store.
    assert client.delete_traces(experiment_id, trace_ids=[error_id]) == 1
    assert found() == [ok_id]
    with pytest.raises(MlflowException, match="not found"):
        client.get_trace(error_id)


def test_a_model_trained_by_the_example_and_registered_by_the_client_serves_predictions(tmp_path, server, admin_token):
    """examples/train.py trains; the client logs its weights and registers them; the registered files, downloaded back
    through the client, are deployed with examples/serve.py by alias and answer through the gateway."""
    import subprocess
    import sys
    import tarfile
    import time

    examples = pathlib.Path(__file__).resolve().parents[2] / "examples"
    trained = tmp_path / "trained"
    trained.mkdir()
    subprocess.run([sys.executable, str(examples / "train.py")], check=True, capture_output=True,
                   env=dict(os.environ, AITIP_CHECKPOINT_DIR=str(trained), AITIP_JOB_CONFIG='{"epochs": 3}'))
    mlflow.set_experiment(unique("serving"))
    name = unique("logreg")
    with mlflow.start_run() as run:
        mlflow.log_param("epochs", 3)
        mlflow.log_artifact(str(trained / "logreg.npz"), artifact_path="model")
    client = MlflowClient()
    client.create_registered_model(name)
    version = client.create_model_version(name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    client.set_registered_model_alias(name, "champion", version.version)
    served = pathlib.Path(mlflow.artifacts.download_artifacts(f"models:/{name}@champion", dst_path=str(tmp_path / "registered")))
    package = tmp_path / "serving.tar.gz"
    with tarfile.open(package, "w:gz") as archive:
        archive.add(examples / "serve.py", arcname="serve.py")
        archive.add(served / "logreg.npz", arcname="logreg.npz")

    native = {"Authorization": f"Bearer {admin_token}"}
    project = next(p for p in requests.get(f"{server['url']}/api/v1/projects?limit=500", headers=native).json()["items"]
                   if p["slug"] == "default")["id"]
    code = requests.post(f"{server['url']}/api/v1/training/code?project_id={project}", data=package.read_bytes(),
                         headers={**native, "Content-Type": "application/gzip"}).json()["sha256"]
    created = requests.post(f"{server['url']}/api/v1/inference/services", headers=native, json={
        "project_id": project, "name": name, "model": f"models:/{name}@champion", "runtime": "process",
        "runtime_config": {"command": f"exec {sys.executable} serve.py", "code_archive": code},
        "resources": {"cpu": 0.2, "memory_mib": 512}})
    assert created.status_code == 201, created.text
    service = created.json()
    assert service["model_uri"] == f"models:/{name}/1"
    deadline = time.monotonic() + 120
    while requests.get(f"{server['url']}/api/v1/inference/services/{service['id']}", headers=native).json()["health_status"] != "healthy":
        assert time.monotonic() < deadline, requests.get(f"{server['url']}/api/v1/inference/services/{service['id']}/logs", headers=native).text
        time.sleep(0.3)
    # The same rows the example tests on: the served model agrees with the weights it was trained to.
    import numpy as np
    weights = np.load(trained / "logreg.npz")
    rows = np.random.default_rng(1).normal(size=(5, len(weights["weights"])))
    expected = 1.0 / (1.0 + np.exp(-(rows @ weights["weights"] + float(weights["bias"]))))
    answer = requests.post(f"{server['url']}/serve/{service['id']}/predict", headers=native, json={"inputs": rows.tolist()})
    assert answer.status_code == 200, answer.text
    assert answer.json()["model"] == f"models:/{name}/1"
    assert np.allclose(answer.json()["probabilities"], expected)
    assert requests.delete(f"{server['url']}/api/v1/inference/services/{service['id']}", headers=native).status_code == 204


MODEL_CODE = '''
import mlflow
import numpy as np


class Doubler(mlflow.pyfunc.PythonModel):
    """Twice each input column's value, plus the row's sum: enough to tell a served answer from a wrong one."""

    def predict(self, context, model_input):
        values = np.asarray(model_input, dtype=float)
        return (values * 2).sum(axis=1).tolist()


mlflow.models.set_model(Doubler())
'''


def test_an_mlflow_model_is_served_as_it_was_logged_by_the_mlflow_runtime(tmp_path, server, admin_token):
    """A pyfunc model logged and registered by the client is deployed with runtime mlflow (no server code of the
    user's): its files are packed by aitip and MLflow's scoring server answers /invocations through the gateway
    in the formats `mlflow models serve` takes. A version without an MLmodel is refused with the reason."""
    import sys
    import time

    import pandas as pd

    code = tmp_path / "doubler.py"
    code.write_text(MODEL_CODE)
    mlflow.set_experiment(unique("mlflow-runtime"))
    name = unique("doubler")
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(name="model", python_model=str(code), registered_model_name=name,
                                       input_example=pd.DataFrame({"a": [1.0], "b": [2.0]}))
    MlflowClient().set_registered_model_alias(name, "champion", "1")

    native = {"Authorization": f"Bearer {admin_token}"}
    project = next(p for p in requests.get(f"{server['url']}/api/v1/projects?limit=500", headers=native).json()["items"]
                   if p["slug"] == "default")["id"]
    created = requests.post(f"{server['url']}/api/v1/inference/services", headers=native, json={
        "project_id": project, "name": name, "model": f"models:/{name}@champion", "runtime": "mlflow",
        "runtime_config": {"python": sys.executable, "startup_timeout_seconds": 120},
        "resources": {"cpu": 0.5, "memory_mib": 1024}})
    assert created.status_code == 201, created.text
    service = created.json()
    assert service["runtime"] == "mlflow"
    assert service["runtime_config"]["command"] == f"exec {sys.executable} .aitip-mlflow-serve.py", service
    assert service["runtime_config"]["health_path"] == "/ping"
    assert len(service["runtime_config"]["code_archive"]) == 64
    deadline = time.monotonic() + 180
    while requests.get(f"{server['url']}/api/v1/inference/services/{service['id']}", headers=native).json()["health_status"] != "healthy":
        assert time.monotonic() < deadline, requests.get(f"{server['url']}/api/v1/inference/services/{service['id']}/logs", headers=native).text
        time.sleep(0.5)

    rows = pd.DataFrame({"a": [1.0, 2.5, -3.0], "b": [2.0, 0.5, 4.0]})
    expected = mlflow.pyfunc.load_model(info.model_uri).predict(rows)
    invocations = f"{server['url']}/serve/{service['id']}/invocations"
    split = requests.post(invocations, headers=native, json={"dataframe_split": rows.to_dict(orient="split")})
    assert split.status_code == 200, split.text
    assert split.json()["predictions"] == expected == [6.0, 6.0, 2.0]
    records = requests.post(invocations, headers=native, json={"dataframe_records": rows.to_dict(orient="records")})
    assert records.json()["predictions"] == expected, records.text
    csv = requests.post(invocations, headers={**native, "Content-Type": "text/csv"}, data=rows.to_csv(index=False))
    assert csv.json()["predictions"] == expected, csv.text
    # The model server's own refusal passes through as its status and message.
    wrong = requests.post(invocations, headers=native, json={"no_such_format": []})
    assert wrong.status_code == 400 and "dataframe_split" in wrong.text, wrong.text
    # The same version packs to the same package: a second service reuses the stored one.
    again = requests.post(f"{server['url']}/api/v1/inference/services", headers=native, json={
        "project_id": project, "name": name + "-b", "model": f"models:/{name}/1", "runtime": "mlflow", "runtime_config": {},
        "replicas": 0})
    assert again.status_code == 201, again.text
    assert again.json()["runtime_config"]["code_archive"] == service["runtime_config"]["code_archive"]
    assert again.json()["runtime_config"]["command"] == "exec python3 .aitip-mlflow-serve.py"

    # Files that are not an MLflow model, and settings the runtime owns, are refused before anything is created.
    plain = unique("plain")
    with mlflow.start_run() as run:
        (tmp_path / "weights.txt").write_text("1 2 3")
        mlflow.log_artifact(str(tmp_path / "weights.txt"), artifact_path="model")
    MlflowClient().create_registered_model(plain)
    MlflowClient().create_model_version(plain, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    for model, config, field, words in [
        (f"models:/{plain}/1", {}, "model", "no MLmodel"),
        (f"models:/{name}/1", {"command": "exec sh"}, "runtime_config", "aitip sets the command"),
        (f"models:/{name}/1", {"python": "python3; rm -rf /"}, "runtime_config.python", "interpreter"),
    ]:
        refused = requests.post(f"{server['url']}/api/v1/inference/services", headers=native, json={
            "project_id": project, "name": unique("refused"), "model": model, "runtime": "mlflow", "runtime_config": config})
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == field and words in refused.text, refused.text
    for created_id in (service["id"], again.json()["id"]):
        assert requests.delete(f"{server['url']}/api/v1/inference/services/{created_id}", headers=native).status_code == 204
