"""Fixtures of the portal tests: Debian's Chromium driven by Playwright, and one browser context
per test on the portal of the test's server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.portal.support import CHROMIUM, CHROMIUM_ARGS, DESKTOP, Portal
from tests.support import Server


# One browser per test module, closed before the next module runs: Playwright's sync API keeps an
# event loop running in this thread while it is open, so a session-wide browser would break every
# later test on the same xdist worker that runs asyncio itself (and a second Playwright beside it).
@pytest.fixture(scope="module")
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


@pytest.fixture
def portal(server: Server, chromium: Any, screenshots: Path) -> Iterator[Portal]:
    context = chromium.new_context(ignore_https_errors=True, viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield Portal(server, page, screenshots)
    context.close()
