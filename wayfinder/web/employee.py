"""Pages for employees, reached by the signed link in every message (no sign-in)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from wayfinder.catalog.applies import resource_title, what_applies
from wayfinder.connectors.links import LinkClaims, LinkError
from wayfinder.journeys.events import EARLIEST, LATEST, iso
from wayfinder.journeys.i18n import Reader, reading_locale
from wayfinder.journeys.profile import LOCALE, Profile, name_of
from wayfinder.journeys.records import Message
from wayfinder.vocabulary import CHANNELS
from wayfinder.web import events as ev
from wayfinder.web.context import EMPLOYEE_PAGES, Web, web
from wayfinder.web.explain import (
    FOR_SOMEONE_ELSE,
    day_of,
    event_label,
    explanation_as_sent,
    fields_used,
    trigger_of,
    why_chosen,
)
from wayfinder.web.i18n import language_of, translator
from wayfinder.web.security import check_csrf, link_csrf, read_form
from wayfinder.web.words import CHANNELS as CHANNEL_NAMES
from wayfinder.web.words import PROFILE_VALUES

_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
# the days whose midnight, in any timezone, is an instant the engine schedules (EARLIEST..LATEST in UTC)
FIRST_PAUSE, LAST_PAUSE = EARLIEST + timedelta(days=1), LATEST


LINK_INVALID = "This link is not valid: it was changed or cut short. Open the link in a more recent message."
LINK_EXPIRED = "This link has expired. Open the link in a more recent message."


def _claims(request: Request) -> tuple[Web, LinkClaims, str]:
    w = web(request)
    token = request.query_params.get("t", "")
    try:
        claims = w.links.verify(token, w.now())
    except LinkError as e:  # said in words the pages' catalogs have (the error page is in the reader's language)
        raise HTTPException(403, LINK_EXPIRED if e.reason == "expired" else LINK_INVALID) from e
    if claims.recipient_id in w.backend.store.erased:  # nothing kept about them: nothing to show, nothing taken
        raise HTTPException(410, "Wayfinder keeps nothing about you any more (your data was erased), so there is "
                            "nothing to show or change here.")
    return w, claims, token


def _zone(w: Web, person_id: str) -> ZoneInfo:
    """The person's timezone: a pause's date is midnight there (and shown as that date again)."""
    profile = w.backend.store.profiles.get(person_id)
    return ZoneInfo(profile.timezone if profile else "UTC")


def _local_day(instant: str | None, zone: ZoneInfo) -> str:
    """A pause's instant as the date the person picked (its day in their timezone), or ''."""
    if not instant:
        return ""
    return datetime.fromisoformat(instant.replace("Z", "+00:00")).astimezone(zone).date().isoformat()


def _csrf(w: Web, token: str) -> str:
    return link_csrf(w.settings.session_secret.get_secret_value(), token)


def _topics(w: Web) -> list[str]:
    return sorted(w.backend.world.defs.catalog.topics)


def _reader(w: Web, recipient_id: str) -> tuple[str | None, dict[str, Any]]:
    """The reader's locale, and the language and gettext the pages they see are rendered with."""
    profile = w.backend.store.profiles.get(recipient_id)
    locale = profile.locale if profile is not None else None
    lang = language_of(locale)
    return locale, {"lang": lang, "_": translator(lang)}


def _languages(w: Web, current: str | None, lang: str) -> list[tuple[str, str]]:
    """The choices of the language field as ``(value, name in the reader's language)``: English and every locale
    a bundled template is written in (the form was a free text field that took "Klingon" as readily as "de-DE");
    the person's own choice is kept as a choice when it is none of them ("en-IN"). "Not set" comes first, chosen or
    not: it sends ``locale: null``, which takes their choice away (SPEC §11: it replaces the preference), so the HR
    system's language (named under the list: :func:`_given_language`) is the one in force again, else each message's
    default (it was offered only while none was set: a language once chosen could not be taken back)."""
    defs = w.backend.world.defs
    written = {loc for t in (*defs.templates.values(), *defs.inline.values()) for loc in t.locales}
    tags = {_tag(loc) for loc in ("en", *written)}
    if current:
        tags.add(current)
    choices = sorted(((tag, _language_name(tag, lang)) for tag in tags), key=lambda c: c[1].casefold())
    return [("", translator(lang)("Not set")), *choices]


