"""The employee profile (SPEC §3) and how events update it."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timezone
from importlib import resources
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from wayfinder.journeys._time import parse_window, to_instant, zone
from wayfinder.vocabulary import EventType, iso, parse_instant

_QUIET = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
LOCALE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$")  # a profile's locale: BCP 47, or en_GB as HR writes it


@functools.cache
def _tzdata_list(name: str) -> frozenset[str]:
    """The first column of one of the tzdata package's lists (``zones``: IANA's zone names, links included;
    ``zoneinfo/iso3166.tab``: ISO 3166-1 alpha-2 codes); empty when the package has no such file."""
    try:
        text = resources.files("tzdata").joinpath(*name.split("/")).read_text(encoding="utf-8")
    except (ModuleNotFoundError, OSError):
        return frozenset()
    return frozenset(line.split("\t")[0].strip() for line in text.splitlines() if line.strip()
                     and not line.startswith("#"))


# Files a zoneinfo search path may hold that are no zone of IANA's: the host's own zone, the placeholder zone,
# and the copies with leap seconds ("right/") or under another tree ("posix/"), whose clocks read differently.
_NOT_ZONES = ("localtime", "Factory", "posixrules")


def _timezone(value: str) -> str:
    zones = _tzdata_list("zones")
    named = value in zones if zones else not (value in _NOT_ZONES or value.startswith(("posix/", "right/")))
    try:
        if not named or value == "Factory":
            raise ValueError(value)
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as e:
        msg = "not an IANA timezone (e.g. Europe/Berlin)"
        raise ValueError(msg) from e
    return value


def _country(value: str) -> str:
    codes = _tzdata_list("zoneinfo/iso3166.tab")
    if not re.fullmatch(r"[A-Z]{2}", value) or (codes and value not in codes):  # one message for "Germany" and "XX"
        msg = "not an ISO 3166-1 alpha-2 country code (e.g. DE, GB)"
        raise ValueError(msg)
    return value


def _quiet(value: str) -> str:
    if not _QUIET.match(value):
        msg = 'quiet hours look like "20:00-08:00"'
        raise ValueError(msg)
    return value


Timezone = Annotated[str, AfterValidator(_timezone)]
Country = Annotated[str, AfterValidator(_country)]
Locale = Annotated[str, Field(pattern=LOCALE.pattern)]
QuietHours = Annotated[str, AfterValidator(_quiet)]


RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")


def rfc3339_text(value: Any) -> Any:
    """SPEC §2: ``time`` is RFC 3339 with an offset, as text: not a number, not without seconds or the offset's
    colon (which a lenient parser would take). Text that is one is read by the standard library, into its own
    ``timezone`` (see :func:`stdlib_offset`); text it cannot read (``t`` and ``z`` in lower case, a 30th of
    February) or reads where pydantic refuses (an offset of ``+00:60``) goes on to pydantic, whose message names
    the problem."""
    if isinstance(value, str):
        if not RFC3339.fullmatch(value):
            msg = "not an RFC 3339 time with seconds and an offset (such as 2026-03-02T09:15:00Z)"
            raise ValueError(msg)
        if value[-1] in "Zz" or value[-2] < "6":  # the standard library reads an offset's minutes past 59 as hours
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                pass
        if value[17:19] == "60":  # RFC 3339 allows it; no clock here has one (pydantic said "extra characters")
            msg = "a leap second (:60) cannot be kept; write :59"
            raise ValueError(msg)
        if value[-1] not in "Zz" and (int(value[-5:-3]) > 23 or int(value[-2:]) > 59):
            msg = "the offset is out of range (from -23:59 to +23:59)"
            raise ValueError(msg)
        return value
    if not isinstance(value, datetime):
        msg = "an RFC 3339 time is text (such as \"2026-03-02T09:15:00Z\"), not a number"
        raise ValueError(msg)
    return value


def stdlib_offset(value: datetime) -> datetime:
    """The same instant and offset with the standard library's ``timezone``: pydantic's own offset type is a
    call into Rust on every comparison and conversion (about 20 times slower), and the core compares an
    event's time many times."""
    if type(value.tzinfo) is timezone:
        return value
    offset = value.utcoffset()
    return value.replace(tzinfo=UTC if not offset else timezone(offset)) if offset is not None else value


RfcInstant = Annotated[AwareDatetime, BeforeValidator(rfc3339_text), AfterValidator(stdlib_offset)]
"""An instant as SPEC writes one: RFC 3339 text with seconds and an offset (an event's ``time``, ``paused_until``)."""


FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def date_text(value: Any) -> Any:
    """SPEC's dates are full dates as text (``2026-03-01``): not a number (which pydantic reads as a Unix time) and
    not a timestamp, with or without an offset. The engine keeps an event's data as written and computes its waits
    from it, so a date it could not read there was accepted here and then failed the journey."""
    if (isinstance(value, str) and FULL_DATE.fullmatch(value)) or (isinstance(value, date)
                                                                  and not isinstance(value, datetime)):
        return value
    raise ValueError(_not_a_date(value))


