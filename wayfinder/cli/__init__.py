"""The ``wayfinder`` command (SPEC §7)."""

from __future__ import annotations

import argparse
import difflib
import json
import logging
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path
from typing import Any

from wayfinder import __version__, examples_dir
from wayfinder.cli import deliver as deliver_cli
from wayfinder.cli import sending as sending_cli
from wayfinder.cli.made_up import candidates
from wayfinder.cli.paths import (
    PathProblem,
    check_new_folder,
    check_out_folder,
    events_file,
    fallback_note,
    no_events_for,
    read_profile_file,
    with_bundled,
)
from wayfinder.cli.preview import (
    HORIZON,
    Timezones,
    follow,
    local_time,
    profile_then,
    still_waiting,
    why_nothing,
    why_resources,
)
from wayfinder.cli.report import print_summary
from wayfinder.cli.runfile import write_run
from wayfinder.journeys import Problem
from wayfinder.journeys.checks import CLOSE, suggest
from wayfinder.journeys.effects import Skipped
from wayfinder.journeys.engine import event_view
from wayfinder.journeys.events import EARLIEST, LATEST, CloudEvent, DecodeError, decode_event, iso
from wayfinder.journeys.loader import Definitions, Sources, load, load_for_runs
from wayfinder.journeys.model import Journey
from wayfinder.journeys.profile import Profile, apply_event
from wayfinder.journeys.records import DeadLetter, Message, Task
from wayfinder.jsonrows import NotAnObject, json_object
from wayfinder.reports import cli as reports_cli
from wayfinder.safety import configure_logging
from wayfinder.scale import simulate_streaming
from wayfinder.scale.simulate import StreamingRunner, read_messages
from wayfinder.streams import cli as streams_cli
from wayfinder.streams.embedded import EmbeddedRunner, read_event_file
from wayfinder.telemetry import LOG_FORMATS
from wayfinder.vocabulary import EventType, escape_controls, parse_instant

__all__ = ["main"]

log = logging.getLogger("wayfinder")
_DATE_ONLY = re.compile(r"\s*\d{4}-\d{2}-\d{2}\s*")
STAND_IN_EMAIL = "preview@example.invalid"  # preview of a profile file without an email
NOBODY_ON_FILE = "(nobody on file)"  # preview of a message or task whose role names no one for this employee
DEMO_TAIL = timedelta(days=120)


def _parse_time(value: str) -> datetime:
    """A time given on the command line (``--at``, ``--until``): RFC 3339 with an offset, or a date alone
    (``2027-01-31``), which is that day's midnight in UTC (a date is a midnight, SPEC §4; the command line has no
    employee whose timezone would place it); within the years Wayfinder schedules (as an event's time is)."""
    try:
        parsed = (datetime.combine(date.fromisoformat(value.strip()), time_of_day(0), UTC)
                  if _DATE_ONLY.fullmatch(value) else parse_instant(value))
    except ValueError as e:
        why = str(e) if _DATE_ONLY.fullmatch(value) is None else f"{value.strip()!r} is no day of the calendar ({e})"
        raise argparse.ArgumentTypeError(why) from e
    try:
        in_range = EARLIEST <= parsed.astimezone(UTC).date() <= LATEST
    except OverflowError:
        in_range = False
    if not in_range:
        msg = f"{value!r} is outside {EARLIEST.isoformat()}..{LATEST.isoformat()}, the days Wayfinder schedules"
        raise argparse.ArgumentTypeError(msg)
    return parsed


def _definition_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--journeys", type=Path, help="folder (or file) of journeys [default: the bundled examples]")
    p.add_argument("--catalog", type=Path, help="folder (or file) of catalog documents [default: bundled]")
    p.add_argument("--templates", type=Path, help="templates folder; a template's id is its path in it "
                   "[default: bundled]")
    p.add_argument("--policy", type=Path, help="policy file [default: the bundled policy]")


def _sources(args: argparse.Namespace) -> Sources:
    ex = examples_dir()
    paths = [args.journeys or ex / "journeys", args.catalog or ex / "catalog"]
    return Sources(paths=paths, templates=[args.templates or ex / "templates"], policy=args.policy,
                   default_policy=ex / "policy.yaml")


def _report_problems(problems: Sequence[Problem]) -> bool:
    """Print problems to stderr; True when none is an error."""
    for p in problems:
        print(p, file=sys.stderr)
    errors = sum(1 for p in problems if p.severity == "error")
    if errors:
        print(f"{errors} error(s)", file=sys.stderr)
    return errors == 0


def _load(args: argparse.Namespace) -> Definitions | None:
    missing = [str(p) for p in (args.journeys, args.catalog, args.templates, args.policy)
               if p is not None and not p.exists()]
    if missing:  # one line each, not every journey's "unknown topic" or "unknown template" it would lead to
        for path in missing:
            print(f"{path}: no such file or folder", file=sys.stderr)
        return None
    defs, problems = load_for_runs(_sources(args))
    return defs if _report_problems(problems) else None


def _checked_load(command: str, check: Callable[[], None], args: argparse.Namespace) -> Definitions | int:
    """Check the command's own arguments first (a problem: its message and exit code 2), then load the
    definitions (problems: exit code 1); the definitions, or the exit code."""
    try:
        check()
    except (PathProblem, _BadData) as e:
        print(f"wayfinder {command}: {e}", file=sys.stderr)
        return 2
    defs = _load(args)
    return 1 if defs is None else defs


