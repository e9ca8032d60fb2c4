"""The tests and evaluations pages in real Chromium against a real aitip. A test plan whose command writes a JUnit
report with one failing case runs as a sandboxed execution; two more executions are reported as from CI, one case
alternating between them; the page shows the executions over time, the failing case's message, each case's history
with the flaky one marked, and runs the plan again. An evaluation whose interpreter lacks mlflow ends without
results, and the evaluations page says why; a custom script's evaluation shows its metrics against the champion,
with the directions it declared, the gate and the slices. Screenshots to docs/screenshots/tests.png and evaluation.png."""
import io
import json
import tarfile
import time
import urllib.error
import urllib.request
import uuid

from selenium.webdriver.common.by import By

from conftest import ADMIN_PASSWORD, SCREENSHOTS
from test_console import api, console_errors, sign_in, visible, wait
from test_console import upload as upload_file

REPORT = '''<testsuite name="suite"><testcase classname="checks" name="{name}" time="0.2">{outcome}</testcase>
<testcase classname="checks" name="steady" time="0.1"/></testsuite>'''


def junit(name, failing):
    return REPORT.format(name=name, outcome='<failure message="expected 2, got 3">assert 2 == 3</failure>' if failing else "")


def upload(base, token, project, files):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            entry = tarfile.TarInfo(name)
            entry.size = len(content)
            archive.addfile(entry, io.BytesIO(content))
    request = urllib.request.Request(f"{base}/api/v1/training/code?project_id={project}", method="POST", data=buffer.getvalue())
    request.add_header("Content-Type", "application/gzip")
    request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())["sha256"]


def test_a_plans_executions_failures_and_flaky_cases(server, browser):
    token = api(server, "POST", "/api/v1/auth/login", body={"username": "admin", "password": ADMIN_PASSWORD})["access_token"]
    project = next(p for p in api(server, "GET", "/api/v1/projects?limit=500", token)["items"] if p["slug"] == "default")["id"]
    code = upload(server, token, project, {"report.xml": junit("wobbly", failing=True).encode()})
    plan = api(server, "POST", "/api/v1/test/plans", token, {
        "project_id": project, "name": "ui-checks", "test_type": "integration",
        "config": {"command": "cp report.xml junit.xml", "code_archive": code, "cpu": 0.1}})
    api(server, "POST", f"/api/v1/test/plans/{plan['id']}/results", token, {"junit_xml": junit("wobbly", failing=False)})
    api(server, "POST", f"/api/v1/test/plans/{plan['id']}/results", token, {"junit_xml": junit("wobbly", failing=True)})
    api(server, "POST", f"/api/v1/test/plans/{plan['id']}/results", token, {"junit_xml": junit("wobbly", failing=False)})
    run = api(server, "POST", f"/api/v1/test/plans/{plan['id']}/execute", token, {})
    deadline = time.monotonic() + 60
    while api(server, "GET", f"/api/v1/test/executions/{run['id']}", token)["status"] != "completed":
        assert time.monotonic() < deadline, api(server, "GET", f"/api/v1/test/executions/{run['id']}", token)
        time.sleep(0.3)

    sign_in(browser, server)
    visible(browser, By.LINK_TEXT, "Tests").click()
    plans = lambda d: d.find_element(By.CSS_SELECTOR, "table[aria-label='Test plans']").text  # noqa: E731
    wait(browser, lambda d: "ui-checks" in plans(d) and "cp report.xml junit.xml" in plans(d))
    visible(browser, By.LINK_TEXT, "ui-checks").click()
    assert f"#/tests/{plan['id']}" in browser.current_url
    executions = lambda d: d.find_element(By.CSS_SELECTOR, "table[aria-label='Executions'] tbody").text  # noqa: E731
    wait(browser, lambda d: executions(d).count("webhook") == 3 and "manual" in executions(d))
    # The newest execution (the one aitip ran) is shown: its failing case with the message.
    failing = lambda d: d.find_element(By.CSS_SELECTOR, "table[aria-label='Failing cases']").text  # noqa: E731
    wait(browser, lambda d: "checks.wobbly" in failing(d) and "expected 2, got 3" in failing(d))
    history = lambda d: d.find_element(By.CSS_SELECTOR, "table[aria-label='Case history']").text  # noqa: E731
    wait(browser, lambda d: "flaky (3 flips)" in history(d))
    steady = browser.find_element(By.XPATH, "//table[@aria-label='Case history']//tr[td[text()='checks.steady']]").text
    assert "no" in steady and "flaky" not in steady
    visible(browser, By.CSS_SELECTOR, "figure.bar-chart canvas")
    browser.save_screenshot(str(SCREENSHOTS / "tests.png"))

    visible(browser, By.XPATH, "//button[text()='Run now']").click()
    wait(browser, lambda d: executions(d).count("manual") == 2)
    assert console_errors(browser) == []


