"""Addresses in real Chromium against a real aitip: the links the MLflow client prints open that run or experiment
(after signing in, in a fresh browser, even in another organization's project), tabs change the address, Back and
Forward move between console views, a reload keeps the view, a job's and a dataset tab's addresses open them, and an
unknown address says so inside the console."""
import time
import urllib.parse

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from conftest import ADMIN_PASSWORD
from test_console import IRIS, api, console_errors, sign_in, upload, visible, wait
from test_runs_and_resources import default_project, put_artifact


def admin_token(base):
    return api(base, "POST", "/api/v1/auth/login", body={"username": "admin", "password": ADMIN_PASSWORD})["access_token"]


def fill_sign_in(driver, password=ADMIN_PASSWORD, username="admin"):
    """Signs in on the form shown where the browser is (unlike sign_in, which opens / first)."""
    visible(driver, By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form[aria-label='Sign in'] button[type=submit]").click()


def hash_of(driver):
    return urllib.parse.unquote(driver.execute_script("return window.location.hash"))


def run_card(driver, name):
    return visible(driver, By.CSS_SELECTOR, f"div[aria-label='Run {name}']")


def selected_tab(driver, container="body"):
    return driver.find_element(By.CSS_SELECTOR, f"{container} [role=tab][aria-selected=true]").text


def test_mlflow_run_link_opens_the_run_after_sign_in(server, browser):
    # An experiment of a project in another organization than the one the console starts in, logged through the
    # MLflow API under that project's tracking URI, as `mlflow` would.
    token = admin_token(server)
    org = api(server, "POST", "/api/v1/orgs", token, {"name": "Address Lab"})
    project = api(server, "POST", "/api/v1/projects", token, {"org_id": org["id"], "name": "Vision"})
    mlflow = f"/mlflow/{org['slug']}/{project['slug']}/api/2.0/mlflow"
    experiment_id = api(server, "POST", f"{mlflow}/experiments/create", token, {"name": "addr-exp"})["experiment_id"]
    run_ids = {}
    for name, lr, acc in [("addr-base", "0.1", 0.7), ("addr-wide", "0.01", 0.9)]:
        run = api(server, "POST", f"{mlflow}/runs/create", token, {"experiment_id": experiment_id, "run_name": name, "start_time": int(time.time() * 1000)})
        run_id = run["run"]["info"]["run_id"]
        api(server, "POST", f"{mlflow}/runs/log-batch", token, {
            "run_id": run_id, "params": [{"key": "lr", "value": lr}],
            "metrics": [{"key": "acc", "value": acc * step / 10, "timestamp": 0, "step": step} for step in range(1, 11)]})
        run_ids[name] = run_id
    base_id, wide_id = run_ids["addr-base"], run_ids["addr-wide"]
    put_artifact(server, token, f"{experiment_id}/{wide_id}/artifacts/notes.txt", b"hello")
    run_address = f"#/experiments/{experiment_id}/runs/{wide_id}"

    # A fresh browser opens the link the client printed: the sign-in form, then that run.
    browser.get(f"{server}/{run_address}")
    visible(browser, By.CSS_SELECTOR, "form[aria-label='Sign in']")
    fill_sign_in(browser)
    card = run_card(browser, "addr-wide")
    wait(browser, lambda d: "lr" in card.text and "0.01" in card.text)
    wait(browser, lambda d: "acc (10 points)" in card.find_element(By.CSS_SELECTOR, "figure.metric-chart figcaption").text)
    assert hash_of(browser) == run_address
    assert selected_tab(browser, "div[aria-label='Run addr-wide']") == "Params and metrics"
    # The switcher follows the run to its organization and project; the runs table is that experiment's.
    wait(browser, lambda d: Select(d.find_element(By.CSS_SELECTOR, "select[aria-label=Project]")).first_selected_option.text == "Vision")
    assert Select(browser.find_element(By.CSS_SELECTOR, "select[aria-label=Organization]")).first_selected_option.text.startswith("Address Lab")
    wait(browser, lambda d: "addr-base" in d.find_element(By.CSS_SELECTOR, "table[aria-label=Runs]").text)
    assert "Runs of addr-exp" in browser.find_element(By.TAG_NAME, "main").text

    # Another tab: the address says so; Back returns to the previous view, Forward to the tab again.
    card.find_element(By.XPATH, ".//button[@role='tab'][text()='Artifacts']").click()
    wait(browser, lambda d: hash_of(d) == f"{run_address}?tab=artifacts")
    wait(browser, lambda d: "notes.txt" in d.find_element(By.CSS_SELECTOR, "table[aria-label=Artifacts]").text)
    browser.back()
    wait(browser, lambda d: hash_of(d) == run_address)
    wait(browser, lambda d: selected_tab(d, "div[aria-label='Run addr-wide']") == "Params and metrics")
    assert not browser.find_elements(By.CSS_SELECTOR, "table[aria-label=Artifacts]")
    browser.forward()
    wait(browser, lambda d: "notes.txt" in d.find_element(By.CSS_SELECTOR, "table[aria-label=Artifacts]").text)

    # A reload keeps the view (the session cookie signs the page in again).
    browser.refresh()
    wait(browser, lambda d: "notes.txt" in d.find_element(By.CSS_SELECTOR, "table[aria-label=Artifacts]").text)
    assert hash_of(browser) == f"{run_address}?tab=artifacts"
    assert selected_tab(browser, "div[aria-label='Run addr-wide']") == "Artifacts"

    # Another run from the table, then another page: Back walks back through each console view.
    browser.find_element(By.XPATH, "//table[@aria-label='Runs']//button[text()='addr-base']").click()
    run_card(browser, "addr-base")
    wait(browser, lambda d: hash_of(d) == f"#/experiments/{experiment_id}/runs/{base_id}")
    browser.find_element(By.LINK_TEXT, "Jobs").click()
    wait(browser, lambda d: hash_of(d) == "#/jobs")
    visible(browser, By.CSS_SELECTOR, "table[aria-label='Training jobs']")
    browser.back()
    run_card(browser, "addr-base")
    browser.back()
    wait(browser, lambda d: "notes.txt" in d.find_element(By.CSS_SELECTOR, "table[aria-label=Artifacts]").text)
    assert hash_of(browser) == f"{run_address}?tab=artifacts"

    # The experiment's link the client prints shows its runs; a comparison has an address of its own.
    browser.get(f"{server}/#/experiments/{experiment_id}")
    wait(browser, lambda d: "addr-base" in d.find_element(By.CSS_SELECTOR, "table[aria-label=Runs]").text
         and "addr-wide" in d.find_element(By.CSS_SELECTOR, "table[aria-label=Runs]").text)
    assert not browser.find_elements(By.CSS_SELECTOR, "div[aria-label^='Run ']")
    browser.find_element(By.CSS_SELECTOR, "input[aria-label='Compare addr-base']").click()
    browser.find_element(By.CSS_SELECTOR, "input[aria-label='Compare addr-wide']").click()
    browser.find_element(By.XPATH, "//button[starts-with(normalize-space(), 'Compare 2 runs')]").click()
    section = visible(browser, By.CSS_SELECTOR, "section[aria-label='Run comparison']")
    compare_hash = hash_of(browser)
    assert compare_hash.startswith(f"#/experiments/{experiment_id}/compare?runs=")
    assert set(compare_hash.split("runs=")[1].split(",")) == {base_id, wide_id}
    browser.refresh()
    section = visible(browser, By.CSS_SELECTOR, "section[aria-label='Run comparison']")
    wait(browser, lambda d: "addr-base" in section.find_element(By.CSS_SELECTOR, "table[aria-label='Params compared']").text
         and "addr-wide" in section.find_element(By.CSS_SELECTOR, "table[aria-label='Params compared']").text)
    assert browser.find_element(By.CSS_SELECTOR, "input[aria-label='Compare addr-wide']").is_selected()
    browser.back()
    wait(browser, lambda d: hash_of(d) == f"#/experiments/{experiment_id}" and not d.find_elements(By.CSS_SELECTOR, "section[aria-label='Run comparison']"))
    assert console_errors(browser) == []


def test_a_jobs_address_opens_that_job(server, browser):
    token = admin_token(server)
    job = api(server, "POST", "/api/v1/training/jobs", token, {
        "project_id": default_project(server, token)["id"], "name": "addr-job", "entrypoint": "echo hello from an address",
        "priority": "normal", "resources": {"gpu_count": 0}})
    deadline = time.monotonic() + 30
    while api(server, "GET", f"/api/v1/training/jobs/{job['id']}", token)["status"] != "succeeded":
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.3)

    sign_in(browser, server)
    visible(browser, By.CSS_SELECTOR, "header.header")
    browser.get(f"{server}/#/jobs/{job['id']}")
    wait(browser, lambda d: "hello from an address" in d.find_element(By.CSS_SELECTOR, "pre[aria-label='Job log']").text)
    assert visible(browser, By.CSS_SELECTOR, "[aria-label='Job status']").text == "succeeded"
    assert browser.find_element(By.XPATH, "//main//h2[starts-with(normalize-space(), 'addr-job')]")
    wait(browser, lambda d: "addr-job" in d.find_element(By.CSS_SELECTOR, "table[aria-label='Training jobs'] tr.selected").text)
    # Choosing the job in the queue writes the same address.
    browser.get(f"{server}/#/jobs")
    wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, "pre[aria-label='Job log']"))
    visible(browser, By.XPATH, "//table[@aria-label='Training jobs']//button[text()='addr-job']").click()
    wait(browser, lambda d: hash_of(d) == f"#/jobs/{job['id']}")
    wait(browser, lambda d: "hello from an address" in d.find_element(By.CSS_SELECTOR, "pre[aria-label='Job log']").text)
    assert console_errors(browser) == []


