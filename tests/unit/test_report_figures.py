"""Report figures against numbers worked out by hand on the small world in tests/fairness_world.py."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date, timedelta

import pytest

from tests import fairness_world as world
from tests.support import WriteFiles
from wayfinder.journeys.events import decode_event
from wayfinder.journeys.loader import Sources, load_or_raise
from wayfinder.journeys.model import Fairness
from wayfinder.journeys.profile import Profile
from wayfinder.journeys.records import Message
from wayfinder.reports import ReportInputs, fairness_report, feedback_rollup, impact_report
from wayfinder.reports.fairness import (
    METRICS,
    Breakdown,
    Cell,
    FairnessReport,
    JourneyFairness,
    breakdown,
    compared_attributes,
    finding,
    hidden,
)
from wayfinder.reports.groups import age, age_band, group_of
from wayfinder.reports.inputs import build, read_events, replay
from wayfinder.reports.people import Person
from wayfinder.reports.stats import difference, wilson
from wayfinder.reports.text import findings


@pytest.fixture
def inputs(write_files: WriteFiles) -> ReportInputs:
    root = write_files({f"defs/{rel}": text for rel, text in world.JOURNEYS.items()})
    defs = load_or_raise(Sources(paths=[root / "defs"]))
    assert defs.fairness is not None
    events = [decode_event(json.dumps(e)) for e in world.events()]
    done = replay(sorted(events, key=lambda e: e.time), defs.current())
    return ReportInputs(journeys=defs.current(), fairness=defs.fairness, events=events, profiles=done.profiles,
                        triggered=done.triggered, messages=[Message.model_validate(m) for m in world.messages()])


def _get(report: FairnessReport, journey: str, metric: str, attribute: str) -> Breakdown:
    j = next(j for j in report.journeys if j.journey_id == journey)
    return next(b for b in j.breakdowns if b.metric == metric and b.attribute == attribute)


def _cells(b: Breakdown) -> dict[str, tuple[int, int, str | None]]:
    return {c.group: (c.count, c.n, c.finding) for c in b.cells}


# -- the statistics, against published values ----------------------------------------------------------
def test_wilson_interval_matches_hand_computed_values() -> None:
    # 18 of 20: centre (0.9 + 1.96²/40) / (1 + 1.96²/20) = 0.8356, half-width 0.1366
    ci = wilson(18, 20)
    assert (round(ci.low, 3), round(ci.high, 3)) == (0.699, 0.972)
    assert (round(wilson(0, 10).low, 4), round(wilson(0, 10).high, 4)) == (0.0, 0.2775)
    assert wilson(0, 0).low == 0 and wilson(0, 0).high == 1


def test_newcombe_difference_matches_newcombe_1998() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873, table II: 56/70 - 48/80, method 10: 0.0524 to 0.3339
    d = difference(56, 70, 48, 80)
    assert (round(d.value, 4), round(d.low, 4), round(d.high, 4)) == (0.2, 0.0524, 0.3339)
    assert d.significant


# -- the four-fifths rule and k at their boundaries ---------------------------------------------------
def test_four_fifths_exactly_is_not_flagged_and_just_below_is() -> None:
    assert finding(80, 100, 100, 100) == (0.8, "ok")
    assert finding(4, 10, 5, 10) == (0.8, "ok")  # 0.4 / 0.5 in floating point is 0.8000000000000002
    assert finding(8, 20, 10, 20) == (0.8, "ok")
    ratio, verdict = finding(79, 100, 100, 100)
    assert verdict == "flag" and ratio == pytest.approx(0.79)


def test_below_four_fifths_in_small_groups_is_only_watched() -> None:
    # 3/10 against 4/10: ratio 0.75, but the 95% interval of the difference includes zero
    assert finding(3, 10, 4, 10) == (0.75, "watch")
    assert finding(0, 10, 0, 10) == (None, "ok")


def test_k_people_are_shown_and_one_fewer_are_not() -> None:
    assert hidden({"a": 10, "b": 10}, 10) == set()
    assert hidden({"a": 10, "b": 9, "c": 4}, 10) == {"b", "c"}
    # one hidden group alone could be worked out from the total: the next smallest goes too
    assert hidden({"a": 30, "b": 12, "c": 9}, 10) == {"b", "c"}
    # two hidden groups of 1 and 2 people are still 3 together: hide until they hold k
    assert hidden({"a": 30, "b": 12, "c": 2, "d": 1}, 10) == {"b", "c", "d"}
    assert hidden({"employee": 18, "intern": 1, "contractor": 1}, 10) == {"employee", "intern", "contractor"}


def _enrollment(groups: dict[str, tuple[int, int]], k: int = 10) -> Breakdown:
    """Enrollment by department for groups of (people, enrolled)."""
    people = {f"{g}{i}": (Person(in_audience=True, enrolled=i < enrolled), g)
              for g, (n, enrolled) in groups.items() for i in range(n)}
    return breakdown(METRICS[0], "department", people, k)


def test_a_group_of_k_people_is_shown_and_judged_whatever_its_count() -> None:
    """An audit of issue 14 on 2026-12-06: the k rule also hid a group of k people or more when the metric counted
    1 to k - 1 of them, so the disparities the report is for went unnamed: Sales, 8 of 20 enrolled against Eng's 18
    of 20, and 3 of 30 against 27 of 30, showed no group at all ("1 group(s) not shown ... below four fifths"). The
    group, not the count, must hold k people (issue 14: "every cell with fewer than k people")."""
    b = _enrollment({"Eng": (20, 18), "Sales": (20, 8)})
    assert [(c.group, c.count, c.n, c.finding) for c in b.cells] == [("Eng", 18, 20, "best"), ("Sales", 8, 20, "flag")]
    assert b.hidden_groups == 0 and b.hidden_flagged == 0
    b = _enrollment({"A": (30, 27), "B": (30, 3)})
    assert [(c.group, c.finding) for c in b.cells] == [("A", "best"), ("B", "flag")]
    # at the boundary: groups of exactly k, one at 7 of 10 (below four fifths, may be chance), one at 8 of 10
    assert [(c.group, c.finding) for c in _enrollment({"A": (10, 10), "B": (10, 7)}).cells] == [
        ("A", "best"), ("B", "watch")]
    assert [(c.group, c.finding) for c in _enrollment({"A": (10, 10), "B": (10, 8)}).cells] == [
        ("A", "best"), ("B", "ok")]
    # a group of k - 1 is still hidden, and the smallest other with it
    assert _enrollment({"A": (10, 10), "B": (9, 1)}).cells == []


def test_a_breakdown_of_fewer_than_k_people_shows_nothing() -> None:
    people = {f"p{i}": (Person(in_audience=True, enrolled=i < 8), "unknown") for i in range(9)}
    b = breakdown(METRICS[0], "gender", people, 10)
    assert b.overall is None and b.cells == []
    everyone = breakdown(METRICS[0], "gender", people | {"p9": (Person(in_audience=True, enrolled=True), "f")}, 10)
    assert everyone.overall is not None and (everyone.overall.count, everyone.overall.n) == (9, 10)
    assert everyone.cells == []  # f is 1 person, unknown 9: both hidden


def test_every_group_shown_holds_k_people_and_none_hidden_can_be_worked_out(inputs: ReportInputs) -> None:
    report = fairness_report(inputs)
    for j in report.journeys:
        for b in j.breakdowns:
            if b.overall is None:
                continue
            assert all(c.n >= 10 for c in [b.overall, *b.cells])
            rest_n = b.overall.n - sum(c.n for c in b.cells)
            assert b.hidden_groups == 0 or (b.hidden_groups >= 2 and rest_n >= 10)
        enrollment = [b.overall for b in j.breakdowns if b.metric == "enrollment"]
        assert all(o is None or (o.n, o.count) == (j.audience, j.enrolled) for o in enrollment)


def test_a_breakdown_hides_small_groups_without_naming_them() -> None:
    people = {f"p{i}": (Person(in_audience=True, enrolled=i % 2 == 0), "big") for i in range(20)}
    people |= {f"q{i}": (Person(in_audience=True, enrolled=True), "rare-a") for i in range(9)}
    people |= {f"r{i}": (Person(in_audience=True, enrolled=True), "rare-b") for i in range(3)}
    b = breakdown(METRICS[0], "team", people, 10)
    assert [c.group for c in b.cells] == ["big"] and b.hidden_groups == 2
    assert b.overall == Cell("all", 32, 22, 22 / 32, wilson(22, 32).low, wilson(22, 32).high)
    tiny = breakdown(METRICS[0], "team", dict(list(people.items())[:9]), 10)
    assert tiny.overall is None and tiny.cells == []


# -- the fixture, by hand ---------------------------------------------------------------------------
def test_enrollment_by_department_flags_eng(inputs: ReportInputs) -> None:
    b = _get(fairness_report(inputs), "welcome", "enrollment", "department")
    # Sales 18/20 = 0.90 is best; Eng 11/20 = 0.55 (G19 is held out, but enrolled): ratio 0.611, Newcombe low 0.072
    assert _cells(b) == {"Eng": (11, 20, "flag"), "Sales": (18, 20, "best")}
    assert b.hidden_groups == 2  # Ops (6) and Legal (4)
    assert b.overall is not None and (b.overall.count, b.overall.n) == (39, 50)
    eng = next(c for c in b.cells if c.group == "Eng")
    assert eng.impact_ratio == pytest.approx(0.55 / 0.9)


def test_enrollment_by_gender_counts_unknown_as_a_group(inputs: ReportInputs) -> None:
    b = _get(fairness_report(inputs), "welcome", "enrollment", "gender")
    # f: S01-S09 + G01, G02 = 11/20; m: S11-S19 + G11-G19 = 18/20; unknown (Ops, Legal): 10/10, exactly k
    assert _cells(b) == {"f": (11, 20, "flag"), "m": (18, 20, "ok"), "unknown": (10, 10, "best")}


def test_delivery_suppression_review_and_rejection(inputs: ReportInputs) -> None:
    report = fairness_report(inputs)
    # reached = enrolled and not held out: Sales 18, Eng 10, Ops 6, Legal 4 = 38
    delivery = _get(report, "welcome", "delivery", "department")
    # Ops (5/6) and Legal (3/4) are under k and hold 10 people together: Eng (10/10), exactly k, is shown
    assert _cells(delivery) == {"Eng": (10, 10, "best"), "Sales": (16, 18, "ok")}
    assert delivery.hidden_groups == 2
    assert delivery.overall is not None and (delivery.overall.count, delivery.overall.n) == (34, 38)
    # 2 people suppressed (Sales): shown, the groups hold k people whatever the count (since 2026-12-06)
    suppression = _get(report, "welcome", "suppression", "department")
    assert _cells(suppression) == {"Eng": (0, 10, "best"), "Sales": (2, 18, "ok")}
    # 2 reviewed (Ops, Legal) of the 38 reached; 1 rejected of those 2, too few people to show
    review = _get(report, "welcome", "review", "gender")
    assert review.overall is not None and (review.overall.count, review.overall.n) == (2, 38)
    rejection = _get(report, "welcome", "rejection", "department")
    assert rejection.overall is None and rejection.cells == []


def test_time_to_first_message_and_resources(inputs: ReportInputs) -> None:
    j = next(j for j in fairness_report(inputs).journeys if j.journey_id == "welcome")
    hours = next(v for v in j.values if v.measure == "hours_to_first_message" and v.attribute == "department")
    # delivered: Sales 16 at +1h, Eng 10 at +25h, Ops 5 and Legal 3 at +1h: median of 24 ones and 10 25s is 1;
    # Ops and Legal hold 8 together (< k), so Eng, the next smallest, is hidden with them
    assert {c.group: (c.n, c.value) for c in hours.cells} == {"Sales": (16, 1.0)}
    assert hours.hidden_groups == 3
    assert hours.overall is not None and (hours.overall.n, hours.overall.value) == (34, 1.0)
    by_gender = next(v for v in j.values if v.measure == "hours_to_first_message" and v.attribute == "gender")
    # unknown has 8 (< k), so f (10, the next smallest) is hidden too; m: 8 at 1h and 8 at 25h
    assert {c.group: (c.n, c.value) for c in by_gender.cells} == {"m": (16, 13.0)}
    offered = next(v for v in j.values if v.measure == "resources_offered" and v.attribute == "department")
    # Sales: 16 people got r-a and r-b, 2 got nothing: 32/18; Eng: 10 reached, one resource each; Ops (6) and Legal
    # (4) reached hold k people together, so Eng shows, as in the delivery column
    assert {c.group: round(c.value, 3) for c in offered.cells} == {"Eng": 1.0, "Sales": round(32 / 18, 3)}
    assert offered.hidden_groups == 2
    assert (j.audience, j.enrolled, j.held_out) == (50, 39, 1)  # held out as it is: 39 enrolled, 38 reached


def test_feedback_lists_a_resource_offered_often_and_rated_poorly(inputs: ReportInputs) -> None:
    rows = {f.resource_id: f for f in feedback_rollup(inputs)}
    assert (rows["r-b"].offered_people, rows["r-b"].ratings, rows["r-b"].mean_rating) == (16, 10, -0.7)
    assert rows["r-b"].poorly_rated and not rows["r-a"].poorly_rated
    assert (rows["r-a"].offered_people, rows["r-a"].offered_messages, rows["r-a"].clicks) == (34, 34, 10)


def test_feedback_from_fewer_than_k_people_is_not_shown(inputs: ReportInputs) -> None:
    """r-a has 3 ratings (3 people): neither they nor their mean show; 9 people clicking do not show either."""
    rows = {f.resource_id: f for f in feedback_rollup(inputs)}
    assert (rows["r-a"].ratings, rows["r-a"].mean_rating, rows["r-a"].poorly_rated) == (None, None, False)
    clicks = [e for e in inputs.events if e.type == "engagement.message.clicked"]
    fewer = replace(inputs, events=[e for e in inputs.events if e is not clicks[0]])
    assert {f.resource_id: f for f in feedback_rollup(fewer)}["r-a"].clicks is None
    # 10 clicks of one person are still one person behind them
    one = replace(inputs, events=[e for e in inputs.events if e not in clicks] +
                  [c.model_copy(update={"subject": "G11"}) for c in clicks])
    assert {f.resource_id: f for f in feedback_rollup(one)}["r-a"].clicks is None
    # offered to fewer than k people: neither the people nor the messages show
    few = replace(inputs, messages=[m for m in inputs.messages if m.employee_id in world.SALES[:9]])
    rows = {f.resource_id: f for f in feedback_rollup(few)}
    assert (rows["r-b"].offered_people, rows["r-b"].offered_messages, rows["r-b"].poorly_rated) == (None, None, False)


def test_a_copied_rating_or_click_counts_once(inputs: ReportInputs) -> None:
    """SPEC §2: the same (source, id) processed twice has the effect of once, for every report (read once)."""
    def copy(kind: str, data: dict[str, object]) -> str:
        return json.dumps({"specversion": "1.0", "id": f"{kind}-1", "source": "test/engagement", "type": kind,
                           "time": "2026-03-05T09:00:00Z", "subject": "S15", "data": data})

    copies = 3 * [copy("engagement.message.feedback", {"resource_id": "r-b", "rating": -1}),
                  copy("engagement.message.clicked", {"resource_id": "r-a"})]
    events, skipped = read_events([json.dumps(e) for e in world.events()] + copies)
    assert skipped == 0 and len(events) == len(world.events()) + 2
    again = build(inputs.journeys, inputs.fairness, inputs.messages, [], events)
    rows = {f.resource_id: f for f in feedback_rollup(again)}
    assert (rows["r-b"].ratings, rows["r-a"].clicks) == (len(world.RATINGS["r-b"]) + 1, world.CLICKS_ON_R_A + 1)


def test_each_person_counts_once_with_their_latest_rating(inputs: ReportInputs) -> None:
    """One person rating r-a -1 twenty times is one rating; S01 changing their mind on r-b counts as they last
    rated it (as ``wayfinder feedback aggregate`` counts)."""
    def rating(n: int, subject: str, resource: str, value: int, day: int) -> str:
        return json.dumps({"specversion": "1.0", "id": f"again-{n}", "source": "test/engagement",
                           "type": "engagement.resource.rated", "time": f"2026-03-{day:02d}T09:00:00Z",
                           "subject": subject, "data": {"resource_id": resource, "rating": value}})

    more = [rating(n, "S15", "r-a", -1, 5) for n in range(20)] + [rating(20, "S01", "r-b", 1, 6)]
    events, skipped = read_events([json.dumps(e) for e in world.events()] + more)
    assert skipped == 0
    rows = {f.resource_id: f for f in feedback_rollup(build(inputs.journeys, inputs.fairness, inputs.messages, [],
                                                            events))}
    assert (rows["r-a"].ratings, rows["r-a"].mean_rating) == (None, None)  # 4 people: still fewer than k
    assert (rows["r-b"].ratings, rows["r-b"].mean_rating, rows["r-b"].poorly_rated) == (10, -0.5, True)
    # ten people each rating r-a -1 twice: ten ratings, not twenty
    ten = [rating(100 + n, p, "r-a", -1, 7 + n % 2) for n, p in enumerate(2 * world.ENG[:10])]
    events, _ = read_events([json.dumps(e) for e in world.events()] + ten)
    rows = {f.resource_id: f for f in feedback_rollup(build(inputs.journeys, inputs.fairness, inputs.messages, [],
                                                            events))}
    assert rows["r-a"].ratings == 13 and rows["r-a"].mean_rating == pytest.approx(-8 / 13)


def test_a_rating_outside_minus_one_to_one_is_not_a_rating(inputs: ReportInputs) -> None:
    """The engine's rule (a dead letter, counted as a line left out): 1000 neither counts nor moves the mean."""
    bad = json.dumps({"specversion": "1.0", "id": "r-1000", "source": "test/engagement",
                      "type": "engagement.resource.rated", "time": "2026-03-05T09:00:00Z", "subject": "S15",
                      "data": {"resource_id": "r-b", "rating": 1000}})
    events, skipped = read_events([json.dumps(e) for e in world.events()] + [bad])
    assert skipped == 1
    rows = {f.resource_id: f for f in feedback_rollup(build(inputs.journeys, inputs.fairness, inputs.messages, [],
                                                            events))}
    assert (rows["r-b"].ratings, rows["r-b"].mean_rating) == (10, -0.7)


