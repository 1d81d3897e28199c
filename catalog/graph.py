"""The resource catalog as a graph, and how resources are chosen for one employee (SPEC §5)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

import networkx as nx

from wayfinder.catalog.calendar import WorkCalendar
from wayfinder.catalog.model import ResourceSpec, TopicSpec


@dataclass(frozen=True)
class RoadmapItem:
    id: str
    title: str
    url: str | None
    type: str
    day: int
    date: date
    requires: tuple[str, ...]
    titles: tuple[tuple[str, str], ...] = ()

    def view(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "url": self.url, "type": self.type, "day": self.day,
                "date": self.date.isoformat(), "requires": list(self.requires), "titles": dict(self.titles)}


@dataclass
class Selection:
    """What a selection picked, and the evaluation failures met on the way (counted, never raised)."""

    resources: list[ResourceSpec] = field(default_factory=list)
    roadmap: list[RoadmapItem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    all_opted_out: bool = False


def _node(kind: str, name: str) -> str:
    return f"{kind}:{name}"


class CatalogGraph:
    """Topics, resources and the people, roles, departments and locations they relate to."""

    def __init__(self, topics: Iterable[TopicSpec] = (), resources: Iterable[ResourceSpec] = (),
                 calendar: WorkCalendar | None = None) -> None:
        self.calendar = calendar or WorkCalendar()  # roadmap items fall on working days
        self.topics: dict[str, TopicSpec] = {t.id: t for t in topics}
        self.resources: dict[str, ResourceSpec] = {r.id: r for r in resources}
        self.graph: nx.DiGraph[str] = nx.DiGraph()
        for spec in self.topics.values():
            self.graph.add_node(_node("topic", spec.id), kind="topic")
            if spec.parent:
                self.graph.add_edge(_node("topic", spec.id), _node("topic", spec.parent), rel="parent")
        for r in self.resources.values():
            self.graph.add_node(_node("resource", r.id), kind="resource")
            for t in r.topics:
                self.graph.add_edge(_node("resource", r.id), _node("topic", t), rel="about")
            for other in r.related:
                self.graph.add_edge(_node("resource", r.id), _node("resource", other), rel="related")
            for other in r.requires:
                self.graph.add_edge(_node("resource", r.id), _node("resource", other), rel="requires")
            for kind, values in (("department", r.departments), ("location", r.locations), ("role", r.roles)):
                for v in values:
                    self.graph.add_edge(_node("resource", r.id), _node(kind, v.casefold()), rel="eligible-for")
        self._views = {r.id: _resource_view(r) for r in self.resources.values()}
        self._by_topic: dict[str, list[str]] = {}
        for r in self.resources.values():
            for t in r.topics:
                self._by_topic.setdefault(t, []).append(r.id)
        self._subtopics = lru_cache(maxsize=1024)(self._subtopics_uncached)
        self._lineage = lru_cache(maxsize=1024)(self._lineage_uncached)

    # -- topic hierarchy -------------------------------------------------------------------
    def _subtopics_uncached(self, topic: str) -> frozenset[str]:
        node = _node("topic", topic)
        if node not in self.graph:
            return frozenset({topic})
        children = nx.ancestors(self.graph.subgraph(n for n in self.graph if n.startswith("topic:")), node)
        return frozenset({topic, *(c.split(":", 1)[1] for c in children)})

    def subtopics(self, topic: str) -> frozenset[str]:
        """The topic and every topic below it."""
        return self._subtopics(topic)

    def _lineage_uncached(self, topic: str) -> frozenset[str]:
        out = {topic}
        current = self.topics.get(topic)
        while current is not None and current.parent and current.parent not in out:
            out.add(current.parent)
            current = self.topics.get(current.parent)
        return frozenset(out)

    def lineage(self, topic: str) -> frozenset[str]:
        """The topic and every topic above it."""
        return self._lineage(topic)

    def in_topics(self, resource: ResourceSpec, topics: Iterable[str]) -> bool:
        """True when the resource is about one of ``topics`` or a topic below one of them."""
        wanted = set(topics)
        return any(self.lineage(t) & wanted for t in resource.topics)

    def requires_cycle(self) -> list[str] | None:
        """A ``requires`` cycle, as resource ids, if there is one."""
        sub: nx.DiGraph[str] = nx.DiGraph((u, v) for u, v, d in self.graph.edges(data=True) if d["rel"] == "requires")
        try:
            cycle = nx.find_cycle(sub)
        except nx.NetworkXNoCycle:
            return None
        return [u.split(":", 1)[1] for u, _ in cycle]

    def view(self, resource_id: str) -> dict[str, Any]:
        return self._views[resource_id]

    # -- selection ---------------------------------------------------------------------------
    def _candidates(self, topics: Sequence[str]) -> dict[str, int]:
        """Resource id -> rank of the best requested topic it is about (0 is the first asked for)."""
        found: dict[str, int] = {}
        for rank, topic in enumerate(topics):
            for sub in self.subtopics(topic):
                for rid in self._by_topic.get(sub, ()):
                    found.setdefault(rid, rank * 2 + (0 if sub == topic else 1))
        return found

    def _eligible(self, resource: ResourceSpec, employee: Mapping[str, Any], errors: list[str]) -> bool:
        if resource.eligibility is None:
            return True
        ok, error = resource.eligibility.test({"employee": employee, "resource": self._views[resource.id]})
        if error is not None:
            errors.append(f"resource {resource.id}: eligibility: {error}")
        return ok

    def _pick(self, topics: Sequence[str], employee: Mapping[str, Any], delivered: Iterable[str],
              opt_out_topics: Iterable[str], selection: Selection) -> list[tuple[ResourceSpec, int]]:
        delivered_set = set(delivered)
        opted = set(opt_out_topics)
        delivered_groups = {self.resources[d].group for d in delivered_set if d in self.resources}
        if opted and all(self.lineage(t) & opted for t in topics):
            selection.all_opted_out = True
            return []
        best_in_group: dict[str, tuple[tuple[int, int, str], ResourceSpec, int]] = {}
        picked: list[tuple[ResourceSpec, int]] = []
        locale = str(employee.get("locale") or "").replace("_", "-").lower()
        for rid, rank in self._candidates(topics).items():
            r = self.resources[rid]
            if rid in delivered_set or (r.group is not None and r.group in delivered_groups):
                continue
            if opted and any(self.lineage(t) & opted for t in r.topics):
                continue
            if not self._eligible(r, employee, selection.errors):
                continue
            if r.group is None:
                picked.append((r, rank))
                continue
            own = (r.locale or "").lower()
            preference = (
                0 if own and own == locale else 1 if own and own.split("-")[0] == locale.split("-")[0] else 2,
                0 if r.eligibility is not None else 1,
                rid,
            )
            current = best_in_group.get(r.group)
            if current is None or preference < current[0]:
                best_in_group[r.group] = (preference, r, rank)
        picked.extend((r, rank) for _, r, rank in best_in_group.values())
        return picked

    def close_to(self, r: ResourceSpec, employee: Mapping[str, Any]) -> list[tuple[str, str]]:
        """The parts of the employee's profile (department, location, role) this resource is linked to."""
        out = []
        for kind in ("department", "location", "role"):
            value = employee.get(kind)
            if isinstance(value, str) and self.graph.has_edge(_node("resource", r.id), _node(kind, value.casefold())):
                out.append((kind, value))
        return out

    def _score(self, r: ResourceSpec, rank: int, employee: Mapping[str, Any], feedback: Mapping[str, float]) -> float:
        score = 10.0 - rank + len(self.close_to(r, employee))
        own = (r.locale or "").lower()
        if own and own == str(employee.get("locale") or "").replace("_", "-").lower():
            score += 0.5
        score += feedback.get(r.id, 0.0)
        for other in r.related:
            score += 0.25 * max(0.0, feedback.get(other, 0.0))
        return score

    def select(self, topics: Sequence[str], employee: Mapping[str, Any], *, limit: int = 5,
               delivered: Iterable[str] = (), opt_out_topics: Iterable[str] = (),
               feedback: Mapping[str, float] | None = None) -> Selection:
        """Resources about ``topics`` for this employee: eligible, new to them, not opted out, ranked."""
        selection = Selection()
        picked = self._pick(topics, employee, delivered, opt_out_topics, selection)
        fb = feedback or {}
        picked.sort(key=lambda p: (-self._score(p[0], p[1], employee, fb), p[0].id))
        selection.resources = [r for r, _ in picked[:limit]]
        return selection

    def roadmap(self, topics: Sequence[str], employee: Mapping[str, Any], *, start: date, horizon_days: int,
                delivered: Iterable[str] = (), opt_out_topics: Iterable[str] = ()) -> Selection:
        """Dated items in ``requires`` order: every item comes after what it requires, and not before its date."""
        selection = Selection()
        country = employee.get("country")
        picked = {r.id: r for r, _ in self._pick(topics, employee, delivered, opt_out_topics, selection)}
        order: nx.DiGraph[str] = nx.DiGraph()
        order.add_nodes_from(picked)
        for r in picked.values():
            for req in r.requires:
                if req in picked:
                    order.add_edge(req, r.id)
        effective: dict[str, int] = {}
        for rid in nx.topological_sort(order):
            own = picked[rid].day or 1
            effective[rid] = max([own, *(effective[p] for p in order.predecessors(rid))])
        in_horizon = [rid for rid in picked if effective[rid] <= horizon_days]
        ordered = list(nx.lexicographical_topological_sort(order.subgraph(in_horizon),
                                                          key=lambda rid: f"{effective[rid]:06d}:{rid}"))
        for rid in ordered:
            r = picked[rid]
            day = effective[rid]
            when = self.calendar.working_day(start, day, country if isinstance(country, str) else None)
            selection.roadmap.append(RoadmapItem(rid, r.title, r.url, r.type, day, when,
                                                 tuple(q for q in r.requires if q in picked),
                                                 tuple(sorted(r.titles.items()))))
        selection.resources = [picked[rid] for rid in ordered]
        return selection


def _resource_view(r: ResourceSpec) -> dict[str, Any]:
    return {
        "id": r.id, "type": r.type, "title": r.title, "titles": dict(r.titles), "url": r.url,
        "topics": list(r.topics), "group": r.group,
        "locale": r.locale, "day": r.day, "requires": list(r.requires), "related": list(r.related),
        "departments": list(r.departments), "locations": list(r.locations), "roles": list(r.roles),
    }
