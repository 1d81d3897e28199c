"""YAML loading that remembers where every value came from.

HR operations see errors as ``file:line:column``, so the loader keeps the position of
every mapping key and value. It also resolves fewer implicit types than YAML 1.1: no
dates or times (``09:00`` and ``2026-03-01`` stay strings), and only ``true``/``false``
are booleans, so the country code ``NO`` stays a string.
"""

from __future__ import annotations

import bisect
import os
import re
import stat
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from wayfinder.journeys._problems import Problem

Loc = tuple[str | int, ...]


MAX_DEPTH = 100
"""How deeply collections may nest in a definitions file."""

MAX_ALIAS_NODES = 10_000
"""How many nodes aliases (``*name``) may add to a document in all: a few anchors are fine, a
"billion laughs" document (aliases of aliases that expand to gigabytes) is refused."""

MAX_BYTES_SETTING = "WAYFINDER_MAX_DEFINITION_BYTES"
DEFAULT_MAX_BYTES = 4_000_000

try:  # libyaml's parser when PyYAML has it: parsing a large file is many times faster
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover - PyYAML built without libyaml: the same, slower
    class _Parser(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)


def _plain(mark: Any) -> yaml.Mark:
    """libyaml's marks as PyYAML's own (the error handler reads line and column only)."""
    return yaml.Mark(str(mark.name), int(mark.index), int(mark.line), int(mark.column), "", 0)


class _Refused(yaml.composer.ComposerError):
    """A document Wayfinder will not expand: too deep or too many aliases."""


