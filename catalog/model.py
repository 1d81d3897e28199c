"""Catalog documents (SPEC §5): topics and resources; roles and skills for learning paths, and the
aggregated feedback of every employee (extensions)."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, model_validator

from wayfinder.expressions import CatalogExpr
from wayfinder.vocabulary import Frozen, Identifier, LanguageTag, localized

ResourceType = Literal["policy", "benefit", "network", "learning", "person", "document", "task", "tool"]
ResourceFormat = Literal["video", "reading", "hands_on", "cohort"]
STYLE_FORMATS: dict[str, ResourceFormat] = {"visual": "video", "reading": "reading", "hands_on": "hands_on",
                                            "social": "cohort"}
"""The format that suits each profile ``learning_style`` (SPEC §3)."""


def skill_key(name: str) -> str:
    """How skills are compared: ``Public speaking``, ``public_speaking`` and ``public-speaking`` are one skill."""
    return re.sub(r"[\s_]+", "-", name.strip()).casefold()


def _skill(value: str) -> str:
    if not value.strip() or skill_key(value) != value:
        msg = (f"a skill is written in lower case with hyphens, such as {skill_key(value) or 'public-speaking'!r} "
               f"(it matches the profile's {value!r} whatever its case and spaces)")
        raise ValueError(msg)
    return value


Skill = Annotated[str, AfterValidator(_skill), Field(examples=["public-speaking", "one-on-ones"],
                                                      json_schema_extra={"pattern": r"^[^\sA-Z_]+$"})]
class TopicSpec(Frozen):
    id: Identifier
    parent: Identifier | None = None
    title: str | None = None
    titles: Annotated[dict[LanguageTag, str], Field(
        description="The title in other languages, by locale or language (de, fr-FR)")] = Field(default_factory=dict)

    def title_for(self, locale: str | None) -> str:
        """The title for a reader of ``locale`` (see ``localized``), else ``title``, else the id."""
        return localized(self.titles, locale) or self.title or self.id


# for editors (JSON Schema), as ``_link`` reads an address: http(s) with a host, or mailto: with an address
LINK_PATTERN = r"^(?:[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]+[^\s]*|[Mm][Aa][Ii][Ll][Tt][Oo]:[^\s?#][^\s]*)$"


def _link(value: str) -> str:
    """A resource's address is put in messages as a link: an absolute http(s) address, or ``mailto:`` (a relative
    one, or ``javascript:``, validated clean and went out as dead text)."""
    parts = urlsplit(value)
    usable = (parts.scheme in ("http", "https") and bool(parts.hostname)) or (parts.scheme == "mailto" and parts.path)
    if not usable or value != value.strip() or any(c.isspace() for c in value):
        msg = f"an absolute https:// (or mailto:) address a reader can open, not {value!r}"
        raise ValueError(msg)
    return value


class ResourceSpec(Frozen):
    id: Identifier
    type: ResourceType
    title: Annotated[str, Field(min_length=1)]
    titles: Annotated[dict[LanguageTag, str], Field(
        description="The title in other languages, by locale or language (de, fr-FR): a message in that "
        "language shows it")] = Field(default_factory=dict)
    url: Annotated[str, AfterValidator(_link), Field(json_schema_extra={"pattern": LINK_PATTERN})] | None = None
    description: str | None = None
    topics: Annotated[list[Identifier], Field(min_length=1)]
    group: Identifier | None = None
    eligibility: CatalogExpr | None = None
    # BCP 47, as a template's locales and the titles (``de_DE`` or ``german`` matched no reader and passed validate)
    locale: LanguageTag | None = None
    related: list[Identifier] = Field(default_factory=list)
    day: Annotated[int, Field(ge=1, le=3650, strict=True)] | None = None
    requires: list[Identifier] = Field(default_factory=list)
    departments: list[str] = Field(default_factory=list, description="ranking: closer to these departments")
    locations: list[str] = Field(default_factory=list, description="ranking: closer to these locations")
    roles: list[str] = Field(default_factory=list, description="ranking: closer to these roles")
    format: Annotated[ResourceFormat | None, Field(
        description="how it is learned: an employee whose learning_style suits it gets it first among "
                    "alternatives (same group) and ranks it higher")] = None
    teaches: Annotated[list[Skill], Field(description="learning paths: skills this resource teaches")] = Field(
        default_factory=list)
    requires_skills: Annotated[list[Skill], Field(
        description="learning paths: skills to have (or learn first) before this resource")] = Field(
        default_factory=list)


class RoleSpec(Frozen):
    """A role a learning path can lead to, and the skills it needs."""

    id: Identifier
    title: str | None = None
    matches: Annotated[list[str], Field(description="HRIS role titles (the profile's `role` or `aspiration`) "
                                        "that are this role, compared without case")] = Field(default_factory=list)
    skills: Annotated[list[Skill], Field(min_length=1)]

class CatalogDoc(Frozen):
    api_version: Annotated[Literal["wayfinder/v1"], Field(alias="apiVersion")]
    kind: Literal["Catalog"]
    topics: list[TopicSpec] = Field(default_factory=list)
    resources: list[ResourceSpec] = Field(default_factory=list)
    roles: list[RoleSpec] = Field(default_factory=list)


class TopicDoc(TopicSpec):
    api_version: Annotated[Literal["wayfinder/v1"], Field(alias="apiVersion")]
    kind: Literal["Topic"]


class ResourceDoc(ResourceSpec):
    api_version: Annotated[Literal["wayfinder/v1"], Field(alias="apiVersion")]
    kind: Literal["Resource"]


class RoleDoc(RoleSpec):
    api_version: Annotated[Literal["wayfinder/v1"], Field(alias="apiVersion")]
    kind: Literal["Role"]


class ResourceCounts(Frozen):
    """What every employee said about one resource up to ``as_of``: counts only, no person."""

    id: Identifier
    ratings: Annotated[int, Field(ge=0)] = 0
    rating_sum: Annotated[int, Field(description="the sum of the ratings (-1, 0 or 1 each)")] = 0
    opens: Annotated[int, Field(ge=0)] = 0
    clicks: Annotated[int, Field(ge=0)] = 0

    @model_validator(mode="after")
    def _bounded(self) -> ResourceCounts:
        if abs(self.rating_sum) > self.ratings:
            msg = f"rating_sum {self.rating_sum} is impossible for {self.ratings} ratings of -1, 0 or 1"
            raise ValueError(msg)
        return self


class CatalogFeedbackDoc(Frozen):
    """Ratings and clicks per resource across all employees, written by ``wayfinder feedback aggregate``."""

    api_version: Annotated[Literal["wayfinder/v1"], Field(alias="apiVersion")]
    kind: Literal["CatalogFeedback"]
    as_of: Annotated[str, Field(description="the counts cover engagement events up to this time (RFC 3339)")]
    min_ratings: Annotated[int, Field(ge=1, description="fewer ratings than this: the ratings do not count")] = 5
    min_opens: Annotated[int, Field(ge=1, description="fewer opens than this: the clicks do not count")] = 20
    prior_weight: Annotated[float, Field(gt=0, description="smoothing: the catalog-wide average counts as this "
                                         "many ratings (or opens) of every resource")] = 10.0
    resources: list[ResourceCounts] = Field(default_factory=list)
