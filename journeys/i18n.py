"""The recipient's language: gettext catalogs for the words Wayfinder adds to every message (the explanation,
the footer, the preferences link), and Babel's formatting of dates, times and numbers.

The catalogs are the ``.po`` files under ``journeys/locale/<language>/LC_MESSAGES/wayfinder.po``, read with
Babel's ``pofile`` reader when first needed (no compile step, so an editable install and a wheel behave
alike). A locale without a catalog gets the English text; formatting still follows the locale.
"""

from __future__ import annotations

import decimal
import functools
import io
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import pass_context
from jinja2.runtime import Context

from wayfinder.journeys._time import day_of
from wayfinder.vocabulary import language_tag, parse_instant

__all__ = ["FILTERS", "LOCALE_DIR", "Reader", "gettext", "languages", "reader", "reading", "reading_locale",
           "timezone_of"]

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "wayfinder"
DEFAULT_LOCALE = "en"


def _language(locale: str | None) -> str:
    return (locale or DEFAULT_LOCALE).replace("_", "-").split("-")[0].lower()


def languages() -> list[str]:
    """The languages that have a catalog."""
    return sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


@functools.lru_cache(maxsize=64)
def po_translations(locale_dir: Path, domain: str, language: str) -> NullTranslations:
    """The ``.po`` catalog ``locale_dir/<language>/LC_MESSAGES/<domain>.po``, compiled in memory (no ``.mo``
    files to build or ship); no catalog translates nothing."""
    path = locale_dir / language / "LC_MESSAGES" / f"{domain}.po"
    if not path.is_file():
        return NullTranslations()
    with path.open("rb") as f:
        catalog = read_po(f, locale=language, domain=domain)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=domain)


@functools.cache
def _catalogs() -> frozenset[str]:
    return frozenset(languages())


def _translations(language: str) -> NullTranslations:
    """The catalog of ``language``; none (English) for a language without one, never a path built from it."""
    return po_translations(LOCALE_DIR, DOMAIN, language) if language in _catalogs() else NullTranslations()


def worded(locale: str | None) -> str | None:
    """``locale`` when Wayfinder's own words can be said in its language (English, or a language with a catalog),
    else None (English, the default locale): a sentence of Wayfinder's formats its dates in the language its words
    are in ("on March 1, 2026", not "on 1 مارس 2026" inside an English sentence)."""
    language = _language(locale)
    return locale if language == "en" or language in _catalogs() else None


def gettext(locale: str | None, message: str, **values: Any) -> str:
    """``message`` in the language of ``locale`` (English when there is no catalog), with ``values`` filled in."""
    text = _translated(_language(locale), message)
    return text.format(**values) if values else text


@functools.lru_cache(maxsize=4_096)
def _translated(language: str, message: str) -> str:
    """A message id in ``language``, kept: the catalogs do not change once read."""
    return _translations(language).gettext(message)


# -- formatting ---------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=64)
def _babel_locale(locale: str | None) -> Locale:
    for candidate in (language_tag(locale or "").replace("-", "_"), _language(locale)):
        try:
            return Locale.parse(candidate)
        except (UnknownLocaleError, ValueError):
            continue
    return Locale.parse(DEFAULT_LOCALE)


@functools.lru_cache(maxsize=256)
def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