class _Bounded(yaml.composer.Composer):
    """A composer that counts what aliases add and how deep collections go, and stops early."""

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0
        self._expanded = 0
        self._sizes: dict[int, tuple[yaml.Node, int]] = {}  # the node is kept so its id stays its own
        self._open: set[str] = set()

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[attr-defined]  # from the parser class beside it
        if type(event) is yaml.ScalarEvent and event.anchor is None and self._depth < MAX_DEPTH:
            # Most nodes: no anchor, nothing inside, no path resolvers here (the stubs want a dict: it is the anchor)
            return self.compose_scalar_node(None)  # type: ignore[arg-type]
        if isinstance(event, yaml.AliasEvent):
            self._count_alias(event)
            return super().compose_node(parent, index)
        if self._depth >= MAX_DEPTH:
            raise _Refused(None, None, f"collections nest more than {MAX_DEPTH} levels deep",
                                              _plain(event.start_mark))
        anchor = getattr(event, "anchor", None)
        self._depth += 1
        if anchor is not None:
            self._open.add(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            self._open.discard(anchor)

    def _count_alias(self, event: yaml.AliasEvent) -> None:
        name = event.anchor
        if name in self._open:
            raise _Refused(None, None, f"alias *{name} refers to the node that holds it",
                                              _plain(event.start_mark))
        node = self.anchors.get(name)
        if node is None:
            return  # the composer reports the unknown anchor itself
        self._expanded += self._size(node)
        if self._expanded > MAX_ALIAS_NODES:
            raise _Refused(
                None, None, f"alias *{name} expands the document past {MAX_ALIAS_NODES} nodes; "
                "aliases of aliases can grow without bound, so write the values out instead", _plain(event.start_mark))

    def _size(self, node: yaml.Node) -> int:
        """How many nodes ``node`` stands for once every alias in it is expanded (each node counted once)."""
        known = self._sizes.get(id(node))
        if known is not None:
            return known[1]
        if isinstance(node, yaml.SequenceNode):
            size = 1 + sum(self._size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            size = 1 + sum(self._size(k) + self._size(v) for k, v in node.value)
        else:
            size = 1
        self._sizes[id(node)] = (node, size)
        return size


class _Loader(_Bounded, _Parser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
    """SafeLoader with YAML 1.2-like implicit types, libyaml's parser and bounded aliases and nesting."""

    def __init__(self, stream: str) -> None:
        _Parser.__init__(self, stream)
        _Bounded.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        """An integer, or a refusal where it is written: Python reads at most 4,300 digits (a ValueError)."""
        try:
            return int(super().construct_yaml_int(node))
        except ValueError as e:
            raise _Refused(None, None, f"a number of {len(str(node.value))} characters, longer than Wayfinder "
                           "reads; write it as text (in quotes) if it is an id", node.start_mark) from e


_Loader.yaml_constructors = {**_Loader.yaml_constructors, "tag:yaml.org,2002:int": _Loader.construct_yaml_int}


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
# YAML 1.1 reads 1:30 as a base-60 integer and 0o17-like forms loosely; use YAML 1.2's core forms.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789"))
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)(?:[eE][-+]?[0-9]+)?$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$"),
    list("-+0123456789."),
)


class Mark(NamedTuple):
    """Where a node starts (a tuple: a large file has hundreds of thousands of them)."""

    line: int  # 1-based
    column: int  # 1-based


@dataclass
class Document:
    """One YAML document: its plain data and the position of every node."""

    file: str
    data: Any
    start: Mark
    marks: dict[Loc, Mark] = field(default_factory=dict)
    key_marks: dict[Loc, Mark] = field(default_factory=dict)
    styles: dict[Loc, str | None] = field(default_factory=dict)
    text: str = ""  # the whole file's text, to find where a character of a value is written
    sources: int = 0  # template texts checked in it so far (the loader bounds them)

    def mark(self, loc: Loc) -> Mark:
        """The position of the deepest node that ``loc`` reaches (a pydantic ``loc`` may hold union tags)."""
        best = self.start
        path: Loc = ()
        for part in loc:
            candidate = (*path, part)
            if candidate in self.marks:
                path = candidate
                best = self.marks[candidate]
        return best

    def without(self, key: str, dropped: set[int]) -> Document:
        """This document with the entries ``dropped`` of its top-level list ``key`` left out, every position
        moved with its entry: what is left can be checked and reported where it is written."""
        entries = self.data[key]
        kept = [i for i in range(len(entries)) if i not in dropped]
        new_index = {old: new for new, old in enumerate(kept)}

        def moved(table: dict[Loc, Any]) -> dict[Loc, Any]:
            out: dict[Loc, Any] = {}
            for loc, value in table.items():
                if len(loc) >= 2 and loc[0] == key and isinstance(loc[1], int):
                    if loc[1] not in new_index:
                        continue
                    loc = (key, new_index[loc[1]], *loc[2:])
                out[loc] = value
            return out

        data = {**self.data, key: [entries[i] for i in kept]}
        return Document(self.file, data, self.start, moved(self.marks), moved(self.key_marks), moved(self.styles),
                        self.text)

    def renamed(self, names: dict[str, str]) -> Document:
        """This document with top-level keys renamed (``txt`` read as the ``text`` it meant), every position with
        its key: what is under them is reported where it is written."""
        def moved(table: dict[Loc, Any]) -> dict[Loc, Any]:
            return {((names.get(str(loc[0]), loc[0]), *loc[1:]) if loc else loc): value for loc, value in table.items()}

        data = {names.get(k, k): v for k, v in self.data.items()}
        return Document(self.file, data, self.start, moved(self.marks), moved(self.key_marks), moved(self.styles),
                        self.text)

    @cached_property
    def _line_starts(self) -> list[int]:
        return [0, *(m.end() for m in _LINE_BREAK.finditer(self.text))]

    def value_mark(self, loc: Loc, value: str, offset: int) -> Mark | None:
        """Where character ``offset`` of ``value``, the text YAML read from the scalar at ``loc``, is written: the
        scalar is read again as its style writes it (quotes, doubled quotes, escapes, line breaks folded to
        spaces, indentation); ``len(value)`` is just past its last character. None when the file's text does not
        hold the value so (a file changed since)."""
        if offset == len(value) and value:  # just past the end (an expression that stops too soon)
            last = self.value_mark(loc, value, offset - 1)
            return Mark(last.line, last.column + 1) if last is not None else None
        if loc not in self.marks or not 0 <= offset < len(value) or not self.text:
            return None
        start = self.marks[loc]
        if start.line > len(self._line_starts):
            return None
        index = self._line_starts[start.line - 1] + start.column - 1
        style = self.styles.get(loc)
        if style in ("|", ">"):  # the value begins on the line after the indicator
            line = bisect.bisect_right(self._line_starts, index)
            if line >= len(self._line_starts):
                return None
            index = self._line_starts[line]
        elif style in ("'", '"'):
            index += 1  # the opening quote
        found = _find_in_source(self.text, index, value, offset, style)
        if found is None:
            return None
        line = bisect.bisect_right(self._line_starts, found)
        return Mark(line, found - self._line_starts[line - 1] + 1)

    def problem(self, loc: Loc, message: str, *, severity: str = "error", column_offset: int = 0) -> Problem:
        m = self.mark(loc)
        if severity == "warning":
            return Problem(self.file, m.line, m.column + column_offset, message, "warning")
        return Problem(self.file, m.line, m.column + column_offset, message)


_STR = "tag:yaml.org,2002:str"
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_FOLDED = " \t\r\n\x85\u2028\u2029"  # what a style may drop or fold between the characters of a value
_ESCAPE_DIGITS = {"x": 2, "u": 4, "U": 8}


def _find_in_source(text: str, index: int, value: str, offset: int, style: str | None) -> int | None:
    """The index in ``text`` where ``value[offset]`` is written, reading from ``index`` (where the value's first
    character may be): each character of the value is the next one written, past whitespace and line breaks a style
    folds or drops; in quotes, ``''`` (single) and a backslash escape (double) are one character at their start."""
    i = 0
    end = min(len(text), index + 4 * (offset + 1) + 4096)  # a value is never that far from its own text
    while index < end:
        ch = text[index]
        width = 1
        if style == "'" and ch == "'":
            if text.startswith("''", index):
                width = 2
            else:
                return None  # the closing quote before the character
        elif style == '"' and ch == "\\":
            following = text[index + 1:index + 2]
            if following in ("\n", "\r"):  # an escaped line break: nothing of it is in the value
                index += 2
                continue
            width = 2 + _ESCAPE_DIGITS.get(following, 0)
        elif style == '"' and ch == '"':
            return None
        elif ch != value[i]:
            if ch in _FOLDED:
                index += 1
                continue
            return None
        if i == offset:
            return index
        i += 1
        index += width
    return None


_PLAIN_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "seq", "map"))
"""What a definitions file holds: text, numbers, true and false, null, lists and mappings. Another tag (written
as ``!!binary``, ``!!python/object``, ``!x``) was decoded (base64 into a journey's name, NUL bytes and all) or
passed over in silence on a list or a mapping."""


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    def __init__(self, loader: _Loader, doc: Document, problems: list[Problem]) -> None:
        self.loader = loader
        self.doc = doc
        self.problems = problems

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.doc.marks[loc] = _mark(node)
        if node.tag not in _PLAIN_TAGS:  # !!binary, !!timestamp, !!set, !!python/..., !custom: data they are not
            m = _mark(node)
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            self.problems.append(Problem(self.doc.file, m.line, m.column,
                                         f"the tag {tag} is not supported: write the value without it"))
            if isinstance(node, yaml.ScalarNode):
                return node.value
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, (*loc, i)) for i, child in enumerate(node.value)]
        self.doc.styles[loc] = (node.style or None) if isinstance(node, yaml.ScalarNode) else None  # libyaml: ''
        return self._value(node)

    def _value(self, node: yaml.Node) -> Any:
        if node.tag == _STR and isinstance(node, yaml.ScalarNode):
            return node.value  # what the constructor returns for it, without its bookkeeping
        return self.loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                m = _mark(key_node)
                self.problems.append(Problem(self.doc.file, m.line, m.column, "merge keys (<<) are not supported"))
                continue
            key = self._value(key_node)
            if not isinstance(key, str | int):
                m = _mark(key_node)
                self.problems.append(Problem(self.doc.file, m.line, m.column, "a key must be a plain string"))
                continue
            if key in out:
                m = _mark(key_node)
                self.problems.append(Problem(self.doc.file, m.line, m.column, f"duplicate key {key!r}"))
                continue
            self.doc.key_marks[(*loc, key)] = _mark(key_node)
            out[key] = self.build(value_node, (*loc, key))
        return out


