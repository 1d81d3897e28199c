"""Where the command line reads and writes: clear errors instead of tracebacks, and the bundled catalog and
templates for a folder that holds only journeys."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from wayfinder import examples_dir
from wayfinder.journeys.events import DecodeError, json_value
from wayfinder.journeys.loader import Fallback, Sources
from wayfinder.journeys.profile import ProfileUpdate


class PathProblem(Exception):
    """A path the command cannot use; the message says what to do instead."""


def events_file(path: Path) -> Path:
    """``path`` when it is a file to read events from; else the command stops with one line saying so."""
    if not path.is_file():
        msg = (f"{path}: a folder; give the events file in it" if path.is_dir()
               else f"{path}: not a regular file (a device, pipe or socket); give a file of events" if path.exists()
               else f"{path}: no such events file")
        raise SystemExit(msg)
    return path


def check_new_folder(path: Path) -> None:
    if path.exists():
        msg = f"{path} already exists; give a new folder name (nothing was copied)"
        raise PathProblem(msg)


def check_out_folder(path: Path, option: str = "--out") -> None:
    if path.exists() and not path.is_dir():
        msg = f"{option} {path} is a file; give a folder (it is made if missing, and files in it are replaced)"
        raise PathProblem(msg)


def with_bundled(sources: Sources) -> Sources:
    """``sources`` that also read the bundled catalog and templates when they hold none of their own, so a copied
    journey checks against what it will run with (:class:`Fallback`: the loader decides from what it reads, so
    each file is parsed once). Journeys that sit in a ``journeys/`` folder whose parent has ``catalog/`` or
    ``templates/`` (the layout ``examples --copy`` makes) are checked against those first (:func:`project_of`)."""
    sources.fallback = Fallback(examples_dir(), project=project_of(sources.paths))
    return sources


def project_of(paths: Sequence[Path]) -> Path | None:
    """The folder laid out like the examples that every path given lies in, by its ``journeys/``, ``templates/`` or
    ``catalog/`` folder (the folder itself, or files in it), when it has a ``catalog/`` or ``templates/`` of its
    own; else None. A hook that passes the changed ``journeys/x.yaml`` of a copy was checked against the bundled
    catalog: a topic the copy added was "unknown"; so was one passing a journey and its changed template."""
    roots = set()
    for path in paths:
        root = _project_root(path)
        if root is None:
            return None
        roots.add(root)
    if len(roots) != 1:
        return None
    (root,) = roots
    return root if any((root / name).is_dir() for name in PROJECT_FOLDERS) else None


PROJECT_FOLDERS = ("catalog", "templates")
"""The folders beside ``journeys/`` that a journey of a copy is checked against (:func:`project_of`)."""


def _project_root(path: Path) -> Path | None:
    """The parent of the nearest ``journeys/``, ``templates/`` or ``catalog/`` folder holding ``path`` (or being
    it): a template sits in a subfolder (``templates/relocation/welcome.yaml``)."""
    resolved = path.resolve()
    for folder in (resolved, *resolved.parents) if path.is_dir() else resolved.parents:
        if folder.name in ("journeys", *PROJECT_FOLDERS):
            return folder.parent
    return None


def fallback_note(fallback: Fallback | None) -> str | None:
    """What the loader read from the bundled examples, or held back, in a line for stderr."""
    if fallback is None:
        return None
    lines = []
    if fallback.from_project:
        lines.append(f"no {' or '.join(fallback.from_project)} among the paths: using the ones beside the journeys, in "
                     f"{fallback.project}")
    bundled = [name for name in fallback.added if name not in fallback.from_project]
    if bundled:
        lines.append(f"no {' or '.join(bundled)} among the paths: using the bundled ones in {fallback.folder}")
    if fallback.held_back:
        lines.append(f"{', '.join(fallback.unread)} could not be read: not using the bundled "
                     f"{' or '.join(fallback.held_back)} in its place (what it may declare is not reported unknown)")
    return "\n".join(lines) or None


def read_profile_file(path: Path) -> dict[str, Any]:
    """A JSON profile given instead of an employee id (``preview``, ``resources``); exits with what to give."""
    try:  # a byte order mark (Notepad, Excel and PowerShell write one) is not part of the JSON
        data = json_value(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as e:  # where, as an editor counts, and what the parser expected (never a value)
        events = (f" (a file of events, one a line? give the employee's id with --events {path})"
                  if e.msg == "Extra data" and e.colno == 1 else "")
        msg = f"{path}:{e.lineno}:{e.colno}: not a JSON profile ({e.msg}); give an employee id or a JSON file{events}"
        raise SystemExit(msg) from e
    except DecodeError as e:  # as an upsert of it would be refused: a key twice (the last one won), NaN
        msg = f"{path}: not a JSON profile ({e.detail})"
        raise SystemExit(msg) from e
    except UnicodeDecodeError as e:
        msg = f"{path}: not a JSON profile (not UTF-8 text at byte {e.start + 1}); save it as UTF-8"
        raise SystemExit(msg) from e
    except (OSError, ValueError, RecursionError) as e:  # unreadable, a number too long, nested too deep
        msg = f"{path}: not a JSON profile ({type(e).__name__}); give an employee id or a JSON file"
        raise SystemExit(msg) from e
    if not isinstance(data, dict):
        msg = f"{path}: a JSON profile is an object with the fields of SPEC section 3"
        raise SystemExit(msg)
    data = _profile_of_event(path, data)
    try:  # what an upsert of it would have to be: a profile the engine would refuse previews nothing it could send
        ProfileUpdate.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
                             for err in e.errors(include_url=False, include_input=False)[:5])
        msg = f"{path}: not a profile the engine accepts ({problems})"
        raise SystemExit(msg) from None
    return data


def _profile_of_event(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    """A CloudEvent saved as the file (a line of an events file): an upsert's ``data`` is the profile, its ``subject``
    the id; another event is no profile. Read as a profile, an event's envelope was taken for fields of a person
    with no name or email, and the event's id for theirs."""
    if "specversion" not in data or "type" not in data:
        return data
    body = data.get("data")
    if data["type"] != "hris.employee.upserted" or not isinstance(body, dict):
        msg = (f"{path}: an event ({data['type']}), not a profile; give the employee's profile (the fields of SPEC "
               "section 3), an hris.employee.upserted event, or the employee's id with --events FILE")
        raise SystemExit(msg)
    subject = data.get("subject")
    return body if "id" in body or not isinstance(subject, str) else {**body, "id": subject}


def no_events_for(employee: str, events: Path | None, ids: Iterable[str]) -> str:
    """Why ``--employee ID`` previews nothing: which events file was read (the bundled one when ``--events`` was left
    out: the usual slip with an id of one's own), the id as written elsewhere in it (case, spaces; never another
    person's id that merely looks alike), or the profile file it may have meant."""
    where = f"the events file {events}" if events is not None else (
        "the bundled example events (give your own with --events FILE)")
    wanted = employee.strip().casefold()
    same = sorted({i for i in ids if i.strip().casefold() == wanted} - {employee})
    hint = f"; did you mean {same[0]}? (ids are compared exactly)" if same else ""
    return f"no events for employee {employee} in {where}{hint}" + not_a_file(employee)


def not_a_file(employee: str) -> str:
    """What to add when an ``--employee`` that is no one's id reads like a profile file's path that is not there."""
    if "/" in employee or os.sep in employee or employee.endswith((".json", ".yaml", ".yml")):
        return f", and no file {employee} (--employee takes an id or a profile file)"
    return ""
