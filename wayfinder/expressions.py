"""CEL expressions, compiled once when definitions load and evaluated many times."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import cel
from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

JOURNEY_VARIABLES = frozenset({"employee", "event", "trigger", "now"})
CATALOG_VARIABLES = frozenset({"employee", "resource"})

_CEL_POSITION = re.compile(r"<input>:(\d+):(\d+): (.*?)(?:\n|$)")
_MACRO_BINDING = r"\b(?:all|exists|exists_one|map|filter)\(\s*{name}\s*,"


class ExpressionError(ValueError):
    """An expression that does not compile; ``column`` is 1-based within the expression."""

    def __init__(self, message: str, column: int = 0) -> None:
        super().__init__(message)
        self.column = column


_STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_CACHE_SIZE = 4096


def _plan(source: str, names: frozenset[str]) -> dict[str, frozenset[str] | None]:
    """Which fields of each variable an expression reads (None: the whole value).

    CEL converts every value it is given on each evaluation, so handing it only the fields an
    expression reads makes evaluation several times faster.
    """
    code = _STRING.sub('""', source)
    plan: dict[str, frozenset[str] | None] = {}
    for name in names:
        fields: set[str] = set()
        whole = False
        for m in re.finditer(rf"(?<![\w.]){re.escape(name)}\b(\s*\.\s*(\w+))?", code):
            if m.group(2) is None:
                whole = True
            else:
                fields.add(m.group(2))
        if whole:
            plan[name] = None
        elif fields:
            plan[name] = frozenset(fields)
    return plan


class Expr:
    """A compiled CEL expression. Evaluation failures are returned, never raised."""

    __slots__ = ("_cache", "_cacheable", "_plan", "_program", "source")

    def __init__(self, source: str, allowed: frozenset[str] = JOURNEY_VARIABLES) -> None:
        self.source = source
        try:
            self._program = cel.compile(source)
        except ValueError as e:
            raise _compile_error(str(e)) from e
        unknown = [
            name for name in self._program.variables()
            if name not in allowed and not re.search(_MACRO_BINDING.format(name=re.escape(name)), source)
        ]
        if unknown:
            known = ", ".join(sorted(allowed))
            msg = f"unknown variable {unknown[0]!r} in expression (known here: {known})"
            raise ExpressionError(msg, source.find(unknown[0]) + 1)
        self._plan = _plan(source, allowed)
        self._cacheable = "now" not in self._plan
        self._cache: dict[str, tuple[Any, str | None]] = {}

    def evaluate(self, context: Mapping[str, Any]) -> tuple[Any, str | None]:
        """The value, or ``(None, reason)`` when evaluation fails (a missing field, a type mismatch)."""
        reduced: dict[str, Any] = {}
        for name, fields in self._plan.items():
            if name not in context:
                continue
            value = context[name]
            if fields is not None and isinstance(value, Mapping):
                value = {f: value[f] for f in sorted(fields) if f in value}
            reduced[name] = value
        key = repr(reduced) if self._cacheable else ""
        if key:
            hit = self._cache.get(key)
            if hit is not None:
                return hit
        try:
            result: tuple[Any, str | None] = (self._program.execute(reduced), None)
        except Exception as e:  # CEL raises KeyError, TypeError, ValueError, RuntimeError
            result = (None, f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}")
        if key:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = result
        return result

    def test(self, context: Mapping[str, Any]) -> tuple[bool, str | None]:
        """A condition: true only when the expression yields ``true``; a failure counts as false."""
        value, error = self.evaluate(context)
        if error is not None:
            return False, error
        if not isinstance(value, bool):
            return False, f"condition gave {type(value).__name__}, not a bool"
        return value, None

    def __repr__(self) -> str:
        return f"Expr({self.source!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expr) and other.source == self.source

    def __hash__(self) -> int:
        return hash(self.source)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            cls._from_str,
            core_schema.str_schema(min_length=1),
            serialization=core_schema.plain_serializer_function_ser_schema(lambda e: e.source),
        )

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
                                     ) -> JsonSchemaValue:
        return {"type": "string", "description": "A CEL expression (Common Expression Language)"}

    @classmethod
    def _from_str(cls, value: str) -> Expr:
        return cls(value)


class CatalogExpr(Expr):
    """A CEL expression over ``employee`` and ``resource``."""

    __slots__ = ()

    @classmethod
    def _from_str(cls, value: str) -> Expr:
        return cls(value, CATALOG_VARIABLES)


def _compile_error(raw: str) -> ExpressionError:
    m = _CEL_POSITION.search(raw)
    if m is None:
        return ExpressionError(f"invalid expression: {raw.splitlines()[0]}")
    column = int(m.group(2))
    return ExpressionError(f"invalid expression: {m.group(3)} (column {column} of the expression)", column)
