"""The command line as HR operations use it: simulate's files, preview, schema, examples."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.support import WORLD, WriteFiles
from wayfinder import examples_dir
from wayfinder.cli import main

JOURNEY = """
apiVersion: wayfinder/v1
kind: Journey
id: leave-return
name: Welcome back
owner: hr@example.com
trigger: {event: hris.leave.ended}
steps:
  - id: hello
    send: {channel: email, template: new-parent/return, resources: {topics: [return-to-work]}}
  - id: partner
    task: {assignee: hr_partner, title: "Check in", note: "Back from {{ trigger.data.leave_type }} leave"}
  - id: later
    wait: {for: 2d}
  - id: again
    send: {channel: intranet, subject: "How is it going?", body: "Hello again."}
"""

EVENTS = [
    {"specversion": "1.0", "id": "1", "source": "t", "type": "hris.employee.upserted", "time": "2026-01-01T00:00:00Z",
     "subject": "E1", "data": {"given_name": "Zoë", "email": "zoe@example.com", "timezone": "Europe/Paris",
                               "hr_partner_id": "H9"}},
    {"specversion": "1.0", "id": "2", "source": "t", "type": "hris.leave.ended", "time": "2026-03-02T10:00:00+01:00",
     "subject": "E1", "data": {"leave_type": "parental", "return_date": "2026-03-02"}},
]


def write_case(write_files: WriteFiles, extra_lines: tuple[str, ...] = ()) -> Path:
    root = write_files({"journeys/j.yaml": JOURNEY})
    lines = [json.dumps(e) for e in EVENTS] + list(extra_lines)
    (root / "events.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def simulate(root: Path, *extra: str) -> int:
    return main(["simulate", "--events", str(root / "events.jsonl"), "--journeys", str(root / "journeys"),
                 "--catalog", str(WORLD / "catalog"), "--templates", str(WORLD / "templates"),
                 "--policy", str(WORLD.parent / "empty-policy.yaml"), "--out", str(root / "out"), *extra])


def read_jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_policy_among_the_journeys_is_the_one_a_run_without_policy_uses(write_files: WriteFiles,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Documents are told apart by their kind, and a run given no ``--policy`` takes the bundled one: with a policy
    of the user's own in the journeys folder both were read, and the run stopped on "only one Policy document is
    allowed" at the bundled file, which the user never named. Theirs is the one it runs under (2026-12-06); a
    ``--policy`` beside it is still two policies, and which one was meant is not guessed."""
    root = write_case(write_files)
    (root / "journeys" / "policy.yaml").write_text(
        "apiVersion: wayfinder/v1\nkind: Policy\nfrequency_cap: {max: 1, per: 30d}\n", encoding="utf-8")
    assert main(["simulate", "--events", str(root / "events.jsonl"), "--journeys", str(root / "journeys"),
                 "--catalog", str(WORLD / "catalog"), "--templates", str(WORLD / "templates"),
                 "--until", "2026-03-10T00:00:00Z", "--out", str(root / "out")]) == 0
    assert "only one Policy" not in capsys.readouterr().err
    went = {m["step_id"]: (m["status"], m["scheduled_for"]) for m in read_jsonl(root / "out" / "messages.jsonl")}
    # its cap, not the bundled one's (3 a week) nor its quiet hours (20:00-08:00: the return at 10:00 in Paris goes)
    assert went == {"hello": ("sent", "2026-03-02T09:00:00Z"), "again": ("deferred", "2026-04-01T09:00:00Z")}
    assert simulate(root) == 1
    assert "only one Policy document is allowed" in capsys.readouterr().err


