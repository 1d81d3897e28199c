"""Build the email for a message decision, the way a careful mail team would.

Every header-bound value (names, subject, ids, the preferences link) is checked before it goes
into a header: a line break, a NUL or another control character, a Unicode line separator, or an
RFC 2047 encoded word (``=?utf-8?q?...?=``, which Python's email package would decode, perhaps into a
line break, when it reads the value) refuses the message instead of cleaning it. A ``=?`` that is no
encoded word ("Save =? the date") is plain text and goes as written. After the message is built, its
header block is parsed back and must hold exactly the headers we set.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import EmailPolicy
from email.policy import default as default_policy
from email.utils import format_datetime

from wayfinder.connectors.links import RecipientLinks
from wayfinder.journeys.records import Message

# C0 controls except TAB, DEL, NEL, and the Unicode line and paragraph separators.
_FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_URL = re.compile(r"https?://[^\s<>,\"]+")
_UNFOLDED = frozenset({"list-unsubscribe"})
_MAX_LINE = 998  # RFC 5322 2.1.1


class _MailPolicy(EmailPolicy):
    """The default policy, except that ``List-Unsubscribe`` is written on one line, as given, and a
    subject or a display name that is not all ASCII is written as encoded words that carry its spaces.

    Folding a long header without spaces (a signed unsubscribe URL is ~190 characters) makes the
    email package write it as RFC 2047 encoded words, which RFC 2369 and RFC 8058 do not allow
    there: mail clients need ``<https://...>`` as it is. ``_unsubscribe`` keeps it under 998.

    The email package (CPython 3.11 to 3.13) folds a subject mixing ASCII and other words so that a
    space between two encoded words is only the folding whitespace, which RFC 2047 (6.2) tells
    readers to drop: "Überblick 山田太郎" arrived as "Überblick山田太郎", in about one mixed-script subject
    in twelve, and a space before a fold was doubled; a long display name even came back with words
    split ("Sc hön"). ``email.header.Header`` encodes the whole subject, spaces inside the encoded
    words, so every reader gets it back exactly; a display name is written by ``_phrase``.
    """

    def _for(self, name: str) -> EmailPolicy:
        return self.clone(max_line_length=_MAX_LINE) if name.lower() in _UNFOLDED else self

    def _encoded(self, name: str, value: str) -> str | None:
        """The subject, or the one mailbox of ``From``/``To``, written with ``Header`` when the email package would
        not write it so that it reads back as itself (see ``_needs_encoding``)."""
        key = name.lower()
        if key == "subject" and not value.isascii():
            return f"{name}: {Header(value, 'utf-8', header_name=name).encode(linesep=self.linesep)}{self.linesep}"
        addresses: tuple[Address, ...] = getattr(value, "addresses", ())
        if key in ("from", "to") and len(addresses) == 1 and _needs_encoding(name, addresses[0]):
            address = addresses[0]
            return _folded(name, [*_phrase(address.display_name), f"<{address.addr_spec}>"], self.linesep)
        return None

    def fold(self, name: str, value: str) -> str:
        folded: str = self._encoded(name, value) or EmailPolicy.fold(self._for(name), name, value)
        return folded

    def fold_binary(self, name: str, value: str) -> bytes:
        encoded = self._encoded(name, value)
        if encoded is not None:
            return encoded.encode("ascii")
        return EmailPolicy.fold_binary(self._for(name), name, value)


_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,60}")  # RFC 5322 atext, short enough for a line
_ENCODED_BYTES = 45  # UTF-8 bytes in one encoded word: base64 makes 60 characters, 72 with "=?utf-8?b?...?=" (<= 75)


def _phrase(display: str) -> list[str]:
    """A display name as header words that every reader reads back as the name, spaces and all.

    A word that is a plain atom is written as it is; each run of other words (another script, specials such as
    ``,`` or ``(``, an ``=?``) is one RFC 2047 encoded word with its inner spaces inside it. Between an atom and an
    encoded word the space is kept by every reader. Only a run too long for one encoded word becomes several, split
    after a space that stays inside the first: a mail client drops the whitespace between two encoded words
    (RFC 2047 6.2) while CPython's address parser keeps it, so splitting inside a word ("Müller-L üdenscheidt" in
    CPython) or outside a space ("日本語Garcia" in a mail client) would change the name for one of them.
    A name with other spacing (leading, trailing or double spaces) is encoded whole, as one run.
    """
    words = display.split(" ")
    if "" in words:
        return _encoded_words(display)
    tokens: list[str] = []
    run: list[str] = []
    for word in words:
        if _ATOM.fullmatch(word) and "=?" not in word:
            if run:
                tokens += _encoded_words(" ".join(run))
                run = []
            tokens.append(word)
        else:
            run.append(word)
    return tokens + (_encoded_words(" ".join(run)) if run else [])


def _encoded_words(text: str) -> list[str]:
    """``text`` as base64 encoded words of at most 75 characters, cut after a space where one fits, else between
    two characters."""
    chunks: list[str] = []
    current = ""
    for piece in re.findall(r"[^ ]+ ?| ", text):
        while len((current + piece).encode()) > _ENCODED_BYTES:
            if current:
                chunks.append(current)
                current = ""
                continue
            cut = max(i for i in range(1, len(piece) + 1) if len(piece[:i].encode()) <= _ENCODED_BYTES)
            chunks.append(piece[:cut])
            piece = piece[cut:]
        current += piece
    chunks.append(current)
    return [f"=?utf-8?b?{base64.b64encode(chunk.encode()).decode('ascii')}?=" for chunk in chunks if chunk]


def _folded(name: str, tokens: list[str], linesep: str) -> str:
    """``Name: token token ...``, folded before a token that would pass 78 characters (RFC 5322 2.1.1)."""
    lines = [f"{name}:"]
    for token in tokens:
        if len(lines[-1]) + 1 + len(token) > 78 and lines[-1] != f"{name}:":
            lines.append("")
        lines[-1] += f" {token}"
    return linesep.join(lines) + linesep


def _needs_encoding(name: str, address: Address) -> bool:
    """Whether a mailbox's display name is written as encoded words rather than by the email package: one not all
    ASCII, one holding ``=?``, or one too long for a line (the package's folding of a quoted name can break it into
    what reads back as other addresses)."""
    display = address.display_name
    return bool(display) and (not display.isascii() or "=?" in display
                              or len(f'{name}: "{display}" <{address.addr_spec}>') > 78)


_POLICY = _MailPolicy()
_SMTP_POLICY = _POLICY.clone(linesep="\r\n")


class HeaderInjectionError(ValueError):
    """A header-bound value held a line break, a control character or an encoded word; refused, not cleaned."""


def _header_safe(name: str, value: str) -> str:
    if _FORBIDDEN.search(value):
        msg = f"{name} contains a line break or control character; the message is refused, not cleaned"
        raise HeaderInjectionError(msg)
    if "=?" in value and str(default_policy.header_factory("subject", value)) != value:
        # only what the email package would read as something else: an encoded word it decodes
        msg = f"{name} contains an RFC 2047 encoded word (=?charset?q?...?=); give plain text, Wayfinder encodes it"
        raise HeaderInjectionError(msg)
    return value


def _ascii_domain(domain: str) -> str:
    """The domain in ASCII (IDNA for internationalized names), or ValueError."""
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError as e:
        msg = "the address's domain is not a valid internationalized domain name"
        raise ValueError(msg) from e
    labels = ascii_domain.split(".")
    if len(ascii_domain) > 253 or len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        msg = "not a plain email address: the domain must look like example.com"
        raise ValueError(msg)
    return ascii_domain.lower()


def parse_address(value: str, display_name: str | None = None) -> Address:
    """Parse an address strictly: exactly one ``local@domain``, nothing else.

    The local part must be an ASCII dot-atom (no quoting, no comments); the domain may be
    internationalized and is written in its IDNA (``xn--``) form. Errors never repeat the address.
    """
    _header_safe("address", value)
    if value.count("@") != 1:
        msg = "not a plain email address: it needs exactly one '@'"
        raise ValueError(msg)
    local, domain = value.split("@")
    if not local or len(local) > 64 or not _LOCAL_PART.fullmatch(local):
        msg = "not a plain email address: the part before '@' must be ASCII letters, digits and .!#$%&'*+/=?^_`{|}~-"
        raise ValueError(msg)
    return Address(display_name=_header_safe("display name", display_name or ""), username=local,
                   domain=_ascii_domain(domain))


def parse_mailbox(value: str) -> Address:
    """``Name <local@domain>`` or ``local@domain``, strictly (for the configured sender)."""
    _header_safe("sender", value)
    match = re.fullmatch(r"\s*(?:(?P<name>[^<>\"]*?)\s*<(?P<addr>[^<>\s]+)>|(?P<bare>[^<>\s]+))\s*", value)
    if match is None:
        msg = "not a mailbox: write 'Name <local@domain>' or 'local@domain'"
        raise ValueError(msg)
    return parse_address(match["addr"] or match["bare"], match["name"] or None)


def _checked_id(name: str, value: str) -> str:
    if not _ID.fullmatch(value):
        msg = f"{name} may only hold letters, digits, '.', '_' and '-' (1 to 200 of them)"
        raise HeaderInjectionError(msg)
    return value


def _unsubscribe(email: EmailMessage, url: str) -> None:
    """RFC 2369 ``List-Unsubscribe``; with an HTTPS link also RFC 8058 one-click ``List-Unsubscribe-Post``."""
    _header_safe("preferences_url", url)
    if not _URL.fullmatch(url):
        msg = "preferences_url must be an http(s) URL without spaces, quotes, commas or angle brackets"
        raise HeaderInjectionError(msg)
    if len("List-Unsubscribe: <>") + len(url) > _MAX_LINE:
        msg = f"preferences_url must fit in one header line ({_MAX_LINE} characters with the header name)"
        raise HeaderInjectionError(msg)
    email["List-Unsubscribe"] = f"<{url}>"
    if url.startswith("https://"):
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"


def _verified(email: EmailMessage, raw: bytes) -> bytes:
    """Parse the written header block back: it must hold exactly the headers we set, and From and To their one
    address each."""
    written = BytesHeaderParser(policy=default_policy).parsebytes(raw, headersonly=True)
    if [k.lower() for k in written] != [k.lower() for k in email]:
        msg = "a header value changed the header block when written; the message is refused"
        raise HeaderInjectionError(msg)
    for name in ("From", "To"):  # a name must not read back as other addresses
        if [a.addr_spec for a in written[name].addresses] != [a.addr_spec for a in email[name].addresses]:
            msg = f"the {name} header reads back as other addresses when written; the message is refused"
            raise HeaderInjectionError(msg)
    return raw


def build_email(message: Message, *, sender: Address, domain: str = "wayfinder.example.com",
                date: datetime | None = None, links: RecipientLinks | None = None) -> EmailMessage:
    """The email for a message, checked (see ``_compose``)."""
    email = _compose(message, sender=sender, domain=domain, date=date, links=links)
    _verified(email, bytes(email))
    return email


def smtp_bytes(message: Message, *, sender: Address, domain: str = "wayfinder.example.com",
               date: datetime | None = None, links: RecipientLinks | None = None) -> tuple[EmailMessage, bytes]:
    """The email and its bytes as they go over SMTP (CRLF line ends), checked, serialized only once."""
    email = _compose(message, sender=sender, domain=domain, date=date, links=links)
    return email, _verified(email, email.as_bytes(policy=_SMTP_POLICY))


def _compose(message: Message, *, sender: Address, domain: str, date: datetime | None,
             links: RecipientLinks | None = None) -> EmailMessage:
    """An email for the message: ``multipart/alternative`` (text, then HTML) when there is HTML.

    ``Message-ID`` is ``<message_id@domain>`` so a resent message keeps its id; ``date`` (aware)
    defaults to the time the message is scheduled for. Unsubscribe headers follow RFC 2369 and
    RFC 8058; with ``links`` the preferences link and ``List-Unsubscribe`` carry the recipient's
    signed token. Raises ``HeaderInjectionError`` (a ``ValueError``) naming the field, never its value.
    """
    unsubscribe = None
    if links is not None:
        message, unsubscribe = links.personalize(message, date or message.scheduled_for)
    if message.recipient_email is None:
        msg = "the message has no recipient address"
        raise ValueError(msg)
    if not message.preferences_url or not (message.text or "").strip():
        # SPEC §6: every email has a plain-text part and a preferences link (a record the engine did not write)
        msg = "the message has no preferences link" if not message.preferences_url else "the message has no text part"
        raise ValueError(msg)
    email = EmailMessage(policy=_POLICY)
    email["From"] = sender
    email["To"] = parse_address(message.recipient_email, message.recipient_name)
    email["Subject"] = _header_safe("subject", message.subject or "")
    email["Date"] = format_datetime(date or message.scheduled_for)
    email["Message-ID"] = f"<{_checked_id('message_id', message.message_id)}@{_ascii_domain(domain)}>"
    _unsubscribe(email, unsubscribe or message.preferences_url)
    email["Auto-Submitted"] = "auto-generated"
    if message.may_name_its_journey:
        email["X-Wayfinder-Journey"] = _checked_id("journey_id", message.journey_id)
    email.set_content(message.text or "", subtype="plain", cte="quoted-printable")
    if message.html:
        email.add_alternative(message.html, subtype="html", cte="quoted-printable")
    return email