def test_a_message_to_the_manager_is_not_what_the_employee_received(inputs: ReportInputs) -> None:
    """A message about G11-G18 to their manager: the journey reached them, but they were not offered its
    resource, and the manager (one person) is who it was offered to."""
    to_manager = [m.model_copy(update={"message_id": f"mgr-{m.employee_id}", "recipient_id": "MGR",
                                       "resources": ["r-b"], "scheduled_for": m.created_at})
                  for m in inputs.messages if m.journey_id == "welcome" and m.employee_id in world.ENG[10:18]]
    more = replace(inputs, messages=inputs.messages + to_manager)
    j = next(j for j in fairness_report(more).journeys if j.journey_id == "welcome")
    offered = next(v for v in j.values if v.measure == "resources_offered" and v.attribute == "department")
    # the manager's r-b is not what G11-G18 were offered: Eng stays at its one resource each (2.0 if it were)
    assert {c.group: round(c.value, 3) for c in offered.cells} == {"Eng": 1.0, "Sales": round(32 / 18, 3)}
    hours = next(v for v in j.values if v.measure == "hours_to_first_message" and v.attribute == "department")
    assert hours.overall is not None and (hours.overall.n, hours.overall.value) == (34, 1.0)
    assert {f.resource_id: f for f in feedback_rollup(more)}["r-b"].offered_people == 17


