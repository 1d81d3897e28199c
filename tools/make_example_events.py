"""Write the example events that ``wayfinder demo`` runs: one fictional company, one year.

Larkspur Labs is a fictional software company with about 100 employees in Germany, the
US, France, India and the UK. This script tells its year from 2025-12-01 to 2026-11-30 as
CloudEvents: the HRIS sync of every profile, new hires and their onboarding tasks,
births and adoptions, parental, medical and bereavement leave, moves, promotions,
manager changes, wellbeing signals, engagement, terminations and one erasure request.
A few lines are broken on purpose (dead letters) and one event is delivered twice
(deduplication).

The output is deterministic (``random.Random(7)``): the same file on every run. Onboarding
task ids and engagement resource ids are read from the example catalog, so they exist.

    python tools/make_example_events.py [--out wayfinder/examples/events.jsonl]
"""

from __future__ import annotations

import argparse
import json
import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import cel
import yaml

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "wayfinder" / "examples"
DEFAULT_OUT = EXAMPLES / "events.jsonl"
DEFAULT_CATALOG = EXAMPLES / "catalog"

FIRST_DAY = date(2025, 12, 1)
LAST_DAY = date(2026, 11, 30)
END = datetime(2026, 11, 30, 23, 59, tzinfo=UTC)
YEAR_END_HOLIDAYS = frozenset({(12, 24), (12, 25), (12, 26), (12, 31), (1, 1)})

HRIS = "hris/workday"
ONBOARDING = "onboarding/app"
ENGAGEMENT = "engagement/intranet"
WELLBEING = "wellbeing/pulse"
PRIVACY = "privacy/portal"
ID_PREFIX = {HRIS: "wd", ONBOARDING: "ob", ENGAGEMENT: "eg", WELLBEING: "wb", PRIVACY: "pp"}
SENSITIVE_TOPICS = frozenset({"bereavement", "medical", "wellbeing", "mental-health"})

Profile = dict[str, Any]


# --------------------------------------------------------------------------- the company


@dataclass(frozen=True)
class Place:
    country: str
    timezone: str
    locale: str


PLACES: dict[str, Place] = {
    "Berlin": Place("DE", "Europe/Berlin", "de-DE"),
    "Munich": Place("DE", "Europe/Berlin", "de-DE"),
    "Hamburg": Place("DE", "Europe/Berlin", "de-DE"),
    "New York": Place("US", "America/New_York", "en-US"),
    "Boston": Place("US", "America/New_York", "en-US"),
    "San Francisco": Place("US", "America/Los_Angeles", "en-US"),
    "Seattle": Place("US", "America/Los_Angeles", "en-US"),
    "Paris": Place("FR", "Europe/Paris", "fr-FR"),
    "Lyon": Place("FR", "Europe/Paris", "fr-FR"),
    "Bordeaux": Place("FR", "Europe/Paris", "fr-FR"),
    "Bengaluru": Place("IN", "Asia/Kolkata", "en-IN"),
    "Pune": Place("IN", "Asia/Kolkata", "en-IN"),
    "Chennai": Place("IN", "Asia/Kolkata", "en-IN"),
    "London": Place("GB", "Europe/London", "en-GB"),
    "Manchester": Place("GB", "Europe/London", "en-GB"),
}

HR_PARTNER = {"DE": "E1003", "US": "E1004", "FR": "E1005", "IN": "E1006", "GB": "E1007"}
DEPT_CODE = {
    "Engineering": "ENG",
    "Sales": "SLS",
    "Marketing": "MKT",
    "Finance": "FIN",
    "Support": "SUP",
    "People": "PPL",
    "Executive": "EXE",
}

ENG_ROLES = (
    "Senior Software Engineer",
    "Backend Engineer",
    "Frontend Engineer",
    "Software Engineer",
    "Site Reliability Engineer",
    "Data Engineer",
)
SALES_ROLES = (
    "Senior Account Executive",
    "Account Executive",
    "Sales Development Representative",
    "Solutions Consultant",
)
MKT_ROLES = ("Product Marketing Manager", "Content Marketer", "Growth Marketer", "Marketing Analyst")
FIN_ROLES = ("Senior Financial Analyst", "Financial Analyst", "Accountant", "Payroll Specialist")
SUP_ROLES = ("Senior Support Specialist", "Support Specialist", "Support Engineer", "Support Specialist")
PEOPLE_ROLES = ("People Operations Specialist", "Recruiter")


@dataclass(frozen=True)
class Team:
    key: str
    department: str
    office: str
    manager_role: str
    roles: tuple[str, ...]  # the first IC of every team gets the first (senior) role
    modes: tuple[str, ...]  # drawn uniformly; repeat a mode to weight it
    remote_cities: tuple[str, ...]
    size: int


