"""``wayfinder status``: from Kafka (the consumer groups, the topics) and from the workers', deliver's and serve's
endpoints (``/readyz``, ``/metrics``), what a platform team asks first: are the workers up and ready, how far
behind is each partition, how many dead letters came in the last hour, is sending paused, how many timers and
reviews wait. Unhealthy (exit 1) when any of these crosses its bound; every line names topics, partitions,
reason codes and counts only.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from wayfinder.connectors.switch import Switch, parse_records
from wayfinder.streams.health import AGENT_TOPICS, partition_lag
from wayfinder.streams.settings import WorkerSettings
from wayfinder.vocabulary import Topic

DEAD_LETTER_WINDOW = timedelta(hours=1)
MAX_READ = 50_000  # dead letters read to count by reason; beyond that the count is still exact, reasons are not


@dataclass(frozen=True)
class Bounds:
    max_lag: int = 1000
    max_dead_letters: int = 10


@dataclass
class Endpoint:
    """One process's answer: readiness and the samples of its metrics that status reads."""

    role: str
    url: str
    ready: bool = False
    reasons: list[str] = field(default_factory=list)
    samples: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Member:
    """A worker in the consumer group: who it is (its Faust web address, as the worker's own host name says it, or
    else the address it connects from, with its member id's end) and the agent partitions it is assigned."""

    name: str
    partitions: tuple[tuple[str, int], ...]


@dataclass
class KafkaView:
    members: int = 0
    group_state: str = "unknown"
    workers: list[Member] = field(default_factory=list)
    lag: dict[tuple[str, int], int] = field(default_factory=dict)
    delivery_lag: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)
    paused: dict[str, bool] = field(default_factory=dict)


@dataclass
class StatusReport:
    kafka: KafkaView | None
    endpoints: list[Endpoint]
    problems: list[str]

    @property
    def healthy(self) -> bool:
        return not self.problems


# -- endpoints --------------------------------------------------------------------------------------------
WANTED: dict[str, tuple[str, ...]] = {
    "wayfinder_pending_timers": ("stage",), "wayfinder_assigned_partitions": (),
    "wayfinder_agent_crashes_total": (), "wayfinder_reviews_pending": (),
    "wayfinder_review_oldest_pending_age_seconds": (), "wayfinder_delivery_in_flight_messages": (),
    "wayfinder_delivery_circuit_state": ("connector",),
    # each partition's clock (issue 13: per worker and partition, stream time), as a Unix time
    "wayfinder_stream_time_seconds": ("stage", "partition")}
STREAM_TIME = "wayfinder_stream_time_seconds"


def read_endpoint(role: str, base: str, timeout: float = 5.0) -> Endpoint:
    """``/readyz`` and ``/metrics`` of ``base`` (``http://host:port``); an endpoint that does not answer is not
    ready, with the reason."""
    point = Endpoint(role, base.rstrip("/"))
    try:
        status, body = _get(f"{point.url}/readyz", timeout)
        answer = json.loads(body) if body else {}
        point.ready = status == 200
        point.reasons = [str(r) for r in answer.get("reasons", [])] if isinstance(answer, dict) else []
        _, text = _get(f"{point.url}/metrics", timeout)
        point.samples = _samples(text.decode("utf-8"))
    except (OSError, ValueError) as e:
        point.ready, point.reasons = False, [f"does not answer ({type(e).__name__})"]
    return point


def _get(url: str, timeout: float) -> tuple[int, bytes]:
    if not url.startswith(("http://", "https://")):
        msg = f"{url}: not an http(s) URL"
        raise ValueError(msg)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 - checked scheme above
            return int(r.status), bytes(r.read())
    except urllib.error.HTTPError as e:
        return int(e.code), bytes(e.read())


def _samples(text: str) -> dict[str, float]:
    """The samples status shows, summed by their one interesting label (``name`` or ``name{label}``)."""
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name not in WANTED:
                continue
            labels = WANTED[s.name]
            key = f"{s.name}{{{','.join(s.labels.get(x, '') for x in labels)}}}" if labels else s.name
            out[key] = s.value if s.name == STREAM_TIME else out.get(key, 0.0) + s.value
    return out


