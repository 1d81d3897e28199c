"""JSON Schemas of the documents HR operations write, for editor completion and checks."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from wayfinder.catalog.model import CatalogDoc, CatalogFeedbackDoc, ResourceDoc, RoleDoc, TopicDoc
from wayfinder.journeys.model import EventTypeDoc, Fairness, Journey, JourneyTestDoc, Policy, TemplateDoc

SCHEMAS: dict[str, type[BaseModel]] = {
    "journey": Journey, "template": TemplateDoc, "catalog": CatalogDoc, "resource": ResourceDoc,
    "topic": TopicDoc, "policy": Policy, "fairness": Fairness, "event-type": EventTypeDoc,
    "journey-test": JourneyTestDoc, "role": RoleDoc, "catalog-feedback": CatalogFeedbackDoc,
}


def _closed(node: object) -> None:
    """A mapping whose keys have a pattern (a template's ``locales``, a journey's ``names``) takes no other key, as
    the loader refuses one (``english`` is no language tag); pydantic's ``patternProperties`` alone let any through."""
    if isinstance(node, dict):
        if "patternProperties" in node:
            node.setdefault("additionalProperties", False)
        for value in node.values():
            _closed(value)
    elif isinstance(node, list):
        for value in node:
            _closed(value)


def schema_of(model: type[BaseModel], name: str) -> dict[str, object]:
    schema = model.model_json_schema(by_alias=True, mode="validation")
    _closed(schema)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://wayfinder.example.com/schemas/{name}.schema.json"
    return schema


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in SCHEMAS.items():
        path = folder / f"{name}.schema.json"
        path.write_text(json.dumps(schema_of(model, name), indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