class Reader:
    """How one recipient reads dates, times and numbers: their locale and timezone."""

    __slots__ = ("locale", "zone")

    def __init__(self, locale: str | None, timezone: str | None) -> None:
        self.locale = _babel_locale(locale)
        self.zone = _zone(timezone)

    # A pattern Babel cannot write in the reader's locale falls back to the locale's own form (``long`` dates,
    # ``medium`` date and time, ``short`` times), then to the value as it came: `h:mm b` ("noon", "midnight") is
    # written in English and German but raises in Persian, Bulgarian, Bengali and 800 more locales, so a message
    # that previewed well failed (render_error) for those readers alone.
    def date(self, value: Any, format: str = "long") -> str:
        day = day_of(value, self.zone)
        if day is None:
            return str(value)
        try:
            if isinstance(format, str) and len(format) <= _CACHED_PATTERN:
                return _date_text(day, format, self.locale)
            return dates.format_date(day, _first_of_month(format, self.locale, day), locale=self.locale)
        except _UNWRITTEN:
            return day.isoformat() if format == "long" else self.date(day)

    def datetime(self, value: Any, format: str = "medium") -> str:
        instant = _as_datetime(value)
        if instant is None:
            return self.date(value)
        day = day_of(instant, self.zone)
        if day is None:  # past the calendar's edge where the reader is: as it came
            return str(value)
        try:
            pattern = _first_of_month(format, self.locale, day, with_time=True)
            return dates.format_datetime(instant, pattern, tzinfo=self.zone, locale=self.locale)
        except _UNWRITTEN:
            return str(value) if format == "medium" else self.datetime(instant)

    def time(self, value: Any, format: str = "short") -> str:
        instant = _as_datetime(value)
        try:
            if instant is not None:
                if day_of(instant, self.zone) is None:  # past the calendar's edge where the reader is: as it came
                    return str(value)
                return dates.format_time(instant, format, tzinfo=self.zone, locale=self.locale)
            if isinstance(value, str):
                return dates.format_time(time.fromisoformat(value), format, locale=self.locale)
        except _UNWRITTEN:
            return str(value) if format == "short" else self.time(value)
        return str(value)

    def number(self, value: Any) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            # Babel rounds in the current decimal context, 28 digits by default: from 1e25 up (a value an event may
            # carry, or a template work out) it raised InvalidOperation and the message failed (render_error)
            with decimal.localcontext() as context:
                context.prec = _NUMBER_DIGITS
                return numbers.format_decimal(value, locale=self.locale)
        return str(value)


_NUMBER_DIGITS = 400
"""Digits ``format_number`` works with: every float (at most 309 before the point) and every integer an event may
carry (at most 308 digits: README "Hostile and broken inputs") is written whole."""

# What Babel raises for a pattern it cannot write: a day period this locale does not name (ValueError), a field
# it has no data for (KeyError, IndexError), a time field in a date's pattern (AttributeError, TypeError).
_UNWRITTEN = (ValueError, KeyError, IndexError, AttributeError, TypeError)


def load_locales(locales: Iterable[str | None]) -> None:
    """Read Babel's data and the message catalog for each of ``locales`` now, not on the first message written in
    it (tens of milliseconds each; README "Warm at start-up")."""
    for locale in locales:
        Reader(locale, None).datetime(datetime(2000, 1, 1, tzinfo=UTC))
        _translations(_language(locale))


_CACHED_PATTERN = 64
"""Only a short date pattern (``medium``, ``d MMMM y``) is a key of the cache below: a template's own long pattern
would keep its text alive across renders (thousands of them, megabytes each)."""


@functools.lru_cache(maxsize=8_192)
def _date_text(day: date, format: str, locale: Locale) -> str:
    """A day as Babel writes it, kept: Babel looks the pattern up and formats it anew on every call, and a
    run writes the same few days (a start date, a roadmap's days) in the same few locales many times."""
    return dates.format_date(day, _first_of_month(format, locale, day), locale=locale)


_Named = Literal["full", "long", "medium", "short"]
_NAMED: dict[str, _Named] = {"full": "full", "long": "long", "medium": "medium", "short": "short"}
_DAY = ("field", ("d", 1))  # a day of the month in as few figures as it takes
_MONTH_NAMES = {("M", 3), ("M", 4), ("L", 3), ("L", 4)}  # "mars", "mars" in full; not "03"


