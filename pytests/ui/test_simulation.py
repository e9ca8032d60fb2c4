"""The simulation pages in real Chromium against a real aitip: an environment of the custom template whose simulator
(plain Python, the documented result format) reports a calm scenario that passes and a gusty one whose episodes
fall; started from the console, the run's page shows its verdict per category, the score's breakdown per scenario
the lowest-scoring episodes with their events, and the frames its simulator rendered. Screenshot to docs/screenshots/simulation.png."""
import time

from selenium.webdriver.common.by import By

from conftest import ADMIN_PASSWORD, SCREENSHOTS
from test_console import api, console_errors, sign_in, visible, wait
from test_testing import model_version, upload

# A simulator that ignores the model and reports what its scenario's name says: calm episodes complete, gusty ones
# fall at step 120 after two gusts. Only the standard library: the UI tests' interpreter has no numpy or mlflow.
SIMULATOR = b'''
import base64, json, os, struct, zlib
spec = json.load(open(os.environ["AITIP_SCENARIO_FILE"]))

def png(position):
    """A 60 x 20 grey image with a black bar at `position`: a PNG by hand, as aitip_sim.png makes them."""
    rows = b"".join(b"\\0" + b"".join(b"\\0\\0\\0" if abs(x - position) < 3 else b"\\xcc\\xcc\\xcc" for x in range(60)) for _ in range(20))
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 60, 20, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))

frames = [{"seed": spec["seeds"][0], "step": step, "time": step * 0.02, "png": base64.b64encode(png(step // 4)).decode()}
          for step in (0, 40, 80, 120, 160)]
json.dump({"format": 1, "frames": frames, "dropped": 0}, open(os.environ["AITIP_FRAMES_FILE"], "w"))
gusty = spec["scenario"]["name"] == "gusty"
episodes = []
for seed in spec["seeds"]:
    steps = 120 if gusty else spec["max_steps"]
    events = [{"type": "gust", "step": 40, "time": 0.8}, {"type": "gust", "step": 80, "time": 1.6},
              {"type": "pole_fell", "step": 120, "time": 2.4}] if gusty else []
    episodes.append({"seed": seed, "steps": steps, "max_steps": spec["max_steps"], "return": float(steps),
                     "cost": 3.0 if gusty else 0.0, "completion": steps / spec["max_steps"],
                     "ended": "terminated" if gusty else "truncated", "events": events, "events_dropped": 0})
json.dump({"format": 1, "episodes": episodes, "steps": sum(e["steps"] for e in episodes), "seconds": 0.01},
          open(os.environ["AITIP_RESULT_FILE"], "w"))
'''


def test_a_run_shows_its_verdict_per_category_and_its_worst_episodes(server, browser):
    token = api(server, "POST", "/api/v1/auth/login", body={"username": "admin", "password": ADMIN_PASSWORD})["access_token"]
    project = next(p for p in api(server, "GET", "/api/v1/projects?limit=500", token)["items"] if p["slug"] == "default")["id"]
    model_version(server, token, "ui-sim-policy", {"MLmodel": b"flavors: {}\n"})
    environment = api(server, "POST", "/api/v1/simulation/environments", token, {
        "project_id": project, "name": "ui-pole", "template": "custom", "model": "models:/ui-sim-policy/1",
        "command": "python3 sim.py", "code_archive": upload(server, token, project, {"sim.py": SIMULATOR}),
        "resources": {"cpu": 0.1, "memory_mib": 256},
        "scenario_config": {"seed_count": 4, "max_steps": 500, "penalties": {"gust": 0.9, "pole_fell": 0.5},
                            "scenarios": [{"name": "calm", "category": "nominal"},
                                          {"name": "gusty", "category": "wind", "perturbations": {"push": {"magnitude": 0.5, "every": 40}}}]}})

    sign_in(browser, server)
    visible(browser, By.LINK_TEXT, "Simulation").click()
    visible(browser, By.LINK_TEXT, "ui-pole").click()
    scenarios = visible(browser, By.CSS_SELECTOR, "table[aria-label='Scenarios']").text
    assert "gusty wind" in scenarios and '"every":40' in scenarios, scenarios
    visible(browser, By.XPATH, "//button[text()='Start a run of the bound model']").click()
    # The run's page follows it while it runs, then shows the verdict.
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[aria-label='Verdict']").text == "failed", timeout=90)
    categories = browser.find_element(By.CSS_SELECTOR, "table[aria-label='Categories']").text
    assert "nominal pass 100 ± 0" in categories, categories
    # 100 × 120/500 × 0.9² × 0.5 = 9.72 for every gusty episode.
    assert "wind fail 9.72 ± 0" in categories and "below 80.0" in categories, categories
    assert "gust ×0.9" in categories and "pole_fell ×0.5" in categories, categories
    results = browser.find_element(By.CSS_SELECTOR, "table[aria-label='Scenario results']").text
    assert "gust 8, pole_fell 4" in results, results
    episodes = browser.find_element(By.CSS_SELECTOR, "table[aria-label='Episodes']").text
    assert "gust (40, 0.8 s), gust (80, 1.6 s), pole_fell (120, 2.4 s)" in episodes, episodes
    assert "safety score 54.86" in browser.find_element(By.TAG_NAME, "main").text
    # The frames of a scenario: the first one large, the strip of all five, play and a click on the strip.
    frames = visible(browser, By.CSS_SELECTOR, "section[aria-label='Frames']")
    wait(browser, lambda d: "1 of 5" in frames.text)
    assert len(frames.find_elements(By.CSS_SELECTOR, "[aria-label='Filmstrip'] img")) == 5
    assert frames.find_element(By.CSS_SELECTOR, ".sim-frame img").get_property("naturalWidth") == 60
    frames.find_element(By.XPATH, ".//button[text()='Play']").click()
    wait(browser, lambda d: "1 of 5" not in frames.text)
    frames.find_elements(By.CSS_SELECTOR, "[aria-label='Filmstrip'] button")[3].click()
    assert "step 120 · 2.4 s" in frames.find_element(By.TAG_NAME, "figcaption").text
    assert "4 of 5" in frames.text
    browser.save_screenshot(str(SCREENSHOTS / "simulation.png"))

    # Back on the environment, the run is listed with its verdict.
    visible(browser, By.LINK_TEXT, "Environment").click()
    runs = visible(browser, By.CSS_SELECTOR, "table[aria-label='Runs']").text
    assert "models:/ui-sim-policy/1 failed 54.86" in runs, runs
    assert environment["id"] in browser.current_url
    assert console_errors(browser) == []
    deadline = time.monotonic() + 5
    while api(server, "GET", f"/api/v1/simulation/environments/{environment['id']}", token)["status"] != "ready":
        assert time.monotonic() < deadline
        time.sleep(0.2)
