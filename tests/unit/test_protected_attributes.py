"""Protected attributes never steer a journey; holdout and outcomes on the journey model. Wording pinned."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import WORLD, WriteFiles
from wayfinder.journeys.loader import Sources, load
from wayfinder.journeys.protected import protected_reads

HEAD = """apiVersion: wayfinder/v1
kind: Journey
id: j
name: J
owner: hr@example.com
"""
FAIRNESS = """apiVersion: wayfinder/v1
kind: Fairness
protected: [gender, birth_date]
"""
STEPS = """steps:
  - id: s
    end: {}
"""
TAIL = ("and 'gender' is protected (Fairness `protected`); protected attributes are kept for aggregate reporting "
        "only and must never steer a journey: remove it from the expression")


@pytest.fixture(autouse=True)
def _in_the_definitions_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def problems_of(root: Path, *extra: Path) -> list[str]:
    _, problems = load(Sources(paths=[root / "journeys", WORLD / "catalog", *extra], templates=[WORLD / "templates"]))
    return [str(p) for p in problems if p.severity == "error"]


def test_audience_reading_a_protected_attribute_is_rejected_at_its_column(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": HEAD + "trigger: {event: hris.employee.hired}\n"
                        "audience: employee.country == \"DE\" && employee.attributes.gender == \"f\"\n" + STEPS,
                        "fairness.yaml": FAIRNESS})
    assert problems_of(root, root / "fairness.yaml") == [
        f"journeys/j.yaml:7:39: journey j: audience reads employee.attributes.gender, {TAIL}"]


def test_reading_a_protected_attribute_from_the_event_data_is_rejected(write_files: WriteFiles) -> None:
    """An HRIS upsert's data is the profile itself: steering on event.data.gender is steering on the gender."""
    root = write_files({"journeys/j.yaml": HEAD + "trigger: {event: hris.employee.upserted}\n"
                        "audience: 'has(event.data.gender) && event.data.gender == \"f\"'\n"
                        + STEPS, "fairness.yaml": FAIRNESS})
    assert problems_of(root, root / "fairness.yaml") == [
        f"journeys/j.yaml:7:16: journey j: audience reads event.data.gender, {TAIL}",
        f"journeys/j.yaml:7:38: journey j: audience reads event.data.gender, {TAIL}"]


def test_without_a_fairness_document_nothing_is_protected(write_files: WriteFiles) -> None:
    # an attribute may be absent, so the expression guards it with has() (journeys/checks.py)
    root = write_files({"journeys/j.yaml": HEAD + "trigger: {event: hris.employee.hired}\n"
                        "audience: 'has(employee.attributes.gender) && employee.attributes.gender == \"f\"'\n"
                        + STEPS})
    assert problems_of(root) == []