# -- commands -------------------------------------------------------------------------------
def cmd_validate(args: argparse.Namespace) -> int:
    flags = [args.journeys, args.catalog, args.templates, args.policy]
    if args.paths or any(flags):
        sources = Sources(paths=[*args.paths, *(p for p in flags[:2] if p)],
                          templates=[args.templates] if args.templates else [], policy=args.policy)
        with_bundled(sources)
    else:
        print(f"validating the bundled examples in {examples_dir()}", file=sys.stderr)
        sources = _sources(args)
        sources.paths.append(examples_dir() / "tests")
    defs, problems = load(sources)
    note = fallback_note(sources.fallback)
    if note:
        print(note, file=sys.stderr)
    if not _report_problems(problems):
        return 1
    print(f"ok: {defs.files} files, {len(defs.journeys)} journeys, {len(defs.templates)} templates, "
          f"{len(defs.catalog.resources)} resources, {len(defs.catalog.topics)} topics"
          + (f", {len(defs.tests)} journey tests" if defs.tests else ""))
    return 0


def _simulate(defs: Definitions, events_path: Path | list[Path], until: datetime | None, out: Path, *,
              include_drafts: bool, title: str) -> StreamingRunner:
    started = time.perf_counter()
    runner = simulate_streaming(defs, events_path, until, out, include_drafts=include_drafts)
    elapsed = time.perf_counter() - started
    print_summary(runner, sys.stdout, title=f"{title} ({elapsed:.2f}s)", defs=defs, include_drafts=include_drafts)
    if until is not None and runner.last_event is not None and until < runner.last_event:
        # SPEC §7: every event runs; --until only says how far timers fire after the last one
        print(f"\n  note: --until {iso(until)} is before the last event ({iso(runner.last_event)}): every event "
              "ran, and timers fired up to the last event's time")
    print(f"\n  wrote {out / 'messages.jsonl'}, tasks.jsonl, dead_letters.jsonl, audit.jsonl")
    return runner


def cmd_simulate(args: argparse.Namespace) -> int:
    defs = _checked_load("simulate", lambda: check_out_folder(args.out), args)
    if isinstance(defs, int):
        return defs
    files = [events_file(path) for path in args.events]
    runner = _simulate(defs, files, args.until, args.out, include_drafts=args.include_drafts,
                       title=f"simulate {', '.join(path.name for path in files)}")
    write_run(args.out, {"events": files if len(files) > 1 else files[0], "journeys": args.journeys,
                         "catalog": args.catalog,
                         "templates": args.templates, "policy": args.policy}, args.until)
    if args.outbox:
        _write_outbox(runner, args.out / "outbox")
    else:  # an earlier run's outbox would no longer match messages.jsonl
        from wayfinder.connectors.outbox import clear_outbox

        if clear_outbox(args.out / "outbox"):
            print(f"  took out the outbox an earlier run wrote in {args.out / 'outbox'} (--outbox writes this run's)")
    return 0


def _write_outbox(runner: EmbeddedRunner, folder: Path) -> None:
    from wayfinder.connectors.outbox import write_outbox

    counts = write_outbox(read_messages(folder.parent), folder)
    print(f"  outbox: {counts['email']} emails in {folder / 'email'} (open the .eml files), "
          f"{counts['intranet']} intranet posts in {folder / 'intranet'}")


def cmd_demo(args: argparse.Namespace) -> int:
    ex = examples_dir()
    bundled = argparse.Namespace(journeys=None, catalog=None, templates=None, policy=None)
    defs = _checked_load("demo", lambda: check_out_folder(args.out), bundled)
    if isinstance(defs, int):
        return defs
    events = ex / "events.jsonl"
    read = read_event_file(events)
    last = max(e.time for e in read.events)
    until = last + DEMO_TAIL
    runner = _simulate(defs, events, until, args.out, include_drafts=False,
                       title=f"Wayfinder demo: {len(defs.journeys)} journeys, "
                             f"{len(defs.catalog.resources)} resources, events up to {iso(last)[:10]}, "
                             f"clock run on to {iso(until)[:10]}")
    write_run(args.out, {}, until)
    _write_outbox(runner, args.out / "outbox")
    print(demo_next(args.out, len(runner.approvals)))
    return 0


def demo_next(out: Path, waiting: int) -> str:
    """What a newcomer can do after the demo, as commands to copy (the README's next steps, without the README)."""
    import shlex

    where = "" if out == Path("wayfinder-demo") else f" --out {shlex.quote(str(out))}"
    review = f"review the {waiting} waiting message(s)" if waiting else "the review queue and tasks"
    steps = [(f"wayfinder serve{where} --dev-login", f"{review} at http://127.0.0.1:8080/ (sign in as E1003, "
              "reviewer)"),
             ("wayfinder examples --copy mine", "your own copy of the journeys, catalog and events to edit"),
             ("wayfinder simulate --help", "run journeys over your events")]
    width = max(len(command) for command, _ in steps)
    return "\n  next:\n" + "\n".join(f"    {command:<{width}}  # {why}" for command, why in steps)


def _unread_about(letters: Iterable[DeadLetter], employee_id: str) -> list[str]:
    """The lines of the events file about this employee that could not be read (each ``line N (reason)``): a
    trigger with a typo in its data is not run, and preview would make one up in its place."""
    out = []
    for letter in letters:
        try:
            raw = json.loads(letter.raw)
        except ValueError:
            continue
        if isinstance(raw, dict) and raw.get("subject") == employee_id:
            out.append(f"line {letter.line} ({letter.reason})" if letter.line is not None else letter.reason)
    return out


