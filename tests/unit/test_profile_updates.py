"""SPEC §3: events update the profile before journeys see them; every rule, one test each."""

from __future__ import annotations

from typing import Any

import pytest

from wayfinder.journeys.events import DecodeError, decode_event
from wayfinder.journeys.profile import Profile, apply_event, country_zone


def profile(**fields: Any) -> Profile:
    p = Profile(id="E1")
    p.merge(fields)
    return p


def test_hired_sets_start_date_role_department_location_and_manager() -> None:
    p = profile(role="Intern", timezone="Europe/Paris")
    apply_event(p, "hris.employee.hired", {"start_date": "2026-03-02", "role": "Engineer", "department": "R&D",
                                           "location": "Lyon", "manager_id": "M1", "salary": 1})
    assert p.fields == {"role": "Engineer", "timezone": "Europe/Paris", "start_date": "2026-03-02",
                        "department": "R&D", "location": "Lyon", "manager_id": "M1"}


def test_hired_without_a_field_keeps_what_the_profile_has() -> None:
    p = profile(role="Engineer")
    apply_event(p, "hris.employee.hired", {"start_date": "2026-03-02"})
    assert p.fields == {"role": "Engineer", "start_date": "2026-03-02"}


def test_job_changed_sets_role_and_department_from_the_new_ones() -> None:
    p = profile(role="Engineer", department="R&D")
    apply_event(p, "hris.job.changed", {"change": "promotion", "old_role": "Engineer", "new_role": "Lead",
                                        "old_department": "R&D", "new_department": "Platform"})
    assert (p.get("role"), p.get("department")) == ("Lead", "Platform")


def test_manager_changed_sets_the_manager() -> None:
    p = profile(manager_id="M1")
    apply_event(p, "hris.manager.changed", {"old_manager_id": "M1", "new_manager_id": "M2"})
    assert p.get("manager_id") == "M2"


def test_relocated_takes_the_timezone_it_carries() -> None:
    p = profile(location="Bengaluru", country="IN", timezone="Asia/Kolkata")
    apply_event(p, "hris.employee.relocated", {"old_location": "Bengaluru", "new_location": "New York",
                                               "new_country": "US", "new_timezone": "America/New_York"})
    assert (p.get("location"), p.get("country"), p.get("timezone")) == ("New York", "US", "America/New_York")


def test_relocated_without_a_timezone_takes_the_new_countrys_only_zone() -> None:
    p = profile(location="New York", country="US", timezone="America/New_York")
    apply_event(p, "hris.employee.relocated", {"old_location": "New York", "new_location": "Berlin",
                                               "new_country": "DE"})
    assert (p.get("location"), p.get("country"), p.get("timezone")) == ("Berlin", "DE", "Europe/Berlin")


def test_relocated_to_a_country_of_several_zones_keeps_the_old_zone() -> None:
    p = profile(location="Bengaluru", country="IN", timezone="Asia/Kolkata")
    apply_event(p, "hris.employee.relocated", {"old_location": "Bengaluru", "new_location": "New York",
                                               "new_country": "US"})
    assert (p.get("country"), p.get("timezone")) == ("US", "Asia/Kolkata")


def test_a_move_to_a_country_of_several_zones_keeps_an_old_zone_that_was_never_on_file() -> None:
    """An audit on 2026-12-05: a person upserted with ``country: DE`` and no timezone lives in Berlin (their
    country's only zone); moved to the US without ``new_timezone`` they went to UTC, where SPEC §3 keeps the old
    zone until an upsert says which. The old zone is kept on file then; an upsert still says which."""
    p = profile(country="DE")
    apply_event(p, "hris.employee.relocated", {"new_location": "New York", "new_country": "US"})
    assert (p.get("country"), p.timezone, p.view()["timezone"]) == ("US", "Europe/Berlin", "Europe/Berlin")
    apply_event(p, "hris.employee.upserted", {"timezone": "America/Chicago"})
    assert p.timezone == "America/Chicago"
    nowhere = profile(country="US")  # no zone before (UTC for want of one): nothing to keep
    apply_event(nowhere, "hris.employee.relocated", {"new_location": "Madrid", "new_country": "ES"})
    assert "timezone" not in nowhere.fields and nowhere.timezone == "UTC"
    same_country = profile(country="JP")  # a move within the country: the zone is still worked out, not stored
    apply_event(same_country, "hris.employee.relocated", {"new_location": "Osaka"})
    assert "timezone" not in same_country.fields and same_country.timezone == "Asia/Tokyo"


def test_a_person_with_a_country_and_no_zone_lives_in_the_countrys_only_zone() -> None:
    """An audit on 2026-12-04: a manager upserted with ``country: JP`` and no timezone had quiet hours, weekends and
    waits in UTC (a message at 20:00 in Tokyo), though a relocation to JP sets Asia/Tokyo. A zone on file wins;
    a country of several zones, or none, leaves UTC; templates see the zone the engine uses."""
    assert profile(country="JP").timezone == "Asia/Tokyo"
    assert profile(country="JP").view()["timezone"] == "Asia/Tokyo"
    assert profile(country="JP", timezone="Europe/Berlin").timezone == "Europe/Berlin"
    assert profile(country="US").timezone == "UTC" and "timezone" not in profile(country="US").view()
    assert profile().timezone == "UTC"
    moved = profile(country="JP")
    moved.merge({"country": "DE"})
    assert moved.timezone == "Europe/Berlin" and "timezone" not in moved.fields  # derived, never stored


