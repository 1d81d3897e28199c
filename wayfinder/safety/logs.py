"""Log records as one line each: a CR, LF or other control character that came in with an id (a message id, an
event id, a subject) is written escaped, so nobody can forge a log line through the data (log injection)."""

from __future__ import annotations

import logging
import os

from wayfinder.telemetry import TEXT_FORMAT, LogFormat, escape_controls
from wayfinder.telemetry import configure_logging as telemetry_logging

LEVEL_SETTING = "WAYFINDER_LOG_LEVEL"


class OneLineFormatter(logging.Formatter):
    """The record's message with its control characters escaped; a traceback still prints as it is."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape_controls(record.message)
        return super().formatMessage(record)


def configure_logging(verbose: bool, fmt: LogFormat = "text") -> None:
    """The root handler for the command line: WARNING, INFO with ``-v``, or the level in ``WAYFINDER_LOG_LEVEL``
    (``DEBUG``, ``INFO``, ...), in ``fmt`` (text or JSON); records are one line whichever handler writes them."""
    level: int | str = logging.INFO if verbose else logging.WARNING
    wanted = os.environ.get(LEVEL_SETTING, "").strip().upper()
    if wanted in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        level = wanted
    telemetry_logging(level, fmt)
    if fmt == "text":
        logging.getLogger().handlers[0].setFormatter(OneLineFormatter(TEXT_FORMAT))
    # httpx logs every request's URL at INFO: a Slack or Teams webhook URL is itself a credential.
    logging.getLogger("httpx").setLevel(logging.WARNING)
