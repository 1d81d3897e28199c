"""The send ledger: one row per ``message_id``, so a restart or a replay skips what was accepted.

States of a row::

    sending   an attempt is under way (written before the attempt starts)
    retrying  the last attempt failed and another will follow
    accepted  the server accepted the message: never send it again
    failed    delivery gave up (the reason is kept); not retried unless asked to

A second table keeps when the stop switch last held a message (``held``), so a resume with ``--drop-held`` drops
what an earlier run held, whenever the next run comes.

Delivery is at least once. There is exactly one window in which a message can go out twice:
**between the server accepting it and the ``accepted`` row being written.** Two things can fall
into it: the process dies there (a crash, a kill -9), or the server's answer never reaches us (the
connection drops after the end of SMTP DATA but before the ``250``, the duplicate RFC 1047
describes; or an HTTP response times out after the receiver acted) and the attempt is retried. A
client cannot close it (SMTP has no idempotency key), so it is kept as small as the protocols allow:

* the ``accepted`` row is written immediately after the server's acceptance, before the receipt,
  the metrics or anything else, in its own committed transaction (``synchronous=FULL``); a connector
  returns as soon as the server accepted (the SMTP connector QUITs a used-up connection afterwards, in the
  background);
* every attempt first records ``sending`` (before SMTP ``MAIL FROM``, so before ``DATA``), so a
  crash always leaves evidence: the next run counts such messages as "in doubt" and, by setting
  (``WAYFINDER_IN_DOUBT``), sends them again (``resend``, the default: nothing is lost) or fails
  them for a person to check (``hold``);
* a graceful stop (Ctrl-C, SIGTERM: ``DeliveryRunner.stop``) lets the sends under way finish and
  leaves messages that wait between retries as ``retrying``, so a deploy or a Ctrl-C does not
  open the window;
* a second send in that window carries the same identity: the same ``Message-ID`` header for
  email (many mail stores collapse it) and the same ``webhook-id`` for webhooks (Standard
  Webhooks receivers deduplicate on it).

The ledger is a local SQLite file in WAL mode, one process at a time: an OS lock on a file beside it
(``<ledger>.lock``) makes a second process refuse to start rather than send every message again. ``SendLedger`` is the
interface a shared store (say, a compacted Kafka topic or a database) would implement for workers.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Literal, Protocol

from wayfinder.clock import utc_now
from wayfinder.journeys.events import iso
from wayfinder.vocabulary import parse_instant

LedgerState = Literal["sending", "retrying", "accepted", "failed"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    message_id TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('sending', 'retrying', 'accepted', 'failed')),
    attempts INTEGER NOT NULL,
    connector TEXT NOT NULL,
    reason TEXT,
    first_attempt_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    accepted_at TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS held (
    message_id TEXT PRIMARY KEY,
    held_at TEXT NOT NULL
) WITHOUT ROWID
"""


@dataclass(frozen=True)
class LedgerEntry:
    message_id: str
    state: LedgerState
    attempts: int
    connector: str
    reason: str | None
    first_attempt_at: str
    updated_at: str
    accepted_at: str | None


class SendLedger(Protocol):
    def lookup(self, message_id: str) -> LedgerEntry | None: ...
    def begin_attempt(self, message_id: str, connector: str) -> int: ...
    def accepted(self, message_id: str) -> None: ...
    def retrying(self, message_id: str, reason: str) -> None: ...
    def failed(self, message_id: str, reason: str, connector: str) -> None: ...
    def refused(self, message_id: str, reason: str) -> None: ...
    def held(self, message_id: str, at: datetime) -> None: ...
    def held_at(self, message_id: str) -> datetime | None: ...
    def close(self) -> None: ...


class LedgerBusy(ValueError):
    """Another process has the ledger: two senders on one ledger would send messages twice."""


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _lock(path: Path) -> IO[str]:
    """Hold an exclusive OS lock beside the ledger for as long as the returned file is open."""
    file = lock_path(path).open("a+", encoding="utf-8")
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        file.seek(0)
        holder = file.read().strip()
        file.close()
        who = f" (process {holder})" if holder.isdigit() else ""
        msg = (f"the send ledger {path} is in use by another process{who}; wait for it to finish or stop it, "
               "or give this one its own ledger (WAYFINDER_LEDGER_PATH): two senders on one ledger send "
               "messages twice")
        raise LedgerBusy(msg) from e
    file.seek(0)
    file.truncate()
    file.write(str(os.getpid()))
    file.flush()
    return file


def _unopenable(path: Path, why: str) -> ValueError:
    return ValueError(f"cannot open the send ledger {path} ({why}); point WAYFINDER_LEDGER_PATH elsewhere")


