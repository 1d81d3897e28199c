"""The words of the pages employees see (preferences, why, unsubscribe, what applies), in their language.

Catalogs are ``wayfinder/web/locale/<language>/LC_MESSAGES/web.po`` (German and French, the languages the bundled
messages have), read with Babel's ``pofile`` reader when first needed, like the messages' own catalogs. Staff
pages stay in English.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

__all__ = ["LOCALE_DIR", "Gettext", "language_of", "translator"]

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "web"
Gettext = Callable[..., str]


def language_of(locale: str | None) -> str:
    """The language of a BCP 47 locale that has a catalog (else English)."""
    language = (locale or "en").replace("_", "-").split("-")[0].lower()
    return language if (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po").is_file() else "en"


@functools.lru_cache(maxsize=8)
def _translations(language: str) -> NullTranslations:
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.is_file():
        return NullTranslations()
    with path.open("rb") as f:
        catalog = read_po(f, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def translator(language: str) -> Gettext:
    """``_("text", name=value)``: the text in ``language`` with ``{name}`` filled in."""
    gettext = _translations(language).gettext

    def _(message: str, **values: object) -> str:
        text = gettext(message)
        return text.format(**values) if values else text

    return _
