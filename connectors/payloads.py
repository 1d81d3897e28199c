"""What an intranet message looks like on the wire: a generic JSON webhook (Standard Webhooks
envelope), a Microsoft Teams Adaptive Card, or a Slack Block Kit message."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wayfinder.connectors.outbox import intranet_post
from wayfinder.journeys import layout
from wayfinder.journeys.events import iso
from wayfinder.journeys.records import Message

_SLACK_HEADER_MAX = 150
_SLACK_SECTION_MAX = 3000
_SLACK_MAX_BLOCKS = 50


def webhook_payload(message: Message, now: datetime) -> dict[str, Any]:
    """``{"type", "timestamp", "data"}`` as Standard Webhooks recommends; ``data`` is the intranet post."""
    data = intranet_post(message)
    data.update(journey_id=message.journey_id, step_id=message.step_id, locale=message.locale)
    return {"type": "wayfinder.message", "timestamp": iso(now), "data": data}


def teams_payload(message: Message) -> dict[str, Any]:
    """An Adaptive Card (1.4) in the message envelope a Teams incoming webhook or Workflow expects."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": message.subject or "", "weight": "Bolder", "size": "Medium", "wrap": True},
    ]
    body += [{"type": "TextBlock", "text": part, "wrap": True} for part in _paragraphs(message.text or "")]
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
        "version": "1.4", "body": body,
    }
    if message.preferences_url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": _preferences_label(message),
                            "url": message.preferences_url}]
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}


def slack_payload(message: Message) -> dict[str, Any]:
    """Block Kit: a header, the text in sections of at most 3,000 characters, a preferences button."""
    subject = message.subject or ""
    blocks: list[dict[str, Any]] = []
    if subject:
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": _clip(subject, _SLACK_HEADER_MAX),
                                                  "emoji": True}})
    for chunk in _chunks(_slack_escape(message.text or ""), _SLACK_SECTION_MAX):
        if chunk:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
    blocks = blocks[:_SLACK_MAX_BLOCKS - 1]
    if message.preferences_url:
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": _preferences_label(message)},
             "url": message.preferences_url, "action_id": "wayfinder-preferences"}]})
    # The notification's text is read as mrkdwn too: escaped, so "<!channel>" in a subject notifies nobody.
    return {"text": _slack_escape(_clip(subject or (message.text or ""), _SLACK_SECTION_MAX)), "blocks": blocks}


def _preferences_label(message: Message) -> str:
    """The preferences button in the message's own language, as its footer says it (it was English under a German
    or French text); English for a message with no footer of Wayfinder's."""
    return (layout.preferences_label(message.html) if message.html else None) or "Change or stop these messages"


def _paragraphs(text: str) -> list[str]:
    return [p.strip("\n") for p in text.split("\n\n") if p.strip()]


def _clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut after a whole word with "…" (it cut mid-word: "Welcome to the tea…")."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return (text[:cut] if cut > limit // 2 else text[: limit - 1]).rstrip() + "…"


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _chunks(text: str, limit: int) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at a paragraph or line break when there is one."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = max(rest.rfind("\n\n", 0, limit), rest.rfind("\n", 0, limit))
        if cut <= limit // 2:  # no line break in the second half: after a whole word, else where the limit is
            cut = rest.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
        entity = rest.rfind("&", cut - 5, cut)  # never split an escaped "&amp;", "&lt;", "&gt;"
        if entity > 0 and ";" not in rest[entity:cut]:
            cut = entity
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    if rest:
        pieces.append(rest)
    return pieces