def test_impact_compares_reached_with_control(inputs: ReportInputs) -> None:
    report = impact_report(replace(inputs, fairness=Fairness(k=3)))  # 3 of the control group complete
    [j] = report.journeys
    [o] = j.outcomes
    assert (j.journey_id, j.holdout) == ("checkin", "30%")
    # reached: S07-S17 and G07-G16 complete within 30d: 21/28; S18 completes on day 31; control: 3/12
    assert o.reached is not None and (o.reached.count, o.reached.n) == (21, 28)
    assert o.control is not None and (o.control.count, o.control.n) == (3, 12)
    assert o.difference == pytest.approx(0.5)
    assert o.low is not None and o.high is not None and round(o.low, 3) == 0.163 and round(o.high, 3) == 0.703
    assert o.significant and o.window_open == 0


@pytest.mark.parametrize(("days", "k", "said"), [(0, 3, "<td>0</td>"), (29, 3, "<td>40</td>"),
                                                (29, 50, "<td>fewer than 50</td>")])
def test_the_impact_page_says_how_many_windows_are_still_open(inputs: ReportInputs, days: int, k: int,
                                                              said: str) -> None:
    """An audit on 2026-12-06: the table and JSON said how many people were left out because their outcome window
    had not ended by the last event; the HTML page, the one a works council is shown, did not."""
    from wayfinder.reports.html import impact_html

    last = max(e.time for e in inputs.events) - timedelta(days=days)  # the last events read earlier: windows open
    report = impact_report(replace(inputs, fairness=Fairness(k=k), events=[e for e in inputs.events if e.time <= last]))
    page = impact_html(report)
    assert "<th>window still open</th>" in page and said in page


