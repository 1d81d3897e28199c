"""Load journeys, templates, catalog and policy; report every problem with ``file:line:column``."""

from __future__ import annotations

import copy
import difflib
import gc
import os
import re
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import networkx as nx
from pydantic import BaseModel, Tag, TypeAdapter, ValidationError

from wayfinder.catalog.calendar import WorkCalendar
from wayfinder.catalog.graph import CatalogGraph, cycles_apart
from wayfinder.catalog.model import (
    CatalogDoc,
    CatalogFeedbackDoc,
    ResourceDoc,
    ResourceSpec,
    RoleDoc,
    RoleSpec,
    TopicDoc,
    TopicSpec,
    skill_key,
)
from wayfinder.expressions import ExpressionError
from wayfinder.journeys._durations import parse_duration
from wayfinder.journeys._problems import DefinitionError, Problem, for_runs
from wayfinder.journeys._yaml import (
    Document,
    Loc,
    Mark,
    editor_position,
    has_yaml_only_breaks,
    max_bytes,
    read_documents,
)
from wayfinder.journeys.checks import (
    CLOSE,
    check_definitions,
    journey_positions,
    suggest,
    unknown_step,
    unknown_template,
)
from wayfinder.journeys.definitions import Definitions as Definitions  # re-exported: the old home of the name
from wayfinder.journeys.definitions import InlineKey, Part
from wayfinder.journeys.digest import digest_rule
from wayfinder.journeys.events import DecodeError, decode_event
from wayfinder.journeys.learning import catalog_feedback, collect_roles, role_problems
from wayfinder.journeys.model import (
    LONG_LIST,
    STEP_KINDS,
    BranchStep,
    EventTypeDoc,
    ExpectedMessage,
    ExpectedTask,
    Fairness,
    Journey,
    JourneyTestDoc,
    LearningPathStep,
    Policy,
    ResourceRequest,
    RoadmapStep,
    SendStep,
    Step,
    TaskStep,
    TemplateDoc,
    WaitForStep,
    WaitStep,
    successors,
)
from wayfinder.journeys.protected import journey_expressions, protected_problems
from wayfinder.journeys.templates import DIGEST_VARIABLES, MAX_SOURCES_PER_DOCUMENT, MessageTemplate, check_source
from wayfinder.vocabulary import parse_instant

KINDS: dict[str, type[BaseModel]] = {
    "Journey": Journey, "Template": TemplateDoc, "Catalog": CatalogDoc, "Topic": TopicDoc,
    "Resource": ResourceDoc, "Policy": Policy, "Fairness": Fairness, "EventType": EventTypeDoc,
    "JourneyTest": JourneyTestDoc, "Role": RoleDoc, "CatalogFeedback": CatalogFeedbackDoc,
}


CATALOG_KINDS = frozenset({"Catalog", "Topic", "Resource"})

OTHER_KINDS: dict[str, Callable[[Document], list[tuple[int, int, str]]]] = {}
"""Kinds another part of Wayfinder reads from files that may sit beside the definitions (``Mapping``: ``wayfinder
import``), each with that part's check (line, column, message), registered by it: ``validate`` reports their
problems too, and they are no definitions."""


@dataclass
class Fallback:
    """A folder laid out like the bundled examples whose ``templates/`` and ``catalog/`` :func:`load` reads when
    the sources hold none of their own, so a copied journey is checked against what it will run with. A file of
    the sources that could not be read (a YAML syntax error, not UTF-8, too large) but declares that kind is
    taken as holding it: nothing is read in its place."""

    folder: Path
    # The folder the journeys given sit in (``project/journeys/...``): its own ``templates/`` and ``catalog/``
    # come before the bundled ones, so a journey of a copy checked alone is checked against that copy's catalog
    project: Path | None = None
    added: list[str] = field(default_factory=list)  # filled by load: "templates", "catalog"
    from_project: list[str] = field(default_factory=list)  # filled by load: those of ``added`` read from ``project``
    held_back: list[str] = field(default_factory=list)  # filled by load: not read for the unread files below
    unread: list[str] = field(default_factory=list)  # filled by load: those files


@dataclass
class Sources:
    """Where definitions come from: any mix of files and folders; documents are told apart by ``kind``."""

    paths: list[Path] = field(default_factory=list)
    templates: list[Path] = field(default_factory=list)
    policy: Path | None = None
    fallback: Fallback | None = None
    # The policy a command runs under when given none (the bundled one): read only when the paths hold no Policy
    # document, which is the user's own (a policy among the journeys was refused as a second one).
    default_policy: Path | None = None


@dataclass
class _Parsed:
    doc: Document
    model: BaseModel
    template_id: str | None = None
    broken_ids: frozenset[str] = frozenset()  # entries of a catalog left out for their own errors


def _display(path: Path) -> str:
    """The path as the user can find it: relative when it is under the current folder, else absolute."""
    absolute = path.absolute()
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def _files(root: Path) -> list[Path]:
    """The YAML files of a folder and of every folder in it, folders that are links too (each real folder once);
    a link to nothing is kept, so that reading it says so (it was passed over in silence)."""
    if not root.is_dir():
        return [root]
    found: list[Path] = []
    seen: set[str] = set()
    for folder, subfolders, names in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:  # a link back up the tree, or a second link to one folder
            subfolders.clear()
            continue
        seen.add(real)
        for name in names:
            path = Path(folder) / name
            if path.suffix in (".yaml", ".yml") and (path.is_file() or (path.is_symlink() and not path.exists())):
                found.append(path)
    return sorted(found)


def _template_id(path: Path, root: Path | None) -> str:
    if root is None:
        for parent in path.parents:
            if parent.name == "templates":
                root = parent
                break
    base = root if root is not None and root.is_dir() else path.parent
    return path.relative_to(base).with_suffix("").as_posix()


def _field_names(model: type[BaseModel]) -> set[str]:
    names: set[str] = set()
    for name, info in model.model_fields.items():
        names.add(info.alias or name)
    return names


_KIND = re.compile(r"\bkind\s*:\s*[\"']?([A-Za-z]+)")


_TOP_ID = re.compile(r"^id\s*:\s*[\"']?([^\s\"'#,{}\[\]]+)", re.MULTILINE)


def _guess_kinds(path: Path) -> tuple[set[str], set[str]]:
    """The kinds a file that could not be read seems to declare (``kind: Catalog`` anywhere in its first
    ``max_bytes`` bytes): what it may hold; and, when a journey is among them, the ids its lines at the left
    margin give (``id: new-parent``: a journey's own, its steps' are indented)."""
    try:
        if not path.is_file():  # a pipe or a device was refused unread: opening a pipe waits for a writer
            return set(), set()
        with path.open("rb") as f:
            head = f.read(max_bytes()).decode("utf-8", errors="replace")
    except (OSError, ValueError):
        return set(), set()
    kinds = {m.group(1) for m in _KIND.finditer(head)} & set(KINDS)
    return kinds, ({m.group(1) for m in _TOP_ID.finditer(head)} if "Journey" in kinds else set())


