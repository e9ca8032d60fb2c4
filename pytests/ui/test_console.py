"""The web console in real Chromium against a real aitip: sign in, switch organization and project, create an
API key, find its audit entry, browse a dataset version, and no console errors along the way. Screenshots go to
docs/screenshots/."""
import hashlib
import json
import pathlib
import tarfile
import tempfile
import time
import urllib.request

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as until
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import ADMIN_PASSWORD, SCREENSHOTS


def wait(driver, condition, timeout=10):
    # A condition that finds an element and reads it can meet a React re-render in between: look again.
    return WebDriverWait(driver, timeout, ignored_exceptions=[StaleElementReferenceException]).until(condition)


def visible(driver, by, value):
    return wait(driver, until.visibility_of_element_located((by, value)))


def sign_in(driver, base, password=ADMIN_PASSWORD, username="admin"):
    driver.get(base + "/")
    visible(driver, By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form[aria-label='Sign in'] button[type=submit]").click()


def api(base, method, path, token=None, body=None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read() or b"null")


def upload(base, token, dataset_id, path, content):
    """One file through an upload session: start it, send every byte at offset 0; returns the manifest entry."""
    sha256 = hashlib.sha256(content).hexdigest()
    session = api(base, "POST", f"/api/v1/datasets/{dataset_id}/uploads", token, {"sha256": sha256, "size_bytes": len(content), "path": path})
    if session["status"] != "complete":
        request = urllib.request.Request(f"{base}/api/v1/dataset-uploads/{session['id']}", method="PUT", data=content)
        request.add_header("Content-Type", "application/octet-stream")
        request.add_header("Upload-Offset", "0")
        request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request) as response:
            assert json.loads(response.read())["status"] == "complete"
    return {"path": path, "sha256": sha256, "size_bytes": len(content)}


OVERFLOWING = """const w = document.documentElement.clientWidth;
return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > w + 1)
  .filter(e => { for (let a = e.parentElement; a; a = a.parentElement) if (getComputedStyle(a).overflowX !== 'visible') return false; return true; })
  .slice(0, 8).map(e => `${e.tagName.toLowerCase()}.${e.className} ends at ${Math.round(e.getBoundingClientRect().right)} px`)"""


def fits_width(driver, width, height):
    """Sets the window size and waits until nothing runs off the page (charts resize a frame later); names what does."""
    driver.set_window_size(width, height)
    try:
        wait(driver, lambda d: d.execute_script("return document.documentElement.scrollWidth <= document.documentElement.clientWidth"))
    except Exception:
        raise AssertionError(f"at {width} px wide: {driver.execute_script(OVERFLOWING)}") from None


def console_errors(driver):
    """Script errors and failed loads. Chromium also logs every 4xx answer as a failed resource; the tests provoke
    some on purpose (a wrong password, an invalid scope), so those are left out, and 5xx answers are kept."""
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"
            and not (entry.get("source") == "network" and "status of 4" in entry["message"] and "favicon" not in entry["message"])]


def test_wrong_password_shows_the_servers_message(server, browser):
    sign_in(browser, server, password="not-the-password")
    failure = visible(browser, By.CSS_SELECTOR, ".form-failure")
    assert "Wrong username or password" in failure.text
    browser.save_screenshot(str(SCREENSHOTS / "login-error.png"))
    assert console_errors(browser) == []


