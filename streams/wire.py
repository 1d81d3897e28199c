"""How the worker writes effects and internal messages on Kafka (JSON, UTF-8)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from datetime import datetime, time
from typing import Any

from wayfinder.journeys.effects import (
    CancelPending,
    Departure,
    DigestInput,
    DigestTimer,
    Dispatch,
    EnrollmentTimer,
    ForgetMailbox,
    Gather,
    LeaveChanged,
    MailboxInput,
    MailboxTimer,
    Preferences,
    RecipientTimer,
    ReviewTimer,
    Timer,
)
from wayfinder.journeys.events import iso
from wayfinder.journeys.records import Message
from wayfinder.vocabulary import parse_instant


@dataclass(frozen=True)
class Record:
    """One message to produce: ``topic`` is the short name (``outbound.messages``)."""

    topic: str
    key: str | None
    value: bytes | None
    partition: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"t": self.topic, "k": self.key, "v": None if self.value is None else self.value.decode("utf-8"),
                "p": self.partition}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Record:
        v = d["v"]
        return cls(d["t"], d["k"], None if v is None else v.encode("utf-8"), d["p"])


def dumps(obj: Any) -> bytes:
    """Compact JSON, non-ASCII as it is, datetimes as ``iso``. One encoder for every call: ``json.dumps`` with these
    options builds a new one each time, about a fifth of the cost of a small value (an encoder keeps nothing
    between calls)."""
    return _ENCODER.encode(obj).encode("utf-8")


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    msg = f"cannot encode {type(value).__name__}"
    raise TypeError(msg)


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_default)


parse_time = parse_instant


# -- timers -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ParkedInput:
    """An input the employee stage decides later, at its own time, as a timer of its subject (the event clock: a
    review decision read before the events that make its message, ``decisions.made_later``): its topic and bytes."""

    employee_id: str
    topic: str
    value: str  # the input's JSON text (it decoded: UTF-8)
    timestamp: float | None = None
    offset: int | None = None  # where it was read (its partition is the timer's), for a dead letter it may become


StageTimer = Timer | ParkedInput
"""What a stage's timer table holds: the core's timers, and inputs parked for their time."""

_TIMER_KINDS: dict[str, type[EnrollmentTimer] | type[MailboxTimer] | type[ReviewTimer] | type[DigestTimer]
                   | type[ParkedInput]] = {
    "enrollment": EnrollmentTimer, "mailbox": MailboxTimer, "review": ReviewTimer, "digest": DigestTimer,
    "parked": ParkedInput}


def timer_key(timer: StageTimer) -> str:
    if isinstance(timer, ParkedInput):
        digest = hashlib.sha256(timer.value.encode("utf-8")).hexdigest()[:24]  # the same input parked once
        return f"t:{timer.employee_id}\x1fparked\x1f{timer.topic}\x1f{digest}"
    if isinstance(timer, EnrollmentTimer):
        return f"t:{timer.employee_id}\x1f{timer.journey_id}\x1f{timer.enrollment_id}\x1f{timer.token}"
    if isinstance(timer, ReviewTimer):
        return f"t:{timer.employee_id}\x1freview\x1f{timer.message_id}"
    if isinstance(timer, DigestTimer):
        return f"t:{timer.recipient_id}\x1fdigest\x1f{timer.digest_id}"
    return f"t:{timer.recipient_id}\x1f{timer.message_id}"


# Each kind's name and fields, in order. Every field is a string, a number or None: a timer's JSON is its fields as
# they are (``asdict`` gave the same, after a deep copy of each value, most of the cost of encoding a parked input).
_TIMER_FIELDS = {cls: (kind, tuple(f.name for f in fields(cls))) for kind, cls in _TIMER_KINDS.items()}


def encode_timer(timer: StageTimer, due: datetime, set_by: str = "") -> bytes:
    """``set_by``: the rank of what set the timer (``streams.ordering``), kept when there is one."""
    kind, names = _TIMER_FIELDS[type(timer)]
    d = {"due": due, "kind": kind, "timer": {name: getattr(timer, name) for name in names}}
    return dumps({**d, "k": set_by} if set_by else d)


def timer_owner(timer: StageTimer) -> str:
    return timer.recipient_id if isinstance(timer, RecipientTimer) else timer.employee_id


def decode_timer(raw: bytes) -> tuple[StageTimer, datetime]:
    timer, due, _ = decode_ranked_timer(raw)
    return timer, due


def decode_ranked_timer(raw: bytes) -> tuple[StageTimer, datetime, str]:
    """The timer, its due time and the rank of what set it ("": none kept, a timer written before ranks)."""
    d = json.loads(raw)
    timer: StageTimer = _TIMER_KINDS[d["kind"]](**d["timer"])
    return timer, parse_time(d["due"]), str(d.get("k", ""))


# -- mailbox envelopes --------------------------------------------------------------------------
def encode_mailbox_input(item: MailboxInput, at: datetime, origin: str | None = None, rank: str = "") -> bytes:
    """An input for a recipient's mailbox, as the mailbox stage reads it; ``at``: when it was decided;
    ``origin``: where (the input and place that decided it), ``rank``: where ``simulate`` decides it among the
    decisions of its instant (``streams.ordering``); both order ties on the event clock."""
    raw = _encode_mailbox_input(item, at)
    if origin is not None:
        raw = raw[:-1] + b',"o":' + dumps(origin) + b"}"
    return raw[:-1] + b',"k":' + dumps(rank) + b"}" if rank else raw


def _encode_mailbox_input(item: MailboxInput, at: datetime) -> bytes:
    if isinstance(item, Dispatch):
        quiet = [item.quiet_hours[0].strftime("%H:%M"), item.quiet_hours[1].strftime("%H:%M")] \
            if item.quiet_hours else None
        return dumps({"kind": "dispatch", "mailbox": item.mailbox, "message": item.message.model_dump(mode="json"),
                      "timezone": item.timezone, "quiet": quiet, "on_leave": item.on_leave, "at": at,
                      **_weekend(item.weekend_country)})
    if isinstance(item, CancelPending):
        return dumps({"kind": "cancel", "employee_id": item.employee_id, "journey_id": item.journey_id,
                      "reason": item.reason, "recipients": list(item.recipients), "at": item.at,
                      **({"role": item.role} if item.role is not None else {})})
    if isinstance(item, Preferences):
        quiet = [item.quiet_hours[0].strftime("%H:%M"), item.quiet_hours[1].strftime("%H:%M")] \
            if item.quiet_hours else None
        return dumps({"kind": "preferences", "mailbox": item.mailbox, "opt_out_channels": item.opt_out_channels,
                      "opt_out_topics": item.opt_out_topics, "paused_until": item.paused_until, "at": item.at,
                      "timezone": item.timezone, "quiet": quiet, **_weekend(item.weekend_country)})
    if isinstance(item, LeaveChanged):
        return dumps({"kind": "leave", "mailbox": item.mailbox, "start": item.start, "end": item.end,
                      "timezone": item.timezone, "quiet_hours": item.quiet_hours, "at": item.at,
                      **_weekend(item.weekend_country)})
    if isinstance(item, Departure):
        return dumps({"kind": "departure", "mailbox": item.mailbox, "left_at": item.left_at, "at": item.at})
    return dumps({"kind": "forget", "mailbox": item.mailbox, "at": at})


def _weekend(country: str | None) -> dict[str, str]:
    """The recipient's weekend on the wire (README "Working days"): only for a country the policy gives its own
    weekend, so an envelope for anyone else is as it was (and one written before reads as the policy's weekend)."""
    return {"weekend": country} if country is not None else {}


def decode_mailbox_input(d: dict[str, Any]) -> tuple[MailboxInput, datetime]:
    """The input and the time it was decided at, from an envelope ``encode_mailbox_input`` wrote."""
    at = parse_time(d["at"])
    if d["kind"] == "dispatch":
        quiet = d.get("quiet")
        window = (time.fromisoformat(quiet[0]), time.fromisoformat(quiet[1])) if quiet else None
        return Dispatch(d["mailbox"], Message.model_validate(d["message"]), d["timezone"], window,
                        d.get("on_leave", "defer"), weekend_country=d.get("weekend")), at
    if d["kind"] == "cancel":
        return CancelPending(d["employee_id"], d["journey_id"], d["reason"], tuple(d["recipients"]), at,
                             d.get("role")), at
    if d["kind"] == "preferences":
        until, quiet = d.get("paused_until"), d.get("quiet")
        return Preferences(d["mailbox"], tuple(d["opt_out_channels"]), tuple(d["opt_out_topics"]),
                           parse_time(until) if until else None, at, d.get("timezone"),
                           (time.fromisoformat(quiet[0]), time.fromisoformat(quiet[1])) if quiet else None,
                           d.get("weekend")), at
    if d["kind"] == "leave":
        end = d.get("end")
        return LeaveChanged(d["mailbox"], parse_time(d["start"]), parse_time(end) if end else None, d["timezone"],
                            d.get("quiet_hours"), at, d.get("weekend")), at
    if d["kind"] == "departure":
        left_at = d.get("left_at")
        return Departure(d["mailbox"], parse_time(left_at) if left_at else None, at), at
    if d["kind"] == "forget":
        return ForgetMailbox(d["mailbox"]), at
    raise unknown_kind(d["kind"])


INPUT_KINDS = frozenset({"dispatch", "cancel", "preferences", "leave", "departure", "forget", "gather"})
"""The kinds of input a mailbox or digest box reads (``encode_mailbox_input``, ``encode_digest_input``)."""


def unknown_kind(kind: object) -> ValueError:
    """Never a default: an input of a kind this release does not know (a newer release's, in a rolling upgrade) was
    read as an erasure of the mailbox, which dropped what it held (README "Leavers")."""
    return ValueError(f"a mailbox input of unknown kind {str(kind)[:40]!r} (written by a newer release?)")


def encode_tick(at: datetime | None) -> bytes:
    return dumps({"kind": "tick", "at": at})


# -- digest envelopes (README "Digests"): on the mailbox topic, told apart by ``box`` ---------------------
def encode_digest_input(item: DigestInput, at: datetime, origin: str | None = None, rank: str = "") -> bytes:
    """An input for a recipient's digest box, as the mailbox stage reads it; ``origin`` and ``rank`` as for a
    mailbox's (``encode_mailbox_input``)."""
    if isinstance(item, Gather):
        quiet = [item.quiet_hours[0].strftime("%H:%M"), item.quiet_hours[1].strftime("%H:%M")] \
            if item.quiet_hours else None
        d = {"box": "digest", "kind": "gather", "mailbox": item.mailbox, "timezone": item.timezone,
             "message": item.message.model_dump(mode="json"), "quiet": quiet, "at": at, "on_leave": item.on_leave,
             **_weekend(item.weekend_country)}
        return dumps({**d, **({"o": origin} if origin is not None else {}), **({"k": rank} if rank else {})})
    return dumps({"box": "digest", **json.loads(encode_mailbox_input(item, at, origin, rank))})


def decode_digest_input(d: dict[str, Any]) -> tuple[DigestInput, datetime]:
    if d["kind"] == "gather":
        quiet = d.get("quiet")
        window = (time.fromisoformat(quiet[0]), time.fromisoformat(quiet[1])) if quiet else None
        return Gather(d["mailbox"], Message.model_validate(d["message"]), d["timezone"], window,
                      d.get("on_leave", "defer"), weekend_country=d.get("weekend")), parse_time(d["at"])
    item, at = decode_mailbox_input(d)
    if isinstance(item, Dispatch):
        msg = f"a {d['kind']} envelope marked for the digest box"
        raise ValueError(msg)
    return item, at
