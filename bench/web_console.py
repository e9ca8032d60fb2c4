"""Web console benchmark: how the runs table and a metric chart respond in headless Chromium at scale.

    python bench/web_console.py --url http://127.0.0.1:15060 --password P [--runs 10000] [--points 1000000] [--repeat 5]

Seeds through the native API (one create and one columnar log call per run, from 8 threads): a project whose
experiment has --runs runs (4 params, 3 metrics of 10 steps each), one with --baseline-runs runs, and one whose run
has a --points-point metric. Then, each time in a fresh page load (medians of --repeat):

- table_first_row_ms: navigation start → the first run row painted (bundle, session, projects, experiments, the
  first page of runs, render);
- table_sort_ms: a click on the `acc` header → the best run painted first (server-side order_by); table_sort_flip_ms:
  a second click → the worst run first;
- table_filter_ms: Enter in the filter box (`metrics.f1 > 0.5 AND params.model = 'vit'`) → the first match painted;
- chart_first_render_ms: a click on the big run → Chart.js has drawn its metric (the server downsamples);
- chart_hover_ms: the mouse moved over the chart → the value readout under it painted.

Also, once: every page of the --runs runs loaded by scrolling, the rows then in the DOM, and a scroll jump to the
middle → its rows painted. Interactions are real WebDriver input; each time runs from the input event's timestamp to
a requestAnimationFrame-then-timeout after the DOM shows the expected result (so the frame is painted), measured
with performance.now() in the page. Prints one JSON object. bench/web_console_mlflow.py does the same in MLflow's UI."""
import argparse
import concurrent.futures
import http.client
import json
import os
import statistics
import threading
import time
import urllib.parse

from selenium import webdriver
from selenium.webdriver import ActionChains
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

FILTER = "metrics.f1 > 0.5 AND params.model = 'vit'"


def run_values(index):
    """Deterministic, well-spread values (7919 and 104729 are prime to 10,000: no ties) so sorting has work to do."""
    acc = (index * 7919 % 10_000) / 10_000
    f1 = (index * 104729 % 10_000) / 10_000
    return {"params": {"model": ("resnet", "vit", "mlp")[index % 3], "lr": f"{10 ** -(1 + index % 4):g}",
                       "batch": str(32 << (index % 3)), "seed": str(index)},
            "metrics": {"acc": acc, "loss": 1 - acc, "f1": f1}}


def run_name(index):
    return f"run-{index:05d}"


def expected_first(count, descending, filtered=False):
    """The run a sort by acc (and the filter) puts first."""
    indexes = [i for i in range(count) if not filtered or (run_values(i)["metrics"]["f1"] > 0.5 and i % 3 == 1)]
    pick = max if descending else min
    return run_name(pick(indexes, key=lambda i: run_values(i)["metrics"]["acc"]))


def big_metric(start, stop):
    """A decaying loss with deterministic noise."""
    return [round(1 / (1 + s / 50_000) + 0.05 * ((s * 2654435761) % 1000) / 1000, 6) for s in range(start, stop)]


