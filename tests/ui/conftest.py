"""Fixtures for the browser tests: a real `aitip serve` with the built web console, and headless Chromium."""
import os
import pathlib
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = pathlib.Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "ui-admin-password"
SCREENSHOTS = ROOT / "docs" / "screenshots"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def server():
    binary = os.environ.get("AITIP_BIN", str(ROOT / ".build" / "debug" / "aitip"))
    port = free_port()
    data = tempfile.mkdtemp(prefix="aitip-ui-")
    env = dict(os.environ, AITIP_ADMIN_PASSWORD=ADMIN_PASSWORD, AITIP_WEB_DIR=str(ROOT / "web" / "dist"),
               AITIP_LOG_LEVEL="warning")
    env.pop("AITIP_TOKEN", None)
    process = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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
    yield base
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture()
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def pytest_configure():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
