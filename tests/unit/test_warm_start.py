"""A worker loads at start-up what its first events would otherwise load in the middle of a stream
(``Definitions.warm``, README "Warm at start-up"). Each check runs in a fresh interpreter: this process has long
since loaded everything."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import json, sys
from datetime import UTC, date, datetime
import babel.localedata
from wayfinder.catalog.calendar import WorkCalendar
from wayfinder.journeys.i18n import Reader
from wayfinder.streams.app import load_definitions
from wayfinder.streams.settings import WorkerSettings

def seen():
    return {"modules": sorted(m for m in sys.modules if m.startswith("holidays.countries")),
            "locales": sorted(babel.localedata._cache)}

definitions = load_definitions(WorkerSettings())
before = seen()
if "warm" in sys.argv:
    definitions.warm()
warmed = seen()
WorkCalendar().working_day(date(2026, 12, 21), 10, "DE")  # a roadmap's days, public holidays skipped
for locale in ("de-DE", "fr", None):
    reader = Reader(locale, "Europe/Berlin")
    reader.date(date(2026, 12, 24)), reader.datetime(datetime(2026, 12, 24, 9, tzinfo=UTC)), reader.number(3.5)
print(json.dumps({"before": before, "warmed": warmed, "after": seen()}))
"""


def _run(*args: str) -> dict[str, dict[str, list[str]]]:
    out = subprocess.run([sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True, check=True,
                         timeout=120)
    result: dict[str, dict[str, list[str]]] = json.loads(out.stdout.splitlines()[-1])
    return result


def test_warm_loads_the_holiday_countries_and_the_locales_before_the_first_event() -> None:
    seen = _run("warm")
    assert seen["before"]["modules"] == [] and "de" not in seen["before"]["locales"]
    assert "holidays.countries" in seen["warmed"]["modules"]
    assert {"en", "de", "fr", "de_DE", "fr_FR"} <= set(seen["warmed"]["locales"])


def test_after_warm_a_roadmap_and_dates_in_the_catalogs_languages_load_nothing_more() -> None:
    seen = _run("warm")
    assert seen["after"] == seen["warmed"]


def test_without_warm_the_first_roadmap_and_dates_load_them_mid_stream() -> None:
    """The contrast: what the two tests above prevent (a country's holidays import every country's module)."""
    seen = _run()
    assert seen["warmed"] == seen["before"]
    assert len(seen["after"]["modules"]) > len(seen["before"]["modules"]) + 50
    assert "de" in seen["after"]["locales"] and "de" not in seen["before"]["locales"]


def test_a_locale_without_a_catalog_gets_english_and_no_path_is_built_from_it() -> None:
    """``warm`` and every message read a catalog per language: a language with none (however long, whatever its
    characters; the loaders' patterns keep these out, this is the layer below) is English, not a file looked for."""
    from wayfinder.journeys.definitions import Definitions
    from wayfinder.journeys.i18n import gettext
    from wayfinder.journeys.templates import MessageTemplate

    message = "You received this because {because}. It is part of “{journey}”."
    for locale in ("x" * 300, "../../etc", "zz-ZZ"):
        assert gettext(locale, message, because="b", journey="j") == "You received this because b. It is part of “j”."
    assert gettext("de-DE", message, because="b", journey="j").startswith("Du erhältst diese Nachricht")
    odd = MessageTemplate("t", "s", "x", locales={"x" * 300: {"text": "y"}, "zz-ZZ": {"text": "z"}})
    Definitions(templates={"t": odd}).warm()  # raised OSError (file name too long) before


COLLECTOR = """
import gc, json
from wayfinder.streams.cli import FULL_COLLECTION_AFTER, settle_collector
before = gc.get_threshold()
objects = [[i] for i in range(1000)]  # start-up's objects, living as long as the process
settle_collector()
print(json.dumps({"before": before, "after": gc.get_threshold(), "frozen": gc.get_freeze_count(),
                  "full_after": FULL_COLLECTION_AFTER}))
"""


def test_the_worker_freezes_what_start_up_loaded_and_runs_full_collections_less_often() -> None:
    done = subprocess.run([sys.executable, "-c", COLLECTOR], capture_output=True, text=True, check=True)
    got = json.loads(done.stdout)
    young, middle, full = got["before"]
    assert got["after"] == [young, middle, got["full_after"]]
    assert got["full_after"] >= 10 * full  # Python's default is 10: ten times fewer pauses of a full collection
    assert got["frozen"] >= 1000