class KeepAliveJSON:
    """JSON requests over one keep-alive connection per thread, reopened once if the server closed an idle one."""

    def __init__(self, url, timeout):
        self.url = urllib.parse.urlsplit(url)
        self.timeout = timeout
        self.local = threading.local()

    def request(self, method, path, body=None, headers=None):
        headers = {"Content-Type": "application/json", **(headers or {})}
        for attempt in (1, 2):
            connection = getattr(self.local, "connection", None)
            if connection is None:
                connection = self.local.connection = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=self.timeout)
            try:
                connection.request(method, path, body=json.dumps(body).encode() if body is not None else None, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                break
            except (ConnectionError, http.client.HTTPException):
                self.local.connection = None
                if attempt == 2:
                    raise
        if response.status >= 400:
            raise RuntimeError(f"{method} {path}: {response.status} {payload[:300]!r}")
        return json.loads(payload) if payload else None


class Client:
    """aitip's API with an API key made for the benchmark (a session's access token would expire while seeding)."""

    def __init__(self, url, username, password):
        self.http = KeepAliveJSON(url, timeout=300)
        self.auth = None
        self.grant = self.call("POST", "/api/v1/auth/login", {"username": username, "password": password})
        self.auth = f"Bearer {self.grant['access_token']}"
        self.org_id = self.call("GET", "/api/v1/auth/me")["memberships"][0]["organization"]["id"]
        key = self.call("POST", "/api/v1/auth/api-keys", {"name": f"web-console-bench-{time.time_ns()}", "org_id": self.org_id})
        self.auth = f"Bearer {key['key']}"

    def call(self, method, path, body=None):
        return self.http.request(method, path, body, {"Authorization": self.auth} if self.auth else {})

    def project_with_experiment(self, name):
        project = self.call("POST", "/api/v1/projects", {"org_id": self.org_id, "name": name})
        return project, self.call("POST", f"/api/v1/projects/{project['id']}/experiments", {"name": name})

    def seed_runs(self, experiment_id, count, workers=8):
        def one(index):
            run = self.call("POST", f"/api/v1/experiments/{experiment_id}/runs",
                            {"name": run_name(index), "start_time": 1_700_000_000_000 + index * 1000})
            values = run_values(index)
            self.call("POST", f"/api/v1/runs/{run['id']}/log", {"params": values["params"], "metrics": [
                {"key": key, "steps": list(range(10)), "values": [value * (step + 1) / 10 for step in range(10)]}
                for key, value in values["metrics"].items()]})
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, range(count)))

    def seed_big_metric(self, experiment_id, points, chunk=50_000):
        run = self.call("POST", f"/api/v1/experiments/{experiment_id}/runs", {"name": "million"})
        for start in range(0, points, chunk):
            stop = min(start + chunk, points)
            self.call("POST", f"/api/v1/runs/{run['id']}/log", {"metrics": [{"key": "loss", "steps": list(range(start, stop)), "values": big_metric(start, stop)}]})
        return run


# Installed before every document: window.__painted(callback) runs callback once the current DOM is painted;
# window.__marks.firstRow / .chart are when the first run row / a drawn chart (selectors) were first painted, in ms
# from navigation start.
MARKS = """
window.__marks = {};
window.__painted = (callback) => requestAnimationFrame(() => setTimeout(callback, 0));
new MutationObserver(() => {
  const m = window.__marks;
  for (const [name, selector] of Object.entries(SELECTORS)) {
    if (!m[name + "Seen"] && document.querySelector(selector)) {
      m[name + "Seen"] = true; window.__painted(() => { m[name] = performance.now(); });
    }
  }
}).observe(document, {subtree: true, childList: true, attributes: true});
"""

# Arms a measurement: the first `eventType` event (capture phase) starts it; it ends when `done` (a JS expression)
# holds after a DOM change and that frame is painted. window.__measure = {start, end} in performance.now() time.
ARM = """
const [eventType, done] = [arguments[0], arguments[1]];
const ok = new Function("return (" + done + ");");
const m = window.__measure = {start: null, end: null};
document.addEventListener(eventType, (e) => { if (m.start === null) m.start = e.timeStamp; }, {capture: true});
const check = () => {
  if (m.start === null || m.end !== null) return;
  let yes = false;
  try { yes = ok(); } catch (e) { /* not there yet */ }
  if (yes) { m.end = -1; observer.disconnect(); window.__painted(() => { m.end = performance.now(); }); }
};
const observer = new MutationObserver(check);
observer.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
"""


def browser(first_row_selector, chart_selector):
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                           {"source": MARKS.replace("SELECTORS", json.dumps({"firstRow": first_row_selector, "chart": chart_selector}))})
    return driver


