""""What applies to me?": every resource the catalog offers one employee, by topic, with why each applies.

It asks the catalog's own selection (``CatalogGraph._pick``: eligibility, the best of each group for the
employee's locale) and ranking (``CatalogGraph._score``: graph proximity to their department, location and role),
so the answer is the one journeys get, never a second copy of the rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wayfinder.catalog.graph import CatalogGraph, Selection, preferred_format
from wayfinder.catalog.model import ResourceSpec
from wayfinder.vocabulary import localized

__all__ = ["Applies", "TopicOffer", "resource_title", "what_applies"]

_FIELD = re.compile(r"(?<![\w.])employee\.(attributes\.)?([A-Za-z_][A-Za-z0-9_]*)")

@dataclass(frozen=True)
class Applies:
    """One resource and why it applies: ``reasons`` are (kind, detail) pairs, kind one of ``eligibility``
    (the rule that holds, with the profile values it reads), ``everyone``, ``department``, ``location``,
    ``role`` (the resource is close to that part of the employee's profile in the graph), ``language``
    (chosen among alternatives for the employee's language) and ``format`` (chosen among alternatives in other
    formats for the employee's learning style)."""

    resource: ResourceSpec
    reasons: tuple[tuple[str, str], ...]
    score: float
    reads: tuple[tuple[str, str], ...] = ()  # the profile fields the eligibility rule reads, with their values


@dataclass(frozen=True)
class TopicOffer:
    topic: str
    opted_out: bool
    resources: list[Applies] = field(default_factory=list)


def what_applies(catalog: CatalogGraph, employee: Mapping[str, Any], *, opt_out_topics: Iterable[str] = (),
                 feedback: Mapping[str, float] | None = None) -> tuple[list[TopicOffer], list[str]]:
    """The topics with at least one resource for this employee, in catalog order, each with its resources best
    first; and the eligibility rules that failed to evaluate (counted as not applying). Topics the employee
    opted out of are listed (marked) so they can see what they turned off."""
    selection = Selection()
    picked = catalog._pick(list(catalog.topics), employee, (), (), selection)
    opted = set(opt_out_topics)
    fb = feedback or {}
    formats: dict[str, set[str | None]] = {}  # the formats each group's versions come in
    for r in catalog.resources.values():
        if r.group is not None:
            formats.setdefault(r.group, set()).add(r.format)
    by_topic: dict[str, list[Applies]] = {}
    for resource, _ in picked:
        applies = Applies(resource, _reasons(catalog, resource, employee, formats),
                          catalog._score(resource, 0, employee, fb),
                          _reads(resource, employee))
        for topic in resource.topics:
            by_topic.setdefault(topic, []).append(applies)
    offers = [TopicOffer(t, bool(catalog.lineage(t) & opted), sorted(by_topic[t], key=lambda a: (-a.score,
                                                                                                  a.resource.id)))
              for t in catalog.topics if t in by_topic]
    return offers, selection.errors


def _reasons(catalog: CatalogGraph, r: ResourceSpec, employee: Mapping[str, Any],
             formats: Mapping[str, set[str | None]]) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    if r.eligibility is None:
        out.append(("everyone", ""))
    else:
        out.append(("eligibility", r.eligibility.source))
    read = {name for name, _ in _reads(r, employee)}
    out.extend((kind, value) for kind, value in catalog.close_to(r, employee) if kind not in read)  # said once
    own = (r.locale or "").replace("_", "-").lower()
    locale = str(employee.get("locale") or "").replace("_", "-").lower()
    if r.group is not None and own and locale and own.split("-")[0] == locale.split("-")[0]:
        out.append(("language", r.locale or ""))
    # the version in the format of their learning style, when its group has versions in other formats (a visual
    # learner was given the video and read only "open to everyone", while a German reader read why theirs)
    if r.group is not None and r.format is not None and r.format == preferred_format(employee) and len(
            formats.get(r.group, ())) > 1:
        out.append(("format", r.format))
    return tuple(out)


def _reads(r: ResourceSpec, employee: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    if r.eligibility is None:
        return ()
    out: dict[str, str] = {}
    for attributes, name in _FIELD.findall(r.eligibility.source):
        value = (employee.get("attributes") or {}).get(name) if attributes else employee.get(name)
        out[name] = "" if value is None else ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return tuple(sorted(out.items()))


def resource_title(r: ResourceSpec, locale: str | None) -> str:
    """The resource's title for a reader of ``locale`` (``localized``), else ``title``."""
    return localized(r.titles, locale) or r.title