def _preview_events(args: argparse.Namespace, journey: Journey) -> tuple[list[CloudEvent], str, list[str]]:
    journey_trigger = journey.trigger.event
    unread: list[str] = []
    if isinstance(args.employee, Path):
        profile = read_profile_file(args.employee)
        employee_id = str(profile.get("id") or "preview")
        if not profile.get("email"):  # an email to nobody is no_recipient: shown to a stand-in address instead
            profile = {**profile, "email": STAND_IN_EMAIL}
        at = args.at or datetime.now(UTC).replace(microsecond=0)
        events = [CloudEvent(specversion="1.0", id="preview-profile", source="wayfinder/preview",
                             type="hris.employee.upserted", time=at - timedelta(seconds=1), subject=employee_id,
                             data=profile)]
        if args.events is not None:  # the people around them (a manager, an HR partner), as they were by then
            before = events[0].time
            events[:0] = [e for e in read_event_file(events_file(args.events)).events
                          if e.subject != employee_id and e.time < before]
    else:
        # Everyone's events, as simulate reads them: a manager's move, opt-out or erasure, and what other people's
        # journeys send to the same mailbox (the frequency cap), decide what this employee's messages do.
        employee_id = str(args.employee)
        read = read_event_file(events_file(args.events or examples_dir() / "events.jsonl"))
        events, unread = read.events, _unread_about(read.dead_letters, employee_id)
        if not any(e.subject == employee_id for e in events):
            msg = no_events_for(employee_id, args.events, (e.subject for e in events))
            raise SystemExit(msg)
    if not any(e.subject == employee_id and e.type == journey_trigger for e in events):
        latest = max((e.time for e in events), default=datetime.now(UTC).replace(microsecond=0))
        at = args.at or latest + timedelta(seconds=1)
        events.append(_preview_trigger(args.data, journey, at, employee_id, _profile_of(events, employee_id)))
    return events, employee_id, unread


def _made_up_notes(args: argparse.Namespace, events: list[CloudEvent], employee_id: str,
                   journey_trigger: str) -> list[str]:
    """What preview made up, said before what it shows."""
    notes = []
    if isinstance(args.employee, Path) and any(e.data.get("email") == STAND_IN_EMAIL for e in events):
        notes.append(f"{args.employee.name} has no email; emails are shown as if it were {STAND_IN_EMAIL} "
                     "(a real message to nobody's address is suppressed, no_recipient)")
    made = next((e for e in events if e.id == "preview-trigger"), None)
    if made is not None and not args.data:
        notes.append(f"{employee_id} has no {made.type} event, so preview made one up at {iso(made.time)} with data "
                     f"{json.dumps(made.data, ensure_ascii=False)}; give your own with --data '{{...}}'")
    unused = [flag for flag, given in (("--data", args.data), ("--at", args.at)) if given]
    if made is None and unused and not isinstance(args.employee, Path):
        trigger = next(e.type for e in events if e.subject == employee_id and e.type == journey_trigger)
        they = "they stand" if len(unused) > 1 else "it stands"
        notes.append(f"{' and '.join(unused)} not used: {employee_id} has their own {trigger} event in the events "
                     f"file, which preview runs ({they} in for one the events do not have)")
    first = min((e.time for e in events if e.subject == employee_id and e.id != "preview-trigger"), default=None)
    if made is not None and first is not None and made.time < first:
        notes.append(f"--at {iso(made.time)} is before {employee_id}'s first event ({iso(first)}): the journey meets "
                     "them without the profile those events give them")
    return notes


def _profile_of(events: list[CloudEvent], employee_id: str) -> dict[str, Any]:
    """The employee's profile as the engine builds it from their events (for the data of a made-up trigger)."""
    profile = Profile(id=employee_id)
    for e in sorted((e for e in events if e.subject == employee_id), key=lambda e: e.time):
        apply_event(profile, e.type, e.data)
    return profile.view()


class _BadData(ValueError):
    """``preview --data`` that cannot be a trigger event's data; the message is one line."""


def _check_data(text: str | None) -> None:
    if not text:
        return
    try:
        json_object(text)
    except NotAnObject as e:
        msg = (f"--data is not JSON ({e}); give an object, e.g. --data '{{\"leave_type\": \"parental\"}}'"
               if e.found is None else f"--data must be a JSON object ({{...}}), not {e.found}")
        raise _BadData(msg) from e


def _preview_trigger(data: str | None, journey: Journey, at: datetime, employee_id: str,
                     profile: dict[str, Any]) -> CloudEvent:
    """The trigger event preview makes up, decoded like any event (so --data meets the same rules). Without --data,
    the first made-up data (``cli.made_up``) that the journey's trigger condition accepts, else the first."""
    event_type = journey.trigger.event
    if data:
        return _decoded(event_type, at, employee_id, data, given=True)
    made = [_decoded(event_type, at, employee_id, json.dumps(c), given=False)
            for c in candidates(event_type, at.date(), profile)]
    when = journey.trigger.when
    if when is not None:
        for event in made:
            view = event_view(event)
            if when.test({"event": view, "trigger": view, "now": at, "employee": profile})[0]:
                return event
    return made[0]


def _decoded(event_type: str, at: datetime, employee_id: str, data: str, *, given: bool) -> CloudEvent:
    head = json.dumps({"specversion": "1.0", "id": "preview-trigger", "source": "wayfinder/preview",
                       "type": event_type, "time": iso(at), "subject": employee_id})
    try:
        return decode_event(head[:-1] + ', "data": ' + data + "}")
    except DecodeError as e:
        msg = (f"--data cannot be the data of a {event_type} event: {e}" if given else
               f"the employee has no {event_type} event and preview cannot make one up ({e}); give its data with "
               "--data '{...}'")
        raise _BadData(msg) from e


