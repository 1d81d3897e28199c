"""``wayfinder status``'s verdict and report from what it read (no Kafka, no servers)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from wayfinder.ops.status import (
    Bounds,
    Endpoint,
    KafkaView,
    LetterCount,
    Member,
    StatusReport,
    _group,
    _reason,
    _samples,
    as_json,
    judge,
    render,
)
from wayfinder.streams.settings import WorkerSettings

SETTINGS = WorkerSettings(store="memory", metrics_port=None, topic_prefix="w.", app_id="grp")


def view(**kwargs: object) -> KafkaView:
    v = KafkaView(members=2, group_state="Stable", lag={("w.hris.events", 0): 3, ("w.hris.events", 1): 4})
    for k, value in kwargs.items():
        setattr(v, k, value)
    return v


def test_a_healthy_installation_has_no_problems_and_paused_sending_is_not_one() -> None:
    points = [Endpoint("worker", "http://w0:9108", ready=True)]
    assert judge(view(paused={"all": True}), points, SETTINGS, Bounds()) == []


def test_each_problem_is_named() -> None:
    points = [Endpoint("worker", "http://w0:9108", ready=False, reasons=["rebalancing or restoring tables"]),
              Endpoint("deliver", "http://d:9109", ready=False)]
    problems = judge(view(members=0, group_state="Empty", lag={("w.hris.events", 0): 1500},
                          dead_letters=Counter({"invalid_json": 11})), points, SETTINGS, Bounds())
    assert problems == [
        "worker http://w0:9108 is not ready: rebalancing or restoring tables",
        "deliver http://d:9109 is not ready: no reason given",
        "no worker is in the consumer group grp (state Empty)",
        "w.hris.events is 1500 messages behind (bound 1000)",
        "11 dead letters in the last hour (bound 10)",
    ]


def test_the_report_shows_lag_per_partition_dead_letters_by_reason_and_the_switch() -> None:
    report = StatusReport(view(dead_letters=Counter({"invalid_json": 2, "smtp_connection": 5}),
                               paused={"all": False, "new-parent": True}),
                          [Endpoint("worker", "http://w0:9108", ready=True,
                                    samples={"wayfinder_pending_timers{employees}": 12.0})], [])
    text = render(report, SETTINGS)
    assert text.splitlines()[0] == "wayfinder status: healthy"
    assert "  hris.events: 7 (p0 3, p1 4)" in text
    assert "dead letters in the last hour: 7 (smtp_connection 5, invalid_json 2)" in text
    assert "sending: paused for new-parent" in text
    assert "worker http://w0:9108: ready\n  wayfinder_pending_timers{employees} 12" in text


def test_reason_codes_are_the_part_before_the_colon_and_never_the_detail() -> None:
    assert _reason(b'{"reason": "processing_error: KeyError in w.hris.events", "raw": "..."}') == "processing_error"
    assert _reason(b"not json") == "unreadable"
    assert _reason(b'{"raw": "x"}') == "unknown"


def letter(reason: str, **where: object) -> bytes:
    return json.dumps({"reason": reason, "raw": "x", "received_at": "2026-12-06T04:00:43Z"} | where).encode()


def test_a_dead_letter_written_again_for_the_same_input_is_counted_once() -> None:
    letters = LetterCount()
    bad_date = letter("invalid_data: hris.dependent.added: data.date", source="w.hris.events", partition=3, offset=49)
    for value in (bad_date, bad_date,  # the same input's letter, written again by the worker that took over
                  letter("invalid_data: x", source="w.hris.events", partition=3, offset=50),
                  letter("invalid_data: x", source="w.hris.events", partition=4, offset=49),
                  letter("no_connector: intranet"), letter("no_connector: intranet"),  # no input named: each counts
                  b"not json", b"not json"):
        letters.add(value)
    assert letters.by_reason == Counter({"invalid_data": 3, "no_connector": 2, "unreadable": 2})
    assert letters.read == 8


def test_only_the_wanted_samples_are_read_and_summed_by_their_label() -> None:
    text = ('wayfinder_pending_timers{stage="employees"} 3\nwayfinder_pending_timers{stage="mailboxes"} 1\n'
            'wayfinder_assigned_partitions{topic="a"} 2\nwayfinder_assigned_partitions{topic="b"} 4\n'
            'wayfinder_events_consumed_total{type="x",outcome="processed"} 9\n')
    assert _samples(text) == {"wayfinder_pending_timers{employees}": 3.0, "wayfinder_pending_timers{mailboxes}": 1.0,
                              "wayfinder_assigned_partitions": 6.0}


def test_each_partitions_stream_time_is_read_and_shown_as_an_instant() -> None:
    """Issue 13: per worker and partition, lag, stream time, pending timers. Stream time was never read."""
    text = ('wayfinder_stream_time_seconds{stage="employees",partition="0"} 1772442900\n'
            'wayfinder_stream_time_seconds{stage="employees",partition="1"} 1772443000\n'
            'wayfinder_stream_time_seconds{stage="mailboxes",partition="0"} 0\n')
    samples = _samples(text)
    assert samples == {"wayfinder_stream_time_seconds{employees,0}": 1772442900.0,
                       "wayfinder_stream_time_seconds{employees,1}": 1772443000.0,
                       "wayfinder_stream_time_seconds{mailboxes,0}": 0.0}
    report = StatusReport(None, [Endpoint("worker", "http://w0:9108", ready=True, samples=samples)], [])
    shown = render(report, SETTINGS)
    assert "  stream time employees p0: 2026-03-02T09:15:00+00:00" in shown
    assert "  stream time employees p1: 2026-03-02T09:16:40+00:00" in shown
    assert "wayfinder_stream_time_seconds{mailboxes,0} 0" in shown  # not set yet: shown as it is


def _described(host: str, member_id: str, url: str | None, partitions: dict[str, list[int]]) -> dict[str, Any]:
    """A member as kafka-python's describe_groups gives one of a Faust group (its metadata as text, Faust's JSON
    at its end; its assignment decoded)."""
    user = json.dumps({"assignment": {"actives": {}, "standbys": {}}, "url": url, "topic_groups": {}},
                      separators=(",", ":")) if url else "junk"
    return {"member_id": member_id, "client_id": "faust-0.15.3", "client_host": f"/{host}",
            "member_metadata": "\x00\x04\x00\x00\x00\tw.hris.events\x00\x00" + user,
            "member_assignment": {"assigned_partitions": [{"topic": t, "partitions": ps}
                                                          for t, ps in partitions.items()], "user_data": "x"}}


class Admin:
    def __init__(self, members: list[dict[str, Any]]) -> None:
        self.members = members

    def describe_groups(self, groups: list[str]) -> dict[str, Any]:
        return {groups[0]: {"group_id": groups[0], "group_state": "Stable", "members": self.members}}


def test_each_worker_is_named_by_its_address_with_the_agent_partitions_it_owns() -> None:
    admin = Admin([
        _described("10.0.0.7", "faust-1-aaaaaaaa", "http://wayfinder-worker-1.wayfinder-worker:6066",
                   {"w.hris.events": [2, 3], "grp-employees-changelog": [2, 3], "w.mailbox": [3]}),
        _described("10.0.0.6", "faust-1-bbbbbbbb", "http://wayfinder-worker-0.wayfinder-worker:6066",
                   {"w.hris.events": [0, 1], "w.mailbox": [0, 1, 2]}),
    ])
    state, count, workers = _group(admin, "grp", {"w.hris.events", "w.mailbox"})
    assert (state, count) == ("Stable", 2)
    assert workers == [  # changelogs are not agent partitions
        Member("wayfinder-worker-0.wayfinder-worker:6066",
               (("w.hris.events", 0), ("w.hris.events", 1), ("w.mailbox", 0), ("w.mailbox", 1), ("w.mailbox", 2))),
        Member("wayfinder-worker-1.wayfinder-worker:6066", (("w.hris.events", 2), ("w.hris.events", 3),
                                                            ("w.mailbox", 3)))]


def test_workers_that_say_the_same_address_or_none_are_told_apart_by_host_and_member() -> None:
    admin = Admin([_described("127.0.0.1", "faust-1-aaaaaaaa", "http://vm:6066", {"w.hris.events": [0]}),
                   _described("127.0.0.1", "faust-1-bbbbbbbb", "http://vm:6066", {"w.hris.events": [1]}),
                   _described("10.0.0.9", "faust-1-cccccccc", None, {})])
    _, _, workers = _group(admin, "grp", {"w.hris.events"})
    assert [w.name for w in workers] == ["(10.0.0.9, member cccccccc)",
                                         "vm:6066 (127.0.0.1, member aaaaaaaa)",
                                         "vm:6066 (127.0.0.1, member bbbbbbbb)"]


def test_the_report_shows_each_workers_partitions_and_their_lag() -> None:
    workers = [Member("w-0:6066", (("w.hris.events", 0),)), Member("w-1:6066", (("w.hris.events", 1),))]
    report = StatusReport(view(workers=workers), [], [])
    text = render(report, SETTINGS)
    assert "  worker w-0:6066: 1 partitions, lag 3\n    hris.events: p0 3\n" in text
    assert "  worker w-1:6066: 1 partitions, lag 4\n    hris.events: p1 4\n" in text
    data = as_json(report)["kafka"]
    assert data["workers"][1] == {"worker": "w-1:6066", "lag": 4,
                                  "partitions": [{"topic": "w.hris.events", "partition": 1, "lag": 4}]}
    assert [(x["partition"], x["worker"]) for x in data["lag"]] == [(0, "w-0:6066"), (1, "w-1:6066")]
