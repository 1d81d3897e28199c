"""Log records as one line each: a CR, LF or other control character that came in with an id (a message id, an
event id, a subject) is written escaped, so nobody can forge a log line through the data (log injection)."""

from __future__ import annotations

import logging
import os
import re

_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\u0085\u2028\u2029]")
LEVEL_SETTING = "WAYFINDER_LOG_LEVEL"


def escape_controls(text: str) -> str:
    """``text`` with every control character but the tab written as ``\\n``, ``\\r`` or ``\\xNN``."""
    return _CONTROLS.sub(lambda m: repr(m.group(0))[1:-1], text)


class OneLineFormatter(logging.Formatter):
    """The record's message with its control characters escaped; a traceback still prints as it is."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape_controls(record.message)
        return super().formatMessage(record)


def _one_line_records() -> None:
    """Every record made from now on, by any logger, carries its message already escaped, so handlers that a
    framework installs later (Faust's worker sets up its own) write one line too."""
    make = logging.getLogRecordFactory()
    if getattr(make, "one_line", False):
        return

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit: left to the handler to report
            return record
        if _CONTROLS.search(message):
            record.msg, record.args = escape_controls(message), ()
        return record

    factory.one_line = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def configure_logging(verbose: bool) -> None:
    """The root handler for the command line: WARNING, INFO with ``-v``, or the level in ``WAYFINDER_LOG_LEVEL``
    (``DEBUG``, ``INFO``, ...); records are one line whichever handler writes them."""
    _one_line_records()
    level: int | str = logging.INFO if verbose else logging.WARNING
    wanted = os.environ.get(LEVEL_SETTING, "").strip().upper()
    if wanted in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        level = wanted
    handler = logging.StreamHandler()
    handler.setFormatter(OneLineFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    # httpx logs every request's URL at INFO: a Slack or Teams webhook URL is itself a credential.
    logging.getLogger("httpx").setLevel(logging.WARNING)
