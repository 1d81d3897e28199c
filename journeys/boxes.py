"""What a recipient's two boxes (the mailbox and the digest box) do alike: keep the recipient's opt-outs and pause
(SPEC §11) and when they leave (README "Leavers"), check them again when a held message goes, and take out what a
cancel is about."""

from __future__ import annotations

from datetime import datetime, time
from typing import Protocol

from wayfinder.journeys._time import parse_window
from wayfinder.journeys.effects import Preferences
from wayfinder.journeys.model import Policy
from wayfinder.journeys.profile import gone_by
from wayfinder.journeys.records import Message
from wayfinder.journeys.state import Placing


class RecipientChoices(Protocol):
    """The part of a box's state that the recipient chose, and when they leave (``Departure``)."""

    opt_out_channels: list[str]
    opt_out_topics: list[str]
    paused_until: datetime | None
    left_at: datetime | None


def nothing_to_keep(p: Preferences) -> bool:
    """Choices a box that does not exist yet need not be made for: no opt-out and no pause (in the digest box quiet
    hours and the timezone only place what it holds; the mailbox keeps them too, and both boxes place by what it
    keeps: ``placing``)."""
    return not (p.opt_out_channels or p.opt_out_topics or p.paused_until)


def placing(own: Placing | None, timezone: str, quiet: tuple[time, time] | None, weekend_country: str | None = None
            ) -> tuple[str, tuple[time, time] | None, str | None]:
    """The time zone, own quiet hours and weekend (the listed country whose weekend they keep, README "Working days")
    to place a message by (in the mailbox) or to close its digest by (in the
    digest box): the recipient's own, ``own``, as the latest change of them that reached their mailbox says (the
    boxes act in decision order, so as they stood when the message was decided); the copy the message carries from
    where it was decided (``timezone``, ``quiet``) only when the mailbox has not heard of them. On Kafka the copy is
    the deciding partition's directory, which may be behind or ahead of the recipient's own partition (README "Kafka
    order")."""
    if own is None:
        return timezone, quiet, weekend_country
    return own.timezone, parse_window(own.quiet_hours) if own.quiet_hours else None, own.weekend_country


class QuietWeekends:
    """The days quiet all day (Monday 0) for a recipient, by the listed country whose weekend they keep (None: the
    policy's ``weekend``; README "Working days"), worked out once per country."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.default = policy.quiet_weekdays
        self._by_country: dict[str, frozenset[int]] = {}

    def of(self, weekend_country: str | None) -> frozenset[int]:
        if weekend_country is None:
            return self.default
        days = self._by_country.get(weekend_country)
        if days is None:
            days = self._by_country[weekend_country] = self.policy.quiet_weekdays_of(weekend_country)
        return days


def keep_choices(state: RecipientChoices, p: Preferences) -> None:
    state.opt_out_channels = list(p.opt_out_channels)
    state.opt_out_topics = list(p.opt_out_topics)
    state.paused_until = p.paused_until


def leaves_later(left_at: datetime | None, now: datetime) -> bool:
    """Whether a termination (taking effect at ``left_at``) is still ahead at ``now``: a box is made, or kept, for it
    alone then, as what it holds or gathers before it takes effect must meet it. One in effect already finds nothing
    held, and nothing is made for the person since (the core asks for the recipient: ``profile.present``)."""
    return left_at is not None and not gone_by(left_at, now)


def to_nobody(state: RecipientChoices, message: Message, at: datetime) -> bool:
    """Whether ``message``, going at ``at``, is about someone else and its recipient has left by then
    (``profile.gone_by``, as the core decides with their profile): ``no_recipient``."""
    return message.about_someone_else and gone_by(state.left_at, at)


def refusal(state: RecipientChoices, message: Message, at: datetime) -> str | None:
    """Why ``message``, going at ``at``, may not go to this recipient (they have left: ``to_nobody``; its channel, or
    every one of its topics, opted out), or None. Checked again when a held message goes: the recipient may have
    changed their mind, or left."""
    if to_nobody(state, message, at):
        return "no_recipient"
    if message.channel in state.opt_out_channels:
        return "opted_out_channel"
    if message.topics and set(message.topics) <= set(state.opt_out_topics):
        return "opted_out_topic"
    return None


def cancels(message: Message, employee_id: str | None, journey_id: str | None, role: str | None = None) -> bool:
    """Whether a cancel about ``employee_id`` (anyone when None) from ``journey_id`` (all when None), of what goes to
    the recipient as ``role`` (any when None), takes it out."""
    return ((employee_id is None or message.employee_id == employee_id)
            and (journey_id is None or message.journey_id == journey_id)
            and (role is None or message.recipient_role == role))


_REDACTED = frozenset({"erased", "no_recipient"})
"""Why a held message that will not go keeps nothing of what it said: its person or its recipient was erased, or
its recipient has left (as an approval after they left keeps nothing: README "Leavers")."""


def withdrawn(message: Message, reason: str, now: datetime) -> Message:
    """The record of a held message that will not go: redacted on erasure or for a recipient who has left,
    suppressed for ``reason`` otherwise."""
    return message.redacted(reason, now) if reason in _REDACTED else message.with_status("suppressed", reason=reason,
                                                                                          at=now)
