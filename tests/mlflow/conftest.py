"""Fixtures for the MLflow compatibility suite: a real `aitip serve` on a fresh database, and the real `mlflow`
client pointed at it with MLFLOW_TRACKING_URI. The database is SQLite unless AITIP_TEST_DATABASE_URL names another
(scripts/mlflow-compat.sh passes a throwaway PostgreSQL database)."""
import os
import pathlib
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest
import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "mlflow-admin-password"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def server():
    binary = os.environ.get("AITIP_BIN", str(ROOT / ".build" / "debug" / "aitip"))
    port = free_port()
    data = tempfile.mkdtemp(prefix="aitip-mlflow-")
    env = dict(os.environ, AITIP_ADMIN_PASSWORD=ADMIN_PASSWORD, AITIP_LOG_LEVEL="warning", AITIP_RATE_LIMIT="0")
    command = [binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data]
    if os.environ.get("AITIP_TEST_DATABASE_URL"):
        command += ["--database-url", os.environ["AITIP_TEST_DATABASE_URL"]]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=0.5)
            break
        except Exception:
            time.sleep(0.1)
    else:
        process.kill()
        raise RuntimeError("aitip did not start: " + process.stderr.read().decode())
    yield {"url": base, "data": pathlib.Path(data)}
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="session")
def admin_token(server):
    answer = requests.post(server["url"] + "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    answer.raise_for_status()
    return answer.json()["access_token"]


@pytest.fixture(autouse=True)
def tracking(server, monkeypatch):
    """Every test talks to aitip through the environment variables a user would set."""
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", server["url"])
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN_PASSWORD)
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    mlflow.set_tracking_uri(server["url"])
    yield
    while mlflow.active_run():
        mlflow.end_run()
