"""Expressions and templates checked against the data they will see: one test per mistake a new author made
that used to pass ``validate`` and fail silently at run time (issue 9), each with its message pinned."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import WORLD, WriteFiles
from wayfinder.journeys import schemas
from wayfinder.journeys.checks import chains, events_at_steps
from wayfinder.journeys.events import DATA_MODELS
from wayfinder.journeys.loader import Sources, load


@pytest.fixture(autouse=True)
def _in_the_definitions_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def journey(trigger: str, steps: str, extra: str = "") -> str:
    return f"""apiVersion: wayfinder/v1
kind: Journey
id: j
name: J
owner: hr@example.com
trigger:
{trigger}
{extra}steps:
{steps}"""


def errors(root: Path, *more: Path) -> list[str]:
    _, problems = load(Sources(paths=[root / "journeys", WORLD / "catalog", *more],
                               templates=[root / "templates"] if (root / "templates").exists() else
                               [WORLD / "templates"]))
    return [str(p) for p in problems if p.severity == "error"]


def test_a_typo_in_a_profile_field_in_the_audience(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": journey("  event: hris.leave.started", "  - id: s\n    end: {}\n",
                                                   'audience: employee.employmenttype != "contractor"\n')})
    assert errors(root) == [
        "journeys/j.yaml:8:20: journey j: audience: employee.employmenttype: unknown field 'employmenttype' in "
        "the employee profile (did you mean 'employment_type'?); fields HR adds go under employee.attributes"]


KEPT = ("; SPEC keeps fields beyond its own, so it may be there: guard it with has(), or declare it in a kind: "
        "EventType document")


def test_a_typo_in_an_event_field_in_the_trigger(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": journey(
        '  event: hris.leave.started\n  when: event.data.leavetype == "parental"', "  - id: s\n    end: {}\n")})
    assert errors(root) == [
        "journeys/j.yaml:8:20: journey j: trigger.when: event.data.leavetype: unknown field 'leavetype' in the "
        "data of hris.leave.started (did you mean 'leave_type'?)" + KEPT]


def test_a_typo_in_an_event_field_in_a_send_condition(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": journey("  event: hris.dependent.added", """  - id: s
    send:
      channel: email
      template: new-parent/welcome
      when: trigger.data.relationshp == "child"
""")})
    assert errors(root) == [
        "journeys/j.yaml:13:26: journey j: step s: send.when: trigger.data.relationshp: unknown field "
        "'relationshp' in the data of hris.dependent.added (did you mean 'relationship'?)" + KEPT]


RELOCATED_TEMPLATE = """apiVersion: wayfinder/v1
kind: Template
subject: "Welcome to {{ trigger.data.new_location }}"
text: |
  Hi {{ recipient.preferred_name or recipient.given_name }},

  You moved from {{ trigger.data.old_city }} to {{ trigger.data.new_location }}.