def test_every_chart_says_what_it_shows_to_a_screen_reader(inputs: ReportInputs) -> None:
    """An audit on 2026-12-06: the feedback and impact charts were both alt="chart"."""
    from wayfinder.reports.html import fairness_html, impact_html

    small = replace(inputs, fairness=Fairness(k=3))
    pages = fairness_html(fairness_report(small), feedback_rollup(small)) + impact_html(impact_report(small))
    alts = re.findall(r'<img class="chart" alt="([^"]*)"', pages)
    assert "Most offered resources: people offered, and clicks" in alts
    assert "checkin: outcome rates with 95% intervals" in alts and "chart" not in alts


def test_impact_with_a_small_control_group_is_not_compared(inputs: ReportInputs) -> None:
    small = ReportInputs(journeys=inputs.journeys, fairness=Fairness(k=13), events=inputs.events,
                         profiles=inputs.profiles, triggered=inputs.triggered, messages=inputs.messages)
    [o] = impact_report(small).journeys[0].outcomes
    assert o.control is None and o.difference is None
    assert o.note == "not compared: fewer than 13 people in the control group"


@pytest.mark.parametrize("k", [3, 4, 12])
def test_impact_compares_a_control_group_of_k_people_whatever_number_had_the_outcome(inputs: ReportInputs,
                                                                                      k: int) -> None:
    """3 of the 12 in the control group complete: compared for every k up to 12 (it hid them from k = 4 on, until
    an audit of issue 14 on 2026-12-06: the group, not the count, must hold k people)."""
    [o] = impact_report(replace(inputs, fairness=Fairness(k=k))).journeys[0].outcomes
    assert o.control is not None and (o.control.count, o.control.n) == (3, 12) and o.difference is not None
    assert o.reached is not None and (o.reached.count, o.reached.n) == (21, 28)