def _first_of_month(format: str, locale: Locale, day: date, *, with_time: bool = False) -> str:
    """The pattern to write ``day`` with: French writes the first of a month "1er mars" ("le 1er mars 2026"), where
    Babel (CLDR) writes "1 mars". On the 1st, in French, a day of the month in one figure (``d``) before the month's
    name (``MMM``, ``MMMM``) is followed by "er"; a date in figures ("01/03/2026") and every other day and language
    are left as they are. A named format (``long``) is first spelt out as Babel reads it, with its time
    (``with_time``) joined to it as ``format_datetime`` joins the two."""
    if not isinstance(format, str) or locale.language != "fr" or day.day != 1:
        return format
    named = _NAMED.get(format)
    pattern = format if named is None else str(dates.get_date_format(named, locale=locale).pattern)
    if named is not None and with_time:
        clock = str(dates.get_time_format(named, locale=locale).pattern)
        pattern = str(dates.get_datetime_format(named, locale=locale)).replace("{0}", clock).replace("{1}", pattern)
    tokens = dates.tokenize_pattern(pattern)
    for i, token in enumerate(tokens):
        if token == _DAY and _month_name_follows(tokens[i + 1:]):
            return dates.untokenize_pattern([*tokens[:i + 1], ("chars", "er"), *tokens[i + 1:]])
    return format


def _month_name_follows(tokens: list[tuple[str, str | tuple[str, int]]]) -> bool:
    """Whether the pattern's next field, past a space, is a month's name."""
    if tokens and tokens[0][0] == "chars" and not str(tokens[0][1]).strip():
        tokens = tokens[1:]
    return bool(tokens) and tokens[0][0] == "field" and tokens[0][1] in _MONTH_NAMES


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value[10:11] in ("T", "t"):
        try:
            return parse_instant(value)
        except ValueError:
            return None
    return None


_reader: ContextVar[Reader] = ContextVar("wayfinder_reader")


def reader() -> Reader:
    """The reader of the message being rendered (English and UTC outside a render)."""
    found = _reader.get(None)
    return found if found is not None else Reader(None, None)


class reading:
    """Render for this reader: the template filters below format for them."""

    def __init__(self, locale: str | None, timezone: str | None) -> None:
        self.reader = Reader(locale, timezone)
        self.token: Any = None

    def __enter__(self) -> Reader:
        self.token = _reader.set(self.reader)
        return self.reader

    def __exit__(self, *exc: object) -> None:
        _reader.reset(self.token)


def timezone_of(context: Mapping[str, Any]) -> str | None:
    """The timezone a message is read in: the recipient's, else the employee's."""
    for who in ("recipient", "employee"):
        person = context.get(who)
        if isinstance(person, Mapping) and isinstance(person.get("timezone"), str):
            return str(person["timezone"])
    return None


def reading_locale(recipient: str | None, text_locale: str | None) -> str:
    """The locale to format and add Wayfinder's words in, for text written in ``text_locale`` (None: the
    template's default text, English): the recipient's own when it is of the text's language (``en-GB`` dates
    for British readers), else the text's, so a message never mixes two languages."""
    text_language = _language(text_locale)
    if recipient and _language(recipient) == text_language:
        return recipient
    return text_locale or DEFAULT_LOCALE


# Each filter takes the render's context (unused: the reader is the render's, above) only so that Jinja does not
# work out a filter over a constant when it compiles the template, where no one reads it: `{{ "2026-12-15" |
# format_date }}` was written once, in English ("December 15, 2026") inside every German or Arabic text.
@pass_context
def _format_date(_: Context, value: Any, format: str = "long") -> str:
    return reader().date(value, format)


@pass_context
def _format_datetime(_: Context, value: Any, format: str = "medium") -> str:
    return reader().datetime(value, format)


@pass_context
def _format_time(_: Context, value: Any, format: str = "short") -> str:
    return reader().time(value, format)


@pass_context
def _format_number(_: Context, value: Any) -> str:
    return reader().number(value)


# Template filters: {{ trigger.data.start_date | format_date }}, {{ event.time | format_datetime('short') }}
FILTERS: dict[str, Any] = {"format_date": _format_date, "format_datetime": _format_datetime,
                           "format_time": _format_time, "format_number": _format_number}
