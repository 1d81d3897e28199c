"""Why a message was sent, in one sentence the recipient can read, in their language (SPEC §6, §9)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from wayfinder.journeys._time import zone
from wayfinder.journeys.events import DAY_FIELDS
from wayfinder.journeys.i18n import Reader, gettext, worded
from wayfinder.journeys.profile import name_of
from wayfinder.journeys.templates import RenderError
from wayfinder.vocabulary import EventType

if TYPE_CHECKING:
    from wayfinder.journeys.definitions import Definitions
    from wayfinder.journeys.model import Journey


# What happened, said to the employee ("your ...") and about them ("their ..."); English is the message id.
_SIMPLE: dict[str, tuple[str, str, str | None]] = {  # type -> (you, they, data field holding the date)
    EventType.HIRED: ("you are joining us{on}", "they are joining us{on}", DAY_FIELDS[EventType.HIRED]),
    EventType.STARTED: ("you started with us{on}", "they started with us{on}", DAY_FIELDS[EventType.STARTED]),
    EventType.MANAGER_CHANGED: ("your manager changed", "their manager changed", None),
    EventType.TASK_COMPLETED: ("you completed an onboarding task", "they completed an onboarding task", None),
    # said in words, not as "a change in your employee record (hris.employee.terminated)" (an audit, 2026-12-05)
    EventType.TERMINATED: ("your employment is ending{on}", "their employment is ending{on}",
                           DAY_FIELDS[EventType.TERMINATED]),
    EventType.UPSERTED: ("your employee record was updated", "their employee record was updated", None),
}
# A hire's first day, once it has come: said as a start (a first-week message said "you are joining us on" a day
# already past).
_STARTED = ("you started with us{on}", "they started with us{on}", DAY_FIELDS[EventType.HIRED])
_DEPENDENT = {
    "child": ("a new child was added to your family record{on}", "a new child was added to their family record{on}"),
    "spouse": ("a spouse was added to your family record{on}", "a spouse was added to their family record{on}"),
    "": ("a new dependent was added to your family record{on}",
         "a new dependent was added to their family record{on}"),
}
_LEAVE_WORDS = {"parental": "parental", "medical": "medical", "bereavement": "bereavement",
                "sabbatical": "sabbatical", "other": "other"}
_CHANGE_WORDS = {"promotion": "promotion", "transfer": "transfer", "demotion": "demotion"}

Phrase = Callable[[Mapping[str, Any], bool, str | None], str]


def _on(d: Mapping[str, Any], key: str | None, locale: str | None) -> str:
    """" on 3 March 2026" in the reader's language, for the ``{on}`` of a phrase (empty without a date)."""
    value = d.get(key) if key else None
    if not value:
        return ""
    return gettext(locale, " on {date}", date=Reader(locale, None).date(value))


# Said to someone else (a manager, an HR partner), a phrase names what kind of moment it was and when, never its
# details: not the kind of leave (a medical one is health data), the relationship of a dependent, the new role
# or the new location (SPEC §3: only what a journey, template or catalog rule reads may leave the engine).
def _dependent(d: Mapping[str, Any], you: bool, locale: str | None) -> str:
    forms = _DEPENDENT.get(str(d.get("relationship") or ""), _DEPENDENT[""]) if you else _DEPENDENT[""]
    return gettext(locale, forms[0 if you else 1], on=_on(d, DAY_FIELDS[EventType.DEPENDENT_ADDED], locale))


def _leave(started: bool) -> Phrase:
    def phrase(d: Mapping[str, Any], you: bool, locale: str | None) -> str:
        kind = _LEAVE_WORDS.get(str(d.get("leave_type")), "other")
        field = DAY_FIELDS[EventType.LEAVE_STARTED if started else EventType.LEAVE_ENDED]
        if not you:
            text = "their leave started{on}" if started else "their leave ended{on}"
            return gettext(locale, text, on=_on(d, field, locale))
        if kind == "other":  # said without its kind ("your other leave started" read as a second leave)
            text = "your leave started{on}" if started else "your leave ended{on}"
            return gettext(locale, text, on=_on(d, field, locale))
        text = "your {leave} leave started{on}" if started else "your {leave} leave ended{on}"
        return gettext(locale, text, leave=gettext(locale, kind), on=_on(d, field, locale))
    return phrase


def _job(d: Mapping[str, Any], you: bool, locale: str | None) -> str:
    change = gettext(locale, _CHANGE_WORDS.get(str(d.get("change")), "transfer"))
    if d.get("new_role") and you:
        return gettext(locale, "your job changed ({change} to {role})", change=change, role=d["new_role"])
    return gettext(locale, "your job changed ({change})" if you else "their job changed ({change})", change=change)


def _relocated(d: Mapping[str, Any], you: bool, locale: str | None) -> str:
    if d.get("new_location") and you:
        return gettext(locale, "your work location changed to {location}", location=d["new_location"])
    return gettext(locale, "your work location changed" if you else "their work location changed")


_PHRASES: dict[str, Phrase] = {
    "hris.dependent.added": _dependent,
    "hris.leave.started": _leave(started=True),
    "hris.leave.ended": _leave(started=False),
    "hris.job.changed": _job,
    "hris.employee.relocated": _relocated,
}