def test_protected_attributes_are_always_compared_and_a_birth_date_as_its_band() -> None:
    fairness = Fairness(attributes=["department", "gender"], protected=["gender", "birth_date", "disability"])
    assert compared_attributes(fairness) == ["department", "gender", "location", "age_band", "disability"]


def test_department_and_location_are_compared_whatever_is_configured() -> None:
    assert compared_attributes(Fairness(attributes=["work_mode"])) == ["work_mode", "department", "location"]


def test_age_bands_may_not_be_empty() -> None:
    with pytest.raises(ValueError, match="age_bands"):  # the report had no band to start from (IndexError)
        Fairness(age_bands=[])


def test_age_bands_from_a_birth_date() -> None:
    assert age(date(1990, 6, 15), date(2026, 6, 14)) == 35
    assert age(date(1990, 6, 15), date(2026, 6, 15)) == 36
    bands = [25, 35, 45]
    assert [age_band(a, bands) for a in (24, 25, 34, 35, 44, 45, 80)] == \
        ["<25", "25-34", "25-34", "35-44", "35-44", "45+", "45+"]
    profile = Profile(id="x", attributes={"birth_date": "1990-06-15"})
    assert group_of(profile, "age_band", Fairness(age_bands=bands), date(2026, 1, 1)) == "35-44"
    assert group_of(Profile(id="y"), "age_band", Fairness(), date(2026, 1, 1)) == "unknown"


