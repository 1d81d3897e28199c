"""The real browser for the page tests (Debian's chromium driven by Playwright, its own download never used), and a
broker of one test only.

Module scope on purpose: Playwright's sync API keeps an event loop running in the test thread while a browser
is open, and tests after it that call ``asyncio.run`` (delivery, the CLI) would fail; each browser module
opens it once and closes it when done.
"""

from __future__ import annotations

import gc
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.real.own_broker import SCRIPT, OwnBroker

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _wait_for_chromium() -> None:
    deadline = time.monotonic() + 600
    while not (CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)):
        if time.monotonic() > deadline:
            pytest.fail("/usr/bin/chromium is missing: apt-get install chromium (scripts/test does)")
        time.sleep(5)


@pytest.fixture(autouse=True)
def _garbage_collected() -> Iterator[None]:
    """A client this test left open (a socket, a transport) is found at this test's end, not at a later test's:
    the garbage is collected as each test ends, so the ResourceWarning (an error here) names the test that left
    it. CI once failed the manifest test on a Kafka socket some earlier test of its process had left."""
    yield
    gc.collect()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    _wait_for_chromium()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[OwnBroker]:
    """A broker of the test only (tests that stop and start one never touch the session's)."""
    own = OwnBroker(tmp_path)
    print(f"\nown broker up in {own.run('up'):.0f}s")
    try:
        yield own
    finally:
        subprocess.run([str(SCRIPT), "down", "--purge"], env=own.env, capture_output=True, timeout=120, check=False)
