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

Versions of one resource (a ``group``) are alternatives: a path takes at most one of them (a person is given one
version of a course, never two), so the search, not a choice made before it, decides which: the smallest path
first, and among the smallest the version the caller's order prefers. When versions of different groups stand in
each other's way so that no path covers every skill ``reachable_skills`` let through (it looks one level deep),
the path covers what a greedy choice can, and the rest is reported as unreachable.
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
    """Every skill someone holding ``have`` can learn from ``resources`` (prerequisites first). A version of a
    ``group`` counts only when what it requires can be learned without another version of its group: a person
    gets one version, so a version that needs what only its alternative teaches is never of use (validation
    passed such a role skill, and every path to it came out empty). One level deep only (what is learned on
    the way may still take two versions of another group): ``plan_path`` then covers what it can."""
    held = {skill_key(s) for s in have}
    members: dict[str, int] = {}
    for r in resources:
        if r.group is not None:
            members[r.group] = members.get(r.group, 0) + 1
    without: dict[str, set[str]] = {}  # per group: what can be learned without any of its versions
    usable: list[ResourceSpec] = []
    for r in resources:
        needs = {skill_key(s) for s in r.requires_skills}
        if r.group is None or members[r.group] == 1 or needs <= held:
            usable.append(r)
            continue
        if r.group not in without:
            without[r.group] = _closure([o for o in resources if o.group != r.group], held)
        if needs <= without[r.group]:
            usable.append(r)
    return _closure(usable, held)


def _closure(resources: Sequence[ResourceSpec], held: set[str]) -> set[str]:
    """What ``resources`` teach someone holding ``held``, taking each whose required skills are known by then."""
    known = set(held)
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
        self.group = {r.id: r.group for r in resources if r.group is not None}  # at most one version of each
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

    def schedule(self, chosen: Iterable[str], need_bits: int | None = None) -> list[str] | None:
        """The chosen resources in an order where every required skill comes first; None if there is none, or
        if they do not teach every needed skill (``need_bits``: these instead of the target's)."""
        need_bits = self.need_bits if need_bits is None else need_bits
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
        return out if need_bits & ~known == 0 else None

    def _one_version_each(self, chosen: Sequence[str]) -> bool:
        groups = [self.group[rid] for rid in chosen if rid in self.group]
        return len(groups) == len(set(groups))

    def exact(self, candidates: list[str]) -> list[str] | None:
        for size in range(1, len(candidates) + 1):
            for chosen in combinations(candidates, size):
                taught = self.have_bits
                for rid in chosen:
                    taught |= self.teach_bits[rid]
                if self.need_bits & ~taught:  # cannot cover: no need to order them
                    continue
                if self.group and not self._one_version_each(chosen):
                    continue
                order = self.schedule(chosen)
                if order is not None:
                    return order
        return None

    def greedy(self, candidates: list[str], closure: set[str], *, partial: bool = False) -> list[str] | None:
        """The greedy path; None when it gets stuck before covering the target, or with ``partial`` the path to
        the target skills it did cover."""
        known = set(self.have)
        chosen: list[str] = []
        taken: set[str] = set()  # groups a version was chosen from
        while not self.need <= known:
            ready = [rid for rid in candidates if rid not in chosen and self.requires[rid] <= known
                     and (rid not in self.group or self.group[rid] not in taken)]
            best = min(ready, key=lambda rid: (-len(self.teaches[rid] & (self.need - known)),
                                               -len(self.teaches[rid] & (closure - known)), self.rank[rid]),
                       default=None)
            if best is None or not self.teaches[best] & (closure - known):
                if not partial:
                    return None
                break
            chosen.append(best)
            if best in self.group:
                taken.add(self.group[best])
            known |= self.teaches[best]
        need_bits = self._bits(self.need & known)
        dropped = True
        while dropped:  # drop what the path can do without, again after each drop: one dropped (a resource that
            dropped = False  # needed another's skill) may leave the other with nothing to do
            for rid in sorted(chosen, key=self.rank.__getitem__, reverse=True):
                if self.schedule((r for r in chosen if r != rid), need_bits) is not None:
                    chosen.remove(rid)
                    dropped = True
        return self.schedule(chosen, need_bits)


def _around_versions(problem: _Problem, candidates: list[str], closure: set[str]) -> list[str] | None:
    """The greedy path when it got stuck on versions: a version taken early (for one skill) shut out the version of
    its group that alone teaches another. Each round leaves out the other versions of a group that is the only one
    to teach a skill the last try could not cover, and tries again (at most once per group)."""
    banned: set[str] = set()
    for _ in range(len(set(problem.group.values()))):
        left = [rid for rid in candidates if rid not in banned]
        known = set(problem.have).union(*(problem.teaches[rid] for rid in problem.greedy(left, closure,
                                                                                         partial=True) or []))
        more: set[str] = set()
        for skill in problem.need - known:
            groups = {problem.group.get(rid) for rid in left if skill in problem.teaches[rid]}
            if len(groups) == 1 and None not in groups:  # only versions of one group teach it
                group = groups.pop()
                more |= {rid for rid in left if problem.group.get(rid) == group and skill not in problem.teaches[rid]}
        if not more:
            return None
        banned |= more
        order = problem.greedy([rid for rid in candidates if rid not in banned], closure)
        if order is not None:
            return order
    return None


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
    if order is None and not exact and problem.group:
        order = _around_versions(problem, candidates, skills_on_the_way | need)
    if order is None:  # versions of groups in each other's way: what can be covered, and the rest unreachable
        order = problem.greedy(candidates, skills_on_the_way | need, partial=True) or []
        taught = {s for rid in order for s in problem.teaches[rid]}
        return PathPlan(tuple(order), result.missing, tuple(sorted(missing - (reachable & taught))), exact=False)
    return PathPlan(tuple(order), result.missing, result.unreachable, exact=exact)