def _given_language(w: Web, person_id: str, lang: str) -> str | None:
    """The HR system's language for the person, named in the reader's language, said under the language list (the
    option "Not set" named it, "Not set: Deutsch (Deutschland) (de-DE), from the HR system", which the list cut
    short on a desktop screen)."""
    profile = w.backend.store.profiles.get(person_id)
    given = profile.given_locale if profile is not None else None
    return _language_name(given, lang) if given else None


def _tag(locale: str) -> str:
    """A template's locale key as BCP 47 writes it ("de-de" -> "de-DE")."""
    try:
        return str(Locale.parse(locale, sep="-" if "-" in locale else "_")).replace("_", "-")
    except (ValueError, UnknownLocaleError):
        return locale


def _language_name(tag: str, lang: str) -> str:
    """"Deutsch (Deutschland)", "allemand (Allemagne)": a locale named in the reader's language, with its tag when
    Babel does not know it."""
    try:
        name = Locale.parse(tag, sep="-" if "-" in tag else "_").get_display_name(lang)
    except (ValueError, UnknownLocaleError):
        name = None
    return f"{name} ({tag})" if name else tag


def _page(request: Request, w: Web, claims: LinkClaims, token: str, *, saved: str | None = None,
          problem: str | None = None, problem_field: str | None = None, status: int = 200,
          typed: tuple[dict[str, Any], str] | None = None, what: list[str] | None = None) -> Response:
    """The preferences page; ``typed``: what a refused form said (the choices and the pause date as written), shown
    again as the person left them (they were put back to what was saved, ticks and all). ``problem_field``: the
    field the problem is about, said again beside it and its input marked invalid (a screen reader heard it once,
    above the form, and nothing at the field)."""
    prefs = w.backend.store.preferences(claims.recipient_id) if typed is None else typed[0]
    locale, words = _reader(w, claims.recipient_id)
    catalog = w.backend.world.defs.catalog
    topics = sorted(((t, catalog.topics[t].title_for(locale)) for t in _topics(w)), key=lambda p: p[1].casefold())
    return w.render(request, "preferences.html", status=status, prefs=prefs, topics=topics,
                    channels=[(c, CHANNEL_NAMES.get(c, c)) for c in CHANNELS],
                    paused_day=(typed[1] if typed is not None
                                else _local_day(prefs["paused_until"], _zone(w, claims.recipient_id))),
                    token=token, csrf=_csrf(w, token), saved=saved, problem=problem, problem_field=problem_field,
                    languages=_languages(w, prefs["locale"], words["lang"]),
                    given_language=_given_language(w, claims.recipient_id, words["lang"]),
                    why=claims.message_id is not None, what=what or [], **words)


async def applies(request: Request) -> Response:
    """What applies to me?: every resource the catalog offers this person, by topic, with why."""
    w, claims, token = _claims(request)
    profile = w.backend.store.profiles.get(claims.recipient_id) or Profile(id=claims.recipient_id)
    catalog = w.backend.world.defs.catalog
    offers, _ = what_applies(catalog, profile.view(), opt_out_topics=profile.opt_out_topics)
    locale, words = _reader(w, claims.recipient_id)
    return w.render(request, "applies.html", offers=offers, token=token,
                    titles={o.topic: catalog.topics[o.topic].title_for(locale) for o in offers},
                    resource_title=lambda r: resource_title(r, locale),
                    # as the why page names them: an English reader read "your work_mode is hybrid"
                    field_label=lambda name: _field_label(name, words["_"]),
                    field_value=lambda name, value: _field_value(name, value, words["_"]), **words)


