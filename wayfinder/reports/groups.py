"""Which group a person falls in for each configured attribute."""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from typing import Any

from wayfinder.journeys.model import Fairness
from wayfinder.journeys.profile import KNOWN_FIELDS, Profile

AGE_BAND = "age_band"
UNKNOWN = "unknown"


def _value(profile: Profile, name: str) -> Any:
    if name in KNOWN_FIELDS:
        return profile.fields.get(name)
    return profile.attributes.get(name)


def _text(value: Any) -> str:
    if value is None or value == "" or value == []:
        return UNKNOWN
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(sorted(str(v) for v in value))
    return str(value)


def age(birth: date, on: date) -> int:
    """Whole years between a birth date and a day."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def age_band(years: int, starts: list[int]) -> str:
    """The band an age falls in, given where bands start: [25, 35] gives <25, 25-34, 35+."""
    edges = sorted(set(starts))
    if years < edges[0]:
        return f"<{edges[0]}"
    for low, high in pairwise(edges):
        if low <= years < high:
            return f"{low}-{high - 1}"
    return f"{edges[-1]}+"


def _age_group(profile: Profile, fairness: Fairness, on: date) -> str:
    raw = _value(profile, fairness.birth_date_field)
    if not isinstance(raw, str):
        return UNKNOWN
    try:
        birth = date.fromisoformat(raw[:10])
    except ValueError:
        return UNKNOWN
    return age_band(age(birth, on), fairness.age_bands)


def group_of(profile: Profile | None, attribute: str, fairness: Fairness, on: date) -> str:
    """The person's group for one attribute; ``unknown`` when the profile does not say."""
    if profile is None:
        return UNKNOWN
    if attribute == AGE_BAND:
        return _age_group(profile, fairness, on)
    return _text(_value(profile, attribute))