def max_bytes() -> int:
    """The largest definitions file Wayfinder reads (``WAYFINDER_MAX_DEFINITION_BYTES``, bytes)."""
    raw = os.environ.get(MAX_BYTES_SETTING, "").strip()
    if not raw:
        return DEFAULT_MAX_BYTES
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        msg = f"{MAX_BYTES_SETTING} must be a positive number of bytes"
        raise ValueError(msg)
    return value


def _read(path: Path, display: str, limit: int | None) -> str | Problem:
    try:
        limit = max_bytes() if limit is None else limit
    except ValueError as e:
        return Problem(display, 1, 1, str(e))
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):  # a pipe would wait forever, a device never end (/dev/zero)
            return Problem(display, 1, 1, "not a regular file (a device, pipe or socket); give a file or a folder")
        size = status.st_size
        if size > limit:
            return Problem(display, 1, 1, f"the file is {size} bytes, over the limit of {limit}; split it into "
                           f"smaller files or raise {MAX_BYTES_SETTING}")
        with path.open("rb") as f:
            raw = f.read(limit + 1)  # a file that grew since it was looked at is still read no further
        if len(raw) > limit:
            return Problem(display, 1, 1, f"the file is over the limit of {limit} bytes; split it into smaller "
                           f"files or raise {MAX_BYTES_SETTING}")
    except OSError as e:
        return Problem(display, 1, 1, f"cannot read file: {e.strerror or type(e).__name__}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        # where the first byte that is not UTF-8 is: its line, and its column in characters (as every position)
        before = raw[:e.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1:].decode("utf-8", errors="replace")) + 1
        return Problem(display, line, column, f"cannot read file: byte 0x{raw[e.start]:02x} is not UTF-8 (save the "
                       "file as UTF-8)")


