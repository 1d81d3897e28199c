"""Per-employee and per-recipient state. Plain pydantic models, so any store can keep them as JSON.

Their JSON is the state at rest, which the worker keeps in its tables (README "State at rest"): a field that holds
its default is left out (``unset``) and ``profile_times`` names only the keys whose time is not the common one
(``times_at_rest``). A state written in full, as releases before stored it, reads as it always did."""

from __future__ import annotations

import operator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationInfo, field_serializer, field_validator

from wayfinder.journeys.profile import Profile, apply_event, changes_profile
from wayfinder.journeys.records import Message, Task


class Enrollment(BaseModel):
    """One employee in one journey. It keeps the journey version it started with."""

    model_config = ConfigDict(extra="forbid")

    journey_id: str
    version: int
    enrollment_id: str
    trigger: dict[str, Any]
    started_at: datetime
    step: int = 0
    waiting: Literal["no", "timer", "event"] = "no"
    wake_at: datetime | None = None
    # The pending ``wait: until`` came to a timestamp (no date, no ``at``): an instant, which a move to another
    # timezone leaves where it is; a date or an ``at`` is a local day or time of day, which it does not.
    wake_instant: bool = Field(False, exclude_if=operator.not_)
    token: int = 0
    visits: dict[str, int] = Field(default_factory=dict)
    # A sensitive event (SPEC §2: a wellbeing signal is always sensitive) moved it on, at a wait_for: from then on
    # its messages wait for a person, as when such an event starts a journey.
    sensitive: bool = Field(False, exclude_if=operator.not_)

    def stop_waiting(self) -> None:
        """The wait (or ``wait_for``) is over: nothing pending."""
        self.waiting, self.wake_at, self.wake_instant = "no", None, False


class OpenTaskRef(BaseModel):
    """A task a journey opened and nobody completed yet, with the key (``source``, ``id``) of the event that
    started that journey, so that a correction rescinding the event can close it."""

    model_config = ConfigDict(extra="forbid")

    trigger_source: str | None
    trigger_id: str | None
    task: Task


UNKNOWN_TIME = datetime.min.replace(tzinfo=UTC)
"""The time of a seen event key read from a state written before keys had times (``seen`` as a list)."""

_PROFILE_PARTS = ("fields", "preferences", "attributes")


class LeavePeriod(BaseModel):
    """A sensitive leave (Policy.leave_pause): from local midnight of its start date until local midnight of the
    return date (``hris.leave.ended``, else the expected one; None while neither is known)."""

    model_config = ConfigDict(extra="forbid")

    leave_type: str
    start: datetime
    end: datetime | None = None
    timezone: str = "UTC"
    quiet_hours: str | None = None
    weekend_country: str | None = Field(None, exclude_if=lambda v: v is None)  # README "Working days"
    # the (source, id) of the hris.leave.started that began it: a correction rescinding that event lifts it
    started_by: tuple[str, str] | None = Field(None, exclude_if=lambda v: v is None)
    # a ``hris.leave.ended`` said when the person came back: ``end`` is that day, not an expectation that a correction
    # of the leave's ``expected_return_date`` may move
    returned: bool = Field(False, exclude_if=lambda v: not v)

    def covers(self, at: datetime) -> bool:
        return self.start <= at and (self.end is None or at < self.end)


unset = operator.not_
"""Whether a field of a stored state holds its default, and so is left out of the state at rest (README "State at
rest"; ``exclude_if``): every such field's default is empty, None or False, and no other value of its type is
falsy. Reading a state back gives the default again, so a state written in full (before) reads as it did. (``not``
itself: called for every field of every state written, a Python function would cost more than the rest.)"""


ALL_KEYS = "*"
"""In a stored ``profile_times``: the time of every key of the profile not named beside it."""


def profile_names(profile: Profile) -> list[str]:
    """The names ``profile_times`` gives the profile's keys (``fields.email``, ``preferences.quiet_hours``)."""
    return [f"{part}.{key}" for part in _PROFILE_PARTS for key in getattr(profile, part)]


