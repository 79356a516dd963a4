"""Drives the admin console in a real browser (Debian's chromium and chromium-driver, through
selenium) for Tests/EndToEndTests/AdminConsoleTests.swift, one phase per call.

    python3 console_test.py PHASE ADMIN_URL TOKEN SCREENSHOT_DIR EXPECTED_JSON

Prints one JSON object with what it saw; exits non-zero, naming the failed check, otherwise.
"""

import json
import os
import sys

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

phase, admin, token, screenshots, expected = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5])
os.makedirs(screenshots, exist_ok=True)
seen = {"phase": phase}


def fail(message):
    print(json.dumps({"phase": phase, "failed": message, "seen": seen}))
    sys.exit(1)


def browser(width):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--no-first-run", f"--window-size={width},900"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def wait(driver, condition, what, seconds=15):
    try:
        return WebDriverWait(driver, seconds).until(condition)
    except TimeoutException:
        fail(f"timed out waiting for {what}")


def text_in(driver, element_id, text, seconds=15):
    wait(driver, conditions.text_to_be_present_in_element((By.ID, element_id), text), f"'{text}' in #{element_id}", seconds)


def visible(driver, element_id):
    return wait(driver, conditions.visibility_of_element_located((By.ID, element_id)), f"#{element_id} visible")


def sign_in(driver, with_token):
    driver.get(admin + "/")
    field = visible(driver, "token")
    field.clear()
    field.send_keys(with_token)
    field.send_keys(Keys.ENTER)


def view(driver, name):
    driver.find_element(By.CSS_SELECTOR, f'#nav [data-view="{name}"]').click()
    visible(driver, name)


def screenshot(driver, name):
    path = os.path.join(screenshots, name + ".png")
    driver.save_screenshot(path)
    seen.setdefault("screenshots", []).append(path)


def no_errors(driver):
    # CSP violations and script errors land in the browser's console.
    problems = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"
                and "favicon" not in entry["message"] and "401" not in entry["message"]]
    if problems:
        fail("browser console errors: " + "; ".join(problems))


def rows(driver, table_id):
    # Read in one script call: the page redraws its tables while it polls.
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])]"
        ".map(row => [...row.querySelectorAll('th, td')].map(cell => cell.textContent.trim()))",
        f"#{table_id} tbody tr")


def signin_phase():
    driver = browser(1280)
    try:
        sign_in(driver, "not-the-token-0123456789")
        text_in(driver, "signin-error", "refused")
        seen["wrong_token"] = driver.find_element(By.ID, "signin-error").text
        if driver.execute_script("return sessionStorage.length") != 0:
            fail("a refused token was kept")
        screenshot(driver, "signin")
        sign_in(driver, token)
        visible(driver, "overview")
        text_in(driver, "facts", "reachable" if expected.get("kafka_up", True) else "unreachable", 30)
        wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#charts svg polyline"), "a chart line")
        seen["facts"] = driver.find_element(By.ID, "facts").text
        seen["chart_lines"] = len(driver.find_elements(By.CSS_SELECTOR, "#charts svg polyline"))
        if token in driver.current_url:
            fail("the token is in the URL")
        screenshot(driver, "overview-1280")

        view(driver, "buffer")
        Select(driver.find_element(By.CSS_SELECTOR, '#buffer-filter select[name="state"]')).select_by_visible_text("pending")
        driver.find_element(By.CSS_SELECTOR, "#buffer-filter button").click()
        wait(driver, lambda d: any(expected["pending_id"] in row for row in rows(d, "buffer-table")), "the pending record")
        seen["pending_rows"] = rows(driver, "buffer-table")
        screenshot(driver, "buffer-pending")
        Select(driver.find_element(By.CSS_SELECTOR, '#buffer-filter select[name="state"]')).select_by_visible_text("dead")
        driver.find_element(By.CSS_SELECTOR, "#buffer-filter button").click()
        wait(driver, lambda d: any(expected["dead_id"] in row for row in rows(d, "buffer-table")), "the dead record")
        dead = next(row for row in rows(driver, "buffer-table") if expected["dead_id"] in row)
        seen["dead_row"] = dead
        if not dead[-1]:
            fail(f"a dead letter shows its reason: {dead}")
        no_errors(driver)
    finally:
        driver.quit()
    narrow = browser(390)
    try:
        sign_in(narrow, token)
        visible(narrow, "overview")
        wait(narrow, lambda d: d.find_elements(By.CSS_SELECTOR, "#charts svg polyline"), "a chart line at 390 px")
        screenshot(narrow, "overview-390")
        for name in ("overview", "events", "buffer", "replay"):
            view(narrow, name)
            overflow = narrow.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            seen.setdefault("overflow_390", {})[name] = overflow
            if overflow > 0:
                fail(f"the {name} page is {overflow} px wider than a 390 px window")
    finally:
        narrow.quit()


