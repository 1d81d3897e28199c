"""``wayfinder test``: the bundled examples ship with journey tests that pass; a broken copy fails with a diff."""

from __future__ import annotations

from pathlib import Path

import pytest

from wayfinder.cli import main
from wayfinder.journeys.definitions import Definitions
from wayfinder.journeys.model import JourneyTestDoc
from wayfinder.journeys.records import Message, Task
from wayfinder.journeytests.runner import run_test


def _edited_copy(tmp_path: Path, *edits: tuple[str, str, str]) -> Path:
    """The bundled examples copied below ``tmp_path``, each (file, old, new) replacement made (it must match)."""
    copy = tmp_path / "mine"
    assert main(["examples", "--copy", str(copy)]) == 0
    for name, old, new in edits:
        path = copy / name
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new), encoding="utf-8")
    return copy


def test_the_bundled_journey_tests_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test"]) == 0
    out = capsys.readouterr().out
    assert "PASS new-parent-birth-in-germany (" in out
    assert out.endswith("8 passed, 0 failed\n")


def test_a_k_that_matches_no_test_says_so_not_that_there_are_none(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", "-k", "no-such-test"]) == 1
    err = capsys.readouterr().err
    assert "no journey test id in" in err and "contains 'no-such-test'; ids: " in err
    assert "new-parent-birth-in-germany" in err and "no journey tests (kind" not in err


def test_a_folder_without_journeys_says_so_not_unknown_journey_for_each_test(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An audit on 2026-12-06: tests kept in a folder with no journeys/ beside them (the journeys elsewhere) each
    failed with "unknown journey 'new-parent'", with no place and no word of where journeys are read from."""
    copy = _edited_copy(tmp_path)
    (copy / "journeys").rename(tmp_path / "elsewhere")
    capsys.readouterr()
    assert main(["test", str(copy)]) == 1
    said = capsys.readouterr()
    assert said.out == ""
    assert said.err == (f"{copy / 'journeys'}: no such folder; `wayfinder test FOLDER` runs the journeys in "
                        "FOLDER/journeys against the tests in FOLDER/tests (laid out as `wayfinder examples --copy` "
                        "makes it)\n")


def test_a_broken_copy_fails_with_a_readable_diff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = _edited_copy(tmp_path, ("journeys/new-parent.yaml", "offset: 8w", "offset: 6w"))
    capsys.readouterr()
    assert main(["test", str(copy), "-k", "new-parent"]) == 1
    out = capsys.readouterr().out
    assert out == (
        f"FAIL new-parent-birth-in-germany ({copy / 'tests' / 'new-parent.yaml'}:2)\n"
        f"  {copy / 'tests' / 'new-parent.yaml'}:22:7: expect.messages[1]: no message matches it\n"
        "  --- expected\n"
        "  +++ actual\n"
        "  @@ -1,2 +1,2 @@\n"
        "   message at=2026-03-02T09:15:00Z journey=new-parent step=welcome status=sent locale=de-DE\n"
        "  -message at=2026-04-27T06:00:00Z journey=new-parent step=planning-ahead channel=intranet status=sent\n"
        "  +message at=2026-04-13T06:00:00Z journey=new-parent step=planning-ahead channel=intranet status=sent "
        "locale=de-DE\n"
        f"PASS new-parent-contractor-gets-nothing ({copy / 'tests' / 'new-parent.yaml'}:24)\n"
        "1 passed, 1 failed\n")


def test_an_unexpected_message_fails_an_exact_test(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = _edited_copy(tmp_path, ("tests/new-parent.yaml", "employment_type: contractor", "employment_type: employee"))
    capsys.readouterr()
    assert main(["test", str(copy), "-k", "contractor"]) == 1
    out = capsys.readouterr().out
    # where the test would name it (an HR operations audit on 2026-12-05: a failed test said no file:line)
    assert f"  {copy / 'tests' / 'new-parent.yaml'}:38:13: expect.messages: 1 message(s) that no expectation " \
           "names (the test is exact)\n" in out
    assert "  +message at=2026-03-02T09:15:00Z journey=new-parent step=welcome\n" in out
    assert out.endswith("0 passed, 1 failed\n")


def test_a_malformed_journey_test_is_a_validation_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = _edited_copy(tmp_path, ("tests/new-parent.yaml", "    - {journey: new-parent, step: welcome,",
                                   "    - {jorney: new-parent, step: welcome,"))
    capsys.readouterr()
    assert main(["test", str(copy)]) == 1
    assert ("new-parent.yaml:20:8: journey test new-parent-birth-in-germany: expect.messages[0]: unknown field "
            "'jorney' (did you mean 'journey'?)") in capsys.readouterr().err


def test_plan_of_a_changed_copy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = _edited_copy(tmp_path, ("policy.yaml", "max: 3, per: 7d", "max: 2, per: 7d"),
                        ("journeys/new-parent.yaml", "version: 3", "version: 4"),
                        ("templates/new-manager/for-manager.yaml", "now reports to you. A first",
                         "now reports to you. A first short"))
    capsys.readouterr()
    assert main(["plan", str(copy)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"plan: {copy} against the bundled examples, over 995 events of events.jsonl"
    assert out[1] == "  ~ journey new-parent: changed (v3 -> v4); enrolls 9 -> 9"
    assert out[2:5] == ["  ~ templates: changed: new-manager/for-manager", "  ~ policy changed",
                        "  7 message(s) read differently (the same message, other words)"]
    assert out[5].startswith("  messages: 173 -> 173; busiest week per recipient 3 -> 2; ")
    assert out[7].startswith("  recipients the frequency cap holds back: 0 -> 15; new: E1030, E1082, ")


def test_plan_of_a_wait_edited_without_a_new_version_warns_and_exits_0(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An HR operations audit on 2026-12-05: a wait's offset edited in place said only "changed (v3 -> v3)". The
    warning says what the engine does with the people in it; like validate's warnings, it leaves the exit code 0."""
    copy = _edited_copy(tmp_path, ("journeys/new-parent.yaml", "offset: 8w", "offset: 6w"))
    capsys.readouterr()
    assert main(["plan", str(copy)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1:3] == ["  ~ journey new-parent: changed without a new version (still v3); enrolls 9 -> 9",
                        "    steps changed: eight-weeks"]
    assert out[3].startswith("  ! journey new-parent: edited but its version is still 3: running enrollments keep "
                             "their place and go on in the edited steps (a wait or timeout they are in keeps the "
                             "time it was given;")


def test_an_expected_time_without_an_offset_is_refused_where_it_is_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An expectation's ``at`` is compared as an instant: ``validate`` and ``wayfinder test`` say where one is none
    (``wayfinder test`` stopped with a traceback)."""
    copy = _edited_copy(tmp_path)
    (copy / "tests" / "bad-at.yaml").write_text("""apiVersion: wayfinder/v1
kind: JourneyTest
id: bad-at
journeys: [new-parent]
events:
  - type: hris.dependent.added
    time: "2026-03-02T09:15:00Z"
    subject: T100
    data: {relationship: child, reason: birth, date: "2026-03-01"}
expect:
  messages:
    - {journey: new-parent, step: welcome, at: "2026-03-02 09:15"}
  tasks:
    - {journey: new-parent, at: tomorrow}
""", encoding="utf-8")
    where = f"{copy / 'tests' / 'bad-at.yaml'}"
    for command in (["validate", str(copy)], ["test", str(copy), "-k", "bad-at"]):
        capsys.readouterr()
        assert main(command) == 1
        err = capsys.readouterr().err.splitlines()
        assert err[:2] == [
            f"{where}:12:48: journey test bad-at: expect.messages[0].at: '2026-03-02 09:15' has no offset: add Z or "
            "+01:00",
            f"{where}:14:33: journey test bad-at: expect.tasks[0].at: 'tomorrow' is not an RFC 3339 time "
            "(e.g. 2026-12-31T00:00:00Z)"], err


def test_a_slip_in_an_expectation_hides_none_of_the_tests_other_problems(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 9, every problem in one run: ``status: snt`` in an expectation hid the test's unknown journey, its
    ``until`` without an offset, an event simulate refuses and the step the same expectation names."""
    copy = _edited_copy(tmp_path)
    (copy / "tests" / "slip.yaml").write_text("""apiVersion: wayfinder/v1
kind: JourneyTest
id: slip
journeys: [new-parnt]
until: "2026-06-30"
events:
  - type: hris.dependent.added
    time: "2026-03-02T09:15:00Z"
    subject: T100
    data: {relationship: child, reason: birth}
expect:
  messages:
    - {journey: new-parent, step: welcom, status: snt}
""", encoding="utf-8")
    capsys.readouterr()
    assert main(["validate", str(copy)]) == 1
    where = f"{copy / 'tests' / 'slip.yaml'}"
    found = [line.removeprefix(where) for line in capsys.readouterr().err.splitlines() if line.startswith(where)]
    assert [line.split(": ")[0] for line in found] == [":4:12", ":5:8", ":10:11", ":13:35", ":13:51"], found
    assert "unknown step 'welcom'" in found[3] and "expect.messages[0].status" in found[4]


def test_a_journey_test_is_checked_against_the_journeys_before_it_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``validate`` checks a test's journeys, steps, ``until`` and each event as simulate decodes it, every problem
    at once and where it is written (``wayfinder test`` met them one at a time, and ran an event simulate refuses)."""
    copy = _edited_copy(tmp_path)
    (copy / "tests" / "bad.yaml").write_text("""apiVersion: wayfinder/v1
kind: JourneyTest
id: bad-one
journeys: [new-parnt]
until: "2026-06-30T00:00:00"
events:
  - type: hris.dependent.added
    time: "2026-03-02T09:15:00Z"
    subject: T100
    data: {relationship: child, reason: birth}
expect:
  messages:
    - {journey: new-parent, step: welcom, status: sent}
  tasks:
    - {journey: bereavment, step: nope}
""", encoding="utf-8")
    capsys.readouterr()
    assert main(["validate", str(copy)]) == 1
    where = f"{copy / 'tests' / 'bad.yaml'}"
    assert capsys.readouterr().err.splitlines()[:5] == [
        f"{where}:4:12: journey test bad-one: unknown journey 'new-parnt' (did you mean 'new-parent'?)",
        f"{where}:5:8: journey test bad-one: until: '2026-06-30T00:00:00' has no offset: add Z or +01:00",
        f"{where}:10:11: journey test bad-one: event 1 (hris.dependent.added) is one simulate refuses: "
        "invalid_data: "
        "hris.dependent.added: data.date: Field required",
        f"{where}:13:35: journey test bad-one: unknown step 'welcom' (did you mean 'welcome'?)",
        f"{where}:15:17: journey test bad-one: unknown journey 'bereavment' (did you mean 'bereavement'?)"]
    # ``wayfinder test`` does not run an event simulate would refuse: it says why, where it is written.
    (copy / "tests" / "bad.yaml").write_text((copy / "tests" / "bad.yaml").read_text(encoding="utf-8").replace(
        "journeys: [new-parnt]", "journeys: [new-parent]").replace('"2026-06-30T00:00:00"', '"2026-06-30T00:00:00Z"')
        .replace("step: welcom,", "step: welcome,").replace("    - {journey: bereavment, step: nope}\n", "")
        .replace("  tasks:\n", ""), encoding="utf-8")
    capsys.readouterr()
    assert main(["test", str(copy), "-k", "bad-one"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{where}:10:11: journey test bad-one: event 1 (hris.dependent.added) is one simulate refuses: "
        "invalid_data: "
        "hris.dependent.added: data.date: Field required", "1 error(s)"]


@pytest.mark.parametrize(("written", "why"), [
    ('"01.03.2026"', 'this text is not an ISO date (YYYY-MM-DD)'),
    ('"2026-03-01T00:00:00Z"', "without a time"),
    ("1772323200", "not a number"),
])
def test_a_bad_value_in_an_events_data_is_placed_at_its_field_and_says_what_is_wrong(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], written: str, why: str) -> None:
    """Found by an HR operations audit on 2026-12-05: ``date: "01.03.2026"`` in a test's event was placed at the
    event (line 14, column 5) and told "a date is text ... (not a number, not a time)" of a value that is text."""
    copy = _edited_copy(tmp_path, ("tests/new-parent.yaml", 'reason: birth, date: "2026-03-01"',
                                   f"reason: birth, date: {written}"))
    where = f"{copy / 'tests' / 'new-parent.yaml'}"
    for command in (["validate", str(copy)], ["test", str(copy), "-k", "new-parent-birth"]):
        capsys.readouterr()
        assert main(command) == 1
        err = capsys.readouterr().err.splitlines()
        assert err[0] == (f"{where}:17:54: journey test new-parent-birth-in-germany: event 2 (hris.dependent.added) is "
                          "one simulate refuses: invalid_data: hris.dependent.added: data.date: Value error, a date is "
                          f'text such as "2026-03-01"{";" if why.startswith("this") else ","} {why}'), err
        assert written.strip('"') not in err[0]  # the value itself is a person's data: never in the message


def test_the_runner_refuses_an_event_simulate_would_refuse() -> None:
    """Run without ``validate`` first (a program driving ``run_test``): the test errs, saying why, and runs nothing."""
    test = JourneyTestDoc.model_validate({
        "apiVersion": "wayfinder/v1", "kind": "JourneyTest", "id": "t",
        "events": [{"type": "hris.dependent.added", "time": "2026-03-02T09:15:00Z", "subject": "E1",
                    "data": {"relationship": "child"}}],
        "expect": {"messages": []}})

    def never(*_: object) -> tuple[list[Message], list[Task]]:
        msg = "the test ran"
        raise AssertionError(msg)

    outcome = run_test(Definitions(), test, "t.yaml:1", never)
    assert outcome.error == ("event 1 (hris.dependent.added) is one simulate refuses: invalid_data: "
                             "hris.dependent.added: data.date: Field required")


def test_each_failed_expectation_is_told_where_it_is_written(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """An HR operations audit on 2026-12-05: a failed test printed the diff and the document's first line only, so
    in a test of many expectations the one that failed had to be found by reading the diff against the file."""
    copy = _edited_copy(tmp_path, ("journeys/new-parent.yaml", "offset: 8w", "offset: 6w"), (
        "tests/new-parent.yaml", "  messages:\n    - {journey: new-parent, step: welcome,",
        "  tasks:\n    - {journey: new-parent}\n  messages:\n    - {journey: new-parent, step: welcome,"))
    capsys.readouterr()
    assert main(["test", str(copy), "-k", "new-parent-birth"]) == 1
    where = copy / "tests" / "new-parent.yaml"
    told = [line.strip() for line in capsys.readouterr().out.splitlines() if line.startswith(f"  {where}:")]
    assert told == [f"{where}:24:7: expect.messages[1]: no message matches it",
                    f"{where}:20:7: expect.tasks[0]: no task matches it"], told


def test_a_diff_line_writes_values_as_the_test_file_does() -> None:
    """An audit on 2026-12-04 read ``recipient=None subject=None`` in a failed test's diff: Python, not YAML."""
    from wayfinder.journeytests.runner import _line

    assert _line("message", {"step": "note", "recipient": None, "exact": True, "subject": "Hi"}) == (
        "message step=note recipient=null exact=true subject=Hi")


def test_expectations_are_met_whatever_order_they_are_written_in(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Found by an HR operations pass on 2026-12-05: each expectation took the first record it matched, so a broad
    one written first ("any sent new-parent message") took the welcome email a narrower one below it named, and a
    right test failed with a diff that asked for the welcome email it had."""
    copy = _edited_copy(tmp_path, (
        "tests/new-parent.yaml",
        '    - {journey: new-parent, step: welcome, status: sent, at: "2026-03-02T09:15:00Z", locale: de-DE}\n',
        "    - {journey: new-parent, status: sent}\n    - {journey: new-parent, step: welcome, channel: email}\n"), (
        "tests/new-parent.yaml",
        '    - {journey: new-parent, step: planning-ahead, status: sent, channel: intranet, '
        'at: "2026-04-27T06:00:00Z"}\n', ""))
    capsys.readouterr()
    assert main(["test", str(copy), "-k", "new-parent-birth"]) == 0
    assert capsys.readouterr().out.endswith("1 passed, 0 failed\n")
