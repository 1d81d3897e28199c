"""A folder a person can open: emails as ``.eml`` files, intranet posts as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable
from email.headerregistry import Address
from pathlib import Path

from wayfinder.connectors.email import build_email
from wayfinder.journeys.records import Message
from wayfinder.journeys.templates import footer_explanation

DEFAULT_SENDER = Address("Wayfinder", "wayfinder", "example.com")


def intranet_post(message: Message) -> dict[str, object]:
    return {
        "id": message.message_id, "recipient_id": message.recipient_id, "title": message.subject,
        "text": message.text, "html": message.html, "resources": message.resources,
        # as its text's footer says it, in the reader's language (it was the record's English beside a German text)
        "explanation": footer_explanation(message.text or "") or message.explanation,
        "preferences_url": message.preferences_url,
        "published_at": message.scheduled_for.isoformat().replace("+00:00", "Z"),
    }


def clear_outbox(folder: Path) -> int:
    """Take out what an earlier run wrote in ``folder`` (its ``.eml`` files and intranet posts), so that what is
    there is this run's only; the number of files taken out."""
    gone = 0
    for channel, suffix in (("email", ".eml"), ("intranet", ".json")):
        for file in (folder / channel).glob(f"*{suffix}") if (folder / channel).is_dir() else ():
            file.unlink()
            gone += 1
    return gone


def write_outbox(messages: Iterable[Message], folder: Path, *, sender: Address = DEFAULT_SENDER) -> dict[str, int]:
    """Write every message that went out (``sent`` or ``approved``), in place of what an earlier run wrote there;
    returns counts per channel."""
    counts = {"email": 0, "intranet": 0}
    clear_outbox(folder)
    (folder / "email").mkdir(parents=True, exist_ok=True)
    (folder / "intranet").mkdir(parents=True, exist_ok=True)
    for m in messages:
        if not m.goes_out or m.content_erased:
            continue  # not gone, or gathered (it goes inside its digest), or its person was erased since
        if m.channel == "email" and m.recipient_email:
            (folder / "email" / f"{m.message_id}.eml").write_bytes(bytes(build_email(m, sender=sender)))
            counts["email"] += 1
        elif m.channel == "intranet":
            post = json.dumps(intranet_post(m), ensure_ascii=False, indent=2)
            (folder / "intranet" / f"{m.message_id}.json").write_text(post + "\n", encoding="utf-8")
            counts["intranet"] += 1
    return counts
