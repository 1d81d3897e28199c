"""The fairness report: per journey and attribute, who was enrolled, reached, held for review, ...

Rates count people. A cell is a group's figures: a group with fewer than ``k`` people is never shown (nor its
name), and the next smallest groups are hidden with it until the hidden ones are at least two and, together, hold
at least ``k`` people, so that no hidden figure can be worked out from the total. A breakdown of fewer than ``k``
people in all shows nothing, as the journey's header hides the same figure. How many of a shown group a metric
counts is shown whatever it is (a group below four fifths is the finding a person must see, and it usually counts
few): the group, not the count, is what must hold ``k`` people. The number held out is shown as it is: who is held
out is a hash draw that says nothing about a person. The four-fifths rule compares each shown group's favourable
rate with the best shown group's; a group below four fifths is a finding, ``flag`` when the difference is
statistically meaningful and ``watch`` when it may be chance (see :func:`finding`).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Literal

from wayfinder.journeys.model import Fairness
from wayfinder.reports.groups import AGE_BAND, group_of
from wayfinder.reports.inputs import ReportInputs
from wayfinder.reports.people import Person, journey_people
from wayfinder.reports.stats import difference, wilson

FOUR_FIFTHS = Fraction(4, 5)
Finding = Literal["best", "flag", "watch", "ok"]


@dataclass(frozen=True)
class Metric:
    name: str
    population: Callable[[Person], bool]
    success: Callable[[Person], bool]
    favourable: bool | None  # True: higher is better; False: lower is better; None: not judged
    meaning: str


METRICS = (
    Metric("enrollment", lambda p: p.in_audience, lambda p: p.enrolled, True,
           "enrolled, of those who had the journey's trigger event"),
    Metric("delivery", lambda p: p.reached, lambda p: p.delivered, True,
           "had at least one message about them sent or approved (to them, or e.g. their manager), of those "
           "enrolled and not held out"),
    Metric("suppression", lambda p: p.reached, lambda p: p.suppressed, False,
           "had at least one message suppressed (not for the holdout), of those enrolled and not held out"),
    Metric("review", lambda p: p.reached, lambda p: p.reviewed, None,
           "had at least one message sent to a person for review, of those enrolled and not held out"),
    Metric("rejection", lambda p: p.reviewed, lambda p: p.rejected, False,
           "had at least one message rejected by a reviewer, of those with a message under review"),
)


@dataclass(frozen=True)
class GroupCell:
    """A breakdown's figures for one group (``all``: everyone): its name, and how many people it holds."""

    group: str
    n: int


@dataclass(frozen=True)
class Cell(GroupCell):
    count: int
    rate: float
    low: float
    high: float
    impact_ratio: float | None = None  # favourable rate over the best group's
    finding: Finding | None = None


@dataclass(frozen=True)
class Breakdown:
    metric: str
    attribute: str
    overall: Cell | None  # None: fewer than k people in all
    cells: list[Cell]
    hidden_groups: int
    # hidden groups of k people or more (hidden beside a small one, so that it cannot be worked out) that are below
    # four fifths of the best group, the difference meaningful: said, never their figures (an audit on 2026-12-04:
    # a group of 20 at 0.75 was hidden beside a group of 3, and the findings said "none")
    hidden_flagged: int = 0
    # shown groups judged fine against the best shown group but below four fifths of a hidden one (meaningful):
    # counted the same way, nothing said of the hidden group (a review's find: B at 0.74 beside a hidden 0.95)
    below_hidden: int = 0


@dataclass(frozen=True)
class ValueCell(GroupCell):
    value: float


@dataclass(frozen=True)
class ValueBreakdown:
    measure: str  # hours_to_first_message (median) | resources_offered (mean)
    attribute: str
    overall: ValueCell | None
    cells: list[ValueCell]
    hidden_groups: int


