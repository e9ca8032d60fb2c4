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


def test_an_admin_approves_a_members_agent_call_held_by_the_organizations_policy(server, browser):
    """settings.agent_approval holds a member's agent call; the admin sees it on the agent page and approves it there;
    the member's confirmation then runs it."""
    import uuid

    from conftest import ADMIN_PASSWORD

    token = api(server, "POST", "/api/v1/auth/login", body={"username": "admin", "password": ADMIN_PASSWORD})["access_token"]
    org = api(server, "GET", "/api/v1/auth/me", token)["user"]["org_id"]
    name = "agent" + uuid.uuid4().hex[:6]
    api(server, "POST", f"/api/v1/orgs/{org}/members", token,
        {"username": name, "email": f"{name}@example.test", "password": f"password-{name}", "role": "member"})
    member = api(server, "POST", "/api/v1/auth/login", body={"username": name, "password": f"password-{name}"})["access_token"]
    settings = api(server, "GET", f"/api/v1/orgs/{org}", token)["settings"]
    api(server, "PUT", f"/api/v1/orgs/{org}", token, {"settings": {**settings, "agent_approval": {"tools": ["projects.create_project"]}}})
    try:
        call = {"tool": "projects.create_project", "params": {"org_id": org, "name": f"held-{name}"}}
        asked = api(server, "POST", "/api/v1/agent/execute", member, call)
        assert asked["status"] == "awaiting_approval", asked

        sign_in(browser, server)
        visible(browser, By.LINK_TEXT, "Agent").click()
        row = wait(browser, lambda d: next((r for r in d.find_elements(By.CSS_SELECTOR, "table[aria-label='Approvals'] tbody tr")
                                            if f"held-{name}" in r.text), None))
        assert "projects.create_project" in row.text and "0 of 1" in row.text, row.text
        row.find_element(By.XPATH, ".//button[text()='Approve']").click()
        prompt = wait(browser, lambda d: d.switch_to.alert)
        prompt.send_keys("looks right")
        prompt.accept()
        wait(browser, lambda d: f"held-{name}" not in d.find_element(By.TAG_NAME, "main").text)
        decided = api(server, "GET", f"/api/v1/agent/executions/{asked['execution_id']}", member)
        assert decided["status"] == "awaiting_confirmation" and decided["approvals"][0]["comment"] == "looks right", decided
        ran = api(server, "POST", "/api/v1/agent/execute", member, {**call, "confirmation_token": asked["confirmation_token"]})
        assert ran["status"] == "succeeded", ran
        assert console_errors(browser) == []
    finally:
        api(server, "PUT", f"/api/v1/orgs/{org}", token, {"settings": settings})