async def preferences(request: Request) -> Response:
    w, claims, token = _claims(request)
    if request.method != "POST":  # GET, and HEAD (a link checker's), which Starlette lets in with GET: safe, so read
        return _page(request, w, claims, token)
    form = await read_form(request)
    check_csrf(_csrf(w, token), form)
    store = w.backend.store
    current = store.preferences(claims.recipient_id)
    zone = _zone(w, claims.recipient_id)
    try:
        wanted = _read_form(form, _topics(w), zone, current["paused_until"],
                            today=w.backend.now().astimezone(zone).date())
    except _Refused as e:  # said on the page, with the form as they filled it, in the reader's language
        return _page(request, w, claims, token, problem=str(e), problem_field=e.field, status=400,
                     typed=_as_typed(form, _topics(w)))
    changes = {k: v for k, v in wanted.items() if v != current.get(k)}
    if not changes:
        return _page(request, w, claims, token, saved="Nothing changed.")
    _count_opt_outs(w, current, changes)
    event = ev.preferences_changed(employee_id=claims.recipient_id, changes=changes,
                                   at=w.backend.now(not_before=_read_after(w, claims)),
                                   after=store.last_about(claims.recipient_id))
    await run_in_threadpool(w.backend.record, event)
    return _page(request, w, claims, token, saved="Saved. Your choices apply to the next messages.",
                 what=_what_changed(w, claims.recipient_id, current, changes))


def _what_changed(w: Web, person_id: str, current: dict[str, Any], changes: dict[str, Any]) -> list[str]:
    """What a save changed, one sentence a preference, in the reader's language (the page said "Saved." alone, and
    the reader had to find their change among the ticks; decided 2026-12-06)."""
    locale, words = _reader(w, person_id)
    say = words["_"]
    said: list[str] = []
    if "opt_out_channels" in changes:
        before, after = set(current.get("opt_out_channels") or []), set(changes["opt_out_channels"])
        said += [say("{channel}: you get no messages there any more.", channel=say(CHANNEL_NAMES.get(c, c)))
                 for c in CHANNELS if c in after - before]
        said += [say("{channel}: you get messages there again.", channel=say(CHANNEL_NAMES.get(c, c)))
                 for c in CHANNELS if c in before - after]
    if "opt_out_topics" in changes:
        topics = w.backend.world.defs.catalog.topics
        before, after = set(current.get("opt_out_topics") or []), set(changes["opt_out_topics"])

        def titles(ids: set[str]) -> str:
            return ", ".join(sorted((topics[t].title_for(locale) if t in topics else t for t in ids), key=str.casefold))
        if after - before:
            said.append(say("No more messages about: {topics}.", topics=titles(after - before)))
        if before - after:
            said.append(say("Messages about these topics again: {topics}.", topics=titles(before - after)))
    if "quiet_hours" in changes:
        quiet = changes["quiet_hours"]
        start, _, end = (quiet or "").partition("-")
        said.append(say("Quiet hours: from {start} to {end}, your local time.", start=start, end=end) if quiet
                    else say("You have no quiet hours of your own any more."))
    if "locale" in changes:
        chosen = changes["locale"]
        said.append(say("Language: {language}.", language=_language_name(chosen, words["lang"])) if chosen
                    else say("Language: not set, so the HR system's language is used."))
    if "paused_until" in changes:
        pause = changes["paused_until"]
        day = _local_day(pause, _zone(w, person_id))
        said.append(say("All messages are paused until {day}.", day=Reader(reading_locale(locale, words["lang"]), None)
                        .date(date.fromisoformat(day))) if pause else say("The pause is lifted: messages come again."))
    return said


def _as_typed(form: Any, topics: list[str]) -> tuple[dict[str, Any], str]:
    """A refused form's choices as the page shows preferences, and its pause date as written."""
    start, end = str(form.get("quiet_start") or "")[:10], str(form.get("quiet_end") or "")[:10]
    return ({"opt_out_channels": [c for c in CHANNELS if form.get(f"channel_{c}") != "on"],
             "opt_out_topics": [t for t in topics if form.get(f"topic_{t}") == "on"],
             "quiet_hours": f"{start}-{end}" if start or end else None,
             "locale": str(form.get("locale") or "")[:35] or None, "paused_until": None},
            str(form.get("paused_until") or "")[:10])


