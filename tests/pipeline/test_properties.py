"""Hypothesis properties: replays are deterministic, roadmaps respect ``requires``, quiet hours hold, and a
capped message is deferred, never lost."""

from __future__ import annotations

import heapq
import itertools
import tempfile
import textwrap
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import NEW_PARENT, world_defs
from wayfinder.catalog.graph import CatalogGraph
from wayfinder.catalog.model import ResourceSpec, TopicSpec
from wayfinder.journeys._durations import parse_duration
from wayfinder.journeys._time import next_allowed
from wayfinder.journeys.effects import Decide, Dispatch, MailboxTimer, Schedule
from wayfinder.journeys.events import CloudEvent
from wayfinder.journeys.loader import Definitions
from wayfinder.journeys.mailbox import Mailbox, MailboxOutcome
from wayfinder.journeys.model import FrequencyCap, Policy, QuietHoursPolicy
from wayfinder.journeys.records import Message
from wayfinder.journeys.state import MailboxState
from wayfinder.streams.embedded import EmbeddedRunner

ZONES = ("Europe/Berlin", "America/New_York", "Europe/Paris", "Asia/Tokyo", "Australia/Sydney", "UTC")
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
# around each 2026 DST change (US 03-08, EU 03-29, EU 10-25, US 11-01; Sydney 04-05 and 10-04)
DST_DAYS = tuple(datetime(2026, m, d, tzinfo=UTC) for m, d in
                 ((3, 7), (3, 28), (10, 24), (10, 31), (4, 4), (10, 3)))

# -- a. replay determinism ------------------------------------------------------------------------


BACK_FROM_LEAVE = """
apiVersion: wayfinder/v1
kind: Journey
id: back-from-leave
name: Back from leave
owner: people@example.com
version: 1
trigger:
  event: hris.leave.ended
  when: event.data.leave_type == "parental"
reentry: always
exit_on:
  - event: hris.employee.terminated
steps:
  - id: welcome-back
    send: {channel: email, template: new-parent/return, resources: {topics: [return-to-work, flexible-work]}}
  - id: settle-in
    wait: {for: 3d}
  - id: check-in
    send: {channel: intranet, template: new-parent/return}
"""

POLICY_YAML = """
apiVersion: wayfinder/v1
kind: Policy
frequency_cap: {max: 2, per: 7d}
quiet_hours: {start: "20:00", end: "08:00", weekends: true}
"""