def test_sign_in_switch_project_create_key_and_see_audit(server, browser):
    token = api(server, "POST", "/api/v1/auth/login", body={"username": "admin", "password": ADMIN_PASSWORD})["access_token"]
    lab = api(server, "POST", "/api/v1/orgs", token, {"name": "UI Lab"})
    api(server, "POST", "/api/v1/projects", token, {"org_id": lab["id"], "name": "Robotics"})

    sign_in(browser, server)
    visible(browser, By.CSS_SELECTOR, "header.header")
    browser.save_screenshot(str(SCREENSHOTS / "projects.png"))

    # Switch organization, then project; the projects table follows.
    Select(browser.find_element(By.CSS_SELECTOR, "select[aria-label=Organization]")).select_by_visible_text("UI Lab (owner)")
    wait(browser, lambda d: "Robotics" in d.find_element(By.CSS_SELECTOR, "table.table").text)
    visible(browser, By.NAME, "name").send_keys("Perception")
    browser.find_element(By.CSS_SELECTOR, "form[aria-label='New project'] button").click()
    wait(browser, lambda d: "Perception" in d.find_element(By.CSS_SELECTOR, "table.table").text)
    project_select = Select(browser.find_element(By.CSS_SELECTOR, "select[aria-label=Project]"))
    wait(browser, lambda d: len(project_select.options) == 2)
    project_select.select_by_visible_text("Robotics")
    assert project_select.first_selected_option.text == "Robotics"

    # Create an API key: the secret is shown once.
    browser.find_element(By.LINK_TEXT, "API keys").click()
    visible(browser, By.NAME, "key-name").send_keys("ui-test")
    scopes = browser.find_element(By.NAME, "scopes")
    scopes.clear()
    scopes.send_keys("projects:read training:read")
    browser.find_element(By.CSS_SELECTOR, "form[aria-label='New API key'] button").click()
    secret = visible(browser, By.CSS_SELECTOR, "[data-testid=new-api-key]").text
    assert secret.startswith("aitip_")
    browser.save_screenshot(str(SCREENSHOTS / "api-keys.png"))
    assert api(server, "GET", "/api/v1/projects", secret)["items"], "the key shown works"

    # Invalid input gets the server's field message next to the field.
    browser.find_element(By.XPATH, "//button[text()='Done']").click()
    browser.find_element(By.NAME, "key-name").send_keys("bad-scope")
    scopes.clear()
    scopes.send_keys("training:fly")
    browser.find_element(By.CSS_SELECTOR, "form[aria-label='New API key'] button").click()
    assert "is not a permission" in visible(browser, By.CSS_SELECTOR, ".field-error").text

    # The audit log shows the key's creation.
    browser.find_element(By.LINK_TEXT, "Audit log").click()
    wait(browser, lambda d: "api_key.create" in d.find_element(By.CSS_SELECTOR, "table[aria-label='Audit entries']").text)
    browser.save_screenshot(str(SCREENSHOTS / "audit.png"))

    # Dark theme and a phone-sized window stay usable.
    browser.find_element(By.CSS_SELECTOR, "button[aria-label='Toggle dark theme']").click()
    browser.set_window_size(390, 844)
    browser.find_element(By.LINK_TEXT, "Members").click()
    wait(browser, lambda d: "admin" in d.find_element(By.CSS_SELECTOR, "table.table").text)
    browser.save_screenshot(str(SCREENSHOTS / "members-phone-dark.png"))

    assert console_errors(browser) == []


def test_sign_out_returns_to_the_login_form(server, browser):
    sign_in(browser, server)
    visible(browser, By.XPATH, "//button[text()='Sign out']").click()
    visible(browser, By.CSS_SELECTOR, "form[aria-label='Sign in']")
    assert console_errors(browser) == []


