"""Validation: every problem at once, each as file:line:column: message, with the wording pinned."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.support import WORLD, WriteFiles
from wayfinder import examples_dir
from wayfinder.cli import main
from wayfinder.expressions import Expr, ExpressionError
from wayfinder.journeys._problems import DefinitionError, Problem
from wayfinder.journeys.checks import suggest
from wayfinder.journeys.loader import Sources, load, load_or_raise

HEAD = """apiVersion: wayfinder/v1
kind: Journey
id: j
name: J
owner: hr@example.com
trigger:
  event: hris.leave.started
"""


@pytest.fixture(autouse=True)
def _in_the_definitions_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Problems name files relative to the current folder, as HR operations run ``wayfinder validate``."""
    monkeypatch.chdir(tmp_path)


def problems_of(root: Path) -> list[str]:
    _, problems = load(Sources(paths=[root / "journeys", WORLD / "catalog"], templates=[WORLD / "templates"]))
    return [str(p).removeprefix(str(root) + "/") for p in problems]


def catalog_problems(root: Path) -> list[str]:
    """The problems of ``root``'s catalog alone, as validate says them (paths from ``root``)."""
    _, problems = load(Sources(paths=[root / "catalog"]))
    return [str(p).removeprefix(str(root) + "/") for p in problems]


def only(lines: list[str], pattern: str) -> str:
    found = [line for line in lines if re.search(pattern, line)]
    assert len(found) == 1, (pattern, lines)
    return found[0]


def test_unknown_jump_and_template_are_both_reported_with_positions(write_files: WriteFiles) -> None:
    root = write_files({"journeys/typo.yaml": HEAD + """steps:
  - id: first
    branch: {if: 'employee.country == "DE"', then: missing-step}
  - id: second
    send: {channel: email, template: new-parent/welcom}
"""})
    lines = problems_of(root)
    assert only(lines, "missing-step") == ("journeys/typo.yaml:10:52: journey j: step first: "
                                           "jump to unknown step 'missing-step'; this journey's steps are first, "
                                           "second")
    assert only(lines, "welcom'") == ("journeys/typo.yaml:12:38: journey j: step second: unknown template "
                                      "'new-parent/welcom' (did you mean 'new-parent/welcome'?)")


def test_a_mistyped_choice_gets_a_did_you_mean_only_when_it_is_close(write_files: WriteFiles) -> None:
    """An HR operations audit on 2026-12-05: ``sensitivity: sensitve`` was told the two choices but not which one
    it nearly is. A value far from every choice (``xyz``) gets no guess."""
    root = write_files({"journeys/j.yaml": HEAD + "sensitivity: sensitve\nsteps:\n  - id: s\n"
                        "    send: {channel: emial, template: new-parent/welcome}\n",
                        "journeys/k.yaml": HEAD.replace("id: j", "id: k") + "sensitivity: xyz\nsteps:\n  - id: s\n"
                        "    end: {}\n"})
    lines = problems_of(root)
    assert only(lines, "j.yaml:8:") == ("journeys/j.yaml:8:14: journey j: sensitivity: Input should be 'standard' or "
                                        "'sensitive' (did you mean 'sensitive'?)")
    assert only(lines, "channel") == ("journeys/j.yaml:11:21: journey j: steps[0].send.channel: Input should be "
                                      "'email' or 'intranet' (did you mean 'email'?)")
    assert only(lines, "k.yaml:8:") == ("journeys/k.yaml:8:14: journey k: sensitivity: Input should be 'standard' or "
                                        "'sensitive'")