"""


def test_a_template_variable_the_trigger_does_not_have(write_files: WriteFiles) -> None:
    root = write_files({
        "journeys/j.yaml": journey("  event: hris.employee.relocated",
                                   "  - id: s\n    send: {channel: email, template: relocation/welcome}\n"),
        "templates/relocation/welcome.yaml": RELOCATED_TEMPLATE})
    assert errors(root) == [
        "templates/relocation/welcome.yaml:7:34: template relocation/welcome: trigger.data.old_city: unknown field "
        "'old_city' in the data of hris.employee.relocated (did you mean 'old_country'?)" + KEPT + " (as used by "
        "journey j, step s)"]


def test_an_unknown_template_variable_gets_a_suggestion(write_files: WriteFiles) -> None:
    root = write_files({
        "journeys/j.yaml": journey("  event: hris.employee.relocated",
                                   "  - id: s\n    send: {channel: email, template: relocation/welcome}\n"),
        "templates/relocation/welcome.yaml": RELOCATED_TEMPLATE.replace("trigger.data.old_city", "triger.x")})
    assert errors(root) == [  # the journey is not also told the template is unknown: it is, with an error
        "templates/relocation/welcome.yaml:7:21: template relocation/welcome: unknown variable 'triger' "
        "(did you mean 'trigger'?) (templates see: employee, event, explanation, preferences_url, recipient, "
        "resources, roadmap, trigger)"]


@pytest.mark.parametrize(("where", "line", "column", "label", "typo", "right"), [
    ("trigger", 7, 10, "trigger.event", "hris.employee.relocate", "hris.employee.relocated"),
    ("exit_on", 9, 12, "exit_on[0].event", "hris.employee.terminate", "hris.employee.terminated"),
    ("wait_for", 12, 23, "step w: wait_for.event", "onboarding.task.complete", "onboarding.task.completed"),
])
def test_a_typo_in_an_event_type(write_files: WriteFiles, where: str, line: int, column: int, label: str,
                                 typo: str, right: str) -> None:
    names = {"trigger": "hris.employee.relocated", "exit_on": "hris.employee.terminated",
             "wait_for": "onboarding.task.completed", where: typo}
    root = write_files({"journeys/j.yaml": journey(
        f"  event: {names['trigger']}",
        f"  - id: w\n    wait_for: {{event: {names['wait_for']}, timeout: 3d}}\n",
        f"exit_on:\n  - event: {names['exit_on']}\n")})
    assert errors(root) == [
        f"journeys/j.yaml:{line}:{column}: journey j: {label}: unknown event type {typo!r} (did you mean "
        f"{right!r}?); a custom type needs a kind: EventType document that declares its data"]


def test_a_missing_step_target_is_reported_when_the_file_has_another_error(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": journey("  event: hris.leave.started", """  - id: first
    branch: {if: 'employee.country == "DE"', then: misssing}
  - id: second
    send: {channel: email, templat: new-parent/welcome}
""")})
    assert errors(root) == [
        "journeys/j.yaml:10:52: journey j: step first: jump to unknown step 'misssing'; this journey's steps are "
        "first, second",
        "journeys/j.yaml:12:28: journey j: steps[1].send: unknown field 'templat' (did you mean 'template'?)",
    ]


def test_a_field_that_may_be_absent_must_be_guarded(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": journey(
        '  event: hris.employee.relocated\n  when: event.data.new_timezone != ""',
        "  - id: s\n    end: {}\n", 'audience: employee.attributes.team == "x"\n')})
    assert errors(root) == [
        "journeys/j.yaml:8:20: journey j: trigger.when: event.data.new_timezone: 'new_timezone' may be absent from "
        "the data of hris.employee.relocated: guard it with has(event.data.new_timezone)",
        "journeys/j.yaml:9:31: journey j: audience: employee.attributes.team: 'team' may be absent from "
        "employee.attributes: guard it with has(employee.attributes.team)"]


def test_guards_and_defaults_make_an_absent_field_safe(write_files: WriteFiles) -> None:
    root = write_files({
        "journeys/j.yaml": journey(
            '  event: hris.employee.relocated\n'
            '  when: has(event.data.new_timezone) && event.data["new_timezone"] != ""',
            "  - id: s\n    send: {channel: email, template: relocation/welcome}\n",
            'audience: \'!has(employee.attributes.team) || employee.attributes.team == "x"\'\n'),
        "templates/relocation/welcome.yaml": RELOCATED_TEMPLATE.replace(
            "{{ trigger.data.old_city }}", "{{ trigger.data.old_location }}{{ trigger.data.new_timezone | d('') }}"
            "{% if trigger.data.new_timezone %}{{ trigger.data.new_timezone }}{% endif %}")})
    assert errors(root) == []


def test_unguarded_absent_field_in_a_template(write_files: WriteFiles) -> None:
    root = write_files({
        "journeys/j.yaml": journey("  event: hris.employee.relocated",
                                   "  - id: s\n    send: {channel: email, template: relocation/welcome}\n"),
        "templates/relocation/welcome.yaml": RELOCATED_TEMPLATE.replace("trigger.data.old_city",
                                                                        "employee.attributes.team")})
    assert errors(root) == [
        "templates/relocation/welcome.yaml:7:41: template relocation/welcome: employee.attributes.team: 'team' may "
        "be absent from employee.attributes: give it a default: {{ employee.attributes.team | default('') }} "
        "(as used by journey j, step s)"]


EVENT_TYPE = """apiVersion: wayfinder/v1
kind: EventType
id: lms.course.completed
data:
  course_id: {}
  score: {required: false}