# -- Kafka ------------------------------------------------------------------------------------------------
def read_kafka(settings: WorkerSettings, now: datetime) -> KafkaView:
    from kafka import KafkaAdminClient, KafkaConsumer

    servers = settings.bootstrap_servers
    with closing(KafkaAdminClient(bootstrap_servers=servers, client_id="wayfinder-status", request_timeout_ms=10_000,
                                  bootstrap_timeout_ms=10_000)) as admin, \
            closing(KafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False, group_id=None,
                                  request_timeout_ms=10_000, consumer_timeout_ms=2000)) as consumer:
        # each closed however the other's making or the reading ends
        view = KafkaView()
        agent_topics = [settings.topic(t) for t in AGENT_TOPICS]
        view.group_state, view.members, view.workers = _group(admin, settings.app_id, set(agent_topics))
        view.lag = _lag(admin, consumer, settings.app_id, agent_topics)
        view.delivery_lag = sum(_lag(admin, consumer, f"{settings.app_id}-delivery",
                                     [settings.topic(Topic.OUTBOUND_MESSAGES)]).values())
        view.dead_letters = _dead_letters(consumer, settings.topic(Topic.DEAD_LETTERS), now - DEAD_LETTER_WINDOW)
        view.paused = _paused(consumer, settings.topic(Topic.CONTROL))
        return view


def _group(admin: Any, group: str, topics: set[str]) -> tuple[str, int, list[Member]]:
    described = admin.describe_groups([group])
    info = described.get(group, {}) if isinstance(described, dict) else {}
    state = str(info.get("group_state") or info.get("state") or "unknown")
    members = [m for m in info.get("members") or [] if isinstance(m, dict)]
    found = [_member(m, topics) for m in members]
    names = Counter(m.name for m in found)
    found = [Member(f"{m.name} {_tail(raw)}", m.partitions) if names[m.name] > 1 else m  # workers on one host
             for m, raw in zip(found, members, strict=True)]
    return state, len(members), sorted(found, key=lambda m: m.name)


def _tail(member: dict[str, Any]) -> str:
    return f"({str(member.get('client_host') or '?').lstrip('/')}, member {str(member.get('member_id') or '')[-8:]})"


def _member(member: dict[str, Any], topics: set[str]) -> Member:
    """One member of the group as ``describe_groups`` gives it: its assignment decoded (the consumer protocol),
    its subscription's user data Faust's JSON holding the worker's web address (``http://HOST:PORT``: HOST is the
    pod's name in the manifests' StatefulSet)."""
    assignment = member.get("member_assignment")
    owned = assignment.get("assigned_partitions", []) if isinstance(assignment, dict) else []
    partitions = tuple(sorted((str(a.get("topic")), int(p)) for a in owned if isinstance(a, dict)
                              and a.get("topic") in topics for p in a.get("partitions") or []))
    return Member(_member_name(member), partitions)


def _member_name(member: dict[str, Any]) -> str:
    metadata = member.get("member_metadata")
    text = metadata.decode("latin-1") if isinstance(metadata, bytes) else str(metadata or "")
    start = text.find('{"assignment"')
    if start >= 0:
        try:
            url = json.JSONDecoder().raw_decode(text, start)[0].get("url")
        except (ValueError, AttributeError):
            url = None
        if isinstance(url, str) and "://" in url:
            return url.split("://", 1)[1].rstrip("/")
    return _tail(member)


def _partitions(consumer: Any, topics: Iterable[str]) -> list[Any]:
    from kafka import TopicPartition

    return [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]


def _lag(admin: Any, consumer: Any, group: str, topics: list[str]) -> dict[tuple[str, int], int]:
    tps = _partitions(consumer, topics)
    if not tps:
        return {}
    committed = admin.list_group_offsets({group: None}).get(group, {})
    done = {tp: (committed[tp].offset if tp in committed and committed[tp].offset >= 0 else None) for tp in tps}
    lag = partition_lag(consumer.end_offsets(tps), done, consumer.beginning_offsets(tps))
    return {(tp.topic, tp.partition): n for tp, n in lag.items()}


