"""Playwright driving Debian's Chromium against pytest-django's live_server. Skipped, with
the reason, when /usr/bin/chromium or the playwright package is missing (never
`playwright install`: no browser downloads)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 900}


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    # Playwright's sync API keeps an event loop in this thread; Django's guard against ORM
    # calls from async code would otherwise refuse the test's own (synchronous) setup.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    runner = sync_api.sync_playwright().start()
    launched = runner.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield launched
    launched.close()
    runner.stop()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class Tab:
    """A page that records console errors and uncaught exceptions, for asserting none."""

    def __init__(self, context, base_url: str):
        self.context, self.base_url = context, base_url
        self.page = context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda msg: msg.type == "error" and self.errors.append(f"console: {msg.text}"))
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def go(self, path: str):
        response = self.page.goto(self.base_url + path, wait_until="load")
        self.page.wait_for_load_state("networkidle")
        return response

    def shot(self, name: str):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def open_tab(browser, live_server, settings):
    # live_server serves /static/ through finders, which know site.css but not its hashed
    # copy; plain names keep the test on the same files (whitenoise's hashing is tested by
    # the pages' own tests through collectstatic).
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    contexts = []

    def make(viewport=DESKTOP, **options) -> Tab:
        context = browser.new_context(viewport=viewport, **options)
        contexts.append(context)
        return Tab(context, live_server.url)

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def image_host(local_server):
    """A publisher's image server on 127.0.0.1 (allow-listed for fetches in tests/conftest.py)."""
    from PIL import Image

    def image(color, size):
        out = io.BytesIO()
        Image.new("RGB", size, color).save(out, "JPEG", quality=85)
        return out.getvalue()

    local_server.route("/lead.jpg", image((30, 90, 160), (1600, 900)), content_type="image/jpeg")
    local_server.route("/other.jpg", image((170, 60, 40), (1200, 800)), content_type="image/jpeg")
    local_server.route("/favicon.png", image((20, 120, 60), (64, 64)), content_type="image/jpeg")
    return local_server
