""""What applies to me?" on the test world's catalog: the catalog's own selection and ranking, with why."""

from __future__ import annotations

from tests.support import world_defs
from wayfinder.catalog.applies import what_applies
from wayfinder.catalog.graph import CatalogGraph
from wayfinder.catalog.model import ResourceSpec, TopicSpec

GERMAN = {"id": "E1", "country": "DE", "locale": "de-DE", "employment_type": "employee", "location": "Berlin",
          "work_mode": "hybrid", "department": "Engineering"}


def _ids(offers: list) -> dict[str, list[str]]:  # type: ignore[type-arg]
    return {o.topic: [a.resource.id for a in o.resources] for o in offers}


def test_eligibility_and_the_best_of_a_group_decide_what_is_listed() -> None:
    offers, errors = what_applies(world_defs().catalog, GERMAN)
    ids = _ids(offers)
    assert errors == []
    assert ids["parental-leave"] == ["de-parental-leave"]  # one of its group: eligible, in their language
    assert ids["childcare"] == ["childcare-de"]            # the US benefit's rule is false for them
    why = {a.resource.id: a for o in offers for a in o.resources}
    assert why["de-parental-leave"].reasons == (("eligibility", 'employee.country == "DE"'), ("language", "de-DE"))
    assert why["de-parental-leave"].reads == (("country", "DE"),)
    assert why["eap-counselling"].reasons == (("everyone", ""),)
    assert why["flexible-work-policy"].reads == (("employment_type", "employee"),)


def test_graph_proximity_is_a_reason_and_ranks_first() -> None:
    near = ResourceSpec(id="berlin-office", type="document", title="Berlin office", topics=["t"],
                        locations=["berlin"])
    far = ResourceSpec(id="a-first-by-id", type="document", title="Any office", topics=["t"])
    offers, _ = what_applies(CatalogGraph([TopicSpec(id="t")], [far, near]), GERMAN)
    [offer] = offers
    assert [a.resource.id for a in offer.resources] == ["berlin-office", "a-first-by-id"]
    assert ("location", "Berlin") in offer.resources[0].reasons


def test_opted_out_topics_are_listed_and_marked() -> None:
    offers, _ = what_applies(world_defs().catalog, GERMAN, opt_out_topics=["family"])
    marked = {o.topic for o in offers if o.opted_out}
    assert marked == {"parental-leave", "childcare", "parent-network"}  # everything under family


def test_a_topic_title_in_the_readers_language() -> None:
    topic = TopicSpec(id="it-help", title="IT help", titles={"de": "IT-Hilfe", "fr-FR": "Aide informatique"})
    assert [topic.title_for(x) for x in ("de-AT", "fr-FR", "fr", "es", None)] == [
        "IT-Hilfe", "Aide informatique", "Aide informatique", "IT help", "IT help"]
    assert TopicSpec(id="raw").title_for("de") == "raw"


def test_the_version_in_the_format_of_the_learning_style_says_so() -> None:
    """An audit on 2026-12-06: a visual learner was given the video of a group and read only "open to everyone",
    while a German reader read why theirs ("the version in your language")."""
    versions = [ResourceSpec(id=f"intro-{f}", type="learning", title=f, topics=["t"], group="intro", format=f)
                for f in ("reading", "video")]
    alone = ResourceSpec(id="talk", type="learning", title="Talk", topics=["t"], group="talk", format="video")
    catalog = CatalogGraph([TopicSpec(id="t")], [*versions, alone])
    [offer], _ = what_applies(catalog, {**GERMAN, "learning_style": "visual"})
    why = {a.resource.id: a.reasons for a in offer.resources}
    assert why == {"intro-video": (("everyone", ""), ("format", "video")),
                   "talk": (("everyone", ""),)}  # the only version: its format chose nothing
    [offer], _ = what_applies(catalog, GERMAN)  # no style: the first by id, for no reason of theirs
    assert {a.resource.id: a.reasons for a in offer.resources}["intro-reading"] == (("everyone", ""),)