def test_a_group_below_four_fifths_is_a_finding_even_when_it_may_be_chance() -> None:
    """SPEC §9: the four-fifths rule flags a disparity for a person to look at; the report says how sure it is."""
    people = {f"A{i}": (Person(in_audience=True, enrolled=True), "A") for i in range(10)}
    people |= {f"B{i}": (Person(in_audience=True, enrolled=i < 7), "B") for i in range(10)}
    (enrollment,) = [m for m in METRICS if m.name == "enrollment"]
    breakdown_ = breakdown(enrollment, "department", people, k=5)
    assert [(c.group, c.finding) for c in breakdown_.cells] == [("A", "best"), ("B", "watch")]
    report = FairnessReport(k=5, as_of="2026-12-01", attributes=["department"], protected=[],
                            journeys=[JourneyFairness("j", 20, 17, 0, [breakdown_], [])], erased_people_excluded=None)
    (found,) = findings(report)
    assert found.startswith("j: enrollment for department = B: 70%")
    assert found.endswith("impact ratio 0.70 against the best group, below four fifths; the difference may be "
                          "chance (its 95% interval includes zero)")


def _line(n: int, kind: str, when: str, **data: object) -> str:
    return json.dumps({"specversion": "1.0", "id": f"r{n}", "source": "test", "type": kind, "time": when,
                       "subject": "P01", "data": data})


