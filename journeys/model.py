"""The journey language (SPEC §4): frozen models, one per step kind, no unknown fields."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from datetime import time, timedelta
from functools import cached_property
from typing import Annotated, Any, ClassVar, Literal, TypeVar, get_args
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Strict,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from wayfinder.expressions import Expr
from wayfinder.journeys._durations import parse_duration
from wayfinder.journeys.events import LeaveType
from wayfinder.journeys.profile import Country
from wayfinder.vocabulary import Channel, Frozen, Identifier, LanguageTag, RecipientRole, localized, parse_instant

_M = TypeVar("_M")
# A flag HR operations write: YAML's true or false only. Pydantic reads "yes", "on", 1 and the text "true" as
# booleans, so ``essential: "yes"`` passed as true (2026-12-06); every flag of a definition is this type.
Flag = Annotated[bool, Strict()]
STEP_KINDS = ("send", "wait", "wait_for", "branch", "roadmap", "task", "end", "learning_path")


def _unless(model: _M, *refusals: tuple[bool, str]) -> _M:
    """``model`` when no refusal holds; otherwise a ValueError with the first one's message (model validators)."""
    for refused, msg in refusals:
        if refused:
            raise ValueError(msg)
    return model


def _no_bare_number(say: Callable[[int | float], str]) -> BeforeValidator:
    """Refuse a number written where text with a unit goes (``offset: 14``, ``at: 10``) with what ``say`` says of
    it, before the text's own check would say only that it is no string."""
    def check(value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError(say(value))
        return value
    return BeforeValidator(check)


_number_as_duration = _no_bare_number(
    lambda v: f"{v} is not a duration: a number needs a unit (s, m, h, d, w), e.g. {v}d or {v}w")
_number_as_time_of_day = _no_bare_number(lambda v: 'a time of day looks like "09:00" (24-hour, quoted)')
_number_as_reentry = _no_bare_number(
    lambda v: f"reentry is never, always or a duration such as 300d, not a number without a unit ({v})")


def _duration(value: str) -> str:
    parse_duration(value)
    return value


def _not_negative(value: str) -> str:
    if parse_duration(value) < timedelta(0):
        msg = f"a duration here is not negative ({value}); only a wait's offset may be"
        raise ValueError(msg)
    return value


def _positive(value: str) -> str:
    if parse_duration(value) <= timedelta(0):
        msg = f"a duration here is more than nothing ({value}), such as 7d"
        raise ValueError(msg)
    return value


def _time_of_day(value: str) -> str:
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d(:00)?", value):
        shaped = re.fullmatch(r"(\d\d):(\d\d)(:00)?", value)
        msg = ('a time of day looks like "09:00" (24-hour, quoted)' if shaped is None else
               f'{value!r} is not a time of day: hours go from 00 to 23, minutes from 00 to 59 ("00:00" is midnight)')
        raise ValueError(msg)
    return value[:5]


def _reentry(value: str) -> str:
    if value not in ("never", "always"):
        try:
            negative = parse_duration(value) < timedelta(0)
        except ValueError as e:
            msg = f"reentry is never, always or a duration such as 300d, not {value!r}"
            raise ValueError(msg) from e
        if negative:
            msg = f"reentry is never, always or a duration such as 300d, not a negative one ({value})"
            raise ValueError(msg)
    return value


# The patterns are for editors (JSON Schema); the validators give the error messages.
DURATION_PATTERN = r"^-?(?:[0-9]+[smhdw])+$"
NOT_NEGATIVE_PATTERN = r"^(?:[0-9]+[smhdw])+$"
POSITIVE_PATTERN = r"^(?=[0-9smhdw]*[1-9])(?:[0-9]+[smhdw])+$"  # some digit other than 0: more than nothing
TIME_PATTERN = r"^(?:[01][0-9]|2[0-3]):[0-5][0-9](?::00)?$"
Duration = Annotated[str, _number_as_duration, AfterValidator(_duration),
                     Field(examples=["3d", "12w", "-14d"], json_schema_extra={"pattern": DURATION_PATTERN})]
NotNegative = Annotated[Duration, AfterValidator(_not_negative),
                        Field(examples=["3d", "0s"], json_schema_extra={"pattern": NOT_NEGATIVE_PATTERN})]
Positive = Annotated[Duration, AfterValidator(_positive),
                     Field(examples=["7d", "12w"], json_schema_extra={"pattern": POSITIVE_PATTERN})]
TimeOfDay = Annotated[str, _number_as_time_of_day, AfterValidator(_time_of_day),
                      Field(examples=["09:00"], json_schema_extra={"pattern": TIME_PATTERN})]
Recipient = RecipientRole


def to_time(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


LONG_LIST = 50
"""A resource ``limit`` above this is allowed (SPEC §5 sets no bound) and warned by ``validate``."""


class ResourceRequest(Frozen):
    topics: Annotated[list[Identifier], Field(min_length=1)]
    # SPEC §5: "at most `limit`", and no bound beyond it (validate warns above LONG_LIST); 0 offers nothing
    limit: Annotated[int, Field(ge=0, strict=True)] = 5


def _required(*names: str) -> dict[str, Any]:
    return {"required": list(names)}


def _any_of(*names: str) -> dict[str, Any]:
    return {"anyOf": [_required(n) for n in names]}


class SendAction(Frozen):
    # for editors (JSON Schema), as ``_content`` says it: a template, or an inline subject and body, not both
    model_config = ConfigDict(json_schema_extra={"oneOf": [
        {**_required("template"), "not": _any_of("subject", "body")},
        {**_required("subject", "body"), "not": _required("template")}]})

    channel: Channel
    to: Recipient = "employee"
    template: str | None = None
    subject: str | None = None
    body: str | None = None
    resources: ResourceRequest | None = None
    when: Expr | None = None

    @model_validator(mode="after")
    def _content(self) -> SendAction:
        inline = (self.subject, self.body)
        return _unless(self, (self.template is None and None in inline,
                              "a send needs a template, or an inline subject and body"),
                       (self.template is not None and inline != (None, None),
                        "a send has either a template or an inline subject and body, not both"))


class WaitAction(Frozen):
    # for editors (JSON Schema), as ``_one_form`` says it: `for`, or `until` with an optional `offset` and `at`
    model_config = ConfigDict(json_schema_extra={"oneOf": [
        {**_required("for"), "not": _any_of("until", "offset", "at")},
        {**_required("until"), "not": _required("for")}]})

    for_: Annotated[NotNegative | None, Field(alias="for")] = None
    until: Expr | None = None
    offset: Duration | None = None
    at: TimeOfDay | None = None

    @model_validator(mode="after")
    def _one_form(self) -> WaitAction:
        return _unless(self, ((self.for_ is None) == (self.until is None),
                              "a wait has either `for: <duration>` or `until: <expression>`"),
                       (self.for_ is not None and (self.offset, self.at) != (None, None),
                        "`offset` and `at` go with `until`, not with `for`"))


class WaitForAction(Frozen):
    model_config = ConfigDict(json_schema_extra={"dependentRequired": {"on_timeout": ["timeout"]}})

    event: Annotated[str, Field(min_length=1)]
    when: Expr | None = None
    timeout: Positive | None = None
    on_timeout: Identifier | None = None

    @model_validator(mode="after")
    def _timeout(self) -> WaitForAction:
        return _unless(self, (self.on_timeout is not None and self.timeout is None, "`on_timeout` needs a `timeout`"))


class BranchAction(Frozen):
    if_: Annotated[Expr, Field(alias="if")]
    then: Identifier
    else_: Annotated[Identifier | None, Field(alias="else")] = None


class RoadmapAction(Frozen):
    topics: Annotated[list[Identifier], Field(min_length=1)]
    horizon: Positive = "90d"
    channel: Channel
    to: Recipient = "employee"
    template: str


class LearningPathAction(Frozen):
    """The fewest catalog resources that teach the skills a role needs and the employee lacks (extension)."""

    role: Annotated[Identifier | None, Field(
        description="a catalog role id; left out: the employee's `aspiration` (a role id, title or match)")] = None
    horizon: Positive = "180d"
    pace: Annotated[Duration, Field(description="one item is due every so long, from the day the step runs")] = "2w"
    channel: Channel
    to: Recipient = "employee"
    template: str

    @model_validator(mode="after")
    def _pace(self) -> LearningPathAction:
        shortest = min(parse_duration(self.pace), parse_duration(self.horizon))
        return _unless(self, (shortest < timedelta(days=1), "`pace` and `horizon` are at least a day (1d)"))


class TaskAction(Frozen):
    assignee: Literal["hr_partner", "manager"]
    title: Annotated[str, Field(min_length=1)]
    note: str = ""
    when: Expr | None = None


class EndAction(Frozen):
    pass


class _Step(Frozen):
    id: Identifier
    description: str | None = None

    ACTION_WITH_WHEN: ClassVar[str | None] = None  # the action of a step kind whose action has a ``when``

    @model_validator(mode="before")
    @classmethod
    def _when_beside(cls, data: Any) -> Any:
        """SPEC §4 gives a ``send`` an optional ``when``; written beside the action (``- id: a`` / ``when: ...`` /
        ``send: ...``) it is taken as the action's own, as authors write it either way."""
        action = cls.ACTION_WITH_WHEN
        inner = data.get(action) if action is not None and isinstance(data, dict) else None
        if isinstance(inner, dict) and "when" in data and "when" not in inner:
            rest = {k: v for k, v in data.items() if k != "when"}
            return {**rest, action: {**inner, "when": data["when"]}}
        return data


class SendStep(_Step):
    send: SendAction

    ACTION_WITH_WHEN = "send"


class WaitStep(_Step):
    wait: WaitAction


class WaitForStep(_Step):
    wait_for: WaitForAction


class BranchStep(_Step):
    branch: BranchAction


class RoadmapStep(_Step):
    roadmap: RoadmapAction


class TaskStep(_Step):
    task: TaskAction

    ACTION_WITH_WHEN = "task"


class EndStep(_Step):
    end: EndAction

    @model_validator(mode="before")
    @classmethod
    def _bare(cls, data: Any) -> Any:
        """``end:`` with nothing after it is ``end: {}`` (YAML reads it as null)."""
        if isinstance(data, dict) and "end" in data and data["end"] is None:
            return {**data, "end": {}}
        return data


class LearningPathStep(_Step):
    learning_path: LearningPathAction


def step_kind(value: Any) -> str | None:
    """The discriminator: the one action key a step has."""
    if isinstance(value, dict):
        present = [k for k in STEP_KINDS if k in value]
        return present[0] if len(present) == 1 else None
    for kind in STEP_KINDS:
        if getattr(value, kind, None) is not None:
            return kind
    return None


Step = Annotated[
    Annotated[SendStep, Tag("send")] | Annotated[WaitStep, Tag("wait")] | Annotated[WaitForStep, Tag("wait_for")]
    | Annotated[BranchStep, Tag("branch")] | Annotated[RoadmapStep, Tag("roadmap")]
    | Annotated[TaskStep, Tag("task")] | Annotated[EndStep, Tag("end")]
    | Annotated[LearningPathStep, Tag("learning_path")],
    Discriminator(
        step_kind,
        custom_error_type="step_kind",
        custom_error_message="a step needs exactly one action: send, wait, wait_for, branch, roadmap, task, end "
                             "or learning_path",
    ),
]


class Trigger(Frozen):
    event: Annotated[str, Field(min_length=1)]
    when: Expr | None = None


class ExitOn(Frozen):
    event: Annotated[str, Field(min_length=1)]
    when: Expr | None = None


_HOLDOUT = re.compile(r"^(\d+(?:\.\d+)?)%$")
# for editors (JSON Schema): above 0% and at most 50%, as holdout_percent reads it (spaces around are stripped)
HOLDOUT_PATTERN = r"^\s*(?:0*(?:[1-9]|[1-4][0-9])(?:\.[0-9]+)?|0*50(?:\.0+)?|0+\.[0-9]*[1-9][0-9]*)%\s*$"
MAX_HOLDOUT_PERCENT = 50


def holdout_percent(value: str) -> float:
    """``5%`` -> 5.0; a share above 0% and at most 50% (the rest must still be reached)."""
    m = _HOLDOUT.fullmatch(value.strip())
    percent = float(m.group(1)) if m else -1.0
    if not 0 < percent <= MAX_HOLDOUT_PERCENT:
        msg = f"holdout is a percentage above 0% and at most {MAX_HOLDOUT_PERCENT}%, such as 5%, not {value!r}"
        raise ValueError(msg)
    return percent


def _holdout(value: str) -> str:
    holdout_percent(value)
    return value


_number_as_holdout = _no_bare_number(
    lambda v: f"holdout is a percentage such as 5%, not a number without % ({v}): write {v}% for {v} in a hundred")


class Outcome(Frozen):
    """An event that tells whether a journey helped (``wayfinder report impact``); ``*`` matches any part."""

    event: Annotated[str, Field(min_length=1, examples=["onboarding.task.completed", "engagement.*"])]
    within: Positive = "30d"  # a window of nothing (0d, -5d) would never see the outcome

    @property
    def window(self) -> timedelta:
        return parse_duration(self.within)


@functools.lru_cache(maxsize=4096)
def _localized_name(names: tuple[tuple[str, str], ...], name: str, locale: str | None) -> str:
    """A journey's name for a reader of ``locale``, kept per names (a definition's text) and locale."""
    return localized(dict(names), locale) or name


def _journey_schema(schema: dict[str, Any]) -> None:
    """For editors, as the validators below say it: a journey without ``name`` is called by its id; a sensitive one
    has no holdout; an essential one's messages are not suppressed during a leave."""
    schema["required"] = [f for f in schema.get("required", []) if f != "name"]
    schema["allOf"] = [
        {"if": {**_required("sensitivity"), "properties": {"sensitivity": {"const": "sensitive"}}},
         "then": {"not": _required("holdout")}},
        {"if": {**_required("essential"), "properties": {"essential": {"const": True}}},
         "then": {"properties": {"on_leave": {"not": {"const": "suppress"}}}}}]


class Journey(Frozen):
    """A journey as HR operations write it."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, ignored_types=(cached_property,),
                              json_schema_extra=_journey_schema)

    api_version: Annotated[Literal["wayfinder/v1"], Field(alias="apiVersion")]
    kind: Literal["Journey"]
    id: Identifier
    name: Annotated[str, Field(min_length=1, description="The name people read; the id when not given")]
    names: Annotated[dict[LanguageTag, Annotated[str, Field(min_length=1)]], Field(
        description="The name in other languages, by locale (de-DE or de); the explanation quotes it")] = Field(
        default_factory=dict)
    owner: Annotated[str | None, Field(min_length=1, description="Who to ask about it (SPEC's example has one; "
                                       "not required)")] = None

    @model_validator(mode="before")
    @classmethod
    def _named(cls, data: Any) -> Any:
        """A journey without a ``name`` is called by its id (SPEC's example names one; it does not require it)."""
        if isinstance(data, dict) and "name" not in data and isinstance(data.get("id"), str):
            return {**data, "name": data["id"]}
        return data
    version: Annotated[int, Field(ge=1, strict=True)] = 1
    status: Literal["active", "paused", "draft"] = "active"
    sensitivity: Literal["standard", "sensitive"] = "standard"
    description: str | None = None
    explanation: Annotated[str | None, Field(description="Why an employee gets this journey's messages, "
                                             "in one sentence (Jinja2); a default is made from the trigger")] = None
    trigger: Trigger
    audience: Expr | None = None
    reentry: Annotated[str, _number_as_reentry, AfterValidator(_reentry), Field(
        json_schema_extra={"pattern": r"^(?:never|always|(?:[0-9]+[smhdw])+)$"})] = "never"
    exit_on: list[ExitOn] = Field(default_factory=list)
    steps: Annotated[list[Step], Field(min_length=1)]
    holdout: Annotated[str | None, _number_as_holdout, AfterValidator(_holdout),
                       Field(description="A control group: this share of the audience enrolls but gets no "
                                         "message (suppressed, reason holdout)", examples=["5%"],
                             json_schema_extra={"pattern": HOLDOUT_PATTERN})] = None
    outcomes: list[Outcome] = Field(default_factory=list)
    essential: Annotated[Flag, Field(description="Its messages still go while the recipient is on a sensitive "
                                     "leave (Policy.leave_pause)")] = False
    on_leave: Annotated[Literal["defer", "suppress"], Field(
        description="What happens to a message due while the recipient is on a sensitive leave: defer it to "
                    "the end of the leave, or suppress it when it would no longer make sense then")] = "defer"

    @field_validator("on_leave")
    @classmethod
    def _essential_is_never_suppressed(cls, value: str, info: ValidationInfo) -> str:
        if value == "suppress" and info.data.get("essential"):
            msg = "an essential journey's messages go during a leave; remove on_leave or essential"
            raise ValueError(msg)
        return value

    @field_validator("holdout")
    @classmethod
    def _no_holdout_when_sensitive(cls, value: str | None, info: ValidationInfo) -> str | None:
        """A field validator (``sensitivity`` comes before), so the problem is placed at ``holdout``."""
        if value is not None and info.data.get("sensitivity") == "sensitive":
            msg = "a sensitive journey cannot have a holdout: nobody in a sensitive moment is left without help"
            raise ValueError(msg)
        return value

    @cached_property
    def holdout_share(self) -> float:
        """The held-out share, 0.0 when the journey has no holdout."""
        return 0.0 if self.holdout is None else holdout_percent(self.holdout) / 100

    def localized_name(self, locale: str | None) -> str:
        """The name for a reader of ``locale``: its own, else its language's, else ``name``."""
        return _localized_name(tuple(self.names.items()), self.name, locale)

    @cached_property
    def step_index(self) -> dict[str, int]:
        return {s.id: i for i, s in enumerate(self.steps)}

    @cached_property
    def reentry_after(self) -> timedelta | None:
        """None for never, zero for always, else the duration."""
        if self.reentry == "never":
            return None
        if self.reentry == "always":
            return timedelta(0)
        return parse_duration(self.reentry)


class FrequencyCap(Frozen):
    max: Annotated[int, Field(ge=1, strict=True)]
    per: Positive

    @property
    def window(self) -> timedelta:
        return parse_duration(self.per)


class QuietHoursPolicy(Frozen):
    start: TimeOfDay
    end: TimeOfDay
    weekends: Flag = False


Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def _saturday_and_sunday() -> list[Weekday]:
    return ["saturday", "sunday"]


def _a_weekend(days: list[Weekday]) -> list[Weekday]:
    """A country's weekend: each day once, and at least one working day left in the week."""
    repeated = sorted({d for d in days if days.count(d) > 1}, key=get_args(Weekday).index)
    if repeated:
        msg = f"{', '.join(repeated)} is given more than once: name each day of the weekend once"
        raise ValueError(msg)
    if len(days) >= len(get_args(Weekday)):
        msg = "a weekend of all seven days leaves no working day: name the days off only"
        raise ValueError(msg)
    return days


CountryWeekend = Annotated[list[Weekday], AfterValidator(_a_weekend)]


class WorkingDays(Frozen):
    """Which days roadmap items may fall on, and which days are quiet with ``quiet_hours.weekends``: ``weekend``,
    or the weekend of the person's country where ``weekend_by_country`` names it."""

    weekend: Annotated[list[Weekday], Field(description="days off every week")] = Field(
        default_factory=_saturday_and_sunday)
    weekend_by_country: Annotated[dict[Country, CountryWeekend], Field(
        description="the days off in a country (ISO 3166-1 alpha-2, upper case) whose weekend is not 'weekend', "
                    "e.g. IL: [friday, saturday]")] = Field(default_factory=dict)
    public_holidays: Annotated[Flag, Field(description="skip the public holidays of the employee's country")] = True

    def weekend_of(self, country: str | None) -> list[Weekday]:
        """The days off of a person in ``country``: its own weekend when listed, else ``weekend``."""
        if country and self.weekend_by_country:
            return self.weekend_by_country.get(country.upper(), self.weekend)
        return self.weekend

    def weekend_country(self, country: object) -> str | None:
        """The listed country whose weekend a person in ``country`` keeps (upper case), or None for ``weekend``: what
        a recipient's mailbox is told and keeps (README "Working days"), nothing for most people."""
        if isinstance(country, str) and country.upper() in self.weekend_by_country:
            return country.upper()
        return None


DEFAULT_PREFERENCES_URL = "https://intranet.example.com/wayfinder/preferences"


def _web_address(value: str) -> str:
    """Every message's way to stop it (SPEC §6) must lead somewhere: an absolute http(s) address."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or value != value.strip() or " " in value:
        msg = f"an https:// address where every message's reader can stop it, not {value!r}"
        raise ValueError(msg)
    return value


def _bereavement_and_medical() -> list[LeaveType]:
    return ["bereavement", "medical"]


class LeavePause(Frozen):
    """While the recipient is on one of these leaves, other journeys' messages wait for its end (or are
    suppressed, per journey ``on_leave``); essential journeys and the journey about the leave still go."""

    leave_types: Annotated[list[LeaveType], Field(min_length=1, description="the sensitive leave types")] = Field(
        default_factory=_bereavement_and_medical)


class DigestRule(Frozen):
    """Messages to one recipient role gathered into one message a day or a week (an extension; see README)."""

    model_config = ConfigDict(json_schema_extra={  # for editors, as ``_day_only_weekly`` says it
        "if": _required("day"), "then": {"properties": {"every": {"const": "weekly"}}}})

    every: Annotated[Literal["daily", "weekly"], Field(description="how often a digest closes and goes")]
    at: Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
                             description="local time of day (the recipient's timezone) a digest goes")] = "09:00"
    day: Annotated[Weekday | None, Field(description="weekly only: the day a digest goes [monday]")] = None
    journeys: Annotated[list[Identifier] | None, Field(
        description="only messages of these journeys are gathered [every journey]")] = None
    channel: Annotated[Channel, Field(description="the channel gathered and the digest's own")] = "email"
    template: Annotated[str, Field(description="the digest's template id")] = "digest/summary"

    @model_validator(mode="after")
    def _day_only_weekly(self) -> DigestRule:
        return _unless(self, (self.day is not None and self.every != "weekly",
                              "'day' is for a weekly digest; a daily one goes every day at 'at'"))


def _names_someone(contact: str) -> str:
    """An escalation contact names a person or group (SPEC §11): an empty one fell back to the HR partner's lead
    unseen, and one of only spaces opened every escalation task for nobody anyone could name."""
    if not contact.strip():
        msg = "names nobody: give a person id or group, or leave it out for the HR partner's lead"
        raise ValueError(msg)
    return contact


class Policy(Frozen):
    """The global policy. An empty policy has no cap and no quiet hours."""

    api_version: Annotated[Literal["wayfinder/v1"], Field(alias="apiVersion")] = "wayfinder/v1"
    kind: Literal["Policy"] = "Policy"
    frequency_cap: FrequencyCap | None = None
    quiet_hours: QuietHoursPolicy | None = None
    sensitive_topics: list[Identifier] = Field(default_factory=list)
    max_event_age: Positive = "7d"
    review_window: Annotated[Positive, Field(description="A message waiting for a person is escalated when "
                                             "nobody decides on it within this time (SPEC §11)")] = "5d"
    review_escalation: Annotated[Annotated[str, AfterValidator(_names_someone)] | None,
                                 Field(description="Who gets the escalation task: a person id or group; default "
                                                   "the HR partner's lead")] = None
    working_days: WorkingDays = Field(default_factory=WorkingDays)
    preferences_url: Annotated[str, AfterValidator(_web_address), Field(
        json_schema_extra={"pattern": r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]+[^\s]*$"},
        description="Where employees see and change their preferences; "
                                          "every message links here")] = DEFAULT_PREFERENCES_URL
    leave_pause: Annotated[LeavePause | None, Field(
        description="Pause non-essential messages to a person on a sensitive leave until it ends")] = None
    digests: Annotated[dict[Literal["manager", "hr_partner"], DigestRule], Field(
        description="per recipient role: gather their messages into one daily or weekly digest")] = Field(
        default_factory=dict)

    @property
    def quiet_weekdays(self) -> frozenset[int]:
        """The days (Monday 0) quiet all day for a recipient in no country ``working_days.weekend_by_country``
        lists: ``quiet_weekdays_of(None)``."""
        return self.quiet_weekdays_of(None)

    def quiet_weekdays_of(self, country: str | None) -> frozenset[int]:
        """The days (Monday 0) quiet all day for a recipient in ``country``: with ``quiet_hours.weekends``, the
        policy's weekend there (``WorkingDays.weekend_of``; Saturday and Sunday unless it says otherwise), else
        none."""
        q = self.quiet_hours
        if q is None or not q.weekends:
            return frozenset()
        days = frozenset(get_args(Weekday).index(d) for d in self.working_days.weekend_of(country))
        return days if len(days) < 7 else frozenset()  # a week with no working day: no day can be quiet all day


IDENTIFYING_FIELDS = ("id", "given_name", "preferred_name", "family_name", "email", "manager_id", "hr_partner_id")


def _reportable(value: str) -> str:
    if value in IDENTIFYING_FIELDS:
        msg = f"{value!r} identifies a person; a fairness report groups people by attributes such as department"
        raise ValueError(msg)
    return value


ProfileAttribute = Annotated[str, AfterValidator(_reportable),
                             Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", examples=["department", "gender"],
                                   json_schema_extra={"not": {"enum": list(IDENTIFYING_FIELDS)}})]


class FeedbackThresholds(Frozen):
    min_offered: Annotated[int, Field(ge=1)] = 10
    min_ratings: Annotated[int, Field(ge=1)] = 3
    poor_below: Annotated[float, Field(ge=-1, le=1)] = 0.0


class Fairness(Frozen):
    """Who the fairness report compares, and which attributes may never steer a journey."""

    api_version: Annotated[Literal["wayfinder/v1"], Field(alias="apiVersion")] = "wayfinder/v1"
    kind: Literal["Fairness"] = "Fairness"
    attributes: list[ProfileAttribute] = Field(
        default_factory=lambda: ["department", "location", "country", "employment_type", "work_mode"],
        description="profile fields (or unknown fields kept as attributes) to break the report down by")
    protected: list[ProfileAttribute] = Field(
        default_factory=list, description="attributes for aggregate reporting only: no journey expression or "
                                          "catalog eligibility may read them")
    k: Annotated[int, Field(ge=2, strict=True, description="cells with fewer people are not shown")] = 10
    birth_date_field: ProfileAttribute = "birth_date"
    age_bands: Annotated[list[Annotated[int, Field(ge=1, le=120)]], Field(
        min_length=1, description="ages where a band starts; `age_band` as an attribute uses them")] = Field(
        default_factory=lambda: [25, 35, 45, 55])
    feedback: FeedbackThresholds = Field(default_factory=FeedbackThresholds)


class LocaleOverride(Frozen):
    subject: str | None = None
    text: str | None = None
    html: str | None = None


class TemplateDoc(Frozen):
    """A message template (Jinja2, sandboxed). Its id is its path under the templates folder."""

    api_version: Annotated[Literal["wayfinder/v1"], Field(alias="apiVersion")]
    kind: Literal["Template"]
    id: str | None = None
    description: str | None = None
    subject: Annotated[str, Field(min_length=1)]
    text: Annotated[str, Field(min_length=1)]
    html: str | None = None
    locales: dict[LanguageTag, LocaleOverride] = Field(default_factory=dict)

    @field_validator("locales")
    @classmethod
    def _one_override_per_language_tag(cls, value: dict[str, LocaleOverride]) -> dict[str, LocaleOverride]:
        """``de-DE`` and ``de-de`` are one tag (case does not count): the later one silently won."""
        seen: dict[str, str] = {}
        for tag in value:
            key = tag.replace("_", "-").lower()
            if key in seen:
                msg = f"{seen[key]!r} and {tag!r} are the same language tag (case does not count); keep one"
                raise ValueError(msg)
            seen[key] = tag
        return value


class EventField(Frozen):
    required: Annotated[Flag, Field(description="false: expressions must guard it with has(...), templates "
                                    "with |default(...)")] = True
    description: str | None = None


class EventTypeDoc(Frozen):
    """A custom event type: its id and the fields of its ``data``, so journeys using it can be checked."""

    api_version: Annotated[Literal["wayfinder/v1"], Field(alias="apiVersion")]
    kind: Literal["EventType"]
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_\-]*(?:\.[a-z0-9_\-]+)+$", examples=["lms.course.completed"])]
    description: str | None = None
    data: dict[Identifier, EventField] = Field(default_factory=dict)


TEST_TIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$"
_TEST_TIME = re.compile(TEST_TIME_PATTERN)
# For editors (JSON Schema): `until` and an expectation's `at` are RFC 3339 with an offset, as `validate` checks them
# (parse_instant: `t`/`z` in lower case, or a space for the `T`, pass too).
_TEST_INSTANT = {"pattern": r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:\d{2})$"}


def _test_time(value: str) -> str:
    """An event's time in a journey test, said in words as ``until`` and ``at`` are (``parse_instant``); the pattern
    alone read as a regular expression, and kept the test's other problems from being reported."""
    if not _TEST_TIME.fullmatch(value):
        if "T" in value:
            parse_instant(value)  # says what is wrong: no offset, or no time at all
        msg = f"{value!r} is not an RFC 3339 time (e.g. 2026-03-02T09:15:00Z)"
        raise ValueError(msg)
    return value


class TestEvent(Frozen):
    """An event of a journey test: a CloudEvent with ``specversion``, ``id`` and ``source`` filled in."""

    type: Annotated[str, Field(min_length=1)]
    time: Annotated[str, AfterValidator(_test_time), Field(
        examples=["2026-03-02T09:15:00Z"],
        json_schema_extra={"pattern": TEST_TIME_PATTERN})]
    subject: Annotated[str, Field(min_length=1)]
    data: dict[str, Any] = Field(default_factory=dict)
    id: str | None = None
    source: str = "wayfinder/test"

    def raw(self, default_id: str) -> str:
        """The event as a line of an events file: ``validate`` and ``wayfinder test`` decode it as ``simulate``
        would, so a test runs what simulate runs (an event simulate refuses fails the test, saying why)."""
        return json.dumps({"specversion": "1.0", "id": self.id or default_id, "source": self.source,
                           "type": self.type, "time": self.time, "subject": self.subject, "data": self.data})


class ExpectedMessage(Frozen):
    """What one message must be; fields left out are not compared."""

    journey: str | None = None
    step: str | None = None
    recipient: str | None = None
    role: Recipient | None = None
    channel: Channel | None = None
    status: Literal["sent", "pending_approval", "approved", "rejected", "suppressed", "deferred", "failed"] | None = (
        None)
    reason: str | None = None
    at: Annotated[str | None, Field(description="scheduled_for, an RFC 3339 time (compared as an instant)",
                                    json_schema_extra=_TEST_INSTANT)] = None
    resources: list[str] | None = None
    locale: str | None = None
    subject: Annotated[str | None, Field(description="the subject must contain this text")] = None


class ExpectedTask(Frozen):
    journey: str | None = None
    step: str | None = None
    assignee: Annotated[str | None, Field(examples=["hr_partner", "manager", "review_escalation"])] = None
    assignee_id: str | None = None
    at: Annotated[str | None, Field(description="created_at, an RFC 3339 time", json_schema_extra=_TEST_INSTANT)] = None


class Expectations(Frozen):
    messages: list[ExpectedMessage] = Field(default_factory=list)
    tasks: list[ExpectedTask] = Field(default_factory=list)
    exact: Annotated[Flag, Field(description="no messages or tasks besides those listed")] = True


class JourneyTestDoc(Frozen):
    """A journey test kept in git beside the journeys: given these events, expect these messages and tasks."""

    __test__ = False  # not a pytest test class

    api_version: Annotated[Literal["wayfinder/v1"], Field(alias="apiVersion")]
    kind: Literal["JourneyTest"]
    id: Identifier
    description: str | None = None
    journeys: Annotated[list[Identifier] | None, Field(description="only these journeys run [default: all]")] = None
    include_drafts: Flag = False
    until: Annotated[str | None, Field(description="fire timers up to this time [default: the last event's]",
                                       json_schema_extra=_TEST_INSTANT)] = None
    events: Annotated[list[TestEvent], Field(min_length=1)]
    expect: Expectations


def successors(j: Journey, i: int) -> list[int]:
    """Where a step can go next (an index past the end means the journey completes)."""
    step = j.steps[i]
    idx = j.step_index
    if isinstance(step, EndStep):
        return []
    if isinstance(step, BranchStep):
        out = [idx.get(step.branch.then, len(j.steps))]
        out.append(idx.get(step.branch.else_, len(j.steps)) if step.branch.else_ else i + 1)
        return out
    if isinstance(step, WaitForStep) and step.wait_for.on_timeout is not None:
        return [i + 1, idx.get(step.wait_for.on_timeout, len(j.steps))]
    return [i + 1]
