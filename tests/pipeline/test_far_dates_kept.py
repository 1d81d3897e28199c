"""Text like a date the engine cannot schedule (``9999-12-31``, HR systems' "no end") in a field the engine keeps
as text is kept (SPEC §2: fields beyond the known ones are kept); until 2026-12-05 it made the whole event a
``date_out_of_range`` dead letter, so an upsert carrying Workday's ``contract_end: "9999-12-31"`` lost its profile
update. What reads such a field as a date copes: a wait ends its enrollment (counted), a roadmap's day 1 falls
back to the day of the trigger, a template prints it, a condition counts as false."""

from __future__ import annotations

import json
from collections.abc import Mapping

from tests.pipeline.test_runner_rules import by_step, runner_for
from tests.support import WriteFiles, at
from wayfinder.journeys.events import decode_event

RENEWED = """id: renewed
version: 1
trigger: {event: acme.contract.renewed}
steps:
  - id: note
    send:
      channel: email
      subject: "Your contract"
      body: >-
        Renewed until {{ trigger.data.date | format_date }};
        on file: {{ employee.attributes.contract_end | default('') }}.
  - id: roadmap
    roadmap: {topics: [onboarding], horizon: 30d, channel: email, template: onboarding/roadmap}
  - id: until-the-end
    wait: {until: trigger.data.date}
  - id: after
    send: {channel: email, subject: "Later", body: "Never due."}
"""

FAR = """id: far
version: 1
trigger:
  event: hris.employee.upserted
  when: >-
    has(employee.attributes.contract_end)
    && timestamp(employee.attributes.contract_end + "T00:00:00Z") > now
steps:
  - id: hello
    send: {channel: email, subject: "Hello", body: "Open-ended."}
"""


def _line(eid: str, etype: str, when: str, data: Mapping[str, object]) -> str:
    return json.dumps({"specversion": "1.0", "id": eid, "source": "hris/workday", "type": etype, "time": when,
                       "subject": "E1", "data": data})


def test_an_open_end_written_as_9999_12_31_is_kept_and_read_as_a_date_where_a_journey_asks(
        write_files: WriteFiles) -> None:
    profile = {"id": "E1", "given_name": "Ada", "email": "ada@example.com", "country": "DE",
               "timezone": "America/Los_Angeles", "locale": "en-US", "employment_type": "employee",
               "department": "Engineering", "work_mode": "remote", "start_date": "2024-01-08"}
    lines = [
        _line("u1", "hris.employee.upserted", "2026-03-01T09:00:00Z", profile),
        # the same person moves to Sales; the export adds the contract's open end
        _line("u2", "hris.employee.upserted", "2026-03-02T09:00:00Z",
              {"department": "Sales", "contract_end": "9999-12-31", "probation_end": "0001-01-01"}),
        _line("r1", "acme.contract.renewed", "2026-03-03T09:00:00Z", {"date": "9999-12-31"}),
    ]
    events = [decode_event(line) for line in lines]  # as simulate and the worker read them: none refused
    runner = runner_for(write_files, {"renewed": RENEWED, "far": FAR})
    runner.run(events, at("2026-04-01T00:00:00Z"))

    state = runner.states["E1"]
    assert state.profile.get("department") == "Sales"  # the upsert's update was not lost
    assert (state.profile.attributes["contract_end"], state.profile.attributes["probation_end"]) == (
        "9999-12-31", "0001-01-01")
    assert runner.dead_letters == []
    sent = by_step(runner)
    assert sent["note"].status == "sent"
    assert "9999" in (sent["note"].text or "")  # printed as the date it says
    assert sent["roadmap"].status == "sent"  # day 1: the day of the trigger, not the year 9999
    assert "after" not in sent  # the wait could not use the date: the enrollment ended there, counted
    assert runner.stats.diagnostics["processing_error"] == 0
    assert runner.stats.diagnostic_sites[("expression_failed", "renewed", "until-the-end")] == 1
    assert sent["hello"].status == "sent"  # a condition reading it as a timestamp works