class Read(NamedTuple):
    """What :func:`read_documents` found in a file."""

    docs: list[Document]
    problems: list[Problem]
    whole: bool
    """False when reading stopped early (the file could not be read, a YAML syntax error, a refused alias or
    depth): what the rest of the file holds is not known."""
    text: str = ""


# What YAML counts as a line break and editors, git and grep do not: a file holding one is placed by
# :func:`editor_position` (each such character put the lines reported after it one further down).
_YAML_ONLY_BREAKS = re.compile("[\x85\u2028\u2029]")
_EDITOR_BREAK = re.compile("\r\n|[\r\n]")


def has_yaml_only_breaks(text: str) -> bool:
    return _YAML_ONLY_BREAKS.search(text) is not None


def editor_position(text: str, line: int, column: int) -> tuple[int, int]:
    """A (line, column) as YAML counts them in ``text`` (1-based), as an editor counts them."""
    starts = [0, *(m.end() for m in _LINE_BREAK.finditer(text))]
    if not 1 <= line <= len(starts):
        return line, column
    index = starts[line - 1] + column - 1
    breaks = [m.end() for m in _EDITOR_BREAK.finditer(text, 0, index)]
    return len(breaks) + 1, index - (breaks[-1] if breaks else 0) + 1


def load_documents(path: Path, display: str, *, limit: int | None = None) -> tuple[list[Document], list[Problem]]:
    """Every document of a YAML file with positions, and the problems met while reading it.

    Files over ``limit`` bytes (default: the ``WAYFINDER_MAX_DEFINITION_BYTES`` setting) are refused."""
    read = read_documents(path, display, limit=limit)
    if not has_yaml_only_breaks(read.text):
        return read.docs, read.problems
    # placed as the author's editor shows the file, as the definitions loader places its problems
    return read.docs, [replace(p, line=at[0], column=at[1])
                       for p in read.problems for at in [editor_position(read.text, p.line, p.column)]]