def test_simulate_writes_the_contract_files(write_files: WriteFiles, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_case(write_files, ("not json",))
    assert simulate(root, "--until", "2026-03-10T00:00:00Z") == 0
    messages = read_jsonl(root / "out" / "messages.jsonl")
    assert [(m["step_id"], m["status"], m["scheduled_for"]) for m in messages] == [
        ("hello", "sent", "2026-03-02T09:00:00Z"), ("again", "sent", "2026-03-04T09:00:00Z")]
    assert messages[0]["resources"] == ["return-to-work-guide"]
    [task] = read_jsonl(root / "out" / "tasks.jsonl")
    assert {k: task[k] for k in ("employee_id", "assignee", "assignee_id", "journey_id", "step_id", "title", "note",
                                 "created_at")} == {
        "employee_id": "E1", "assignee": "hr_partner", "assignee_id": "H9", "journey_id": "leave-return",
        "step_id": "partner", "title": "Check in", "note": "Back from parental leave",
        "created_at": "2026-03-02T09:00:00Z"}
    assert str(task["task_id"]).startswith("t-")
    [dead] = read_jsonl(root / "out" / "dead_letters.jsonl")
    assert dead["raw"] == "not json" and str(dead["reason"]).startswith("invalid_json")
    out = capsys.readouterr().out
    assert "leave-return" in out and "1 dead letter," in out


def test_until_defaults_to_the_last_event(write_files: WriteFiles) -> None:
    root = write_case(write_files)
    assert simulate(root) == 0
    steps = [m["step_id"] for m in read_jsonl(root / "out" / "messages.jsonl")]
    assert steps == ["hello"]



def test_until_before_the_last_event_runs_every_event_and_says_so(write_files: WriteFiles,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """SPEC §7: events run in time order and --until says how far timers fire after the last one; an --until before
    the last event (2026-03-02T09:00Z) cuts nothing, and the summary says so rather than leave the run to look cut."""
    root = write_case(write_files)
    assert simulate(root, "--until", "2026-02-01T00:00:00Z") == 0
    assert [m["step_id"] for m in read_jsonl(root / "out" / "messages.jsonl")] == ["hello"]
    assert ("note: --until 2026-02-01T00:00:00Z is before the last event (2026-03-02T09:00:00Z): every event ran, "
            "and timers fired up to the last event's time") in capsys.readouterr().out
    for until in ("2026-03-02T10:00:00+01:00", "2026-03-10T00:00:00Z"):  # at the last event, or after it: no note
        assert simulate(root, "--until", until) == 0
        assert "note: --until" not in capsys.readouterr().out

def test_simulate_refuses_broken_definitions(write_files: WriteFiles, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_case(write_files)
    (root / "journeys" / "j.yaml").write_text(JOURNEY.replace("template: new-parent/return", "template: nope"),
                                              encoding="utf-8")
    assert simulate(root) == 1
    assert "unknown template 'nope'" in capsys.readouterr().err
    assert not (root / "out" / "messages.jsonl").exists()


def test_preview_renders_for_a_profile_file(write_files: WriteFiles, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_case(write_files)
    profile = root / "anna.json"
    profile.write_text(json.dumps({"id": "P1", "given_name": "Anna", "timezone": "Europe/Berlin"}), encoding="utf-8")
    code = main(["preview", "leave-return", "--employee", str(profile), "--at", "2026-05-04T08:00:00Z",
                 "--data", '{"leave_type": "medical", "return_date": "2026-05-04"}', "--journeys",
                 str(root / "journeys"), "--catalog", str(WORLD / "catalog"), "--templates", str(WORLD / "templates"),
                 "--policy", str(WORLD.parent / "empty-policy.yaml")])
    assert code == 0
    out = capsys.readouterr().out
    assert "Subject: Welcome back soon, Anna" in out
    assert "Back from medical leave" in out
    assert "You received this because your medical leave ended on May 4, 2026" in out


def test_preview_shows_control_characters_from_the_data_escaped(write_files: WriteFiles,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """An audit on 2026-12-06: a name holding ESC sequences (an upsert's JSON may carry ``\\u001b``) was printed
    as it was, so previewing that person cleared the screen or retitled the window of whoever ran it."""
    root = write_case(write_files)
    profile = root / "anna.json"
    profile.write_text(json.dumps({"id": "P1", "given_name": "\u001b[2J\u001b]0;pwned\u0007Anna",
                                   "timezone": "Europe/Berlin"}), encoding="utf-8")
    code = main(["preview", "leave-return", "--employee", str(profile), "--at", "2026-05-04T08:00:00Z",
                 "--data", '{"leave_type": "medical", "return_date": "2026-05-04"}', "--journeys",
                 str(root / "journeys"), "--catalog", str(WORLD / "catalog"), "--templates", str(WORLD / "templates"),
                 "--policy", str(WORLD.parent / "empty-policy.yaml")])
    assert code == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "Subject: Welcome back soon, \\x1b[2J\\x1b]0;pwned\\x07Anna" in out
    assert "Back from medical leave" in out  # the text's lines are kept


def test_preview_of_a_profile_file_knows_the_people_around_them_from_the_events(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An audit on 2026-12-04: with ``--employee FILE`` the ``--events`` were not read, so a manager known only
    there was ``no_recipient`` in the preview."""
    profile = tmp_path / "sam.json"
    profile.write_text(json.dumps({"id": "P9", "given_name": "Sam", "timezone": "Europe/Berlin", "country": "DE",
                                   "employment_type": "employee", "work_mode": "remote", "manager_id": "E1008"}),
                       encoding="utf-8")
    args = ["preview", "onboarding", "--employee", str(profile), "--at", "2026-05-02T10:00:00Z"]
    assert main(args) == 0
    assert "== manager-heads-up: email to manager E1008, suppressed (no_recipient)" in capsys.readouterr().out
    assert main([*args, "--events", str(examples_dir() / "events.jsonl")]) == 0
    assert "== manager-heads-up: email to manager E1008, sent" in capsys.readouterr().out


def test_schema_says_a_modeline_that_finds_the_schema_from_a_journey_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The modeline's path is read from the YAML file it is in (a journey under journeys/), not from where
    ``schema`` ran; it said ``schemas/journey.schema.json``, which from journeys/x.yaml names nothing."""
    monkeypatch.chdir(tmp_path)
    assert main(["schema", "--out", "schemas"]) == 0
    modeline = capsys.readouterr().out.splitlines()[-1]
    found = (tmp_path / "journeys" / modeline.split("$schema=")[1]).resolve()
    assert found == (tmp_path / "schemas" / "journey.schema.json").resolve()
    assert found.is_file()


def test_schema_accepts_the_bundled_documents(tmp_path: Path) -> None:
    assert main(["schema", "--out", str(tmp_path)]) == 0
    kinds = {"Journey": "journey", "Template": "template", "Catalog": "catalog", "Policy": "policy",
             "JourneyTest": "journey-test", "Fairness": "fairness", "CatalogFeedback": "catalog-feedback"}
    checked = 0
    for path in sorted(examples_dir().rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            schema = json.loads((tmp_path / f"{kinds[doc['kind']]}.schema.json").read_text(encoding="utf-8"))
            jsonschema.validate(doc, schema)
            checked += 1
    assert checked > 20
    journey_schema = json.loads((tmp_path / "journey.schema.json").read_text(encoding="utf-8"))
    bad = yaml.safe_load(JOURNEY) | {"colour": "blue"}
    with pytest.raises(jsonschema.ValidationError, match="colour"):
        jsonschema.validate(bad, journey_schema)


_JOURNEY_HEAD = "apiVersion: wayfinder/v1\nkind: Journey\nid: j\ntrigger: {event: hris.dependent.added}\n"
_NAMED = _JOURNEY_HEAD + "name: J\n"  # the schema asked for a name, which a journey may leave out
_SEND = "  - id: s\n    send: {channel: email, template: new-parent/welcome}\n"
_POLICY = "apiVersion: wayfinder/v1\nkind: Policy\n"
_CATALOG = ("apiVersion: wayfinder/v1\nkind: Catalog\ntopics: [{id: zz}]\nresources:\n"
            "  - {id: r1, type: learning, title: R, topics: [zz], ")
_TEST = ("apiVersion: wayfinder/v1\nkind: JourneyTest\nid: t\nevents:\n  - {type: hris.dependent.added, "
         "time: '2026-03-02T09:15:00Z', subject: T1, data: {relationship: child, reason: birth, date: '2026-03-01'}}\n")


@pytest.mark.parametrize(("name", "text"), [
    ("journeys/j.yaml", _NAMED + "steps:\n" + _SEND + "  - id: w\n    wait: {}\n"),
    ("journeys/j.yaml", _NAMED + "steps:\n" + _SEND + "  - id: w\n    wait: {for: 1d, until: now}\n"),
    ("journeys/j.yaml", _NAMED + "steps:\n" + _SEND + "  - id: w\n    wait: {for: 1d, offset: 2d}\n"),
    ("journeys/j.yaml", _NAMED + "steps:\n" + _SEND + "  - id: w\n    wait: {for: -3d}\n"),
    ("journeys/j.yaml", _NAMED + "steps:\n" + _SEND + "  - id: w\n    wait_for: {event: x.y, timeout: 0s}\n"),
    ("journeys/j.yaml", _NAMED + "steps:\n  - id: s\n    send: {channel: email, subject: Hi}\n"),
    ("journeys/j.yaml", _NAMED + "steps:\n  - id: s\n    send: {channel: email}\n"),
    ("journeys/j.yaml", _NAMED + "steps:\n  - id: s\n    send: {channel: email, template: new-parent/welcome, "
                        "subject: Hi, body: Hello}\n"),
    ("journeys/j.yaml", _NAMED + "steps:\n  - id: r\n    roadmap: {topics: [onboarding], horizon: -5d, "
                        "channel: email, template: onboarding/roadmap}\n"),
    ("journeys/j.yaml", _NAMED + "reentry: -3d\nsteps:\n" + _SEND),
    ("journeys/j.yaml", _NAMED + "holdout: 60%\nsteps:\n" + _SEND),
    ("journeys/j.yaml", _NAMED + "sensitivity: sensitive\nholdout: 5%\nsteps:\n" + _SEND),
    ("journeys/j.yaml", _NAMED + "essential: true\non_leave: suppress\nsteps:\n" + _SEND),
    ("journeys/j.yaml", _NAMED + "names: {german: Hallo}\nsteps:\n" + _SEND),
    ("templates/x/t.yaml", "apiVersion: wayfinder/v1\nkind: Template\nsubject: Hi\ntext: Hello\n"
                           "locales: {english: {subject: Hi, text: Hello}}\n"),
    ("policy.yaml", _POLICY + "frequency_cap: {max: 3, per: 0s}\n"),
    ("policy.yaml", _POLICY + "max_event_age: -1d\n"),
    ("policy.yaml", _POLICY + "digests: {manager: {every: daily, day: monday}}\n"),
    ("policy.yaml", _POLICY + "preferences_url: intranet/preferences\n"),
    ("catalog/c.yaml", _CATALOG + "url: /intranet/r}\n"),
    ("catalog/c.yaml", _CATALOG + "url: 'javascript:alert(1)'}\n"),
    ("catalog/c.yaml", _CATALOG + "url: https://x.example.com/r, teaches: [Public Speaking]}\n"),
    ("fairness.yaml", "apiVersion: wayfinder/v1\nkind: Fairness\nattributes: [department, email]\n"),
    ("tests/t.yaml", _TEST + "until: '2026-06-30T00:00:00'\nexpect: {messages: []}\n"),
    ("tests/t.yaml", _TEST + "expect: {messages: [{step: welcome, at: '2026-03-02T09:15:00'}]}\n"),
])
def test_what_validate_refuses_the_schema_refuses(tmp_path: Path, name: str, text: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """An audit on 2026-12-06: an editor said "fine" to each of these, which ``validate`` refuses: the rules between
    fields (a wait's either/or, a send's template or inline text), durations that must not be negative or nothing,
    language tags as keys, a test's times without an offset, a holdout's share."""
    assert main(["schema", "--out", str(tmp_path / "schemas")]) == 0
    path = tmp_path / "defs" / name
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    flags = ["--policy", str(path)] if name == "policy.yaml" else []
    assert main(["validate", str(path.parent if name.startswith("tests") else path), str(WORLD / "catalog"),
                 "--templates", str(WORLD / "templates"), *flags]) == 1
    kind = {"Journey": "journey", "Template": "template", "Policy": "policy", "JourneyTest": "journey-test",
            "Catalog": "catalog", "Fairness": "fairness"}
    doc = yaml.safe_load(text)
    schema = json.loads((tmp_path / "schemas" / f"{kind[doc['kind']]}.schema.json").read_text(encoding="utf-8"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)
    capsys.readouterr()


def test_a_journey_without_a_name_is_fine_for_the_schema_as_for_validate(tmp_path: Path) -> None:
    """SPEC §4 does not require ``name`` (the loader calls such a journey by its id); the schema required it."""
    assert main(["schema", "--out", str(tmp_path)]) == 0
    schema = json.loads((tmp_path / "journey.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(yaml.safe_load(_JOURNEY_HEAD + "steps:\n" + _SEND), schema)
    (tmp_path / "j.yaml").write_text(_JOURNEY_HEAD + "steps:\n" + _SEND, encoding="utf-8")
    assert main(["validate", str(tmp_path / "j.yaml"), str(WORLD / "catalog"), "--templates",
                 str(WORLD / "templates")]) == 0


def test_examples_copy_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["examples", "--copy", str(tmp_path / "mine")]) == 0
    assert main(["validate", str(tmp_path / "mine")]) == 0
    assert "10 journeys" in capsys.readouterr().out



SPEC_EXAMPLE_JOURNEY = """apiVersion: wayfinder/v1
kind: Journey
id: new-parent
name: Welcome to parenthood
owner: benefits@example.com
version: 3
status: active
sensitivity: standard
trigger:
  event: hris.dependent.added
  when: event.data.relationship == "child" && event.data.reason in ["birth", "adoption", "foster"]
audience: employee.employment_type != "contractor"
reentry: 300d
exit_on:
  - event: hris.employee.terminated
steps:
  - id: welcome
    send:
      channel: email
      to: employee
      template: new-parent/welcome
      resources: {topics: [parental-leave, childcare, parent-network], limit: 4}
  - id: before-return
    wait:
      until: trigger.data.date
      offset: 12w
      at: "09:00"
  - id: return-checkin
    send: {channel: intranet, template: new-parent/return,
           resources: {topics: [return-to-work, flexible-work], limit: 3}}
"""


def test_the_contracts_example_journey_validates_against_the_bundled_examples(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """SPEC §4's example journey, as written, given to ``validate`` alone (the bundled catalog and templates stand in):
    an audit of issue 2 found ``unknown template 'new-parent/return'``, so a newcomer's first copy of the contract's
    journey failed, and so did a folder of journeys checked the way the contract cases check one."""
    journey = tmp_path / "journeys" / "new-parent.yaml"
    journey.parent.mkdir()
    journey.write_text(SPEC_EXAMPLE_JOURNEY, encoding="utf-8")
    assert main(["validate", str(journey.parent)]) == 0, capsys.readouterr()


def test_validate_given_an_events_file_says_it_is_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An HR author who gives ``validate`` the events file (it sits beside the journeys in a case folder) is told
    what it is and where it goes, in one line at its first event; it said "no kind" and a YAML syntax error."""
    events = tmp_path / "events.jsonl"
    events.write_text("\n" + (examples_dir() / "events.jsonl").read_text(encoding="utf-8").split("\n", 2)[0] + "\n"
                      '{"specversion": "1.0", "id": "x2"}\n', encoding="utf-8")
    assert main(["validate", str(events)]) == 1
    said = capsys.readouterr()
    lines = [line for line in (said.out + said.err).splitlines() if line.startswith(str(events))]
    assert lines == [f"{events}:2:1: a file of events (one CloudEvent a line), not a Wayfinder definition: give it to "
                     "`wayfinder simulate --events` (or `publish`); validate reads journeys, templates, catalog and "
                     "policy"]

def test_a_reader_that_goes_away_stops_the_command_quietly() -> None:
    """``wayfinder preview ... | head -2``: the rest of the output has nowhere to go; no traceback on stderr. The
    reading end is closed before the command writes anything, so its first write meets the closed pipe."""
    import subprocess
    import sys

    command = [sys.executable, "-c", "import sys; from wayfinder.cli import main; sys.exit(main())"]
    process = subprocess.Popen([*command, "preview", "promotion", "--employee", "E1030"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # as head does after its lines
    err = process.stderr.read()
    process.stderr.close()
    assert process.wait(timeout=60) == 141
    assert b"Traceback" not in err, err.decode(errors="replace")


@pytest.mark.parametrize("own", ["\"{% if employee.country == 'DE' %}Du bekommst das, weil ...{% endif %}\"",
                                 "\"{{ '' }}\"", "\"{{ employee.attributes.nothing_here }}\""])
def test_an_own_explanation_that_says_nothing_gives_way_to_the_made_one(write_files: WriteFiles, own: str) -> None:
    """SPEC §6, §9: every message says why it was sent. An own explanation that renders empty for this person (or
    fails to render) is not sent empty: the sentence made from the trigger goes instead."""
    root = write_case(write_files)
    trigger = "trigger: {event: hris.leave.ended}"
    journey = JOURNEY.replace(trigger, f"explanation: {own}\n{trigger}")
    (root / "journeys" / "j.yaml").write_text(journey, encoding="utf-8")
    assert simulate(root, "--until", "2026-03-10T00:00:00Z") == 0
    messages = read_jsonl(root / "out" / "messages.jsonl")
    assert [m["step_id"] for m in messages] == ["hello", "again"]
    for m in messages:
        assert str(m["explanation"]).startswith("You received this because your parental leave ended"), m
        assert f"-- \n{m['explanation']}\n" in str(m["text"])


def test_a_place_a_command_cannot_write_or_read_is_one_line_naming_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Found by an audit on 2026-12-04: each of these printed a Python traceback."""
    events = str(examples_dir() / "events.jsonl")
    plain = tmp_path / "a-file"
    plain.write_text("", encoding="utf-8")
    taken = tmp_path / "taken"
    (taken / "messages.jsonl").mkdir(parents=True)
    cases = [
        (["simulate", "--events", events, "--out", str(plain / "sub")], f"cannot use {plain / 'sub'}: Not a directory"),
        (["simulate", "--events", events, "--out", str(taken)], "cannot use"),
        (["publish", str(tmp_path / "nope.jsonl")], f"cannot use {tmp_path / 'nope.jsonl'}: No such file"),
        (["preview", "new-parent", "--employee", "E1001", "--html", str(plain / "x.html")], "cannot use"),
    ]
    for argv, says in cases:
        assert main(argv) == 1, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and says in err[0] and "Traceback" not in err[0], (argv, err)


@pytest.mark.parametrize("broker", ["garbage::", "kafka://127.0.0.1:abc", "kafka://127.0.0.1:0", ":9092"])
def test_a_broker_address_that_is_not_host_and_port_is_a_bad_setting(broker: str) -> None:
    with pytest.raises(SystemExit, match=r"^wayfinder: bad settings: WAYFINDER_BROKER \(--broker\): '.*' is not "
                                         r"host:port \(write kafka://host:port"):
        main(["publish", str(examples_dir() / "events.jsonl"), "--broker", broker])


def test_deliver_says_before_sending_that_its_metrics_file_cannot_be_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "messages.jsonl").write_text("", encoding="utf-8")
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    monkeypatch.setenv("WAYFINDER_SMTP_URL", "smtp://127.0.0.1:1")  # never reached: it stops before sending
    monkeypatch.setenv("WAYFINDER_SENDER", "People Team <people@example.com>")
    monkeypatch.setenv("WAYFINDER_LEDGER_PATH", str(tmp_path / "ledger.sqlite3"))
    code = main(["deliver", "--messages", str(tmp_path / "out"), "--metrics-file", str(tmp_path / "a-file" / "m.prom")])
    assert code == 2
    assert "cannot write --metrics-file" in capsys.readouterr().err
    assert not (tmp_path / "ledger.sqlite3").exists()  # nothing was begun


def test_a_profile_file_that_is_not_there_is_said_as_a_file(tmp_path: Path) -> None:
    """Found by an audit on 2026-12-04: it was said only as an id with no events."""
    missing = str(tmp_path / "nothere" / "prof.json")
    with pytest.raises(SystemExit, match=rf"no events for employee {missing} in the bundled example events \(give "
                                         r"your own with --events FILE\), and no file "):
        main(["preview", "new-parent", "--employee", missing])
    with pytest.raises(SystemExit, match=r"^no events for employee E99999 in the bundled example events \(give your "
                                         r"own with --events FILE\)$"):
        main(["preview", "new-parent", "--employee", "E99999"])


def test_an_id_no_one_has_says_which_events_were_read_and_the_id_as_written_there(tmp_path: Path) -> None:
    """Found by an HR operations pass on 2026-12-05: "no events for employee e1042 in the events file" said neither
    that the bundled example events were read (--events left out) nor that the id there is E1042."""
    with pytest.raises(SystemExit) as stopped:
        main(["preview", "new-parent", "--employee", "e1042"])
    assert stopped.value.code == ("no events for employee e1042 in the bundled example events (give your own with "
                                  "--events FILE); did you mean E1042? (ids are compared exactly)")
    events = tmp_path / "hr.jsonl"
    events.write_text((examples_dir() / "events.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(SystemExit) as stopped:
        main(["preview", "new-parent", "--employee", "E9043", "--events", str(events)])
    assert stopped.value.code == f"no events for employee E9043 in the events file {events}"  # E1043 is someone else


def test_an_unknown_journey_in_the_bundled_examples_says_how_to_preview_ones_own(
        capsys: pytest.CaptureFixture[str]) -> None:
    """A newcomer who copied the examples and wrote a journey ran ``preview my-journey`` in that folder and was told
    only that it is unknown, with the bundled journeys listed: preview reads the bundled examples unless told."""
    assert main(["preview", "sabbatical-return", "--employee", "E1001"]) == 1
    assert capsys.readouterr().err.endswith(
        "wellbeing-signal; these are the bundled examples: for your own, give --journeys DIR (and --catalog, "
        "--templates, --policy)\n")
    assert main(["preview", "nope", "--employee", "E1001", "--journeys", str(examples_dir() / "journeys")]) == 1
    assert capsys.readouterr().err.endswith("wellbeing-signal\n")  # given a folder: it is the one looked in


def test_a_mistyped_journey_id_gets_a_did_you_mean_only_when_it_is_close(capsys: pytest.CaptureFixture[str]) -> None:
    """An HR operations audit on 2026-12-05: ``preview new-parnt`` listed every journey but not the one meant. A
    loose match (``parent``) is not guessed at, and an employee id is never suggested (see the test above)."""
    assert main(["preview", "new-parnt", "--employee", "E1001"]) == 1
    assert capsys.readouterr().err.startswith(
        "unknown journey 'new-parnt' (did you mean 'new-parent'?); known: bereavement, ")
    assert main(["preview", "parent", "--employee", "E1001"]) == 1
    assert capsys.readouterr().err.startswith("unknown journey 'parent'; known: bereavement, ")
    # an audit on 2026-12-06: one typed with caps lock on got nothing (difflib compares the case too)
    assert main(["preview", "NEW-PARENT", "--employee", "E1001"]) == 1
    assert capsys.readouterr().err.startswith(
        "unknown journey 'NEW-PARENT' (did you mean 'new-parent'?); known: bereavement, ")


def test_a_journey_given_as_the_policy_is_said_to_be_no_policy(capsys: pytest.CaptureFixture[str]) -> None:
    """Found by an audit on 2026-12-04: it was read as a journey again, "defined twice" at its own place."""
    journey = examples_dir() / "journeys" / "new-parent.yaml"
    assert main(["validate", "--policy", str(journey)]) == 1
    said = capsys.readouterr()
    assert "given as the policy, but this is a kind: Journey document" in said.out + said.err
    assert "defined twice" not in said.out + said.err


def test_a_file_named_twice_is_read_once(write_files: WriteFiles, capsys: pytest.CaptureFixture[str]) -> None:
    """A validate audit on 2026-12-05: a folder and a file in it (a hook passing the changed files beside the
    folder), or a folder and a flag naming part of it (``validate defs --policy defs/policy.yaml``), read the
    file twice, so each of its ids was "defined twice" (at its own place) and validate exited 1 on good files."""
    root = write_files({"journeys/j.yaml": JOURNEY, "policy.yaml": "apiVersion: wayfinder/v1\nkind: Policy\n"})
    for shared in ("catalog", "templates"):
        (root / shared).symlink_to(WORLD / shared)
    for more in ([str(root / "journeys" / "j.yaml")], ["--policy", str(root / "policy.yaml")],
                 ["--templates", str(root / "templates")], ["--journeys", str(root / "journeys")]):
        assert main(["validate", str(root), *more]) == 0, more
        said = capsys.readouterr()
        assert "twice" not in said.out + said.err and "only one Policy" not in said.out + said.err
        assert said.out.startswith("ok: ") and " 1 journeys, " in said.out


def test_until_given_as_a_date_is_that_days_midnight_in_utc(write_files: WriteFiles,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """``--until 2026-03-10`` was refused ("has no offset"), and a run given a date did not run at all (2026-12-05):
    a date is a midnight (SPEC §4), in UTC on the command line. A time without an offset is still refused."""
    root = write_case(write_files)
    assert simulate(root, "--until", "2026-03-10") == 0
    by_date = (root / "out" / "messages.jsonl").read_text(encoding="utf-8")
    assert simulate(root, "--until", "2026-03-10T00:00:00Z") == 0
    assert (root / "out" / "messages.jsonl").read_text(encoding="utf-8") == by_date
    assert simulate(root, "--until", "2026-03-03") == 0  # the second message is due on the 4th: not yet
    assert [m["status"] for m in read_jsonl(root / "out" / "messages.jsonl")] == ["sent"]
    capsys.readouterr()
    with pytest.raises(SystemExit):
        simulate(root, "--until", "2026-03-10T00:00:00")
    assert "has no offset" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        simulate(root, "--until", "2026-02-30")  # the value named, as every other refusal of it is
    assert "'2026-02-30' is no day of the calendar (day is out of range for month)" in capsys.readouterr().err


def test_ctrl_c_in_a_run_ends_it_with_one_line_and_exit_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C in ``wayfinder demo`` (or simulate) while it runs: a line saying the output may be incomplete and the
    shell's code for an interrupted command, not a traceback from wherever the run happened to be."""
    import wayfinder.cli

    def interrupted(*args: object, **kwargs: object) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(wayfinder.cli, "_simulate", interrupted)
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 130
    err = capsys.readouterr().err
    assert err == "wayfinder demo: interrupted (Ctrl-C); what it was writing may be incomplete: run it again\n"


def test_a_broker_given_by_flag_that_does_not_answer_names_the_flag(monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """``wayfinder publish --broker kafka://host:9093 FILE`` with nothing there told the newcomer to check
    WAYFINDER_BROKER, a variable they never set: the address came from --broker."""
    from kafka.errors import KafkaTimeoutError

    import wayfinder.streams.cli

    def away(args: object) -> int:
        raise KafkaTimeoutError

    monkeypatch.delenv("WAYFINDER_BROKER", raising=False)
    monkeypatch.setattr(wayfinder.streams.cli, "cmd_publish", away)
    assert main(["publish", "--broker", "kafka://127.0.0.1:9", "events.jsonl"]) == 1
    assert capsys.readouterr().err == ("wayfinder publish: the Kafka broker at kafka://127.0.0.1:9 did not answer "
                                       "(KafkaTimeoutError); is --broker right and the broker up?\n")


def test_a_broker_that_refuses_a_request_is_not_said_to_be_away(monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A broker that answered with an error (here, not authorised to write the topic) was reported as one that
    "did not answer", sending the operator to check an address that was right."""
    from kafka.errors import TopicAuthorizationFailedError

    import wayfinder.streams.cli

    def refused(args: object) -> int:
        raise TopicAuthorizationFailedError

    monkeypatch.setenv("WAYFINDER_BROKER", "kafka://127.0.0.1:9")
    monkeypatch.setattr(wayfinder.streams.cli, "cmd_publish", refused)
    assert main(["publish", "events.jsonl"]) == 1
    assert capsys.readouterr().err == (
        "wayfinder publish: the Kafka broker at kafka://127.0.0.1:9 refused the request: "
        "TopicAuthorizationFailedError (Returned by the broker when the client is not authorized to access the "
        "requested topic.)\n")


def test_topics_create_with_more_replicas_than_brokers_says_so(monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """``wayfinder topics create --replication 3`` on the local single-node broker (issue 3: replication
    configurable) said the broker "did not answer"; it answered that the factor is more than it can hold."""
    from kafka.errors import InvalidReplicationFactorError

    import wayfinder.streams.partitions
    import wayfinder.streams.topics

    def refused(settings: object) -> tuple[list[str], list[str]]:
        raise InvalidReplicationFactorError

    monkeypatch.setattr(wayfinder.streams.partitions, "partition_counts", lambda settings: {})
    monkeypatch.setattr(wayfinder.streams.topics, "create_topics", refused)
    assert main(["topics", "create", "--broker", "kafka://127.0.0.1:9", "--replication", "3"]) == 1
    assert capsys.readouterr().err == (
        "wayfinder topics create: the broker refused replication 3 (WAYFINDER_REPLICATION, --replication): it "
        "cannot be more than the number of brokers in the cluster\n")


@pytest.mark.parametrize("command", [[], ["validate"], ["simulate"]])
def test_the_examples_in_the_help_run_as_written(command: list[str], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A newcomer reads ``wayfinder --help`` (then ``validate --help``, ``simulate --help``) and copies its example
    lines into a fresh folder, in order: each runs and exits 0. The helps had no example and did not say what the
    exit codes mean, which a script or a CI job needs."""
    import shlex

    with pytest.raises(SystemExit) as shown:
        main([*command, "--help"])
    assert shown.value.code == 0
    helped = capsys.readouterr().out
    assert "exit" in helped.split("options:")[-1]
    text = helped.split("\nexamples:\n" if command else "\nstart here:\n", 1)[1].replace("\\\n", " ")
    lines = [line.split("#")[0].strip() for line in text.splitlines() if line.startswith("  wayfinder ")]
    assert len(lines) >= 3
    monkeypatch.chdir(tmp_path)
    for line in lines:
        words = shlex.split(line)[1:]
        if words[-1] == "--help":
            continue
        assert main(words) == 0, line


def test_the_demo_ends_with_what_to_do_next_as_commands_that_parse(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """The demo said where its files were but not what to do with them: the review of its waiting messages was only
    in the README. Its last lines are now the next commands, for the folder it wrote."""
    import shlex

    from wayfinder.cli import build_parser

    out = tmp_path / "my demo"
    assert main(["demo", "--out", str(out)]) == 0
    shown = capsys.readouterr().out
    nexts = shown.split("\n  next:\n", 1)[1].splitlines()
    commands = [shlex.split(line.split("#")[0]) for line in nexts]
    assert commands[0] == ["wayfinder", "serve", "--out", str(out), "--dev-login"]
    assert "review the 9 waiting message(s) at http://127.0.0.1:8080/" in nexts[0]
    for words in commands:
        if "--help" not in words:
            build_parser().parse_args(words[1:])


def test_the_test_script_answers_help_at_once_without_running_anything() -> None:
    """``./scripts/test --help``, a newcomer's first try of the README's second command, ran ruff and mypy (and
    would install chromium as root) before pytest printed pytest's own help."""
    import subprocess

    script = Path(__file__).parents[2] / "scripts" / "test"
    shown = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=10, check=False)
    assert shown.returncode == 0
    assert shown.stdout.startswith("usage: ./scripts/test [PYTEST ARGUMENTS ...]")
    assert "./scripts/test -m unit" in shown.stdout and "== ruff" not in shown.stdout


def test_schema_out_on_a_file_says_to_give_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``wayfinder schema --out notes.txt`` said "cannot use notes.txt: File exists", which reads as if the file
    were in the way of something; demo and simulate say what is wrong with --out, and now schema does too."""
    (tmp_path / "notes.txt").write_text("mine\n", encoding="utf-8")
    assert main(["schema", "--out", str(tmp_path / "notes.txt")]) == 2
    assert capsys.readouterr().err == (f"wayfinder schema: --out {tmp_path / 'notes.txt'} is a file; give a folder "
                                       "(it is made if missing, and files in it are replaced)\n")
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine\n"


def test_a_folder_without_tests_says_where_journey_tests_go(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``wayfinder test mine`` on a folder with journeys but no tests/ said "mine/tests:1:1: no such file or folder
    / 1 error(s)", as if a document had an error at line 1."""
    import shutil

    shutil.copytree(examples_dir() / "journeys", tmp_path / "journeys")
    assert main(["test", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        f"{tmp_path / 'tests'}: no such folder; `wayfinder test FOLDER` reads the journey tests (kind: JourneyTest) "
        "in FOLDER/tests (`wayfinder examples --copy DIR` makes one with examples)\n")


def test_wayfinder_alone_shows_the_help_and_a_mistyped_command_is_told_the_nearest(
        capsys: pytest.CaptureFixture[str]) -> None:
    """A newcomer types ``wayfinder`` (or ``wayfinder help``) first, then mistypes a command: it said only "the
    following arguments are required: COMMAND", and "invalid choice: 'simulat' (choose from ...20 names)"."""
    assert main([]) == 2
    assert "start here:\n  wayfinder demo" in capsys.readouterr().err
    assert main(["help"]) == 0
    assert "start here:\n  wayfinder demo" in capsys.readouterr().out
    assert main(["simulat", "--events", "x.jsonl"]) == 2
    assert capsys.readouterr().err == ("wayfinder: no command 'simulat'; did you mean 'simulate'? `wayfinder --help` "
                                       "lists them\n")
