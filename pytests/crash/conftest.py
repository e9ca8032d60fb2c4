"""Fixtures for the crash tests: a real `aitip serve` that a test kills with SIGKILL and starts again on the same
data directory and database. The database is SQLite unless AITIP_CRASH_DATABASE=postgres, which gives each test a
throwaway database on the server named by AITIP_TEST_POSTGRES_URL (scripts/crash-tests.sh)."""
import os
import pathlib
import signal
import socket
import subprocess
import time
import uuid

import pytest
import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = os.environ.get("AITIP_BIN", str(ROOT / ".build" / "debug" / "aitip"))
PASSWORD = "crash-admin-password"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, what, timeout=60.0, interval=0.05):
    """Polls `condition` until it returns something truthy, which it returns; fails the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


class Server:
    """One aitip server's lives: start, kill -9, start again, on one data directory and database."""

    def __init__(self, directory, database_url, extra_env):
        self.data = directory / "data"
        self.directory = directory
        self.database_url = database_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, AITIP_ADMIN_PASSWORD=PASSWORD, AITIP_LOG_LEVEL="warning", **extra_env)
        self.env.pop("AITIP_TOKEN", None)
        self.process = None
        self.lives = 0

    def start(self):
        self.lives += 1
        arguments = [BINARY, "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(self.data)]
        if self.database_url:
            arguments += ["--database-url", self.database_url]
        log = open(self.directory / f"server-{self.lives}.err", "wb")
        self.process = subprocess.Popen(arguments, env=self.env, stdout=subprocess.DEVNULL, stderr=log)

        def ready():
            if self.process.poll() is not None:
                pytest.fail(f"aitip exited with {self.process.returncode}: {self.log()}")
            try:
                return requests.get(self.url + "/readyz", timeout=1).status_code == 200
            except requests.RequestException:
                return False

        wait_until(ready, "the server to be ready")

    def kill(self):
        """SIGKILL: no shutdown handler runs, nothing is flushed or closed by the server."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def log(self):
        return (self.directory / f"server-{self.lives}.err").read_text(errors="replace")[-4000:]


class API:
    """Requests signed with an API key, which outlives every restart."""

    def __init__(self, server):
        self.server = server
        token = requests.post(server.url + "/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}).json()["access_token"]
        self.org = requests.get(server.url + "/api/v1/orgs", headers={"Authorization": f"Bearer {token}"}).json()["items"][0]["id"]
        created = requests.post(server.url + "/api/v1/auth/api-keys", headers={"Authorization": f"Bearer {token}"},
                                json={"name": "crash", "org_id": self.org})
        created.raise_for_status()
        self.key = created.json()["key"]
        self.headers = {"Authorization": f"Bearer {self.key}"}
        self.project = self.get("/api/v1/projects")["items"][0]["id"]

    def call(self, method, path, **kwargs):
        answer = requests.request(method, self.server.url + path, headers=self.headers, timeout=30, **kwargs)
        assert answer.ok, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json() if answer.content and answer.headers.get("content-type", "").startswith("application/json") else answer.text

    def get(self, path, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.call("POST", path, **kwargs)


def _psql(sql):
    subprocess.run(["psql", "-h", "127.0.0.1", "-p", os.environ.get("PGPORT", "55432"), "-U", "postgres", "-qc", sql],
                   env=dict(os.environ, PGPASSWORD="secret"), check=True, stdout=subprocess.DEVNULL)


@pytest.fixture
def make_server(tmp_path):
    """Builds the test's server (not started) with extra environment; stops it and drops its database afterwards."""
    made = []
    database = None
    if os.environ.get("AITIP_CRASH_DATABASE") == "postgres":
        admin = os.environ["AITIP_TEST_POSTGRES_URL"]
        database = "aitip_crash_" + uuid.uuid4().hex[:12]
        _psql(f"CREATE DATABASE {database}")

    def make(**extra_env):
        server = Server(tmp_path, admin.rsplit("/", 1)[0] + "/" + database if database else None, extra_env)
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()
    if database:
        _psql(f"DROP DATABASE {database} WITH (FORCE)")
