"""Browser tests: Debian's Chromium driven by Playwright for Python, against the live mock.

No browser download: Playwright launches the Chromium that `apt-get install chromium` put in
/usr/bin (or $CSM_CHROMIUM). Without one these tests are skipped, unless
CSM_BROWSER_TESTS=required (CI) makes that a failure. Screenshots go to $CSM_SCREENSHOTS
(default build/screenshots/, not committed).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask

from mock_server import Settings, create_app
from mock_server.http.state import mock_state
from tests.conftest import API_KEY, APPLICATION_ID, LiveServer, serve_in_thread

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright

CHROMIUM_ARGS = [
    "--no-sandbox",  # CI containers run as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
OTHER_KEY = "other-key-123"
OTHER_APPLICATION_ID = 8
ADMIN_TOKEN = "browser-test-token"
SCREENSHOTS = Path(
    os.environ.get("CSM_SCREENSHOTS", Path(__file__).resolve().parents[2] / "build" / "screenshots")
)


def _chromium() -> str | None:
    named = os.environ.get("CSM_CHROMIUM")
    if named:
        return named
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _unavailable(reason: str) -> None:
    if os.environ.get("CSM_BROWSER_TESTS") == "required":
        pytest.fail(f"browser tests are required here, but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """Playwright's driver, once per run."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[browser]')")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Headless Debian Chromium."""
    executable = _chromium()
    if executable is None:
        _unavailable("no Chromium found (apt-get install chromium, or set CSM_CHROMIUM)")
    browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class Console:
    """What a page said: console errors and warnings, uncaught exceptions, dialogs."""

    messages: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def errors(self, *, ignore_api_statuses: bool = False) -> list[str]:
        """Console errors, optionally without the ones a deliberate 4xx from /v2 causes."""
        return [
            message
            for message in self.messages
            if not (ignore_api_statuses and message.startswith("Failed to load resource"))
        ]


def _remember(console: Console, message: ConsoleMessage) -> None:
    if message.type in ("error", "warning"):
        console.messages.append(message.text)


def open_page(browser: Browser, viewport: dict[str, int]) -> tuple[Page, Console]:
    """A fresh context (no cookies) and a page that records what it says."""
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    page = context.new_page()
    console = Console()
    page.on("console", lambda message: _remember(console, message))
    page.on("pageerror", lambda error: console.exceptions.append(str(error)))

    def dismiss(dialog: Any) -> None:
        console.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.set_default_timeout(5000)
    return page, console


@pytest.fixture
def page(browser: Browser) -> Iterator[tuple[Page, Console]]:
    """A laptop-sized page; no uncaught exception and no alert may happen on it."""
    page, console = open_page(browser, LAPTOP)
    yield page, console
    page.context.close()
    assert console.exceptions == [], console.exceptions
    assert console.dialogs == [], console.dialogs


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as a test artifact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path


def _app(**settings: Any) -> Flask:
    keys = {API_KEY: APPLICATION_ID, OTHER_KEY: OTHER_APPLICATION_ID}
    return create_app(Settings(store_url="memory://", api_keys=keys, preload=6, seed=1, **settings))


def reset(server: LiveServer) -> None:
    """Preloaded sessions only, an empty journal."""
    server.reset()
    with server.app.app_context():
        mock_state().journal.clear()


@pytest.fixture(scope="session")
def inspector_server_session() -> Iterator[LiveServer]:
    """The mock on a free loopback port, for the whole run."""
    yield from serve_in_thread(_app())


@pytest.fixture
def inspector_server(inspector_server_session: LiveServer) -> LiveServer:
    """The live mock, back to its preloaded sessions, its journal empty."""
    reset(inspector_server_session)
    return inspector_server_session


class RemoteClients:
    """WSGI middleware: every request seems to come from another machine (203.0.113.7)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        environ["REMOTE_ADDR"] = "203.0.113.7"
        return self.app(environ, start_response)


@pytest.fixture(scope="session")
def remote_server() -> Iterator[LiveServer]:
    """A mock with an admin token, whose clients all look remote to it."""
    app = _app(admin_token=ADMIN_TOKEN)
    app.wsgi_app = RemoteClients(app.wsgi_app)  # type: ignore[method-assign]
    yield from serve_in_thread(app)