def _print_previewed(m: Message, when: str, runner: EmbeddedRunner, resources: Iterable[str],
                     html_folder: Path | None) -> Path | None:
    """One message of a preview: who, status and when; its parts; why it failed to render; why its resources;
    its HTML page (written, and returned, with ``--html``)."""
    print(f"== {m.step_id}: {m.channel} to {m.recipient_role} {m.recipient_id or NOBODY_ON_FILE}, {m.status}"
          f"{' (' + m.reason + ')' if m.reason else ''}, {when} ({iso(m.scheduled_for)})")
    if m.status == "pending_approval":  # SPEC §4: a sensitive message waits for a human
        print("(it waits for a person to review it: it goes only once approved, from then on)")
    if m.subject is not None:  # a name from an event may hold ESC: shown, never acted on by the terminal
        text = "\n".join(escape_controls(line) for line in (m.text or "").split("\n"))
        print(f"Subject: {escape_controls(m.subject)}\n\n{text}")
    if m.reason == "render_error" and (m.journey_id, m.step_id) in runner.stats.render_failures:
        print(f"why: {'; '.join(runner.stats.render_failures[(m.journey_id, m.step_id)])}")
    for line in resources:
        print(line)
    if html_folder is not None and m.html:
        html_folder.mkdir(parents=True, exist_ok=True)
        page = html_folder / f"{m.step_id}-{m.message_id}.html"
        page.write_text(m.html, encoding="utf-8")
        print(f"HTML: {page.resolve().as_uri()}")
        print()
        return page
    print()
    return None


# ``preview --html`` with no folder (issue 9 writes the flag alone): the pages go here, beside where ``demo`` writes
PREVIEW_HTML = Path("wayfinder-preview")


def _open_pages(pages: Sequence[Path]) -> None:
    """Open the previewed messages' HTML in the browser, on a terminal only: a script or a test that runs preview
    gets the ``HTML: file://...`` lines and no browser (a text browser would take over its terminal)."""
    if not pages or not sys.stdout.isatty():
        return
    import webbrowser

    for page in pages:
        webbrowser.open(page.resolve().as_uri())


def _check_preview_args(args: argparse.Namespace) -> None:
    _check_data(args.data)
    if args.html is not None:
        check_out_folder(args.html, "--html")


def _closing_notes(args: argparse.Namespace, journey: Journey, runner: EmbeddedRunner, events: list[CloudEvent],
                   employee_id: str, zones: Timezones) -> list[str]:
    """What preview says after the messages and tasks: a made-up trigger that templates missed, an exit that ended
    the journey early, a manager or HR partner nobody has a profile for."""
    mine = [m for m in runner.messages.values() if m.employee_id == employee_id and m.journey_id == journey.id]
    notes = []
    if any(m.reason == "render_error" for m in mine) and any(
            e.source == "wayfinder/preview" and not e.data for e in events):
        notes.append("preview made the trigger event up with no data, so the templates miss its fields; "
                     "give them with --data '{...}'")
    for left, kind in runner.exits.get((employee_id, journey.id), []):
        listed = " (its exit_on lists it)" if any(x.event == kind for x in journey.exit_on) else ""
        notes.append(f"{employee_id} left the journey at {local_time(left, zones.at(employee_id, left))} "
                     f"({iso(left)}): a {kind} event ended it{listed}")
    unknown = sorted({(m.recipient_role, m.recipient_id) for m in mine
                      if m.reason == "no_recipient" and m.recipient_id and m.recipient_id not in runner.states})
    for role, person in unknown:
        where = ("no events were given (--events FILE tells who the people around them are)"
                 if isinstance(args.employee, Path) and args.events is None else "nobody in the events has a profile "
                 "for them")
        notes.append(f"{person}, this employee's {role.replace('hr_partner', 'HR partner')}, gets nothing "
                     f"(no_recipient): {where}")
    return notes


def _in_step_order(journey: Journey, items: list[Message | Task | Skipped]) -> list[Message | Task | Skipped]:
    """What preview shows of a journey, in the order the employee met it: by the time each step ran, then by the
    step's place in the journey (a skipped step between the messages and tasks it came between)."""

    def key(item: Message | Task | Skipped) -> tuple[datetime, int]:
        at = item.at if isinstance(item, Skipped) else item.created_at
        return at, journey.step_index.get(item.step_id, len(journey.steps))

    return sorted(items, key=key)


def _print_task(t: Task, employee_id: str, zones: Timezones) -> None:
    opened = local_time(t.created_at, zones.at(t.assignee_id or employee_id, t.created_at))
    state = f", {t.status}" + (f" ({t.reason})" if t.reason else "") if t.status != "open" or t.reason else ""
    print(f"== task {t.step_id} for {t.assignee} {t.assignee_id or NOBODY_ON_FILE}{state}, {opened} "
          f"({iso(t.created_at)}): {t.title}\n{t.note}\n")


