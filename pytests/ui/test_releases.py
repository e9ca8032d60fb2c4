"""The releases page in real Chromium against a real aitip: a release of a canary (deployed with no replica, so the
flow is the pipeline's, not a model's) is deployed, promoted and rolled back from its page, which shows the stages,
the canary's share, the gates and the timeline as they change. Screenshot to docs/screenshots/releases.png."""
from selenium.webdriver.common.by import By

from conftest import ADMIN_PASSWORD, SCREENSHOTS
from test_console import api, console_errors, sign_in, upload, visible, wait
from test_testing import model_version


def release_of_idle_services(server, name, **extra):
    """A release (no approval needed, promoted by hand) of a canary of a stable service, both deployed with no replica:
    the flow is the pipeline's, not a model's. Answers the admin's token, the project and the release."""
    token = api(server, "POST", "/api/v1/auth/login", body={"username": "admin", "password": ADMIN_PASSWORD})["access_token"]
    project = next(p for p in api(server, "GET", "/api/v1/projects?limit=500", token)["items"] if p["slug"] == "default")["id"]
    model_version(server, token, name, {"MLmodel": b"flavors: {}\n"})

    def service(service_name, **fields):
        return api(server, "POST", "/api/v1/inference/services", token, {
            "project_id": project, "name": service_name, "model": f"models:/{name}/1", "runtime": "process", "replicas": 0,
            "min_replicas": 0, "runtime_config": {"command": "exec sleep 600"}, **fields})["id"]

    stable = service(name)
    canary = service(f"{name}-v2", parent_service_id=stable, traffic_percentage=0)
    release = api(server, "POST", "/api/v1/releases", token, {
        "project_id": project, "name": name, "version": "2.0", "service_id": stable, "canary_service_id": canary,
        "approval_policy": {"required": 0}, "analysis": {"auto_promote": False}, **extra})
    return token, project, release


def test_a_release_is_deployed_promoted_and_rolled_back_from_its_page(server, browser):
    token, project, release = release_of_idle_services(server, "ui-ranker", canary_stages=[10, 50, 100])

    sign_in(browser, server)
    visible(browser, By.LINK_TEXT, "Releases").click()
    visible(browser, By.LINK_TEXT, "ui-ranker").click()
    assert visible(browser, By.CSS_SELECTOR, "[aria-label='Status']").text == "approved"
    assert browser.find_element(By.CSS_SELECTOR, "ol[aria-label='Stages']").text.split("\n") == ["10 %", "50 %", "100 %"]
    assert "No gates." in browser.find_element(By.CSS_SELECTOR, "table[aria-label='Gates']").text

    visible(browser, By.XPATH, "//button[text()='Deploy']").click()
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[aria-label='Status']").text == "canary")
    assert browser.find_element(By.CSS_SELECTOR, "[aria-label='Canary share']").text == "10 %"
    assert browser.find_element(By.CSS_SELECTOR, ".stages li.current").text == "10 %"
    # Live charts of the canary against the stable version, read from the gateway every 2 s.
    charts = lambda d: d.find_elements(By.CSS_SELECTOR, "[aria-label='Live metrics'] figure.metric-chart")  # noqa: E731
    wait(browser, lambda d: len(charts(d)) == 3 and int(charts(d)[0].get_attribute("data-drawn") or 0) >= 4)
    described = charts(browser)[0].find_element(By.TAG_NAME, "canvas").get_attribute("aria-label")
    assert "stable" in described and "canary models:/ui-ranker/1" in described, described
    visible(browser, By.XPATH, "//button[text()='Promote']").click()
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[aria-label='Canary share']").text == "50 %")
    assert browser.find_element(By.CSS_SELECTOR, ".stages li.done").text == "10 %"
    browser.save_screenshot(str(SCREENSHOTS / "releases.png"))

    visible(browser, By.XPATH, "//button[text()='Roll back']").click()
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[aria-label='Status']").text == "rolled back")
    assert browser.find_element(By.CSS_SELECTOR, "[aria-label='Canary share']").text == "0 %"
    timeline = browser.find_element(By.CSS_SELECTOR, "table[aria-label='Timeline']").text
    for step in ("created", "deployed", "promoted", "rolled back"):
        assert step in timeline, timeline
    assert "rolled back from the console" in timeline
    # Deploy again: a rolled-back release is retried.
    assert visible(browser, By.XPATH, "//button[text()='Deploy']").is_enabled()
    assert release["id"] in browser.current_url
    assert console_errors(browser) == []


def test_a_firmware_release_shows_its_artifact_and_deploy_step(server, browser):
    token = api(server, "POST", "/api/v1/auth/login", body={"username": "admin", "password": ADMIN_PASSWORD})["access_token"]
    project = next(p for p in api(server, "GET", "/api/v1/projects?limit=500", token)["items"] if p["slug"] == "default")["id"]
    dataset = api(server, "POST", f"/api/v1/projects/{project}/datasets", token, {"name": "ui-firmware", "format": "mixed"})
    api(server, "POST", f"/api/v1/datasets/{dataset['id']}/versions", token,
        {"version": "v1", "changes": "first", "files": [upload(server, token, dataset["id"], "fw.bin", b"\x7fELF firmware")]})
    release = api(server, "POST", "/api/v1/releases", token, {
        "project_id": project, "name": "ui-fleet", "version": "2.4", "release_type": "firmware", "approval_policy": {"required": 0},
        "canary_stages": [10, 100], "artifact": {"dataset_id": dataset["id"], "path": "fw.bin"},
        "deploy_target": {"type": "webhook", "url": "https://ota.example.com/aitip", "secret": "s"}})

    sign_in(browser, server)
    browser.get(f"{server}/#/releases/{release['id']}")
    facts = visible(browser, By.CSS_SELECTOR, "[aria-label='Deploy step']").text
    assert "ui-firmware v1 / fw.bin" in facts and release["artifact"]["sha256"] in facts, facts
    assert "POST to https://ota.example.com/aitip, signed" in facts and "not yet" in facts, facts
    assert not browser.find_elements(By.CSS_SELECTOR, "[aria-label='Live metrics']")
    assert console_errors(browser) == []
