"""Catalog documents (SPEC §5): topics and resources."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import Field

from wayfinder.expressions import CatalogExpr
from wayfinder.vocabulary import Frozen, Identifier

ResourceType = Literal["policy", "benefit", "network", "learning", "person", "document", "task", "tool"]




def localized(titles: Mapping[str, str], locale: str | None) -> str | None:
    """The text for a reader of ``locale`` from texts by locale or language: the locale's own (de-AT), else its
    language's (de), else another locale of that language (de-DE); None when there is none."""
    if not locale or not titles:
        return None
    wanted = locale.replace("_", "-").lower()
    by_key = {k.replace("_", "-").lower(): v for k, v in titles.items()}
    language = wanted.split("-")[0]
    return by_key.get(wanted) or by_key.get(language) or next(
        (v for k, v in sorted(by_key.items()) if k.split("-")[0] == language), None)


class TopicSpec(Frozen):
    id: Identifier
    parent: Identifier | None = None
    title: str | None = None
    titles: Annotated[dict[Annotated[str, Field(pattern=r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")], str], Field(
        description="The title in other languages, by locale or language (de, fr-FR)")] = Field(default_factory=dict)

    def title_for(self, locale: str | None) -> str:
        """The title for a reader of ``locale`` (see ``localized``), else ``title``, else the id."""
        return localized(self.titles, locale) or self.title or self.id


class ResourceSpec(Frozen):
    id: Identifier
    type: ResourceType
    title: Annotated[str, Field(min_length=1)]
    titles: Annotated[dict[Annotated[str, Field(pattern=r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")], str], Field(
        description="The title in other languages, by locale or language (de, fr-FR): a message in that "
        "language shows it")] = Field(default_factory=dict)
    url: str | None = None
    description: str | None = None
    topics: Annotated[list[Identifier], Field(min_length=1)]
    group: Identifier | None = None
    eligibility: CatalogExpr | None = None
    locale: str | None = None
    related: list[Identifier] = Field(default_factory=list)
    day: Annotated[int, Field(ge=1, le=3650)] | None = None
    requires: list[Identifier] = Field(default_factory=list)
    departments: list[str] = Field(default_factory=list, description="ranking: closer to these departments")
    locations: list[str] = Field(default_factory=list, description="ranking: closer to these locations")
    roles: list[str] = Field(default_factory=list, description="ranking: closer to these roles")


class CatalogDoc(Frozen):
    api_version: Annotated[Literal["wayfinder/v1"], Field(alias="apiVersion")]
    kind: Literal["Catalog"]
    topics: list[TopicSpec] = Field(default_factory=list)
    resources: list[ResourceSpec] = Field(default_factory=list)


class TopicDoc(TopicSpec):
    api_version: Annotated[Literal["wayfinder/v1"], Field(alias="apiVersion")]
    kind: Literal["Topic"]


class ResourceDoc(ResourceSpec):
    api_version: Annotated[Literal["wayfinder/v1"], Field(alias="apiVersion")]
    kind: Literal["Resource"]