_DATE_AND_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]")


def _not_a_date(value: Any) -> str:
    """What is wrong with a value given for a date, without the value (it may be a person's birth or leave)."""
    if isinstance(value, datetime) or (isinstance(value, str) and _DATE_AND_TIME.match(value)):
        return "a date is text such as \"2026-03-01\", without a time"
    if isinstance(value, str):
        return "a date is text such as \"2026-03-01\"; this text is not an ISO date (YYYY-MM-DD)"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a date is text such as \"2026-03-01\", not a number"
    return "a date is text such as \"2026-03-01\""


DateText = Annotated[date, BeforeValidator(date_text)]
"""A date as SPEC writes one (``start_date``, a leave's dates, ``date``): text, ``YYYY-MM-DD``."""


class Preferences(BaseModel):
    model_config = ConfigDict(extra="allow")

    opt_out_channels: list[str] = Field(default_factory=list)
    opt_out_topics: list[str] = Field(default_factory=list)
    quiet_hours: QuietHours | None = None
    locale: Locale | None = None
    paused_until: RfcInstant | None = None


class ProfileUpdate(BaseModel):
    """The ``data`` of ``hris.employee.upserted``: any part of a profile; unknown fields are kept."""

    model_config = ConfigDict(extra="allow")

    id: str | None = None
    given_name: str | None = None
    preferred_name: str | None = None
    family_name: str | None = None
    email: str | None = None
    manager_id: str | None = None
    hr_partner_id: str | None = None
    department: str | None = None
    role: str | None = None
    job_level: str | int | None = None
    location: str | None = None
    country: Country | None = None
    timezone: Timezone | None = None
    locale: Locale | None = None
    employment_type: Literal["employee", "contractor", "intern"] | None = None
    work_mode: Literal["onsite", "hybrid", "remote"] | None = None
    start_date: DateText | None = None
    learning_style: Literal["visual", "reading", "hands_on", "social"] | None = None
    interests: list[str] | None = None
    skills: list[str] | None = None
    preferences: Preferences | None = None


KNOWN_FIELDS: tuple[str, ...] = tuple(name for name in ProfileUpdate.model_fields if name != "preferences")
"""The profile's fields (``preferences`` is kept apart; anything else an upsert brings is an attribute)."""


LEFT_AT = "left_at"
"""A profile field the engine keeps, no HR field (an upsert cannot set it): when the person's termination takes
effect (RFC 3339, UTC), set by ``hris.employee.terminated`` and taken away by a hire (README "Leavers")."""

RECIPIENT_FIELDS: tuple[str, ...] = (
    "given_name", "preferred_name", "family_name", "email", "locale", "timezone", "hr_partner_id", "manager_id",
    "department", "role", "job_level", "location", "country", "employment_type", "work_mode", "start_date", LEFT_AT)
"""What is known of a person when a message goes to them about someone else (``recipient.*`` for a manager or an
HR partner), in ``simulate`` and the worker alike: the worker shares these through its directory topic. Their
preferences come too; their interests, skills, learning style and attributes do not."""


