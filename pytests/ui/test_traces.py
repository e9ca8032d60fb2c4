"""An experiment's MLflow 3 traces in real Chromium: the list searched with the trace grammar (a bad filter shows the
server's message and no stale rows), one trace as a span tree on a timeline, a span's inputs and outputs, and the
address keeping the chosen span across a reload. The traces are sent as the MLflow client sends them: the summary to
the v3 API, the spans as traces.json to the artifact location the server names. Screenshot: docs/screenshots/traces.png."""
import base64
import json
import urllib.request

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from conftest import ADMIN_PASSWORD, SCREENSHOTS
from test_console import api, console_errors, fits_width, sign_in, visible, wait
from test_runs_and_resources import default_project


def span(span_id, parent, name, start, end, span_type, inputs=None, outputs=None, error=None):
    encode = lambda n: base64.b64encode(n.to_bytes(8, "big")).decode()  # noqa: E731
    attributes = {"mlflow.spanType": json.dumps(span_type)}
    if inputs is not None:
        attributes["mlflow.spanInputs"] = json.dumps(inputs)
    if outputs is not None:
        attributes["mlflow.spanOutputs"] = json.dumps(outputs)
    return {"trace_id": "AAAAAAAAAAAAAAAAAAAAAQ==", "span_id": encode(span_id), "parent_span_id": encode(parent) if parent else None,
            "name": name, "start_time_unix_nano": start, "end_time_unix_nano": end,
            "status": {"code": "STATUS_CODE_ERROR" if error else "STATUS_CODE_OK", "message": error or ""},
            "attributes": attributes, "events": []}


def log_trace(base, token, experiment_id, trace_id, state, when, spans):
    info = {"trace_id": trace_id, "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment_id}},
            "request_time": when, "execution_duration": "0.120s", "state": state, "request_preview": '{"question": "what is aitip?"}',
            "tags": {"mlflow.traceName": spans[0]["name"], "team": "search"}}
    started = api(base, "POST", "/api/3.0/mlflow/traces", token, {"trace": {"trace_info": info}})
    location = started["trace"]["trace_info"]["tags"]["mlflow.artifactLocation"].removeprefix("mlflow-artifacts:/")
    request = urllib.request.Request(f"{base}/api/2.0/mlflow-artifacts/artifacts/{location}/traces.json", method="PUT",
                                     data=json.dumps({"spans": spans}).encode())
    request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request) as response:
        assert response.status == 200


def test_traces_list_and_span_tree(server, browser):
    token = api(server, "POST", "/api/v1/auth/login", body={"username": "admin", "password": ADMIN_PASSWORD})["access_token"]
    experiment = api(server, "POST", f"/api/v1/projects/{default_project(server, token)['id']}/experiments", token, {"name": "ui-traces"})
    ms = 1_000_000
    log_trace(server, token, experiment["id"], "tr-aaaa0000000000000000000000000001", "OK", "2026-12-06T10:00:00Z", [
        span(1, None, "pipeline", 0, 120 * ms, "CHAIN", {"question": "what is aitip?"}, "An AI platform"),
        span(2, 1, "retrieve", 5 * ms, 40 * ms, "RETRIEVER", {"query": "what is aitip?"}, ["doc-1", "doc-2"]),
        span(3, 1, "answer", 45 * ms, 118 * ms, "LLM", {"prompt": "..."}, "An AI platform"),
        span(4, 3, "tokenize", 46 * ms, 50 * ms, "PARSER", "...", [1, 2, 3]),
    ])
    log_trace(server, token, experiment["id"], "tr-bbbb0000000000000000000000000002", "ERROR", "2026-12-06T10:05:00Z", [
        span(1, None, "broken", 0, 3 * ms, "CHAIN", {"x": 7}, error="ValueError: cannot handle 7"),
    ])

    sign_in(browser, server)
    visible(browser, By.CSS_SELECTOR, "header.header")
    browser.get(f"{server}/#/experiments/{experiment['id']}")
    visible(browser, By.XPATH, "//div[@role='tablist']//button[text()='Traces']").click()
    rows = lambda d: [r.text for r in d.find_elements(By.CSS_SELECTOR, "table[aria-label=Traces] tbody tr td:nth-child(2)")]  # noqa: E731
    wait(browser, lambda d: rows(d) == ["broken", "pipeline"])

    # The server filters; a filter it refuses shows its message instead of the previous rows.
    search = browser.find_element(By.NAME, "trace-filter")
    # Select and replace (clear() does not reach React's state).
    replace = lambda text: search.send_keys(Keys.CONTROL, "a", Keys.NULL, Keys.DELETE, text, "\n")  # noqa: E731
    replace("status = 'ERROR'")
    wait(browser, lambda d: rows(d) == ["broken"] and "filter=" in d.current_url)
    replace("metrics.acc > 1")
    alert = visible(browser, By.CSS_SELECTOR, "[role=alert]")
    assert "traces have no metrics" in alert.text
    assert browser.find_elements(By.CSS_SELECTOR, "table[aria-label=Traces]") == []
    replace("")
    wait(browser, lambda d: rows(d) == ["broken", "pipeline"])

    # One trace: spans in tree order, nested under their parents, the root chosen first.
    visible(browser, By.XPATH, "//table[@aria-label='Traces']//code[text()='tr-aaaa0000000000000000000000000001']").click()
    tree = lambda d: [b.find_element(By.CSS_SELECTOR, ".span-name").text for b in d.find_elements(By.CSS_SELECTOR, "ol[aria-label=Spans] button")]  # noqa: E731
    wait(browser, lambda d: tree(d) == ["pipeline", "retrieve", "answer", "tokenize"])
    indent = [b.value_of_css_property("padding-left") for b in browser.find_elements(By.CSS_SELECTOR, "ol[aria-label=Spans] button")]
    assert float(indent[0][:-2]) < float(indent[1][:-2]) == float(indent[2][:-2]) < float(indent[3][:-2])
    visible(browser, By.CSS_SELECTOR, "section[aria-label='Span pipeline']")

    visible(browser, By.XPATH, "//ol[@aria-label='Spans']//button[.//span[text()='retrieve']]").click()
    detail = visible(browser, By.CSS_SELECTOR, "section[aria-label='Span retrieve']")
    wait(browser, lambda d: '"query": "what is aitip?"' in detail.text and '"doc-2"' in detail.text)
    assert "RETRIEVER" in browser.find_element(By.XPATH, "//ol[@aria-label='Spans']//button[.//span[text()='retrieve']]").text
    assert "span=" in browser.current_url
    for width, height in [(390, 844), (1280, 900)]:  # a phone, then a laptop: nothing runs off the page
        fits_width(browser, width, height)
    browser.execute_script("arguments[0].scrollIntoView()", browser.find_element(By.CSS_SELECTOR, "section[aria-label^='Trace ']"))
    browser.save_screenshot(str(SCREENSHOTS / "traces.png"))

    # The address holds the trace and the span: a reload shows the same.
    browser.refresh()
    visible(browser, By.CSS_SELECTOR, "section[aria-label='Span retrieve']")

    # A failed trace shows its state and the span's error.
    browser.get(f"{server}/#/experiments/{experiment['id']}/traces/tr-bbbb0000000000000000000000000002")
    failed = visible(browser, By.CSS_SELECTOR, "section[aria-label='Span broken']")
    assert "ValueError: cannot handle 7" in failed.text
    assert console_errors(browser) == []
