"""The preferences the pages show are the engine's: a newer HRIS upsert wins over an older change made on the page,
and a change the engine has not had yet (the Kafka backend's directory lags) is laid over the profile."""

from __future__ import annotations

from datetime import datetime

from tests.support import at
from wayfinder.journeys.profile import Profile
from wayfinder.web import events as ev
from wayfinder.web.store import Store

OPTED_OUT = ev.preferences_changed(employee_id="W1", changes={"opt_out_channels": ["email"]},
                                   at=at("2026-01-10T09:00:00Z"))
# the engine's profile after a newer upsert (2026-01-12) switched email on again
ENGINES = Profile(id="W1", preferences={"opt_out_channels": []})


def shown(as_of: dict[str, datetime] | None) -> list[str]:
    store = Store(profiles={"W1": ENGINES}, decisions=[OPTED_OUT], profiles_as_of=as_of)
    channels: list[str] = store.preferences("W1")["opt_out_channels"]
    return channels


def test_a_profile_that_has_every_change_is_shown_as_it_is() -> None:
    # the embedded backend: replaying the page's old opt-out undid the newer upsert, and a one-click unsubscribe
    # then recorded nothing ("already opted out") while the engine kept sending email
    assert shown(None) == []


def test_a_change_newer_than_the_profile_is_laid_over_it_and_an_older_one_is_not() -> None:
    assert shown({"W1": at("2026-01-09T00:00:00Z")}) == ["email"]  # the directory has not had it yet
    assert shown({"W1": at("2026-01-12T09:00:01Z")}) == []  # it has, and a newer upsert since
    assert shown({}) == ["email"]  # nothing known of how far the profile has come