@cache
def world() -> Definitions:
    """The small world's catalog and templates, two journeys and a policy; loaded once, kept in memory."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = {"journeys/new-parent.yaml": NEW_PARENT, "journeys/back-from-leave.yaml": BACK_FROM_LEAVE,
                 "policy.yaml": POLICY_YAML}
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return world_defs(root / "journeys", policy=root / "policy.yaml")


class RecordingRunner(EmbeddedRunner):
    """The embedded runner, keeping every decision in the order it was made."""

    def __init__(self, defs: Definitions) -> None:
        super().__init__(defs)
        self.log: list[Message] = []

    def record(self, message: Message) -> None:
        self.log.append(message)
        super().record(message)


EMPLOYEES = ("E1", "E2", "E3")
WINDOWS = ("20:00-08:00", "22:00-07:00", "12:00-13:00", "23:00-03:00")


@st.composite
def hr_events(draw: st.DrawFn) -> list[CloudEvent]:
    """Profiles first, then dependents, returns from leave, profile changes and terminations over a year."""
    events: list[CloudEvent] = []

    def add(etype: str, subject: str, minute: int, data: dict[str, Any]) -> None:
        events.append(CloudEvent(specversion="1.0", id=f"ev-{len(events)}", source="hris", type=etype,
                                 time=YEAR_START + timedelta(minutes=minute), subject=subject, data=data))

    def profile(subject: str, minute: int) -> None:
        country = draw(st.sampled_from(("DE", "US", "FR")))
        data: dict[str, Any] = {
            "id": subject, "given_name": "Sam", "email": f"{subject.lower()}@example.com", "country": country,
            "timezone": draw(st.sampled_from(ZONES)), "locale": {"DE": "de-DE", "US": "en-US", "FR": "fr-FR"}[country],
            "employment_type": draw(st.sampled_from(("employee", "employee", "contractor"))),
        }
        own = draw(st.none() | st.sampled_from(WINDOWS))
        if own is not None:
            data["preferences"] = {"quiet_hours": own}
        add("hris.employee.upserted", subject, minute, data)

    year = 365 * 24 * 60
    for subject in EMPLOYEES[: draw(st.integers(1, len(EMPLOYEES)))]:
        profile(subject, draw(st.integers(0, 60 * 24 * 30)))
    for _ in range(draw(st.integers(1, 12))):
        subject = draw(st.sampled_from(EMPLOYEES))
        minute = draw(st.integers(0, year))
        on = (YEAR_START + timedelta(minutes=minute)).date() + timedelta(days=draw(st.integers(-10, 3)))
        kind = draw(st.sampled_from(("dependent", "dependent", "leave", "leave", "terminated", "profile")))
        if kind == "dependent":
            add("hris.dependent.added", subject, minute, {
                "relationship": draw(st.sampled_from(("child", "child", "spouse"))), "reason": "birth",
                "date": on.isoformat()})
        elif kind == "leave":
            add("hris.leave.ended", subject, minute, {
                "leave_type": draw(st.sampled_from(("parental", "parental", "medical"))),
                "return_date": on.isoformat()})
        elif kind == "terminated":
            add("hris.employee.terminated", subject, minute, {"termination_date": on.isoformat()})
        else:
            profile(subject, minute)
    return events


UNTIL = datetime(2027, 9, 1, tzinfo=UTC)


def replay(events: list[CloudEvent]) -> RecordingRunner:
    runner = RecordingRunner(world())
    runner.run(events, UNTIL)
    return runner


def outputs(runner: EmbeddedRunner) -> dict[str, Any]:
    return {
        "messages": {mid: m.model_dump(mode="json") for mid, m in sorted(runner.messages.items())},
        "tasks": {tid: t.model_dump(mode="json") for tid, t in sorted(runner.tasks.items())},
        "lifecycle": dict(runner.stats.lifecycle),
    }


@settings(max_examples=40, deadline=None)
@given(hr_events(), st.booleans())
def test_a_replay_gives_the_same_messages_and_duplicates_change_nothing(events: list[CloudEvent],
                                                                        adjacent: bool) -> None:
    first, second = replay(events), replay(events)
    assert outputs(first) == outputs(second)
    assert [(m.message_id, m.status, m.scheduled_for) for m in first.log] == \
        [(m.message_id, m.status, m.scheduled_for) for m in second.log]

    # no message is decided twice the same way in a row (a move to another timezone may defer it again, to another
    # time), and nothing follows its sending
    for mid, statuses in _by_id(first.log).items():
        counts = Counter(statuses)
        assert counts["sent"] <= 1, (mid, statuses)
        records = [(m.status, m.reason, m.scheduled_for) for m in first.log if m.message_id == mid]
        assert all(a != b for a, b in itertools.pairwise(records)), (mid, records)
        if "sent" in statuses:
            assert statuses[-1] == "sent", (mid, statuses)
        assert first.messages[mid].status == statuses[-1]
    # one decision per (employee, journey, step, enrollment): different steps never share an id
    keys = {(m.employee_id, m.journey_id, m.step_id, m.created_at) for m in first.messages.values()}
    assert len(keys) == len(first.messages)

    twice = [e for e in events for _ in range(2)] if adjacent else events + events
    doubled = replay(twice)
    assert outputs(doubled) == outputs(first)
    assert doubled.stats.duplicates == len(events)
    assert [(m.message_id, m.status) for m in doubled.log] == [(m.message_id, m.status) for m in first.log]


def _by_id(log: list[Message]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for m in log:
        out.setdefault(m.message_id, []).append(m.status)
    return out


# -- b. roadmaps respect requires -----------------------------------------------------------------

TOPICS = [TopicSpec(id="onboarding"), TopicSpec(id="it", parent="onboarding"), TopicSpec(id="other")]
ELIGIBILITY: dict[str | None, Callable[[Mapping[str, Any]], bool]] = {
    None: lambda e: True,
    'employee.country == "DE"': lambda e: e.get("country") == "DE",
    'employee.work_mode != "onsite"': lambda e: e.get("work_mode") is not None and e["work_mode"] != "onsite",
    'employee.department == "Engineering"': lambda e: e.get("department") == "Engineering",
    'has(employee.department) && employee.department != "Sales"':
        lambda e: e.get("department") is not None and e["department"] != "Sales",
}


@dataclass(frozen=True)
class RoadmapCase:
    resources: list[ResourceSpec]
    employee: dict[str, Any]
    start: date
    horizon: int
    delivered: frozenset[str]


@st.composite
def roadmap_cases(draw: st.DrawFn) -> RoadmapCase:
    resources: list[ResourceSpec] = []
    for i in range(draw(st.integers(1, 10))):
        earlier = [r.id for r in resources]
        requires = draw(st.lists(st.sampled_from(earlier), unique=True, max_size=3)) if earlier else []
        resources.append(ResourceSpec.model_validate({
            "id": f"r{i}", "type": draw(st.sampled_from(("task", "learning", "tool"))), "title": f"Item {i}",
            "topics": draw(st.sampled_from((["onboarding"], ["it"], ["other"], ["it", "other"]))),
            "eligibility": draw(st.sampled_from(list(ELIGIBILITY))),
            "day": draw(st.none() | st.integers(1, 40)), "requires": requires,
        }))
    employee: dict[str, Any] = {"id": "E1", "country": draw(st.sampled_from(("DE", "US", "FR"))),
                                "work_mode": draw(st.sampled_from(("onsite", "hybrid", "remote")))}
    department = draw(st.none() | st.sampled_from(("Engineering", "Sales", "Finance")))
    if department is not None:
        employee["department"] = department
    delivered = frozenset(draw(st.lists(st.sampled_from([r.id for r in resources]), max_size=2)))
    start = date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 364)))
    return RoadmapCase(resources, employee, start, draw(st.integers(1, 45)), delivered)


@settings(max_examples=60, deadline=None)
@given(roadmap_cases())
def test_a_roadmap_always_respects_requires(case: RoadmapCase) -> None:
    graph = CatalogGraph(TOPICS, case.resources)
    selection = graph.roadmap(["onboarding"], case.employee, start=case.start, horizon_days=case.horizon,
                              delivered=case.delivered)
    by_id = {r.id: r for r in case.resources}
    items = selection.roadmap
    ids = [item.id for item in items]
    assert len(ids) == len(set(ids))
    assert [r.id for r in selection.resources] == ids
    position = {rid: i for i, rid in enumerate(ids)}
    dated = {item.id: item.date for item in items}

    def offered(rid: str) -> bool:
        r = by_id[rid]
        return (rid not in case.delivered and any(t in ("onboarding", "it") for t in r.topics)
                and ELIGIBILITY[r.eligibility.source if r.eligibility else None](case.employee))

    # the expected days: an item's own day, or later when something it requires comes later
    effective: dict[str, int] = {}
    for r in case.resources:  # requires only point to earlier resources
        if offered(r.id):
            effective[r.id] = max([r.day or 1, *(effective[q] for q in r.requires if q in effective)])

    assert set(ids) == {rid for rid, day in effective.items() if day <= case.horizon}
    for item in items:
        r = by_id[item.id]
        assert offered(item.id)
        assert item.day == effective[item.id]
        assert (r.day or 1) <= item.day <= case.horizon
        # day N is the Nth working day (weekends and the country's public holidays skipped)
        assert graph.calendar.is_working_day(item.date, case.employee.get("country"))
        assert item.date >= case.start
        assert item.date - case.start >= timedelta(days=item.day - 1)
    for a in items:
        for b in items:
            assert (a.day < b.day) == (a.date < b.date)
        assert set(item.requires) == {q for q in r.requires if offered(q)}
        for req in r.requires:
            if offered(req):
                assert req in position, f"{item.id} is listed without {req}, which it requires"
            if req in position:
                assert position[req] < position[item.id]
                assert dated[req] <= item.date


# -- c. nothing is scheduled inside quiet hours ---------------------------------------------------

QUIET_WINDOWS = (("20:00", "08:00"), ("22:00", "07:00"), ("12:00", "13:00"), ("18:30", "09:15"),
                 ("23:00", "03:00"), ("00:00", "06:00"), ("09:00", "17:00"))


def _t(text: str) -> time:
    return time.fromisoformat(text)


def wall_clock_quiet(instant: datetime, tz: ZoneInfo, window: tuple[time, time] | None, weekends: bool) -> bool:
    """An independent reading of quiet hours: the recipient's wall clock and calendar."""
    local = instant.astimezone(tz)
    if weekends and local.weekday() >= 5:
        return True
    if window is None:
        return False
    start, end, t = window[0], window[1], local.time()
    if start < end:
        return start <= t < end
    if start > end:
        return t >= start or t < end
    return False


