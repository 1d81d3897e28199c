"""Erasure in the files ``simulate``, ``demo`` and ``serve`` write: a dead letter of a person erased later in
the run keeps its reason, time and position, and its raw input becomes a stub; a message about or to them keeps
its ids and outcome, and loses its content."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from wayfinder.journeys import DeadLetter
from wayfinder.journeys.records import CONTENT, ERASED_INPUT, RANKING, Message, erased_since, kept_reason, note_erasure
from wayfinder.jsonrows import one_line
from wayfinder.vocabulary import parse_instant

REDACTED = ERASED_INPUT  # the same stub as the core's refusals of an erased person's events (reason erased_subject)
_SUBJECT = re.compile(r'"subject"\s*:\s*"((?:[^"\\]|\\.)*)"')


_TIME = re.compile(r'"time"\s*:\s*"([^"]*)"')


def _field(raw: str, name: str, pattern: re.Pattern[str]) -> str | None:
    """A string field of the event: from the JSON when it parses, else from the first ``"name": "..."`` in the
    text (a line cut short, a broken event)."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # a line nested past the parser's depth: read as text
        data = None
    if isinstance(data, dict):
        value = data.get(name)
        return value if isinstance(value, str) else None
    found = pattern.search(raw)
    return found.group(1) if found else None


def _before(letter: DeadLetter, erased_at: datetime) -> bool:
    """Whether the input came before the erasure: by the event's own time when it has one (a line of a file is
    said to be received at the time of the good line before it in the file, which need not be in time order),
    else by when it was received."""
    time = _field(letter.raw, "time", _TIME)
    try:
        return (parse_instant(time) if time is not None else letter.received_at) <= erased_at
    except ValueError:
        return letter.received_at <= erased_at


def erasures(audit: Iterable[Mapping[str, Any]]) -> dict[str, datetime]:
    """The latest erasure of each erased employee id in an audit trail."""
    erased: dict[str, datetime] = {}
    for entry in audit:
        note_erasure(erased, entry)
    return erased


DELIVERY_SOURCE = "delivery/"
"""How the ``source`` of a dead letter written by ``wayfinder deliver`` starts (``delivery/smtp``): its raw input is
the message record that failed, subject, text and address included, not an event."""


def failed_message(letter: DeadLetter) -> Message | None:
    """The message record a delivery's dead letter holds (a message that failed for good); None for any other."""
    if not (letter.source or "").startswith(DELIVERY_SOURCE):
        return None
    try:
        return Message.model_validate_json(letter.raw)
    except (ValidationError, ValueError, RecursionError):  # a line that was not a message record, as it came
        return None


def redact_dead_letters(letters: list[DeadLetter], audit: Iterable[Mapping[str, Any]]) -> list[DeadLetter]:
    """``letters`` with the raw input of every one about an erased person that came before the erasure as a stub
    (what arrives after an erasure is new data, not covered by it). A delivery's dead letter holds a message, not an
    event: it is about the message's people, as ``records.erased_since`` says (its ``subject`` is the email's)."""
    erased = erasures(audit)
    if not erased:
        return letters
    out = []
    for letter in letters:
        message = failed_message(letter)
        if message is not None:
            gone = erased_since(erased, message)
        else:
            subject = _field(letter.raw, "subject", _SUBJECT)
            gone = subject is not None and subject in erased and _before(letter, erased[subject])
        if gone:
            letter = letter.model_copy(update={"raw": REDACTED, "raw_base64": None})
        out.append(letter)
    return out


def redact_failed_deliveries(path: Path, message_ids: Collection[str]) -> int:
    """Rewrite the dead letters file ``wayfinder deliver`` appends to (``path``) so that the message of each id in
    ``message_ids`` (those the messages file now holds without their content: about or to a person erased since) is
    kept as the stub: the record of a message that failed before the erasure kept its subject, text and address.
    Other lines stay byte for byte. Written whole beside the file, then renamed; how many lines changed."""
    if not message_ids or not path.is_file():
        return 0
    changed = 0
    lines = []
    with path.open("rb") as f:
        for line in f:
            letter = _letter(line)
            message = failed_message(letter) if letter is not None else None
            if letter is not None and message is not None and message.message_id in message_ids:
                line = (letter.model_copy(update={"raw": REDACTED, "raw_base64": None}).model_dump_json()
                        + "\n").encode("utf-8")
                changed += 1
            lines.append(line)
    if changed:
        spare = path.with_name(path.name + ".erasing")
        with spare.open("wb") as f:
            f.writelines(lines)
            f.flush()
            os.fsync(f.fileno())
        spare.replace(path)
    return changed


def _letter(line: bytes) -> DeadLetter | None:
    try:
        return DeadLetter.model_validate_json(line)
    except (ValidationError, ValueError, RecursionError):  # a line written by hand, or cut short: left as it is
        return None


_PEOPLE = re.compile(rb'^\{"message_id": ("(?:[^"\\]|\\.)*"), "employee_id": ("(?:[^"\\]|\\.)*"), '
                     rb'"recipient_id": ("(?:[^"\\]|\\.)*"|null)')
_GATHERED = b'"gathered": ['  # a digest's own record names the messages that went in it


def _erased_record(line: bytes, erased: Mapping[str, datetime]) -> dict[str, Any] | None:
    """The record of a line that says something of a person erased after it was made (``records.erased_since``:
    about or to them, or a digest that went with such a message in it); None for any other line."""
    found = _PEOPLE.match(line)
    if found is None:
        return None
    people = [json.loads(found.group(2)), json.loads(found.group(3))]
    if not any(isinstance(p, str) and p in erased for p in people) and _GATHERED not in line:
        return None  # most lines: not parsed at all
    record: dict[str, Any] = json.loads(line)
    return record if erased_since(erased, Message.model_validate(record)) else None


def redact_message_line(line: bytes, erased: Mapping[str, datetime]) -> bytes:
    """A line of ``messages.jsonl`` (UTF-8) as it stays after the erasures ``erased`` (id -> time): a message made up
    to a person's erasure, about them or to them, and a digest that went with such a message in it, keep their ids,
    times, status and reason, and their content fields are null as ``Message.without_content`` leaves them (it may
    have been sent: it stays ``sent``). Lines of other people come back as they were, unparsed."""
    record = _erased_record(line, erased)
    if record is None:
        return line
    record.update(dict.fromkeys(CONTENT))
    record.pop(RANKING, None)
    record["reason"] = kept_reason(record.get("status"), record.get("reason"))
    return (one_line(json.dumps(record, ensure_ascii=False)) + "\n").encode("utf-8")
