"""``wayfinder report fairness`` and ``wayfinder report impact``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from wayfinder import examples_dir
from wayfinder.journeys.loader import Sources, load_for_runs
from wayfinder.journeys.model import Fairness
from wayfinder.reports.fairness import fairness_report
from wayfinder.reports.feedback import feedback_rollup
from wayfinder.reports.impact import impact_report
from wayfinder.reports.inputs import InputError, ReportInputs, assemble
from wayfinder.reports.text import print_fairness, print_impact, to_json

FAIRNESS_FILE = "fairness.yaml"


def register(sub: Any) -> None:
    """Add ``report`` with its two reports to the ``wayfinder`` command."""
    p = sub.add_parser("report", help="fairness and impact reports over what simulate or demo decided")
    reports = p.add_subparsers(dest="report", required=True, metavar="REPORT")
    fairness = reports.add_parser("fairness", help="who each journey enrolls, reaches, holds for review, ... by group "
                                  "(four-fifths rule, k-anonymous), and feedback per resource")
    _common(fairness)
    fairness.set_defaults(func=cmd_fairness)
    impact = reports.add_parser("impact", help="outcome events of those reached against the holdout control group")
    _common(impact)
    impact.set_defaults(func=cmd_impact)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", type=Path, default=Path("wayfinder-demo"),
                   help="the --out folder of simulate or demo (messages.jsonl, tasks.jsonl) "
                   "[default: ./wayfinder-demo]")
    p.add_argument("--events", type=Path, help="the events file they were made from [default: the bundled events]")
    p.add_argument("--fairness", type=Path, help="a `kind: Fairness` document (attributes, protected, k) "
                   f"[default: one among the definitions, else the bundled {FAIRNESS_FILE}]")
    p.add_argument("--journeys", type=Path, help="folder (or file) of journeys [default: the bundled examples]")
    p.add_argument("--catalog", type=Path, help="catalog folder [default: bundled]")
    p.add_argument("--templates", type=Path, help="templates folder [default: bundled]")
    p.add_argument("--policy", type=Path, help="policy file [default: none; the reports do not need one]")
    p.add_argument("--kafka", metavar="BROKERS", help="read the workers' topics on these brokers (host:port, comma "
                   "separated) instead of --results and --events")
    p.add_argument("--topic-prefix", default="wayfinder.", help="prefix of the topics [default: wayfinder.]")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("--html", type=Path, metavar="FILE", help="also write a self-contained HTML report with charts")


def _fairness(path: Path | None, found: Fairness | None) -> Fairness | None:
    if path is None and found is not None:
        return found
    file = path or examples_dir() / FAIRNESS_FILE
    defs, problems = load_for_runs(Sources(paths=[file]))
    if defs.fairness is None and not any(p.severity == "error" and "fairness" in p.message.lower() for p in problems):
        print(f"{file}: no `kind: Fairness` document in it (--fairness names the file that says what to compare)",
              file=sys.stderr)
        return None
    for p in problems:
        print(p, file=sys.stderr)
    if any(p.severity == "error" for p in problems):
        return None
    return defs.fairness or Fairness()


def _inputs(args: argparse.Namespace) -> ReportInputs | None:
    ex = examples_dir()
    defs, problems = load_for_runs(Sources(paths=[args.journeys or ex / "journeys", args.catalog or ex / "catalog"],
                                  templates=[args.templates or ex / "templates"],
                                  policy=args.policy))
    for p in problems:
        print(p, file=sys.stderr)
    if any(p.severity == "error" for p in problems):
        return None
    fairness = _fairness(args.fairness, defs.fairness)
    if fairness is None:
        return None
    try:
        if args.kafka:
            from wayfinder.reports.kafka import EVENT_TOPICS, kafka_inputs, topic_reader

            brokers = [b.strip() for b in args.kafka.split(",") if b.strip()]
            inputs = kafka_inputs(topic_reader(brokers), args.topic_prefix, defs.current(), fairness)
            unit, source = "record", ", ".join(args.topic_prefix + t for t in EVENT_TOPICS)
        else:
            events_file = args.events or ex / "events.jsonl"
            inputs = assemble(args.results, events_file, defs.current(), fairness)
            unit, source = "line", str(events_file)
    except InputError as e:
        print(e, file=sys.stderr)
        return None
    n = inputs.skipped_events
    if n:  # each a dead letter in simulate; the report is over the others
        print(f"{n} {unit}{'s' if n > 1 else ''} of {source} could not be read as events; the report leaves "
              f"{'them' if n > 1 else 'it'} out", file=sys.stderr)
    decided = {m.employee_id for m in inputs.messages} | {t.employee_id for t in inputs.tasks}
    unknown = len(decided - inputs.profiles.keys())
    if unknown:  # the results of other events (the bundled ones, when --events was left out): their groups are unknown
        print(f"{unknown} of the {len(decided)} employees in the results have no profile in {source}: are these "
              f"the events the results were made from (--events)? They are counted in the group 'unknown'",
              file=sys.stderr)
    return inputs


def _html_refused(path: Path | None) -> bool:
    """``--html`` that cannot be written, said before the report is made (it was said after the whole report)."""
    if path is None:
        return False
    parent = path.parent if str(path.parent) else Path()
    problem = ("a folder; give a file name" if path.is_dir() else "its folder is not there" if not parent.is_dir()
               else "its folder cannot be written" if not os.access(parent, os.W_OK)
               else "it cannot be written" if path.exists() and not os.access(path, os.W_OK) else None)
    if problem is not None:
        print(f"wayfinder report: --html {path}: {problem}", file=sys.stderr)
    return problem is not None


def cmd_fairness(args: argparse.Namespace) -> int:
    if _html_refused(args.html):
        return 2
    inputs = _inputs(args)
    if inputs is None:
        return 1
    report, feedback = fairness_report(inputs), feedback_rollup(inputs)
    if args.json:
        print(to_json(fairness=report, feedback=feedback))
    else:
        print_fairness(report, feedback, sys.stdout)
    if args.html is not None:
        from wayfinder.reports.html import fairness_html  # matplotlib loads only when a chart is drawn

        args.html.write_text(fairness_html(report, feedback), encoding="utf-8")
        print(f"wrote {args.html}", file=sys.stderr)
    return 0


def cmd_impact(args: argparse.Namespace) -> int:
    if _html_refused(args.html):
        return 2
    inputs = _inputs(args)
    if inputs is None:
        return 1
    report = impact_report(inputs)
    if args.json:
        print(to_json(impact=report))
    else:
        print_impact(report, sys.stdout)
    if args.html is not None:
        from wayfinder.reports.html import impact_html

        args.html.write_text(impact_html(report), encoding="utf-8")
        print(f"wrote {args.html}", file=sys.stderr)
    return 0