def times_at_rest(times: dict[str, datetime], names: list[str]) -> dict[str, datetime | None]:
    """``profile_times`` as stored: under ``*`` the time most of the profile's keys have (a majority vote: one pass,
    as this runs at every write of a state), then only the names whose time is not that one: a key of the profile
    with another time, or with none (null), and a key no longer in the profile. ``times_from_rest`` reads it back
    exactly; a time the same instant as ``*`` in another UTC offset is named, so that it is written as it was. A
    profile with no timed key keeps its times as they are."""
    at: datetime | None = None
    votes = 0
    for t in map(times.get, names):
        if t is None:
            continue
        if votes == 0:
            at, votes = t, 1
        elif t is at or (t == at and (t.tzinfo is at.tzinfo or t.utcoffset() == at.utcoffset())):
            votes += 1
        else:
            votes -= 1
    if at is None:
        return dict(times)
    out: dict[str, datetime | None] = {ALL_KEYS: at}
    timed = 0
    for name, t in zip(names, map(times.get, names), strict=True):
        if t is None:
            out[name] = None
            continue
        timed += 1
        if not (t is at or (t == at and (t.tzinfo is at.tzinfo or t.utcoffset() == at.utcoffset()))):
            out[name] = t
    if len(times) > timed:  # some timed keys are no longer in the profile: name them too
        current = set(names)
        out.update((name, t) for name, t in times.items() if name not in current)
    return out