class Profile(BaseModel):
    """What the engine knows of one person. Values are kept as they came (JSON types)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    fields: dict[str, Any] = Field(default_factory=dict)
    preferences: dict[str, Any] = Field(default_factory=dict)
    attributes: dict[str, Any] = Field(default_factory=dict)

    def get(self, name: str) -> Any:
        return self.fields.get(name)

    @property
    def zone_known(self) -> bool:
        """Whether the person has a zone, on file or their country's, rather than UTC for want of one."""
        return isinstance(self.fields.get("timezone"), str) or country_zone(self.fields.get("country")) is not None

    @property
    def timezone(self) -> str:
        """The person's IANA zone; without one, their country's only zone (as a relocation sets it, SPEC §3), else
        UTC (a person in Japan with no zone on file had quiet hours and waits in UTC: messages at 20:00)."""
        tz = self.fields.get("timezone")
        return tz if isinstance(tz, str) else country_zone(self.fields.get("country")) or "UTC"

    @property
    def locale(self) -> str | None:
        """The person's language: their own choice (``preferences.locale``: the preferences page, SPEC §11), else the
        HR system's ``locale``. The two are kept apart, so an upsert that brings the HR value again leaves the
        choice standing, and taking the choice away (``locale: null``) gives the HR value back."""
        return self.own_locale or self.given_locale

    @property
    def own_locale(self) -> str | None:
        """The language the person chose themselves, None while they have not (or took their choice back)."""
        value = self.preferences.get("locale")
        return value if isinstance(value, str) and value else None

    @property
    def given_locale(self) -> str | None:
        """The language the HR system gives for the person (the profile's ``locale``, SPEC §3)."""
        value = self.fields.get("locale")
        return value if isinstance(value, str) and value else None

    @property
    def opt_out_channels(self) -> list[str]:
        return list(self.preferences.get("opt_out_channels") or [])

    @property
    def opt_out_topics(self) -> list[str]:
        return list(self.preferences.get("opt_out_topics") or [])

    @property
    def quiet_hours(self) -> str | None:
        value = self.preferences.get("quiet_hours")
        return value if isinstance(value, str) else None

    @property
    def quiet_window(self) -> tuple[time, time] | None:
        """The person's own quiet hours as (start, end) times of day, for their mailbox; None without them."""
        quiet = self.quiet_hours
        return parse_window(quiet) if quiet else None

    def merge(self, data: dict[str, Any]) -> None:
        """Merge an upsert: known fields set, ``preferences`` merged, anything else kept as an attribute (an
        ``attributes`` object is merged into them: ``employee.attributes.x`` is what it names). A ``null`` takes a
        field or an attribute away, so ``has()`` is false for it again."""
        for key, value in data.items():
            if key == "id":
                continue
            if key == "preferences" and isinstance(value, dict):
                self.preferences.update(value)
            elif key in KNOWN_FIELDS:
                _set(self.fields, key, value)
            elif key == "attributes" and isinstance(value, dict):
                for name, item in value.items():
                    _set(self.attributes, str(name), item)
            else:
                _set(self.attributes, key, value)

    def view(self) -> dict[str, Any]:
        """The profile as expressions and templates see it."""
        out: dict[str, Any] = {"id": self.id, "interests": [], "skills": []}
        out.update(self.fields)
        if (locale := self.locale) is not None:
            out["locale"] = locale  # the one messages are written in (their own choice first), for rules and texts
        if not isinstance(out.get("timezone"), str) and (derived := country_zone(out.get("country"))) is not None:
            out["timezone"] = derived  # templates format times where the person is, as waits and quiet hours do
        # a preference set to null (an upsert's ``{"quiet_hours": null}``, SPEC §11's replacement with null) is none:
        # ``has()`` is false for it and the opt-out lists are empty, as for a field or an attribute taken away
        chosen = {key: value for key, value in self.preferences.items() if value is not None}
        out["preferences"] = {"opt_out_channels": [], "opt_out_topics": [], **chosen}
        out["attributes"] = dict(self.attributes)
        return out


class DetailsToCome(Profile):
    """A person a worker decides for by id alone, before its directory knows them (no recipient wait): their
    mailbox fills in their details when it acts, so the decision does not judge their address."""


# Which event fields update which profile fields, before journeys see the event (SPEC §3).
_UPDATES: dict[str, tuple[tuple[str, str], ...]] = {
    "hris.employee.hired": (("start_date", "start_date"), ("role", "role"), ("department", "department"),
                            ("location", "location"), ("manager_id", "manager_id")),
    "hris.job.changed": (("new_role", "role"), ("new_department", "department")),
    "hris.manager.changed": (("new_manager_id", "manager_id"),),
    "hris.employee.relocated": (("new_location", "location"), ("new_country", "country")),
}


_LEAVING = frozenset({EventType.TERMINATED.value, EventType.CORRECTION.value})  # they set or undo ``left_at``


def changes_profile(event_type: str) -> bool:
    """Whether :func:`apply_event` may change a profile for an event of this type (the others leave it as it is)."""
    return event_type == "hris.employee.upserted" or event_type in _UPDATES or event_type in _LEAVING


def apply_event(profile: Profile, event_type: str, data: dict[str, Any], at: datetime | None = None) -> None:
    """Update the profile from an event of a type the engine understands; ``at``: the event's time."""
    if event_type == "hris.employee.upserted":
        profile.merge(data)
        return
    if event_type == EventType.TERMINATED:
        _terminated(profile, data.get("date"), at)
        return
    if event_type == EventType.CORRECTION:
        _termination_corrected(profile, data, at)
        return
    if event_type == EventType.HIRED:
        profile.fields.pop(LEFT_AT, None)  # hired again: a recipient again
    if event_type == EventType.RELOCATED:
        _relocated(profile, data)
        return
    for source, target in _UPDATES.get(event_type, ()):
        value = data.get(source)
        if value is not None:
            profile.fields[target] = value


def _relocated(profile: Profile, data: dict[str, Any]) -> None:
    """SPEC §3: a move sets ``location`` and ``country``, and ``timezone`` from ``new_timezone``, else the new
    country's only zone; a country of several keeps the old zone until an upsert says which. The old zone may be
    one never on file, their old country's only zone (:attr:`Profile.timezone`): it is kept on file then, or it
    would follow the new country to UTC."""
    old_zone = profile.timezone if profile.zone_known else None
    for source, target in _UPDATES[EventType.RELOCATED.value]:
        value = data.get(source)
        if value is not None:
            profile.fields[target] = value
    zone_name = _valid_zone(data.get("new_timezone")) or country_zone(data.get("new_country"))
    if zone_name is None and data.get("new_country") is not None and "timezone" not in profile.fields:
        zone_name = old_zone
    if zone_name is not None:
        profile.fields["timezone"] = zone_name