instants = st.one_of(
    st.integers(0, 365 * 86400).map(lambda s: YEAR_START + timedelta(seconds=s)),
    st.tuples(st.sampled_from(DST_DAYS), st.integers(0, 3 * 86400)).map(lambda p: p[0] + timedelta(seconds=p[1])),
)


@dataclass
class Recipient:
    """One mailbox driven like the runner does: timers due at or before each dispatch fire first."""

    mailbox: Mailbox
    state: MailboxState
    timezone: str
    own: tuple[time, time] | None
    timers: list[tuple[datetime, int, MailboxTimer]]
    sent_by_timer: list[Message]
    seq: int = 0

    @classmethod
    def new(cls, policy: Policy, timezone: str, own: tuple[time, time] | None) -> Recipient:
        return cls(Mailbox(policy), MailboxState(recipient_id="R1"), timezone, own, [], [])

    def fire_until(self, until: datetime | None) -> None:
        while self.timers and (until is None or self.timers[0][0] <= until):
            due, _, timer = heapq.heappop(self.timers)
            self.sent_by_timer.extend(_decisions(self.mailbox.on_timer(self.state, timer, due)))

    def dispatch(self, mid: str, now: datetime) -> Message:
        self.fire_until(now)
        m = Message(message_id=mid, employee_id="E1", recipient_id="R1", journey_id="j", journey_version=1,
                    step_id="s", channel="email", status="deferred", scheduled_for=now, created_at=now)
        out = self.mailbox.dispatch(self.state, Dispatch("R1", m, self.timezone, self.own), now)
        for effect in out.effects:
            if isinstance(effect, Schedule):
                assert isinstance(effect.timer, MailboxTimer)
                heapq.heappush(self.timers, (effect.due, self.seq, effect.timer))  # ties: in the order set
                self.seq += 1
        [decided] = _decisions(out)
        assert decided.message_id == mid
        return decided


