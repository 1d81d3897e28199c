"""What happened to one employee between two exports: the events that explain the difference.

Pure functions over records (:mod:`wayfinder.hris.records`). Event ids are a hash of the source, the
employee, the type and what identifies the change, so a re-run produces the same ids. Facts that have a
date of their own (a hire, a start, a termination, a leave, a dependent) are identified by it; changes
that have none (an upsert, a new manager, job or location) also by the export's date, so the same change
made again months later is a new event. A fact announced again after it was taken back (a termination
rescinded, a leave ended, a hire rescinded) with the same date also carries the export's date: the engine
drops an event whose id it has seen, and the first announcement's id is the one the correction took back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from wayfinder.hris.mapping import STATUS_FIELDS
from wayfinder.hris.records import Record
from wayfinder.journeys.events import iso

UPSERTED = "hris.employee.upserted"
HIRED = "hris.employee.hired"
STARTED = "hris.employee.started"
TERMINATED = "hris.employee.terminated"
MANAGER_CHANGED = "hris.manager.changed"
JOB_CHANGED = "hris.job.changed"
RELOCATED = "hris.employee.relocated"
LEAVE_STARTED = "hris.leave.started"
LEAVE_ENDED = "hris.leave.ended"
DEPENDENT_ADDED = "hris.dependent.added"
CORRECTION = "hris.correction"
WORKING = ("active", "pending", "leave")
RECENT_DEPENDENT = timedelta(days=60)  # after a blank dependents cell, how old a "new" entry may be
# how long before the previous export a person new to it may have started and still be a hire (one entered late);
# who started earlier was in the exports before (a row missing from one export, back): not announced again
RECENT_HIRE = timedelta(days=60)


@dataclass(frozen=True)
class Context:
    """One import run: the source, the exports' dates and the event time."""

    source: str
    time: datetime
    as_of: date
    previous_as_of: date
    absent: str = "ignore"
    stamp: str = ""  # what tells apart the same change made twice; the export's date by default
    # False when an export has rows that could not be read nor told whose they are: anyone may be among them,
    # so missing from it says nothing (no departure, no rescinded hire, no hire of someone long employed)
    previous_complete: bool = True
    current_complete: bool = True
    levels: tuple[str, ...] = ()  # the mapping's job_levels, lowest first

    @property
    def when(self) -> str:
        return self.stamp or self.as_of.isoformat()


@dataclass(frozen=True)
class Change:
    type: str
    data: dict[str, Any]
    identity: tuple[Any, ...] = field(default=())


def event_id(source: str, employee: str, kind: str, identity: Iterable[Any]) -> str:
    text = json.dumps([source, employee, kind, list(identity)], sort_keys=True, separators=(",", ":"))
    return "hris-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def to_event(source: str, time: datetime, employee: str, change: Change) -> dict[str, Any]:
    return {"specversion": "1.0", "id": event_id(source, employee, change.type, change.identity),
            "source": source, "type": change.type, "time": iso(time), "subject": employee, "data": change.data}


# -- the events' own shapes, with what identifies them -------------------------------------------
def _fact(key: tuple[Any, ...], again: str | None) -> tuple[Any, ...]:
    """A dated fact's identity; ``again`` (the export's date) when it is announced again after it was taken back,
    so the new announcement is not the event the correction rescinded or the end closed."""
    return key if again is None else (*key, ["again", again])


def hired(rec: Record, again: str | None = None) -> Change:
    data = {"start_date": rec["start_date"]} | {k: rec.get(k) for k in ("role", "department", "location",
                                                                        "manager_id")}
    return Change(HIRED, data, _fact((rec["start_date"],), again))


def started(rec: Record) -> Change:
    return Change(STARTED, {"date": rec["start_date"]}, (rec["start_date"],))


def terminated(rec: Record, ctx: Context, again: str | None = None) -> Change:
    when = rec.get("termination_date") or ctx.as_of.isoformat()
    return Change(TERMINATED, {"date": when, "reason": rec.get("termination_reason")}, _fact((when,), again))


def leave_started(rec: Record, ctx: Context, again: str | None = None) -> Change:
    kind = rec.get("leave_type") or "other"
    start = rec.get("leave_start_date") or ctx.as_of.isoformat()
    data = {"leave_type": kind, "start_date": start, "expected_return_date": rec.get("leave_expected_return_date")}
    return Change(LEAVE_STARTED, data, _fact((kind, start), again))