# fmt: off
HYBRID_FIRST = ("hybrid", "hybrid", "hybrid", "onsite", "remote")
TEAMS: tuple[Team, ...] = (
    Team("eng-berlin", "Engineering", "Berlin", "Engineering Manager", ENG_ROLES,
         ("remote", "remote", "remote", "hybrid", "hybrid", "onsite"), ("Berlin", "Hamburg", "Munich"), 7),
    Team("eng-bengaluru", "Engineering", "Bengaluru", "Engineering Manager", ENG_ROLES,
         ("hybrid", "hybrid", "onsite", "remote"), ("Bengaluru", "Chennai"), 6),
    Team("eng-sf", "Engineering", "San Francisco", "Engineering Manager", ENG_ROLES,
         ("remote", "hybrid", "hybrid"), ("Seattle", "San Francisco"), 4),
    Team("eng-london", "Engineering", "London", "Engineering Manager", ENG_ROLES,
         ("remote", "hybrid", "hybrid"), ("London", "Manchester"), 4),
    Team("sales-ny", "Sales", "New York", "Sales Manager", SALES_ROLES,
         ("onsite", "onsite", "onsite", "hybrid"), ("Boston",), 5),
    Team("sales-paris", "Sales", "Paris", "Sales Manager", SALES_ROLES, HYBRID_FIRST, ("Bordeaux",), 3),
    Team("sales-munich", "Sales", "Munich", "Sales Manager", SALES_ROLES, HYBRID_FIRST, ("Munich",), 3),
    Team("sales-london", "Sales", "London", "Sales Manager", SALES_ROLES, HYBRID_FIRST, ("Manchester",), 2),
    Team("mkt-paris", "Marketing", "Paris", "Marketing Team Lead", MKT_ROLES, HYBRID_FIRST, ("Lyon",), 3),
    Team("mkt-ny", "Marketing", "New York", "Marketing Team Lead", MKT_ROLES,
         ("hybrid", "remote", "onsite"), ("Boston",), 3),
    Team("fin-paris", "Finance", "Paris", "Finance Manager", FIN_ROLES,
         ("hybrid", "hybrid", "hybrid", "onsite"), ("Paris",), 3),
    Team("fin-pune", "Finance", "Pune", "Finance Manager", FIN_ROLES, ("onsite", "hybrid"), ("Pune",), 3),
    Team("sup-pune", "Support", "Pune", "Support Team Lead", SUP_ROLES,
         ("onsite", "onsite", "hybrid"), ("Pune",), 5),
    Team("sup-lyon", "Support", "Lyon", "Support Team Lead", SUP_ROLES, ("onsite", "hybrid"), ("Lyon",), 3),
    Team("sup-london", "Support", "London", "Support Team Lead", SUP_ROLES, ("hybrid", "onsite"), ("London",), 2),
)
TEAM_BY_KEY = {team.key: team for team in TEAMS}

# Fictional names, per country of the office (given, family, preferred or ""), in a data file beside this one.
NAMES: dict[str, list[tuple[str, str, str]]] = {
    country: [(given, family, preferred) for given, family, preferred in people]
    for country, people in json.loads(Path(__file__).with_name("example_names.json").read_text("utf-8")).items()
}
# People whose names are not written in Latin script tell us their preferred ASCII email.
EMAIL_LOCAL = {
    ("結衣", "田中"): "yui.tanaka",
    ("Ольга", "Петрова"): "olga.petrova",
    ("민준", "김"): "minjun.kim",
    ("芳", "王"): "fang.wang",
}
# Languages people asked the HRIS to use, when not the office's.
LOCALE_OF = {"結衣": "ja-JP", "Søren": "en-GB", "Sofía": "es-US", "Ольга": "en-GB", "Zubin": "en-GB"}

SKILLS = {
    "Engineering": ["Python", "Go", "TypeScript", "Kubernetes", "PostgreSQL", "Kafka", "React", "Terraform",
                    "observability", "Rust"],
    "Sales": ["negotiation", "enterprise sales", "CRM", "discovery calls", "forecasting", "public speaking"],
    "Marketing": ["copywriting", "SEO", "analytics", "brand strategy", "events", "video editing"],
    "Finance": ["IFRS", "ERP", "spreadsheet modelling", "forecasting", "payroll", "audit"],
    "Support": ["troubleshooting", "SQL", "customer empathy", "technical writing", "ticketing"],
    "People": ["employment law", "coaching", "HRIS", "recruiting", "facilitation"],
    "Executive": ["strategy", "fundraising", "public speaking"],
}
INTERESTS = ["hiking", "photography", "cooking", "chess", "running", "climbing", "board games", "music",
             "gardening", "cycling", "yoga", "reading", "football", "cricket", "volunteering", "sketching"]
PRONOUNS = ["she/her", "he/him", "they/them", "she/they"]
OPT_OUT_TOPICS = [["parent-network"], ["mentoring"], ["employee-networks"], ["language-learning"]]

PROMOTES_TO = {
    "Sales Development Representative": "Account Executive",
    "Account Executive": "Senior Account Executive",
    "Software Engineer": "Senior Software Engineer",
    "Backend Engineer": "Senior Software Engineer",
    "Frontend Engineer": "Senior Software Engineer",
    "Support Specialist": "Senior Support Specialist",
    "Financial Analyst": "Senior Financial Analyst",
    "Content Marketer": "Senior Content Marketer",
    "Accountant": "Senior Accountant",
    "Marketing Analyst": "Senior Marketing Analyst",
}

# New hires: team, role, work mode, home city, employment type. The first three are the
# hires whose roadmaps the README compares.
HIRES: tuple[tuple[str, str, str, str, str], ...] = (
    ("sales-ny", "Account Executive", "onsite", "New York", "employee"),
    ("eng-berlin", "Backend Engineer", "remote", "Berlin", "employee"),
    ("fin-paris", "Financial Analyst", "hybrid", "Paris", "employee"),
    ("sup-pune", "Support Specialist", "onsite", "Pune", "employee"),
    ("eng-bengaluru", "Software Engineer", "hybrid", "Bengaluru", "employee"),
    ("mkt-paris", "Content Marketer", "hybrid", "Paris", "employee"),
    ("eng-london", "Frontend Engineer", "remote", "Manchester", "employee"),
    ("eng-bengaluru", "Software Engineering Intern", "hybrid", "Bengaluru", "intern"),
    ("sales-munich", "Account Executive", "hybrid", "Munich", "employee"),
    ("sup-lyon", "Support Specialist", "onsite", "Lyon", "employee"),
    ("eng-sf", "Site Reliability Engineer", "remote", "Seattle", "employee"),
    ("fin-pune", "Accountant", "onsite", "Pune", "employee"),
    ("sales-london", "Sales Development Representative", "hybrid", "London", "employee"),
    ("mkt-ny", "Growth Marketer", "remote", "Boston", "contractor"),
    ("people", "People Operations Specialist", "hybrid", "Berlin", "employee"),
    ("eng-berlin", "Site Reliability Engineer", "hybrid", "Berlin", "employee"),
    ("sales-paris", "Account Executive", "hybrid", "Paris", "employee"),
    ("sup-london", "Support Engineer", "hybrid", "London", "employee"),
    ("eng-sf", "Frontend Engineer", "hybrid", "San Francisco", "employee"),
    ("sales-ny", "Sales Development Representative", "onsite", "New York", "employee"),
)
# fmt: on
HIRES_WITHOUT_REVIEW = frozenset({4, 11, 16})  # never tick off the 30-day check-in: the manager is nudged
HIRE_WHO_QUITS = 9


