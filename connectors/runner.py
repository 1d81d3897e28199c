"""The delivery runner: messages in, receipts and dead letters out.

For each message: only ``sent`` and ``approved`` are delivered (others are skipped and counted);
the channel picks the connector; the ledger skips what was already accepted; then, per
connector, the rate limit, the circuit breaker and retries with backoff. A message that fails for
good gets a ``failed`` receipt and goes to the dead-letter sink with the reason.

Up to ``concurrency`` messages per connector are in flight at once, never two with the same
``message_id``. Each connector has its own slots, so messages that wait for a connector that is down
(its open circuit, its rate limit, a backoff) stall that connector only. The source is any async
iterable (a file now, a Kafka topic later) and it is read at most ``READ_AHEAD`` times ``concurrency``
messages ahead of those finished, so a slow or failing destination holds the reader back instead of
filling memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from wayfinder.connectors.base import (
    Connector,
    DeliveryError,
    InvalidMessageError,
    PermanentDeliveryError,
    RetryableDeliveryError,
)
from wayfinder.connectors.ledger import LedgerEntry, SendLedger
from wayfinder.connectors.metrics import NO_CONNECTOR, DeliveryMetrics
from wayfinder.connectors.receipts import Receipt, Sink
from wayfinder.connectors.reliability import Backoff, CircuitBreaker, Clock, TokenBucket
from wayfinder.connectors.settings import DeliverySettings, RetryPolicy
from wayfinder.connectors.switch import Switch, Verdict
from wayfinder.journeys.records import WENT, DeadLetter, Message
from wayfinder.vocabulary import Channel

log = logging.getLogger(__name__)
READ_AHEAD = 64  # messages read but not finished, per slot: what may wait for one connector while others send


@dataclass
class DeliverySummary:
    """What a run did, in the order ``wayfinder deliver`` prints it: the attempts, what became of the messages, the
    notes on messages held, dropped, left or sent again; and whether the run was stopped."""

    attempts: int = 0
    delivered: int = 0
    delivered_by_channel: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    skipped_already_delivered: int = 0
    skipped_already_failed: int = 0
    skipped_by_status: Counter[str] = field(default_factory=Counter)
    skipped_no_connector: Counter[str] = field(default_factory=Counter)
    held_by_switch: int = 0
    dropped_by_switch: int = 0
    left_for_next_run: int = 0
    not_reached: int = 0  # read, and the run stopped before their turn: the next run sends them
    resent_in_doubt: int = 0
    stopped: bool = False

    @property
    def failed_total(self) -> int:
        return sum(self.failed.values())


@dataclass
class _Route:
    connector: Connector
    bucket: TokenBucket
    breaker: CircuitBreaker
    slots: asyncio.Semaphore  # messages of this connector in flight


@dataclass
class _Outcome:
    attempts: int
    error: DeliveryError | None = None
    stopped: bool = False  # the run was stopped while this message waited between attempts


class DeliveryRunner:
    """Delivers messages through ``connectors`` (one per channel) with the ledger, sinks and settings given."""

    def __init__(self, connectors: Mapping[Channel, Connector], *, ledger: SendLedger, receipts: Sink[Receipt],
                 dead_letters: Sink[DeadLetter], settings: DeliverySettings, metrics: DeliveryMetrics | None = None,
                 clock: Clock | None = None, rand: Callable[[], float] = random.random,
                 retry_failed: bool = False, switch: Callable[[], Awaitable[Switch]] | None = None,
                 hold: Literal["skip", "wait"] = "skip", switch_poll_seconds: float = 2.0,
                 asked_at: Callable[[Message], datetime | None] | None = None,
                 unrouted: Literal["skip", "fail"] = "skip",
                 erased: Callable[[Message], Awaitable[bool]] | None = None) -> None:
        """``switch`` returns the stop switch as it is now (read again on each call); while it holds a message,
        ``hold="skip"`` leaves it for the next run (a file), ``"wait"`` stops reading until it is resumed; each
        hold is kept in the ledger, so a resume with ``--drop-held`` drops what was held. ``asked_at`` says when
        the source was asked to send a message (a Kafka record's timestamp), which a dropping resume also
        judges by. A message of a channel no connector is set up for is skipped (``unrouted="skip"``: a file is read
        again by the next run) or failed for good (``"fail"``: a topic's offsets move past it, so it is a dead letter
        with reason ``no_connector``, and ``--retry-failed`` sends it once the channel is set up)."""
        self.unrouted = unrouted
        self._erased = erased  # about or to a person erased since it was made (``connectors.erasures``)
        self.erased_ids: set[str] = set()  # the messages passed over so: their earlier dead letters are redacted
        self.settings = settings
        self.ledger = ledger
        self.receipts = receipts
        self.dead_letters = dead_letters
        self.metrics = metrics
        self.clock = clock or Clock()
        self.retry_failed = retry_failed
        self.summary = DeliverySummary()
        self._backoff = Backoff(settings.retry.base_delay_seconds, settings.retry.max_delay_seconds, rand=rand)
        self._routes = {channel: self._route(c) for channel, c in connectors.items()}
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: Counter[str] = Counter()
        self._stop = asyncio.Event()
        self._switch = switch
        self._hold = hold
        self._switch_poll = switch_poll_seconds
        self._asked_at = asked_at

    def stop(self) -> None:
        """Read no more messages; sends under way finish; messages waiting to retry are left for the next run
        (their ledger rows say ``retrying``, so nothing is in doubt)."""
        self._stop.set()
        self.summary.stopped = True

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _route(self, connector: Connector) -> _Route:
        limit = self.settings.rate_limit_for(connector.name)
        policy = self.settings.circuit_breaker
        metrics = self.metrics
        name = connector.name
        if metrics is not None:
            metrics.connector_ready(name)
        return _Route(connector, TokenBucket(limit.per_second, limit.burst, monotonic=self.clock.monotonic),
                      CircuitBreaker(policy.failure_threshold, policy.reset_timeout_seconds,
                                     monotonic=self.clock.monotonic,
                                     on_change=(lambda s: metrics.breaker_changed(name, s)) if metrics else None),
                      asyncio.Semaphore(self.settings.concurrency))

    async def run(self, messages: AsyncIterable[Message],
                  settled: Callable[[Message], None] | None = None) -> DeliverySummary:
        """Deliver everything the source yields; returns the summary once all have finished. ``settled`` hears of
        each message the runner is done with (delivered, failed for good, skipped), never of one a stop left for
        the next run."""
        unfinished = asyncio.Semaphore(self.settings.concurrency * READ_AHEAD)
        watching = None
        if self._switch is not None and self.metrics:  # the switch's state even when no message comes
            self.metrics.switch_changed((await self._switch()).state())
            watching = asyncio.create_task(self._watch_switch(self._switch, self.metrics))
        try:
            return await self._run(messages, unfinished, settled)
        finally:
            if watching is not None:
                watching.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watching

    async def _watch_switch(self, switch: Callable[[], Awaitable[Switch]], metrics: DeliveryMetrics) -> None:
        """The paused gauge follows the switch every ``switch_poll_seconds`` while the run lasts, messages or none: a
        pause made while nothing comes to send (an incident's first move) showed as not paused, and
        WayfinderSendingPaused could not fire, until a message came."""
        while True:
            # the process's own cadence on the wall clock, not the injected sleep (a fake clock would spin it)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), max(self._switch_poll, 0.05))
            if self.stopping:
                return
            try:
                metrics.switch_changed((await switch()).state())
            except Exception as e:  # the control topic away: the gauge keeps its value, the messages' reads say more
                log.warning("could not read the stop switch for its gauge (%s); trying again in %.0f s",
                            type(e).__name__, self._switch_poll)

    async def _run(self, messages: AsyncIterable[Message], unfinished: asyncio.Semaphore,
                   settled: Callable[[Message], None] | None) -> DeliverySummary:

        def done(message: Message) -> None:
            if settled is not None and not self.stopping:  # stopping: it may have been left (``deliver``)
                settled(message)

        async def one(message: Message) -> None:
            try:
                await self.deliver(message)
                done(message)
            finally:
                unfinished.release()

        async with asyncio.TaskGroup() as group:
            async for message in messages:
                verdict = await self._admit(message)
                if verdict != "go":
                    await self._not_now(message, verdict)
                    done(message)
                    continue
                await unfinished.acquire()
                if self.stopping:
                    unfinished.release()
                    break
                group.create_task(one(message))
        return self.summary

    async def _admit(self, message: Message) -> Verdict:
        """What the stop switch says of a message that would be delivered; waits while it holds, if told to."""
        asked = self._asked_at(message) if self._asked_at else None
        if self._switch is None or message.status not in WENT:
            return "go"
        held = self.ledger.held_at(message.message_id)  # the latest hold, by this run or an earlier one
        while True:
            switch = await self._switch()
            if self.metrics:
                self.metrics.switch_changed(switch.state())
            verdict = switch.verdict(message, [t for t in (asked, held) if t is not None])
            if verdict == "hold":
                held = self.clock.now()
                self.ledger.held(message.message_id, held)
            if verdict != "hold" or self._hold == "skip" or self.stopping:
                return verdict
            await self._pause(self._switch_poll)

    async def _not_now(self, message: Message, verdict: Verdict) -> None:
        if verdict == "hold":
            self.summary.held_by_switch += 1
            self._count_skip("held_by_switch")
            return
        self.summary.dropped_by_switch += 1
        self._count_skip("dropped_by_switch")
        await self.receipts.write(Receipt(message_id=message.message_id, status="dropped", attempts=0,
                                          latency_seconds=0.0, connector=NO_CONNECTOR, reason="dropped_by_operator",
                                          detail="an operator resumed sending and dropped what the pause held",
                                          at=self.clock.now()))

    async def deliver(self, message: Message) -> Receipt | None:
        """Deliver one message; the receipt, or None when it was skipped."""
        if message.status not in WENT:
            self.summary.skipped_by_status[message.status] += 1
            self._count_skip(f"status_{message.status}")
            return None
        if not message.goes_out:
            self.summary.skipped_by_status["in_digest"] += 1  # it goes inside its digest (README "Digests")
            self._count_skip("in_digest")
            return None
        if message.content_erased or (self._erased is not None and await self._erased(message)):
            # about or to a person erased since it was made: a run's file says so in the record, a topic's audit
            # records do (the worker does not rewrite outbound.messages): nothing to send
            self.summary.skipped_by_status["erased"] += 1
            self._count_skip("erased")
            self.erased_ids.add(message.message_id)
            return None
        route = self._routes.get(message.channel)
        if route is None:
            return await self._unrouted(message)
        async with route.slots, self._exclusive(message.message_id):
            if self.stopping:  # read, but stopped before its turn: as if not read, the next run sends it
                self.summary.not_reached += 1
                return None
            entry = self.ledger.lookup(message.message_id)
            if entry is not None and entry.state == "accepted":
                self.summary.skipped_already_delivered += 1
                self._count_skip("already_delivered")
                return None
            if entry is not None and entry.state == "failed" and not self.retry_failed:
                self.summary.skipped_already_failed += 1
                self._count_skip("already_failed")
                return None
            return await self._deliver(message, route, entry)

    async def _unrouted(self, message: Message) -> Receipt | None:
        if self.unrouted == "skip":
            self.summary.skipped_no_connector[message.channel] += 1
            self._count_skip("no_connector")
            return None
        async with self._exclusive(message.message_id):
            entry = self.ledger.lookup(message.message_id)
            if entry is not None and entry.state in ("accepted", "failed"):  # told once already
                self.summary.skipped_no_connector[message.channel] += 1
                self._count_skip("no_connector")
                return None
            self.ledger.failed(message.message_id, "no_connector", NO_CONNECTOR)
            return await self._record(message, NO_CONNECTOR, _Outcome(0, PermanentDeliveryError(
                "no_connector", f"no connector is set up for channel {message.channel}; set it up (README "
                "\"Delivery\"), then deliver with --retry-failed")), 0.0)

    def _count_skip(self, reason: str) -> None:
        if self.metrics:
            self.metrics.skipped.labels(reason).inc()

    @asynccontextmanager
    async def _exclusive(self, message_id: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(message_id, asyncio.Lock())
        self._waiting[message_id] += 1
        try:
            async with lock:
                yield
        finally:
            self._waiting[message_id] -= 1
            if not self._waiting[message_id]:
                del self._waiting[message_id], self._locks[message_id]

    async def _deliver(self, message: Message, route: _Route, entry: LedgerEntry | None) -> Receipt | None:
        in_doubt = entry is not None and entry.state == "sending"
        started = self.clock.monotonic()
        if self.metrics:
            self.metrics.in_flight.inc()
        try:
            if in_doubt:
                log.warning("message %s was being sent when an earlier run stopped (in doubt): %s",
                            message.message_id, "holding it for a person" if self.settings.in_doubt == "hold"
                            else "sending it again",
                            extra={"message_id": message.message_id, "connector": route.connector.name,
                                   "reason": "in_doubt"})
            if in_doubt and self.settings.in_doubt == "hold":
                self.ledger.failed(message.message_id, "in_doubt", route.connector.name)
                outcome = _Outcome(entry.attempts if entry else 0, PermanentDeliveryError(
                    "in_doubt", "an earlier run stopped while sending this message; check whether it arrived, "
                    "then deliver with --retry-failed if it did not"))
            else:
                self.summary.resent_in_doubt += int(in_doubt)
                outcome = await self._attempts(message, route)
        finally:
            if self.metrics:
                self.metrics.in_flight.dec()
        if outcome.stopped:
            self.summary.left_for_next_run += 1
            return None
        return await self._record(message, route.connector.name, outcome, self.clock.monotonic() - started)

    async def _attempts(self, message: Message, route: _Route) -> _Outcome:
        policy: RetryPolicy = self.settings.retry
        deadline = self.clock.monotonic() + policy.give_up_after_seconds
        name = route.connector.name
        failures = attempts = 0
        while True:
            turn = await self._wait_for_turn(route, deadline)
            if turn == "stopped":
                return _Outcome(attempts, stopped=True)
            if turn == "too_late":
                self.ledger.failed(message.message_id, "circuit_open", name)
                return _Outcome(attempts, RetryableDeliveryError(
                    "circuit_open", f"connector {name} stayed unavailable (circuit breaker open) until the retry "
                    "budget ran out (WAYFINDER_RETRY__GIVE_UP_AFTER_SECONDS)"))
            attempts = self.ledger.begin_attempt(message.message_id, name)
            error = await self._attempt(message, route)
            if isinstance(error, InvalidMessageError):  # refused before anything was sent: no attempt
                self.ledger.refused(message.message_id, error.reason)
                return _Outcome(attempts - 1, error)
            self.summary.attempts += 1
            if error is None:
                return _Outcome(attempts)
            failures += 1
            delay, why_not = self._next_try(error, failures, deadline)
            if delay is None:
                self.ledger.failed(message.message_id, error.reason, name)
                final = error if not error.retryable else RetryableDeliveryError(
                    error.reason, f"{error.detail}; gave up: {why_not}")
                return _Outcome(attempts, final)
            self.ledger.retrying(message.message_id, error.reason)
            log.info("message %s: %s on %s, retrying in %.2fs", message.message_id, error.reason, name, delay,
                     extra={"message_id": message.message_id, "connector": name, "reason": error.reason})
            if not await self._pause(delay):
                return _Outcome(attempts, stopped=True)

    def _next_try(self, error: DeliveryError, failures: int, deadline: float) -> tuple[float | None, str]:
        """Seconds to wait before the next attempt, or None and why there is none."""
        policy = self.settings.retry
        if not error.retryable:
            return None, "permanent"
        if failures >= policy.max_attempts:
            return None, f"{failures} attempts (WAYFINDER_RETRY__MAX_ATTEMPTS)"
        retry_after = error.retry_after if isinstance(error, RetryableDeliveryError) else None
        if retry_after is not None and retry_after > policy.max_retry_after_seconds:
            return None, (f"the server asked to wait {retry_after:g}s, more than "
                          "WAYFINDER_RETRY__MAX_RETRY_AFTER_SECONDS")
        delay = retry_after if retry_after is not None else self._backoff.delay(failures)
        if self.clock.monotonic() + delay > deadline:
            return None, "the retry budget ran out (WAYFINDER_RETRY__GIVE_UP_AFTER_SECONDS)"
        return delay, ""

    async def _wait_for_turn(self, route: _Route, deadline: float) -> Literal["go", "too_late", "stopped"]:
        """Wait for the rate limit, then for the breaker to let a call through."""
        if not await self._pause(route.bucket.reserve()):
            return "stopped"
        while (wait := route.breaker.try_acquire()) is not None:
            if self.clock.monotonic() + wait > deadline:
                return "too_late"
            if not await self._pause(wait):
                return "stopped"
        return "go"

    async def _pause(self, seconds: float) -> bool:
        """Wait (with the injected sleep); False when the run is stopping."""
        if seconds > 0 and not self.stopping:
            sleeping = asyncio.ensure_future(self.clock.sleep(seconds))
            stopping = asyncio.ensure_future(self._stop.wait())
            _, pending = await asyncio.wait({sleeping, stopping}, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        return not self.stopping

    async def _attempt(self, message: Message, route: _Route) -> DeliveryError | None:
        connector, breaker, name = route.connector, route.breaker, route.connector.name
        started = self.clock.monotonic()
        try:
            await connector.send(message)
        except DeliveryError as e:
            error: DeliveryError = e
        except Exception as e:  # a connector bug must not lose the message: count it and retry
            log.error("message %s: %s raised %s", message.message_id, name, type(e).__name__,
                      extra={"message_id": message.message_id, "connector": name, "reason": "unexpected_error"})
            error = RetryableDeliveryError("unexpected_error", f"connector {name} raised {type(e).__name__}")
        except BaseException:
            breaker.record_neutral()
            raise
        else:
            self.ledger.accepted(message.message_id)  # first, before anything else: see connectors.ledger
            breaker.record_success()
            self._observe_attempt(name, "accepted", started)
            return None
        if error.retryable:
            breaker.record_failure()
        else:
            breaker.record_neutral()
        if isinstance(error, InvalidMessageError):
            if self.metrics:
                self.metrics.failures.labels(name, error.reason).inc()
            return error
        self._observe_attempt(name, "retryable_error" if error.retryable else "permanent_error", started,
                              reason=error.reason)
        return error

    def _observe_attempt(self, connector: str, outcome: str, started: float, *, reason: str | None = None) -> None:
        if self.metrics is None:
            return
        self.metrics.attempts.labels(connector, outcome).inc()
        self.metrics.attempt_duration.labels(connector).observe(self.clock.monotonic() - started)
        if reason is not None:
            self.metrics.failures.labels(connector, reason).inc()

    async def _record(self, message: Message, connector: str, outcome: _Outcome, latency: float) -> Receipt:
        error = outcome.error
        receipt = Receipt(message_id=message.message_id, status="failed" if error else "delivered",
                          attempts=outcome.attempts, latency_seconds=round(latency, 6), connector=connector,
                          reason=error.reason if error else None, detail=error.detail if error else None,
                          at=self.clock.now())
        if error is None:
            self.summary.delivered += 1
            self.summary.delivered_by_channel[message.channel] += 1
        else:
            self.summary.failed[error.reason] += 1
            log.warning("message %s failed for good on %s: %s", message.message_id, connector, error.reason,
                        extra={"message_id": message.message_id, "connector": connector, "reason": error.reason})
        if self.metrics:
            self.metrics.messages.labels(connector, receipt.status).inc()
            self.metrics.latency.labels(connector).observe(latency)
            if error is None:
                waited = (receipt.at - message.created_at).total_seconds()
                self.metrics.event_to_delivery.labels(connector).observe(max(0.0, waited))
            if error:
                self.metrics.dead_letters.labels(connector, error.reason).inc()
        await self.receipts.write(receipt)
        if error is not None:
            failed = message.with_status("failed", reason=error.reason)
            await self.dead_letters.write(DeadLetter(reason=f"{error.reason}: {error.detail}",
                                                     raw=failed.model_dump_json(), received_at=receipt.at,
                                                     source=f"delivery/{connector}"))
        return receipt
