"""What delivery writes (receipts, dead letters) and where it reads messages from.

The runner reads from any async iterable of ``Message`` and writes to any ``Sink``: a JSONL file
now; a Kafka producer for ``delivery.receipts`` and ``dead-letters`` implements the same two
methods.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from wayfinder.journeys.records import DeadLetter, Instant, Message

Record = TypeVar("Record", bound=BaseModel, contravariant=True)


class Receipt(BaseModel):
    """The outcome of delivering one message. ``reason`` is a stable code, ``detail`` says what to fix."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    message_id: str
    status: Literal["delivered", "failed", "dropped"]
    attempts: int
    latency_seconds: float
    connector: str
    reason: str | None = None
    detail: str | None = None
    at: Instant


class Sink(Protocol[Record]):
    async def write(self, record: Record) -> None: ...
    async def close(self) -> None: ...


class JsonlSink:
    """Appends one JSON object per line, flushed per record; the file is created by ``open`` or the first write."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.written = 0
        self._file: IO[str] | None = None

    def open(self) -> IO[str]:
        """Open (and create) the file now: a caller that must not send what it cannot record opens it first, so an
        unwritable path (OSError) stops it before the first send rather than after a server accepted."""
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        return self._file

    async def write(self, record: BaseModel) -> None:
        file = self.open()
        file.write(record.model_dump_json() + "\n")
        file.flush()
        self.written += 1

    async def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


@dataclass
class MessageFile:
    """Messages from a ``messages.jsonl`` file; lines that are not a message become dead letters."""

    path: Path
    received_at: datetime
    rejected: list[DeadLetter] = field(default_factory=list)
    read: int = 0

    async def __aiter__(self) -> AsyncIterator[Message]:
        with self.path.open("rb") as lines:
            for number, raw in enumerate(lines, start=1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    self._reject(f"not UTF-8 text (at byte {e.start} of the line)", raw.decode("utf-8", "replace"),
                                 number)
                    continue
                if not line.strip():
                    continue
                try:
                    message = Message.model_validate_json(line)
                except ValidationError as e:
                    self._reject(f"not a message record: {record_problems(e)}", line, number)
                    continue
                self.read += 1
                yield message

    def _reject(self, reason: str, line: str, number: int) -> None:
        self.rejected.append(DeadLetter(reason=reason, raw=line.rstrip("\r\n"), received_at=self.received_at,
                                        source=str(self.path), line=number))


def record_problems(e: ValidationError) -> str:
    """The fields of a record that are not as a message record's must be (never their values)."""
    return ", ".join(sorted({".".join(str(p) for p in err["loc"]) or "(line)" for err in e.errors()}))
