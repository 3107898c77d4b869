"""Browser fixtures for the signing page's tests (`test_signer_page_browser.py`, on the package's one local stack):
a headless Chromium driven by Playwright. The browser is Debian's (`/usr/bin/chromium`, installed by
`make install-browser`), never one Playwright downloads. Screenshots of every step go to `tests/e2e/screenshots/`
(git-ignored) for a person to look at; `docs/signer-page/` holds a few of them, copied by hand.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

CHROMIUM = Path(os.environ.get("SIGNBRIDGE_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).parent / "screenshots"
PHONE = {"width": 390, "height": 844}  # an iPhone 12-sized screen, CSS pixels
DESKTOP = {"width": 1100, "height": 900}


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run `make install-browser` (apt-get install chromium)")
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    created = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    yield created
    created.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    return opened


class Shots:
    """Numbered screenshots of one test's steps: `screenshots/{test}/{nn}-{step}.png`."""

    def __init__(self, name: str) -> None:
        self.folder = SCREENSHOTS / re.sub(r"[^A-Za-z0-9_-]+", "-", name)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def __call__(self, page: Page, step: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Shots:
    return Shots(request.node.name)
