"""SPEC §4: an expression that fails at run time counts as false, is counted with its journey and step, and never
stops the stream; in every place SPEC puts one (audit of 2026-12-06). Each journey fails in one place for E1 (a
field its event or profile lacks) and holds for E2; what follows is what "false" means there."""

from __future__ import annotations

from tests.pipeline.test_runner_rules import ev, person, runner_for
from tests.support import WriteFiles

HEAD = "version: 1\nstatus: active\n"
JOURNEYS = {
    # trigger.when and audience: no enrollment
    "trig": "id: trig\n" + HEAD + "trigger: {event: survey.done, when: 'event.data.score > 0.5'}\n"
            "steps:\n  - {id: s, send: {channel: email, subject: s, body: b}}\n",
    "aud": "id: aud\n" + HEAD + "trigger: {event: survey.done}\naudience: 'employee.attributes.level >= 3'\n"
           "steps:\n  - {id: s, send: {channel: email, subject: s, body: b}}\n",
    # send when: the step is skipped and the journey goes on
    "send": "id: send\n" + HEAD + "trigger: {event: survey.done}\nsteps:\n"
            "  - {id: s, send: {channel: email, subject: s, body: b, when: '10 / event.data.n >= 1'}}\n"
            "  - {id: next, send: {channel: intranet, subject: s, body: b}}\n",
    # branch.if: else
    "br": "id: br\n" + HEAD + "trigger: {event: survey.done}\nsteps:\n"
          "  - {id: b, branch: {if: event.data.flag, then: yes, else: no}}\n"
          "  - {id: yes, send: {channel: email, subject: s, body: b}}\n  - {id: e, end: {}}\n"
          "  - {id: no, send: {channel: email, subject: s, body: b}}\n",
    # wait.until: the enrollment ends
    "until": "id: until\n" + HEAD + "trigger: {event: survey.done}\nsteps:\n"
             "  - {id: w, wait: {until: event.data.due}}\n"
             "  - {id: after, send: {channel: email, subject: s, body: b}}\n",
    # wait_for.when: no match, so the timeout's step
    "wf": "id: wf\n" + HEAD + "trigger: {event: survey.done}\nsteps:\n"
          "  - {id: w, wait_for: {event: survey.rated, when: 'event.data.rating > 3', timeout: 2d, on_timeout: late}}\n"
          "  - {id: quick, send: {channel: email, subject: s, body: b}}\n  - {id: e, end: {}}\n"
          "  - {id: late, send: {channel: email, subject: s, body: b}}\n",
}


def test_a_failing_expression_counts_as_false_in_each_place_and_is_counted_there(write_files: WriteFiles) -> None:
    runner = runner_for(write_files, JOURNEYS)
    runner.run([
        person("E1"), person("E2", level=3),
        ev("d1", "survey.done", "2026-03-02T09:00:00Z", "E1", n=0, flag="yes"),
        ev("d2", "survey.done", "2026-03-02T09:00:00Z", "E2", score=0.7, n=5, flag=True, due="2026-03-03"),
        ev("r1", "survey.rated", "2026-03-03T09:00:00Z", "E1", rating="five"),
        ev("r2", "survey.rated", "2026-03-03T09:00:00Z", "E2", rating=4),
        ev("x", "survey.other", "2026-03-10T00:00:00Z", "E2"),
    ])
    sent = sorted((m.employee_id, m.journey_id, m.step_id) for m in runner.messages.values())
    assert sent == [
        ("E1", "br", "no"), ("E1", "send", "next"), ("E1", "wf", "late"),
        ("E2", "aud", "s"), ("E2", "br", "yes"), ("E2", "send", "next"), ("E2", "send", "s"), ("E2", "trig", "s"),
        ("E2", "until", "after"), ("E2", "wf", "quick")]
    failed = {(journey, step) for (kind, journey, step), n in runner.stats.diagnostic_sites.items()
              if kind == "expression_failed" and n == 1}
    assert failed == {("trig", "#trigger.when"), ("aud", "#audience"), ("send", "s"), ("br", "b"), ("until", "w"),
                      ("wf", "w")}
    assert runner.stats.diagnostics["expression_failed"] == 6
