"""What the evaluation tests and benchmark share: a model that thresholds one column (logged as MLflow
models-from-code; a champion and a better candidate), a generated held-out csv, pushing that csv as a dataset version through the API, and waiting
for an evaluation's results."""
import hashlib
import io
import time

import mlflow
import numpy as np
import requests
from mlflow import MlflowClient

# Predicts 1 when x1 > THRESHOLD (a candidate at 0.0 is right far more often than a champion at 1.0).
THRESHOLD_MODEL = '''
import mlflow
import pandas as pd


class Threshold(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return (model_input["x1"] > {threshold}).astype(int)


mlflow.models.set_model(Threshold())
'''


def threshold_model_code(threshold):
    return THRESHOLD_MODEL.replace("{threshold}", str(threshold))


def register_threshold_models(folder, name):
    """Versions 1 (x1 > 1.0, the champion) and 2 (x1 > 0.0) of `name`, logged in the current experiment from code
    written to `folder`; returns version → run id."""
    runs = {}
    for version, threshold in ((1, 1.0), (2, 0.0)):
        code = folder / f"threshold_{version}.py"
        code.write_text(threshold_model_code(threshold))
        with mlflow.start_run() as run:
            mlflow.pyfunc.log_model(name="model", python_model=str(code), registered_model_name=name)
            runs[version] = run.info.run_id
    MlflowClient().set_registered_model_alias(name, "champion", "1")
    return runs


def held_out_csv(rows=400, seed=11):
    """x1 decides the label (with a little noise); region slices the rows. Returns (csv bytes, (x1, label, region))."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=rows)
    x2 = rng.normal(size=rows)
    label = (x1 + rng.normal(scale=0.3, size=rows) > 0).astype(int)
    region = np.where(rng.random(rows) < 0.5, "north", "south")
    out = io.StringIO()
    out.write("x1,x2,region,label\n")
    for row in zip(x1, x2, region, label):
        out.write(f"{row[0]:.6f},{row[1]:.6f},{row[2]},{row[3]}\n")
    return out.getvalue().encode(), (x1, label, region)


def push_dataset(base, headers, project, body, name, path="holdout.csv", format="csv"):
    """A new dataset (csv unless told) with one version `v1` holding `body` at `path`; returns its id."""
    dataset = requests.post(f"{base}/api/v1/projects/{project}/datasets", headers=headers, json={"name": name, "format": format})
    assert dataset.status_code == 201, dataset.text
    dataset_id = dataset.json()["id"]
    digest = hashlib.sha256(body).hexdigest()
    upload = requests.post(f"{base}/api/v1/datasets/{dataset_id}/uploads", headers=headers,
                           json={"sha256": digest, "size_bytes": len(body), "path": path}).json()
    if upload["status"] != "complete":
        sent = requests.put(f"{base}/api/v1/dataset-uploads/{upload['id']}", data=body,
                            headers={**headers, "Content-Type": "application/octet-stream", "Upload-Offset": "0"})
        assert sent.json()["status"] == "complete", sent.text
    version = requests.post(f"{base}/api/v1/datasets/{dataset_id}/versions", headers=headers, json={
        "version": "v1", "files": [{"path": path, "sha256": digest, "size_bytes": len(body)}]})
    assert version.status_code == 201, version.text
    return dataset_id


def wait_for_results(base, headers, job_id, seconds=240):
    """An evaluation's results once it is scored (or failed); the job's log in the failure message otherwise."""
    deadline = time.monotonic() + seconds
    while True:
        results = requests.get(f"{base}/api/v1/evaluation/jobs/{job_id}/results", headers=headers).json()
        if results["result_state"] != "pending":
            return results
        assert time.monotonic() < deadline, requests.get(f"{base}/api/v1/evaluation/jobs/{job_id}/logs", headers=headers).text
        time.sleep(0.5)
