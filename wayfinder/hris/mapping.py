"""The mapping file (``kind: Mapping``): which export column feeds which profile field, and how to read it."""

from __future__ import annotations

import difflib
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from wayfinder.journeys import Document, load_documents
from wayfinder.journeys.events import LeaveType
from wayfinder.journeys.loader import OTHER_KINDS
from wayfinder.journeys.profile import KNOWN_FIELDS, ProfileUpdate, Timezone

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
    try:
        datetime.strptime("", fmt)  # noqa: DTZ007 - only to find a directive strptime does not know
    except ValueError as e:
        if "directive" in str(e):
            msg = f"{fmt!r} is not a strptime format: {e}"
            raise ValueError(msg) from None
    return fmt


_SAMPLE = date(2026, 1, 2)  # a day whose day and month can be swapped, and whose year is not its last two digits


def _one_reading(formats: list[str]) -> list[str]:
    """The first of a field's formats that reads a date wins: one listed before another that reads the other's
    writing as another date (``%d/%m/%Y`` before ``%m/%d/%Y``: 01/02/2026 is 1 February) misreads every date of
    the export with a day up to 12, without a dead letter."""
    for later_at, later in enumerate(formats):
        text = _SAMPLE.strftime(later)
        for earlier in formats[:later_at]:
            try:
                read = datetime.strptime(text, earlier).date()  # noqa: DTZ007 - a calendar date, no time of day
            except ValueError:
                continue
            if read != _SAMPLE:
                msg = (f"{earlier!r} reads a date written as {later!r} ({text}: {_SAMPLE.isoformat()}) as another "
                       f"date ({read.isoformat()}), and the first format that reads a date wins; keep only the "
                       "format the export writes")
                raise ValueError(msg)
    return formats


FieldName = Annotated[str, AfterValidator(_field_name)]
DateFormat = Annotated[str, AfterValidator(_format)]
DateFormats = Annotated[list[DateFormat], Field(min_length=1), AfterValidator(_one_reading)]


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
    dates: dict[FieldName, DateFormats] = Field(default_factory=dict)
    timezone: Timezone = "UTC"
    list_separator: Annotated[str, Field(min_length=1)] = ";"
    absent: Literal["ignore", "terminated"] = "ignore"
    job_levels: list[str] = Field(default_factory=list, description="job levels, lowest first (as values.job_level "
                                  "maps them): a move up is a promotion; without it, numeric levels are compared")

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
_UNION_PARTS = ("function-", "str", "list", "[key]")


def _key_mark(doc: Document, loc: tuple[int | str, ...]) -> tuple[int, int]:
    """Where the deepest part of ``loc`` that the document has is written: a mapping's key, a list's item."""
    best = doc.start
    path: tuple[int | str, ...] = ()
    for part in loc:
        candidate = (*path, part)
        if candidate not in doc.marks:
            break
        path = candidate
        best = doc.key_marks.get(candidate, doc.marks[candidate])
    return best.line, best.column


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping file, or raise :class:`MappingError` naming file:line:column and the field.

    It is read like a journey file, with the same budgets: aliases, nesting and the file's size are bounded
    (``WAYFINDER_MAX_DEFINITION_BYTES``)."""
    try:
        path.stat()
    except OSError as e:
        msg = f"{path}: cannot read the mapping file ({e.strerror})"
        raise MappingError(msg) from e
    docs, problems = load_documents(path, str(path))
    if problems:
        lines = [f"{p.file}:{p.line}:{p.column}: " + p.message.replace("YAML syntax error: ", "not valid YAML: ", 1)
                 for p in problems]
        raise MappingError("\n".join(lines))
    if len(docs) != 1 or not isinstance(docs[0].data, dict):
        msg = f"{path}:1:1: a mapping file is one YAML mapping with kind: Mapping"
        raise MappingError(msg)
    doc = docs[0]
    found = mapping_problems(doc)
    if found:
        raise MappingError("\n".join(f"{path}:{line}:{column}: {message}" for line, column, message in found))
    return Mapping.model_validate(doc.data)


def mapping_problems(doc: Document) -> list[tuple[int, int, str]]:
    """What is wrong with a ``kind: Mapping`` document, each at the line and column it is written at: ``import``
    refuses such a file, and ``validate`` reports it beside the definitions (``journeys.loader.OTHER_KINDS``)."""
    out = []
    try:
        mapping = Mapping.model_validate(doc.data)
        values, dated = mapping.values, set(mapping.dates)
    except ValidationError as e:
        errors = e.errors(include_url=False, include_input=False)
        for err in errors:
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(_UNION_PARTS)))
            line, column = _key_mark(doc, loc)
            name = ".".join(str(p) for p in loc) or "document"
            out.append((line, column, f"{name}: {err['msg']}"))
        # the values are checked all the same when they parse: each slip is reported in the one run
        values, dated = _readable_values(doc.data, errors)
    out.extend((line, column, f"values.{field}: {message}") for field, (line, column), message
               in _value_problems(values, dated, doc))
    return sorted(out, key=lambda p: (p[0], p[1]))


def _readable_values(data: object, errors: list[Any]) -> tuple[dict[str, dict[str, str | None]], set[str]]:
    """``values`` (and the fields ``dates`` names) of a document that does not parse as a whole, when that part
    has no error of its own; else nothing."""
    if not isinstance(data, dict) or any(err["loc"][:1] == ("values",) for err in errors):
        return {}, set()
    try:
        values = _ValuesPart.model_validate({"values": data.get("values") or {}}).values
    except ValidationError:
        return {}, set()
    dates = data.get("dates")
    return values, {str(k) for k in dates} if isinstance(dates, dict) else set()


class _ValuesPart(BaseModel):
    values: dict[FieldName, dict[str, str | None]]


_LEAVE_TYPES = get_args(LeaveType)


def _value_problems(values: dict[str, dict[str, str | None]], dated: set[str],
                    doc: Document) -> list[tuple[str, tuple[int, int], str]]:
    """What ``values`` maps to that its field cannot hold (``Active: actve`` for status, ``Regular: freelancer`` for
    employment_type): each would make every row a dead letter, or quietly another value, at run time."""
    out = []
    for field, table in values.items():
        for key, target in table.items():
            if target is None or field in DATE_FIELDS or field in dated or field.startswith("attributes."):
                continue
            where = doc.marks.get(("values", field, key)) or doc.start
            message = None
            if field == "status" and target not in STATUSES:
                message = f"{target!r} is not one of {', '.join(STATUSES)}"
            elif field == "leave_type" and target not in _LEAVE_TYPES:
                message = f"{target!r} is not one of {', '.join(_LEAVE_TYPES)}"
            elif field in PROFILE_FIELDS:
                try:
                    ProfileUpdate.model_validate({field: [target] if field in LIST_FIELDS else target})
                except ValidationError as e:
                    message = f"{target!r}: " + e.errors(include_url=False, include_input=False)[0]["msg"]
            if message is not None:
                out.append((field, (where.line, where.column), message))
    return out


OTHER_KINDS["Mapping"] = mapping_problems  # validate checks a mapping file found beside the definitions
