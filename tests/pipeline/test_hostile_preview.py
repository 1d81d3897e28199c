"""``wayfinder preview --data`` that is not usable data (issue 11): one line on stderr, exit 2, no traceback."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from wayfinder.cli import main

LIMIT_S = 30.0  # generous: loading the bundled definitions on a busy machine


@pytest.mark.parametrize(("data", "expected"), [
    ("{oops", "wayfinder preview: --data is not JSON (Expecting property name enclosed in double quotes: line 1 "
              "column 2 (char 1)); give an object, e.g. --data '{\"leave_type\": \"parental\"}'"),
    ("[1]", "wayfinder preview: --data must be a JSON object ({...}), not list"),
    ('{"relationship": "child", "date": "0001-01-01"}',
     "wayfinder preview: --data cannot be the data of a hris.dependent.added event: date_out_of_range: data.date: "
     "a date outside 1900-01-01..2199-12-31, which Wayfinder cannot schedule"),
    ('{"relationship": "child", "date": "2026-03-01", "date": "2026-03-02"}',
     "wayfinder preview: --data cannot be the data of a hris.dependent.added event: invalid_json: the key 'date' "
     "appears twice in one object"),
    ('{"relationship": "child", "x": ' + "[" * 3000 + "]" * 3000 + "}",
     "wayfinder preview: --data is not JSON (nested too deeply); give an object, e.g. --data '{\"leave_type\": "
     "\"parental\"}'"),
    ('{"relationship": "child", "date": "2026-03-01", "weight": 1e999}',
     "wayfinder preview: --data cannot be the data of a hris.dependent.added event: invalid_json: a number is too "
     "large to be a float (such as 1e999)"),
])
def test_bad_data_is_one_line_and_exit_2(data: str, expected: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    profile = tmp_path / "p.json"
    profile.write_text(json.dumps({"id": "P1", "timezone": "Europe/Berlin"}), encoding="utf-8")
    started = time.perf_counter()
    code = main(["preview", "new-parent", "--employee", str(profile), "--at", "2026-05-04T08:00:00Z",
                 "--data", data])
    assert time.perf_counter() - started < LIMIT_S
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.splitlines() == [expected]
    assert captured.out == ""


def test_good_data_still_previews(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = tmp_path / "p.json"
    profile.write_text(json.dumps({"id": "P1", "timezone": "Europe/Berlin"}), encoding="utf-8")
    code = main(["preview", "new-parent", "--employee", str(profile), "--at", "2026-05-04T08:00:00Z",
                 "--data", '{"relationship": "child", "date": "2026-05-01"}'])
    assert code == 0
    assert "preview of journey new-parent" in capsys.readouterr().out


def test_a_profile_nested_too_deep_or_a_time_out_of_range_is_one_line(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    profile = tmp_path / "p.json"
    profile.write_text('{"id": "P1", "x": ' + "[" * 3000 + "]" * 3000 + "}", encoding="utf-8")
    with pytest.raises(SystemExit) as stopped:
        main(["preview", "new-parent", "--employee", str(profile), "--at", "2026-05-04T08:00:00Z"])
    assert stopped.value.code == f"{profile}: not a JSON profile (RecursionError); give an employee id or a JSON file"
    with pytest.raises(SystemExit) as stopped:
        main(["preview", "new-parent", "--employee", "E1042", "--at", "0001-01-01T00:00:00+14:00"])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "wayfinder preview: error: argument --at: '0001-01-01T00:00:00+14:00' is outside 1900-01-01..2199-12-31, "
        "the days Wayfinder schedules")


def test_a_profile_the_engine_would_refuse_is_named_by_its_fields_not_previewed(tmp_path: Path) -> None:
    """In ``simulate`` such an upsert is an ``invalid_data`` dead letter: a preview of it shows what never goes."""
    profile = tmp_path / "p.json"
    profile.write_text(json.dumps({"id": "P4", "given_name": "Zebedee", "country": "Germany", "timezone": "Mars/X"}),
                       encoding="utf-8")
    with pytest.raises(SystemExit) as stopped:
        main(["preview", "new-parent", "--employee", str(profile), "--at", "2026-05-04T08:00:00Z"])
    said = str(stopped.value.code)
    assert said.startswith(f"{profile}: not a profile the engine accepts (country: Value error, not an ISO 3166-1")
    assert "timezone: Value error, not an IANA timezone" in said
    assert "Germany" not in said and "Mars" not in said and "Zebedee" not in said


def test_a_profile_saved_with_a_byte_order_mark_previews_and_broken_json_is_placed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Found by an HR operations pass on 2026-12-05: a profile saved by Notepad (a byte order mark, CRLF) was "not a
    JSON profile (JSONDecodeError)", and a trailing comma was said the same way, with no line or column."""
    profile = tmp_path / "p.json"
    profile.write_bytes(b'\xef\xbb\xbf{"id": "P5", "timezone": "Europe/Berlin",\r\n "email": "p5@example.com"}\r\n')
    code = main(["preview", "new-parent", "--employee", str(profile), "--at", "2026-05-04T08:00:00Z"])
    assert code == 0
    assert "preview of journey new-parent v3 (active) for employee P5" in capsys.readouterr().out
    profile.write_text('{"id": "P5",\n "email": "p5@example.com",}\n', encoding="utf-8")
    with pytest.raises(SystemExit) as stopped:
        main(["preview", "new-parent", "--employee", str(profile)])
    assert stopped.value.code == (f"{profile}:2:28: not a JSON profile (Expecting property name enclosed in double "
                                  "quotes); give an employee id or a JSON file")
    profile.write_bytes(b'{"id": "P5", "given_name": "J\xf6rg"}')
    with pytest.raises(SystemExit) as stopped:
        main(["preview", "new-parent", "--employee", str(profile)])
    assert stopped.value.code == f"{profile}: not a JSON profile (not UTF-8 text at byte 30); save it as UTF-8"


