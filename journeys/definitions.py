"""What the loader produces and the engine reads: journeys, templates, catalog and policy, validated and
compiled. Kept apart from the loader so that the core does not depend on how definitions are read."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from wayfinder.catalog.calendar import load_public_holidays
from wayfinder.catalog.graph import CatalogGraph
from wayfinder.journeys.i18n import DEFAULT_LOCALE, languages, load_locales
from wayfinder.journeys.model import Fairness, Journey, JourneyTestDoc, Policy
from wayfinder.journeys.templates import MessageTemplate


class Part(StrEnum):
    """Which text of a journey an inline template is: a send's message, a task's title or note, the
    journey's own explanation."""

    MESSAGE = "message"
    TITLE = "title"
    NOTE = "note"
    EXPLANATION = "explanation"


class InlineKey(NamedTuple):
    """Where an inline template was written: the journey version, the step (``""`` for the journey itself)
    and which of its texts."""

    journey: str
    version: int
    step: str
    part: Part

    @classmethod
    def of(cls, journey: Journey, step: str, part: Part) -> InlineKey:
        return cls(journey.id, journey.version, step, part)


@dataclass
class Definitions:
    """Everything the engine needs, validated and compiled."""

    journeys: dict[tuple[str, int], Journey] = field(default_factory=dict)
    templates: dict[str, MessageTemplate] = field(default_factory=dict)
    inline: dict[InlineKey, MessageTemplate] = field(default_factory=dict)
    catalog: CatalogGraph = field(default_factory=CatalogGraph)
    policy: Policy = field(default_factory=Policy)
    fairness: Fairness | None = None
    files: int = 0
    tests: list[tuple[str, int, JourneyTestDoc]] = field(default_factory=list)  # (file, line, test): wayfinder test
    # (file, line) of a test -> (``messages`` or ``tasks``, an expectation's index or None for the list) ->
    # file:line:column, to tell where a failed expectation is written
    test_places: dict[tuple[str, int], dict[tuple[str, int | None], str]] = field(default_factory=dict)
    positions: dict[tuple[str, str], str] = field(default_factory=dict)  # (journey, step or "") -> file:line:col
    # Templates written with errors of their own (validate reports them there): a journey that names one is not
    # also told it is unknown.
    broken_templates: set[str] = field(default_factory=set)

    def inline_template(self, journey: Journey, step: str, part: Part) -> MessageTemplate:
        """The compiled inline text of a step; the loader admits a journey only when all of them compiled."""
        return self.inline[InlineKey.of(journey, step, part)]

    def warm(self) -> None:
        """Load now what the first events would otherwise load in the middle of a stream: the public-holiday
        countries and, for the default locale, the catalogs' languages and every locale a template writes in, Babel's
        data and the message catalog. A worker calls it before it reads (README "Warm at start-up")."""
        load_public_holidays()
        locales = {DEFAULT_LOCALE, *languages()}
        for template in (*self.templates.values(), *self.inline.values()):
            locales.update(template.locales)
        load_locales(sorted(locales))

    def explanation_template(self, journey: Journey) -> MessageTemplate | None:
        """The journey's own explanation, if it wrote one."""
        return self.inline.get(InlineKey.of(journey, "", Part.EXPLANATION))

    def current(self) -> dict[str, Journey]:
        """The newest version of each journey."""
        out: dict[str, Journey] = {}
        for (jid, _version), j in sorted(self.journeys.items()):
            out[jid] = j
        return out

    def in_force(self, *, include_drafts: bool = False) -> dict[str, Journey]:
        """The version of each journey that says whether it enrolls: the newest that is not a draft (any, with
        drafts). A draft of the next version leaves the active one running; a paused newest version pauses it."""
        out: dict[str, Journey] = {}
        for (jid, _version), j in sorted(self.journeys.items()):
            if include_drafts or j.status != "draft":
                out[jid] = j
        return out
