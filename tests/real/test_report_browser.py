"""The fairness and impact reports opened in a real headless Chromium (Debian's), with a screenshot kept."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.fairness_world import EVERYONE, NAMES, with_k
from tests.fairness_world import write as write_world
from wayfinder.cli import main


def _report(tmp_path: Path, kind: str) -> Path:
    world = write_world(tmp_path)
    if kind == "impact":  # 3 of the control group have the outcome: shown (and charted) with k = 3, hidden at 10
        with_k(world, 3)
    html = tmp_path / f"{kind}.html"
    code = main(["report", kind, "--results", str(world / "results"), "--events", str(world / "events.jsonl"),
                 "--journeys", str(world / "defs" / "journeys"), "--catalog", str(world / "defs" / "catalog"),
                 "--fairness", str(world / "defs" / "fairness.yaml"), "--html", str(html)])
    assert code == 0
    return html


def _charts_rendered(page: Page) -> list[dict[str, float]]:
    charts: list[dict[str, float]] = page.eval_on_selector_all(
        "img.chart", "els => els.map(e => ({w: e.naturalWidth, h: e.naturalHeight, done: e.complete ? 1 : 0,"
                     " shown: e.getBoundingClientRect().width}))")
    return charts


@pytest.mark.parametrize("kind", ["fairness", "impact"])
def test_report_renders_its_charts_and_names_no_one(browser: Browser, tmp_path: Path, kind: str) -> None:
    html = _report(tmp_path, kind)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(html.as_uri())
    page.wait_for_load_state("load")
    charts = _charts_rendered(page)
    assert charts, "no chart in the report"
    assert all(c["done"] == 1 and c["w"] > 100 and c["h"] > 50 and c["shown"] > 100 for c in charts), charts
    text = page.inner_text("body")
    assert ("Findings (3)" in text) if kind == "fairness" else ("+50 pts" in text)
    source = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html.read_text(encoding="utf-8"))
    for pid in EVERYONE:
        for needle in (pid, NAMES[pid], f"{pid.lower()}@example.com"):
            assert needle not in text and needle not in source, f"the report names a person ({needle!r})"
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == [], "the report is not self-contained"
    shot = tmp_path / f"{kind}-report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.close()