def leave_ended(prev: Record, cur: Record, ctx: Context) -> Change:
    kind = prev.get("leave_type") or "other"
    back = cur.get("leave_return_date") or ctx.as_of.isoformat()
    return Change(LEAVE_ENDED, {"leave_type": kind, "return_date": back}, (kind, back))


def dependent_added(entry: list[Any]) -> Change:
    relationship, when, reason = entry
    return Change(DEPENDENT_ADDED, {"relationship": relationship, "reason": reason, "date": when},
                  (relationship, when))


def upserted(fields: dict[str, Any], ctx: Context | None) -> Change:
    day = () if ctx is None else (ctx.when,)
    return Change(UPSERTED, fields, (*day, sorted(fields.items())))


def dated(kind: str, data: dict[str, Any], ctx: Context) -> Change:
    """A change without a date of its own, told apart by the export's date (or the webhook's time)."""
    return Change(kind, data, (ctx.when, sorted(data.items())))


def correction(source: str, employee: str, original: Change, action: str, reason: str,
               changes: dict[str, dict[str, Any]] | None = None) -> Change:
    """``hris.correction``: the original event (by source and id) is rescinded or amended."""
    original_id = event_id(source, employee, original.type, original.identity)
    data: dict[str, Any] = {"original": {"source": source, "id": original_id}, "original_type": original.type,
                            "action": action, "reason": reason}
    if changes:
        data["changes"] = changes
    return Change(CORRECTION, data, (original_id, action, sorted((changes or {}).items())))


# -- comparing two records -----------------------------------------------------------------------
def profile(rec: Record) -> dict[str, Any]:
    """Everything of a record that belongs in the profile: known fields and attributes, not the import's own."""
    return {k: v for k, v in rec.items() if k not in STATUS_FIELDS}


def _set(prev: Record, cur: Record, name: str) -> bool:
    """Both exports have a value and they differ (a blank cell is not a change)."""
    return prev.get(name) is not None and cur.get(name) is not None and prev[name] != cur[name]


def _job_change(prev: Record, cur: Record, levels: tuple[str, ...]) -> str:
    """promotion / demotion: the level rises / falls, in the mapping's ``job_levels`` (P4 -> M1) or as a number."""
    try:
        if levels:
            before, after = float(levels.index(prev["job_level"])), float(levels.index(cur["job_level"]))
        else:
            before, after = float(prev["job_level"]), float(cur["job_level"])
    except (KeyError, TypeError, ValueError):
        return "transfer"
    return "promotion" if after > before else "demotion" if after < before else "transfer"


def _moves(prev: Record, cur: Record, ctx: Context) -> list[Change]:
    moves: list[Change] = []
    if _set(prev, cur, "manager_id"):
        moves.append(dated(MANAGER_CHANGED, {"old_manager_id": prev["manager_id"],
                                             "new_manager_id": cur["manager_id"]}, ctx))
    if _set(prev, cur, "role") or _set(prev, cur, "department"):
        moves.append(dated(JOB_CHANGED, {
            "change": _job_change(prev, cur, ctx.levels), "old_role": prev.get("role"), "new_role": cur.get("role"),
            "old_department": prev.get("department"), "new_department": cur.get("department")}, ctx))
    if _set(prev, cur, "location") or (_set(prev, cur, "country") and prev.get("location") is not None):
        # a move to another country at the same location is one too: a remote worker's location says where they
        # work ("Remote"), not where they live
        data = {"old_location": prev["location"], "new_location": cur.get("location") or prev["location"],
                "new_country": cur.get("country")}
        if prev.get("country") is not None:
            data["old_country"] = prev["country"]
        if cur.get("timezone") is not None:
            data["new_timezone"] = cur["timezone"]
        moves.append(dated(RELOCATED, data, ctx))
    return moves


def _due(rec: Record, day: date) -> bool:
    return rec.get("start_date") is not None and rec["start_date"] <= day.isoformat()


