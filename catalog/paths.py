"""Learning paths: the fewest resources that teach the skills a person lacks, every required skill taught first.

The skills graph (networkx): an edge ``resource -> skill`` for each skill it ``teaches`` and ``skill ->
resource`` for each skill it ``requires_skills``. The resources that can matter for a target are the
ancestors of its missing skills. Choosing the fewest of them is a set cover with prerequisites (NP-hard), so:

- with at most ``EXACT_LIMIT`` relevant resources the search is exact: sets are tried by size, and within a
  size in the order of the caller's preference (the ranking), so the first that works is the smallest, and
  among the smallest the one the ranking prefers;
- with more, a greedy choice (at each point, of the resources whose prerequisites are met, the one that
  teaches most missing target skills, then most skills on the way to them, then the preferred), after which
  every resource the path can do without is dropped (the least preferred first). Deterministic, not always
  the smallest.

The order: repeatedly the most preferred resource whose required skills are held or already taught.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

import networkx as nx

from wayfinder.catalog.model import ResourceSpec, skill_key

EXACT_LIMIT = 12


@dataclass(frozen=True)
class PathPlan:
    """What a learning path takes, in order, and what it cannot reach."""

    resources: tuple[str, ...]
    missing: tuple[str, ...]  # the target's skills the person lacks (sorted)
    unreachable: tuple[str, ...]  # missing skills no resource here can teach, even through prerequisites
    exact: bool  # the path is proven to be a smallest one


def _skill(name: str) -> str:
    return f"skill:{name}"


def skills_graph(resources: Iterable[ResourceSpec]) -> nx.DiGraph[str]:
    """``resource -> skill`` it teaches, ``skill -> resource`` that requires it."""
    g: nx.DiGraph[str] = nx.DiGraph()
    for r in resources:
        g.add_node(r.id, kind="resource")
        for s in r.teaches:
            g.add_edge(r.id, _skill(skill_key(s)), rel="teaches")
        for s in r.requires_skills:
            g.add_edge(_skill(skill_key(s)), r.id, rel="requires-skill")
    return g


def reachable_skills(resources: Sequence[ResourceSpec], have: Iterable[str]) -> set[str]:
    """Every skill someone holding ``have`` can learn from ``resources`` (prerequisites first)."""
    known = {skill_key(s) for s in have}
    left = list(resources)
    progress = True
    while progress:
        progress = False
        for r in list(left):
            if {skill_key(s) for s in r.requires_skills} <= known:
                known |= {skill_key(s) for s in r.teaches}
                left.remove(r)
                progress = True
    return known


class _Problem:
    def __init__(self, resources: Sequence[ResourceSpec], have: set[str], need: set[str]) -> None:
        self.order = [r.id for r in resources]  # the caller's preference
        self.rank = {rid: i for i, rid in enumerate(self.order)}
        self.teaches = {r.id: frozenset(skill_key(s) for s in r.teaches) for r in resources}
        self.requires = {r.id: frozenset(skill_key(s) for s in r.requires_skills) for r in resources}
        self.have = have
        self.need = need
        # the same as bit sets, for the exact search's many candidate sets
        self._bit = {s: 1 << i for i, s in enumerate(sorted({*have, *need, *(x for r in resources for x in (
            *map(skill_key, r.teaches), *map(skill_key, r.requires_skills)))}))}
        self.teach_bits = {rid: self._bits(t) for rid, t in self.teaches.items()}
        self.require_bits = {rid: self._bits(t) for rid, t in self.requires.items()}
        self.have_bits = self._bits(have)
        self.need_bits = self._bits(need)

    def _bits(self, skills: Iterable[str]) -> int:
        return sum(self._bit[s] for s in set(skills))

    def schedule(self, chosen: Iterable[str]) -> list[str] | None:
        """The chosen resources in an order where every required skill comes first; None if there is none, or
        if they do not teach every needed skill."""
        known = self.have_bits
        left = sorted(chosen, key=self.rank.__getitem__)
        out: list[str] = []
        while left:
            ready = next((rid for rid in left if self.require_bits[rid] & ~known == 0), None)
            if ready is None:
                return None
            out.append(ready)
            known |= self.teach_bits[ready]
            left.remove(ready)
        return out if self.need_bits & ~known == 0 else None

    def exact(self, candidates: list[str]) -> list[str] | None:
        for size in range(1, len(candidates) + 1):
            for chosen in combinations(candidates, size):
                taught = self.have_bits
                for rid in chosen:
                    taught |= self.teach_bits[rid]
                if self.need_bits & ~taught:  # cannot cover: no need to order them
                    continue
                order = self.schedule(chosen)
                if order is not None:
                    return order
        return None

    def greedy(self, candidates: list[str], closure: set[str]) -> list[str] | None:
        known = set(self.have)
        chosen: list[str] = []
        while not self.need <= known:
            ready = [rid for rid in candidates if rid not in chosen and self.requires[rid] <= known]
            if not ready:
                return None
            best = min(ready, key=lambda rid: (-len(self.teaches[rid] & (self.need - known)),
                                               -len(self.teaches[rid] & (closure - known)), self.rank[rid]))
            if not self.teaches[best] & (closure - known):
                return None
            chosen.append(best)
            known |= self.teaches[best]
        for rid in sorted(chosen, key=self.rank.__getitem__, reverse=True):  # drop what the path can do without
            if self.schedule(r for r in chosen if r != rid) is not None:
                chosen.remove(rid)
        return self.schedule(chosen)


def plan_path(resources: Sequence[ResourceSpec], have: Iterable[str], target: Iterable[str], *,
              exact_limit: int = EXACT_LIMIT) -> PathPlan:
    """The fewest of ``resources`` (given in order of preference) that teach ``target`` to someone who has
    ``have``, in an order where each resource's required skills are held or taught before it."""
    held = {skill_key(s) for s in have}
    missing = {skill_key(s) for s in target} - held
    reachable = reachable_skills(resources, held)
    need = missing & reachable
    result = PathPlan((), tuple(sorted(missing)), tuple(sorted(missing - reachable)), exact=True)
    if not need:
        return result
    g = skills_graph(resources)
    closure: set[str] = set()
    for s in need:
        closure |= nx.ancestors(g, _skill(s))
    useful = [r for r in resources if r.id in closure and reachable >= {skill_key(s) for s in r.requires_skills}]
    problem = _Problem(useful, held, need)
    candidates = [r.id for r in useful]
    skills_on_the_way = {n.removeprefix("skill:") for n in closure if n.startswith("skill:")} - held
    exact = len(candidates) <= exact_limit
    order = problem.exact(candidates) if exact else problem.greedy(candidates, skills_on_the_way | need)
    return PathPlan(tuple(order or ()), result.missing, result.unreachable, exact=exact)
