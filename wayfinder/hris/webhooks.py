"""BambooHR and Personio webhooks: signatures checked, payloads read into items, items mapped to changes.

What we assumed of each format is written down in the README (section "Connecting HR systems").
Errors name headers and fields, never values.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping as Headers
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from wayfinder.hris.diff import (
    JOB_CHANGED,
    MANAGER_CHANGED,
    RELOCATED,
    Change,
    Context,
    arrived,
    correction,
    dated,
    hired,
    leave_ended,
    leave_started,
    profile,
    terminated,
    unannounced,
    upserted,
)
from wayfinder.hris.mapping import Mapping
from wayfinder.hris.records import Record, Refusal, RowError, id_text, to_record

Action = Literal["created", "updated", "deleted"]
SYSTEMS = ("bamboohr", "personio")
REJECT_CODES = ("no_employee_id", "bad_employee_id", "bad_fields", "unknown_action", "bad_timestamp", "dataless",
                "bad_value")
"""Why an item of a delivery is rejected, a short fixed word (``RowError.code``): no id, an id that is no id, fields
that are not an object, an action we do not know, a timestamp that is not a time, a dataless notification, a value
the mapping cannot read. The intake counts rejected items by it; the reason's text goes to the sender."""


class WebhookError(Refusal):
    """A request we refuse: ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Item:
    """One employee change in a webhook: the fields by the sender's names, and which of them changed."""

    employee: str
    action: Action
    fields: dict[str, Any]
    changed: tuple[str, ...]
    at: datetime | None


# -- signatures ---------------------------------------------------------------------------------
def _fresh(stamp: str | None, header: str, now: datetime, tolerance: timedelta) -> None:
    if not stamp:
        msg = f"missing {header} header"
        raise WebhookError(401, msg)
    try:
        sent = datetime.fromtimestamp(int(stamp), tz=UTC)
    except (ValueError, OverflowError) as e:
        msg = f"{header} is not a Unix time in seconds"
        raise WebhookError(401, msg) from e
    if abs(now - sent) > tolerance:
        msg = f"{header} is more than {int(tolerance.total_seconds())}s away from our clock (stale or replayed)"
        raise WebhookError(401, msg)


def _matches(expected: str, given: str | None, header: str) -> None:
    if not given or not hmac.compare_digest(expected.encode(), given.strip().encode()):
        msg = f"{header} does not match the body signed with the configured secret"
        raise WebhookError(401, msg)