def _dependents(prev: Record, cur: Record, ctx: Context, employee: str) -> list[Change]:
    """New entries of the list. A blank cell says nothing: compared with it, only an entry dated in the
    :data:`RECENT_DEPENDENT` before the export is new (a first child); older ones are a list restored or filled in."""
    before = {tuple(d) for d in prev.get("dependents") or []}
    after = {tuple(d) for d in cur.get("dependents") or []}
    recent = "" if "dependents" in prev else (ctx.as_of - RECENT_DEPENDENT).isoformat()
    gone = sorted(before - after)
    out: list[Change] = []
    for entry in sorted(after - before):
        twin = next((g for g in gone if g[0] == entry[0]), None)
        if twin is None:
            if entry[1] >= recent:
                out.append(dependent_added(list(entry)))
            continue
        gone.remove(twin)
        out.append(correction(ctx.source, employee, dependent_added(list(twin)), "amend", "dependent_corrected",
                              {"date": {"old": twin[1], "new": entry[1]}}))
    return out


def _another_leave(prev: Record, cur: Record, ctx: Context) -> bool:
    """On leave in both exports, but not the same leave: another type, or a start since the previous export."""
    return _set(prev, cur, "leave_type") or (_set(prev, cur, "leave_start_date")
                                             and cur["leave_start_date"] > ctx.previous_as_of.isoformat())


def _leave_dates(prev: Record, cur: Record, ctx: Context, employee: str) -> list[Change]:
    """The same leave with its start or expected return moved (extended, back sooner, a date mistyped): an amendment
    of its ``hris.leave.started``, so a wait dated from it and the hold of a sensitive leave move with it."""
    fields = (("leave_start_date", "start_date"), ("leave_expected_return_date", "expected_return_date"))
    changes = {name: {"old": prev[column], "new": cur[column]} for column, name in fields if _set(prev, cur, column)}
    if not changes:
        return []
    return [correction(ctx.source, employee, leave_started(prev, ctx), "amend", "leave_dates_corrected", changes)]


def _again(prev: Record, cur: Record, name: str, ctx: Context, *, known: bool) -> str | None:
    """The export's date when ``cur`` announces a fact the previous export already held and had taken back: the
    same date in field ``name``, before the previous export's date, though its status said otherwise (a
    termination rescinded, a leave ended, then the same termination or leave again). A date still to come there
    is a termination or leave scheduled ahead, announced for the first time; a blank status there (``known``
    False) says nothing, so the fact keeps the id of any earlier announcement."""
    day = cur.get(name)
    if not known or day is None or prev.get(name) != day or day >= ctx.previous_as_of.isoformat():
        return None
    return ctx.when


def _status_changes(prev: Record, cur: Record, ctx: Context, employee: str, *, known: bool) -> list[Change]:
    was, now = prev["status"], cur["status"]
    if was == now:
        if now == "terminated" and _set(prev, cur, "termination_date"):
            return [correction(ctx.source, employee, terminated(prev, ctx), "amend", "termination_date_corrected",
                               {"date": {"old": prev["termination_date"], "new": cur["termination_date"]}})]
        if now == "leave" and _another_leave(prev, cur, ctx):
            return [leave_ended(prev, cur, ctx), leave_started(cur, ctx)]
        if now == "leave":
            return _leave_dates(prev, cur, ctx, employee)
        return []
    if now == "rescinded" and prev.get("start_date"):
        return [correction(ctx.source, employee, hired(prev), "rescind", "hire_rescinded")]
    if was == "terminated" and now in WORKING:
        return [correction(ctx.source, employee, terminated(prev, ctx), "rescind", "termination_rescinded")]
    out: list[Change] = []
    if was == "leave" and now != "terminated":  # a leave that ends in a termination is no return: no welcome back
        out.append(leave_ended(prev, cur, ctx))
    if now == "leave":
        out.append(leave_started(cur, ctx, _again(prev, cur, "leave_start_date", ctx, known=known)))
    if now == "terminated":
        out.append(terminated(cur, ctx, _again(prev, cur, "termination_date", ctx, known=known)))
    return out


def _start_date(prev: Record, cur: Record, ctx: Context, employee: str) -> list[Change]:
    out: list[Change] = []
    if _set(prev, cur, "start_date"):
        out.append(correction(ctx.source, employee, hired(prev), "amend", "start_date_corrected",
                              {"start_date": {"old": prev["start_date"], "new": cur["start_date"]}}))
    was_due = _due(prev, ctx.previous_as_of) and prev["status"] != "pending"
    if cur["status"] in ("active", "leave") and _due(cur, ctx.as_of) and not was_due:
        out.append(started(cur))
    return out


