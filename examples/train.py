"""Logistic regression trained with mini-batch SGD in NumPy on a generated two-class dataset.

Runs as an aitip training job (or by hand). It reads its hyper-parameters from AITIP_JOB_CONFIG (JSON), prints
metrics as `aitip.metric key=value step=N` lines (shown by `GET /training/jobs/{id}/metrics`), checkpoints to
AITIP_CHECKPOINT_DIR after every epoch, and on SIGTERM (a stop or a preemption) writes a checkpoint and exits
143, so the next attempt resumes where this one stopped. Nothing is downloaded.

    python3 train.py                        # defaults
    AITIP_JOB_CONFIG='{"epochs": 30, "lr": 0.5}' python3 train.py
"""
import json
import os
import signal
import sys
import time

import numpy as np

config = {"epochs": 20, "lr": 0.3, "batch_size": 64, "samples": 4000, "features": 20, "seed": 7, "epoch_seconds": 0.0}
config.update(json.loads(os.environ.get("AITIP_JOB_CONFIG") or "{}"))
checkpoint_dir = os.environ.get("AITIP_CHECKPOINT_DIR", ".")
checkpoint = os.path.join(checkpoint_dir, "logreg.npz")

# The data: two Gaussian classes whose means differ along a random direction (the same every run).
rng = np.random.default_rng(config["seed"])
direction = rng.normal(size=config["features"])
labels = rng.integers(0, 2, size=config["samples"])
features = rng.normal(size=(config["samples"], config["features"])) + np.outer(labels * 2 - 1, direction) * 0.35
split = int(0.8 * config["samples"])
train_x, test_x, train_y, test_y = features[:split], features[split:], labels[:split], labels[split:]

weights = np.zeros(config["features"])
bias = 0.0
start_epoch = 0
if os.path.exists(checkpoint):
    saved = np.load(checkpoint)
    weights, bias, start_epoch = saved["weights"], float(saved["bias"]), int(saved["epoch"])
    print(f"resuming from the checkpoint after epoch {start_epoch}", flush=True)


def save(epoch):
    np.savez(checkpoint + ".tmp.npz", weights=weights, bias=bias, epoch=epoch)
    os.replace(checkpoint + ".tmp.npz", checkpoint)


stopping = False


def on_term(signum, frame):
    global stopping
    stopping = True


signal.signal(signal.SIGTERM, on_term)


def predict(x):
    return 1.0 / (1.0 + np.exp(-(x @ weights + bias)))


print(f"training logistic regression: {split} samples, {config['features']} features, "
      f"devices={os.environ.get('CUDA_VISIBLE_DEVICES', '')!r}", flush=True)
order_rng = np.random.default_rng(config["seed"] + 1)
for epoch in range(start_epoch, config["epochs"]):
    order = order_rng.permutation(split)
    for begin in range(0, split, config["batch_size"]):
        batch = order[begin:begin + config["batch_size"]]
        error = predict(train_x[batch]) - train_y[batch]
        weights -= config["lr"] * train_x[batch].T @ error / len(batch)
        bias -= config["lr"] * float(error.mean())
    probabilities = np.clip(predict(train_x), 1e-9, 1 - 1e-9)
    loss = float(-np.mean(train_y * np.log(probabilities) + (1 - train_y) * np.log(1 - probabilities)))
    accuracy = float(np.mean((predict(test_x) > 0.5) == test_y))
    print(f"epoch {epoch + 1}/{config['epochs']} loss {loss:.4f} test accuracy {accuracy:.3f}", flush=True)
    print(f"aitip.metric loss={loss:.6f} accuracy={accuracy:.6f} step={epoch + 1}", flush=True)
    save(epoch + 1)
    time.sleep(config["epoch_seconds"])
    if stopping:
        print(f"stop requested: checkpoint saved after epoch {epoch + 1}", flush=True)
        sys.exit(143)

print(f"done: test accuracy {accuracy:.3f}", flush=True)
