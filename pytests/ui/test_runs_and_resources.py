"""The tracking and resources pages in real Chromium against a real aitip: sort the runs table, pick runs with the
keyboard and compare them (a chart per metric with a line per run, the params that differ), browse and download a
run's artifacts, set a quota and read GPU usage and costs as a chart and a table. Screenshots go to docs/screenshots/."""
import pathlib
import tempfile
import struct
import time
import zlib
import urllib.request

from selenium.webdriver import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from conftest import ADMIN_PASSWORD, SCREENSHOTS
from test_console import api, console_errors, sign_in, visible, wait

WEIGHTS = bytes(range(256)) * 4


def put_artifact(base, token, path, content):
    request = urllib.request.Request(f"{base}/api/2.0/mlflow-artifacts/artifacts/{path}", method="PUT", data=content)
    request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request) as response:
        assert response.status == 200


def default_project(base, token):
    return next(p for p in api(base, "GET", "/api/v1/projects?limit=500", token)["items"] if p["slug"] == "default")


def test_compare_runs_and_browse_artifacts(server, browser):
    token = api(server, "POST", "/api/v1/auth/login", body={"username": "admin", "password": ADMIN_PASSWORD})["access_token"]
    experiment = api(server, "POST", f"/api/v1/projects/{default_project(server, token)['id']}/experiments", token, {"name": "ui-compare"})
    runs = {}
    for name, lr, final in [("alpha", "0.1", 0.81), ("beta", "0.01", 0.93), ("gamma", "0.001", 0.62)]:
        run = api(server, "POST", f"/api/v1/experiments/{experiment['id']}/runs", token, {"name": name})
        steps = list(range(2000))
        api(server, "POST", f"/api/v1/runs/{run['id']}/log", token, {
            "metrics": [{"key": "acc", "steps": steps, "values": [final * (i + 1) / 2000 for i in steps]},
                        {"key": "loss", "steps": steps, "values": [1 / (i + 1) + final for i in steps]}],
            "params": {"lr": lr, "batch": "64"}})
        runs[name] = run
    alpha = runs["alpha"]
    root = f"{experiment['id']}/{alpha['id']}/artifacts"
    put_artifact(server, token, f"{root}/notes.txt", b"hello world")
    put_artifact(server, token, f"{root}/model/weights.bin", WEIGHTS)
    put_artifact(server, token, f"{root}/model/config/params.yaml", b"lr: 0.1\n")
    put_artifact(server, token, f"{root}/eval/scores.csv", b'split,acc\ntrain,0.91\n"val, held out",0.84\n')
    put_artifact(server, token, f"{root}/eval/summary.json", b'{"best": {"acc": 0.91, "step": 1999}}')
    put_artifact(server, token, f"{root}/eval/curve.png", tiny_png())

    sign_in(browser, server)
    visible(browser, By.LINK_TEXT, "Experiments").click()
    visible(browser, By.XPATH, "//table[@aria-label='Experiments']//button[text()='ui-compare']").click()
    first_run = lambda d: d.find_element(By.CSS_SELECTOR, "table[aria-label=Runs] tbody tr[aria-rowindex='2'] td:nth-child(2)").text  # noqa: E731
    wait(browser, lambda d: first_run(d) in ("alpha", "beta", "gamma") and len(d.find_elements(By.CSS_SELECTOR, "table[aria-label=Runs] tbody tr[aria-rowindex]")) == 3)

    # Sort by a metric column (server-side order_by): highest first, then lowest first.
    header = lambda: browser.find_element(By.XPATH, "//table[@aria-label='Runs']//th[.//button[starts-with(text(), 'acc')]]")  # noqa: E731
    header().find_element(By.TAG_NAME, "button").click()
    wait(browser, lambda d: header().get_attribute("aria-sort") == "descending" and first_run(d) == "beta")
    assert browser.find_element(By.NAME, "order-by").get_attribute("value") == "metrics.`acc` DESC"
    header().find_element(By.TAG_NAME, "button").click()
    wait(browser, lambda d: header().get_attribute("aria-sort") == "ascending" and first_run(d) == "gamma")
    browser.find_element(By.XPATH, "//table[@aria-label='Runs']//th//button[text()='lr']").click()
    # gamma was first already: wait for the whole lr order (rows that move would take the keyboard focus with them).
    names = lambda d: [row.text for row in d.find_elements(By.CSS_SELECTOR, "table[aria-label=Runs] tbody tr[aria-rowindex] td:nth-child(2)")]  # noqa: E731
    wait(browser, lambda d: names(d) == ["gamma", "beta", "alpha"]  # params sort as text: '0.001' < '0.01' < '0.1'
         and d.find_element(By.CSS_SELECTOR, "table[aria-label=Runs]").get_attribute("aria-busy") == "false")

    # Pick two runs with the keyboard: Space on a checkbox, ArrowDown to the next row's, Space again.
    checkbox = browser.find_element(By.CSS_SELECTOR, "input[data-row='0']")
    checkbox.send_keys(Keys.SPACE)
    checkbox.send_keys(Keys.ARROW_DOWN)
    focused = browser.switch_to.active_element
    assert focused.get_attribute("data-row") == "1"
    focused.send_keys(Keys.SPACE)
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "input[data-row='1']").is_selected())
    compare = browser.find_element(By.XPATH, "//button[starts-with(normalize-space(), 'Compare 2 runs')]")
    compare.click()

    # One chart per metric with a line per run, an HTML legend naming both runs, the params that differ marked.
    section = visible(browser, By.CSS_SELECTOR, "section[aria-label='Run comparison']")
    wait(browser, lambda d: len(section.find_elements(By.CSS_SELECTOR, "figure.metric-chart[data-drawn] canvas")) == 2)
    legend = section.find_element(By.CSS_SELECTOR, "ul[aria-label='Runs compared']").text
    assert "gamma" in legend and "beta" in legend and "alpha" not in legend
    drawn = section.find_element(By.CSS_SELECTOR, "figure.metric-chart").get_attribute("data-drawn")
    assert int(drawn) <= 2 * 500, "each line arrives downsampled to at most 500 of its 2,000 points"
    params = section.find_element(By.CSS_SELECTOR, "table[aria-label='Params compared']")
    assert "gamma" in params.text and "beta" in params.text
    assert "differs" in params.find_element(By.XPATH, ".//tr[.//code[text()='lr']]").get_attribute("class")
    assert params.find_element(By.XPATH, ".//tr[.//code[text()='batch']]").get_attribute("class") in ("", None)
    # Hovering a chart reads the runs' values at that step.
    canvas = section.find_element(By.CSS_SELECTOR, "figure.metric-chart canvas")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
    ActionChains(browser).move_to_element(canvas).perform()
    wait(browser, lambda d: "step" in section.find_element(By.CSS_SELECTOR, ".chart-readout").text)
    # Dragging across a chart zooms into those steps, read again at full detail for both runs; a double-click resets.
    figure = section.find_element(By.CSS_SELECTOR, "figure.metric-chart")
    drag_across(browser, canvas)
    wait(browser, lambda d: figure.get_attribute("data-zoomed") and figure.get_attribute("data-drawn") == str(2 * steps_in(figure)))
    assert 100 < steps_in(figure) < 500, figure.get_attribute("data-zoomed")
    assert "Reset zoom" in figure.find_element(By.TAG_NAME, "figcaption").text
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", section)
    browser.save_screenshot(str(SCREENSHOTS / "comparison.png"))
    ActionChains(browser).double_click(canvas).perform()
    wait(browser, lambda d: figure.get_attribute("data-zoomed") is None and int(figure.get_attribute("data-drawn")) <= 2 * 500)
    section.find_element(By.XPATH, ".//button[text()='Close comparison']").click()

    # One run's chart zooms the same way; its caption counts the points in the range, and Reset zoom goes back.
    browser.find_element(By.XPATH, "//table[@aria-label='Runs']//button[text()='alpha']").click()
    chart = visible(browser, By.CSS_SELECTOR, "div[aria-label='Run alpha'] figure.metric-chart[data-drawn]")
    caption = lambda: chart.find_element(By.TAG_NAME, "figcaption").text  # noqa: E731
    wait(browser, lambda d: caption().startswith("acc (2,000 points, 500 drawn)"))
    drag_across(browser, chart.find_element(By.TAG_NAME, "canvas"))
    wait(browser, lambda d: chart.get_attribute("data-zoomed") and chart.get_attribute("data-drawn") == str(steps_in(chart)))
    assert caption().startswith(f"acc ({steps_in(chart):,} points) · steps ")
    chart.find_element(By.XPATH, ".//button[text()='Reset zoom']").click()
    wait(browser, lambda d: chart.get_attribute("data-zoomed") is None and caption().startswith("acc (2,000 points, 500 drawn)"))

    # A run's artifacts: folders open on demand, files show their size and download with the bearer token.
    visible(browser, By.XPATH, "//div[@aria-label='Run alpha']//button[@role='tab'][text()='Artifacts']").click()
    artifacts = lambda d: d.find_element(By.CSS_SELECTOR, "table[aria-label=Artifacts]").text  # noqa: E731
    wait(browser, lambda d: "model/" in artifacts(d) and "notes.txt" in artifacts(d) and "11 B" in artifacts(d))
    browser.find_element(By.XPATH, "//table[@aria-label='Artifacts']//button[text()='model/']").click()
    wait(browser, lambda d: "weights.bin" in artifacts(d) and "1.0 KB" in artifacts(d) and "config/" in artifacts(d))
    browser.find_element(By.XPATH, "//table[@aria-label='Artifacts']//button[text()='config/']").click()
    wait(browser, lambda d: "params.yaml" in artifacts(d))
    downloads = pathlib.Path(tempfile.mkdtemp(prefix="aitip-ui-artifacts-"))
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    browser.find_element(By.CSS_SELECTOR, "button[aria-label='Download model/weights.bin']").click()
    deadline = time.monotonic() + 10
    while not (downloads / "weights.bin").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (downloads / "weights.bin").read_bytes() == WEIGHTS
    # Previews: CSV as a table, JSON pretty-printed, an image as an image; a binary file has none.
    assert not browser.find_elements(By.CSS_SELECTOR, "button[aria-label='Preview model/weights.bin']")
    browser.find_element(By.XPATH, "//table[@aria-label='Artifacts']//button[text()='eval/']").click()
    wait(browser, lambda d: "scores.csv" in artifacts(d))
    browser.find_element(By.CSS_SELECTOR, "button[aria-label='Preview eval/summary.json']").click()
    wait(browser, lambda d: '"acc": 0.91' in d.find_element(By.CSS_SELECTOR, "pre[aria-label='Preview of summary.json']").text)
    browser.find_element(By.CSS_SELECTOR, "button[aria-label='Preview eval/curve.png']").click()
    image = visible(browser, By.CSS_SELECTOR, "img[alt='Preview of curve.png']")
    wait(browser, lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image) == 4)
    browser.find_element(By.CSS_SELECTOR, "button[aria-label='Preview eval/scores.csv']").click()
    table = visible(browser, By.CSS_SELECTOR, "table[aria-label='Preview of scores.csv']")
    assert [th.text for th in table.find_elements(By.TAG_NAME, "th")] == ["split", "acc"]
    assert [[td.text for td in tr.find_elements(By.TAG_NAME, "td")] for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr")] == \
        [["train", "0.91"], ["val, held out", "0.84"]]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", browser.find_element(By.CSS_SELECTOR, "table[aria-label=Artifacts]"))
    browser.save_screenshot(str(SCREENSHOTS / "artifacts.png"))
    assert console_errors(browser) == []