_TAB = "a tab character: YAML indents with spaces only; replace the tab with spaces"


def _char_at(text: str, line: int, column: int) -> str:
    """The character at a (line, column) as YAML counts them (1-based), or "" past the end."""
    starts = [0, *(m.end() for m in _LINE_BREAK.finditer(text))]
    index = starts[line - 1] + column - 1 if 1 <= line <= len(starts) else len(text)
    return text[index] if 0 <= index < len(text) else ""


def _position_of(text: str, index: int) -> tuple[int, int]:
    """The (line, column) of the character at ``index`` of ``text``, as YAML counts them (1-based)."""
    starts = [0, *(m.end() for m in _LINE_BREAK.finditer(text, 0, index))]
    return len(starts), index - starts[-1] + 1


_EVENTS = ("a file of events (one CloudEvent a line), not a Wayfinder definition: give it to `wayfinder simulate "
           "--events` (or `publish`); validate reads journeys, templates, catalog and policy")


def _events_line(text: str) -> int | None:
    """The line of the first event when ``text`` is a file of CloudEvents (its first line holding something is a JSON
    object with ``specversion``), else None: validated as YAML it said "no kind" and a syntax error at line 2."""
    for number, line in enumerate(text.splitlines()[:50], start=1):
        if line.strip():
            return number if line.lstrip().startswith("{") and '"specversion"' in line else None
    return None


def read_documents(path: Path, display: str, *, limit: int | None = None) -> Read:
    """:func:`load_documents`, and whether the whole file was read."""
    problems: list[Problem] = []
    text = _read(path, display, limit)
    if isinstance(text, Problem):
        return Read([], [text], whole=False)
    events = _events_line(text)
    if events is not None:  # the events a run reads, given where definitions go: one line that says so
        return Read([], [Problem(display, events, 1, _EVENTS)], whole=False)
    whole = False
    docs: list[Document] = []
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # pragma: no cover - check_node said there is one
                break
            doc = Document(display, None, _mark(node), text=text)
            doc.data = _Builder(loader, doc, problems).build(node, ())
            docs.append(doc)
        whole = True
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = e.problem or str(e)
        if not isinstance(e, _Refused) and _char_at(text, line, col) == "\t":  # the parser's words name a token
            problems.append(Problem(display, line, col, _TAB))
            return Read(docs, problems, whole, text)  # its context is where the parser was, not the mistake
        problems.append(Problem(display, line, col, what if isinstance(e, _Refused) else f"YAML syntax error: {what}"))
        context = e.context_mark
        if not isinstance(e, _Refused) and context is not None and mark is not None and context.line != mark.line:
            # Where what went wrong began (an unclosed quote or bracket is found at the end of the file). The line
            # in the words is counted as an editor counts (as the prefix will be: the loader places problems so).
            see = editor_position(text, line, col)[0]
            problems.append(Problem(display, context.line + 1, context.column + 1,
                                    f"YAML syntax error: {e.context or 'this'} (see line {see}: {what})"))
    except yaml.reader.ReaderError as e:  # a character YAML does not allow (U+0000, U+001B): placed where it is
        index = e.position
        if not isinstance(loader, yaml.reader.Reader):  # libyaml counts the bytes of the text in UTF-8
            index = len(text.encode("utf-8")[:index].decode("utf-8", errors="ignore"))
        line, col = _position_of(text, index)
        what = (f"the character U+{e.character:04X} (a control character) is not allowed in YAML; remove it"
                if isinstance(e.character, int) else f"YAML error: {e.reason}")
        problems.append(Problem(display, line, col, what))
    except yaml.YAMLError as e:
        problems.append(Problem(display, 1, 1, f"YAML error: {e}"))
    finally:
        loader.dispose()
    return Read(docs, problems, whole, text)
