"""Fixtures for the browser tests: a real `aitip serve` with the built web console, and headless Chromium."""
import os
import pathlib
import sys

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "pytests" / "support"))
from aitip_server import running_server  # noqa: E402
ADMIN_PASSWORD = "ui-admin-password"
SCREENSHOTS = ROOT / "docs" / "screenshots"


@pytest.fixture(scope="session")
def server():
    # Every test signs in (its API calls and its browser), all from 127.0.0.1: more than the default 20 sign-ins a
    # minute per address allow once the suite grows. The limit itself is tested in the Swift suites.
    with running_server(ADMIN_PASSWORD, {"AITIP_WEB_DIR": str(ROOT / "web" / "dist"), "AITIP_SIMULATE_GPUS": "a100:2",
                                         "AITIP_GPU_PRICES": "a100=2.5", "AITIP_LOGIN_RATE_LIMIT": "600"}) as (base, _):
        yield base


def start_browser():
    """A fresh headless Chromium with its own profile (no cookies or storage shared with another)."""
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
    driver.implicitly_wait(0)
    return driver


@pytest.fixture()
def browser():
    driver = start_browser()
    yield driver
    driver.quit()


@pytest.fixture()
def second_browser():
    """Another person's browser, beside `browser`."""
    driver = start_browser()
    yield driver
    driver.quit()


def pytest_configure():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
