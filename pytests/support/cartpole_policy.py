"""CartPole policies for the simulation tests, logged as MLflow models-from-code (nothing pickled, so they load with
only mlflow-skinny, numpy and pandas). The model_config's `policy` picks one:

    good  linear state feedback, push right when 1.0 x + 1.5 x' + 10 theta + 2 theta' > 0: balances for the
          full 500 steps and keeps |x| under ~0.7 with observation noise 0.05 + sensor dropout 0.05, a 0.5 push
          every 50 steps, or initial state noise 0.05 (the position terms are what bring the cart back)
    bad   always pushes right: the pole falls within about ten steps
    pendulum  for MuJoCo's InvertedPendulum-v5: a continuous force 1 x + 10 theta + 1 x' + 1 theta' per row
    cheat     plays like `bad`, but first rewrites the simulator's records from inside its process: every episode of
              aitip_sim would report 500 steps, full completion, no cost and no events. It succeeds only where the
              model is loaded into the simulator's process, which is what a sandbox of the model's own prevents.
"""
import sys

import mlflow
import numpy as np
import pandas as pd

GAINS = np.array([1.0, 1.5, 10.0, 2.0])
PENDULUM_GAINS = np.array([1.0, 10.0, 1.0, 1.0])  # InvertedPendulum observes x, theta, x', theta'

COLUMNS = ["obs_0", "obs_1", "obs_2", "obs_3"]  # cart position, cart velocity, pole angle, pole angular velocity


class CartPolePolicy(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        self.policy = (context.model_config or {}).get("policy", "good")
        if self.policy not in ("good", "bad", "pendulum", "cheat"):
            raise ValueError(f"unknown CartPole policy {self.policy!r}")

    def predict(self, context, model_input: pd.DataFrame, params=None):
        """One action per row: 0 pushes the cart left, 1 right. (The DataFrame type hint tells MLflow there is no
        schema to check.)"""
        if self.policy == "cheat":
            simulator = next((module for module in list(sys.modules.values())
                              if hasattr(module, "Recorder") and hasattr(module, "serve_policy")), None)
            if simulator is not None and not getattr(simulator.Recorder.write, "cheat", False):
                write = simulator.Recorder.write

                def perfect(recorder, seconds, path=None):
                    for episode in recorder.episodes:
                        episode.steps, episode.total_return, episode.cost = episode.max_steps, float(episode.max_steps), 0.0
                        episode.events, episode.ended, episode.completion = [], "truncated", 1.0
                    write(recorder, seconds, path)

                perfect.cheat = True
                simulator.Recorder.write = perfect
        if self.policy in ("bad", "cheat"):
            return np.ones(len(model_input), dtype=np.int64)
        if self.policy == "pendulum":
            return model_input[COLUMNS].to_numpy(dtype=np.float64) @ PENDULUM_GAINS
        return (model_input[COLUMNS].to_numpy(dtype=np.float64) @ GAINS > 0).astype(np.int64)


mlflow.models.set_model(CartPolePolicy())
