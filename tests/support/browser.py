"""A real browser for the staff pages' tests: Debian's chromium driven by Playwright, the app served by waitress.

One browser per session (starting chromium costs about a second); each test gets a fresh context and
page, so no cookie or cache leaks between tests. A failed test leaves a screenshot and a Playwright
trace (`playwright show-trace trace.zip`) under `.browser-artifacts/<test>/`, and prints where.

Chromium is never downloaded: the tests use `/usr/bin/chromium` (apt-get install chromium), and the
flags below keep it off the network, which is closed here and would otherwise stall its start.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright
from sqlalchemy import Engine

from connector.settings import Settings
from webhooks import create_app
from webhooks.server import ServerThread

__all__ = [
    "DESKTOP",
    "PHONE",
    "Console",
    "assert_accessible",
    "browser",
    "console",
    "live_server",
    "live_url",
    "other_origin",
    "page",
]

CHROMIUM: Final = Path("/usr/bin/chromium")
LAUNCH_ARGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
DESKTOP: Final = {"width": 1280, "height": 800}
PHONE: Final = {"width": 390, "height": 844}
ARTIFACTS: Final = Path(__file__).resolve().parents[2] / ".browser-artifacts"
AXE: Final = Path(__file__).with_name("vendor") / "axe.min.js"
WCAG_TAGS: Final = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
# What a person would wait for on a busy 2-core machine running the suite in parallel workers; a poll is 5 s.
expect.set_options(timeout=15_000)


@dataclass
class Console:
    """What the page wrote to its console and the errors it threw, in order."""

    messages: list[str] = field(default_factory=list)

    def record(self, message: ConsoleMessage) -> None:
        self.messages.append(f"{message.type}: {message.text}")

    def csp_violations(self) -> list[str]:
        """Chromium reports each refused script, style or frame as a console error naming the policy."""
        return [m for m in self.messages if "Content Security Policy" in m]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    """Keep each phase's report on the test, so the page fixture knows whether the test failed."""
    report = yield
    setattr(item, f"browser_report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless chromium for the session; Playwright gives it a fresh, throwaway user-data dir."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (the tests never download a browser)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(LAUNCH_ARGS), headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh page at desktop size, traced; on failure its screenshot and trace are kept."""
    context = browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
    # DOM snapshots only: a screencast of every test costs more CPU than the test (the failure screenshot
    # below is taken anyway).
    context.tracing.start(screenshots=False, snapshots=True, sources=False)
    tab = context.new_page()
    yield tab
    failed = any(
        getattr(getattr(request.node, f"browser_report_{when}", None), "failed", False) for when in ("setup", "call")
    )
    if failed:
        folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
        folder.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(folder / "screenshot.png"), full_page=True)
        context.tracing.stop(path=str(folder / "trace.zip"))
        print(f"\nbrowser artifacts: {folder} (screenshot.png; `playwright show-trace {folder / 'trace.zip'}`)")
    else:
        context.tracing.stop()
    context.close()


@pytest.fixture
def console(page: Page) -> Console:
    """The page's console, recorded from before its first navigation."""
    log = Console()
    page.on("console", log.record)
    page.on("pageerror", lambda error: log.messages.append(f"pageerror: {error}"))
    return log


@contextmanager
def live_server(engine: Engine, **settings: Any) -> Iterator[str]:
    """The app with `settings`, served by the real server (waitress) on a free port; yields its base URL."""
    app = create_app(Settings(database_url=str(engine.url), **settings), engine)
    with ServerThread(app) as server:
        yield server.url


@pytest.fixture
def live_url(sqlite_engine: Engine) -> Iterator[str]:
    """The app with default settings over real HTTP; the pages do not touch the store, so SQLite does."""
    with live_server(sqlite_engine) as url:
        yield url


@contextmanager
def other_origin(html: str) -> Iterator[str]:
    """`html` served from another origin on this machine (another port); yields its URL.

    A real server, not a routed fake: Chromium treats a page it did not load from the network as public
    and refuses its frames of 127.0.0.1 on its own, which would hide what the app's headers do.
    """
    body = html.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="other-origin", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def assert_accessible(page: Page) -> None:
    """Run axe-core's WCAG 2.1 A and AA rules on the page as it is now; fail listing each violation.

    The script is evaluated over the DevTools protocol, which the page's Content-Security-Policy does
    not govern, so the page is checked under its real policy.
    """
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        list(WCAG_TAGS),
    )
    violations = result["violations"]
    lines = [
        f"{v['id']} ({v['impact']}): {v['help']} at {json.dumps([n['target'] for n in v['nodes']])}" for v in violations
    ]
    assert not violations, f"axe found {len(violations)} violation(s) on {page.url}:\n" + "\n".join(lines)
