"""What the evaluation test and benchmark share: a model that thresholds one column (logged as MLflow
models-from-code), a generated held-out csv, and pushing that csv as a dataset version through the API."""
import hashlib
import io

import numpy as np
import requests

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


def push_dataset(base, headers, project, body, name, path="holdout.csv"):
    """A new csv dataset with one version `v1` holding `body` at `path`; returns its id."""
    dataset = requests.post(f"{base}/api/v1/projects/{project}/datasets", headers=headers, json={"name": name, "format": "csv"})
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