def _print_path(args: argparse.Namespace, journey: Journey, defs: Definitions, runner: EmbeddedRunner,
                events: list[CloudEvent], who: tuple[str, datetime | None], shown: list[Message | Task],
                zones: Timezones) -> list[Path]:
    """The employee's messages, tasks and skipped steps in the journey, in the order they met them; the HTML pages
    written (``--html``)."""
    employee_id, erased_at = who
    pages: list[Path] = []
    skips = [s for s in (runner.skips or {}).get(employee_id, []) if s.journey_id == journey.id]
    for item in _in_step_order(journey, [*shown, *skips]):
        if isinstance(item, Message):
            when = local_time(item.scheduled_for, zones.at(item.mailbox, item.scheduled_for))
            why = ([f"Resources: {', '.join(item.resources)}"] if item.resources else []) if (
                erased_at is not None and item.created_at <= erased_at) else (
                why_resources(journey, defs, item.step_id, item.resources, runner.states.get(employee_id),
                              profile_then(events, employee_id, item.created_at, erased_at)))
            page = _print_previewed(item, when, runner, why, args.html)
            pages += [page] if page is not None else []
        elif isinstance(item, Task):
            _print_task(item, employee_id, zones)
        else:
            condition = " ".join(item.condition.split())  # a block scalar's lines, on one line
            because = (f"was false ({condition})" if item.failed is None else
                       f"failed and counts as false ({condition}: {item.failed})")
            print(f"== step {item.step_id} skipped: its `when` {because}, "
                  f"{local_time(item.at, zones.at(employee_id, item.at))} ({iso(item.at)})\n")
    return pages


def cmd_preview(args: argparse.Namespace) -> int:
    defs = _checked_load("preview", lambda: _check_preview_args(args), args)
    if isinstance(defs, int):
        return defs
    journey = defs.current().get(args.journey)
    if journey is None:
        same = [k for k in defs.current() if k.casefold() == args.journey.strip().casefold()]  # caps lock on
        near = f" (did you mean {same[0]!r}?)" if same else suggest(args.journey, defs.current(), CLOSE)
        bundled = ("; these are the bundled examples: for your own, give --journeys DIR (and --catalog, --templates, "
                   "--policy)" if args.journeys is None else "")
        print(f"unknown journey {args.journey!r}{near}; known: {', '.join(sorted(defs.current()))}{bundled}",
              file=sys.stderr)
        return 1
    # With the other journeys, as simulate runs it: what they deliver first is not offered again (SPEC §5), and
    # their messages count against the frequency cap. Alone, preview showed resources another journey had
    # already sent and a message the cap would defer as sent at once. The previewed version enrolls even as a
    # draft (what HR drafts is what they preview); other drafts do not.
    previewed = journey.model_copy(update={"status": "active"}) if journey.status == "draft" else journey
    others = {key: j for key, j in defs.journeys.items() if key[0] != journey.id}
    only = Definitions(journeys={**others, (journey.id, journey.version): previewed}, templates=defs.templates,
                       inline=defs.inline, catalog=defs.catalog, policy=defs.policy)
    try:
        events, employee_id, unread = _preview_events(args, journey)
    except _BadData as e:
        print(f"wayfinder preview: {e}", file=sys.stderr)
        return 2
    runner = EmbeddedRunner(only, keep_skipped=True)
    last = max(e.time for e in events)
    runner.run(events, last + HORIZON)
    follow(runner, journey.id, employee_id, last)
    mine = [m for m in runner.messages.values() if m.employee_id == employee_id and m.journey_id == journey.id]
    tasks = [t for t in runner.tasks.values() if t.employee_id == employee_id and t.journey_id == journey.id]
    print(f"preview of journey {journey.id} v{journey.version} ({journey.status}) for employee {employee_id}: "
          f"{len(mine)} message(s), {len(tasks)} task(s)\n")
    notes = _made_up_notes(args, events, employee_id, journey.trigger.event)
    if unread:
        notes.append(f"{len(unread)} event(s) about {employee_id} in the events file could not be read and are not "
                     f"run: {'; '.join(unread[:3])}{' ...' if len(unread) > 3 else ''}")
    # The erased-id record, or the person a hire re-created after it (README "Erasure"), which keeps its time.
    person = runner.states.get(employee_id) or runner.erased.get(employee_id)
    erased_at = person.erased_at if person is not None else None
    if person is not None and erased_at is not None:  # SPEC §9: what was sent keeps no personal data
        after = (", and nothing goes after" if person.forgotten else f"; a {EventType.HIRED} after it started them "
                 "again from nothing, and what follows it is theirs")
        notes.append(f"{employee_id} asked to be forgotten (privacy.erasure.requested) at {iso(erased_at)}: "
                     f"what went before is shown without its content{after}")
    for note in notes:
        print(f"note: {note}")
    if notes:
        print()
    zones = Timezones(events)
    pages = _print_path(args, journey, defs, runner, events, (employee_id, erased_at), [*mine, *tasks], zones)
    for note in _closing_notes(args, journey, runner, events, employee_id, zones):
        print(f"note: {note}")
    waits = still_waiting(journey, runner.states.get(employee_id),
                          zones.at(employee_id, runner.clock or last))
    if waits is not None:
        print(f"then: {waits}")
    elif not mine and not tasks:
        print("nothing, because:")
        for reason in why_nothing(journey, defs, events, employee_id):
            print(f"  - {reason}")
    _open_pages(pages)
    return 0


def _simulate_for_tests(defs: Definitions, events: list[CloudEvent], until: datetime | None,
                        include_drafts: bool) -> tuple[list[Message], list[Task]]:
    runner = EmbeddedRunner(defs, include_drafts=include_drafts)
    runner.run(events, until)
    return list(runner.messages.values()), list(runner.tasks.values())


def _placer(places: dict[tuple[str, int | None], str], where: str) -> Callable[[str, int | None], str]:
    """Where a test's expectation is written (``where``, the test's own line, when it is not known)."""
    return lambda kind, n: places.get((kind, n), where)


