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
import re
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from wayfinder.vocabulary import CONTROLS
from wayfinder.vocabulary import escape_controls as escape_controls  # the telemetry package's name for it

LOG_FORMATS = ("text", "json")
LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"
# The ids a line may carry, each under its own key. Anything else passed in ``extra`` is left out, so a
# careless ``extra={"email": ...}`` never reaches the log.
ID_KEYS = ("event_id", "message_id", "employee_id", "journey", "step", "topic", "partition", "offset", "stage",
           "agent", "connector", "reason")


_CONTROLS = CONTROLS  # one definition, in the lowest layer (validate's lines are escaped with it too)


_ID_BYTES = re.compile(rb"[A-Za-z0-9][A-Za-z0-9:._-]{0,199}")


class Withheld:
    """What a log line shows instead of raw bytes that are not an id: their size only."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __repr__(self) -> str:
        return f"<{self.size} bytes>"

    __str__ = __repr__


def withhold_bytes(args: tuple[object, ...] | Mapping[str, object]) -> tuple[object, ...] | Mapping[str, object]:
    """A record's arguments with every ``bytes`` value that is not an id (a record key such as ``s:E1001``: ASCII
    letters, digits and ``:._-``) replaced by its size. Kafka clients log the records they send at DEBUG (aiokafka's
    producer: ``Sending (key=%s value=%s)``), and a record's value is an event, a profile or a message: names and
    addresses. ``args`` as it came when nothing had to be withheld."""
    values = args if isinstance(args, tuple) else tuple(args.values())
    if not any(isinstance(a, bytes | bytearray | memoryview) for a in values):
        return args
    if isinstance(args, tuple):
        return tuple(_shown(a) for a in args)
    return {k: _shown(v) for k, v in args.items()}


def _shown(value: object) -> object:
    if not isinstance(value, bytes | bytearray | memoryview):
        return value
    raw = bytes(value)
    return raw if _ID_BYTES.fullmatch(raw) else Withheld(len(raw))


def one_line_records() -> None:
    """Every record made from now on, by any logger, carries its message with control characters escaped, so a
    CR or LF that came in with an id cannot forge a log line (log injection), and raw bytes that are not an id
    shown by their size only (:func:`withhold_bytes`), whichever handler writes it: handlers a framework installs
    later (Faust's worker sets up its own) get the same."""
    make = logging.getLogRecordFactory()
    if getattr(make, "one_line", False):
        return

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make(*args, **kwargs)
        if record.args:
            record.args = withhold_bytes(record.args)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit: left to the handler to report
            return record
        if _CONTROLS.search(message):
            record.msg, record.args = escape_controls(message), ()
        return record

    factory.one_line = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


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


class QuietRepeats(logging.Filter):
    """The same line of a Kafka client (same logger and message) at most once per ``seconds``, the next one saying
    how many were left out: with the broker away aiokafka writes "Unable connect to node" thousands of times a
    second, which buries every other line and fills a disk in minutes. Other loggers pass untouched."""

    def __init__(self, seconds: float = 10.0, prefixes: tuple[str, ...] = ("aiokafka", "kafka"),
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.seconds = seconds
        self.prefixes = prefixes
        self._clock = clock
        self._last: dict[tuple[str, str], tuple[float, int]] = {}  # (logger, message) -> (when let through, left out)

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self.prefixes):
            return True
        key = (record.name, str(record.msg))
        now = self._clock()
        seen = self._last.get(key)
        if seen is not None and now - seen[0] < self.seconds:
            self._last[key] = (seen[0], seen[1] + 1)
            return False
        if seen is not None and seen[1]:
            record.msg = f"{record.msg} [{seen[1]} more like this in the last {now - seen[0]:.0f} s left out]"
        if len(self._last) > 1000:  # messages with their values in them: forget, rather than grow
            self._last.clear()
        self._last[key] = (now, 0)
        return True


def _formatter(fmt: LogFormat) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)


def configure_logging(level: int | str, fmt: LogFormat = "text") -> None:
    """The root logger writes to stderr at ``level`` in ``fmt`` (what every command but the worker uses);
    records are one line whichever handler writes them (:func:`one_line_records`)."""
    one_line_records()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_formatter(fmt))
    handler.addFilter(QuietRepeats())
    handler.wayfinder = True  # type: ignore[attr-defined]
    root = logging.getLogger()
    # Ours replaces ours (main() may run again in one process); a handler someone else put there (a test's
    # capture, an embedding application's) stays.
    root.handlers[:] = [h for h in root.handlers if not getattr(h, "wayfinder", False)] + [handler]
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
        "filters": {"quiet_repeats": {"()": QuietRepeats}},
        "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "json", "level": level,
                                 "stream": "ext://sys.stderr", "filters": ["quiet_repeats"]}},
        "root": {"level": level, "handlers": ["default"]},
    }