def times_from_rest(stored: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """The whole ``profile_times`` of a stored one (``times_at_rest``); a whole one (no ``*``) as it is. The keys under
    ``*`` share one time object, which makes the next ``times_at_rest`` of the state cheaper."""
    if ALL_KEYS not in stored:
        return stored
    common = _INSTANT.validate_python(stored[ALL_KEYS])
    times: dict[str, Any] = dict.fromkeys(names, common)
    for name, at in stored.items():
        if name == ALL_KEYS:
            continue
        if at is None:
            times.pop(name, None)
        else:
            times[name] = at
    return times


_INSTANT = TypeAdapter(datetime)


class EmployeeState(BaseModel):
    """What the core keeps for one employee.

    ``seen`` holds the key (source and id) of each event applied, with the event's time, so that a
    replay is told apart from a new event; keys older than the policy's ``max_event_age`` before the
    clock are forgotten whenever an event touches the state (see ``remember``). An event that old is
    stale anyway: it enrolls no one, ends and resumes nothing, and changes only the profile fields that no
    newer event has set (``profile_times`` keeps, for each ``fields.*``, ``preferences.*`` and
    ``attributes.*`` key, the time of the newest event that set it). So a replay of a forgotten event
    changes nothing.
    """

    model_config = ConfigDict(extra="forbid")

    employee_id: str
    profile: Profile
    enrollments: dict[str, Enrollment] = Field(default_factory=dict, exclude_if=unset)
    last_entry: dict[str, datetime] = Field(default_factory=dict, exclude_if=unset)
    # the enrollment ids of the entries into each journey, oldest first: the same event, come again after its key
    # was forgotten (a late copy with a newer time), does not enter the journey a second time (SPEC §2), also after
    # another event entered it in between (its messages would have had the first entry's ids again, SPEC §6)
    entered_by: dict[str, list[str]] = Field(default_factory=dict, exclude_if=unset)
    # the trigger of each journey's last completed enrollment, kept only for a journey whose exits test ``trigger``:
    # an exit that comes after the end still stops what that enrollment left waiting, by the same test
    finished_triggers: dict[str, dict[str, Any]] = Field(default_factory=dict, exclude_if=unset)
    delivered: set[str] = Field(default_factory=set, exclude_if=unset)
    feedback: dict[str, float] = Field(default_factory=dict, exclude_if=unset)
    # each resource's latest rating by this person (-1, 0, 1), counted once in ``feedback``: a rating changed from
    # -1 to 1 left the resource at 0, and repeated ratings stacked
    ratings: dict[str, int] = Field(default_factory=dict, exclude_if=unset)
    seen: dict[str, datetime] = Field(default_factory=dict, exclude_if=unset)
    # the latest time this state was processed at: replays never move it back
    clock: datetime | None = Field(None, exclude_if=unset)
    profile_times: dict[str, datetime] = Field(default_factory=dict, exclude_if=unset)
    mailboxes: set[str] = Field(default_factory=set, exclude_if=unset)
    open_tasks: dict[str, OpenTaskRef] = Field(default_factory=dict, exclude_if=unset)
    awaiting_approval: dict[str, Message] = Field(default_factory=dict, exclude_if=unset)
    # the current or latest sensitive leave (journeys/leave.py)
    leave: LeavePeriod | None = Field(None, exclude_if=unset)
    # The erased-id record (SPEC §9): the time of the latest erasure of this id, whose events up to it are refused;
    # ``forgotten``: this state is that record alone (no person), until a hire after the erasure re-creates them.
    erased_at: datetime | None = Field(None, exclude_if=unset)
    forgotten: bool = Field(False, exclude_if=unset)

    @field_validator("entered_by", mode="before")
    @classmethod
    def _entered_by_one(cls, value: Any) -> Any:
        """A state written before 2026-12-06 kept the last entry's id alone; it reads as a list of that one."""
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("seen", mode="before")
    @classmethod
    def _seen_without_times(cls, value: Any) -> Any:
        """A state written before keys had times keeps its keys; their time is set at the next event."""
        if isinstance(value, list | set | tuple):
            return dict.fromkeys(value, UNKNOWN_TIME)
        return value

    @field_validator("profile_times", mode="before")
    @classmethod
    def _times_at_rest(cls, value: Any, info: ValidationInfo) -> Any:
        """A stored ``profile_times`` (``times_at_rest``) is read against the profile read before it."""
        if not isinstance(value, dict) or ALL_KEYS not in value:
            return value
        profile = info.data.get("profile")
        if not isinstance(profile, Profile):
            msg = f'profile_times with "{ALL_KEYS}" needs the valid profile it was stored with'
            raise ValueError(msg)
        return times_from_rest(value, profile_names(profile))

    @field_serializer("delivered", "mailboxes", when_used="json")
    @staticmethod
    def _sorted(value: set[str]) -> list[str]:
        """Sets written in order: the same state is the same bytes whatever the process's hash seed (a unit's
        write-ahead entry tells "not applied yet" from "changed since" by the bytes a key holds)."""
        return sorted(value)

    @field_serializer("profile_times", when_used="json")
    def _times_to_rest(self, times: dict[str, datetime]) -> dict[str, datetime | None]:
        return times_at_rest(times, profile_names(self.profile))

    @classmethod
    def new(cls, employee_id: str) -> EmployeeState:
        return cls(employee_id=employee_id, profile=Profile(id=employee_id))

    @classmethod
    def erased_record(cls, employee_id: str, at: datetime) -> EmployeeState:
        """What is kept of an erased employee: their opaque id and the time of the erasure, nothing else."""
        return cls(employee_id=employee_id, profile=Profile(id=employee_id), erased_at=at.astimezone(UTC),
                   forgotten=True)

    def remember(self, key: str, event_time: datetime, now: datetime, max_age: timedelta) -> None:
        """Note an event as seen and forget the keys of events older than ``max_age`` before ``now``.

        A key of unknown time (from an old state) counts as seen ``now``, so it is kept ``max_age`` more.
        With a clock that does not go back, a replay of a forgotten event is itself older than
        ``max_age`` when it comes, so the stale rules hold it.
        """
        self.seen[key] = event_time.astimezone(UTC)
        horizon = now - max_age
        self.seen = {k: (now.astimezone(UTC) if t == UNKNOWN_TIME else t) for k, t in self.seen.items()
                     if t == UNKNOWN_TIME or t >= horizon}

    def update_profile(self, event_type: str, data: dict[str, Any], event_time: datetime, *,
                       stale: bool = False) -> None:
        """Apply an event to the profile, except where a newer event (by event time) set the same key:
        that key keeps its newer value. Events of equal time apply in the order they come, except a
        ``stale`` one (it may be a replay): it does not overwrite a key set at its own time either."""
        if not changes_profile(event_type):
            return  # nothing to apply: no key is set, so none to keep or time
        profile = self.profile
        before = {part: dict(getattr(profile, part)) for part in _PROFILE_PARTS}
        apply_event(profile, event_type, data, event_time)
        at = event_time.astimezone(UTC)
        for part in _PROFILE_PARTS:
            old, new = before[part], getattr(profile, part)
            for key in sorted(old.keys() | new.keys()):
                if key in old and key in new and old[key] == new[key]:
                    continue
                name = f"{part}.{key}"
                newer = self.profile_times.get(name)
                if newer is None or newer < at or (newer == at and not stale):
                    self.profile_times[name] = at
                elif key in old:
                    new[key] = old[key]
                else:
                    del new[key]


class Slot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: datetime
    message_id: str


class Placing(BaseModel):
    """The recipient's own time zone and quiet hours ("HH:MM:SS-HH:MM:SS", None: the policy's), as their latest change
    that reached their mailbox said (it is the one in force: the mailbox acts in decision order). Kept in every
    person's mailbox, so as small as it can be: no time of the change (nothing reads it), quiet hours left out when
    the policy's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str
    quiet_hours: str | None = Field(None, exclude_if=unset)
    # the listed country whose weekend they keep (README "Working days"); left out for the policy's ``weekend``,
    # as in a placing stored before 2026-12-06
    weekend_country: str | None = Field(None, exclude_if=unset)


class MailboxState(BaseModel):
    """What one recipient has been sent and what waits for them (frequency cap, quiet hours).

    Two orders hold, and the mailbox relies on them to work without scanning: ``slots`` are in time order
    (each new slot is at or after every slot before it), and ``pending`` is in the order the messages were
    held, which is also the order of their times. So the last ``len(pending)`` slots are the held messages' slots, in
    the order of ``pending`` (a slot of a message that went is never after a held one)."""

    model_config = ConfigDict(extra="forbid")

    recipient_id: str
    slots: list[Slot] = Field(default_factory=list, exclude_if=unset)
    pending: dict[str, Message] = Field(default_factory=dict, exclude_if=unset)
    opt_out_channels: list[str] = Field(default_factory=list, exclude_if=unset)
    opt_out_topics: list[str] = Field(default_factory=list, exclude_if=unset)
    paused_until: datetime | None = Field(None, exclude_if=unset)
    # the recipient's sensitive leave, as ``LeaveChanged`` said
    leave: LeavePeriod | None = Field(None, exclude_if=unset)
    # held until the leave ends, in the order held; the rules of those held messages that are not "defer"
    on_leave: dict[str, Message] = Field(default_factory=dict, exclude_if=unset)
    leave_rules: dict[str, Literal["send", "suppress"]] = Field(default_factory=dict, exclude_if=unset)
    # where the recipient was when a message was last held here (their timezone, their own quiet hours as
    # "HH:MM:SS-HH:MM:SS"): what waits is placed again by them when a message before it is withdrawn
    timezone: str | None = Field(None, exclude_if=unset)
    quiet_hours: str | None = Field(None, exclude_if=unset)
    weekend_country: str | None = Field(None, exclude_if=unset)  # and the weekend they kept (``Placing``)
    # the recipient's own placing choices as they stand at the mailbox's clock (every change of them reaches the
    # mailbox, in decision order, a first profile included): a message is placed by these, not by the copy it
    # carries from the partition that decided it (README "Kafka order"); None in a mailbox that has not heard of
    # them (a state from before 2026-12-06): the copy then
    placing: Placing | None = Field(None, exclude_if=unset)
    # the first held message whose time is only the latest it will go (it, and every message held after it, waited
    # behind a message withdrawn since): placed again when the message before it leaves the queue (README, Mailbox)
    stale_from: str | None = Field(None, exclude_if=unset)
    # when the recipient's termination takes effect, as ``Departure`` said: a message about someone else whose time
    # comes then or later does not go (README "Leavers")
    left_at: datetime | None = Field(None, exclude_if=unset)