def cmd_test(args: argparse.Namespace) -> int:
    from wayfinder.journeytests import run_test

    root: Path = args.folder or examples_dir()
    if root.is_dir() and not (root / "journeys").is_dir():  # every test would fail with "unknown journey"
        print(f"{root / 'journeys'}: no such folder; `wayfinder test FOLDER` runs the journeys in FOLDER/journeys "
              "against the tests in FOLDER/tests (laid out as `wayfinder examples --copy` makes it)", file=sys.stderr)
        return 1
    if root.is_dir() and not (root / "tests").exists():  # it was "FOLDER/tests:1:1: no such file or folder"
        print(f"{root / 'tests'}: no such folder; `wayfinder test FOLDER` reads the journey tests (kind: JourneyTest) "
              "in FOLDER/tests (`wayfinder examples --copy DIR` makes one with examples)", file=sys.stderr)
        return 1
    defs, problems = _definitions_of(root, root / "tests")
    if not _report_problems(problems):
        return 1
    chosen = [(f, line, t) for f, line, t in defs.tests if not args.k or args.k in t.id]
    if not chosen:
        if defs.tests:
            print(f"no journey test id in {root / 'tests'} contains {args.k!r}; ids: "
                  f"{', '.join(sorted(t.id for _, _, t in defs.tests))}", file=sys.stderr)
        else:
            print(f"no journey tests (kind: JourneyTest) in {root / 'tests'}", file=sys.stderr)
        return 1
    failed = 0
    for file, line, test in chosen:
        outcome = run_test(defs, test, f"{file}:{line}", _simulate_for_tests,
                           _placer(defs.test_places.get((file, line), {}), f"{file}:{line}"))
        print(f"{'PASS' if outcome.passed else 'FAIL'} {test.id} ({outcome.where})")
        if outcome.error is not None:
            print(f"  {outcome.error}")
        for at in outcome.failed_at:
            print(f"  {at}")
        for diff_line in outcome.diff:
            print(f"  {diff_line}")
        failed += not outcome.passed
    print(f"{len(chosen) - failed} passed, {failed} failed")
    return 1 if failed else 0


def _definitions_of(root: Path, *more: Path) -> tuple[Definitions, list[Problem]]:
    """A folder laid out like the examples: journeys/, catalog/, templates/ (the bundled catalog and templates where
    missing), policy.yaml (none where missing: the folder's runs are what it says, README "wayfinder test")."""
    if not root.is_dir():
        msg = f"{root}: a file; give the folder it is in" if root.exists() else f"{root}: no such folder"
        raise SystemExit(msg)
    sources = Sources(paths=[*(p for p in (root / "journeys", root / "catalog") if p.exists()), *more],
                      templates=[root / "templates"] if (root / "templates").exists() else [],
                      policy=root / "policy.yaml" if (root / "policy.yaml").exists() else None)
    return load_for_runs(with_bundled(sources))


def cmd_plan(args: argparse.Namespace) -> int:
    from wayfinder.plan import Run, compare, over_cap, render

    planned_defs, problems = _definitions_of(args.folder)
    if not _report_problems(problems):
        return 1
    current_defs, current_problems = _definitions_of(args.current or examples_dir())
    if any(p.severity == "error" for p in current_problems):  # each with its place, as validate says them
        print(f"the current definitions ({args.current or 'the bundled examples'}) do not validate:", file=sys.stderr)
        _report_problems([p for p in current_problems if p.severity == "error"])
        return 1
    events_path = events_file(args.events or examples_dir() / "events.jsonl")
    events = read_event_file(events_path).events
    until = args.until or (max(e.time for e in events) + timedelta(days=90) if events else None)
    runs = []
    for defs in (current_defs, planned_defs):
        runner = EmbeddedRunner(defs)
        runner.run(events, until)
        enrolled = {jid: row["enrolled"] for jid, row in runner.summary().items()}
        run = Run(defs.current(), enrolled, list(runner.messages.values()), list(runner.tasks.values()),
                  templates={tid: (t.sources, t.locales) for tid, t in defs.templates.items()},
                  resources={rid: r.model_dump() for rid, r in defs.catalog.resources.items()},
                  policy=defs.policy.model_dump())
        cap = defs.policy.frequency_cap
        if cap is not None:  # who the cap holds back: the same run without it
            uncapped = Definitions(journeys=defs.journeys, templates=defs.templates, inline=defs.inline,
                                   catalog=defs.catalog, policy=defs.policy.model_copy(update={"frequency_cap": None}))
            free = EmbeddedRunner(uncapped)
            free.run(events, until)
            run.over_cap = over_cap(free.messages.values(), cap.max, cap.window)
        runs.append(run)
    unreachable = [p.message for p in problems if "can never be reached" in p.message]
    plan = compare(runs[0], runs[1], unreachable)
    print(render(plan, f"plan: {args.folder} against {args.current or 'the bundled examples'}, over "
                       f"{len(events)} events of {events_path.name}"), end="")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from wayfinder.cli.schema import write_schemas

    try:
        check_out_folder(args.out)
    except PathProblem as e:  # as demo and simulate say it: "File exists" did not say which was wrong
        print(f"wayfinder schema: {e}", file=sys.stderr)
        return 2
    written = write_schemas(args.out)
    for path in written:
        print(path)
    # a modeline's relative path is read from the file it is in: from journeys/, the folder the settings name
    from_journeys = args.out if args.out.is_absolute() else Path(os.path.relpath(args.out, "journeys"))
    print("\nEditor setup (VS Code with the YAML extension), in .vscode/settings.json:\n"
          f'  "yaml.schemas": {{"{args.out}/journey.schema.json": "journeys/*.yaml"}}\n'
          f"or at the top of a file in journeys/:  # yaml-language-server: $schema={from_journeys}/journey.schema.json")
    return 0