def model_version(server, token, name, files):
    """A registered model version holding `files`, made through the MLflow API (the UI's Python has no mlflow)."""
    experiment = api(server, "POST", "/api/2.0/mlflow/experiments/create", token, {"name": f"ui-{name}-{uuid.uuid4().hex[:6]}"})["experiment_id"]
    run = api(server, "POST", "/api/2.0/mlflow/runs/create", token, {"experiment_id": experiment})["run"]["info"]["run_id"]
    for path, content in files.items():
        request = urllib.request.Request(f"{server}/api/2.0/mlflow-artifacts/artifacts/{experiment}/{run}/artifacts/model/{path}",
                                         method="PUT", data=content)
        request.add_header("Authorization", f"Bearer {token}")
        urllib.request.urlopen(request).close()
    try:
        api(server, "POST", "/api/2.0/mlflow/registered-models/create", token, {"name": name})
    except urllib.error.HTTPError as error:
        assert error.code == 400  # it exists: this is another version
    return api(server, "POST", "/api/2.0/mlflow/model-versions/create", token,
               {"name": name, "source": f"mlflow-artifacts:/{experiment}/{run}/artifacts/model", "run_id": run})["model_version"]


def test_an_evaluation_without_results_says_why(server, browser):
    token = api(server, "POST", "/api/v1/auth/login", body={"username": "admin", "password": ADMIN_PASSWORD})["access_token"]
    project = next(p for p in api(server, "GET", "/api/v1/projects?limit=500", token)["items"] if p["slug"] == "default")["id"]
    model_version(server, token, "ui-eval-model", {"MLmodel": b"flavors: {}\n"})
    dataset = api(server, "POST", f"/api/v1/projects/{project}/datasets", token, {"name": "ui-holdout", "format": "csv"})
    entry = upload_file(server, token, dataset["id"], "holdout.csv", b"x,label\n1,1\n2,0\n")
    api(server, "POST", f"/api/v1/datasets/{dataset['id']}/versions", token, {"version": "v1", "files": [entry]})
    job = api(server, "POST", "/api/v1/evaluation/jobs", token, {
        "project_id": project, "model": "models:/ui-eval-model/1", "benchmark": "classification", "dataset": {"dataset_id": dataset["id"]},
        "target": "label", "python": "/usr/bin/false", "resources": {"cpu": 0.1}})
    deadline = time.monotonic() + 60
    while api(server, "GET", f"/api/v1/evaluation/jobs/{job['id']}", token)["result_state"] == "pending":
        assert time.monotonic() < deadline
        time.sleep(0.3)

    sign_in(browser, server)
    visible(browser, By.LINK_TEXT, "Evaluations").click()
    table = lambda d: d.find_element(By.CSS_SELECTOR, "table[aria-label='Evaluations']").text  # noqa: E731
    wait(browser, lambda d: "models:/ui-eval-model/1" in table(d) and "no results" in table(d))
    visible(browser, By.LINK_TEXT, job["name"]).click()
    wait(browser, lambda d: "the evaluation workload failed" in d.find_element(By.CSS_SELECTOR, "[role='alert']").text)
    assert "has no champion alias" in browser.find_element(By.TAG_NAME, "main").text
    assert console_errors(browser) == []


