"""``wayfinder serve``: the web application over the output folder of ``demo`` or ``simulate``."""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsError

from wayfinder import examples_dir
from wayfinder.journeys import DefinitionError
from wayfinder.journeys.loader import Sources, load_for_runs

LOOPBACK = "127.0.0.1"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], *, demo_tail: timedelta,
             parse_time: Any) -> None:
    p = sub.add_parser("serve", help="the web application: review queue, tasks, preferences, operations",
                       description="Serve the review queue, the task inbox, employees' preferences pages and the "
                       "operations overview over the output folder of `wayfinder demo` or `simulate`. Settings "
                       "come from WAYFINDER_* environment variables (WAYFINDER_TOKEN_SECRET, "
                       "WAYFINDER_SESSION_SECRET, WAYFINDER_OIDC_ISSUER, ...). Stop it with Ctrl-C; exit 3 when "
                       "it cannot listen on --host/--port.")
    p.add_argument("--out", type=Path, default=Path("wayfinder-demo"), help="the folder demo or simulate wrote "
                   "[default: ./wayfinder-demo]")
    p.add_argument("--events", type=Path, help="the events file that folder was made from [default: the bundled "
                   "events, as wayfinder demo]")
    p.add_argument("--journeys", type=Path, help="as for simulate [default: bundled]")
    p.add_argument("--catalog", type=Path, help="as for simulate [default: bundled]")
    p.add_argument("--templates", type=Path, help="as for simulate [default: bundled]")
    p.add_argument("--policy", type=Path, help="as for simulate [default: bundled]")
    p.add_argument("--until", type=parse_time, help="how far that run's clock went [default: as demo with the "
                   "bundled events, else the last event's time]")
    p.add_argument("--kafka", action="store_true", help="work on the Kafka topics instead of a folder: read "
                   "outbound.messages, tasks, decisions and directory (WAYFINDER_BROKER, WAYFINDER_TOPIC_PREFIX), "
                   "write decisions to the decisions topic and the stop switch to the control topic; definitions "
                   "from WAYFINDER_DEFINITIONS as the workers [default: bundled]")
    p.add_argument("--host", default=LOOPBACK, help="[default: 127.0.0.1]")
    p.add_argument("--port", type=int, default=8080, help="[default: 8080]")
    p.add_argument("--dev-login", action="store_true", help="DEVELOPMENT ONLY: sign in as anyone with any role, "
                   "without an identity provider; refuses unless --host is 127.0.0.1")
    p.set_defaults(func=cmd_serve, demo_tail=demo_tail)


def settings_for(dev_login: bool) -> Any:
    """WebSettings from the environment; the development sign-in fills in throwaway secrets."""
    from wayfinder.web.settings import WebSettings

    if not dev_login:
        return WebSettings()
    defaults: dict[str, Any] = {"cookie_secure": False}
    for name in ("token_secret", "session_secret"):
        defaults[name] = SecretStr(secrets.token_urlsafe(32))
    given = {k: v for k, v in defaults.items() if f"WAYFINDER_{k.upper()}" not in os.environ}
    return WebSettings(**given)


def _configuration_errors(e: ValidationError) -> None:
    """One line per setting, named by its variable; never its value (a secret)."""
    for error in e.errors(include_input=False, include_url=False):
        name = f"WAYFINDER_{str(error['loc'][0]).upper()}" if error["loc"] else "WAYFINDER_*"
        said = error["msg"].removeprefix("Value error, ")
        if error["type"] == "too_short" and "min_length" in error.get("ctx", {}):  # pydantic says "items"
            said = f"at least {error['ctx']['min_length']} characters"
        print(f"configuration error: {name}: {said}", file=sys.stderr)


def cmd_serve(args: argparse.Namespace) -> int:
    if args.dev_login and args.host != LOOPBACK:
        print(f"refusing to start: --dev-login lets anyone sign in as anyone, so it only binds to {LOOPBACK} "
              f"(not {args.host})", file=sys.stderr)
        return 2
    try:
        settings = settings_for(args.dev_login)
    except ValidationError as e:
        _configuration_errors(e)
        return 2
    except SettingsError as e:  # a JSON setting (WAYFINDER_ROLE_GROUPS) that is not JSON: was a traceback
        from wayfinder.cli.delivery import unreadable_setting

        print(unreadable_setting(e), file=sys.stderr)
        return 2
    app = build(args, settings)
    if app is None:
        return 1
    import uvicorn

    if args.dev_login:
        print("DEVELOPMENT SIGN-IN is on: anyone who can reach this port can sign in as anyone.", file=sys.stderr)
    elif not settings.oidc_issuer:
        print("no sign-in is set up: staff pages (reviews, tasks) cannot be used until WAYFINDER_OIDC_ISSUER is set "
              "(or --dev-login on this machine); employees' preference links work", file=sys.stderr)
    try:  # before the address is printed: a port taken is said as that, not after a line saying it serves
        socket.create_server((args.host, args.port)).close()
    except OSError as e:
        print(f"wayfinder serve: cannot listen on {args.host}:{args.port}: {e.strerror or type(e).__name__}; "
              "give another --port (or --host)", file=sys.stderr)
        return 3
    where = "the Kafka topics" if args.kafka else args.out
    print(f"wayfinder serve: http://{args.host}:{args.port}/ over {where}", file=sys.stderr)
    # With JSON logs uvicorn configures no handlers of its own: its lines go through the root logger's JSON.
    from uvicorn.config import LOGGING_CONFIG

    json_logs = os.environ.get("WAYFINDER_LOG_FORMAT") == "json"
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="warning",
                log_config=None if json_logs else LOGGING_CONFIG)
    return 0


