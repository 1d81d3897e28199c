"""The words every layer shares, defined once: identifiers, channels, recipient roles, event types, topics,
and how times are read and written. The lowest layer: it imports nothing of Wayfinder's."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Literal, get_args

from babel.core import get_global
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = [
    "CHANNELS",
    "CONTROLS",
    "ID_PATTERN",
    "Channel",
    "EventType",
    "Frozen",
    "Identifier",
    "LanguageTag",
    "RecipientRole",
    "Topic",
    "escape_controls",
    "input_topic",
    "iso",
    "language_rank",
    "language_tag",
    "nearest_tag",
    "parse_instant",
]

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
Identifier = Annotated[str, Field(pattern=ID_PATTERN)]
"""Ids users write (journeys, steps, topics, resources): a letter or digit, then letters, digits, ``_.-``."""

LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")


def _language_tag(value: str) -> str:
    """A language tag users write, said in words when it is not one (the pattern alone read as a regular
    expression to HR authors)."""
    if not LANGUAGE_TAG.fullmatch(value):
        hint = f" (write {value.replace('_', '-')})" if LANGUAGE_TAG.fullmatch(value.replace("_", "-")) else ""
        msg = f"{value!r} is not a language tag such as de or de-AT{hint}"
        raise ValueError(msg)
    return value


LanguageTag = Annotated[str, AfterValidator(_language_tag), Field(json_schema_extra={"pattern": LANGUAGE_TAG.pattern})]
"""BCP 47 as users write it in definitions (a template's locales, the names and titles by language, a resource's
locale): ``de``, ``de-AT``; ``de_AT`` or ``german`` matched no reader."""

Channel = Literal["email", "intranet"]
CHANNELS: tuple[str, ...] = get_args(Channel)
RecipientRole = Literal["employee", "manager", "hr_partner"]


class Frozen(BaseModel):
    """A document users write: immutable, and a field it does not know is an error."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class EventType(StrEnum):
    """The event types the engine understands out of the box (SPEC §2, §11); journeys may use others."""

    UPSERTED = "hris.employee.upserted"
    HIRED = "hris.employee.hired"
    STARTED = "hris.employee.started"
    DEPENDENT_ADDED = "hris.dependent.added"
    LEAVE_STARTED = "hris.leave.started"
    LEAVE_ENDED = "hris.leave.ended"
    JOB_CHANGED = "hris.job.changed"
    MANAGER_CHANGED = "hris.manager.changed"
    RELOCATED = "hris.employee.relocated"
    TERMINATED = "hris.employee.terminated"
    TASK_COMPLETED = "onboarding.task.completed"
    MESSAGE_OPENED = "engagement.message.opened"
    MESSAGE_CLICKED = "engagement.message.clicked"
    MESSAGE_FEEDBACK = "engagement.message.feedback"
    RESOURCE_RATED = "engagement.resource.rated"
    WELLBEING_SIGNAL = "wellbeing.signal"
    ERASURE_REQUESTED = "privacy.erasure.requested"
    CORRECTION = "hris.correction"
    REVIEW_DECIDED = "wayfinder.review.decided"
    PREFERENCES_CHANGED = "wayfinder.preferences.changed"


class Topic(StrEnum):
    """Kafka topics by their short names (SPEC §8); the configured prefix is added by the settings."""

    HRIS_EVENTS = "hris.events"
    ENGAGEMENT_EVENTS = "engagement.events"
    DECISIONS = "decisions"
    OUTBOUND_MESSAGES = "outbound.messages"
    DELIVERY_RECEIPTS = "delivery.receipts"
    APPROVALS = "approvals"
    TASKS = "tasks"
    DEAD_LETTERS = "dead-letters"
    AUDIT = "audit"
    EMPLOYEE_TICKS = "employee-ticks"
    MAILBOX = "mailbox"
    MAILBOX_TICKS = "mailbox-ticks"
    DIRECTORY = "directory"
    CONTROL = "control"


def input_topic(event_type: str) -> Topic:
    """The topic an event travels on by its type: engagement events (opened, clicked, feedback; they never fire
    timers early) and decisions by people (reviews, preferences, tasks; SPEC §11) have their own; the rest are
    HRIS events."""
    if event_type.startswith("engagement."):
        return Topic.ENGAGEMENT_EVENTS
    if event_type.startswith("wayfinder."):
        return Topic.DECISIONS
    return Topic.HRIS_EVENTS


