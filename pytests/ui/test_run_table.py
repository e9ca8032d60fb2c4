"""The runs table's columns and filters in real Chromium: a column chooser (params, metrics, tags, duration, user,
source, models) kept in the address and kept when a filter hides the runs that have those keys, status and
start-time filters that the server applies, a filter error that clears the old rows, and an opened run scrolled into
view. Screenshot: docs/screenshots/run-table.png."""
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from conftest import ADMIN_PASSWORD, SCREENSHOTS
from test_console import api, console_errors, fits_width, sign_in, visible, wait
from test_runs_and_resources import default_project


def test_choose_columns_and_filter_by_status_and_time(server, browser):
    token = api(server, "POST", "/api/v1/auth/login", body={"username": "admin", "password": ADMIN_PASSWORD})["access_token"]
    experiment = api(server, "POST", f"/api/v1/projects/{default_project(server, token)['id']}/experiments", token, {"name": "ui-columns"})
    now = int(time.time() * 1000)
    for name, status, started, acc, team in [("old-ok", "FINISHED", now - 3 * 86_400_000, 0.71, "vision"),
                                            ("new-ok", "FINISHED", now - 3_600_000, 0.93, "search"),
                                            ("new-bad", "FAILED", now - 1_800_000, 0.12, None)]:
        tags = {"mlflow.source.name": f"{name}.py"} | ({"team": team} if team else {})
        run = api(server, "POST", f"/api/v1/experiments/{experiment['id']}/runs", token, {"name": name, "start_time": started, "tags": tags})
        api(server, "POST", f"/api/v1/runs/{run['id']}/log", token, {"metrics": [{"key": "acc", "steps": [0], "values": [acc]}], "params": {"lr": "0.1"}})
        api(server, "PATCH", f"/api/v1/runs/{run['id']}", token, {"status": status, "end_time": started + 90_000})

    sign_in(browser, server)
    visible(browser, By.CSS_SELECTOR, "header.header")
    browser.get(f"{server}/#/experiments/{experiment['id']}")
    names = lambda d: sorted(c.text for c in d.find_elements(By.CSS_SELECTOR, "table[aria-label=Runs] tbody tr[aria-rowindex] td:nth-child(2)"))  # noqa: E731
    headers = lambda d: [h.text.rstrip(" ▲▼") for h in d.find_elements(By.CSS_SELECTOR, "table[aria-label=Runs] thead th")][1:]  # noqa: E731
    wait(browser, lambda d: names(d) == ["new-bad", "new-ok", "old-ok"])
    assert headers(browser) == ["Run", "Status", "Started", "lr", "acc"]

    # Choose columns: a tag, duration and source on, the param off; the address keeps the choice.
    visible(browser, By.CSS_SELECTOR, ".column-chooser summary").click()
    for label in ["Tag team", "Attribute Duration", "Attribute Source", "Param lr"]:
        browser.find_element(By.CSS_SELECTOR, f"input[aria-label='{label}']").click()
    wait(browser, lambda d: headers(d) == ["Run", "Status", "Started", "acc", "team", "Duration", "Source"])
    assert "cols=" in browser.current_url
    row = lambda d, run: d.find_element(By.XPATH, f"//table[@aria-label='Runs']//tr[td[2]//button[text()='{run}']]").text  # noqa: E731
    assert "1 min 30 s" in row(browser, "new-ok") and "new-ok.py" in row(browser, "new-ok") and "search" in row(browser, "new-ok")
    browser.find_element(By.CSS_SELECTOR, ".column-chooser summary").click()

    # The server filters by status and start time; the columns stay although no shown run has a team tag.
    Select(browser.find_element(By.NAME, "status")).select_by_value("FAILED")
    browser.find_element(By.XPATH, "//form[@role='search']//button[text()='Search']").click()
    wait(browser, lambda d: names(d) == ["new-bad"] and "status=FAILED" in d.current_url)
    assert headers(browser) == ["Run", "Status", "Started", "acc", "team", "Duration", "Source"]
    Select(browser.find_element(By.NAME, "status")).select_by_value("")
    after = browser.find_element(By.NAME, "started-after")
    two_days_ago = time.strftime("%m%d%Y\t%I%M%p", time.localtime(time.time() - 2 * 86_400))
    after.send_keys(two_days_ago)
    browser.find_element(By.XPATH, "//form[@role='search']//button[text()='Search']").click()
    wait(browser, lambda d: names(d) == ["new-bad", "new-ok"] and "after=" in d.current_url)

    # A filter the server refuses: its message, and none of the previous rows.
    box = browser.find_element(By.NAME, "filter")
    box.send_keys("metrics.acc >> 1", Keys.ENTER)
    assert "Invalid filter" in visible(browser, By.CSS_SELECTOR, "[role=alert]").text
    assert browser.find_elements(By.CSS_SELECTOR, "table[aria-label=Runs]") == []
    box.send_keys(Keys.CONTROL, "a", Keys.NULL, Keys.DELETE, Keys.ENTER)
    wait(browser, lambda d: names(d) == ["new-bad", "new-ok"])
    for width, height in [(390, 844), (1280, 900)]:  # a phone, then a laptop: nothing runs off the page
        fits_width(browser, width, height)
    browser.save_screenshot(str(SCREENSHOTS / "run-table.png"))

    # Opening a run brings its detail into view.
    browser.find_element(By.XPATH, "//table[@aria-label='Runs']//button[text()='new-ok']").click()
    detail = visible(browser, By.CSS_SELECTOR, "div[aria-label='Run new-ok']")
    wait(browser, lambda d: d.execute_script("const r = arguments[0].getBoundingClientRect(); return r.top >= -1 && r.top < window.innerHeight / 2", detail))
    assert console_errors(browser) == []
