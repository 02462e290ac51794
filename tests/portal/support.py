"""The portal in a real browser: Playwright driving Debian's Chromium (/usr/bin/chromium)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

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


# -- layout and errors: what tests/test_portal_browser.py checks on every blade ------------------

WIDTHS = {"420px": NARROW, "1280px": DESKTOP}

# What is wrong with the layout on screen now, one line per problem ([] when nothing is): run in
# the page with page.evaluate.
LAYOUT_PROBLEMS = r"""
() => {
  const problems = [];
  // measure the layout as it settles: transitions (the menu sliding away as the window narrows) end now
  document.getAnimations().filter(a => a instanceof CSSTransition).forEach(a => a.finish());
  const describe = el => {
    const cls = el.classList && el.classList.length ? "." + [...el.classList].join(".") : "";
    const text = (el.textContent || el.getAttribute("placeholder") || "").trim().replace(/\s+/g, " ").slice(0, 50);
    return `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${cls} "${text}"`;
  };
  const shown = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const overlap = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;

  // Labels, headings and buttons show their whole text: scrollWidth not above clientWidth. An
  // ellipsis is a choice only where the element carries its whole text as a title (the signed-in user).
  const LABELS = "label, button, th, dt, dd, h1, h2, h3, .crumbs, .subtitle, .tabs a, .badge, .brand, .session, .toast, .hint";
  for (const el of document.querySelectorAll(LABELS)) {
    if (!shown(el) || el.clientWidth === 0) continue;
    if (getComputedStyle(el).textOverflow === "ellipsis" && el.title === el.textContent) continue;
    if (el.scrollWidth > el.clientWidth + 1) problems.push(`overflows its box (${el.scrollWidth} > ${el.clientWidth} px): ${describe(el)}`);
  }

  // One-line labels stay on one line (a tab, badge, the brand or "Sign out" broken in two reads badly).
  for (const el of document.querySelectorAll(".tabs a, .badge, .brand, #sign-out, #nav-toggle")) {
    if (!shown(el)) continue;
    const range = document.createRange(); range.selectNodeContents(el);
    const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.bottom)));
    if (lines.size > 1) problems.push(`wraps onto ${lines.size} lines: ${describe(el)}`);
  }

  // A placeholder fits its input (measured in the input's own font: an empty input's scrollWidth
  // does not count its placeholder).
  const measure = document.createElement("canvas").getContext("2d");
  for (const input of document.querySelectorAll("input[placeholder]")) {
    if (!shown(input) || input.value) continue;
    const cs = getComputedStyle(input);
    measure.font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
    const room = input.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    const needed = measure.measureText(input.placeholder).width;
    if (needed > room) problems.push(`placeholder cut off (${Math.ceil(needed)} > ${Math.floor(room)} px): ${describe(input)}`);
  }

  // SVG labels stay inside the box drawn around them (the link diagram's device boxes).
  for (const text of document.querySelectorAll("svg g > text")) {
    const box = text.parentNode.querySelector("rect");
    if (!box || !shown(text)) continue;
    const t = text.getBoundingClientRect(), b = box.getBoundingClientRect();
    if (t.left < b.left || t.right > b.right || t.top < b.top || t.bottom > b.bottom)
      problems.push(`leaves its box (${Math.round(t.width)} px text in ${Math.round(b.width)} px): ${describe(text)}`);
  }

  // A menu slid off screen leaves nothing on it (its shadow showed as a grey strip along the left edge).
  const nav = document.getElementById("nav");
  if (nav && nav.getBoundingClientRect().right <= 0 && getComputedStyle(nav).boxShadow !== "none")
    problems.push(`the closed menu casts its shadow onto the page: ${describe(nav)}`);

  // Text is drawn at 9 px or more; a drawing scaled down to a narrow window shrinks its text with it.
  for (const text of document.querySelectorAll("svg text")) {
    if (!shown(text)) continue;
    const svg = text.ownerSVGElement, scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    const px = parseFloat(getComputedStyle(text).fontSize) * scale;
    if (px < 9) problems.push(`text too small to read (${px.toFixed(1)} px): ${describe(text)}`);
  }

  // Notifications never cover the top bar, the breadcrumbs, the heading or the tabs: where their
  // text is drawn (a heading's block runs the whole width; its text does not).
  const textRect = el => { const range = document.createRange(); range.selectNodeContents(el); return range.getBoundingClientRect(); };
  const covered = [...document.querySelectorAll(".topbar > *, #blade .crumbs, #blade h1, #blade .tabs a")].filter(shown);
  for (const toast of document.querySelectorAll("#toasts .toast")) {
    if (!shown(toast)) continue;
    for (const el of covered) {
      if (overlap(toast.getBoundingClientRect(), textRect(el))) problems.push(`toast ${describe(toast)} covers ${describe(el)}`);
    }
  }
  return problems;
}
"""

# Every notification's text as it changes, and where one covers the heading or tabs at that moment
# (notifications go away after a few seconds: recorded as they come, nothing depends on timing).
WATCH_NOTIFICATIONS = (
    "() => { const check = " + LAYOUT_PROBLEMS.strip() + ";"
    " const seen = window.notifications = { texts: [], problems: [] };"
    " new MutationObserver(() => {"
    "  document.querySelectorAll('#toasts .toast').forEach(t => { if (!seen.texts.includes(t.textContent)) seen.texts.push(t.textContent); });"
    "  seen.problems.push(...check().filter(p => p.startsWith('toast')));"
    " }).observe(document.getElementById('toasts'), { childList: true, subtree: true, characterData: true }); }"
)


class PageErrors:
    """What the page reports as wrong from the moment it is watched: console errors, uncaught
    exceptions, and responses of 400 and above (Chromium also logs those as console errors)."""

    def __init__(self, page: Any) -> None:
        self.seen: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.seen.append(f"uncaught: {error}"))
        page.on("response", self._response)

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.seen.append(f"console: {message.text} {message.location.get('url', '')}")

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            self.seen.append(f"{response.status} {response.request.method} {response.url}")


def layout_problems(page: Any, where: str) -> list[str]:
    """The layout problems at both widths (the page is laid out again; no blade re-renders)."""
    found = []
    for name, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        found += [f"{where} at {name}: {problem}" for problem in page.evaluate(LAYOUT_PROBLEMS)]
    page.set_viewport_size(DESKTOP)
    return found