def test_trigger_when_branch_if_and_send_when_are_checked(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": HEAD + """trigger:
  event: hris.employee.hired
  when: 'has(employee.attributes.gender)'
steps:
  - id: pick
    branch: {if: 'employee.attributes["gender"] == "f"', then: done}
  - id: hello
    send: {channel: email, subject: Hi, body: Hello, when: employee.attributes.birth_date > "1990"}
  - id: done
    end: {}
""", "fairness.yaml": FAIRNESS})
    assert problems_of(root, root / "fairness.yaml") == [
        f"journeys/j.yaml:8:14: journey j: trigger.when reads employee.attributes.gender, {TAIL}",
        f"journeys/j.yaml:11:19: journey j: step pick: branch.if reads employee.attributes.gender, {TAIL}",
        "journeys/j.yaml:13:60: journey j: step hello: send.when reads employee.attributes.birth_date, and "
        "'birth_date' is protected (Fairness `protected`); protected attributes are kept for aggregate reporting "
        "only and must never steer a journey: remove it from the expression",
    ]


def test_catalog_eligibility_reading_a_protected_field_is_rejected(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": HEAD + "trigger: {event: hris.employee.hired}\n" + STEPS,
                        "catalog/extra.yaml": """apiVersion: wayfinder/v1
kind: Resource
id: womens-network
type: network
title: Network
topics: [family]
eligibility: employee.attributes.gender == "f"
""", "fairness.yaml": FAIRNESS})
    assert problems_of(root, root / "catalog", root / "fairness.yaml") == [
        f"catalog/extra.yaml:7:14: resource womens-network: eligibility reads employee.attributes.gender, {TAIL}"]


def test_reads_are_found_in_every_form_and_not_inside_strings() -> None:
    def reads(source: str) -> list[tuple[int, str, str]]:
        return [(r.column, r.attribute, r.how) for r in protected_reads(source, ["gender", "country"])]

    assert reads('employee.department == "gender"') == []
    assert reads('"employee.attributes.gender" == "x"') == []
    assert reads("employee.country == 'DE'") == [(1, "country", "reads employee.country")]
    assert reads("employee . attributes . gender") == [(1, "gender", "reads employee.attributes.gender")]
    assert reads("employee['country'] == 'DE'") == [(1, "country", "reads employee.country")]
    assert reads('"f" in employee.attributes') == []  # the key f alone (2026-12-06)
    assert reads('"gender" in employee.attributes') == [(13, "gender", "reads employee.attributes.gender")]
    assert reads("size(employee) > 0") == [(6, "gender", "uses the whole employee profile")]
    assert reads("employee.attributes.team == 'x'") == []
    assert reads("event.data.country == 'DE'") == [(1, "country", "reads event.data.country")]
    assert reads("trigger . data['gender'] == 'f'") == [(1, "gender", "reads trigger.data.gender")]
    assert reads("size(event.data) > 0") == [(6, "gender", "uses event.data as a whole")]
    assert reads("size(trigger) > 0") == [(6, "gender", "uses the whole trigger")]
    assert reads("event.type == 'x' && trigger.data.start_date < now && event.subject != ''") == []
    assert reads("'f' in event.data.attributes") == []
    assert reads("'f' in event.data.attributes.x + size(event.data.attributes)") == [
        (39, "gender", "uses event.data.attributes as a whole")]
    assert reads("event.data.attributes['country'] == 'DE'") == [(1, "country", "reads event.data.attributes.country")]
    assert protected_reads("employee.attributes.gender", []) == []


def test_a_key_written_with_escapes_is_the_key_it_names() -> None:
    """CEL reads '\\x67ender', '\\u0067ender' and '\\147ender' as 'gender': the same protected read."""
    def reads(source: str) -> list[tuple[str, str]]:
        return [(r.attribute, r.how) for r in protected_reads(source, ["gender"])]

    for key in ("\\x67ender", "\\u0067ender", "\\U00000067ender", "\\147ender", "g\\x65nder"):
        assert reads(f"employee.attributes['{key}'] == 'f'") == [("gender", "reads employee.attributes.gender")], key
        assert reads(f'employee["{key}"] == "f"') == [("gender", "reads employee.gender")], key
        assert reads(f"trigger.data['{key}'] == 'f'") == [("gender", "reads trigger.data.gender")], key
    assert reads("employee.attributes['te\\x61m'] == 'x'") == []  # 'team'
    assert reads("employee.attributes['it\\'s'] == 'x'") == []


def test_a_method_or_macro_on_the_profile_or_its_attributes_uses_it_as_a_whole() -> None:
    """``.exists(...)``, ``.size()`` and the like read every key (or value): a whole-value use, at the root's
    column as ``size(employee.attributes)`` is; a field of that name without a call is only that field."""
    def reads(source: str) -> list[tuple[int, str, str]]:
        return [(r.column, r.attribute, r.how) for r in protected_reads(source, ["gender"])]

    whole = "uses employee.attributes as a whole"
    assert reads("employee.attributes.exists(k, k == 'gender')") == [(1, "gender", whole)]
    assert reads("employee.attributes.filter(k, k.startsWith('gen')).size() > 0") == [(1, "gender", whole)]
    assert reads("employee.attributes.all(k, k != 'gender')") == [(1, "gender", whole)]
    assert reads("x && employee.attributes.size() > 3") == [(6, "gender", whole)]
    assert reads("employee . attributes . exists_one (k, k == 'gender')") == [(1, "gender", whole)]
    assert reads("employee.attributes.map(k, k).exists(k, k == 'gender')") == [(1, "gender", whole)]
    assert reads("employee.exists(k, k == 'attributes')") == [(1, "gender", "uses the whole employee profile")]
    assert reads("event.data.attributes.exists(k, true)") == [(1, "gender", "uses event.data.attributes as a whole")]
    assert reads("event.data.size() > 0") == [(1, "gender", "uses event.data as a whole")]
    assert reads("trigger.exists(k, true)") == [(1, "gender", "uses the whole trigger")]
    # a field named like a macro is a field; a method on a field that is not protected reads only that field
    assert reads("employee.attributes.size > 3") == []
    assert reads("employee.department.startsWith('gen') && employee.attributes.team.size() > 0") == []
    assert reads("employee.attributes.gender.size() > 0") == [(1, "gender", "reads employee.attributes.gender")]


def test_validate_rejects_a_macro_over_the_attributes_at_its_column(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": HEAD + "trigger: {event: hris.employee.hired}\n"
                        "audience: employee.country == \"DE\" && employee.attributes.exists(k, k == 'gender')\n"
                        + STEPS, "fairness.yaml": FAIRNESS})
    assert problems_of(root, root / "fairness.yaml") == [
        f"journeys/j.yaml:7:39: journey j: audience uses employee.attributes as a whole, {TAIL}"]


def test_a_second_fairness_document_is_an_error(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": HEAD + "trigger: {event: hris.employee.hired}\n" + STEPS,
                        "f/a.yaml": FAIRNESS, "f/b.yaml": FAIRNESS})
    assert problems_of(root, root / "f") == ["f/b.yaml:2:7: only one Fairness document is allowed"]


def test_fairness_refuses_attributes_that_identify_a_person(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": HEAD + "trigger: {event: hris.employee.hired}\n" + STEPS,
                        "fairness.yaml": FAIRNESS + "attributes: [department, email]\n"})
    assert problems_of(root, root / "fairness.yaml") == [
        "fairness.yaml:4:26: fairness: attributes[1]: 'email' identifies a person; a fairness report groups people "
        "by attributes such as department"]


def test_holdout_is_a_percentage_and_sensitive_journeys_have_none(write_files: WriteFiles) -> None:
    root = write_files({
        "journeys/a.yaml": HEAD + "holdout: 60%\ntrigger: {event: hris.employee.hired}\n" + STEPS,
        "journeys/b.yaml": HEAD.replace("id: j", "id: k") + "sensitivity: sensitive\nholdout: 5%\n"
                           "trigger: {event: hris.employee.hired}\n" + STEPS,
        "journeys/c.yaml": HEAD.replace("id: j", "id: c") + "holdout: 5\ntrigger: {event: hris.employee.hired}\n"
                           + STEPS,
    })
    assert problems_of(root) == [
        "journeys/a.yaml:6:10: journey j: holdout: holdout is a percentage above 0% and at most 50%, such as 5%, "
        "not '60%'",
        "journeys/b.yaml:7:10: journey k: holdout: a sensitive journey cannot have a holdout: nobody in a sensitive "
        "moment is left without help",
        "journeys/c.yaml:6:10: journey c: holdout: holdout is a percentage such as 5%, not a number without % (5): "
        "write 5% for 5 in a hundred",
    ]


@pytest.mark.parametrize("within", ["0d", "-5d", "0s"])
def test_an_outcome_window_of_nothing_is_refused(write_files: WriteFiles, within: str) -> None:
    """An audit of issue 14 on 2026-12-06: ``within: 0d`` (or a negative one) was accepted, and report impact then
    compared an outcome no one could have (a window (start, start + within] holds no time)."""
    root = write_files({"journeys/j.yaml": HEAD + f"holdout: 5%\noutcomes:\n  - {{event: x.y, within: {within}}}\n"
                        "trigger: {event: hris.employee.hired}\n" + STEPS})
    assert problems_of(root) == [
        f"journeys/j.yaml:8:26: journey j: outcomes[0].within: a duration here is more than nothing ({within}), "
        "such as 7d"]


def test_holdout_share_and_outcomes_parse(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": HEAD + "holdout: 2.5%\noutcomes:\n  - {event: 'engagement.*', within: 14d}\n"
                        "  - {event: hris.employee.terminated}\ntrigger: {event: hris.employee.hired}\n" + STEPS})
    defs, problems = load(Sources(paths=[root / "journeys", WORLD / "catalog"], templates=[WORLD / "templates"]))
    assert [p for p in problems if p.severity == "error"] == []
    j = defs.current()["j"]
    assert j.holdout_share == pytest.approx(0.025)
    assert [(o.event, o.window.days) for o in j.outcomes] == [("engagement.*", 14), ("hris.employee.terminated", 30)]