def cmd_examples(args: argparse.Namespace) -> int:
    if args.copy is None:
        print(examples_dir())
        return 0
    try:
        check_new_folder(args.copy)
    except PathProblem as e:
        print(f"wayfinder examples: {e}", file=sys.stderr)
        return 1
    shutil.copytree(examples_dir(), args.copy, ignore=shutil.ignore_patterns("__pycache__"))
    print(f"copied the bundled examples to {args.copy}")
    return 0


START_HERE = """\
start here:
  wayfinder demo                   # the bundled examples end to end; writes ./wayfinder-demo
  wayfinder examples --copy mine   # a copy of the examples (journeys, catalog, templates, events) to edit
  wayfinder validate mine          # check your copy: file:line:column for each error
  wayfinder simulate --help        # a command's options (and examples): wayfinder COMMAND --help

exit codes: 0 done; 1 the command failed or found errors (validate, test; the lines before say which);
2 a wrong command line; 130 interrupted (Ctrl-C). A command with more says so in its help."""

VALIDATE_EXAMPLES = """\
examples:
  wayfinder validate                                # the bundled examples
  wayfinder examples --copy mine                    # once: a copy of them to edit
  wayfinder validate mine                           # every document in it, told apart by kind
  wayfinder validate mine/journeys/new-parent.yaml  # one file (templates, catalog: the bundled ones)

exit 0 when there is no error (warnings are printed), 1 with one file:line:column line per error."""

