"""``wayfinder report``: JSON, tables and errors through the CLI, over hand-written results and over simulate's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fairness_world import EVERYONE, NAMES, with_k
from tests.fairness_world import write as write_world
from wayfinder.cli import main
from wayfinder.journeys.holdout import in_holdout


def _args(world: Path, results: str = "results") -> list[str]:
    return ["--results", str(world / results), "--events", str(world / "events.jsonl"),
            "--journeys", str(world / "defs" / "journeys"), "--catalog", str(world / "defs" / "catalog"),
            "--fairness", str(world / "defs" / "fairness.yaml")]


def _names_no_one(text: str) -> None:
    for pid in EVERYONE:
        for needle in (f'"{pid}"', f" {pid} ", f" {pid}\n", NAMES[pid], f"{pid.lower()}@example.com"):
            assert needle not in text, f"the report names a person ({needle!r})"


def _cell(report: dict[str, Any], journey: str, metric: str, attribute: str) -> dict[str, Any]:
    j = next(j for j in report["journeys"] if j["journey_id"] == journey)
    return next(b for b in j["breakdowns"] if b["metric"] == metric and b["attribute"] == attribute)


def test_fairness_json_carries_the_hand_computed_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    world = write_world(tmp_path)
    assert main(["report", "fairness", *_args(world), "--json"]) == 0
    out = capsys.readouterr().out
    _names_no_one(out)
    data = json.loads(out)
    enrollment = _cell(data["fairness"], "welcome", "enrollment", "department")
    assert [(c["group"], c["count"], c["n"], c["finding"]) for c in enrollment["cells"]] == [
        ("Eng", 11, 20, "flag"), ("Sales", 18, 20, "best")]
    assert enrollment["hidden_groups"] == 2
    assert data["fairness"]["k"] == 10 and data["fairness"]["protected"] == ["gender"]
    poor = [f["resource_id"] for f in data["feedback"] if f["poorly_rated"]]
    assert poor == ["r-b"]
    r_a = next(f for f in data["feedback"] if f["resource_id"] == "r-a")
    assert (r_a["clicks"], r_a["ratings"], r_a["mean_rating"]) == (10, None, None)


def test_fairness_tables_list_the_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    world = write_world(tmp_path)
    html = tmp_path / "report.html"
    assert main(["report", "fairness", *_args(world), "--html", str(html)]) == 0
    out = capsys.readouterr().out
    _names_no_one(out)
    assert "Findings (3):" in out
    assert ("welcome: enrollment for department = Eng: 55% (95% CI 34%-74%, n=20), impact ratio 0.61 against "
            "the best group") in out
    assert "r-b: offered to 16 people, mean rating -0.70 from 10 ratings" in out
    # r-a: rated by 3 people, fewer than k: its ratings and mean are not shown
    assert "r-a       34                34        10      <10 people  -" in out
    assert "<td>r-a</td><td>34</td><td>34</td><td>10</td><td>&lt;10 people</td><td></td>" in \
        html.read_text(encoding="utf-8")


def test_a_group_named_like_math_text_is_drawn_as_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # matplotlib reads "$...$" in a label as math text: such a department failed to draw, and the page with it
    world = write_world(tmp_path)
    events = world / "events.jsonl"
    events.write_text(events.read_text(encoding="utf-8").replace('"Sales"', '"Sales $10k_$20k"'), encoding="utf-8")
    html = tmp_path / "report.html"
    assert main(["report", "fairness", *_args(world), "--html", str(html)]) == 0
    assert "Sales $10k_$20k" in capsys.readouterr().out
    assert "<td>Sales $10k_$20k</td>" in html.read_text(encoding="utf-8")


def test_a_group_named_in_a_script_the_chart_font_lacks_still_makes_the_page(tmp_path: Path,
                                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """An audit of issue 14 on 2026-12-06: a department named in Chinese made matplotlib warn of missing glyphs on
    stderr, and where warnings are errors (as in these tests) the page was never written. The table names it."""
    world = write_world(tmp_path)
    events = world / "events.jsonl"
    events.write_text(events.read_text(encoding="utf-8").replace('"Sales"', '"销售 Zürich"'), encoding="utf-8")
    html = tmp_path / "report.html"
    assert main(["report", "fairness", *_args(world), "--html", str(html)]) == 0
    assert "<td>销售 Zürich</td>" in html.read_text(encoding="utf-8")
    assert "Glyph" not in capsys.readouterr().err


def test_impact_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    world = write_world(tmp_path)
    with_k(world, 3)  # 3 of the control group complete: a count k = 10 hides
    assert main(["report", "impact", *_args(world), "--json"]) == 0
    [journey] = json.loads(capsys.readouterr().out)["impact"]["journeys"]
    [outcome] = journey["outcomes"]
    assert (outcome["reached"]["count"], outcome["reached"]["n"]) == (21, 28)
    assert (outcome["control"]["count"], outcome["control"]["n"]) == (3, 12)
    assert outcome["significant"] is True


def test_report_over_what_simulate_decided(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    world = write_world(tmp_path)
    assert main(["simulate", "--events", str(world / "events.jsonl"), "--journeys", str(world / "defs" / "journeys"),
                 "--catalog", str(world / "defs" / "catalog"), "--out", str(world / "sim")]) == 0
    capsys.readouterr()
    assert main(["report", "fairness", *_args(world, "sim"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    # every hire enrolls and gets the welcome at once; the engine has no holdout yet (see README), so none held out
    enrollment = _cell(data["fairness"], "welcome", "enrollment", "gender")
    assert [(c["group"], c["count"], c["n"]) for c in enrollment["cells"]] == [
        ("f", 20, 20), ("m", 20, 20), ("unknown", 10, 10)]
    j = next(j for j in data["fairness"]["journeys"] if j["journey_id"] == "welcome")
    assert (j["audience"], j["enrolled"]) == (50, 50)
    offered = next(v for v in j["values"] if v["measure"] == "resources_offered" and v["attribute"] == "gender")
    assert offered["overall"]["value"] == 2.0


def test_a_missing_results_folder_says_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    world = write_world(tmp_path)
    assert main(["report", "fairness", *_args(world, "nowhere")]) == 1
    assert "no messages.jsonl; point --results at the --out folder of wayfinder simulate or demo" in \
        capsys.readouterr().err


def test_a_broken_results_row_is_named_by_number(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    world = write_world(tmp_path)
    with (world / "results" / "messages.jsonl").open("a", encoding="utf-8") as f:
        f.write('{"message_id": "x"}\n')
    assert main(["report", "fairness", *_args(world)]) == 1
    err = capsys.readouterr().err
    # 39 welcome and 40 checkin records come first
    assert "messages.jsonl: row 80 is not a message record (fields: employee_id, recipient_id, journey_id)" in err


def test_an_event_line_that_is_not_utf8_is_left_out_and_counted(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    world = write_world(tmp_path)
    reports = [["report", "fairness", *_args(world), "--json"], ["report", "impact", *_args(world), "--json"]]
    before = []
    for report in reports:
        assert main(report) == 0
        before.append(capsys.readouterr().out)
    # S05 moves to a department whose name holds one invalid byte: read with U+FFFD, the figures would change
    moved = (b'{"specversion": "1.0", "id": "ev-bad", "source": "test/hris", "type": "hris.employee.upserted", '
             b'"time": "2026-03-02T10:00:00Z", "subject": "S05", "data": {"id": "S05", "department": "Sal\xffes"}}\n')
    with (world / "events.jsonl").open("ab") as f:
        f.write(moved)
    for report, figures in zip(reports, before, strict=True):
        assert main(report) == 0
        out, err = capsys.readouterr()
        assert out == figures
        assert err == f"1 line of {world / 'events.jsonl'} could not be read as events; the report leaves it out\n"


@pytest.mark.parametrize("line", [b"\xff\xfe\n", b"[" * 3000 + b"\n"], ids=["not UTF-8", "nested too deeply"])
@pytest.mark.parametrize(("file", "row"), [("messages.jsonl", 80), ("tasks.jsonl", 1)])
def test_a_results_row_that_cannot_be_read_is_named_by_number(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              line: bytes, file: str, row: int) -> None:
    world = write_world(tmp_path)
    with (world / "results" / file).open("ab") as f:
        f.write(line)
    assert main(["report", "fairness", *_args(world)]) == 1
    assert capsys.readouterr().err.endswith(f"{file}: row {row} is not JSON; regenerate it with wayfinder simulate\n")


def test_simulate_holds_out_the_hashed_share_and_impact_compares_them(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    world = write_world(tmp_path)
    assert main(["simulate", "--events", str(world / "events.jsonl"), "--journeys", str(world / "defs" / "journeys"),
                 "--catalog", str(world / "defs" / "catalog"), "--out", str(world / "sim")]) == 0
    capsys.readouterr()
    checkin = [json.loads(line) for line in (world / "sim" / "messages.jsonl").read_text().splitlines()
               if json.loads(line)["journey_id"] == "checkin"]
    held = {m["employee_id"] for m in checkin if (m["status"], m["reason"]) == ("suppressed", "holdout")}
    assert held == {p for p in EVERYONE if in_holdout(p, "checkin", 0.3)}
    assert all(m["status"] == "sent" for m in checkin if m["employee_id"] not in held)
    with_k(world, 2)
    assert main(["report", "impact", *_args(world, "sim"), "--json"]) == 0
    [outcome] = json.loads(capsys.readouterr().out)["impact"]["journeys"][0]["outcomes"]
    assert outcome["control"]["n"] == len(held) and outcome["reached"]["n"] == 50 - len(held)


def test_the_header_and_the_enrollment_cell_say_the_same(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With k = 40, welcome's audience of 50 holds k people: its 39 enrolled show in the header and in the cell (the
    header hid them while the audience showed, until 2026-12-06: the group, not the count, must hold k people)."""
    world = write_world(tmp_path)
    with_k(world, 40)
    assert main(["report", "fairness", *_args(world)]) == 0
    assert "journey welcome: audience 50, enrolled 39, held out 1" in capsys.readouterr().out
    assert main(["report", "fairness", *_args(world), "--json"]) == 0
    welcome = next(j for j in json.loads(capsys.readouterr().out)["fairness"]["journeys"]
                   if j["journey_id"] == "welcome")
    assert welcome["enrolled"] == 39
    assert all((b["overall"]["count"], b["overall"]["n"]) == (39, 50)
               for b in welcome["breakdowns"] if b["metric"] == "enrollment")
    world = write_world(tmp_path / "bigger-k")
    with_k(world, 51)
    assert main(["report", "fairness", *_args(world), "--json"]) == 0
    welcome = next(j for j in json.loads(capsys.readouterr().out)["fairness"]["journeys"]
                   if j["journey_id"] == "welcome")
    assert (welcome["audience"], welcome["enrolled"]) == (None, None)


