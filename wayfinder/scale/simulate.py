"""``simulate`` with memory bounded by the people, not by the messages.

A decision whose status cannot change any more (``sent``, ``approved``, ``rejected``, ``suppressed``,
``failed``) is written to ``messages.jsonl`` at once; only the messages still held (``deferred``,
``pending_approval``) stay in memory, and are written at the end with their latest state. So each
``message_id`` appears once, as SPEC §6 asks. Tasks, dead letters and audit records are written as they
come. Events are read line by line while they are in time order; a file that is not falls back to reading
it whole and sorting it (the result is the same).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from json.encoder import encode_basestring
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel
from pydantic_core import to_json

from wayfinder.journeys.events import CloudEvent, DecodeError, decode_event, iso
from wayfinder.journeys.loader import Definitions
from wayfinder.journeys.records import DeadLetter, Message
from wayfinder.jsonrows import one_line
from wayfinder.safety import redact_dead_letters
from wayfinder.safety.erasure import erasures, redact_message_line
from wayfinder.streams.embedded import (
    UTF8_BOM,
    EmbeddedRunner,
    LongLine,
    file_lines,
    last_stated,
    read_event_file,
    summary_row,
)

__all__ = ["OutOfOrder", "StreamingRunner", "simulate_streaming"]

FINAL = frozenset({"sent", "approved", "rejected", "suppressed", "failed"})


class OutOfOrder(Exception):
    """The events file is not in time order: read it whole instead."""


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=lambda v: iso(v) if isinstance(v, datetime) else str(v))


_LONG_TEXT = 200


def _text(value: str) -> str:
    """``json.dumps(value, ensure_ascii=False)`` of a text, by pydantic's encoder (the same characters escaped
    the same way, several times faster on a message's HTML); a text that is not Unicode (a lone surrogate) the
    standard library's way."""
    try:
        return to_json(value).decode("utf-8")
    except ValueError:
        return encode_basestring(value)


def _line(record: BaseModel | dict[str, Any]) -> str:
    """The record as a JSON line, written as ``json.dumps(..., ensure_ascii=False)`` writes it (with the characters
    a reader of lines breaks at escaped: ``one_line``); its long texts (a message's text and HTML) are encoded apart
    and set in their places."""
    data = record.model_dump(mode="json") if isinstance(record, BaseModel) else record
    if not isinstance(data, dict):
        return one_line(_json(data)) + "\n"
    pieces: list[str] = []
    rest: dict[Any, Any] = {}
    for key, value in data.items():
        if type(value) is str and type(key) is str and len(value) >= _LONG_TEXT:
            if rest:
                pieces.append(_json(rest)[1:-1])
                rest = {}
            pieces.append(f"{encode_basestring(key)}: {_text(value)}")
        else:
            rest[key] = value
    if rest or not pieces:
        pieces.append(_json(rest)[1:-1])
    return one_line("{" + ", ".join(pieces) + "}") + "\n"


class StreamingRunner(EmbeddedRunner):
    """The embedded runner, writing what is decided to ``out`` as it goes."""

    def __init__(self, defs: Definitions, out: Path, *, include_drafts: bool = False) -> None:
        super().__init__(defs, include_drafts=include_drafts)
        out.mkdir(parents=True, exist_ok=True)
        self.out = out
        # Tasks are few (a person's moments) and change (cancelled by a correction or an erasure): they are held,
        # as the embedded runner holds them, and written at the end with their latest state.
        self._files: dict[str, IO[str]] = {"messages": (out / "messages.jsonl").open("w", encoding="utf-8")}
        self.written: Counter[tuple[str, str, str | None]] = Counter()  # (journey, status, reason) written
        self.last_event: datetime | None = None  # the last event's time (SPEC §7: --until's default)

    # -- the port: write what is final, keep what is held ----------------------------------------------
    def record(self, message: Message) -> None:
        if message.status in FINAL:
            self.messages.pop(message.message_id, None)
            self.approvals.pop(message.message_id, None)
            self._files["messages"].write(_line(message))
            self.written[(message.journey_id, message.status, message.reason)] += 1
            return
        super().record(message)

    def dead_letter(self, letter: DeadLetter) -> None:
        self.dead_letters.append(letter)  # kept: bad lines are few, and the summary counts them

    def close(self) -> None:
        """Write the messages still held, with their latest state, and close the files."""
        for message in self.messages.values():
            self._files["messages"].write(_line(message))
        for f in self._files.values():
            f.close()
        erased = erasures(self.audit_records)
        if erased:  # what was written before someone's erasure keeps nothing of them (README "Erasure")
            path = self.out / "messages.jsonl"
            kept = path.with_name("messages.jsonl.erasing")
            with path.open("rb") as old, kept.open("wb") as new:
                new.writelines(redact_message_line(line, erased) for line in old)
            kept.replace(path)
        letters = redact_dead_letters(self.dead_letters, self.audit_records)  # nothing kept of an erased person
        rows: list[Any]
        for name, rows in (("tasks", list(self.tasks.values())), ("dead_letters", letters),
                           ("audit", self.audit_records)):
            with (self.out / f"{name}.jsonl").open("w", encoding="utf-8") as f:
                f.writelines(_line(r) for r in rows)

    # -- the summary from what was written and what is held -------------------------------------------
    def summary(self) -> dict[str, dict[str, Any]]:
        rows = super().summary()  # lifecycle counts, the held messages
        for (jid, status, reason), n in self.written.items():
            row = rows.setdefault(jid, summary_row())
            if status == "suppressed":
                row["suppressed"][reason or "unknown"] += n
            elif status in row:
                row[status] += n
        return dict(sorted(rows.items()))