"""


def test_a_custom_event_type_is_declared_with_its_fields(write_files: WriteFiles) -> None:
    root = write_files({
        "journeys/j.yaml": journey('  event: lms.course.completed\n  when: event.data.course == "x"',
                                   "  - id: s\n    end: {}\n"),
        "events/lms.yaml": EVENT_TYPE})
    assert errors(root, root / "events") == [
        "journeys/j.yaml:8:20: journey j: trigger.when: event.data.course: unknown field 'course' in the data of "
        "lms.course.completed (did you mean 'course_id'?)"]


def test_a_built_in_event_type_is_extended_with_the_fields_an_organisations_events_carry(
        write_files: WriteFiles) -> None:
    """SPEC §2: fields beyond SPEC's are kept; declared, a journey may read them (guarded when optional)."""
    root = write_files({
        "journeys/j.yaml": journey('  event: hris.dependent.added\n  when: has(event.data.twins) && event.data.twins',
                                   "  - id: s\n    end: {}\n"),
        "events/x.yaml": EVENT_TYPE.replace("lms.course.completed", "hris.dependent.added").replace(
            "  course_id: {}\n  score: {required: false}\n", "  twins: {required: false}\n")})
    assert errors(root) == []  # guarded with has(): a field beyond SPEC's is kept, so it may be there
    unguarded = root / "journeys/j.yaml"
    unguarded.write_text(unguarded.read_text(encoding="utf-8").replace("has(event.data.twins) && ", ""),
                         encoding="utf-8")
    assert errors(root) == [
        "journeys/j.yaml:8:20: journey j: trigger.when: event.data.twins: unknown field 'twins' in the data of "
        "hris.dependent.added" + KEPT]  # unguarded and not declared
    assert errors(root, root / "events") == ["journeys/j.yaml:8:20: journey j: trigger.when: event.data.twins: "
                                             "'twins' may be absent from the data of hris.dependent.added: guard it "
                                             "with has(event.data.twins)"]


def test_an_extension_of_a_built_in_type_declares_only_fields_beyond_specs(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": journey("  event: hris.leave.started", "  - id: s\n    end: {}\n"),
                        "events/x.yaml": EVENT_TYPE.replace("lms.course.completed", "hris.leave.started").replace(
                            "course_id", "leave_type"),
                        "events/y.yaml": EVENT_TYPE.replace("lms.course.completed", "hris.leave.started")})
    assert errors(root, root / "events") == [
        "events/x.yaml:5:15: 'leave_type' is already a field of the built-in event type 'hris.leave.started': declare "
        "only the fields beyond SPEC's",
        "events/y.yaml:3:5: event type 'hris.leave.started' is declared twice"]


def test_catalog_eligibility_is_checked_against_the_profile(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": journey("  event: hris.leave.started", "  - id: s\n    end: {}\n"),
                        "catalog/extra.yaml": """apiVersion: wayfinder/v1
kind: Resource
id: extra
type: tool
title: Extra
topics: [onboarding]
eligibility: employee.contry == "DE" && resource.titel != ""
"""})
    assert errors(root, root / "catalog") == [
        "catalog/extra.yaml:7:23: resource extra: eligibility: employee.contry: unknown field 'contry' in the "
        "employee profile (did you mean 'country'?); fields HR adds go under employee.attributes",
        "catalog/extra.yaml:7:50: resource extra: eligibility: resource.titel: unknown field 'titel' in a catalog "
        "resource (did you mean 'title'?)"]


def test_the_field_table_covers_every_field_the_decoder_knows() -> None:
    for event_type, model in DATA_MODELS.items():
        shape = schemas.BUILT_IN_EVENTS[event_type]
        assert set(model.model_fields) <= set(shape.fields), event_type


def test_chains_skip_strings_methods_and_macros() -> None:
    found = chains('employee.interests.exists(i, i == "employee.x") && has(event.data.y) && size(trigger.data)',
                   frozenset({"employee", "event", "trigger"}))
    assert [(c.root, c.names, c.in_has) for c in found] == [
        ("employee", ("interests",), False), ("event", ("data", "y"), True), ("trigger", ("data",), False)]


