"""Building emails: parts, headers in any script, unsubscribe headers, and refusing header injection."""

from __future__ import annotations

import email
import email.header
import email.policy
import re
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wayfinder.connectors.email import HeaderInjectionError, build_email, parse_address, smtp_bytes
from wayfinder.journeys.records import Message
from wayfinder.journeys.templates import MessageTemplate

SENDER = Address("Wayfinder", "wayfinder", "example.com")
WHEN = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
EXPLANATION = "Du erhältst diese Nachricht, weil am 2026-03-01 ein Kind zu deiner Familie hinzugefügt wurde."
PREFERENCES = "https://intranet.example.com/wayfinder/preferences?e=E1001"


def message(**fields: Any) -> Message:
    template = MessageTemplate("new-parent/welcome", "Herzlichen Glückwunsch, {{ recipient.given_name }}!",
                               "Hallo {{ recipient.given_name }},\n\nwillkommen im Elternnetzwerk.")
    rendered = template.render({"recipient": {"given_name": "Zoë"}}, "de-DE", footer=(EXPLANATION, PREFERENCES))
    base: dict[str, Any] = {
        "message_id": "m-0123456789abcdef01234567", "employee_id": "E1001", "recipient_id": "E1001",
        "journey_id": "new-parent", "journey_version": 3, "step_id": "welcome", "channel": "email",
        "status": "sent", "scheduled_for": WHEN, "created_at": WHEN, "subject": rendered.subject,
        "text": rendered.text, "html": rendered.html, "resources": ["parent-network"],
        "explanation": EXPLANATION, "preferences_url": PREFERENCES, "locale": "de-DE",
        "recipient_email": "zoe@example.com", "recipient_name": "Zoë Kowalczyk",
    }
    base.update(fields)
    return Message(**base)