def test_experiments_runs_charts_and_models(server, browser):
    token = api(server, "POST", "/api/v1/auth/login", body={"username": "admin", "password": ADMIN_PASSWORD})["access_token"]
    project = next(p for p in api(server, "GET", "/api/v1/projects?limit=500", token)["items"] if p["slug"] == "default")
    experiment = api(server, "POST", f"/api/v1/projects/{project['id']}/experiments", token, {"name": "ui-exp", "hypothesis": "wider helps"})
    runs = {}
    for name, width, final in [("narrow", "64", 0.7), ("wide", "256", 0.9)]:
        run = api(server, "POST", f"/api/v1/experiments/{experiment['id']}/runs", token, {"name": name})
        steps = list(range(500))
        api(server, "POST", f"/api/v1/runs/{run['id']}/log", token, {
            "metrics": [{"key": "acc", "steps": steps, "values": [final * (i + 1) / 500 for i in steps]},
                        {"key": "test_acc", "steps": [499], "values": [final + 0.03]}],
            "params": {"width": width}, "tags": {"team": "vision", "mlflow.source.name": "train.py"}})
        runs[name] = run["id"]
    # What MLflow's log_input and log_model record: a dataset with its context, and a model the run produced.
    api(server, "POST", "/api/2.0/mlflow/runs/log-inputs", token, {"run_id": runs["wide"], "datasets": [{
        "dataset": {"name": "imagenet-mini", "digest": "4a1b9c2d", "source_type": "http", "source": '{"url": "https://data.example/mini.csv"}',
                    "schema": "{}", "profile": '{"num_rows": 1200, "num_elements": 3600}'},
        "tags": [{"key": "mlflow.data.context", "value": "training"}]}]})
    api(server, "POST", "/api/2.0/mlflow/runs/outputs", token, {"run_id": runs["wide"], "models": [{"model_id": "m-0123456789abcdef", "step": 499}]})
    api(server, "POST", "/mlflow/default/default/api/2.0/mlflow/registered-models/create", token, {"name": "ui-detector"})
    api(server, "POST", "/mlflow/default/default/api/2.0/mlflow/model-versions/create", token,
        {"name": "ui-detector", "source": f"runs:/{runs['wide']}/model", "run_id": runs["wide"]})

    sign_in(browser, server)
    visible(browser, By.LINK_TEXT, "Experiments").click()
    wait(browser, lambda d: "ui-exp" in d.find_element(By.CSS_SELECTOR, "table[aria-label=Experiments]").text)
    browser.find_element(By.XPATH, "//table[@aria-label='Experiments']//button[text()='ui-exp']").click()
    runs_table = lambda d: d.find_element(By.CSS_SELECTOR, "table[aria-label=Runs]").text  # noqa: E731
    wait(browser, lambda d: "narrow" in runs_table(d) and "wide" in runs_table(d))

    # MLflow's filter grammar, evaluated by the server.
    visible(browser, By.NAME, "filter").send_keys("metrics.acc > 0.8")
    browser.find_element(By.NAME, "order-by").send_keys("metrics.acc DESC")
    browser.find_element(By.XPATH, "//form[@role='search']//button[text()='Search']").click()
    wait(browser, lambda d: "narrow" not in runs_table(d) and "wide" in runs_table(d))
    browser.find_element(By.XPATH, "//table[@aria-label='Runs']//button[text()='wide']").click()
    chart = visible(browser, By.CSS_SELECTOR, "figure.metric-chart")
    assert "acc (500 points)" in chart.find_element(By.TAG_NAME, "figcaption").text
    wait(browser, lambda d: chart.get_attribute("data-drawn") == "500")  # Chart.js drew the 500 points on its canvas
    # A metric logged once is a number, not a one-point chart; the run's own tags and its source are shown.
    value = visible(browser, By.CSS_SELECTOR, "figure.metric-value")
    assert value.get_attribute("aria-label") == "test_acc: 0.93" and "step 499" in value.text
    assert len(browser.find_elements(By.CSS_SELECTOR, "figure.metric-chart")) == 1
    assert "team vision" in browser.find_element(By.CSS_SELECTOR, "ul[aria-label=Tags]").text
    assert "mlflow.source.name" not in browser.find_element(By.CSS_SELECTOR, "ul[aria-label=Tags]").text
    assert "source train.py" in browser.find_element(By.CSS_SELECTOR, "div[aria-label='Run wide'] p.muted").text
    datasets = browser.find_element(By.CSS_SELECTOR, "table[aria-label='Dataset inputs'] tbody tr").text
    assert all(part in datasets for part in ("imagenet-mini", "training", "4a1b9c2d", "http: https://data.example/mini.csv", "1,200")), datasets
    assert browser.find_element(By.CSS_SELECTOR, "ul[aria-label='Logged models']").text == "m-0123456789abcdef produced at step 499"
    # The registered version made from the run links to its place in the registry.
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "ul[aria-label='Registered versions']").text == "registered as ui-detector v1")
    browser.save_screenshot(str(SCREENSHOTS / "experiments.png"))

    filter_box = browser.find_element(By.NAME, "filter")
    filter_box.clear()
    filter_box.send_keys("metrics.acc >> 1")
    browser.find_element(By.XPATH, "//form[@role='search']//button[text()='Search']").click()
    assert "Invalid filter" in visible(browser, By.CSS_SELECTOR, "[role=alert]").text

    browser.find_element(By.LINK_TEXT, "Models").click()
    wait(browser, lambda d: "ui-detector" in d.find_element(By.CSS_SELECTOR, "table[aria-label='Registered models']").text)
    browser.find_element(By.XPATH, "//button[text()='ui-detector']").click()
    versions = visible(browser, By.CSS_SELECTOR, "table[aria-label='Model versions']")
    wait(browser, lambda d: runs["wide"][-8:] in versions.text and "v1" in versions.text)
    browser.save_screenshot(str(SCREENSHOTS / "models.png"))
    assert console_errors(browser) == []