def test_an_erased_person_stays_out_of_the_reports_until_a_hire_re_creates_them() -> None:
    # The engine refuses an erased person's later events except a hire: an engagement event after the erasure
    # counted them again (under an empty profile, department "unknown"). Found by an audit of SPEC §9.
    upsert = _line(1, "hris.employee.upserted", "2026-01-01T09:00:00Z", department="Sales")
    erasure = _line(2, "privacy.erasure.requested", "2026-01-02T09:00:00Z")
    opened = _line(3, "engagement.message.opened", "2026-01-03T09:00:00Z", message_id="m-1")
    upsert_later = _line(4, "hris.employee.upserted", "2026-01-04T09:00:00Z", department="Sales")
    hired = _line(5, "hris.employee.hired", "2026-02-01T09:00:00Z", start_date="2026-02-16", department="Ops")
    events = [decode_event(line) for line in (upsert, erasure, opened, upsert_later)]
    done = replay(events)
    assert done.erased == {"P01"} and done.profiles == {}
    rehired = replay([*events, decode_event(hired)])
    assert rehired.erased == set() and rehired.profiles["P01"].fields.get("department") == "Ops"
    # The new person under the old id: what was made for the erased one (up to the erasure) is not theirs.
    def welcome(mid: str, when: str) -> Message:
        return Message.model_validate({
            "message_id": mid, "employee_id": "P01", "recipient_id": "P01", "recipient_role": "employee",
            "journey_id": "welcome", "journey_version": 1, "step_id": "hello", "channel": "email", "status": "sent",
            "scheduled_for": when, "created_at": when})

    before, after = welcome("m-old", "2026-01-01T10:00:00Z"), welcome("m-new", "2026-02-01T10:00:00Z")
    built = build({}, Fairness(), [before, after], [], [*events, decode_event(hired)])
    assert [m.message_id for m in built.messages] == ["m-new"]
    assert [e.id for e in built.events] == ["r5"]


def test_a_digest_is_one_email_and_no_journey(inputs: ReportInputs) -> None:
    # Two managers each got one daily digest holding two messages with r-z: the report listed "digest" as a
    # journey (its audience the managers) and counted r-z in 6 messages.
    def message(mid: str, journey: str, recipient: str, digest_id: str | None = None) -> Message:
        return Message.model_validate({
            "message_id": mid, "employee_id": recipient if journey == "digest" else f"E-{mid}",
            "recipient_id": recipient, "recipient_role": "manager", "journey_id": journey, "journey_version": 1,
            "step_id": "daily" if journey == "digest" else "tell", "channel": "email", "status": "sent",
            "scheduled_for": "2026-03-03T08:00:00Z", "created_at": "2026-03-03T08:00:00Z", "resources": ["r-z"],
            "digest_id": digest_id})

    records = [message(f"m-{m}{n}", "welcome", m, f"d-{m}") for m in ("M1", "M2") for n in (1, 2)]
    records += [message(f"d-{m}", "digest", m) for m in ("M1", "M2")]
    mine = replace(inputs, messages=[*inputs.messages, *records], fairness=Fairness(k=2))
    assert "digest" not in [j.journey_id for j in fairness_report(mine).journeys]
    [row] = [f for f in feedback_rollup(mine) if f.resource_id == "r-z"]
    assert (row.offered_people, row.offered_messages) == (2, 2)


