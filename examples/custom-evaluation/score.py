"""A custom evaluation script for aitip's `custom` benchmark (docs/evaluation.md, "Custom scripts").

aitip runs it once per model (the baseline first, then the candidate) with:
  AITIP_MODEL_DIR    the model version's files (here an MLflow model: it has an MLmodel file)
  AITIP_MODEL_ROLE   candidate or baseline
  AITIP_DATASET_DIR  the dataset version's files, labels included
  AITIP_RESULT_FILE  where to write the result, as JSON

It scores a binary classifier on the csv file of the dataset (label column `label`, optional `region`):
accuracy with a 95 % Wilson interval, and the Brier score (lower is better), overall and per region.
"""
import json
import math
import os
import pathlib

import pandas as pd
from mlflow.pyfunc import load_model


def wilson(successes, total, z=1.96):
    if total == 0:
        return 0.0, 0.0
    share = successes / total
    centre = (share + z * z / (2 * total)) / (1 + z * z / total)
    spread = z * math.sqrt(share * (1 - share) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return centre - spread, centre + spread


def metrics(labels, predicted):
    right = sum(1 for y, p in zip(labels, predicted) if int(p) == y)
    low, high = wilson(right, len(labels))
    brier = sum((float(p) - y) ** 2 for y, p in zip(labels, predicted)) / max(len(labels), 1)
    return {
        "accuracy": {"value": right / len(labels), "ci_low": low, "ci_high": high, "greater_is_better": True},
        "brier": {"value": brier, "greater_is_better": False},
    }


data_dir = pathlib.Path(os.environ["AITIP_DATASET_DIR"])
table = next(data_dir.rglob("*.csv"))
frame = pd.read_csv(table)
labels = frame.pop("label").astype(int).tolist()
predicted = list(load_model(os.environ["AITIP_MODEL_DIR"]).predict(frame))

result = {"rows": len(labels), "metrics": metrics(labels, predicted), "slices": []}
if "region" in frame:
    for region in sorted(frame["region"].unique()):
        rows = [i for i, value in enumerate(frame["region"]) if value == region]
        result["slices"].append({
            "column": "region", "value": str(region), "rows": len(rows),
            "metrics": metrics([labels[i] for i in rows], [predicted[i] for i in rows]),
        })

pathlib.Path(os.environ["AITIP_RESULT_FILE"]).write_text(json.dumps(result))
print(f"{os.environ['AITIP_MODEL_ROLE']}: accuracy {result['metrics']['accuracy']['value']:.4f} on {len(labels)} rows ({table.name})")