def _terminated(profile: Profile, day: Any, at: datetime | None) -> None:
    """Note when the termination takes effect: the later of the event's time and the start of its ``date`` where
    the person is (a date is local midnight, as a wait's or a leave's), so one dated ahead takes effect then."""
    try:
        effective = to_instant(day, zone(profile.timezone))
    except ValueError:  # (SPEC §2 requires a date, and decoding checks it: an event made in code may lack one)
        effective = None
    candidates = [t for t in (effective, at) if t is not None]
    if candidates:
        profile.fields[LEFT_AT] = iso(max(candidates))


def _termination_corrected(profile: Profile, data: dict[str, Any], at: datetime | None) -> None:
    """A correction of the person's termination (``original_type``, as the import writes it for
    ``termination_rescinded`` and ``termination_date_corrected``): rescinded, they have not left; its date amended,
    they leave at the later of the correction's time and the new date (the termination's own time is not kept)."""
    if data.get("original_type") != EventType.TERMINATED or LEFT_AT not in profile.fields:
        return
    if data.get("action") == "rescind":
        del profile.fields[LEFT_AT]
        return
    changes = data.get("changes")
    change = changes.get("date") if isinstance(changes, dict) else None
    if isinstance(change, dict) and change.get("new") is not None:
        _terminated(profile, change["new"], at)


def leaving_at(profile: Profile | None) -> datetime | None:
    """When the person's termination takes effect (their ``left_at``), None while they have not left."""
    value = profile.fields.get(LEFT_AT) if profile is not None else None
    return parse_instant(value) if isinstance(value, str) else None


def gone_by(left_at: datetime | None, at: datetime) -> bool:
    """Whether a termination that takes effect at ``left_at`` (None: none) has by ``at``: the one rule for a person
    who has left, used where their profile is (:func:`left`) and where only that time is (their mailbox and digest
    box, README "Leavers")."""
    return left_at is not None and left_at <= at


def left(profile: Profile | None, at: datetime) -> bool:
    """Whether the person's termination has taken effect by ``at`` (and no hire came since): no recipient for a
    message to a manager or an HR partner, and no assignee for a task (README "Leavers")."""
    return gone_by(leaving_at(profile), at)


def present(profile: Profile | None, at: datetime) -> Profile | None:
    """``profile``, or None when that person has left by ``at`` (:func:`left`): as a person nobody has a profile
    for, they are ``no_recipient``."""
    return None if left(profile, at) else profile


def _valid_zone(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        _timezone(value)
    except ValueError:
        return None
    return value


# Zones whose clocks agree at every one of these instants count as one (Europe/Busingen is Germany's time).
_PROBES = tuple(datetime(year, month, 15, 12, tzinfo=UTC) for year in range(2024, 2031) for month in (1, 4, 7, 10))


@functools.lru_cache(maxsize=1)
def _zones_by_country() -> dict[str, list[str]]:
    """IANA's zone.tab: the zones of each country, the most populous area first."""
    out: dict[str, list[str]] = {}
    try:
        text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, OSError):
        return out
    for line in text.splitlines():
        if line and not line.startswith("#"):
            country, _coordinates, zone_name, *_ = line.split("\t")
            out.setdefault(country, []).append(zone_name)
    return out


@functools.lru_cache(maxsize=512)
def country_zone(country: Any) -> str | None:
    """The country's only timezone; None when it has several that tell different times (keep the old one)."""
    if not isinstance(country, str):
        return None
    zones = _zones_by_country().get(country.upper(), [])
    if not zones:
        return None
    clocks = {tuple(probe.astimezone(ZoneInfo(z)).utcoffset() for probe in _PROBES) for z in zones}
    return zones[0] if len(clocks) == 1 else None


def _set(part: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        part.pop(key, None)
    else:
        part[key] = value


def name_of(fields: Mapping[str, Any]) -> str | None:
    """What a person is called to others (a manager's explanation, a digest's greeting, the why page): their
    preferred name, else their given name; None when neither is on file."""
    name = fields.get("preferred_name") or fields.get("given_name")
    return str(name) if name else None


def as_recipient(profile: Profile) -> Profile:
    """The person as a message to them about someone else sees them (``RECIPIENT_FIELDS``)."""
    return Profile(id=profile.id, fields={f: profile.fields[f] for f in RECIPIENT_FIELDS if f in profile.fields},
                   preferences=profile.preferences)
