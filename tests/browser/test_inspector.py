"""The inspector in a real browser: it loads clean, lives, adds up, tells the truth, escapes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest
import requests

from tests.browser.conftest import (
    ADMIN_TOKEN,
    LAPTOP,
    PHONE,
    Console,
    open_page,
    screenshot,
)
from tests.conftest import API_KEY, APPLICATION_ID, AUTH, LiveServer, cart_body, session_url

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

UI = "/__admin/ui"
# What each view shows once it is ready.
VIEWS = {
    "requests": (f"{UI}/", "#entries li"),
    "sessions": (f"{UI}/sessions", "details.session"),
    "try": (f"{UI}/try", "#t-items tr"),
    "contract": (f"{UI}/contract", ".opblock-summary"),
    "server": (f"{UI}/server", "text=Tenancy"),
}


def invalid_put(server: LiveServer, session_id: str) -> requests.Response:
    """A PUT with a bad state, a bad quantity and a bad `dry`: a 400 with five problems."""
    body = cart_body(state="gone", cartItems=[{"name": "Mug", "sku": "SKU-1", "quantity": 0}])
    return requests.put(
        server.url + session_url(session_id) + "?dry=maybe", json=body, headers=AUTH, timeout=10
    )


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_every_view_loads_without_console_errors(
    browser: Browser, inspector_server: LiveServer, viewport: dict[str, int]
) -> None:
    # Given some traffic, so that the views have something to show
    requests.put(
        inspector_server.url + session_url("load-1"),
        json=cart_body(
            profileId="p-1", cartItems=[{"name": "Mug", "sku": "S", "quantity": 2, "price": 1.5}]
        ),
        headers=AUTH,
        timeout=10,
    )
    invalid_put(inspector_server, "load-2")
    page, console = open_page(browser, viewport)
    try:
        # When a person opens the server's address
        page.goto(inspector_server.url + "/")
        # Then they land on the inspector, and every view loads clean and fits the width
        assert page.url == inspector_server.url + f"{UI}/"
        for name, (path, ready) in VIEWS.items():
            page.goto(inspector_server.url + path)
            page.wait_for_selector(ready, state="attached")
            page.wait_for_load_state("networkidle")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], f"{name} is {width}px wide"
            label = "laptop" if viewport == LAPTOP else "phone"
            if name == "sessions":
                page.locator("details.session > summary").first.click()
            screenshot(page, f"{name}-{label}")
        assert console.errors() == []
        assert console.exceptions == []
    finally:
        page.context.close()


def test_a_put_appears_in_the_live_list_with_its_problems_marked(
    page: tuple[Page, Console], inspector_server: LiveServer
) -> None:
    browser_page, _ = page
    # Given the live list, open and polling
    browser_page.goto(inspector_server.url + f"{UI}/")
    browser_page.wait_for_selector("#live-status:has-text('live')")
    # When a client sends a valid PUT, then an invalid one
    requests.put(
        inspector_server.url + session_url("live-ok"),
        json=cart_body(profileId="p"),
        headers=AUTH,
        timeout=10,
    )
    sent = time.monotonic()
    assert invalid_put(inspector_server, "live-bad").status_code == 400
    # Then both appear within two seconds, without a reload, newest first
    bad_row = browser_page.locator("#entries li", has_text="live-bad")
    bad_row.wait_for(timeout=2000)
    assert time.monotonic() - sent < 2
    rows = browser_page.locator("#entries li .path").all_inner_texts()
    assert rows[:2] == ["/v2/customer_sessions/live-bad?dry=maybe", "/v2/customer_sessions/live-ok"]
    assert "400" in bad_row.inner_text() and "problems" in bad_row.inner_text()
    screenshot(browser_page, "requests-live")
    # And the invalid one opens to its problems, marked where they are
    bad_row.locator("a").click()
    browser_page.wait_for_selector("#problems-title")
    problems = browser_page.locator(".problem-list li").all_inner_texts()
    assert any("/customerSession/state" in p and "'gone'" in p for p in problems)
    assert any("parameter dry" in p for p in problems)
    state_mark = browser_page.locator("pre.body mark.problem", has_text='"gone"')
    assert state_mark.count() == 1
    # a missing property marks the object it is missing from
    item_mark = browser_page.locator("pre.body mark.problem", has_text='"name": "Mug"')
    assert "price" in " ".join(problems) and item_mark.count() == 1
    assert browser_page.locator("tr.marked", has_text="dry").count() == 1
    # And it can be replayed: the curl names the key as a variable, never the key itself
    curl = browser_page.locator("#curl").inner_text()
    assert '"Authorization: ApiKey-v1 $API_KEY"' in curl and API_KEY not in curl
    screenshot(browser_page, "request-detail")


def test_filters_narrow_the_list(page: tuple[Page, Console], inspector_server: LiveServer) -> None:
    browser_page, _ = page
    requests.put(
        inspector_server.url + session_url("f-ok"), json=cart_body(), headers=AUTH, timeout=10
    )
    invalid_put(inspector_server, "f-bad")
    browser_page.goto(inspector_server.url + f"{UI}/?hasProblems=true")
    browser_page.wait_for_selector("#entries li")
    assert browser_page.locator("#entries li .path").all_inner_texts() == [
        "/v2/customer_sessions/f-bad?dry=maybe"
    ]
    browser_page.uncheck("#f-problems")
    browser_page.select_option("#f-method", "PUT")
    browser_page.wait_for_selector("#entries li:nth-child(2)")
    assert browser_page.locator("#entries li").count() == 2
    assert "method=PUT" in browser_page.url


def test_a_preloaded_session_is_found_by_search_and_its_totals_add_up(
    page: tuple[Page, Console], inspector_server: LiveServer
) -> None:
    browser_page, _ = page
    # Given a preloaded session with a profile, a cart and additional costs
    stored = requests.get(
        inspector_server.url + f"/__admin/sessions?applicationId={APPLICATION_ID}", timeout=10
    ).json()["sessions"]
    session = next(
        s for s in stored if s["profileId"] and s["cartItems"] and s.get("additionalCosts")
    )
    # When a person searches for its profile, with the keyboard only
    browser_page.goto(inspector_server.url + f"{UI}/sessions")
    browser_page.focus("#s-query")
    browser_page.keyboard.type(session["profileId"])
    browser_page.keyboard.press("Enter")
    browser_page.wait_for_url(re.compile(r"q="))
    # Then the session is found and opens to a cart whose totals add up
    found = browser_page.locator("details.session", has_text=session["integrationId"])
    assert found.count() == 1
    found.locator("summary").focus()
    browser_page.keyboard.press("Enter")
    assert found.get_attribute("open") is not None

    def amounts(selector: str) -> list[Decimal]:
        return [Decimal(text) for text in found.locator(selector).all_inner_texts()]

    lines, costs = amounts("[data-line-total]"), amounts("[data-cost]")
    item_total, cost_total, total = (
        amounts(f"[data-total='{name}']")[0]
        for name in ("cartItemTotal", "additionalCostTotal", "total")
    )
    assert len(lines) == len(session["cartItems"])
    assert sum(lines) == item_total == Decimal(str(session["cartItemTotal"]))
    assert sum(costs) == cost_total == Decimal(str(session["additionalCostTotal"]))
    assert item_total + cost_total == total == Decimal(str(session["total"]))
    assert found.locator(".ok", has_text="add up").count() == 1
    screenshot(browser_page, "sessions-search")


def _shown_answer(browser_page: Page) -> tuple[int, Any]:
    browser_page.wait_for_selector("#t-answer:not([hidden])")
    browser_page.wait_for_selector("#t-curl:not(:empty)")
    status = int(browser_page.locator("#t-status").inner_text().split()[0])
    return status, json.loads(browser_page.locator("#t-answer-body").inner_text())


def _curl(command: str) -> tuple[int, Any]:
    """Run the command the page shows, as a person pasting it into a shell would."""
    done = subprocess.run(
        ["sh", "-c", command + " --silent --show-error --write-out '\\n%{http_code}'"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    body, _, status = done.stdout.rpartition("\n")
    return int(status), json.loads(body)


@pytest.mark.skipif(not __import__("shutil").which("curl"), reason="needs curl")
def test_the_try_it_form_sends_what_curl_and_the_sdk_send(
    page: tuple[Page, Console], inspector_server: LiveServer
) -> None:
    browser_page, console = page
    browser_page.goto(inspector_server.url + f"{UI}/try")
    # Given a request built in the form: a key, a session, a profile, a state, two items
    browser_page.fill("#t-key", API_KEY)
    browser_page.fill("#t-session", "try-form-1")
    browser_page.fill("#t-profile", "try-customer")
    browser_page.select_option("#t-state", "closed")
    browser_page.click("#t-add-item")
    second = browser_page.locator("#t-items tr").nth(1)
    second.locator("[name=itemName]").fill("Tea")
    second.locator("[name=itemQuantity]").fill("3")
    second.locator("[name=itemPrice]").fill("0.1")
    browser_page.fill("#t-shipping", "0.2")
    # When it is sent
    browser_page.get_by_role("button", name="Send", exact=True).click()
    status, shown = _shown_answer(browser_page)
    # Then the answer is the stateful one, totals in decimal
    session = shown["customerSession"]
    assert status == 200 and session["state"] == "closed"
    assert (session["cartItemTotal"], session["total"]) == (10.29, 10.49)
    # And curl, sent the same request again, gets the same answer (a PUT of what is stored)
    curl_status, curl_answer = _curl(browser_page.locator("#t-curl").inner_text())
    assert curl_status == status
    assert {**curl_answer["customerSession"], "updated": None} == {**session, "updated": None}
    # And the Python SDK call, run as shown, gets it too
    script = browser_page.locator("#t-python").inner_text()
    checked = script.replace("print(answer)", "print(answer.customer_session.total)")
    done = subprocess.run(
        [sys.executable, "-c", checked], capture_output=True, text=True, timeout=60, check=True
    )
    assert float(done.stdout.strip()) == session["total"]
    # And the journal link leads to this exchange
    browser_page.click("#t-journal")
    browser_page.locator("h1.request-line", has_text="try-form-1").wait_for()
    assert console.errors() == []


def test_a_scenario_from_the_form_answers_as_curl_is_answered(
    page: tuple[Page, Console], inspector_server: LiveServer
) -> None:
    browser_page, console = page
    browser_page.goto(inspector_server.url + f"{UI}/try")
    browser_page.fill("#t-key", API_KEY)
    browser_page.select_option("#t-method", "GET")
    browser_page.select_option("#t-example", "sessionNotFound")
    assert browser_page.input_value("#t-code") == "404"
    browser_page.get_by_role("button", name="Send", exact=True).click()
    status, shown = _shown_answer(browser_page)
    assert status == 404
    assert _curl(browser_page.locator("#t-curl").inner_text()) == (status, shown)
    assert "Prefer" in browser_page.locator("#t-python").inner_text()
    screenshot(browser_page, "try-scenario")
    # The only console error is the browser's note of the 404 it was asked to get
    assert len(console.errors()) == 1 and not console.errors(ignore_api_statuses=True)


HOSTILE_ID = '<img src=x onerror="window.pwned=1">'
HOSTILE_ATTRIBUTE = '<script>window.pwned=2</script><img src=x onerror="window.pwned=3">'


def test_html_from_requests_is_shown_as_text_and_runs_nothing(
    page: tuple[Page, Console], inspector_server: LiveServer
) -> None:
    browser_page, console = page
    # Given a session whose id and attribute are HTML with script
    answer = requests.put(
        inspector_server.url + "/v2/customer_sessions/" + quote(HOSTILE_ID, safe=""),
        json=cart_body(profileId="<b>bold</b>", attributes={"note": HOSTILE_ATTRIBUTE}),
        headers={**AUTH, "Prefer": "delay=0", "X-Note": "<svg onload=alert(1)>"},
        timeout=10,
    )
    assert answer.status_code == 200
    entry_id = requests.get(inspector_server.url + "/__admin/requests", timeout=10).json()[
        "requests"
    ][0]["id"]
    # When every view that shows it is opened
    views = [
        (f"{UI}/", "#entries li"),
        (f"{UI}/requests/{entry_id}", "h1.request-line"),
        (f"{UI}/sessions?applicationId=&q=" + quote(HOSTILE_ID), "details.session"),
    ]
    for path, ready in views:
        browser_page.goto(inspector_server.url + path)
        browser_page.wait_for_selector(ready)
        if "sessions" in path:
            browser_page.locator("details.session > summary").first.click()
        # Then it is there as text, as it was sent
        assert browser_page.get_by_text(HOSTILE_ID).first.is_visible()
        # and nothing of it became an element, and nothing ran
        assert browser_page.locator("img[src=x], svg[onload], b").count() == 0
        assert browser_page.evaluate("window.pwned") is None
    assert browser_page.get_by_text("window.pwned=2").count() >= 1
    screenshot(browser_page, "hostile-session")
    # Nothing was even attempted: a CSP violation would have been a console error
    assert console.errors() == []


UNNAMED_CONTROLS = """() => [
    ...document.querySelectorAll('input:not([type=hidden]), select, textarea, button, a[href]')
  ]
  .filter(e => e.offsetParent !== null)
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
               && !e.textContent.trim())
  .map(e => e.outerHTML.slice(0, 80))"""


def test_keyboard_alone_opens_an_entry(
    page: tuple[Page, Console], inspector_server: LiveServer
) -> None:
    browser_page, _ = page
    invalid_put(inspector_server, "keys-1")
    browser_page.goto(inspector_server.url + f"{UI}/")
    browser_page.wait_for_selector("#entries li")
    for _ in range(40):
        browser_page.keyboard.press("Tab")
        if browser_page.evaluate("document.activeElement.closest('#entries') !== null"):
            break
    else:
        pytest.fail("Tab never reached the list of requests")
    browser_page.keyboard.press("Enter")
    browser_page.locator("h1.request-line", has_text="keys-1").wait_for()
    # Every control of every view has a name a screen reader can say
    for path, ready in VIEWS.values():
        if "contract" in path:
            continue  # Swagger UI's own controls
        browser_page.goto(inspector_server.url + path)
        browser_page.wait_for_selector(ready, state="attached")
        unnamed = browser_page.evaluate(UNNAMED_CONTROLS)
        assert unnamed == [], path


def test_resetting_an_application_asks_first(
    page: tuple[Page, Console], inspector_server: LiveServer
) -> None:
    browser_page, _ = page
    requests.put(
        inspector_server.url + session_url("made-by-a-client"),
        json=cart_body(),
        headers=AUTH,
        timeout=10,
    )
    browser_page.goto(inspector_server.url + f"{UI}/sessions?applicationId={APPLICATION_ID}")
    browser_page.click("text=Reset application 7…")
    dialog = browser_page.locator("dialog#confirm")
    assert dialog.is_visible() and "Reset application 7" in dialog.inner_text()
    browser_page.keyboard.press("Escape")  # cancel: nothing happens
    assert browser_page.locator("details.session", has_text="made-by-a-client").count() == 1
    browser_page.click("text=Reset application 7…")
    with browser_page.expect_navigation():  # the page reloads once the reset is done
        browser_page.click("#confirm-ok")
    assert browser_page.locator("details.session", has_text="made-by-a-client").count() == 0
    assert browser_page.locator("details.session").count() == 6


def test_a_remote_browser_without_the_token_is_refused(
    browser: Browser, remote_server: LiveServer
) -> None:
    page, console = open_page(browser, LAPTOP)
    try:
        # When a browser on another machine opens the inspector
        answer = page.goto(remote_server.url + f"{UI}/sessions")
        # Then it gets a 403 and the token form, and nothing of the store or the journal
        assert answer is not None and answer.status == 403
        assert page.locator("form.login input[type=password]").is_visible()
        assert page.locator("details.session").count() == 0
        refused = page.evaluate("fetch('/__admin/requests').then(r => r.status)")
        assert refused == 403
        screenshot(page, "refused-remote")
        # And a wrong token changes nothing
        page.fill("#token", "guess")
        page.click("text=Open the inspector")
        assert page.locator("[role=alert]", has_text="not the admin token").is_visible()
        # But the admin token opens it where it was asked for, the admin API included
        page.fill("#token", ADMIN_TOKEN)
        page.click("text=Open the inspector")
        page.wait_for_selector("details.session")
        assert page.url.endswith(f"{UI}/sessions")
        requests.put(
            remote_server.url + session_url("remote-1"), json=cart_body(), headers=AUTH, timeout=10
        )
        page.goto(remote_server.url + f"{UI}/")
        page.locator("#entries li", has_text="remote-1").wait_for()
        assert [m for m in console.errors() if "403" not in m] == []
    finally:
        page.context.close()
