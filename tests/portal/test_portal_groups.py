"""The seed's step 4 with a group in a real Chromium: the Groups blade (create, add and remove
members, delete), groups in the Add role assignment member picker with their type shown, the IAM
list showing the group's assignment, and "Check access" showing what a member inherits through
its group. Each step's effect is checked through the Graph/ARM API and the SDK too."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.portal.support import CHROMIUM, CHROMIUM_ARGS, DESKTOP, Portal
from tests.support import Server, groups
from tests.support.rbac import create_identity, graph

pytestmark = pytest.mark.browser


def _in_a_browser_of_its_own(server: Server, artifacts: Path, test: Callable[[Portal], None]) -> None:
    """Run ``test`` with a Chromium started in a thread of its own. Playwright's sync API allows one
    running instance per thread, and test_portal_browser.py keeps its session-wide one open in the
    main thread; this module's browser must not collide with it."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing in CI (.ci/run installs Debian's chromium)")
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) for browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    screenshots = artifacts / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
                try:
                    context = browser.new_context(ignore_https_errors=True, viewport=DESKTOP)
                    page = context.new_page()
                    page.set_default_timeout(15_000)
                    test(Portal(server, page, screenshots))
                finally:
                    browser.close()
        except BaseException as exc:  # handed to the test's own thread, where pytest reports it
            failure.append(exc)

    thread = threading.Thread(target=run, name="portal-groups-browser")
    thread.start()
    thread.join(timeout=300)
    assert not thread.is_alive(), "the browser test did not finish within 300 s"
    if failure:
        raise failure[0]


def test_seed_step_4_with_a_group_in_the_portal(server: Server, artifacts: Path) -> None:
    _in_a_browser_of_its_own(server, artifacts, _seed_step_4_with_a_group)


def _seed_step_4_with_a_group(portal: Portal) -> None:
    server, page = portal.server, portal.page
    provider = server.subscription("partner")
    bot = create_identity(server, "portal-noc-bot")
    assert not groups.lists_cross_connections(server, bot)
    portal.sign_in_as_user()

    # Groups blade: create a group, add the application as a member
    portal.go("#/aadgroups", "aadGroups")
    assert "ExpressRoute Partner Operations" in page.inner_text("#blade")
    page.fill("#group-name", "Portal NOC")
    page.fill("#group-description", "NOC engineers and automation")
    page.click("#create-group")
    portal.wait_blade("aadGroup")
    group_id = page.inner_text("#group-id")
    page.click("#add-members")
    page.fill("#group-member-search", "portal-noc-bot")
    row = page.locator("#group-member-picker tr.selectable:has-text('portal-noc-bot')")
    assert "Service principal" in row.inner_text()
    row.click()
    page.wait_for_selector("#blade td:has-text('portal-noc-bot')")
    portal.shot("30-group-members")
    with graph(server) as g:
        assert [m["id"] for m in g.get(f"/groups/{group_id}/members").json()["value"]] == [bot.object_id]

    # IAM: Network Contributor for the group, picked among users, groups and service principals
    portal.go(f"#/subscriptions/{provider}/iam", "iam")
    page.click("#add-role-assignment")
    page.fill("#role-search", "Network Contributor")
    page.click("#add-assignment tr.selectable:has-text('Network Contributor')")
    page.fill("#member-search", "Portal NOC")
    picked = page.locator("#add-assignment tr.selectable:has-text('Portal NOC')")
    assert "Group" in picked.inner_text()
    picked.click()
    portal.shot("31-iam-group-review")
    page.click("#review-assign")
    page.wait_for_selector("#blade tr:has-text('Portal NOC')")
    assert "Group" in page.inner_text("#blade tr:has-text('Portal NOC')")
    assert groups.lists_cross_connections(server, bot)  # the member holds the role through the group

    # Check access: the member's Network Contributor comes through the group
    page.click("#check-access-open")
    page.fill("#check-access-search", "portal-noc-bot")
    page.click("#check-access tr.selectable:has-text('portal-noc-bot')")
    inherited = page.locator("#check-access tr:has-text('Network Contributor'):has-text('Portal NOC')")
    inherited.wait_for()
    assert "Group" in inherited.inner_text()
    portal.shot("32-iam-check-access")

    # Remove the member: refused on the next request
    portal.go(f"#/aadgroups/{group_id}", "aadGroup")
    page.click(f"[data-remove='{bot.object_id}']")
    portal.wait_count(f"[data-remove='{bot.object_id}']", 0)
    assert not groups.lists_cross_connections(server, bot)

    # Delete the group: its assignment stays, shown with an unknown principal
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#delete-group")
    portal.wait_blade("aadGroups")
    page.wait_for_function("() => !document.getElementById('blade').innerText.includes('Portal NOC')")
    with graph(server) as g:
        assert g.get(f"/groups/{group_id}").status_code == 404
    portal.go(f"#/subscriptions/{provider}/iam", "iam")
    orphan = page.locator(f"#blade tr:has-text('{group_id}')")
    assert "Unknown" in orphan.inner_text()
