"""The agent page in real Chromium against a real aitip: words read into a plan shown before anything runs, a read
tool run at once, a destructive one (rolling back a release) run only after its confirmation, the executions and
the tool catalogue. Screenshot to docs/screenshots/agent.png."""
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from conftest import SCREENSHOTS
from test_console import api, console_errors, sign_in, visible, wait
from test_releases import release_of_idle_services


def test_words_become_a_plan_that_runs_and_a_destructive_one_waits_for_confirmation(server, browser):
    token, _, release = release_of_idle_services(server, "ui-agent")
    api(server, "POST", f"/api/v1/releases/{release['id']}/deploy", token)

    sign_in(browser, server)
    visible(browser, By.LINK_TEXT, "Agent").click()
    wait(browser, lambda d: "release.create" in d.find_element(By.CSS_SELECTOR, "table[aria-label='Tools']").text)
    Select(browser.find_element(By.CSS_SELECTOR, "select[aria-label='Area']")).select_by_visible_text("releases")
    assert "releases.rollback_release" in browser.find_element(By.CSS_SELECTOR, "table[aria-label='Tools']").text

    def plan(words):
        box = browser.find_element(By.CSS_SELECTOR, "input[aria-label='What to do']")
        box.clear()
        box.send_keys(words)
        browser.find_element(By.XPATH, "//form[@aria-label='Ask']//button[text()='Plan']").click()

    plan("list my projects")
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[aria-label='Intent']").text == "projects.list_projects")
    visible(browser, By.XPATH, "//button[text()='Run']").click()
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[aria-label='Execution status']").text == "succeeded")
    assert "Default" in browser.find_element(By.CSS_SELECTOR, "[aria-label='Result']").text

    plan("roll back release ui-agent")
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[aria-label='Intent']").text == "releases.rollback_release")
    assert release["id"] in browser.find_element(By.CSS_SELECTOR, "[aria-label='Arguments']").text
    visible(browser, By.XPATH, "//button[text()='Run']").click()
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[aria-label='Execution status']").text == "awaiting confirmation")
    assert api(server, "GET", f"/api/v1/releases/{release['id']}", token)["status"] == "canary", "nothing ran before the confirmation"
    browser.save_screenshot(str(SCREENSHOTS / "agent.png"))
    visible(browser, By.XPATH, "//button[text()='Confirm and run']").click()
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[aria-label='Execution status']").text == "succeeded")
    assert api(server, "GET", f"/api/v1/releases/{release['id']}", token)["status"] == "rolled_back"
    executions = browser.find_element(By.CSS_SELECTOR, "table[aria-label='Executions']").text
    assert "releases.rollback_release" in executions and "projects.list_projects" in executions, executions
    assert console_errors(browser) == []
