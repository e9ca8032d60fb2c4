"""Fixtures for the MLflow compatibility suite: a real `aitip serve` on a fresh database, and the real `mlflow`
client pointed at it with MLFLOW_TRACKING_URI. The database is SQLite unless AITIP_TEST_DATABASE_URL names another
(scripts/mlflow-compat.sh passes a throwaway PostgreSQL database)."""
import os
import pathlib
import sys

import pytest
import requests
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "pytests" / "support"))
from aitip_server import running_server  # noqa: E402
ADMIN_PASSWORD = "mlflow-admin-password"


@pytest.fixture(scope="session")
def server():
    database = os.environ.get("AITIP_TEST_DATABASE_URL")
    # Webhooks may reach the receivers these tests run on 127.0.0.1 (refused by default: webhook_allow_private).
    settings = {"AITIP_RATE_LIMIT": "0", "AITIP_WEBHOOK_ALLOW_PRIVATE": "true"}
    # Inference replicas run this Python (and its NumPy) read-only in their sandbox.
    settings["AITIP_SANDBOX_RO_PATHS"] = f"{sys.prefix},{sys.base_prefix}"
    with running_server(ADMIN_PASSWORD, settings, ["--database-url", database] if database else []) as (base, data):
        yield {"url": base, "data": data}


@pytest.fixture(scope="session")
def admin_token(server):
    answer = requests.post(server["url"] + "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    answer.raise_for_status()
    return answer.json()["access_token"]


@pytest.fixture(scope="module")
def api(server, admin_token):
    """The server's address, the admin's headers and the default project, for tests that call aitip's own API."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    project = next(p for p in requests.get(f"{server['url']}/api/v1/projects?limit=500", headers=headers).json()["items"]
                   if p["slug"] == "default")["id"]
    return {"base": server["url"], "headers": headers, "project": project, "data": server["data"]}


def unique(prefix):
    """A name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


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