def _dead_letters(consumer: Any, topic: str, since: datetime) -> Counter[str]:
    """Dead letters written since ``since``, by reason code (the part of the reason before its first colon), each input
    once (:class:`LetterCount`)."""
    tps = _partitions(consumer, [topic])
    counts: Counter[str] = Counter()
    if not tps:
        return counts
    ends = consumer.end_offsets(tps)
    found = consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in tps})
    starts = {tp: (found[tp].offset if found.get(tp) is not None else ends[tp]) for tp in tps}
    total = sum(ends[tp] - starts[tp] for tp in tps)
    if total == 0:
        return counts
    consumer.assign(tps)
    for tp in tps:
        consumer.seek(tp, starts[tp])
    letters = LetterCount()
    for n, record in enumerate(consumer):
        if record.offset >= ends[consumer_tp(record)] or n >= MAX_READ:
            break
        letters.add(record.value)
    counts = letters.by_reason
    if letters.read < total:
        counts["(not read)"] += total - letters.read
    return counts


class LetterCount:
    """Dead letters by reason code, each input once. A letter that names its input (``source``, ``partition``,
    ``offset``) and came already is a repeat, not counted: a worker that takes over a partition before the inputs it
    was given were committed (a rebalance, a restart) writes their unit's records again, the dead letters too (seen
    on a broker: 3 bad events of the bundled ones, 5 dead letters after two workers joined)."""

    def __init__(self) -> None:
        self.by_reason: Counter[str] = Counter()
        self.read = 0
        self._inputs: set[tuple[str, int, int, str]] = set()

    def add(self, value: bytes | None) -> None:
        self.read += 1
        reason = _reason(value)
        key = _input_of(value, reason)
        if key is not None:
            if key in self._inputs:
                return
            self._inputs.add(key)
        self.by_reason[reason] += 1


def consumer_tp(record: Any) -> Any:
    from kafka import TopicPartition

    return TopicPartition(record.topic, record.partition)


def _input_of(value: bytes | None, reason: str) -> tuple[str, int, int, str] | None:
    """The input a dead letter is about (its topic, partition, offset) with its reason code, when it names one."""
    try:
        letter = json.loads(value or b"{}")
    except ValueError:
        return None
    if not isinstance(letter, dict):
        return None
    source, partition, offset = letter.get("source"), letter.get("partition"), letter.get("offset")
    if isinstance(source, str) and type(partition) is int and type(offset) is int:
        return source, partition, offset, reason
    return None


def _reason(value: bytes | None) -> str:
    try:
        reason = json.loads(value or b"{}").get("reason")
    except (ValueError, AttributeError):
        return "unreadable"
    return str(reason).split(":", 1)[0].strip() if isinstance(reason, str) and reason else "unknown"


def _paused(consumer: Any, topic: str) -> dict[str, bool]:
    tps = _partitions(consumer, [topic])
    switch = Switch()
    if not tps:
        return {}
    ends = consumer.end_offsets(tps)
    if all(n == 0 for n in ends.values()):
        return {}
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    values = []
    for record in consumer:
        if record.value is not None:
            values.append(record.value)
        if all(consumer.position(tp) >= ends[tp] for tp in tps):
            break
    for r in parse_records(values):
        switch.apply(r)
    return switch.state()


# -- the verdict ------------------------------------------------------------------------------------------
def gather(settings: WorkerSettings, endpoints: list[tuple[str, str]], now: datetime,
           bounds: Bounds = Bounds()) -> StatusReport:
    """Read Kafka and every endpoint (``(role, url)``) and judge."""
    problems: list[str] = []
    view: KafkaView | None
    try:
        view = read_kafka(settings, now)
    except Exception as e:  # any failure to read Kafka is itself the finding
        view = None
        problems.append(f"Kafka at {settings.broker} cannot be read ({type(e).__name__})")
    points = [read_endpoint(role, url) for role, url in endpoints]
    problems += judge(view, points, settings, bounds)
    return StatusReport(view, points, problems)


def judge(view: KafkaView | None, points: list[Endpoint], settings: WorkerSettings, bounds: Bounds) -> list[str]:
    problems = [f"{p.role} {p.url} is not ready: {'; '.join(p.reasons) or 'no reason given'}"
                for p in points if not p.ready]
    if view is None:
        return problems
    if view.members == 0:
        problems.append(f"no worker is in the consumer group {settings.app_id} (state {view.group_state})")
    for topic, lag in sorted(by_topic(view.lag).items()):
        if lag > bounds.max_lag:
            problems.append(f"{topic} is {lag} messages behind (bound {bounds.max_lag})")
    dead = sum(view.dead_letters.values())
    if dead > bounds.max_dead_letters:
        problems.append(f"{dead} dead letters in the last hour (bound {bounds.max_dead_letters})")
    return problems


