"""The stop switch (issue 8; EU AI Act Art. 14 style human oversight): an operator pauses one journey or all
sending, and resumes, sending what was held in order or dropping it.

The switch is a log of records (a JSON-lines file next to the messages, or the ``control`` topic on Kafka),
so every pause and resume is kept with who, when and why. Delivery reads the log before each message;
decisions go on being made (state stays right), only sending stops. A message is *held* while its journey
(or everything) is paused; when a resume says ``drop_held``, every message delivery was asked to send during
that pause is dropped instead of sent. "Asked" is by the wall clock, as the pauses are: when a ``deliver`` run
held it (kept in the send ledger), or when it was put on ``outbound.messages`` (the record's timestamp) — never
the message's ``scheduled_for``, which is the engine's clock (a simulated year, in a folder from ``simulate``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wayfinder.journeys.records import Instant, Message

__all__ = ["CONTROL_FILE", "ControlFile", "ControlRecord", "Switch", "Verdict"]

Verdict = Literal["go", "hold", "drop"]
ALL = "all"
CONTROL_FILE = "control.jsonl"  # the log's name beside the messages, where `deliver --messages DIR` reads it


class ControlRecord(BaseModel):
    """One pause or resume. ``journey_id`` None: all sending."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Literal["pause", "resume"]
    journey_id: str | None = None
    operator_id: str = Field(min_length=1)
    reason: str | None = None
    drop_held: bool = False
    at: Instant


@dataclass
class _Pause:
    opened: ControlRecord
    until: datetime | None = None
    drop: bool = False

    @property
    def since(self) -> datetime:
        return self.opened.at


@dataclass
class Switch:
    """The switch's state, rebuilt from its records in order."""

    pauses: dict[str, list[_Pause]] = field(default_factory=dict)
    records: int = 0

    def apply(self, record: ControlRecord) -> None:
        scope = record.journey_id or ALL
        history = self.pauses.setdefault(scope, [])
        self.records += 1
        open_pause = history[-1] if history and history[-1].until is None else None
        if record.action == "pause":
            if open_pause is None:
                history.append(_Pause(record))
        elif open_pause is not None:
            open_pause.until, open_pause.drop = record.at, record.drop_held

    def paused(self, journey_id: str | None = None) -> bool:
        scopes = (ALL,) if journey_id is None else (ALL, journey_id)
        return any(h and h[-1].until is None for s in scopes if (h := self.pauses.get(s)))

    def verdict(self, message: Message, asked: Iterable[datetime] = ()) -> Verdict:
        """Drop a message delivery was ``asked`` to send (those moments) during a pause a dropping resume ended;
        else hold while its journey or everything is paused."""
        moments = tuple(asked)
        for scope in (ALL, message.journey_id):
            for p in self.pauses.get(scope, ()):
                if p.drop and p.until is not None and any(p.since <= t < p.until for t in moments):
                    return "drop"
        return "hold" if self.paused(message.journey_id) else "go"

    def state(self) -> dict[str, bool]:
        """Paused or not, per journey (``all`` is all sending): for metrics and status pages."""
        return {scope: bool(h and h[-1].until is None) for scope, h in sorted(self.pauses.items())}

    def in_force(self) -> dict[str, ControlRecord]:
        """The pause record in force per journey (``all`` is all sending): who paused, when and why."""
        return {scope: h[-1].opened for scope, h in sorted(self.pauses.items()) if h and h[-1].until is None}


def parse_records(lines: Iterable[bytes | str]) -> list[ControlRecord]:
    """Records from JSON lines; a line that is not a record is an error naming its number (the log is
    written by Wayfinder's own commands, so a bad line means it was edited by hand)."""
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.append(ControlRecord.model_validate(json.loads(line)))
        except (ValueError, ValidationError) as e:
            msg = f"control log line {number}: not a pause or resume record ({type(e).__name__})"
            raise ValueError(msg) from e
    return out


class ControlFile:
    """The switch kept in a JSON-lines file; read again whenever it changed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._size = -1
        self.switch = Switch()

    async def current(self) -> Switch:
        return self.refresh()

    def refresh(self) -> Switch:
        size = self.path.stat().st_size if self.path.exists() else 0
        if size != self._size:
            switch = Switch()
            if size:
                with self.path.open("rb") as f:
                    for record in parse_records(f):
                        switch.apply(record)
            self.switch, self._size = switch, size
        return self.switch

    def append(self, record: ControlRecord) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(record.model_dump_json() + "\n")


class TopicFollower:
    """A topic read from its start outside any group, then followed: what came before this process is read on
    entering (a broker away leaves nothing open), new records at most every ``poll_seconds`` (``follow``). A
    subclass says what a batch of record values means (``take``)."""

    def __init__(self, bootstrap: str, topic: str, *, poll_seconds: float = 2.0) -> None:
        from aiokafka import AIOKafkaConsumer

        self._poll = poll_seconds
        self._last = float("-inf")
        self._reading = asyncio.Lock()
        self._consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None,
                                          enable_auto_commit=False, auto_offset_reset="earliest")

    async def __aenter__(self) -> Self:
        try:
            await self._consumer.start()
            await self._read(timeout_ms=2000)  # what was written before this process started
        except BaseException:
            await self._consumer.stop()  # a broker away: nothing left open (the caller may try again)
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    def take(self, values: list[bytes]) -> None:
        raise NotImplementedError

    async def follow(self) -> None:
        """Read what came since the last read, when ``poll_seconds`` have passed."""
        async with self._reading:  # one read at a time: the runner's messages and its paused gauge both ask
            if time.monotonic() - self._last >= self._poll:
                await self._read(timeout_ms=0)

    async def _read(self, timeout_ms: int) -> None:
        batches = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=10_000)
        for records in batches.values():
            self.take([r.value for r in records if r.value is not None])
        self._last = time.monotonic()


class KafkaControl(TopicFollower):
    """The switch kept on the ``control`` topic, followed from its start, so a pause reaches a running ``deliver
    --kafka`` within ``poll_seconds``."""

    def __init__(self, bootstrap: str, topic: str, *, poll_seconds: float = 2.0) -> None:
        super().__init__(bootstrap, topic, poll_seconds=poll_seconds)
        self.switch = Switch()

    def take(self, values: list[bytes]) -> None:
        for record in parse_records(values):
            self.switch.apply(record)

    async def current(self) -> Switch:
        await self.follow()
        return self.switch
