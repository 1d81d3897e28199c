"""The reports as one self-contained HTML file: tables, and charts drawn by matplotlib (PNG, inline)."""

from __future__ import annotations

import base64
import io
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from html import escape

from matplotlib import font_manager, rc_context
from matplotlib.figure import Figure

from wayfinder.reports.fairness import FOUR_FIFTHS, Breakdown, FairnessReport, JourneyFairness
from wayfinder.reports.feedback import ResourceFeedback
from wayfinder.reports.impact import Arm, ImpactReport, JourneyImpact
from wayfinder.reports.text import TOO_FEW, findings, hidden_figure

CHARTED = ("enrollment", "delivery")
COLOURS = {"best": "#2b6cb0", "ok": "#4a90c2", "watch": "#d69e2e", "flag": "#c53030", None: "#4a90c2"}
STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:72rem;color:#1a202c}
h1{font-size:1.6rem}h2{font-size:1.25rem;border-top:1px solid #cbd5e0;padding-top:1rem;margin-top:2rem}
h3{font-size:1rem;margin-bottom:.3rem}table{border-collapse:collapse;margin:.4rem 0 1rem;font-size:.85rem}
td,th{border:1px solid #e2e8f0;padding:.2rem .5rem;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#f7fafc}.flag{background:#fed7d7}.watch{background:#fefcbf}.note{color:#4a5568;font-size:.9rem}
img.chart{max-width:100%;display:block;margin:.3rem 0}
"""


FALLBACK_FONTS = ("Noto Sans", "Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Sans CJK KR", "Noto Sans Arabic",
                  "Noto Sans Hebrew", "Noto Sans Devanagari", "WenQuanYi Zen Hei", "Droid Sans Fallback")
"""Fonts a chart label falls back to, glyph by glyph, after matplotlib's DejaVu Sans, those installed only."""


@cache
def _font_families() -> list[str]:
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return ["DejaVu Sans", *(name for name in FALLBACK_FONTS if name in installed)]


@contextmanager
def _drawing() -> Iterator[None]:
    """Charts with labels in any script: a group named in Chinese, say, is drawn with an installed font that has
    its glyphs; where none has them the bar shows empty boxes, and the table under the chart names it. Before
    2026-12-06 matplotlib's missing-glyph warning went to stderr, and where warnings are errors (the tests, a
    caller's ``-W error``) the whole report failed."""
    with rc_context({"font.family": _font_families()}), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)
        yield


def _png(fig: Figure, title: str) -> str:
    """The figure as an inline PNG; ``title`` is its alt text, what a screen reader says of it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96, bbox_inches="tight", metadata={"Software": None})
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img class="chart" alt="{escape(title)}" src="data:image/png;base64,{data}">'


def _pct(rate: float) -> str:
    return f"{100 * rate:.0f}%"


def _plain(label: str) -> str:
    """A group's value or an event type as a chart label: as written, never read as matplotlib's math text (a
    department "Sales $10k_$20k" failed to draw and the whole report with it)."""
    return label.replace("$", r"\$")


def _rate_chart(title: str, breakdowns: list[Breakdown]) -> str:
    """Rates by group with their 95% intervals; the dashed line is four fifths of the best group's rate."""
    shown = [b for b in breakdowns if len(b.cells) >= 2]  # one group alone compares with nothing
    if not shown:
        return ""
    height = 0.5 + 0.35 * max(len(b.cells) for b in shown)
    fig = Figure(figsize=(4.2 * len(shown), max(1.8, height)))
    for i, b in enumerate(shown):
        ax = fig.add_subplot(1, len(shown), i + 1)
        rates = [c.rate for c in b.cells]
        errors = [[max(0.0, c.rate - c.low) for c in b.cells], [max(0.0, c.high - c.rate) for c in b.cells]]
        ax.barh(range(len(b.cells)), rates, xerr=errors, color=[COLOURS[c.finding] for c in b.cells], capsize=3)
        ax.set_yticks(range(len(b.cells)), [_plain(c.group) for c in b.cells])
        best = next((c for c in b.cells if c.finding == "best"), None)
        if best is not None and b.metric in CHARTED:
            ax.axvline(float(FOUR_FIFTHS) * best.rate, color="#c53030", linestyle="--", linewidth=1)
        ax.set_xlim(0, 1)
        ax.set_title(f"{b.metric} by {b.attribute}", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.invert_yaxis()
    return _png(fig, title)


def _cells_table(b: Breakdown) -> str:
    rows = []
    for c in ([b.overall] if b.overall else []) + b.cells:
        cls = f' class="{c.finding}"' if c.finding in ("flag", "watch") else ""
        ratio = "" if c.impact_ratio is None else f"{c.impact_ratio:.2f}"
        rows.append(f"<tr{cls}><td>{escape(c.group)}</td><td>{c.n}</td><td>{c.count}</td><td>{_pct(c.rate)}</td>"
                    f"<td>{_pct(c.low)} - {_pct(c.high)}</td><td>{ratio}</td><td>{escape(c.finding or '')}</td></tr>")
    hidden = (f'<p class="note">{b.hidden_groups} group(s) not shown, so that every figure covers enough '
              "people.</p>") if b.hidden_groups else ""
    return (f"<h3>{escape(b.metric)} by {escape(b.attribute)}</h3><table><tr><th>group</th><th>people</th>"
            "<th>count</th><th>rate</th><th>95% interval</th><th>impact ratio</th><th>finding</th></tr>"
            + "".join(rows) + "</table>" + hidden)


def _journey_section(j: JourneyFairness, attributes: list[str], k: int) -> str:
    def count(v: int | None) -> str:
        return str(v) if v is not None else f"fewer than {k}"

    parts = [f"<h2>Journey {escape(j.journey_id)}</h2><p>audience {count(j.audience)}, enrolled "
             f"{count(j.enrolled)}, held out {j.held_out}</p>"]
    if all(b.overall is None for b in j.breakdowns):
        return parts[0] + f'<p class="note">{TOO_FEW.format(k=k).capitalize()}: not broken down.</p>'
    for attribute in attributes:
        mine = [b for b in j.breakdowns if b.attribute == attribute]
        if all(b.overall is None for b in mine):
            parts.append(f'<p class="note">By {escape(attribute)}: {TOO_FEW.format(k=k)}.</p>')
            continue
        parts.append(_rate_chart(f"{j.journey_id} by {attribute}", [b for b in mine if b.metric in CHARTED]))
        parts += [_cells_table(b) for b in mine if b.overall is not None]
        for v in j.values:
            if v.attribute == attribute and v.overall is not None:
                cells = "".join(f"<tr><td>{escape(c.group)}</td><td>{c.n}</td><td>{c.value:.1f}</td></tr>"
                                for c in [v.overall, *v.cells])
                parts.append(f"<h3>{escape(v.measure.replace('_', ' '))} by {escape(attribute)}</h3><table><tr>"
                             f"<th>group</th><th>people</th><th>value</th></tr>{cells}</table>")
    return "".join(parts)


def _feedback_section(feedback: list[ResourceFeedback], k: int, limit: int = 20) -> str:
    top = feedback[:limit]
    flag = ' class="flag"'
    rows = "".join(
        f"<tr{flag if f.poorly_rated else ''}><td>{escape(f.resource_id)}</td>"
        f"<td>{escape(hidden_figure(f.offered_people, k))}</td>"
        f"<td>{'-' if f.offered_messages is None else f.offered_messages}</td>"
        f"<td>{escape(hidden_figure(f.clicks, k))}</td><td>{escape(hidden_figure(f.ratings, k))}</td>"
        f"<td>{_signed(f.mean_rating)}</td></tr>" for f in top)
    chart = ""
    charted = [f for f in top if f.offered_people is not None]  # a bar would show a figure the table hides
    if charted:
        fig = Figure(figsize=(8, 0.5 + 0.28 * len(charted)))
        ax = fig.add_subplot(1, 1, 1)
        ax.barh([f.resource_id for f in charted], [f.offered_people or 0 for f in charted], color="#4a90c2",
                label="offered")
        clicked = [f for f in charted if f.clicks is not None]
        ax.barh([f.resource_id for f in clicked], [f.clicks or 0 for f in clicked], color="#2f855a", label="clicks",
                height=0.4)
        ax.invert_yaxis()
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=8)
        title = "Most offered resources: people offered, and clicks"
        ax.set_title(title, fontsize=9)
        chart = _png(fig, title)
    poor = [f for f in feedback if f.poorly_rated]
    listed = "".join(f"<li>{escape(f.resource_id)}: offered to {f.offered_people} people, mean rating "
                     f"{f.mean_rating:+.2f} from {f.ratings} ratings</li>" for f in poor if f.mean_rating is not None)
    return (f"<h2>Feedback per resource</h2><h3>Offered often and rated poorly ({len(poor)})</h3>"
            f"<ul>{listed or '<li>none</li>'}</ul>{chart}<table><tr><th>resource</th><th>offered (people)</th>"
            f"<th>messages</th><th>clicks</th><th>ratings</th><th>mean rating</th></tr>{rows}</table>")


def _signed(value: float | None) -> str:
    return "" if value is None else f"{value:+.2f}"


def _page(title: str, body: Iterable[str]) -> str:
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>" + "".join(body) + "</body></html>\n")


def fairness_html(report: FairnessReport, feedback: list[ResourceFeedback]) -> str:
    found = findings(report)
    intro = (f'<p class="note">As of {escape(report.as_of)}. Rates count people, with 95% Wilson intervals. '
             f"No group (or total) of fewer than {report.k} people is shown, nor named, and the next smallest "
             "groups are hidden with it so that none can be worked out. "
             "A group whose favourable rate is "
             "below four fifths of the best group's is a finding, red when the 95% Newcombe interval of the "
             "difference leaves out zero, yellow when it may be chance. In the charts, whiskers are the 95% "
             "intervals, the dashed line is four fifths of the best rate, and bars are coloured as the findings. "
             "Protected "
             f"attributes (reporting only): {escape(', '.join(report.protected) or 'none')}.</p>")
    listed = "".join(f"<li>{escape(f)}</li>" for f in found) or "<li>none</li>"
    body = [intro, f"<h2>Findings ({len(found)})</h2><ul>{listed}</ul>"]
    with _drawing():
        body += [_journey_section(j, report.attributes, report.k) for j in report.journeys]
        body.append(_feedback_section(feedback, report.k))
    return _page("Wayfinder fairness report", body)


def _impact_chart(j: JourneyImpact) -> str:
    rows: list[tuple[str, Arm, Arm]] = [(o.event, o.reached, o.control) for o in j.outcomes
                                        if o.reached is not None and o.control is not None]
    if not rows:
        return ""
    fig = Figure(figsize=(6, 0.8 + 0.6 * len(rows)))
    ax = fig.add_subplot(1, 1, 1)
    for offset, name, colour in ((-0.18, "reached", "#2b6cb0"), (0.18, "control", "#a0aec0")):
        arms = [r[1] if name == "reached" else r[2] for r in rows]
        errors = [[max(0.0, a.rate - a.low) for a in arms], [max(0.0, a.high - a.rate) for a in arms]]
        ax.barh([i + offset for i in range(len(rows))], [a.rate for a in arms], height=0.34, color=colour,
                xerr=errors, capsize=3, label=name)
    ax.set_yticks(range(len(rows)), [_plain(r[0]) for r in rows], fontsize=8)
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.legend(fontsize=8)
    title = f"{j.journey_id}: outcome rates with 95% intervals"
    ax.set_title(title, fontsize=9)
    return _png(fig, title)


def impact_html(report: ImpactReport) -> str:
    body = [f'<p class="note">As of {escape(report.as_of)}. Reached: enrolled and not held out; control: held '
            f"out. Groups with fewer than {report.k} people are not compared. Only people whose window (enrollment "
            "+ within) ended by the last event are counted; how many are left out for that is under window still "
            "open.</p>"]
    with _drawing():
        body += [_impact_section(j, report.k) for j in report.journeys]
    return _page("Wayfinder impact report", body)


def _impact_section(j: JourneyImpact, k: int) -> str:
    rows = "".join(
        f"<tr><td>{escape(o.event)}</td><td>{escape(o.within)}</td><td>{_arm(o.reached)}</td>"
        f"<td>{_arm(o.control)}</td><td>{_diff(o.difference, o.low, o.high)}</td>"
        f"<td>{escape(_window_open(o.window_open, k))}</td><td>{escape(o.note)}</td></tr>"
        for o in j.outcomes)
    return (f"<h2>Journey {escape(j.journey_id)} (holdout {escape(j.holdout or 'none')})</h2>"
            + _impact_chart(j) + "<table><tr><th>outcome</th><th>within</th><th>reached</th><th>control</th>"
            "<th>difference (95% interval)</th><th>window still open</th><th>note</th></tr>"
            f"{rows}</table>")


def _window_open(n: int | None, k: int) -> str:
    """People left out of a comparison because their window had not ended by the last event (as in the table)."""
    return f"fewer than {k}" if n is None else str(n)


def _arm(a: Arm | None) -> str:
    return "hidden" if a is None else f"{a.count}/{a.n} ({_pct(a.rate)}, {_pct(a.low)} - {_pct(a.high)})"


def _diff(d: float | None, low: float | None, high: float | None) -> str:
    if d is None or low is None or high is None:
        return "-"
    return f"{100 * d:+.0f} pts ({100 * low:+.0f} to {100 * high:+.0f})"