def by_topic(lag: dict[tuple[str, int], int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for (topic, _), n in lag.items():
        out[topic] = out.get(topic, 0) + n
    return out


def render(report: StatusReport, settings: WorkerSettings) -> str:
    lines = [f"wayfinder status: {'healthy' if report.healthy else 'UNHEALTHY'}"]
    if report.kafka is not None:
        lines += _render_kafka(report.kafka, settings)
    for p in report.endpoints:
        lines.append(f"{p.role} {p.url}: {'ready' if p.ready else 'NOT READY'}"
                     + (f" ({'; '.join(p.reasons)})" if p.reasons else ""))
        lines += [_sample_line(name, value) for name, value in sorted(p.samples.items())]
    lines += [f"problem: {problem}" for problem in report.problems]
    return "\n".join(lines)


def _sample_line(name: str, value: float) -> str:
    """One sample as status prints it; a partition's stream time as the instant it is (UTC)."""
    if name.startswith(STREAM_TIME + "{") and value > 0:
        stage, _, partition = name[len(STREAM_TIME) + 1:-1].partition(",")
        return f"  stream time {stage} p{partition}: {datetime.fromtimestamp(value, UTC).isoformat()}"
    return f"  {name} {value:g}"


def _render_kafka(view: KafkaView, settings: WorkerSettings) -> list[str]:
    lines = [f"workers: {view.members} in group {settings.app_id} ({view.group_state})"]
    for member in view.workers:  # issue 13: per worker and partition
        behind = sum(view.lag.get(tp, 0) for tp in member.partitions)
        lines.append(f"  worker {member.name}: {len(member.partitions)} partitions, lag {behind}"
                     + "".join(f"\n    {topic.removeprefix(settings.topic_prefix)}: "
                               + ", ".join(f"p{p} {view.lag.get((topic, p), 0)}" for t, p in member.partitions
                                           if t == topic)
                               for topic in dict.fromkeys(t for t, _ in member.partitions)))
    lines.append("lag per partition:")
    per_topic: dict[str, list[str]] = {}
    for (topic, partition), n in sorted(view.lag.items()):
        per_topic.setdefault(topic, []).append(f"p{partition} {n}")
    lines += [f"  {topic.removeprefix(settings.topic_prefix)}: {sum(int(x.split()[1]) for x in parts)} "
              f"({', '.join(parts)})" for topic, parts in per_topic.items()]
    lines.append(f"delivery: {view.delivery_lag} messages not yet read by deliver ({settings.app_id}-delivery)")
    dead = ", ".join(f"{reason} {n}" for reason, n in view.dead_letters.most_common())
    lines.append(f"dead letters in the last hour: {sum(view.dead_letters.values())}" + (f" ({dead})" if dead else ""))
    paused = [scope for scope, on in view.paused.items() if on]
    lines.append(f"sending: paused for {', '.join(paused)}" if paused else "sending: not paused")
    return lines


def as_json(report: StatusReport) -> dict[str, Any]:
    k = report.kafka
    owner = {tp: m.name for m in k.workers for tp in m.partitions} if k is not None else {}
    return {
        "healthy": report.healthy, "problems": report.problems,
        "kafka": None if k is None else {
            "members": k.members, "group_state": k.group_state, "delivery_lag": k.delivery_lag,
            "lag": [{"topic": t, "partition": p, "lag": n, "worker": owner.get((t, p))}
                    for (t, p), n in sorted(k.lag.items())],
            "workers": [{"worker": m.name, "lag": sum(k.lag.get(tp, 0) for tp in m.partitions),
                         "partitions": [{"topic": t, "partition": p, "lag": k.lag.get((t, p), 0)}
                                        for t, p in m.partitions]} for m in k.workers],
            "dead_letters_last_hour": dict(k.dead_letters), "paused": k.paused},
        "endpoints": [{"role": p.role, "url": p.url, "ready": p.ready, "reasons": p.reasons, "samples": p.samples}
                      for p in report.endpoints],
    }
