"""The resource catalog as a graph, and how resources are chosen for one employee (SPEC §5)."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, Literal

import networkx as nx
from pydantic import Field

from wayfinder.catalog.calendar import WorkCalendar
from wayfinder.catalog.feedback import CatalogFeedback
from wayfinder.catalog.model import STYLE_FORMATS, ResourceSpec, RoleSpec, TopicSpec, skill_key
from wayfinder.catalog.paths import PathPlan, plan_path
from wayfinder.expressions import conjuncts
from wayfinder.vocabulary import Frozen, language_rank


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
    teaches: tuple[str, ...] = ()
    format: str | None = None

    def view(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "url": self.url, "type": self.type, "day": self.day,
                "date": self.date.isoformat(), "requires": list(self.requires), "titles": dict(self.titles),
                "teaches": list(self.teaches), "format": self.format}


@dataclass
class Selection:
    """What a selection picked, and the evaluation failures met on the way (counted, never raised)."""

    resources: list[ResourceSpec] = field(default_factory=list)
    roadmap: list[RoadmapItem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    all_opted_out: bool = False
    path: PathPlan | None = None  # a learning path: what it covers and what it cannot
    requires_cycle: bool = False  # a roadmap's alternatives closed a loop: ordered by the requires as written
    # why each resource ``select`` picked ranks where it does (``CatalogGraph.reasons``), by resource id
    ranking: dict[str, list[RankReason]] = field(default_factory=dict)


class RankReason(Frozen):
    """One reason of a resource's rank and its points (``CatalogGraph.reasons``): ``why`` is ``topic`` (about the
    topic asked for, ``about``), ``subtopic`` (about a topic below it), ``department``, ``location`` or ``role``
    (the resource is meant for the employee's), ``language`` (in their language), ``engagement`` (their own
    opens, clicks and ratings of it), ``related`` (they liked the related resource ``about``), ``format`` (its
    format ``about`` suits their learning style) or ``colleagues`` (everyone's feedback demotes it)."""

    why: Literal["topic", "subtopic", "department", "location", "role", "language", "engagement", "related",
                 "format", "colleagues"]
    points: float
    about: str | None = Field(default=None, exclude_if=lambda v: v is None)


CATALOG_FACTS = frozenset({"topic", "subtopic", "colleagues"})
"""The ranking's reasons that are the catalog's facts (the topic asked for, everyone's feedback), not the employee's:
all a record to someone else than the person it is about keeps (``Message.ranking``)."""

FORMAT_BONUS = 0.5
"""Ranking points for a resource whose ``format`` suits the employee's ``learning_style``."""


def cycles_apart(graph: nx.DiGraph[Any]) -> list[list[tuple[Any, Any]]]:
    """A cycle (its edges) in each strongly connected part of ``graph`` that has one, so that a check can say every
    independent cycle at once (``find_cycle`` alone gives the first: an author fixed one and ran again for the
    next). Linear in the graph, ordered by each part's smallest node."""
    parts = [part for part in nx.strongly_connected_components(graph)
             if len(part) > 1 or any(graph.has_edge(n, n) for n in part)]
    return [list(nx.find_cycle(graph.subgraph(part))) for part in sorted(parts, key=lambda part: min(map(str, part)))]


def _topic_match(rank: int) -> str:
    """A candidate's rank (``_candidates``: twice the place of the topic asked for, one more through a topic below
    it) in words, for ``preview``."""
    asked = "the first topic asked for" if rank < 2 else f"topic {rank // 2 + 1} asked for"
    return f"topic match ({asked}{', through a topic below it' if rank % 2 else ''})"


def _in_words(reason: RankReason, rank: int) -> str:
    """A ranking reason as ``preview`` prints it."""
    match reason.why:
        case "topic" | "subtopic":
            return _topic_match(rank)
        case "department" | "location" | "role":
            return f"meant for your {reason.why}"
        case "language":
            return "in your language"
        case "engagement":
            return "your own clicks and ratings"
        case "related":
            return f"you liked the related {reason.about}"
        case "format":
            return f"{(reason.about or '').replace('_', '-')} suits your learning style"
        case _:
            return "colleagues rated it poorly or rarely clicked it"


def _node(kind: str, name: str) -> str:
    return f"{kind}:{name}"


def dated_order(days: Mapping[str, int], requires: Mapping[str, tuple[str, ...]], horizon_days: int
                ) -> tuple[dict[str, int], list[str]] | None:
    """A roadmap's order: each item's effective day (its own, or the latest of what it requires), and the items
    within ``horizon_days`` in ``requires`` order, earliest effective day first, then by id. None when the
    requirements go round in a cycle (``roadmap`` then orders by less). The same answer as
    ``dated_order_nx``, without building two graphs per roadmap."""
    waiting = {rid: len(reqs) for rid, reqs in requires.items()}
    needed_by: dict[str, list[str]] = {rid: [] for rid in days}
    for rid, reqs in requires.items():
        for req in reqs:
            needed_by[req].append(rid)
    effective: dict[str, int] = {}
    ready = [rid for rid in days if waiting[rid] == 0]
    while ready:
        rid = ready.pop()
        effective[rid] = max([days[rid], *(effective[p] for p in requires[rid])])
        for later in needed_by[rid]:
            waiting[later] -= 1
            if waiting[later] == 0:
                ready.append(later)
    if len(effective) != len(days):
        return None
    # What an item within the horizon requires is within it too (its day is no later), so each item waits for
    # all it requires.
    waiting = {rid: len(requires[rid]) for rid in days if effective[rid] <= horizon_days}
    heap = [(f"{effective[rid]:06d}:{rid}", rid) for rid, n in waiting.items() if n == 0]
    heapq.heapify(heap)
    ordered: list[str] = []
    while heap:
        _, rid = heapq.heappop(heap)
        ordered.append(rid)
        for later in needed_by[rid]:
            if later in waiting:
                waiting[later] -= 1
                if waiting[later] == 0:
                    heapq.heappush(heap, (f"{effective[later]:06d}:{later}", later))
    return effective, ordered


def dated_order_nx(days: Mapping[str, int], requires: Mapping[str, tuple[str, ...]], horizon_days: int
                   ) -> tuple[dict[str, int], list[str]]:
    """``dated_order`` with networkx's sorts (raises ``NetworkXUnfeasible`` on a cycle)."""
    order: nx.DiGraph[str] = nx.DiGraph()
    order.add_nodes_from(days)
    for rid, reqs in requires.items():
        for req in reqs:
            order.add_edge(req, rid)
    effective: dict[str, int] = {}
    for rid in nx.topological_sort(order):
        effective[rid] = max([days[rid], *(effective[p] for p in order.predecessors(rid))])
    in_horizon = [rid for rid in days if effective[rid] <= horizon_days]
    ordered = list(nx.lexicographical_topological_sort(order.subgraph(in_horizon),
                                                      key=lambda rid: f"{effective[rid]:06d}:{rid}"))
    return effective, ordered


_PROFILE_LINKS = ("department", "location", "role")


def eligible_for(r: ResourceSpec) -> dict[str, list[str]]:
    """The departments, locations and roles a resource's ``eligibility`` is written for: its top-level ``&&`` parts
    that compare ``employee.department``, ``.location`` or ``.role`` with text (``employee.department == "Sales"``,
    ``employee.location in ["Berlin", "Munich"]``). SPEC §5's ``eligible-for`` edges, and with them the ranking's
    graph proximity to the employee's department, location and role, as the optional ``departments``,
    ``locations`` and ``roles`` give them: a resource written for Sales is closer to a salesperson than one for
    everyone."""
    if r.eligibility is None:
        return {}
    found, _ = conjuncts(r.eligibility.source)
    out: dict[str, list[str]] = {}
    for (where, name), keys in found.items():
        if where == "employee" and name in _PROFILE_LINKS:
            out[name] = sorted(str(value) for kind, value in keys if kind == "s")
    return out


def _linked(graph: nx.DiGraph[str], resource_id: str, kind: str) -> Iterator[str]:
    """The names of the ``kind`` nodes the resource has an edge to."""
    node = _node("resource", resource_id)
    if node in graph:
        prefix = _node(kind, "")
        yield from (n[len(prefix):] for n in graph.successors(node) if n.startswith(prefix))


def _language_rank(own: str, locale: str) -> tuple[int, ...]:
    """How well a version in ``own`` suits a reader of ``locale``: as a template's text is chosen
    (:func:`~wayfinder.vocabulary.language_rank`), then no language of its own, English (what messages fall back
    to), another language."""
    if own:
        rank = language_rank(locale, own) if locale else (9,)
        if rank < (9,):
            return rank
    return (4,) if not own else (5,) if own.split("-")[0] == "en" else (6,)


def _in_language_of(r: ResourceSpec, employee: Mapping[str, Any]) -> bool:
    """A resource in the employee's language, whatever its region (a German one for a reader in Austria: only the
    exact locale counted, so an English resource ranked as high for them)."""
    own = (r.locale or "").lower()
    if not own:
        return False
    locale = str(employee.get("locale") or "").replace("_", "-").lower()
    return own == locale or (bool(locale) and own.split("-")[0] == locale.split("-")[0])


def _version_preference(r: ResourceSpec, locale: str, liked: str | None) -> tuple[Any, ...]:
    """Which version of a group an employee is given, smallest first: their locale, then their language (plain,
    then where it is most spoken, then another region: a Swiss reader got the Austrian text before the plain
    German one when its id came first), then the format of their learning style (extension), then a more
    specific eligibility, then one with no locale of its own, then English, before one in another language,
    then the id. Only among the versions they can use: eligible, and for a roadmap within its horizon, for a
    learning path on a path (the callers see to it).

    The format counts first only for a version they can read (their language, none of its own, or English): a
    French reader who likes reading was given the German reading version over the English video, and an English
    visual learner the German video over a neutral text; among versions in other languages it still decides
    before the id."""
    own = (r.locale or "").lower()
    rank = _language_rank(own, locale)
    suits = liked is not None and r.format == liked
    return (
        min(rank, (4,)),
        0 if suits and rank < (6,) else 1,
        0 if r.eligibility is not None else 1,
        rank,
        0 if suits else 1,
        r.id,
    )


def preferred_format(employee: Mapping[str, Any]) -> str | None:
    """The resource format that suits the employee's ``learning_style`` (None when they have none)."""
    style = employee.get("learning_style")
    return STYLE_FORMATS.get(style) if isinstance(style, str) else None


class CatalogGraph:
    """Topics, resources and the people, roles, departments and locations they relate to."""

    def __init__(self, topics: Iterable[TopicSpec] = (), resources: Iterable[ResourceSpec] = (),
                 calendar: WorkCalendar | None = None, roles: Iterable[RoleSpec] = (),
                 feedback: CatalogFeedback | None = None) -> None:
        self.calendar = calendar or WorkCalendar()  # roadmap items fall on working days
        self.topics: dict[str, TopicSpec] = {t.id: t for t in topics}
        self.resources: dict[str, ResourceSpec] = {r.id: r for r in resources}
        self.roles: dict[str, RoleSpec] = {r.id: r for r in roles}
        self.feedback = feedback or CatalogFeedback()  # everyone's ratings and clicks
        self.graph: nx.DiGraph[str] = nx.DiGraph()
        for spec in self.topics.values():
            self.graph.add_node(_node("topic", spec.id), kind="topic")
            if spec.parent:
                self.graph.add_edge(_node("topic", spec.id), _node("topic", spec.parent), rel="parent")
        for r in self.resources.values():
            self._add_resource(r)
        for role in self.roles.values():
            for skill in role.skills:
                self.graph.add_edge(_node("catalog-role", role.id), _node("skill", skill), rel="needs")
        self._views = {r.id: _resource_view(r) for r in self.resources.values()}
        # what an eligibility rule sees: a field the resource does not have is absent, not null, so has() is false
        # for it (SPEC §4), as for a profile's preference set to null
        self._rule_views = {rid: {k: v for k, v in view.items() if v is not None} for rid, view in self._views.items()}
        self._by_topic: dict[str, list[str]] = {}
        for r in self.resources.values():
            for t in r.topics:
                self._by_topic.setdefault(t, []).append(r.id)
        # What close_to asks the graph, kept per resource: the departments, locations and roles (case-folded) a
        # resource has an edge to. The graph does not change once built (as the topic caches below assume).
        self._linked = {r.id: {kind: frozenset(_linked(self.graph, r.id, kind)) for kind in _PROFILE_LINKS}
                        for r in self.resources.values()}
        self._group_of = {r.id: r.group for r in self.resources.values() if r.group is not None}
        self._teachers = {rid: 0 for rid, r in self.resources.items() if r.teaches}  # a learning path's candidates
        self._subtopics = lru_cache(maxsize=1024)(self._subtopics_uncached)
        self._lineage = lru_cache(maxsize=1024)(self._lineage_uncached)

    def _add_resource(self, r: ResourceSpec) -> None:
        self.graph.add_node(_node("resource", r.id), kind="resource")
        for t in r.topics:
            self.graph.add_edge(_node("resource", r.id), _node("topic", t), rel="about")
        for other in r.related:
            self.graph.add_edge(_node("resource", r.id), _node("resource", other), rel="related")
        for other in r.requires:
            self.graph.add_edge(_node("resource", r.id), _node("resource", other), rel="requires")
        required = eligible_for(r)
        for kind, values in (("department", r.departments), ("location", r.locations), ("role", r.roles)):
            for v in (*values, *required.get(kind, ())):
                self.graph.add_edge(_node("resource", r.id), _node(kind, v.casefold()), rel="eligible-for")
        for skill in r.teaches:
            self.graph.add_edge(_node("resource", r.id), _node("skill", skill), rel="teaches")
        for skill in r.requires_skills:
            self.graph.add_edge(_node("resource", r.id), _node("skill", skill), rel="requires-skill")

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
        cycles = self.requires_cycles()
        return cycles[0] if cycles else None

    def requires_cycles(self) -> list[list[str]]:
        """A ``requires`` cycle of each part of the graph that has one (validate says them all at once), as
        resource ids; those through a group of alternatives only when the written edges have none."""
        edges = [(u.split(":", 1)[1], v.split(":", 1)[1]) for u, v, d in self.graph.edges(data=True)
                 if d["rel"] == "requires"]
        written: nx.DiGraph[str] = nx.DiGraph(edges)
        if not nx.is_directed_acyclic_graph(written):  # linear; find_cycle alone is slow on a long chain
            return [[u for u, _ in cycle] for cycle in cycles_apart(written)]
        # Alternatives stand in for each other: what requires one of a group is given the one picked for the
        # employee (``_requires_picked``), so a group is one node, and a loop through it loops for someone.
        members: dict[str, list[str]] = {}
        for rid in sorted(self.resources):
            group = self.resources[rid].group
            if group is not None:
                members.setdefault(group, []).append(rid)

        def node(rid: str) -> str:
            group = self.resources[rid].group if rid in self.resources else None
            return rid if group is None else f"{' or '.join(members[group])} (alternatives in group {group})"

        grouped: nx.DiGraph[str] = nx.DiGraph((node(u), node(v)) for u, v in edges if node(u) != node(v))
        if nx.is_directed_acyclic_graph(grouped):
            return []
        found = []
        for edges_of_cycle in cycles_apart(grouped):
            cycle = [u for u, _ in edges_of_cycle]
            first = next((i for i, n in enumerate(cycle) if n in self.resources), 0)
            found.append(cycle[first:] + cycle[:first])
        return found

    def view(self, resource_id: str) -> dict[str, Any]:
        return self._views[resource_id]

    # -- selection ---------------------------------------------------------------------------
    def _candidates(self, topics: Sequence[str]) -> dict[str, int]:
        """Resource id -> rank of the best requested topic it is about (0 is the first asked for)."""
        found: dict[str, int] = {}
        for rank, topic in enumerate(topics):
            # The topic itself first, then its subtopics in order: a resource on both is directly about it,
            # whatever order a set of names iterates in (it differs between processes).
            for sub in (topic, *sorted(self.subtopics(topic) - {topic})):
                for rid in self._by_topic.get(sub, ()):
                    found.setdefault(rid, rank * 2 + (0 if sub == topic else 1))
        return found

    def requires_outside(self, topics: Sequence[str]) -> list[tuple[str, str]]:
        """(item, what it requires) for each item a roadmap over ``topics`` may list whose requirement that roadmap
        can never list: a resource about none of ``topics`` (nor below one), with no alternative (``group``) that
        is. The roadmap orders its items by what it picked, so such a requirement is left out of the order."""
        candidates = self._candidates(topics)
        groups = {self._group_of[rid] for rid in candidates if rid in self._group_of}
        out: list[tuple[str, str]] = []
        for rid in candidates:
            for req in dict.fromkeys(self.resources[rid].requires):
                other = self.resources.get(req)
                if other is None or req in candidates or (other.group is not None and other.group in groups):
                    continue  # an unknown id is reported at the catalog entry
                out.append((rid, req))
        return out

    def _eligible(self, resource: ResourceSpec, employee: Mapping[str, Any], errors: list[str]) -> bool:
        if resource.eligibility is None:
            return True
        ok, error = resource.eligibility.test({"employee": employee, "resource": self._rule_views[resource.id]})
        if error is not None:
            errors.append(f"resource {resource.id}: eligibility: {error}")
        return ok

    def _pick(self, topics: Sequence[str], employee: Mapping[str, Any], delivered: Iterable[str],
              opt_out_topics: Iterable[str], selection: Selection) -> list[tuple[ResourceSpec, int]]:
        opted = set(opt_out_topics)
        if opted and all(self.lineage(t) & opted for t in topics):
            selection.all_opted_out = True
            return []
        return self._pick_from(self._candidates(topics), employee, delivered, opted, selection)

    def _pick_from(self, candidates: Mapping[str, int], employee: Mapping[str, Any], delivered: Iterable[str],
                   opted: set[str], selection: Selection, *, all_versions: bool = False
                   ) -> list[tuple[ResourceSpec, int]]:
        """The candidates this employee may get, one of each group of alternatives (``_version_preference``);
        with ``all_versions`` every version they may get, for a caller that chooses among them by what it can
        use (a roadmap by its horizon, a learning path by its search)."""
        delivered_set = set(delivered)
        group_of = self._group_of
        delivered_groups = {group_of[d] for d in delivered_set if d in group_of}
        best_in_group: dict[str, tuple[tuple[Any, ...], ResourceSpec, int]] = {}
        picked: list[tuple[ResourceSpec, int]] = []
        locale = str(employee.get("locale") or "").replace("_", "-").lower()
        liked = preferred_format(employee)
        for rid, rank in candidates.items():
            r = self.resources[rid]
            if rid in delivered_set or (r.group is not None and r.group in delivered_groups):
                continue
            if opted and any(self.lineage(t) & opted for t in r.topics):
                continue
            if not self._eligible(r, employee, selection.errors):
                continue
            if r.group is None or all_versions:
                picked.append((r, rank))
                continue
            preference = _version_preference(r, locale, liked)
            current = best_in_group.get(r.group)
            if current is None or preference < current[0]:
                best_in_group[r.group] = (preference, r, rank)
        picked.extend((r, rank) for _, r, rank in best_in_group.values())
        return picked

    def close_to(self, r: ResourceSpec, employee: Mapping[str, Any]) -> list[tuple[str, str]]:
        """The parts of the employee's profile (department, location, role) this resource is linked to."""
        linked = self._linked.get(r.id)
        if linked is None:  # not one of this catalog's resources: ask the graph
            linked = {kind: frozenset(_linked(self.graph, r.id, kind)) for kind in _PROFILE_LINKS}
        out = []
        for kind in _PROFILE_LINKS:
            value = employee.get(kind)
            if isinstance(value, str) and value.casefold() in linked[kind]:
                out.append((kind, value))
        return out

    def _distance(self, r: ResourceSpec, topics: Sequence[str]) -> int:
        """How many levels below a requested topic the resource's nearest topic is (0: on one): graph proximity,
        between resources that score the same (a child topic's resource before a grandchild's)."""
        found = [len(chain) - len(self.lineage(q)) for t in r.topics for chain in (self.lineage(t),)
                 for q in topics if q in chain]
        return min(found, default=0)

    def _score(self, r: ResourceSpec, rank: int, employee: Mapping[str, Any], feedback: Mapping[str, float]) -> float:
        """The sum of ``score_parts``' points, added in the same order (so the same float), without their
        words."""
        score = 0.0 + (10.0 - rank)
        for _ in self.close_to(r, employee):
            score += 1.0
        if _in_language_of(r, employee):
            score += 0.5
        if r.id in feedback:
            score += feedback[r.id]
        for other in r.related:
            if feedback.get(other, 0.0) > 0:
                score += 0.25 * feedback[other]
        if r.format is not None and r.format == preferred_format(employee):
            score += FORMAT_BONUS
        demotion = self.feedback.points(r.id)
        if demotion:
            score += demotion
        return score

    def reasons(self, r: ResourceSpec, rank: int, topics: Sequence[str], employee: Mapping[str, Any],
                feedback: Mapping[str, float]) -> list[RankReason]:
        """Why a resource ranks where it does, in a form without words (what a message record carries, for the
        "why did I get this?" page to say in its reader's language): the same reasons as ``score_parts``, in its
        order, with the same points. ``topics``: the topics asked for (``rank`` names one of them)."""
        asked = topics[rank // 2] if topics and rank // 2 < len(topics) else None
        out = [RankReason(why="subtopic" if rank % 2 else "topic", points=10.0 - rank, about=asked)]
        out.extend(RankReason(why=kind, points=1.0) for kind, _ in self.close_to(r, employee))
        if _in_language_of(r, employee):
            out.append(RankReason(why="language", points=0.5))
        if r.id in feedback:
            out.append(RankReason(why="engagement", points=feedback[r.id]))
        for other in r.related:
            if feedback.get(other, 0.0) > 0:
                out.append(RankReason(why="related", points=0.25 * feedback[other], about=other))
        if r.format is not None and r.format == preferred_format(employee):
            out.append(RankReason(why="format", points=FORMAT_BONUS, about=r.format))
        demotion = self.feedback.points(r.id)
        if demotion:
            out.append(RankReason(why="colleagues", points=demotion))
        return out

    def score_parts(self, r: ResourceSpec, rank: int, employee: Mapping[str, Any],
                    feedback: Mapping[str, float]) -> list[tuple[str, float]]:
        """Why a resource ranks where it does: (reason, points), summed in this order (``reasons`` in words)."""
        return [(_in_words(reason, rank), reason.points) for reason in self.reasons(r, rank, (), employee, feedback)]

    def why(self, resource_id: str, topics: Sequence[str], employee: Mapping[str, Any],
            feedback: Mapping[str, float] | None = None) -> list[str]:
        """The ranking of one resource for ``preview``: each reason with its points, and everyone's feedback."""
        r = self.resources.get(resource_id)
        if r is None:
            return []
        rank = self._candidates(topics).get(resource_id, 0) if topics else 0
        parts = self.score_parts(r, rank, employee, feedback or {})
        if not topics:  # a learning path asks for skills, not topics: every resource starts level
            parts[0] = ("no topic asked for, every resource starts at", parts[0][1])
        out = [f"{reason} {points:+.2f}" for reason, points in parts]
        out.append(f"score {self._score(r, rank, employee, feedback or {}):.2f}")
        standing = self.feedback.standing(resource_id)
        if standing is not None:
            out.append(f"colleagues' feedback: {standing.describe()}")
        return out

    def variant_note(self, resource_id: str, employee: Mapping[str, Any]) -> str | None:
        """For a resource with alternatives (a ``group``): why this one of them."""
        r = self.resources.get(resource_id)
        if r is None or r.group is None:
            return None
        liked = preferred_format(employee)
        if liked is not None and r.format == liked:
            why = f"{r.format.replace('_', '-')} suits your learning style"
        elif liked is not None and any(o.group == r.group and o.format == liked for o in self.resources.values()):
            why = (f"the {liked.replace('_', '-')} version that suits your learning style is not one you can use "
                   "here (eligibility, language, what it requires, or the roadmap's horizon)")
        else:
            why = "the first that fits your eligibility and language"
        return f"one of the alternatives in group {r.group}: {why}"

    def select(self, topics: Sequence[str], employee: Mapping[str, Any], *, limit: int = 5,
               delivered: Iterable[str] = (), opt_out_topics: Iterable[str] = (),
               feedback: Mapping[str, float] | None = None) -> Selection:
        """Resources about ``topics`` for this employee: eligible, new to them, not opted out, ranked."""
        selection = Selection()
        picked = self._pick(topics, employee, delivered, opt_out_topics, selection)
        fb = feedback or {}
        picked.sort(key=lambda p: (-self._score(p[0], p[1], employee, fb), self._distance(p[0], topics), p[0].id))
        selection.resources = [r for r, _ in picked[:limit]]
        selection.ranking = {r.id: self.reasons(r, rank, topics, employee, fb) for r, rank in picked[:limit]}
        return selection

    def roadmap(self, topics: Sequence[str], employee: Mapping[str, Any], *, start: date, horizon_days: int,
                delivered: Iterable[str] = (), opt_out_topics: Iterable[str] = ()) -> Selection:
        """Dated items in ``requires`` order: every item comes after what it requires, and not before its date."""
        selection = Selection()
        country = employee.get("country")
        opted = set(opt_out_topics)
        if opted and all(self.lineage(t) & opted for t in topics):
            selection.all_opted_out = True
            return selection
        allowed = self._pick_from(self._candidates(topics), employee, delivered, opted, selection, all_versions=True)
        plain = {r.id: r for r, _ in allowed if r.group is None}
        versions: dict[str, list[ResourceSpec]] = {}
        for r, _ in allowed:
            if r.group is not None:
                versions.setdefault(r.group, []).append(r)
        locale = str(employee.get("locale") or "").replace("_", "-").lower()
        liked = preferred_format(employee)
        for found in versions.values():
            found.sort(key=lambda r: _version_preference(r, locale, liked))
        choice = dict.fromkeys(versions, 0)
        while True:
            # The version preferred among those that fall within the horizon: one dated after it (on its own
            # day, or through what it requires) gives way to the next of its group, so a reading learner whose
            # reading version comes too late still gets the item (their roadmap came out without it, and without
            # everything that required it). Usually one round.
            picked = {**plain, **{found[choice[g]].id: found[choice[g]] for g, found in versions.items()}}
            requires, effective, ordered = self._dated(picked, horizon_days, selection)
            kept = set(ordered)
            too_late = [g for g, found in versions.items()
                        if found[choice[g]].id not in kept and choice[g] + 1 < len(found)]
            if not too_late:
                break
            for g in too_late:
                choice[g] += 1
        for rid in ordered:
            r = picked[rid]
            day = effective[rid]
            when = self.calendar.working_day(start, day, country if isinstance(country, str) else None)
            selection.roadmap.append(RoadmapItem(rid, r.title, r.url, r.type, day, when, requires[rid],
                                                 tuple(sorted(r.titles.items())), tuple(r.teaches), r.format))
        selection.resources = [picked[rid] for rid in ordered]
        return selection

    def _dated(self, picked: Mapping[str, ResourceSpec], horizon_days: int, selection: Selection
               ) -> tuple[dict[str, tuple[str, ...]], dict[str, int], list[str]]:
        """What each picked item requires among the picked, each item's effective day, and the items within the
        horizon in order (``dated_order``)."""
        chosen_variant = {r.group: r.id for r in picked.values() if r.group is not None}
        requires = {r.id: self._requires_picked(r, picked, chosen_variant) for r in picked.values()}
        days = {rid: r.day or 1 for rid, r in picked.items()}
        found = dated_order(days, requires, horizon_days)
        selection.requires_cycle = found is None
        if found is None:  # alternatives closed a loop (``validate`` says so): what each requires as written
            requires = {r.id: tuple(q for q in dict.fromkeys(r.requires) if q in picked) for r in picked.values()}
            found = dated_order(days, requires, horizon_days)
        if found is None:  # not even those are in order (a catalog that was not validated): by day and id
            requires = {rid: () for rid in picked}
            found = dated_order(days, requires, horizon_days)
        effective, ordered = found or ({}, [])  # with nothing required, nothing goes round: never empty
        return requires, effective, ordered

    def _requires_picked(self, r: ResourceSpec, picked: Mapping[str, ResourceSpec],
                         chosen_variant: Mapping[str, str]) -> tuple[str, ...]:
        """What ``r`` requires among the picked items; a required item that has alternatives (a ``group``) is
        satisfied by the variant picked for this employee."""
        out: list[str] = []
        for req in r.requires:
            other = self.resources.get(req)
            variant = chosen_variant.get(other.group) if other is not None and other.group is not None else None
            if req in picked:
                out.append(req)
            elif variant is not None and variant != r.id:
                out.append(variant)
        return tuple(dict.fromkeys(out))

    # -- learning paths (extension) -------------------------------------------------------------
    @staticmethod
    def _versions_in_preference(ranked: list[ResourceSpec], locale: str, liked: str | None) -> list[ResourceSpec]:
        """The ranking, with the versions of each group put in the places its versions hold in the order
        ``_version_preference`` gives them: where two paths differ only in the version of a group, the search
        (which goes in this order) takes the one ``select`` and ``roadmap`` would give."""
        slots: dict[str, list[int]] = {}
        for i, r in enumerate(ranked):
            if r.group is not None:
                slots.setdefault(r.group, []).append(i)
        out = list(ranked)
        for places in slots.values():
            if len(places) > 1:
                versions = sorted((ranked[i] for i in places), key=lambda r: _version_preference(r, locale, liked))
                for i, r in zip(places, versions, strict=True):
                    out[i] = r
        return out

    def role_for(self, name: str) -> RoleSpec | None:
        """The catalog role with this id, or whose ``matches`` or ``title`` is ``name`` (any case), else whose id
        is ``name`` written as skills may be (any case, spaces or underscores: ``First line manager``)."""
        if name in self.roles:
            return self.roles[name]
        wanted = name.strip().casefold()
        ordered = sorted(self.roles.values(), key=lambda r: r.id)
        for role in ordered:
            if wanted in {m.strip().casefold() for m in (*role.matches, role.title or "")}:
                return role
        key = skill_key(name)
        return next((role for role in ordered if skill_key(role.id) == key), None)

    def learning_path(self, role: RoleSpec, employee: Mapping[str, Any], *, start: date, horizon_days: int,
                      pace_days: int, opt_out_topics: Iterable[str] = (),
                      feedback: Mapping[str, float] | None = None) -> Selection:
        """The fewest eligible resources that teach the role's skills this employee lacks, prerequisites first,
        one due every ``pace_days`` from ``start`` (on a working day) while within ``horizon_days``."""
        selection = Selection()
        # Every version of a group the employee may get: the path's search takes at most one of each, the one
        # that makes the smallest path, and among those the preferred (``_version_preference``). Picking the
        # preferred version first lost the path when it needed a skill this employee cannot learn and another
        # version needed none.
        picked = self._pick_from(self._teachers, employee, (), set(opt_out_topics), selection, all_versions=True)
        fb = feedback or {}
        picked.sort(key=lambda p: (-self._score(p[0], 0, employee, fb), p[0].id))
        ranked = self._versions_in_preference(
            [r for r, _ in picked], str(employee.get("locale") or "").replace("_", "-").lower(),
            preferred_format(employee))
        skills = employee.get("skills")
        have = [s for s in skills if isinstance(s, str)] if isinstance(skills, list) else []
        plan = plan_path(ranked, have, role.skills)
        selection.path = plan
        country = employee.get("country")
        taught_by: dict[str, str] = {}
        for n, rid in enumerate(plan.resources, start=1):
            r = self.resources[rid]
            day = n * pace_days
            if day > horizon_days:
                break
            when = self.calendar.working_day(start + timedelta(days=day), 1, country if isinstance(country, str)
                                             else None)
            requires = tuple(dict.fromkeys(taught_by[k] for k in map(skill_key, r.requires_skills) if k in taught_by))
            selection.roadmap.append(RoadmapItem(rid, r.title, r.url, r.type, day, when, requires,
                                                 tuple(sorted(r.titles.items())), tuple(r.teaches), r.format))
            selection.resources.append(r)
            for k in map(skill_key, r.teaches):
                taught_by.setdefault(k, rid)
        return selection


def _resource_view(r: ResourceSpec) -> dict[str, Any]:
    return {
        "id": r.id, "type": r.type, "title": r.title, "titles": dict(r.titles), "url": r.url,
        "topics": list(r.topics), "group": r.group,
        "locale": r.locale, "day": r.day, "requires": list(r.requires), "related": list(r.related),
        "departments": list(r.departments), "locations": list(r.locations), "roles": list(r.roles),
        "format": r.format, "teaches": list(r.teaches), "requires_skills": list(r.requires_skills),
    }