def iso(dt: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, as every output writes times."""
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


# What a terminal or an editor acts on rather than shows: C0 and C1 controls but the tab, line and paragraph
# separators, and the bidirectional marks and overrides (U+202E turns the rest of a line around).
CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def escape_controls(text: str) -> str:
    """``text`` with every control character but the tab written as ``\\n``, ``\\r``, ``\\xNN`` or ``\\uNNNN``:
    text from outside (an id, a file name) cannot start a line of its own or turn one around."""
    return CONTROLS.sub(lambda m: repr(m.group(0))[1:-1], text)


def parse_instant(text: str) -> datetime:
    """An RFC 3339 time with an offset (``Z`` or ``+01:00``); a time without one is an error, never local."""
    try:  # RFC 3339 allows "t" and "z" (section 5.6), which Python's reader does not take
        upper = text[:10] + "T" + text[11:] if text[10:11] == "t" else text
        parsed = datetime.fromisoformat(upper[:-1] + "+00:00" if upper[-1:] in ("Z", "z") else upper)
    except ValueError as e:
        msg = f"{text!r} is not an RFC 3339 time (e.g. 2026-12-31T00:00:00Z)"
        raise ValueError(msg) from e
    if parsed.tzinfo is None:
        msg = f"{text!r} has no offset: add Z or +01:00"
        raise ValueError(msg)
    return parsed


@lru_cache(maxsize=1024)
def language_tag(locale: str) -> str:
    """A reader's locale as BCP 47 writes it (``-``, as an HTML ``lang`` wants it: ``en_GB`` is ``en-GB``), without
    its extensions and private use (``de-DE-u-co-phonebk`` is ``de-DE``, ``ar-EG-u-nu-latn`` is ``ar-EG``): what
    picks a text, a catalog version and the direction of writing. The extensions ask for things Wayfinder does not
    do (a collation, digits, a calendar); read as part of the tag, ``-u-co-phonebk`` made a de-DE reader's own text
    lose to plain ``de``, and ``ar-EG-u-nu-latn`` was not known as Arabic, so its email was laid out left to right."""
    parts = locale.replace("_", "-").split("-")
    singleton = next((i for i, p in enumerate(parts) if len(p) == 1 and i > 0), len(parts))
    return "-".join(parts[:singleton])


@lru_cache(maxsize=1024)
def _maximized(tag: str) -> tuple[str, str, str]:
    """(language, script, region) of a normalised tag, what it leaves out filled in from CLDR's likely subtags
    (``zh-tw`` is ``zh-hant-tw``, ``de-ch`` is ``de-latn-ch``)."""
    parts = tag.split("-")
    language = parts[0]
    script = next((p for p in parts[1:] if len(p) == 4 and p.isalpha()), "")
    region = next((p for p in parts[1:] if (len(p) == 2 and p.isalpha()) or (len(p) == 3 and p.isdigit())), "")
    likely: Mapping[str, str] = get_global("likely_subtags")
    keys = [k for k in (f"{language}_{script.title()}_{region.upper()}" if script and region else "",
                        f"{language}_{region.upper()}" if region else "",
                        f"{language}_{script.title()}" if script else "", language) if k]
    found = next((likely[k] for k in keys if k in likely), "").lower().split("_")
    return (language, script or (found[1] if len(found) > 2 else ""),
            region or (found[-1] if len(found) > 1 else ""))


@lru_cache(maxsize=1024)
def _kin(tag: str) -> frozenset[str]:
    """The regional varieties a normalised tag's is written in, by CLDR's parent locales, the bare language left
    out: ``en-in`` and ``en-au`` are written as ``en-001`` (as in Britain, ``en-gb``), ``pt-ao`` as ``pt-pt``,
    ``es-ar`` as ``es-419`` (as in Mexico); ``en-us``, ``pt-br`` and ``es-es`` have none."""
    parents: Mapping[str, str] = get_global("parent_exceptions")
    parts = tag.split("-")
    key = "_".join([parts[0], *(p.title() if len(p) == 4 else p.upper() for p in parts[1:])])
    found: set[str] = set()
    while key in parents and len(found) < 8:
        key = parents[key]
        found.add(key.replace("_", "-").lower())
    return frozenset(found)


@lru_cache(maxsize=4096)
def language_rank(wanted: str, candidate: str) -> tuple[int, ...]:
    """How well text in ``candidate`` suits a reader of ``wanted`` (normalised tags: lower case, ``-``), smallest
    first: their own tag (extensions aside, :func:`language_tag`); then, in their language, the same script
    (``zh-hant-hk`` for ``zh-tw``), no region (plain ``de``), the region where the language is most spoken (CLDR:
    ``de-de`` for ``de-at``, not ``de-ch`` for being first in the alphabet), unless a region is written as the
    reader's is (CLDR's parent locales: ``en-gb`` for ``en-in``, ``pt-pt`` for ``pt-ao``, ``es-mx`` for ``es-ar``);
    ``(9,)`` for another language.
    Templates, catalog titles and catalog versions all choose by it (three rules disagreed: a message in de-DE
    listed titles in de-CH)."""
    wanted, candidate = language_tag(wanted).lower(), language_tag(candidate).lower()
    if candidate == wanted:
        return (0,)
    language, script, _ = _maximized(wanted)
    if candidate.split("-")[0] != language:
        return (9,)
    _, own_script, own_region = _maximized(candidate)
    home = _maximized(language)[2]
    kin = candidate in _kin(wanted) or wanted in _kin(candidate) or bool(_kin(wanted) & _kin(candidate))
    return (1, own_script != script, "-" in candidate, not kin, own_region != home)


def nearest_tag(wanted: str, have: Iterable[str]) -> str | None:
    """Of the normalised tags ``have``, the one in ``wanted``'s language a reader of it reads best
    (:func:`language_rank`, then the alphabet); None when none is in their language."""
    same = [c for c in have if language_rank(wanted, c) < (9,)]
    return min(same, key=lambda c: (language_rank(wanted, c), c)) if same else None


def localized(texts: Mapping[str, str], locale: str | None) -> str | None:
    """The text for a reader of ``locale`` from texts by locale or language: their own, else the nearest of their
    language (:func:`nearest_tag`); None when there is none."""
    if not locale or not texts:
        return None
    wanted = locale.replace("_", "-").lower()
    by_key = {str(k).replace("_", "-").lower(): v for k, v in texts.items()}
    if wanted in by_key:
        return by_key[wanted]
    nearest = nearest_tag(wanted, by_key)
    return by_key[nearest] if nearest is not None else None
