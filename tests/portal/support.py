"""The portal in a real browser: Playwright driving Debian's Chromium (/usr/bin/chromium)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import Server

CHROMIUM = Path(os.environ.get("CROSSCONNECT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
NARROW = {"width": 420, "height": 860}
SESSION_KEY = "crossconnect.session"  # core.js keeps the signed-in session there (sessionStorage)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing in CI (.ci/run installs Debian's chromium)")
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) for browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshots(artifacts: Path) -> Path:
    path = artifacts / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    print(f"\nportal screenshots: {path}")
    return path


class Portal:
    """One browser context (its own sessionStorage) on the portal of ``server``."""

    def __init__(self, server: Server, page: Any, screenshots: Path) -> None:
        self.server, self.page, self.screenshots = server, page, screenshots

    def open(self, hash_path: str = "") -> None:
        self.page.goto(f"{self.server.base_url}/portal/{hash_path}")

    def go(self, hash_path: str, blade: str) -> None:
        self.page.evaluate("h => { location.hash = h; }", hash_path)
        self.wait_blade(blade)

    def wait_blade(self, blade: str) -> None:
        self.page.wait_for_selector(f'#blade[data-blade="{blade}"]', timeout=15_000)

    def wait_count(self, selector: str, count: int) -> None:
        """Until ``selector`` matches ``count`` elements: after an action a blade re-renders, and
        shows only a progress bar in between."""
        self.page.wait_for_function("([s, n]) => document.querySelectorAll(s).length === n", arg=[selector, count])

    def sign_in(self, username: str, password: str) -> None:
        self.page.click("#sign-in")
        self.page.wait_for_selector("form#signin")
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.page.click("#submit")

    def sign_in_as_user(self) -> None:
        """Open the portal and sign in as the seeded admin user (Owner on both subscriptions)."""
        user = self.server.env["user"]
        self.open()
        self.sign_in(user["username"], user["password"])
        self.wait_blade("subscriptions")

    def session(self) -> dict[str, Any]:
        """The portal's stored session: ``arm`` (access token), ``exp``, ``refresh``, ``graph``..."""
        return dict(self.page.evaluate(f"() => JSON.parse(sessionStorage.getItem('{SESSION_KEY}'))"))

    def store_session(self, session: dict[str, Any]) -> None:
        self.page.evaluate(f"s => sessionStorage.setItem('{SESSION_KEY}', JSON.stringify(s))", session)

    def shot(self, name: str) -> Path:
        path = self.screenshots / f"{name}.png"
        # notifications would cover the blade
        self.page.evaluate("() => document.getElementById('toasts')?.replaceChildren()")
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def portal(server: Server, chromium: Any, screenshots: Path) -> Iterator[Portal]:
    context = chromium.new_context(ignore_https_errors=True, viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield Portal(server, page, screenshots)
    context.close()
