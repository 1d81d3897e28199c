"""What the staff pages say for the values in the records: a message's status and why it has it, whom a message or
task is for and on which channel, how a review was decided, why a task was cancelled. In English, like the rest of
the staff pages (they are not translated; a channel's name is also the msgid of the employee pages' catalogs).
Each is shown inside a ``<data>`` element that keeps the value for machines
(``<data value="pending_approval">waiting for review</data>``); a value without words here (a connector's error
code, a role or reason added later) is shown as it is."""

from __future__ import annotations

from datetime import timedelta

from markupsafe import Markup

STATUSES: dict[str, str] = {
    "sent": "sent",
    "pending_approval": "waiting for review",
    "approved": "approved",
    "rejected": "rejected",
    "suppressed": "not sent",
    "deferred": "waiting to be sent",
    "failed": "failed",
}

# As the pages put them: "email to HR partner", "for HR partner E1006".
ROLES: dict[str, str] = {
    "employee": "employee",
    "manager": "manager",
    "hr_partner": "HR partner",
    "review_escalation": "escalation reviewer",
}

# The engine's reasons for a message's status (records.Message.reason).
REASONS: dict[str, str] = {
    "sensitive": "sensitive: a person decides before it goes",
    "rejected_by_reviewer": "no reason given",
    "holdout": "held out, to measure what the journey changes",
    "no_recipient": "nobody to send it to",
    "opted_out_channel": "the recipient turned this channel off",
    "opted_out_topic": "the recipient turned its topics off",
    "on_leave": "the recipient is on leave",
    "exited": "the journey ended",
    "rescinded": "the event that started it was corrected",
    "erased": "the person it was about asked to be forgotten",
    "recipient_changed": "the person it was for is no longer responsible",
    "render_error": "its template could not be filled in",
    "queued": "behind an earlier message to the same person",
    "paused": "the recipient paused their messages",
    "quiet_hours": "the recipient's quiet hours",
    "frequency_cap": "the limit on messages per recipient",
    "digest": "gathered into a digest",
}

# A profile field's values that SPEC §3 lists, in words (the employee pages' msgids, as ``CHANNELS``: a German
# "What applies to me?" page read "deine Arbeitsweise: onsite"); any other value is shown as the HR system wrote it.
PROFILE_VALUES: dict[str, dict[str, str]] = {
    "work_mode": {"onsite": "on site", "hybrid": "hybrid", "remote": "remote"},
    "employment_type": {"employee": "employed", "contractor": "contractor", "intern": "intern"},
    "learning_style": {"visual": "visual", "reading": "reading", "hands_on": "hands-on", "social": "social"},
}

# Why a task was cancelled, as the person who opens it is told (it said "the event that started it was corrected"
# whatever the reason, also for a review decided meanwhile).
CANCELLED: dict[str, str] = {
    "rescinded": "the event that started it was corrected",
    "decided": "the message it was about has been decided",
    "exited": "the journey it belonged to ended",
    "erased": "the person it was about asked to be forgotten",
    "recipient_changed": "the person it was for is no longer responsible",
}
NO_LONGER_NEEDED = "it is no longer needed"

DECISIONS: dict[str, str] = {"approve": "approved", "reject": "rejected"}

# A channel's name on every page: the staff pages' and, as the msgid of the catalogs (wayfinder/web/locale), the
# preferences page's in the reader's language ("E-Mail"). It said the value there, "email", in English alone.
CHANNELS: dict[str, str] = {"email": "Email", "intranet": "Intranet"}


def _said(value: str, words: dict[str, str]) -> Markup:
    return Markup('<data value="{}">{}</data>').format(value, words.get(value, value))


def status(value: str) -> Markup:
    return _said(value, STATUSES)


def role(value: str) -> Markup:
    return _said(value, ROLES)


def decision(value: str) -> Markup:
    return _said(value, DECISIONS)


def channel(value: str) -> Markup:
    return _said(value, CHANNELS)


def reason(value: str, of_status: str) -> Markup:
    """A message's reason; a rejection's is the reviewer's own words, shown as they wrote them (only the default,
    ``rejected_by_reviewer``, is a code)."""
    if of_status == "rejected" and value not in REASONS:
        return Markup("{}").format(value)
    return _said(value, REASONS)


def cancelled_because(value: str | None) -> str:
    """Why a task was cancelled, in words (for an error message)."""
    return CANCELLED.get(value or "", NO_LONGER_NEEDED)


def cancelled(value: str | None) -> Markup:
    """Why a task was cancelled, in words, with its code when it has one."""
    return _said(value, CANCELLED) if value in CANCELLED else Markup("{}").format(cancelled_because(value))


def duration(value: timedelta) -> str:
    """A policy's duration as people say it: "5 days", "36 hours", "1 day" (the page showed the policy's "5d")."""
    seconds = int(value.total_seconds())
    for unit, size in (("week", 604_800), ("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} second{'' if seconds == 1 else 's'}"
