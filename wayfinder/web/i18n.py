"""The words of the pages employees see (preferences, why, unsubscribe, what applies), in their language.

Catalogs are ``wayfinder/web/locale/<language>/LC_MESSAGES/web.po`` (German and French, the languages the bundled
messages have), read with Babel's ``pofile`` reader when first needed, like the messages' own catalogs. Staff
pages stay in English.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from babel.support import NullTranslations

from wayfinder.journeys.i18n import po_translations

__all__ = ["LOCALE_DIR", "Gettext", "language_of", "translator"]

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "web"
Gettext = Callable[..., str]


def language_of(locale: str | None) -> str:
    """The language of a BCP 47 locale that has a catalog (else English)."""
    language = (locale or "en").replace("_", "-").split("-")[0].lower()
    return language if (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po").is_file() else "en"


def _translations(language: str) -> NullTranslations:
    return po_translations(LOCALE_DIR, DOMAIN, language)


def translator(language: str) -> Gettext:
    """``_("text", name=value)``: the text in ``language`` with ``{name}`` filled in."""
    gettext = _translations(language).gettext

    def _(message: str, **values: object) -> str:
        text = gettext(message)
        return text.format(**values) if values else text

    return _
