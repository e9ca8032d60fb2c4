"""The inference page in real Chromium against a real aitip: a service with a 10 % canary, each running a sandboxed
replica (Python's standard library), called through the gateway; the page lists both, shows the replicas, the split
with what the gateway counted and live charts, scales the service to two replicas and stops it. Screenshot to
docs/screenshots/inference.png."""
import io
import json
import tarfile
import time
import urllib.error
import urllib.request

from selenium.webdriver.common.by import By

from conftest import ADMIN_PASSWORD, SCREENSHOTS
from test_console import api, console_errors, sign_in, visible, wait

REPLICA = b'''
import http.server, json, os, socketserver
SOCKET = os.environ["AITIP_SERVE_SOCKET"]
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args): pass
    def address_string(self): return "gateway"
    def reply(self, payload):
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self): self.reply({"ok": True})
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.reply({"service": os.environ["AITIP_SERVICE_NAME"]})
class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    def get_request(self):
        connection, _ = self.socket.accept()
        return connection, ("gateway", 0)
if os.path.exists(SOCKET): os.unlink(SOCKET)
Server(SOCKET, Handler).serve_forever()
'''


def upload_code(base, token, project):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        entry = tarfile.TarInfo("serve.py")
        entry.size = len(REPLICA)
        archive.addfile(entry, io.BytesIO(REPLICA))
    request = urllib.request.Request(f"{base}/api/v1/training/code?project_id={project}", method="POST", data=buffer.getvalue())
    request.add_header("Content-Type", "application/gzip")
    request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())["sha256"]


def invoke(base, token, service):
    request = urllib.request.Request(f"{base}/serve/{service}/predict", method="POST", data=b"{}")
    request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())["service"]


def test_inference_services_split_scale_and_stop(server, browser):
    token = api(server, "POST", "/api/v1/auth/login", body={"username": "admin", "password": ADMIN_PASSWORD})["access_token"]
    project = next(p for p in api(server, "GET", "/api/v1/projects?limit=500", token)["items"] if p["slug"] == "default")["id"]
    experiment = api(server, "POST", "/api/2.0/mlflow/experiments/create", token, {"name": "ui-serving"})["experiment_id"]
    run = api(server, "POST", "/api/2.0/mlflow/runs/create", token, {"experiment_id": experiment})["run"]["info"]["run_id"]
    api(server, "POST", "/api/2.0/mlflow/registered-models/create", token, {"name": "ui-model"})
    api(server, "POST", "/api/2.0/mlflow/model-versions/create", token, {"name": "ui-model", "source": f"runs:/{run}/model", "run_id": run})
    code = upload_code(server, token, project)
    body = {"project_id": project, "model": "models:/ui-model/1", "runtime": "process",
            "runtime_config": {"command": "exec python3 serve.py", "code_archive": code}, "resources": {"cpu": 0.1, "memory_mib": 128}}
    stable = api(server, "POST", "/api/v1/inference/services", token, {**body, "name": "ui-stable", "max_replicas": 3})
    canary = api(server, "POST", "/api/v1/inference/services", token,
                 {**body, "name": "ui-canary", "parent_service_id": stable["id"], "traffic_percentage": 10})
    deadline = time.monotonic() + 60
    while not all(api(server, "GET", f"/api/v1/inference/services/{s['id']}", token)["health_status"] == "healthy" for s in (stable, canary)):
        assert time.monotonic() < deadline, "the replicas did not become ready"
        time.sleep(0.3)
    answered = [invoke(server, token, stable["id"]) for _ in range(200)]
    assert set(answered) == {"ui-stable", "ui-canary"}

    sign_in(browser, server)
    visible(browser, By.LINK_TEXT, "Inference").click()
    services = lambda d: d.find_element(By.CSS_SELECTOR, "table[aria-label='Inference services']").text  # noqa: E731
    wait(browser, lambda d: "ui-stable" in services(d) and "ui-canary" in services(d) and "models:/ui-model/1" in services(d))
    visible(browser, By.XPATH, "//table[@aria-label='Inference services']//button[text()='ui-stable']").click()
    assert f"#/inference/{stable['id']}" in browser.current_url

    status = lambda d: d.find_element(By.CSS_SELECTOR, "[aria-label='Service status']").text  # noqa: E731
    wait(browser, lambda d: status(d) == "running")
    replicas = lambda d: d.find_element(By.CSS_SELECTOR, "table[aria-label='Replicas'] tbody").text  # noqa: E731
    wait(browser, lambda d: replicas(d).count("running ready") == 1)
    split = lambda d: d.find_element(By.CSS_SELECTOR, "table[aria-label='Traffic split'] tbody").text  # noqa: E731
    wait(browser, lambda d: "ui-stable 90 %" in split(d) and "ui-canary 10 %" in split(d))
    rows = browser.find_elements(By.CSS_SELECTOR, "table[aria-label='Traffic split'] tbody tr")
    counted = sum(int(row.find_elements(By.TAG_NAME, "td")[2].text) for row in rows)
    assert counted == 200, split(browser)
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "[aria-label='Live metrics'] figure.metric-chart")) == 3)
    browser.save_screenshot(str(SCREENSHOTS / "inference.png"))

    # Scale to two replicas from the page: the second one starts, is checked, and shows as ready.
    scale = browser.find_element(By.NAME, "replicas")
    scale.clear()
    scale.send_keys("2")
    browser.find_element(By.XPATH, "//form[@aria-label='Scale']//button[@type='submit']").click()
    wait(browser, lambda d: replicas(d).count("running ready") == 2, timeout=60)
    assert api(server, "GET", f"/api/v1/inference/services/{stable['id']}", token)["replicas"] == 2

    # Stop: the service is out of the gateway at once; the page offers Start.
    browser.find_element(By.XPATH, "//button[text()='Stop']").click()
    wait(browser, lambda d: status(d) == "stopped")
    visible(browser, By.XPATH, "//button[text()='Start']")
    try:
        invoke(server, token, stable["id"])
        raise AssertionError("a stopped service answered")
    except urllib.error.HTTPError as error:
        assert error.code == 503
    assert console_errors(browser) == []
