"""Loading what learning paths and catalog feedback need: roles (each skill learnable from the catalog) and the
one ``CatalogFeedback`` document, with problems at ``file:line:column``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel

from wayfinder.catalog.feedback import CatalogFeedback
from wayfinder.catalog.model import CatalogDoc, CatalogFeedbackDoc, ResourceSpec, RoleDoc, skill_key
from wayfinder.catalog.paths import reachable_skills
from wayfinder.journeys._problems import Problem
from wayfinder.journeys._yaml import Document, Loc

Placed = tuple[Any, Document, Loc]


def collect_roles(docs: Iterable[tuple[Document, BaseModel]]) -> list[Placed]:
    """Every role, from ``kind: Role`` documents and the ``roles:`` of catalogs, with where it is."""
    out: list[Placed] = []
    for doc, model in docs:
        if isinstance(model, CatalogDoc):
            out += [(r, doc, ("roles", i)) for i, r in enumerate(model.roles)]
        elif isinstance(model, RoleDoc):
            out.append((model, doc, ()))
    return out


def catalog_feedback(docs: Iterable[tuple[Document, BaseModel]], known: Iterable[str],
                     problems: list[Problem]) -> CatalogFeedback:
    """The one ``CatalogFeedback`` document; counts for resources the catalog no longer has are a warning, and
    are left out of it: they would move the catalog-wide means every other resource is smoothed toward and
    measured against."""
    found = [(doc, model) for doc, model in docs if isinstance(model, CatalogFeedbackDoc)]
    for doc, _ in found[1:]:
        problems.append(doc.problem(("kind",), "only one CatalogFeedback document is allowed"))
    if not found:
        return CatalogFeedback()
    doc, model = found[0]
    assert isinstance(model, CatalogFeedbackDoc)  # noqa: S101 (narrowed by the filter above)
    names = set(known)
    for i, counts in enumerate(model.resources):
        if counts.id not in names:
            problems.append(doc.problem(("resources", i, "id"), f"catalog feedback: unknown resource {counts.id!r}; "
                                        "its counts are not used", severity="warning"))
    used = [counts for counts in model.resources if counts.id in names]
    return CatalogFeedback(model if len(used) == len(model.resources) else model.model_copy(update={"resources": used}))


def role_problems(roles: Sequence[Placed], resources: Sequence[ResourceSpec]) -> list[Problem]:
    """A role skill that nobody could learn from the catalog, starting from no skills at all, is an error."""
    reachable = reachable_skills(resources, ())
    out: list[Problem] = []
    for role, doc, loc in roles:
        for i, skill in enumerate(role.skills):
            if skill_key(skill) in reachable:
                continue
            out.append(doc.problem((*loc, "skills", i), f"role {role.id}: skill {skill!r} cannot be reached from "
                                   f"the catalog: {_why_unreachable(skill, resources, reachable)}"))
    return out


def _why_unreachable(skill: str, resources: Sequence[ResourceSpec], reachable: set[str]) -> str:
    teachers = sorted(r.id for r in resources if skill_key(skill) in {skill_key(s) for s in r.teaches})
    if not teachers:
        return "no resource teaches it (add it to a resource's `teaches`)"
    blocked = sorted({skill_key(s) for r in resources if r.id in teachers for s in r.requires_skills} - reachable)
    if blocked:
        return (f"the resources that teach it ({', '.join(teachers)}) require skills no resource can teach first "
                f"({', '.join(blocked)})")
    # What they require can be learned, but only from another version of their own group (one is given)
    needed: set[str] = set()
    for r in resources:
        if r.id in teachers and r.group is not None:
            without = reachable_skills([o for o in resources if o.group != r.group], ())
            needed |= {skill_key(s) for s in r.requires_skills} - without
    return (f"the resources that teach it ({', '.join(teachers)}) require skills that only another version in "
            f"their own group teaches ({', '.join(sorted(needed))}), and a person is given one version of a group")
