"""Compare two runs of the same events: the current journeys and the planned ones."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from wayfinder.journeys.model import Journey, LearningPathStep, RoadmapStep, SendStep, TaskStep
from wayfinder.journeys.records import Message, Task

OUT = ("sent", "approved", "deferred", "pending_approval")  # messages that go (or wait to go) to a person


@dataclass
class Run:
    """What one set of journeys did with the events."""

    journeys: dict[str, Journey]
    enrolled: dict[str, int]
    messages: list[Message]
    tasks: list[Task]
    over_cap: set[str] = field(default_factory=set)  # recipients the frequency cap holds back (over_cap())
    # what else the words and choices come from: each template's sources (every locale's), each resource and the
    # policy, as written (a plan named journey edits only: a reworded template or a new resource went unsaid)
    templates: dict[str, tuple[object, ...]] = field(default_factory=dict)
    resources: dict[str, object] = field(default_factory=dict)
    policy: object = None

    def weekly(self) -> Counter[tuple[str, str]]:
        """Messages per (recipient, ISO week), as the recipient gets them: a digest once, not the messages in it."""
        out: Counter[tuple[str, str]] = Counter()
        for m in self.messages:
            if m.status in OUT and m.recipient_id and m.digest_id is None:
                year, week, _ = m.scheduled_for.isocalendar()
                out[(m.recipient_id, f"{year}-W{week:02d}")] += 1
        return out

    def overlaps(self) -> set[tuple[str, str]]:
        """(recipient, week) that get messages from more than one journey (a digest is not a journey: the messages
        in it count, from theirs)."""
        seen: dict[tuple[str, str], set[str]] = defaultdict(set)
        for m in self.messages:
            if m.status in OUT and m.recipient_id and not m.is_digest:
                year, week, _ = m.scheduled_for.isocalendar()
                seen[(m.recipient_id, f"{year}-W{week:02d}")].add(m.journey_id)
        return {k for k, journeys in seen.items() if len(journeys) > 1}

    def producing_steps(self) -> set[tuple[str, str]]:
        return {(m.journey_id, m.step_id) for m in self.messages} | {(t.journey_id, t.step_id) for t in self.tasks}


@dataclass
class Plan:
    lines: list[str] = field(default_factory=list)
    changes: int = 0


def _journey_changes(current: Run, planned: Run, plan: Plan) -> None:
    for jid in sorted(set(current.journeys) | set(planned.journeys)):
        before, after = current.journeys.get(jid), planned.journeys.get(jid)
        if before is None:
            mark, what = "+", "new"
        elif after is None:
            mark, what = "-", "removed"
        elif before.model_dump() != after.model_dump():
            mark, what = "~", (f"changed (v{before.version} -> v{after.version})" if before.version != after.version
                               else f"changed without a new version (still v{after.version})")
        else:
            continue
        plan.changes += 1
        was, now = current.enrolled.get(jid, 0), planned.enrolled.get(jid, 0)
        plan.lines.append(f"  {mark} journey {jid}: {what}; enrolls {was} -> {now}")
        if before is not None and after is not None and (edits := _edits(before, after)):
            plan.lines.append(f"    {'; '.join(edits)}")
        if before is not None and after is not None and before.version == after.version:
            plan.lines.extend(_in_place(jid, before, after))


def _in_place(jid: str, before: Journey, after: Journey) -> list[str]:
    """The warning for a journey edited without a new version, saying what the engine does with the people
    already in it: an enrollment keeps its version and its place in it by step number, and the engine reads that
    version's steps as they are now. A draft enrolls nobody (the worker has no ``--include-drafts``): no one moves."""
    if before.status == "draft":
        return []
    if _outline(before) != _outline(after):
        return [f"  ! journey {jid}: its steps changed but its version is still {after.version}: an enrollment "
                "keeps its version and its place by step number, so running ones would go on in the edited steps "
                "(the engine ends those whose wait is gone); give the edit a new `version` and keep the old file "
                "beside it to keep them on the old steps"]
    return [f"  ! journey {jid}: edited but its version is still {after.version}: running enrollments keep their "
            "place and go on in the edited steps (a wait or timeout they are in keeps the time it was given; what "
            "they wait for, their exits and every later step are read as edited), and new ones start on the edit; "
            "give the edit a new `version` and keep the old file beside it to keep running ones on what they "
            "started"]


def _edits(before: Journey, after: Journey) -> list[str]:
    """What changed in a journey, by the names its author wrote: its trigger, audience, exits, status and
    sensitivity, and its steps added, removed, changed or moved."""
    old, new = before.model_dump(), after.model_dump()
    said = [f"{name} changed" for name in ("trigger", "audience", "exit_on", "reentry", "status", "sensitivity")
            if old.get(name) != new.get(name)]
    was = {s["id"]: (i, s) for i, s in enumerate(old["steps"])}
    now = {s["id"]: (i, s) for i, s in enumerate(new["steps"])}
    for label, ids in (("steps added", [i for i in now if i not in was]),
                       ("steps removed", [i for i in was if i not in now]),
                       ("steps changed", [i for i in now if i in was and now[i][1] != was[i][1]])):
        if ids:
            said.append(f"{label}: {', '.join(ids)}")
    kept = [i for i in now if i in was]
    if kept != sorted(kept, key=lambda i: was[i][0]):
        said.append("steps in another order")
    return said


