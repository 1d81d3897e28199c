"""One source, two parts: the rendered text of a template read as paragraphs and lists, written as a plain
text part that reflows and as an HTML document a mail team would accept (inline CSS, real lists, links).

The text is read like a small Markdown: blocks are separated by blank lines; lines starting with ``- `` or
``* `` are list items, lines starting with a number and ``. `` or ``) `` (``1. ``, ``2) ``) numbered ones;
other lines of a block are one paragraph, joined with spaces (the line breaks of the template source are not
the reader's), unless a line ends with a backslash, which keeps the break. An ``http(s)`` URL becomes a link;
a list item ``Title: URL`` or ``Title - URL`` links the title.
"""

from __future__ import annotations

import functools
import html
import re
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser

import nh3
from babel import Locale, UnknownLocaleError

from wayfinder.vocabulary import language_tag

_ITEM = re.compile(r"^\s*[-*]\s+(.*)$")
_NUMBERED = re.compile(r"^(\d{1,2})[.)]\s+(.*)$")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_URL = re.compile(r"(?:https?://|mailto:)[^\s<>\"']+[^\s<>\"'.,;:!?)]")

FONT = "font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"
BODY = f"margin:0;padding:0;background:#f4f5f7;color:#1f2328;{FONT};font-size:16px;line-height:1.5"
CARD = "max-width:600px;margin:0 auto;padding:24px;background:#ffffff"
P = "margin:0 0 16px 0"
UL = "margin:0 0 16px 0;padding:0 0 0 24px"
LI = "margin:0 0 8px 0"
A = "color:#0b57d0;text-decoration:underline"
HR = "border:none;border-top:1px solid #d0d7de;margin:24px 0 16px 0"
SMALL = "margin:0 0 8px 0;font-size:13px;color:#57606a"


@dataclass(frozen=True)
class Block:
    kind: str  # "p", "ul" or "ol"
    lines: tuple[str, ...]  # a paragraph's lines (joined when written), or a list's items
    start: int = 1  # a numbered list's first number


def says_nothing(part: str) -> bool:
    """A subject, text or HTML part that is empty or only spaces: a message is not sent with it (it would go with
    only its footer, or with no subject), whether a template rendered it or a reviewer wrote it."""
    return not part or part.isspace()


def blocks(text: str) -> list[Block]:
    """The paragraphs and lists of a rendered text."""
    out: list[Block] = []
    for chunk in _BLANK_LINE.split(text.strip("\n")):
        kind, lines, start = "", list[str](), 1
        chunk_lines = [stripped for raw in chunk.splitlines() if (stripped := raw.strip())]
        for at, line in enumerate(chunk_lines):
            item = _ITEM.match(line) if line[0] in "-*" else None  # stripped: an item starts with its mark
            numbered = _NUMBERED.match(line) if item is None and line[0].isdigit() else None
            if numbered is not None and kind == "p" and lines and not _starts_a_list(numbered, lines[-1],
                                                                                     chunk_lines[at + 1:]):
                numbered = None
            now = "ul" if item else "ol" if numbered else "p"
            if now != kind and lines:
                out.append(Block(kind, tuple(lines), start))
                lines = []
            if now == "ol" and not lines and numbered:
                start = int(numbered.group(1))
            kind = now
            lines.append(item.group(1).strip() if item else numbered.group(2).strip() if numbered else line)
        if lines:
            out.append(Block(kind, tuple(lines), start))
    return out


def _starts_a_list(numbered: re.Match[str], before: str, after: list[str]) -> bool:
    """Whether a numbered line inside a paragraph begins a list rather than going on with the sentence.

    A number that is not 1 never does (as CommonMark has it): a template's line that begins with a German date,
    "12. Januar 2026", or an ordinal broke the sentence into a paragraph and a list. A "1." does when the line
    before it ends a sentence or introduces the list ("Steps:"), or when a "2." follows it; otherwise it is the
    first of a month in the middle of a sentence ("Dein erster Tag ist der / 1. Februar 2027, und ..."), which
    broke the bundled German welcome into a paragraph and a one-item list on every start on the 1st (since
    2026-12-06).
    """
    if numbered.group(1) != "1":
        return False
    if before.endswith((":", ".", "!", "?", "…")):
        return True
    following = _NUMBERED.match(after[0]) if after else None
    return following is not None and following.group(1) == "2"


def _joined(lines: tuple[str, ...]) -> list[str]:
    """A paragraph's lines joined into the lines the reader sees (a trailing backslash keeps a break)."""
    out: list[str] = []
    current: list[str] = []
    for line in lines:
        if line.endswith("\\"):
            current.append(line[:-1].rstrip())
            out.append(" ".join(current))
            current = []
        else:
            current.append(line)
    if current:
        out.append(" ".join(current))
    return out