def sign_bamboohr(secret: str, body: bytes, stamp: str) -> str:
    """BambooHR: hex SHA-256 HMAC of the raw body followed by the timestamp."""
    return hmac.new(secret.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()


def sign_personio(secret: str, body: bytes, stamp: str) -> str:
    """Personio (as we assumed it): ``v1=`` and the hex SHA-256 HMAC of ``timestamp.body``."""
    return "v1=" + hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(system: str, headers: Headers[str, str], body: bytes, secret: str, now: datetime,
           tolerance: timedelta) -> None:
    """Raise :class:`WebhookError` (401) unless the request is signed with ``secret`` and recent."""
    if system == "bamboohr":
        stamp = headers.get("x-bamboohr-timestamp")
        _fresh(stamp, "X-BambooHR-Timestamp", now, tolerance)
        _matches(sign_bamboohr(secret, body, stamp or ""), headers.get("x-bamboohr-signature"),
                 "X-BambooHR-Signature")
    else:
        stamp = headers.get("x-personio-timestamp")
        _fresh(stamp, "X-Personio-Timestamp", now, tolerance)
        _matches(sign_personio(secret, body, stamp or ""), headers.get("x-personio-signature"),
                 "X-Personio-Signature")


# -- payloads -----------------------------------------------------------------------------------
def _json(body: bytes) -> Any:
    try:
        text = body.decode("utf-8")  # JSON on the wire is UTF-8 (RFC 8259); json.loads would guess UTF-16 and 32 too
    except UnicodeDecodeError as e:
        raise WebhookError(400, f"the body is not UTF-8 text (at byte {e.start})") from e
    try:
        return json.loads(text)
    except ValueError as e:
        raise WebhookError(400, "the body is not JSON") from e


def _time(value: Any, where: str, employee: str) -> datetime | None:
    """The item's own time; None when it gives none (the intake's clock is used). One given and not readable as a
    time is the item's error: taken as "now", a late delivery would date a change it did not make today."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        msg = f"{where}: the timestamp is not a time (RFC 3339, such as 2026-03-02T09:15:00Z)"
        raise RowError(msg, employee, code="bad_timestamp")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _action(value: Any, where: str, employee: str) -> Action:
    text = str(value or "").casefold().rsplit(".", 1)[-1]
    if text in ("created", "updated", "deleted"):
        return text  # type: ignore[return-value]
    msg = f"{where}: unknown action (expected Created, Updated or Deleted)"
    raise RowError(msg, employee, code="unknown_action")


def _item(employee: Any, action: Any, fields: Any, changed: Any, at: Any, where: str) -> Item | RowError:
    """One item of a delivery, or why it cannot be read: an item is refused on its own (listed as rejected), the
    delivery's other items still go (a retry would fail again, and they would be lost with it)."""
    try:  # as an export's id is read: an object, a list, true or a fraction names nobody (it made up an employee)
        who = id_text(employee)
    except ValueError as e:
        return RowError(f"{where}: the employee id is {e}, where text or a whole number is expected",
                        code="bad_employee_id")
    if who is None:
        return RowError(f"{where}: no employee id", code="no_employee_id")
    if not isinstance(fields, dict):
        return RowError(f"{where}: fields is not an object", who, code="bad_fields")
    names = tuple(str(c) for c in changed) if isinstance(changed, list) else ()
    try:
        return Item(who, _action(action, where, who), fields, names, _time(at, where, who))
    except RowError as e:
        return e


def parse_bamboohr(body: bytes) -> list[Item | RowError]:
    """``{"employees": [{"id", "action", "timestamp", "fields": {...}, "changedFields": [...]}]}``."""
    obj = _json(body)
    employees = obj.get("employees") if isinstance(obj, dict) else None
    if not isinstance(employees, list):
        raise WebhookError(400, "expected an object with an employees list")
    return [_item(e.get("id"), e.get("action"), e.get("fields", {}), e.get("changedFields"), e.get("timestamp"),
                  f"employees[{i}]") if isinstance(e, dict) else _item(None, None, None, None, None, f"employees[{i}]")
            for i, e in enumerate(employees)]


def parse_personio(body: bytes) -> list[Item | RowError]:
    """Personio's documented envelope (developer.personio.de, API v2 "Webhooks"): ``{"company_id",
    "event_name": "person.updated", "occurred_at", "payload": {...}, "meta"?}``. What ``payload`` holds per
    event is assumed (``id`` or ``person_id``, and ``attributes`` / ``changed_attributes`` when the tenant's
    webhook carries data); the older shape ``{"type", "created_at", "data": {"employee_id", ...}}`` that this
    intake first assumed is still read."""
    obj = _json(body)
    if isinstance(obj, dict) and "event_name" in obj:
        return _personio_envelope(obj)
    data = obj.get("data") if isinstance(obj, dict) else None
    if not isinstance(obj, dict) or not isinstance(data, dict):
        raise WebhookError(400, "expected Personio's envelope (event_name, occurred_at, payload) or a data object")
    return [_item(data.get("employee_id"), obj.get("type"), data.get("attributes", {}),
                  data.get("changed_attributes"), obj.get("created_at"), "data")]


PERSONIO_EVENTS = {"person.created": "created", "person.updated": "updated", "person.deleted": "deleted",
                   "employment.created": "updated", "employment.updated": "updated"}


def _personio_envelope(obj: dict[str, Any]) -> list[Item | RowError]:
    name = str(obj.get("event_name") or "")
    payload = obj.get("payload")
    if not isinstance(payload, dict):
        raise WebhookError(400, "payload is not an object")
    if name not in PERSONIO_EVENTS:
        return []  # an event we do not map (documents, absences, ...): acknowledged, nothing produced
    employee = payload.get("person_id", payload.get("id"))
    return [_item(employee, PERSONIO_EVENTS[name], payload.get("attributes", {}), payload.get("changed_attributes"),
                  obj.get("occurred_at"), "payload")]


def parse(system: str, body: bytes) -> list[Item | RowError]:
    return parse_bamboohr(body) if system == "bamboohr" else parse_personio(body)


# -- items to changes ---------------------------------------------------------------------------
def _changed_fields(mapping: Mapping, item: Item, record: Record) -> Record:
    if not item.changed:
        return record
    columns = set(item.changed)
    fields = {f.removeprefix("attributes.") for f in mapping.columns if set(mapping.columns_for(f)) & columns}
    return {k: v for k, v in record.items() if k in fields}


_LEAVE_FIELDS = ("leave_type", "leave_start_date", "leave_expected_return_date", "leave_return_date")


def _leave_touched(mapping: Mapping, item: Item) -> bool:
    """Whether the sender says a leave column changed with the update (a webhook names what changed, not what
    was before: with the status back to active, that is a leave that ended, not a start or a rehire)."""
    columns = {c for f in _LEAVE_FIELDS for c in mapping.columns_for(f)}
    return bool(columns & set(item.changed))


def _undated(change: Change, key: tuple[Any, ...]) -> Change:
    """A status an update repeats without saying it changed, and without the fact's own date: identified by what
    it is, not by the day it came (each update started another leave or termination); repeats are duplicates."""
    return replace(change, identity=(*key, None))


def _start_moved(record: Record, ctx: Context, employee: str) -> Change:
    """The start date corrected, as the import says it (``start_date_corrected``). A webhook does not know the
    earlier date, so it names the hire by the new one and gives no ``old``: the engine amends the kept hire of
    this source (see ``journeys.corrections.started_by``). The delivery's time tells a move back from a move."""
    change = correction(ctx.source, employee, hired(record), "amend", "start_date_corrected",
                        {"start_date": {"new": record["start_date"]}})
    return replace(change, identity=(*change.identity, ctx.when))


def _updated(record: Record, changed: Record, ctx: Context, employee: str, *, leave_touched: bool = False,
             listed: bool = True) -> list[Change]:
    """The events of an update; ``listed`` False when the sender did not say what changed (``changed`` is then
    only the status it states, which may be no change at all)."""
    status = changed.get("status")
    if status in ("active", "pending") and changed.get("start_date") is not None:
        # back at work from a new hire date (a rehire, as BambooHR makes one): hired, as the import says it, with the
        # whole profile first (the engine may hold none of a leaver); no "new manager" or job change for them
        return [upserted(profile(record), ctx), *arrived(record, ctx, upsert=False,
                                                         announce=not unannounced(record, ctx))]
    out: list[Change] = []
    fields = profile(changed)
    if fields:
        out.append(upserted(fields, ctx))
    if record.get("status") in ("terminated", "rescinded"):  # no new manager, job or place for who has left
        return out + _status(record, status, ctx, employee, leave_touched=leave_touched, listed=listed)
    if changed.get("start_date") is not None:
        out.append(_start_moved(record, ctx, employee))
    if changed.get("manager_id") is not None:
        out.append(dated(MANAGER_CHANGED, {"old_manager_id": None, "new_manager_id": changed["manager_id"]}, ctx))
    if changed.get("role") is not None or changed.get("department") is not None:
        out.append(dated(JOB_CHANGED, {"change": "transfer", "old_role": None, "new_role": record.get("role"),
                                       "old_department": None, "new_department": record.get("department")}, ctx))
    if changed.get("location") is not None or (changed.get("country") is not None and record.get("location")):
        # another country at the same location is a move too, as in the import (a remote worker's "Remote")
        data = {"old_location": None, "new_location": record["location"], "new_country": record.get("country")}
        if record.get("timezone") is not None:
            data["new_timezone"] = record["timezone"]
        out.append(dated(RELOCATED, data, ctx))
    return out + _status(record, status, ctx, employee, leave_touched=leave_touched, listed=listed)


def _status(record: Record, status: Any, ctx: Context, employee: str, *, leave_touched: bool, listed: bool
            ) -> list[Change]:
    if status == "leave":
        started = leave_started(record, ctx)
        undated = not listed and record.get("leave_start_date") is None
        return [_undated(started, (started.data["leave_type"],)) if undated else started]
    if status == "active" and (leave_touched or record.get("leave_return_date") is not None):
        return [leave_ended(record, record, ctx)]  # its kind as the update still says it, else "other"
    if status == "terminated":
        gone = terminated(record, ctx)
        return [_undated(gone, ()) if not listed and record.get("termination_date") is None else gone]
    if status == "rescinded" and record.get("start_date"):
        return [correction(ctx.source, employee, hired(record), "rescind", "hire_rescinded")]
    return []


def item_changes(mapping: Mapping, item: Item, received: datetime) -> tuple[datetime, list[Change]]:
    """The event time and the changes one webhook item stands for; raises ``RowError`` when unreadable."""
    if not item.fields and item.action != "deleted":
        msg = ("the webhook carries no attributes (a dataless notification): fetch the person from the HR "
               "system's API, or export a snapshot (`wayfinder import snapshot`)")
        raise RowError(msg, item.employee, code="dataless")
    cells = {**item.fields, mapping.id_columns[0]: item.employee}
    try:
        _, record = to_record(mapping, cells)
    except RowError as e:
        raise RowError(e.reason, e.employee, e.column, code="bad_value") from e
    when = item.at or received
    stamp = item.at.isoformat() if item.at else hashlib.sha256(
        json.dumps([item.action, item.fields], sort_keys=True, default=str).encode()).hexdigest()[:16]
    day: date = when.date()
    ctx = Context(mapping.source, when, day, day - timedelta(days=1), stamp=stamp)
    if item.action == "created":  # as in the import: who started long ago (a record migrated, re-created) is no hire
        return when, arrived(record, ctx, announce=not unannounced(record, ctx))
    if item.action == "deleted":
        gone = [correction(ctx.source, item.employee, hired(record), "rescind", "hire_rescinded")]
        return when, gone if record.get("start_date") else []
    if not item.changed:  # the sender did not say what changed: the whole profile, and what the status says
        whole = profile(record)
        return when, [upserted(whole, ctx)] * bool(whole) + _updated(record, {"status": record["status"]}, ctx,
                                                                      item.employee, listed=False)
    return when, _updated(record, _changed_fields(mapping, item, record), ctx, item.employee,
                          leave_touched=_leave_touched(mapping, item))