def _stream(path: Path, runner: StreamingRunner, until: datetime | None = None) -> datetime | None:
    """Feed the events in file order; raise :class:`OutOfOrder` at the first one earlier than the one before.
    Bad lines are dead letters at the time of the last good event before them (the first good one's, for
    bad lines before any; in a file with no good event, ``until``'s, else the Unix epoch: the run's clock never
    started)."""
    last: datetime | None = None
    early: list[tuple[int, str, bytes | LongLine]] = []
    with path.open("rb") as f:
        for number, raw in enumerate(file_lines(f), start=1):
            if isinstance(raw, LongLine):
                if last is None:
                    early.append((number, "", raw))
                else:
                    runner.dead_letter(raw.dead_letter(last, path.name, number))
                continue
            if number == 1:
                raw = raw.removeprefix(UTF8_BOM)
            if raw[:1] != b"{" and not raw.decode("utf-8", errors="replace").strip():  # "{": not blank
                continue
            try:
                event = decode_event(raw.rstrip(b"\r\n"))
            except DecodeError as e:
                line = raw.rstrip(b"\r\n")
                if last is None:
                    early.append((number, str(e), line))
                else:
                    runner.dead_letter(DeadLetter.of(str(e), line, last, source=path.name, line=number))
                continue
            if last is not None and event.time < last:
                raise OutOfOrder
            if last is None:
                for n, reason, t in early:
                    runner.dead_letter(_early(reason, t, event.time, path.name, n))
                early.clear()
            last = event.time
            runner.feed(event, (path.name, number))
    for n, reason, t in early:  # a file with no good event at all
        runner.dead_letter(_early(reason, t, until or datetime(1970, 1, 1, tzinfo=UTC), path.name, n))
    return last


def _early(reason: str, raw: bytes | LongLine, at: datetime, source: str, line: int) -> DeadLetter:
    if isinstance(raw, LongLine):
        return raw.dead_letter(at, source, line)
    return DeadLetter.of(reason, raw, at, source=source, line=line)


def simulate_streaming(defs: Definitions, events: Path | Sequence[Path], until: datetime | None, out: Path, *,
                       include_drafts: bool = False) -> StreamingRunner:
    """Run ``events`` (one file, or several read as one stream: in time order, ties in the order the files are
    given, then in file order) through a :class:`StreamingRunner` writing to ``out``; the runner (closed) for
    the summary."""
    files = [events] if isinstance(events, Path) else list(events)
    runner = StreamingRunner(defs, out, include_drafts=include_drafts)
    try:
        if len(files) != 1:
            raise OutOfOrder  # several files are read whole and merged
        last = _stream(files[0], runner, until)
    except OutOfOrder:
        runner.close()  # what it wrote is written again from the start
        runner = StreamingRunner(defs, out, include_drafts=include_drafts)
        merged: list[tuple[datetime, int, int, CloudEvent, tuple[str, int]]] = []
        for k, path in enumerate(files):
            read = read_event_file(path)
            for letter in read.dead_letters:
                runner.dead_letter(letter)
            merged.extend((event.time, k, n, event, (path.name, read.lines[n])) for n, event in enumerate(read.events))
        merged.sort(key=lambda p: p[:3])
        for _, _, _, event, place in merged:
            runner.feed(event, place)
        last = merged[-1][0] if merged else None
    runner.last_event = last_stated(runner.dead_letters, last)
    end = until or runner.last_event
    if end is not None:
        runner.advance_to(end)
    runner.close()
    return runner


def read_messages(out: Path) -> Iterator[Message]:
    """The messages a streaming run wrote, read back one by one (for the outbox)."""
    with (out / "messages.jsonl").open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield Message.model_validate_json(line)