@pytest.mark.parametrize(("country", "zone"), [
    ("GB", "Europe/London"), ("IN", "Asia/Kolkata"), ("DE", "Europe/Berlin"), ("FR", "Europe/Paris"),
    ("US", None), ("ES", None), ("AU", None), ("ZZ", None), (None, None),
])
def test_a_countrys_only_zone(country: str | None, zone: str | None) -> None:
    assert country_zone(country) == zone


def test_an_upsert_merges_what_it_carries() -> None:
    p = profile(given_name="Anna", timezone="Europe/Berlin", preferences={"opt_out_topics": ["x"]})
    apply_event(p, "hris.employee.upserted", {"timezone": "Europe/Paris", "pronouns": "she/her",
                                              "preferences": {"quiet_hours": "20:00-08:00"}})
    assert p.fields == {"given_name": "Anna", "timezone": "Europe/Paris"}
    assert p.attributes == {"pronouns": "she/her"}
    assert p.preferences == {"opt_out_topics": ["x"], "quiet_hours": "20:00-08:00"}


def test_a_preference_set_to_null_is_none_to_expressions_and_templates() -> None:
    """An audit on 2026-12-05: an upsert's ``"preferences": {"quiet_hours": null, "opt_out_topics": null}`` took the
    quiet hours away from the mailbox, but ``has(employee.preferences.quiet_hours)`` stayed true and
    ``employee.preferences.opt_out_topics`` was null (``"x" in ...`` failed, so counted as false), where a field or
    an attribute set to null is taken away."""
    p = profile(preferences={"quiet_hours": "20:00-08:00", "opt_out_topics": ["family"], "opt_out_channels": ["email"]})
    apply_event(p, "hris.employee.upserted", {"preferences": {"quiet_hours": None, "opt_out_topics": None}})
    assert p.quiet_hours is None and p.opt_out_topics == []
    assert p.view()["preferences"] == {"opt_out_channels": ["email"], "opt_out_topics": []}


def test_an_upsert_says_which_zone_after_a_move_to_a_country_of_several() -> None:
    p = profile(timezone="Asia/Kolkata")
    apply_event(p, "hris.employee.relocated", {"new_location": "Austin", "new_country": "US"})
    apply_event(p, "hris.employee.upserted", {"timezone": "America/Chicago"})
    assert p.get("timezone") == "America/Chicago"


def test_other_events_leave_the_profile_alone() -> None:
    p = profile(role="Engineer", timezone="Europe/Berlin")
    for event_type, data in (("hris.leave.started", {"leave_type": "parental", "start_date": "2026-03-02",
                                                      "role": "x"}),
                             ("hris.dependent.added", {"relationship": "child", "date": "2026-03-01"})):
        apply_event(p, event_type, data)
    assert p.fields == {"role": "Engineer", "timezone": "Europe/Berlin"}


def test_a_relocation_with_a_timezone_that_is_not_iana_is_a_dead_letter() -> None:
    raw = ('{"specversion": "1.0", "id": "1", "source": "t", "type": "hris.employee.relocated", '
           '"time": "2026-03-02T09:00:00Z", "subject": "E1", '
           '"data": {"new_location": "Paris", "new_timezone": "Paris time"}}')
    with pytest.raises(DecodeError, match=r"^invalid_data: hris.employee.relocated: data.new_timezone: "):
        decode_event(raw)


def test_the_language_a_person_chose_wins_over_the_hr_systems_until_they_take_it_back() -> None:
    """2026-12-05: the choice (``preferences.locale``, from ``wayfinder.preferences.changed``) is kept beside the HR
    system's ``locale``, so an upsert bringing the HR value again leaves it; rules, templates and the catalog's
    ranking (``view``) read the one in force. An upsert's own ``preferences.locale`` is checked as the event's is."""
    p = profile(locale="de-DE")
    p.preferences["locale"] = "en-GB"
    p.merge({"locale": "fr-FR"})
    assert (p.locale, p.own_locale, p.fields["locale"], p.view()["locale"]) == ("en-GB", "en-GB", "fr-FR", "en-GB")
    del p.preferences["locale"]
    assert (p.locale, p.own_locale, p.view()["locale"]) == ("fr-FR", None, "fr-FR")
    bad = ('{"specversion": "1.0", "id": "1", "source": "t", "type": "hris.employee.upserted", '
           '"time": "2026-03-02T09:00:00Z", "subject": "E1", "data": {"preferences": {"locale": "<b>x</b>"}}}')
    with pytest.raises(DecodeError, match=r"^invalid_data: hris.employee.upserted: data.preferences.locale: "):
        decode_event(bad)