def test_a_profile_with_a_key_twice_is_refused_as_simulate_refuses_its_upsert(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``{"country": "DE", "country": "GB"}`` previewed with GB, while ``simulate`` dead-letters an upsert of it
    (``invalid_json``): a preview showed what could never be sent (an HR operations pass, 2026-12-05)."""
    profile = tmp_path / "p.json"
    profile.write_text('{"id": "P5", "email": "p5@example.com", "country": "DE", "country": "GB"}', encoding="utf-8")
    with pytest.raises(SystemExit) as stopped:
        main(["preview", "new-parent", "--employee", str(profile)])
    assert stopped.value.code == f"{profile}: not a JSON profile (the key 'country' appears twice in one object)"
    profile.write_text('{"id": "P5", "email": "p5@example.com", "country": "GB"}', encoding="utf-8")
    assert main(["preview", "new-parent", "--employee", str(profile), "--at", "2026-05-04T08:00:00Z"]) == 0
    assert "for employee P5" in capsys.readouterr().out


def test_an_event_given_as_the_profile_file_is_read_as_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An audit on 2026-12-06: a line of an events file saved as the profile was read as a profile, the envelope's
    fields as the person's and the event's id as theirs: a nameless person without email previewed nothing. An upsert
    is the profile it carries; another event, or a whole events file, says what to give instead."""
    upsert = {"specversion": "1.0", "id": "ev-1", "source": "t", "type": "hris.employee.upserted",
              "time": "2026-01-01T00:00:00Z", "subject": "P7",
              "data": {"given_name": "Pia", "email": "pia@example.com", "timezone": "Europe/Berlin",
                       "employment_type": "employee"}}
    profile = tmp_path / "p.json"
    profile.write_text(json.dumps(upsert), encoding="utf-8")
    assert main(["preview", "new-parent", "--employee", str(profile), "--at", "2026-05-04T08:00:00Z"]) == 0
    out = capsys.readouterr().out
    assert "for employee P7: 2 message(s)" in out
    assert "== welcome: email to employee P7, sent" in out
    profile.write_text(json.dumps({**upsert, "type": "hris.dependent.added"}), encoding="utf-8")
    with pytest.raises(SystemExit) as stopped:
        main(["preview", "new-parent", "--employee", str(profile)])
    assert stopped.value.code == (f"{profile}: an event (hris.dependent.added), not a profile; give the employee's "
                                  "profile (the fields of SPEC section 3), an hris.employee.upserted event, or the "
                                  "employee's id with --events FILE")
    profile.write_text(json.dumps(upsert) + "\n" + json.dumps(upsert) + "\n", encoding="utf-8")
    with pytest.raises(SystemExit) as stopped:
        main(["preview", "new-parent", "--employee", str(profile)])
    assert stopped.value.code == (f"{profile}:2:1: not a JSON profile (Extra data); give an employee id or a JSON "
                                  "file (a file of events, one a line? give the employee's id with --events "
                                  f"{profile})")