@dataclass(frozen=True)
class JourneyFairness:
    journey_id: str
    audience: int | None  # None when fewer than k
    enrolled: int | None  # None when the audience is: the count of the audience's enrollment cell
    held_out: int  # shown as it is (see the module's note)
    breakdowns: list[Breakdown]
    values: list[ValueBreakdown]


@dataclass(frozen=True)
class FairnessReport:
    k: int
    as_of: str
    attributes: list[str]
    protected: list[str]
    journeys: list[JourneyFairness]
    erased_people_excluded: int | None  # None: fewer than k (or none)


def shown_count(n: int, k: int) -> int | None:
    """A number of people as the report may show it: 0 (it singles no one out) or at least k; else None."""
    return n if n == 0 or n >= k else None


def hidden(sizes: dict[str, int], k: int) -> set[str]:
    """Groups not to show: those under k people, and then the next smallest ones until the hidden groups are at
    least two and hold k people together, so no hidden figure can be worked out from the total."""
    out = {g for g, n in sizes.items() if n < k}
    rest = sorted((n, g) for g, n in sizes.items() if g not in out)
    while out and rest and (len(out) < 2 or sum(sizes[g] for g in out) < k):
        out.add(rest.pop(0)[1])
    return out


def finding(fav: int, n: int, best_fav: int, best_n: int) -> tuple[float | None, Finding]:
    """The four-fifths rule with uncertainty, for one group against the best group.

    ``ratio`` = the group's favourable rate / the best group's. ``flag`` when ratio < 0.8 and the
    95% Newcombe interval of (best rate - group rate) lies above zero; ``watch`` when ratio < 0.8
    but that interval includes zero (the difference may be chance); ``ok`` otherwise.
    """
    if best_fav == 0:
        return None, "ok"
    ratio = Fraction(fav * best_n, n * best_fav)  # exact, so a ratio of exactly 4/5 is never flagged
    if ratio >= FOUR_FIFTHS:
        return float(ratio), "ok"
    return float(ratio), "flag" if difference(best_fav, best_n, fav, n).low > 0 else "watch"


def _cell(group: str, n: int, count: int) -> Cell:
    ci = wilson(count, n)
    return Cell(group, n, count, count / n, ci.low, ci.high)


def _judge(cells: list[Cell], favourable: bool) -> list[Cell]:
    def fav(c: Cell) -> int:
        return c.count if favourable else c.n - c.count

    if len(cells) < 2:
        return cells
    best = max(cells, key=lambda c: (fav(c) / c.n, c.n, c.group))
    out = []
    for c in cells:
        if c is best:
            out.append(replace(c, impact_ratio=1.0, finding="best"))
            continue
        ratio, verdict = finding(fav(c), c.n, fav(best), best.n)
        out.append(replace(c, impact_ratio=ratio, finding=verdict))
    return out


Tally = tuple[dict[str, int], dict[str, int]]  # people per group, and how many of them the metric counts


def tally(metric: Metric, people: dict[str, tuple[Person, str]]) -> Tally:
    n: dict[str, int] = defaultdict(int)
    x: dict[str, int] = defaultdict(int)
    for person, group in people.values():
        if metric.population(person):
            n[group] += 1
            x[group] += metric.success(person)
    return dict(n), dict(x)


def breakdown(metric: Metric, attribute: str, people: dict[str, tuple[Person, str]], k: int) -> Breakdown:
    """One metric split by one attribute; ``people`` maps an id to (outcome, group)."""
    n, x = tally(metric, people)
    total_n, total_x = sum(n.values()), sum(x.values())
    if total_n < k:
        return Breakdown(metric.name, attribute, None, [], len(n))
    hide = hidden(n, k)
    cells = [_cell(g, n[g], x[g]) for g in sorted(n) if g not in hide]
    flagged = below = 0
    if metric.favourable is not None:
        cells = _judge(cells, metric.favourable)
        if hide:  # judged among every group big enough to be judged at all, as if none were hidden
            every = {c.group: c for c in _judge([_cell(g, n[g], x[g]) for g in sorted(n) if n[g] >= k],
                                                 metric.favourable)}
            flagged = sum(1 for g, c in every.items() if g in hide and c.finding == "flag")
            below = sum(1 for c in cells if c.finding != "flag" and c.group in every
                        and every[c.group].finding == "flag")
    return Breakdown(metric.name, attribute, _cell("all", total_n, total_x), cells, len(hide), flagged, below)