def test_jobs_submit_and_watch_the_log_arrive_live(server, browser):
    sign_in(browser, server)
    visible(browser, By.LINK_TEXT, "Jobs").click()
    wait(browser, lambda d: "a100" in d.find_element(By.CSS_SELECTOR, "table[aria-label='GPU nodes']").text)
    visible(browser, By.NAME, "job-name").send_keys("ui-job")
    browser.find_element(By.NAME, "entrypoint").send_keys(
        "seq -f 'warm-up %g' 60; for i in 1 2 3 4 5 6; do echo line $i; echo aitip.metric loss=0.$((7 - i)) step=$i; sleep 0.5; done")
    Select(browser.find_element(By.NAME, "gpu-type")).select_by_value("a100")
    browser.find_element(By.XPATH, "//form[@aria-label='Submit a job']//button[@type='submit']").click()
    log = lambda d: d.find_element(By.CSS_SELECTOR, "pre[aria-label='Job log']").text  # noqa: E731
    status = lambda d: d.find_element(By.CSS_SELECTOR, "[aria-label='Job status']").text  # noqa: E731
    queue = lambda d: d.find_element(By.CSS_SELECTOR, "table[aria-label='Training jobs']").text  # noqa: E731
    wait(browser, lambda d: "line 1" in log(d))
    # Live: the first lines arrive while the job still runs, and the badge and the queue say it runs.
    wait(browser, lambda d: status(d) == "running" and "running" in queue(d))
    assert "line 6" not in log(browser)
    # The log box follows the new lines (60 warm-up lines overflow it).
    at_bottom = "const box = arguments[0]; return box.scrollHeight > box.clientHeight && box.scrollHeight - box.scrollTop - box.clientHeight < 8"
    wait(browser, lambda d: d.execute_script(at_bottom, d.find_element(By.CSS_SELECTOR, "pre[aria-label='Job log']")))
    wait(browser, lambda d: "line 6" in log(d) and status(d) == "succeeded", timeout=20)
    wait(browser, lambda d: "succeeded" in queue(d))
    pre = browser.find_element(By.CSS_SELECTOR, "pre[aria-label='Job log']")
    assert browser.execute_script(at_bottom, pre)
    # The job's resources and the metric it printed, read again when the job ended.
    wait(browser, lambda d: "GPU-hours" in d.find_element(By.CSS_SELECTOR, "table[aria-label='Job resources']").text)
    wait(browser, lambda d: len(d.find_elements(By.XPATH, "//div[@aria-label='Job resources and metrics']//canvas")) == 1)
    browser.save_screenshot(str(SCREENSHOTS / "jobs.png"))
    # Nothing runs off the page on a laptop or a phone (tables and the log scroll inside their own boxes).
    # (Charts take their new width a frame after the window changes: wait for it.)
    for width, height in [(1280, 900), (390, 844)]:
        fits_width(browser, width, height)
    assert console_errors(browser) == []


IRIS = b"sepal_length,sepal_width,species\n5.1,3.5,setosa\n4.9,,setosa\n6.3,3.3,virginica\n5.8,2.7,versicolor\n"


