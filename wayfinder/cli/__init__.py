"""The ``wayfinder`` command (SPEC §7)."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from wayfinder import examples_dir
from wayfinder.cli.report import print_summary, write_results
from wayfinder.journeys._problems import Problem
from wayfinder.journeys.events import CloudEvent, iso
from wayfinder.journeys.loader import Definitions, Sources, load
from wayfinder.streams import cli as streams_cli
from wayfinder.streams.embedded import EmbeddedRunner, read_event_file

log = logging.getLogger("wayfinder")
DEMO_TAIL = timedelta(days=120)


def _parse_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as e:
        msg = f"{value!r} is not an RFC 3339 time (e.g. 2026-12-31T00:00:00Z)"
        raise argparse.ArgumentTypeError(msg) from e
    if parsed.tzinfo is None:
        msg = f"{value!r} has no offset: add Z or +01:00"
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
    return Sources(paths=paths, templates=[args.templates or ex / "templates"],
                   policy=args.policy or ex / "policy.yaml")


def _report_problems(problems: Sequence[Problem]) -> bool:
    """Print problems to stderr; True when none is an error."""
    for p in problems:
        print(p, file=sys.stderr)
    errors = sum(1 for p in problems if p.severity == "error")
    if errors:
        print(f"{errors} error(s)", file=sys.stderr)
    return errors == 0


def _load(args: argparse.Namespace) -> Definitions | None:
    defs, problems = load(_sources(args))
    return defs if _report_problems(problems) else None


# -- commands -------------------------------------------------------------------------------
def cmd_validate(args: argparse.Namespace) -> int:
    flags = [args.journeys, args.catalog, args.templates, args.policy]
    if args.paths or any(flags):
        sources = Sources(paths=[*args.paths, *(p for p in flags[:2] if p)],
                          templates=[args.templates] if args.templates else [], policy=args.policy)
    else:
        print(f"validating the bundled examples in {examples_dir()}", file=sys.stderr)
        sources = _sources(args)
    defs, problems = load(sources)
    if not _report_problems(problems):
        return 1
    print(f"ok: {defs.files} files, {len(defs.journeys)} journeys, {len(defs.templates)} templates, "
          f"{len(defs.catalog.resources)} resources, {len(defs.catalog.topics)} topics")
    return 0


def _simulate(defs: Definitions, events_path: Path, until: datetime | None, out: Path, *,
              include_drafts: bool, title: str) -> EmbeddedRunner:
    read = read_event_file(events_path)
    runner = EmbeddedRunner(defs, include_drafts=include_drafts)
    runner.dead_letters.extend(read.dead_letters)
    started = time.perf_counter()
    runner.run(read.events, until)
    elapsed = time.perf_counter() - started
    write_results(runner, out)
    print_summary(runner, sys.stdout, title=f"{title} ({elapsed:.2f}s)")
    print(f"\n  wrote {out / 'messages.jsonl'}, tasks.jsonl, dead_letters.jsonl, audit.jsonl")
    return runner


def cmd_simulate(args: argparse.Namespace) -> int:
    defs = _load(args)
    if defs is None:
        return 1
    if not args.events.is_file():
        print(f"{args.events}: no such events file", file=sys.stderr)
        return 1
    _simulate(defs, args.events, args.until, args.out, include_drafts=args.include_drafts,
              title=f"simulate {args.events.name}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    ex = examples_dir()
    ns = argparse.Namespace(journeys=None, catalog=None, templates=None, policy=None)
    defs = _load(ns)
    if defs is None:
        return 1
    events = ex / "events.jsonl"
    read = read_event_file(events)
    last = max(e.time for e in read.events)
    until = last + DEMO_TAIL
    runner = _simulate(defs, events, until, args.out, include_drafts=False,
                       title=f"Wayfinder demo: {len(defs.journeys)} journeys, "
                             f"{len(defs.catalog.resources)} resources, events up to {iso(last)[:10]}, "
                             f"clock run on to {iso(until)[:10]}")
    from wayfinder.connectors.outbox import write_outbox

    counts = write_outbox(runner.messages.values(), args.out / "outbox")
    print(f"  outbox: {counts['email']} emails in {args.out / 'outbox' / 'email'} (open the .eml files), "
          f"{counts['intranet']} intranet posts in {args.out / 'outbox' / 'intranet'}")
    return 0


def _preview_events(args: argparse.Namespace, journey_trigger: str) -> tuple[list[CloudEvent], str]:
    if isinstance(args.employee, Path):
        profile = json.loads(args.employee.read_text(encoding="utf-8"))
        employee_id = str(profile.get("id") or "preview")
        at = args.at or datetime.now(UTC)
        events = [CloudEvent(specversion="1.0", id="preview-profile", source="wayfinder/preview",
                             type="hris.employee.upserted", time=at - timedelta(seconds=1), subject=employee_id,
                             data=profile)]
    else:
        employee_id = str(args.employee)
        history = read_event_file(args.events or examples_dir() / "events.jsonl").events
        events = [e for e in history if e.subject == employee_id or e.type == "hris.employee.upserted"]
        if not any(e.subject == employee_id for e in events):
            msg = f"no events for employee {employee_id} in the events file"
            raise SystemExit(msg)
    if not any(e.subject == employee_id and e.type == journey_trigger for e in events):
        at = args.at or max((e.time for e in events), default=datetime.now(UTC)) + timedelta(seconds=1)
        events.append(CloudEvent(specversion="1.0", id="preview-trigger", source="wayfinder/preview",
                                 type=journey_trigger, time=at, subject=employee_id,
                                 data=json.loads(args.data) if args.data else {}))
    return events, employee_id


def cmd_preview(args: argparse.Namespace) -> int:
    defs = _load(args)
    if defs is None:
        return 1
    journey = defs.current().get(args.journey)
    if journey is None:
        print(f"unknown journey {args.journey!r}; known: {', '.join(sorted(defs.current()))}", file=sys.stderr)
        return 1
    only = Definitions(journeys={(journey.id, journey.version): journey}, templates=defs.templates,
                       inline=defs.inline, catalog=defs.catalog, policy=defs.policy)
    events, employee_id = _preview_events(args, journey.trigger.event)
    runner = EmbeddedRunner(only, include_drafts=True)
    last = max(e.time for e in events)
    runner.run(events, last + timedelta(days=400))
    mine = [m for m in runner.messages.values() if m.employee_id == employee_id]
    tasks = [t for t in runner.tasks.values() if t.employee_id == employee_id]
    print(f"preview of journey {journey.id} v{journey.version} ({journey.status}) for employee {employee_id}: "
          f"{len(mine)} message(s), {len(tasks)} task(s)\n")
    for m in mine:
        print(f"== {m.step_id}: {m.channel} to {m.recipient_role} {m.recipient_id or '-'}, {m.status}"
              f"{' (' + m.reason + ')' if m.reason else ''}, {iso(m.scheduled_for)}")
        if m.subject is not None:
            print(f"Subject: {m.subject}\n\n{m.text}")
        print()
    for t in tasks:
        print(f"== task {t.step_id} for {t.assignee} {t.assignee_id or '-'}: {t.title}\n{t.note}\n")
    if not mine and not tasks:
        print("nothing: the trigger, audience or eligibility did not match this employee")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from wayfinder.cli.schema import write_schemas

    written = write_schemas(args.out)
    for path in written:
        print(path)
    print("\nEditor setup (VS Code with the YAML extension), in .vscode/settings.json:\n"
          f'  "yaml.schemas": {{"{args.out}/journey.schema.json": "journeys/*.yaml"}}\n'
          f"or at the top of a file:  # yaml-language-server: $schema={args.out}/journey.schema.json")
    return 0


def cmd_examples(args: argparse.Namespace) -> int:
    if args.copy is None:
        print(examples_dir())
        return 0
    shutil.copytree(examples_dir(), args.copy, ignore=shutil.ignore_patterns("__pycache__"))
    print(f"copied the bundled examples to {args.copy}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wayfinder", description="Employee journeys: validate, simulate, "
                                     "preview and run them.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the engine counts")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check journeys, templates, catalog and policy (file:line:column)")
    p.add_argument("paths", nargs="*", type=Path, help="files or folders; documents are told apart by kind "
                   "[default: the bundled examples]")
    _definition_args(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("simulate", help="run journeys over a file of events on a virtual clock")
    p.add_argument("--events", type=Path, required=True, help="CloudEvents, one JSON object per line")
    _definition_args(p)
    p.add_argument("--until", type=_parse_time, help="fire timers up to this time [default: the last event's]")
    p.add_argument("--out", type=Path, required=True, help="folder for messages.jsonl, tasks.jsonl, ...")
    p.add_argument("--include-drafts", action="store_true", help="let draft journeys enroll too")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("preview", help="what one employee would get from a journey, rendered")
    p.add_argument("journey", help="journey id")
    p.add_argument("--employee", required=True, help="an employee id from the events file, or a JSON profile file")
    p.add_argument("--events", type=Path, help="events file [default: the bundled events]")
    p.add_argument("--at", type=_parse_time, help="when the trigger happens, if the events have none")
    p.add_argument("--data", help="the trigger event's data, as JSON, if the events have none")
    _definition_args(p)
    p.set_defaults(func=cmd_preview)

    p = sub.add_parser("demo", help="the bundled examples end to end on the embedded engine (no Kafka)")
    p.add_argument("--out", type=Path, default=Path("wayfinder-demo"), help="[default: ./wayfinder-demo]")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("schema", help="write JSON Schemas so editors complete and check the YAML")
    p.add_argument("--out", type=Path, default=Path("schemas"), help="[default: ./schemas]")
    p.set_defaults(func=cmd_schema)

    streams_cli.register(sub)

    p = sub.add_parser("examples", help="where the bundled examples are, or copy them to start your own")
    p.add_argument("--copy", type=Path, metavar="DIR", help="copy the examples into DIR")
    p.set_defaults(func=cmd_examples)

    from wayfinder.connectors import cli as delivery_cli

    delivery_cli.register(sub)

    from wayfinder.web import cli as web_cli

    web_cli.register(sub, demo_tail=DEMO_TAIL, parse_time=_parse_time)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if getattr(args, "employee", None) is not None and Path(args.employee).is_file():
        args.employee = Path(args.employee)
    result: Any = args.func(args)
    return int(result)


if __name__ == "__main__":
    sys.exit(main())