def _rehired(prev: Record, cur: Record) -> bool:
    return (prev["status"] == "terminated" and cur["status"] in WORKING and cur.get("start_date") is not None
            and cur.get("start_date") != prev.get("start_date"))


def compare(prev: Record | None, cur: Record | None, ctx: Context, employee: str, *,
            prev_status_known: bool = True) -> list[Change]:
    """The changes that explain ``prev`` (previous export) becoming ``cur`` (current export).

    ``prev_status_known`` is False when the previous export's status cell was blank (read as active): then a fact
    it held is not known to have been taken back."""
    if cur is None:
        return [] if prev is None or not ctx.current_complete else _gone(prev, ctx, employee)
    if prev is None:
        return arrived(cur, ctx, announce=not unannounced(cur, ctx))
    changed = {k: v for k, v in profile(cur).items() if v is not None and prev.get(k) != v}
    if prev["status"] not in WORKING and cur["status"] in WORKING:
        # back (rehired, a rescinded offer made again, a termination taken back): the whole profile, as for a new
        # hire; the engine may hold none (a first import loads no leaver, an erasure forgets one)
        changed = {k: v for k, v in profile(cur).items() if v is not None}
    out = [upserted(changed, ctx)] if changed else []
    if _rehired(prev, cur):
        return [*out, *arrived(cur, ctx, upsert=False)]
    if prev["status"] == "rescinded" and cur["status"] in WORKING:  # the offer made again: hired (onboarding)
        same = cur.get("start_date") is not None and cur.get("start_date") == prev.get("start_date")
        return [*out, *arrived(cur, ctx, upsert=False, again=ctx.when if same else None)]
    out.extend(_status_changes(prev, cur, ctx, employee, known=prev_status_known))
    if cur["status"] in ("terminated", "rescinded"):
        return out
    out.extend(_start_date(prev, cur, ctx, employee))
    out.extend(_moves(prev, cur, ctx))
    out.extend(_dependents(prev, cur, ctx, employee))
    return out


def unannounced(cur: Record, ctx: Context) -> bool:
    """An employee missing from the previous export whose hire is not announced: that export has rows of unknown
    employees and this one had started by its date, so most likely one of those rows was theirs; or they started
    more than :data:`RECENT_HIRE` before it, so they were in the exports before it (missing from one, back now)."""
    if cur["status"] not in WORKING:
        return False
    return (not ctx.previous_complete and _due(cur, ctx.previous_as_of)) or _due(
        cur, ctx.previous_as_of - RECENT_HIRE)


def arrived(cur: Record, ctx: Context, *, upsert: bool = True, announce: bool = True,
            again: str | None = None) -> list[Change]:
    """An employee the previous export did not have: hired (and started, when the start date has come).
    ``again``: a hire rescinded before with this start date, made again (see :func:`hired`)."""
    if cur["status"] not in WORKING:
        return []
    out = [upserted(profile(cur), ctx)] if upsert else []
    if cur.get("start_date") is None or not announce:
        return out
    out.append(hired(cur, again))
    if cur["status"] != "pending" and _due(cur, ctx.as_of):
        out.append(started(cur))
    if cur["status"] == "leave":
        out.append(leave_started(cur, ctx))
    return out


def _gone(prev: Record, ctx: Context, employee: str) -> list[Change]:
    """An employee missing from the current export: a hire rescinded before the start, or (if asked) left."""
    if prev["status"] not in WORKING:
        return []
    if prev.get("start_date") and (prev["status"] == "pending" or not _due(prev, ctx.previous_as_of)):
        return [correction(ctx.source, employee, hired(prev), "rescind", "hire_rescinded")]
    if ctx.absent == "terminated":
        gone = dict(prev, termination_date=ctx.as_of.isoformat(), termination_reason="absent_from_export")
        return [terminated(gone, ctx)]
    return []


def baseline(cur: Record, ctx: Context) -> list[Change]:
    """The first import (no previous export): the profile only, so nobody who works here already is welcomed as a
    new hire; someone whose start date is still to come is a hire under way, and is announced (``hired``): no later
    import would, and their onboarding would never start."""
    if cur["status"] not in WORKING:
        return []
    coming = cur.get("start_date") is not None and not _due(cur, ctx.as_of)
    return [upserted(profile(cur), None), *([hired(cur)] if coming else [])]