def test_a_dataset_tabs_address_opens_that_tab(server, browser):
    token = admin_token(server)
    project = default_project(server, token)
    dataset = api(server, "POST", f"/api/v1/projects/{project['id']}/datasets", token, {"name": "addr-iris", "format": "csv"})
    api(server, "POST", f"/api/v1/datasets/{dataset['id']}/versions", token,
        {"version": "v1", "changes": "first", "files": [upload(server, token, dataset["id"], "iris.csv", IRIS)]})
    api(server, "POST", f"/api/v1/datasets/{dataset['id']}/versions", token,
        {"version": "v2", "changes": "second", "files": [upload(server, token, dataset["id"], "more.csv", b"a,b\n1,2\n")]})
    address = f"#/datasets/{dataset['id']}"

    sign_in(browser, server)
    visible(browser, By.CSS_SELECTOR, "header.header")
    browser.get(f"{server}/{address}?version=v1&tab=schema")
    schema = visible(browser, By.CSS_SELECTOR, "table[aria-label=Schema]")
    assert "sepal_length" in schema.text
    assert selected_tab(browser) == "Schema"
    assert browser.find_element(By.XPATH, "//table[@aria-label='Dataset versions']//button[text()='v1']").get_attribute("aria-pressed") == "true"
    assert "Version v1" in browser.find_element(By.CSS_SELECTOR, ".dataset-version h2").text

    # Tabs and versions change the address; Back returns to the view before.
    browser.find_element(By.XPATH, "//button[@role='tab'][text()='Files']").click()
    wait(browser, lambda d: hash_of(d) == f"{address}?version=v1")
    wait(browser, lambda d: "iris.csv" in d.find_element(By.CSS_SELECTOR, "table[aria-label=Files]").text)
    browser.find_element(By.XPATH, "//table[@aria-label='Dataset versions']//button[text()='v2']").click()
    wait(browser, lambda d: hash_of(d) == f"{address}?version=v2")
    wait(browser, lambda d: "more.csv" in d.find_element(By.CSS_SELECTOR, "table[aria-label=Files]").text)
    browser.back()
    wait(browser, lambda d: "iris.csv" in d.find_element(By.CSS_SELECTOR, "table[aria-label=Files]").text)
    browser.back()
    wait(browser, lambda d: selected_tab(d) == "Schema" and "sepal_length" in d.find_element(By.CSS_SELECTOR, "table[aria-label=Schema]").text)
    # Without a version the latest is shown; "All datasets" is the list's address.
    browser.get(f"{server}/{address}?tab=schema")
    wait(browser, lambda d: "Version v2" in d.find_element(By.CSS_SELECTOR, ".dataset-version h2").text)
    browser.find_element(By.LINK_TEXT, "← All datasets").click()
    wait(browser, lambda d: hash_of(d) == "#/datasets" and "addr-iris" in d.find_element(By.CSS_SELECTOR, "table[aria-label=Datasets]").text)
    assert console_errors(browser) == []


