"""Who may see and do what. Roles come from the identity provider's groups (mapped in settings).

- ``reviewer``: the HR group; sees every pending review and every task.
- ``hr_partner``: sees the reviews and tasks of the employees whose ``hr_partner_id`` they are.
- ``manager``: sees the tasks assigned to them.
- ``operator``: sees the operations overview and works the stop switch.
An HR partner or manager assigned the open escalation task of a review nobody made in time (the HR partner's lead,
or ``Policy.review_escalation``) may see and decide that message. Nobody decides on a message about themselves (as
the employee or as the recipient).

Whoever sees a task may claim and complete it: its assignee, a reviewer, or the employee's HR partner covering for a
manager (away, or unknown to the HR data). One who is not its assignee acts for them (``acts_for``), and the card and
the event say so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from wayfinder.journeys.profile import Profile
from wayfinder.journeys.records import Message, Task
from wayfinder.web.settings import ROLES, Role


@dataclass(frozen=True)
class Staff:
    person_id: str
    roles: frozenset[Role]
    groups: frozenset[str] = frozenset()  # the escalation group (Policy.review_escalation) when they are in it

    def has(self, *roles: Role) -> bool:
        return bool(self.roles & set(roles))

    def is_assignee(self, assignee_id: str | None) -> bool:
        """A task or an escalated review assigned to this person, or to a group they are in (SPEC §11: the
        escalation contact is "a person id or group")."""
        return assignee_id is not None and (assignee_id == self.person_id or assignee_id in self.groups)

    def to_session(self) -> dict[str, Any]:
        return {"id": self.person_id, "roles": sorted(self.roles), "groups": sorted(self.groups)}

    @classmethod
    def from_session(cls, data: Any) -> Staff | None:
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            return None
        groups = data.get("groups")
        return cls(person_id=data["id"], roles=frozenset(r for r in data.get("roles", []) if r in ROLES),
                   groups=frozenset(g for g in groups if isinstance(g, str)) if isinstance(groups, list)
                   else frozenset())


def roles_from_groups(groups: Iterable[str], mapping: Mapping[Role, list[str]]) -> frozenset[Role]:
    have = set(groups)
    return frozenset(role for role, wanted in mapping.items() if have & set(wanted))


def _partner_of(profile: Profile | None, staff: Staff) -> bool:
    return profile is not None and profile.get("hr_partner_id") == staff.person_id


def may_see_message(staff: Staff, message: Message, profile: Profile | None, escalated_to: str | None = None) -> bool:
    """``escalated_to``: the assignee of the message's open escalation task (``Store.escalated_to``). Nobody sees a
    message about themselves, as nobody sees a task about themselves: the copy to their manager about their medical
    leave is not for them to read before it goes (one addressed to them about someone else is shown, not decided)."""
    if message.employee_id == staff.person_id:
        return False
    if staff.has("reviewer"):
        return True
    if staff.is_assignee(escalated_to) and staff.has("hr_partner", "manager"):
        return True
    return staff.has("hr_partner") and _partner_of(profile, staff)


def is_about_self(staff: Staff, message: Message) -> bool:
    return staff.person_id in (message.employee_id, message.recipient_id)


def acts_for(staff: Staff, task: Task) -> str | None:
    """Whom ``staff`` acts for on a task they may work (``may_see_task``) but are not assigned (a reviewer, or the
    employee's HR partner covering for their manager): the assignee's id; None for their own task or one assigned to
    nobody. The event of the claim or completion keeps it (``on_behalf_of``), and the card says it."""
    return None if staff.is_assignee(task.assignee_id) else task.assignee_id


def may_see_task(staff: Staff, task: Task, profile: Profile | None) -> bool:
    """Nobody sees or works a task about themselves (their own wellbeing check-in: as nobody reviews a message about
    them); an escalated review is for its assignee (and reviewers), not for the HR partner whose window it missed."""
    if task.employee_id == staff.person_id:
        return False
    if staff.has("reviewer"):
        return True
    if task.assignee == "review_escalation":
        return staff.is_assignee(task.assignee_id) and staff.has("hr_partner", "manager")
    if staff.is_assignee(task.assignee_id) and staff.has("hr_partner", "manager"):
        return True
    return staff.has("hr_partner") and _partner_of(profile, staff)