# --------------------------------------------------------------------------- time helpers


def at_local(day: date, timezone: str, hour: int, minute: int = 0) -> datetime:
    """The UTC instant of a wall-clock time in ``timezone``."""
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def weekday_on_or_after(day: date) -> date:
    """The first working day on or after ``day`` (weekends and the year-end holidays are off)."""
    while day.weekday() >= 5 or (day.month, day.day) in YEAR_END_HOLIDAYS:
        day += timedelta(days=1)
    return day


def monday_on_or_after(day: date) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7)


def rfc3339(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ascii_fold(text: str) -> str:
    pairs = (("ß", "ss"), ("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ø", "o"), ("ı", "i"), ("æ", "ae"), ("œ", "oe"))
    for src, dst in pairs:
        text = text.replace(src, dst)
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return "".join(ch for ch in kept.lower() if ch.isascii() and (ch.isalnum() or ch == "-"))


# --------------------------------------------------------------------------- catalog


@dataclass(frozen=True)
class CatalogItem:
    id: str
    topics: tuple[str, ...]
    eligibility: Any  # a compiled CEL program, or None
    day: int | None
    requires: tuple[str, ...]


def load_catalog(folder: Path) -> list[CatalogItem]:
    """The catalog's resources (``kind: Catalog`` documents: a ``CatalogFeedback`` lists resources too); of the
    variants of one item (the same ``group``) only the first by id, the one a roadmap gets when nothing about the
    person picks another."""
    resources: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if (doc or {}).get("kind") == "Catalog":
                resources.extend(doc.get("resources") or [])
    first: dict[str, str] = {}
    for res in resources:
        if (group := res.get("group")) is not None:
            first[str(group)] = min(first.get(str(group), str(res["id"])), str(res["id"]))
    items: list[CatalogItem] = []
    for res in resources:
        if res.get("group") is not None and first[str(res["group"])] != str(res["id"]):
            continue
        rule = res.get("eligibility")
        items.append(
            CatalogItem(
                id=str(res["id"]),
                topics=tuple(res.get("topics") or ()),
                eligibility=cel.compile(str(rule)) if rule else None,
                day=int(res["day"]) if "day" in res else None,
                requires=tuple(res.get("requires") or ()),
            )
        )
    return items


def eligible(item: CatalogItem, person: Profile) -> bool:
    if item.eligibility is None:
        return True
    return bool(item.eligibility.execute({"employee": person, "resource": {"id": item.id}}))


def roadmap_order(items: list[CatalogItem]) -> list[CatalogItem]:
    """Items in an order where every ``requires`` comes first (ties by day, then id)."""
    by_id = {item.id: item for item in items}
    done: set[str] = set()
    ordered: list[CatalogItem] = []
    pending = sorted(items, key=lambda i: (i.day or 0, i.id))
    while pending:
        ready = next(i for i in pending if all(r in done or r not in by_id for r in i.requires))
        pending.remove(ready)
        done.add(ready.id)
        ordered.append(ready)
    return ordered


# --------------------------------------------------------------------------- the generator


@dataclass
class Event:
    at: datetime
    source: str
    type: str
    subject: str
    data: dict[str, Any]
    id: str = ""

    def as_json(self) -> str:
        body = {
            "specversion": "1.0",
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "time": rfc3339(self.at),
            "subject": self.subject,
            "data": self.data,
        }
        return json.dumps(body, ensure_ascii=False)


class Company:
    def __init__(self, rng: random.Random, catalog: list[CatalogItem]) -> None:
        self.rng = rng
        self.catalog = catalog
        self.people: dict[str, Profile] = {}
        self.manager_of_team: dict[str, str] = {}
        self.events: list[Event] = []
        self.used_ids: set[str] = set()
        self.names = {country: list(pool) for country, pool in NAMES.items()}
        for pool in self.names.values():
            rng.shuffle(pool)
        self.emails: set[str] = set()
        self.next_number = 1001
        self.storyline: set[str] = set()  # people who already have a life event this year
        self.gone: dict[str, datetime] = {}  # terminated (or erased) at

    # ----------------------------------------------------------------- events

    def emit(self, at: datetime, source: str, kind: str, subject: str, data: dict[str, Any]) -> Event:
        event = Event(at, source, kind, subject, data, self.new_id(source))
        self.events.append(event)
        return event

    def new_id(self, source: str) -> str:
        while True:
            candidate = f"{ID_PREFIX[source]}-{self.rng.getrandbits(40):010x}"
            if candidate not in self.used_ids:
                self.used_ids.add(candidate)
                return candidate

    def work_time(self, day: date, person: Profile) -> datetime:
        """Mostly office hours in the person's timezone; now and then late in the evening."""
        if self.rng.random() < 0.06:
            return at_local(day, person["timezone"], self.rng.choice([20, 21, 22]), self.rng.randrange(60))
        return at_local(day, person["timezone"], self.rng.randrange(8, 18), self.rng.randrange(60))

    def active(self, person_id: str, at: datetime) -> bool:
        gone = self.gone.get(person_id)
        return gone is None or at < gone

    # ----------------------------------------------------------------- people

    def new_person(self, country: str) -> Profile:
        given, family, preferred = self.names[country].pop()
        local = EMAIL_LOCAL.get((given, family)) or f"{ascii_fold(preferred or given)}.{ascii_fold(family)}"
        email = f"{local}@example.com"
        suffix = 2
        while email in self.emails:
            email = f"{local}{suffix}@example.com"
            suffix += 1
        self.emails.add(email)
        person: Profile = {"id": f"E{self.next_number}", "given_name": given}
        self.next_number += 1
        if preferred:
            person["preferred_name"] = preferred
        person.update({"family_name": family, "email": email})
        return person

    def fill_profile(
        self,
        person: Profile,
        *,
        department: str,
        role: str,
        level: str,
        city: str,
        mode: str,
        manager_id: str | None,
        kind: str,
        start: date,
    ) -> Profile:
        place = PLACES[city]
        rng = self.rng
        locale = LOCALE_OF.get(person["given_name"], place.locale)
        if locale == place.locale and place.country in {"DE", "FR"} and rng.random() < 0.12:
            locale = "en-GB"
        if manager_id is not None:
            person["manager_id"] = manager_id
        person.update(
            {
                "hr_partner_id": HR_PARTNER[place.country],
                "department": department,
                "role": role,
                "job_level": level,
                "location": city,
                "country": place.country,
                "timezone": place.timezone,
                "locale": locale,
                "employment_type": kind,
                "work_mode": mode,
                "start_date": start.isoformat(),
                "learning_style": rng.choice(["visual", "reading", "hands_on", "social"]),
                "interests": sorted(rng.sample(INTERESTS, rng.randint(1, 3))),
                "skills": sorted(rng.sample(SKILLS[department], rng.randint(2, 4))),
            }
        )
        preferences = self.random_preferences()
        if preferences:
            person["preferences"] = preferences
        if rng.random() < 0.4:
            person["pronouns"] = rng.choice(PRONOUNS)
        person["cost_center"] = f"CC-{DEPT_CODE[department]}-{place.country}"
        return person

    def random_preferences(self) -> dict[str, Any]:
        rng = self.rng
        preferences: dict[str, Any] = {}
        if rng.random() < 0.08:
            preferences["opt_out_channels"] = ["intranet"]
        if rng.random() < 0.06:
            preferences["opt_out_topics"] = rng.choice(OPT_OUT_TOPICS)
        if rng.random() < 0.12:
            preferences["quiet_hours"] = "19:00-09:00"
        return preferences

    def add(self, person: Profile) -> Profile:
        self.people[person["id"]] = person
        return person

    def tenure_start(self, earliest: int, latest: int) -> date:
        return date(self.rng.randint(earliest, latest), self.rng.randint(1, 12), self.rng.randint(1, 28))

    def level_for(self, role: str, kind: str) -> str:
        if kind == "intern":
            return "IC1"
        if role.startswith("Senior"):
            return "IC4"
        return self.rng.choice(["IC2", "IC3", "IC3"])

    def hire(self, city: str, *, department: str, role: str, level: str, manager_id: str | None, start: date,
             mode: str = "hybrid", kind: str = "employee") -> Profile:
        """A new person from ``city``'s country, based in ``city``, on the payroll from ``start``."""
        person = self.new_person(PLACES[city].country)
        return self.add(self.fill_profile(person, department=department, role=role, level=level, city=city,
                                          mode=mode, manager_id=manager_id, kind=kind, start=start))

    def build_org(self) -> None:
        """The 80 people on the payroll on 2025-12-01."""
        ceo = self.hire("London", department="Executive", role="Chief Executive Officer", level="E1",
                        manager_id=None, start=date(2014, 3, 3))
        cpo = self.hire("Berlin", department="People", role="Chief People Officer", level="M3",
                        manager_id=ceo["id"], start=date(2016, 9, 1))
        self.manager_of_team["people"] = cpo["id"]
        for city in ("Berlin", "New York", "Paris", "Bengaluru", "London"):  # one HR partner per country
            self.hire(city, department="People", role="HR Business Partner", level="IC4", manager_id=cpo["id"],
                      start=self.tenure_start(2017, 2022))
        for team in TEAMS:
            manager = self.hire(team.office, department=team.department, role=team.manager_role,
                                level=self.rng.choice(["M1", "M2", "M2"]), manager_id=ceo["id"],
                                start=self.tenure_start(2015, 2022))
            self.manager_of_team[team.key] = manager["id"]
        # Head of People and CEO have the DE partner; the DE partner has the UK one.
        self.people[ceo["id"]]["hr_partner_id"] = HR_PARTNER["DE"]
        self.people[HR_PARTNER["DE"]]["hr_partner_id"] = HR_PARTNER["GB"]
        for team in TEAMS:
            for index in range(team.size):
                self.add(self.team_member(team, index))
        for role, city in zip(PEOPLE_ROLES, ("Berlin", "Bengaluru"), strict=True):
            self.hire(city, department="People", role=role, level="IC3", manager_id=cpo["id"],
                      start=self.tenure_start(2019, 2025))

    def team_member(self, team: Team, index: int) -> Profile:
        rng = self.rng
        role = team.roles[0] if index == 0 else rng.choice(team.roles[1:])
        kind = "employee"
        if index > 0 and team.key in {"eng-berlin", "eng-sf", "mkt-ny", "sup-pune"} and index == team.size - 1:
            kind = "contractor"
        if team.key in {"eng-bengaluru", "mkt-paris"} and index == team.size - 1:
            kind, role = "intern", f"{team.department} Intern"
        mode = rng.choice(team.modes)
        city = rng.choice(team.remote_cities) if mode == "remote" else team.office
        person = self.new_person(PLACES[team.office].country)
        return self.fill_profile(
            person,
            department=team.department,
            role=role,
            level=self.level_for(role, kind),
            city=city,
            mode=mode,
            manager_id=self.manager_of_team[team.key],
            kind=kind,
            start=self.tenure_start(2016, 2025) if kind != "intern" else date(2025, 9, 1),
        )

    def initial_sync(self) -> None:
        """The nightly HRIS sync on 2025-12-01 carries every profile (02:00 UTC onwards)."""
        at = datetime(2025, 12, 1, 2, 0, tzinfo=UTC)
        for person in self.people.values():
            self.emit(at, HRIS, "hris.employee.upserted", person["id"], dict(person))
            at += timedelta(seconds=self.rng.randint(3, 40))

    # ----------------------------------------------------------------- choosing people

    def take(self, predicate: Callable[[Profile], bool]) -> Profile:
        """A person not in another storyline yet, matching ``predicate``."""
        managers = {p.get("manager_id") for p in self.people.values()}
        candidates = [
            p
            for p in self.people.values()
            if p["id"] not in self.storyline
            and p["id"] not in managers
            and p["id"] not in HR_PARTNER.values()
            and predicate(p)
        ]
        if not candidates:
            msg = "no one left for this storyline"
            raise LookupError(msg)
        person = self.rng.choice(sorted(candidates, key=lambda p: str(p["id"])))
        self.storyline.add(person["id"])
        return person

    def in_team(self, key: str, *, employees: bool = False, senior: bool = False) -> Callable[[Profile], bool]:
        """Members of a team; only employees (no contractors or interns), only senior roles."""
        manager = self.manager_of_team[key]

        def member(person: Profile) -> bool:
            return (
                person.get("manager_id") == manager
                and (not employees or person["employment_type"] == "employee")
                and (not senior or str(person["role"]).startswith("Senior"))
            )

        return member

    @staticmethod
    def is_employee(person: Profile) -> bool:
        return bool(person["employment_type"] == "employee")

    # ----------------------------------------------------------------- hires and onboarding

    def hires(self) -> None:
        for index, (team_key, role, mode, city, kind) in enumerate(HIRES):
            offer = weekday_on_or_after(FIRST_DAY + timedelta(days=9 + index * 16 + self.rng.randint(-2, 2)))
            start = monday_on_or_after(offer + timedelta(days=19 + self.rng.randint(0, 6)))
            team = TEAM_BY_KEY.get(team_key)
            department = team.department if team else "People"
            person = self.hire(city, department=department, role=role, level=self.level_for(role, kind),
                               manager_id=self.manager_of_team[team_key], start=start, mode=mode, kind=kind)
            self.storyline.add(person["id"])
            at = self.work_time(offer, person).replace(second=0)
            self.emit(at, HRIS, "hris.employee.upserted", person["id"], dict(person))
            self.emit(
                at + timedelta(minutes=4),
                HRIS,
                "hris.employee.hired",
                person["id"],
                {
                    "start_date": start.isoformat(),
                    "role": role,
                    "department": department,
                    "location": city,
                    "manager_id": person["manager_id"],
                },
            )
            self.emit(
                at_local(start, person["timezone"], 7, 30),
                HRIS,
                "hris.employee.started",
                person["id"],
                {"date": start.isoformat()},
            )
            stop = None
            if index == HIRE_WHO_QUITS:
                stop = self.terminate(person, start + timedelta(days=17), "resignation")
            self.onboarding_tasks(person, start, skip_review=index in HIRES_WITHOUT_REVIEW, stop=stop)

    def onboarding_tasks(self, person: Profile, start: date, *, skip_review: bool, stop: datetime | None) -> None:
        items = [i for i in self.catalog if i.day is not None and "onboarding" in i.topics and eligible(i, person)]
        finished: dict[str, datetime] = {}
        for item in roadmap_order(items):
            if item.id in {"thirty-day-review", "sixty-day-goals"} and skip_review:
                continue
            if item.id not in {"laptop-setup", "it-accounts", "thirty-day-review"} and self.rng.random() < 0.12:
                continue  # not everyone ticks off everything
            due = start + timedelta(days=(item.day or 1) - 1 + self.rng.choice([0, 0, 0, 1, 1, 2, 3]))
            at = at_local(
                weekday_on_or_after(due), person["timezone"], self.rng.randrange(9, 17), self.rng.randrange(60)
            )
            before = [finished[r] for r in item.requires if r in finished]
            if before:
                at = max(at, max(before) + timedelta(minutes=self.rng.randint(12, 90)))
            if at > END or (stop is not None and at >= stop):
                continue
            finished[item.id] = at
            self.emit(at, ONBOARDING, "onboarding.task.completed", person["id"], {"task_id": item.id})

    def terminate(self, person: Profile, last_day: date, reason: str) -> datetime:
        at = at_local(weekday_on_or_after(last_day), person["timezone"], 17, self.rng.randrange(60))
        self.emit(at, HRIS, "hris.employee.terminated", person["id"], {"date": last_day.isoformat(), "reason": reason})
        self.gone[person["id"]] = at
        return at

    # ----------------------------------------------------------------- family

    def families(self) -> None:
        plan = [  # child's date, reason
            (date(2025, 12, 9), "birth"),
            (date(2026, 1, 20), "birth"),
            (date(2026, 2, 28), "birth"),
            (date(2026, 3, 24), "birth"),
            (date(2026, 4, 30), "adoption"),
            (date(2026, 6, 12), "birth"),
            (date(2026, 7, 10), "birth"),
            (date(2026, 8, 19), "foster"),
            (date(2026, 9, 15), "birth"),
            (date(2026, 10, 21), "adoption"),
        ]
        for number, (child, reason) in enumerate(plan):
            contractor = number == 5
            person = self.take((lambda p: p["employment_type"] == "contractor") if contractor else self.is_employee)
            at = self.dependent_added(person, child, reason, number)
            if reason != "foster" and not contractor:
                self.parental_leave(person, child, reason, at)
        # Two parents whose children were born before December come back this year.
        for returning in (date(2026, 1, 12), date(2026, 2, 23)):
            person = self.take(self.is_employee)
            self.leave_ended(person, "parental", returning)
        # A wedding: recorded, and no journey is about it.
        spouse = self.take(self.is_employee)
        wedding = date(2026, 5, 16)
        self.emit(
            self.work_time(date(2026, 5, 18), spouse),
            HRIS,
            "hris.dependent.added",
            spouse["id"],
            {"relationship": "spouse", "reason": "marriage", "date": wedding.isoformat()},
        )

    def dependent_added(self, person: Profile, child: date, reason: str, number: int) -> datetime:
        recorded = child + timedelta(days=1)
        if number == 6:  # entered on a Saturday evening: the welcome waits for Monday morning
            at = at_local(recorded, person["timezone"], 21, 15)
        else:
            recorded = weekday_on_or_after(recorded)
            at = self.work_time(recorded, person)
        if number == 2:  # a typo first (a dead letter), the corrected record twenty minutes later
            typo = at - timedelta(minutes=20)
            self.emit(
                typo,
                HRIS,
                "hris.dependent.added",
                person["id"],
                {"relationship": "child", "reason": reason, "date": "2026-02-30"},
            )
        self.emit(
            at,
            HRIS,
            "hris.dependent.added",
            person["id"],
            {"relationship": "child", "reason": reason, "date": child.isoformat()},
        )
        return at

    def parental_leave(self, person: Profile, child: date, reason: str, recorded: datetime) -> None:
        weeks = {"DE": [12, 26, 52], "US": [16], "FR": [4, 16], "IN": [26], "GB": [20, 39]}[person["country"]]
        start = child - timedelta(days=14) if reason == "birth" and self.rng.random() < 0.5 else child
        start = weekday_on_or_after(start)
        expected = monday_on_or_after(start + timedelta(weeks=self.rng.choice(weeks)))
        planned_at = self.work_time(weekday_on_or_after(start - timedelta(days=10)), person)
        if reason == "adoption" or planned_at.date() <= FIRST_DAY:
            planned_at = recorded + timedelta(minutes=6)
        self.emit(
            planned_at,
            HRIS,
            "hris.leave.started",
            person["id"],
            {"leave_type": "parental", "start_date": start.isoformat(), "expected_return_date": expected.isoformat()},
        )
        actual = expected + timedelta(weeks=self.rng.choice([0, 0, 0, 2]))
        self.leave_ended(person, "parental", actual)

    def leave_ended(self, person: Profile, leave_type: str, returning: date) -> None:
        at = self.work_time(weekday_on_or_after(returning - timedelta(days=3)), person)
        if at <= END:
            self.emit(
                at,
                HRIS,
                "hris.leave.ended",
                person["id"],
                {"leave_type": leave_type, "return_date": returning.isoformat()},
            )

    # ----------------------------------------------------------------- other leave

    def leaves(self) -> None:
        for start, weeks in ((date(2026, 2, 9), 4), (date(2026, 5, 18), 6), (date(2026, 9, 7), 3)):
            person = self.take(lambda p: p["employment_type"] != "intern")
            self.leave(person, "medical", start, timedelta(weeks=weeks), late=weeks == 6)
        for start in (date(2026, 1, 27), date(2026, 6, 2), date(2026, 10, 13)):
            person = self.take(lambda p: True)
            self.leave(person, "bereavement", start, timedelta(days=7), late=False)
        for number in range(6):
            person = self.take(self.is_employee)
            start = weekday_on_or_after(FIRST_DAY + timedelta(days=35 + number * 50 + self.rng.randint(0, 10)))
            kind = "sabbatical" if number in {2, 5} else "other"
            length = timedelta(weeks=10) if kind == "sabbatical" else timedelta(days=self.rng.choice([7, 10, 14]))
            self.leave(person, kind, start, length, late=False)

    def leave(self, person: Profile, leave_type: str, start: date, length: timedelta, *, late: bool) -> None:
        expected = weekday_on_or_after(start + length)
        at = at_local(start, person["timezone"], self.rng.randrange(8, 11), self.rng.randrange(60))
        if leave_type == "other":
            at = self.work_time(weekday_on_or_after(start - timedelta(days=self.rng.randint(7, 20))), person)
        self.emit(
            at,
            HRIS,
            "hris.leave.started",
            person["id"],
            {"leave_type": leave_type, "start_date": start.isoformat(), "expected_return_date": expected.isoformat()},
        )
        returning = weekday_on_or_after(expected + timedelta(weeks=2)) if late else expected
        self.leave_ended(person, leave_type, returning)

    # ----------------------------------------------------------------- moves and changes

    def relocations(self) -> None:
        plan = (  # from team, new city, new team (None: same manager), when
            ("eng-bengaluru", "Berlin", "eng-berlin", date(2026, 2, 2)),
            ("sales-paris", "London", "sales-london", date(2026, 4, 13)),
            ("sales-munich", "New York", "sales-ny", date(2026, 6, 29)),
            ("mkt-ny", "San Francisco", None, date(2026, 8, 17)),
            ("eng-london", "Paris", None, date(2026, 10, 5)),
        )
        for team_key, city, new_team, day in plan:
            person = self.take(self.in_team(team_key, employees=True))
            place = PLACES[city]
            at = self.work_time(day, person).replace(second=0)
            update: dict[str, Any] = {"timezone": place.timezone, "hr_partner_id": HR_PARTNER[place.country]}
            if new_team is None:
                update["work_mode"] = "remote"
            self.emit(at - timedelta(minutes=2), HRIS, "hris.employee.upserted", person["id"], update)
            self.emit(
                at,
                HRIS,
                "hris.employee.relocated",
                person["id"],
                {"old_location": person["location"], "new_location": city, "new_country": place.country},
            )
            person.update(update, location=city, country=place.country)
            if new_team is not None:
                self.change_manager(person, self.manager_of_team[new_team], at + timedelta(minutes=3))

    def change_manager(self, person: Profile, new_manager: str, at: datetime) -> None:
        self.emit(
            at,
            HRIS,
            "hris.manager.changed",
            person["id"],
            {"old_manager_id": person["manager_id"], "new_manager_id": new_manager},
        )
        person["manager_id"] = new_manager

    def job_change(
        self, person: Profile, change: str, new_role: str, new_department: str, at: datetime, level: str | None = None
    ) -> None:
        if level is not None:
            self.emit(at - timedelta(minutes=1), HRIS, "hris.employee.upserted", person["id"], {"job_level": level})
            person["job_level"] = level
        self.emit(
            at,
            HRIS,
            "hris.job.changed",
            person["id"],
            {
                "change": change,
                "old_role": person["role"],
                "new_role": new_role,
                "old_department": person["department"],
                "new_department": new_department,
            },
        )
        person.update(role=new_role, department=new_department)

    def promotions(self) -> None:
        # Two first-time managers, each taking over two colleagues a fortnight later.
        for team_key, new_role, day in (
            ("eng-bengaluru", "Engineering Manager", date(2026, 3, 5)),
            ("sup-pune", "Support Team Lead", date(2026, 9, 4)),
        ):
            lead = self.take(self.in_team(team_key, senior=True))
            self.job_change(lead, "promotion", new_role, lead["department"], self.work_time(day, lead), "M1")
            for _ in range(2):
                report = self.take(self.in_team(team_key))
                handover = self.work_time(day + timedelta(days=11), report)
                self.change_manager(report, lead["id"], handover)
        days = [
            date(2026, 3, 2),
            date(2026, 3, 3),
            date(2026, 3, 4),
            date(2026, 9, 1),
            date(2026, 9, 2),
            date(2026, 9, 3),
        ]
        for day in days:
            person = self.take(lambda p: p["role"] in PROMOTES_TO and p["employment_type"] == "employee")
            level = {"IC2": "IC3", "IC3": "IC4"}.get(person["job_level"], "IC4")
            self.job_change(
                person,
                "promotion",
                PROMOTES_TO[person["role"]],
                person["department"],
                self.work_time(day, person),
                level,
            )

    def transfers(self) -> None:
        plan = (
            ("sup-london", "QA Engineer", "Engineering", "eng-london", date(2026, 5, 4)),
            ("mkt-ny", "Sales Development Representative", "Sales", "sales-ny", date(2026, 7, 20)),
        )
        for team_key, new_role, department, new_team, day in plan:
            person = self.take(self.in_team(team_key, employees=True))
            at = self.work_time(day, person)
            self.job_change(person, "transfer", new_role, department, at)
            self.change_manager(person, self.manager_of_team[new_team], at + timedelta(minutes=2))
        # A reorganisation: one Pune finance colleague now reports to the Paris finance manager.
        person = self.take(self.in_team("fin-pune"))
        self.change_manager(person, self.manager_of_team["fin-paris"], self.work_time(date(2026, 11, 2), person))

    # ----------------------------------------------------------------- signals, engagement, exits

    def wellbeing(self) -> None:
        plan = (
            (date(2026, 2, 16), "workload_spike", 0.82, "Worked 9 of the last 10 weekends; pulse stress 4.6/5."),
            (date(2026, 4, 20), "low_pulse_score", 0.58, "Pulse score dropped from 4.1 to 3.2 over a month."),
            (date(2026, 6, 22), "after_hours_activity", 0.74, "62% of messages sent after 21:00 local time."),
            (date(2026, 7, 6), "after_hours_activity", 0.79, "Late-evening activity continued for two weeks."),
            (date(2026, 9, 28), "sentiment_drop", 0.91, "Three pulse comments in a row mention exhaustion."),
            (date(2026, 11, 9), "workload_spike", 0.66, "On-call pages doubled for two weeks."),
        )
        person: Profile = {}
        for day, signal, score, evidence in plan:
            if day != date(2026, 7, 6):  # the same colleague twice: the second signal is within 30 days
                person = self.take(lambda p: p["employment_type"] != "contractor")
            self.emit(
                datetime.combine(day, time(5, 30), tzinfo=UTC),
                WELLBEING,
                "wellbeing.signal",
                person["id"],
                {"signal": signal, "score": score, "evidence": evidence},
            )

    def exits(self) -> None:
        leaver = self.take(lambda p: p["employment_type"] == "employee" and p["work_mode"] != "remote")
        left = self.terminate(leaver, date(2026, 6, 30), "resignation")
        erasure = datetime.combine(date(2026, 8, 12), time(13, 40), tzinfo=UTC)
        self.emit(erasure, PRIVACY, "privacy.erasure.requested", leaver["id"], {})
        self.gone[leaver["id"]] = min(left, erasure)
        contractor = self.take(lambda p: p["employment_type"] == "contractor")
        self.terminate(contractor, date(2026, 9, 30), "end_of_contract")

    def random_day(self, person: Profile) -> date | None:
        """A weekday this year on which the person is with the company."""
        first = max(FIRST_DAY + timedelta(days=1), date.fromisoformat(person["start_date"]))
        span = (LAST_DAY - first).days
        if span <= 0:
            return None
        day = weekday_on_or_after(first + timedelta(days=self.rng.randrange(span)))
        return day if day <= LAST_DAY else None

    def someone_on_a_day(self, people: list[Profile]) -> tuple[Profile, date]:
        """A random person and a random weekday they are with the company (drawn again until one fits)."""
        while True:
            person = self.rng.choice(people)
            day = self.random_day(person)
            if day is not None:
                return person, day

    def engagement(self, count: int) -> None:
        readable = [i for i in self.catalog if i.day is None and not SENSITIVE_TOPICS.intersection(i.topics)]
        people = sorted(self.people.values(), key=lambda p: str(p["id"]))
        made = 0
        while made < count:
            person, day = self.someone_on_a_day(people)
            if self.rng.random() < 0.1:  # some people read the intranet at the weekend
                day = min(day + timedelta(days=5 - day.weekday()), LAST_DAY)
            at = self.work_time(day, person)
            choices = [i.id for i in readable if eligible(i, person)]
            if not self.active(person["id"], at) or not choices:
                continue
            made += 1
            message_id = f"m-{self.rng.getrandbits(64):016x}"
            resource = self.rng.choice(choices)
            self.emit(
                at,
                ENGAGEMENT,
                "engagement.message.opened",
                person["id"],
                {"message_id": message_id, "resource_id": resource},
            )
            roll = self.rng.random()
            if roll < 0.45:
                continue
            later = at + timedelta(minutes=self.rng.randint(1, 30))
            self.emit(
                later,
                ENGAGEMENT,
                "engagement.message.clicked",
                person["id"],
                {"message_id": message_id, "resource_id": resource},
            )
            if roll > 0.75:
                rating = self.rng.choice([1, 1, 1, 1, 0, 0, -1])
                self.emit(
                    later + timedelta(minutes=self.rng.randint(2, 20)),
                    ENGAGEMENT,
                    "engagement.message.feedback",
                    person["id"],
                    {"message_id": message_id, "resource_id": resource, "rating": rating},
                )

    def profile_updates(self, count: int) -> None:
        """Small HRIS changes during the year (the nightly sync, or HR during the day)."""
        people = sorted(self.people.values(), key=lambda p: str(p["id"]))
        made = 0
        while made < count:
            person, day = self.someone_on_a_day(people)
            nightly = self.rng.random() < 0.4
            at = (
                datetime.combine(day, time(1, self.rng.randrange(60)), tzinfo=UTC)
                if nightly
                else self.work_time(day, person)
            )
            if not self.active(person["id"], at):
                continue
            made += 1
            self.emit(at, HRIS, "hris.employee.upserted", person["id"], self.profile_change(person))

    def profile_change(self, person: Profile) -> dict[str, Any]:
        rng = self.rng
        kind = rng.choice(["skills", "skills", "interests", "preferences", "pronouns", "learning_style"])
        if kind == "skills":
            skills = sorted({*person["skills"], rng.choice(SKILLS.get(person["department"], SKILLS["Support"]))})
            person["skills"] = skills
            return {"skills": skills}
        if kind == "interests":
            interests = sorted({*person["interests"], rng.choice(INTERESTS)})
            person["interests"] = interests
            return {"interests": interests}
        if kind == "preferences":
            preferences = dict(person.get("preferences") or {})
            preferences.update(
                rng.choice(
                    [
                        {"quiet_hours": "19:00-09:00"},
                        {"opt_out_channels": ["intranet"]},
                        {"opt_out_topics": rng.choice(OPT_OUT_TOPICS)},
                    ]
                )
            )
            person["preferences"] = preferences
            return {"preferences": preferences}
        if kind == "pronouns":
            person["pronouns"] = rng.choice(PRONOUNS)
            return {"pronouns": person["pronouns"]}
        person["learning_style"] = rng.choice(["visual", "reading", "hands_on", "social"])
        return {"learning_style": person["learning_style"]}


# --------------------------------------------------------------------------- output


def broken_lines(company: Company) -> list[tuple[datetime, str]]:
    """Lines a real feed sometimes carries: a cut-off write and a time without an offset.

    (The dependent record with 2026-02-30 is emitted by the family storyline.)
    """
    cut_at = datetime(2026, 3, 18, 9, 12, 5, tzinfo=UTC)
    whole = Event(cut_at, HRIS, "hris.employee.upserted", "E1042", {"skills": ["Kafka"]}, company.new_id(HRIS))
    no_offset_at = datetime(2026, 5, 12, 9, 30, tzinfo=UTC)
    no_offset = json.dumps(
        {
            "specversion": "1.0",
            "id": company.new_id(HRIS),
            "source": HRIS,
            "type": "hris.employee.upserted",
            "time": "2026-05-12T09:30:00",
            "subject": "E1057",
            "data": {"interests": ["cycling", "chess"]},
        },
        ensure_ascii=False,
    )
    return [(cut_at, whole.as_json()[:-15]), (no_offset_at, no_offset)]


def render(company: Company) -> list[str]:
    ordered = sorted(enumerate(company.events), key=lambda pair: (pair[1].at, pair[0]))
    lines: list[tuple[datetime, str]] = [(event.at, event.as_json()) for _, event in ordered]
    for at, line in broken_lines(company):
        position = next(i for i, (when, _) in enumerate(lines) if when > at)
        lines.insert(position, (at, line))
    # At-least-once delivery: one birth record arrives twice.
    births = [
        i
        for i, (_, line) in enumerate(lines)
        if '"hris.dependent.added"' in line and '"birth"' in line and "2026-02-30" not in line
    ]
    duplicate = births[3]
    lines.insert(duplicate + 1, lines[duplicate])
    return [line for _, line in lines]


def generate(catalog_dir: Path) -> list[str]:
    company = Company(random.Random(7), load_catalog(catalog_dir))  # noqa: S311 - reproducible fiction
    company.build_org()
    company.initial_sync()
    company.hires()
    # Storylines with the narrowest choice of people first.
    company.relocations()
    company.transfers()
    company.promotions()
    company.exits()
    company.families()
    company.leaves()
    company.wellbeing()
    company.profile_updates(120)
    company.engagement(170)
    return render(company)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the JSON lines")
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG, help="the example catalog folder")
    args = parser.parse_args(argv)
    lines = generate(args.catalog)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} lines to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