def wait_for(driver, expression, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(f"try {{ return {expression}; }} catch (e) {{ return null; }}")
        if value:
            return value
        time.sleep(0.01)
    raise RuntimeError(f"timed out waiting for {expression}")


def measured(driver, event_type, done, act):
    """Milliseconds from the real input `act()` performs (its first `event_type` event) to `done` painted."""
    driver.execute_script(ARM, event_type, done)
    act()
    end = wait_for(driver, "window.__measure.end > 0 && window.__measure.end")
    return end - driver.execute_script("return window.__measure.start")


def hover(driver, element, fraction, done):
    """Moves the pointer off `element`, then onto it at `fraction` of its width: ms from that mousemove to `done`
    painted. (Starting off the element matters: a pointer already there gets no fresh mousemove after a reload.)"""
    away = ActionBuilder(driver)
    away.pointer_action.move_to_location(2, 2)  # the viewport's top-left corner
    away.perform()
    driver.execute_script("return new Promise((resolve) => window.__painted(resolve))")
    x = int(element.size["width"] * (fraction - 0.5))
    return measured(driver, "mousemove", done, lambda: ActionChains(driver).move_to_element_with_offset(element, x, 0).perform())


def median(samples):
    return round(statistics.median(samples), 1)


FIRST_ROW = "document.querySelector(\"table[aria-label=Runs] tbody tr[aria-rowindex='2'] td:nth-child(2)\").textContent"


class Console:
    """The aitip console in one Chromium, signed in by putting a session's tokens where the console keeps them."""

    def __init__(self, url, grant):
        self.url = url
        self.driver = browser("table[aria-label=Runs] tbody tr[aria-rowindex='2'] button", "figure.metric-chart[data-drawn]")
        self.tokens = json.dumps({"access": grant["access_token"], "refresh": grant["refresh_token"]})
        self.loads = 0

    def open_runs(self, project_id):
        """A fresh page load of the project's (only) experiment; answers ms from navigation to the first row painted."""
        self.driver.get(self.url + "/favicon.svg")
        self.driver.execute_script("localStorage.setItem('aitip.tokens', arguments[0]); localStorage.setItem('aitip.project', arguments[1]);",
                                   self.tokens, project_id)
        self.loads += 1
        self.driver.get(f"{self.url}/?load={self.loads}#/experiments")
        return wait_for(self.driver, "window.__marks.firstRow")

    def first_is(self, name):
        return f"{FIRST_ROW} === {json.dumps(name)} && document.querySelector('table[aria-label=Runs]').getAttribute('aria-busy') === 'false'"

    def sort(self, header, expected):
        button = self.driver.find_element(By.XPATH, f"//table[@aria-label='Runs']//th//button[starts-with(text(), '{header}')]")
        return measured(self.driver, "pointerdown", self.first_is(expected), button.click)

    def filter(self, text, expected):
        box = self.driver.find_element(By.NAME, "filter")
        box.clear()
        box.send_keys(text)
        return measured(self.driver, "keydown", self.first_is(expected), lambda: box.send_keys(Keys.ENTER))

    def open_chart(self, run):
        button = self.driver.find_element(By.XPATH, f"//table[@aria-label='Runs']//td//button[text()='{run}']")
        elapsed = measured(self.driver, "pointerdown", "document.querySelector('figure.metric-chart[data-drawn]') !== null", button.click)
        caption = self.driver.execute_script("return document.querySelector('figure.metric-chart figcaption').textContent")
        return elapsed, caption, int(self.driver.execute_script("return document.querySelector('figure.metric-chart').dataset.drawn"))

    def hover_chart(self, fraction):
        canvas = self.driver.find_element(By.CSS_SELECTOR, "figure.metric-chart canvas")
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
        before = self.driver.execute_script("return document.querySelector('.chart-readout').textContent")
        return hover(self.driver, canvas, fraction, f"document.querySelector('.chart-readout').textContent !== {json.dumps(before)}")

    def load_every_page(self):
        """Scrolls to the end until no page is left; answers (runs loaded, seconds, rows in the DOM, ms of a jump to the middle)."""
        scroller = "document.querySelector('.runs-scroll')"
        started = time.perf_counter()
        while self.driver.execute_script("return document.querySelector('table[aria-label=Runs] tr.more') !== null"):
            self.driver.execute_script(f"{scroller}.scrollTop = {scroller}.scrollHeight")
            wait_for(self.driver, "document.querySelector('table[aria-label=Runs]').getAttribute('aria-busy') === 'false'")
        seconds = time.perf_counter() - started
        loaded = int(self.driver.execute_script("return document.querySelector('table[aria-label=Runs]').getAttribute('aria-rowcount')")) - 1
        middle = loaded // 2
        jump = measured(self.driver, "scroll", f"document.querySelector(\"table[aria-label=Runs] tr[aria-rowindex='{middle + 2}']\") !== null",
                        lambda: self.driver.execute_script(f"{scroller}.scrollTop = {middle} * 36"))
        rows = self.driver.execute_script("return document.querySelectorAll('table[aria-label=Runs] tbody tr').length")
        return loaded, round(seconds, 1), rows, round(jump, 1)


def measure_table(console, project_id, count, repeat):
    first, sort, flip, filtered = [], [], [], []
    for _ in range(repeat):
        first.append(console.open_runs(project_id))
        sort.append(console.sort("acc", expected_first(count, descending=True)))
        flip.append(console.sort("acc", expected_first(count, descending=False)))
        filtered.append(console.filter(FILTER, expected_first(count, descending=False, filtered=True)))
    return {"table_first_row_ms": median(first), "table_sort_ms": median(sort), "table_sort_flip_ms": median(flip),
            "table_filter_ms": median(filtered), "samples_first_row": [round(x) for x in first], "samples_sort": [round(x) for x in sort]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", required=True)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--baseline-runs", type=int, default=100)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    client = Client(args.url, args.username, args.password)
    suffix = str(int(time.time()))
    results = {"runs": args.runs, "baseline_runs": args.baseline_runs, "points": args.points, "repeat": args.repeat}
    started = time.perf_counter()
    big_project, big = client.project_with_experiment(f"bench-{args.runs}-runs-{suffix}")
    client.seed_runs(big["id"], args.runs)
    small_project, small = client.project_with_experiment(f"bench-{args.baseline_runs}-runs-{suffix}")
    client.seed_runs(small["id"], args.baseline_runs)
    results["seed_runs_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    chart_project, chart_experiment = client.project_with_experiment(f"bench-chart-{suffix}")
    million = client.seed_big_metric(chart_experiment["id"], args.points)
    results["seed_points_s"] = round(time.perf_counter() - started, 1)
    api_times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        series = client.call("GET", f"/api/v1/runs/{million['id']}/metrics/loss?max_points=500")
        api_times.append((time.perf_counter() - start) * 1000)
    assert series["total_points"] == args.points and len(series["points"]) <= 500
    results["api_series_ms"] = median(api_times)

    console = Console(args.url, client.grant)
    try:
        console.open_runs(small_project["id"])  # the browser's cache holds the bundle from here on, as for a returning user
        results[f"table_{args.baseline_runs}"] = measure_table(console, small_project["id"], args.baseline_runs, args.repeat)
        results[f"table_{args.runs}"] = measure_table(console, big_project["id"], args.runs, args.repeat)
        console.open_runs(big_project["id"])
        loaded, seconds, rows, jump = console.load_every_page()
        results["scroll"] = {"runs_loaded": loaded, "load_all_s": seconds, "dom_rows": rows, "jump_to_middle_ms": jump}
        opened, from_navigation, hovered, caption, drawn = [], [], [], "", 0
        for _ in range(args.repeat):
            first_row = console.open_runs(chart_project["id"])
            elapsed, caption, drawn = console.open_chart("million")
            opened.append(elapsed)
            from_navigation.append(first_row + elapsed)
            time.sleep(2)  # hovers are timed on a settled chart (MLflow's ignored a hover sent right after its first paint)
            hovered.append(console.hover_chart(0.3))
            hovered.append(console.hover_chart(0.7))
        results["chart"] = {"caption": caption, "points_drawn": drawn, "chart_first_render_ms": median(opened),
                            "navigation_to_chart_ms": median(from_navigation), "chart_hover_ms": median(hovered)}
    finally:
        console.driver.quit()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