def test_browse_a_dataset_version(server, browser):
    token = api(server, "POST", "/api/v1/auth/login", body={"username": "admin", "password": ADMIN_PASSWORD})["access_token"]
    project = next(p for p in api(server, "GET", "/api/v1/projects?limit=500", token)["items"] if p["slug"] == "default")
    dataset = api(server, "POST", f"/api/v1/projects/{project['id']}/datasets", token,
                  {"name": "ui-iris", "format": "csv", "description": "Fisher's irises", "tags": ["tabular", "ui"]})
    files = [upload(server, token, dataset["id"], "iris.csv", IRIS), upload(server, token, dataset["id"], "labels/classes.txt", b"setosa\nversicolor\nvirginica\n")]
    api(server, "POST", f"/api/v1/datasets/{dataset['id']}/versions", token, {"version": "v1", "changes": "First measurements", "files": files})
    api(server, "POST", f"/api/v1/datasets/{dataset['id']}/annotations", token, {"task_type": "classification", "version": "v1", "item": "iris.csv"})

    sign_in(browser, server)
    visible(browser, By.LINK_TEXT, "Datasets").click()
    wait(browser, lambda d: "ui-iris" in d.find_element(By.CSS_SELECTOR, "table[aria-label=Datasets]").text)
    row = browser.find_element(By.XPATH, "//table[@aria-label='Datasets']//tr[.//button[text()='ui-iris']]").text
    assert "v1" in row and "tabular" in row and "B" in row
    browser.find_element(By.XPATH, "//table[@aria-label='Datasets']//button[text()='ui-iris']").click()

    # The latest version's files, folder by folder.
    files_table = lambda d: d.find_element(By.CSS_SELECTOR, "table[aria-label=Files]").text  # noqa: E731
    wait(browser, lambda d: "iris.csv" in files_table(d) and "labels/" in files_table(d))
    assert hashlib.sha256(IRIS).hexdigest()[:12] in files_table(browser)
    assert "First measurements" in browser.find_element(By.CSS_SELECTOR, "dl[aria-label='Version facts']").text
    browser.find_element(By.XPATH, "//table[@aria-label='Files']//button[text()='labels/']").click()
    wait(browser, lambda d: "classes.txt" in files_table(d) and "iris.csv" not in files_table(d))

    # A file downloads with the bearer token, through a Blob.
    downloads = pathlib.Path(tempfile.mkdtemp(prefix="aitip-ui-downloads-"))
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    browser.find_element(By.CSS_SELECTOR, "button[aria-label='Download labels/classes.txt']").click()
    deadline = time.monotonic() + 10
    while not (downloads / "classes.txt").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (downloads / "classes.txt").read_bytes() == b"setosa\nversicolor\nvirginica\n"
    browser.find_element(By.XPATH, "//button[text()='Download version (.tar)']").click()
    while not (downloads / "ui-iris-v1.tar").exists() and time.monotonic() < deadline + 10:
        time.sleep(0.1)
    with tarfile.open(downloads / "ui-iris-v1.tar") as tar:
        assert {"iris.csv", "labels/classes.txt"} <= set(tar.getnames())
    browser.find_element(By.CSS_SELECTOR, "button[aria-label='Up one folder']").click()
    wait(browser, lambda d: "iris.csv" in files_table(d))

    # Schema and statistics profiled from the CSV.
    browser.find_element(By.XPATH, "//button[@role='tab'][text()='Schema']").click()
    schema = visible(browser, By.CSS_SELECTOR, "table[aria-label=Schema]").text
    for column in ("sepal_length", "sepal_width", "species"):
        assert column in schema
    assert "5.525" in schema  # the mean of sepal_length
    browser.save_screenshot(str(SCREENSHOTS / "datasets-schema.png"))

    # Annotation: start the task, complete it with JSON, export the completed ones as v2.
    browser.find_element(By.XPATH, "//button[@role='tab'][text()='Annotations']").click()
    tasks = lambda d: d.find_element(By.CSS_SELECTOR, "table[aria-label='Annotation tasks']").text  # noqa: E731
    wait(browser, lambda d: "classification" in tasks(d) and "pending" in tasks(d))
    browser.find_element(By.XPATH, "//table[@aria-label='Annotation tasks']//button[text()='Start']").click()
    wait(browser, lambda d: "in progress" in tasks(d))
    browser.find_element(By.XPATH, "//table[@aria-label='Annotation tasks']//button[text()='Complete…']").click()
    annotation = visible(browser, By.NAME, "annotation-json")
    annotation.clear()
    annotation.send_keys('{"label": "setosa"')
    browser.find_element(By.XPATH, "//form[@aria-label='Complete task']//button[@type='submit']").click()
    assert "Not JSON" in visible(browser, By.CSS_SELECTOR, "form[aria-label='Complete task'] .field-error").text
    annotation.send_keys("}")
    browser.find_element(By.XPATH, "//form[@aria-label='Complete task']//button[@type='submit']").click()
    wait(browser, lambda d: "completed" in tasks(d))
    assert browser.find_element(By.NAME, "export-version").get_attribute("value") == "v2"
    browser.find_element(By.XPATH, "//form[@aria-label='Export annotations']//button[@type='submit']").click()
    wait(browser, lambda d: "annotations.jsonl" in files_table(d))
    assert "v2" in browser.find_element(By.CSS_SELECTOR, "table[aria-label='Dataset versions']").text

    # Lineage: v1 → annotated → v2, drawn as an SVG graph.
    browser.find_element(By.XPATH, "//button[@role='tab'][text()='Lineage']").click()
    graph = visible(browser, By.CSS_SELECTOR, "svg.lineage")
    wait(browser, lambda d: len(graph.find_elements(By.CSS_SELECTOR, ".lineage-node")) == 2)
    assert "annotated" in graph.text and "ui-iris:v1" in graph.text
    assert "ui-iris:v1" in browser.find_element(By.CSS_SELECTOR, "table[aria-label='Lineage edges']").text
    browser.save_screenshot(str(SCREENSHOTS / "datasets.png"))
    assert console_errors(browser) == []
