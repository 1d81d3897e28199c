"""What a recipient's two boxes (the mailbox and the digest box) do alike: keep the recipient's opt-outs and pause
(SPEC §11) and check them again when a held message goes, and take out what a cancel is about."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from wayfinder.journeys.effects import Preferences
from wayfinder.journeys.records import Message


class RecipientChoices(Protocol):
    """The part of a box's state that the recipient chose."""

    opt_out_channels: list[str]
    opt_out_topics: list[str]
    paused_until: datetime | None


def nothing_to_keep(p: Preferences) -> bool:
    """Choices a box that does not exist yet need not be made for: no opt-out and no pause (quiet hours and the
    timezone only place what a box holds)."""
    return not (p.opt_out_channels or p.opt_out_topics or p.paused_until)


def keep_choices(state: RecipientChoices, p: Preferences) -> None:
    state.opt_out_channels = list(p.opt_out_channels)
    state.opt_out_topics = list(p.opt_out_topics)
    state.paused_until = p.paused_until


def refusal(state: RecipientChoices, message: Message) -> str | None:
    """Why ``message`` may not go to this recipient (its channel, or every one of its topics, opted out), or None.
    Checked again when a held message goes: the recipient may have changed their mind."""
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


def withdrawn(message: Message, reason: str, now: datetime) -> Message:
    """The record of a held message that will not go: redacted on erasure, suppressed for ``reason`` otherwise."""
    return message.redacted(reason, now) if reason == "erased" else message.with_status("suppressed", reason=reason,
                                                                                         at=now)