class _Loader:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.parsed: list[_Parsed] = []
        self.broken: list[Document] = []  # documents that did not parse: still cross-checked
        self.broken_templates: set[str] = set()  # the ids of templates among them
        self.files = 0
        self.kinds: set[str] = set()  # of every document read, parsed or not
        self.unread: dict[str, set[str]] = {}  # files that could not be read whole -> the kinds they may hold
        self.unread_journeys: set[str] = set()  # the ids of journeys among them, as far as their lines say
        self.odd_breaks: dict[str, str] = {}  # files with line breaks only YAML counts -> their text
        self.seen: set[str] = set()  # the real path of every file read, or to be read in another role (skip)

    def reserve(self, paths: Iterable[Path]) -> None:
        """Files a later reading takes (as a template under ``--templates``, as the policy): a path that also
        holds them passes them over, so each is read once, in the role its flag gives it."""
        for path in paths:
            if path.exists():
                self.seen.update(os.path.realpath(f) for f in _files(path))

    # -- reading -------------------------------------------------------------------------
    def read(self, path: Path, *, explicit: bool, template_root: Path | None = None,
             expect: str | None = None, reserved: frozenset[str] = frozenset()) -> None:
        if not path.exists():
            self.problems.append(Problem(_display(path), 1, 1, "no such file or folder"))
            return
        if expect == "Policy" and path.is_dir():  # it was read as no policy at all: no cap, no quiet hours
            self.problems.append(Problem(_display(path), 1, 1, "a folder: the policy is one file"))
            return
        found, before = 0, len(self.problems)
        for file in _files(path):
            real = os.path.realpath(file)
            if real in self.seen and not (reserved and real in reserved):  # named twice (a folder and a file in
                found += 1  # it, or a path and a flag): one reading; a second made each of its ids "defined twice"
                continue
            self.seen.add(real)
            self.files += 1
            display = _display(file)
            docs, problems, whole, text = read_documents(file, display)
            if has_yaml_only_breaks(text):
                self.odd_breaks[display] = text
            self.problems.extend(problems)
            if not whole:
                self.unread[display], ids = _guess_kinds(file)
                self.unread_journeys |= ids
            self._one_journey_per_file(docs)
            if file != path and whole and not problems and all(doc.data is None for doc in docs):
                self.problems.append(Problem(display, 1, 1, "an empty file (or comments only): no Wayfinder "
                                             "document in it", "warning"))  # a journey emptied by mistake went unsaid
            for doc in docs:
                found += doc.data is not None
                self._classify(doc, file, explicit=explicit or file == path, template_root=template_root,
                               expect=expect)
        if explicit and not found and len(self.problems) == before:  # a wrong folder would otherwise pass as "ok"
            self.problems.append(Problem(_display(path), 1, 1, "no Wayfinder documents here (journeys, templates, "
                                         "catalog, policy: YAML files with apiVersion and kind)", "warning"))

    def _one_journey_per_file(self, docs: list[Document]) -> None:
        """SPEC §4: a journey is one YAML document per file; another document beside it is an error (each is
        still read, so its own problems are reported too)."""
        present = [d for d in docs if d.data is not None]
        if len(present) < 2:
            return
        for doc in present:
            if isinstance(doc.data, dict) and doc.data.get("kind") == "Journey":
                first = present[0] if present[0] is not doc else present[1]
                self.problems.append(doc.problem(("kind",), f"a journey is one YAML document per file (SPEC §4); "
                                                 f"this file holds {len(present)}: move journey {doc.data.get('id')!r} "
                                                 f"or the document at line {first.start.line} to a file of its own"))

    def _classify(self, doc: Document, file: Path, *, explicit: bool, template_root: Path | None,
                  expect: str | None) -> None:
        data = doc.data
        if data is None:
            return
        if not isinstance(data, dict):
            self.problems.append(doc.problem((), "a Wayfinder document is a mapping with apiVersion and kind"))
            return
        kind = data.get("kind")
        if kind is None and expect is not None:
            kind = expect
        if expect == "Policy" and kind != expect and isinstance(kind, str) and kind in KINDS:
            # a file given as the policy (``--policy``) that holds another kind: said as such, not read as that
            # kind (a journey given so was read twice: "defined twice", at the same place)
            self.problems.append(doc.problem(("kind",), f"given as the policy, but this is a kind: {kind} document; "
                                             "--policy takes a file with a kind: Policy document"))
            return
        model = KINDS.get(kind) if isinstance(kind, str) else None
        if model is not None and isinstance(kind, str):
            self.kinds.add(kind)
        other = OTHER_KINDS.get(kind) if isinstance(kind, str) and model is None else None
        if other is not None:
            self.problems.extend(Problem(doc.file, line, column, message) for line, column, message in other(doc))
            return
        if model is None:
            api = data.get("apiVersion")
            if not explicit and not (isinstance(api, str) and api.startswith("wayfinder/")) and "kind" not in data:
                return
            self.problems.append(_unknown_kind(doc, kind))
            return
        if model is Journey:
            doc = _when_into_action(doc)
            data = doc.data
        try:
            parsed = model.model_validate(data)
        except ValidationError as e:
            self._pydantic_problems(doc, e, model)
            salvaged = _salvage_catalog(doc, e) if model is CatalogDoc else _salvage_fields(doc, e, model)
            if salvaged is None:
                if model is TemplateDoc:
                    self.broken_templates.add(_template_id(file, template_root))
                self.broken.append(doc)
                return
            doc, parsed, broken_ids = salvaged.doc, salvaged.model, salvaged.broken_ids  # checked as a good one
        else:
            broken_ids = frozenset()
        tid = _template_id(file, template_root) if isinstance(parsed, TemplateDoc) else None
        self.parsed.append(_Parsed(doc, parsed, tid, broken_ids))

    def _step_keys(self, doc: Document, loc: Loc, label: str) -> None:
        self.problems.extend(_step_key_problems(doc, _real_loc(doc, loc), label))

    def _pydantic_problems(self, doc: Document, e: ValidationError, model: type[BaseModel]) -> None:
        label = _label(doc, model)
        for err in e.errors(include_url=False):
            loc: Loc = tuple(err["loc"])
            path = _loc_text(doc, loc)
            msg = _in_words(err) or err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                key = loc[-1]
                near = _fields_at(model, loc[:-1])  # the fields of the mapping it is in, where that is plain
                close = difflib.get_close_matches(str(key), sorted((near or _all_field_names()) - {key}), n=1)
                here = " here" if key in _all_field_names() else ""  # a field of another kind of step or document
                msg = f"unknown field {key!r}{here}" + (f" (did you mean {close[0]!r}?)" if close else
                                                         _fields_it_takes(near))
                outer = _fields_at(model, loc[:-2]) if len(loc) >= 2 and isinstance(loc[-2], str) else None
                if near is not None and outer is not None and key in outer and key not in near:  # indented too far
                    msg = f"unknown field {key!r} here (it goes beside {loc[-2]!r}, not inside it)"
                mark = doc.key_marks.get(_real_loc(doc, loc))
                if mark is not None:
                    parent = _loc_text(doc, loc[:-1])
                    where = f"{parent}: " if parent else ""
                    self.problems.append(Problem(doc.file, mark.line, mark.column, f"{label}: {where}{msg}"))
                    continue
            if err["type"] == "missing":  # at the mapping that lacks it, named without pydantic's union tags
                tags = _union_tags(model, loc)
                lacking: Loc = tuple(part for i, part in enumerate(loc[:-1]) if i not in tags)
                named = f"{_loc_text(doc, lacking)}: " if lacking else ""
                self.problems.append(doc.problem(lacking, f"{label}: {named}missing required field {loc[-1]!r}"))
                continue
            if err["type"] == "step_kind":
                self._step_keys(doc, loc, label)
            if err["type"] == "literal_error" and isinstance(err.get("input"), str):
                choices = _CHOICE.findall(str((err.get("ctx") or {}).get("expected", "")))
                if len(choices) > 1:  # with one, the message has already said it (apiVersion: wayfinder/v1)
                    msg += suggest(err["input"], choices, CLOSE)
            key_mark = doc.key_marks.get(_real_loc(doc, loc[:-1])) if loc[-1:] == ("[key]",) else None
            if key_mark is not None:  # a mapping's key at fault (a locale tag): at the key, not at its value's first
                named = _loc_text(doc, loc[:-2])  # line, and named without pydantic's "[key]"
                self.problems.append(Problem(doc.file, key_mark.line, key_mark.column,
                                             f"{label}: {named + ': ' if named else ''}{msg}"))
                continue
            error = (err.get("ctx") or {}).get("error")
            where = f"{path}: " if path else ""
            if isinstance(error, ExpressionError) and error.column:
                for text, column in ((msg, error.column), *error.more):
                    at = _expression_mark(doc, loc, column)
                    self.problems.append(Problem(doc.file, at.line, at.column, f"{label}: {where}{text}"))
                continue
            self.problems.append(doc.problem(_real_loc(doc, loc), f"{label}: {where}{msg}"))


def _fields_it_takes(near: set[str] | None) -> str:
    """The fields a mapping takes, when no one of them is close to what was written and they are few to read."""
    return f"; it takes {', '.join(sorted(near))}" if near and len(near) <= 12 else ""


_EXPECTED = {  # pydantic's "Input should be a valid dictionary or instance of ResourceRequest", in an author's words
    "list_type": "expected a list: one item per line, each starting with '- ' (or [a, b] on one line)",
    "dict_type": "expected a mapping: one 'name: value' per line, indented under it (or {name: value} on one line)",
    "model_type": "expected a mapping: one 'name: value' per line, indented under it (or {name: value} on one line)",
    "int_type": "expected a whole number, such as 3",
    "int_parsing": "expected a whole number, such as 3",
    "string_type": "expected text",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
}


def _in_words(err: Any) -> str | None:
    """What a value of the wrong shape should have been and what it is (never the value: it may be anything)."""
    expected = _EXPECTED.get(err["type"])
    if expected is None:
        return None
    given = err.get("input")
    shape = ("nothing" if given is None else "true or false" if isinstance(given, bool)
             else "a number" if isinstance(given, int | float) else "text" if isinstance(given, str)
             else "a list" if isinstance(given, list | tuple) else "a mapping" if isinstance(given, dict) else None)
    return f"{expected}, not {shape}" if shape is not None else expected