def plain(parts: list[Block]) -> str:
    """The text part: one line per paragraph (mail clients wrap it), ``- `` per list item."""
    written = []
    for b in parts:
        if b.kind == "ul":
            written.append("\n".join(f"- {item}" for item in b.lines))
        elif b.kind == "ol":
            written.append("\n".join(f"{b.start + n}. {item}" for n, item in enumerate(b.lines)))
        else:
            written.append("\n".join(_joined(b.lines)))
    return "\n\n".join(written)


def _link(url: str, text: str | None = None) -> str:
    href = html.escape(url, quote=True)
    return f'<a href="{href}" style="{A}">{html.escape(text if text is not None else url)}</a>'


def _inline(text: str) -> str:
    """Escaped text with its URLs as links."""
    if "http" not in text and "mailto:" not in text:  # no URL can start anywhere in it
        return html.escape(text)
    out, last = [], 0
    for m in _URL.finditer(text):
        out.append(html.escape(text[last:m.start()]))
        out.append(_link(m.group()))
        last = m.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def _titled(text: str) -> tuple[str, str] | None:
    """``(title, url)`` of a list item ``Title: URL`` or ``Title - URL`` (the URL last on the line), else None. By
    hand, in one pass: a regex that let the title run lazily up to the separator backtracked over every run of
    spaces (one item of 40,000 spaces from an event's data took 25 s, outside the render's clock)."""
    line = text.rstrip()
    start = len(line) - len(line.rsplit(None, 1)[-1]) if line else 0  # where the last word begins
    if line.startswith("mailto:", start) and len(line) > start + 7:  # "Occupational health: mailto:oh@..."
        end = _title_end(line, start)
        return (line[:end], line[start:]) if end else None
    # The URL runs to the end of the last word ("Title:https://..." has no space) and holds none of <>"'; of the
    # places it may start, the first one after a separator gives the shortest title, as the regex's did.
    at = line.find("http", max(start - 1, *(line.rfind(c, start) for c in "<>\"'")) + 1)
    while at >= 0:
        if (line.startswith("http://", at) and len(line) > at + 7) or \
                (line.startswith("https://", at) and len(line) > at + 8):
            end = _title_end(line, at)
            if end:
                return line[:end], line[at:]
        at = line.find("http", at + 1)
    return None


def _title_end(line: str, at: int) -> int:
    """Where the title before a URL starting at ``at`` ends, when a ``:`` or a spaced ``-`` separates them; else 0."""
    end = _before_space(line, at)
    if end and line[end - 1] == ":":
        return _before_space(line, end - 1)
    if end > 1 and line[end - 1] == "-" and line[end - 2].isspace():
        return _before_space(line, end - 2)
    return 0


def _before_space(line: str, end: int) -> int:
    """``end`` moved back over the whitespace before it."""
    while end and line[end - 1].isspace():
        end -= 1
    return end


def _item(text: str) -> str:
    titled = _titled(text)
    if titled and (("http" not in titled[0] and "mailto:" not in titled[0]) or not _URL.search(titled[0])):
        return _link(titled[1], titled[0])
    return _inline(text)


def html_fragment(parts: list[Block]) -> str:
    """The body of the HTML part: paragraphs and lists with inline styles."""
    written = []
    for b in parts:
        if b.kind in ("ul", "ol"):
            items = "".join(f'<li style="{LI}">{_item(i)}</li>' for i in b.lines)
            start = f' start="{b.start}"' if b.kind == "ol" and b.start != 1 else ""
            written.append(f'<{b.kind}{start} style="{UL}">{items}</{b.kind}>')
        else:
            written.append(f'<p style="{P}">' + "<br>".join(_inline(line) for line in _joined(b.lines)) + "</p>")
    return "\n".join(written)


_DOCTYPE = "<!DOCTYPE html>\n"
_CARD_OPEN = f'<div style="{CARD}">\n'
_FOOTER_OPEN = f'\n<hr style="{HR}">\n<p class="wayfinder-explanation"'


