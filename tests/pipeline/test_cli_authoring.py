"""The smaller things a new author met on the command line (issue 9, item 8)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from tests.pipeline.test_runner_rules import ev, person
from tests.support import WORLD, WriteFiles
from wayfinder import __version__, examples_dir
from wayfinder.cli import build_parser, main


def test_validate_a_folder_of_journeys_uses_the_bundled_catalog_and_templates(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(examples_dir() / "journeys", tmp_path / "journeys")
    assert main(["validate", str(tmp_path / "journeys")]) == 0
    captured = capsys.readouterr()
    assert "unknown" not in captured.err
    assert "no templates or catalog among the paths: using the bundled ones in" in captured.err
    assert "10 journeys, 24 templates" in captured.out


def test_a_journey_of_a_copy_checked_alone_uses_the_copys_catalog_and_templates(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """``validate journeys/x.yaml`` in a copy (a pre-commit hook passes the changed files) read the bundled catalog,
    so a topic the copy added was a false ``unknown topic``; the copy's own catalog and templates come first."""
    assert main(["examples", "--copy", str(tmp_path / "mine")]) == 0
    mine = tmp_path / "mine"
    topics = mine / "catalog" / "topics.yaml"
    topics.write_text(topics.read_text(encoding="utf-8").replace("topics:\n", "topics:\n  - {id: pets}\n", 1),
                      encoding="utf-8")
    journey = mine / "journeys" / "relocation.yaml"
    journey.write_text(journey.read_text(encoding="utf-8").replace("[relocation, workplace]",
                                                                   "[relocation, workplace, pets]"), encoding="utf-8")
    capsys.readouterr()
    monkeypatch.chdir(mine)
    assert main(["validate", "journeys/relocation.yaml"]) == 0
    said = capsys.readouterr()
    assert said.err == f"no templates or catalog among the paths: using the ones beside the journeys, in {mine}\n"
    assert said.out.startswith("ok: ") and "31 topics" in said.out
    assert main(["validate", "journeys"]) == 0  # the folder alone, too
    capsys.readouterr()
    assert main(["validate", "journeys/relocation.yaml", str(examples_dir() / "journeys" / "new-parent.yaml")]) == 1
    assert "unknown topic 'pets'" in capsys.readouterr().err  # journeys of two places: the bundled ones, as before


def test_a_journey_of_a_copy_checked_with_its_template_or_catalog_uses_the_copys_other_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A hook passes the changed files: a journey and its template (or the catalog folder) read the bundled catalog
    (or templates) beside them, so a topic the copy added was a false ``unknown topic``."""
    assert main(["examples", "--copy", str(tmp_path / "mine")]) == 0
    mine = tmp_path / "mine"
    topics = mine / "catalog" / "topics.yaml"
    topics.write_text(topics.read_text(encoding="utf-8").replace("topics:\n", "topics:\n  - {id: pets}\n", 1),
                      encoding="utf-8")
    journey = mine / "journeys" / "relocation.yaml"
    journey.write_text(journey.read_text(encoding="utf-8").replace("[relocation, workplace]",
                                                                   "[relocation, workplace, pets]"), encoding="utf-8")
    (mine / "templates" / "pets.yaml").write_text(  # a template of the copy's own (its id: the path)
        (mine / "templates" / "relocation" / "welcome.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    journey.write_text(journey.read_text(encoding="utf-8").replace("template: relocation/welcome", "template: pets"),
                       encoding="utf-8")
    capsys.readouterr()
    monkeypatch.chdir(mine)
    assert main(["validate", "journeys/relocation.yaml", "templates/pets.yaml",
                 "templates/relocation/settling-in.yaml"]) == 0
    said = capsys.readouterr()
    assert said.err == f"no catalog among the paths: using the ones beside the journeys, in {mine}\n"
    assert "31 topics" in said.out
    assert main(["validate", "journeys/relocation.yaml", "catalog"]) == 0  # the copy's own template 'pets'
    assert capsys.readouterr().err == f"no templates among the paths: using the ones beside the journeys, in {mine}\n"


def test_verbose_goes_before_or_after_the_command() -> None:
    parser = build_parser()
    assert parser.parse_args(["validate", "-v"]).verbose is True
    assert parser.parse_args(["-v", "validate"]).verbose is True
    assert parser.parse_args(["validate"]).verbose is False


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"wayfinder {__version__}\n"


def test_python_dash_m_wayfinder_is_the_same_command_line() -> None:
    """``python -m wayfinder`` for a machine where the script's folder is not on ``PATH``."""
    done = subprocess.run([sys.executable, "-m", "wayfinder", "--version"], capture_output=True, text=True,
                          check=False, cwd=Path(__file__).resolve().parents[2])
    assert (done.returncode, done.stdout) == (0, f"wayfinder {__version__}\n")


def test_examples_copy_into_an_existing_folder_is_refused(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["examples", "--copy", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (f"wayfinder examples: {tmp_path} already exists; give a new folder name "
                                       "(nothing was copied)\n")


def test_simulate_out_onto_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.txt"
    out.write_text("keep me", encoding="utf-8")
    assert main(["simulate", "--events", str(examples_dir() / "events.jsonl"), "--out", str(out)]) == 2
    assert capsys.readouterr().err == (f"wayfinder simulate: --out {out} is a file; give a folder (it is made if "
                                       "missing, and files in it are replaced)\n")
    assert out.read_text(encoding="utf-8") == "keep me"


def test_preview_html_onto_a_file_is_refused_before_anything_is_printed(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "page.html"  # it ended in a FileExistsError traceback after part of the preview
    out.write_text("keep me", encoding="utf-8")
    assert main(["preview", "new-parent", "--employee", "E1001", "--html", str(out)]) == 2
    said = capsys.readouterr()
    assert said.out == ""
    assert said.err == (f"wayfinder preview: --html {out} is a file; give a folder (it is made if missing, and "
                        "files in it are replaced)\n")
    assert out.read_text(encoding="utf-8") == "keep me"


@pytest.mark.parametrize("terminal", [False, True])
def test_preview_html_alone_writes_the_pages_and_opens_them_on_a_terminal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], terminal: bool) -> None:
    """Issue 9 writes the flag alone, "a `preview --html` that opens the rendered email in the browser": it took a
    folder only (exit 2 without one) and opened nothing. Alone it writes to ./wayfinder-preview; on a terminal the
    pages open in the browser, never in a script (a text browser would take over its terminal)."""
    import webbrowser

    opened: list[str] = []

    def open_(url: str, *_: object, **__: object) -> bool:
        opened.append(url)
        return True

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(webbrowser, "open", open_)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: terminal)
    assert main(["preview", "new-parent", "--employee", "E1001", "--html"]) == 0
    pages = sorted((tmp_path / "wayfinder-preview").glob("*.html"))
    assert pages and all(p.read_text(encoding="utf-8").startswith("<!DOCTYPE html>") for p in pages)
    out = capsys.readouterr().out
    assert all(f"HTML: {p.as_uri()}" in out for p in pages)
    assert sorted(opened) == (sorted(p.as_uri() for p in pages) if terminal else [])