def _changed(kind: str, before: Mapping[str, object], after: Mapping[str, object], plan: Plan) -> None:
    """One line for the templates (or resources) added, removed or changed, by id."""
    said = [f"{label}: {', '.join(ids[:10])}{f' (+{len(ids) - 10} more)' if len(ids) > 10 else ''}"
            for label, ids in (("added", sorted(set(after) - set(before))),
                               ("removed", sorted(set(before) - set(after))),
                               ("changed", sorted(k for k in set(before) & set(after) if before[k] != after[k])))
            if ids]
    if said:
        plan.changes += 1
        plan.lines.append(f"  ~ {kind}: {'; '.join(said)}")


def _reworded(current: Run, planned: Run) -> int:
    """Messages both runs make (the same id) whose words differ: what a template edit does to people."""
    before = {m.message_id: (m.subject, m.text, m.html) for m in current.messages}
    return sum(1 for m in planned.messages
               if (was := before.get(m.message_id)) is not None and was != (m.subject, m.text, m.html))


def _outline(journey: Journey) -> list[tuple[str, str]]:
    """The steps' ids and kinds, in order: what an enrollment's place (a step number) refers to."""
    return [(step.id, type(step).__name__) for step in journey.steps]


def _weekly(current: Run, planned: Run, plan: Plan) -> None:
    before, after = current.weekly(), planned.weekly()
    # a person with more messages in some week than that week had before (their busiest week may stay as busy)
    more = sorted({recipient for (recipient, week), n in after.items() if n > before.get((recipient, week), 0)})
    plan.lines.append(f"  messages: {sum(before.values())} -> {sum(after.values())}; busiest week per "
                      f"recipient {max(before.values(), default=0)} -> {max(after.values(), default=0)}; "
                      f"{len(more)} recipient(s) get more in some week" + (f": {', '.join(more[:10])}" if more
                                                                            else ""))


def _steps(planned: Run, unreachable: Iterable[str], plan: Plan) -> None:
    produced = planned.producing_steps()
    idle = []
    for jid, journey in sorted(planned.journeys.items()):
        if journey.status != "active":
            continue
        for step in journey.steps:
            speaks = isinstance(step, SendStep | RoadmapStep | TaskStep | LearningPathStep)
            if speaks and (jid, step.id) not in produced:
                idle.append(f"{jid}/{step.id}")
    for line in unreachable:
        plan.lines.append(f"  ! {line}")
    if idle:
        plan.lines.append(f"  ! {len(idle)} step(s) produced nothing over these events: {', '.join(idle[:12])}")


def over_cap(messages: Iterable[Message], cap: int, per: timedelta) -> set[str]:
    """Recipients who, with no cap, would get more than ``cap`` messages within some ``per``: the cap defers
    some of theirs. Give it the messages of a run without the cap."""
    times: dict[str, list[datetime]] = defaultdict(list)
    for m in messages:  # digests and what they gather are outside the cap (README "Digests")
        if m.status in OUT and m.recipient_id and m.digest_id is None and not m.is_digest:
            times[m.recipient_id].append(m.scheduled_for)
    out = set()
    for recipient, when in times.items():
        when.sort()
        start = 0
        for end in range(len(when)):
            while when[end] - when[start] >= per:
                start += 1
            if end - start + 1 > cap:
                out.add(recipient)
                break
    return out


def compare(current: Run, planned: Run, unreachable: Iterable[str] = ()) -> Plan:
    """The plan: journeys added, removed or changed (and who they enroll), messages per recipient per week,
    overlaps, the frequency cap, and steps that are never reached."""
    plan = Plan()
    _journey_changes(current, planned, plan)
    if not plan.changes:
        plan.lines.append("  no journey changes")
    _changed("templates", current.templates, planned.templates, plan)
    _changed("catalog resources", current.resources, planned.resources, plan)
    if current.policy != planned.policy:
        plan.changes += 1
        plan.lines.append("  ~ policy changed")
    if reworded := _reworded(current, planned):
        plan.lines.append(f"  {reworded} message(s) read differently (the same message, other words)")
    _weekly(current, planned, plan)
    before_o, after_o = current.overlaps(), planned.overlaps()
    plan.lines.append(f"  overlaps (one recipient, one week, several journeys): {len(before_o)} -> {len(after_o)}"
                      + (f"; new: {len(after_o - before_o)}" if after_o - before_o else ""))
    before_c, after_c = current.over_cap, planned.over_cap
    new_c = sorted(after_c - before_c)
    plan.lines.append(f"  recipients the frequency cap holds back: {len(before_c)} -> {len(after_c)}"
                      + (f"; new: {', '.join(new_c[:10])}" if new_c else ""))
    _steps(planned, unreachable, plan)
    return plan


def render(plan: Plan, title: str) -> str:
    return "\n".join([title, *plan.lines]) + "\n"
