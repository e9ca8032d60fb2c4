"""What the simulation tests share: a CartPole policy that balances and one that falls (cartpole_policy.py, logged
as MLflow models-from-code), registered through the MLflow client or saved to a folder for running the simulation
runner directly."""
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

POLICY_CODE = Path(__file__).with_name("cartpole_policy.py")
# Pinned by hand so that MLflow does not start a subprocess to infer them from the code's imports.
REQUIREMENTS = [f"mlflow-skinny=={mlflow.__version__}", f"numpy=={np.__version__}", f"pandas=={pd.__version__}"]


def register_cartpole_policies(prefix, policies=("good", "bad")):
    """Registers `{prefix}-good` (balances CartPole for 500 steps, near the centre, under the test scenarios'
    perturbations) and `{prefix}-bad` (falls within about ten steps), each logged in its own run of the current
    experiment; returns {"good": "models:/{prefix}-good/N", "bad": ...}."""
    uris = {}
    for policy in policies:
        name = f"{prefix}-{policy}"
        with mlflow.start_run():
            info = mlflow.pyfunc.log_model(name="model", python_model=str(POLICY_CODE),
                                           model_config={"policy": policy}, pip_requirements=REQUIREMENTS,
                                           registered_model_name=name)
        uris[policy] = f"models:/{name}/{info.registered_model_version}"
    return uris


def save_cartpole_policy(path, policy):
    """Saves the `policy` ("good" or "bad") as an MLflow model folder at `path` (which must not exist yet)."""
    mlflow.pyfunc.save_model(str(path), python_model=str(POLICY_CODE), model_config={"policy": policy},
                             pip_requirements=REQUIREMENTS)