def test_the_bundled_examples_pass_every_check() -> None:
    from wayfinder import examples_dir

    ex = examples_dir()
    _, problems = load(Sources(paths=[ex / "journeys", ex / "catalog"], templates=[ex / "templates"]))
    assert [str(p) for p in problems if p.severity == "error"] == []
    assert not re.search("may be absent", " ".join(str(p) for p in problems))


def test_each_step_sees_the_events_that_can_reach_it(write_files: WriteFiles) -> None:
    """Before a wait_for a step sees only the trigger; after it, the event waited for, or the trigger again when
    it timed out (a timer resumes with the trigger), so a field of only one of them may be absent there."""
    steps = """  - id: s1
    send: {channel: intranet, subject: "Born on {{ event.data.date }}", body: b}
  - id: w
    wait_for: {event: hris.leave.started, timeout: 30d, on_timeout: late}
  - id: s2
    send: {channel: intranet, subject: "Leave {{ event.data.leave_type }}", body: b}
  - id: e
    end: {}
  - id: late
    send: {channel: intranet, subject: "Still {{ event.data.date }}", body: b}
  - id: w2
    wait_for: {event: hris.leave.started, timeout: 30d}
  - id: s3
    send: {channel: intranet, subject: "{{ event.data.leave_type }}", body: b}
"""
    root = write_files({"journeys/j.yaml": journey("  event: hris.dependent.added", steps)})
    assert errors(root) == [  # s3: w2 timed out with the trigger, or caught a leave
        "journeys/j.yaml:22:55: journey j: step s3: event.data.leave_type: 'leave_type' may be absent from the data "
        "of hris.leave.started or the data of hris.dependent.added: give it a default: {{ event.data.leave_type | "
        "default('') }}"]
    assert events_at_steps(load(Sources(paths=[root / "journeys"]))[0].journeys[("j", 1)]) == [
        ["hris.dependent.added"], ["hris.dependent.added"], ["hris.leave.started"], ["hris.leave.started"],
        ["hris.dependent.added"], ["hris.dependent.added"], ["hris.leave.started", "hris.dependent.added"]]


def warnings(root: Path) -> list[str]:
    _, problems = load(Sources(paths=[root / "journeys", WORLD / "catalog"], templates=[WORLD / "templates"]))
    return [str(p) for p in problems if p.severity == "warning"]


@pytest.mark.parametrize(("when", "told"), [
    ("event.data.date < now", True),  # a date's text against a time: false for every person
    ('size(employee.interests) > "2"', True),
    ('employee.start_date < "2026-03-01" && event.data.reason in ["birth"]', False),  # text with text
    ('timestamp(event.data.date + "T00:00:00Z") < now', False),
    ("has(employee.attributes.level) && employee.attributes.level > 3", False),  # no type known: not judged
    ('has(event.data.reason) && event.data.reason == "birth" && event.time > now', False),
])
def test_a_condition_whose_types_do_not_fit_is_a_warning_where_it_is(write_files: WriteFiles, when: str,
                                                                      told: bool) -> None:
    """CEL fails an operation on values of types that do not fit (a date, which is text in an event and the profile,
    compared with ``now``), and a failure counts as false (SPEC §4): the journey silently enrolled nobody. The
    library has no type checker, so ``validate`` evaluates each condition once on values of the types SPEC gives
    and warns (2026-12-05)."""
    root = write_files({"journeys/j.yaml": journey(f"  event: hris.dependent.added\n  when: '{when}'",
                                                   "  - id: s\n    end: {}\n")})
    found = warnings(root)
    assert errors(root) == []
    if told:
        assert len(found) == 1 and found[0].startswith("journeys/j.yaml:8:9: warning: journey j: trigger.when: the "
                                                       "values' types do not fit (No such overload"), found
        assert "counts as false for everyone (SPEC §4)" in found[0]
    else:
        assert found == []


