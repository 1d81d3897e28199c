"""What the loader produces and the engine reads: journeys, templates, catalog and policy, validated and
compiled. Kept apart from the loader so that the core does not depend on how definitions are read."""

from __future__ import annotations

from dataclasses import dataclass, field

from wayfinder.catalog.graph import CatalogGraph
from wayfinder.journeys.model import Fairness, Journey, JourneyTestDoc, Policy
from wayfinder.journeys.templates import MessageTemplate


@dataclass
class Definitions:
    """Everything the engine needs, validated and compiled."""

    journeys: dict[tuple[str, int], Journey] = field(default_factory=dict)
    templates: dict[str, MessageTemplate] = field(default_factory=dict)
    inline: dict[tuple[str, int, str, str], MessageTemplate] = field(default_factory=dict)
    catalog: CatalogGraph = field(default_factory=CatalogGraph)
    policy: Policy = field(default_factory=Policy)
    fairness: Fairness | None = None
    files: int = 0
    tests: list[tuple[str, int, JourneyTestDoc]] = field(default_factory=list)  # (file, line, test): wayfinder test
    positions: dict[tuple[str, str], str] = field(default_factory=dict)  # (journey, step or "") -> file:line:col

    def current(self) -> dict[str, Journey]:
        """The newest version of each journey."""
        out: dict[str, Journey] = {}
        for (jid, _version), j in sorted(self.journeys.items()):
            out[jid] = j
        return out
