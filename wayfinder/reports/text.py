"""The reports as terminal tables and as JSON."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, TextIO, TypeVar

from wayfinder.reports.fairness import Cell, FairnessReport, GroupCell, JourneyFairness, ValueBreakdown
from wayfinder.reports.feedback import ResourceFeedback
from wayfinder.reports.impact import Arm, ImpactReport

MARK = {"flag": " !", "watch": " ?"}
TOO_FEW = "too few people for a figure of {k}+ people"
_C = TypeVar("_C", bound=GroupCell)


def to_json(**parts: Any) -> str:
    """Reports as one JSON object (dataclasses become objects)."""
    return json.dumps({name: _plain(value) for name, value in parts.items()}, indent=2, sort_keys=False)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _pct(rate: float) -> str:
    return f"{100 * rate:.0f}%"


def _count(value: int | None, k: int) -> str:
    return str(value) if value is not None else f"<{k}"


def _of(group: str, overall: _C | None, cells: list[_C]) -> _C | None:
    """The cell of ``group`` in a breakdown (``all``: the overall one); None where the group is not shown."""
    return overall if group == "all" else next((c for c in cells if c.group == group), None)


def _cell(cell: Cell | None) -> str:
    if cell is None:
        return "-"
    return f"{cell.count}/{cell.n} {_pct(cell.rate)}{MARK.get(cell.finding or '', '')}"


def findings(report: FairnessReport) -> list[str]:
    """Every group below four fifths of the best (SPEC §9: the four-fifths rule flags it for a person to look
    at), in words, with the figures behind it and whether the difference could be chance."""
    out = []
    for j in report.journeys:
        for b in j.breakdowns:
            for c in b.cells:
                if c.finding in ("flag", "watch") and c.impact_ratio is not None:
                    sure = ("the difference is meaningful (95% interval)" if c.finding == "flag" else
                            "the difference may be chance (its 95% interval includes zero)")
                    out.append(f"{j.journey_id}: {b.metric} for {b.attribute} = {c.group}: {_pct(c.rate)} "
                               f"(95% CI {_pct(c.low)}-{_pct(c.high)}, n={c.n}), impact ratio {c.impact_ratio:.2f} "
                               f"against the best group, below four fifths; {sure}")
            if b.hidden_flagged:
                out.append(f"{j.journey_id}: {b.metric} for {b.attribute}: {b.hidden_flagged} group(s) not shown "
                           "(hidden beside a smaller one, so that no figure singles anyone out) are below four "
                           "fifths of the best group, the difference meaningful; someone allowed to see the "
                           "figures should look")
            if b.below_hidden:
                out.append(f"{j.journey_id}: {b.metric} for {b.attribute}: {b.below_hidden} group(s) shown are below "
                           "four fifths of a group not shown (the best), the difference meaningful; someone "
                           "allowed to see the figures should look")
    return out


def _table(rows: list[list[str]], out: TextIO, indent: str = "    ") -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print(indent + "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip(), file=out)


def _attribute_table(j: JourneyFairness, attribute: str, k: int, out: TextIO) -> None:
    mine = [b for b in j.breakdowns if b.attribute == attribute]
    values = [v for v in j.values if v.attribute == attribute]
    if all(b.overall is None for b in mine):
        print(f"  by {attribute}: {TOO_FEW.format(k=k)}", file=out)
        return
    groups = ["all", *sorted({c.group for b in mine for c in b.cells} | {c.group for v in values for c in v.cells})]
    rows = [["group", *(b.metric for b in mine), *(_measure_label(v) for v in values)]]
    for g in groups:
        row = [g]
        row += [_cell(_of(g, b.overall, b.cells)) for b in mine]
        row += [_value(v, g) for v in values]
        rows.append(row)
    hidden = max(b.hidden_groups for b in mine if b.overall is not None)
    note = f" ({hidden} group(s) not shown, to keep every group to {k}+ people)" if hidden else ""
    print(f"  by {attribute}{note}", file=out)
    _table(rows, out)


def _measure_label(v: ValueBreakdown) -> str:
    return {"hours_to_first_message": "median h to 1st", "resources_offered": "mean resources"}[v.measure]


def _value(v: ValueBreakdown, group: str) -> str:
    cell = _of(group, v.overall, v.cells)
    return "-" if cell is None else f"{cell.value:.1f}"


def print_fairness(report: FairnessReport, feedback: list[ResourceFeedback], out: TextIO) -> None:
    k = report.k
    print(f"Fairness report as of {report.as_of}: rates count people; no group of fewer than {k} people is shown "
          "(nor a total of fewer).", file=out)
    print("  ! below four fifths of the best group, and the difference is meaningful (95% interval); "
          "? below four fifths, but it may be chance", file=out)
    print(f"  people who asked to be forgotten are left out (their number: "
          f"{_count(report.erased_people_excluded, k)})", file=out)
    found = findings(report)
    print(f"\nFindings ({len(found)}):", file=out)
    for line in found or ["none"]:
        print(f"  {line}", file=out)
    for j in report.journeys:
        print(f"\njourney {j.journey_id}: audience {_count(j.audience, k)}, enrolled {_count(j.enrolled, k)}, "
              f"held out {j.held_out}", file=out)
        if all(b.overall is None for b in j.breakdowns):
            print(f"  {TOO_FEW.format(k=k)}: not broken down", file=out)
            continue
        for attribute in report.attributes:
            _attribute_table(j, attribute, k, out)
    print_feedback(feedback, k, out)


def hidden_figure(value: int | None, k: int) -> str:
    """A feedback figure, or what stands for it when fewer than k people are behind it."""
    return str(value) if value is not None else f"<{k} people"


def print_feedback(feedback: list[ResourceFeedback], k: int, out: TextIO, limit: int = 15) -> None:
    poor = [f for f in feedback if f.poorly_rated]
    print(f"\nResources offered often and rated poorly ({len(poor)}):", file=out)
    for f in poor or []:
        print(f"  {f.resource_id}: offered to {f.offered_people} people, mean rating {f.mean_rating:+.2f} "
              f"from {f.ratings} ratings", file=out)
    if not poor:
        print("  none", file=out)
    print(f"\nFeedback per resource (the {min(limit, len(feedback))} most offered):", file=out)
    rows = [["resource", "offered (people)", "messages", "clicks", "ratings", "mean rating"]]
    for f in feedback[:limit]:
        rows.append([f.resource_id, hidden_figure(f.offered_people, k), "-" if f.offered_messages is None else
                     str(f.offered_messages), hidden_figure(f.clicks, k), hidden_figure(f.ratings, k),
                     "-" if f.mean_rating is None else f"{f.mean_rating:+.2f}"])
    _table(rows, out, "  ")


def _arm(a: Arm | None) -> str:
    return "hidden" if a is None else f"{a.count}/{a.n} {_pct(a.rate)} [{_pct(a.low)}, {_pct(a.high)}]"


def print_impact(report: ImpactReport, out: TextIO) -> None:
    k = report.k
    print(f"Impact report as of {report.as_of}: outcome rates of those reached (enrolled, not held out) "
          "against the control group (held out); 95% intervals.", file=out)
    if not report.journeys:
        print("  no journey names `outcomes:`", file=out)
    for j in report.journeys:
        print(f"\njourney {j.journey_id} (holdout {j.holdout or 'none: set `holdout: 5%` for a control group'})",
              file=out)
        rows = [["outcome", "within", "reached", "control", "difference [95% CI]", "window open"]]
        for o in j.outcomes:
            diff = "-" if o.difference is None or o.low is None or o.high is None else \
                f"{100 * o.difference:+.0f} pts [{100 * o.low:+.0f}, {100 * o.high:+.0f}]"
            rows.append([o.event, o.within, _arm(o.reached), _arm(o.control), diff,
                         f"<{k}" if o.window_open is None else str(o.window_open)])
        _table(rows, out, "  ")
        for o in j.outcomes:
            print(f"  {o.event}: {o.note}", file=out)