def tiny_png():
    """A 4×2 RGB PNG, written by hand (zlib and CRC32 from the standard library)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + bytes([200, 60, 40] * 4) for _ in range(2))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 2, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def drag_across(browser, canvas):
    """Presses at 40 % of the chart's width and releases at 55 %."""
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
    width = canvas.size["width"]
    ActionChains(browser).move_to_element_with_offset(canvas, int(-0.1 * width), 0).click_and_hold() \
        .move_by_offset(int(0.08 * width), 0).move_by_offset(int(0.07 * width), 0).release().perform()


def steps_in(figure):
    """How many steps the figure's zoomed range spans (`data-zoomed` is "MIN-MAX")."""
    low, high = map(int, figure.get_attribute("data-zoomed").split("-"))
    return high - low + 1


def test_resources_quota_usage_and_costs(server, browser):
    token = api(server, "POST", "/api/v1/auth/login", body={"username": "admin", "password": ADMIN_PASSWORD})["access_token"]
    project = default_project(server, token)
    job = api(server, "POST", "/api/v1/training/jobs", token, {
        "project_id": project["id"], "name": "ui-usage", "entrypoint": "sleep 1", "priority": "normal",
        "resources": {"gpu_type": "a100", "gpu_count": 2}})
    deadline = time.monotonic() + 30
    while api(server, "GET", f"/api/v1/training/jobs/{job['id']}", token)["status"] != "succeeded":
        assert time.monotonic() < deadline, "the usage job did not finish"
        time.sleep(0.3)

    sign_in(browser, server)
    visible(browser, By.LINK_TEXT, "Resources").click()
    quotas = lambda d: d.find_element(By.CSS_SELECTOR, "table[aria-label=Quotas]").text  # noqa: E731

    # The operator organization's admin sets a quota; an out-of-range value gets the server's field message.
    visible(browser, By.XPATH, "//button[text()='Set a quota…']").click()
    Select(visible(browser, By.NAME, "quota-project")).select_by_visible_text(f"project {project['name']}")
    hours = browser.find_element(By.NAME, "max_gpu_hours_month")
    hours.send_keys("20000000")
    browser.find_element(By.NAME, "max_concurrent_jobs").send_keys("4")
    browser.find_element(By.XPATH, "//form[@aria-label='Set a quota']//button[@type='submit']").click()
    assert "between 0 and 10,000,000" in visible(browser, By.CSS_SELECTOR, "form[aria-label='Set a quota'] .field-error").text
    hours.clear()
    hours.send_keys("100")
    browser.find_element(By.XPATH, "//form[@aria-label='Set a quota']//button[@type='submit']").click()
    wait(browser, lambda d: f"project {project['name']}" in quotas(d) and "/ 100" in quotas(d) and "/ 4" in quotas(d))

    # GPU-hours and cost of this month as a bar chart and a table, grouped by project, then by GPU type.
    chart = visible(browser, By.CSS_SELECTOR, "figure.bar-chart")
    wait(browser, lambda d: chart.get_attribute("data-drawn") not in (None, "0"))
    usage = lambda d: d.find_element(By.CSS_SELECTOR, "table[aria-label='Usage and costs']").text  # noqa: E731
    wait(browser, lambda d: project["name"] in usage(d) and "a100" in usage(d) and "$" in usage(d))
    assert "GPU-hours" in chart.text and "Cost (USD)" in chart.text
    Select(browser.find_element(By.NAME, "group-by")).select_by_visible_text("GPU type")
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "table[aria-label='Usage and costs'] tbody td").text == "a100")
    Select(browser.find_element(By.NAME, "group-by")).select_by_visible_text("Project")
    wait(browser, lambda d: project["name"] in usage(d))
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", browser.find_element(By.XPATH, "//h2[text()='Quotas']"))
    browser.save_screenshot(str(SCREENSHOTS / "resources.png"))

    # A date range without usage says so.
    browser.find_element(By.NAME, "usage-from").send_keys("01012020")
    browser.find_element(By.NAME, "usage-to").send_keys("01312020")
    browser.find_element(By.XPATH, "//form[@aria-label='Usage report']//button[text()='Show']").click()
    wait(browser, lambda d: "No GPU time was used between 2020-01-01 and 2020-01-31" in d.find_element(By.TAG_NAME, "main").text)
    assert console_errors(browser) == []
