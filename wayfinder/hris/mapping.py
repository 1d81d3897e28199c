"""The mapping file (``kind: Mapping``): which export column feeds which profile field, and how to read it."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from wayfinder.journeys.profile import KNOWN_FIELDS, Timezone

# Fields the import reads to tell what happened; they are not profile fields and never go into an upsert.
STATUS_FIELDS = (
    "status", "termination_date", "termination_reason", "leave_type", "leave_start_date",
    "leave_expected_return_date", "leave_return_date", "dependents", "as_of",
)
PROFILE_FIELDS = tuple(f for f in KNOWN_FIELDS if f != "id")
DATE_FIELDS = frozenset({"start_date", "termination_date", "leave_start_date", "leave_expected_return_date",
                         "leave_return_date", "dependents", "as_of"})
LIST_FIELDS = frozenset({"interests", "skills"})
STATUSES = ("active", "pending", "leave", "terminated", "rescinded")
DEFAULT_DATE_FORMATS = ("%Y-%m-%d",)


class MappingError(ValueError):
    """A mapping file that cannot be used; the message names file:line:column and the field."""


def _columns(value: str | list[str]) -> tuple[str, ...]:
    names = (value,) if isinstance(value, str) else tuple(value)
    if not names or any(not n.strip() for n in names):
        msg = "give a column name, or a list of names (the first one present in the export is read)"
        raise ValueError(msg)
    return names


Columns = Annotated[str | list[str], AfterValidator(_columns)]


def _field_name(name: str) -> str:
    if name in PROFILE_FIELDS or name in STATUS_FIELDS or name.startswith("attributes."):
        return name
    close = difflib.get_close_matches(name, [*PROFILE_FIELDS, *STATUS_FIELDS], n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    msg = (f"{name!r} is not a profile field (SPEC §3) nor one the import reads ({', '.join(STATUS_FIELDS)}); "
           f"write attributes.{name} to keep it as an attribute{hint}")
    raise ValueError(msg)


def _format(fmt: str) -> str:
    if "%" not in fmt:
        msg = f"{fmt!r} is not a strptime format (e.g. %Y-%m-%d or %m/%d/%Y)"
        raise ValueError(msg)
    return fmt


FieldName = Annotated[str, AfterValidator(_field_name)]
DateFormat = Annotated[str, AfterValidator(_format)]


class Mapping(BaseModel):
    """How one HR system's export (or webhook) becomes Wayfinder's events."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    apiVersion: Literal["wayfinder/v1"]
    kind: Literal["Mapping"]
    source: Annotated[str, Field(min_length=1, description="CloudEvents source of every event, e.g. hris/workday")]
    format: Literal["auto", "csv", "jsonl"] = "auto"
    delimiter: Annotated[str, Field(min_length=1, max_length=1)] = ","
    id_column: Columns
    columns: dict[FieldName, Columns] = Field(default_factory=dict)
    values: dict[FieldName, dict[str, str | None]] = Field(default_factory=dict)
    dates: dict[FieldName, Annotated[list[DateFormat], Field(min_length=1)]] = Field(default_factory=dict)
    timezone: Timezone = "UTC"
    list_separator: Annotated[str, Field(min_length=1)] = ";"
    absent: Literal["ignore", "terminated"] = "ignore"

    def columns_for(self, field: str) -> tuple[str, ...]:
        value = self.columns.get(field)
        return () if value is None else _columns(value)

    @property
    def id_columns(self) -> tuple[str, ...]:
        return _columns(self.id_column)

    def date_formats(self, field: str) -> tuple[str, ...]:
        return tuple(self.dates.get(field, DEFAULT_DATE_FORMATS))

    def is_date(self, field: str) -> bool:
        return field in DATE_FIELDS or field in self.dates


# -- loading with positions ---------------------------------------------------------------------
class _Loader(yaml.SafeLoader):
    """Only true/false are booleans and dates stay strings, so the country code NO stays "NO"."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def _position(node: yaml.Node | None, loc: tuple[int | str, ...]) -> tuple[int, int]:
    """Line and column (1-based) of the deepest node of ``loc`` that the document has."""
    if node is None:
        return 1, 1
    best = node.start_mark
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    child, best = value, key.start_mark
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
            best = child.start_mark
        if child is None:
            break
        node = child
    return best.line + 1, best.column + 1


_UNION_PARTS = ("function-", "str", "list", "[key]")


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping file, or raise :class:`MappingError` naming file:line:column and the field."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        msg = f"{path}: cannot read the mapping file ({e.strerror})"
        raise MappingError(msg) from e
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        msg = f"{where}: not valid YAML: {getattr(e, 'problem', None) or e}"
        raise MappingError(msg) from e
    if not isinstance(data, dict):
        msg = f"{path}:1:1: a mapping file is one YAML mapping with kind: Mapping"
        raise MappingError(msg)
    try:
        return Mapping.model_validate(data)
    except ValidationError as e:
        lines = []
        for err in e.errors(include_url=False, include_input=False):
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(_UNION_PARTS)))
            line, column = _position(node, loc)
            name = ".".join(str(p) for p in loc) or "document"
            lines.append(f"{path}:{line}:{column}: {name}: {err['msg']}")
        raise MappingError("\n".join(lines)) from e