def test_unknown_addresses_and_filters_in_the_address(server, browser):
    sign_in(browser, server)
    visible(browser, By.CSS_SELECTOR, "header.header")
    for unknown in ("#/no-such-page", "#/experiments/x/runs", "#/jobs/a/b"):
        browser.get(f"{server}/{unknown}")
        wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "main h1").text == "Page not found")
        assert unknown in browser.find_element(By.TAG_NAME, "main").text
        visible(browser, By.CSS_SELECTOR, "header.header")  # still inside the console
    # An entity that does not exist says so on its page.
    browser.get(f"{server}/#/jobs/00000000-0000-0000-0000-000000000000")
    visible(browser, By.XPATH, "//main//p[@role='alert'][contains(., 'Job')]")

    # The audit log's filters are in its address, both ways.
    browser.get(f"{server}/#/audit?outcome=success&action=auth.login")
    wait(browser, lambda d: Select(d.find_element(By.NAME, "outcome")).first_selected_option.text == "success")
    assert browser.find_element(By.NAME, "action").get_attribute("value") == "auth.login"
    Select(browser.find_element(By.NAME, "outcome")).select_by_visible_text("any")
    wait(browser, lambda d: hash_of(d) == "#/audit?action=auth.login")
    browser.back()
    wait(browser, lambda d: Select(d.find_element(By.NAME, "outcome")).first_selected_option.text == "success")
    assert console_errors(browser) == []