def document(body: str, *, title: str, lang: str, explanation: str, preferences_url: str, change: str) -> str:
    """A whole HTML document: the body in a 600px card, then the explanation and the preferences link. A language
    written right to left (Arabic, Hebrew, Persian, Urdu...) sets ``dir="rtl"``: ``lang`` alone leaves mail clients
    aligning it left, with bullets and the closing stop on the wrong side. The footer takes its own direction
    (``dir="auto"``): it may be in English under an Arabic body (no catalog for Arabic)."""
    lang = language_tag(lang)  # BCP 47, as HTML reads it: "en-GB", never an HR system's "en_GB"
    direction = ' dir="rtl"' if _right_to_left(lang) else ""
    return (
        f'{_DOCTYPE}<html lang="{html.escape(lang, quote=True)}"{direction}>\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n</head>\n"
        f'<body style="{BODY}">\n{_CARD_OPEN}{body}{_FOOTER_OPEN} dir="auto" style="{SMALL}">'
        f'{html.escape(explanation)}</p>\n'
        f'<p class="wayfinder-preferences" dir="auto" style="{SMALL}">{_link(preferences_url, change)}</p>\n'
        "</div>\n</body>\n</html>\n"
    )


@functools.lru_cache(maxsize=256)
def _right_to_left(lang: str) -> bool:
    try:
        return bool(Locale.parse(lang.replace("-", "_")).character_order == "right-to-left")
    except (ValueError, TypeError, UnknownLocaleError):
        return False


_PREFERENCES_LABEL = re.compile(r'<p class="wayfinder-preferences"[^>]{0,400}><a [^>]{0,4000}>([^<]{0,400})</a></p>')


def preferences_label(doc: str) -> str | None:
    """The words of the preferences link at the foot of a document written by :func:`document`, in the message's
    language ("Diese Nachrichten ändern oder abbestellen"); None for HTML that is not such a document."""
    found = _PREFERENCES_LABEL.search(split_document(doc)[2])
    return html.unescape(found.group(1)) if found else None


def split_document(doc: str) -> tuple[str, str, str]:
    """``(head, body, tail)`` of a document written by :func:`document`, ``head + body + tail == doc``: the body
    is what was given to it; HTML that is not such a document is all body, ``("", doc, "")``."""
    start, end = doc.find(_CARD_OPEN), doc.rfind(_FOOTER_OPEN)
    if not doc.startswith(_DOCTYPE) or start < 0 or end < start + len(_CARD_OPEN):
        return "", doc, ""
    start += len(_CARD_OPEN)
    return doc[:start], doc[start:end], doc[end:]


_WHOLE = re.compile(r"</?(?:!doctype|html\b|head\b|body\b)", re.IGNORECASE)
# Tags are at most MAX_TAG characters long, and each pattern is tried from each place it could start, so the
# work is linear in the markup: with `[^>]*` and `(.*)</body>` an author's or reviewer's html of thousands of
# unclosed <head> or <body> tags took seconds per message.
MAX_TAG = 2000
_BODY_OPEN = re.compile(rf"<body\b[^>]{{0,{MAX_TAG}}}>", re.IGNORECASE)
_BODY_CLOSE = re.compile(r"</body\s*>", re.IGNORECASE)
_HEAD_CLOSE = re.compile(r"</head\s*>", re.IGNORECASE)
_TAGS = rf"<!doctype[^>]{{0,{MAX_TAG}}}>|</?html\b[^>]{{0,{MAX_TAG}}}>|</?body\b[^>]{{0,{MAX_TAG}}}>"
_WRAPPER = re.compile(rf"{_TAGS}|<head\b[^>]{{0,{MAX_TAG}}}>.*?</head\s*>", re.IGNORECASE | re.DOTALL)
_WRAPPER_TAGS = re.compile(rf"{_TAGS}|<head\b[^>]{{0,{MAX_TAG}}}>", re.IGNORECASE)


def _last(pattern: re.Pattern[str], text: str, start: int = 0) -> re.Match[str] | None:
    last = None
    for found in pattern.finditer(text, start):
        last = found
    return last


def _unwrapped(text: str) -> str:
    """``text`` without the document's wrapper tags and head. A head is dropped up to its closing tag; after the
    last ``</head>`` no closing tag can follow, so only the tags go there (each open head would be searched to the
    end again)."""
    close = _last(_HEAD_CLOSE, text)
    cut = close.end() if close is not None else 0
    return _WRAPPER.sub("", text[:cut]) + _WRAPPER_TAGS.sub("", text[cut:])


def body_of(markup: str) -> str:
    """What goes in the card of :func:`document`: an HTML part written as a whole document (an author's
    ``html:``, a reviewer's edit) gives what its body holds, so that an email is one document with one
    explanation; one of Wayfinder's own documents gives its body without the footer; a fragment is itself."""
    head, body, _ = split_document(markup)
    if head:
        return body
    if not _WHOLE.search(markup):
        return markup
    opened = _BODY_OPEN.search(markup)
    closed = _last(_BODY_CLOSE, markup, opened.end()) if opened is not None else None
    inner = markup[opened.end():closed.start()] if opened is not None and closed is not None else markup
    return _unwrapped(inner).strip()


