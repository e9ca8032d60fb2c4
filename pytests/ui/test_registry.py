"""Editing the model registry in real Chromium: a model's description, tags and aliases, a version's description and
tags, each answered by the server (a reserved alias shows its message and keeps what was typed), with version ids
shown so versions can be told apart. Screenshot: docs/screenshots/registry.png."""
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from conftest import ADMIN_PASSWORD, SCREENSHOTS
from test_console import api, console_errors, fits_width, sign_in, visible, wait
from test_runs_and_resources import default_project


def test_edit_descriptions_tags_and_aliases(server, browser):
    token = api(server, "POST", "/api/v1/auth/login", body={"username": "admin", "password": ADMIN_PASSWORD})["access_token"]
    project = default_project(server, token)
    experiment = api(server, "POST", f"/api/v1/projects/{project['id']}/experiments", token, {"name": "ui-registry"})
    run = api(server, "POST", f"/api/v1/experiments/{experiment['id']}/runs", token, {"name": "trainer"})
    mlflow = "/mlflow/default/default/api/2.0/mlflow"
    api(server, "POST", f"{mlflow}/registered-models/create", token, {"name": "ui-ranker"})
    for _ in range(2):
        api(server, "POST", f"{mlflow}/model-versions/create", token, {"name": "ui-ranker", "source": f"runs:/{run['id']}/model", "run_id": run["id"]})

    sign_in(browser, server)
    visible(browser, By.CSS_SELECTOR, "header.header")
    browser.get(f"{server}/#/models/ui-ranker?project={project['id']}")
    card = visible(browser, By.CSS_SELECTOR, "section[aria-label='Model details']")

    description = card.find_element(By.CSS_SELECTOR, "form[aria-label='Model description'] textarea")
    description.send_keys("Ranks search results; trained weekly.")
    card.find_element(By.XPATH, ".//form[@aria-label='Model description']//button").click()
    wait(browser, lambda d: "Description saved" in d.find_element(By.CSS_SELECTOR, "[role=status], .message").text)

    tags = card.find_element(By.CSS_SELECTOR, "[aria-label='Model tags']")
    tags.find_element(By.XPATH, ".//label[span='Key']/input").send_keys("team")
    tags.find_element(By.XPATH, ".//label[span='Value']/input").send_keys("search")
    tags.find_element(By.XPATH, ".//button[text()='Set tag']").click()
    wait(browser, lambda d: "team = search" in tags.text)

    # Aliases: champion → v2, shown in the versions table too; a reserved name is refused and stays typed.
    Select(card.find_element(By.NAME, "alias-version")).select_by_value("2")
    alias = card.find_element(By.NAME, "alias")
    alias.send_keys("champion")
    card.find_element(By.XPATH, ".//button[text()='Set alias']").click()
    versions = lambda d: d.find_element(By.CSS_SELECTOR, "table[aria-label='Model versions']").text  # noqa: E731
    wait(browser, lambda d: "champion → v2" in card.text and "champion" in versions(d))
    alias.send_keys("latest")
    card.find_element(By.XPATH, ".//button[text()='Set alias']").click()
    assert "reserved" in visible(browser, By.CSS_SELECTOR, ".registry-editors [role=alert]").text
    assert alias.get_attribute("value") == "latest"

    # A version: its id, its own description and tags.
    browser.find_element(By.XPATH, "//table[@aria-label='Model versions']//button[.='v1']").click()
    version = visible(browser, By.CSS_SELECTOR, "section[aria-label='Version 1']")
    ids = [c.get_attribute("title") for c in browser.find_elements(By.CSS_SELECTOR, "table[aria-label='Model versions'] td:nth-child(2) code")]
    v1_id = browser.find_element(By.XPATH, "//table[@aria-label='Model versions']//tr[td/button[.='v1']]/td[2]/code").get_attribute("title")
    assert len(set(ids)) == 2 and v1_id in version.text
    version.find_element(By.CSS_SELECTOR, "textarea").send_keys("Baseline before the click model.")
    version.find_element(By.XPATH, ".//button[text()='Save description']").click()
    version_tags = version.find_element(By.CSS_SELECTOR, "[aria-label='Version tags']")
    version_tags.find_element(By.XPATH, ".//label[span='Key']/input").send_keys("validated")
    version_tags.find_element(By.XPATH, ".//label[span='Value']/input").send_keys("yes")
    version_tags.find_element(By.XPATH, ".//button[text()='Set tag']").click()
    wait(browser, lambda d: "validated = yes" in version_tags.text)

    # What the server now holds, as the API and a reload show it.
    detail = api(server, "GET", f"/api/v1/projects/{project['id']}/models/ui-ranker", token)
    assert detail["model"]["description"] == "Ranks search results; trained weekly." and detail["model"]["tags"] == {"team": "search"}
    assert detail["model"]["aliases"] == {"champion": "2"}
    v1 = next(v for v in detail["versions"] if v["version"] == 1)
    assert v1["description"] == "Baseline before the click model." and v1["tags"] == {"validated": "yes"}
    for width, height in [(390, 844), (1280, 900)]:  # a phone, then a laptop: nothing runs off the page
        fits_width(browser, width, height)
    browser.save_screenshot(str(SCREENSHOTS / "registry.png"))
    browser.refresh()
    card = visible(browser, By.CSS_SELECTOR, "section[aria-label='Model details']")
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "form[aria-label='Model description'] textarea").get_attribute("value")
         == "Ranks search results; trained weekly.")

    # Removing a tag and an alias.
    card.find_element(By.CSS_SELECTOR, "button[aria-label='Remove tag team']").click()
    wait(browser, lambda d: "team = search" not in d.find_element(By.CSS_SELECTOR, "[aria-label='Model tags']").text)
    card.find_element(By.CSS_SELECTOR, "button[aria-label='Remove alias champion']").click()
    wait(browser, lambda d: "No aliases." in d.find_element(By.CSS_SELECTOR, "[aria-label='Aliases']").text)
    assert console_errors(browser) == []