# Scores "the model" (a number in its folder) against the dataset's labels, as the custom benchmark asks.
SCORE = b"""
import csv, json, os
offset = float(open(os.path.join(os.environ["AITIP_MODEL_DIR"], "offset")).read())
rows = list(csv.DictReader(open(os.path.join(os.environ["AITIP_DATASET_DIR"], "holdout.csv"))))
def metrics(rows):
    error = sum(abs(float(r["y"]) + offset - float(r["y"])) for r in rows) / len(rows)
    return {"mae": {"value": error, "greater_is_better": False}, "coverage": {"value": 1 - offset / 10, "ci_low": 0.5, "ci_high": 1.0}}
result = {"rows": len(rows), "metrics": metrics(rows),
          "slices": [{"column": "site", "value": site, "rows": len(part), "metrics": metrics(part)}
                     for site in ("a", "b") for part in [[r for r in rows if r["site"] == site]]]}
json.dump(result, open(os.environ["AITIP_RESULT_FILE"], "w"))
"""


def test_a_custom_evaluation_shows_its_metrics_against_the_champion(server, browser):
    token = api(server, "POST", "/api/v1/auth/login", body={"username": "admin", "password": ADMIN_PASSWORD})["access_token"]
    project = next(p for p in api(server, "GET", "/api/v1/projects?limit=500", token)["items"] if p["slug"] == "default")["id"]
    model_version(server, token, "ui-custom-model", {"offset": b"2"})
    model_version(server, token, "ui-custom-model", {"offset": b"0.5"})
    api(server, "POST", "/api/2.0/mlflow/registered-models/alias", token, {"name": "ui-custom-model", "alias": "champion", "version": "1"})
    dataset = api(server, "POST", f"/api/v1/projects/{project}/datasets", token, {"name": "ui-custom-holdout", "format": "csv"})
    entry = upload_file(server, token, dataset["id"], "holdout.csv", b"y,site\n1,a\n2,a\n3,b\n")
    api(server, "POST", f"/api/v1/datasets/{dataset['id']}/versions", token, {"version": "v1", "files": [entry]})
    job = api(server, "POST", "/api/v1/evaluation/jobs", token, {
        "project_id": project, "model": "models:/ui-custom-model/2", "benchmark": "custom", "dataset": {"dataset_id": dataset["id"]},
        "command": "python3 score.py", "code_archive": upload(server, token, project, {"score.py": SCORE}),
        "thresholds": {"mae": {"min_absolute_change": 1}}, "resources": {"cpu": 0.1}})
    deadline = time.monotonic() + 60
    while api(server, "GET", f"/api/v1/evaluation/jobs/{job['id']}", token)["result_state"] == "pending":
        assert time.monotonic() < deadline
        time.sleep(0.3)

    sign_in(browser, server)
    browser.get(f"{server}/#/evaluations/{job['id']}")
    metrics = lambda d: d.find_element(By.CSS_SELECTOR, "table[aria-label='Metrics']").text  # noqa: E731
    wait(browser, lambda d: "mae ↓" in metrics(d))
    # The candidate's error is 0.5, the champion's 2: an improvement of 1.5, which the gate asked for at least 1 of.
    assert "0.5" in metrics(browser) and "2" in metrics(browser) and "-1.5" in metrics(browser), metrics(browser)
    assert "intervals as the job reported them" in metrics(browser) and "0.95 [0.5, 1]" in metrics(browser), metrics(browser)
    assert browser.find_element(By.CSS_SELECTOR, "[aria-label='Verdict']").text == "gate passed"
    assert "improvement over the baseline" in browser.find_element(By.CSS_SELECTOR, "table[aria-label='Gate']").text
    slices = browser.find_element(By.CSS_SELECTOR, "table[aria-label='Slices']").text
    assert "site a 2" in slices and "site b 1" in slices, slices
    assert "scored by the job itself" in browser.find_element(By.TAG_NAME, "main").text
    browser.save_screenshot(str(SCREENSHOTS / "evaluation.png"))
    assert console_errors(browser) == []