def roundtrip(msg: EmailMessage) -> EmailMessage:
    parsed = email.message_from_bytes(bytes(msg), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_multipart_alternative_text_first_then_html() -> None:
    parsed = roundtrip(build_email(message(), sender=SENDER))
    assert parsed.get_content_type() == "multipart/alternative"
    parts = list(parsed.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)


def test_both_parts_carry_the_explanation_and_the_preferences_link() -> None:
    parsed = roundtrip(build_email(message(), sender=SENDER))
    text, html = (p.get_content() for p in parsed.iter_parts())
    assert isinstance(text, str)
    assert isinstance(html, str)
    assert "Hallo Zoë," in text
    assert EXPLANATION in text
    assert PREFERENCES in text
    assert EXPLANATION in html
    assert f'href="{PREFERENCES}"' in html


@pytest.mark.parametrize(("name", "subject"), [
    ("Chloé", "Bienvenue, Chloé !"),
    ("Zoë", "Herzlichen Glückwunsch, Zoë!"),
    ("日本語", "ようこそ、日本語さん"),
    ("Zoë Ångström-Øresund", "Willkommen zurück, Zoë – schön, dass du da bist"),
    ("Müller, Zoë \"Z\"", "Re: \"quoted\" (and commented) <subject>"),
    ("Ηλίας", "Καλώς ήρθες"),
    ("محمد", "مرحبا"),
    ("Anna", "Plain ASCII subject"),
])
def test_subject_and_display_name_roundtrip(name: str, subject: str) -> None:
    parsed = roundtrip(build_email(message(subject=subject, recipient_name=name), sender=SENDER))
    assert parsed["Subject"] == subject
    to = parsed["To"].addresses
    assert len(to) == 1
    assert to[0].display_name == name
    assert to[0].addr_spec == "zoe@example.com"
    assert parsed["From"].addresses[0].addr_spec == "wayfinder@example.com"


def test_raw_bytes_are_ascii_headers() -> None:
    raw = bytes(build_email(message(subject="日本語", recipient_name="Chloé"), sender=SENDER))
    head = raw.split(b"\n\n", 1)[0]
    head.decode("ascii")  # raises if a header went out unencoded
    assert b"=?utf-8?" in head


def test_no_display_name_is_a_bare_address() -> None:
    parsed = roundtrip(build_email(message(recipient_name=None), sender=SENDER))
    assert parsed["To"].addresses[0].display_name == ""
    assert parsed["To"].addresses[0].addr_spec == "zoe@example.com"


def test_message_id_date_and_journey_headers() -> None:
    parsed = roundtrip(build_email(message(), sender=SENDER, domain="mail.example.org"))
    assert "m-0123456789abcdef01234567" in parsed["Message-ID"]
    assert parsed["Message-ID"] == "<m-0123456789abcdef01234567@mail.example.org>"
    assert parsed["Date"].datetime == WHEN
    assert parsed["X-Wayfinder-Journey"] == "new-parent"


def test_an_email_to_a_manager_about_someone_does_not_name_the_journey() -> None:
    """An audit on 2026-12-04: a manager's email about a report back from medical leave carried
    "X-Wayfinder-Journey: medical-return-manager", which any mail client shows; the explanation they got was
    careful to say only that "their leave ended"."""
    for role in ("manager", "hr_partner"):
        parsed = roundtrip(build_email(message(recipient_id="M1", recipient_role=role,
                                               journey_id="medical-return-manager"), sender=SENDER))
        assert "X-Wayfinder-Journey" not in parsed
        assert "medical" not in str(parsed.as_bytes())


def test_list_unsubscribe_headers() -> None:
    parsed = roundtrip(build_email(message(), sender=SENDER))
    assert parsed["List-Unsubscribe"] == f"<{PREFERENCES}>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_preferences_url_too_long_for_one_header_line_is_refused() -> None:
    with pytest.raises(HeaderInjectionError, match="one header line"):
        build_email(message(preferences_url="https://intranet.example.com/" + "p" * 1000), sender=SENDER)


def test_same_message_same_email_ids() -> None:
    a = build_email(message(), sender=SENDER)
    b = build_email(message(), sender=SENDER)
    assert a["Message-ID"] == b["Message-ID"]
    other = build_email(message(message_id="m-ffffffffffffffffffffffff"), sender=SENDER)
    assert other["Message-ID"] != a["Message-ID"]


def test_a_message_without_address_is_refused() -> None:
    with pytest.raises(ValueError, match="no recipient address"):
        build_email(message(recipient_email=None), sender=SENDER)


# -- header injection --------------------------------------------------------------------------------
BREAKS = st.sampled_from(["\r", "\n", "\r\n", "\x00", "\u2028", "\u2029", "\x85"])
WITH_BREAK = st.tuples(st.text(max_size=30), BREAKS, st.text(max_size=30)).map("".join)


@given(subject=WITH_BREAK)
def test_line_break_in_subject_is_refused(subject: str) -> None:
    with pytest.raises(HeaderInjectionError):
        build_email(message(subject=subject), sender=SENDER)


@given(name=WITH_BREAK)
def test_line_break_in_display_name_is_refused(name: str) -> None:
    with pytest.raises(HeaderInjectionError):
        build_email(message(recipient_name=name), sender=SENDER)


@pytest.mark.parametrize("field", ["preferences_url", "message_id", "journey_id", "recipient_email"])
@pytest.mark.parametrize("bad", ["\r\nBcc: all@example.com", "\n", "\x00", "\u2028"])
def test_line_break_in_any_header_value_is_refused(field: str, bad: str) -> None:
    value = {"preferences_url": PREFERENCES, "message_id": "m-1", "journey_id": "new-parent",
             "recipient_email": "zoe@example.com"}[field]
    with pytest.raises(HeaderInjectionError):
        build_email(message(**{field: value + bad}), sender=SENDER)


def test_injection_error_is_a_value_error_and_names_no_value() -> None:
    with pytest.raises(ValueError, match="subject") as info:
        build_email(message(subject="Hi\r\nBcc: everyone@example.com"), sender=SENDER)
    assert isinstance(info.value, HeaderInjectionError)
    assert "everyone@example.com" not in str(info.value)


def test_encoded_word_in_subject_is_refused() -> None:
    with pytest.raises(HeaderInjectionError):
        build_email(message(subject="Hi =?utf-8?q?=0D=0ABcc=3A_eve=40example=2Ecom?="), sender=SENDER)


@pytest.mark.parametrize("subject", ["Save =? the date", "Q&A: what changes =?", "=?", "Why =?utf-8 matters"])
def test_equals_question_mark_that_is_no_encoded_word_goes_as_written(subject: str) -> None:
    # only an encoded word is refused: "=?" in plain text failed the message for good (audit 2026-12-06)
    parsed = roundtrip(build_email(message(subject=subject, recipient_name="Anna =? Lee"), sender=SENDER))
    assert str(parsed["Subject"]) == subject
    assert parsed["To"].addresses[0].display_name == "Anna =? Lee"


@pytest.mark.parametrize("subject", ["Re: =?iso-8859-1?q?caf=E9?=", "=?utf-8?b?w5Y=?=", "x =?utf-8?q?a_b?= y"])
def test_any_encoded_word_in_subject_is_still_refused(subject: str) -> None:
    with pytest.raises(HeaderInjectionError, match="encoded word"):
        build_email(message(subject=subject), sender=SENDER)


@given(subject=st.text(max_size=80), name=st.text(max_size=40))
def test_any_subject_and_name_either_roundtrip_or_are_refused(subject: str, name: str) -> None:
    try:
        built = build_email(message(subject=subject, recipient_name=name or None), sender=SENDER)
    except HeaderInjectionError:
        return
    parsed = roundtrip(built)
    assert [k.lower() for k in parsed] == [k.lower() for k in built]
    assert len(parsed["To"].addresses) == 1
    assert parsed["To"].addresses[0].addr_spec == "zoe@example.com"
    assert " ".join(str(parsed["Subject"]).split()) == " ".join(subject.split())


def read_strictly(raw: bytes, name: str) -> str:
    """A header as an RFC 2047 reader (a mail client) shows it: unfolded, whitespace between two encoded words
    dropped (6.2)."""
    block = raw.split(b"\r\n\r\n" if b"\r\n\r\n" in raw else b"\n\n", 1)[0].decode("ascii")
    unfolded = re.sub(r"\r?\n(?=[ \t])", "", block)
    value = next(line.split(":", 1)[1] for line in unfolded.splitlines() if line.lower().startswith(name.lower() + ":"))
    return str(email.header.make_header(email.header.decode_header(value))).strip()


@pytest.mark.parametrize("words", [
    "Glückwunsch first Marchand Schön Überblick 山田太郎 week aboard first Marchand aboard Marchand Herzlichen",
    "Marchand Pérez Pérez Lee Pérez García Schön",
    "Öztürk Marchand Öztürk José Renée José Ólafsdóttir Ólafsdóttir",
    "Renée Öztürk Lee xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx María Ólafsdóttir Ólafsdóttir",
])
def test_a_mail_client_reads_subject_and_names_in_any_script_with_their_spaces(words: str) -> None:
    # the email package folded these so that a space fell between two encoded words, which readers drop:
    # "GarcíaSchön", "JoséÓlafsdóttir" (audit 2026-12-06)
    sender = Address(words, "people", "example.com")
    _, raw = smtp_bytes(message(subject=words, recipient_name=words), sender=sender)
    assert read_strictly(raw, "Subject") == words
    assert read_strictly(raw, "To") == f"{words} <zoe@example.com>"
    assert read_strictly(raw, "From") == f"{words} <people@example.com>"
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(parsed["Subject"]) == words


@pytest.mark.parametrize("name", [
    "Hohenzollern-Sigmaringen, Maximilian Alexander Friedrich (Head of Global Partnerships, EMEA)",
    "Alexander (Head Partnerships, EMEA) <max@evil.example> Maximilian <max@evil.example> of von Global",
    "Lee, Anna =? (People)",
])
def test_a_long_or_odd_display_name_reads_back_as_itself_and_only_one_address(name: str) -> None:
    # a long quoted name was folded so that it read back as several addresses, one of them taken from the name:
    # a reply to all went to max@evil.example (audit 2026-12-06)
    _, raw = smtp_bytes(message(recipient_name=name), sender=SENDER)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert [a.addr_spec for a in parsed["To"].addresses] == ["zoe@example.com"]
    assert read_strictly(raw, "To") == f"{name} <zoe@example.com>"


@pytest.mark.parametrize("name", [
    "Zoë Ångström-Øresund von und zu Müller-Lüdenscheidt",
    "Chloé Zoë Müller-Lüdenscheidt 日本語 Garcia Schön Long Name",
    "María José García Fernández de Córdoba y Ólafsdóttir",
    "Renée Øresund-Lüdenscheidt, Head of People (EMEA)",
])
def test_a_long_display_name_in_any_script_reads_back_as_itself_with_the_email_package(name: str) -> None:
    # written whole as encoded words, a long name came back from the email package's parser with a space inside a
    # word ("Müller-L üdenscheidt", "G arcia"), where the encoder had cut between two encoded words (audit 2026-12-06)
    _, raw = smtp_bytes(message(recipient_name=name), sender=Address(name, "people", "example.com"))
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["To"].addresses[0].display_name == name
    assert parsed["From"].addresses[0].display_name == name
    assert read_strictly(raw, "To") == f"{name} <zoe@example.com>"
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78


# -- addresses ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [
    "a@b@c", '"x" <a@b.c>', "a@b", "a b@c.d", "", "@example.com", "anna@", "anna@.com", "anna@example.",
    "anna@example.com, eve@example.com", "anna@example.com;eve@example.com", "<anna@example.com>",
    "anna(comment)@example.com", "anna@[127.0.0.1]", "anna\\@x@example.com",
])
def test_parse_address_rejects(value: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_address(value)
    if value:
        assert value not in str(info.value)


def test_parse_address_rejects_line_breaks() -> None:
    with pytest.raises(HeaderInjectionError):
        parse_address("anna@example.com\r\nBcc: eve@example.com")
    with pytest.raises(HeaderInjectionError):
        parse_address("anna@example.com", "Anna\nBcc: eve@example.com")


def test_parse_address_accepts_a_plain_address() -> None:
    address = parse_address("anna@example.com")
    assert address.username == "anna"
    assert address.domain == "example.com"
    assert address.addr_spec == "anna@example.com"
    assert address.display_name == ""


def test_parse_address_keeps_the_display_name() -> None:
    address = parse_address("anna.schmidt+hr@mail.example.com", "Anna Schmidt")
    assert address.addr_spec == "anna.schmidt+hr@mail.example.com"
    assert address.display_name == "Anna Schmidt"


def test_a_message_without_a_preferences_link_or_text_part_is_refused() -> None:
    """SPEC §6: every email has a plain-text part and an unsubscribe/preferences link; a record without them (not
    one the engine wrote) is refused, not sent without a way to stop it."""
    with pytest.raises(ValueError, match="no preferences link"):
        build_email(message(preferences_url=None), sender=SENDER)
    with pytest.raises(ValueError, match="no text part"):
        build_email(message(text=" \n"), sender=SENDER)
    assert build_email(message(), sender=SENDER)["List-Unsubscribe"]