@pytest.mark.parametrize(("when", "gives"), [
    ("event.data.relationship", "text"),  # meant: event.data.relationship == "child"
    ("size(event.data.reason)", "a number"),
    ('event.data.relationship == "child"', None),
    ('event.data.relationship == "child" ? true : false', None),
    ("has(employee.attributes.level) && employee.attributes.level", None),  # no example for an attribute
])
def test_a_condition_that_gives_no_true_or_false_is_a_warning(write_files: WriteFiles, when: str,
                                                               gives: str | None) -> None:
    """A validate audit on 2026-12-05: ``when: event.data.relationship`` (text, not a comparison) validated clean
    and was false for everyone at run time (``condition gave str, not a bool``, counted as failed). The one
    evaluation on example values now says so, as it says a type error; a ``wait.until`` gives a date, not a
    condition, and is not judged so."""
    root = write_files({"journeys/j.yaml": journey(f"  event: hris.dependent.added\n  when: '{when}'",
                                                   "  - id: w\n    wait: {until: trigger.data.date}\n"
                                                   "  - id: s\n    end: {}\n")})
    assert errors(root) == []
    if gives is None:
        assert warnings(root) == []
    else:
        assert warnings(root) == [
            f"journeys/j.yaml:8:9: warning: journey j: trigger.when: a condition gives true or false, and this gives "
            f'{gives} (compare it, as in `event.data.reason == "birth"`, or test it is there with has(...)): at run '
            "time it fails and counts as false for everyone (SPEC §4)"]


@pytest.mark.parametrize(("when", "column", "told"), [
    ('timestamp("2026-03-01") < now', 10, 'timestamp("2026-03-01") fails whatever the person or the event (Function '
     "'timestamp' error: premature end of input; CEL reads a timestamp from RFC 3339 text with a time and an offset, "
     '"2026-03-01T00:00:00Z")'),
    ('event.data.reason == "birth" && int("x") > 1', 42, """int("x") fails whatever the person or the event """
     "(Function 'int' error: string parse error: invalid digit found in string)"),
    ('event.time + duration("5d") < now', 23, 'duration("5d") fails whatever the person or the event (Function '
     """'duration' error: Parsing Error; CEL writes a duration in h, m and s, "72h" for three days (no d or w))"""),
    ("[1, 2][5] == 1", 9, "the expression reads nothing and fails on every run (index out of bounds)"),
    # a pattern that does not compile (since 2026-12-05, later: a method on a field was not judged)
    ('event.data.reason.matches("[a-z")', 28, """matches("[a-z") fails whatever the person or the event (Function """
     "'matches' error; the pattern does not compile: RE2 syntax, a literal [ ( { or . escaped with two backslashes)"),
    ('event.data.reason.matches("^b(irth|)$")', 0, ""),
    ('timestamp("2026-03-01T00:00:00Z") < now && duration("72h") > duration("1h")', 0, ""),
    ("timestamp(event.data.date) < now", 0, ""),  # a value that does not parse: not judged (README)
    ('has(employee.attributes.level) && int(employee.attributes.level) > 3', 0, ""),  # no example: not judged
])
def test_a_part_that_fails_whatever_the_event_is_a_warning_where_it_is(write_files: WriteFiles, when: str,
                                                                         column: int, told: str) -> None:
    """Found by a session on 2026-12-05: a call that reads nothing and cannot be evaluated (a timestamp without a time,
    a duration in days, a number that is no number) compiled, so ``validate`` said ok, and the condition failed, so
    counted as false, for every person at run time (SPEC §4)."""
    root = write_files({"journeys/j.yaml": journey(f"  event: hris.dependent.added\n  when: '{when}'",
                                                   "  - id: s\n    end: {}\n")})
    found = warnings(root)
    assert errors(root) == []
    if told:
        assert found == [f"journeys/j.yaml:8:{column}: warning: journey j: trigger.when: {told}: at run time it fails "
                         "and counts as false for everyone (SPEC §4)"]
    else:
        assert found == []


