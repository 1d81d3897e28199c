"""What an intranet message looks like on the wire: a generic JSON webhook (Standard Webhooks
envelope), a Microsoft Teams Adaptive Card, or a Slack Block Kit message."""

from __future__ import annotations

import unicodedata
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
    if message.may_name_its_journey:  # as an email's X-Wayfinder-Journey header
        data.update(journey_id=message.journey_id, step_id=message.step_id)
    data.update(locale=message.locale)
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
    """At most ``limit`` characters, cut after a whole word with "…" (it cut mid-word: "Welcome to the tea…"), or
    where there is none (Chinese, Japanese, Thai), between two characters as a reader sees them."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return (text[:cut] if cut > limit // 2 else text[: _grapheme_boundary(text, limit - 1)]).rstrip() + "…"


def _continues(before: str, char: str) -> bool:
    """Whether ``char`` belongs to the same character as a reader sees it (a grapheme cluster, Unicode UAX #29) as
    the code point ``before`` it: an accent or vowel sign (``é`` written as ``e`` and U+0301, Thai and Devanagari
    marks), a variation selector, a skin tone, an emoji tag, either side of a zero-width joiner (a family emoji),
    a consonant after a virama (a Devanagari conjunct), or the line feed of a CRLF."""
    code = ord(char)
    return (unicodedata.category(char) in ("Mn", "Mc", "Me") or "\u200d" in (before, char)
            or 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF or 0x1F3FB <= code <= 0x1F3FF
            or 0xE0020 <= code <= 0xE007F or (before, char) == ("\r", "\n")
            or (unicodedata.combining(before) == _VIRAMA and unicodedata.category(char) == "Lo"))


_VIRAMA = 9  # the canonical combining class of a virama (U+094D and its kin)
_FLAG = range(0x1F1E6, 0x1F200)  # regional indicators: two make a flag


def _grapheme_boundary(text: str, cut: int) -> int:
    """``cut``, or the nearest place before it that does not split a character as a reader sees it: a cut inside
    ``é``, a family emoji or a flag sent half of it (an ``e``, a lone man, a letter in a box), and a Slack section
    after such a cut began with a Thai tone mark on nothing. Never 0 while ``cut`` is not."""
    start = cut
    while 0 < cut < len(text) and _continues(text[cut - 1], text[cut]):
        cut -= 1
    if 0 < cut < len(text) and ord(text[cut]) in _FLAG:  # inside a flag: an odd number of indicators before it
        run = cut
        while run > 0 and ord(text[run - 1]) in _FLAG:
            run -= 1
        cut -= (cut - run) % 2
    return cut or start


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
            cut = cut if cut > limit // 2 else _grapheme_boundary(rest, limit)
        entity = rest.rfind("&", cut - 5, cut)  # never split an escaped "&amp;", "&lt;", "&gt;"
        if entity > 0 and ";" not in rest[entity:cut]:
            cut = entity
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    if rest:
        pieces.append(rest)
    return pieces