def test_results_read_with_other_events_say_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Results of one run read with the events of another (``--events`` left out: the bundled ones) have no
    profiles for their people, so every group would be ``unknown`` without a word."""
    world = write_world(tmp_path)
    args = _args(world)
    del args[2:4]  # no --events
    assert main(["report", "fairness", *args, "--json"]) == 0
    err = capsys.readouterr().err
    assert "employees in the results have no profile in" in err and "events.jsonl" in err
    _names_no_one(err)
    assert main(["report", "fairness", *_args(world), "--json"]) == 0
    assert "no profile" not in capsys.readouterr().err


def test_a_fairness_file_that_is_no_fairness_document_says_so(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    world = write_world(tmp_path)
    args = _args(world)
    journey = next((world / "defs" / "journeys").glob("*.yaml"))
    args[args.index("--fairness") + 1] = str(journey)
    assert main(["report", "fairness", *args, "--json"]) == 1
    assert capsys.readouterr().err == f"{journey}: no `kind: Fairness` document in it (--fairness names the file " \
                                      "that says what to compare)\n"
    (world / "k.yaml").write_text("apiVersion: wayfinder/v1\nkind: Fairness\nk: true\n", encoding="utf-8")
    args[args.index("--fairness") + 1] = str(world / "k.yaml")
    assert main(["report", "fairness", *args, "--json"]) == 1
    assert "k.yaml:3:4: fairness: k: expected a whole number, such as 3, not true or false" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["fairness", "impact"])
def test_an_html_file_that_cannot_be_written_is_said_before_the_report(tmp_path: Path, kind: str,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """An audit on 2026-12-04: the whole report was printed, then "cannot use ..." (exit 1)."""
    world = write_world(tmp_path)
    for html, said in ((tmp_path / "nowhere" / "r.html", "its folder is not there"), (tmp_path, "a folder")):
        assert main(["report", kind, *_args(world), "--html", str(html)]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and f"wayfinder report: --html {html}: {said}" in captured.err