def test_a_wait_until_that_fails_for_everyone_says_it_ends_the_enrollment(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": journey("  event: hris.dependent.added", """  - id: w
    wait:
      until: 'now + duration("2w")'
  - id: f
    wait:
      until: 'timestamp("2026-03-01")'
  - id: s
    end: {}
""")})
    found = warnings(root)
    assert found[0] == ("""journeys/j.yaml:11:21: warning: journey j: step w: wait.until: duration("2w") fails """
                        "whatever the person or the event (Function 'duration' error: Parsing Error; CEL writes a "
                        """duration in h, m and s, "72h" for three days (no d or w)): at run time it fails for """
                        "everyone and ends every enrollment that reaches the wait")
    assert len(found) == 1  # a wait on a fixed time that fails is an error of its own, said once
    assert errors(root) == ["journeys/j.yaml:14:14: journey j: step f: wait.until: the expression reads nothing and "
                            "gives no date or time on any run (RuntimeError: Function 'timestamp' error: premature end "
                            "of input. Check function arguments and their types.)"]


def test_validate_compiles_each_expression_once(write_files: WriteFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    """``checks`` compiled every condition a second time to evaluate it on example values, at every load (each
    ``validate``, and each worker's start): the parsed journey holds it compiled."""
    from wayfinder.expressions import Expr

    compiled: list[str] = []
    real = Expr.__init__.__globals__["cel"].compile  # the compiled module the engine uses

    def counting(source: str) -> object:
        compiled.append(source)
        return real(source)

    monkeypatch.setattr("wayfinder.expressions.cel.compile", counting)
    ours = ['event.data.relationship == "child"', 'employee.employment_type != "contractor"', "event.time < now",
            'now > timestamp("2026-03-01T00:00:00Z")', 'trigger.data.reason == "birth"']
    root = write_files({"journeys/j.yaml": journey(f"  event: hris.dependent.added\n  when: '{ours[0]}'", f"""  - id: b
    branch: {{if: '{ours[2]}', then: s, else: s}}
  - id: s
    send: {{channel: email, template: new-parent/welcome, when: '{ours[3]}'}}
  - id: t
    task: {{assignee: hr_partner, title: Call, when: '{ours[4]}'}}
""", f"audience: '{ours[1]}'\n")})
    assert errors(root) == [] and warnings(root) == []
    assert [compiled.count(source) for source in ours] == [2] * len(ours)  # once for each of the two loads above


STEPS_READING_TWINS = """  - id: s
    send: {channel: email, subject: "Twins: {{ trigger.data.twins }}", body: b}
  - id: t
    task: {assignee: hr_partner, title: t, when: trigger.data.twins == true}
"""


@pytest.mark.parametrize("when", [
    "has(event.data.twins)",
    'event.data.relationship == "child" && has(event.data.twins) && event.data.twins',
])
def test_a_field_the_trigger_requires_with_has_is_there_in_every_step(write_files: WriteFiles, when: str) -> None:
    """A new author guarded a field beyond SPEC's in ``trigger.when`` and then printed it in a message: validate
    asked for a second guard in every step, though no enrollment starts without the field."""
    root = write_files({"journeys/j.yaml": journey(f"  event: hris.dependent.added\n  when: '{when}'",
                                                   STEPS_READING_TWINS)})
    assert errors(root) == []


@pytest.mark.parametrize("when", [
    "!has(event.data.twins)",
    'has(event.data.twins) || event.data.relationship == "child"',
    'event.data.relationship == "child"',
    # none of these needs the field to start: a conditional, a has() compared with false, a negated group
    'has(event.data.twins) ? event.data.twins : true',
    'has(event.data.twins) == false',
    '!(has(event.data.twins) && event.data.twins)',
])
def test_a_trigger_that_may_start_without_the_field_still_asks_for_a_guard(write_files: WriteFiles,
                                                                           when: str) -> None:
    root = write_files({"journeys/j.yaml": journey(f"  event: hris.dependent.added\n  when: '{when}'",
                                                   STEPS_READING_TWINS)})
    found = errors(root)
    assert len(found) == 2 and all("trigger.data.twins: unknown field 'twins'" in e for e in found), found


def test_a_key_tested_with_in_is_guarded_as_with_has(write_files: WriteFiles) -> None:
    """CEL tests a map's key with ``"key" in map``: the one way to test an attribute whose name is no identifier
    (``cost-center``, ``2fa``), which ``has()`` cannot name. Validate asked for a ``has()`` that does not compile
    (2026-12-06)."""
    root = write_files({"journeys/j.yaml": journey(
        "  event: hris.dependent.added\n  when: '\"twins\" in event.data && event.data.twins'",
        "  - id: s\n    send: {channel: email, subject: x, body: y,"
        " when: '\"cost-center\" in employee.attributes && employee.attributes[\"cost-center\"] == \"CC1\"'}\n"
        "  - id: t\n    task: {assignee: hr_partner, title: t, when: trigger.data.twins == true}\n",
        'audience: \'"team" in employee.attributes && employee.attributes.team == "x"\'\n')})
    assert errors(root) == []


def test_a_key_tested_with_in_guards_that_key_only(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": journey(
        "  event: hris.dependent.added",
        "  - id: s\n    end: {}\n",
        'audience: \'"team" in employee.attributes && employee.attributes["cost-center"] == "x" '
        '&& "x" in employee.attributes.team\'\n')})
    assert errors(root) == [
        "journeys/j.yaml:8:65: journey j: audience: employee.attributes.cost-center: 'cost-center' may be absent "
        "from employee.attributes: guard it with \"cost-center\" in employee.attributes"]