def events_phase():
    driver = browser(1280)
    try:
        sign_in(driver, token)
        visible(driver, "overview")
        view(driver, "events")
        wait(driver, lambda d: any(expected["published_id"] in row for row in rows(d, "events-table")), "the published event")
        seen["event_rows"] = rows(driver, "events-table")
        published = next(row for row in seen["event_rows"] if expected["published_id"] in row)
        if not any(expected["published_topic"] in cell and "@" in cell for cell in published):
            fail(f"the published event's topic, partition and offset: {published}")

        # Keyboard only: tab to the event's Open button and press Enter.
        button = driver.find_element(By.CSS_SELECTOR, f'#events-table button[aria-label="Open {expected["xss_id"]}"]')
        button.send_keys(Keys.ENTER)
        text_in(driver, "event-body", "<script>")
        body = driver.find_element(By.ID, "event-body").text
        seen["xss_body"] = body
        if driver.execute_script("return window.__xss === undefined") is not True:
            fail("the payload's script ran")
        if driver.find_elements(By.CSS_SELECTOR, "#event-detail img, #event-detail script"):
            fail("the payload became markup")
        if not body.startswith("{\n"):
            fail("the JSON body is not pretty-printed: " + body[:80])
        seen["headers"] = rows(driver, "event-headers")
        if not any(row[:2] == ["ce_id", expected["xss_id"]] for row in seen["headers"]):
            fail(f"ce_id header: {seen['headers']}")
        screenshot(driver, "events-detail")

        view(driver, "replay")
        Select(driver.find_element(By.CSS_SELECTOR, '#replay-filter select[name="state"]')).select_by_visible_text("dead")
        driver.find_element(By.CSS_SELECTOR, "#replay-filter button").click()
        text_in(driver, "replay-count", "1 matching record would be replayed")
        seen["replay_count"] = driver.find_element(By.ID, "replay-count").text
        visible(driver, "replay-confirm").click()
        text_in(driver, "replay-result", "Replayed 1 of 1", 30)
        seen["replay_result"] = driver.find_element(By.ID, "replay-result").text
        screenshot(driver, "replay")

        # The replayed event is listed under Events with its original id (ce_id).
        view(driver, "events")
        wait(driver, lambda d: any(expected["dead_id"] in row and any(c.startswith("replayed to ") for c in row)
                                   for row in rows(d, "events-table")), "the replayed event under Events")
        seen["replayed_row"] = next(row for row in rows(driver, "events-table")
                                    if expected["dead_id"] in row and any(c.startswith("replayed to ") for c in row))
        screenshot(driver, "events")
        driver.find_element(By.ID, "sign-out").click()
        visible(driver, "signin")
        if driver.execute_script("return sessionStorage.length") != 0:
            fail("signing out kept the token")
        driver.refresh()
        visible(driver, "signin")
        no_errors(driver)
    finally:
        driver.quit()


{"signin": signin_phase, "events": events_phase}[phase]()
print(json.dumps(seen))
