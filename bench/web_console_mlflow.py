"""The web console benchmark's data and measurements in MLflow's own UI (`mlflow server`), for comparison.

    python bench/web_console_mlflow.py --url http://127.0.0.1:15061 [--runs 10000] [--points 1000000] [--repeat 5]

Seeds the same runs as bench/web_console.py through MLflow's REST API (runs/create and one runs/log-batch per run,
from 8 threads; the big metric 1,000 points per log-batch, MLflow's limit), then times MLflow 3's "Model training"
runs page the same way: the first row painted after navigation; a sort by `acc` chosen in its Sort menu (the menu is
opened first, untimed; the click on `acc` starts the clock); Enter in its search box with the same filter; and the
run page's `loss` chart (Plotly) from navigation. Hovers are not timed here: in headless Chromium MLflow's tooltip
mostly appeared only with a later, unrelated re-render (its 30 s auto-refresh), so the number would not be its own.
Prints JSON. --reuse measures the experiments an earlier run seeded on the same server (seeding takes ~10 minutes)."""
import argparse
import concurrent.futures
import json
import time

from selenium.webdriver import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from web_console import FILTER, KeepAliveJSON, big_metric, browser, expected_first, measured, median, run_name, run_values, wait_for


class MLflow:
    def __init__(self, url):
        self.http = KeepAliveJSON(url, timeout=600)

    def call(self, path, body):
        return self.http.request("POST", "/api/2.0/mlflow/" + path, body)

    def experiment(self, name):
        return self.call("experiments/create", {"name": name})["experiment_id"]

    def seed_runs(self, experiment_id, count, workers=8):
        def one(index):
            run = self.call("runs/create", {"experiment_id": experiment_id, "run_name": run_name(index),
                                            "start_time": 1_700_000_000_000 + index * 1000})["run"]["info"]["run_id"]
            values = run_values(index)
            self.call("runs/log-batch", {"run_id": run, "params": [{"key": k, "value": v} for k, v in values["params"].items()],
                                         "metrics": [{"key": key, "value": value * (step + 1) / 10, "timestamp": 1_700_000_000_000, "step": step}
                                                     for key, value in values["metrics"].items() for step in range(10)]})
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, range(count)))

    def seed_big_metric(self, experiment_id, points, chunk=1000):
        run = self.call("runs/create", {"experiment_id": experiment_id, "run_name": "million"})["run"]["info"]["run_id"]
        for start in range(0, points, chunk):
            stop = min(start + chunk, points)
            self.call("runs/log-batch", {"run_id": run, "metrics": [{"key": "loss", "value": value, "timestamp": 1_700_000_000_000, "step": start + i}
                                                                   for i, value in enumerate(big_metric(start, stop))]})
        return run


FIRST_ROW = "document.querySelector('.ag-row[row-index=\"0\"] a').textContent"
CHART = ".js-plotly-plot .scatterlayer path.js-line"


class UI:
    def __init__(self, url):
        self.url = url
        self.driver = browser(".ag-row[row-index='0'] a", CHART)
        self.loads = 0

    def navigate(self, route, mark):
        if self.driver.current_url.startswith(self.url):
            self.driver.execute_script("localStorage.clear(); sessionStorage.clear();")  # MLflow keeps view state there
        self.loads += 1
        self.driver.get(f"{self.url}/?load={self.loads}#{route}")
        return wait_for(self.driver, f"window.__marks.{mark}")

    def open_runs(self, experiment_id):
        return self.navigate(f"/experiments/{experiment_id}/runs?workflowType=machine_learning&searchFilter=&orderByKey=attributes.start_time"
                             "&orderByAsc=false", "firstRow")

    def sort_by(self, key, expected):
        ActionChains(self.driver).click(self.driver.find_element(By.XPATH, "//button[starts-with(normalize-space(), 'Sort:')]")).perform()
        item = wait_for(self.driver, f"[...document.querySelectorAll('[role=menuitemcheckbox]')].find(e => e.textContent.trim() === '{key}')")
        return measured(self.driver, "pointerdown", f"{FIRST_ROW} === {json.dumps(expected)}",
                        lambda: ActionChains(self.driver).click(item).perform())

    def filter(self, text, expected):
        box = self.driver.find_element(By.CSS_SELECTOR, "input[placeholder*='metrics.']")
        box.send_keys(text)
        return measured(self.driver, "keydown", f"{FIRST_ROW} === {json.dumps(expected)}", lambda: box.send_keys(Keys.ENTER))

    def open_chart(self, experiment_id, run_id):
        elapsed = self.navigate(f"/experiments/{experiment_id}/runs/{run_id}/model-metrics", "chart")
        requests = self.driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name).filter(n => n.includes('history'))")
        return elapsed, requests


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--baseline-runs", type=int, default=100)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="measure the experiments an earlier run seeded on this server")
    args = parser.parse_args()

    client = MLflow(args.url)
    results = {"runs": args.runs, "baseline_runs": args.baseline_runs, "points": args.points, "repeat": args.repeat}
    if args.reuse:
        names = {e["name"]: e["experiment_id"] for e in client.call("experiments/search", {"max_results": 1000})["experiments"]}
        latest = lambda prefix: names[max(n for n in names if n.startswith(prefix))]  # noqa: E731
        big, small, chart = latest(f"bench-{args.runs}-runs-"), latest(f"bench-{args.baseline_runs}-runs-"), latest("bench-chart-")
        million = client.call("runs/search", {"experiment_ids": [chart]})["runs"][0]["info"]["run_id"]
    else:
        suffix = str(int(time.time()))
        started = time.perf_counter()
        big = client.experiment(f"bench-{args.runs}-runs-{suffix}")
        client.seed_runs(big, args.runs)
        small = client.experiment(f"bench-{args.baseline_runs}-runs-{suffix}")
        client.seed_runs(small, args.baseline_runs)
        results["seed_runs_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        chart = client.experiment(f"bench-chart-{suffix}")
        million = client.seed_big_metric(chart, args.points)
        results["seed_points_s"] = round(time.perf_counter() - started, 1)

    ui = UI(args.url)
    try:
        ui.open_runs(small)  # warm the browser's cache
        for experiment, count in ((small, args.baseline_runs), (big, args.runs)):
            first, sort, filtered = [], [], []
            for _ in range(args.repeat):
                first.append(ui.open_runs(experiment))
                sort.append(ui.sort_by("acc", expected_first(count, descending=True)))
                filtered.append(ui.filter(FILTER, expected_first(count, descending=True, filtered=True)))
            results[f"table_{count}"] = {"table_first_row_ms": median(first), "table_sort_ms": median(sort), "table_filter_ms": median(filtered),
                                         "samples_first_row": [round(x) for x in first], "samples_sort": [round(x) for x in sort]}
        opened, requests = [], []
        for _ in range(args.repeat):
            elapsed, requests = ui.open_chart(chart, million)
            opened.append(elapsed)
        results["chart"] = {"navigation_to_chart_ms": median(opened), "samples": [round(x) for x in opened], "history_requests": requests}
    finally:
        ui.driver.quit()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