def _unknown_kind(doc: Document, kind: object) -> Problem:
    known = ", ".join(KINDS)
    if kind is None:  # it was said as "unknown kind None"
        return doc.problem((), f"no kind: a Wayfinder document says which it is, one of {known}")
    close = difflib.get_close_matches(str(kind), list(KINDS), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return doc.problem(("kind",), f"unknown kind {kind!r}{hint}; expected one of {known}")


_CHOICE = re.compile(r"'([^']*)'")  # one of the values pydantic lists in a literal_error's ``expected``


def _salvage_fields(doc: Document, e: ValidationError, model: type[BaseModel]) -> _Parsed | None:
    """A document whose errors all sit in top-level fields it may do without, or anywhere inside one (a misspelt
    ``status``, an unknown key, a policy's ``frequency_cap: {max: -1}``) or, for a journey, inside some of its
    steps, its ``exit_on`` entries or its ``trigger.when``, checked without them (a broken step stands in as a
    wait that keeps its id, so what leads to it still does): the problems of the rest (its expressions and
    templates, a policy's sensitive topics) are reported in the same run. Its own errors are reported already and
    still stop a run."""
    keys = set()
    steps: dict[int, list[Loc]] = {}  # broken steps: where in each the errors are
    exits: set[int] = set()
    trigger_when = False
    fields: set[str] = set()  # an event type's declared fields with errors of their own
    expected: dict[tuple[str, int], set[str]] = {}  # a journey test's expectations: the keys at fault
    for err in e.errors(include_url=False):
        loc = err["loc"]
        journey_part = model is Journey and len(loc) >= 2
        if _nested_slip(model, loc, fields, expected):
            continue
        if journey_part and loc[0] == "steps" and isinstance(loc[1], int):
            steps.setdefault(loc[1], []).append(_real_loc(doc, loc)[2:])
        elif journey_part and loc[0] == "exit_on" and isinstance(loc[1], int):
            exits.add(loc[1])
        elif journey_part and loc[:2] == ("trigger", "when") and len(loc) == 2:
            trigger_when = True
        elif loc and isinstance(loc[0], str):
            keys.add(loc[0])
        else:
            return None
    by_key = {(f.alias or name): f for name, f in model.model_fields.items()}
    if not isinstance(doc.data, dict):
        return None
    renamed = _misspelt_required(e, keys, by_key)  # `txt:` for a required `text:`: checked as what it meant
    keys -= {*renamed, *renamed.values()}
    if any(key in by_key and by_key[key].is_required() for key in keys):
        return None
    if renamed:
        doc = doc.renamed(renamed)
    if model is EventTypeDoc and "data" in keys:  # no fields to read: broken, so the type's fields go unchecked
        return None
    data = {k: v for k, v in doc.data.items() if k not in keys}
    if steps:
        stand_ins = _stand_in_steps(data.get("steps"), steps)
        if stand_ins is None:
            return None
        data["steps"] = stand_ins
    _without_broken_parts(data, exits, trigger_when=trigger_when, fields=fields, expected=expected)
    try:
        return _Parsed(doc, model.model_validate(data))
    except ValidationError:
        return None


def _nested_slip(model: type[BaseModel], loc: tuple[Any, ...], fields: set[str],
                 expected: dict[tuple[str, int], set[str]]) -> bool:
    """Note an error inside an event type's field declaration (the field is declared all the same, as a plain one:
    journeys reading it are not told otherwise) or inside a journey test's expectation (checked without the keys
    at fault); False for any other error."""
    if model is EventTypeDoc and len(loc) >= 2 and loc[0] == "data" and isinstance(loc[1], str):
        fields.add(loc[1])
        return True
    if (model is JourneyTestDoc and len(loc) >= 4 and loc[0] == "expect" and loc[1] in ("messages", "tasks")
            and isinstance(loc[2], int)):
        expected.setdefault((str(loc[1]), loc[2]), set()).add(str(loc[3]))
        return True
    return False


def _misspelt_required(e: ValidationError, keys: set[str], by_key: dict[str, Any]) -> dict[str, str]:
    """Unknown top-level keys that are a slip for a required field the document misses (``txt`` for ``text``),
    each to that field: the rest of the document is checked as if it were written so (both are reported)."""
    missing = [str(err["loc"][0]) for err in e.errors(include_url=False)
               if err["type"] == "missing" and len(err["loc"]) == 1]
    unknown = [str(err["loc"][0]) for err in e.errors(include_url=False)
               if err["type"] == "extra_forbidden" and len(err["loc"]) == 1]
    out: dict[str, str] = {}
    for name in missing:
        close = difflib.get_close_matches(name, [k for k in unknown if k not in out], n=1)
        if close and name in by_key and name in keys:
            out[close[0]] = name
    return out


def _without_broken_parts(data: dict[str, Any], exits: set[int], *, trigger_when: bool, fields: set[str],
                          expected: dict[tuple[str, int], set[str]]) -> None:
    """A journey without the exits that cannot be read and the trigger's broken condition; an event type with its
    broken field declarations as plain fields; a journey test's expectations without their keys at fault (every
    key of one is optional), so the journeys and steps they name are still checked."""
    if expected and isinstance(data.get("expect"), dict):
        data["expect"] = {kind: [{k: v for k, v in x.items() if k not in expected.get((kind, i), ())}
                                 if isinstance(x, dict) else x for i, x in enumerate(items)]
                          if isinstance(items, list) else items for kind, items in data["expect"].items()}
    if exits and isinstance(data.get("exit_on"), list):  # an exit that cannot be read: the journey without it
        data["exit_on"] = [x for i, x in enumerate(data["exit_on"]) if i not in exits]
    if trigger_when and isinstance(data.get("trigger"), dict):  # the trigger without its condition
        data["trigger"] = {k: v for k, v in data["trigger"].items() if k != "when"}
    if fields and isinstance(data.get("data"), dict):
        data["data"] = {k: ({} if k in fields else v) for k, v in data["data"].items()}


_WHEN_ACTIONS = ("send", "task")  # the step kinds whose action has a ``when`` (``ACTION_WITH_WHEN``)


def _when_into_action(doc: Document) -> Document:
    """A step's ``when`` written beside its ``send``/``task`` moved into the action, where the model reads it, with
    its place in the file: a problem in it (or in the rest of the step) is reported where it is written, and the
    step is mended and checked like one written the other way (``_Step._when_beside`` does the same for the model)."""
    steps = doc.data.get("steps") if isinstance(doc.data, dict) else None
    if not isinstance(steps, list):
        return doc
    moved: list[tuple[int, str]] = []
    for i, step in enumerate(steps):
        if not isinstance(step, dict) or "when" not in step:
            continue
        action = next((a for a in _WHEN_ACTIONS if isinstance(step.get(a), dict) and "when" not in step[a]), None)
        if action is not None:
            moved.append((i, action))
    if not moved:
        return doc
    data = dict(doc.data)
    data["steps"] = list(steps)
    marks, key_marks, styles = dict(doc.marks), dict(doc.key_marks), dict(doc.styles)
    for i, action in moved:
        step = steps[i]
        data["steps"][i] = {**{k: v for k, v in step.items() if k != "when"}, action: {**step[action],
                                                                                    "when": step["when"]}}
        old, new = ("steps", i, "when"), ("steps", i, action, "when")
        for table in (marks, key_marks):
            table.update({(*new, *loc[3:]): mark for loc, mark in list(table.items()) if loc[:3] == old})
        styles.update({(*new, *loc[3:]): style for loc, style in list(styles.items()) if loc[:3] == old})
    return replace(doc, data=data, marks=marks, key_marks=key_marks, styles=styles)


def _stand_in_steps(steps: Any, broken: dict[int, list[Loc]]) -> list[Any] | None:
    """``steps`` with each broken one mended (:func:`_mended`) or replaced by a stand-in of the same id
    (:func:`_stand_in`); None when neither can be made."""
    if not isinstance(steps, list):
        return None
    out = list(steps)
    for i, where in broken.items():
        step = steps[i] if i < len(steps) else None
        stand_in = _mended(step, where) or _stand_in(step)
        if stand_in is None:
            return None
        out[i] = stand_in
    return out


_STEP: TypeAdapter[Any] = TypeAdapter(Step)
_NEUTRAL = {"channel": "email", "to": "employee", "assignee": "hr_partner", "for": "1s", "timeout": "1s",
            "horizon": "90d", "at": "09:00"}
"""Values a step cannot do without, to stand in for a broken one of them (a ``channel: sms``)."""


def _mended(step: Any, where: list[Loc]) -> dict[str, Any] | None:
    """The step itself with each broken value taken out (or, for one it cannot do without, a neutral value), so
    the rest of it (its template, topics, conditions) is still checked; None when that does not make a step."""
    if not isinstance(step, dict):
        return None
    out = copy.deepcopy(step)
    for path in where:
        container: Any = out
        for key in path[:-1]:
            if isinstance(container, dict) and key in container:
                container = container[key]
            elif isinstance(container, list) and isinstance(key, int) and 0 <= key < len(container):
                container = container[key]
            else:
                return None
        leaf = path[-1] if path else None
        if not isinstance(container, dict) or leaf not in container:
            return None
        if leaf in _NEUTRAL:
            container[leaf] = _NEUTRAL[leaf]
        else:
            del container[leaf]
    try:
        _STEP.validate_python(out)
    except ValidationError:
        return None
    return out


def _stand_in(step: Any) -> dict[str, Any] | None:
    """A step that does what a broken one does for the steps around it: a one-second wait with its id, keeping the
    jumps it makes that can be read (so what it leads to is not reported unreachable). A ``wait_for`` stands in as
    a wait for the same event, with a timeout if it has one (what ``event`` may be in the steps after it). None
    without a usable id, or for a ``wait_for`` whose event type cannot be read."""
    if not isinstance(step, dict) or not isinstance(step.get("id"), str):
        return None
    def jumps(action: Any, *keys: str) -> dict[str, str]:
        return {k: v for k in keys if isinstance(action, dict) and isinstance(v := action.get(k), str)}
    if "wait_for" in step:
        action = step["wait_for"]
        awaited = action.get("event") if isinstance(action, dict) else None
        if not isinstance(awaited, str) or not awaited:
            return None
        timeout = {"timeout": "1s"} if "timeout" in action else {}  # whether the steps after it may see the trigger
        return {"id": step["id"], "wait_for": {"event": awaited, **timeout, **jumps(action, "on_timeout")}}
    targets = jumps(step.get("branch"), "then", "else")
    if "then" in targets:
        return {"id": step["id"], "branch": {"if": "true", **targets}}
    return {"id": step["id"], "wait": {"for": "1s"}}


_CATALOG_LISTS = ("topics", "resources", "roles")


def _salvage_catalog(doc: Document, e: ValidationError) -> _Parsed | None:
    """A catalog whose errors all sit in entries of its lists, or in top-level keys it can do without (an unknown
    ``version: 2``), without those: the rest is still cross-checked (unknown topics, requires cycles) and what
    names its topics is checked against them; an entry that is only broken is not reported unknown. A list that
    cannot be read as one, or a broken ``apiVersion`` or ``kind``, leaves the catalog unread."""
    dropped: dict[str, set[int]] = {}
    keys: set[str] = set()
    slips: dict[tuple[str, int], set[str]] = {}  # the keys at fault in each broken entry
    for err in e.errors(include_url=False):
        loc = err["loc"]
        if loc and loc[0] in _CATALOG_LISTS and len(loc) >= 2 and isinstance(loc[1], int):
            dropped.setdefault(str(loc[0]), set()).add(loc[1])
            slips.setdefault((str(loc[0]), loc[1]), set()).add(str(loc[2]) if len(loc) > 2 else "")
        elif loc and isinstance(loc[0], str) and loc[0] not in _CATALOG_LISTS and loc[0] not in _field_names(
                CatalogDoc):
            keys.add(loc[0])
        else:
            return None
    if keys and isinstance(doc.data, dict):
        doc = replace(doc, data={k: v for k, v in doc.data.items() if k not in keys})
    broken_ids: set[str] = set()
    if isinstance(doc.data, dict):  # an entry mended (its slips taken out) is checked as written: not dropped
        doc = replace(doc, data=_mended_entries(doc.data, slips, dropped))
    for key, indices in dropped.items():
        entries = doc.data.get(key)
        if not isinstance(entries, list):
            return None
        broken_ids.update(entries[i]["id"] for i in indices
                          if isinstance(entries[i], dict) and isinstance(entries[i].get("id"), str))
        doc = doc.without(key, indices)
    try:
        model = CatalogDoc.model_validate(doc.data)
    except ValidationError:
        return None
    return _Parsed(doc, model, None, frozenset(broken_ids))


_ENTRY_SPECS: dict[str, type[BaseModel]] = {"topics": TopicSpec, "resources": ResourceSpec, "roles": RoleSpec}
_ENTRY_NEUTRAL = {"type": "document"}  # a value an entry cannot do without, for a broken one of it
_SKILL_LISTS = ("skills", "teaches", "requires_skills")  # mended by writing each skill as skills are written


def _as_skills(value: Any) -> Any:
    """A list of skills written as skills are (``Bad_Skill`` -> ``bad-skill``), for a mended entry; anything else
    as it is."""
    if not isinstance(value, list):
        return value
    return [skill_key(v) if isinstance(v, str) and skill_key(v) else v for v in value]


def _mended_entries(data: dict[str, Any], slips: dict[tuple[str, int], set[str]],
                    dropped: dict[str, set[int]]) -> dict[str, Any]:
    """The catalog with each broken topic, resource or role mended where that makes a valid entry: a key at fault taken
    out (an unknown ``parnt``, a ``locale`` of the wrong type) or, if the entry cannot do without it, a neutral
    value (``type: polcy``). A mended entry is checked as written (its topics, eligibility, links), so all of a
    file's problems show in one run; its own errors are reported already. Mended entries leave ``dropped``."""
    out = dict(data)
    for (key, i), names in slips.items():
        spec, entries = _ENTRY_SPECS.get(key), out.get(key)
        if spec is None or not isinstance(entries, list) or i >= len(entries) or not isinstance(entries[i], dict):
            continue
        if "" in names or "id" in names:
            continue  # the entry itself, or its id: nothing to name it by
        # A mis-written skill is read as the skill it names (the error says so), so the entry's other skills are still
        # checked, and a role with one is not "unknown" to the steps that name it (both were lost with the entry).
        entry = {k: _as_skills(v) if k in _SKILL_LISTS else v for k, v in entries[i].items()
                 if k not in names or k in _SKILL_LISTS}
        entry.update({k: _ENTRY_NEUTRAL[k] for k in names if k in _ENTRY_NEUTRAL})
        try:
            spec.model_validate(entry)
        except ValidationError:
            continue
        out[key] = [*entries[:i], entry, *entries[i + 1:]]
        dropped[key].discard(i)
    return out


_STEP_KEYS = ("id", "description", "when")


def _step_key_problems(doc: Document, loc: Loc, label: str) -> list[Problem]:
    """For a step with no action or more than one: the keys at fault, each where it is written (a misspelt action,
    ``sned:``, named with what it may have meant; every action after the first)."""
    step = doc.data
    for part in loc:
        step = step.get(part) if isinstance(step, dict) else step[part] if isinstance(step, list) and isinstance(
            part, int) and part < len(step) else None
    if not isinstance(step, dict):
        return []
    actions = [k for k in step if k in STEP_KINDS]
    out = []
    if len(actions) > 1:
        for key in actions[1:]:
            mark = doc.key_marks.get((*loc, key))
            if mark is not None:
                out.append(Problem(doc.file, mark.line, mark.column, f"{label}: {_loc_text(doc, loc)}: a second "
                                   f"action {key!r} beside {actions[0]!r}; a step has exactly one"))
    elif not actions:
        for key in step:
            if key in _STEP_KEYS or not isinstance(key, str):
                continue
            mark = doc.key_marks.get((*loc, key))
            close = difflib.get_close_matches(key, list(STEP_KINDS), n=1)
            if mark is not None:
                out.append(Problem(doc.file, mark.line, mark.column, f"{label}: {_loc_text(doc, loc)}: unknown key "
                                   f"{key!r}" + (f" (did you mean the action {close[0]!r}?)" if close else "")))
    return out


def _fields_at(model: type[BaseModel], loc: Loc) -> set[str] | None:
    """The fields of the model whose mapping is at ``loc`` in a ``model`` document, when the annotations on the way
    say which (a list's or a mapping's items, an optional value, a union tag pydantic put in ``loc``); None where
    they do not. A misspelt key is told the closest of these (``foo`` in a digest rule was told "did you mean
    'for'?", a field of the steps)."""
    current: Any = model
    for part in loc:
        plain = _unwrapped(current, None)  # without ``X | None`` and ``Annotated``
        if isinstance(plain, type) and issubclass(plain, BaseModel):
            if part == plain.__name__:
                continue  # a union tag pydantic put in ``loc``, already taken
            info = next((f for n, f in plain.model_fields.items() if (f.alias or n) == part), None)
            current = info.annotation if info is not None else None
        else:
            current = _unwrapped(current, part)  # a list's or a mapping's item, a union's member
        if current is None:
            return None
    current = _unwrapped(current, None)
    return _field_names(current) if isinstance(current, type) and issubclass(current, BaseModel) else None


def _union_tags(model: type[BaseModel], loc: Loc) -> set[int]:
    """The places in ``loc`` that are a union's tag pydantic put there (a step's ``task`` in ``steps.4.task.id``),
    not a key of the document: a step that lacks its ``id`` lacks it beside ``task``, not inside it (it was placed
    at the journey's own ``id``, the only ``id`` key on the way). Walked as :func:`_fields_at` walks."""
    tags: set[int] = set()
    current: Any = model
    for i, part in enumerate(loc):
        plain = _unwrapped(current, None)  # None: a union of several members, which ``part`` may tag
        if isinstance(plain, type) and issubclass(plain, BaseModel):
            if part == plain.__name__:
                tags.add(i)
                continue
            info = next((f for n, f in plain.model_fields.items() if (f.alias or n) == part), None)
            current = info.annotation if info is not None else None
        else:
            if plain is None and isinstance(part, str):
                tags.add(i)
            current = _unwrapped(current, part)
        if current is None:
            return tags
    return tags


def _tags_of(member: Any) -> set[Any]:
    """The names pydantic gives a union's ``member`` in a ``loc``: its ``Tag``, else its class name."""
    names: set[Any] = {getattr(member, "__name__", None)}
    if typing.get_origin(member) is typing.Annotated:
        names |= {m.tag for m in typing.get_args(member)[1:] if isinstance(m, Tag)}
        names.add(getattr(typing.get_args(member)[0], "__name__", None))
    return names - {None}


def _unwrapped(annotation: Any, part: str | int | None) -> Any:
    """``annotation`` without what stands between a mapping's key and its value: ``X | None``, a list's or a
    mapping's items (by ``part``), a union's member that ``part`` tags (pydantic's class name in a ``loc``)."""
    while True:
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if origin is typing.Annotated:
            annotation = args[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in args if a is not type(None)]
            tagged = [a for a in members if part is not None and part in _tags_of(a)]
            if tagged:
                return tagged[0]
            if len(members) != 1:
                return None
            annotation = members[0]
        elif origin in (list, tuple, Sequence) and isinstance(part, int):
            return args[0] if args else None
        elif origin is dict and isinstance(part, str) and not (isinstance(annotation, type)
                                                                and issubclass(annotation, BaseModel)):
            return args[1] if len(args) == 2 else None
        else:
            return annotation


def _all_field_names() -> set[str]:
    """Every field of the journey and catalog documents (what a misspelt key may have meant)."""
    from wayfinder.catalog import model as cm
    from wayfinder.journeys import model as jm

    names: set[str] = set()
    for obj in [*vars(jm).values(), *vars(cm).values()]:
        if isinstance(obj, type) and issubclass(obj, BaseModel):
            names |= _field_names(obj)
    return names


def _real_loc(doc: Document, loc: Loc) -> Loc:
    """Drop the union tags that pydantic puts in a ``loc`` so it names YAML nodes only."""
    path: Loc = ()
    for part in loc:
        if (*path, part) in doc.marks:
            path = (*path, part)
    if loc and path[-1:] != loc[-1:]:
        whole = _whole_path(doc, loc)
        path = whole if whole is not None else (*path, loc[-1])
    return path


def _whole_path(doc: Document, loc: Loc) -> Loc | None:
    """The longest path of YAML nodes through ``loc`` that ends at its last part, when a union tag is also a key
    of the node (a step's ``send``: ``steps.0.send.id`` is the step's ``id`` beside ``send``, not inside it)."""
    def paths(start: int, path: Loc) -> Iterator[Loc]:
        if start == len(loc):
            if path and path[-1:] == loc[-1:]:
                yield path
            return
        if (*path, loc[start]) in doc.marks:
            yield from paths(start + 1, (*path, loc[start]))
        yield from paths(start + 1, path)

    if len(loc) > 12:  # deeper than any document Wayfinder reads nests: not worth the search
        return None
    return max(paths(0, ()), key=len, default=None)


def _loc_text(doc: Document, loc: Loc) -> str:
    whole = _whole_path(doc, loc) if loc and loc not in doc.marks else None
    if whole is not None:
        loc = whole
    out = ""
    path: Loc = ()
    for part in loc:
        known = (*path, part) in doc.marks
        if not known and (part != loc[-1] or path[-1:] == (part,)):
            continue
        path = (*path, part)
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _expression_mark(doc: Document, loc: Loc, column: int) -> Mark:
    """Where the expression's ``column`` (1-based, in its text) is written in the file; the scalar's start when
    that cannot be found."""
    real = _real_loc(doc, loc)
    value: Any = doc.data
    for part in real:
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
            value = value[part]
        else:
            value = None
    found = doc.value_mark(real, value, column - 1) if isinstance(value, str) else None
    return found or doc.mark(real)


def _label(doc: Document, model: type[BaseModel] | BaseModel) -> str:
    kind = model.__name__ if isinstance(model, type) else type(model).__name__
    name = {"TemplateDoc": "template", "CatalogDoc": "catalog", "TopicDoc": "topic", "ResourceDoc": "resource",
            "Journey": "journey", "Policy": "policy", "Fairness": "fairness", "EventTypeDoc": "event type",
            "JourneyTestDoc": "journey test", "RoleDoc": "role",
            "CatalogFeedbackDoc": "catalog feedback"}.get(kind, kind.lower())
    ident = doc.data.get("id") if isinstance(doc.data, dict) else None
    named = ("journey", "topic", "resource", "event type", "journey test", "role")
    return f"{name} {ident}" if isinstance(ident, str) and name in named else name


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Loading makes many small objects and few cycles: the cyclic collector, run again and again over the
    growing trees of a large file, took half the time. Paused while loading (what it would free, it frees later)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def load(sources: Sources) -> tuple[Definitions, list[Problem]]:
    """Load and cross-check; the definitions are only fit to run when no problem is an error."""
    with _gc_paused():
        return _load(sources)


def _load(sources: Sources) -> tuple[Definitions, list[Problem]]:
    loader = _Loader()
    flagged = [*sources.templates, *([sources.policy] if sources.policy is not None else [])]
    loader.reserve(flagged)
    reserved = frozenset(loader.seen)
    for p in sources.paths:
        loader.read(p, explicit=True)
    for t in sources.templates:
        loader.read(t, explicit=True, template_root=t, expect="Template", reserved=reserved)
    if sources.policy is not None:
        loader.read(sources.policy, explicit=True, expect="Policy", reserved=reserved)
    elif sources.default_policy is not None and "Policy" not in loader.kinds:
        loader.read(sources.default_policy, explicit=True, expect="Policy", reserved=reserved)
    if sources.fallback is not None:
        _fall_back(loader, sources.fallback, has_templates=bool(sources.templates))
    _bundled_digest(loader)
    defs = Definitions(files=loader.files, broken_templates=loader.broken_templates)
    problems = list(loader.problems)
    unchecked = _unchecked(loader)
    _build(loader.parsed, loader.broken, defs, problems, unchecked)
    problems += check_definitions([(p.doc, p.model, p.template_id) for p in loader.parsed], loader.broken,
                                  () if unchecked.any_template else {*defs.templates, *defs.broken_templates},
                                  () if unchecked.any_topic else {*defs.catalog.topics, *unchecked.topics})
    defs.positions = journey_positions([(p.doc, p.model, p.template_id) for p in loader.parsed])
    defs.tests = [(p.doc.file, p.doc.start.line, p.model) for p in loader.parsed if isinstance(p.model, JourneyTestDoc)]
    defs.test_places = {(p.doc.file, p.doc.start.line): _expectation_places(p.doc, p.model) for p in loader.parsed
                        if isinstance(p.model, JourneyTestDoc)}
    working = defs.policy.working_days
    defs.catalog.calendar = WorkCalendar(working.weekend, public_holidays=working.public_holidays,
                                         by_country=working.weekend_by_country)
    if loader.odd_breaks:  # placed as the author's editor shows the file
        problems = [replace(p, line=at[0], column=at[1]) if (text := loader.odd_breaks.get(p.file)) is not None
                    and (at := editor_position(text, p.line, p.column)) else p for p in problems]
    return defs, sorted(set(problems))


def _fall_back(loader: _Loader, fallback: Fallback, *, has_templates: bool) -> None:
    """Read the fallback's templates and catalog where the sources hold none (:class:`Fallback`)."""
    unread = set().union(*loader.unread.values())
    wanted: list[tuple[str, frozenset[str]]] = []
    if not has_templates and "Template" not in loader.kinds:
        wanted.append(("templates", frozenset({"Template"})))
    if not loader.kinds & CATALOG_KINDS:
        wanted.append(("catalog", CATALOG_KINDS))
    for name, kinds in wanted:
        if unread & kinds:
            fallback.held_back.append(name)
            fallback.unread.extend(f for f, held in loader.unread.items() if held & kinds and f not in fallback.unread)
            continue
        fallback.added.append(name)
        folder = fallback.folder / name
        if fallback.project is not None and (fallback.project / name).is_dir():
            folder = fallback.project / name
            fallback.from_project.append(name)
        if name == "templates":
            loader.read(folder, explicit=True, template_root=folder, expect="Template")
        else:
            loader.read(folder, explicit=True)


DEFAULT_DIGEST = "digest/summary"


def _bundled_digest(loader: _Loader) -> None:
    """The bundled digest template, read when a policy's digest rule names no template of its own (so takes
    ``digest/summary``) and the templates given have none by that id: README "Digests" says it is bundled, and a
    policy with a digests block over one's own templates folder (the shared world's, say) stopped every run at
    "unknown template 'digest/summary'". A template of that id among the sources, read or not, is theirs."""
    wanted = any(isinstance(p.model, Policy) and any(r.template == DEFAULT_DIGEST for r in p.model.digests.values())
                 for p in loader.parsed)
    if (not wanted or "Template" in set().union(*loader.unread.values())
            or DEFAULT_DIGEST in loader.broken_templates
            or any(p.template_id == DEFAULT_DIGEST for p in loader.parsed)):
        return
    root = Path(str(files("wayfinder") / "examples" / "templates"))
    loader.read(root / f"{DEFAULT_DIGEST}.yaml", explicit=True, template_root=root, expect="Template")


@dataclass(frozen=True)
class _Unchecked:
    """What documents that could not be read, or did not parse, may declare: names the cross-checks do not
    report unknown. ``any_*``: a file that could not be read may declare any of them."""

    topics: frozenset[str] = frozenset()
    any_topic: bool = False
    any_template: bool = False
    journeys: frozenset[str] = frozenset()  # of files that could not be read (a YAML syntax error)

    def topic(self, name: str) -> bool:
        return self.any_topic or name in self.topics


def _unchecked(loader: _Loader) -> _Unchecked:
    unread = set().union(*loader.unread.values())
    any_topic = bool(unread & CATALOG_KINDS)
    topics: set[str] = set()
    for doc in loader.broken:
        data = doc.data if isinstance(doc.data, dict) else {}
        if data.get("kind") == "Topic":
            any_topic |= not isinstance(data.get("id"), str)
            topics.add(str(data.get("id")))
        elif data.get("kind") == "Catalog":
            entries = data.get("topics", [])
            any_topic |= not isinstance(entries, list)
            topics.update(e["id"] for e in entries if isinstance(e, dict) and isinstance(e.get("id"), str))
    for p in loader.parsed:  # entries of a catalog left out for errors of their own: declared, not unknown
        topics.update(p.broken_ids)
    return _Unchecked(frozenset(topics), any_topic, "Template" in unread, frozenset(loader.unread_journeys))


def load_for_runs(sources: Sources) -> tuple[Definitions, list[Problem]]:
    """:func:`load` for a command that runs the definitions: errors SPEC gives a run-time meaning to are warnings
    (:func:`for_runs`); ``validate`` keeps them errors."""
    defs, problems = load(sources)
    return defs, for_runs(problems)


def load_or_raise(sources: Sources) -> Definitions:
    defs, problems = load_for_runs(sources)
    if any(p.severity == "error" for p in problems):
        raise DefinitionError(problems)
    return defs


# -- cross-checks --------------------------------------------------------------------------
def _build(parsed: list[_Parsed], broken: list[Document], defs: Definitions, problems: list[Problem],
           unchecked: _Unchecked) -> None:
    _build_catalog(parsed, defs, problems, unchecked)
    _build_templates(parsed, defs, problems)
    policies = [p for p in parsed if isinstance(p.model, Policy)]
    for extra in policies[1:]:
        problems.append(extra.doc.problem(("kind",), "only one Policy document is allowed"))
    if policies and isinstance(policies[0].model, Policy):
        policy = policies[0].model
        defs.policy = policy
        for i, topic in enumerate(policy.sensitive_topics):
            if defs.catalog.topics and topic not in defs.catalog.topics and not unchecked.topic(topic):
                # A typo would let messages on that topic go without review: an error for validate. A run goes
                # on (SPEC's own example names topics a catalog may not have): no resource has it to hold.
                problem = policies[0].doc.problem(("sensitive_topics", i), f"unknown topic {topic!r}"
                                                  + suggest(topic, defs.catalog.topics))
                problems.append(replace(problem, runs_anyway="no resource has that topic, so it holds no message "
                                        "for review"))
    first: dict[tuple[str, int], Document] = {}
    for p in parsed:
        if isinstance(p.model, Journey):
            key = (p.model.id, p.model.version)
            if key in first:  # the second definition of a version: say where the first is
                other = first[key].mark(("id",))
                problems.append(p.doc.problem(("id",), f"journey {key[0]} version {key[1]} is defined twice (also "
                                              f"at {first[key].file}:{other.line}:{other.column})"))
                continue
            first[key] = p.doc
            _check_journey(p.doc, p.model, defs, problems, unchecked)
    if policies and isinstance(policies[0].model, Policy):
        _check_digests(policies[0].doc, policies[0].model, parsed, _broken_journeys(broken) | unchecked.journeys,
                       defs, problems, unchecked)
    _check_protected_attributes(parsed, defs, problems)
    _check_journey_tests(parsed, _broken_journeys(broken) | unchecked.journeys, problems)


def _broken_journeys(broken: list[Document]) -> set[str]:
    """The ids of journeys whose own errors kept them from being read: known to what names them (their errors are
    reported where they are, not again as unknown journeys)."""
    return {doc.data["id"] for doc in broken
            if isinstance(doc.data, dict) and doc.data.get("kind") == "Journey" and isinstance(doc.data.get("id"), str)}


def _check_digests(doc: Document, policy: Policy, parsed: list[_Parsed], broken: set[str], defs: Definitions,
                   problems: list[Problem], unchecked: _Unchecked) -> None:
    """A digest's template is loaded and its journeys exist and send to its role on its channel (README
    "Digests")."""
    journeys = {p.model.id for p in parsed if isinstance(p.model, Journey)} | broken
    addressed = {jid: sent for jid, sent in _addressed(parsed).items() if jid not in broken}  # a broken one's: unknown
    for role, rule in policy.digests.items():
        if (defs.templates and rule.template not in defs.templates and rule.template not in defs.broken_templates
                and not unchecked.any_template):
            hint = " (the bundled one is digest/summary)" if rule.template != "digest/summary" else \
                " (copy the bundled templates/digest/summary.yaml into your templates folder)"
            problems.append(doc.problem(("digests", role, "template"),
                                        f"unknown template {rule.template!r}{hint}"))
        elif not rule.template.startswith("digest/"):
            # a message's template (it reads employee, resources, ...) fails for every digest at run time
            problems.append(doc.problem(("digests", role, "template"),
                                        f"template {rule.template!r} is not a digest template: a digest's template "
                                        "is under digest/ and reads items, count, every (README \"Digests\")"))
        for i, jid in enumerate(rule.journeys or []):
            if journeys and jid not in journeys:
                near = difflib.get_close_matches(jid, sorted(journeys), n=1)
                problems.append(doc.problem(("digests", role, "journeys", i), f"unknown journey {jid!r}"
                                            + (f"; did you mean {near[0]!r}?" if near else "")))
            elif jid in addressed and not any(to == role and digest_rule(policy, to, jid, channel) is rule
                                              for to, channel in addressed[jid]):
                problems.append(doc.problem(("digests", role, "journeys", i), (
                    f"journey {jid!r} sends no message to the {role} on {rule.channel} (no step with to: {role}, "
                    f"channel: {rule.channel}): this rule gathers nothing from it"), severity="warning"))


def _addressed(parsed: list[_Parsed]) -> dict[str, set[tuple[str, str]]]:
    """For each journey id (every version), the (recipient role, channel) of each step that makes a message: what
    ``digest_rule`` is asked of the message at run time."""
    out: dict[str, set[tuple[str, str]]] = {}
    for p in parsed:
        if isinstance(p.model, Journey):
            messages = [s for s in p.model.steps if isinstance(s, SendStep | RoadmapStep | LearningPathStep)]
            actions = [s.send if isinstance(s, SendStep) else s.roadmap if isinstance(s, RoadmapStep) else
                       s.learning_path for s in messages]
            out.setdefault(p.model.id, set()).update((a.to, a.channel) for a in actions)
    return out


def _check_journey_tests(parsed: list[_Parsed], broken: set[str], problems: list[Problem]) -> None:
    """A journey test's references, as ``wayfinder test`` would meet them one at a time: the journeys it names,
    ``until``, each event as simulate decodes it, and the journeys and steps its expectations name. With no
    journeys read at all, the test alone is checked. The steps of a journey in ``broken`` are not known (None):
    nothing is said about them."""
    read: dict[str, set[str]] = {}
    for p in parsed:
        if isinstance(p.model, Journey):
            read.setdefault(p.model.id, set()).update(s.id for s in p.model.steps)
    steps: dict[str, set[str] | None] = {**read, **dict.fromkeys(broken)}
    for p in parsed:
        if isinstance(p.model, JourneyTestDoc):
            label = f"journey test {p.model.id}"
            _test_inputs(p.doc, p.model, label, problems)
            if steps:
                _test_references(p.doc, p.model, label, steps, problems)


def _test_inputs(doc: Document, test: JourneyTestDoc, label: str, problems: list[Problem]) -> None:
    if test.until is not None:
        try:
            parse_instant(test.until)
        except ValueError as e:
            problems.append(doc.problem(("until",), f"{label}: until: {e}"))
    expected: list[tuple[str, Sequence[ExpectedMessage | ExpectedTask]]] = [
        ("messages", test.expect.messages), ("tasks", test.expect.tasks)]
    for kind, wanted in expected:  # an expected time is compared as an instant: it must say one
        for i, want in enumerate(wanted):
            if want.at is not None:
                try:
                    parse_instant(want.at)
                except ValueError as e:
                    problems.append(doc.problem(("expect", kind, i, "at"), f"{label}: expect.{kind}[{i}].at: {e}"))
    for n, event in enumerate(test.events):
        try:
            decode_event(event.raw(f"{test.id}-{n + 1}"))
        except DecodeError as e:
            problems.append(doc.problem(("events", n, *e.loc), f"{label}: event {n + 1} ({event.type}) is one "
                                        f"simulate refuses: {e.code}: {e.detail}"))


def _expectation_places(doc: Document, test: JourneyTestDoc) -> dict[tuple[str, int | None], str]:
    """``file:line:column`` of each expectation of a test and of its lists (``expect.messages``)."""
    out: dict[tuple[str, int | None], str] = {}
    for kind, count in (("messages", len(test.expect.messages)), ("tasks", len(test.expect.tasks))):
        for n in (None, *range(count)):
            mark = doc.mark(("expect", kind) if n is None else ("expect", kind, n))
            out[kind, n] = f"{doc.file}:{mark.line}:{mark.column}"
    return out


def _test_references(doc: Document, test: JourneyTestDoc, label: str, steps: dict[str, set[str] | None],
                     problems: list[Problem]) -> None:
    for i, jid in enumerate(test.journeys or []):
        if jid not in steps:
            problems.append(doc.problem(("journeys", i), f"{label}: unknown journey {jid!r}" + suggest(jid, steps)))
    scope = [steps[jid] for jid in steps if test.journeys is None or jid in test.journeys]
    in_scope = None if None in scope else {s for known in scope if known is not None for s in known}
    expectations: list[tuple[str, Sequence[ExpectedMessage | ExpectedTask]]] = [
        ("messages", test.expect.messages), ("tasks", test.expect.tasks)]
    for kind, expected in expectations:
        for i, want in enumerate(expected):
            if want.journey is not None and want.journey not in steps:
                problems.append(doc.problem(("expect", kind, i, "journey"), f"{label}: unknown journey "
                                            f"{want.journey!r}" + suggest(want.journey, steps)))
                continue
            known = steps[want.journey] if want.journey is not None else in_scope
            if want.step is not None and known is not None and want.step not in known:
                problems.append(doc.problem(("expect", kind, i, "step"), f"{label}: unknown step {want.step!r}"
                                            + suggest(want.step, known)))


def _check_protected_attributes(parsed: list[_Parsed], defs: Definitions, problems: list[Problem]) -> None:
    """Attributes the Fairness document protects are read by no journey condition or catalog eligibility."""
    found = [p for p in parsed if isinstance(p.model, Fairness)]
    for extra in found[1:]:
        problems.append(extra.doc.problem(("kind",), "only one Fairness document is allowed"))
    if not found or not isinstance(found[0].model, Fairness):
        return
    defs.fairness = found[0].model
    protected = defs.fairness.protected
    for p in parsed:
        if isinstance(p.model, Journey):
            problems += protected_problems(p.doc, f"journey {p.model.id}", journey_expressions(p.model), protected,
                                           _expression_mark)
    _, resources = _collect_catalog(parsed)
    for r, doc, loc in resources:
        if r.eligibility is not None:
            problems += protected_problems(doc, f"resource {r.id}", iter([((*loc, "eligibility"), r.eligibility.source,
                                                                         "eligibility")]), protected,
                                           _expression_mark)


_Placed = tuple[Any, Document, Loc]


def _collect_catalog(parsed: list[_Parsed]) -> tuple[list[_Placed], list[_Placed]]:
    topics: list[_Placed] = []
    resources: list[_Placed] = []
    for p in parsed:
        if isinstance(p.model, CatalogDoc):
            topics += [(t, p.doc, ("topics", i)) for i, t in enumerate(p.model.topics)]
            resources += [(r, p.doc, ("resources", i)) for i, r in enumerate(p.model.resources)]
        elif isinstance(p.model, TopicDoc):
            topics.append((p.model, p.doc, ()))
        elif isinstance(p.model, ResourceDoc):
            resources.append((p.model, p.doc, ()))
    return topics, resources


def _unique(items: list[_Placed], what: str, problems: list[Problem]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for item, doc, loc in items:
        if item.id in seen:
            problems.append(doc.problem((*loc, "id"), f"{what} {item.id!r} is declared twice"))
        seen[item.id] = item
    return seen


def _build_catalog(parsed: list[_Parsed], defs: Definitions, problems: list[Problem],
                   unchecked: _Unchecked) -> None:
    topics, resources = _collect_catalog(parsed)
    known_topics = _unique(topics, "topic", problems)
    known = _unique(resources, "resource", problems)
    broken = frozenset().union(*(p.broken_ids for p in parsed))  # declared, with errors of their own
    for t, doc, loc in topics:
        if t.parent is not None and t.parent not in known_topics and t.parent not in broken and not unchecked.topic(
                t.parent):
            problems.append(doc.problem((*loc, "parent"), f"topic {t.id}: unknown parent topic {t.parent!r}"))
    for r, doc, loc in resources:
        for i, t in enumerate(r.topics):
            if t not in known_topics and t not in broken and not unchecked.topic(t):
                problems.append(doc.problem((*loc, "topics", i), f"resource {r.id}: unknown topic {t!r}"
                                            + suggest(t, known_topics)))
        for rel in ("requires", "related"):
            for i, other in enumerate(getattr(r, rel)):
                if other not in known and other not in broken:
                    problem = doc.problem((*loc, rel, i), f"resource {r.id}: {rel} unknown resource {other!r}"
                                          + suggest(other, known))
                    # A typo is an error for validate. A run goes on past a `related` one (SPEC's own catalog
                    # example links to ids it does not declare): the link only adds to ranking. `requires` orders
                    # a roadmap, so it stays an error everywhere.
                    problems.append(problem if rel == "requires" else replace(
                        problem, runs_anyway="the link is left out: it only adds to ranking"))
    placed = [(p.doc, p.model) for p in parsed]
    roles = collect_roles(placed)
    _unique(roles, "role", problems)
    feedback = catalog_feedback(placed, [*known, *broken], problems)
    defs.catalog = CatalogGraph([t for t, _, _ in topics], [r for r, _, _ in resources],
                                roles=[r for r, _, _ in roles], feedback=feedback)
    _catalog_cycles(defs.catalog, topics, resources, problems)
    problems.extend(role_problems(roles, [r for r, _, _ in resources]))


def _catalog_cycles(catalog: CatalogGraph, topics: list[_Placed], resources: list[_Placed],
                    problems: list[Problem]) -> None:
    topic_graph: nx.DiGraph[str] = nx.DiGraph((t.id, t.parent) for t, _, _ in topics if t.parent)
    if not nx.is_directed_acyclic_graph(topic_graph):  # linear; find_cycle alone is slow on a long chain
        for cycle in cycles_apart(topic_graph):  # each one, not only the first
            doc, loc = next((d, lc) for t, d, lc in sorted(topics, key=lambda x: x[0].parent != cycle[0][1])
                            if t.id == cycle[0][0])  # a topic declared twice: the declaration in the cycle
            problems.append(doc.problem((*loc, "parent"), "topic parents form a cycle: "
                                        + " -> ".join(u for u, _ in cycle) + f" -> {cycle[0][0]}"))
    cycles = catalog.requires_cycles()
    # a resource declared twice is in the graph once, as its later declaration: the earlier one's requires are
    # looked at too (a duplicate hid a cycle the first declaration made)
    declared: nx.DiGraph[str] = nx.DiGraph((r.id, q) for r, _, _ in resources for q in r.requires)
    if not cycles and not nx.is_directed_acyclic_graph(declared):
        cycles = [[u for u, _ in cycle] for cycle in cycles_apart(declared)]
    for cycle_ids in cycles:
        after = cycle_ids[1 % len(cycle_ids)]  # a resource declared twice: the declaration that requires it
        doc, loc = next((d, lc) for r, d, lc in sorted(resources, key=lambda x: after not in x[0].requires)
                        if r.id == cycle_ids[0])
        problems.append(doc.problem((*loc, "requires"), "requires form a cycle: "
                                    + " -> ".join(cycle_ids) + f" -> {cycle_ids[0]}"))


def _source_problems(doc: Document, loc: Loc, source: str, label: str, problems: list[Problem], *,
                     html: bool = False, digest: bool = False) -> bool:
    doc.sources += 1
    if doc.sources > MAX_SOURCES_PER_DOCUMENT:  # said once, at the first one past the limit; none of them is built
        if doc.sources == MAX_SOURCES_PER_DOCUMENT + 1:
            problems.append(doc.problem(loc, f"{label}: more than {MAX_SOURCES_PER_DOCUMENT} template texts (subjects, "
                                        "texts, htmls, inline bodies) in one document; split it into several"))
        return False
    found = check_source(source, html=html, extra=DIGEST_VARIABLES if digest else frozenset())
    mark = doc.mark(loc)
    block = doc.styles.get(loc) in ("|", ">")
    for sp in found:
        offset = _name_offset(source, sp.line, sp.name) if sp.name else -1
        at = doc.value_mark(loc, source, offset if offset >= 0 else _line_offset(source, sp.line))
        if at is None:  # the start of its line (or of the value)
            at = Mark(mark.line + sp.line - (0 if block else 1), mark.column if sp.line == 1 and not block else 1)
        problems.append(Problem(doc.file, at.line, at.column, f"{label}: {sp.message}"))
    return not found


def _line_offset(source: str, line: int) -> int:
    """Where line ``line`` (1-based) of a template source begins to say something: its first character that is not
    a space; just past the source's last character when nothing is written from there on (Jinja names the line
    after the end for a block that is never closed)."""
    lines = source.split("\n")
    start = sum(len(x) + 1 for x in lines[:line - 1])
    if line > len(lines) or not source[start:].strip():
        return len(source.rstrip())
    text = lines[line - 1]
    return start + len(text) - len(text.lstrip()) if text.strip() else start


def _name_offset(source: str, line: int, name: str) -> int:
    """Where ``name`` is first written as a whole word on ``line`` (1-based) of a template source; -1 if not."""
    lines = source.split("\n")
    if not 0 < line <= len(lines):
        return -1
    if not re.search(r"\w", name):  # a bracket or a sign: not one that is half of a {{ }}, {% %} or {# #}
        found = re.search(rf"(?<![{{}}%#]){re.escape(name)}(?![{{}}%#])", lines[line - 1])
        return -1 if found is None else sum(len(x) + 1 for x in lines[:line - 1]) + found.start()
    found = re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", lines[line - 1])
    if found is None:
        found = re.search(rf"(?<!\w){re.escape(name)}(?!\w)", lines[line - 1])
    return -1 if found is None else sum(len(x) + 1 for x in lines[:line - 1]) + found.start()


def _build_templates(parsed: list[_Parsed], defs: Definitions, problems: list[Problem]) -> None:
    first: dict[str, Document] = {}
    for p in parsed:
        if not isinstance(p.model, TemplateDoc) or p.template_id is None:
            continue
        t = p.model
        label = f"template {p.template_id}"
        if t.id is not None and t.id != p.template_id:
            problems.append(p.doc.problem(("id",), f"{label}: id {t.id!r} does not match its path; "
                                          f"a template's id is its path under the templates folder"))
        if p.template_id in first:  # say where the first is: x.yaml and x.yml are one id
            other = first[p.template_id].mark(())
            problems.append(p.doc.problem((), f"{label} is defined twice (also at {first[p.template_id].file}:"
                                              f"{other.line}:{other.column}); a template's id is its path without "
                                              "the extension (.yaml or .yml), so keep one of them"))
            continue
        first[p.template_id] = p.doc
        ok = True
        digest = p.template_id.startswith("digest/")  # a digest's template sees the gathered items (README)
        for name in ("subject", "text", "html"):
            ok &= _template_part(p.doc, (name,), getattr(t, name), label, problems, digest=digest)
        for locale, override in t.locales.items():
            for name in ("subject", "text", "html"):
                ok &= _template_part(p.doc, ("locales", locale, name), getattr(override, name), f"{label} ({locale})",
                                     problems, digest=digest, default=_DEFAULT_PART[name])
            if override.text is None and (override.subject is not None or override.html is not None):
                given = " and ".join(n for n in ("subject", "html") if getattr(override, n) is not None)
                problems.append(p.doc.problem(
                    ("locales", locale), f"{label} ({locale}): gives {given} but no text, so its readers get the "
                    "default text (and the HTML made from it, when the default has none) under it, in another "
                    "language than the footer Wayfinder writes for them; give its text too", severity="warning"))
            elif override.subject is None and override.text:
                problems.append(p.doc.problem(
                    ("locales", locale), f"{label} ({locale}): gives text but no subject, so its readers get the "
                    "default subject above it, in another language than the text; give its subject too",
                    severity="warning"))
        if not ok:
            defs.broken_templates.add(p.template_id)
        else:
            defs.templates[p.template_id] = MessageTemplate(
                p.template_id, t.subject, t.text, t.html,
                {k: v.model_dump() for k, v in t.locales.items()},
            )


_DEFAULT_PART = {"subject": "the default subject", "text": "the default text",
                 "html": "the HTML made from its text (the default's html, when it gives no text)"}


def _template_part(doc: Document, loc: Loc, source: str | None, label: str, problems: list[Problem], *,
                   digest: bool, default: str | None = None) -> bool:
    """Whether a template's subject, text or HTML at ``loc`` (absent, or one a locale leaves empty, included) is
    free of errors."""
    if source is None:
        return True
    said = _says_something(doc, loc, source, f"{label}: {loc[-1]}", problems, default=default)
    if said is None:
        return True
    return said and _source_problems(doc, loc, source, label, problems, html=loc[-1] == "html", digest=digest)


def _says_something(doc: Document, loc: Loc, source: str, label: str, problems: list[Problem], *,
                    default: str | None = None) -> bool | None:
    """Whether a message's subject, text or HTML (a template's, a locale's, a step's inline one) is more than spaces.
    One of only spaces renders as nothing, and a message with an empty part fails (``render_error``) for everyone
    who gets it: an error here (since 2026-12-06; it validated clean). An empty one in a locale override (``""``)
    is not used (``default``: what its readers get instead): a warning that it says nothing, and None."""
    if source.strip():
        return True
    if default is not None and not source:
        problems.append(doc.problem(loc, f"{label} is empty, so its readers get {default}; leave it out, or write "
                                         "what it says", severity="warning"))
        return None
    made = " (leave html out to have it made from the text)" if loc[-1] == "html" else ""
    problems.append(doc.problem(loc, f"{label} is empty: every message with it would fail (render_error); write "
                                     f"what it says{made}"))
    return False


def _sensitive_asked(doc: Document, j: Journey, defs: Definitions, problems: list[Problem]) -> None:
    """A warning at a standard journey's send step that asks for a sensitive topic (the policy's
    ``sensitive_topics``, or under one): its message waits for a person only when it picks a resource of that
    topic, so a condolence whose resources were all delivered before went out unreviewed (an audit's find)."""
    sensitive = set(defs.policy.sensitive_topics)
    if j.sensitivity == "sensitive" or not sensitive:
        return
    for i, step in enumerate(j.steps):
        if not isinstance(step, SendStep) or step.send.resources is None:
            continue
        for k, topic in enumerate(step.send.resources.topics):
            if topic in defs.catalog.topics and defs.catalog.lineage(topic) & sensitive:
                problems.append(doc.problem(
                    ("steps", i, "send", "resources", "topics", k),
                    f"journey {j.id}: step {step.id} asks for {topic!r}, a sensitive topic: its message waits for a "
                    "person only when it picks a resource of it, and goes unreviewed when it picks none (all "
                    "delivered before, none eligible); give the journey `sensitivity: sensitive` to have each of "
                    "its messages reviewed", severity="warning"))
                break


def _check_journey(doc: Document, j: Journey, defs: Definitions, problems: list[Problem],
                   unchecked: _Unchecked) -> None:
    label = f"journey {j.id}"
    key = (j.id, j.version)
    first = len(problems)  # problems are only ever appended: this journey's are those from here on
    ids: dict[str, int] = {}
    for i, step in enumerate(j.steps):
        if step.id in ids:
            problems.append(doc.problem(("steps", i, "id"), f"{label}: step id {step.id!r} is used twice"))
        ids.setdefault(step.id, i)
    for i, step in enumerate(j.steps):
        _StepChecker(doc, j, i, ids, defs, problems, unchecked).check(step)
    _check_flow(doc, j, ids, problems)
    _sensitive_asked(doc, j, defs, problems)
    if j.explanation is not None:
        _inline(doc, j, ("explanation",), j.explanation, defs, problems)
    if not any(p.severity == "error" for p in problems[first:]):  # not all of them: n journeys x their problems
        defs.journeys[key] = j


def _inline(doc: Document, j: Journey, loc: Loc, source: str, defs: Definitions, problems: list[Problem]) -> None:
    if _source_problems(doc, loc, source, f"journey {j.id}: explanation", problems):
        defs.inline[InlineKey.of(j, "", Part.EXPLANATION)] = MessageTemplate(f"{j.id}/explanation", source, source)


class _StepChecker:
    def __init__(self, doc: Document, j: Journey, i: int, ids: dict[str, int], defs: Definitions,
                 problems: list[Problem], unchecked: _Unchecked) -> None:
        self.doc, self.j, self.i, self.ids, self.defs, self.problems = doc, j, i, ids, defs, problems
        self.unchecked = unchecked
        self.label = f"journey {j.id}: step {j.steps[i].id}"

    def add(self, loc: Loc, message: str, severity: str = "error") -> None:
        self.problems.append(self.doc.problem(("steps", self.i, *loc), f"{self.label}: {message}", severity=severity))

    def jump(self, loc: Loc, target: str | None) -> None:
        if target is not None and target not in self.ids:
            self.add(loc, unknown_step(target, self.ids))

    def template(self, loc: Loc, tid: str | None) -> None:
        if (tid is not None and tid not in self.defs.templates and tid not in self.defs.broken_templates
                and not self.unchecked.any_template):
            self.add(loc, unknown_template(tid, self.defs.templates))

    def topics(self, loc: Loc, names: Sequence[str]) -> None:
        for n, topic in enumerate(names):
            if topic not in self.defs.catalog.topics and not self.unchecked.topic(topic):
                self.add((*loc, n), f"unknown topic {topic!r}" + suggest(topic, self.defs.catalog.topics))

    def resources(self, request: ResourceRequest) -> None:
        """A send step's ``resources``: known topics, and a word on a limit so high the list may be long."""
        self.topics(("send", "resources", "topics"), request.topics)
        if request.limit > LONG_LIST:
            self.add(("send", "resources", "limit"), f"limit {request.limit}: a message may list up to "
                     f"{request.limit} resources; more than {LONG_LIST} links in one message is a long read (it "
                     "is not cut)", "warning")

    def requires_outside(self, topics: Sequence[str]) -> None:
        """A warning for each item of a roadmap that requires a resource the roadmap cannot list (it would be
        dated as if it required nothing)."""
        catalog = self.defs.catalog
        for rid, req in catalog.requires_outside(topics):
            about = ", ".join(catalog.resources[req].topics) or "no topic"
            self.add(("roadmap", "topics"), f"resource {rid!r} on this roadmap requires {req!r}, which is about "
                     f"none of its topics ({about}): the roadmap leaves {req!r} out and dates {rid!r} without "
                     f"waiting for it; add a topic of {req!r} here, or give {req!r} one of these topics",
                     "warning")

    def source(self, loc: Loc, text: str) -> bool:
        return _source_problems(self.doc, ("steps", self.i, *loc), text, self.label, self.problems)

    def check(self, step: Any) -> None:
        j, defs = self.j, self.defs
        if isinstance(step, BranchStep):
            self.jump(("branch", "then"), step.branch.then)
            self.jump(("branch", "else"), step.branch.else_)
        elif isinstance(step, WaitForStep):
            self.jump(("wait_for", "on_timeout"), step.wait_for.on_timeout)
            if step.wait_for.timeout is None:
                self.add(("wait_for",), "no timeout: an employee whose event never comes stays enrolled for ever",
                         "warning")
        elif isinstance(step, SendStep):
            self.template(("send", "template"), step.send.template)
            if step.send.resources is not None:
                self.resources(step.send.resources)
            if step.send.subject is not None and step.send.body is not None:
                said = [bool(_says_something(self.doc, ("steps", self.i, "send", n), text, f"{self.label}: {n}",
                                             self.problems)) for n, text in (("subject", step.send.subject),
                                                                             ("body", step.send.body))]
                ok = said[0] and self.source(("send", "subject"), step.send.subject)
                if said[1] and self.source(("send", "body"), step.send.body) and ok:
                    defs.inline[InlineKey.of(j, step.id, Part.MESSAGE)] = MessageTemplate(
                        f"{j.id}/{step.id}", step.send.subject, step.send.body)
        elif isinstance(step, RoadmapStep):
            self.template(("roadmap", "template"), step.roadmap.template)
            self.topics(("roadmap", "topics"), step.roadmap.topics)
            self.requires_outside(step.roadmap.topics)
        elif isinstance(step, LearningPathStep):
            self.template(("learning_path", "template"), step.learning_path.template)
            role = step.learning_path.role
            if role is not None and role not in self.defs.catalog.roles:
                self.add(("learning_path", "role"), f"unknown role {role!r}" + suggest(role, self.defs.catalog.roles)
                         + "; roles are declared in the catalog (kind: Role, or roles: in a Catalog)")
        elif isinstance(step, TaskStep):
            for part in (Part.TITLE, Part.NOTE):
                text = getattr(step.task, part.value)
                if self.source(("task", part.value), text):
                    defs.inline[InlineKey.of(j, step.id, part)] = MessageTemplate(f"{j.id}/{step.id}", text, text)


def _cycles(n: int, edges: list[tuple[int, int]], waits: set[int]) -> list[list[tuple[int, int]]]:
    """A cycle of the steps that leaves out ``waits`` in each part of the flow that has one (a copy of the whole
    graph took longer), in step order."""
    rest: nx.DiGraph[int] = nx.DiGraph()
    rest.add_nodes_from(i for i in range(n) if i not in waits)
    rest.add_edges_from((u, v) for u, v in edges if u not in waits and v not in waits)
    return sorted(cycles_apart(rest), key=lambda cycle: min(u for u, _ in cycle))


def _check_flow(doc: Document, j: Journey, ids: dict[str, int], problems: list[Problem]) -> None:
    g: nx.DiGraph[int] = nx.DiGraph()
    n = len(j.steps)
    g.add_nodes_from(range(n))
    edges = [(i, s) for i in range(n) for s in successors(j, i) if s < n]
    g.add_edges_from(edges)
    # A wait_for, or a wait for a time above zero, lets time pass each time round; a `wait: {for: 0s}` does not, and
    # a `wait: until` does once at most (its date is past the second time round): one event flooded a person.
    timed = {i for i, s in enumerate(j.steps) if isinstance(s, WaitForStep) or (
        isinstance(s, WaitStep) and s.wait.for_ is not None and parse_duration(s.wait.for_) > timedelta(0))}
    until = {i for i, s in enumerate(j.steps) if isinstance(s, WaitStep) and s.wait.until is not None}
    looping = _cycles(n, edges, timed | until)
    in_loops = {u for cycle in looping for u, _ in cycle}
    for again in _cycles(n, edges, timed) if until else []:
        if {u for u, _ in again} & in_loops:
            continue  # its part of the flow has a cycle with no wait at all: said below
        names = " -> ".join(j.steps[u].id for u, _ in again) + f" -> {j.steps[again[0][0]].id}"
        problems.append(doc.problem(("steps", min(u for u, _ in again), "id"), f"journey {j.id}: steps {names} "
                                    "form a cycle whose only wait is a `wait: until`, whose date is past the second "
                                    "time round: it would loop at once from then on; add a `wait: for` or a "
                                    "wait_for", severity="warning"))
    for cycle in looping:
        first = min(u for u, _ in cycle)
        names = " -> ".join(j.steps[u].id for u, _ in cycle) + f" -> {j.steps[cycle[0][0]].id}"
        problems.append(doc.problem(("steps", first, "id"), f"journey {j.id}: steps {names} form a cycle "
                                    "with no wait or wait_for, so it would loop at once for ever"))
        for u, v in cycle:  # and at the jump that closes it, where the author would look
            step = j.steps[u]
            if v <= u and isinstance(step, BranchStep):
                key = "then" if ids.get(step.branch.then) == v else "else"
                problems.append(doc.problem(("steps", u, "branch", key), f"journey {j.id}: step {step.id} jumps "
                                            f"back to {j.steps[v].id}, closing a cycle ({names}) with no wait or "
                                            "wait_for"))
    reachable = nx.descendants(g, 0) | {0}
    for i in range(n):
        if i not in reachable:
            problems.append(doc.problem(("steps", i, "id"), f"journey {j.id}: step {j.steps[i].id} "
                                        "can never be reached", severity="warning"))
