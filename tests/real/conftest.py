"""The real browser for the page tests: Debian's chromium driven by Playwright (its own download is never used).

Module scope on purpose: Playwright's sync API keeps an event loop running in the test thread while a browser
is open, and tests after it that call ``asyncio.run`` (delivery, the CLI) would fail; each browser module
opens it once and closes it when done.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _wait_for_chromium() -> None:
    deadline = time.monotonic() + 600
    while not (CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)):
        if time.monotonic() > deadline:
            pytest.fail("/usr/bin/chromium is missing: apt-get install chromium (scripts/test does)")
        time.sleep(5)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    _wait_for_chromium()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()