def _begun(data: Mapping[str, Any], today: date | None) -> bool:
    """Whether a hire's start date (an ISO date) is today or before, where the employee is."""
    try:
        return today is not None and date.fromisoformat(str(data.get("start_date"))[:10]) <= today
    except ValueError:
        return False


def _phrase(trigger: Mapping[str, Any], you: bool, locale: str | None, today: date | None = None) -> str:
    data = trigger.get("data") or {}
    kind = str(trigger.get("type"))
    simple = _STARTED if kind == "hris.employee.hired" and _begun(data, today) else _SIMPLE.get(kind)
    if simple is not None:
        said = simple[0] if you else simple[1]
        return gettext(locale, said, on=_on(data, simple[2], locale)) if "{on}" in said else gettext(locale, said)
    phrase = _PHRASES.get(kind)
    if phrase is not None:
        return " ".join(phrase(data, you, locale).split())
    if kind == "wellbeing.signal" and you:  # a person looked at it first (always sensitive): said as what it is
        return gettext(locale, "we wanted to check in on how you are")
    if kind.startswith("hris."):
        text = ("of a change in your employee record ({type})" if you
                else "their employee record changed ({type})")
    elif you:  # a company's own event type (kind: EventType): not a change to the HR record
        text = "of something recorded about you ({type})"
    else:  # its type may say what the person's manager is not to know ("wellbeing.signal"): not named to them
        text = "something was recorded about them"
    return gettext(locale, text, type=kind)


class Explanation(str):
    """The explanation in one language, able to say itself in another (the footer is in the message's)."""

    __slots__ = ("_said", "_say")
    _say: Callable[[str | None], str]
    _said: tuple[str | None, str] | None

    def __new__(cls, say: Callable[[str | None], str], locale: str | None) -> Explanation:
        self = super().__new__(cls, say(locale))
        self._say = say
        self._said = None
        return self

    def localized(self, locale: str | None) -> str:
        """The sentence in ``locale``'s language; the last one asked is kept (a render asks twice: the template's
        ``{{ explanation }}`` and the footer, and saying a date in words is most of its cost)."""
        if self._said is not None and self._said[0] == locale:
            return self._said[1]
        said = self._say(locale)
        self._said = (locale, said)
        return said


def _sentence(journey: Journey, trigger: Mapping[str, Any], role: str, employee: Mapping[str, Any],
              locale: str | None, today: date | None = None) -> str:
    """``today``: the employee's date when the message is made (a hire is "joining us" until their first day)."""
    locale = worded(locale)  # words and dates in one language: English for a language with no catalog
    name = journey.localized_name(locale)
    if role == "employee":
        return gettext(locale, "You received this because {because}. It is part of \u201c{journey}\u201d.",
                       because=_phrase(trigger, True, locale, today), journey=name)
    person = name_of(employee) or gettext(locale, "a colleague")
    # Not the journey's name: to a manager or HR partner it may say what they are not to know ("Return from medical
    # leave", "Welcome to parenthood"); the sentence says the kind of moment and when, never its details. The
    # person is named once, as whose manager or HR partner the reader is; the moment is said of "them" ("Anna’s
    # manager and they are joining us", where it read "their manager and, for Anna, they are joining us").
    if role == "manager" and trigger.get("type") == EventType.MANAGER_CHANGED:
        text = "You received this because you are {person}\u2019s new manager."  # not "... and their manager changed"
    elif role == "manager":
        text = "You received this because you are {person}\u2019s manager and {because}."
    else:
        text = "You received this because you are {person}\u2019s HR partner and {because}."
    said = gettext(locale, text, person=person, because=_phrase(trigger, False, locale, today))
    return _elided(said, person) if (locale or "").lower().startswith("fr") else said


def _elided(said: str, person: str) -> str:
    """French elides "de" before a vowel: "manager d’Océane", not "manager de Océane" (the catalog says "de
    {person}": a placeholder of its own would not be the English message's)."""
    if person[:1].lower() not in "aeiouyhàâäéèêëîïôöùûüœæ":
        return said
    return re.sub(rf" de {re.escape(person)}(?=[,.])", lambda _: f" d\u2019{person}", said, count=1)


def explain(journey: Journey, trigger: Mapping[str, Any], role: str, employee: Mapping[str, Any],
            defs: Definitions, scope: Mapping[str, Any], failed: Callable[[str], None] = lambda _: None,
            now: datetime | None = None) -> str:
    """The journey's own explanation if it has one and it says something, else one made from the trigger and the
    recipient's role: every message says why it was sent (SPEC §6, §9), so an own explanation that fails to
    render or renders empty (an ``{% if %}`` that holds for other people only) gives way to the sentence.

    The sentence is English (the record's, for reviewers and audits) and says itself in the message's
    language in the footer (:meth:`Explanation.localized`). A render failure is also told to ``failed`` (the
    caller counts it), or the author's sentence would give way without a word."""
    own = defs.explanation_template(journey)
    if own is not None:
        try:
            text = own.render_text({**scope, "employee": employee})
        except RenderError as err:
            failed(str(err))
            text = ""
        if text.strip():
            return text
    now = now or scope.get("now")  # when the message is made: the sentence's tense
    today = now.astimezone(zone(employee.get("timezone"))).date() if isinstance(now, datetime) else None
    return Explanation(lambda loc: _sentence(journey, trigger, role, employee, loc, today), None)
