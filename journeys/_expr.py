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


class Expr:
    """A compiled CEL expression. Evaluation failures are returned, never raised."""

    __slots__ = ("_program", "source")

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

    def evaluate(self, context: Mapping[str, Any]) -> tuple[Any, str | None]:
        """The value, or ``(None, reason)`` when evaluation fails (a missing field, a type mismatch)."""
        try:
            return self._program.execute(dict(context)), None
        except Exception as e:
            return None, f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"

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