def test_a_group_hidden_beside_a_small_one_and_below_four_fifths_is_still_a_finding() -> None:
    """An audit on 2026-12-04: Berlin (15 of 20 enrolled, 0.75 of London's 20 of 20, meaningful) was hidden beside
    Zurich's 3 people so Zurich could not be worked out from the total, and the findings said "none". Now the
    finding says a hidden group is below four fifths, with none of its figures."""
    people: dict[str, tuple[Person, str]] = {}
    for city, n, enrolled in (("London", 20, 20), ("Berlin", 20, 15), ("Zurich", 3, 3)):
        for i in range(n):
            people[f"{city}{i}"] = (Person(in_audience=True, enrolled=i < enrolled), city)
    b = breakdown(METRICS[0], "location", people, 5)
    assert [c.group for c in b.cells] == ["London"] and b.hidden_groups == 2 and b.hidden_flagged == 1
    report = FairnessReport(5, "2026-12-04", ["location"], [], [JourneyFairness("kudos", 43, 38, 0, [b], [])], None)
    [said] = findings(report)
    assert said.startswith("kudos: enrollment for location: 1 group(s) not shown") and "Berlin" not in said
    assert "15" not in said and "75" not in said
    without = breakdown(METRICS[0], "location", {k: v for k, v in people.items() if not k.startswith("Zurich")}, 5)
    assert without.hidden_flagged == 0 and [c.finding for c in without.cells] == ["flag", "best"]


def test_a_shown_group_below_four_fifths_of_a_hidden_best_group_is_a_finding() -> None:
    """A review of 2026-12-04: A (20 people, 95%) hidden beside S (3 people), B (100, 74%) and C (100, 75%) shown:
    B was judged "ok" against C, though below four fifths of A, meaningfully; the findings said nothing."""
    people: dict[str, tuple[Person, str]] = {}
    for group, n, enrolled in (("A", 20, 19), ("S", 3, 3), ("B", 100, 74), ("C", 100, 75)):
        for i in range(n):
            people[f"{group}{i}"] = (Person(in_audience=True, enrolled=i < enrolled), group)
    b = breakdown(METRICS[0], "location", people, 5)
    assert [c.group for c in b.cells] == ["B", "C"] and b.below_hidden >= 1
    report = FairnessReport(5, "2026-12-04", ["location"], [], [JourneyFairness("kudos", 223, 171, 0, [b], [])], None)
    said = [line for line in findings(report) if "below four fifths of a group not shown" in line]
    assert said and "A" not in said[0].split(": ", 2)[2] and "95" not in said[0]



def test_resources_offered_shows_the_groups_the_delivery_column_shows() -> None:
    """An audit on 2026-12-06: Ops (6 people reached, 2 delivered) was hidden in the delivery column, but its mean
    resources offered, 0.33 of 6 people, was shown. Both columns hide by the same rule: the group's people (k = 5:
    Legal's 4 are hidden, and Ops, the smallest other, with them, in both)."""
    events, messages = [], []
    for group, n, delivered in (("Sales", 10, 10), ("Ops", 6, 2), ("Legal", 4, 4)):
        for i in range(n):
            pid = f"{group}{i}"
            events.append(decode_event(json.dumps({
                "specversion": "1.0", "id": pid, "source": "test", "type": "hris.employee.upserted",
                "time": "2026-03-01T09:00:00Z", "subject": pid, "data": {"department": group}})))
            went = i < delivered
            messages.append(Message.model_validate({
                "message_id": f"m-{pid}", "employee_id": pid, "recipient_id": pid, "journey_id": "welcome",
                "journey_version": 1, "step_id": "hello", "channel": "email",
                "status": "sent" if went else "suppressed", "reason": None if went else "opted_out_channel",
                "scheduled_for": "2026-03-02T09:00:00Z",
                "created_at": "2026-03-02T09:00:00Z", "resources": ["r-a"] if went else []}))
    report = fairness_report(build({}, Fairness(attributes=["department"], k=5), messages, [], events))
    [j] = report.journeys
    delivery = next(b for b in j.breakdowns if b.metric == "delivery" and b.attribute == "department")
    offered = next(v for v in j.values if v.measure == "resources_offered" and v.attribute == "department")
    assert [c.group for c in delivery.cells] == ["Sales"] and delivery.hidden_groups == 2
    assert [c.group for c in offered.cells] == ["Sales"] and offered.hidden_groups == 2
    assert offered.overall is not None and (offered.overall.n, offered.overall.value) == (20, 16 / 20)