# Elements that never hold anything, so never closed (the HTML standard's void elements).
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
                   "track", "wbr"})


class _Opened(HTMLParser):
    """The elements an HTML part leaves open, in order (:func:`balanced`)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []
        self.counts: Counter[str] = Counter()  # of ``open``: an end tag of nothing open costs no walk
        self.deepest = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _VOID:
            self.open.append(tag)
            self.counts[tag] += 1
            self.deepest = max(self.deepest, len(self.open))

    def handle_endtag(self, tag: str) -> None:
        if not self.counts[tag]:
            return
        while True:  # what it closes, and what was left open inside it (each element is taken out once)
            last = self.open.pop()
            self.counts[last] -= 1
            if last == tag:
                return


# What an HTML part written by a person (an author's ``html:``, a reviewer's edit) may hold: the sanitizer's own
# safelist of elements and attributes (no script, no event handler, no ``javascript:`` address, no form, no frame,
# no ``<style>`` element), and the presentational attributes emails are laid out with.
_SAFE_ATTRIBUTES: dict[str, set[str]] = {
    **{tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": {"align", "aria-hidden", "aria-label", "bgcolor", "border", "cellpadding", "cellspacing", "class", "dir",
          "height", "lang", "role", "style", "title", "valign", "width"},
    "a": {"href", "hreflang", "target"},
}


MAX_NESTING = 200
"""Elements inside each other in HTML a person wrote; beyond, it is kept as text (:func:`safe`)."""


def safe(markup: str) -> str:
    """HTML written by a person with nothing in it that runs: SPEC §6, HR authors (and reviewers) are trusted with
    content, not with code. The message goes by email and to the intranet, where a script, an ``onerror`` or a
    ``javascript:`` link would run in the reader's session; such parts are dropped, the content is kept."""
    if "<" not in markup and "&" not in markup:
        return markup
    depth = _Opened()  # the sanitizer's time grows with the square of the nesting (0.7 s at 20,000 levels)
    depth.feed(markup)
    if depth.deepest > MAX_NESTING:  # no email nests so deep: kept as its words, in paragraphs and lists
        return html_fragment(blocks(html_to_text(markup)))
    return nh3.clean(markup, attributes=_SAFE_ATTRIBUTES, link_rel=None)


def balanced(markup: str) -> str:
    """An HTML part someone wrote (an author's ``html:``, a reviewer's edit) that cannot take in what comes after
    it: a comment, tag or attribute it leaves unfinished at its end is dropped (a comment shows nothing; a tag cut
    short is no content), and every element it leaves open is closed, so the explanation and the preferences link
    that follow it are outside whatever it began (an unclosed ``<!--`` or ``<div style="display:none">`` hid them).
    Linear in the markup (the standard library's parser)."""
    if "<" not in markup:
        return markup
    parser = _Opened()
    parser.feed(markup)
    unfinished = parser.rawdata  # what the parser holds back: a construct begun and not ended
    if unfinished.startswith("<"):
        markup = markup[:len(markup) - len(unfinished)]
    return markup + "".join(f"</{tag}>" for tag in reversed(parser.open))


_LINK_PARTS = 64  # the most parts of a link's words compared with its address (``_Reader``)


class _Reader(HTMLParser):
    """The text an HTML part says (:func:`html_to_text`)."""

    BLOCKS = frozenset({"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "tr", "blockquote",
                        "pre", "section", "article", "header", "footer", "hr"})
    HIDDEN = frozenset({"script", "style", "head", "title", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0
        self._links: list[tuple[str, int]] = []  # an open link's href and where its text began

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self._hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag == "a":
            self._links.append((dict(attrs).get("href") or "", len(self.parts)))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")
        elif tag == "a" and self._links:
            href, start = self._links.pop()
            if not href.startswith(("http://", "https://", "mailto:")):
                return
            # A link's words are a few parts; read them back only then (links nested 100,000 deep joined every
            # part since each one's start: 29 s for one edit). Longer, they are taken to be other than the address.
            said = "".join(self.parts[start:]).strip() if len(self.parts) - start <= _LINK_PARTS else "..."
            if href.removeprefix("mailto:") != said:
                self.parts.append(f" ({href})" if said else href)

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """The plain-text part of an HTML part given alone (a reviewer who edits only the HTML): its words, with
    paragraphs, line breaks, list items (``- ``) and each link's address after its text. Linear in the markup
    (the standard library's parser); whitespace runs in a line become one space, as a browser shows them."""
    reader = _Reader()
    reader.feed(balanced(body_of(markup)))
    reader.close()
    lines = (" ".join(line.split()) for line in "".join(reader.parts).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