def test_preview_shows_what_simulate_sends_with_the_other_journeys_running(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    # Preview ran the journey alone: E1030's promotion first-month message offered coaching-for-managers, which the
    # learning path had already sent in simulate (SPEC §5: not already delivered), where it offered feedback-guide.
    assert main(["simulate", "--events", str(examples_dir() / "events.jsonl"), "--out", str(tmp_path / "sim")]) == 0
    sent = [json.loads(line) for line in (tmp_path / "sim" / "messages.jsonl").read_text("utf-8").splitlines()]
    capsys.readouterr()
    assert main(["preview", "promotion", "--employee", "E1030"]) == 0
    shown: dict[str, list[str]] = {}
    step = ""
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("== "):
            step = line[3:].split(":")[0]
            shown[step] = []
        elif line.startswith("  - ") and step:
            shown[step].append(line[4:].split(":")[0])
    expected = {m["step_id"]: m["resources"] for m in sent
                if (m["employee_id"], m["journey_id"], m["recipient_role"]) == ("E1030", "promotion", "employee")}
    assert expected and {k: shown.get(k) for k in expected} == expected


_HEADS_UP = """
    apiVersion: wayfinder/v1
    kind: Journey
    id: heads-up
    name: Manager heads-up
    owner: hr@example.com
    version: 1
    status: active
    trigger: {event: hris.employee.hired}
    steps:
      - id: tell-manager
        send:
          channel: email
          to: manager
          subject: "New starter"
          body: "Someone joins on {{ trigger.data.start_date }}."
"""


def _people_events(*extra: dict[str, object]) -> str:
    def event(n: int, kind: str, time: str, subject: str, data: dict[str, object]) -> dict[str, object]:
        return {"specversion": "1.0", "id": f"e{n}", "source": "t", "type": kind, "time": time, "subject": subject,
                "data": data}
    base = [event(1, "hris.employee.upserted", "2026-03-01T00:00:00Z", "M1",
                  {"given_name": "Mia", "email": "mia@example.com", "timezone": "Europe/Berlin", "country": "DE"}),
            *(event(n, "hris.employee.upserted", "2026-03-01T00:00:00Z", who,
                    {"given_name": who, "email": f"{who}@example.com", "timezone": "Europe/Berlin", "country": "DE",
                     "manager_id": "M1"}) for n, who in ((2, "A1"), (3, "B1"))),
            *(event(4 + n, "hris.employee.hired", time, who, {"start_date": "2026-03-16", "role": "Dev",
                    "department": "Eng", "location": "Berlin", "manager_id": "M1"})
              for n, (who, time) in enumerate((("A1", "2026-03-02T10:00:00Z"), ("B1", "2026-03-02T11:00:00Z"))))]
    return "\n".join(json.dumps(e) for e in sorted([*base, *extra], key=lambda e: str(e["time"]))) + "\n"


@pytest.mark.parametrize(("policy", "extra", "simulated", "shown"), [
    # another employee's journey wrote to the same manager first: the cap defers B1's heads-up by a week
    ("frequency_cap: {max: 1, per: 7d}", [], ("sent", "2026-03-09T10:00:00Z"),
     "== tell-manager: email to manager M1, sent, 2026-03-09 11:00 Europe/Berlin (2026-03-09T10:00:00Z)"),
    # the manager opted out of email in an event of their own (not an upsert)
    ("", [{"specversion": "1.0", "id": "p1", "source": "t", "type": "wayfinder.preferences.changed",
             "time": "2026-03-02T09:00:00Z", "subject": "M1", "data": {"opt_out_channels": ["email"]}}],
     ("suppressed", "2026-03-02T11:00:00Z"),
     "== tell-manager: email to manager M1, suppressed (opted_out_channel)"),
])
def test_preview_of_an_id_reads_everyones_events_as_simulate_does(
        write_files: WriteFiles, capsys: pytest.CaptureFixture[str], policy: str, extra: list[dict[str, object]],
        simulated: tuple[str, str], shown: str) -> None:
    """An audit on 2026-12-06: preview of an id read that person's events and everyone's upserts only, so what other
    people's journeys sent the same manager (the cap) and a manager's own opt-out were not seen: preview said
    ``sent`` at once where simulate deferred or suppressed the message."""
    root = write_files({"journeys/heads-up.yaml": _HEADS_UP,
                        "policy.yaml": f"apiVersion: wayfinder/v1\nkind: Policy\n{policy}\n"})
    (root / "events.jsonl").write_text(_people_events(*extra), encoding="utf-8")
    definitions = ["--journeys", str(root / "journeys"), "--catalog", str(WORLD / "catalog"),
                   "--templates", str(WORLD / "templates"), "--policy", str(root / "policy.yaml")]
    assert main(["simulate", "--events", str(root / "events.jsonl"), "--out", str(root / "out"),
                 "--until", "2026-04-01T00:00:00Z", *definitions]) == 0
    records = [json.loads(line) for line in (root / "out" / "messages.jsonl").read_text("utf-8").splitlines()]
    assert [(m["status"], m["scheduled_for"]) for m in records if m["employee_id"] == "B1"] == [simulated]
    capsys.readouterr()
    assert main(["preview", "heads-up", "--employee", "B1", "--events", str(root / "events.jsonl"),
                 *definitions]) == 0
    assert shown in capsys.readouterr().out


@pytest.mark.parametrize(("args", "said"), [
    (["plan", "{tmp}/nowhere"], "{tmp}/nowhere: no such folder"),
    (["plan", "{examples}", "--current", "{tmp}/nowhere"], "{tmp}/nowhere: no such folder"),
    (["plan", "{examples}", "--events", "{tmp}/none.jsonl"], "{tmp}/none.jsonl: no such events file"),
    (["preview", "new-parent", "--employee", "E1042", "--events", "{tmp}/none.jsonl"],
     "{tmp}/none.jsonl: no such events file"),
    (["simulate", "--events", "{tmp}/none.jsonl", "--out", "{tmp}/out"], "{tmp}/none.jsonl: no such events file"),
    # there, and of the other kind (an audit on 2026-12-04: "no such" for a path that was there)
    (["simulate", "--events", "{tmp}", "--out", "{tmp}/out"], "{tmp}: a folder; give the events file in it"),
    (["plan", "{tmp}/file.json"], "{tmp}/file.json: a file; give the folder it is in"),
    (["simulate", "--events", "/dev/null", "--out", "{tmp}/out"],
     "/dev/null: not a regular file (a device, pipe or socket); give a file of events"),
])
def test_a_folder_or_events_file_that_is_not_there_is_one_line(tmp_path: Path, args: list[str], said: str) -> None:
    """Not a traceback (plan and preview), and not a plan against nothing (``plan`` of a folder that is not there
    compared every journey as removed, and exited 0)."""
    (tmp_path / "file.json").write_text("{}", encoding="utf-8")
    values = {"tmp": str(tmp_path), "examples": str(examples_dir())}
    with pytest.raises(SystemExit) as stopped:
        main([a.format(**values) for a in args])
    assert stopped.value.code == said.format(**values)


@pytest.mark.parametrize("args", [
    ["simulate", "--events", "{examples}/events.jsonl", "--out", "{tmp}/out", "--catalog", "{tmp}/catalgo"],
    ["simulate", "--events", "{examples}/events.jsonl", "--out", "{tmp}/out", "--templates", "{tmp}/catalgo"],
    ["resources", "--employee", "E1029", "--catalog", "{tmp}/catalgo"],
    ["preview", "new-parent", "--employee", "E1042", "--journeys", "{tmp}/catalgo"],
])
def test_a_definitions_folder_that_is_not_there_is_one_line(tmp_path: Path, args: list[str],
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """A mistyped --catalog buried its one line under 40 "unknown topic" errors of the journeys."""
    values = {"tmp": str(tmp_path), "examples": str(examples_dir())}
    assert main([a.format(**values) for a in args]) == 1
    assert capsys.readouterr().err == f"{tmp_path}/catalgo: no such file or folder\n"


def test_a_folder_given_as_the_policy_is_an_error_and_a_path_with_no_documents_a_warning(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An audit on 2026-12-04: ``--policy`` naming a folder ran with no policy at all (no cap, no quiet hours) and
    said nothing; ``validate`` of an empty folder or file said "ok", so a check pointed at the wrong folder passed."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty.yaml").write_text("# nothing yet\n", encoding="utf-8")
    events = str(examples_dir() / "events.jsonl")
    assert main(["simulate", "--events", events, "--out", str(tmp_path / "out"), "--policy",
                 str(tmp_path / "empty")]) == 1
    assert f"{tmp_path}/empty:1:1: a folder: the policy is one file" in capsys.readouterr().err
    assert main(["validate", "--policy", str(tmp_path / "empty")]) == 1
    capsys.readouterr()
    for path in ("empty", "empty.yaml"):
        assert main(["validate", str(tmp_path / path)]) == 0  # a warning: nothing wrong was found in it
        assert f"{tmp_path}/{path}:1:1: warning: no Wayfinder documents here" in capsys.readouterr().err
    assert main(["validate", str(examples_dir() / "journeys")]) == 0
    assert "no Wayfinder documents" not in capsys.readouterr().err


def test_a_run_in_a_folder_of_an_earlier_one_leaves_only_its_own_outbox(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """The outbox of an earlier run stayed beside a new messages.jsonl (an audit on 2026-12-04: 163 old emails
    after a run of an empty events file)."""
    out, empty = tmp_path / "out", tmp_path / "none.jsonl"
    empty.write_text("", encoding="utf-8")
    assert main(["demo", "--out", str(out)]) == 0
    assert list((out / "outbox" / "email").glob("*.eml"))
    assert main(["simulate", "--events", str(empty), "--out", str(out), "--outbox"]) == 0
    assert not list((out / "outbox").rglob("*.*"))
    assert main(["demo", "--out", str(out)]) == 0
    assert main(["simulate", "--events", str(empty), "--out", str(out)]) == 0
    assert not list((out / "outbox").rglob("*.*"))
    said = capsys.readouterr().out
    assert "took out the outbox an earlier run wrote" in said
    # and an empty file is said to be one, not ten journeys to check (their trigger, when and audience)
    assert "warning: no event was read: no journey had anything to enroll on" in said
    assert "enrolled nobody" not in said


def test_a_message_that_fails_to_render_says_where_in_preview_and_in_the_summary(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The template, its part and line, and the kind of error (never a value): an author can find it."""
    copy = tmp_path / "mine"
    assert main(["examples", "--copy", str(copy)]) == 0
    welcome = copy / "templates" / "new-parent" / "welcome.yaml"
    text = welcome.read_text(encoding="utf-8")
    welcome.write_text(text.replace("  {% for r in resources %}", "  {{ (resources | length) / 0 }}"
                                    "\n  {% for r in resources %}", 1), encoding="utf-8")
    capsys.readouterr()
    sources = ["--journeys", str(copy / "journeys"), "--templates", str(copy / "templates"),
               "--catalog", str(copy / "catalog"), "--policy", str(copy / "policy.yaml")]
    assert main(["preview", "new-parent", "--employee", "E1042", *sources]) == 0
    out = capsys.readouterr().out
    assert "why: template new-parent/welcome: text line 6: ZeroDivisionError while rendering\n" in out
    assert main(["simulate", "--events", str(copy / "events.jsonl"), "--out", str(tmp_path / "out"), *sources]) == 0
    out = capsys.readouterr().out
    assert ("journey new-parent step welcome: render_failed 4 (template new-parent/welcome: text line 6: "
            "ZeroDivisionError while rendering)") in out


def test_publish_help_lists_only_its_own_settings(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["publish", "--help"])
    out = capsys.readouterr().out
    assert "WAYFINDER_BROKER" in out and "WAYFINDER_TOPIC_PREFIX" in out and "WAYFINDER_APP_ID" in out
    assert "WAYFINDER_PARTITIONS" not in out and "WAYFINDER_STORE" not in out and "WAYFINDER_METRICS_PORT" not in out


def test_schemas_have_patterns_for_durations_and_times(tmp_path: Path) -> None:
    assert main(["schema", "--out", str(tmp_path)]) == 0
    policy = json.loads((tmp_path / "policy.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate({"max_event_age": "7d", "quiet_hours": {"start": "20:00", "end": "08:00"}}, policy)
    with pytest.raises(jsonschema.ValidationError, match="does not match"):
        jsonschema.validate({"max_event_age": "7 days"}, policy)
    with pytest.raises(jsonschema.ValidationError, match="does not match"):
        jsonschema.validate({"quiet_hours": {"start": "8pm", "end": "08:00"}}, policy)


AUDIENCE = """apiVersion: wayfinder/v1
kind: Journey
id: interns-only
name: Interns
owner: hr@example.com
trigger: {event: hris.leave.ended, when: 'event.data.leave_type == "parental"'}
audience: employee.employment_type == "intern"
steps:
  - id: hello
    send: {channel: email, template: new-parent/return, resources: {topics: [return-to-work]}}
"""


def preview(root: Path, data: str) -> int:
    profile = root / "p.json"
    profile.write_text(json.dumps({"id": "P1", "given_name": "Anna", "employment_type": "employee"}),
                       encoding="utf-8")
    return main(["preview", "interns-only", "--employee", str(profile), "--at", "2026-05-04T08:00:00Z",
                 "--data", data, "--journeys", str(root / "journeys"), "--catalog", str(WORLD / "catalog"),
                 "--templates", str(WORLD / "templates"), "--policy", str(WORLD.parent / "empty-policy.yaml")])


def test_preview_says_the_audience_did_not_match(write_files: WriteFiles,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    root = write_files({"journeys/j.yaml": AUDIENCE})
    assert preview(root, '{"leave_type": "parental", "return_date": "2026-05-04"}') == 0
    assert capsys.readouterr().out.endswith(
        "nothing, because:\n  - hris.leave.ended at 2026-05-04T08:00:00Z: the audience is false for this employee\n")


def test_preview_says_the_trigger_did_not_match(write_files: WriteFiles,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    root = write_files({"journeys/j.yaml": AUDIENCE})
    assert preview(root, '{"leave_type": "medical", "return_date": "2026-05-04"}') == 0
    assert capsys.readouterr().out.endswith(
        "nothing, because:\n  - hris.leave.ended at 2026-05-04T08:00:00Z: the trigger condition (trigger.when) is "
        "false for this employee\n")


def test_preview_says_every_step_was_skipped(write_files: WriteFiles, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_files({"journeys/j.yaml": AUDIENCE.replace('employee.employment_type == "intern"', "'true'").replace(
        "send: {", "send: {when: 'false', ")})
    assert preview(root, '{"leave_type": "parental", "return_date": "2026-05-04"}') == 0
    assert capsys.readouterr().out.endswith(
        "nothing, because:\n  - the trigger and audience matched, but every step was skipped (a send or task "
        "`when`) or ended first\n")


def test_simulate_outbox_writes_emails_a_mail_team_would_accept(write_files: WriteFiles) -> None:
    from email import message_from_bytes
    from email.policy import default

    root = write_files({"journeys/j.yaml": AUDIENCE.replace('employee.employment_type == "intern"', "'true'")})
    events = [
        {"specversion": "1.0", "id": "1", "source": "t", "type": "hris.employee.upserted",
         "time": "2026-01-01T00:00:00Z", "subject": "E1", "data": {"given_name": "Zoë", "email": "zoe@example.com",
                                                                    "timezone": "Europe/Paris", "locale": "fr-FR"}},
        {"specversion": "1.0", "id": "2", "source": "t", "type": "hris.leave.ended", "time": "2026-03-02T10:00:00Z",
         "subject": "E1", "data": {"leave_type": "parental", "return_date": "2026-03-02"}},
    ]
    (root / "events.jsonl").write_text("\n".join(json.dumps(e) for e in events) + "\n", encoding="utf-8")
    assert main(["simulate", "--events", str(root / "events.jsonl"), "--journeys", str(root / "journeys"),
                 "--catalog", str(WORLD / "catalog"), "--templates", str(WORLD / "templates"), "--policy",
                 str(WORLD.parent / "empty-policy.yaml"), "--out", str(root / "out"), "--outbox"]) == 0
    [eml] = sorted((root / "out" / "outbox" / "email").glob("*.eml"))
    email = message_from_bytes(eml.read_bytes(), policy=default)
    assert email.get_content_type() == "multipart/alternative"
    text = email.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = email.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert html.startswith("<!DOCTYPE html>") and '<html lang="en">' in html
    assert '<li style="margin:0 0 8px 0"><a href="https://intranet.example.com/return" ' in html
    assert ("A few things that help when coming back:\n\n- Coming back from leave: "
            "https://intranet.example.com/return\n\n-- \n") in text


def test_preview_shows_local_times_and_writes_html(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "sub").mkdir()
    assert main(["preview", "onboarding", "--employee", "E1083", "--html", str(tmp_path / "sub" / "..")]) == 0
    out = capsys.readouterr().out
    assert "== welcome: email to employee E1083, sent, 2026-01-12 08:00 Europe/Paris (2026-01-12T07:00:00Z)" in out
    pages = sorted(tmp_path.glob("welcome-*.html"))
    assert len(pages) == 1 and pages[0].read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert f"HTML: {pages[0].resolve().as_uri()}" in out and "/../" not in out  # a link a browser opens as given


def test_a_journey_that_enrolled_nobody_is_listed_with_a_warning(
        write_files: WriteFiles, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_files({"journeys/j.yaml": AUDIENCE})
    (root / "events.jsonl").write_text(json.dumps(
        {"specversion": "1.0", "id": "1", "source": "t", "type": "hris.leave.ended", "time": "2026-03-02T10:00:00Z",
         "subject": "E1", "data": {"leave_type": "parental", "return_date": "2026-03-02"}}) + "\n", encoding="utf-8")
    assert main(["simulate", "--events", str(root / "events.jsonl"), "--journeys", str(root / "journeys"),
                 "--catalog", str(WORLD / "catalog"), "--templates", str(WORLD / "templates"), "--policy",
                 str(WORLD.parent / "empty-policy.yaml"), "--out", str(root / "out")]) == 0
    out = capsys.readouterr().out
    assert "  interns-only         0     0" in out
    assert (f"  warning: journey interns-only enrolled nobody ({root / 'journeys' / 'j.yaml'}:3:5): check its "
            "trigger event type, trigger.when and audience against the events\n") in out


def test_a_paused_or_draft_journey_says_why_it_enrolled_nobody(
        write_files: WriteFiles, capsys: pytest.CaptureFixture[str]) -> None:
    """SPEC §4: only active journeys enroll. A simulate of a paused journey, or of a draft without
    --include-drafts, printed an empty table and nothing else; it now says which status held each back."""
    paused = AUDIENCE.replace("id: interns-only", "id: on-hold\nstatus: paused").replace("audience:", "# ")
    draft = AUDIENCE.replace("id: interns-only", "id: not-yet\nstatus: draft").replace("audience:", "# ")
    root = write_files({"journeys/p.yaml": paused, "journeys/d.yaml": draft})
    (root / "events.jsonl").write_text(json.dumps(
        {"specversion": "1.0", "id": "1", "source": "t", "type": "hris.leave.ended", "time": "2026-03-02T10:00:00Z",
         "subject": "E1", "data": {"leave_type": "parental", "return_date": "2026-03-02"}}) + "\n", encoding="utf-8")
    args = ["simulate", "--events", str(root / "events.jsonl"), "--journeys", str(root / "journeys"),
            "--catalog", str(WORLD / "catalog"), "--templates", str(WORLD / "templates"), "--policy",
            str(WORLD.parent / "empty-policy.yaml"), "--out", str(root / "out")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert ("  note: journey not-yet (version 1) is a draft (--include-drafts lets it enroll): it enrolled nobody\n"
            in out)
    assert "  note: journey on-hold (version 1) is paused: it enrolled nobody\n" in out
    assert main([*args, "--include-drafts"]) == 0
    out = capsys.readouterr().out
    assert "not-yet (version 1)" not in out and "on-hold (version 1) is paused" in out


def test_counted_problems_point_at_the_journey_file(write_files: WriteFiles) -> None:
    import io
    from collections import Counter

    from wayfinder.cli.report import print_summary
    from wayfinder.journeys.loader import Sources, load
    from wayfinder.streams.embedded import EmbeddedRunner

    root = write_files({"journeys/j.yaml": AUDIENCE})
    defs, _ = load(Sources(paths=[root / "journeys", WORLD / "catalog"], templates=[WORLD / "templates"]))
    runner = EmbeddedRunner(defs)
    runner.stats.diagnostics["expression_failed"] = 3
    runner.stats.diagnostic_sites = Counter({("expression_failed", "interns-only", "hello"): 3})
    stream = io.StringIO()
    print_summary(runner, stream, title="t", defs=defs)
    assert f"  {root / 'journeys' / 'j.yaml'}:9:9: journey interns-only step hello: expression_failed 3\n" in (
        stream.getvalue())


def test_preview_of_a_bundled_employee_without_the_trigger_makes_one_up_and_says_so(
        capsys: pytest.CaptureFixture[str]) -> None:
    """SPEC §7 ``preview JOURNEY --employee ID``, as the README shows it: the employee of the bundled events has no
    ``hris.dependent.added`` event, so preview makes up one its trigger condition accepts (not an error about a
    ``--data`` never given)."""
    assert main(["preview", "new-parent", "--employee", "E1042"]) == 0
    out = capsys.readouterr().out
    assert "note: E1042 has no hris.dependent.added event, so preview made one up at " in out
    assert '"relationship": "child", "reason": "birth"' in out
    assert "== welcome: email to employee E1042, sent" in out
    assert "You received this because a new child was added to your family record" in out


@pytest.mark.parametrize(("journey", "shown"), [
    ("new-parent", "== welcome: email to employee P9, sent"),
    ("parental-return", "== welcome-back: email to employee P9, sent"),  # leave_type parental: the second candidate
    ("medical-return", "== task "),
    ("relocation", ": email to employee P9, sent"),
    ("new-manager", "== for-employee: intranet to employee P9, sent"),
])
def test_preview_for_a_profile_file_alone_shows_what_each_journey_sends(
        journey: str, shown: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A profile file and nothing else (no ``--data``, no email): the made-up trigger is one the journey's condition
    accepts, and the email is shown to a stand-in address, with notes saying both."""
    profile = tmp_path / "p9.json"
    profile.write_text(json.dumps({"id": "P9", "given_name": "Mia", "country": "DE", "locale": "de-DE",
                                   "timezone": "Europe/Berlin", "employment_type": "employee",
                                   "location": "Berlin", "manager_id": "M7"}), encoding="utf-8")
    assert main(["preview", journey, "--employee", str(profile), "--at", "2026-05-04T08:00:00Z"]) == 0
    out = capsys.readouterr().out
    assert "note: p9.json has no email; emails are shown as if it were preview@example.invalid" in out
    assert "so preview made one up at 2026-05-04T08:00:00Z" in out
    assert shown in out


def test_preview_says_what_a_custom_trigger_needs_without_blaming_data(write_files: WriteFiles,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    root = write_files({"journeys/j.yaml": """apiVersion: wayfinder/v1
kind: Journey
id: course
name: Course done
owner: hr@example.com
trigger: {event: lms.course.completed}
steps:
  - id: hi
    send: {channel: intranet, subject: "Well done", body: "Course {{ trigger.data.course_id }}"}
""", "journeys/lms.yaml": """apiVersion: wayfinder/v1
kind: EventType
id: lms.course.completed
data:
  course_id: {}
"""})
    profile = root / "p.json"
    profile.write_text(json.dumps({"id": "P1"}), encoding="utf-8")
    args = ["preview", "course", "--employee", str(profile), "--at", "2026-05-04T08:00:00Z", "--journeys",
            str(root / "journeys"), "--catalog", str(WORLD / "catalog"), "--templates", str(WORLD / "templates"),
            "--policy", str(WORLD.parent / "empty-policy.yaml")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "made one up at 2026-05-04T08:00:00Z with data {}" in out
    assert "note: preview made the trigger event up with no data" in out  # the render failed for want of it
    assert main([*args, "--data", '{"course_id": "c-7"}']) == 0
    assert "Course c-7" in capsys.readouterr().out


def test_preview_without_at_makes_the_trigger_up_now_in_whole_seconds(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    import re

    profile = tmp_path / "p.json"
    profile.write_text(json.dumps({"id": "P1", "given_name": "Anna", "email": "anna@example.com",
                                   "employment_type": "employee"}), encoding="utf-8")
    assert main(["preview", "new-parent", "--employee", str(profile)]) == 0
    assert re.search(r"so preview made one up at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ with data", capsys.readouterr().out)


def test_a_run_warns_of_what_validate_refuses_but_spec_gives_a_meaning(write_files: WriteFiles,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """An undeclared trigger type (SPEC §2: journeys may trigger on any type) and an unguarded attribute (SPEC §4:
    counts as false where absent) fail ``validate`` and run in ``simulate``; an unknown field stops both."""
    journey = """apiVersion: wayfinder/v1
kind: Journey
id: union
name: Union welcome
owner: hr@example.com
trigger: {event: test.union.joined}
audience: employee.attributes.union_member == true
steps:
  - id: hi
    send: {channel: intranet, subject: "Welcome", body: "Hello {{ employee.given_name }}"}
"""
    root = write_files({"journeys/j.yaml": journey})
    events = root / "events.jsonl"
    upsert = {"specversion": "1.0", "source": "hr", "type": "hris.employee.upserted", "time": "2026-03-01T10:00:00Z"}
    joined = {"specversion": "1.0", "source": "hr", "type": "test.union.joined", "time": "2026-03-02T10:00:00Z",
              "data": {}}
    lines = [{**upsert, "id": "u1", "subject": "E1", "data": {"id": "E1", "given_name": "Ann", "union_member": True}},
             {**upsert, "id": "u2", "subject": "E2", "data": {"id": "E2", "given_name": "Bo"}},
             {**joined, "id": "j1", "subject": "E1"}, {**joined, "id": "j2", "subject": "E2"}]
    events.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    world = ["--catalog", str(WORLD / "catalog"), "--templates", str(WORLD / "templates")]

    assert main(["validate", str(root / "journeys"), *world]) == 1
    err = capsys.readouterr().err
    assert "j.yaml:6:18: journey union: trigger.event: unknown event type 'test.union.joined'" in err
    assert "j.yaml:7:31: journey union: audience: employee.attributes.union_member: 'union_member' may be absent" in err
    assert "2 error(s)" in err

    out = root / "out"
    assert main(["simulate", "--events", str(events), "--journeys", str(root / "journeys"), *world,
                 "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.count("warning: journey union") == 2
    assert "(validate counts this as an error; the journey runs on events of that type as they come)" in err
    assert "error(s)" not in err
    sent = [json.loads(line) for line in (out / "messages.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(m["employee_id"], m["status"]) for m in sent] == [("E1", "sent")]  # E2's audience counted as false

    (root / "journeys/j.yaml").write_text(journey.replace("attributes.union_member", "union_member"),
                                          encoding="utf-8")
    assert main(["simulate", "--events", str(events), "--journeys", str(root / "journeys"), *world,
                 "--out", str(root / "out2")]) == 1
    assert "unknown field 'union_member' in the employee profile" in capsys.readouterr().err


def test_a_template_reading_a_field_that_may_be_absent_fails_validate_and_runs_with_a_warning(
        write_files: WriteFiles, capsys: pytest.CaptureFixture[str]) -> None:
    """A field beyond SPEC's in an event's data (kept, SPEC §2) printed by a template, guarded elsewhere (the
    trigger's has()): validate refuses it, as the same read in a condition; a run warns and renders it where it is
    there, and fails that message where it is not (here: never, the trigger tests it)."""
    journey = """apiVersion: wayfinder/v1
kind: Journey
id: named
name: Named
owner: hr@example.com
trigger: {event: hris.dependent.added, when: has(event.data.child_name)}
steps:
  - id: hi
    send: {channel: intranet, subject: "Congratulations", body: "Welcome, {{ event.data.child_name }}!"}
"""
    root = write_files({"journeys/j.yaml": journey})
    events = root / "events.jsonl"
    added = {"specversion": "1.0", "source": "hr", "type": "hris.dependent.added", "time": "2026-03-02T10:00:00Z",
             "subject": "E1"}
    lines = [{**added, "id": "d1", "data": {"relationship": "child", "date": "2026-03-01", "child_name": "Mia"}},
             {**added, "id": "d2", "subject": "E2", "data": {"relationship": "child", "date": "2026-03-01"}}]
    events.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    world = ["--catalog", str(WORLD / "catalog"), "--templates", str(WORLD / "templates")]
    assert main(["validate", str(root / "journeys"), *world]) == 1
    assert "j.yaml:9:89: journey named: step hi: event.data.child_name: unknown field 'child_name'" in (
        capsys.readouterr().err)
    out = root / "out"
    assert main(["simulate", "--events", str(events), "--journeys", str(root / "journeys"), *world,
                 "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "warning: journey named: step hi: event.data.child_name" in err
    assert "(validate counts this as an error; a run renders it where the field is there" in err
    sent = [json.loads(line) for line in (out / "messages.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(m["employee_id"], m["status"], "Mia" in str(m["text"])) for m in sent] == [("E1", "sent", True)]


def test_an_inline_subject_and_body_are_checked_as_a_template_file_is(write_files: WriteFiles,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    root = write_files({"journeys/j.yaml": """apiVersion: wayfinder/v1
kind: Journey
id: inline
name: Inline
owner: hr@example.com
trigger: {event: hris.dependent.added}
steps:
  - id: hi
    send: {channel: email, subject: "Hi {{ employee.nosuch }}", body: "Hello {{ recipient.given_nme }}"}
"""})
    assert main(["validate", str(root / "journeys"), "--catalog", str(WORLD / "catalog"), "--templates",
                 str(WORLD / "templates")]) == 1
    err = capsys.readouterr().err
    assert "j.yaml:9:53: journey inline: step hi: employee.nosuch: unknown field 'nosuch'" in err
    assert "j.yaml:9:91: journey inline: step hi: recipient.given_nme: unknown field 'given_nme'" in err


def test_a_journey_is_one_yaml_document_per_file(write_files: WriteFiles, capsys: pytest.CaptureFixture[str]) -> None:
    one = """apiVersion: wayfinder/v1
kind: Journey
id: {id}
name: One
owner: hr@example.com
trigger: {{event: hris.dependent.added}}
steps:
  - id: hi
    send: {{channel: intranet, subject: "Hi", body: "Hello"}}
"""
    root = write_files({"journeys/two.yaml": one.format(id="first") + "---\n" + one.format(id="second")})
    assert main(["validate", str(root / "journeys"), "--catalog", str(WORLD / "catalog"), "--templates",
                 str(WORLD / "templates")]) == 1
    err = capsys.readouterr().err
    assert "two.yaml:2:7: a journey is one YAML document per file (SPEC §4); this file holds 2" in err
    assert "two.yaml:12:7: a journey is one YAML document per file (SPEC §4)" in err


def test_a_journeys_own_condition_that_fails_at_run_time_is_counted_where_it_is_written(
        write_files: WriteFiles, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 9: run-time failures are printed with the journey file's position; an ``audience``, ``trigger.when``
    or ``exit_on`` condition is placed at itself, not at the journey's id."""
    failing = (AUDIENCE.replace('audience: employee.employment_type == "intern"',
                                'audience: int(employee.given_name) > 0')
               .replace("steps:", "exit_on:\n  - {event: hris.leave.started, when: 'int(event.data.leave_type) > 0'}"
                                  "\nsteps:"))
    root = write_files({"journeys/j.yaml": failing})
    lines = [{"specversion": "1.0", "id": "u", "source": "t", "type": "hris.employee.upserted",
              "time": "2026-03-01T10:00:00Z", "subject": "E1", "data": {"id": "E1", "given_name": "Ann"}},
             {"specversion": "1.0", "id": "1", "source": "t", "type": "hris.leave.ended",
              "time": "2026-03-02T10:00:00Z", "subject": "E1",
              "data": {"leave_type": "parental", "return_date": "2026-03-02"}}]
    (root / "events.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    assert main(["simulate", "--events", str(root / "events.jsonl"), "--journeys", str(root / "journeys"),
                 "--catalog", str(WORLD / "catalog"), "--templates", str(WORLD / "templates"), "--policy",
                 str(WORLD.parent / "empty-policy.yaml"), "--out", str(root / "out")]) == 0
    out = capsys.readouterr().out
    assert f"  {root / 'journeys' / 'j.yaml'}:7:11: journey interns-only audience: expression_failed 1\n" in out


def test_validate_of_a_pipe_or_a_device_says_so_and_does_not_wait_or_read_forever(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An audit on 2026-12-04: ``validate`` of a pipe waited for a writer for ever, and of /dev/zero read until
    memory ran out (a MemoryError traceback after 2.7 GB)."""
    pipe = tmp_path / "journey.yaml"
    os.mkfifo(pipe)
    for path in (str(pipe), "/dev/zero"):
        assert main(["validate", path]) == 1
        assert f"{path}:1:1: not a regular file (a device, pipe or socket); give a file or a folder" in \
            capsys.readouterr().err


def test_the_summary_counts_one_as_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """"1 dead letters, 1 duplicates ignored" (an audit on 2026-12-04)."""
    good = json.dumps({"specversion": "1.0", "id": "u1", "source": "t", "type": "hris.employee.upserted",
                       "time": "2026-03-02T09:00:00Z", "subject": "E1", "data": {}})
    events = tmp_path / "events.jsonl"
    events.write_text(f"{good}\n{good}\nnot json\n", encoding="utf-8")
    assert main(["simulate", "--events", str(events), "--out", str(tmp_path / "out")]) == 0
    assert "  events: 2 processed, 1 dead letter, 1 duplicate ignored, 0 too old to enroll\n" in capsys.readouterr().out


def test_plan_against_current_definitions_that_do_not_validate_names_each_error_where_it_is(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """It said only "the current definitions in None do not validate" (``None`` when ``--current`` was left out):
    the problems were found and not shown."""
    current = tmp_path / "current"
    assert main(["examples", "--copy", str(current)]) == 0
    journey = current / "journeys" / "new-parent.yaml"
    journey.write_text(journey.read_text("utf-8").replace("template: new-parent/welcome", "template: new-parent/nope"),
                       encoding="utf-8")
    capsys.readouterr()
    assert main(["plan", str(examples_dir()), "--current", str(current)]) == 1
    err = capsys.readouterr().err
    assert f"the current definitions ({current}) do not validate:" in err
    assert f"{journey}:" in err and "new-parent/nope" in err and "None" not in err


def test_an_empty_file_in_a_folder_is_a_warning_and_a_document_without_kind_says_so(
        write_files: WriteFiles, capsys: pytest.CaptureFixture[str]) -> None:
    """A validate audit on 2026-12-05: a journey file emptied by mistake, inside a folder with others, passed as
    "ok" with one journey fewer; a document given with no ``kind`` was "unknown kind None"."""
    root = write_files({"defs/journeys/gone.yaml": "# emptied\n", "defs/journeys/dashes.yaml": "---\n",
                        "defs/journeys/fine.yaml": (examples_dir() / "journeys" / "new-parent.yaml").read_text(
                            encoding="utf-8"),
                        "nokind.yaml": "apiVersion: wayfinder/v1\nid: x\n"})
    assert main(["validate", str(root / "defs")]) == 0  # a warning: the exit code stays
    said = capsys.readouterr()
    for name in ("gone", "dashes"):
        assert (f"{root}/defs/journeys/{name}.yaml:1:1: warning: an empty file (or comments only): no Wayfinder "
                "document in it") in said.err
    assert "fine.yaml" not in said.err and said.out.startswith("ok: ")
    assert main(["validate", str(root / "nokind.yaml")]) == 1
    assert f"{root}/nokind.yaml:1:1: no kind: a Wayfinder document says which it is, one of Journey, " in (
        capsys.readouterr().err)


def test_the_local_broker_script_says_the_commands_read_wayfinder_broker() -> None:
    """``deploy/local/kafka`` takes ``WAYFINDER_KAFKA_PORT``; the commands read ``WAYFINDER_BROKER`` (issue 9: nothing
    said so). Its help says it, without starting anything."""
    script = Path(__file__).resolve().parents[2] / "deploy" / "local" / "kafka"
    done = subprocess.run(["bash", str(script), "--help"], capture_output=True, text=True, check=False,
                          env={**os.environ, "WAYFINDER_KAFKA_PORT": "19092"})
    assert done.returncode == 0
    assert "they connect to WAYFINDER_BROKER (default kafka://127.0.0.1:9092)" in done.stdout
    assert "export WAYFINDER_BROKER=kafka://127.0.0.1:PORT" in done.stdout


def test_a_journey_with_a_yaml_syntax_error_is_not_also_unknown_to_the_tests_that_name_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A journey file that does not parse as YAML is still known by the id its first lines give: the journey
    tests naming it said "unknown journey" four more times for one slip."""
    assert main(["examples", "--copy", str(tmp_path / "mine")]) == 0
    journey = tmp_path / "mine" / "journeys" / "new-parent.yaml"
    journey.write_text(journey.read_text(encoding="utf-8").replace("trigger:\n", "trigger: [oops\n", 1),
                       encoding="utf-8")
    capsys.readouterr()
    assert main(["validate", str(tmp_path / "mine")]) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if ": " in line]
    assert errors and all("new-parent.yaml:" in line and "YAML syntax error" in line for line in errors), errors


def test_the_summary_says_each_reason_a_step_failed_to_render_for(write_files: WriteFiles,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Two people's messages failing on one step for two reasons: the summary said the first reason for both."""
    body = ("{% if employee.country == 'DE' %}{{ 1 / (resources | length - resources | length) }}"
            "{% else %}{{ employee.attributes.zzz.y }}{% endif %}")
    root = write_files({"journeys/hello.yaml": f"""
        apiVersion: wayfinder/v1
        kind: Journey
        id: hello
        name: Hello
        owner: hr@example.com
        trigger: {{event: hris.dependent.added}}
        steps:
          - id: welcome
            send: {{channel: email, subject: "Hello", body: "{body}"}}
        """})
    events = [person("E1"), person("E2", country="US", timezone="America/New_York", locale="en-US"),
              ev("b1", "hris.dependent.added", "2026-03-02T09:00:00Z", "E1", relationship="child", reason="birth",
                 date="2026-03-01"),
              ev("b2", "hris.dependent.added", "2026-03-02T09:00:00Z", "E2", relationship="child", reason="birth",
                 date="2026-03-01")]
    (root / "events.jsonl").write_text("".join(e.model_dump_json() + "\n" for e in events), encoding="utf-8")
    capsys.readouterr()
    assert main(["simulate", "--events", str(root / "events.jsonl"), "--journeys", str(root / "journeys"),
                 "--catalog", str(WORLD / "catalog"), "--templates", str(WORLD / "templates"),
                 "--out", str(root / "out")]) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines() if "step welcome: render_failed 2" in line]
    assert "ZeroDivisionError" in line and "UndefinedError" in line, line


SPEC_CATALOG = """apiVersion: wayfinder/v1
kind: Catalog
topics:
  - {id: family}
  - {id: parental-leave, parent: family}
  - {id: onboarding}
resources:
  - id: de-parental-leave
    type: policy
    title: Parental leave (Elternzeit) in Germany
    url: https://intranet.example.com/policies/de/parental-leave
    topics: [parental-leave]
    eligibility: employee.country == "DE"
    locale: de-DE
    related: [parent-network, childcare-subsidy]
  - id: laptop-setup
    type: task
    title: Set up your laptop
    topics: [onboarding]
    eligibility: employee.work_mode != "onsite"
    day: 1
    requires: []
"""


def test_specs_catalog_example_as_written_fails_validate_and_runs_with_a_warning(
        write_files: WriteFiles, capsys: pytest.CaptureFixture[str]) -> None:
    """SPEC §5's catalog links `related` to two ids it does not declare: validate reports them (a typo), a run
    (simulate, resources) goes on without the links, which only add to ranking. A `requires` to an unknown id
    orders a roadmap: still refused by a run."""
    journey = """apiVersion: wayfinder/v1
kind: Journey
id: fam
name: Family
owner: hr@example.com
trigger: {event: hris.dependent.added}
steps:
  - id: hi
    send: {channel: intranet, subject: "Congratulations", body: "Hello", resources: {topics: [family]}}
"""
    root = write_files({"catalog/catalog.yaml": SPEC_CATALOG, "journeys/j.yaml": journey,
                        "policy.yaml": "apiVersion: wayfinder/v1\nkind: Policy\n"})
    events = root / "events.jsonl"
    events.write_text("".join(json.dumps(x) + "\n" for x in [
        {"specversion": "1.0", "id": "u1", "source": "hr", "type": "hris.employee.upserted",
         "time": "2026-03-01T08:00:00Z", "subject": "E1",
         "data": {"id": "E1", "country": "DE", "timezone": "Europe/Berlin", "locale": "de-DE"}},
        {"specversion": "1.0", "id": "wd-7f3a91", "source": "hris/workday", "type": "hris.dependent.added",
         "time": "2026-03-02T09:15:00Z", "subject": "E1",
         "data": {"relationship": "child", "reason": "birth", "date": "2026-03-01"}}]), encoding="utf-8")
    defs = ["--journeys", str(root / "journeys"), "--catalog", str(root / "catalog"),
            "--templates", str(WORLD / "templates"), "--policy", str(root / "policy.yaml")]
    assert main(["validate", str(root / "catalog"), str(root / "journeys"), str(WORLD / "templates")]) == 1
    err = capsys.readouterr().err
    assert "catalog.yaml:15:15: resource de-parental-leave: related unknown resource 'parent-network'" in err
    assert "2 error(s)" in err

    out = root / "out"
    assert main(["simulate", "--events", str(events), *defs, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.count("warning: resource de-parental-leave: related unknown resource") == 2
    assert "(validate counts this as an error; the link is left out: it only adds to ranking)" in err
    sent = [json.loads(line) for line in (out / "messages.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(m["status"], m["resources"]) for m in sent] == [("sent", ["de-parental-leave"])]

    assert main(["resources", "--employee", "E1", "--events", str(events), *defs]) == 0
    assert "de-parental-leave" in capsys.readouterr().out

    (root / "catalog/catalog.yaml").write_text(SPEC_CATALOG.replace("requires: []", "requires: [it-acounts]"),
                                              encoding="utf-8")
    assert main(["simulate", "--events", str(events), *defs, "--out", str(root / "out2")]) == 1
    assert "resource laptop-setup: requires unknown resource 'it-acounts'" in capsys.readouterr().err


_FLAG_DOCS = {
    "journeys/j.yaml": ("apiVersion: wayfinder/v1\nkind: Journey\nid: j\nessential: {essential}\n"
                        "trigger: {{event: hris.employee.hired}}\nsteps:\n"
                        "  - id: hello\n    send: {{channel: email, subject: Hi, body: Hello}}\n"),
    "policy.yaml": ("apiVersion: wayfinder/v1\nkind: Policy\n"
                    "quiet_hours: {{start: '20:00', end: '08:00', weekends: {weekends}}}\n"
                    "working_days: {{public_holidays: {public_holidays}}}\n"),
    "journeys/lms.yaml": ("apiVersion: wayfinder/v1\nkind: EventType\nid: lms.course.completed\n"
                          "data:\n  course_id: {{required: {required}}}\n"),
    "journeys/j.test.yaml": ("apiVersion: wayfinder/v1\nkind: JourneyTest\nid: t\ninclude_drafts: {include_drafts}\n"
                             "events:\n  - {{type: hris.employee.hired, subject: E1, time: '2026-01-05T09:00:00Z',\n"
                             "     data: {{start_date: '2026-02-02'}}}}\n"
                             "expect: {{exact: {exact}}}\n"),
}
# where each flag's value is: (file, line, column)
_FLAGS = {"essential": ("journeys/j.yaml", 4, 12), "weekends": ("policy.yaml", 3, 55),
          "public_holidays": ("policy.yaml", 4, 33), "required": ("journeys/lms.yaml", 5, 25),
          "include_drafts": ("journeys/j.test.yaml", 4, 17), "exact": ("journeys/j.test.yaml", 8, 17)}


@pytest.mark.parametrize("flag", sorted(_FLAGS))
@pytest.mark.parametrize("value", ['"yes"', "on", "0", "'true'"])
def test_every_flag_of_a_definition_is_true_or_false_and_nothing_like_it(
        write_files: WriteFiles, capsys: pytest.CaptureFixture[str], flag: str, value: str) -> None:
    """README "Leave": a non-boolean ``essential`` is a validation error, yet ``essential: "yes"`` passed as true
    (pydantic reads "yes", "on", 1 and "true" as booleans), as did every flag of journeys, policy, event types and
    journey tests. Each names its file, line, column and field; ``true`` and ``false`` pass."""
    values = dict.fromkeys(_FLAGS, "true")
    files = {name: text.format(**values) for name, text in _FLAG_DOCS.items()}
    root = write_files(files)
    assert main(["validate", str(root / "journeys"), "--policy", str(root / "policy.yaml")]) == 0, (
        capsys.readouterr())
    capsys.readouterr()
    values[flag] = value
    root = write_files({name: text.format(**values) for name, text in _FLAG_DOCS.items()})
    assert main(["validate", str(root / "journeys"), "--policy", str(root / "policy.yaml")]) == 1
    file, line, column = _FLAGS[flag]
    errors = [e for e in capsys.readouterr().err.splitlines() if e.startswith(str(root / file))]
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{root / file}:{line}:{column}: ")
    assert f"{flag}: expected true or false" in errors[0]


def test_preview_lists_a_step_its_when_skipped_in_order_with_the_others(
        write_files: WriteFiles, capsys: pytest.CaptureFixture[str]) -> None:
    """HR operations previewing a journey saw its messages and tasks and nothing of a step its ``when`` skipped, so a
    step that never ran for this employee looked like one preview had lost. Each skip is listed where it happened,
    with the condition, between what went before it and what came after."""
    journey = AUDIENCE.replace('employee.employment_type == "intern"', "'true'").replace(
        "resources: {topics: [return-to-work]}}\n",
        "resources: {topics: [return-to-work]}}\n"
        "  - id: interns\n    send: {channel: email, template: new-parent/return,\n"
        "           when: 'employee.employment_type == \"intern\"'}\n"
        "  - id: pause\n    wait: {for: 1d}\n"
        "  - id: call\n    task: {assignee: hr_partner, title: Call them, note: Welcome back}\n"
        "  - id: later\n    task: {assignee: hr_partner, title: Again, note: Later, when: 'event.data.return_date ==\n"
        "      \"2026-01-01\"'}\n")
    root = write_files({"journeys/j.yaml": journey})
    assert preview(root, '{"leave_type": "parental", "return_date": "2026-05-04"}') == 0
    out = capsys.readouterr().out
    shown = [line for line in out.splitlines() if line.startswith("== ")]
    assert [line.split(" ")[1:3] for line in shown] == [
        ["hello:", "email"], ["step", "interns"], ["task", "call"], ["step", "later"]], out
    assert shown[1] == ('== step interns skipped: its `when` was false (employee.employment_type == "intern"), '
                        "2026-05-04 08:00 UTC (2026-05-04T08:00:00Z)")
    assert shown[3] == ('== step later skipped: its `when` was false (event.data.return_date == "2026-01-01"), '
                        "2026-05-05 08:00 UTC (2026-05-05T08:00:00Z)")


def test_preview_says_when_a_skipping_when_failed_rather_than_was_false(
        write_files: WriteFiles, capsys: pytest.CaptureFixture[str]) -> None:
    """A ``when`` that fails at run time counts as false (SPEC), and preview said "was false" for it too, so HR
    operations read a broken condition as one that did not hold for this employee. It now says the condition failed
    and why (the diagnostic's words, which name no value), and a false one is still "was false"."""
    journey = AUDIENCE.replace('employee.employment_type == "intern"', "'true'").replace(
        "resources: {topics: [return-to-work]}}\n",
        "resources: {topics: [return-to-work]}}\n"
        "  - id: broken\n    send: {channel: email, template: new-parent/return,\n"
        "           when: 'event.data.return_date > 3'}\n"
        "  - id: call\n    task: {assignee: hr_partner, title: Call them, note: Welcome back,\n"
        "           when: 'event.data.return_date.size() / 0 == 1'}\n"
        "  - id: never\n    task: {assignee: hr_partner, title: Again, note: Later, when: 'false'}\n")
    root = write_files({"journeys/j.yaml": journey})
    assert preview(root, '{"leave_type": "parental", "return_date": "2026-05-04"}') == 0
    out = capsys.readouterr().out
    shown = [line for line in out.splitlines() if line.startswith("== step")]
    assert [line.split(" ")[2] for line in shown] == ["broken", "call", "never"], out
    for line, condition in zip(shown[:2], ("event.data.return_date > 3", "event.data.return_date.size() / 0 == 1"),
                               strict=True):
        assert line.startswith(f"== step {line.split(' ')[2]} skipped: its `when` failed and counts as false "
                               f"({condition}: "), line
        assert "2026-05-04" not in line.split(f"({condition}: ", 1)[1].split("), ")[0], line  # no value in the why
    assert shown[2].startswith("== step never skipped: its `when` was false (false), "), shown[2]