def test_cel_syntax_error_points_into_the_expression(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": HEAD + """audience: employee.country ==
steps:
  - id: s
    end: {}
"""})
    line = only(problems_of(root), "invalid expression")
    assert line.startswith("journeys/j.yaml:8:")
    col = int(line.split(":")[2])
    assert col > 11  # past "audience: ", inside the expression


def test_unknown_variable_in_expression(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": HEAD + """audience: emplyee.country == "DE"
steps:
  - id: s
    end: {}
"""})
    assert only(problems_of(root), "unknown variable") == (
        "journeys/j.yaml:8:11: journey j: audience: unknown variable 'emplyee' in expression "
        "(did you mean 'employee'?) (known here: employee, event, now, trigger)")


def test_every_unknown_variable_of_an_expression_is_placed_where_it_is_used(write_files: WriteFiles) -> None:
    """Issue 9: every problem in one run, at its column, with "did you mean". A name that starts a longer known
    name (employe in employee), one inside a string and one after a dot are not where the variable is."""
    root = write_files({"journeys/j.yaml": HEAD.replace(
        "  event: hris.leave.started\n",
        '  event: hris.leave.started\n  when: employee.country == "employe" && evnt.data.x == 1 && employe.role == '
        '"x" && event.evnt == 2\n') + "steps:\n  - id: s\n    end: {}\n"})
    lines = [line for line in problems_of(root) if "unknown variable" in line]
    assert [line.split(": ", 1)[0] for line in lines] == ["journeys/j.yaml:8:42", "journeys/j.yaml:8:62"]
    assert "'evnt' in expression (did you mean 'event'?)" in lines[0]
    assert "'employe' in expression (did you mean 'employee'?)" in lines[1]


def test_unknown_field_gets_a_suggestion_at_the_key(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": HEAD + """steps:
  - id: s
    send: {channel: email, template: new-parent/welcome, recource: {topics: [childcare]}}
"""})
    assert only(problems_of(root), "recource") == (
        "journeys/j.yaml:10:58: journey j: steps[0].send: unknown field 'recource' (did you mean 'resources'?)")


def test_step_needs_exactly_one_action(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": HEAD + """steps:
  - id: s
    wait: {for: 3d}
    end: {}
"""})
    assert only(problems_of(root), "exactly one action").startswith("journeys/j.yaml:9:5: journey j: steps[0]: ")


def test_bad_channel_duration_and_time_of_day(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": HEAD + """steps:
  - id: a
    send: {channel: sms, template: new-parent/welcome}
  - id: b
    wait: {for: 3 days}
  - id: c
    wait: {until: trigger.data.date, at: "9am"}
"""})
    lines = problems_of(root)
    assert only(lines, "channel") == ("journeys/j.yaml:10:21: journey j: steps[0].send.channel: Input should be "
                                      "'email' or 'intranet'")
    assert only(lines, "not a duration") == (
        "journeys/j.yaml:12:17: journey j: steps[1].wait.for: '3 days' is not a "
        "duration: write a number and a unit (s, m, h, d, w), e.g. 3d, 12w or -14d")
    assert only(lines, "time of day").startswith("journeys/j.yaml:14:42:")


def test_a_wait_until_that_reads_nothing_must_give_a_time(write_files: WriteFiles) -> None:
    """Found by an audit on 2026-12-05: ``until: 2026-03-10`` (or ``"2026-03-10"``, whose quotes are YAML's) is CEL
    arithmetic, 2013. It validated, and every enrollment that reached the wait ended there (expression_failed)."""
    root = write_files({"journeys/j.yaml": HEAD + """steps:
  - id: bare
    wait: {until: 2026-03-10}
  - id: quoted
    wait: {until: '"2026-03-10"', at: "09:00"}
  - id: no-such-day
    wait: {until: '"2026-13-45"'}
  - id: no-offset
    wait: {until: '"2026-03-10T09:00:00"'}
  - id: read
    wait: {until: trigger.data.start_date, offset: 1d}
  - id: cel
    wait: {until: 'timestamp("2026-03-10T09:00:00Z")'}
"""})
    lines = [line for line in problems_of(root) if "wait.until" in line]
    assert lines == [
        "journeys/j.yaml:10:19: journey j: step bare: wait.until: 2026-03-10 is arithmetic to CEL (2013), not a "
        """date; a date in CEL is quoted text: until: '"2026-03-10"'""",
        "journeys/j.yaml:14:19: journey j: step no-such-day: wait.until: the expression reads nothing and gives no "
        "date or time on any run (month must be in 1..12)",
        "journeys/j.yaml:16:19: journey j: step no-offset: wait.until: the expression reads nothing and gives no "
        "date or time on any run (a timestamp without an offset)",
    ]


def test_a_step_id_that_is_not_text_is_placed_at_the_id(write_files: WriteFiles) -> None:
    """Found by an audit on 2026-12-04: pydantic names the step's kind in the error's path (``steps.0.send.id``),
    and ``send`` is also a key of the step, so the error sat at the send's value and named ``send.id``."""
    root = write_files({"journeys/j.yaml": HEAD + """steps:
  - id: 1
    send: {channel: email, template: new-parent/welcome}
  - id: second
    branch: {if: 'true', then: second}
  - id: [x]
    wait: {for: 1d}
"""})
    lines = problems_of(root)
    assert only(lines, r"steps\[0\]") == "journeys/j.yaml:9:9: journey j: steps[0].id: expected text, not a number"
    assert only(lines, r"steps\[2\]") == "journeys/j.yaml:13:9: journey j: steps[2].id: expected text, not a list"


def test_a_cycle_whose_wait_is_0s_is_an_error_and_one_whose_wait_is_until_is_warned(write_files: WriteFiles) -> None:
    # One event sent one person 67 identical messages through such a loop (the cap only spread them out).
    loop = HEAD + """steps:
  - id: a
    send: {channel: email, template: new-parent/welcome}
  - id: pause
    wait: WAIT
  - id: b
    branch: {if: 'true', then: a}
"""
    root = write_files({"journeys/zero.yaml": loop.replace("WAIT", "{for: 0s}"),
                        "journeys/until.yaml": loop.replace("id: j", "id: u").replace(
                            "WAIT", "{until: trigger.time, offset: 1d}"),
                        "journeys/fine.yaml": loop.replace("id: j", "id: f").replace("WAIT", "{for: 1s}")})
    lines = problems_of(root)
    assert only(lines, "zero.yaml.*form a cycle") == ("journeys/zero.yaml:9:9: journey j: steps a -> pause -> b -> a "
                                                      "form a cycle with no wait or wait_for, so it would loop at once "
                                                      "for ever")
    assert only(lines, "until.yaml") == (
        "journeys/until.yaml:9:9: warning: journey u: steps a -> pause -> b -> a form a cycle whose only wait is a "
        "`wait: until`, whose date is past the second time round: it would loop at once from then on; add a `wait: "
        "for` or a wait_for")
    assert not [line for line in lines if "fine.yaml" in line]


def test_a_template_locale_written_with_an_underscore_is_said_in_words(write_files: WriteFiles) -> None:
    root = write_files({"templates/t.yaml": "apiVersion: wayfinder/v1\nkind: Template\nid: t\nsubject: Hi\n"
                                            "text: Hello\nlocales:\n  de_AT: {subject: Servus}\n"})
    _, problems = load(Sources(templates=[root / "templates"]))
    lines = [str(p).removeprefix(str(root) + "/") for p in problems]
    # it said: String should match pattern '^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$'; then, until 2026-12-05, at the
    # override's value (7:10) and named "locales.de_AT.[key]"
    assert only(lines, "de_AT") == ("templates/t.yaml:7:3: template: locales: 'de_AT' is not a language "
                                    "tag such as de or de-AT (write de-AT)")


def test_a_language_tag_that_is_not_one_is_said_in_words_at_the_key(write_files: WriteFiles) -> None:
    """A validate audit on 2026-12-05: a journey's ``names`` and a catalog's ``titles`` keyed by a word that is no
    language tag were told by the regular expression, at the value of the key at fault and named
    ``names.english.[key]``; a resource's ``locale`` by the regular expression too. They are said as a template's
    locales are, at the key."""
    root = write_files({"journeys/j.yaml": HEAD.replace("name: J\n", "name: J\nnames: {de: Hallo, english: Hi}\n")
                        + "steps:\n  - id: a\n    end: {}\n",
                        "catalog/c.yaml": "apiVersion: wayfinder/v1\nkind: Catalog\ntopics:\n"
                        "  - {id: t, titles: {fr: Sujet, fr_FR: Sujet}}\nresources:\n  - id: r\n    type: tool\n"
                        "    title: R\n    topics: [t]\n    locale: german\n"})
    assert only(problems_of(root), "names") == ("journeys/j.yaml:5:20: journey j: names: 'english' is not a language "
                                                "tag such as de or de-AT")
    assert catalog_problems(root) == [
        "catalog/c.yaml:4:33: catalog: topics[0].titles: 'fr_FR' is not a language tag such as de or de-AT "
        "(write fr-FR)",
        "catalog/c.yaml:10:13: catalog: resources[0].locale: 'german' is not a language tag such as de or de-AT"]


def test_a_journeys_own_explanation_is_checked_as_an_inline_template(write_files: WriteFiles) -> None:
    # A misspelt field validated clean, and every message then fell back to the generated sentence unseen.
    root = write_files({"journeys/j.yaml": HEAD + """explanation: "Because your {{ trigger.data.leave_typ }} began."
steps:
  - id: a
    send: {channel: email, subject: "Hi", body: "Hello"}
"""})
    line = only(problems_of(root), "explanation")
    assert line.startswith("journeys/j.yaml:8:44: journey j: explanation: trigger.data.leave_typ: unknown field "
                           "'leave_typ' in the data of hris.leave.started")


def test_cycle_without_wait_is_an_error_but_with_wait_is_fine(write_files: WriteFiles) -> None:
    root = write_files({"journeys/loop.yaml": HEAD + """steps:
  - id: a
    send: {channel: email, template: new-parent/welcome}
  - id: b
    branch: {if: 'true', then: a}
""", "journeys/ok.yaml": HEAD.replace("id: j", "id: k") + """steps:
  - id: a
    wait: {for: 1d}
  - id: b
    branch: {if: 'true', then: a}
"""})
    lines = problems_of(root)
    assert only(lines, "form a cycle") == ("journeys/loop.yaml:9:9: journey j: steps a -> b -> a form a cycle with no "
                                           "wait or wait_for, so it would loop at once for ever")
    assert only(lines, "closing a cycle") == ("journeys/loop.yaml:12:32: journey j: step b jumps back to a, closing a "
                                              "cycle (a -> b -> a) with no wait or wait_for")  # the jump that does it
    assert not [line for line in lines if "ok.yaml" in line and "warning" not in line]


def test_every_cycle_is_said_at_once_not_only_the_first(write_files: WriteFiles) -> None:
    """Issue 2: problems are reported together. Two loops of one journey, two of topic parents and two of requires
    were each said one at a time (found by an audit of issue 2)."""
    root = write_files({"journeys/two.yaml": HEAD + """steps:
  - id: a
    send: {channel: email, template: new-parent/welcome}
  - id: b
    branch: {if: 'true', then: a}
  - id: c
    send: {channel: email, template: new-parent/welcome}
  - id: d
    branch: {if: 'true', then: c}
""", "catalog/c.yaml": """
        apiVersion: wayfinder/v1
        kind: Catalog
        topics:
          - {id: t1, parent: t2}
          - {id: t2, parent: t1}
          - {id: t3, parent: t3}
        resources:
          - {id: r1, type: task, title: R1, topics: [t1], requires: [r2]}
          - {id: r2, type: task, title: R2, topics: [t1], requires: [r1]}
          - {id: r3, type: task, title: R3, topics: [t1], requires: [r4]}
          - {id: r4, type: task, title: R4, topics: [t1], requires: [r3]}
    """})
    lines = problems_of(root)
    assert [line for line in lines if "form a cycle with no wait" in line] == [
        "journeys/two.yaml:9:9: journey j: steps a -> b -> a form a cycle with no wait or wait_for, so it would loop "
        "at once for ever",
        "journeys/two.yaml:13:9: journey j: steps c -> d -> c form a cycle with no wait or wait_for, so it would loop "
        "at once for ever"]
    lines = catalog_problems(root)
    assert [line.split(": ", 1)[1] for line in lines if "parents form a cycle" in line] == [
        "topic parents form a cycle: t1 -> t2 -> t1", "topic parents form a cycle: t3 -> t3"]
    assert [line.split(": ", 1)[1] for line in lines if "requires form a cycle" in line] == [
        "requires form a cycle: r1 -> r2 -> r1", "requires form a cycle: r3 -> r4 -> r3"]


def test_unknown_topic_duplicate_step_and_unreachable_warning(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": HEAD + """steps:
  - id: a
    send: {channel: email, template: new-parent/welcome, resources: {topics: [childcar]}}
  - id: a
    end: {}
  - id: lonely
    end: {}
"""})
    lines = problems_of(root)
    assert only(lines, "childcar'") == ("journeys/j.yaml:10:79: journey j: step a: unknown topic 'childcar' "
                                        "(did you mean 'childcare'?)")
    assert only(lines, "used twice").startswith("journeys/j.yaml:11:9:")
    assert only(lines, "never be reached").startswith("journeys/j.yaml:13:9: warning: ")


def test_a_resource_limit_above_fifty_is_warned_not_refused(write_files: WriteFiles) -> None:
    """SPEC §5 bounds a message's resources by its `limit` and no more; a long list is worth a word, not a refusal
    (it was an error, so a journey asking for `limit: 100` never ran)."""
    root = write_files({"journeys/j.yaml": HEAD + """steps:
  - id: a
    send: {channel: email, template: new-parent/welcome, resources: {topics: [childcare], limit: 60}}
"""})
    assert problems_of(root) == [
        "journeys/j.yaml:10:98: warning: journey j: step a: limit 60: a message may list up to 60 resources; more "
        "than 50 links in one message is a long read (it is not cut)"]

def test_a_roadmap_item_requiring_what_the_roadmap_cannot_list_is_warned(write_files: WriteFiles,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """An item whose requirement is about none of the roadmap's topics was listed as if it required nothing (the
    requirement was left out of the order without a word, found by an audit of SPEC §5). A requirement in a
    subtopic, or one whose alternative (``group``) is on the roadmap, can be listed: no warning."""
    write_files({
        "catalog/c.yaml": """
            apiVersion: wayfinder/v1
            kind: Catalog
            topics: [{id: onboarding}, {id: security, parent: onboarding}, {id: it}]
            resources:
              - {id: vpn, type: tool, title: VPN, topics: [it]}
              - {id: laptop, type: task, title: Laptop, topics: [onboarding], day: 2, requires: [vpn, badge, policy]}
              - {id: badge, type: task, title: Badge, topics: [security]}
              - {id: policy-de, type: policy, title: P, topics: [it], group: policy}
              - {id: policy, type: policy, title: P, topics: [onboarding], group: policy}
        """,
        "journeys/j.yaml": HEAD + """steps:
  - id: roadmap
    roadmap: {topics: [onboarding], horizon: 30d, channel: email, template: onboarding/roadmap}
  - id: all
    roadmap: {topics: [onboarding, it], horizon: 30d, channel: email, template: onboarding/roadmap}
"""})
    assert main(["validate", "journeys", "catalog", str(WORLD / "templates")]) == 0  # a warning: still valid
    warned = [line for line in capsys.readouterr().err.splitlines() if "requires" in line]
    assert warned == ["journeys/j.yaml:10:23: warning: journey j: step roadmap: resource 'laptop' on this roadmap "
                      "requires 'vpn', which is about none of its topics (it): the roadmap leaves 'vpn' out and "
                      "dates 'laptop' without waiting for it; add a topic of 'vpn' here, or give 'vpn' one of these "
                      "topics"]


def test_yaml_syntax_error_and_duplicate_key(write_files: WriteFiles) -> None:
    root = write_files({"journeys/broken.yaml": "id: [unclosed\n", "journeys/dup.yaml": HEAD + "name: again\n"})
    lines = problems_of(root)
    broken = [line for line in lines if "broken.yaml" in line]
    assert broken == ["journeys/broken.yaml:1:5: YAML syntax error: while parsing a flow sequence (see line 2: did "
                      "not find expected ',' or ']')",  # where the bracket was opened
                      "journeys/broken.yaml:2:1: YAML syntax error: did not find expected ',' or ']'"]
    assert only(lines, "duplicate key") == "journeys/dup.yaml:8:1: duplicate key 'name'"


@pytest.mark.parametrize(("text", "at"), [
    ("exit_on:\n\t- event: hris.employee.terminated\n", "9:1"),  # a tab where a list item is indented
    ("exit_on:\n  - event: hris.employee.terminated\n\t  event: x\n", "10:1"),  # libyaml: "violates indentation"
    ("exit_on:\n  -\tevent: hris.employee.terminated\n", "9:4"),  # after a list's dash
])
def test_a_tab_is_named_in_words_at_the_tab(write_files: WriteFiles, text: str, at: str) -> None:
    """An editor's tab is a newcomer's commonest YAML slip: the parser's "cannot start any token" does not say it."""
    root = write_files({"journeys/tabbed.yaml": HEAD + text})
    tabbed = [line for line in problems_of(root) if "tabbed.yaml" in line]
    assert tabbed == [f"journeys/tabbed.yaml:{at}: a tab character: YAML indents with spaces only; replace the tab "
                      "with spaces"]


def test_a_list_where_a_mapping_goes_and_back_is_said_in_an_authors_words(write_files: WriteFiles) -> None:
    """pydantic said "Input should be a valid dictionary or instance of ResourceRequest" (a class name) and "Input
    should be a valid list"; an HR author is told what to write, and what was written instead."""
    root = write_files({"journeys/j.yaml": HEAD + """exit_on:
  event: hris.employee.terminated
steps:
  - id: a
    send: {channel: email, subject: s, body: b, resources: [onboarding]}
"""})
    assert problems_of(root) == [
        "journeys/j.yaml:9:3: journey j: exit_on: expected a list: one item per line, each starting with '- ' "
        "(or [a, b] on one line), not a mapping",
        "journeys/j.yaml:12:60: journey j: steps[0].send.resources: expected a mapping: one 'name: value' per line, "
        "indented under it (or {name: value} on one line), not a list",
    ]


@pytest.mark.parametrize(("written", "meant"), [
    ("first_name", "given_name"), ("firstName", "given_name"), ("surname", "family_name"), ("level", "job_level"),
    ("job_title", "role"), ("manager", "manager_id"),
])
def test_a_profile_field_by_another_systems_name_suggests_spec_s_name(
        write_files: WriteFiles, written: str, meant: str) -> None:
    """An HR system's name for a profile field: by spelling alone ``first_name`` got "did you mean 'family_name'?",
    which would have sent messages to people by their surname."""
    root = write_files({"journeys/j.yaml": HEAD + f"""steps:
  - id: a
    send: {{channel: email, subject: "Hi {{{{ employee.{written} }}}}", body: b}}
"""})
    assert only(problems_of(root), written) == (
        f"journeys/j.yaml:10:53: journey j: step a: employee.{written}: unknown field {written!r} in the employee "
        f"profile (did you mean {meant!r}?); fields HR adds go under employee.attributes")


def test_every_profile_synonym_names_a_profile_field() -> None:
    from wayfinder.journeys import schemas
    assert set(schemas.PROFILE_SYNONYMS.values()) <= set(schemas.PROFILE.fields)
    assert not set(schemas.PROFILE_SYNONYMS) & set(schemas.PROFILE.fields)


def test_a_number_without_its_unit_where_a_duration_or_time_goes_says_so(write_files: WriteFiles) -> None:
    """``offset: 14`` was told "Input should be a valid string": the author meant days, and needs to hear the unit."""
    root = write_files({"journeys/j.yaml": HEAD + """reentry: 300
steps:
  - id: a
    wait: {until: trigger.data.start_date, offset: 14, at: 10}
  - id: b
    wait_for: {event: hris.leave.ended, timeout: 30}
"""})
    assert problems_of(root) == [
        "journeys/j.yaml:8:10: journey j: reentry: reentry is never, always or a duration such as 300d, not a number "
        "without a unit (300)",
        "journeys/j.yaml:11:52: journey j: steps[0].wait.offset: 14 is not a duration: a number needs a unit "
        "(s, m, h, d, w), e.g. 14d or 14w",
        "journeys/j.yaml:11:60: journey j: steps[0].wait.at: a time of day looks like \"09:00\" (24-hour, quoted)",
        "journeys/j.yaml:13:50: journey j: steps[1].wait_for.timeout: 30 is not a duration: a number needs a unit "
        "(s, m, h, d, w), e.g. 30d or 30w",
    ]


def test_an_unknown_field_with_no_close_one_is_told_the_fields_its_mapping_takes(write_files: WriteFiles) -> None:
    """``to:`` in a test's expected message (as a step writes it) got "unknown field 'to' here" and nothing more."""
    root = write_files({"journeys/t.yaml": """apiVersion: wayfinder/v1
kind: JourneyTest
id: t
journeys: [j]
events: []
expect:
  messages:
    - {journey: j, to: E1}
"""})
    assert only(problems_of(root), "'to'") == (
        "journeys/t.yaml:8:20: journey test t: expect.messages[0]: unknown field 'to' here; it takes at, channel, "
        "journey, locale, reason, recipient, resources, role, status, step, subject")


@pytest.mark.parametrize("locale", ["de_DE", "german"])
def test_a_resources_locale_is_a_language_tag(write_files: WriteFiles, locale: str) -> None:
    """It matched no reader and passed validate, so a German alternative of a group was never chosen (found by an
    audit of SPEC §5)."""
    root = write_files({"catalog/c.yaml": f"""
        apiVersion: wayfinder/v1
        kind: Catalog
        topics: [{{id: onboarding}}]
        resources:
          - {{id: a, type: policy, title: A, topics: [onboarding], locale: {locale}}}
          - {{id: b, type: policy, title: B, topics: [onboarding], locale: de-DE}}
    """})
    lines = catalog_problems(root)
    assert only(lines, "locale").startswith("catalog/c.yaml:5:67: ")
    assert "resources[0].locale" in only(lines, "locale")


def test_a_resource_address_must_be_one_a_reader_can_open(write_files: WriteFiles) -> None:
    """Found by an audit of issue 9: a relative address or javascript: validated and went out as dead text."""
    root = write_files({"catalog/c.yaml": """
        apiVersion: wayfinder/v1
        kind: Catalog
        topics:
          - {id: t}
        resources:
          - {id: a, type: benefit, title: A, topics: [t], url: /global/benefits/kit}
          - {id: b, type: benefit, title: B, topics: [t], url: "javascript:alert(1)"}
          - {id: c, type: person, title: C, topics: [t], url: "mailto:hr@example.com"}
          - {id: d, type: benefit, title: D, topics: [t], url: "https://intranet.example.com/kit"}
    """})
    lines = catalog_problems(root)
    assert lines == [
        "catalog/c.yaml:6:56: catalog: resources[0].url: an absolute https:// (or mailto:) address a reader can "
        "open, not '/global/benefits/kit'",
        "catalog/c.yaml:7:56: catalog: resources[1].url: an absolute https:// (or mailto:) address a reader can "
        "open, not 'javascript:alert(1)'"]


def test_catalog_requires_cycle_and_unknown_references(write_files: WriteFiles) -> None:
    root = write_files({"catalog/c.yaml": """
        apiVersion: wayfinder/v1
        kind: Catalog
        topics:
          - {id: onboarding}
          - {id: orphan, parent: nowhere}
        resources:
          - {id: a, type: task, title: A, topics: [onboarding], requires: [b]}
          - {id: b, type: task, title: B, topics: [onboarding], requires: [a]}
          - {id: c, type: task, title: C, topics: [onbording], requires: [zzz]}
    """})
    lines = catalog_problems(root)
    assert only(lines, "cycle") == "catalog/c.yaml:7:67: requires form a cycle: a -> b -> a"
    assert only(lines, "unknown parent").startswith("catalog/c.yaml:5:26: topic orphan: unknown parent topic")
    assert only(lines, "onbording").endswith("unknown topic 'onbording' (did you mean 'onboarding'?)")
    assert only(lines, "zzz").startswith("catalog/c.yaml:9:67: resource c: requires unknown resource 'zzz'")


def test_a_template_with_errors_of_its_own_is_not_also_unknown_to_the_journey_that_names_it(
        write_files: WriteFiles) -> None:
    root = write_files({
        "templates/x/extra.yaml": "apiVersion: wayfinder/v1\nkind: Template\nsubject: Hi\ntext: Hello\ntxt: x\n",
        "templates/x/vars.yaml": "apiVersion: wayfinder/v1\nkind: Template\nsubject: Hi\ntext: '{{ employe.id }}'\n",
        "journeys/j.yaml": HEAD + """steps:
  - id: a
    send: {channel: email, template: x/extra}
  - id: b
    send: {channel: email, template: x/vars}
  - id: c
    send: {channel: email, template: x/nowhere}
"""})
    _, problems = load(Sources(paths=[root / "journeys", WORLD / "catalog"], templates=[root / "templates"]))
    lines = [str(p).removeprefix(str(root) + "/") for p in problems if p.severity == "error"]
    assert only(lines, "extra.yaml") == ("templates/x/extra.yaml:5:1: template: unknown field 'txt' "
                                         "(did you mean 'text'?)")
    assert only(lines, "vars.yaml").startswith("templates/x/vars.yaml:4:11: template x/vars: unknown variable "
                                               "'employe'")
    assert only(lines, "unknown template") == "journeys/j.yaml:14:38: journey j: step c: unknown template 'x/nowhere'"
    assert len(lines) == 3, lines


def test_a_misspelt_sensitive_topic_is_an_error_for_validate_and_a_warning_for_a_run(write_files: WriteFiles) -> None:
    root = write_files({"policy.yaml": "apiVersion: wayfinder/v1\nkind: Policy\nsensitive_topics: [bereavment]\n"})
    sources = Sources(paths=[WORLD / "catalog"], policy=root / "policy.yaml")
    _, problems = load(sources)
    assert [str(p).removeprefix(str(root) + "/") for p in problems] == [
        "policy.yaml:3:20: unknown topic 'bereavment' (did you mean 'bereavement'?)"]
    defs = load_or_raise(sources)  # a run goes on, told why
    assert defs.policy.sensitive_topics == ["bereavment"]


def test_a_requires_loop_through_alternatives_is_a_cycle(write_files: WriteFiles) -> None:
    root = write_files({"catalog/c.yaml": """
        apiVersion: wayfinder/v1
        kind: Catalog
        topics: [{id: onboarding}]
        resources:
          - {id: v1, type: task, title: V1, topics: [onboarding], group: g, format: reading}
          - {id: v2, type: task, title: V2, topics: [onboarding], group: g, format: video, requires: [x]}
          - {id: x, type: task, title: X, topics: [onboarding], requires: [v1]}
    """})
    lines = catalog_problems(root)
    assert lines == ["catalog/c.yaml:7:67: requires form a cycle: x -> v1 or v2 (alternatives in group g) -> x"]


def test_a_broken_catalog_entry_hides_neither_the_other_entries_checks_nor_is_it_called_unknown(
        write_files: WriteFiles) -> None:
    root = write_files({"catalog/c.yaml": """
        apiVersion: wayfinder/v1
        kind: Catalog
        topics:
          - {id: onboarding}
          - {id: 7}
        resources:
          - {id: a, type: taskz, title: A, topics: [onboarding]}
          - {id: b, type: task, title: B, topics: [onbording], related: [a]}
          - {id: c, type: task, title: C, topics: [onboarding], requires: [d]}
          - {id: d, type: task, title: D, topics: [onboarding], requires: [c]}
    """})
    lines = catalog_problems(root)
    assert only(lines, "resources\\[0\\].type").startswith("catalog/c.yaml:7:19: catalog: resources[0].type: Input "
                                                          "should be")
    assert only(lines, "topics\\[1\\].id") == ("catalog/c.yaml:5:10: catalog: topics[1].id: expected text, not a "
                                              "number")
    # The entries after the broken ones are checked where they are written.
    assert only(lines, "onbording") == ("catalog/c.yaml:8:44: resource b: unknown topic 'onbording' (did you mean "
                                        "'onboarding'?)")
    assert only(lines, "cycle") == "catalog/c.yaml:9:67: requires form a cycle: c -> d -> c"
    # ``a`` is declared, with its own error: b's link to it is not an unknown resource as well.
    assert not [line for line in lines if "unknown resource" in line]
    assert len(lines) == 4, lines


def test_a_journey_naming_a_topic_whose_entry_has_an_error_of_its_own_is_not_told_it_is_unknown(
        write_files: WriteFiles) -> None:
    root = write_files({
        "catalog/c.yaml": """apiVersion: wayfinder/v1
kind: Catalog
topics:
  - {id: family}
  - {id: childcare, parnt: family}
resources: []
""",
        "journeys/j.yaml": HEAD + """steps:
  - id: s
    send: {channel: intranet, subject: Hi, body: Hello, resources: {topics: [childcare, chilcare]}}
"""})
    _, problems = load(Sources(paths=[root / "catalog", root / "journeys"]))
    lines = [str(p).removeprefix(str(root) + "/") for p in problems]
    assert only(lines, "parnt").startswith("catalog/c.yaml:5:21: catalog: topics[1]: unknown field 'parnt'")
    assert [line for line in lines if "unknown topic" in line] == [  # the typo still is
        "journeys/j.yaml:10:89: journey j: step s: unknown topic 'chilcare' (did you mean 'childcare'?)"]


@pytest.mark.parametrize(("declared", "error"), [
    ("  course_id: {}\n  grade: {requird: false}\n", "types/t.yaml:8:11: event type lms.course.completed: "
                                                     "data.grade: unknown field 'requird'"),
    ("  - course_id\n", "types/t.yaml:7:3: event type lms.course.completed: data: expected a mapping: one "
                         "'name: value' per line, indented under it (or {name: value} on one line), not a list"),
])
def test_a_slip_in_an_event_type_does_not_make_its_fields_unknown_to_the_journeys(
        write_files: WriteFiles, declared: str, error: str) -> None:
    root = write_files({
        "types/t.yaml": "apiVersion: wayfinder/v1\nkind: EventType\nid: lms.course.completed\ndescription: x\n"
                        "# the fields\ndata:\n" + declared,
        "journeys/j.yaml": HEAD.replace("hris.leave.started", "lms.course.completed") + """steps:
  - id: s
    when: event.data.course_id == "c1" && trigger.data.course_id != ""
    send: {channel: intranet, subject: Hi, body: "{{ event.data.course_id }}"}
"""})
    _, problems = load(Sources(paths=[root / "types", root / "journeys"]))
    lines = [str(p).removeprefix(str(root) + "/") for p in problems]
    assert len(lines) == 1 and lines[0].startswith(error), lines


def test_a_misspelt_required_key_hides_nothing_else_in_the_document(write_files: WriteFiles) -> None:
    """``txt:`` for ``text:``: both slips are reported, and the rest is checked as if it were written right."""
    root = write_files({"templates/t/x.yaml": 'apiVersion: wayfinder/v1\nkind: Template\n'
                                              'subject: "Hi {{ recipent.given_name }}"\ntxt: "{{ salary }}"\n'})
    _, problems = load(Sources(templates=[root / "templates"]))
    lines = [str(p).removeprefix(str(root) + "/") for p in problems]
    assert [line[:60] for line in lines] == [
        "templates/t/x.yaml:1:1: template: missing required field 'te",
        "templates/t/x.yaml:3:17: template t/x: unknown variable 'rec",
        "templates/t/x.yaml:4:1: template: unknown field 'txt' (did y",
        "templates/t/x.yaml:4:10: template t/x: unknown variable 'sal"], lines


def test_a_resource_with_a_slip_is_still_checked_for_everything_else(write_files: WriteFiles) -> None:
    """Issue 9: every problem of a file in one run. A resource whose ``type`` is misspelt is checked as written
    otherwise (its topics, eligibility, links); it was left out, so those showed one run later."""
    root = write_files({"catalog/c.yaml": """apiVersion: wayfinder/v1
kind: Catalog
topics:
  - {id: childcare}
resources:
  - {id: r1, type: polcy, title: R, topics: [childcar], eligibility: 'employee.contry == "DE"', related: [r9]}
"""})
    lines = catalog_problems(root)
    assert [line.split(": ", 1)[0] for line in lines] == [
        "catalog/c.yaml:6:20", "catalog/c.yaml:6:46", "catalog/c.yaml:6:80", "catalog/c.yaml:6:107"], lines
    assert "resources[0].type" in lines[0] and "unknown topic 'childcar'" in lines[1]
    assert "employee.contry" in lines[2] and "related unknown resource 'r9'" in lines[3]


def test_template_errors_map_to_file_lines(write_files: WriteFiles) -> None:
    root = write_files({"templates/t/bad.yaml": """
        apiVersion: wayfinder/v1
        kind: Template
        subject: "Hello {{ recipient.given_name }"
        text: |
          line one
          {{ employee.__class__ }}
          {{ salary }}
    """})
    _, problems = load(Sources(templates=[root / "templates"]))
    lines = [str(p).removeprefix(str(root) + "/") for p in problems]
    # the lone brace itself (Jinja names the line and the token, not the column)
    assert only(lines, "syntax").startswith("templates/t/bad.yaml:3:41: template t/bad: template syntax error")
    assert only(lines, "__class__") == ("templates/t/bad.yaml:6:15: template t/bad: access to '__class__' is not "
                                        "allowed in templates")
    assert only(lines, "salary").startswith("templates/t/bad.yaml:7:6: template t/bad: unknown variable 'salary'")


@pytest.mark.parametrize(("text", "where"), [
    # a lone brace on the second line of a block, after a {% %} whose brace is not it
    ("text: |\n  Things that help:\n  {% for r in resources %}- {{ r.title }: {{ r.url }}\n  {% endfor %}\n",
     "6:40"),
    # a block never closed, in a quoted value written with \n escapes: the line Jinja names, inside the value (it
    # was placed on line 5 of a 4-line file)
    ('text: "Things that help:\\n{% for r in resources %}- {{ r.title }}\\n"\n', "4:27"),
    # never closed, in a block: where the line Jinja names begins to say something (it was column 1)
    ("text: |\n  Things:\n  {% if employee.given_name %}\n  Hello\n", "6:3"),
])
def test_a_template_syntax_error_is_placed_inside_the_value(write_files: WriteFiles, text: str, where: str) -> None:
    root = write_files({"templates/t/bad.yaml": "apiVersion: wayfinder/v1\nkind: Template\nsubject: Hi\n" + text})
    _, problems = load(Sources(templates=[root / "templates"]))
    lines = [str(p).removeprefix(str(root) + "/") for p in problems]
    assert only(lines, "syntax").startswith(f"templates/t/bad.yaml:{where}: template t/bad: template syntax error")


def test_load_or_raise_carries_every_error(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": HEAD + """steps:
  - id: a
    branch: {if: 'true', then: x}
  - id: b
    branch: {if: 'true', then: y}
"""})
    with pytest.raises(DefinitionError, match=r"(?s)unknown step 'x'.*unknown step 'y'") as info:
        load_or_raise(Sources(paths=[root / "journeys"]))
    assert len(info.value.errors) == 2


def test_cli_validate_exit_codes(write_files: WriteFiles, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate"]) == 0
    assert capsys.readouterr().out.startswith("ok: ")
    root = write_files({"journeys/j.yaml": HEAD + "steps:\n  - id: a\n    branch: {if: 'true', then: x}\n"})
    assert main(["validate", str(root / "journeys")]) == 1
    err = capsys.readouterr().err
    assert "\njourneys/j.yaml:10:" in "\n" + err
    assert err.rstrip().endswith("1 error(s)")


def test_policy_validation(write_files: WriteFiles) -> None:
    root = write_files({"policy.yaml": """
        apiVersion: wayfinder/v1
        kind: Policy
        frequency_cap: {max: 0, per: 7d}
        quiet_hours: {start: "20:00", end: "8"}
    """})
    _, problems = load(Sources(policy=root / "policy.yaml"))
    lines = [str(p).removeprefix(str(root) + "/") for p in problems]
    assert only(lines, "greater than or equal").startswith("policy.yaml:3:22: policy: frequency_cap.max:")
    assert only(lines, "time of day").startswith("policy.yaml:4:36: policy: quiet_hours.end:")


def test_a_weekend_by_country_names_real_countries_and_a_weekend_with_working_days(write_files: WriteFiles) -> None:
    """README "Working days": each key of ``working_days.weekend_by_country`` is an ISO 3166-1 alpha-2 code in upper
    case, each value a weekend as ``weekend`` takes one, with each day once and a working day left; each mistake is
    named at its file, line and column."""
    root = write_files({"policy.yaml": (
        "apiVersion: wayfinder/v1\nkind: Policy\nworking_days:\n  weekend_by_country:\n"
        "    IL: [friday, saturday]\n"
        "    il: [friday, saturday]\n"
        "    XX: [friday]\n"
        "    SA: [friday, friday]\n"
        "    EG: [fryday, saturday]\n"
        "    AE: [monday, tuesday, wednesday, thursday, friday, saturday, sunday]\n")})
    _, problems = load(Sources(policy=root / "policy.yaml"))
    assert [str(p).removeprefix(str(root) + "/") for p in problems] == [
        *(f"policy.yaml:{line}:5: policy: working_days.weekend_by_country: not an ISO 3166-1 alpha-2 country code "
          "(e.g. DE, GB)" for line in (6, 7)),
        "policy.yaml:8:9: policy: working_days.weekend_by_country.SA: friday is given more than once: name each day "
        "of the weekend once",
        "policy.yaml:9:10: policy: working_days.weekend_by_country.EG[0]: Input should be 'monday', 'tuesday', "
        "'wednesday', 'thursday', 'friday', 'saturday' or 'sunday' (did you mean 'friday'?)",
        "policy.yaml:10:9: policy: working_days.weekend_by_country.AE: a weekend of all seven days leaves no working "
        "day: name the days off only"]
    defs, problems = load(Sources(policy=write_files({"p.yaml": (
        "kind: Policy\nworking_days: {weekend_by_country: {IL: [friday, saturday], SA: [friday, saturday]}}\n")})
        / "p.yaml"))
    assert not problems
    assert defs.policy.working_days.weekend_of("IL") == ["friday", "saturday"]
    assert defs.policy.working_days.weekend_of("DE") == ["saturday", "sunday"]  # not listed: ``weekend``
    assert defs.catalog.calendar.weekend_of("SA") == {4, 5} and defs.catalog.calendar.weekend_of(None) == {5, 6}


@pytest.mark.parametrize("url", ['""', "not a url", "intranet.example.com/preferences", "javascript:alert(1)",
                                 "https://"])
def test_the_preferences_url_is_a_web_address(write_files: WriteFiles, url: str) -> None:
    # Every message's footer says where to stop it (SPEC §6): an empty or broken address validated clean.
    root = write_files({"policy.yaml": f"apiVersion: wayfinder/v1\nkind: Policy\npreferences_url: {url}\n"})
    _, problems = load(Sources(policy=root / "policy.yaml"))
    lines = [str(p).removeprefix(str(root) + "/") for p in problems]
    assert only(lines, "preferences_url").startswith("policy.yaml:3:18: policy: preferences_url: an https:// address")


@pytest.mark.parametrize("contact", ['""', '"   "'])
def test_a_review_escalation_contact_names_someone(write_files: WriteFiles, contact: str) -> None:
    # SPEC §11: the escalation task goes to a person id or group. An empty one fell back to the HR partner's lead
    # unseen, and one of spaces validated clean and opened every escalation task for "   ".
    root = write_files({"policy.yaml": f"apiVersion: wayfinder/v1\nkind: Policy\nreview_escalation: {contact}\n"})
    _, problems = load(Sources(policy=root / "policy.yaml"))
    lines = [str(p).removeprefix(str(root) + "/") for p in problems]
    assert only(lines, "review_escalation") == ("policy.yaml:3:20: policy: review_escalation: names nobody: give a "
                                                "person id or group, or leave it out for the HR partner's lead")
    defs, problems = load(Sources(policy=write_files({"p.yaml": "kind: Policy\nreview_escalation: hr-leads\n"})
                                  / "p.yaml"))
    assert not problems and defs.policy.review_escalation == "hr-leads"


def test_a_step_key_that_is_no_action_is_named_where_it_is_written(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": HEAD + """steps:
  - id: a
    sned: {channel: email, template: new-parent/welcome}
  - id: b
    send: {channel: email, template: new-parent/welcome}
    wait: {for: 1d}
"""})
    lines = problems_of(root)
    assert only(lines, "sned") == ("journeys/j.yaml:10:5: journey j: steps[0]: unknown key 'sned' (did you mean the "
                                   "action 'send'?)")
    assert only(lines, "second action") == ("journeys/j.yaml:13:5: journey j: steps[1]: a second action 'wait' "
                                            "beside 'send'; a step has exactly one")


def test_a_when_beside_the_send_is_the_sends_and_a_journey_needs_no_name_or_owner(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": """apiVersion: wayfinder/v1
kind: Journey
id: bare
trigger:
  event: hris.leave.started
steps:
  - id: a
    when: event.data.leave_typ == "parental"
    send: {channel: email, template: new-parent/welcome}
"""})
    assert problems_of(root) == [
        "journeys/j.yaml:8:22: journey bare: step a: send.when: event.data.leave_typ: unknown field 'leave_typ' in "
        "the data of hris.leave.started (did you mean 'leave_type'?); SPEC keeps fields beyond its own, so it may be "
        "there: guard it with has(), or declare it in a kind: EventType document"]
    fixed = root / "journeys/j.yaml"
    fixed.write_text(fixed.read_text(encoding="utf-8").replace("leave_typ ", "leave_type "), encoding="utf-8")
    defs = load_or_raise(Sources(paths=[root / "journeys", WORLD / "catalog"], templates=[WORLD / "templates"]))
    (journey,) = defs.journeys.values()
    assert (journey.name, journey.owner) == ("bare", None)
    assert journey.steps[0].send.when is not None  # type: ignore[union-attr]


@pytest.mark.parametrize("action", ["send: {channel: intranet, subject: 'hi {{ employee.given_name | uper }}', "
                                    "body: x}",
                                    "task: {assignee: manager, title: 'hi {{ employee.given_name | uper }}'}"])
def test_a_when_beside_the_action_that_does_not_compile_is_placed_there_and_hides_nothing(
        write_files: WriteFiles, action: str) -> None:
    """Its error was placed at the action's own line, and the step was stood in for, so the template's error in it
    went unreported (found by an audit of the README)."""
    root = write_files({"journeys/j.yaml": HEAD + f"""steps:
  - id: c
    {action}
    when: employee.attributes.x.lowerAscii() == "y"
"""})
    lines = problems_of(root)
    assert any(p.startswith("journeys/j.yaml:11:") and "unknown function 'lowerAscii'" in p for p in lines), lines
    assert any(p.startswith("journeys/j.yaml:10:") and "unknown filter 'uper'" in p for p in lines), lines


@pytest.mark.parametrize(("step", "column"), [("wait: {for: -3d}", 17), ("wait_for: {event: hris.leave.ended, "
                                                                          "timeout: 0d}", 50)])
def test_a_wait_is_not_negative_and_a_timeout_is_more_than_nothing(write_files: WriteFiles, step: str,
                                                                   column: int) -> None:
    root = write_files({"journeys/j.yaml": HEAD + f"steps:\n  - id: a\n    {step}\n"})
    (line,) = [p for p in problems_of(root) if "duration here" in p]
    assert line.startswith(f"journeys/j.yaml:10:{column}: ")


def test_a_time_of_day_may_have_zero_seconds(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": HEAD + """steps:
  - id: a
    wait: {until: trigger.data.start_date, at: "09:00:00"}
"""})
    assert problems_of(root) == []


def test_a_journey_that_does_not_parse_still_has_its_duplicate_ids_and_cycles_reported(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": HEAD.replace("  event: hris.leave.started\n",
                                                        "  event: hris.leave.started\n  when: event.data ==\n")
                        + """steps:
  - id: a
    send: {channel: email, template: new-parent/welcome}
  - id: a
    send: {channel: email, template: new-parent/welcome}
  - id: b
    branch: {if: 'true', then: a}
"""})
    lines = problems_of(root)
    assert any(line.startswith("journeys/j.yaml:8:") and "invalid expression" in line for line in lines)
    assert only(lines, "used twice") == "journeys/j.yaml:12:9: journey j: step id 'a' is used twice"
    cycle = only(lines, "closing a cycle")  # the journey is checked without its broken trigger.when
    assert cycle.startswith("journeys/j.yaml:15:") and "step b jumps back to a" in cycle


def test_a_bare_end_is_an_end(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": HEAD + "steps:\n  - id: a\n    end:\n"})
    assert problems_of(root) == []


def test_a_journey_version_defined_twice_says_where_the_first_is(write_files: WriteFiles) -> None:
    body = "steps:\n  - id: a\n    end: {}\n"
    root = write_files({"journeys/a.yaml": HEAD + body, "journeys/b.yaml": HEAD + body})
    assert only(problems_of(root), "defined twice") == ("journeys/b.yaml:3:5: journey j version 1 is defined twice "
                                                        "(also at journeys/a.yaml:3:5)")


def test_a_template_defined_twice_says_where_the_first_is(write_files: WriteFiles) -> None:
    """``x.yaml`` and ``x.yml`` are one id (2026-12-06: the second was "defined twice" with no word of the first)."""
    template = "apiVersion: wayfinder/v1\nkind: Template\nsubject: S\ntext: t\n"
    root = write_files({"templates/hr/x.yaml": template, "templates/hr/x.yml": template})
    _, problems = load(Sources(paths=[WORLD / "catalog"], templates=[root / "templates"]))
    assert [str(p).replace(str(root) + "/", "") for p in problems] == [
        "templates/hr/x.yml:1:1: template hr/x is defined twice (also at templates/hr/x.yaml:1:1); a "
        "template's id is its path without the extension (.yaml or .yml), so keep one of them"]


def test_a_message_part_of_only_spaces_is_an_error_where_it_is_written(write_files: WriteFiles) -> None:
    """A part that renders as nothing fails every message it is in (render_error); it validated clean until
    2026-12-06. An empty one in a locale is not used (its readers get the default's): a warning."""
    template = ("apiVersion: wayfinder/v1\nkind: Template\nsubject: S\ntext: '  '\nhtml: ''\nlocales:\n  de-DE:\n"
                "    subject: ''\n    text: Hallo\n    html: ' '\n")
    inline = HEAD + "steps:\n  - id: a\n    send: {channel: email, subject: ' ', body: Hi}\n"
    root = write_files({"templates/t.yaml": template, "journeys/j.yaml": inline})
    _, problems = load(Sources(paths=[root / "journeys", WORLD / "catalog"], templates=[root / "templates"]))
    said = [str(p).replace(str(root) + "/", "") for p in problems]
    empty = "is empty: every message with it would fail (render_error); write what it says"
    made = " (leave html out to have it made from the text)"
    assert [line for line in said if "empty" in line] == [
        f"journeys/j.yaml:{HEAD.count(chr(10)) + 3}:37: journey j: step a: subject {empty}",
        f"templates/t.yaml:4:7: template t: text {empty}",
        f"templates/t.yaml:5:7: template t: html {empty}{made}",
        "templates/t.yaml:8:14: warning: template t (de-DE): subject is empty, so its readers get the default subject; "
        "leave it out, or write what it says",
        f"templates/t.yaml:10:11: template t (de-DE): html {empty}{made}"]


@pytest.mark.parametrize("written", ["new-parent/welcome.yaml", "new-parent/welcome.yml",
                                     "templates/new-parent/welcome"])
def test_a_template_named_by_its_file_path_is_told_its_id(write_files: WriteFiles, written: str) -> None:
    """Since 2026-12-06: the extension or the folder put the id too far from the name for a "did you mean"."""
    step = f"steps:\n  - id: a\n    send: {{channel: email, template: {written}}}\n"
    root = write_files({"journeys/j.yaml": HEAD + step})
    assert only(problems_of(root), "unknown template").endswith(
        f"journey j: step a: unknown template {written!r}: a template's id is its path under the templates folder "
        "without the extension, 'new-parent/welcome'")


def test_a_field_of_another_kind_of_step_is_unknown_here_not_a_typo_of_itself(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": HEAD + """steps:
  - id: r
    roadmap: {topics: [onboarding], channel: email, template: onboarding/roadmap, subject: "x"}
"""})
    assert only(problems_of(root), "subject") == ("journeys/j.yaml:10:83: journey j: steps[0].roadmap: unknown field "
                                                  "'subject' here; it takes channel, horizon, template, to, topics")


def test_a_misspelt_top_level_field_hides_no_other_problem_of_its_document(write_files: WriteFiles) -> None:
    """Every problem in a file in one run (issue 9): a journey or template whose errors sit only in top-level
    fields it may do without is still checked without them."""
    root = write_files({
        "journeys/j.yaml": HEAD.replace("name: J\n", "name: J\nstatus: activ\n") + """audience: employee.contry == "DE"
steps:
  - id: a
    send: {channel: email, template: x/t}
""",
        "templates/x/t.yaml": "apiVersion: wayfinder/v1\nkind: Template\nsubject: Hi {{ employee.givn_name }}\n"
                              "text: x\ntxt: y\n"})
    _, problems = load(Sources(paths=[root / "journeys", WORLD / "catalog"], templates=[root / "templates"]))
    lines = [str(p).removeprefix(str(root) + "/") for p in problems if p.severity == "error"]
    assert only(lines, "status").startswith("journeys/j.yaml:5:9: journey j: status: Input should be")
    assert only(lines, "contry").startswith("journeys/j.yaml:9:20: journey j: audience: employee.contry: unknown")
    assert only(lines, "txt") == "templates/x/t.yaml:5:1: template: unknown field 'txt' (did you mean 'text'?)"
    assert only(lines, "givn_name").startswith("templates/x/t.yaml:3:25: template x/t: employee.givn_name: unknown")
    assert len(lines) == 4, lines
    with pytest.raises(DefinitionError):  # its own errors still stop a run
        load_or_raise(Sources(paths=[root / "journeys", WORLD / "catalog"], templates=[root / "templates"]))


def test_a_broken_step_hides_no_typo_elsewhere_in_its_journey(write_files: WriteFiles) -> None:
    """Issue 9's typos (a profile field in ``audience``, an event field in ``send.when``) are reported beside a
    broken step of the same journey, not only once it is mended; the steps that go to the broken one still do."""
    root = write_files({"journeys/j.yaml": HEAD + """audience: employee.employmenttype == "employee"
steps:
  - id: pause
    wait: {for: 3x}
  - id: hello
    send: {channel: email, template: new-parent/welcome, when: event.data.leavetype == "parental"}
  - id: again
    branch: {if: 'employee.country == "DE"', then: pause}
"""})
    lines = problems_of(root)
    assert only(lines, "3x").startswith("journeys/j.yaml:11:17: journey j: steps[0].wait.for: '3x' is not")
    assert only(lines, "employmenttype").startswith("journeys/j.yaml:8:20: journey j: audience: employee.")
    assert only(lines, "leavetype").startswith("journeys/j.yaml:13:75: journey j: step hello: send.when: ")
    assert not [line for line in lines if "pause" in line and "unknown" in line]  # the branch's target is there


def test_a_broken_trigger_condition_or_exit_hides_no_typo_in_the_steps(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": HEAD + """  when: event.data.leave_type == "parental" &&
exit_on:
  - {event: hris.employee.terminated, when: 'event.data.date =='}
steps:
  - id: hello
    send: {channel: email, template: new-parent/welcome, when: event.data.leavetype == "parental"}
"""})
    lines = problems_of(root)
    assert only(lines, "trigger.when").startswith("journeys/j.yaml:8:")
    assert only(lines, "exit_on").startswith("journeys/j.yaml:10:")
    assert only(lines, "leavetype").startswith("journeys/j.yaml:13:75: journey j: step hello: send.when: ")


def test_a_broken_wait_for_stands_in_as_a_wait_for_its_event(write_files: WriteFiles) -> None:
    """A ``wait_for`` sets what ``event`` is in the steps after it: a broken one stands in as a wait for the same
    event (with a timeout, as it has one), so the steps after it are checked against that event's data, and the
    step only its ``on_timeout`` leads to is not reported unreachable."""
    root = write_files({"journeys/j.yaml": HEAD + """steps:
  - id: w
    wait_for: {event: hris.leave.ended, when: 'event.data.leave_type ==', timeout: 3x, on_timeout: nudge}
  - id: hello
    send: {channel: email, template: new-parent/welcome, when: event.data.retrun_date == "2026-01-01"}
  - id: done
    end: {}
  - id: nudge
    send: {channel: email, template: new-parent/welcom}
"""})
    lines = problems_of(root)
    assert only(lines, "3x").startswith("journeys/j.yaml:10:")
    assert only(lines, "wait_for.when").startswith("journeys/j.yaml:10:")
    assert only(lines, "retrun_date").startswith("journeys/j.yaml:12:75: journey j: step hello: send.when: ")
    assert "hris.leave.ended" in only(lines, "retrun_date")
    assert only(lines, "welcom'").startswith("journeys/j.yaml:16:38: ")
    assert not [line for line in lines if "reached" in line]
    assert len(lines) == 4, lines


def test_a_wait_for_whose_event_cannot_be_read_leaves_its_journey_unchecked_not_unknown(
        write_files: WriteFiles) -> None:
    """Its journey is reported broken and nothing more: a journey test and a digest that name it do not call it
    unknown, and the test's steps are not checked against a journey that could not be read."""
    root = write_files({
        "journeys/j.yaml": HEAD + """steps:
  - id: w
    wait_for: {event: "", timeout: 3d}
  - id: hello
    send: {channel: email, template: new-parent/welcome, when: event.data.retrun_date == "2026-01-01"}
""",
        "journeys/t.yaml": """apiVersion: wayfinder/v1
kind: JourneyTest
id: t
journeys: [j]
events:
  - type: hris.leave.started
    time: "2026-01-05T08:00:00Z"
    subject: E1
    data: {leave_type: parental, start_date: "2026-01-05"}
expect:
  messages:
    - {journey: j, step: hello}
    - {journey: k, step: hello}
""",
        "journeys/p.yaml": """apiVersion: wayfinder/v1
kind: Policy
digests: {manager: {every: daily, journeys: [j, k]}}
"""})
    lines = problems_of(root)
    assert only(lines, "wait_for.event: String should have").startswith("journeys/j.yaml:10:")
    assert only(lines, "test t: unknown journey 'k'").startswith("journeys/t.yaml:13:17: ")
    assert only(lines, "p.yaml.*unknown journey 'k'").startswith("journeys/p.yaml:3:49: ")
    assert not [line for line in lines if "'j'" in line or "retrun_date" in line or "unknown step" in line]


@pytest.mark.parametrize(("where", "text"), [("wait: {for: 99999999999999d}", "'99999999999999d'"),
                                             ("wait_for: {event: hris.leave.ended, timeout: 3000000d}", "'3000000d'")])
def test_a_duration_beyond_a_century_is_an_error_where_it_is_written(write_files: WriteFiles, where: str,
                                                                     text: str) -> None:
    root = write_files({"journeys/j.yaml": HEAD + f"steps:\n  - id: a\n    {where}\n"})
    line = only(problems_of(root), "century|100 years")
    assert line.startswith("journeys/j.yaml:10:") and f"{text} is longer than 100 years" in line


def test_did_you_mean_is_for_names_of_a_names_length() -> None:
    """A hostile id a megabyte long gets no suggestion: comparing it costs its length squared per known name."""
    assert suggest("onbording", ["onboarding", "offboarding"]) == " (did you mean 'onboarding'?)"
    assert suggest("onbording" * 20, ["onboarding" * 20]) == ""


def test_a_catalog_with_an_unknown_top_level_key_still_declares_its_topics(write_files: WriteFiles) -> None:
    root = write_files({
        "catalog/c.yaml": """
            apiVersion: wayfinder/v1
            kind: Catalog
            version: 2
            topics:
              - {id: family}
              - {id: kids, parent: family}
            resources:
              - {id: r1, type: policy, title: R, topics: [family, kdis]}
        """,
        "journeys/j.yaml": HEAD + """steps:
  - {id: s, send: {channel: email, subject: x, body: y, resources: {topics: [family, kids]}}}
"""})
    _, problems = load(Sources(paths=[root / "journeys", root / "catalog"]))
    assert [str(p) for p in problems] == [
        "catalog/c.yaml:3:1: catalog: unknown field 'version' here (did you mean 'apiVersion'?)",
        "catalog/c.yaml:8:55: resource r1: unknown topic 'kdis' (did you mean 'kids'?)"]


def test_a_catalog_that_cannot_be_read_is_not_replaced_by_the_bundled_one(
        write_files: WriteFiles, capsys: pytest.CaptureFixture[str]) -> None:
    write_files({
        "catalog/c.yaml": """
            apiVersion: wayfinder/v1
            kind: Catalog
            topics:
              - {id: family}
              - {id: kids, parent: family
        """,
        "journeys/j.yaml": HEAD + """steps:
  - {id: s, send: {channel: email, subject: x, body: y, resources: {topics: [family, kids]}}}
"""})
    assert main(["validate", "journeys", "catalog"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"no templates among the paths: using the bundled ones in {examples_dir()}",
        "catalog/c.yaml could not be read: not using the bundled catalog in its place (what it may declare is not "
        "reported unknown)",
        "catalog/c.yaml:5:5: YAML syntax error: while parsing a flow mapping (see line 6: did not find expected ',' "
        "or '}')",
        "catalog/c.yaml:6:1: YAML syntax error: did not find expected ',' or '}'",
        "2 error(s)"]


def test_a_catalog_document_that_does_not_parse_still_declares_the_topics_it_lists(write_files: WriteFiles) -> None:
    root = write_files({
        "catalog/c.yaml": """
            apiVersion: wayfinder/v2
            kind: Catalog
            topics:
              - {id: family}
        """,
        "journeys/j.yaml": HEAD + """steps:
  - {id: s, send: {channel: email, subject: x, body: y, resources: {topics: [family, kids]}}}
"""})
    _, problems = load(Sources(paths=[root / "journeys", root / "catalog"]))
    assert [str(p) for p in problems] == [
        "catalog/c.yaml:1:13: catalog: apiVersion: Input should be 'wayfinder/v1'",
        "journeys/j.yaml:9:86: journey j: step s: unknown topic 'kids'"]


def test_each_file_is_parsed_once_when_validate_looks_for_a_catalog_and_templates(
        write_files: WriteFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    from wayfinder.journeys import _yaml

    write_files({"journeys/j.yaml": HEAD + "steps:\n  - {id: s, wait: {for: 1d}}\n"})
    read: list[str] = []
    reader = _yaml._read

    def counted(path: Path, display: str, limit: int | None) -> str | Problem:
        read.append(display)
        return reader(path, display, limit)

    monkeypatch.setattr(_yaml, "_read", counted)
    assert main(["validate", "journeys"]) == 0
    assert read.count("journeys/j.yaml") == 1
    assert len(read) == len(set(read))


def test_a_broken_frequency_cap_or_quiet_hours_hides_no_sensitive_topic_typo(write_files: WriteFiles) -> None:
    root = write_files({"policy.yaml": """
        apiVersion: wayfinder/v1
        kind: Policy
        frequency_cap: {max: -1, per: 7d}
        quiet_hours: {start: "25:00", end: "07:00"}
        sensitive_topics: [bereavment]
    """})
    _, problems = load(Sources(paths=[WORLD / "catalog"], policy=root / "policy.yaml"))
    assert [str(p).removeprefix(str(root) + "/") for p in problems] == [
        "policy.yaml:3:22: policy: frequency_cap.max: Input should be greater than or equal to 1",
        "policy.yaml:4:22: policy: quiet_hours.start: '25:00' is not a time of day: hours go from 00 to 23, minutes"
        ' from 00 to 59 ("00:00" is midnight)',
        "policy.yaml:5:20: unknown topic 'bereavment' (did you mean 'bereavement'?)"]


@pytest.mark.parametrize(("written", "line", "column"), [
    ('audience: "employee.country == \\"DE\\" && employee.contry == \\"x\\""', 8, 51),  # after two escapes
    ("audience: 'employee.country != ''x'' && employee.contry == \"DE\"'", 8, 50),  # after a doubled quote
    ('audience: employee.country == "DE" &&\n  employee.contry == "x"', 9, 12),  # a plain value on two lines
    ('audience: "employee.country == \\"DE\\" &&\n  employee.contry == \\"x\\""', 9, 12),  # double-quoted, folded
    ('audience: >-\n  employee.country == "DE" &&\n  employee.contry == "x"', 10, 12),  # a folded block
    ('audience: |-\n  employee.country == "DE" &&\n    employee.contry == "x"', 10, 14),  # a literal block
])
def test_a_field_in_a_quoted_folded_or_multi_line_expression_is_placed_where_it_is_written(
        write_files: WriteFiles, written: str, line: int, column: int) -> None:
    root = write_files({"journeys/j.yaml": HEAD + written + "\nsteps:\n  - id: s\n    end: {}\n"})
    found = only(problems_of(root), "contry")
    assert found.startswith(f"journeys/j.yaml:{line}:{column}: journey j: audience: employee.contry"), found


def test_a_syntax_error_in_an_expression_on_two_lines_is_placed_on_the_second(write_files: WriteFiles) -> None:
    root = write_files({"journeys/j.yaml": HEAD + 'audience: employee.country == "DE" &&\n  employee.level >\n'
                                                  "steps:\n  - id: s\n    end: {}\n"})
    found = only(problems_of(root), "invalid expression")
    assert found.startswith("journeys/j.yaml:9:19: journey j: audience: invalid expression"), found


@pytest.mark.parametrize(("written", "line", "column"), [
    # A stray bracket on the third line of a literal block: the parser says line 3; the block keeps its lines.
    ('audience: |\n  employee.country == "DE" &&\n  employee.department == "x" &&\n  employee.role == "y" )',
     11, 24),
    ('audience: |-\n  employee.country == "DE" &&\n      employee.role == "y" )', 10, 28),  # indented more
    ('audience: >\n  employee.country == "DE" &&\n  employee.department == "x" &&\n  employee.role == "y" )',
     11, 24),  # a folded block: one line to the parser
    # An end that comes too soon: just after the last character written, not on the line break after it.
    ('audience: |\n  employee.country == "DE" &&\n  (employee.department ==', 10, 26),
    ('audience: |\n  employee.country == "DE" &&\n  employee.role ==\n\n', 10, 19),
])
def test_a_syntax_error_in_a_block_is_placed_on_its_line_and_column(write_files: WriteFiles, written: str,
                                                                    line: int, column: int) -> None:
    root = write_files({"journeys/j.yaml": HEAD + written + "\nsteps:\n  - id: s\n    end: {}\n"})
    found = only(problems_of(root), "invalid expression")
    assert found.startswith(f"journeys/j.yaml:{line}:{column}: journey j: audience: invalid expression"), found


def test_a_syntax_error_says_its_line_in_an_expression_of_several() -> None:
    with pytest.raises(ExpressionError) as caught:
        Expr('employee.country == "DE" &&\n  employee.role == "y" )')
    assert str(caught.value).endswith("(line 2, column 24 of the expression)")
    assert caught.value.column == len('employee.country == "DE" &&\n  employee.role == "y" )')
    with pytest.raises(ExpressionError) as caught:
        Expr("employee.level >\n\n")
    assert str(caught.value).endswith("(column 17 of the expression)")  # after the '>', where it stops too soon


@pytest.mark.parametrize(("written", "said", "column"), [
    ('employee.job_level = "M1"', "a single = does not compare: write == (or != for 'is not') (column 20", 20),
    ('employee.country == "SE" and employee.role == "x"', "'and' is written && in CEL (a && b) (column 26", 26),
    ('employee.country == "SE" OR employee.role == "x"', "'OR' is written || in CEL (a || b) (column 26", 26),
    ("not has(employee.attributes.x)", "'not' is written ! in CEL (!has(employee.attributes.x), !(a == b)) "
     "(column 1", 1),
    ('employee.country == "DE" &&\n  not has(employee.attributes.x)', "'not' is written ! in CEL "
     "(!has(employee.attributes.x), !(a == b)) (line 2, column 3", 31),
    ('employee.country <> "SE"', "'<>' is written != in CEL (column 18", 18),
])
def test_an_operator_from_another_language_is_named_in_words_where_it_is(written: str, said: str,
                                                                         column: int) -> None:
    """A newcomer's SQL or Python (``=``, ``and``, ``not``, ``<>``) got the parser's "token recognition error at: '= '"
    or "mismatched input 'and' expecting {<EOF>, '==', '!=', ...}"."""
    with pytest.raises(ExpressionError) as caught:
        Expr(written)
    assert str(caught.value) == f"invalid expression: {said} of the expression)"
    assert caught.value.column == column


@pytest.mark.parametrize(("written", "meant"), [
    ('employee.role.startswith("M")', "startsWith"), ('employee.role.ends_with("r")', "endsWith"),
    ("len(employee.skills) > 2", "size"), ('employee.role.contain("x")', "contains"),
])
def test_a_function_from_python_or_a_slip_is_told_cels_name(written: str, meant: str) -> None:
    """Python's ``startswith`` was told only "unknown function" and a list of 24 names to search by eye."""
    with pytest.raises(ExpressionError, match=rf"^unknown function '\w+' \(did you mean '{meant}'\?\) \(CEL's here"):
        Expr(written)


def test_a_broken_value_in_a_step_hides_nothing_else_in_that_step(write_files: WriteFiles) -> None:
    """Issue 9, every problem in one run: a step with one slip (a channel, a time of day, a horizon, an assignee, a
    timeout it cannot read) is checked with that value taken out or made neutral, so its template, topics and
    conditions are checked beside it."""
    root = write_files({"journeys/j.yaml": HEAD + """steps:
  - id: s1
    when: employee.contry == "DE"
    send: {channel: sms, template: new-parent/welcom, resources: {topics: [parental-leeve]}}
  - id: s2
    wait: {until: trigger.data.expected_retrun_date, at: "9am"}
  - id: s3
    roadmap: {topics: [onboardng], horizon: 90z, channel: email, template: onboarding/roadmp}
  - id: s4
    task: {assignee: boss, title: "Call {{ employee.given_nam }}"}
"""})
    lines = problems_of(root)
    for slip, where in (("channel", "11:21"), ("wait.at", "13:58"), ("horizon", "15:45"), ("assignee", "17:22"),
                        ("contry", "10:20"), ("new-parent/welcom'", "11:36"), ("parental-leeve", "11:76"),
                        ("expected_retrun_date", "13:32"), ("onboardng", "15:24"), ("onboarding/roadmp'", "15:76"),
                        ("given_nam:", "17:53")):
        assert only(lines, slip).startswith(f"journeys/j.yaml:{where}: journey j: "), (slip, lines)
    assert len(lines) == 11, lines


def test_a_journey_test_events_time_without_an_offset_is_said_in_words() -> None:
    from wayfinder.journeys.model import TestEvent

    with pytest.raises(ValueError, match=r"'2026-03-02T09:15:00' has no offset: add Z or \+01:00"):  # was a regex
        TestEvent(type="hris.dependent.added", time="2026-03-02T09:15:00", subject="T1")
    with pytest.raises(ValueError, match=r"'2026-03-02' is not an RFC 3339 time \(e\.g\. 2026-03-02T09:15:00Z\)"):
        TestEvent(type="hris.dependent.added", time="2026-03-02", subject="T1")
    assert TestEvent(type="x", time="2026-03-02T09:15:00+01:00", subject="T1").time == "2026-03-02T09:15:00+01:00"


def test_folders_that_are_links_are_read_and_a_link_to_nothing_is_said(write_files: WriteFiles) -> None:
    """Found by an audit on 2026-12-04: a linked folder's journeys were passed over (validate said ok) and a link to
    a file that is not there was skipped in silence."""
    elsewhere = write_files({"shared/more.yaml": HEAD + """steps:
  - id: a
    send: {channel: sms, template: new-parent/welcome}
"""})
    root = write_files({"journeys/own.yaml": HEAD.replace("id: j", "id: k") + """steps:
  - id: a
    wait: {for: 1d}
"""})
    os.symlink(elsewhere / "shared", root / "journeys" / "linked")
    os.symlink(root / "journeys", root / "journeys" / "loop")  # a link back up: each real folder once
    os.symlink(root / "missing.yaml", root / "journeys" / "gone.yaml")
    lines = problems_of(root)
    assert only(lines, "channel").startswith("journeys/linked/more.yaml:10:21: journey j: steps[0].send.channel")
    assert only(lines, "gone") == "journeys/gone.yaml:1:1: cannot read file: No such file or directory"
    assert not any("loop/" in line for line in lines)


def test_a_file_that_is_not_utf8_is_placed_at_its_first_such_byte(tmp_path: Path) -> None:
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "latin1.yaml").write_bytes(HEAD.encode() + b"# caf\xe9 au lait\n")
    assert problems_of(tmp_path) == [
        "journeys/latin1.yaml:8:6: cannot read file: byte 0xe9 is not UTF-8 (save the file as UTF-8)"]


@pytest.mark.parametrize("source", ['now.getHours("Europe/Berlin") >= 18', "now.getDayOfWeek(employee.timezone) == 1",
                                    "trigger.time.getFullYear( 'UTC' ) > 2020"])
def test_a_time_getter_given_a_timezone_is_refused_where_it_is_written(source: str) -> None:
    """An audit on 2026-12-04: CEL's getters take a timezone, this library's do not; such a condition validated and
    was false (expression_failed) on every run. Refused at the getter, saying what to write."""
    with pytest.raises(ExpressionError, match=r"takes no timezone here: it reads the time in UTC") as refused:
        Expr(source)
    assert source[refused.value.column - 1:].startswith("get")
    Expr("now.getHours() >= 18 && 'x.getHours(1)' != ''")  # without one, and inside a string, is fine


@pytest.mark.parametrize(("source", "zoned"), [
    ('employee.attributes.note == """a"b .getHours(\'x\') """', False),
    ("employee.attributes.note == '''it's .getHours(\"x\")'''", False),
    (r'employee.attributes.path == r"C:\" && now.getHours("Europe/Berlin") > 8', True),
    (r"employee.attributes.path == r'C:\' && now.getHours('Europe/Berlin') > 8", True),
    ('now.getHours() > 8 && employee.attributes.note != """say "hi" """ && now.getMinutes(\'UTC\') > 0', True),
])
def test_the_time_getter_check_reads_triple_quoted_and_raw_strings_as_cel_does(source: str, zoned: bool) -> None:
    """The check blanked strings by a rule of its own, which knew neither triple quotes nor ``r`` strings: a getter
    written inside a triple-quoted string was refused, and one given a zone after ``r"C:\\"`` (a raw string ends
    at its quote) was not. It now reads literals as ``without_comments`` does."""
    if not zoned:
        Expr(source)
        return
    with pytest.raises(ExpressionError, match=r"takes no timezone here") as refused:
        Expr(source)
    assert source[refused.value.column - 1:].startswith(("getHours(", "getMinutes("))


def test_a_resource_declared_twice_does_not_hide_the_cycle_its_first_declaration_makes(write_files: WriteFiles) -> None:
    """An audit on 2026-12-04: r1 requiring r2 requiring r1, with r1 declared again (without requires) in another
    file, said only "declared twice": the graph kept the later r1, and the cycle went unsaid."""
    root = write_files({
        "catalog/c.yaml": "apiVersion: wayfinder/v1\nkind: Catalog\ntopics: [{id: t1}]\nresources:\n"
                          "  - {id: r1, type: task, title: A, topics: [t1], requires: [r2]}\n"
                          "  - {id: r2, type: task, title: B, topics: [t1], requires: [r1]}\n",
        "catalog/d.yaml": "apiVersion: wayfinder/v1\nkind: Catalog\nresources:\n"
                          "  - {id: r1, type: task, title: A2, topics: [t1]}\n"})
    lines = catalog_problems(root)
    assert [line.split(": ", 1)[1] for line in lines if "cycle" in line or "twice" in line] == [
        "requires form a cycle: r1 -> r2 -> r1", "resource 'r1' is declared twice"]


def test_a_cycle_through_a_second_declaration_is_placed_at_that_declaration(write_files: WriteFiles) -> None:
    """A validate audit on 2026-12-05: a resource declared again with ``requires`` of its own that close a cycle
    (a copied entry whose id was not changed) was placed at the first declaration's ``requires: []``, which requires
    nothing; a topic declared twice, likewise at the first one's line. Each is placed where the cycle is written."""
    root = write_files({
        "catalog/c.yaml": "apiVersion: wayfinder/v1\nkind: Catalog\ntopics:\n  - {id: t1}\n  - {id: t2}\n"
                          "  - {id: t1, parent: t2}\n  - {id: t2, parent: t1}\nresources:\n"
                          "  - {id: r1, type: task, title: A, topics: [t1], requires: []}\n"
                          "  - {id: r1, type: task, title: B, topics: [t1], requires: [r1]}\n"})
    lines = [line for line in catalog_problems(root) if "cycle" in line]
    assert lines == ["catalog/c.yaml:6:22: topic parents form a cycle: t1 -> t2 -> t1",
                     "catalog/c.yaml:10:60: requires form a cycle: r1 -> r1"]


def test_a_standard_journey_asking_for_a_sensitive_topic_is_warned_where_it_asks(write_files: WriteFiles) -> None:
    """An audit on 2026-12-04: a second bereavement's condolence went out unreviewed because its resources had all
    been delivered the first time (a message waits when it picks a resource of a sensitive topic, SPEC §4)."""
    root = write_files({
        "journeys/j.yaml": HEAD + """steps:
  - id: condolence
    send: {channel: email, subject: Sorry, body: We are sorry., resources: {topics: [onboarding, bereavement]}}
""",
        "journeys/k.yaml": HEAD.replace("id: j", "id: k") + """sensitivity: sensitive
steps:
  - id: condolence
    send: {channel: email, subject: Sorry, body: We are sorry., resources: {topics: [bereavement]}}
""",
        "policy.yaml": "apiVersion: wayfinder/v1\nkind: Policy\nsensitive_topics: [bereavement]\n"})
    _, problems = load(Sources(paths=[root / "journeys", WORLD / "catalog"], templates=[WORLD / "templates"],
                               policy=root / "policy.yaml"))
    warned = [str(p).removeprefix(str(root) + "/") for p in problems if "sensitive topic" in p.message]
    assert warned == ["journeys/j.yaml:10:98: warning: journey j: step condolence asks for 'bereavement', a sensitive "
                      "topic: its message waits for a person only when it picks a resource of it, and goes "
                      "unreviewed when it picks none (all delivered before, none eligible); give the journey "
                      "`sensitivity: sensitive` to have each of its messages reviewed"]


def test_a_number_written_as_true_or_as_text_is_not_taken_as_one(write_files: WriteFiles) -> None:
    """An audit on 2026-12-04: ``limit: true`` validated as a limit of 1 (YAML's true read as a number), and so did
    ``version: "3"``; a count is written as a number."""
    root = write_files({"journeys/j.yaml": HEAD + """version: "3"
steps:
  - id: a
    send: {channel: email, subject: s, body: b, resources: {topics: [onboarding], limit: true}}
"""})
    lines = problems_of(root)
    assert "journeys/j.yaml:8:10: journey j: version: expected a whole number, such as 3, not text" in lines
    assert any(line.startswith("journeys/j.yaml:11:")
               and "limit: expected a whole number, such as 3, not true or false" in line for line in lines), lines


def test_a_step_without_its_id_is_told_at_the_step(write_files: WriteFiles) -> None:
    """A validate audit on 2026-12-05: a step that lacked its ``id`` was placed at the journey's own ``id`` (3:5),
    and named ``steps[1].task``, as if the id belonged inside the task. A field missing inside the action is still
    placed at the action."""
    root = write_files({"journeys/j.yaml": HEAD + """steps:
  - id: a
    wait: {for: 1d}
  - task: {assignee: hr_partner, title: Call, note: Hello}
  - id: c
    send: {template: new-parent/welcome}
"""})
    assert problems_of(root) == ["journeys/j.yaml:11:5: journey j: steps[1]: missing required field 'id'",
                                 "journeys/j.yaml:13:11: journey j: steps[2].send: missing required field 'channel'"]


def test_a_key_inside_an_action_is_told_against_that_action_and_where_it_goes(write_files: WriteFiles) -> None:
    """A validate audit on 2026-12-05: a step's ``id`` indented under its ``send`` was "unknown field 'id' here (did
    you mean 'kind'?)": a key inside an action was told the closest of every document's fields, though pydantic's
    loc says which action it is in. It is now told against that action's fields, and a key that belongs one level
    up says so."""
    root = write_files({"journeys/j.yaml": HEAD + """steps:
  - send:
      id: hello
      channel: email
      template: new-parent/welcome
  - id: b
    send: {channel: email, templat: new-parent/welcome}
"""})
    assert [line for line in problems_of(root) if "unknown field" in line] == [
        "journeys/j.yaml:10:7: journey j: steps[0].send: unknown field 'id' here (it goes beside 'send', not inside "
        "it)",
        "journeys/j.yaml:14:28: journey j: steps[1].send: unknown field 'templat' (did you mean 'template'?)"]
