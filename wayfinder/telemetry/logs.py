"""Log lines as JSON objects, one per line, with stable keys (opt-in: ``WAYFINDER_LOG_FORMAT=json``).

Every line has ``time`` (RFC 3339, UTC), ``level``, ``logger`` and ``message``; the ids a line was logged
with (``extra={"event_id": ...}``) follow under their own keys, only those in ``ID_KEYS``. An exception adds
``exc_type`` and ``stack`` (file:line and function of each frame) but never the exception's text, which can
quote the data that failed (an event's values, an address). Messages themselves are written with opaque ids
only (STYLE.md "Logs").
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Any, Literal

LOG_FORMATS = ("text", "json")
LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"
# The ids a line may carry, each under its own key. Anything else passed in ``extra`` is left out, so a
# careless ``extra={"email": ...}`` never reaches the log.
ID_KEYS = ("event_id", "message_id", "employee_id", "journey", "step", "topic", "partition", "offset", "stage",
           "agent", "connector", "reason")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ID_KEYS:
            value = record.__dict__.get(key)
            if isinstance(value, str | int):
                line[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            line["exc_type"] = record.exc_info[0].__name__
            line["stack"] = [f"{f.filename}:{f.lineno} in {f.name}"
                             for f in traceback.extract_tb(record.exc_info[2])]
        return json.dumps(line, default=str)  # ASCII: no character a line splitter breaks on


def _formatter(fmt: LogFormat) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)


def configure_logging(level: int | str, fmt: LogFormat = "text") -> None:
    """The root logger writes to stderr at ``level`` in ``fmt`` (what every command but the worker uses)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def logging_config(level: str, fmt: LogFormat) -> dict[str, Any] | None:
    """What Faust's worker takes as ``logging_config`` (``logging.config.dictConfig``): its own lines in our
    JSON too. ``None`` for text, which keeps Faust's own format."""
    if fmt != "json":
        return None
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "json", "level": level,
                                 "stream": "ext://sys.stderr"}},
        "root": {"level": level, "handlers": ["default"]},
    }