def test_a_resource_field_the_catalog_may_not_give_is_guarded_in_eligibility(write_files: WriteFiles) -> None:
    """A resource without ``locale:`` or ``day:`` has none: its rule reads them guarded, as it runs (2026-12-06)."""
    root = write_files({"journeys/j.yaml": journey("  event: hris.leave.started", "  - id: s\n    end: {}\n"),
                        "catalog/extra.yaml": """apiVersion: wayfinder/v1
kind: Resource
id: extra
type: tool
title: Extra
topics: [onboarding]
eligibility: (!has(resource.locale) || resource.locale == employee.locale) && resource.day == null
"""})
    assert errors(root, root / "catalog") == [
        "catalog/extra.yaml:7:88: resource extra: eligibility: resource.day: 'day' may be absent from a catalog "
        "resource: guard it with has(resource.day)"]


@pytest.mark.parametrize(("source", "key"), [
    ('"badge" in employee.attributes', "badge"),
    ('r"x-y" in employee.attributes', "x-y"),
    ('"a" in employee.attributes["x"]', "a"),
    ('b"badge" in employee.attributes', None),  # bytes: no key of a map from JSON
    ('"a" + "b" in employee.attributes', None),  # the key is "ab"
    ('"a" in employee.attributes.filter(k, k != "")', None),  # a macro's result, not the map
])
def test_the_key_an_in_test_guards(source: str, key: str | None) -> None:
    assert [c.key_tested for c in chains(source, frozenset({"employee"}))] == [key]


@pytest.mark.parametrize(("text", "column"), [
    # the trigger's date is fine; the event a wait_for waited for has none: the caret goes to the second one
    ("  Born on {{ trigger.data.date }}, told on {{ event.data.date }}.", 58),
    # a field named inside an earlier word of the line (`name` in `preferred_name`)
    ("  Hi {{ employee.preferred_name or employee.name }}", 45),
    ("  Hi {{ employee.preferred_name or employee['name'] }}", 46),
    ("  {{ trigger.data.date }} {{ trigger['data'].datum }}", 46),
])
def test_a_template_field_is_placed_where_it_is_written_not_where_its_name_first_appears(
        write_files: WriteFiles, text: str, column: int) -> None:
    """Since 2026-12-06: the column was where the field's last name first appeared on the line, inside another
    expression (a valid one) when that one came first."""
    root = write_files({
        "journeys/j.yaml": journey(
            "  event: hris.dependent.added",
            "  - id: w\n    wait_for: {event: onboarding.task.completed, timeout: 3d}\n"
            "  - id: s\n    send: {channel: email, template: t}\n"),
        "templates/t.yaml": f"apiVersion: wayfinder/v1\nkind: Template\nsubject: S\ntext: |\n{text}\n"})
    found = errors(root)
    assert len(found) == 1
    assert found[0].startswith(f"templates/t.yaml:5:{column}: template t: ")