class _Refused(ValueError):
    """A choice the form cannot take: the page says why and nothing is saved. ``field``: the form's field it is
    about (``quiet_hours``, ``locale``, ``paused_until``), where the page says it again and marks the input."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def _read_form(form: Any, topics: list[str], zone: ZoneInfo, paused_until: str | None, *,
               today: date) -> dict[str, Any]:
    """The preferences the form asks for; ``paused_until``: the pause in force, kept as it is when the form
    sends back the date it showed for it (an HRIS pause need not end at midnight). A new pause ends on a day after
    ``today`` (the reader's): one that ended already would hold nothing."""
    channels = [c for c in CHANNELS if form.get(f"channel_{c}") != "on"]
    out: dict[str, Any] = {"opt_out_channels": channels,
                           "opt_out_topics": [t for t in topics if form.get(f"topic_{t}") == "on"]}
    start, end = str(form.get("quiet_start") or ""), str(form.get("quiet_end") or "")
    if start or end:
        if not (_HHMM.fullmatch(start) and _HHMM.fullmatch(end)):
            msg = "Quiet hours need a start and an end as HH:MM (for example 20:00 and 08:00)."
            raise _Refused(msg, "quiet_hours")
        out["quiet_hours"] = f"{start}-{end}"
    else:
        out["quiet_hours"] = None
    locale = str(form.get("locale") or "").strip()
    if locale and not LOCALE.fullmatch(locale):  # as the engine takes it (en_GB from an HR system)
        msg = "Language must look like en, de-DE or pt-BR."
        raise _Refused(msg, "locale")
    out["locale"] = locale or None
    pause = str(form.get("paused_until") or "").strip()
    if pause:
        try:
            day = datetime.strptime(pause, "%Y-%m-%d").date()  # noqa: DTZ007 - made aware on the next line
        except ValueError as e:
            msg = "Pause until must be a date (YYYY-MM-DD)."
            raise _Refused(msg, "paused_until") from e
        if not FIRST_PAUSE <= day <= LAST_PAUSE:  # else an instant the engine refuses, or none at all
            # one text, so the reader's catalog has it (the dates filled in made it English on every page)
            msg = "Pause until must be a date between 1900 and 2199."
            raise _Refused(msg, "paused_until")
        kept = paused_until is not None and _local_day(paused_until, zone) == day.isoformat()
        if not kept and day <= today:
            msg = "Pause until must be a day after today. Leave it empty to get messages again."
            raise _Refused(msg, "paused_until")
        out["paused_until"] = paused_until if kept else iso(datetime.combine(day, time(0), tzinfo=zone))
    else:
        out["paused_until"] = None
    return out


def _read_after(w: Web, claims: LinkClaims) -> datetime | None:
    """A choice made from a message's link comes after the message went (its reader had it): never stamped before
    it, so a world whose clock stands still (``serve`` on a demo folder) does not apply an unsubscribe to the very
    message it came from, which went out of quiet hours later than the clock's end."""
    message = w.backend.store.messages.get(claims.message_id or "")
    return message.scheduled_for if message is not None and message.status in ("sent", "approved") else None


def _count_opt_outs(w: Web, current: dict[str, Any], changes: dict[str, Any]) -> None:
    for name, kind in (("opt_out_channels", "channel"), ("opt_out_topics", "topic")):
        for value in set(changes.get(name) or []) - set(current.get(name) or []):
            w.metrics.opt_outs.labels(kind, value).inc()


async def unsubscribe(request: Request) -> Response:
    """RFC 8058: a POST with ``List-Unsubscribe=One-Click`` stops email; GET shows a page with a button."""
    w, claims, token = _claims(request)
    if request.method != "POST":  # GET or HEAD: shows the button, changes nothing (a HEAD with the body unsubscribed)
        return w.render(request, "unsubscribe.html", token=token, csrf=_csrf(w, token), done=False,
                        **_reader(w, claims.recipient_id)[1])
    form = await read_form(request)
    if form.get("List-Unsubscribe") != "One-Click":
        raise HTTPException(400, "A one-click unsubscribe sends List-Unsubscribe=One-Click (RFC 8058).")
    if form.get("csrf") is not None:  # from our own page; a mail client's POST has no csrf field
        check_csrf(_csrf(w, token), form)
    store = w.backend.store
    current = store.preferences(claims.recipient_id)
    if "email" not in current["opt_out_channels"]:
        changes = {"opt_out_channels": sorted({*current["opt_out_channels"], "email"})}
        _count_opt_outs(w, current, changes)
        event = ev.preferences_changed(employee_id=claims.recipient_id, changes=changes,
                                       at=w.backend.now(not_before=_read_after(w, claims)),
                                       after=store.last_about(claims.recipient_id))
        await run_in_threadpool(w.backend.record, event)
    if "text/html" in request.headers.get("accept", ""):
        return w.render(request, "unsubscribe.html", token=token, csrf=_csrf(w, token), done=True,
                        **_reader(w, claims.recipient_id)[1])
    return PlainTextResponse("You will get no more email from Wayfinder.")


def _field_label(field: str, say: Any) -> str:
    """A profile field as the reader says it ("your country", "dein Land"); English without a catalog entry is the
    field's name in words ("given name"), not the name the data carries."""
    label = str(say(field))
    return label if label != field else field.removesuffix("_id").replace("_", " ")


def _field_value(field: str, value: Any, say: Any) -> str:
    """A profile value as the reader says it: an enumerated one in words, anything else as it is."""
    words = PROFILE_VALUES.get(field, {}).get(str(value))
    return str(say(words)) if words is not None else str(value)


async def why(request: Request) -> Response:
    w, claims, token = _claims(request)
    store = w.backend.store
    message = store.messages.get(claims.message_id or "")
    if message is None or message.mailbox != claims.recipient_id:
        raise HTTPException(404, "This link does not name a message of yours.")
    defs = w.backend.world.defs
    locale, words = _reader(w, claims.recipient_id)
    # the version the message was made by (an enrollment keeps the version it started with)
    journey = defs.journeys.get((message.journey_id, message.journey_version)) or defs.current().get(message.journey_id)
    rules = [repr(r.eligibility) for rid in message.resources if (r := defs.catalog.resources.get(rid))]
    trigger = trigger_of(w.backend.trigger_events, message, journey)
    # the day it happened, as its data says (a return on Monday, recorded the Friday before); else the day it was
    # recorded, in the reader's timezone (the page said the record's day for every event)
    day = (day_of(trigger) or trigger.time.astimezone(_zone(w, claims.recipient_id)).date()) if trigger else None
    say = words["_"]
    about_reader = message.employee_id == claims.recipient_id
    source = ((journey.localized_name(words["lang"]) if journey else message.journey_id) if about_reader
              else _about_whom(w, message, say))
    return w.render(request, "why.html", m=message, source=source, token=token,
                    fields=[_field_label(f, say) for f in fields_used(journey, message, defs, rules)],
                    started_by=event_label(journey.trigger.event, say, about_reader=about_reader) if journey else None,
                    # as the messages write dates: the reader's own locale where it is the page's language ("9 March
                    # 2026" to en-GB, as their explanation above it says; the page said "March 9, 2026")
                    started_day=day, started_on=Reader(reading_locale(locale, words["lang"]), None).date(day)
                    if day else None,
                    explanation=explanation_as_sent(message),
                    # why each resource, from the reasons the ranking gave when the message was made (its record)
                    chosen=why_chosen(message, journey, defs.catalog, locale, say, about_reader=about_reader),
                    for_someone_else=None if about_reader else say(FOR_SOMEONE_ELSE),
                    topics=[defs.catalog.topics[t].title_for(locale) if t in defs.catalog.topics else t
                            for t in message.topics], **words)


_ABOUT_WHOM = {"manager": "Messages about {person}, to you as their manager",
               "hr_partner": "Messages about {person}, to you as their HR partner"}


def _about_whom(w: Web, message: Message, say: Any) -> str:
    """What a message about someone else came from, as its reader (their manager or HR partner) reads it: whom it is
    about and as whom they got it. Never the journey's name: written to the employee ("Your first 90 days"), it may
    also say what their explanation does not ("Return from medical leave", "Welcome to parenthood")."""
    profile = w.backend.store.profiles.get(message.employee_id)
    person = (name_of(profile.fields) if profile is not None else None) or say("a colleague")
    return str(say(_ABOUT_WHOM.get(message.recipient_role, _ABOUT_WHOM["manager"]), person=person))


ROUTES = [
    Route(EMPLOYEE_PAGES, preferences, methods=["GET", "POST"]),
    Route(f"{EMPLOYEE_PAGES}/unsubscribe", unsubscribe, methods=["GET", "POST"]),
    Route(f"{EMPLOYEE_PAGES}/why", why),
    Route(f"{EMPLOYEE_PAGES}/resources", applies),
]