def build(args: argparse.Namespace, settings: Any) -> Any:
    from prometheus_client import CollectorRegistry

    from wayfinder.cli.report import write_results
    from wayfinder.cli.runfile import INPUTS, RUN_FILE, differences, read_run, write_run
    from wayfinder.web.app import create_app
    from wayfinder.web.backend import EmbeddedBackend, World

    ex = examples_dir()
    if args.kafka:
        return _build_kafka(args, settings)
    given = {name: getattr(args, name) for name in (*INPUTS, "until")}
    recorded = read_run(args.out)
    if recorded is not None:
        # the folder says what it was made from: run it again from that, never from other inputs (the bundled
        # ones where a flag was left out), which would rewrite it at start (a holdout's records lost, say)
        other = differences(recorded, given)
        if other:
            print(f"wayfinder serve: {args.out} holds the results of a run from other inputs ({', '.join(other)}; "
                  f"see {args.out / RUN_FILE}): give the same ones, or leave them out, or use another --out folder",
                  file=sys.stderr)
            return None
        if isinstance(recorded["events"], list):
            print(f"wayfinder serve: {args.out} holds the results of a simulate over several events files (see "
                  f"{args.out / RUN_FILE}); serve runs one: put them in one file and simulate it again, or use another "
                  "--out folder", file=sys.stderr)
            return None
        for name in (*INPUTS, "until"):
            if given[name] is None:
                setattr(args, name, recorded[name])
    sources = Sources(paths=[args.journeys or ex / "journeys", args.catalog or ex / "catalog"],
                      templates=[args.templates or ex / "templates"], policy=args.policy,
                      default_policy=ex / "policy.yaml")
    defs, problems = load_for_runs(sources)
    for problem in problems:
        print(problem, file=sys.stderr)
    if any(p.severity == "error" for p in problems):
        return None
    events = args.events or ex / "events.jsonl"
    if not events.is_file():
        print(f"{events}: no such events file", file=sys.stderr)
        return None
    until = args.until
    if until is None and args.events is None:
        from wayfinder.streams.embedded import read_event_file

        until = max(e.time for e in read_event_file(events).events) + args.demo_tail
    backend = EmbeddedBackend(args.out, World(defs=defs, events=events, until=until), write=write_results,
                              now=lambda: datetime.now(UTC))
    args.out.mkdir(parents=True, exist_ok=True)
    write_run(args.out, {name: getattr(args, name) for name in INPUTS}, args.until)  # what a later serve reads
    from wayfinder.telemetry import add_standard_collectors

    registry = CollectorRegistry()
    add_standard_collectors(registry, "serve")
    return create_app(settings, backend, registry=registry, now=lambda: datetime.now(UTC),
                      dev_login=args.dev_login)


def _build_kafka(args: argparse.Namespace, settings: Any) -> Any:
    from kafka.errors import KafkaError
    from prometheus_client import CollectorRegistry

    from wayfinder.streams.app import load_definitions
    from wayfinder.streams.settings import WorkerSettings
    from wayfinder.web.app import create_app
    from wayfinder.web.backend import World
    from wayfinder.web.kafka_backend import KafkaBackend

    try:
        worker = WorkerSettings()
    except ValidationError as e:
        _configuration_errors(e)
        return None
    try:
        defs = load_definitions(worker)
    except DefinitionError as e:
        print(f"the definitions do not load:\n{e}", file=sys.stderr)
        return None
    try:
        backend = KafkaBackend(worker, World(defs=defs), now=lambda: datetime.now(UTC))
    except KafkaError as e:  # the producer asks the broker at once: an unreachable one is said so, not a traceback
        print(f"wayfinder serve: could not reach the broker at {worker.bootstrap_servers} ({type(e).__name__}; "
              "is WAYFINDER_BROKER right?)", file=sys.stderr)
        return None
    backend.follow()  # the pages answer 503 and /readyz says why until the topics are read; /healthz from now on
    from wayfinder.telemetry import add_standard_collectors

    registry = CollectorRegistry()
    add_standard_collectors(registry, "serve")
    return create_app(settings, backend, registry=registry, now=lambda: datetime.now(UTC),
                      dev_login=args.dev_login)