def value_breakdown(measure: str, attribute: str, values: dict[str, tuple[float, str]], k: int,
                    summary: Callable[[list[float]], float]) -> ValueBreakdown:
    """One measure split by one attribute, its groups hidden as a metric's are (by how many people they hold)."""
    groups: dict[str, list[float]] = defaultdict(list)
    for value, group in values.values():
        groups[group].append(value)
    everything = [v for vs in groups.values() for v in vs]
    if len(everything) < k:
        return ValueBreakdown(measure, attribute, None, [], len(groups))
    hide = hidden({g: len(vs) for g, vs in groups.items()}, k)
    cells = [ValueCell(g, len(vs), summary(vs)) for g, vs in sorted(groups.items()) if g not in hide]
    return ValueBreakdown(measure, attribute, ValueCell("all", len(everything), summary(everything)), cells,
                          len(hide))


def _mean(values: list[float]) -> float:
    return statistics.fmean(values)


ALWAYS_COMPARED = ("department", "location")
"""SPEC §9: the report compares across department and location whatever else HR configures."""


def compared_attributes(fairness: Fairness) -> list[str]:
    """The configured attributes, department and location if not among them, then every protected one (SPEC §9);
    a protected birth date is compared as the age band, never by the date itself."""
    out: list[str] = []
    for name in [*fairness.attributes, *ALWAYS_COMPARED, *fairness.protected]:
        name = AGE_BAND if name == fairness.birth_date_field else name
        if name not in out:
            out.append(name)
    return out


def journey_fairness(inputs: ReportInputs, journey_id: str) -> JourneyFairness:
    fairness = inputs.fairness
    people = journey_people(inputs, journey_id)
    k, on = fairness.k, inputs.as_of
    breakdowns: list[Breakdown] = []
    values: list[ValueBreakdown] = []
    for attribute in compared_attributes(fairness):
        grouped = {pid: (p, group_of(inputs.profiles.get(pid), attribute, fairness, on)) for pid, p in people.items()}
        breakdowns += [breakdown(m, attribute, grouped, k) for m in METRICS]
        hours = {pid: (h, g) for pid, (p, g) in grouped.items() if p.reached and (h := p.hours_to_first) is not None}
        offered = {pid: (float(len(p.resources)), g) for pid, (p, g) in grouped.items() if p.reached}
        values.append(value_breakdown("hours_to_first_message", attribute, hours, k, statistics.median))
        values.append(value_breakdown("resources_offered", attribute, offered, k, _mean))
    audience = shown_count(sum(p.in_audience for p in people.values()), k)
    return JourneyFairness(
        journey_id,
        audience=audience,
        enrolled=None if audience is None else sum(p.enrolled for p in people.values()),
        held_out=sum(p.held_out for p in people.values()),
        breakdowns=breakdowns, values=values)


def fairness_report(inputs: ReportInputs) -> FairnessReport:
    """The whole report, for every journey that is defined or has records (a digest is not a journey: the
    messages gathered into it count in theirs)."""
    ids = sorted(set(inputs.journeys) | {m.journey_id for m in inputs.messages if not m.is_digest}
                 | {t.journey_id for t in inputs.tasks})
    return FairnessReport(k=inputs.fairness.k, as_of=inputs.as_of.isoformat(),
                          attributes=compared_attributes(inputs.fairness), protected=list(inputs.fairness.protected),
                          journeys=[journey_fairness(inputs, j) for j in ids],
                          erased_people_excluded=shown_count(inputs.erased, inputs.fairness.k))