SIMULATE_EXAMPLES = """\
examples:
  wayfinder examples --copy mine      # once: the bundled definitions and events, to edit
  wayfinder simulate --events mine/events.jsonl --journeys mine/journeys --catalog mine/catalog \\
      --templates mine/templates --policy mine/policy.yaml --until 2027-03-30 --out out
  wayfinder simulate --events mine/events.jsonl --out out    # the bundled definitions

Writes OUT/messages.jsonl, tasks.jsonl, dead_letters.jsonl and prints a summary. A bad event goes to
dead_letters.jsonl and the run goes on; exit 1 only when the definitions or the files given cannot be used."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wayfinder", description="Employee journeys: validate, simulate, "
                                     "preview and run them.", epilog=START_HERE,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the engine counts")
    parser.add_argument("--version", action="version", version=f"wayfinder {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check journeys, templates, catalog and policy (file:line:column)",
                       epilog=VALIDATE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="*", type=Path, help="files or folders; documents are told apart by kind "
                   "[default: the bundled examples]")
    _definition_args(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("simulate", help="run journeys over a file of events on a virtual clock",
                       epilog=SIMULATE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=Path, required=True, action="append", help="CloudEvents, one JSON object per "
                   "line; give it again to add a file (decisions, say): the files are read as one stream, in time "
                   "order, ties in the order given")
    _definition_args(p)
    p.add_argument("--until", type=_parse_time, help="fire timers up to this time (RFC 3339 with an offset, or a "
                   "date: its midnight in UTC) [default: the last event's]")
    p.add_argument("--out", type=Path, required=True, help="folder for messages.jsonl, tasks.jsonl, ...")
    p.add_argument("--include-drafts", action="store_true", help="let draft journeys enroll too")
    p.add_argument("--outbox", action="store_true", help="also write DIR/outbox: emails as .eml files, intranet "
                   "posts as JSON, as they would go out")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("preview", help="what one employee would get from a journey, rendered")
    p.add_argument("journey", help="journey id")
    p.add_argument("--employee", required=True, help="an employee id from the events file, or a JSON file: a profile "
                   "or an hris.employee.upserted event")
    p.add_argument("--events", type=Path, help="events file [default: the bundled events]")
    p.add_argument("--at", type=_parse_time, help="when the trigger happens, if the events have none")
    p.add_argument("--data", help="the trigger event's data, as JSON, if the events have none")
    p.add_argument("--html", type=Path, nargs="?", const=PREVIEW_HTML, metavar="DIR",
                   help=f"also write each message's HTML part to DIR [default: ./{PREVIEW_HTML}] and, on a terminal, "
                   "open it in the browser")
    _definition_args(p)
    p.set_defaults(func=cmd_preview)

    from wayfinder.cli import resources as resources_cli

    resources_cli.register(sub, _definition_args, _load)

    p = sub.add_parser("demo", help="the bundled examples end to end on the embedded engine (no Kafka)")
    p.add_argument("--out", type=Path, default=Path("wayfinder-demo"), help="folder for messages.jsonl, tasks.jsonl, "
                   "dead_letters.jsonl and outbox/ [default: ./wayfinder-demo]")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("test", help="run the journey tests (kind: JourneyTest) in FOLDER/tests against FOLDER's "
                       "journeys, catalog, templates and policy")
    p.add_argument("folder", nargs="?", type=Path, help="a definitions folder like the one `examples --copy` "
                   "makes [default: the bundled examples]")
    p.add_argument("-k", metavar="TEXT", help="only the tests whose id contains TEXT")
    p.set_defaults(func=cmd_test)

    p = sub.add_parser("plan", help="what FOLDER's journeys would change against the current ones, over a history "
                       "of events (enrollments, messages per recipient per week, overlaps, the cap, idle steps)")
    p.add_argument("folder", type=Path, help="the planned definitions, laid out like `examples --copy` makes them")
    p.add_argument("--current", type=Path, metavar="DIR", help="the current definitions [default: the bundled "
                   "examples]")
    p.add_argument("--events", type=Path, help="the history of events [default: the bundled events]")
    p.add_argument("--until", type=_parse_time, help="fire timers up to this time (as simulate's --until) "
                   "[default: 90 days after the last event]")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("schema", help="write JSON Schemas so editors complete and check the YAML")
    p.add_argument("--out", type=Path, default=Path("schemas"), help="folder for the JSON Schemas [default: ./schemas]")
    p.set_defaults(func=cmd_schema)

    streams_cli.register(sub)

    p = sub.add_parser("examples", help="where the bundled examples are, or copy them to start your own")
    p.add_argument("--copy", type=Path, metavar="DIR", help="copy the examples into DIR")
    p.set_defaults(func=cmd_examples)

    deliver_cli.register(sub)
    sending_cli.register(sub)
    reports_cli.register(sub)

    from wayfinder.feedback import cli as feedback_cli

    feedback_cli.register(sub)

    from wayfinder.hris import cli as hris_cli

    hris_cli.register(sub)

    from wayfinder.cli import serve as web_cli

    web_cli.register(sub, demo_tail=DEMO_TAIL, parse_time=_parse_time)
    from wayfinder.ops import cli as ops_cli

    ops_cli.register(sub)
    for command in sub.choices.values():  # -v after the command too: wayfinder simulate ... -v
        command.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                             help="log what the engine counts")
    return parser


def _commands(parser: argparse.ArgumentParser) -> list[str]:
    """The command names, as the parser knows them (argparse has no public way to ask)."""
    return [name for action in parser._actions if isinstance(action, argparse._SubParsersAction)
            for name in action.choices]


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:
        # Ctrl-C: one line saying what it means for the output, not a traceback from wherever the run was
        words = (argv if argv is not None else sys.argv[1:])[:1]
        command = f"wayfinder {words[0]}" if words and not words[0].startswith("-") else "wayfinder"
        print(f"{command}: interrupted (Ctrl-C); what it was writing may be incomplete: run it again",
              file=sys.stderr)
        return 130  # 128 + SIGINT, what a shell reports for a command stopped by Ctrl-C


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    if not words or words[0] == "help":  # a newcomer's first try: the commands and where to start
        print(parser.format_help(), file=sys.stdout if words else sys.stderr, end="")
        return 0 if words else 2
    commands = _commands(parser)
    if not words[0].startswith("-") and words[0] not in commands:
        near = difflib.get_close_matches(words[0], commands, n=1)
        hint = f"did you mean {near[0]!r}? " if near else ""
        print(f"wayfinder: no command {words[0]!r}; {hint}`wayfinder --help` lists them", file=sys.stderr)
        return 2
    args = parser.parse_args(words)
    fmt = os.environ.get("WAYFINDER_LOG_FORMAT", "text")
    if fmt not in LOG_FORMATS:
        print(f"WAYFINDER_LOG_FORMAT: {fmt!r} is not one of {', '.join(LOG_FORMATS)}", file=sys.stderr)
        return 2
    configure_logging(bool(args.verbose), "json" if fmt == "json" else "text")
    if getattr(args, "employee", None) is not None and Path(args.employee).is_file():
        args.employee = Path(args.employee)
    try:
        result: Any = args.func(args)
    except BrokenPipeError:  # the reader went away (``| head``): stop quietly, as other command-line tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's own flush at exit would fail on the closed pipe again
        return 141  # 128 + SIGPIPE, what a shell reports for a pipe closed under a writer
    except OSError as e:
        if e.filename is None:  # not a file (a socket, say): as any other error
            raise
        # a file or folder a command was given, or writes under one it was given (``--out`` inside a file, a folder
        # that is not writable): one line naming it, not a traceback
        where = f"{e.filename} -> {e.filename2}" if e.filename2 is not None else str(e.filename)
        print(f"wayfinder {args.command}: cannot use {where}: {e.strerror or type(e).__name__}", file=sys.stderr)
        return 1
    except Exception as e:
        if not type(e).__module__.startswith(("kafka.", "aiokafka.")):
            raise
        # A command that talks to Kafka (publish, topics, sending --kafka, ...) and a broker that does not answer:
        # one line saying where it looked, not a traceback (the error's type only: its text may hold data)
        flag = getattr(args, "broker", None)
        broker = flag or os.environ.get("WAYFINDER_BROKER", "kafka://127.0.0.1:9092")
        given = "--broker" if flag else "WAYFINDER_BROKER"  # the one that gave the address is the one to check
        if _broker_refused(e):
            # The broker answered and said no (a replication factor above its broker count, a topic policy, an
            # authorisation): its address is right, so say what it refused; the error class's own description
            # is fixed text, never data (2026-12-06: this read "did not answer ... is the broker up?").
            print(f"wayfinder {args.command}: the Kafka broker at {broker} refused the request: "
                  f"{type(e).__name__} ({getattr(type(e), 'description', '')})", file=sys.stderr)
            return 1
        print(f"wayfinder {args.command}: the Kafka broker at {broker} did not answer ({type(e).__name__}); is "
              f"{given} right and the broker up?", file=sys.stderr)
        return 1
    return int(result)



def _broker_refused(e: Exception) -> bool:
    """Whether the broker answered with an error code (kafka-python's or aiokafka's ``BrokerResponseError``) other
    than one that means it is not (yet) able to answer, rather than not being reached at all."""
    from aiokafka.errors import BrokerResponseError as AioBrokerResponseError
    from kafka.errors import BrokerResponseError, RetriableError

    return isinstance(e, BrokerResponseError | AioBrokerResponseError) and not isinstance(e, RetriableError)

if __name__ == "__main__":
    sys.exit(main())
