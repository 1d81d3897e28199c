"""``wayfinder resources --employee ID``: what the catalog offers one employee, by topic, and why."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wayfinder import examples_dir
from wayfinder.catalog.applies import Applies, TopicOffer, resource_title, what_applies
from wayfinder.catalog.graph import CatalogGraph
from wayfinder.cli.paths import events_file as checked_events_file
from wayfinder.cli.paths import no_events_for, read_profile_file
from wayfinder.journeys.loader import Definitions
from wayfinder.journeys.profile import Profile
from wayfinder.streams.embedded import EmbeddedRunner, read_event_file

__all__ = ["register"]

WHY = {"everyone": "open to everyone", "eligibility": "the rule holds for you: {}", "department": "for your "
       "department: {}", "location": "for your location: {}", "role": "for your role: {}",
       "language": "the version in your language: {}", "format": "the version that suits your learning style: {}"}


def register(sub: Any, definition_args: Callable[[argparse.ArgumentParser], None],
             load: Callable[[argparse.Namespace], Definitions | None]) -> None:
    p = sub.add_parser("resources", help="what the catalog offers one employee, by topic, and why each applies")
    p.add_argument("--employee", required=True, help="an employee id from the events file, or a JSON file: a profile "
                   "or an hris.employee.upserted event")
    p.add_argument("--events", type=Path, help="events file the profile is built from [default: the bundled events]")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    definition_args(p)
    p.set_defaults(func=lambda args: _run(args, load))


def state_of(employee: str | Path, events_file: Path | None, defs: Definitions) -> tuple[Profile, dict[str, float]]:
    """The profile (from a JSON file, or from the employee's events as the engine builds it: preferences changed
    and engagement included) and their own engagement with resources."""
    if isinstance(employee, Path):
        data = read_profile_file(employee)
        profile = Profile(id=str(data.get("id") or "profile"))
        profile.merge(data)
        return profile, {}
    history = read_event_file(checked_events_file(events_file or examples_dir() / "events.jsonl")).events
    own = [event for event in history if event.subject == employee]
    if not own:
        msg = no_events_for(employee, events_file, (event.subject for event in history))
        raise SystemExit(msg)
    runner = EmbeddedRunner(Definitions(catalog=defs.catalog, policy=defs.policy))  # no journeys: the state only
    runner.run(own)
    state = runner.states.get(employee)
    if state is None:
        msg = f"employee {employee} was erased in the events file"
        raise SystemExit(msg)
    return state.profile, dict(state.feedback)


def _run(args: argparse.Namespace, load: Callable[[argparse.Namespace], Definitions | None]) -> int:
    defs = load(args)
    if defs is None:
        return 1
    try:
        profile, feedback = state_of(args.employee, args.events, defs)
    except SystemExit as e:
        print(f"wayfinder resources: {e}", file=sys.stderr)
        return 2
    offers, errors = what_applies(defs.catalog, profile.view(), opt_out_topics=profile.opt_out_topics,
                                  feedback=feedback)
    if args.json:
        print(json.dumps({"employee_id": profile.id, "topics": [_offer_json(defs.catalog, o, profile.locale)
                                                                for o in offers]}, indent=2, ensure_ascii=False))
    else:
        _print(defs.catalog, offers, profile)
    for error in errors:
        print(f"note: {error} (counted as not applying)", file=sys.stderr)
    return 0


def _print(catalog: CatalogGraph, offers: list[TopicOffer], profile: Profile) -> None:
    total = len({a.resource.id for o in offers for a in o.resources})
    print(f"What applies to employee {profile.id}: {total} resource(s) in {len(offers)} topic(s)\n")
    for offer in offers:
        note = "  [you opted out of this topic]" if offer.opted_out else ""
        print(f"{catalog.topics[offer.topic].title_for(profile.locale)} ({offer.topic}){note}")
        for a in offer.resources:
            url = f"  {a.resource.url}" if a.resource.url else ""
            print(f"  - {a.resource.id}: {resource_title(a.resource, profile.locale)}{url}")
            for line in _why(a):
                print(f"      {line}")
        print()


def _why(a: Applies) -> list[str]:
    lines = []
    for kind, detail in a.reasons:
        line = WHY[kind].format(detail)
        if kind == "eligibility" and a.reads:
            line += "  (" + ", ".join(f"your {k}: {v or '-'}" for k, v in a.reads) + ")"
        lines.append(line)
    return lines


def _offer_json(catalog: CatalogGraph, offer: TopicOffer, locale: str | None) -> dict[str, Any]:
    return {"topic": offer.topic, "title": catalog.topics[offer.topic].title_for(locale),
            "opted_out": offer.opted_out,
            "resources": [{"id": a.resource.id, "title": a.resource.title, "url": a.resource.url,
                           "type": a.resource.type, "why": [{"kind": k, "detail": d} for k, d in a.reasons],
                           "reads": dict(a.reads)} for a in offer.resources]}