class SqliteLedger:
    """The ledger in a SQLite file (WAL, ``synchronous=FULL``: a committed row survives a crash), one process
    at a time (:class:`LedgerBusy` when another holds it)."""

    def __init__(self, path: Path, *, now: Callable[[], datetime] = utc_now) -> None:
        self.path = path
        self._now = now
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._lock = _lock(path)
        except OSError as e:
            raise _unopenable(path, e.strerror or type(e).__name__) from e
        try:
            self._db = sqlite3.connect(path, isolation_level=None)
        except sqlite3.Error as e:  # a folder, or a file SQLite may not open
            self._lock.close()
            raise _unopenable(path, f"SQLite said: {e}") from e
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as e:
            self._db.close()
            self._lock.close()
            msg = f"{path} is not a Wayfinder send ledger (SQLite said: {e}); point WAYFINDER_LEDGER_PATH elsewhere"
            raise ValueError(msg) from e

    def _stamp(self) -> str:
        return iso(self._now())

    def lookup(self, message_id: str) -> LedgerEntry | None:
        row = self._db.execute(
            "SELECT message_id, state, attempts, connector, reason, first_attempt_at, updated_at, accepted_at "
            "FROM deliveries WHERE message_id = ?", (message_id,)).fetchone()
        return None if row is None else LedgerEntry(*row)

    def begin_attempt(self, message_id: str, connector: str) -> int:
        """Record ``sending`` before an attempt; returns the attempt's number over all runs."""
        now = self._stamp()
        row = self._db.execute(
            "INSERT INTO deliveries (message_id, state, attempts, connector, first_attempt_at, updated_at) "
            "VALUES (?, 'sending', 1, ?, ?, ?) "
            "ON CONFLICT (message_id) DO UPDATE SET state = 'sending', attempts = attempts + 1, "
            "connector = excluded.connector, updated_at = excluded.updated_at "
            "RETURNING attempts", (message_id, connector, now, now)).fetchone()
        return int(row[0])

    def accepted(self, message_id: str) -> None:
        now = self._stamp()
        self._db.execute("UPDATE deliveries SET state = 'accepted', reason = NULL, updated_at = ?, accepted_at = ? "
                         "WHERE message_id = ?", (now, now, message_id))

    def retrying(self, message_id: str, reason: str) -> None:
        self._set(message_id, "retrying", reason)

    def failed(self, message_id: str, reason: str, connector: str) -> None:
        """Delivery gave up (a row is made even when no attempt was possible, e.g. the breaker stayed open)."""
        now = self._stamp()
        self._db.execute(
            "INSERT INTO deliveries (message_id, state, attempts, connector, reason, first_attempt_at, updated_at) "
            "VALUES (?, 'failed', 0, ?, ?, ?, ?) "
            "ON CONFLICT (message_id) DO UPDATE SET state = 'failed', reason = excluded.reason, "
            "updated_at = excluded.updated_at", (message_id, connector, reason, now, now))

    def refused(self, message_id: str, reason: str) -> None:
        """The connector refused the message before sending anything (it is invalid): ``failed``, and the attempt
        just begun is taken back, for it was none."""
        self._db.execute("UPDATE deliveries SET state = 'failed', reason = ?, attempts = attempts - 1, updated_at = ? "
                         "WHERE message_id = ?", (reason, self._stamp(), message_id))

    def held(self, message_id: str, at: datetime) -> None:
        """The stop switch held the message at ``at`` (the latest hold is kept)."""
        self._db.execute("INSERT INTO held (message_id, held_at) VALUES (?, ?) "
                         "ON CONFLICT (message_id) DO UPDATE SET held_at = excluded.held_at", (message_id, iso(at)))

    def held_at(self, message_id: str) -> datetime | None:
        row = self._db.execute("SELECT held_at FROM held WHERE message_id = ?", (message_id,)).fetchone()
        return None if row is None else parse_instant(str(row[0]))

    def _set(self, message_id: str, state: LedgerState, reason: str) -> None:
        self._db.execute("UPDATE deliveries SET state = ?, reason = ?, updated_at = ? WHERE message_id = ?",
                         (state, reason, self._stamp(), message_id))

    def failed_ids(self) -> set[str]:
        """The messages delivery gave up on (``failed``): what ``deliver --kafka --retry-failed`` looks for on the
        topic, since the delivery group's offsets are past them."""
        return {str(mid) for (mid,) in self._db.execute("SELECT message_id FROM deliveries WHERE state = 'failed'")}

    def counts(self) -> dict[str, int]:
        return {str(s): int(n) for s, n in self._db.execute("SELECT state, count(*) FROM deliveries GROUP BY state")}

    def close(self) -> None:
        self._db.close()
        self._lock.close()  # closing the file releases the lock
