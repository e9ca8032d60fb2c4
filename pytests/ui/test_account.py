"""Sessions, invitations and the account page in real Chromium against a real aitip: no token is kept where a script
can read it and a reload stays signed in (the refresh token is an HttpOnly cookie); an admin invites an existing
account, which accepts on its account page and finds the organization in its switcher; a password change from the
account page ends the other sessions, and only the new password signs in. Screenshots go to docs/screenshots/."""
import json
import re
import urllib.error
import uuid

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from conftest import ADMIN_PASSWORD, SCREENSHOTS
from test_console import api, console_errors, sign_in, visible, wait

JWT = re.compile(r"[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def admin_token(base):
    return api(base, "POST", "/api/v1/auth/login", body={"username": "admin", "password": ADMIN_PASSWORD})["access_token"]


def new_account(base, token, password):
    """An account with a password (created by the admin in an organization of its own); returns its username."""
    username = unique("ui-user")
    home = api(base, "POST", "/api/v1/orgs", token, {"name": unique("Home")})
    api(base, "POST", f"/api/v1/orgs/{home['id']}/members", token,
        {"username": username, "email": f"{username}@example.com", "password": password, "role": "owner"})
    return username


def status_of(base, method, path, token=None, body=None):
    try:
        api(base, method, path, token, body)
        return 200
    except urllib.error.HTTPError as error:
        return error.code


def storage(driver):
    """Everything in the page's localStorage and sessionStorage, as {"local": {...}, "session": {...}}."""
    return json.loads(driver.execute_script(
        "const dump = (s) => Object.fromEntries(Array.from({length: s.length}, (_, i) => [s.key(i), s.getItem(s.key(i))]));"
        "return JSON.stringify({local: dump(window.localStorage), session: dump(window.sessionStorage)});"))


def refresh_cookie(driver):
    return next((c for c in driver.execute_cdp_cmd("Network.getAllCookies", {})["cookies"] if c["name"] == "aitip_refresh"), None)


def message(driver):
    return visible(driver, By.CSS_SELECTOR, ".message").text


def shows(driver, xpath, text):
    """Waits until the element at `xpath` says `text` (an earlier answer's text may still be there for a moment)."""
    wait(driver, lambda d: any(text in element.text for element in d.find_elements(By.XPATH, xpath)))


def test_reload_stays_signed_in_and_no_token_is_readable(server, browser):
    # An older console left both tokens in localStorage: the new one removes them.
    browser.get(server + "/")
    visible(browser, By.CSS_SELECTOR, "form[aria-label='Sign in']")
    browser.execute_script("window.localStorage.setItem('aitip.tokens', JSON.stringify({access: 'aaaaaaaa.bbbbbbbb.cccccccc', refresh: 'x'}))")

    sign_in(browser, server)
    visible(browser, By.CSS_SELECTOR, "header.header")
    cookie = refresh_cookie(browser)
    assert cookie and cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/api/v1/auth"

    browser.refresh()
    wait(browser, lambda d: "admin" in d.find_element(By.CSS_SELECTOR, "header.header .who").text)
    assert not browser.find_elements(By.CSS_SELECTOR, "form[aria-label='Sign in']")
    browser.find_element(By.LINK_TEXT, "Projects").click()
    wait(browser, lambda d: "default" in d.find_element(By.CSS_SELECTOR, "table.table").text)  # the API answers: a live access token

    saved = storage(browser)
    assert "aitip.tokens" not in saved["local"]
    for area in ("local", "session"):
        for key, value in saved[area].items():
            assert not JWT.search(value), f"{area}Storage[{key}] looks like a token"
            assert "aitip_refresh" not in value and "refresh" not in key
            assert cookie["value"] not in value, "the refresh token is not in storage"
    assert "aitip_refresh" not in browser.execute_script("return document.cookie")
    rotated = refresh_cookie(browser)
    assert rotated["value"] != cookie["value"], "the reload's refresh rotated the cookie"

    # Signing out ends the session and its cookie: a reload shows the sign-in form.
    browser.find_element(By.XPATH, "//button[text()='Sign out']").click()
    visible(browser, By.CSS_SELECTOR, "form[aria-label='Sign in']")
    assert refresh_cookie(browser) is None
    browser.refresh()
    visible(browser, By.CSS_SELECTOR, "form[aria-label='Sign in']")
    assert console_errors(browser) == []


def test_invite_an_account_that_accepts_and_finds_the_organization(server, browser, second_browser):
    token = admin_token(server)
    password = "invitee-password"
    invitee = new_account(server, token, password)
    lab = api(server, "POST", "/api/v1/orgs", token, {"name": unique("Lab")})

    # The admin invites the account by username, and someone unknown whose invitation is then withdrawn.
    sign_in(browser, server)
    Select(visible(browser, By.CSS_SELECTOR, "select[aria-label=Organization]")).select_by_visible_text(f"{lab['name']} (owner)")
    browser.find_element(By.LINK_TEXT, "Members").click()
    invitations = lambda d: d.find_element(By.CSS_SELECTOR, "table[aria-label=Invitations]").text  # noqa: E731
    wait(browser, lambda d: "No invitations sent" in invitations(d))
    visible(browser, By.NAME, "invitee").send_keys(invitee)
    Select(browser.find_element(By.NAME, "invite-role")).select_by_value("member")
    browser.find_element(By.XPATH, "//form[@aria-label='Invite member']//button[@type='submit']").click()
    assert f"Invitation sent to {invitee}" in message(browser)
    wait(browser, lambda d: invitee in invitations(d) and "pending" in invitations(d))
    stranger = unique("nobody")
    browser.find_element(By.NAME, "invitee").send_keys(stranger)
    browser.find_element(By.XPATH, "//form[@aria-label='Invite member']//button[@type='submit']").click()
    wait(browser, lambda d: stranger in invitations(d))
    browser.find_element(By.CSS_SELECTOR, f"button[aria-label='Withdraw the invitation to {stranger}']").click()
    wait(browser, lambda d: "revoked" in d.find_element(By.XPATH, f"//table[@aria-label='Invitations']//tr[td[text()='{stranger}']]").text)
    assert invitee not in browser.find_element(By.CSS_SELECTOR, "table[aria-label=Members]").text, "not a member before accepting"

    # The invitee, in a browser of their own, sees the invitation counted in the header and accepts it.
    sign_in(second_browser, server, password=password, username=invitee)
    badge = visible(second_browser, By.CSS_SELECTOR, "a.account-link .badge")
    assert badge.text.startswith("1")
    organizations = Select(second_browser.find_element(By.CSS_SELECTOR, "select[aria-label=Organization]"))
    assert not any(lab["name"] in option.text for option in organizations.options)
    second_browser.find_element(By.CSS_SELECTOR, "a.account-link").click()
    received = visible(second_browser, By.CSS_SELECTOR, "table[aria-label='Your invitations']")
    assert lab["name"] in received.text and "member" in received.text
    second_browser.save_screenshot(str(SCREENSHOTS / "account-invitation.png"))
    second_browser.find_element(By.XPATH, "//table[@aria-label='Your invitations']//button[text()='Accept']").click()
    assert f"You joined {lab['name']} as member" in message(second_browser)
    wait(second_browser, lambda d: any(option.text == f"{lab['name']} (member)"
                                       for option in Select(d.find_element(By.CSS_SELECTOR, "select[aria-label=Organization]")).options))
    assert "No invitations are waiting" in second_browser.find_element(By.TAG_NAME, "main").text
    assert not second_browser.find_elements(By.CSS_SELECTOR, "a.account-link .badge")
    Select(second_browser.find_element(By.CSS_SELECTOR, "select[aria-label=Organization]")).select_by_visible_text(f"{lab['name']} (member)")
    second_browser.find_element(By.LINK_TEXT, "Members").click()
    wait(second_browser, lambda d: invitee in d.find_element(By.CSS_SELECTOR, "table[aria-label=Members]").text)
    # A member may not manage members: no invitation list or forms, no role changes.
    assert not second_browser.find_elements(By.CSS_SELECTOR, "table[aria-label=Invitations]")
    assert not second_browser.find_elements(By.CSS_SELECTOR, "form[aria-label='Invite member']")
    assert not second_browser.find_elements(By.CSS_SELECTOR, "table[aria-label=Members] select")

    # The admin sees the invitation accepted and the new member.
    browser.refresh()
    wait(browser, lambda d: "accepted" in d.find_element(By.XPATH, f"//table[@aria-label='Invitations']//tr[td[text()='{invitee}']]").text)
    wait(browser, lambda d: invitee in d.find_element(By.CSS_SELECTOR, "table[aria-label=Members]").text)
    browser.save_screenshot(str(SCREENSHOTS / "members-invitations.png"))
    assert console_errors(browser) == []
    assert console_errors(second_browser) == []


def test_change_password_ends_other_sessions_and_only_the_new_one_signs_in(server, browser):
    old, new = "old-password-1", "new-password-2"
    username = new_account(server, admin_token(server), old)
    elsewhere = api(server, "POST", "/api/v1/auth/login", body={"username": username, "password": old})

    sign_in(browser, server, password=old, username=username)
    visible(browser, By.CSS_SELECTOR, "a.account-link").click()
    sessions = lambda d: d.find_element(By.CSS_SELECTOR, "table[aria-label=Sessions]").text  # noqa: E731
    wait(browser, lambda d: "This session" in sessions(d) and len(d.find_elements(By.XPATH, "//table[@aria-label='Sessions']//button[text()='End']")) == 1)
    assert "Chrome on Linux" in sessions(browser) and "Python-urllib" in sessions(browser)
    browser.save_screenshot(str(SCREENSHOTS / "account.png"))

    # End the other session from the list: its refresh token stops working.
    browser.find_element(By.XPATH, "//table[@aria-label='Sessions']//button[text()='End']").click()
    wait(browser, lambda d: not d.find_elements(By.XPATH, "//table[@aria-label='Sessions']//button[text()='End']"))
    assert status_of(server, "POST", "/api/v1/auth/refresh", body={"refresh_token": elsewhere["refresh_token"]}) == 401
    elsewhere = api(server, "POST", "/api/v1/auth/login", body={"username": username, "password": old})

    form = "//form[@aria-label='Change password']"
    fields = {name: browser.find_element(By.NAME, name) for name in ("current-password", "new-password", "repeat-password")}

    def submit(current, new_password, repeat):
        for name, value in zip(fields, (current, new_password, repeat)):
            fields[name].clear()
            fields[name].send_keys(value)
        browser.find_element(By.XPATH, f"{form}//button[@type='submit']").click()

    submit("not-my-password", new, new)
    shows(browser, f"{form}//p[@class='form-failure']", "current password is wrong")
    submit(old, new, new + "x")
    shows(browser, f"{form}//small[@class='field-error']", "same as the new password")
    submit(old, "short", "short")
    shows(browser, f"{form}//small[@class='field-error']", "at least 8 characters")
    submit(old, new, new)
    shows(browser, "//div[contains(@class, 'message')]", "other sessions have ended")
    assert all(field.get_attribute("value") == "" for field in fields.values())
    assert status_of(server, "POST", "/api/v1/auth/refresh", body={"refresh_token": elsewhere["refresh_token"]}) == 401
    wait(browser, lambda d: "This session" in sessions(d) and "Python-urllib" not in sessions(d))

    # This session goes on; signed out, only the new password signs in.
    browser.find_element(By.XPATH, "//button[text()='Sign out']").click()
    sign_in(browser, server, password=old, username=username)
    assert "Wrong username or password" in visible(browser, By.CSS_SELECTOR, ".form-failure").text
    sign_in(browser, server, password=new, username=username)
    wait(browser, lambda d: username in d.find_element(By.CSS_SELECTOR, "header.header .who").text)
    assert status_of(server, "POST", "/api/v1/auth/login", body={"username": username, "password": old}) == 401
    assert status_of(server, "POST", "/api/v1/auth/login", body={"username": username, "password": new}) == 200
    assert console_errors(browser) == []
