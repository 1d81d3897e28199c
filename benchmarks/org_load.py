"""An organisation's year of events, for load: spans of control, HR partners, hiring bursts, a busy hiring manager.

    .venv/bin/python -m benchmarks.org_load --employees 20000 --seed 7 --out org.jsonl
    .venv/bin/wayfinder simulate --events org.jsonl --until 2027-01-31T00:00:00Z --out out/

The same seed and arguments always write the same file (``random.Random(seed)``, no clock, no hash seed).
The shape, for ``N`` employees at the start of the year:
- a management tree with spans of control of about 8 (4 to 12), HR partners at about 1 for 200 (people in
  the People department), every profile with the fields the bundled journeys and templates read;
- hiring of about 20% of ``N`` a year, in bursts (January and September take a third of the year's hires,
  a few days a month take most of the rest), one hiring manager taking ``--busy-share`` of every hire (a
  contact centre's team lead), each hire with their onboarding tasks over the following weeks;
- a year of the other life events at rates a company of that size sees (leaves and returns, children,
  promotions and transfers, manager changes, moves, terminations, wellbeing signals, a few erasures) and
  engagement with the messages people were sent (opened, clicked, rated).
About 10 events per employee per year, sorted by time. No real person's data: names are made up from
short syllables, emails are ``@example.com``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

YEAR = datetime(2026, 1, 1, tzinfo=UTC)
PLACES = (  # location, country, timezone, locale, share
    ("London", "GB", "Europe/London", "en-GB", 0.25), ("Berlin", "DE", "Europe/Berlin", "de-DE", 0.2),
    ("Paris", "FR", "Europe/Paris", "fr-FR", 0.15), ("New York", "US", "America/New_York", "en-US", 0.25),
    ("Bengaluru", "IN", "Asia/Kolkata", "en-IN", 0.15),
)
DEPARTMENTS = ("Engineering", "Sales", "Support", "Finance", "Marketing", "Operations")
ONBOARDING_TASKS = ("laptop-setup", "badge-pickup", "benefits-enrolment", "security-training", "meet-your-buddy",
                    "first-one-to-one", "thirty-day-review")
RESOURCES = ("parental-leave-guide", "childcare-subsidy", "parent-network", "manager-guide", "relocation-guide",
             "buddy-programme", "it-help", "learning-hub", "flexible-work")
SYLLABLES = ("ka", "lo", "mi", "ra", "ten", "su", "vi", "no", "el", "da", "ri", "an", "jo", "be", "xa")
# Per person and year (the rest of the mix): (event, rate).
RATES = {"dependent": 0.03, "parental": 0.03, "medical": 0.02, "bereavement": 0.02, "sabbatical": 0.005,
         "promotion": 0.08, "transfer": 0.04, "manager": 0.08, "relocated": 0.02, "terminated": 0.12,
         "wellbeing": 0.03, "upsert": 0.5, "engagement": 5.0}


@dataclass
class Person:
    id: str
    manager_id: str | None
    hr_partner_id: str
    place: tuple[str, str, str, str, float]
    department: str
    employment_type: str
    start: datetime
    left: bool = False


@dataclass
class Org:
    rng: random.Random
    people: list[Person] = field(default_factory=list)
    managers: list[str] = field(default_factory=list)
    partners: list[str] = field(default_factory=list)
    busy: str = ""
    keep: set[str] = field(default_factory=set)  # managers and HR partners: they stay the year
    # (time, order made, subject, an erasure?, the line): each event kept as its JSON line, so that a year of a
    # million people (about eleven million events) fits in memory to be sorted (a dict each would need ~3x)
    events: list[tuple[datetime, int, str, bool, str]] = field(default_factory=list)
    seq: int = 0

    def emit(self, at: datetime, kind: str, subject: str, data: dict[str, Any], source: str = "hris/workday") -> None:
        self.seq += 1
        event = {"specversion": "1.0", "id": f"{source.split('/')[0][:2]}-{self.seq:09d}", "source": source,
                 "type": kind, "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "subject": subject, "data": data}
        self.events.append((at, self.seq, subject, kind == "privacy.erasure.requested",
                            json.dumps(event, separators=(",", ":"))))


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def _place(rng: random.Random) -> tuple[str, str, str, str, float]:
    return rng.choices(PLACES, weights=[p[4] for p in PLACES])[0]


def _profile(org: Org, p: Person) -> dict[str, Any]:
    rng = org.rng
    given, family = _name(rng), _name(rng)
    location, country, tz, locale, _ = p.place
    return {"id": p.id, "given_name": given, "family_name": family,
            "email": f"{given.lower()}.{family.lower()}.{p.id.lower()}@example.com", "manager_id": p.manager_id,
            "hr_partner_id": p.hr_partner_id, "department": p.department, "role": f"{p.department} specialist",
            "job_level": f"L{rng.randint(1, 6)}", "location": location, "country": country, "timezone": tz,
            "locale": locale, "employment_type": p.employment_type,
            "work_mode": rng.choice(("onsite", "hybrid", "remote")), "start_date": p.start.date().isoformat(),
            "learning_style": rng.choice(("visual", "reading", "hands_on", "social"))}


def _employment(rng: random.Random) -> str:
    return rng.choices(("employee", "contractor", "intern"), weights=(85, 10, 5))[0]


def build(employees: int, seed: int) -> Org:
    """The people at the start of the year: a tree with spans of about 8, HR partners at about 1:200."""
    org = Org(random.Random(seed))
    rng = org.rng
    n_partners = max(1, employees // 200)
    n_managers = max(1, employees // 8)
    org.partners = [f"E{i:07d}" for i in range(n_managers + 1, n_managers + n_partners + 1)]
    people_dept = set(org.partners)
    for i in range(1, employees + 1):
        # Managers are the first eighth: a tree of their own with spans of 8; everyone else reports to one of
        # them at random, so a span is about 8 on average (more or less, as in a real company).
        if i == 1:
            boss = None
        elif i <= n_managers:
            boss = (i - 2) // 8 + 1
        else:
            boss = rng.randint(1, n_managers)
        manager = f"E{boss:07d}" if boss is not None else None
        partner = org.partners[rng.randrange(n_partners)]
        dept = "People" if f"E{i:07d}" in people_dept else rng.choice(DEPARTMENTS)
        start = YEAR - timedelta(days=rng.randint(30, 3650))
        org.people.append(Person(f"E{i:07d}", manager, partner, _place(rng), dept, _employment(rng), start))
    org.managers = [f"E{i:07d}" for i in range(1, n_managers + 1)]
    org.busy = org.managers[len(org.managers) // 2]
    org.keep = {*org.managers, *org.partners}
    before = YEAR - timedelta(days=1)
    for p in org.people:
        org.emit(before + timedelta(seconds=org.seq % 3600), "hris.employee.upserted", p.id, _profile(org, p))
    return org


def _when(rng: random.Random, p: Person, days: float = 365) -> datetime:
    """A working-hours moment in the first ``days`` of the year, after ``p`` started (a hire's life events come
    after their first day)."""
    first = max(YEAR, p.start)
    span = max(0.0, (YEAR + timedelta(days=days) - first).total_seconds() / 86400)
    day = first.replace(hour=0, minute=0) + timedelta(days=1 + int(rng.random() * span))
    return day + timedelta(hours=rng.randint(7, 18), minutes=rng.randint(0, 59))


def _hire_day(rng: random.Random) -> datetime:
    """Hiring comes in bursts: a third in January and September, most of the rest on a few days a month."""
    r = rng.random()
    if r < 0.33:
        base = YEAR + timedelta(days=rng.choice((4, 248)) + rng.randint(0, 9))
    elif r < 0.8:
        base = YEAR + timedelta(days=30 * rng.randint(0, 11) + rng.choice((0, 1, 14, 15)))
    else:
        base = YEAR + timedelta(days=rng.randint(0, 364))
    return base + timedelta(hours=rng.randint(8, 17), minutes=rng.randint(0, 59))


def hire(org: Org, busy_share: float) -> None:
    rng = org.rng
    at = _hire_day(rng)
    manager = org.busy if rng.random() < busy_share else rng.choice(org.managers)
    pid = f"E{len(org.people) + 1:07d}"
    start = (at + timedelta(days=rng.randint(7, 28))).replace(hour=9, minute=0)
    p = Person(pid, manager, rng.choice(org.partners), _place(rng), rng.choice(DEPARTMENTS), _employment(rng), start)
    org.people.append(p)
    profile = _profile(org, p)
    org.emit(at, "hris.employee.upserted", pid, profile)
    org.emit(at + timedelta(minutes=1), "hris.employee.hired", pid, {
        "start_date": start.date().isoformat(), "role": profile["role"], "department": p.department,
        "location": p.place[0], "manager_id": manager})
    org.emit(start + timedelta(hours=3), "hris.employee.started", pid, {"date": start.date().isoformat()})
    for n, task in enumerate(ONBOARDING_TASKS):
        if rng.random() < 0.85:
            done = start + timedelta(days=n * 5 + rng.randint(0, 4), hours=rng.randint(1, 8))
            org.emit(done, "onboarding.task.completed", pid, {"task_id": task}, "onboarding/app")


def _leave(org: Org, p: Person, kind: str) -> None:
    rng = org.rng
    at = _when(rng, p, 330)
    length = {"parental": rng.randint(60, 300), "medical": rng.randint(10, 90), "bereavement": rng.randint(3, 10),
              "sabbatical": rng.randint(30, 120)}[kind]
    back = at + timedelta(days=length)
    org.emit(at, "hris.leave.started", p.id, {"leave_type": kind, "start_date": at.date().isoformat(),
                                              "expected_return_date": back.date().isoformat()})
    org.emit(back - timedelta(days=3), "hris.leave.ended", p.id, {"leave_type": kind,
                                                                  "return_date": back.date().isoformat()})


def life_event(org: Org, p: Person, kind: str) -> None:
    rng = org.rng
    at = _when(rng, p)
    if kind == "dependent":
        born = at - timedelta(days=1)
        org.emit(at, "hris.dependent.added", p.id, {"relationship": "child", "reason": rng.choice(
            ("birth", "birth", "birth", "adoption")), "date": born.date().isoformat()})
    elif kind in ("parental", "medical", "bereavement", "sabbatical"):
        _leave(org, p, kind)
    elif kind in ("promotion", "transfer"):
        org.emit(at, "hris.job.changed", p.id, {"change": kind, "old_role": "specialist",
                                                "new_role": "senior specialist", "old_department": p.department,
                                                "new_department": p.department})
    elif kind == "manager":
        new = rng.choice(org.managers)
        if new != p.manager_id and new != p.id:
            org.emit(at, "hris.manager.changed", p.id, {"old_manager_id": p.manager_id, "new_manager_id": new})
            p.manager_id = new
    elif kind == "relocated":
        place = _place(rng)
        org.emit(at, "hris.employee.relocated", p.id, {"old_location": p.place[0], "new_location": place[0],
                                                       "new_country": place[1], "new_timezone": place[2]})
    elif kind == "terminated" and p.id not in org.keep:
        org.emit(at, "hris.employee.terminated", p.id, {"date": at.date().isoformat(), "reason": "resignation"})
        if rng.random() < 0.02:
            org.emit(at + timedelta(days=rng.randint(30, 60)), "privacy.erasure.requested", p.id, {},
                     "privacy/portal")
    elif kind == "wellbeing":
        org.emit(at, "wellbeing.signal", p.id, {"signal": "workload_spike", "score": round(rng.uniform(0.5, 1), 2),
                                                "evidence": "pulse survey"}, "wellbeing/pulse")
    elif kind == "upsert":
        org.emit(at, "hris.employee.upserted", p.id, {"work_mode": rng.choice(("onsite", "hybrid", "remote"))})
    elif kind == "engagement":
        _engage(org, p, at)


def _engage(org: Org, p: Person, at: datetime) -> None:
    rng = org.rng
    data: dict[str, Any] = {"message_id": f"m-{rng.getrandbits(96):024x}", "resource_id": rng.choice(RESOURCES)}
    kind = rng.choices(("opened", "clicked", "feedback"), weights=(60, 30, 10))[0]
    if kind == "feedback":
        data["rating"] = rng.choice((-1, 0, 1, 1))
    org.emit(at, f"engagement.message.{kind}", p.id, data, "engagement/intranet")


def generate(employees: int, seed: int, busy_share: float = 0.1) -> Iterator[str]:
    """The event lines, sorted by time (ties in the order they were made)."""
    org = build(employees, seed)
    for _ in range(int(employees * 0.2)):
        hire(org, busy_share)
    rng = org.rng
    for p in list(org.people):
        for kind, rate in RATES.items():
            whole, part = divmod(rate, 1)
            for _ in range(int(whole) + (rng.random() < part)):
                life_event(org, p, kind)
    org.events.sort(key=lambda t: (t[0], t[1]))
    erased: dict[str, datetime] = {}
    for at, _, subject, erasure, line in org.events:
        if subject in erased and at > erased[subject]:
            continue  # nothing comes for a person after their erasure (Wayfinder would refuse it: erased_subject)
        if erasure:
            erased[subject] = at
        yield line


def build_parser() -> argparse.ArgumentParser:
    """The command line (the README's commands of this benchmark are checked against it)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=20_000, help="headcount at the start of the year")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--busy-share", type=float, default=0.1,
                        help="share of all hires that go to the one busy hiring manager [0.1]")
    parser.add_argument("--out", type=Path, required=True, help="the events file to write (JSON lines)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    count = 0
    with args.out.open("w", encoding="utf-8") as f:
        for line in generate(args.employees, args.seed, args.busy_share):
            f.write(line + "\n")
            count += 1
    print(f"wrote {count:,} events for {args.employees:,} employees (seed {args.seed}) to {args.out}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