def _decisions(out: MailboxOutcome) -> list[Message]:
    return [e.message for e in out.effects if isinstance(e, Decide)]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(ZONES), st.sampled_from(QUIET_WINDOWS), st.booleans(),
       st.none() | st.sampled_from(QUIET_WINDOWS), st.lists(instants, min_size=1, max_size=8))
def test_no_message_is_scheduled_inside_quiet_hours(timezone: str, window: tuple[str, str], weekends: bool,
                                                    own: tuple[str, str] | None, times: list[datetime]) -> None:
    policy = Policy(quiet_hours=QuietHoursPolicy(start=window[0], end=window[1], weekends=weekends))
    own_window = (_t(own[0]), _t(own[1])) if own is not None else None
    used = own_window or (_t(window[0]), _t(window[1]))
    tz = ZoneInfo(timezone)
    box = Recipient.new(policy, timezone, own_window)
    waiting: list[datetime] = []
    for i, now in enumerate(sorted(times)):
        waiting = [t for t in waiting if t > now]  # their timers fired before this dispatch
        m = box.dispatch(f"m-{i}", now)
        t = m.scheduled_for
        base = max([now, *waiting])
        assert not wall_clock_quiet(t, tz, used, weekends), (t.astimezone(tz), used, weekends)
        assert next_allowed(t, tz, used, policy.quiet_weekdays) == t
        assert t == next_allowed(base, tz, used, policy.quiet_weekdays)  # the first allowed time, behind what waits
        assert t == base or wall_clock_quiet(t - timedelta(seconds=1), tz, used, weekends)
        if t == now:
            assert (m.status, m.reason) == ("sent", None)
        else:
            assert m.status == "deferred"
            # what holds it at its own time (the quiet hours), also behind a message waiting for them; "queued"
            # only when nothing but that message does
            quiet_now = next_allowed(now, tz, used, policy.quiet_weekdays) != now
            assert m.reason == ("quiet_hours" if quiet_now else "queued")
            waiting.append(t)
    box.fire_until(None)
    for m in box.sent_by_timer:
        assert m.status == "sent"
        assert not wall_clock_quiet(m.scheduled_for, tz, used, weekends)


