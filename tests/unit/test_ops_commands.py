"""What the platform team's files tell people and machines to run exists: every ``wayfinder`` command and flag of
deploy/RUNBOOK.md, and every ``wayfinder`` command line the Kubernetes manifests and the compose file start, as
the program's own parser reads them (README "Running it in production")."""

from __future__ import annotations

import contextlib
import io
import shlex
import textwrap
from collections.abc import Iterator
from typing import Any

import yaml

from tests.support import ROOT
from tests.unit.test_readme_examples import mentions, options
from wayfinder.cli import build_parser

RUNBOOK = ROOT / "deploy" / "RUNBOOK.md"
K8S = ROOT / "deploy" / "k8s"
COMPOSE = ROOT / "deploy" / "compose.yaml"


def wrong_flags(text: str) -> list[tuple[int, str]]:
    known = options()
    return [(number, f"wayfinder {' '.join(path)} {flag}") for number, path, flag in mentions(text)
            if flag == "?" or flag not in known[path] | known[()]]


def test_every_flag_the_runbook_shows_is_one_the_command_takes() -> None:
    text = RUNBOOK.read_text(encoding="utf-8")
    assert wrong_flags(text) == []
    seen = {path for _, path, _ in mentions(text)}
    assert {("sending",), ("status",), ("deliver",)} <= seen


def test_the_runbook_check_sees_a_misspelt_flag() -> None:
    text = textwrap.dedent("""\
        ### WayfinderSomething

            wayfinder sending pause --kafka --operator ME --reasn "why"

        Then `wayfinder status --max-lags 10`.
        """)
    assert wrong_flags(text) == [(3, "wayfinder sending --reasn"), (5, "wayfinder status --max-lags")]


def _argv(command: list[str]) -> list[str] | None:
    """The ``wayfinder`` command line a container or service runs: its own, or the one ``sh -c`` execs (None when it
    runs something else, or a shell script: those are read for their flags instead)."""
    if command[:1] == ["wayfinder"]:
        return command
    if command[:2] == ["sh", "-c"] and len(command) == 3:
        words = shlex.split(command[2])
        words = words[1:] if words[:1] == ["exec"] else words
        return words if words[:1] == ["wayfinder"] and "\n" not in command[2] else None
    return None


def _containers(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = doc.get("spec", {})
    pod = spec.get("jobTemplate", {}).get("spec", spec).get("template", {}).get("spec", {})
    yield from pod.get("initContainers", [])
    yield from pod.get("containers", [])


def started() -> list[tuple[str, list[str]]]:
    """(where, what it runs) of every container in deploy/k8s and every service of deploy/compose.yaml."""
    found: list[tuple[str, list[str]]] = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            for c in _containers(doc or {}):
                found.append((f"{path.name}: {c['name']}", [*c.get("command", []), *c.get("args", [])]))
    services = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    found += [(f"compose.yaml: {name}", list(s["command"])) for name, s in services.items() if "command" in s]
    return found


def parse(argv: list[str]) -> str | None:
    """None when the program's parser takes ``argv`` (``wayfinder ...``), else what it says."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            build_parser().parse_args(argv[1:])
        except SystemExit:
            return err.getvalue().strip().splitlines()[-1]
    return None


def test_every_wayfinder_command_the_deployment_starts_parses() -> None:
    runs = [(where, argv) for where, command in started() if (argv := _argv(command)) is not None]
    assert [(where, problem) for where, argv in runs if (problem := parse(argv)) is not None] == []
    assert {" ".join(argv[:2]) for _, argv in runs} >= {"wayfinder worker", "wayfinder deliver", "wayfinder serve",
                                                        "wayfinder topics"}


def test_every_flag_a_deployment_script_gives_wayfinder_is_one_it_takes() -> None:
    scripts = [command[-1] for _, command in started() if command[:2] in (["/bin/sh", "-c"], ["sh", "-c"])
               and "\n" in command[-1]]
    assert scripts, "the HR import's CronJob runs a script"
    text = "".join(f"```sh\n{script}```\n" for script in scripts)
    assert wrong_flags(text) == []
    assert {path for _, path, _ in mentions(text)} >= {("import", "snapshot")}


def test_the_deployment_check_sees_a_flag_the_command_does_not_take() -> None:
    assert parse(["wayfinder", "deliver", "--kafka", "--metrics-port", "9109"]) is None
    assert parse(["wayfinder", "deliver", "--kafka", "--metric-port", "9109"]) is not None
    assert parse(["wayfinder", "serve", "--kafka", "--port", "eighty"]) is not None
    assert _argv(["sh", "-c", "exec wayfinder serve --kafka --dev-login"]) == ["wayfinder", "serve", "--kafka",
                                                                             "--dev-login"]