# -- d. a capped message is deferred, never lost --------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 4), st.sampled_from(("1h", "1d", "36h", "3d", "7d")), st.booleans(),
       st.sampled_from(ZONES), st.lists(st.integers(0, 21 * 86400), min_size=1, max_size=14),
       st.sampled_from((YEAR_START, *DST_DAYS)))
def test_a_capped_message_is_deferred_never_lost(cap: int, per: str, quiet: bool, timezone: str,
                                                 offsets: list[int], origin: datetime) -> None:
    policy = Policy(frequency_cap=FrequencyCap(max=cap, per=per),
                    quiet_hours=QuietHoursPolicy(start="20:00", end="08:00", weekends=True) if quiet else None)
    window = parse_duration(per)
    box = Recipient.new(policy, timezone, None)
    nows = sorted(origin + timedelta(seconds=s) for s in offsets)
    first: dict[str, Message] = {}
    for i, now in enumerate(nows):
        m = box.dispatch(f"m-{i:02d}", now)
        assert m.message_id not in first
        first[m.message_id] = m
        assert m.status in ("sent", "deferred")
        assert m.scheduled_for >= now
        assert (m.status == "sent") == (m.scheduled_for == now)
        if m.status == "deferred":
            assert m.reason in ("frequency_cap", "quiet_hours", "queued")
    box.fire_until(None)

    later = Counter(m.message_id for m in box.sent_by_timer)
    deferred = {mid for mid, m in first.items() if m.status == "deferred"}
    assert set(later) == deferred  # every deferred message went, and only those
    assert all(n == 1 for n in later.values())
    for m in box.sent_by_timer:
        assert m.status == "sent"
        assert m.scheduled_for == first[m.message_id].scheduled_for
    assert box.state.pending == {}

    # in order, and never more than `max` in any window of `per`
    went = [first[f"m-{i:02d}"].scheduled_for for i in range(len(nows))]
    assert went == sorted(went)
    for t in went:
        assert sum(1 for s in went if t - window < s <= t) <= cap, (t, went)
    assert [m.message_id for m in box.sent_by_timer] == sorted(deferred)
